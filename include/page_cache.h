/* page_cache.h: list pages kept for a second, so that the first page a
 * settings page or a dashboard asks for again and again is answered
 * without the database (README, Performance).
 *
 * One cache per process, shared by the worker threads behind one mutex
 * held to find and copy, or store, a page.  A page is keyed by the exact
 * bytes that decide it (list.c: the statements, the caller's scope, the
 * query string) and holds the response body, with the version of the
 * data it shows: the database's list change counter, read by the caller
 * before the page's statement and again on every request.  It is served
 *
 *   - only while that counter has not moved: every change a list shows,
 *     made through any apitokend or apitokenctl, moves it in its own
 *     transaction, so a list never misses a change that committed
 *     before it was asked for;
 *   - for at most AT_PC_MAX_AGE_MS after it was rendered: what moves no
 *     counter (lastAccessAt written after a use, a status that turns
 *     Expired with the clock) shows within that.
 *
 * Memory: at most AT_PC_SLOTS pages and the size given to
 * at_page_cache_new, keys included; a page over a quarter of it is not
 * kept.
 */
#ifndef AT_PAGE_CACHE_H
#define AT_PAGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

#define AT_PC_MAX_AGE_MS	1000
#define AT_PC_SLOTS		128

struct at_page_cache;

/* A cache of up to bytes; bytes 0: *out is NULL, no cache. */
AT_MUST_CHECK enum at_err at_page_cache_new(struct at_page_cache **out, size_t bytes);
void at_page_cache_free(struct at_page_cache *c);

/* Monotonic milliseconds, unless a test set another clock. */
long long at_page_cache_now(const struct at_page_cache *c);
void at_page_cache_set_clock(struct at_page_cache *c, long long (*now)(void));

/* The page stored under key for version appended to out (AT_OK and
 * *hit), or nothing (*hit false; a page of another version goes).
 * AT_ERR_TOO_LARGE or AT_ERR_NOMEM: out could not take it (out is then
 * as it was). */
AT_MUST_CHECK enum at_err at_page_cache_get(struct at_page_cache *c, const void *key,
					    size_t keylen, long long now, long long version,
					    struct at_buf *out, bool *hit);

/* Keep body (len bytes, rendered from what the database said after it
 * gave version) under key, dropping the least recently served pages to
 * make room. */
void at_page_cache_put(struct at_page_cache *c, const void *key, size_t keylen, long long now,
		       long long version, const void *body, size_t len);

/* Pages held, and the bytes they take (for tests and the log). */
size_t at_page_cache_count(struct at_page_cache *c, size_t *bytes);

#endif
