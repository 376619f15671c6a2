/* Unit tests of token_bulk.c's body check: the action, exactly one of
 * filter and ids, the ids' shape and count, and the filter parsed as a
 * list's filter without select, order or limit.  No database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "text.h"
#include "token_bulk.h"

struct checked {
	enum at_err rc;
	struct at_problem p;
	struct at_token_bulk_body b;
};

static void check(const char *json, struct checked *c)
{
	struct at_jv *doc = NULL;

	at_problem_clear(&c->p);
	at_token_bulk_body_init(&c->b);
	assert_int_equal(at_token_body_parse(json, strlen(json), &doc, &c->p), AT_OK);
	c->rc = at_token_bulk_body_check(doc, &c->b, &c->p);
	at_jv_free(doc);
}

static bool names(const struct at_problem *p, const char *field)
{
	size_t i;

	for (i = 0; i < p->nerrors; i++)
		if (!strcmp(p->errors[i].field, field))
			return p->errors[i].message[0] != '\0';
	return false;
}

/* Refused, naming field (and only fields that are given). */
static void refused(const char *json, const char *field, const char *also)
{
	struct checked c;
	size_t i;

	check(json, &c);
	assert_int_equal(c.rc, AT_ERR_INVALID);
	assert_true(names(&c.p, field));
	if (also)
		assert_true(names(&c.p, also));
	for (i = 0; i < c.p.nerrors; i++)
		assert_true(!strcmp(c.p.errors[i].field, field) ||
			    (also && !strcmp(c.p.errors[i].field, also)));
	at_token_bulk_body_release(&c.b);
}

static void test_actions(void **state)
{
	static const struct {
		const char *json;
		enum at_token_state_change change;
		const char *name;
	} ok[] = {
		{ "{\"action\":\"enable\",\"ids\":[\"TKN-1111-2222\"]}", AT_TOKEN_ENABLE, "enable" },
		{ "{\"action\":\"disable\",\"ids\":[\"TKN-1111-2222\"]}", AT_TOKEN_DISABLE, "disable" },
		{ "{\"action\":\"delete\",\"ids\":[\"TKN-1111-2222\"]}", AT_TOKEN_DELETE, "delete" },
	};
	struct checked c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		check(ok[i].json, &c);
		assert_int_equal(c.rc, AT_OK);
		assert_int_equal(c.p.nerrors, 0);
		assert_int_equal(c.b.action, ok[i].change);
		assert_string_equal(c.b.action_name, ok[i].name);
		assert_false(c.b.has_filter);
		assert_int_equal(c.b.nids, 1);
		assert_string_equal(c.b.ids[0], "TKN-1111-2222");
		at_token_bulk_body_release(&c.b);
	}
	refused("{\"action\":\"frobnicate\",\"ids\":[\"TKN-1111-2222\"]}", "action", NULL);
	refused("{\"action\":\"Enable\",\"ids\":[\"TKN-1111-2222\"]}", "action", NULL);
	refused("{\"action\":\"\",\"ids\":[\"TKN-1111-2222\"]}", "action", NULL);
	refused("{\"action\":null,\"ids\":[\"TKN-1111-2222\"]}", "action", NULL);
	refused("{\"action\":[\"enable\"],\"ids\":[\"TKN-1111-2222\"]}", "action", NULL);
	refused("{\"ids\":[\"TKN-1111-2222\"]}", "action", NULL);
	/* every field's error at once */
	refused("{\"action\":\"x\",\"ids\":[\"x\"]}", "action", "ids");
}

static void test_filter_or_ids(void **state)
{
	(void)state;
	refused("{\"action\":\"enable\"}", "filter", "ids");
	refused("{\"action\":\"enable\",\"filter\":\"eq(status,Active)\",\"ids\":[\"TKN-1111-2222\"]}",
		"filter", "ids");
	/* null is given, and is neither a filter nor a list */
	refused("{\"action\":\"enable\",\"filter\":null}", "filter", NULL);
	refused("{\"action\":\"enable\",\"ids\":null}", "ids", NULL);
}

static void test_ids(void **state)
{
	char *json, *p;
	struct checked c;
	size_t i;

	(void)state;
	check("{\"action\":\"disable\",\"ids\":[\"TKN-3333-0000\",\"TKN-1111-2222\","
	      "\"TKN-2222-9999\"]}", &c);
	assert_int_equal(c.rc, AT_OK);
	assert_int_equal(c.b.nids, 3);
	/* sorted: the order the rows are locked in */
	assert_string_equal(c.b.ids[0], "TKN-1111-2222");
	assert_string_equal(c.b.ids[1], "TKN-2222-9999");
	assert_string_equal(c.b.ids[2], "TKN-3333-0000");
	at_token_bulk_body_release(&c.b);
	assert_null(c.b.ids);

	refused("{\"action\":\"disable\",\"ids\":[]}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":\"TKN-1111-2222\"}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":{\"id\":\"TKN-1111-2222\"}}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":[\"TKN-1111-222\"]}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":[\"tkn-1111-2222\"]}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":[\"MOD-1111\"]}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":[\"TKN-1111-2222\",5]}", "ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":[\"TKN-1111-2222\",{\"id\":\"TKN-1111-2223\"}]}",
		"ids", NULL);
	refused("{\"action\":\"disable\",\"ids\":[\"TKN-1111-2222\",\"TKN-0000-0001\","
		"\"TKN-1111-2222\"]}", "ids", NULL);

	/* AT_TOKEN_BULK_MAX ids pass, one more does not */
	json = malloc(64 + (AT_TOKEN_BULK_MAX + 1) * 16);
	assert_non_null(json);
	for (int n = AT_TOKEN_BULK_MAX; n <= AT_TOKEN_BULK_MAX + 1; n++) {
		p = json + sprintf(json, "{\"action\":\"delete\",\"ids\":[");
		for (i = 0; i < (size_t)n; i++)
			p += sprintf(p, "%s\"TKN-%04zu-%04zu\"", i ? "," : "", i / 100, i % 100);
		strcpy(p, "]}");
		if (n == AT_TOKEN_BULK_MAX) {
			check(json, &c);
			assert_int_equal(c.rc, AT_OK);
			assert_int_equal(c.b.nids, AT_TOKEN_BULK_MAX);
			at_token_bulk_body_release(&c.b);
		} else {
			refused(json, "ids", NULL);
		}
	}
	free(json);
}

static void test_filter(void **state)
{
	struct checked c;

	(void)state;
	check("{\"action\":\"enable\",\"filter\":\"and(eq(status,Disabled),ilike(name,*ci*))\"}", &c);
	assert_int_equal(c.rc, AT_OK);
	assert_true(c.b.has_filter);
	assert_null(c.b.ids);
	assert_true(c.b.filter.where.len > 0);
	assert_int_equal(c.b.filter.nparams, 2);
	at_token_bulk_body_release(&c.b);

	/* '&' is and; the text is not percent-decoded */
	check("{\"action\":\"enable\",\"filter\":\"eq(status,Disabled)&eq(name,'a%20b')\"}", &c);
	assert_int_equal(c.rc, AT_OK);
	assert_int_equal(c.b.filter.nparams, 2);
	assert_string_equal(c.b.filter.params[1].text, "a%20b");
	at_token_bulk_body_release(&c.b);

	refused("{\"action\":\"enable\",\"filter\":\"eq(name\"}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":\"eq(nosuch,1)\"}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":\"\"}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":\"   \"}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":5}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":[\"eq(status,Active)\"]}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":\"eq(status,Active)&select=name\"}", "filter",
		NULL);
	refused("{\"action\":\"enable\",\"filter\":\"eq(status,Active)&order=name\"}", "filter",
		NULL);
	refused("{\"action\":\"enable\",\"filter\":\"eq(status,Active)&limit=5\"}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":\"limit=5\"}", "filter", NULL);
	refused("{\"action\":\"enable\",\"filter\":\"eq(status,Active)&offset=5\"}", "filter",
		NULL);
	refused("{\"action\":\"enable\",\"filter\":\"eq(status,Active)&render()\"}", "filter", NULL);
	/* the parser's own message, under filter */
	check("{\"action\":\"enable\",\"filter\":\"eq(name\"}", &c);
	assert_int_equal(c.rc, AT_ERR_INVALID);
	assert_string_equal(c.p.errors[0].field, "filter");
	assert_string_equal(c.p.errors[0].message, c.b.filter.error.message);
	at_token_bulk_body_release(&c.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_filter_or_ids),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_filter),
	};

	if (at_text_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
