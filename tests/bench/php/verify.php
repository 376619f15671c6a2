<?php
/*
 * verify.php: the nginx auth_request target, as apitokend's verify.
 *
 * nginx passes the request it asks about as ORIGINAL_URI (no client can
 * set it); the answer is 204 with the token's identity in X- headers,
 * 401 for a bad token, 403 when none of the token's modules grants the
 * path.
 */
declare(strict_types=1);

const VERIFY = true;
require __DIR__ . '/lib.php';

/* The decoded path of the original request, or null when it could mean
 * two things ("." or ".." segments, empty ones, bad escapes): nothing
 * grants such a path. */
function original_path(string $uri): ?string
{
	$raw = substr($uri, 0, strcspn($uri, '?#'));
	if (preg_match('/%(?![0-9A-Fa-f]{2})|%00|\x00/', $raw)) {
		return null;
	}
	$path = rawurldecode($raw);
	if (strlen($path) >= 2048 || !str_starts_with($path, '/')) {
		return null;
	}
	$segs = explode('/', substr($path, 1));
	$last = count($segs) - 1;
	foreach ($segs as $i => $s) {
		if ($s === '.' || $s === '..' || ($s === '' && $i !== $last)) {
			return null;
		}
	}
	return $path;
}

/* /a/b covers /a/b and /a/b/x, not /a/bc; /a/b/ also covers /a/b. */
function covers(string $prefix, string $path): bool
{
	$n = strlen($prefix);
	if ($n > 0 && $prefix[$n - 1] === '/') {
		return $path === substr($prefix, 0, -1) || strncmp($path, $prefix, $n) === 0;
	}
	return strncmp($path, $prefix, $n) === 0 && (strlen($path) === $n || $path[$n] === '/');
}

if (!isset($_SERVER['ORIGINAL_URI'])) {
	problem(404);
}
$path = original_path($_SERVER['ORIGINAL_URI']);
$value = bearer();
$id = $value === null ? null : token_id($value);
if ($id === null) {
	problem(401);
}

try {
	$db = db();
	/* the token, its account, its modules and the paths they grant in
	 * one query: a row per path */
	$st = $db->prepare("SELECT t.status, t.secret_hash, t.name,
			a.id AS account_id, a.type AS account_type, a.status AS account_status,
			t.expires_at IS NOT NULL AND t.expires_at <= UTC_TIMESTAMP(3) AS expired,
			t.not_before IS NOT NULL AND t.not_before > UTC_TIMESTAMP(3) AS early,
			t.allowed_ips, t.rate_limit,
			t.last_access_at IS NULL
				OR t.last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE AS stale,
			tm.module_id, mp.path_prefix
		FROM tokens t JOIN accounts a ON a.id = t.account_id
		LEFT JOIN token_modules tm ON tm.token_id = t.id
		LEFT JOIN module_paths mp ON mp.module_id = tm.module_id
		WHERE t.id = ?");
	$st->execute([$id]);
	$rows = $st->fetchAll();
} catch (PDOException $e) {
	error_log('verify: ' . $e->getMessage());
	problem(503);
}

if (!token_ok($value, $rows)) {
	problem(401);
}
/* the restrictions of a token whose secret was right, in apitokend's
 * order: the validity window, then the client address */
if ($rows[0]['expired']) {
	problem(401, 'The token has expired.');
}
if ($rows[0]['early']) {
	problem(401, 'The token is not valid yet.');
}
$ips = $rows[0]['allowed_ips'];
if ($ips !== null && $ips !== '' &&
    !address_allowed($ips, $_SERVER['ORIGINAL_REMOTE_ADDR'] ?? $_SERVER['REMOTE_ADDR'] ?? null)) {
	problem(403, 'The client address is not allowed to use this token.');
}
if ($path === null) {
	problem(403, 'The request path is not in canonical form.');
}
$granted = false;
foreach ($rows as $r) {
	if ($r['path_prefix'] !== null && covers($r['path_prefix'], $path)) {
		$granted = true;
		break;
	}
}
if (!$granted) {
	problem(403, "None of the token's modules grants this path.");
}

http_response_code(204);
header_remove('X-Powered-By');
header('Cache-Control: no-store');
header('X-Token-Id: ' . $id);
header('X-Account-Id: ' . $rows[0]['account_id']);
header('X-Account-Type: ' . $rows[0]['account_type']);
header('X-Token-Modules: ' . implode(',', module_ids($rows)));
/* nginx's limit_req zone of this tier (absent: no limit) */
if ($rows[0]['rate_limit'] !== null && (int)$rows[0]['rate_limit'] > 0) {
	header('X-Token-Rate-Limit: ' . $rows[0]['rate_limit']);
}

try {
	touch_later($db, $id, $rows);
} catch (PDOException $e) {
	error_log("verify: lastAccessAt of $id: " . $e->getMessage());
}
