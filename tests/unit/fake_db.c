/* fake_db.c: the scripted database of fake_db.h, in place of db.c and
 * db_rows.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto.h"
#include "fake_db.h"

#define MAX_STEPS 128

static struct fake_step steps[MAX_STEPS];
static size_t nsteps, next_step;
static int handle;
unsigned fake_db_begins, fake_db_commits, fake_db_rollbacks;

void fake_db_reset(void)
{
	size_t i, k;

	for (i = 0; i < nsteps; i++)
		for (k = 0; k < steps[i].ngot; k++)
			free(steps[i].got[k]);
	memset(steps, 0, sizeof(steps));
	nsteps = next_step = 0;
	fake_db_begins = fake_db_commits = fake_db_rollbacks = 0;
}

struct at_db *fake_db(void)
{
	return (struct at_db *)&handle;
}

static struct fake_step *expect(enum at_stmt stmt, bool query, const char *const *params,
				size_t n)
{
	struct fake_step *s;
	size_t i;

	assert_true(nsteps < MAX_STEPS && n <= FAKE_MAX_PARAMS);
	s = &steps[nsteps++];
	s->stmt = stmt;
	s->query = query;
	s->affected = 1;
	s->expect_params = params != NULL;
	s->nparams = n;
	for (i = 0; params && i < n; i++)
		s->params[i] = params[i];
	return s;
}

struct fake_step *fake_expect_query(enum at_stmt stmt, const char *const *params, size_t n)
{
	return expect(stmt, true, params, n);
}

struct fake_step *fake_expect_exec(enum at_stmt stmt, const char *const *params, size_t n)
{
	return expect(stmt, false, params, n);
}

void fake_row(struct fake_step *s, size_t ncols, const struct fake_cell *cells)
{
	assert_true(s->nrows < FAKE_MAX_ROWS && ncols <= FAKE_MAX_COLS);
	assert_true(!s->nrows || s->ncols == ncols);
	s->ncols = ncols;
	memcpy(s->cells[s->nrows++], cells, ncols * sizeof(*cells));
}

void fake_db_assert_done(void)
{
	if (next_step != nsteps)
		fail_msg("%zu scripted statement(s) did not run; the next is #%d", nsteps - next_step,
			 (int)steps[next_step].stmt);
}

size_t fake_db_ran(void)
{
	return next_step;
}

/* A parameter as text: strings as they are, integers in decimal, blobs
 * in hex, NULL as FAKE_NULL. */
static char *param_text(const struct at_db_param *p)
{
	const unsigned char *b = p->s;
	char *out;
	size_t i;

	switch (p->type) {
	case AT_DB_NULL:
		return strdup(FAKE_NULL);
	case AT_DB_INT:
		out = malloc(24);
		assert_non_null(out);
		snprintf(out, 24, "%lld", p->i);
		return out;
	case AT_DB_STR:
		out = malloc(p->len + 1);
		assert_non_null(out);
		memcpy(out, p->s, p->len);
		out[p->len] = '\0';
		return out;
	case AT_DB_BLOB:
		out = malloc(2 * p->len + 1);
		assert_non_null(out);
		for (i = 0; i < p->len; i++)
			snprintf(out + 2 * i, 3, "%02x", b[i]);
		out[2 * p->len] = '\0';
		return out;
	}
	return strdup("?");
}

static struct fake_step *take(enum at_stmt stmt, bool query, const struct at_db_param *params,
			      size_t n)
{
	struct fake_step *s;
	size_t i;

	if (next_step == nsteps)
		fail_msg("statement #%d run beyond the script (%zu ran)", (int)stmt, next_step);
	s = &steps[next_step++];
	if (s->stmt != stmt || s->query != query)
		fail_msg("statement #%d (%s) run where #%d (%s) was scripted, step %zu", (int)stmt,
			 query ? "query" : "exec", (int)s->stmt, s->query ? "query" : "exec",
			 next_step - 1);
	s->ran = true;
	for (i = 0; i < n && i < FAKE_MAX_PARAMS; i++)
		s->got[i] = param_text(&params[i]);
	s->ngot = i;
	if (!s->expect_params)
		return s;
	if (n != s->nparams)
		fail_msg("statement #%d given %zu parameters, %zu expected", (int)stmt, n,
			 s->nparams);
	for (i = 0; i < n; i++) {
		if (!strcmp(s->params[i], FAKE_ANY))
			continue;
		if (strcmp(s->got[i], s->params[i]))
			fail_msg("statement #%d parameter %zu is \"%s\", \"%s\" expected", (int)stmt,
				 i, s->got[i], s->params[i]);
	}
	return s;
}

enum at_err at_db_exec(struct at_db *db, enum at_stmt stmt, const struct at_db_param *params,
		       size_t n, uint64_t *affected)
{
	struct fake_step *s = take(stmt, false, params, n);

	assert_ptr_equal(db, fake_db());
	if (affected)
		*affected = s->rc ? 0 : s->affected;
	return s->rc;
}

enum at_err at_db_query(struct at_db *db, enum at_stmt stmt, const struct at_db_param *params,
			size_t n, struct at_db_rows *rows)
{
	struct fake_step *s = take(stmt, true, params, n);

	assert_ptr_equal(db, fake_db());
	memset(rows, 0, sizeof(*rows));
	if (s->rc)
		return s->rc;
	rows->db = db;
	rows->stmt = s;
	rows->ncols = (unsigned)s->ncols;
	rows->generation = 0;	/* rows handed out so far */
	return AT_OK;
}

enum at_err at_db_query_built(struct at_db *db, enum at_tpl tpl, const char *where,
			      const char *order, const struct at_db_param *params, size_t n,
			      struct at_db_rows *rows)
{
	fail_msg("at_db_query_built is not scripted in unit tests");
	return AT_ERR_INTERNAL;
}

enum at_err at_db_rows_next(struct at_db_rows *rows, bool *more)
{
	struct fake_step *s = rows->stmt;

	assert_non_null(s);
	*more = rows->generation < s->nrows;
	if (*more)
		rows->generation++;
	else
		rows->done = true;
	return AT_OK;
}

static const struct fake_cell *cell(const struct at_db_rows *rows, unsigned col)
{
	const struct fake_step *s = rows->stmt;

	assert_non_null(s);
	assert_true(rows->generation >= 1 && rows->generation <= s->nrows);
	if (col >= s->ncols)
		fail_msg("column %u of statement #%d read; it has %zu", col, (int)s->stmt,
			 s->ncols);
	return &s->cells[rows->generation - 1][col];
}

const char *at_db_rows_str(const struct at_db_rows *rows, unsigned col, size_t *len)
{
	const struct fake_cell *c = cell(rows, col);

	if (len)
		*len = c->s ? (c->len ? c->len : strlen(c->s)) : 0;
	return c->s;
}

long long at_db_rows_int(const struct at_db_rows *rows, unsigned col)
{
	const struct fake_cell *c = cell(rows, col);

	return c->s ? strtoll(c->s, NULL, 10) : 0;
}

void at_db_rows_release(struct at_db_rows *rows)
{
	rows->stmt = NULL;
}

enum at_err at_db_begin(struct at_db *db)
{
	fake_db_begins++;
	return AT_OK;
}

enum at_err at_db_commit(struct at_db *db)
{
	fake_db_commits++;
	return AT_OK;
}

void at_db_rollback(struct at_db *db)
{
	fake_db_rollbacks++;
}

/* As db.c: commit on AT_OK, roll back otherwise, again on a deadlock. */
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

const char *at_db_error(const struct at_db *db)
{
	return "";
}

enum at_err at_db_library_init(void)
{
	return AT_OK;
}

void at_db_library_end(void)
{
}

enum at_err at_db_open(struct at_db **out, const struct at_settings *s)
{
	*out = fake_db();
	return AT_OK;
}

void at_db_free(struct at_db *db)
{
}

enum at_err at_db_ping(struct at_db *db)
{
	return AT_OK;
}

enum at_err at_db_run_script(struct at_db *db, const char *sql, size_t len, char *err,
			     size_t errlen)
{
	fail_msg("at_db_run_script is not scripted in unit tests");
	return AT_ERR_INTERNAL;
}

/* ---- key files for the tests that use this database ---------------------- */

static char keys_dir[64], keys_file[128];

int fake_keys_make(const char *prog, struct at_keys **keys)
{
	char err[256];

	snprintf(keys_dir, sizeof(keys_dir), "/tmp/%s.XXXXXX", prog);
	if (!mkdtemp(keys_dir))
		return -1;
	snprintf(keys_file, sizeof(keys_file), "%s/keys", keys_dir);
	if (at_keys_generate(keys_file, err, sizeof(err)) ||
	    at_keys_load(keys, keys_file, err, sizeof(err)))
		return -1;
	return 0;
}

void fake_keys_free(struct at_keys *keys)
{
	at_keys_free(keys);
	if (keys_file[0])
		unlink(keys_file);
	if (keys_dir[0])
		rmdir(keys_dir);
}
