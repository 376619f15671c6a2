/* db_rows.c: reading results, into column buffers kept from query to
 * query (no malloc per query), and DATETIME columns made text here.
 *
 * db.c and db_rows.c, through db_impl.h, are the only files that include
 * mysql.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "db_impl.h"
#include "isotime.h"

#define DB_COL_INITIAL 256
/* Column buffers are kept for the next result, up to this size each, in
 * this many sets per connection. */
#define DB_COL_KEEP 16384
#define DB_SPARE_SETS 4
#define DB_SET_MIN_COLS 32

/* The buffers a result is read into, reused from query to query: rows
 * borrow a set in at_db_rows_start and give it back in at_db_rows_release.
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

void at_db_spares_free(struct at_db *db)
{
	struct colset *set;

	while ((set = db->spare)) {
		db->spare = set->next;
		colset_free(set);
	}
	db->nspare = 0;
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

enum at_err at_db_rows_start(struct at_db *db, MYSQL_STMT *st, struct at_db_rows *rows)
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
		rc = at_db_stmt_fail(db, st);
		goto out;
	}
	rows->ncols = mysql_stmt_field_count(st);
	rc = AT_ERR_NOMEM;
	set = colset_get(db, rows->ncols);
	if (!set)
		goto out;
	rows->binds = binds = set->binds;
	rows->bufs = set->bufs;
	rows->lens = set->lens;
	rows->nulls = set->nulls;
	fields = rows->ncols ? mariadb_stmt_fetch_fields(st) : NULL;
	for (i = 0; i < rows->ncols; i++) {
		if (!set->bufs[i]) {
			set->bufs[i] = malloc(DB_COL_INITIAL);
			if (!set->bufs[i])
				goto out;
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
		rc = at_db_stmt_fail(db, st);
		goto out;
	}
	rc = AT_OK;
out:
	if (rc)
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
			return at_db_stmt_fail(rows->db, rows->stmt);
	}
	if (mysql_stmt_bind_result(rows->stmt, binds))
		return at_db_stmt_fail(rows->db, rows->stmt);
	return AT_OK;
}

/* A DATETIME as the connector would have made it text:
 * YYYY-MM-DD HH:MM:SS, then .f… with the column's decimals (cut, not
 * rounded).  out holds at least DB_COL_INITIAL bytes. */
static unsigned long format_datetime(char *out, const MYSQL_TIME *t, unsigned decimals)
{
	struct tm tm = {
		.tm_year = (int)t->year - 1900, .tm_mon = (int)t->month - 1, .tm_mday = (int)t->day,
		.tm_hour = (int)t->hour, .tm_min = (int)t->minute, .tm_sec = (int)t->second,
	};

	return at_datetime_put(out, &tm, ' ', t->second_part, decimals);
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
		return at_db_stmt_fail(rows->db, rows->stmt);
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
