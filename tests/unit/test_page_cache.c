/* test_page_cache.c: unit tests of the list page cache (page_cache.c):
 * what a hit gives, the second a page lives, a page of another version
 * of the data never served, and the bounds on pages and bytes with the
 * least recently served page going first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "page_cache.h"

#define UNUSED	__attribute__((unused))
#define T0 5000000	/* ms: any monotonic time */

static long long clock_ms = T0;

static long long fake_now(void)
{
	return clock_ms;
}

static struct at_page_cache *make(size_t bytes)
{
	struct at_page_cache *c = NULL;

	assert_int_equal(at_page_cache_new(&c, bytes), AT_OK);
	assert_non_null(c);
	at_page_cache_set_clock(c, fake_now);
	clock_ms = T0;
	return c;
}

/* The page under key for version at the clock's time into out (reset
 * first): its hit. */
static bool getv(struct at_page_cache *c, const char *key, long long version, struct at_buf *out)
{
	bool hit;

	at_buf_reset(out);
	assert_int_equal(at_page_cache_get(c, key, strlen(key), at_page_cache_now(c), version, out,
					   &hit), AT_OK);
	return hit;
}

static void putv(struct at_page_cache *c, const char *key, long long version, const char *body)
{
	at_page_cache_put(c, key, strlen(key), at_page_cache_now(c), version, body, strlen(body));
}

/* at version 7 */
static bool get(struct at_page_cache *c, const char *key, struct at_buf *out)
{
	return getv(c, key, 7, out);
}

static void put(struct at_page_cache *c, const char *key, const char *body)
{
	putv(c, key, 7, body);
}

static void test_off(void **state UNUSED)
{
	struct at_page_cache *c = (struct at_page_cache *)1;

	assert_int_equal(at_page_cache_new(&c, 0), AT_OK);
	assert_null(c);
	at_page_cache_free(NULL);
}

static void test_hit_and_miss(void **state UNUSED)
{
	struct at_page_cache *c = make(1 << 20);
	struct at_buf out;
	size_t bytes;

	at_buf_init(&out, 1 << 20);
	assert_false(get(c, "k1", &out));
	assert_int_equal(out.len, 0);
	put(c, "k1", "{\"page\":1}");
	assert_true(get(c, "k1", &out));
	assert_string_equal(out.data, "{\"page\":1}");
	/* a key that only starts like it, or that it only starts like */
	assert_false(get(c, "k", &out));
	assert_false(get(c, "k12", &out));
	/* the same key again replaces the page */
	put(c, "k1", "{\"page\":2}");
	assert_true(get(c, "k1", &out));
	assert_string_equal(out.data, "{\"page\":2}");
	assert_int_equal(at_page_cache_count(c, &bytes), 1);
	assert_int_equal(bytes, strlen("k1") + strlen("{\"page\":2}"));
	/* a hit appends to what out holds, for a caller that began a body */
	assert_int_equal(at_buf_puts(&out, "x"), AT_OK);
	{
		bool hit;

		assert_int_equal(at_page_cache_get(c, "k1", 2, T0, 7, &out, &hit), AT_OK);
		assert_true(hit);
		assert_string_equal(out.data, "{\"page\":2}x{\"page\":2}");
	}
	at_buf_release(&out);
	at_page_cache_free(c);
}

static void test_age(void **state UNUSED)
{
	struct at_page_cache *c = make(1 << 20);
	struct at_buf out;

	at_buf_init(&out, 1 << 20);
	assert_false(get(c, "k", &out));
	put(c, "k", "old");
	clock_ms = T0 + AT_PC_MAX_AGE_MS - 1;
	assert_true(get(c, "k", &out));
	/* served often or not, a page lives its second and no more */
	clock_ms = T0 + AT_PC_MAX_AGE_MS;
	assert_false(get(c, "k", &out));
	assert_int_equal(at_page_cache_count(c, NULL), 0);
	/* a clock that went back does not make a page young */
	clock_ms = T0;
	assert_false(get(c, "k", &out));
	put(c, "k", "new");
	clock_ms = T0 - 1;
	assert_false(get(c, "k", &out));
	at_buf_release(&out);
	at_page_cache_free(c);
}

static void test_version(void **state UNUSED)
{
	struct at_page_cache *c = make(1 << 20);
	struct at_buf out;

	at_buf_init(&out, 1 << 20);
	putv(c, "a", 7, "A at 7");
	putv(c, "b", 7, "B at 7");
	assert_true(getv(c, "a", 7, &out));
	/* the data moved on: the page is not served, and goes */
	assert_false(getv(c, "a", 8, &out));
	assert_int_equal(at_page_cache_count(c, NULL), 1);
	assert_false(getv(c, "a", 7, &out));
	/* nor is one of a version the counter has not reached (a page put
	 * by a reader that saw a later one) */
	putv(c, "c", 9, "C at 9");
	assert_false(getv(c, "c", 8, &out));
	/* b was left alone by all this */
	assert_true(getv(c, "b", 7, &out));
	assert_string_equal(out.data, "B at 7");
	putv(c, "a", 8, "A at 8");
	assert_true(getv(c, "a", 8, &out));
	assert_string_equal(out.data, "A at 8");
	at_buf_release(&out);
	at_page_cache_free(c);
}

static void test_bounds(void **state UNUSED)
{
	struct at_page_cache *c = make(4000);
	char key[32], body[1001];
	struct at_buf out;
	size_t bytes;
	int i;

	at_buf_init(&out, 1 << 20);
	/* over a quarter of the size is never kept */
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	assert_false(get(c, "big", &out));
	put(c, "big", body);
	assert_int_equal(at_page_cache_count(c, NULL), 0);
	/* pages of 403 bytes with their keys: 9 take 3,627 of the 4,000;
	 * the tenth makes room by dropping the least recently served, p1
	 * (p0 was served since) */
	body[401] = '\0';
	for (i = 0; i < 10; i++) {
		clock_ms = T0 + i;
		snprintf(key, sizeof(key), "p%d", i);
		put(c, key, body);
		if (i == 5)
			assert_true(get(c, "p0", &out));
	}
	assert_int_equal(at_page_cache_count(c, &bytes), 9);
	assert_true(bytes <= 4000);
	assert_true(get(c, "p0", &out));
	assert_false(get(c, "p1", &out));
	assert_true(get(c, "p9", &out));
	at_page_cache_free(c);

	/* at most AT_PC_SLOTS pages, however small */
	c = make(1 << 20);
	for (i = 0; i < AT_PC_SLOTS + 5; i++) {
		clock_ms = T0 + i;
		snprintf(key, sizeof(key), "s%d", i);
		put(c, key, "s");
	}
	assert_int_equal(at_page_cache_count(c, NULL), AT_PC_SLOTS);
	assert_false(get(c, "s0", &out));
	snprintf(key, sizeof(key), "s%d", AT_PC_SLOTS + 4);
	assert_true(get(c, key, &out));
	at_buf_release(&out);
	at_page_cache_free(c);
}

/* out full: the error, and out as it was */
static void test_out_too_small(void **state UNUSED)
{
	struct at_page_cache *c = make(1 << 20);
	struct at_buf out;
	bool hit;

	at_buf_init(&out, 4);
	assert_false(get(c, "k", &out));
	put(c, "k", "longer than four");
	assert_int_equal(at_page_cache_get(c, "k", 1, T0, 7, &out, &hit), AT_ERR_TOO_LARGE);
	assert_false(hit);
	assert_int_equal(out.len, 0);
	at_buf_release(&out);
	at_page_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_out_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
