/* test_auth.c: unit tests of auth.c over the scripted database: who a
 * request's credentials make the caller, and what is refused before any
 * query. */
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
#include "isotime.h"

#define UNUSED	__attribute__((unused))
#define TID "TKN-1234-5678"
#define NCOLS 17	/* AT_STMT_AUTH_TOKEN */

static struct at_keys *keys;
static char value[AT_TOKEN_VALUE_LEN + 1];
static unsigned char hash[AT_HASH_LEN];

static int setup(void **state UNUSED)
{
	if (at_crypto_init())
		return -1;
	if (fake_keys_make("test_auth", &keys))
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

static struct at_auth_in in_of(const char *authorization)
{
	return (struct at_auth_in){ .authorization = authorization, .db = fake_db(),
				    .keys = keys };
}

static void bearer(char *out, size_t n, const char *v)
{
	snprintf(out, n, "Bearer %s", v);
}

/* The restriction columns of a row: expiry and not-before in epoch ms
 * (decimal text), allowlist, rate; NULL for none. */
struct limits {
	const char *expires, *not_before, *ips, *rate;
};

/* A row of AT_STMT_AUTH_TOKEN: the token and one module it holds. */
static void token_row_full(struct fake_step *s, const char *status, const unsigned char *h,
			   const char *module, const char *code, const struct limits *l,
			   const unsigned char *prev, const char *prev_until)
{
	static const struct limits none;
	struct fake_cell c[NCOLS] = {
		{ status, 0 }, { (const char *)h, AT_HASH_LEN }, { "CI token", 0 },
		{ "ACC-1111-1111", 0 }, { "Buyer", 0 }, { "Client", 0 }, { "Active", 0 },
		{ "1", 0 }, { module, 0 }, { code, 0 }, { NULL, 0 },
	};

	if (!l)
		l = &none;
	c[11].s = l->expires;
	c[12].s = l->not_before;
	c[13].s = l->ips;
	c[14].s = l->rate;
	/* rotation: the previous value's hash and its window's end (epoch ms) */
	c[15] = (struct fake_cell){ (const char *)prev, prev ? AT_HASH_LEN : 0 };
	c[16].s = prev_until;
	fake_row(s, NCOLS, c);
}

static void token_row_limited(struct fake_step *s, const char *status, const unsigned char *h,
			      const char *module, const char *code, const struct limits *l)
{
	token_row_full(s, status, h, module, code, l, NULL, NULL);
}

static void token_row_prev(struct fake_step *s, const char *status, const unsigned char *h,
			   const char *module, const char *code, const unsigned char *prev,
			   const char *prev_until)
{
	token_row_full(s, status, h, module, code, NULL, prev, prev_until);
}

static void token_row(struct fake_step *s, const char *status, const unsigned char *h,
		      const char *module, const char *code)
{
	token_row_limited(s, status, h, module, code, NULL);
}

static void assert_empty(const struct at_caller *c)
{
	assert_int_equal(c->kind, AT_CALLER_NONE);
	assert_string_equal(c->id, "");
	assert_int_equal(c->nmodules, 0);
}

/* Junk, a bad checksum and a foreign prefix cost no query. */
static void test_shape_before_query(void **state UNUSED)
{
	static const char *const bad[] = {
		"Bearer ", "Bearer idt:", "Bearer idt:TKN-1234-5678:short",
		"Bearer abc", "Basic dXNlcjpwdw==", "Bearer idt:TKN-1234-567:xxxxxxxxxxxxxxxx",
	};
	char auth[128], broken[AT_TOKEN_VALUE_LEN + 1];
	struct at_caller c;
	struct at_auth_in in;
	bool stale = true;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		in = in_of(bad[i]);
		assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
		assert_empty(&c);
		assert_false(stale);
	}
	/* one character changed: the checksum no longer holds */
	memcpy(broken, value, sizeof(broken));
	broken[AT_TOKEN_VALUE_LEN - 8] = broken[AT_TOKEN_VALUE_LEN - 8] == 'a' ? 'b' : 'a';
	bearer(auth, sizeof(auth), broken);
	in = in_of(auth);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	in = in_of(NULL);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	assert_int_equal(fake_db_ran(), 0);
}

/* Unknown, disabled and wrong-secret tokens: the same refusal. */
static void test_refusals_alike(void **state UNUSED)
{
	const char *const p[] = { TID };
	unsigned char other[AT_HASH_LEN];
	char auth[128];
	struct at_caller c;
	struct at_auth_in in;
	bool stale;

	bearer(auth, sizeof(auth), value);
	in = in_of(auth);
	memset(other, 0x5a, sizeof(other));
	fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1);	/* unknown: no row */
	token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Disabled", hash, NULL, NULL);
	token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Deleted", hash, NULL, NULL);
	token_row(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", other, NULL, NULL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
		assert_empty(&c);
		assert_false(stale);
	}
	fake_db_assert_done();
}

/* A database failure is no refusal: 503, not 401. */
static void test_database_down(void **state UNUSED)
{
	char auth[128];
	struct at_caller c;
	struct at_auth_in in;
	bool stale;

	bearer(auth, sizeof(auth), value);
	in = in_of(auth);
	fake_expect_query(AT_STMT_AUTH_TOKEN, NULL, 0)->rc = AT_ERR_UNAVAILABLE;
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_UNAVAILABLE);
	assert_empty(&c);
}

static void test_token_modules(void **state UNUSED)
{
	const char *const p[] = { TID };
	char auth[128];
	struct at_caller c;
	struct at_auth_in in;
	struct fake_step *s;
	bool stale = false;

	/* spaces around the value are no part of it */
	snprintf(auth, sizeof(auth), "bearer  %s ", value);
	in = in_of(auth);
	s = fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1);
	token_row(s, "Active", hash, "MOD-0002", "access-management");
	token_row(s, "Active", hash, "MOD-0001", "catalog");
	token_row(s, "Active", hash, "MOD-0002", "access-management");
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_int_equal(c.kind, AT_CALLER_TOKEN);
	assert_string_equal(c.id, TID);
	assert_string_equal(c.name, "CI token");
	assert_string_equal(c.account_id, "ACC-1111-1111");
	assert_int_equal(c.account_type, AT_ACCOUNT_CLIENT);
	/* sorted, once each */
	assert_int_equal(c.nmodules, 2);
	assert_string_equal(c.modules[0], "MOD-0001");
	assert_string_equal(c.modules[1], "MOD-0002");
	assert_true(c.access_management);
	assert_true(stale);
	fake_db_assert_done();
}

/* REMOTE_USER counts only where the configuration trusts it, and never
 * over a token. */
static void test_remote_user(void **state UNUSED)
{
	const char *const pu[] = { "USR-1111-2222" }, *const pm[] = { "ACC-1111-1111",
								       "USR-1111-2222" };
	struct fake_cell u[6] = { { "Active", 0 }, { "Ann Admin", 0 }, { "ACC-1111-1111", 0 },
				  { "Buyer", 0 }, { "Client", 0 }, { "Active", 0 } };
	struct fake_cell m[2] = { { "MOD-0003", 0 }, { "access-management", 0 } };
	struct at_caller c;
	struct at_auth_in in = in_of(NULL);
	struct fake_step *s;
	bool stale;

	in.remote_user = "USR-1111-2222";
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	assert_int_equal(fake_db_ran(), 0);
	in.trust_remote_user = true;
	in.remote_user = "admin";	/* not a user id */
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	assert_int_equal(fake_db_ran(), 0);

	in.remote_user = "USR-1111-2222";
	fake_row(fake_expect_query(AT_STMT_AUTH_USER, pu, 1), 6, u);
	s = fake_expect_query(AT_STMT_AUTH_USER_MODULES, pm, 2);
	fake_row(s, 2, m);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_int_equal(c.kind, AT_CALLER_USER);
	assert_string_equal(c.id, "USR-1111-2222");
	assert_int_equal(c.nmodules, 1);
	assert_string_equal(c.modules[0], "MOD-0003");
	assert_true(c.access_management);
	assert_false(stale);

	/* a token present: the login is not looked at */
	in.authorization = "Bearer junk";
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	fake_db_assert_done();
}

static void test_load_user(void **state UNUSED)
{
	const char *const pu[] = { "USR-1111-2222" };
	struct fake_cell u[6] = { { "Disabled", 0 }, { "Ann Admin", 0 }, { "ACC-1111-1111", 0 },
				  { "Buyer", 0 }, { "Client", 0 }, { "Active", 0 } };
	struct at_caller c;

	fake_row(fake_expect_query(AT_STMT_AUTH_USER, pu, 1), 6, u);
	assert_int_equal(at_auth_load_user(fake_db(), "USR-1111-2222", &c), AT_ERR_AUTH);
	assert_empty(&c);
	assert_int_equal(at_auth_load_user(fake_db(), "TKN-1111-2222", &c), AT_ERR_AUTH);
	fake_db_assert_done();
}

static void each_path(void *arg, const char *prefix, size_t len)
{
	char *seen = arg;

	strncat(seen, prefix, len);
	strcat(seen, ";");
}

static void test_verify_paths(void **state UNUSED)
{
	const char *const p[] = { TID };
	char auth[128], seen[128] = "";
	struct at_auth_paths paths = { each_path, seen };
	struct fake_cell row[NCOLS] = {
		{ "Active", 0 }, { (const char *)hash, AT_HASH_LEN }, { "CI token", 0 },
		{ "ACC-1111-1111", 0 }, { "Buyer", 0 }, { "Client", 0 }, { "Active", 0 },
		{ "0", 0 }, { "MOD-0001", 0 }, { NULL, 0 }, { "/public/v1/catalog", 0 },
		{ NULL, 0 }, { NULL, 0 }, { NULL, 0 }, { "120", 0 }, { NULL, 0 }, { NULL, 0 },
	};
	struct at_caller c;
	struct at_auth_in in;
	struct fake_step *s;
	bool stale = true;

	bearer(auth, sizeof(auth), value);
	in = in_of(auth);
	in.paths = &paths;
	s = fake_expect_query(AT_STMT_VERIFY_PATHS, p, 1);
	fake_row(s, NCOLS, row);
	row[10].s = "/public/v1/orders/";
	fake_row(s, NCOLS, row);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_int_equal(c.rate_limit, 120);
	assert_string_equal(seen, "/public/v1/catalog;/public/v1/orders/;");
	assert_int_equal(c.nmodules, 1);
	assert_false(c.access_management);
	assert_false(stale);
	fake_db_assert_done();
}

/* A right secret outside its window or its addresses: refused, with
 * the reason; the same secret inside them passes. */
static void test_restrictions(void **state UNUSED)
{
	const char *const p[] = { TID };
	static const unsigned char other[AT_HASH_LEN] = { 1 };
	char auth[128], past[32], future[32];
	const char *why = NULL;
	struct at_caller c;
	struct at_auth_in in;
	bool stale;
	const struct {
		struct limits l;
		const char *client;
		enum at_err rc;
		const char *why;
	} cases[] = {
		{ { past, NULL, NULL, NULL }, "192.0.2.1", AT_ERR_AUTH, "The token has expired." },
		{ { NULL, future, NULL, NULL }, "192.0.2.1", AT_ERR_AUTH, "not valid yet" },
		{ { future, past, NULL, NULL }, "192.0.2.1", AT_OK, NULL },
		{ { NULL, NULL, "10.0.0.0/8,2001:db8::/32", NULL }, "192.0.2.1",
		  AT_ERR_FORBIDDEN, "client address is not allowed" },
		{ { NULL, NULL, "10.0.0.0/8,2001:db8::/32", NULL }, "2001:db8::5", AT_OK, NULL },
		{ { NULL, NULL, "127.0.0.2/31", NULL }, "127.0.0.1", AT_ERR_FORBIDDEN, "not allowed" },
		{ { NULL, NULL, "127.0.0.0/31", "60" }, "127.0.0.1", AT_OK, NULL },
		{ { NULL, NULL, "10.0.0.1", NULL }, "::ffff:10.0.0.1", AT_OK, NULL },
		/* no address known: a list admits nobody */
		{ { NULL, NULL, "10.0.0.1", NULL }, NULL, AT_ERR_FORBIDDEN, "not allowed" },
	};
	size_t i;

	snprintf(past, sizeof(past), "%lld", (long long)(at_iso_now_ms() - 1000));
	snprintf(future, sizeof(future), "%lld", (long long)(at_iso_now_ms() + 600000));
	bearer(auth, sizeof(auth), value);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = in_of(auth);
		in.client_addr = cases[i].client;
		in.why = &why;
		token_row_limited(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", hash,
				  "MOD-0001", "catalog", &cases[i].l);
		assert_int_equal(at_auth_caller(&in, &c, &stale), cases[i].rc);
		if (cases[i].why) {
			assert_non_null(why);
			assert_non_null(strstr(why, cases[i].why));
			assert_empty(&c);
		} else {
			assert_null(why);
			assert_string_equal(c.id, TID);
			assert_int_equal(c.rate_limit, cases[i].l.rate ? 60 : 0);
		}
	}
	/* a wrong secret says nothing more than before, restrictions or not */
	in = in_of(auth);
	in.why = &why;
	token_row_limited(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", other, NULL, NULL,
			  &cases[0].l);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
	assert_null(why);
	fake_db_assert_done();
}

/* Rotation: the replaced value verifies while its window is open, and
 * says so; once it closed, or with the wrong state, it is refused like
 * any other value.  The window's end is compared with the clock at use. */
static void test_previous_value(void **state UNUSED)
{
	const char *const p[] = { TID };
	unsigned char other[AT_HASH_LEN];
	char auth[128], open[32], closed[32];
	struct at_caller c;
	struct at_auth_in in;
	bool stale;

	snprintf(open, sizeof(open), "%lld", (long long)(at_iso_now_ms() + 600000));
	snprintf(closed, sizeof(closed), "%lld", (long long)(at_iso_now_ms() - 1));
	bearer(auth, sizeof(auth), value);
	in = in_of(auth);
	memset(other, 0x5a, sizeof(other));
	token_row_prev(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", other, NULL, NULL,
		       hash, open);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_int_equal(c.kind, AT_CALLER_TOKEN);
	assert_true(c.previous_value);
	/* the current value, with a previous one live: current */
	token_row_prev(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", hash, NULL, NULL,
		       other, open);
	assert_int_equal(at_auth_caller(&in, &c, &stale), AT_OK);
	assert_false(c.previous_value);
	/* the window closed (the columns not cleared yet), none, or a
	 * Disabled token */
	token_row_prev(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", other, NULL, NULL,
		       hash, closed);
	token_row_prev(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Active", other, NULL, NULL,
		       hash, NULL);
	token_row_prev(fake_expect_query(AT_STMT_AUTH_TOKEN, p, 1), "Disabled", other, NULL, NULL,
		       hash, open);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(at_auth_caller(&in, &c, &stale), AT_ERR_AUTH);
		assert_empty(&c);
		assert_false(c.previous_value);
	}
	fake_db_assert_done();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_shape_before_query, reset),
		cmocka_unit_test_setup(test_refusals_alike, reset),
		cmocka_unit_test_setup(test_database_down, reset),
		cmocka_unit_test_setup(test_token_modules, reset),
		cmocka_unit_test_setup(test_remote_user, reset),
		cmocka_unit_test_setup(test_load_user, reset),
		cmocka_unit_test_setup(test_verify_paths, reset),
		cmocka_unit_test_setup(test_restrictions, reset),
		cmocka_unit_test_setup(test_previous_value, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
