/* db_stmt.c: the statement table.
 *
 * Every statement the programs run, indexed by enum at_stmt, and the
 * templates of those assembled from fixed parts, indexed by enum at_tpl.
 * Never built from input: values are always bound parameters.  db.c
 * prepares them.
 */
#include "db.h"
#include "db_columns.h"
#include "db_stmt.h"

/* An entry of a table, counted: __COUNTER__ goes up by one per entry,
 * so the asserts after each table can compare its entries with its enum. */
#define STMT(id) [AT_STMT_##id + 0 * __COUNTER__]
#define TPL(id) [AT_TPL_##id + 0 * __COUNTER__]

#define TOKENS_FROM " FROM tokens t JOIN accounts a ON a.id = t.account_id"
#define AUDIT_FROM " FROM audit_records r"
/* The rows read whole, in the order of their enums (db_columns.h). */
#define TOKEN_COLUMNS AT_COLUMNS_SQL(AT_TOKEN_COLUMNS) TOKENS_FROM
#define AUDIT_COLUMNS AT_COLUMNS_SQL(AT_AUDIT_COLUMNS) AUDIT_FROM
#define MODULE_COLUMNS AT_COLUMNS_SQL(AT_MODULE_COLUMNS)

/* Every statement the programs run.  Never built from input. */
enum { STMT_FIRST = __COUNTER__ + 1 };
const char *const at_db_stmt_sql[AT_STMT__MAX] = {
	STMT(PING) = "SELECT 1",
	/* one migrator at a time; the lock dies with its connection */
	STMT(MIGRATION_LOCK) = "SELECT GET_LOCK('apitokend.migrate', 60)",
	STMT(MIGRATION_UNLOCK) = "SELECT RELEASE_LOCK('apitokend.migrate')",
	STMT(MIGRATION_TABLE) =
		"CREATE TABLE IF NOT EXISTS schema_migrations ("
		" version VARCHAR(64) NOT NULL PRIMARY KEY,"
		" applied_at DATETIME(3) NOT NULL"
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
	STMT(MIGRATION_LIST) = "SELECT version FROM schema_migrations ORDER BY version",
	STMT(MIGRATION_ADD) =
		"INSERT INTO schema_migrations (version, applied_at) VALUES (?, UTC_TIMESTAMP(3))",
	STMT(ACCOUNT_GET) = "SELECT id, name, type, status FROM accounts WHERE id = ?",
	STMT(ACCOUNT_INSERT) =
		"INSERT INTO accounts (id, name, type, status, created_at)"
		" VALUES (?, ?, ?, 'Active', UTC_TIMESTAMP(3))",
	STMT(ACCOUNT_LIST) =
		"SELECT a.id, a.type, a.status, a.name,"
		" (SELECT GROUP_CONCAT(am.module_id ORDER BY am.module_id) FROM account_modules am"
		" WHERE am.account_id = a.id) FROM accounts a ORDER BY a.id",
	STMT(USER_INSERT) =
		"INSERT INTO users (id, account_id, name, email, status, created_at)"
		" VALUES (?, ?, ?, ?, 'Active', UTC_TIMESTAMP(3))",
	STMT(USER_MODULE_ADD) =
		"INSERT IGNORE INTO user_modules (user_id, module_id) VALUES (?, ?)",
	STMT(MODULE_INSERT) =
		"INSERT INTO modules (id, code, name, description, account_types, revision)"
		" VALUES (?, ?, ?, ?, ?, 1)",
	STMT(MODULE_PATH_ADD) =
		"INSERT IGNORE INTO module_paths (module_id, path_prefix) VALUES (?, ?)",
	/* in batches, so a big table never sits in one result */
	STMT(TOKENS_TO_RESEAL) =
		"SELECT id, sealed, seal_key_id FROM tokens"
		" WHERE sealed IS NOT NULL AND seal_key_id <> ? ORDER BY id LIMIT 200",
	STMT(TOKEN_RESEAL) =
		"UPDATE tokens SET sealed = ?, seal_key_id = ? WHERE id = ? AND seal_key_id = ?",
	STMT(MODULE_OF_ACCOUNT) =
		"SELECT m.id FROM account_modules am JOIN modules m ON m.id = am.module_id"
		" WHERE am.account_id = ? AND m.id = ?",
	/* restrictions, last on every row but rotation's: expiry and
	 * not-before as epoch ms (compared with the clock in auth.c), the
	 * allowlist, the rate */
#define AUTH_RESTRICTION_COLUMNS \
	", TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.expires_at) DIV 1000," \
	" TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.not_before) DIV 1000," \
	" t.allowed_ips, t.rate_limit"
	/* rotation, last: the previous value's hash and until when it
	 * verifies, as epoch ms, so that the clock decides at use (a cached
	 * row stays right as time passes) */
#define AUTH_ROTATION_COLUMNS \
	", t.prev_secret_hash, TIMESTAMPDIFF(MICROSECOND, '1970-01-01', t.prev_valid_until) DIV 1000"
	/* A token caller in one round trip: the token and its account on
	 * every row, one row per module it holds (in no particular order;
	 * auth.c sorts), one row with NULL modules when it holds none.  NULL
	 * in verify's path column, so that both index their columns alike. */
#define AUTH_TOKEN_COLUMNS \
	"SELECT t.status, t.secret_hash, t.name, a.id, a.name, a.type, a.status," \
	" t.last_access_at IS NULL OR t.last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE," \
	" m.id, m.code, NULL" AUTH_RESTRICTION_COLUMNS AUTH_ROTATION_COLUMNS
#define AUTH_TOKEN_FROM \
	TOKENS_FROM \
	" LEFT JOIN token_modules tm ON tm.token_id = t.id" \
	" LEFT JOIN modules m ON m.id = tm.module_id"
	STMT(AUTH_TOKEN) = AUTH_TOKEN_COLUMNS AUTH_TOKEN_FROM " WHERE t.id = ?",
	/* at most once a minute per token; the condition also keeps workers
	 * that race on one token from writing twice */
	STMT(AUTH_TOKEN_TOUCH) =
		"UPDATE tokens SET last_access_at = UTC_TIMESTAMP(3) WHERE id = ?"
		" AND status = 'Active' AND (last_access_at IS NULL"
		" OR last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)",
	/* verify, the hot path: AT_STMT_AUTH_TOKEN and, on each module's
	 * rows, the path prefixes it grants (one row per path) */
	STMT(VERIFY_PATHS) =
		"SELECT STRAIGHT_JOIN t.status, t.secret_hash, t.name, a.id, a.name, a.type, a.status,"
		" t.last_access_at IS NULL OR t.last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE,"
		" tm.module_id, NULL, mp.path_prefix" AUTH_RESTRICTION_COLUMNS AUTH_ROTATION_COLUMNS
		TOKENS_FROM
		" LEFT JOIN token_modules tm ON tm.token_id = t.id"
		" LEFT JOIN module_paths mp ON mp.module_id = tm.module_id WHERE t.id = ?",
	STMT(AUTH_USER) =
		"SELECT u.status, u.name, a.id, a.name, a.type, a.status"
		" FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id = ?",
	/* a user holds a module only while the account has it enabled */
	STMT(AUTH_USER_MODULES) =
		"SELECT m.id, m.code FROM user_modules um"
		" JOIN account_modules am ON am.module_id = um.module_id AND am.account_id = ?"
		" JOIN modules m ON m.id = um.module_id WHERE um.user_id = ? ORDER BY m.id",
	STMT(TOKEN_INSERT) =
		"INSERT INTO tokens (id, account_id, name, description, status,"
		" secret_hash, sealed, seal_key_id, revision,"
		" created_at, created_by_id, created_by_name)"
		" VALUES (?, ?, ?, ?, 'Active', ?, ?, ?, 1, UTC_TIMESTAMP(3), ?, ?)",
	STMT(TOKEN_MODULE_ADD) =
		"INSERT INTO token_modules (token_id, module_id) VALUES (?, ?)",
	/* totals are kept, not counted: COUNT(*) per list is what a big
	 * account cannot afford */
	STMT(TOKEN_COUNT_BUMP) =
		"INSERT INTO account_token_counts (account_id, tokens, tokens_all)"
		" VALUES (?, 1, 1) ON DUPLICATE KEY UPDATE"
		" tokens = tokens + 1, tokens_all = tokens_all + 1",
	STMT(TOKEN_COUNT_DROP) =
		"UPDATE account_token_counts SET tokens = tokens - 1 WHERE account_id = ?",
	STMT(TOKEN_GET) = "SELECT " TOKEN_COLUMNS " WHERE t.id = ?",
	/* lock the token only; the account row stays free for others */
	STMT(TOKEN_LOCK) = "SELECT revision FROM tokens WHERE id = ? FOR UPDATE",
	STMT(TOKEN_MODULES) =
		"SELECT m.id, m.name FROM token_modules tm JOIN modules m ON m.id = tm.module_id"
		" WHERE tm.token_id = ? ORDER BY m.id",
	STMT(TOKEN_SEALED) = "SELECT sealed, seal_key_id FROM tokens WHERE id = ?",
	STMT(TOKEN_TOTAL_ACCOUNT) =
		"SELECT COALESCE((SELECT tokens FROM account_token_counts WHERE account_id = ?), 0)",
	STMT(TOKEN_TOTAL_ALL) =
		"SELECT COALESCE(SUM(tokens_all), 0) FROM account_token_counts",
	STMT(TOKEN_UPDATE) =
		"UPDATE tokens SET name = ?, description = ?, has_icon = ?, revision = revision + 1,"
		" updated_at = UTC_TIMESTAMP(3), updated_by_id = ?, updated_by_name = ?"
		" WHERE id = ?",
	STMT(TOKEN_MODULES_CLEAR) = "DELETE FROM token_modules WHERE token_id = ?",
	STMT(TOKEN_ENABLE) =
		"UPDATE tokens SET status = 'Active', revision = revision + 1,"
		" enabled_at = UTC_TIMESTAMP(3), enabled_by_id = ?, enabled_by_name = ?"
		" WHERE id = ? AND status = 'Disabled'",
	STMT(TOKEN_DISABLE) =
		"UPDATE tokens SET status = 'Disabled', revision = revision + 1,"
		" disabled_at = UTC_TIMESTAMP(3), disabled_by_id = ?, disabled_by_name = ?"
		" WHERE id = ? AND status = 'Active'",
	/* soft delete: the row stays for Operations, the secret goes */
	STMT(TOKEN_DELETE) =
		"UPDATE tokens SET status = 'Deleted', secret_hash = NULL, sealed = NULL,"
		" seal_key_id = NULL, prev_secret_hash = NULL, prev_valid_until = NULL,"
		" revision = revision + 1,"
		" deleted_at = UTC_TIMESTAMP(3), deleted_by_id = ?, deleted_by_name = ?"
		" WHERE id = ? AND status <> 'Deleted'",
	STMT(TOKEN_ICON_SET) =
		"INSERT INTO token_icons (token_id, content_type, data, updated_at)"
		" VALUES (?, ?, ?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE"
		" content_type = VALUES(content_type), data = VALUES(data),"
		" updated_at = VALUES(updated_at)",
	STMT(TOKEN_ICON_CLEAR) = "DELETE FROM token_icons WHERE token_id = ?",
	STMT(TOKEN_ICON_FLAG) =
		"UPDATE tokens SET has_icon = ?, revision = revision + 1,"
		" updated_at = UTC_TIMESTAMP(3), updated_by_id = ?, updated_by_name = ?"
		" WHERE id = ?",
	STMT(TOKEN_ICON_GET) = "SELECT content_type, data FROM token_icons WHERE token_id = ?",
	STMT(ACCOUNT_MODULES) =
		"SELECT " MODULE_COLUMNS " FROM account_modules am"
		" JOIN modules m ON m.id = am.module_id WHERE am.account_id = ? ORDER BY m.id",
	STMT(ACCOUNT_MODULE_ADD) =
		"INSERT IGNORE INTO account_modules (account_id, module_id) VALUES (?, ?)",
	STMT(ACCOUNT_MODULE_DROP) =
		"DELETE FROM account_modules WHERE account_id = ? AND module_id = ?",
	/* Deleted tokens keep their modules: they are history */
	STMT(TOKENS_WITH_MODULE) =
		"SELECT t.id FROM tokens t JOIN token_modules tm ON tm.token_id = t.id"
		" WHERE t.account_id = ? AND tm.module_id = ? AND t.status <> 'Deleted' ORDER BY t.id",
	STMT(TOKEN_MODULE_DROP) =
		"DELETE FROM token_modules WHERE token_id = ? AND module_id = ?",
	STMT(TOKEN_TOUCH_UPDATED) =
		"UPDATE tokens SET revision = revision + 1, updated_at = UTC_TIMESTAMP(3),"
		" updated_by_id = ?, updated_by_name = ? WHERE id = ?",
	STMT(MODULE_GET) = "SELECT " MODULE_COLUMNS " FROM modules m WHERE m.id = ?",
	/* an exclusive lock on the chain head, made on first use: INSERT
	 * IGNORE would take a shared one and two writers would deadlock */
	STMT(AUDIT_HEAD_ENSURE) =
		"INSERT INTO audit_chain_heads (account_id, seq, hash) VALUES (?, 0, ?)"
		" ON DUPLICATE KEY UPDATE seq = seq",
	STMT(AUDIT_HEAD_LOCK) =
		"SELECT seq, hash, last_at FROM audit_chain_heads WHERE account_id = ? FOR UPDATE",
	STMT(AUDIT_HEAD_SET) =
		"UPDATE audit_chain_heads SET seq = ?, hash = ?, last_at = ? WHERE account_id = ?",
	STMT(AUDIT_INSERT) =
		"INSERT INTO audit_records (" AT_COLUMNS_NAMES(AT_AUDIT_COLUMNS) ")"
		" VALUES (" AT_COLUMNS_PARAMS(AT_AUDIT_COLUMNS) ")",
	STMT(AUDIT_GET) = "SELECT " AUDIT_COLUMNS " WHERE r.id = ?",
	/* the chain head's seq is the account's record count */
	STMT(AUDIT_TOTAL_ACCOUNT) =
		"SELECT COALESCE((SELECT seq FROM audit_chain_heads WHERE account_id = ?), 0)",
	STMT(AUDIT_TOTAL_ALL) = "SELECT COALESCE(SUM(seq), 0) FROM audit_chain_heads",
	STMT(AUDIT_CHAINS) = "SELECT account_id, seq, hash FROM audit_chain_heads ORDER BY account_id",
	STMT(AUDIT_CHAIN_PAGE) =
		"SELECT " AUDIT_COLUMNS " WHERE r.account_id = ? AND r.seq > ? ORDER BY r.seq LIMIT 500",
	/* restrictions: expiry, not-before, allowlist, rate limit, and the
	 * account's maximum lifetime */
	STMT(TOKEN_RESTRICT) =
		"UPDATE tokens SET expires_at = ?, not_before = ?, allowed_ips = ?, rate_limit = ?"
		" WHERE id = ?",
	STMT(TOKEN_ENABLE_UNTIL) =
		"UPDATE tokens SET status = 'Active', expires_at = ?, revision = revision + 1,"
		" enabled_at = UTC_TIMESTAMP(3), enabled_by_id = ?, enabled_by_name = ?"
		" WHERE id = ? AND status <> 'Deleted'",
	STMT(ACCOUNT_LIFETIME) = "SELECT max_token_lifetime FROM accounts WHERE id = ?",
	STMT(ACCOUNT_LIFETIME_SET) = "UPDATE accounts SET max_token_lifetime = ? WHERE id = ?",
	/* rotation: a new value; the one it replaces keeps verifying for
	 * the overlap (in seconds, three times: 0 keeps none).  MariaDB
	 * assigns left to right, so prev_secret_hash takes the old hash. */
	STMT(TOKEN_ROTATE) =
		"UPDATE tokens SET prev_secret_hash = IF(? > 0, secret_hash, NULL),"
		" prev_valid_until = IF(? > 0, UTC_TIMESTAMP(3) + INTERVAL ? SECOND, NULL),"
		" secret_hash = ?, sealed = ?, seal_key_id = ?, revision = revision + 1,"
		" rotated_at = UTC_TIMESTAMP(3), rotated_by_id = ?, rotated_by_name = ?"
		" WHERE id = ? AND status <> 'Deleted'",
	/* last-used addresses: a new address, or the last time of a known
	 * one once it is a minute old (affected rows: 1 new, 2 moved, 0 not) */
	STMT(USAGE_TOUCH) =
		"INSERT INTO token_usage (token_id, ip, first_seen_at, last_seen_at)"
		" VALUES (?, ?, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE"
		" last_seen_at = IF(last_seen_at < VALUES(last_seen_at) - INTERVAL 1 MINUTE,"
		" VALUES(last_seen_at), last_seen_at)",
	/* after a new address: only the newest AT_TOKEN_USAGE_MAX stay (the
	 * derived table is read before the delete) */
	STMT(USAGE_PRUNE) =
		"DELETE FROM token_usage WHERE token_id = ? AND ip NOT IN (SELECT ip FROM"
		" (SELECT ip FROM token_usage WHERE token_id = ?"
		" ORDER BY last_seen_at DESC, ip LIMIT 10) newest)",
	STMT(USAGE_LIST) =
		"SELECT ip, first_seen_at, last_seen_at FROM token_usage WHERE token_id = ?"
		" ORDER BY last_seen_at DESC, ip LIMIT 10",
	/* the verify cache: one row, read by primary key at most once a
	 * second per process, bumped in the transaction of every change an
	 * answer of verify depends on */
	/* row 1: what verify answers; row 2: what lists show (token_cache.h) */
	STMT(TOKEN_CHANGES_GET) = "SELECT n FROM token_changes WHERE id = ?",
	STMT(TOKEN_CHANGES_BUMP) = "UPDATE token_changes SET n = n + 1 WHERE id IN (1, 2)",
	STMT(TOKEN_CHANGES_BUMP_LISTS) = "UPDATE token_changes SET n = n + 1 WHERE id = 2",
};
/* one entry per statement: with no index twice (-Woverride-init) and none
 * out of range, every slot is filled */
_Static_assert(__COUNTER__ - STMT_FIRST == AT_STMT__MAX, "a statement without its SQL");

/* Templates for statements assembled from fixed parts: a WHERE and an
 * ORDER BY that the RQL module built from its field tables, never from
 * request text.  Each %s is filled in order (WHERE, then ORDER BY). */
enum { TPL_FIRST = __COUNTER__ + 1 };
const char *const at_db_tpl_sql[AT_TPL__MAX] = {
	/* tokens first, in the order's index, accounts looked up per row: left
	 * to itself MariaDB reads the 4 accounts first and sorts every token */
	TPL(TOKEN_LIST) =
		"SELECT STRAIGHT_JOIN " TOKEN_COLUMNS " WHERE %s ORDER BY %s LIMIT ? OFFSET ?",
	TPL(TOKEN_COUNT) =
		"SELECT COUNT(*)" TOKENS_FROM " WHERE %s",
	/* the caller's confinement comes first, the filter can only narrow it */
	TPL(TOKEN_LIST_ACCOUNT) =
		"SELECT " TOKEN_COLUMNS " WHERE t.account_id = ? AND t.status <> 'Deleted'"
		" AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
	TPL(TOKEN_COUNT_ACCOUNT) =
		"SELECT COUNT(*)" TOKENS_FROM
		" WHERE t.account_id = ? AND t.status <> 'Deleted' AND (%s)",
	TPL(AUDIT_LIST) = "SELECT " AUDIT_COLUMNS " WHERE %s ORDER BY %s LIMIT ? OFFSET ?",
	TPL(AUDIT_COUNT) = "SELECT COUNT(*)" AUDIT_FROM " WHERE %s",
	TPL(AUDIT_LIST_ACCOUNT) =
		"SELECT " AUDIT_COLUMNS " WHERE r.account_id = ? AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
	TPL(AUDIT_COUNT_ACCOUNT) =
		"SELECT COUNT(*)" AUDIT_FROM " WHERE r.account_id = ? AND (%s)",
	/* the object's own account only: an extension's record naming a
	 * token of another account must not show up in that token's trail */
	TPL(AUDIT_LIST_OBJECT) =
		"SELECT " AUDIT_COLUMNS " WHERE r.object_id = ? AND r.account_id = ? AND (%s)"
		" ORDER BY %s LIMIT ? OFFSET ?",
	TPL(AUDIT_COUNT_OBJECT) =
		"SELECT COUNT(*)" AUDIT_FROM " WHERE r.object_id = ? AND r.account_id = ?"
		" AND (%s)",
	TPL(MODULE_LIST) =
		"SELECT " MODULE_COLUMNS " FROM modules m WHERE %s ORDER BY %s LIMIT ? OFFSET ?",
	TPL(MODULE_COUNT) = "SELECT COUNT(*) FROM modules m WHERE %s",
	/* bulk actions: a locked token re-checked against the filter, with
	 * the confinement of the counts above (test_db_stmt compares them) */
	TPL(TOKEN_BULK_MATCH) =
		"SELECT COUNT(*)" TOKENS_FROM " WHERE (%s) AND t.id = ?",
	TPL(TOKEN_BULK_MATCH_ACCOUNT) =
		"SELECT COUNT(*)" TOKENS_FROM
		" WHERE t.account_id = ? AND t.status <> 'Deleted' AND (%s) AND t.id = ?",
	/* AT_TPL_TOKEN_LIST_ACCOUNT, each row's modules when the first
	 * parameter is 1 (AT_STMT_TOKEN_MODULES as "<len>:<id><len>:<name>"
	 * per module, in id order; "" for none, NULL when not asked) and
	 * AT_STMT_TOKEN_TOTAL_ACCOUNT (a primary-key read, once per
	 * statement), in one round trip */
	TPL(TOKEN_PAGE_ACCOUNT) =
		"SELECT " AT_COLUMNS_SQL(AT_TOKEN_COLUMNS) ","
		" IF(?, (SELECT COALESCE(GROUP_CONCAT(CONCAT(LENGTH(m.id), ':', m.id,"
		" LENGTH(m.name), ':', m.name) ORDER BY m.id SEPARATOR ''), '')"
		" FROM token_modules tm JOIN modules m ON m.id = tm.module_id"
		" WHERE tm.token_id = t.id), NULL),"
		" COALESCE((SELECT tokens FROM account_token_counts WHERE account_id = ?), 0)"
		TOKENS_FROM " WHERE t.account_id = ? AND t.status <> 'Deleted'"
		" AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
};
_Static_assert(__COUNTER__ - TPL_FIRST == AT_TPL__MAX, "a template without its SQL");
