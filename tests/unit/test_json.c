/* Unit tests of json.c: the request body parser and reader, the writer,
 * string quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "text.h"

static enum at_err parse(const char *text, size_t len)
{
	struct at_jv *doc = NULL;
	char err[256];
	enum at_err rc;

	rc = at_jv_parse(text, len, &doc, err, sizeof(err));
	if (rc)
		assert_null(doc);
	at_jv_free(doc);
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

static void test_quote_counted(void **state)
{
	struct at_buf b;

	(void)state;
	at_buf_init(&b, 1024);
	/* a NUL inside a counted string is escaped, not an end */
	assert_int_equal(at_json_quote_n(&b, "a\0b", 3), AT_OK);
	assert_string_equal(b.data, "\"a\\u0000b\"");
	at_buf_release(&b);
}

static void test_writer(void **state)
{
	struct at_buf b;
	struct at_jw w;

	(void)state;
	at_buf_init(&b, 1024);
	at_jw_init(&w, &b);
	at_jw_object(&w, NULL);
	at_jw_str(&w, "id", "TKN-1");
	at_jw_opt_str(&w, "description", "");
	at_jw_opt_str(&w, "gone", NULL);
	at_jw_str(&w, "none", NULL);
	at_jw_int(&w, "revision", -3);
	at_jw_bool(&w, "t", true);
	at_jw_array(&w, "a");
	at_jw_array_end(&w);
	at_jw_array(&w, "m");
	at_jw_object(&w, NULL);
	at_jw_str(&w, "q", "\"");
	at_jw_object_end(&w);
	at_jw_int(&w, NULL, 1);
	at_jw_raw(&w, NULL, "{\"x\":[]}", 8);
	at_jw_array_end(&w);
	at_jw_object(&w, "e");
	at_jw_object_end(&w);
	at_jw_object_end(&w);
	assert_int_equal(at_jw_finish(&w), AT_OK);
	assert_string_equal(b.data, "{\"id\":\"TKN-1\",\"none\":null,\"revision\":-3,"
			    "\"t\":true,\"a\":[],\"m\":[{\"q\":\"\\\"\"},1,{\"x\":[]}],"
			    "\"e\":{}}");
	at_buf_release(&b);
}

static void test_writer_errors(void **state)
{
	struct at_buf b;
	struct at_jw w;

	(void)state;
	/* unbalanced */
	at_buf_init(&b, 1024);
	at_jw_init(&w, &b);
	at_jw_object(&w, NULL);
	assert_int_equal(at_jw_finish(&w), AT_ERR_INTERNAL);
	at_buf_reset(&b);
	at_jw_init(&w, &b);
	at_jw_object_end(&w);
	assert_int_equal(at_jw_finish(&w), AT_ERR_INTERNAL);
	at_buf_release(&b);
	/* the buffer's maximum: the first failure sticks */
	at_buf_init(&b, 8);
	at_jw_init(&w, &b);
	at_jw_object(&w, NULL);
	at_jw_str(&w, "name", "longer than eight");
	at_jw_int(&w, "n", 1);
	at_jw_object_end(&w);
	assert_int_equal(at_jw_finish(&w), AT_ERR_TOO_LARGE);
	at_buf_release(&b);
}

static void test_reader(void **state)
{
	static const char text[] = "{\"name\":\"CI\",\"n\":7,\"d\":1.5,\"f\":false,"
				   "\"z\":null,\"m\":[{\"id\":\"MOD-1\"},{\"id\":\"MOD-2\"}],"
				   "\"o\":{\"p\":{\"q\":\"deep\"}}}";
	const struct at_jv *v;
	struct at_jv *doc;
	struct at_buf b;
	long long n = 0;
	size_t len = 0;
	char err[128];

	(void)state;
	assert_int_equal(at_jv_parse(text, sizeof(text) - 1, &doc, err, sizeof(err)), AT_OK);
	assert_int_equal(at_jv_type(doc), AT_JV_OBJECT);
	assert_int_equal(at_jv_len(doc), 7);
	assert_true(at_jv_get(doc, "name", &v));
	assert_string_equal(at_jv_str(v, &len), "CI");
	assert_int_equal(len, 2);
	assert_true(at_jv_get(doc, "n", &v));
	assert_true(at_jv_int(v, &n));
	assert_int_equal(n, 7);
	assert_true(at_jv_get(doc, "d", &v));
	assert_int_equal(at_jv_type(v), AT_JV_DOUBLE);
	assert_false(at_jv_int(v, &n));
	assert_null(at_jv_str(v, NULL));
	assert_true(at_jv_get(doc, "f", &v));
	assert_int_equal(at_jv_type(v), AT_JV_BOOL);
	assert_false(at_jv_bool(v));
	/* present null and absent differ */
	assert_true(at_jv_get(doc, "z", &v));
	assert_null(v);
	assert_int_equal(at_jv_type(v), AT_JV_NULL);
	assert_false(at_jv_get(doc, "absent", &v));
	assert_true(at_jv_get(doc, "m", &v));
	assert_int_equal(at_jv_len(v), 2);
	assert_string_equal(at_jv_str(at_jv_path(at_jv_at(v, 1), "id"), NULL), "MOD-2");
	assert_null(at_jv_at(v, 2));
	assert_string_equal(at_jv_str(at_jv_path(doc, "o.p.q"), NULL), "deep");
	assert_null(at_jv_path(doc, "o.x.q"));
	assert_null(at_jv_path(doc, "name.x"));
	at_buf_init(&b, 1024);
	assert_int_equal(at_jv_text(&b, at_jv_path(doc, "o")), AT_OK);
	assert_string_equal(b.data, "{\"p\":{\"q\":\"deep\"}}");
	at_buf_reset(&b);
	assert_int_equal(at_jv_text(&b, at_jv_path(doc, "name")), AT_OK);
	assert_string_equal(b.data, "CI");
	at_buf_release(&b);
	at_jv_free(doc);
}

static bool count_keys(const char *key, const struct at_jv *v, void *ud)
{
	(void)v;
	(*(int *)ud)++;
	return strcmp(key, "b") != 0;
}

static void test_each(void **state)
{
	static const char text[] = "{\"a\":1,\"b\":2,\"c\":3}";
	struct at_jv *doc;
	char err[64];
	int n = 0;

	(void)state;
	assert_int_equal(at_jv_parse(text, sizeof(text) - 1, &doc, err, sizeof(err)), AT_OK);
	assert_false(at_jv_each(doc, count_keys, &n));
	assert_int_equal(n, 2);
	at_jv_free(doc);
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
		cmocka_unit_test(test_quote_counted),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_each),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
