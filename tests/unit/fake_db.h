/* fake_db.h: a scripted database for unit tests.
 *
 * fake_db.c defines every function of db.h, so a test program that links
 * it before libapitokend.a never pulls db.o or db_rows.o in.  A test lists the
 * statements it expects, in order, each with the parameters it must be
 * given and the rows (or error) it answers; a statement out of script
 * fails the test.  Transactions are counted, not scripted.
 */
#ifndef FAKE_DB_H
#define FAKE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

#define FAKE_MAX_PARAMS 24
#define FAKE_MAX_COLS 48
#define FAKE_MAX_ROWS 8

/* A cell: s NULL is SQL NULL; len 0 means strlen(s). */
struct fake_cell {
	const char *s;
	size_t len;
};

/* Expected parameter text: FAKE_ANY takes anything, FAKE_NULL wants SQL
 * NULL; an INT is compared as its decimal text, a BLOB by its bytes
 * (with blob_len). */
#define FAKE_ANY ((const char *)"\x01" "any")
#define FAKE_NULL ((const char *)"\x01" "null")

struct fake_step {
	enum at_stmt stmt;
	bool query;			/* at_db_query, or at_db_exec */
	enum at_err rc;			/* what the call answers */
	uint64_t affected;		/* exec: rows changed (default 1) */
	size_t nparams;			/* checked when expect_params */
	bool expect_params;
	const char *params[FAKE_MAX_PARAMS];
	size_t ncols, nrows;
	struct fake_cell cells[FAKE_MAX_ROWS][FAKE_MAX_COLS];
	/* what the call was given, as text (blobs hex), filled when run */
	char *got[FAKE_MAX_PARAMS];
	size_t ngot;
	bool ran;
};

/* Forget the script and the counters (call first in each test). */
void fake_db_reset(void);
/* The handle to pass as struct at_db * (never dereferenced). */
struct at_db *fake_db(void);

/* Append an expected query or exec of stmt; params (n of them) are
 * checked unless params is NULL. */
struct fake_step *fake_expect_query(enum at_stmt stmt, const char *const *params, size_t n);
struct fake_step *fake_expect_exec(enum at_stmt stmt, const char *const *params, size_t n);
/* One result row of ncols cells. */
void fake_row(struct fake_step *s, size_t ncols, const struct fake_cell *cells);

/* Every scripted statement ran. */
void fake_db_assert_done(void);

struct at_keys;
/* A fresh key file in a temporary directory named after prog, loaded
 * into *keys (the domain tests need real keys: hashes, seals); 0 or -1.
 * fake_keys_free() frees the keys and removes both. */
int fake_keys_make(const char *prog, struct at_keys **keys);
void fake_keys_free(struct at_keys *keys);
/* Statements run so far, transactions begun, committed, rolled back. */
size_t fake_db_ran(void);
extern unsigned fake_db_begins, fake_db_commits, fake_db_rollbacks;

#endif
