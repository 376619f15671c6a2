/* page_cache.c: rendered list pages, kept for a second (page_cache.h).
 *
 * A handful of pages at most (AT_PC_SLOTS) in one array searched from
 * the start: a list of a few dozen distinct queries is what one process
 * sees within a second, and a scan of that many lengths is cheaper than
 * a hash of the key. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "page_cache.h"

struct slot {
	char *key;		/* key, then body, in one allocation */
	size_t keylen, len;
	long long born, used;	/* ms: rendered, last served */
	long long version;
};

struct at_page_cache {
	pthread_mutex_t lock;
	struct slot slots[AT_PC_SLOTS];
	size_t count;		/* slots in use: the first count */
	size_t bytes, max;
	long long (*now)(void);
};

enum at_err at_page_cache_new(struct at_page_cache **out, size_t bytes)
{
	struct at_page_cache *c;

	*out = NULL;
	if (!bytes)
		return AT_OK;
	c = calloc(1, sizeof(*c));
	if (!c)
		return AT_ERR_NOMEM;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return AT_ERR_NOMEM;
	}
	c->max = bytes;
	c->now = at_mono_now_ms;
	*out = c;
	return AT_OK;
}

/* Slot i, under the lock; the last one takes its place. */
static void drop(struct at_page_cache *c, size_t i)
{
	c->bytes -= c->slots[i].keylen + c->slots[i].len;
	free(c->slots[i].key);
	c->slots[i] = c->slots[--c->count];
	memset(&c->slots[c->count], 0, sizeof(c->slots[0]));
}

static void drop_all(struct at_page_cache *c)
{
	while (c->count)
		drop(c, c->count - 1);
}

void at_page_cache_free(struct at_page_cache *c)
{
	if (!c)
		return;
	drop_all(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

long long at_page_cache_now(const struct at_page_cache *c)
{
	return c->now();
}

void at_page_cache_set_clock(struct at_page_cache *c, long long (*now)(void))
{
	c->now = now;
}

/* The slot of key, or AT_PC_SLOTS; under the lock. */
static size_t find(const struct at_page_cache *c, const void *key, size_t keylen)
{
	size_t i;

	for (i = 0; i < c->count; i++)
		if (c->slots[i].keylen == keylen && !memcmp(c->slots[i].key, key, keylen))
			return i;
	return AT_PC_SLOTS;
}

enum at_err at_page_cache_get(struct at_page_cache *c, const void *key, size_t keylen,
			      long long now, long long version, struct at_buf *out, bool *hit)
{
	enum at_err rc = AT_OK;
	struct slot *s;
	size_t i;

	*hit = false;
	pthread_mutex_lock(&c->lock);
	if ((i = find(c, key, keylen)) == AT_PC_SLOTS)
		goto out;
	s = &c->slots[i];
	/* a clock that went back counts as old too */
	if (s->version != version || now - s->born >= AT_PC_MAX_AGE_MS || now < s->born) {
		drop(c, i);
		goto out;
	}
	if (!(rc = at_buf_append(out, s->key + s->keylen, s->len))) {
		s->used = now;
		*hit = true;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

/* The least recently served slot; under the lock, count > 0. */
static size_t coldest(const struct at_page_cache *c)
{
	size_t i, best = 0;

	for (i = 1; i < c->count; i++)
		if (c->slots[i].used < c->slots[best].used)
			best = i;
	return best;
}

void at_page_cache_put(struct at_page_cache *c, const void *key, size_t keylen, long long now,
		       long long version, const void *body, size_t len)
{
	size_t need = keylen + len, i;
	char *mem;

	if (need > c->max / 4 || need < len)
		return;
	/* built outside the lock */
	mem = malloc(need);
	if (!mem)
		return;
	memcpy(mem, key, keylen);
	memcpy(mem + keylen, body, len);
	pthread_mutex_lock(&c->lock);
	if ((i = find(c, key, keylen)) != AT_PC_SLOTS)
		drop(c, i);
	while (c->count && (c->count == AT_PC_SLOTS || c->bytes + need > c->max))
		drop(c, coldest(c));
	c->slots[c->count++] = (struct slot){
		.key = mem, .keylen = keylen, .len = len, .born = now, .used = now,
		.version = version,
	};
	c->bytes += need;
	pthread_mutex_unlock(&c->lock);
}

size_t at_page_cache_count(struct at_page_cache *c, size_t *bytes)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	if (bytes)
		*bytes = c->bytes;
	pthread_mutex_unlock(&c->lock);
	return n;
}
