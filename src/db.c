/* db.c: MariaDB Connector/C behind a statement table.
 *
 * The only file that includes mysql.h.  Statements are prepared lazily,
 * once per connection, and reused for every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "db.h"
#include "log.h"

/* an RQL filter of 256 nodes binds at most as many values */
#define DB_MAX_PARAMS 320
#define DB_DYN_CACHE 32
#define DB_DYN_SQL_MAX 16384
#define DB_COL_INITIAL 256
/* Column buffers are kept for the next result (no malloc per query),
 * up to this size each, in this many sets per connection. */
#define DB_COL_KEEP 16384
#define DB_SPARE_SETS 4
#define DB_SET_MIN_COLS 32

/* Every connection's session: times are stored and compared in UTC;
 * strict mode turns silent truncation into errors; no join buffer, whose
 * block nested loop would otherwise be picked for the small accounts
 * table and cost the Operations list its index order (a sort of every
 * token per page): every join here is on an index anyway. */
#define DB_SESSION \
	"SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES," \
	"NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO," \
	"NO_ENGINE_SUBSTITUTION', join_cache_level = 0"

/* The columns of a token as tokens.c reads them (enum token_col there). */
#define TOKEN_COLUMNS \
	"t.id, t.name, t.description, t.status, t.has_icon, t.last_access_at, t.revision," \
	" t.created_at, t.created_by_id, t.created_by_name," \
	" t.updated_at, t.updated_by_id, t.updated_by_name," \
	" t.enabled_at, t.enabled_by_id, t.enabled_by_name," \
	" t.disabled_at, t.disabled_by_id, t.disabled_by_name," \
	" t.deleted_at, t.deleted_by_id, t.deleted_by_name," \
	" a.id, a.name, a.type, a.status" \
	" FROM tokens t JOIN accounts a ON a.id = t.account_id"
/* The columns of an audit record as audit.c reads them (enum audit_col). */
#define AUDIT_COLUMNS \
	"r.id, r.account_id, r.seq, r.event, r.timestamp, r.summary, r.details," \
	" r.object_id, r.object_name, r.object_type, r.object_revision," \
	" r.actor_id, r.actor_name, r.actor_account_id, r.actor_account_name," \
	" r.request_ip, r.request_user_agent, r.request_id, r.documents, r.prev_hash, r.hash" \
	" FROM audit_records r"
#define MODULE_COLUMNS "m.id, m.name, m.description, m.code, m.account_types, m.revision"

/* Every statement the programs run.  Never built from input. */
static const char *const stmt_sql[AT_STMT__MAX] = {
	[AT_STMT_PING] = "SELECT 1",
	/* one migrator at a time; the lock dies with its connection */
	[AT_STMT_MIGRATION_LOCK] = "SELECT GET_LOCK('apitokend.migrate', 60)",
	[AT_STMT_MIGRATION_UNLOCK] = "SELECT RELEASE_LOCK('apitokend.migrate')",
	[AT_STMT_MIGRATION_TABLE] =
		"CREATE TABLE IF NOT EXISTS schema_migrations ("
		" version VARCHAR(64) NOT NULL PRIMARY KEY,"
		" applied_at DATETIME(3) NOT NULL"
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
	[AT_STMT_MIGRATION_LIST] = "SELECT version FROM schema_migrations ORDER BY version",
	[AT_STMT_MIGRATION_ADD] =
		"INSERT INTO schema_migrations (version, applied_at) VALUES (?, UTC_TIMESTAMP(3))",
	[AT_STMT_ACCOUNT_GET] = "SELECT id, name, type, status FROM accounts WHERE id = ?",
	[AT_STMT_ACCOUNT_INSERT] =
		"INSERT INTO accounts (id, name, type, status, created_at)"
		" VALUES (?, ?, ?, 'Active', UTC_TIMESTAMP(3))",
	[AT_STMT_ACCOUNT_LIST] =
		"SELECT a.id, a.type, a.status, a.name,"
		" (SELECT GROUP_CONCAT(am.module_id ORDER BY am.module_id) FROM account_modules am"
		" WHERE am.account_id = a.id) FROM accounts a ORDER BY a.id",
	[AT_STMT_USER_INSERT] =
		"INSERT INTO users (id, account_id, name, email, status, created_at)"
		" VALUES (?, ?, ?, ?, 'Active', UTC_TIMESTAMP(3))",
	[AT_STMT_USER_MODULE_ADD] =
		"INSERT IGNORE INTO user_modules (user_id, module_id) VALUES (?, ?)",
	[AT_STMT_MODULE_INSERT] =
		"INSERT INTO modules (id, code, name, description, account_types, revision)"
		" VALUES (?, ?, ?, ?, ?, 1)",
	[AT_STMT_MODULE_PATH_ADD] =
		"INSERT IGNORE INTO module_paths (module_id, path_prefix) VALUES (?, ?)",
	/* in batches, so a big table never sits in one result */
	[AT_STMT_TOKENS_TO_RESEAL] =
		"SELECT id, sealed, seal_key_id FROM tokens"
		" WHERE sealed IS NOT NULL AND seal_key_id <> ? ORDER BY id LIMIT 200",
	[AT_STMT_TOKEN_RESEAL] =
		"UPDATE tokens SET sealed = ?, seal_key_id = ? WHERE id = ? AND seal_key_id = ?",
	[AT_STMT_MODULE_OF_ACCOUNT] =
		"SELECT m.id FROM account_modules am JOIN modules m ON m.id = am.module_id"
		" WHERE am.account_id = ? AND m.id = ?",
	/* A token caller in one round trip: the token and its account on
	 * every row, one row per module it holds (in no particular order;
	 * auth.c sorts), one row with NULL modules when it holds none. */
#define AUTH_TOKEN_COLUMNS \
	"SELECT t.status, t.secret_hash, t.name, a.id, a.name, a.type, a.status," \
	" t.last_access_at IS NULL OR t.last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE," \
	" m.id, m.code"
#define AUTH_TOKEN_FROM \
	" FROM tokens t JOIN accounts a ON a.id = t.account_id" \
	" LEFT JOIN token_modules tm ON tm.token_id = t.id" \
	" LEFT JOIN modules m ON m.id = tm.module_id"
	[AT_STMT_AUTH_TOKEN] = AUTH_TOKEN_COLUMNS AUTH_TOKEN_FROM " WHERE t.id = ?",
	/* at most once a minute per token; the condition also keeps workers
	 * that race on one token from writing twice */
	[AT_STMT_AUTH_TOKEN_TOUCH] =
		"UPDATE tokens SET last_access_at = UTC_TIMESTAMP(3) WHERE id = ?"
		" AND status = 'Active' AND (last_access_at IS NULL"
		" OR last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE)",
	/* verify, the hot path: AT_STMT_AUTH_TOKEN and, on each module's
	 * rows, the path prefixes it grants (one row per path) */
	[AT_STMT_VERIFY_PATHS] =
		"SELECT STRAIGHT_JOIN t.status, t.secret_hash, t.name, a.id, a.name, a.type, a.status,"
		" t.last_access_at IS NULL OR t.last_access_at < UTC_TIMESTAMP(3) - INTERVAL 1 MINUTE,"
		" tm.module_id, NULL, mp.path_prefix"
		" FROM tokens t JOIN accounts a ON a.id = t.account_id"
		" LEFT JOIN token_modules tm ON tm.token_id = t.id"
		" LEFT JOIN module_paths mp ON mp.module_id = tm.module_id WHERE t.id = ?",
	[AT_STMT_AUTH_USER] =
		"SELECT u.status, u.name, a.id, a.name, a.type, a.status"
		" FROM users u JOIN accounts a ON a.id = u.account_id WHERE u.id = ?",
	/* a user holds a module only while the account has it enabled */
	[AT_STMT_AUTH_USER_MODULES] =
		"SELECT m.id, m.code FROM user_modules um"
		" JOIN account_modules am ON am.module_id = um.module_id AND am.account_id = ?"
		" JOIN modules m ON m.id = um.module_id WHERE um.user_id = ? ORDER BY m.id",
	[AT_STMT_TOKEN_INSERT] =
		"INSERT INTO tokens (id, account_id, name, description, status,"
		" secret_hash, sealed, seal_key_id, revision,"
		" created_at, created_by_id, created_by_name)"
		" VALUES (?, ?, ?, ?, 'Active', ?, ?, ?, 1, UTC_TIMESTAMP(3), ?, ?)",
	[AT_STMT_TOKEN_MODULE_ADD] =
		"INSERT INTO token_modules (token_id, module_id) VALUES (?, ?)",
	/* totals are kept, not counted: COUNT(*) per list is what a big
	 * account cannot afford */
	[AT_STMT_TOKEN_COUNT_BUMP] =
		"INSERT INTO account_token_counts (account_id, tokens, tokens_all)"
		" VALUES (?, 1, 1) ON DUPLICATE KEY UPDATE"
		" tokens = tokens + 1, tokens_all = tokens_all + 1",
	[AT_STMT_TOKEN_COUNT_DROP] =
		"UPDATE account_token_counts SET tokens = tokens - 1 WHERE account_id = ?",
	[AT_STMT_TOKEN_GET] = "SELECT " TOKEN_COLUMNS " WHERE t.id = ?",
	/* lock the token only; the account row stays free for others */
	[AT_STMT_TOKEN_LOCK] = "SELECT revision FROM tokens WHERE id = ? FOR UPDATE",
	[AT_STMT_TOKEN_MODULES] =
		"SELECT m.id, m.name FROM token_modules tm JOIN modules m ON m.id = tm.module_id"
		" WHERE tm.token_id = ? ORDER BY m.id",
	[AT_STMT_TOKEN_SEALED] = "SELECT sealed, seal_key_id FROM tokens WHERE id = ?",
	[AT_STMT_TOKEN_TOTAL_ACCOUNT] =
		"SELECT COALESCE((SELECT tokens FROM account_token_counts WHERE account_id = ?), 0)",
	[AT_STMT_TOKEN_TOTAL_ALL] =
		"SELECT COALESCE(SUM(tokens_all), 0) FROM account_token_counts",
	[AT_STMT_TOKEN_UPDATE] =
		"UPDATE tokens SET name = ?, description = ?, has_icon = ?, revision = revision + 1,"
		" updated_at = UTC_TIMESTAMP(3), updated_by_id = ?, updated_by_name = ?"
		" WHERE id = ?",
	[AT_STMT_TOKEN_MODULES_CLEAR] = "DELETE FROM token_modules WHERE token_id = ?",
	[AT_STMT_TOKEN_ENABLE] =
		"UPDATE tokens SET status = 'Active', revision = revision + 1,"
		" enabled_at = UTC_TIMESTAMP(3), enabled_by_id = ?, enabled_by_name = ?"
		" WHERE id = ? AND status = 'Disabled'",
	[AT_STMT_TOKEN_DISABLE] =
		"UPDATE tokens SET status = 'Disabled', revision = revision + 1,"
		" disabled_at = UTC_TIMESTAMP(3), disabled_by_id = ?, disabled_by_name = ?"
		" WHERE id = ? AND status = 'Active'",
	/* soft delete: the row stays for Operations, the secret goes */
	[AT_STMT_TOKEN_DELETE] =
		"UPDATE tokens SET status = 'Deleted', secret_hash = NULL, sealed = NULL,"
		" seal_key_id = NULL, revision = revision + 1,"
		" deleted_at = UTC_TIMESTAMP(3), deleted_by_id = ?, deleted_by_name = ?"
		" WHERE id = ? AND status <> 'Deleted'",
	[AT_STMT_TOKEN_ICON_SET] =
		"INSERT INTO token_icons (token_id, content_type, data, updated_at)"
		" VALUES (?, ?, ?, UTC_TIMESTAMP(3)) ON DUPLICATE KEY UPDATE"
		" content_type = VALUES(content_type), data = VALUES(data),"
		" updated_at = VALUES(updated_at)",
	[AT_STMT_TOKEN_ICON_CLEAR] = "DELETE FROM token_icons WHERE token_id = ?",
	[AT_STMT_TOKEN_ICON_FLAG] =
		"UPDATE tokens SET has_icon = ?, revision = revision + 1,"
		" updated_at = UTC_TIMESTAMP(3), updated_by_id = ?, updated_by_name = ?"
		" WHERE id = ?",
	[AT_STMT_TOKEN_ICON_GET] = "SELECT content_type, data FROM token_icons WHERE token_id = ?",
	[AT_STMT_ACCOUNT_MODULES] =
		"SELECT " MODULE_COLUMNS " FROM account_modules am"
		" JOIN modules m ON m.id = am.module_id WHERE am.account_id = ? ORDER BY m.id",
	[AT_STMT_ACCOUNT_MODULE_ADD] =
		"INSERT IGNORE INTO account_modules (account_id, module_id) VALUES (?, ?)",
	[AT_STMT_ACCOUNT_MODULE_DROP] =
		"DELETE FROM account_modules WHERE account_id = ? AND module_id = ?",
	/* Deleted tokens keep their modules: they are history */
	[AT_STMT_TOKENS_WITH_MODULE] =
		"SELECT t.id FROM tokens t JOIN token_modules tm ON tm.token_id = t.id"
		" WHERE t.account_id = ? AND tm.module_id = ? AND t.status <> 'Deleted' ORDER BY t.id",
	[AT_STMT_TOKEN_MODULE_DROP] =
		"DELETE FROM token_modules WHERE token_id = ? AND module_id = ?",
	[AT_STMT_TOKEN_TOUCH_UPDATED] =
		"UPDATE tokens SET revision = revision + 1, updated_at = UTC_TIMESTAMP(3),"
		" updated_by_id = ?, updated_by_name = ? WHERE id = ?",
	[AT_STMT_MODULE_GET] = "SELECT " MODULE_COLUMNS " FROM modules m WHERE m.id = ?",
	/* an exclusive lock on the chain head, made on first use: INSERT
	 * IGNORE would take a shared one and two writers would deadlock */
	[AT_STMT_AUDIT_HEAD_ENSURE] =
		"INSERT INTO audit_chain_heads (account_id, seq, hash) VALUES (?, 0, ?)"
		" ON DUPLICATE KEY UPDATE seq = seq",
	[AT_STMT_AUDIT_HEAD_LOCK] =
		"SELECT seq, hash, last_at FROM audit_chain_heads WHERE account_id = ? FOR UPDATE",
	[AT_STMT_AUDIT_HEAD_SET] =
		"UPDATE audit_chain_heads SET seq = ?, hash = ?, last_at = ? WHERE account_id = ?",
	[AT_STMT_AUDIT_INSERT] =
		"INSERT INTO audit_records (id, account_id, seq, event, timestamp, summary,"
		" details, object_id, object_name, object_type, object_revision, actor_id,"
		" actor_name, actor_account_id, actor_account_name, request_ip,"
		" request_user_agent, request_id, documents, prev_hash, hash)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[AT_STMT_AUDIT_GET] = "SELECT " AUDIT_COLUMNS " WHERE r.id = ?",
	/* the chain head's seq is the account's record count */
	[AT_STMT_AUDIT_TOTAL_ACCOUNT] =
		"SELECT COALESCE((SELECT seq FROM audit_chain_heads WHERE account_id = ?), 0)",
	[AT_STMT_AUDIT_TOTAL_ALL] = "SELECT COALESCE(SUM(seq), 0) FROM audit_chain_heads",
	[AT_STMT_AUDIT_CHAINS] = "SELECT account_id, seq, hash FROM audit_chain_heads ORDER BY account_id",
	[AT_STMT_AUDIT_CHAIN_PAGE] =
		"SELECT " AUDIT_COLUMNS " WHERE r.account_id = ? AND r.seq > ? ORDER BY r.seq LIMIT 500",
};

/* Templates for statements assembled from fixed parts: a WHERE and an
 * ORDER BY that the RQL module built from its field tables, never from
 * request text.  Each %s is filled in order (WHERE, then ORDER BY). */
static const char *const tpl_sql[AT_TPL__MAX] = {
	/* tokens first, in the order's index, accounts looked up per row: left
	 * to itself MariaDB reads the 4 accounts first and sorts every token */
	[AT_TPL_TOKEN_LIST] =
		"SELECT STRAIGHT_JOIN " TOKEN_COLUMNS " WHERE %s ORDER BY %s LIMIT ? OFFSET ?",
	[AT_TPL_TOKEN_COUNT] =
		"SELECT COUNT(*) FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE %s",
	/* the caller's confinement comes first, the filter can only narrow it */
	[AT_TPL_TOKEN_LIST_ACCOUNT] =
		"SELECT " TOKEN_COLUMNS " WHERE t.account_id = ? AND t.status <> 'Deleted'"
		" AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
	[AT_TPL_TOKEN_COUNT_ACCOUNT] =
		"SELECT COUNT(*) FROM tokens t JOIN accounts a ON a.id = t.account_id"
		" WHERE t.account_id = ? AND t.status <> 'Deleted' AND (%s)",
	[AT_TPL_AUDIT_LIST] = "SELECT " AUDIT_COLUMNS " WHERE %s ORDER BY %s LIMIT ? OFFSET ?",
	[AT_TPL_AUDIT_COUNT] = "SELECT COUNT(*) FROM audit_records r WHERE %s",
	[AT_TPL_AUDIT_LIST_ACCOUNT] =
		"SELECT " AUDIT_COLUMNS " WHERE r.account_id = ? AND (%s) ORDER BY %s LIMIT ? OFFSET ?",
	[AT_TPL_AUDIT_COUNT_ACCOUNT] =
		"SELECT COUNT(*) FROM audit_records r WHERE r.account_id = ? AND (%s)",
	/* the object's own account only: an extension's record naming a
	 * token of another account must not show up in that token's trail */
	[AT_TPL_AUDIT_LIST_OBJECT] =
		"SELECT " AUDIT_COLUMNS " WHERE r.object_id = ? AND r.account_id = ? AND (%s)"
		" ORDER BY %s LIMIT ? OFFSET ?",
	[AT_TPL_AUDIT_COUNT_OBJECT] =
		"SELECT COUNT(*) FROM audit_records r WHERE r.object_id = ? AND r.account_id = ?"
		" AND (%s)",
	[AT_TPL_MODULE_LIST] =
		"SELECT " MODULE_COLUMNS " FROM modules m WHERE %s ORDER BY %s LIMIT ? OFFSET ?",
	[AT_TPL_MODULE_COUNT] = "SELECT COUNT(*) FROM modules m WHERE %s",
};

/* Prepared assembled statements, reused while their text recurs (a
 * settings page sends the same few filters over and over). */
struct dyn_stmt {
	char *sql;
	MYSQL_STMT *st;
	unsigned long used;
};

/* The buffers a result is read into, reused from query to query: rows
 * borrow a set in rows_start and give it back in at_db_rows_release.
 * Each buffer holds sizes[i] bytes: binds[i].buffer_length + 1. */
struct colset {
	struct colset *next;
	unsigned cap;
	char **bufs;
	unsigned long *lens;
	unsigned long *sizes;
	char *nulls;
	/* DATETIME and TIMESTAMP columns come as MYSQL_TIME and are made
	 * text here: the connector's own conversion is a sprintf per value,
	 * a sixth of a list's time.  decimals[i] is 0xff for other columns. */
	MYSQL_TIME *times;
	unsigned char *decimals;
	MYSQL_BIND binds[];
};

struct at_db {
	struct colset *spare;	/* sets for the next results */
	unsigned nspare;
	const struct at_settings *s;
	MYSQL *conn;
	MYSQL_STMT *stmts[AT_STMT__MAX];
	struct dyn_stmt dyn[DB_DYN_CACHE];
	unsigned long tick;
	long long last_attempt;		/* ms, monotonic: the last slow failed connect */
	long long last_used;		/* ms, monotonic: the last statement */
	bool in_tx;			/* between begin and commit/rollback */
	unsigned long generation;	/* bumped when statements are closed */
	char error[512];
};

const char *at_db_error(const struct at_db *db)
{
	return db->error;
}

static void db_disconnect(struct at_db *db)
{
	unsigned i;

	for (i = 0; i < AT_STMT__MAX; i++) {
		if (db->stmts[i]) {
			mysql_stmt_close(db->stmts[i]);
			db->stmts[i] = NULL;
		}
	}
	for (i = 0; i < DB_DYN_CACHE; i++) {
		if (db->dyn[i].st)
			mysql_stmt_close(db->dyn[i].st);
		free(db->dyn[i].sql);
		memset(&db->dyn[i], 0, sizeof(db->dyn[i]));
	}
	if (db->conn) {
		mysql_close(db->conn);
		db->conn = NULL;
	}
	db->generation++;
}

/* Map a server or client error number to ours; a lost server also drops
 * the connection so that the next call reconnects. */
static enum at_err db_fail(struct at_db *db, unsigned errnum, const char *msg)
{
	snprintf(db->error, sizeof(db->error), "%u: %s", errnum, msg ? msg : "");
	switch (errnum) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_UNKNOWN_HOST:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case ER_CONNECTION_KILLED:
	case ER_SERVER_SHUTDOWN:
	case ER_CON_COUNT_ERROR:
		db_disconnect(db);
		return AT_ERR_UNAVAILABLE;
	case ER_LOCK_DEADLOCK:
	case ER_LOCK_WAIT_TIMEOUT:
		return AT_ERR_RETRY;
	case ER_DUP_ENTRY:
		return AT_ERR_DUPLICATE;
	default:
		return AT_ERR_DB;
	}
}

static enum at_err conn_fail(struct at_db *db)
{
	return db_fail(db, mysql_errno(db->conn), mysql_error(db->conn));
}

static enum at_err stmt_fail(struct at_db *db, MYSQL_STMT *st)
{
	return db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection idle this long is pinged before use: the server may have
 * restarted meanwhile, and a dead connection found by a ping is replaced
 * at once, before any statement could have been half sent. */
#define DB_IDLE_PING_MS 1000
/* After a connect attempt that took long (a server that does not answer
 * rather than refuses), wait this long before the next one, so that an
 * outage does not hold every worker in connect timeouts.  A refused
 * connect costs nothing and is tried again at once: the first request
 * after the server is back must not be turned away. */
#define DB_SLOW_CONNECT_MS 500
#define DB_RETRY_MS 1000

static enum at_err db_connect(struct at_db *db)
{
	const struct at_settings *s = db->s;
	unsigned timeout = s->db_connect_timeout;
	/* a stuck server must not hold a worker forever */
	unsigned io_timeout = 30;
	my_bool off = 0;
	long long now = now_ms();

	if (db->conn) {
		if (now - db->last_used < DB_IDLE_PING_MS || !mysql_ping(db->conn)) {
			db->last_used = now;
			return AT_OK;
		}
		at_log_info("database connection lost while idle: reconnecting");
		db_disconnect(db);
		db->last_attempt = 0;
	}
	/* a transaction that lost its connection is gone with it: nothing
	 * of it may go on in autocommit on a new one */
	if (db->in_tx)
		return AT_ERR_UNAVAILABLE;
	if (db->last_attempt && now - db->last_attempt < DB_RETRY_MS)
		return AT_ERR_UNAVAILABLE;
	db->last_attempt = 0;
	db->conn = mysql_init(NULL);
	if (!db->conn)
		return AT_ERR_NOMEM;
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
	mysql_options(db->conn, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(db->conn, MYSQL_INIT_COMMAND, DB_SESSION);
	if (!mysql_real_connect(db->conn, s->db_host, s->db_user, s->db_password,
				s->db_name, s->db_port,
				s->db_socket[0] ? s->db_socket : NULL, 0)) {
		(void)conn_fail(db);
		db_disconnect(db);
		if (now_ms() - now >= DB_SLOW_CONNECT_MS)
			db->last_attempt = now;
		/* a wrong password or database leaves the server as useless
		 * to us as an outage does */
		return AT_ERR_UNAVAILABLE;
	}
	at_log_debug("database connected (%s)", mysql_get_host_info(db->conn));
	db->last_used = now;
	return AT_OK;
}

enum at_err at_db_library_init(void)
{
	return mysql_library_init(0, NULL, NULL) ? AT_ERR_DB : AT_OK;
}

void at_db_library_end(void)
{
	mysql_library_end();
}

enum at_err at_db_open(struct at_db **out, const struct at_settings *s)
{
	struct at_db *db = calloc(1, sizeof(*db));

	*out = NULL;
	if (!db)
		return AT_ERR_NOMEM;
	db->s = s;
	*out = db;
	return AT_OK;
}

static void colset_free(struct colset *set)
{
	unsigned i;

	for (i = 0; i < set->cap; i++)
		free(set->bufs[i]);
	free(set->bufs);
	free(set->lens);
	free(set->sizes);
	free(set->nulls);
	free(set->times);
	free(set->decimals);
	free(set);
}

/* A set of at least n columns: a spare one, or a new one. */
static struct colset *colset_get(struct at_db *db, unsigned n)
{
	struct colset **pp, *set;

	for (pp = &db->spare; *pp; pp = &(*pp)->next) {
		if ((*pp)->cap >= n) {
			set = *pp;
			*pp = set->next;
			db->nspare--;
			set->next = NULL;
			return set;
		}
	}
	if (n < DB_SET_MIN_COLS)
		n = DB_SET_MIN_COLS;
	set = calloc(1, sizeof(*set) + n * sizeof(MYSQL_BIND));
	if (!set)
		return NULL;
	set->cap = n;
	set->bufs = calloc(n, sizeof(*set->bufs));
	set->lens = calloc(n, sizeof(*set->lens));
	set->sizes = calloc(n, sizeof(*set->sizes));
	set->nulls = calloc(n, sizeof(*set->nulls));
	set->times = calloc(n, sizeof(*set->times));
	set->decimals = calloc(n, sizeof(*set->decimals));
	if (!set->bufs || !set->lens || !set->sizes || !set->nulls || !set->times ||
	    !set->decimals) {
		colset_free(set);
		return NULL;
	}
	return set;
}

/* Back to the spares; a buffer a big value (an icon) grew is freed, so
 * that a worker does not keep megabytes for its next query. */
static void colset_put(struct at_db *db, struct colset *set)
{
	unsigned i;

	if (db->nspare >= DB_SPARE_SETS) {
		colset_free(set);
		return;
	}
	for (i = 0; i < set->cap; i++) {
		if (set->sizes[i] > DB_COL_KEEP) {
			free(set->bufs[i]);
			set->bufs[i] = NULL;
			set->sizes[i] = 0;
		}
	}
	set->next = db->spare;
	db->spare = set;
	db->nspare++;
}

static struct colset *colset_of(const struct at_db_rows *rows)
{
	return (struct colset *)(void *)((char *)rows->binds - offsetof(struct colset, binds));
}

void at_db_free(struct at_db *db)
{
	struct colset *set;

	if (!db)
		return;
	db_disconnect(db);
	while ((set = db->spare)) {
		db->spare = set->next;
		colset_free(set);
	}
	free(db);
	/* frees what the connector keeps per thread */
	mysql_thread_end();
}

static enum at_err db_stmt(struct at_db *db, enum at_stmt id, MYSQL_STMT **out)
{
	const char *sql = stmt_sql[id];
	enum at_err rc;
	MYSQL_STMT *st = NULL;

	if ((rc = db_connect(db)))
		return rc;
	if (db->stmts[id]) {
		*out = db->stmts[id];
		return AT_OK;
	}
	st = mysql_stmt_init(db->conn);
	if (!st)
		return AT_ERR_NOMEM;
	if (mysql_stmt_prepare(st, sql, strlen(sql))) {
		rc = stmt_fail(db, st);
		mysql_stmt_close(st);
		if (rc == AT_ERR_DB)
			at_log_error("prepare statement %d: %s", (int)id, db->error);
		return rc;
	}
	db->stmts[id] = st;
	*out = st;
	return AT_OK;
}

/* A prepared statement for template tpl with where and order filled in,
 * from the cache or prepared now (evicting the least recently used). */
static enum at_err db_dynamic(struct at_db *db, enum at_tpl tpl, const char *where,
			      const char *order, MYSQL_STMT **out)
{
	char sql[DB_DYN_SQL_MAX];
	struct dyn_stmt *d, *victim = NULL;
	enum at_err rc;
	MYSQL_STMT *st;
	size_t i, len;
	int n;

	if ((unsigned)tpl >= AT_TPL__MAX)
		return AT_ERR_INTERNAL;
	if ((rc = db_connect(db)))
		return rc;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	/* the templates are this file's constants, the parts the RQL module's */
	n = snprintf(sql, sizeof(sql), tpl_sql[tpl], where && *where ? where : "TRUE",
		     order ? order : "");
#pragma GCC diagnostic pop
	if (n < 0 || (size_t)n >= sizeof(sql))
		return AT_ERR_INVALID;
	len = (size_t)n;
	db->tick++;
	for (i = 0; i < DB_DYN_CACHE; i++) {
		d = &db->dyn[i];
		if (d->sql && !strcmp(d->sql, sql)) {
			d->used = db->tick;
			*out = d->st;
			return AT_OK;
		}
		/* an empty slot, else the least recently used */
		if (!d->sql) {
			if (!victim || victim->sql)
				victim = d;
		} else if (!victim || (victim->sql && d->used < victim->used)) {
			victim = d;
		}
	}
	st = mysql_stmt_init(db->conn);
	if (!st)
		return AT_ERR_NOMEM;
	if (mysql_stmt_prepare(st, sql, len)) {
		rc = stmt_fail(db, st);
		mysql_stmt_close(st);
		if (rc == AT_ERR_DB)
			at_log_error("prepare assembled statement: %s", db->error);
		return rc;
	}
	if (victim->st)
		mysql_stmt_close(victim->st);
	free(victim->sql);
	victim->sql = strdup(sql);
	if (!victim->sql) {
		mysql_stmt_close(st);
		victim->st = NULL;
		return AT_ERR_NOMEM;
	}
	victim->st = st;
	victim->used = db->tick;
	*out = st;
	return AT_OK;
}

static enum at_err db_bind_execute(struct at_db *db, MYSQL_STMT *st,
				   const struct at_db_param *params, size_t n)
{
	MYSQL_BIND bind[DB_MAX_PARAMS];
	long long ints[DB_MAX_PARAMS];
	size_t i;

	if (n > DB_MAX_PARAMS || mysql_stmt_param_count(st) != n) {
		at_log_error("statement takes %lu parameters, given %zu",
			     mysql_stmt_param_count(st), n);
		return AT_ERR_INTERNAL;
	}
	/* only the n in use: the whole array is 35 KiB to clear per query */
	memset(bind, 0, n * sizeof(bind[0]));
	for (i = 0; i < n; i++) {
		switch (params[i].type) {
		case AT_DB_NULL:
			bind[i].buffer_type = MYSQL_TYPE_NULL;
			break;
		case AT_DB_STR:
		case AT_DB_BLOB:
			bind[i].buffer_type = params[i].type == AT_DB_STR ? MYSQL_TYPE_STRING
									   : MYSQL_TYPE_BLOB;
			bind[i].buffer = (void *)(uintptr_t)params[i].s;
			bind[i].buffer_length = params[i].len;
			break;
		case AT_DB_INT:
			ints[i] = params[i].i;
			bind[i].buffer_type = MYSQL_TYPE_LONGLONG;
			bind[i].buffer = &ints[i];
			break;
		}
	}
	if (n && mysql_stmt_bind_param(st, bind))
		return stmt_fail(db, st);
	if (mysql_stmt_execute(st))
		return stmt_fail(db, st);
	return AT_OK;
}

static enum at_err db_execute(struct at_db *db, enum at_stmt id,
			      const struct at_db_param *params, size_t n, MYSQL_STMT **out)
{
	MYSQL_STMT *st = NULL;
	enum at_err rc;

	if ((unsigned)id >= AT_STMT__MAX)
		return AT_ERR_INTERNAL;
	if ((rc = db_stmt(db, id, &st)) || (rc = db_bind_execute(db, st, params, n)))
		return rc;
	*out = st;
	return AT_OK;
}

enum at_err at_db_exec(struct at_db *db, enum at_stmt id, const struct at_db_param *params,
		       size_t n, uint64_t *affected)
{
	MYSQL_STMT *st = NULL;
	enum at_err rc;

	if ((rc = db_execute(db, id, params, n, &st)))
		return rc;
	if (affected)
		*affected = mysql_stmt_affected_rows(st);
	/* a statement that returned rows must be drained before the next */
	if (mysql_stmt_field_count(st))
		mysql_stmt_free_result(st);
	return AT_OK;
}

void at_db_rows_release(struct at_db_rows *rows)
{
	/* a lost connection has closed the statement already */
	if (rows->stmt && rows->db->generation == rows->generation)
		mysql_stmt_free_result(rows->stmt);
	if (rows->binds)
		colset_put(rows->db, colset_of(rows));
	memset(rows, 0, sizeof(*rows));
}

static enum at_err rows_start(struct at_db *db, MYSQL_STMT *st, struct at_db_rows *rows);

enum at_err at_db_query(struct at_db *db, enum at_stmt id, const struct at_db_param *params,
			size_t n, struct at_db_rows *rows)
{
	MYSQL_STMT *st = NULL;
	enum at_err rc;

	memset(rows, 0, sizeof(*rows));
	rows->db = db;
	if ((rc = db_execute(db, id, params, n, &st)))
		return rc;
	return rows_start(db, st, rows);
}

enum at_err at_db_query_built(struct at_db *db, enum at_tpl tpl, const char *where,
			      const char *order, const struct at_db_param *params, size_t n,
			      struct at_db_rows *rows)
{
	MYSQL_STMT *st = NULL;
	enum at_err rc;

	memset(rows, 0, sizeof(*rows));
	rows->db = db;
	if ((rc = db_dynamic(db, tpl, where, order, &st)) ||
	    (rc = db_bind_execute(db, st, params, n)))
		return rc;
	return rows_start(db, st, rows);
}

static enum at_err rows_start(struct at_db *db, MYSQL_STMT *st, struct at_db_rows *rows)
{
	struct colset *set;
	MYSQL_FIELD *fields;
	MYSQL_BIND *binds;
	enum at_err rc;
	unsigned i;

	rows->stmt = st;
	rows->generation = db->generation;
	/* buffer the whole result: the connection is then free for other
	 * statements while the caller walks the rows */
	if (mysql_stmt_store_result(st)) {
		rc = stmt_fail(db, st);
		goto err;
	}
	rows->ncols = mysql_stmt_field_count(st);
	rc = AT_ERR_NOMEM;
	set = colset_get(db, rows->ncols);
	if (!set)
		goto err;
	rows->binds = binds = set->binds;
	rows->bufs = set->bufs;
	rows->lens = set->lens;
	rows->nulls = set->nulls;
	fields = rows->ncols ? mariadb_stmt_fetch_fields(st) : NULL;
	for (i = 0; i < rows->ncols; i++) {
		if (!set->bufs[i]) {
			set->bufs[i] = malloc(DB_COL_INITIAL);
			if (!set->bufs[i])
				goto err;
			set->sizes[i] = DB_COL_INITIAL;
		}
		memset(&binds[i], 0, sizeof(binds[i]));
		binds[i].buffer_type = MYSQL_TYPE_STRING;
		binds[i].buffer = set->bufs[i];
		binds[i].buffer_length = set->sizes[i] - 1;
		binds[i].length = &set->lens[i];
		binds[i].is_null = (my_bool *)&set->nulls[i];
		set->lens[i] = 0;
		set->nulls[i] = 0;
		set->decimals[i] = 0xff;
		if (fields && (fields[i].type == MYSQL_TYPE_DATETIME ||
			       fields[i].type == MYSQL_TYPE_TIMESTAMP)) {
			set->decimals[i] = (unsigned char)(fields[i].decimals <= 6 ? fields[i].decimals : 0);
			binds[i].buffer_type = MYSQL_TYPE_DATETIME;
			binds[i].buffer = &set->times[i];
			binds[i].buffer_length = sizeof(set->times[i]);
		}
	}
	if (rows->ncols && mysql_stmt_bind_result(st, binds)) {
		rc = stmt_fail(db, st);
		goto err;
	}
	return AT_OK;
err:
	at_db_rows_release(rows);
	return rc;
}

/* A value longer than its buffer: grow the buffer and fetch the column
 * again, and keep the bigger buffer for the rows that follow. */
static enum at_err rows_refetch(struct at_db_rows *rows)
{
	MYSQL_BIND *binds = rows->binds;
	unsigned i;
	char *p;

	for (i = 0; i < rows->ncols; i++) {
		if (rows->nulls[i] || rows->lens[i] <= binds[i].buffer_length ||
		    colset_of(rows)->decimals[i] != 0xff)
			continue;
		p = realloc(rows->bufs[i], rows->lens[i] + 1);
		if (!p)
			return AT_ERR_NOMEM;
		rows->bufs[i] = p;
		colset_of(rows)->sizes[i] = rows->lens[i] + 1;
		binds[i].buffer = p;
		binds[i].buffer_length = rows->lens[i];
		if (mysql_stmt_fetch_column(rows->stmt, &binds[i], i, 0))
			return stmt_fail(rows->db, rows->stmt);
	}
	if (mysql_stmt_bind_result(rows->stmt, binds))
		return stmt_fail(rows->db, rows->stmt);
	return AT_OK;
}

/* Digits of v, exactly n of them (leading zeros), at out. */
static void put_digits(char *out, unsigned long v, unsigned n)
{
	while (n--) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* A DATETIME as the connector would have made it text:
 * YYYY-MM-DD HH:MM:SS, then .f… with the column's decimals (cut, not
 * rounded).  out holds at least DB_COL_INITIAL bytes. */
static unsigned long format_datetime(char *out, const MYSQL_TIME *t, unsigned decimals)
{
	unsigned long frac = t->second_part;
	unsigned d;

	put_digits(out, t->year, 4);
	out[4] = '-';
	put_digits(out + 5, t->month, 2);
	out[7] = '-';
	put_digits(out + 8, t->day, 2);
	out[10] = ' ';
	put_digits(out + 11, t->hour, 2);
	out[13] = ':';
	put_digits(out + 14, t->minute, 2);
	out[16] = ':';
	put_digits(out + 17, t->second, 2);
	if (!decimals)
		return 19;
	out[19] = '.';
	for (d = decimals; d < 6; d++)
		frac /= 10;
	put_digits(out + 20, frac, decimals);
	return 20 + decimals;
}

enum at_err at_db_rows_next(struct at_db_rows *rows, bool *more)
{
	struct colset *set;
	enum at_err rc;
	unsigned i;
	int r;

	*more = false;
	if (rows->done || !rows->stmt)
		return AT_OK;
	if (rows->db->generation != rows->generation)
		return AT_ERR_UNAVAILABLE;
	r = mysql_stmt_fetch(rows->stmt);
	if (r == MYSQL_NO_DATA) {
		rows->done = true;
		return AT_OK;
	}
	if (r == 1)
		return stmt_fail(rows->db, rows->stmt);
	if (r == MYSQL_DATA_TRUNCATED && (rc = rows_refetch(rows)))
		return rc;
	set = colset_of(rows);
	for (i = 0; i < rows->ncols; i++) {
		if (set->decimals[i] != 0xff && !rows->nulls[i])
			rows->lens[i] = format_datetime(rows->bufs[i], &set->times[i],
							set->decimals[i]);
		rows->bufs[i][rows->nulls[i] ? 0 : rows->lens[i]] = '\0';
	}
	*more = true;
	return AT_OK;
}

const char *at_db_rows_str(const struct at_db_rows *rows, unsigned col, size_t *len)
{
	if (col >= rows->ncols || rows->nulls[col]) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = rows->lens[col];
	return rows->bufs[col];
}

long long at_db_rows_int(const struct at_db_rows *rows, unsigned col)
{
	const char *s = at_db_rows_str(rows, col, NULL);

	return s ? strtoll(s, NULL, 10) : 0;
}

enum at_err at_db_ping(struct at_db *db)
{
	struct at_db_rows rows;
	enum at_err rc;
	bool more;

	if ((rc = at_db_query(db, AT_STMT_PING, NULL, 0, &rows)))
		return rc;
	rc = at_db_rows_next(&rows, &more);
	at_db_rows_release(&rows);
	if (!rc && !more)
		rc = AT_ERR_DB;
	return rc;
}

enum at_err at_db_begin(struct at_db *db)
{
	enum at_err rc;

	if ((rc = db_connect(db)))
		return rc;
	if (mysql_autocommit(db->conn, 0))
		return conn_fail(db);
	db->in_tx = true;
	return AT_OK;
}

enum at_err at_db_commit(struct at_db *db)
{
	enum at_err rc = AT_OK;

	db->in_tx = false;
	if (!db->conn)
		return AT_ERR_UNAVAILABLE;
	if (mysql_commit(db->conn))
		rc = conn_fail(db);
	if (db->conn && mysql_autocommit(db->conn, 1) && !rc)
		rc = conn_fail(db);
	return rc;
}

void at_db_rollback(struct at_db *db)
{
	db->in_tx = false;
	if (!db->conn)
		return;
	if (mysql_rollback(db->conn) || mysql_autocommit(db->conn, 1))
		(void)conn_fail(db);
}

enum at_err at_db_transact(struct at_db *db, enum at_err (*fn)(void *arg), void *arg)
{
	enum at_err rc = AT_ERR_RETRY;
	unsigned tries;

	for (tries = 0; tries < 3 && rc == AT_ERR_RETRY; tries++) {
		if ((rc = at_db_begin(db)))
			return rc;
		rc = fn(arg);
		if (!rc)
			rc = at_db_commit(db);
		else
			at_db_rollback(db);
	}
	return rc;
}

enum at_err at_db_run_script(struct at_db *db, const char *sql, size_t len, char *err,
			     size_t errlen)
{
	enum at_err rc;
	MYSQL_RES *res;
	int status;

	if ((rc = db_connect(db))) {
		snprintf(err, errlen, "%s", db->error);
		return rc;
	}
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_ON))
		goto fail;
	status = mysql_real_query(db->conn, sql, len);
	while (status == 0) {
		res = mysql_store_result(db->conn);
		if (res)
			mysql_free_result(res);
		else if (mysql_field_count(db->conn))
			goto fail;
		status = mysql_next_result(db->conn);
	}
	if (status > 0)
		goto fail;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF))
		goto fail;
	return AT_OK;
fail:
	rc = conn_fail(db);
	snprintf(err, errlen, "%s", db->error);
	/* the connection may hold unread results: start afresh */
	db_disconnect(db);
	return rc == AT_OK ? AT_ERR_DB : rc;
}
