/* db_impl.h: what db.c and db_rows.c share, for them alone: the
 * handle behind struct at_db.  The only header that includes mysql.h. */
#ifndef AT_DB_IMPL_H
#define AT_DB_IMPL_H

#include <stdbool.h>

#include <mysql.h>

#include "db.h"

#define DB_DYN_CACHE 32

/* Prepared assembled statements, reused while their text recurs (a
 * settings page sends the same few filters over and over). */
struct dyn_stmt {
	char *sql;
	MYSQL_STMT *st;
	unsigned long used;
};

struct colset;

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

/* A failed statement: its error kept in db->error and mapped to ours
 * (db.c). */
enum at_err at_db_stmt_fail(struct at_db *db, MYSQL_STMT *st);

/* Buffer the result of st, just executed, into rows (db_rows.c). */
enum at_err at_db_rows_start(struct at_db *db, MYSQL_STMT *st, struct at_db_rows *rows);
/* Free the column buffers db keeps for its next results (db_rows.c). */
void at_db_spares_free(struct at_db *db);

#endif
