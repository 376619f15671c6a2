/* Unit tests of json.c: the request body parser and string quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static enum at_err parse(const char *text, size_t len)
{
	struct json_object *obj = NULL;
	char err[256];
	enum at_err rc;

	rc = at_json_parse(text, len, &obj, err, sizeof(err));
	if (rc)
		assert_null(obj);
	json_object_put(obj);
	return rc;
}

#define PARSE(s) parse(s, sizeof(s) - 1)

static void test_accepts(void **state)
{
	(void)state;
	assert_int_equal(PARSE("{\"name\":\"x\",\"modules\":[{\"id\":\"MOD-1756\"}]}"), AT_OK);
	assert_int_equal(PARSE(" {} \r\n"), AT_OK);
	assert_int_equal(PARSE("{\"n\":\"\\u00e9t\\u00e9 \xc3\xa9\"}"), AT_OK);
	assert_int_equal(PARSE("[1,2,{\"a\":{\"b\":[]}}]"), AT_OK);
	/* a whole pair is one character (U+1F600), and \\ before u is no escape */
	assert_int_equal(PARSE("{\"a\":\"\\ud83d\\ude00\"}"), AT_OK);
	assert_int_equal(PARSE("{\"a\":\"\\\\ud800\"}"), AT_OK);
	/* the same key in different objects is no duplicate */
	assert_int_equal(PARSE("{\"a\":{\"id\":1},\"b\":{\"id\":2}}"), AT_OK);
}

static void test_refuses(void **state)
{
	(void)state;
	assert_int_equal(PARSE("{"), AT_ERR_INVALID);
	assert_int_equal(PARSE(""), AT_ERR_INVALID);
	assert_int_equal(PARSE("{} x"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{}{}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{'a':1}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":['x']}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":1,}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":\"\xff\"}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":\"\xc0\xaf\"}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":\"x\\u0000y\"}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":1}\0"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":1,\"a\":2}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":1,\"b\":{\"c\":1,\"c\":{}}}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("[{\"x\":1},{\"y\":[{\"z\":1,\"z\":1}]}]"), AT_ERR_INVALID);
	/* half a surrogate pair is no character: json-c would store U+FFFD */
	assert_int_equal(PARSE("{\"a\":\"x\\ud800y\"}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":\"\\udc00\"}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"a\":\"\\ud83d\\u0041\"}"), AT_ERR_INVALID);
	assert_int_equal(PARSE("{\"\\ud800\":1}"), AT_ERR_INVALID);
	/* escaped and plain spellings of one key are one key */
	assert_int_equal(PARSE("{\"a\":1,\"\\u0061\":2}"), AT_ERR_INVALID);
}

static void test_depth(void **state)
{
	char text[200];
	size_t i, d;

	(void)state;
	for (d = AT_JSON_MAX_DEPTH - 1; d <= AT_JSON_MAX_DEPTH + 1; d++) {
		for (i = 0; i < d; i++)
			text[i] = '[';
		for (i = 0; i < d; i++)
			text[d + i] = ']';
		if (d < AT_JSON_MAX_DEPTH)
			assert_int_equal(parse(text, 2 * d), AT_OK);
		else if (d > AT_JSON_MAX_DEPTH)
			assert_int_equal(parse(text, 2 * d), AT_ERR_INVALID);
	}
}

static void test_quote(void **state)
{
	struct at_buf b;

	(void)state;
	at_buf_init(&b, 1024);
	assert_int_equal(at_json_quote(&b, "a\"b\\c\n\x01\xc3\xa9\xff"), AT_OK);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\\ufffd\"");
	at_buf_release(&b);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(at_utf8_valid("plain", 5));
	assert_true(at_utf8_valid("\xf0\x9f\x98\x80", 4));
	assert_false(at_utf8_valid("\xf0\x9f\x98", 3));
	assert_false(at_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(at_utf8_valid("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	assert_false(at_utf8_valid("\xe0\x80\xaf", 3));	/* overlong */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
