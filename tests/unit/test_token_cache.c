/* test_token_cache.c: unit tests of the verify cache (token_cache.c) and
 * of auth.c through it, over the scripted database: the bound on
 * entries and its eviction order, the change counter that drops them,
 * age, the constant-time key, the row snapshots, and that only tokens
 * that verified are kept. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* mkdtemp */
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"
#include "crypto.h"
#include "fake_db.h"
#include "token_cache.h"

#define UNUSED	__attribute__((unused))
#define TID "TKN-1234-5678"
#define NCOLS 17	/* AT_STMT_AUTH_TOKEN: the rest NULL (no restriction, no rotation) */
#define T0 1000000	/* ms: any monotonic time */

static struct at_keys *keys;
static char value[AT_TOKEN_VALUE_LEN + 1];
static unsigned char hash[AT_HASH_LEN];
static struct at_tc_snap snap, out;

static int setup(void **state UNUSED)
{
	if (at_crypto_init())
		return -1;
	if (fake_keys_make("test_token_cache", &keys))
		return -1;
	at_token_value_make(TID, value);
	at_token_hash(keys, value, AT_TOKEN_VALUE_LEN, hash);
	return 0;
}

static int teardown(void **state UNUSED)
{
	fake_keys_free(keys);
	return 0;
}

static int reset(void **state UNUSED)
{
	fake_db_reset();
	return 0;
}

/* The change counter's read, answering n (NULL: the database is down). */
static void expect_counter(const char *n)
{
	struct fake_step *s = fake_expect_query(AT_STMT_TOKEN_CHANGES_GET, NULL, 0);
	struct fake_cell c = { n, 0 };

	if (n)
		fake_row(s, 1, &c);
	else
		s->rc = AT_ERR_UNAVAILABLE;
}

/* A one-row snapshot whose first cell is text. */
static const struct at_tc_snap *snap_of(const char *text)
{
	at_tc_snap_clear(&snap, 1);
	snap.nrows = 1;
	snap.cells[0].off = 0;
	snap.cells[0].len = (uint16_t)strlen(text);
	memcpy(snap.data, text, strlen(text) + 1);
	snap.used = strlen(text) + 1;
	return &snap;
}

static void key_of(unsigned char *k, unsigned char n)
{
	memset(k, 0x11, AT_HASH_LEN);
	k[AT_HASH_LEN - 1] = n;
	k[0] = n;
}

/* A cache whose counter was read at T0. */
static struct at_token_cache *fresh_cache(size_t entries, unsigned long *epoch)
{
	struct at_token_cache *c;

	assert_int_equal(at_token_cache_new(&c, entries), AT_OK);
	assert_non_null(c);
	expect_counter("7");
	assert_true(at_token_cache_usable(c, fake_db(), T0, epoch));
	return c;
}

static const char *first_cell(const struct at_tc_snap *s)
{
	struct at_tc_rows r = { .snap = s };
	bool more;

	assert_int_equal(at_tc_rows_next(&r, &more), AT_OK);
	assert_true(more);
	return at_tc_rows_str(&r, 0, NULL);
}

static void test_disabled_is_null(void **state UNUSED)
{
	struct at_token_cache *c = (struct at_token_cache *)1;

	assert_int_equal(at_token_cache_new(&c, 0), AT_OK);
	assert_null(c);
	at_token_cache_free(NULL);
}

/* No more than entries; the least recently used goes first. */
static void test_bound_and_eviction(void **state UNUSED)
{
	unsigned char k[6][AT_HASH_LEN];
	struct at_token_cache *c;
	unsigned long epoch;
	bool touch;
	unsigned i;

	c = fresh_cache(3, &epoch);
	for (i = 0; i < 6; i++)
		key_of(k[i], (unsigned char)(i + 1));
	for (i = 0; i < 3; i++)
		at_token_cache_put(c, k[i], 0, T0, epoch, snap_of("v"), false);
	assert_int_equal(at_token_cache_count(c), 3);
	/* k[0] used: k[1] is now the least recent */
	assert_true(at_token_cache_get(c, k[0], 0, T0 + 1, &out, &touch));
	at_token_cache_put(c, k[3], 0, T0 + 2, epoch, snap_of("v3"), false);
	assert_int_equal(at_token_cache_count(c), 3);
	assert_false(at_token_cache_get(c, k[1], 0, T0 + 3, &out, &touch));
	assert_true(at_token_cache_get(c, k[0], 0, T0 + 3, &out, &touch));
	assert_true(at_token_cache_get(c, k[2], 0, T0 + 3, &out, &touch));
	assert_true(at_token_cache_get(c, k[3], 0, T0 + 3, &out, &touch));
	assert_string_equal(first_cell(&out), "v3");
	/* many more: still three, the newest */
	for (i = 0; i < 6; i++)
		at_token_cache_put(c, k[i], 0, T0 + 4 + i, epoch, snap_of("w"), false);
	assert_int_equal(at_token_cache_count(c), 3);
	assert_true(at_token_cache_get(c, k[5], 0, T0 + 20, &out, &touch));
	assert_false(at_token_cache_get(c, k[2], 0, T0 + 20, &out, &touch));
	/* the same key again replaces, it does not add */
	at_token_cache_put(c, k[5], 0, T0 + 21, epoch, snap_of("x"), false);
	assert_int_equal(at_token_cache_count(c), 3);
	assert_true(at_token_cache_get(c, k[5], 0, T0 + 22, &out, &touch));
	assert_string_equal(first_cell(&out), "x");
	at_token_cache_free(c);
	fake_db_assert_done();
}

/* The counter is read once a second at most; when it moved every entry
 * goes, and a store begun before that is refused. */
static void test_counter_flush(void **state UNUSED)
{
	unsigned char k[AT_HASH_LEN];
	struct at_token_cache *c;
	unsigned long epoch, later;
	bool touch;

	key_of(k, 1);
	c = fresh_cache(10, &epoch);
	at_token_cache_put(c, k, 0, T0, epoch, snap_of("v"), false);
	/* within the second: no read (an unscripted one would fail) */
	assert_true(at_token_cache_usable(c, fake_db(), T0 + AT_TC_CHECK_MS - 1, &later));
	assert_int_equal(later, epoch);
	/* a second later: read, unchanged, kept */
	expect_counter("7");
	assert_true(at_token_cache_usable(c, fake_db(), T0 + AT_TC_CHECK_MS, &later));
	assert_int_equal(later, epoch);
	assert_true(at_token_cache_get(c, k, 0, T0 + AT_TC_CHECK_MS, &out, &touch));
	/* moved: dropped */
	expect_counter("8");
	assert_true(at_token_cache_usable(c, fake_db(), T0 + 2 * AT_TC_CHECK_MS, &later));
	assert_int_not_equal(later, epoch);
	assert_int_equal(at_token_cache_count(c), 0);
	assert_false(at_token_cache_get(c, k, 0, T0 + 2 * AT_TC_CHECK_MS, &out, &touch));
	/* what was read before the drop is not stored after it */
	at_token_cache_put(c, k, 0, T0 + 2 * AT_TC_CHECK_MS, epoch, snap_of("old"), false);
	assert_int_equal(at_token_cache_count(c), 0);
	at_token_cache_put(c, k, 0, T0 + 2 * AT_TC_CHECK_MS, later, snap_of("new"), false);
	assert_int_equal(at_token_cache_count(c), 1);
	/* a change of this process: read again at once, within the second */
	at_token_cache_stale(c);
	expect_counter("9");
	assert_true(at_token_cache_usable(c, fake_db(), T0 + 2 * AT_TC_CHECK_MS + 1, &later));
	assert_int_equal(at_token_cache_count(c), 0);
	assert_true(at_token_cache_usable(c, fake_db(), T0 + 2 * AT_TC_CHECK_MS + 2, &later));
	at_token_cache_free(c);
	fake_db_assert_done();
}

/* A counter that cannot be read makes the cache unusable, and it stays
 * so until a read succeeds: nothing is served on an old reading. */
static void test_counter_unreadable(void **state UNUSED)
{
	struct at_token_cache *c;
	unsigned long epoch;

	assert_int_equal(at_token_cache_new(&c, 10), AT_OK);
	/* never read yet: not usable without a reading */
	expect_counter(NULL);
	assert_false(at_token_cache_usable(c, fake_db(), T0, &epoch));
	expect_counter("1");
	assert_true(at_token_cache_usable(c, fake_db(), T0 + 1, &epoch));
	expect_counter(NULL);
	assert_false(at_token_cache_usable(c, fake_db(), T0 + 1 + AT_TC_CHECK_MS, &epoch));
	expect_counter(NULL);
	assert_false(at_token_cache_usable(c, fake_db(), T0 + 2 + AT_TC_CHECK_MS, &epoch));
	expect_counter("1");
	assert_true(at_token_cache_usable(c, fake_db(), T0 + 3 + AT_TC_CHECK_MS, &epoch));
	at_token_cache_free(c);
	fake_db_assert_done();
}

/* Entries expire by age whatever the counter says. */
static void test_age(void **state UNUSED)
{
	unsigned char k[AT_HASH_LEN];
	struct at_token_cache *c;
	unsigned long epoch;
	bool touch;

	key_of(k, 1);
	c = fresh_cache(10, &epoch);
	at_token_cache_put(c, k, 0, T0, epoch, snap_of("v"), true);
	assert_true(at_token_cache_get(c, k, 0, T0 + AT_TC_MAX_AGE_MS - 1, &out, &touch));
	assert_false(touch);	/* written when stored */
	assert_false(at_token_cache_get(c, k, 0, T0 + AT_TC_MAX_AGE_MS, &out, &touch));
	assert_int_equal(at_token_cache_count(c), 0);
	/* not written when stored: the first use asks, then not again soon */
	at_token_cache_put(c, k, 0, T0, epoch, snap_of("v"), false);
	assert_true(at_token_cache_get(c, k, 0, T0 + 1, &out, &touch));
	assert_true(touch);
	assert_true(at_token_cache_get(c, k, 0, T0 + 2, &out, &touch));
	assert_false(touch);
	at_token_cache_free(c);
	fake_db_assert_done();
}

/* The whole key counts (one byte differs: same bucket, no hit), and so
 * does the statement it answers. */
static void test_key_compare(void **state UNUSED)
{
	unsigned char a[AT_HASH_LEN], b[AT_HASH_LEN];
	struct at_token_cache *c;
	unsigned long epoch;
	bool touch;

	memset(a, 0x42, sizeof(a));
	memcpy(b, a, sizeof(b));
	b[AT_HASH_LEN - 1] ^= 1;
	c = fresh_cache(10, &epoch);
	at_token_cache_put(c, a, 0, T0, epoch, snap_of("a"), false);
	assert_false(at_token_cache_get(c, b, 0, T0, &out, &touch));
	assert_false(at_token_cache_get(c, a, 1, T0, &out, &touch));
	assert_true(at_token_cache_get(c, a, 0, T0, &out, &touch));
	at_token_cache_put(c, b, 0, T0, epoch, snap_of("b"), false);
	assert_true(at_token_cache_get(c, b, 0, T0, &out, &touch));
	assert_string_equal(first_cell(&out), "b");
	assert_true(at_token_cache_get(c, a, 0, T0, &out, &touch));
	assert_string_equal(first_cell(&out), "a");
	at_token_cache_free(c);
	fake_db_assert_done();
}

/* Live rows recorded while read come back the same from the snapshot:
 * values, lengths, NULLs, every row; too much is never kept. */
static void test_snapshot_rows(void **state UNUSED)
{
	struct fake_cell r1[3] = { { "Active", 0 }, { NULL, 0 }, { "/a", 0 } };
	struct fake_cell r2[3] = { { "Active", 0 }, { "MOD-0001", 0 }, { "/b/c", 0 } };
	static char big[3000];
	struct fake_cell r3[3] = { { big, 0 }, { big, 0 }, { "x", 0 } };
	struct at_db_rows rows;
	struct at_tc_rows r;
	struct fake_step *s;
	size_t len;
	bool more;

	s = fake_expect_query(AT_STMT_AUTH_TOKEN, NULL, 0);
	fake_row(s, 3, r1);
	fake_row(s, 3, r2);
	assert_int_equal(at_db_query(fake_db(), AT_STMT_AUTH_TOKEN, NULL, 0, &rows), AT_OK);
	at_tc_snap_clear(&snap, rows.ncols);
	r = (struct at_tc_rows){ .live = &rows, .rec = &snap };
	while (!at_tc_rows_next(&r, &more) && more)
		;
	at_db_rows_release(&rows);
	assert_false(snap.full);
	assert_int_equal(snap.nrows, 2);
	/* "Active" once: the second row shares the first's bytes */
	assert_int_equal(snap.used, strlen("Active") + 1 + strlen("/a") + 1 +
				    strlen("MOD-0001") + 1 + strlen("/b/c") + 1);
	r = (struct at_tc_rows){ .snap = &snap };
	assert_null(at_tc_rows_str(&r, 0, NULL));	/* before the first row */
	assert_int_equal(at_tc_rows_next(&r, &more), AT_OK);
	assert_true(more);
	assert_string_equal(at_tc_rows_str(&r, 0, &len), "Active");
	assert_int_equal(len, 6);
	assert_null(at_tc_rows_str(&r, 1, &len));
	assert_int_equal(len, 0);
	assert_string_equal(at_tc_rows_str(&r, 2, NULL), "/a");
	assert_null(at_tc_rows_str(&r, 3, NULL));	/* no such column */
	assert_int_equal(at_tc_rows_next(&r, &more), AT_OK);
	assert_true(more);
	assert_string_equal(at_tc_rows_str(&r, 1, NULL), "MOD-0001");
	assert_string_equal(at_tc_rows_str(&r, 2, &len), "/b/c");
	assert_int_equal(len, 4);
	assert_int_equal(at_tc_rows_next(&r, &more), AT_OK);
	assert_false(more);

	/* a row that does not fit marks the snapshot full */
	memset(big, 'z', sizeof(big) - 1);
	r3[1].s = big + 1;	/* another value: not shared */
	fake_row(fake_expect_query(AT_STMT_AUTH_TOKEN, NULL, 0), 3, r3);
	assert_int_equal(at_db_query(fake_db(), AT_STMT_AUTH_TOKEN, NULL, 0, &rows), AT_OK);
	at_tc_snap_clear(&snap, rows.ncols);
	r = (struct at_tc_rows){ .live = &rows, .rec = &snap };
	while (!at_tc_rows_next(&r, &more) && more)
		assert_string_equal(at_tc_rows_str(&r, 2, NULL), "x");	/* live reads go on */
	at_db_rows_release(&rows);
	assert_true(snap.full);
	fake_db_assert_done();
}

/* ---- auth.c through the cache -------------------------------------------- */

static void token_row(struct fake_step *s, const char *status, const char *module)
{
	struct fake_cell c[NCOLS] = {
		{ status, 0 }, { (const char *)hash, AT_HASH_LEN }, { "CI token", 0 },
		{ "ACC-1111-1111", 0 }, { "Buyer", 0 }, { "Client", 0 }, { "Active", 0 },
		{ "1", 0 }, { module, 0 }, { "access-management", 0 },
	};

	fake_row(s, NCOLS, c);
}

static long long clock_ms = T0;

static long long test_clock(void)
{
	return clock_ms;
}

/* A token that verified answers again from the cache, the same; a
 * refused one is asked again each time; a moved counter sends it back
 * to the database, which now says Disabled, and that is not kept. */
static void test_auth_through_cache(void **state UNUSED)
{
	const char *const p[] = { TID };
	struct at_token_cache *cache;
	struct at_auth_in in;
	struct at_caller c;
	char auth[128];
	bool stale;
	struct fake_step *s;

	assert_int_equal(at_token_cache_new(&cache, 10), AT_OK);
	clock_ms = T0;
	at_token_cache_set_clock(cache, test_clock);
	snprintf(auth, sizeof(auth), "Bearer %s", value);
	in = (struct at_auth_in){ .authorization = auth, .db = fake_db(), .keys = keys,
				  .cache = cache };
	/* a refusal is not kept: the next request asks again */
	expect_counter("3");
	token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Disabled", NULL);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	assert_int_equal(at_token_cache_count(cache), 0);
	s = fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1);
	token_row(s, "Active", "MOD-0002");
	token_row(s, "Active", "MOD-0001");
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_true(stale);
	assert_int_equal(at_token_cache_count(cache), 1);
	/* from the cache: no statement */
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_int_equal(c.kind, AT_CALLER_TOKEN);
	assert_string_equal(c.id, TID);
	assert_string_equal(c.account_id, "ACC-1111-1111");
	assert_int_equal(c.nmodules, 2);
	assert_string_equal(c.modules[0], "MOD-0001");
	assert_string_equal(c.modules[1], "MOD-0002");
	assert_true(c.access_management);
	assert_false(stale);	/* written a moment ago */
	fake_db_assert_done();
	/* a wrong value of the same id never matches the cached one */
	{
		char other[AT_TOKEN_VALUE_LEN + 1], auth2[128];
		struct at_auth_in in2 = in;

		at_token_value_make(TID, other);
		snprintf(auth2, sizeof(auth2), "Bearer %s", other);
		in2.authorization = auth2;
		token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", NULL);
		assert_int_equal(at_auth_caller(&in2, &c, &stale), AT_ERR_AUTH);
		assert_int_equal(c.kind, AT_CALLER_NONE);
	}
	/* a second on, the counter moved: asked again, and now refused */
	clock_ms = T0 + AT_TC_CHECK_MS;
	expect_counter("4");
	token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Disabled", "MOD-0001");
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	assert_int_equal(at_token_cache_count(cache), 0);
	token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Disabled", "MOD-0001");
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	at_token_cache_free(cache);
	fake_db_assert_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_disabled_is_null, reset),
		cmocka_unit_test_setup(test_bound_and_eviction, reset),
		cmocka_unit_test_setup(test_counter_flush, reset),
		cmocka_unit_test_setup(test_counter_unreadable, reset),
		cmocka_unit_test_setup(test_age, reset),
		cmocka_unit_test_setup(test_key_compare, reset),
		cmocka_unit_test_setup(test_snapshot_rows, reset),
		cmocka_unit_test_setup(test_auth_through_cache, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
