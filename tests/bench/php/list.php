<?php
/*
 * list.php: GET /public/v1/accounts/api-tokens, as apitokend answers it
 * without a filter: the default fields, newest first, limit and offset.
 * A Client or Vendor token sees its own account's tokens without the
 * Deleted ones; an Operations token sees every token.  The caller needs
 * the Access Management module.
 */
declare(strict_types=1);

require __DIR__ . '/lib.php';

const LIMIT_DEFAULT = 10;
const LIMIT_MAX = 1000;		/* larger limits are capped, not refused */
const OFFSET_MAX = 2147483647;

/* limit and offset; anything else is a 400 naming it */
function paging(): array
{
	$limit = LIMIT_DEFAULT;
	$offset = 0;
	$seen = [];
	$errors = [];
	$qs = $_SERVER['QUERY_STRING'] ?? '';
	foreach ($qs === '' ? [] : explode('&', $qs) as $part) {
		[$k, $v] = array_pad(explode('=', $part, 2), 2, null);
		$k = rawurldecode($k);
		$v = $v === null ? null : trim(rawurldecode($v));
		if ($k !== 'limit' && $k !== 'offset') {
			$errors['query'][] = 'Only limit and offset are supported.';
			continue;
		}
		if (isset($seen[$k])) {
			$errors[$k][] = "$k is given twice";
			continue;
		}
		$seen[$k] = true;
		if ($v === null || !ctype_digit($v)) {
			$errors[$k][] = $k === 'limit'
				? 'limit must be a whole number from 0 to ' . LIMIT_MAX
				: 'offset must be a whole number from 0 to ' . OFFSET_MAX;
			continue;
		}
		$n = ltrim($v, '0');
		$big = strlen($n) > 10 || (int)$n > OFFSET_MAX;
		if ($k === 'limit') {
			$limit = $big ? LIMIT_MAX : min((int)$n, LIMIT_MAX);
		} elseif ($big) {
			$errors['offset'][] = 'offset must be a whole number from 0 to ' . OFFSET_MAX;
		} else {
			$offset = (int)$n;
		}
	}
	if ($errors) {
		problem(400, null, $errors);
	}
	return [$limit, $offset];
}

/* "2024-01-01 00:00:07.123" as 2024-01-01T00:00:07.123Z */
function iso_time(string $t): string
{
	return substr($t, 0, 10) . 'T' . substr($t, 11, 8) . '.' .
	       str_pad(substr($t, 20, 3), 3, '0') . 'Z';
}

function token_json(array $r): array
{
	$t = ['id' => $r['id']];
	if (($r['name'] ?? '') !== '') {
		$t['name'] = $r['name'];
	}
	if (($r['description'] ?? '') !== '') {
		$t['description'] = $r['description'];
	}
	if ($r['has_icon']) {
		$t['icon'] = '/public/v1/accounts/api-tokens/' . $r['id'] . '/icon';
	}
	/* Expired is derived: an Active token past its expiry */
	$t['status'] = $r['status'] === 'Active' && $r['expired'] ? 'Expired' : $r['status'];
	if ($r['last_access_at'] !== null) {
		$t['lastAccessAt'] = iso_time($r['last_access_at']);
	}
	/* the restrictions, each left out when the token has none */
	if ($r['expires_at'] !== null) {
		$t['expiresAt'] = iso_time($r['expires_at']);
	}
	if ($r['not_before'] !== null) {
		$t['notBefore'] = iso_time($r['not_before']);
	}
	if (($r['allowed_ips'] ?? '') !== '') {
		$t['allowedIps'] = explode(',', $r['allowed_ips']);
	}
	if ($r['rate_limit'] !== null && (int)$r['rate_limit'] > 0) {
		$t['rateLimit'] = (int)$r['rate_limit'];
	}
	$t['account'] = [
		'id' => $r['account_id'], 'name' => $r['account_name'],
		'type' => $r['account_type'], 'status' => $r['account_status'],
	];
	$t['revision'] = (int)$r['revision'];
	return $t;
}

const COLUMNS = "t.id, t.name, t.description, t.status, t.has_icon, t.last_access_at, t.revision,
	t.expires_at, t.not_before, t.allowed_ips, t.rate_limit,
	t.expires_at IS NOT NULL AND t.expires_at <= UTC_TIMESTAMP(3) AS expired,
	a.id AS account_id, a.name AS account_name, a.type AS account_type,
	a.status AS account_status";

$value = bearer();
$id = $value === null ? null : token_id($value);
if ($id === null) {
	problem(401);
}
try {
	$db = db();
	$st = $db->prepare("SELECT t.status, t.secret_hash, t.name,
			a.id AS account_id, a.type AS account_type, a.status AS account_status,
			t.last_access_at IS NULL
				OR t.last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE AS stale,
			m.id AS module_id, m.code AS module_code
		FROM tokens t JOIN accounts a ON a.id = t.account_id
		LEFT JOIN token_modules tm ON tm.token_id = t.id
		LEFT JOIN modules m ON m.id = tm.module_id
		WHERE t.id = ?");
	$st->execute([$id]);
	$caller = $st->fetchAll();
} catch (PDOException $e) {
	error_log('list: ' . $e->getMessage());
	problem(503);
}
if (!token_ok($value, $caller)) {
	problem(401);
}
if (!in_array('access-management', array_column($caller, 'module_code'), true)) {
	problem(403, 'This needs the Access Management module.');
}
[$limit, $offset] = paging();
$account = $caller[0]['account_id'];
$ops = $caller[0]['account_type'] === 'Operations';

try {
	/* the schema keeps the totals: counting a big account per page
	 * would cost more than the page */
	if ($ops) {
		$st = $db->query('SELECT COALESCE(SUM(tokens_all), 0) FROM account_token_counts');
	} else {
		$st = $db->prepare('SELECT COALESCE((SELECT tokens FROM account_token_counts
			WHERE account_id = ?), 0)');
		$st->execute([$account]);
	}
	$total = (int)$st->fetchColumn();

	$data = [];
	if ($limit > 0) {
		/* tokens in the order's index first, their accounts per row */
		$st = $db->prepare($ops
			? 'SELECT STRAIGHT_JOIN ' . COLUMNS . ' FROM tokens t
				JOIN accounts a ON a.id = t.account_id
				ORDER BY t.created_at DESC, t.id DESC LIMIT ? OFFSET ?'
			: 'SELECT ' . COLUMNS . " FROM tokens t JOIN accounts a ON a.id = t.account_id
				WHERE t.account_id = ? AND t.status <> 'Deleted'
				ORDER BY t.created_at DESC, t.id DESC LIMIT ? OFFSET ?");
		$i = 1;
		if (!$ops) {
			$st->bindValue($i++, $account);
		}
		$st->bindValue($i++, $limit, PDO::PARAM_INT);
		$st->bindValue($i, $offset, PDO::PARAM_INT);
		$st->execute();
		foreach ($st as $r) {
			$data[] = token_json($r);
		}
	}
} catch (PDOException $e) {
	error_log('list: ' . $e->getMessage());
	problem(503);
}

send_json([
	'$meta' => [
		'pagination' => ['offset' => $offset, 'limit' => $limit, 'total' => $total],
		'omitted' => ['modules', 'audit'],
	],
	'data' => $data,
]);

try {
	touch_later($db, $id, $caller);
} catch (PDOException $e) {
	error_log("list: lastAccessAt of $id: " . $e->getMessage());
}
