/* db.c: MariaDB Connector/C behind a statement table: connecting,
 * preparing, binding, transactions and their retries.
 *
 * db.c and db_rows.c (reading results), through db_impl.h, are the only
 * files that include mysql.h.  Statements are prepared lazily, once per
 * connection, and reused for every request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <mysqld_error.h>

#include "db.h"
#include "db_impl.h"
#include "db_stmt.h"
#include "isotime.h"
#include "log.h"

/* an RQL filter of 256 nodes binds at most as many values */
#define DB_MAX_PARAMS 320
#define DB_DYN_SQL_MAX 16384

/* Every connection's session: times are stored and compared in UTC;
 * strict mode turns silent truncation into errors; no join buffer, whose
 * block nested loop would otherwise be picked for the small accounts
 * table and cost the Operations list its index order (a sort of every
 * token per page): every join here is on an index anyway. */
#define DB_SESSION \
	"SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES," \
	"NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO," \
	"NO_ENGINE_SUBSTITUTION', join_cache_level = 0"

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

enum at_err at_db_stmt_fail(struct at_db *db, MYSQL_STMT *st)
{
	return db_fail(db, mysql_stmt_errno(st), mysql_stmt_error(st));
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
	long long now = at_mono_now_ms();

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
		if (at_mono_now_ms() - now >= DB_SLOW_CONNECT_MS)
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

void at_db_free(struct at_db *db)
{
	if (!db)
		return;
	db_disconnect(db);
	at_db_spares_free(db);
	free(db);
	/* frees what the connector keeps per thread */
	mysql_thread_end();
}

static enum at_err db_stmt(struct at_db *db, enum at_stmt id, MYSQL_STMT **out)
{
	const char *sql = at_db_stmt_sql[id];
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
		rc = at_db_stmt_fail(db, st);
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
	/* the templates are db_stmt.c's constants, the parts the RQL module's */
	n = snprintf(sql, sizeof(sql), at_db_tpl_sql[tpl], where && *where ? where : "TRUE",
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
		rc = at_db_stmt_fail(db, st);
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
		return at_db_stmt_fail(db, st);
	if (mysql_stmt_execute(st))
		return at_db_stmt_fail(db, st);
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

enum at_err at_db_query(struct at_db *db, enum at_stmt id, const struct at_db_param *params,
			size_t n, struct at_db_rows *rows)
{
	MYSQL_STMT *st = NULL;
	enum at_err rc;

	memset(rows, 0, sizeof(*rows));
	rows->db = db;
	if ((rc = db_execute(db, id, params, n, &st)))
		return rc;
	return at_db_rows_start(db, st, rows);
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
	return at_db_rows_start(db, st, rows);
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
	bool connected = false;
	enum at_err rc;
	MYSQL_RES *res;
	int status;

	if ((rc = db_connect(db)))
		goto out;
	connected = true;
	rc = AT_ERR_DB;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_ON))
		goto out;
	status = mysql_real_query(db->conn, sql, len);
	while (status == 0) {
		res = mysql_store_result(db->conn);
		if (res)
			mysql_free_result(res);
		else if (mysql_field_count(db->conn))
			goto out;
		status = mysql_next_result(db->conn);
	}
	if (status > 0)
		goto out;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF))
		goto out;
	rc = AT_OK;
out:
	if (rc && connected) {
		rc = conn_fail(db);
		if (rc == AT_OK)
			rc = AT_ERR_DB;
	}
	if (rc)
		at_errf(err, errlen, "%s", db->error);
	/* the connection may hold unread results: start afresh */
	if (rc && connected)
		db_disconnect(db);
	return rc;
}
