/* test_token_store.c: unit tests of the token domain layer over the
 * scripted database: create, the state rules (409, 412), visibility, the
 * module grant rules, and the audit record of a change. */
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

#include "db_columns.h"
#include "fake_db.h"
#include "isotime.h"
#include "json.h"
#include "text.h"
#include "token_store.h"

#define UNUSED	__attribute__((unused))
#define TID "TKN-1234-5678"
#define ACC "ACC-1111-1111"
#define TCOLS TC__MAX
#define AUDIT_DOCUMENTS 18	/* the parameter of AT_STMT_AUDIT_INSERT */

static struct at_keys *keys;
static struct at_settings settings;
static struct at_caller actor;
static struct at_problem problem;
static struct at_dom dom;
static unsigned char zero_hash[AT_HASH_LEN];
static const char *row_name;	/* the name token_row gives */

#define assert_has(hay, needle)							\
	do {									\
		if (!strstr((hay), (needle)))					\
			fail_msg("\"%s\" lacks \"%s\"", (hay), (needle));	\
	} while (0)

static int setup(void **state UNUSED)
{
	if (at_crypto_init() || at_text_init())
		return -1;
	if (fake_keys_make("test_token_store", &keys))
		return -1;
	at_settings_init(&settings);
	settings.reveal = AT_REVEAL_ALLOW;
	return 0;
}

static int teardown(void **state UNUSED)
{
	fake_keys_free(keys);
	return 0;
}

/* A Client administrator of ACC holding MOD-0001 and access management. */
static int reset(void **state UNUSED)
{
	fake_db_reset();
	row_name = "CI token";
	memset(&actor, 0, sizeof(actor));
	actor.kind = AT_CALLER_USER;
	strcpy(actor.id, "USR-1111-2222");
	strcpy(actor.name, "Ann Admin");
	strcpy(actor.account_id, ACC);
	strcpy(actor.account_name, "Buyer");
	actor.account_type = AT_ACCOUNT_CLIENT;
	strcpy(actor.modules[0], "MOD-0001");
	strcpy(actor.modules[1], "MOD-0009");
	actor.nmodules = 2;
	actor.access_management = true;
	at_problem_clear(&problem);
	dom = (struct at_dom){ .db = fake_db(), .keys = keys, .settings = &settings,
			       .actor = &actor, .origin = { "192.0.2.1", "unit", "trace-1" },
			       .problem = &problem };
	return 0;
}

/* A TOKEN_COLUMNS row. */
static void token_row(struct fake_step *s, const char *id, const char *account,
		      const char *status, const char *revision)
{
	struct fake_cell c[TCOLS] = {
		{ id, 0 }, { row_name, 0 }, { NULL, 0 }, { status, 0 }, { "0", 0 },
		{ NULL, 0 }, { revision, 0 },
		{ "2026-01-02 03:04:05.000000", 0 }, { "USR-1111-2222", 0 }, { "Ann Admin", 0 },
	};

	c[TC_ACCOUNT_ID] = (struct fake_cell){ account, 0 };
	c[TC_ACCOUNT_NAME] = (struct fake_cell){ "Buyer", 0 };
	c[TC_ACCOUNT_TYPE] = (struct fake_cell){ "Client", 0 };
	c[TC_ACCOUNT_STATUS] = (struct fake_cell){ "Active", 0 };
	fake_row(s, TCOLS, c);
}

static void modules_rows(struct fake_step *s, const char *const *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct fake_cell c[2] = { { ids[i], 0 }, { "Some module", 0 } };

		fake_row(s, 2, c);
	}
}

/* lock_token's statements: the lock, the row, its modules. */
static void expect_lock(const char *account, const char *status, const char *revision,
			const char *const *mods, size_t nmods)
{
	const char *const p[] = { TID };

	fake_expect_exec(AT_STMT_TOKEN_LOCK, p, 1);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, account, status, revision);
	modules_rows(fake_expect_query(AT_STMT_TOKEN_MODULES, p, 1), mods, nmods);
}

/* A document of the token (its row and modules read again). */
static void expect_document(const char *id, const char *status, const char *revision)
{
	const char *const p[] = { id };

	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), id, ACC, status, revision);
	fake_expect_query(AT_STMT_TOKEN_MODULES, p, 1);
}

/* at_audit_append's statements and the change counters' bump: both for
 * a change of an existing token, the lists' alone for a new one; returns
 * the insert, to look at. */
static struct fake_step *expect_audit(bool change)
{
	struct fake_cell head[3] = { { "4", 0 }, { (const char *)zero_hash, AT_HASH_LEN },
				     { "2026-01-02 03:04:05.000", 0 } };
	struct fake_step *ins;

	fake_expect_exec(AT_STMT_AUDIT_HEAD_ENSURE, NULL, 0);
	fake_row(fake_expect_query(AT_STMT_AUDIT_HEAD_LOCK, NULL, 0), 3, head);
	ins = fake_expect_exec(AT_STMT_AUDIT_INSERT, NULL, 0);
	fake_expect_exec(AT_STMT_AUDIT_HEAD_SET, NULL, 0);
	fake_expect_exec(change ? AT_STMT_TOKEN_CHANGES_BUMP : AT_STMT_TOKEN_CHANGES_BUMP_LISTS,
			 NULL, 0);
	return ins;
}

static void test_create(void **state UNUSED)
{
	const char *const mods[] = { "MOD-0001" };
	const char *const pacc[] = { ACC };
	const char *const pins[] = { FAKE_ANY, ACC, "CI token", FAKE_NULL, FAKE_ANY, FAKE_ANY,
				     FAKE_ANY, "USR-1111-2222", "Ann Admin" };
	struct at_token_new t = { .account_id = ACC, .name = "CI token", .modules = mods,
				  .nmodules = 1 };
	const char *const pany[] = { FAKE_ANY };
	char id[AT_TOKEN_ID_LEN + 1], value[AT_TOKEN_VALUE_LEN + 1], masked[64];
	struct fake_step *ins, *audit;

	modules_rows(fake_expect_query(AT_STMT_ACCOUNT_MODULES, pacc, 1), mods, 1);
	/* no maximum lifetime and no restriction: nothing more is written */
	fake_expect_query(AT_STMT_ACCOUNT_LIFETIME, pacc, 1);
	ins = fake_expect_exec(AT_STMT_TOKEN_INSERT, pins, 9);
	fake_expect_exec(AT_STMT_TOKEN_MODULE_ADD, NULL, 0);
	fake_expect_exec(AT_STMT_TOKEN_COUNT_BUMP, pacc, 1);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, pany, 1), TID, ACC, "Active", "1");
	fake_expect_query(AT_STMT_TOKEN_MODULES, pany, 1);
	audit = expect_audit(false);
	assert_int_equal(at_token_create(&dom, &t, id, value), AT_OK);
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 1);
	assert_true(at_id_valid(id, "TKN", 2));
	assert_string_equal(ins->got[0], id);
	assert_int_equal(strlen(value), AT_TOKEN_VALUE_LEN);
	/* the hash, never the value, is stored; a sealed copy when allowed */
	assert_null(strstr(ins->got[4], value));
	assert_string_not_equal(ins->got[5], FAKE_NULL);
	/* the audit record: created, the value masked */
	assert_string_equal(audit->got[3], "platform.accounts.api-token.created");
	snprintf(masked, sizeof(masked), "\"token\":\"idt:%s:********\"", id);
	assert_has(audit->got[AUDIT_DOCUMENTS], masked);
	assert_null(strstr(audit->got[AUDIT_DOCUMENTS], value));
	assert_null(strstr(audit->got[AUDIT_DOCUMENTS], value + 4 + AT_TOKEN_ID_LEN + 1));
	assert_string_equal(audit->got[15], "192.0.2.1");
	assert_string_equal(audit->got[16], "unit");
}

/* The account's maximum lifetime: the expiry of a token created without
 * one, and a bound on one that is given; nothing is inserted beyond it. */
static void test_create_lifetime(void **state UNUSED)
{
	const char *const pacc[] = { ACC };
	const char *const pany[] = { FAKE_ANY };
	struct fake_cell day[1] = { { "86400", 0 } };
	struct at_token_new t = { .account_id = ACC, .name = "CI token", .rate_limit = 60 };
	char id[AT_TOKEN_ID_LEN + 1], value[AT_TOKEN_VALUE_LEN + 1];
	int64_t before = at_iso_now_ms(), ms;
	struct fake_step *r;

	fake_row(fake_expect_query(AT_STMT_ACCOUNT_LIFETIME, pacc, 1), 1, day);
	fake_expect_exec(AT_STMT_TOKEN_INSERT, NULL, 0);
	fake_expect_exec(AT_STMT_TOKEN_COUNT_BUMP, pacc, 1);
	r = fake_expect_exec(AT_STMT_TOKEN_RESTRICT, NULL, 0);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, pany, 1), TID, ACC, "Active", "1");
	fake_expect_query(AT_STMT_TOKEN_MODULES, pany, 1);
	expect_audit(false);
	assert_int_equal(at_token_create(&dom, &t, id, value), AT_OK);
	fake_db_assert_done();
	/* expires_at = now + 1 day, no notBefore, no list, the rate */
	assert_int_equal(at_datetime_parse(r->got[0], strlen(r->got[0]), &ms), AT_OK);
	assert_true(ms >= before + 86400000 && ms <= at_iso_now_ms() + 86400000);
	assert_string_equal(r->got[1], FAKE_NULL);
	assert_string_equal(r->got[2], FAKE_NULL);
	assert_string_equal(r->got[3], "60");
	assert_string_equal(r->got[4], id);

	/* beyond the maximum: 400 naming expiresAt, nothing inserted */
	reset(NULL);
	t.expires_ms = at_iso_now_ms() + 2 * 86400000LL;
	fake_row(fake_expect_query(AT_STMT_ACCOUNT_LIFETIME, pacc, 1), 1, day);
	assert_int_equal(at_token_create(&dom, &t, id, value), AT_ERR_INVALID);
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 0);
	assert_string_equal(problem.errors[0].field, "expiresAt");
	assert_has(problem.errors[0].message, "P1D");

	/* notBefore after the default expiry: 400 naming notBefore */
	reset(NULL);
	t.expires_ms = 0;
	t.not_before_ms = at_iso_now_ms() + 3 * 86400000LL;
	fake_row(fake_expect_query(AT_STMT_ACCOUNT_LIFETIME, pacc, 1), 1, day);
	assert_int_equal(at_token_create(&dom, &t, id, value), AT_ERR_INVALID);
	fake_db_assert_done();
	assert_string_equal(problem.errors[0].field, "notBefore");
}

/* A token past its expiry: enabled only with a new expiresAt, Active or
 * Disabled alike; nothing is written without it. */
static void test_enable_expired(void **state UNUSED)
{
	const char *const p[] = { TID };
	const char *const status[] = { "Active", "Disabled" };
	size_t i;

	for (i = 0; i < 2; i++) {
		reset(NULL);
		fake_expect_exec(AT_STMT_TOKEN_LOCK, p, 1);
		{
			struct fake_step *s = fake_expect_query(AT_STMT_TOKEN_GET, p, 1);
			struct fake_cell c[TCOLS] = {
				{ TID, 0 }, { row_name, 0 }, { NULL, 0 }, { status[i], 0 },
				{ "0", 0 }, { NULL, 0 }, { "3", 0 },
				{ "2026-01-02 03:04:05.000000", 0 }, { "USR-1111-2222", 0 },
				{ "Ann Admin", 0 },
			};

			c[TC_ACCOUNT_ID] = (struct fake_cell){ ACC, 0 };
			c[TC_ACCOUNT_NAME] = (struct fake_cell){ "Buyer", 0 };
			c[TC_ACCOUNT_TYPE] = (struct fake_cell){ "Client", 0 };
			c[TC_ACCOUNT_STATUS] = (struct fake_cell){ "Active", 0 };
			c[TC_EXPIRES_AT] = (struct fake_cell){ "2026-01-03 00:00:00.000", 0 };
			fake_row(s, TCOLS, c);
		}
		fake_expect_query(AT_STMT_TOKEN_MODULES, p, 1);
		assert_int_equal(at_token_enable(&dom, TID, 0, NULL), AT_ERR_CONFLICT);
		assert_has(problem.detail, "has expired");
		fake_db_assert_done();
		assert_int_equal(fake_db_commits, 0);
	}
}

/* The restriction fields of a body: each bad one is 400 naming it. */
static void test_body_restrictions(void **state UNUSED)
{
	static const struct {
		const char *json, *field, *says;
	} bad[] = {
		{ "{\"name\":\"a\",\"expiresAt\":\"2001-01-01T00:00:00Z\"}", "expiresAt",
		  "future" },
		{ "{\"name\":\"a\",\"expiresAt\":\"tomorrow\"}", "expiresAt", "ISO 8601" },
		{ "{\"name\":\"a\",\"expiresAt\":1700000000}", "expiresAt", "ISO 8601" },
		{ "{\"name\":\"a\",\"notBefore\":\"2099-01-02T00:00:00Z\","
		  "\"expiresAt\":\"2099-01-01T00:00:00Z\"}", "notBefore", "earlier" },
		{ "{\"name\":\"a\",\"allowedIps\":[\"10.0.0.0/33\"]}", "allowedIps",
		  "'10.0.0.0/33' is not an IP address" },
		{ "{\"name\":\"a\",\"allowedIps\":[\"10.0.0.1\",\"10.0.0.1/32\"]}",
		  "allowedIps", "more than once" },
		{ "{\"name\":\"a\",\"allowedIps\":\"10.0.0.1\"}", "allowedIps", "list" },
		{ "{\"name\":\"a\",\"allowedIps\":[7]}", "allowedIps", "string" },
		{ "{\"name\":\"a\",\"rateLimit\":45}", "rateLimit", "one of 60" },
		{ "{\"name\":\"a\",\"rateLimit\":0}", "rateLimit", "one of 60" },
		{ "{\"name\":\"a\",\"rateLimit\":\"60\"}", "rateLimit", "one of 60" },
		{ "{\"name\":\"a\",\"rateLimit\":60.5}", "rateLimit", "one of 60" },
		{ "{\"name\":\"a\",\"rateLimit\":-60}", "rateLimit", "one of 60" },
	};
	char many[4096];
	struct at_token_body b;
	struct at_jv *doc;
	bool account_ok;
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		at_problem_clear(&problem);
		assert_int_equal(at_token_body_parse(bad[i].json, strlen(bad[i].json), &doc,
						     &problem), AT_OK);
		assert_int_equal(at_token_body_create(doc, &b, &problem, &account_ok),
				 AT_ERR_INVALID);
		assert_int_equal(problem.nerrors, 1);
		assert_string_equal(problem.errors[0].field, bad[i].field);
		assert_has(problem.errors[0].message, bad[i].says);
		at_jv_free(doc);
	}
	/* 65 entries: too many */
	len = (size_t)snprintf(many, sizeof(many), "{\"name\":\"a\",\"allowedIps\":[");
	for (i = 0; i < 65; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "%s\"10.0.%zu.0/24\"",
					i ? "," : "", i);
	snprintf(many + len, sizeof(many) - len, "]}");
	at_problem_clear(&problem);
	assert_int_equal(at_token_body_parse(many, strlen(many), &doc, &problem), AT_OK);
	assert_int_equal(at_token_body_create(doc, &b, &problem, &account_ok), AT_ERR_INVALID);
	assert_string_equal(problem.errors[0].field, "allowedIps");
	assert_has(problem.errors[0].message, "At most 64");
	at_jv_free(doc);

	/* good ones: canonical entries, the times, the tier; null removes */
	{
		const char *good = "{\"name\":\"a\",\"allowedIps\":[\"2001:DB8::/32\","
				   "\"10.0.0.1/32\"],\"rateLimit\":120,\"expiresAt\":"
				   "\"2099-01-01T01:00:00+01:00\",\"notBefore\":null}";

		at_problem_clear(&problem);
		assert_int_equal(at_token_body_parse(good, strlen(good), &doc, &problem), AT_OK);
		assert_int_equal(at_token_body_create(doc, &b, &problem, &account_ok), AT_OK);
		assert_string_equal(b.allowed_ips, "2001:db8::/32,10.0.0.1");
		assert_int_equal(b.rate_limit, 120);
		assert_true(b.has_expires);
		assert_int_equal(b.expires_ms, 4070908800000LL);
		assert_true(b.has_not_before);
		assert_int_equal(b.not_before_ms, 0);
		at_jv_free(doc);
	}
	/* enable: no body, or a future expiresAt only */
	{
		int64_t ms = 1;
		const char *past;

		assert_int_equal(at_token_body_enable("", 0, &ms, &problem), AT_OK);
		assert_int_equal(ms, 0);
		at_problem_clear(&problem);
		past = "{\"expiresAt\":\"2000-01-01T00:00:00Z\"}";
		assert_int_equal(at_token_body_enable(past, strlen(past), &ms, &problem),
				 AT_ERR_INVALID);
		assert_string_equal(problem.errors[0].field, "expiresAt");
	}
}

/* Nobody grants a module they do not hold; none beyond the account's. */
static void test_create_grant_rules(void **state UNUSED)
{
	const char *const mods[] = { "MOD-0001", "MOD-0002", "MOD-0003" };
	const char *const enabled[] = { "MOD-0001", "MOD-0002" };
	struct at_token_new t = { .account_id = ACC, .name = "CI token", .modules = mods,
				  .nmodules = 3 };
	char id[AT_TOKEN_ID_LEN + 1], value[AT_TOKEN_VALUE_LEN + 1];

	modules_rows(fake_expect_query(AT_STMT_ACCOUNT_MODULES, NULL, 0), enabled, 2);
	assert_int_equal(at_token_create(&dom, &t, id, value), AT_ERR_INVALID);
	fake_db_assert_done();
	assert_int_equal(fake_db_begins, 0);
	assert_int_equal(problem.nerrors, 2);
	assert_string_equal(problem.errors[0].field, "modules");
	assert_has(problem.errors[0].message, "MOD-0002 cannot be granted");
	assert_has(problem.errors[1].message, "MOD-0003 is not enabled");
}

static void test_create_account(void **state UNUSED)
{
	const char *const p[] = { "ACC-9999-9999" };
	struct fake_cell acc[1] = { { "ACC-9999-9999", 0 } };
	const char *out = NULL;

	/* a Client names only its own account */
	assert_int_equal(at_token_create_account(&dom, NULL, &out), AT_OK);
	assert_string_equal(out, ACC);
	assert_int_equal(at_token_create_account(&dom, "ACC-9999-9999", &out), AT_ERR_FORBIDDEN);
	assert_int_equal(fake_db_ran(), 0);
	/* Operations any that exists */
	actor.account_type = AT_ACCOUNT_OPERATIONS;
	fake_expect_query(AT_STMT_ACCOUNT_GET, p, 1);
	assert_int_equal(at_token_create_account(&dom, "ACC-9999-9999", &out), AT_ERR_INVALID);
	assert_string_equal(problem.errors[0].field, "account.id");
	fake_row(fake_expect_query(AT_STMT_ACCOUNT_GET, p, 1), 1, acc);
	assert_int_equal(at_token_create_account(&dom, "ACC-9999-9999", &out), AT_OK);
	assert_string_equal(out, "ACC-9999-9999");
	fake_db_assert_done();
}

/* Enabling an Active token, disabling a Disabled one: 409, no write. */
static void test_state_conflicts(void **state UNUSED)
{
	expect_lock(ACC, "Active", "3", NULL, 0);
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_ENABLE, NULL), AT_ERR_CONFLICT);
	assert_has(problem.detail, "already Active");
	expect_lock(ACC, "Disabled", "3", NULL, 0);
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_DISABLE, NULL), AT_ERR_CONFLICT);
	assert_has(problem.detail, "already Disabled");
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 0);
	assert_int_equal(fake_db_rollbacks, 2);
}

/* A stale revision is 412 before anything is written; "*" passes. */
static void test_revision(void **state UNUSED)
{
	struct at_rev_cond stale = { .n = 2, .rev = { 7, 2 } }, any = { .any = true };
	struct at_rev_cond none = { .n = 0 };

	expect_lock(ACC, "Active", "3", NULL, 0);
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_DISABLE, &stale),
			 AT_ERR_PRECONDITION);
	assert_has(problem.detail, "revision 3");
	expect_lock(ACC, "Active", "3", NULL, 0);
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_DELETE, &none),
			 AT_ERR_PRECONDITION);
	/* matched: the change goes on (to a write that fails here) */
	expect_lock(ACC, "Active", "3", NULL, 0);
	expect_document(TID, "Active", "3");
	fake_expect_exec(AT_STMT_TOKEN_DISABLE, NULL, 0)->rc = AT_ERR_DB;
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_DISABLE, &any), AT_ERR_DB);
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 0);
}

/* Deleted is final, even for Operations, who still see it. */
static void test_deleted_final(void **state UNUSED)
{
	struct at_token_body b = { .has_name = true, .name = "new" };

	actor.account_type = AT_ACCOUNT_OPERATIONS;
	expect_lock(ACC, "Deleted", "5", NULL, 0);
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_ENABLE, NULL), AT_ERR_CONFLICT);
	assert_has(problem.detail, "deletion is final");
	expect_lock(ACC, "Deleted", "5", NULL, 0);
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_DELETE, NULL), AT_ERR_CONFLICT);
	expect_lock(ACC, "Deleted", "5", NULL, 0);
	assert_int_equal(at_token_update(&dom, TID, &b, true, NULL), AT_ERR_CONFLICT);
	fake_db_assert_done();
}

/* Another account's token, or a Deleted one, does not exist for a
 * Client: 404 for a read and for a change. */
static void test_visibility(void **state UNUSED)
{
	const char *const p[] = { TID };
	struct at_token t;

	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, "ACC-2222-2222", "Active", "1");
	assert_int_equal(at_token_read(&dom, TID, 0, &t), AT_ERR_NOT_FOUND);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, ACC, "Deleted", "1");
	assert_int_equal(at_token_read(&dom, TID, 0, &t), AT_ERR_NOT_FOUND);
	fake_expect_exec(AT_STMT_TOKEN_LOCK, p, 1);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, "ACC-2222-2222", "Active", "1");
	assert_int_equal(at_token_set_state(&dom, TID, AT_TOKEN_DISABLE, NULL), AT_ERR_NOT_FOUND);
	/* a body that failed its checks: still 404 first */
	fake_expect_exec(AT_STMT_TOKEN_LOCK, p, 1);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, "ACC-2222-2222", "Active", "1");
	assert_int_equal(at_token_update(&dom, TID, &(struct at_token_body){ 0 }, false, NULL),
			 AT_ERR_NOT_FOUND);
	fake_expect_query(AT_STMT_TOKEN_GET, p, 1);	/* none at all */
	assert_int_equal(at_token_read(&dom, TID, 0, &t), AT_ERR_NOT_FOUND);
	/* the owner reads it, modules too */
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, ACC, "Active", "2");
	modules_rows(fake_expect_query(AT_STMT_TOKEN_MODULES, p, 1),
		     (const char *const[]){ "MOD-0001" }, 1);
	assert_int_equal(at_token_read(&dom, TID, AT_TOKEN_READ_MODULES, &t), AT_OK);
	assert_int_equal(t.revision, 2);
	assert_int_equal(t.nmodules, 1);
	assert_string_equal(t.modules[0].id, "MOD-0001");
	at_token_release(&t);
	fake_db_assert_done();
}

/* A module already on the token stays although the actor lacks it; a
 * new one needs the actor to hold it. */
static void test_update_grant_rules(void **state UNUSED)
{
	const char *const had[] = { "MOD-0005" }, *const enabled[] = { "MOD-0001", "MOD-0005",
								       "MOD-0007" };
	struct at_token_body b = { .has_modules = true, .modules = { { "MOD-0005" }, 1 } };

	expect_lock(ACC, "Active", "3", had, 1);
	modules_rows(fake_expect_query(AT_STMT_ACCOUNT_MODULES, NULL, 0), enabled, 3);
	assert_int_equal(at_token_update(&dom, TID, &b, true, NULL), AT_OK);	/* no change */
	b.modules = (struct at_module_set){ { "MOD-0005", "MOD-0007" }, 2 };
	expect_lock(ACC, "Active", "3", had, 1);
	modules_rows(fake_expect_query(AT_STMT_ACCOUNT_MODULES, NULL, 0), enabled, 3);
	assert_int_equal(at_token_update(&dom, TID, &b, true, NULL), AT_ERR_INVALID);
	assert_int_equal(problem.nerrors, 1);
	assert_has(problem.errors[0].message, "MOD-0007 cannot be granted");
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 1);	/* the first: nothing to write */
}

/* An update records what changed, the token before and after, and
 * never the value. */
static void test_update_audit(void **state UNUSED)
{
	const char *const pupd[] = { "renamed", FAKE_NULL, "0", "USR-1111-2222", "Ann Admin", TID };
	struct at_token_body b = { .has_name = true, .name = "renamed" };
	struct fake_step *audit;
	const char *docs;

	expect_lock(ACC, "Active", "3", NULL, 0);
	expect_document(TID, "Active", "3");
	fake_expect_exec(AT_STMT_TOKEN_UPDATE, pupd, 6);
	row_name = "renamed";
	expect_document(TID, "Active", "4");
	audit = expect_audit(true);
	assert_int_equal(at_token_update(&dom, TID, &b, true, NULL), AT_OK);
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 1);
	docs = audit->got[AUDIT_DOCUMENTS];
	assert_string_equal(audit->got[3], "platform.accounts.api-token.updated");
	assert_has(docs, "\"before\":{\"id\":\"" TID "\"");
	assert_has(docs, "\"after\":{\"id\":\"" TID "\"");
	assert_has(docs, "\"changes\":[\"name\"]");
	assert_has(docs, "\"fields\":{\"name\":"
		   "{\"before\":\"CI token\",\"after\":\"renamed\"}}");
	assert_has(docs, "\"token\":\"idt:" TID ":********\"");
	assert_string_equal(audit->got[10], "4");	/* the revision after */
}

static void test_reveal_rules(void **state UNUSED)
{
	char value[AT_TOKEN_VALUE_LEN + 1];

	actor.access_management = false;
	assert_int_equal(at_token_reveal(&dom, TID, value), AT_ERR_FORBIDDEN);
	assert_int_equal(fake_db_ran(), 0);
	actor.access_management = true;
	settings.reveal = AT_REVEAL_NEVER;
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, NULL, 0), TID, ACC, "Active", "1");
	assert_int_equal(at_token_reveal(&dom, TID, value), AT_ERR_FORBIDDEN);
	settings.reveal = AT_REVEAL_ALLOW;
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, NULL, 0), TID, ACC, "Active", "1");
	fake_expect_query(AT_STMT_TOKEN_SEALED, NULL, 0);	/* no sealed copy */
	assert_int_equal(at_token_reveal(&dom, TID, value), AT_ERR_CONFLICT);
	fake_db_assert_done();
}

/* A rotation: the new value hashed and sealed under the same id, the
 * overlap bound three times, and a record with the overlap and the end
 * of the replaced value, never a value. */
static void test_rotate(void **state UNUSED)
{
	const char *const pany[] = { TID };
	char value[AT_TOKEN_VALUE_LEN + 1];
	struct fake_step *rot, *get, *audit;
	struct fake_cell *c;
	const char *docs;

	expect_lock(ACC, "Active", "3", NULL, 0);
	expect_document(TID, "Active", "3");
	rot = fake_expect_exec(AT_STMT_TOKEN_ROTATE, NULL, 0);
	get = fake_expect_query(AT_STMT_TOKEN_GET, pany, 1);
	token_row(get, TID, ACC, "Active", "4");
	c = get->cells[0];
	c[TC_ROTATED_AT] = (struct fake_cell){ "2026-01-02 03:04:05.000", 0 };
	c[TC_ROTATED_BY_ID] = (struct fake_cell){ "USR-1111-2222", 0 };
	c[TC_ROTATED_BY_NAME] = (struct fake_cell){ "Ann Admin", 0 };
	c[TC_PREV_VALID_UNTIL] = (struct fake_cell){ "2026-01-02 04:04:05.000", 0 };
	expect_document(TID, "Active", "4");
	audit = expect_audit(true);
	assert_int_equal(at_token_rotate(&dom, TID, 3600, true, NULL, value), AT_OK);
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 1);
	assert_int_equal(strlen(value), AT_TOKEN_VALUE_LEN);
	assert_int_equal(strncmp(value, "idt:" TID ":", 18), 0);
	/* overlap x3, hash, sealed, key id, actor id and name, token id */
	assert_int_equal(rot->ngot, 9);
	assert_string_equal(rot->got[0], "3600");
	assert_string_equal(rot->got[1], "3600");
	assert_string_equal(rot->got[2], "3600");
	assert_string_not_equal(rot->got[4], FAKE_NULL);
	assert_null(strstr(rot->got[3], value));
	assert_string_equal(rot->got[6], "USR-1111-2222");
	assert_string_equal(rot->got[8], TID);
	docs = audit->got[AUDIT_DOCUMENTS];
	assert_string_equal(audit->got[3], "platform.accounts.api-token.rotated");
	assert_has(docs, "\"rotation\":{\"overlap\":\"PT1H\","
		   "\"validUntil\":\"2026-01-02T04:04:05.000Z\"}");
	assert_has(docs, "\"token\":\"idt:" TID ":********\"");
	assert_null(strstr(docs, value + 18));
	assert_string_equal(audit->got[10], "4");
}

/* Nothing is written for a rotation refused: above the maximum, a body
 * that failed its checks, a Deleted token; a missing one is 404 first. */
static void test_rotate_refused(void **state UNUSED)
{
	const char *const p[] = { TID };
	char value[AT_TOKEN_VALUE_LEN + 1];

	settings.max_rotation_overlap = 7 * 86400;
	expect_lock(ACC, "Active", "3", NULL, 0);
	assert_int_equal(at_token_rotate(&dom, TID, 7 * 86400 + 1, true, NULL, value),
			 AT_ERR_INVALID);
	assert_string_equal(problem.errors[0].field, "overlap");
	assert_has(problem.errors[0].message, "at most P7D");
	expect_lock(ACC, "Active", "3", NULL, 0);
	assert_int_equal(at_token_rotate(&dom, TID, 0, false, NULL, value), AT_ERR_INVALID);
	/* Deleted: 404 to its account, 409 to Operations, who still see it */
	fake_expect_exec(AT_STMT_TOKEN_LOCK, p, 1);
	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, ACC, "Deleted", "5");
	assert_int_equal(at_token_rotate(&dom, TID, 60, true, NULL, value), AT_ERR_NOT_FOUND);
	actor.account_type = AT_ACCOUNT_OPERATIONS;
	expect_lock(ACC, "Deleted", "5", NULL, 0);
	assert_int_equal(at_token_rotate(&dom, TID, 60, true, NULL, value), AT_ERR_CONFLICT);
	assert_has(problem.detail, "deletion is final");
	fake_expect_exec(AT_STMT_TOKEN_LOCK, p, 1);
	fake_expect_query(AT_STMT_TOKEN_GET, p, 1);	/* none */
	assert_int_equal(at_token_rotate(&dom, TID, 0, false, NULL, value), AT_ERR_NOT_FOUND);
	fake_db_assert_done();
	assert_int_equal(fake_db_commits, 0);
	assert_int_equal(fake_db_rollbacks, 5);
}

/* Last-used addresses: one write per token and address a minute in this
 * process; the prune only after a new address; no write for what is no
 * address; a failure is only logged. */
static void test_usage_coalesced(void **state UNUSED)
{
	const char *const p1[] = { TID, "192.0.2.1" }, *const p6[] = { TID, "2001:db8::1" };
	const char *const prune[] = { TID, TID };
	const int64_t t0 = 1767225600000LL;

	at_token_usage_forget();
	fake_expect_exec(AT_STMT_USAGE_TOUCH, p1, 2)->affected = 1;
	fake_expect_exec(AT_STMT_USAGE_PRUNE, prune, 2);
	at_token_usage_note(fake_db(), TID, "192.0.2.1", t0);
	fake_db_assert_done();
	/* the same pair within the minute, in another spelling too */
	at_token_usage_note(fake_db(), TID, "192.0.2.1", t0 + 1000);
	at_token_usage_note(fake_db(), TID, "::ffff:192.0.2.1", t0 + 59999);
	assert_int_equal(fake_db_ran(), 2);
	/* nothing that is no address */
	at_token_usage_note(fake_db(), TID, "unix:", t0);
	at_token_usage_note(fake_db(), TID, "", t0);
	at_token_usage_note(fake_db(), TID, NULL, t0);
	assert_int_equal(fake_db_ran(), 2);
	/* another address: its own write, in canonical form */
	fake_expect_exec(AT_STMT_USAGE_TOUCH, p6, 2)->affected = 1;
	fake_expect_exec(AT_STMT_USAGE_PRUNE, prune, 2);
	at_token_usage_note(fake_db(), TID, "2001:DB8::0:1", t0 + 2000);
	/* a minute on: written again; known to the table (0 or 2 rows), so
	 * no prune */
	fake_expect_exec(AT_STMT_USAGE_TOUCH, p1, 2)->affected = 0;
	at_token_usage_note(fake_db(), TID, "192.0.2.1", t0 + 60000);
	fake_expect_exec(AT_STMT_USAGE_TOUCH, p1, 2)->affected = 2;
	at_token_usage_note(fake_db(), TID, "192.0.2.1", t0 + 120000);
	/* a failed write is not retried within the minute */
	fake_expect_exec(AT_STMT_USAGE_TOUCH, p6, 2)->rc = AT_ERR_DB;
	at_token_usage_note(fake_db(), TID, "2001:db8::1", t0 + 200000);
	at_token_usage_note(fake_db(), TID, "2001:db8::1", t0 + 200001);
	fake_db_assert_done();
	assert_int_equal(fake_db_ran(), 7);
}

/* select=+usage: the rows as they come, newest first, rendered. */
static void test_usage_read(void **state UNUSED)
{
	const char *const p[] = { TID };
	struct fake_cell r1[3] = { { "192.0.2.1", 0 }, { "2026-01-02 03:04:05.000", 0 },
				   { "2026-01-03 03:04:05.000", 0 } };
	struct fake_cell r2[3] = { { "2001:db8::1", 0 }, { "2026-01-01 00:00:00.000", 0 },
				   { "2026-01-02 00:00:00.000", 0 } };
	struct at_buf out;
	struct at_token t;
	struct at_jw w;
	struct fake_step *s;

	token_row(fake_expect_query(AT_STMT_TOKEN_GET, p, 1), TID, ACC, "Active", "1");
	s = fake_expect_query(AT_STMT_USAGE_LIST, p, 1);
	fake_row(s, 3, r1);
	fake_row(s, 3, r2);
	assert_int_equal(at_token_read(&dom, TID, AT_TOKEN_READ_USAGE, &t), AT_OK);
	fake_db_assert_done();
	assert_int_equal(t.nusage, 2);
	at_buf_init(&out, 1 << 16);
	at_jw_init(&w, &out);
	at_token_render(&w, NULL, &t, AT_TF_USAGE, NULL);
	assert_int_equal(at_jw_finish(&w), AT_OK);
	assert_has(out.data, "\"usage\":[{\"ip\":\"192.0.2.1\",\"firstSeenAt\":"
		   "\"2026-01-02T03:04:05.000Z\",\"lastSeenAt\":\"2026-01-03T03:04:05.000Z\"},"
		   "{\"ip\":\"2001:db8::1\"");
	at_buf_release(&out);
	at_token_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_create, reset),
		cmocka_unit_test_setup(test_create_grant_rules, reset),
		cmocka_unit_test_setup(test_create_account, reset),
		cmocka_unit_test_setup(test_state_conflicts, reset),
		cmocka_unit_test_setup(test_revision, reset),
		cmocka_unit_test_setup(test_deleted_final, reset),
		cmocka_unit_test_setup(test_visibility, reset),
		cmocka_unit_test_setup(test_update_grant_rules, reset),
		cmocka_unit_test_setup(test_update_audit, reset),
		cmocka_unit_test_setup(test_reveal_rules, reset),
		cmocka_unit_test_setup(test_create_lifetime, reset),
		cmocka_unit_test_setup(test_enable_expired, reset),
		cmocka_unit_test_setup(test_body_restrictions, reset),
		cmocka_unit_test_setup(test_rotate, reset),
		cmocka_unit_test_setup(test_rotate_refused, reset),
		cmocka_unit_test_setup(test_usage_coalesced, reset),
		cmocka_unit_test_setup(test_usage_read, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
