<?php
/*
 * lib.php: what verify.php and list.php share.  The PHP peer of
 * scripts/bench: the verify and list endpoints of apitokend written the
 * way a PHP developer on shared hosting would, with PDO and no framework,
 * against the same database and key file.
 *
 * The configuration is a PHP file returning an array (opcache keeps it
 * compiled), named by the pool's environment:
 *
 *     return ['dsn' => 'mysql:unix_socket=...;dbname=apitokend;charset=utf8mb4',
 *             'user' => 'apitokend', 'password' => '...',
 *             'key_file' => '/etc/apitokend/apitokend.key'];
 */
declare(strict_types=1);

const TOKEN_ID_RE = '/\Aidt:(TKN-[0-9]{4}-[0-9]{4}):[0-9A-Za-z]{64}\z/';
const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CALLER_MODULES = 64;	/* as apitokend: the lowest 64 module ids */

function config(): array
{
	static $cfg = null;

	if ($cfg === null) {
		$cfg = require getenv('APITOKEND_PHP_CONFIG');
	}
	return $cfg;
}

/* One persistent connection per FPM child, as apitokend keeps one per
 * worker.  Emulated prepares (PDO's default for MySQL): the values are
 * still bound, never pasted, and each query is one round trip. */
function db(): PDO
{
	static $pdo = null;

	if ($pdo === null) {
		$cfg = config();
		$pdo = new PDO($cfg['dsn'], $cfg['user'], $cfg['password'], [
			PDO::ATTR_PERSISTENT => true,
			PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION,
			PDO::ATTR_DEFAULT_FETCH_MODE => PDO::FETCH_ASSOC,
		]);
	}
	return $pdo;
}

/* The hash key of apitokend's key file ([keys] hash = 64 hex digits):
 * token values are stored only as their keyed BLAKE2b-256 hash. */
function hash_key(): string
{
	$text = file_get_contents(config()['key_file']);
	if ($text === false || !preg_match('/^\s*hash\s*=\s*([0-9a-fA-F]{64})\s*$/m', $text, $m)) {
		throw new RuntimeException('the key file holds no hash key');
	}
	$key = sodium_hex2bin($m[1]);
	sodium_memzero($text);
	return $key;
}

function problem(int $status, ?string $detail = null, array $errors = []): never
{
	static $titles = [
		400 => 'Bad Request', 401 => 'Authentication Failed', 403 => 'Forbidden',
		404 => 'Not Found', 503 => 'Service Unavailable',
	];
	static $sections = [400 => '15.5.1', 401 => '15.5.2', 403 => '15.5.4', 404 => '15.5.5',
			    503 => '15.6.4'];
	static $details = [
		400 => 'One or more validation errors occurred.',
		401 => 'The credentials are missing or not valid.',
		403 => 'The caller may not do this.',
		404 => 'The resource does not exist.',
		503 => 'The database is unavailable; try again shortly.',
	];
	$body = [
		'type' => 'https://tools.ietf.org/html/rfc9110#section-' . $sections[$status],
		'title' => $titles[$status],
		'status' => $status,
		'detail' => $detail ?? $details[$status],
	];
	if ($errors) {
		$body['errors'] = $errors;
	}
	http_response_code($status);
	/* nginx answers verify's refusals itself and pastes this detail
	 * into its body, as apitokend's router passes it */
	if (defined('VERIFY') && ($status === 401 || $status === 403)) {
		header('X-Problem-Detail: ' . $body['detail']);
	}
	if ($status === 401) {
		header('WWW-Authenticate: Bearer');
	} elseif ($status === 503) {
		header('Retry-After: 5');
	}
	send_json($body, 'application/problem+json');
	exit;
}

function send_json(array $body, string $type = 'application/json'): void
{
	header('Content-Type: ' . $type);
	header('Cache-Control: no-store');
	header('X-Content-Type-Options: nosniff');
	header_remove('X-Powered-By');
	echo json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
}

/* The Bearer value, or null: the scheme in any case, blanks around the
 * value ignored. */
function bearer(): ?string
{
	$a = $_SERVER['HTTP_AUTHORIZATION'] ?? '';
	if (strncasecmp($a, 'Bearer ', 7) !== 0) {
		return null;
	}
	return trim(substr($a, 7), ' ');
}

/* The token id of a value of the right shape (idt:TKN-dddd-dddd:<58
 * base62><6 base62 of the CRC-32 of what precedes>), or null: junk costs
 * no query. */
function token_id(string $value): ?string
{
	if (!preg_match(TOKEN_ID_RE, $value, $m)) {
		return null;
	}
	$crc = crc32(substr($value, 0, 76));
	$check = '';
	for ($i = 0; $i < 6; $i++) {
		$check = B62[$crc % 62] . $check;
		$crc = intdiv($crc, 62);
	}
	return substr($value, 76) === $check ? $m[1] : null;
}

/* Check the presented value against the rows of its token (status,
 * secret_hash, name, account_status, account_type on each): true only
 * for an Active token of an Active account whose keyed hash matches.  An
 * unknown id still hashes and compares, so both paths take as long. */
function token_ok(string $value, array $rows): bool
{
	$presented = sodium_crypto_generichash($value, hash_key(), 32);
	$r = $rows[0] ?? null;
	$stored = $r['secret_hash'] ?? null;
	$match = hash_equals(is_string($stored) && strlen($stored) === 32 ? $stored
			     : str_repeat("\0", 32), $presented);
	sodium_memzero($presented);
	return $r !== null && $match && is_string($stored) && strlen($stored) === 32 &&
	       $r['status'] === 'Active' && $r['name'] !== null &&
	       $r['account_status'] === 'Active' &&
	       in_array($r['account_type'], ['Client', 'Vendor', 'Operations'], true);
}

/* Whether the client address is in a stored allowlist (canonical
 * entries "addr" or "addr/len" joined by ','), with PHP's inet_pton as
 * apitokend reads them with the C library's.  An IPv4-mapped IPv6 client
 * (::ffff:10.0.0.1) is the IPv4 client it maps. */
function address_allowed(string $list, ?string $client): bool
{
	$a = $client === null ? false : @inet_pton($client);
	if ($a === false) {
		return false;
	}
	if (strlen($a) === 16 && strncmp($a, str_repeat("\0", 10) . "\xff\xff", 12) === 0) {
		$a = substr($a, 12);
	}
	foreach (explode(',', $list) as $e) {
		$slash = strpos($e, '/');
		$net = @inet_pton($slash === false ? $e : substr($e, 0, $slash));
		if ($net === false || strlen($net) !== strlen($a)) {
			continue;
		}
		$bits = $slash === false ? 8 * strlen($net) : (int)substr($e, $slash + 1);
		$whole = intdiv($bits, 8);
		if (strncmp($net, $a, $whole) !== 0) {
			continue;
		}
		$rest = $bits % 8;
		if ($rest === 0 || ((ord($net[$whole]) ^ ord($a[$whole])) & (0xff << (8 - $rest)) & 0xff) === 0) {
			return true;
		}
	}
	return false;
}

/* The caller's module ids, sorted, without repeats, the lowest 64. */
function module_ids(array $rows): array
{
	$ids = [];
	foreach ($rows as $r) {
		if ($r['module_id'] !== null) {
			$ids[$r['module_id']] = true;
		}
	}
	$ids = array_keys($ids);
	sort($ids, SORT_STRING);
	return array_slice($ids, 0, CALLER_MODULES);
}

/* lastAccessAt, at most once a minute a token, after the answer has gone
 * out (php-fpm closes the request, the script goes on). */
function touch_later(PDO $db, string $id, array $rows): void
{
	if (!($rows[0]['stale'] ?? 0)) {
		return;
	}
	fastcgi_finish_request();
	$st = $db->prepare("UPDATE tokens SET last_access_at = UTC_TIMESTAMP(3) WHERE id = ?
		AND status = 'Active' AND (last_access_at IS NULL
		OR last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)");
	$st->execute([$id]);
}
