/* token_cache.c: verified tokens in memory (include/token_cache.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "log.h"
#include "token_cache.h"

/* ---- the row reader ----------------------------------------------------- */

void at_tc_snap_clear(struct at_tc_snap *s, unsigned ncols)
{
	s->ncols = ncols;
	s->nrows = 0;
	s->used = 0;
	s->full = false;
}

/* Copy the live row just read into s. */
static void snap_record(struct at_tc_snap *s, const struct at_db_rows *rows)
{
	unsigned base = s->nrows * s->ncols, col;
	const char *v;
	size_t len;

	if (s->full || base + s->ncols > AT_TC_SNAP_CELLS) {
		s->full = true;
		return;
	}
	for (col = 0; col < s->ncols; col++) {
		v = at_db_rows_str(rows, col, &len);
		s->cells[base + col].len = AT_TC_NULL;
		s->cells[base + col].off = 0;
		if (!v)
			continue;
		/* the same value as the row above: share its bytes */
		if (s->nrows && s->cells[base + col - s->ncols].len != AT_TC_NULL &&
		    s->cells[base + col - s->ncols].len == len &&
		    !memcmp(s->data + s->cells[base + col - s->ncols].off, v, len)) {
			s->cells[base + col] = s->cells[base + col - s->ncols];
			continue;
		}
		if (len + 1 > AT_TC_SNAP_MAX - s->used) {
			s->full = true;
			return;
		}
		memcpy(s->data + s->used, v, len);
		s->data[s->used + len] = '\0';
		s->cells[base + col].off = (uint16_t)s->used;
		s->cells[base + col].len = (uint16_t)len;
		s->used += len + 1;
	}
	s->nrows++;
}

enum at_err at_tc_rows_next(struct at_tc_rows *r, bool *more)
{
	enum at_err rc;

	if (r->snap) {
		*more = r->row < r->snap->nrows;
		if (*more)
			r->row++;
		return AT_OK;
	}
	if ((rc = at_db_rows_next(r->live, more)))
		return rc;
	if (*more && r->rec)
		snap_record(r->rec, r->live);
	return AT_OK;
}

const char *at_tc_rows_str(const struct at_tc_rows *r, unsigned col, size_t *len)
{
	const struct at_tc_snap *s = r->snap;
	unsigned i;

	if (!s)
		return at_db_rows_str(r->live, col, len);
	if (len)
		*len = 0;
	if (!r->row || col >= s->ncols)
		return NULL;
	i = (r->row - 1) * s->ncols + col;
	if (s->cells[i].len == AT_TC_NULL)
		return NULL;
	if (len)
		*len = s->cells[i].len;
	return s->data + s->cells[i].off;
}

long long at_tc_rows_int(const struct at_tc_rows *r, unsigned col)
{
	const char *v = at_tc_rows_str(r, col, NULL);

	return v ? strtoll(v, NULL, 10) : 0;
}

/* ---- the cache ------------------------------------------------------------ */

/* One verified token.  Its snapshot follows, trimmed to what it uses:
 * ncols * nrows cells, then used bytes. */
struct entry {
	struct entry *next;		/* in its bucket */
	struct entry *newer, *older;	/* recency, for eviction */
	unsigned char key[AT_HASH_LEN];
	unsigned kind;
	long long born;			/* ms: stored at */
	long long touch_due;		/* ms: lastAccessAt wanted from then on */
	unsigned ncols, nrows;
	size_t used;
	unsigned char snap[];
};

struct at_token_cache {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets;		/* a power of two */
	size_t max, count;
	struct entry *newest, *oldest;
	/* the change counter: its value, when it was read (the start of
	 * the read), whether it is known; epoch counts flushes */
	long long counter;
	long long checked_at;
	bool known;
	unsigned long epoch;
	atomic_bool checking;
	/* at_token_cache_stale() calls, and how many of them the last
	 * reading of the counter began after */
	unsigned long stale_seq, checked_seq;
	long long (*now)(void);
};

enum at_err at_token_cache_new(struct at_token_cache **out, size_t entries)
{
	struct at_token_cache *c;

	*out = NULL;
	if (!entries)
		return AT_OK;
	c = calloc(1, sizeof(*c));
	if (!c)
		return AT_ERR_NOMEM;
	c->nbuckets = 16;
	while (c->nbuckets < entries && c->nbuckets < ((size_t)1 << 24))
		c->nbuckets <<= 1;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets || pthread_mutex_init(&c->lock, NULL)) {
		free(c->buckets);
		free(c);
		return AT_ERR_NOMEM;
	}
	c->max = entries;
	c->now = at_mono_now_ms;
	*out = c;
	return AT_OK;
}

long long at_token_cache_now(const struct at_token_cache *c)
{
	return c->now();
}

void at_token_cache_set_clock(struct at_token_cache *c, long long (*now)(void))
{
	c->now = now;
}

static void entry_free(struct entry *e)
{
	/* the snapshot holds the stored hash: not left in freed memory */
	at_wipe(e, sizeof(*e) + e->ncols * e->nrows * sizeof(((struct at_tc_snap *)0)->cells[0]) +
			   e->used);
	free(e);
}

/* Everything, under the lock. */
static void drop_all(struct at_token_cache *c)
{
	struct entry *e, *next;

	for (e = c->newest; e; e = next) {
		next = e->older;
		entry_free(e);
	}
	memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
	c->newest = c->oldest = NULL;
	c->count = 0;
	c->epoch++;
}

void at_token_cache_free(struct at_token_cache *c)
{
	if (!c)
		return;
	drop_all(c);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

size_t at_token_cache_entry_max(void)
{
	return sizeof(struct entry) + sizeof(((struct at_tc_snap *)0)->cells) + AT_TC_SNAP_MAX;
}

size_t at_token_cache_count(struct at_token_cache *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* The key is a keyed hash: its first bytes are as good as any index. */
static size_t bucket_of(const struct at_token_cache *c, const unsigned char *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (c->nbuckets - 1);
}

static void unlink_recency(struct at_token_cache *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void link_newest(struct at_token_cache *c, struct entry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static void remove_entry(struct at_token_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[bucket_of(c, e->key)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	unlink_recency(c, e);
	c->count--;
	entry_free(e);
}

/* The entry of key and kind, compared in constant time, or NULL. */
static struct entry *find(struct at_token_cache *c, const unsigned char *key, unsigned kind)
{
	struct entry *e;

	for (e = c->buckets[bucket_of(c, key)]; e; e = e->next)
		if (at_hash_equal(e->key, key) && e->kind == kind)
			return e;
	return NULL;
}

enum at_err at_changes_read(struct at_db *db, enum at_changes which, long long *value)
{
	struct at_db_param p = AT_DB_P_INT(which);
	struct at_db_rows rows;
	enum at_err rc;
	bool more;

	if ((rc = at_db_query(db, AT_STMT_TOKEN_CHANGES_GET, &p, 1, &rows)))
		return rc;
	rc = at_db_rows_next(&rows, &more);
	if (!rc && !more)
		rc = AT_ERR_DB;	/* the migration's row is gone */
	if (!rc)
		*value = at_db_rows_int(&rows, 0);
	at_db_rows_release(&rows);
	return rc;
}

bool at_token_cache_usable(struct at_token_cache *c, struct at_db *db, long long now,
			   unsigned long *epoch)
{
	bool fresh, expected = false;
	unsigned long seq;
	long long value = 0;
	enum at_err rc;

	pthread_mutex_lock(&c->lock);
	fresh = c->known && c->checked_seq == c->stale_seq && now - c->checked_at < AT_TC_CHECK_MS;
	*epoch = c->epoch;
	pthread_mutex_unlock(&c->lock);
	if (fresh)
		return true;
	/* one reader of the counter at a time; the others go to the
	 * database meanwhile, which is never wrong */
	if (!atomic_compare_exchange_strong(&c->checking, &expected, true))
		return false;
	pthread_mutex_lock(&c->lock);
	fresh = c->known && c->checked_seq == c->stale_seq && now - c->checked_at < AT_TC_CHECK_MS;
	seq = c->stale_seq;
	pthread_mutex_unlock(&c->lock);
	if (fresh) {
		/* another thread read it meanwhile */
		atomic_store(&c->checking, false);
		return true;
	}
	rc = at_changes_read(db, AT_CHANGES_VERIFY, &value);
	pthread_mutex_lock(&c->lock);
	if (!rc) {
		if (!c->known || value != c->counter)
			drop_all(c);
		c->counter = value;
		c->known = true;
		/* the read started at now: a change committed after that is
		 * seen by the next one, at most AT_TC_CHECK_MS later */
		c->checked_at = now;
		c->checked_seq = seq;
	}
	*epoch = c->epoch;
	pthread_mutex_unlock(&c->lock);
	atomic_store(&c->checking, false);
	if (rc && rc != AT_ERR_UNAVAILABLE)
		at_log_warn("verify cache: change counter: %s", at_db_error(db));
	return !rc;
}

void at_token_cache_stale(struct at_token_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stale_seq++;
	pthread_mutex_unlock(&c->lock);
}

bool at_token_cache_get(struct at_token_cache *c, const unsigned char key[AT_HASH_LEN],
			unsigned kind, long long now, struct at_tc_snap *out, bool *touch)
{
	struct entry *e;
	size_t ncells;
	bool hit = false;

	*touch = false;
	pthread_mutex_lock(&c->lock);
	e = find(c, key, kind);
	if (e && now - e->born >= AT_TC_MAX_AGE_MS) {
		remove_entry(c, e);
		e = NULL;
	}
	if (e) {
		ncells = (size_t)e->ncols * e->nrows;
		out->ncols = e->ncols;
		out->nrows = e->nrows;
		out->used = e->used;
		out->full = false;
		memcpy(out->cells, e->snap, ncells * sizeof(out->cells[0]));
		memcpy(out->data, e->snap + ncells * sizeof(out->cells[0]), e->used);
		if (now >= e->touch_due) {
			*touch = true;
			e->touch_due = now + AT_TC_TOUCH_MS;
		}
		unlink_recency(c, e);
		link_newest(c, e);
		hit = true;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void at_token_cache_put(struct at_token_cache *c, const unsigned char key[AT_HASH_LEN],
			unsigned kind, long long now, unsigned long epoch,
			const struct at_tc_snap *s, bool touched)
{
	size_t ncells = (size_t)s->ncols * s->nrows, cellbytes = ncells * sizeof(s->cells[0]);
	struct entry *e, *old;
	size_t b;

	if (s->full || !s->nrows)
		return;
	/* built outside the lock */
	e = malloc(sizeof(*e) + cellbytes + s->used);
	if (!e)
		return;
	memset(e, 0, sizeof(*e));
	memcpy(e->key, key, AT_HASH_LEN);
	e->kind = kind;
	e->born = now;
	e->touch_due = touched ? now + AT_TC_TOUCH_MS : now;
	e->ncols = s->ncols;
	e->nrows = s->nrows;
	e->used = s->used;
	memcpy(e->snap, s->cells, cellbytes);
	memcpy(e->snap + cellbytes, s->data, s->used);
	pthread_mutex_lock(&c->lock);
	if (epoch != c->epoch) {
		pthread_mutex_unlock(&c->lock);
		entry_free(e);
		return;
	}
	if ((old = find(c, key, kind)))
		remove_entry(c, old);
	while (c->count >= c->max && c->oldest)
		remove_entry(c, c->oldest);
	b = bucket_of(c, key);
	e->next = c->buckets[b];
	c->buckets[b] = e;
	link_newest(c, e);
	c->count++;
	pthread_mutex_unlock(&c->lock);
}
