/* Unit tests of audit_chain.c without a database: the canonical content
 * of a record, its keyed hash and the link to the previous one, and the
 * rules of a record an extension posts. */
#define _GNU_SOURCE 1	/* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"

#define NFIELDS (AC_DOCUMENTS + 1)

static char tmpdir[64];
static char path_a[128], path_b[128];
static struct at_keys *keys_a, *keys_b;

static struct at_keys *keys_at(char *path, size_t n, const char *name)
{
	struct at_keys *k = NULL;
	char err[512] = "";

	snprintf(path, n, "%s/%s", tmpdir, name);
	if (at_keys_generate(path, err, sizeof(err)) || at_keys_load(&k, path, err, sizeof(err)))
		fail_msg("keys %s: %s", path, err);
	return k;
}

static int group_setup(void **state)
{
	(void)state;
	if (at_crypto_init())
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_audit_chain.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	keys_a = keys_at(path_a, sizeof(path_a), "a.keys");
	keys_b = keys_at(path_b, sizeof(path_b), "b.keys");
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	at_keys_free(keys_a);
	at_keys_free(keys_b);
	unlink(path_a);
	unlink(path_b);
	rmdir(tmpdir);
	return 0;
}

/* Every field set, each to a text of its own. */
static void full_canon(struct at_audit_canon *c, char text[NFIELDS][16])
{
	unsigned i;

	for (i = 0; i < NFIELDS; i++) {
		snprintf(text[i], 16, "field-%u", i);
		c->f[i] = text[i];
	}
}

static void hash_of(const struct at_keys *k, const struct at_audit_canon *c,
		    const unsigned char *prev, unsigned char *out)
{
	assert_int_equal(at_audit_canon_hash(k, c, prev, out), AT_OK);
}

static void test_canon_layout(void **state)
{
	static const unsigned char want_head[] = {
		0, 0, 0, 2, 'a', 'b',		/* "ab" */
		0xFF, 0xFF, 0xFF, 0xFF,		/* NULL */
		0, 0, 0, 0,			/* "" */
	};
	struct at_audit_canon c = { { NULL } };
	struct at_buf b;
	unsigned i;

	(void)state;
	c.f[0] = "ab";
	c.f[2] = "";
	at_buf_init(&b, 4096);
	assert_int_equal(at_audit_canon_text(&b, &c), AT_OK);
	/* every field, the unset ones as NULL */
	assert_int_equal(b.len, sizeof(want_head) + (NFIELDS - 3) * 4);
	assert_memory_equal(b.data, want_head, sizeof(want_head));
	for (i = sizeof(want_head); i < b.len; i++)
		assert_int_equal((unsigned char)b.data[i], 0xFF);
	at_buf_release(&b);
}

static void test_hash_changes_with_every_field(void **state)
{
	unsigned char prev[AT_HASH_LEN] = { 0 }, base[AT_HASH_LEN], h[AT_HASH_LEN];
	char text[NFIELDS][16], other[16];
	struct at_audit_canon c;
	const char *keep;
	unsigned i;

	(void)state;
	full_canon(&c, text);
	hash_of(keys_a, &c, prev, base);
	hash_of(keys_a, &c, prev, h);
	assert_memory_equal(base, h, AT_HASH_LEN);
	for (i = 0; i < NFIELDS; i++) {
		keep = c.f[i];
		snprintf(other, sizeof(other), "%sx", keep);
		c.f[i] = other;
		hash_of(keys_a, &c, prev, h);
		if (!memcmp(base, h, AT_HASH_LEN))
			fail_msg("changing field %u leaves the hash as it was", i);
		c.f[i] = NULL;
		hash_of(keys_a, &c, prev, h);
		if (!memcmp(base, h, AT_HASH_LEN))
			fail_msg("clearing field %u leaves the hash as it was", i);
		c.f[i] = keep;
	}
}

static void test_null_and_empty_differ(void **state)
{
	unsigned char prev[AT_HASH_LEN] = { 0 }, h_null[AT_HASH_LEN], h_empty[AT_HASH_LEN];
	char text[NFIELDS][16];
	struct at_audit_canon c;

	(void)state;
	full_canon(&c, text);
	c.f[AC_DETAILS] = NULL;
	hash_of(keys_a, &c, prev, h_null);
	c.f[AC_DETAILS] = "";
	hash_of(keys_a, &c, prev, h_empty);
	assert_memory_not_equal(h_null, h_empty, AT_HASH_LEN);
}

/* Lengths keep the fields apart: "ab"+"c" is not "a"+"bc". */
static void test_field_boundaries_count(void **state)
{
	unsigned char prev[AT_HASH_LEN] = { 0 }, h1[AT_HASH_LEN], h2[AT_HASH_LEN];
	struct at_audit_canon c = { { NULL } };

	(void)state;
	c.f[AC_SUMMARY] = "ab";
	c.f[AC_DETAILS] = "c";
	hash_of(keys_a, &c, prev, h1);
	c.f[AC_SUMMARY] = "a";
	c.f[AC_DETAILS] = "bc";
	hash_of(keys_a, &c, prev, h2);
	assert_memory_not_equal(h1, h2, AT_HASH_LEN);
}

static void test_previous_hash_and_key_are_bound_in(void **state)
{
	unsigned char prev[AT_HASH_LEN] = { 0 }, h1[AT_HASH_LEN], h2[AT_HASH_LEN];
	char text[NFIELDS][16];
	struct at_audit_canon c;
	unsigned i;

	(void)state;
	full_canon(&c, text);
	hash_of(keys_a, &c, prev, h1);
	for (i = 0; i < AT_HASH_LEN; i++) {
		prev[i] ^= 1;
		hash_of(keys_a, &c, prev, h2);
		if (!memcmp(h1, h2, AT_HASH_LEN))
			fail_msg("byte %u of the previous hash is not bound in", i);
		prev[i] ^= 1;
	}
	/* the chain of a record after it differs with what came before */
	hash_of(keys_a, &c, h1, h2);
	assert_memory_not_equal(h1, h2, AT_HASH_LEN);
	/* keyed: another key file gives another hash */
	hash_of(keys_b, &c, prev, h2);
	assert_memory_not_equal(h1, h2, AT_HASH_LEN);
}

/* ---- records from outside ---- */

static void test_event_keys(void **state)
{
	static const char *const good[] = {
		"extensions.e2e.test", "extensions.billing.invoice.sent", "extensions.a-b_c.d9",
	};
	static const char *const bad[] = {
		"", "extensions", "extensions.", "extensions.name", "extensions..x",
		"extensions.name.", "extensions.name..x", "extensions.Name.x", "extensions.na me.x",
		"platform.accounts.api-token.created", "Extensions.a.b", "xextensions.a.b",
		"extensions.a.b\xc3\xa9",
	};
	char longest[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!at_audit_event_key_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (at_audit_event_key_valid(bad[i]))
			fail_msg("'%s' accepted", bad[i]);
	/* 255 characters at most */
	memset(longest, 'a', sizeof(longest));
	memcpy(longest, "extensions.x.", 13);
	longest[255] = '\0';
	assert_true(at_audit_event_key_valid(longest));
	longest[255] = 'a';
	longest[256] = '\0';
	assert_false(at_audit_event_key_valid(longest));
}

struct dom_fixture {
	struct at_caller actor;
	struct at_problem problem;
	struct at_dom d;
};

static void dom(struct dom_fixture *f, enum at_account_type type)
{
	memset(f, 0, sizeof(*f));
	f->actor.kind = AT_CALLER_TOKEN;
	f->actor.account_type = type;
	strcpy(f->actor.id, "TKN-1111-2222");
	strcpy(f->actor.name, "Billing");
	strcpy(f->actor.account_id, "ACC-3333-4444");
	strcpy(f->actor.account_name, "Vendor Co");
	at_problem_clear(&f->problem);
	/* no database: nothing here may reach one */
	f->d = (struct at_dom){
		.actor = &f->actor,
		.origin = { "192.0.2.7", "client/1.0", "00-abc-01" },
		.problem = &f->problem,
	};
}

static const struct at_audit_post good_post = {
	.event = "extensions.e2e.test",
	.summary = "Sent",
	.object_id = "INV-1234-5678",
	.object_type = "Invoice",
	.object_name = "May",
	.documents = "{\"k\":1}",
};

static void test_who_may_post(void **state)
{
	struct dom_fixture f;
	char id[AT_AUDIT_ID_LEN + 1];

	(void)state;
	dom(&f, AT_ACCOUNT_CLIENT);
	assert_int_equal(at_audit_may_post(&f.d), AT_ERR_FORBIDDEN);
	assert_non_null(strstr(f.problem.detail, "Vendor and Operations"));
	/* refused before anything is written */
	assert_int_equal(at_audit_post(&f.d, &good_post, id), AT_ERR_FORBIDDEN);

	dom(&f, AT_ACCOUNT_VENDOR);
	assert_int_equal(at_audit_may_post(&f.d), AT_OK);
	assert_string_equal(f.problem.detail, "");
	dom(&f, AT_ACCOUNT_OPERATIONS);
	assert_int_equal(at_audit_may_post(&f.d), AT_OK);
}

static void test_post_rules(void **state)
{
	struct at_audit_post p = good_post;
	struct dom_fixture f;
	char id[AT_AUDIT_ID_LEN + 1];

	(void)state;
	dom(&f, AT_ACCOUNT_VENDOR);
	assert_true(at_audit_post_valid(&f.d, &p));
	assert_int_equal(f.problem.nerrors, 0);

	p.event = "platform.accounts.api-token.created";
	assert_false(at_audit_post_valid(&f.d, &p));
	assert_int_equal(f.problem.nerrors, 1);
	assert_string_equal(f.problem.errors[0].field, "event");
	/* refused before anything is written */
	assert_int_equal(at_audit_post(&f.d, &p, id), AT_ERR_INVALID);

	p = good_post;
	p.summary = NULL;
	assert_int_equal(at_audit_post(&f.d, &p, id), AT_ERR_INVALID);
}

/* An extension speaks of its own account's objects: the record goes to
 * the actor's account's chain, whoever the object is. */
static void test_post_record_is_linked_to_the_actor(void **state)
{
	struct at_audit_record r;
	struct dom_fixture f;

	(void)state;
	dom(&f, AT_ACCOUNT_OPERATIONS);
	at_audit_post_record(&f.d, &good_post, &r);
	assert_string_equal(r.account_id, "ACC-3333-4444");
	assert_string_equal(r.event, "extensions.e2e.test");
	assert_string_equal(r.summary, "Sent");
	assert_null(r.details);
	assert_string_equal(r.object_id, "INV-1234-5678");
	assert_string_equal(r.object_type, "Invoice");
	assert_string_equal(r.object_name, "May");
	assert_true(r.object_revision < 0);
	assert_string_equal(r.documents, "{\"k\":1}");
	assert_string_equal(r.actor_id, "TKN-1111-2222");
	assert_string_equal(r.actor_name, "Billing");
	assert_string_equal(r.actor_account_id, "ACC-3333-4444");
	assert_string_equal(r.actor_account_name, "Vendor Co");
	assert_string_equal(r.ip, "192.0.2.7");
	assert_string_equal(r.user_agent, "client/1.0");
	assert_string_equal(r.request_id, "00-abc-01");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_layout),
		cmocka_unit_test(test_hash_changes_with_every_field),
		cmocka_unit_test(test_null_and_empty_differ),
		cmocka_unit_test(test_field_boundaries_count),
		cmocka_unit_test(test_previous_hash_and_key_are_bound_in),
		cmocka_unit_test(test_event_keys),
		cmocka_unit_test(test_who_may_post),
		cmocka_unit_test(test_post_rules),
		cmocka_unit_test(test_post_record_is_linked_to_the_actor),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
