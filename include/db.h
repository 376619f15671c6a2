/* db.h: the database layer.
 *
 * db.c and db_rows.c are the only files that include mysql.h (through
 * their private db_impl.h).  All SQL the server runs lives in one
 * statement table indexed by enum at_stmt (db_stmt.c) and is prepared
 * once per connection; every value travels as a bound parameter.  A
 * worker owns one struct at_db: connections are never shared between
 * threads.
 *
 * Lost connections are handled here: a call that finds the server gone
 * drops the connection and returns AT_ERR_UNAVAILABLE; the next call tries
 * to connect again (at most once a second), so a worker recovers by itself
 * when the database comes back.
 */
#ifndef AT_DB_H
#define AT_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "settings.h"

enum at_stmt {
	AT_STMT_PING,
	AT_STMT_MIGRATION_LOCK,
	AT_STMT_MIGRATION_UNLOCK,
	AT_STMT_MIGRATION_TABLE,
	AT_STMT_MIGRATION_LIST,
	AT_STMT_MIGRATION_ADD,
	AT_STMT_ACCOUNT_GET,
	AT_STMT_ACCOUNT_INSERT,
	AT_STMT_ACCOUNT_LIST,
	AT_STMT_USER_INSERT,
	AT_STMT_USER_MODULE_ADD,
	AT_STMT_MODULE_INSERT,
	AT_STMT_MODULE_PATH_ADD,
	AT_STMT_TOKENS_TO_RESEAL,
	AT_STMT_TOKEN_RESEAL,
	AT_STMT_MODULE_OF_ACCOUNT,
	AT_STMT_AUTH_TOKEN,
	AT_STMT_AUTH_TOKEN_TOUCH,
	AT_STMT_VERIFY_PATHS,
	AT_STMT_AUTH_USER,
	AT_STMT_AUTH_USER_MODULES,
	AT_STMT_TOKEN_INSERT,
	AT_STMT_TOKEN_MODULE_ADD,
	AT_STMT_TOKEN_COUNT_BUMP,
	AT_STMT_TOKEN_COUNT_DROP,
	AT_STMT_TOKEN_GET,
	AT_STMT_TOKEN_LOCK,
	AT_STMT_TOKEN_MODULES,
	AT_STMT_TOKEN_SEALED,
	AT_STMT_TOKEN_TOTAL_ACCOUNT,
	AT_STMT_TOKEN_TOTAL_ALL,
	AT_STMT_TOKEN_UPDATE,
	AT_STMT_TOKEN_MODULES_CLEAR,
	AT_STMT_TOKEN_ENABLE,
	AT_STMT_TOKEN_DISABLE,
	AT_STMT_TOKEN_DELETE,
	AT_STMT_TOKEN_ICON_SET,
	AT_STMT_TOKEN_ICON_CLEAR,
	AT_STMT_TOKEN_ICON_FLAG,
	AT_STMT_TOKEN_ICON_GET,
	AT_STMT_ACCOUNT_MODULES,
	AT_STMT_ACCOUNT_MODULE_ADD,
	AT_STMT_ACCOUNT_MODULE_DROP,
	AT_STMT_TOKENS_WITH_MODULE,
	AT_STMT_TOKEN_MODULE_DROP,
	AT_STMT_TOKEN_TOUCH_UPDATED,
	AT_STMT_MODULE_GET,
	AT_STMT_AUDIT_HEAD_ENSURE,
	AT_STMT_AUDIT_HEAD_LOCK,
	AT_STMT_AUDIT_HEAD_SET,
	AT_STMT_AUDIT_INSERT,
	AT_STMT_AUDIT_GET,
	AT_STMT_AUDIT_TOTAL_ACCOUNT,
	AT_STMT_AUDIT_TOTAL_ALL,
	AT_STMT_AUDIT_CHAINS,
	AT_STMT_AUDIT_CHAIN_PAGE,
	/* restrictions */
	AT_STMT_TOKEN_RESTRICT,
	AT_STMT_TOKEN_ENABLE_UNTIL,
	AT_STMT_ACCOUNT_LIFETIME,
	AT_STMT_ACCOUNT_LIFETIME_SET,
	/* rotation */
	AT_STMT_TOKEN_ROTATE,
	/* last-used addresses */
	AT_STMT_USAGE_TOUCH,
	AT_STMT_USAGE_PRUNE,
	AT_STMT_USAGE_LIST,
	/* the verify cache: the change counter */
	AT_STMT_TOKEN_CHANGES_GET,
	AT_STMT_TOKEN_CHANGES_BUMP,
	AT_STMT_TOKEN_CHANGES_BUMP_LISTS,
	AT_STMT__MAX
};

/* Templates of statements assembled from fixed parts (see db_stmt.c). */
enum at_tpl {
	AT_TPL_TOKEN_LIST,		/* Operations: every account, Deleted too */
	AT_TPL_TOKEN_COUNT,
	AT_TPL_TOKEN_LIST_ACCOUNT,	/* one account, no Deleted: account id first */
	AT_TPL_TOKEN_COUNT_ACCOUNT,
	AT_TPL_AUDIT_LIST,		/* Operations: every record */
	AT_TPL_AUDIT_COUNT,
	AT_TPL_AUDIT_LIST_ACCOUNT,	/* one account's records: account id first */
	AT_TPL_AUDIT_COUNT_ACCOUNT,
	AT_TPL_AUDIT_LIST_OBJECT,	/* one object of one account: object, account */
	AT_TPL_AUDIT_COUNT_OBJECT,
	AT_TPL_MODULE_LIST,
	AT_TPL_MODULE_COUNT,
	/* bulk actions: is one locked token still matched?  The token
	 * counts' text and parameters, then the token id */
	AT_TPL_TOKEN_BULK_MATCH,
	AT_TPL_TOKEN_BULK_MATCH_ACCOUNT,
	/* one account's page with each row's modules (when the first
	 * parameter is 1) and its kept total as the last column, in one
	 * statement: the flag, the account id (for the total), then as
	 * AT_TPL_TOKEN_LIST_ACCOUNT */
	AT_TPL_TOKEN_PAGE_ACCOUNT,
	AT_TPL__MAX
};

enum at_db_type {
	AT_DB_NULL,
	AT_DB_STR,	/* text: s, len */
	AT_DB_BLOB,	/* bytes: s, len */
	AT_DB_INT,	/* signed 64-bit: i */
};

struct at_db_param {
	enum at_db_type type;
	const void *s;
	size_t len;
	long long i;
};

#define AT_DB_P_NULL() ((struct at_db_param){ .type = AT_DB_NULL })
#define AT_DB_P_STR(str) ((struct at_db_param){ .type = AT_DB_STR, .s = (str), .len = strlen(str) })
#define AT_DB_P_STRN(str, n) ((struct at_db_param){ .type = AT_DB_STR, .s = (str), .len = (n) })
#define AT_DB_P_BLOB(p, n) ((struct at_db_param){ .type = AT_DB_BLOB, .s = (p), .len = (n) })
#define AT_DB_P_INT(v) ((struct at_db_param){ .type = AT_DB_INT, .i = (v) })
/* A string or NULL for a NULL pointer. */
#define AT_DB_P_OPT(str) ((str) ? AT_DB_P_STR(str) : AT_DB_P_NULL())

struct at_db;

/* A result set being read.  Column values stay valid until the next
 * at_db_rows_next() or at_db_rows_release(). */
struct at_db_rows {
	struct at_db *db;
	void *stmt;		/* MYSQL_STMT * */
	void *binds;		/* MYSQL_BIND[ncols] */
	char **bufs;
	unsigned long *lens;
	char *nulls;
	unsigned ncols;
	unsigned long generation;	/* of the connection that ran it */
	bool done;
};

/* Once per process, before any thread uses the database, and at exit. */
AT_MUST_CHECK enum at_err at_db_library_init(void);
void at_db_library_end(void);

/* Allocate a handle; it connects on first use. */
AT_MUST_CHECK enum at_err at_db_open(struct at_db **out, const struct at_settings *s);
void at_db_free(struct at_db *db);

/* Is the server reachable (connecting if needed)? */
AT_MUST_CHECK enum at_err at_db_ping(struct at_db *db);

AT_MUST_CHECK enum at_err at_db_exec(struct at_db *db, enum at_stmt stmt,
				     const struct at_db_param *params, size_t n,
				     uint64_t *affected);
AT_MUST_CHECK enum at_err at_db_query(struct at_db *db, enum at_stmt stmt,
				      const struct at_db_param *params, size_t n,
				      struct at_db_rows *rows);
/* Like at_db_query for template tpl, its WHERE and ORDER BY filled with
 * where and order: text the RQL module assembled from its field tables
 * (values are always parameters).  Prepared statements are cached per
 * connection by their text. */
AT_MUST_CHECK enum at_err at_db_query_built(struct at_db *db, enum at_tpl tpl,
					    const char *where, const char *order,
					    const struct at_db_param *params, size_t n,
					    struct at_db_rows *rows);
/* AT_OK and *more = true with a row, *more = false at the end. */
AT_MUST_CHECK enum at_err at_db_rows_next(struct at_db_rows *rows, bool *more);
/* The column as text (NUL-terminated), or NULL for SQL NULL. */
const char *at_db_rows_str(const struct at_db_rows *rows, unsigned col, size_t *len);
long long at_db_rows_int(const struct at_db_rows *rows, unsigned col);
void at_db_rows_release(struct at_db_rows *rows);

AT_MUST_CHECK enum at_err at_db_begin(struct at_db *db);
AT_MUST_CHECK enum at_err at_db_commit(struct at_db *db);
void at_db_rollback(struct at_db *db);

/* Run a script of several statements (migrations only: never with input
 * from a request).  On failure err names the server's message. */
AT_MUST_CHECK enum at_err at_db_run_script(struct at_db *db, const char *sql, size_t len,
					   char *err, size_t errlen);

/* Run fn inside a transaction: commit when it returns AT_OK, roll back
 * otherwise, and run it again (up to 3 times) when the server reports a
 * deadlock or lock timeout. */
AT_MUST_CHECK enum at_err at_db_transact(struct at_db *db,
					 enum at_err (*fn)(void *arg), void *arg);

/* The last server error, for the log (never sent to a client). */
const char *at_db_error(const struct at_db *db);

#endif
