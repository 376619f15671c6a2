/* token_cache.h: verified tokens kept in memory, so that a verify in the
 * steady state needs no database (README, Performance).
 *
 * One cache per process, shared by the worker threads behind one mutex
 * held only to find, copy or store an entry.  An entry is keyed by the
 * keyed BLAKE2b hash of the presented value (never the value), compared
 * in constant time, and holds a snapshot of the token statement's result:
 * every column of every row, as auth.c read them.  auth.c processes a
 * snapshot exactly as it processes live rows (struct at_tc_rows), so
 * whatever it checks, time-dependent checks included, is checked again on
 * every use.  Only tokens that verified are stored.
 *
 * Staleness is bounded by the database's change counter (token_changes,
 * bumped in the transaction of every token, module or account change):
 * entries are served only while the counter was read less than
 * AT_TC_CHECK_MS ago, and all are dropped when it moved.  A second line:
 * an entry lives at most AT_TC_MAX_AGE_MS.  Memory: at most entries
 * snapshots of at most AT_TC_SNAP_MAX bytes each.
 */
#ifndef AT_TOKEN_CACHE_H
#define AT_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "db.h"
#include "err.h"

#define AT_TC_CHECK_MS		1000	/* the bound: the counter's age when served */
#define AT_TC_MAX_AGE_MS	60000	/* an entry's age, whatever the counter says */
#define AT_TC_TOUCH_MS		60000	/* lastAccessAt, once this often per token */
#define AT_TC_SNAP_MAX		4096	/* bytes of one snapshot; larger is not kept */
#define AT_TC_SNAP_CELLS	512	/* columns x rows of one snapshot */
#define AT_TC_NULL		0xffff

/* A result copied: ncols columns of nrows rows.  A cell equal to the one
 * above it shares its bytes, so the token's columns, repeated on every
 * row, are kept once. */
struct at_tc_snap {
	unsigned ncols, nrows;
	size_t used;				/* bytes of data in use */
	struct {
		uint16_t off;
		uint16_t len;		/* AT_TC_NULL: SQL NULL */
	} cells[AT_TC_SNAP_CELLS];
	char data[AT_TC_SNAP_MAX];		/* each value NUL-terminated */
	bool full;				/* a row did not fit: do not keep */
};

/* The rows of a token statement, read live (recording each row into rec
 * when rec is set) or from a snapshot.  The one reader auth.c's token
 * processing uses. */
struct at_tc_rows {
	struct at_db_rows *live;
	struct at_tc_snap *rec;
	const struct at_tc_snap *snap;
	unsigned row;		/* snapshot: rows handed out so far */
};

/* AT_OK with *more: the next row (the first on the first call). */
AT_MUST_CHECK enum at_err at_tc_rows_next(struct at_tc_rows *r, bool *more);
/* Column col of the current row, as at_db_rows_str and at_db_rows_int. */
const char *at_tc_rows_str(const struct at_tc_rows *r, unsigned col, size_t *len);
long long at_tc_rows_int(const struct at_tc_rows *r, unsigned col);

void at_tc_snap_clear(struct at_tc_snap *s, unsigned ncols);

/* The change counters (token_changes, docs/database.md), each moved in
 * the transaction of a change: VERIFY with every change a verify answer
 * depends on (a token's status, secret, name or modules; an account's
 * modules, a module's paths), LISTS with those and with every new token.
 * AT_OK with *value; AT_ERR_DB when the row is missing. */
enum at_changes { AT_CHANGES_VERIFY = 1, AT_CHANGES_LISTS = 2 };
AT_MUST_CHECK enum at_err at_changes_read(struct at_db *db, enum at_changes which,
					  long long *value);

struct at_token_cache;

/* A cache of up to entries tokens; entries 0: *out is NULL, no cache. */
AT_MUST_CHECK enum at_err at_token_cache_new(struct at_token_cache **out, size_t entries);
void at_token_cache_free(struct at_token_cache *c);

/* The clock the cache runs on: at_mono_now_ms, unless a test set
 * another one. */
long long at_token_cache_now(const struct at_token_cache *c);
void at_token_cache_set_clock(struct at_token_cache *c, long long (*now)(void));

/* May answers come from the cache at now?  Reads the change counter
 * through db when it was last read AT_TC_CHECK_MS ago or more (one
 * thread at a time: the others are told no meanwhile) and drops every
 * entry when it moved.  *epoch: what at_token_cache_put wants, taken
 * before the caller reads the database. */
bool at_token_cache_usable(struct at_token_cache *c, struct at_db *db, long long now,
			   unsigned long *epoch);

/* This process may just have changed what answers depend on (its
 * transaction committed): the counter is read again before the next
 * answer from the cache, so that its own changes count at once.  c may
 * be NULL. */
void at_token_cache_stale(struct at_token_cache *c);

/* The snapshot stored under key for statement kind, copied into *out;
 * *touch: its lastAccessAt is due (then it is not due again for
 * AT_TC_TOUCH_MS).  False when there is none or it is too old. */
bool at_token_cache_get(struct at_token_cache *c, const unsigned char key[AT_HASH_LEN],
			unsigned kind, long long now, struct at_tc_snap *out, bool *touch);

/* Store s under key for kind (evicting the least recently used entry
 * when full), unless the entries were dropped since epoch was taken: s
 * may then predate the change that dropped them.  touched: lastAccessAt
 * is being written now (else the first use asks for it, and the SQL's
 * own condition decides). */
void at_token_cache_put(struct at_token_cache *c, const unsigned char key[AT_HASH_LEN],
			unsigned kind, long long now, unsigned long epoch,
			const struct at_tc_snap *s, bool touched);

/* Entries held (for tests and the log). */
size_t at_token_cache_count(struct at_token_cache *c);
/* The most one entry takes, the allocator's overhead aside. */
size_t at_token_cache_entry_max(void);

#endif
