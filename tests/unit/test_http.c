/* Unit tests of http.c: request filling, decoding, response headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "http.h"

/* A FastCGI environment as NULL-terminated name/value pairs. */
static const char *param(void *ud, const char *name)
{
	const char *const *kv = ud;

	for (; kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

static void fill(struct at_request *req, const char *const *env)
{
	memset(req, 0, sizeof(*req));
	at_buf_init(&req->body, 1024);
	at_request_fill(req, param, (void *)(uintptr_t)env);
}

static void test_percent_decode(void **state)
{
	char out[16];

	(void)state;
	assert_true(at_percent_decode(out, sizeof(out), "a%20b%2Fc", 9));
	assert_string_equal(out, "a b/c");
	assert_true(at_percent_decode(out, sizeof(out), "+x", 2));
	assert_string_equal(out, "+x");
	assert_false(at_percent_decode(out, sizeof(out), "%2", 2));
	assert_false(at_percent_decode(out, sizeof(out), "%", 1));
	assert_false(at_percent_decode(out, sizeof(out), "%zz", 3));
	assert_false(at_percent_decode(out, sizeof(out), "a%00b", 5));
	/* exactly fits, then one too many */
	assert_true(at_percent_decode(out, 4, "abc", 3));
	assert_false(at_percent_decode(out, 3, "abc", 3));
	/* only len bytes are read */
	assert_true(at_percent_decode(out, sizeof(out), "ab%41", 2));
	assert_string_equal(out, "ab");
}

static void test_fill(void **state)
{
	static const char *const env[] = {
		"REQUEST_METHOD", "PUT",
		"REQUEST_URI", "/settings/api-tokens/TKN%2D1?limit=5",
		"QUERY_STRING", "limit=5",
		"CONTENT_TYPE", "application/json",
		"CONTENT_LENGTH", "17",
		"HTTP_AUTHORIZATION", "Bearer x",
		"HTTP_IF_MATCH", "\"3\"",
		"REMOTE_ADDR", "127.0.0.1",
		NULL,
	};
	struct at_request req;

	(void)state;
	fill(&req, env);
	assert_int_equal(req.method, AT_PUT);
	assert_true(req.path_ok);
	assert_string_equal(req.path, "/settings/api-tokens/TKN-1");
	assert_string_equal(req.query, "limit=5");
	assert_int_equal(req.content_length, 17);
	assert_string_equal(req.authorization, "Bearer x");
	assert_string_equal(req.if_match, "\"3\"");
	assert_null(req.remote_user);
	assert_false(req.header_too_long);
	assert_int_equal(strlen(req.trace_id), AT_TRACE_ID_LEN);
	at_buf_release(&req.body);
}

static void test_fill_odd_requests(void **state)
{
	static const char *const bad_path[] = {
		"REQUEST_METHOD", "BREW", "REQUEST_URI", "/a%00b", NULL,
	};
	static const char *const empty[] = { NULL };
	static const char *const bad_length[] = {
		"REQUEST_METHOD", "POST", "REQUEST_URI", "/", "CONTENT_LENGTH", "-5", NULL,
	};
	struct at_request req;

	(void)state;
	fill(&req, bad_path);
	assert_int_equal(req.method, AT_METHOD_OTHER);
	assert_string_equal(req.method_name, "BREW");
	assert_false(req.path_ok);
	at_buf_release(&req.body);

	fill(&req, empty);
	assert_int_equal(req.method, AT_METHOD_OTHER);
	assert_string_equal(req.query, "");
	assert_string_equal(req.path, "");
	assert_int_equal(req.content_length, -1);
	at_buf_release(&req.body);

	fill(&req, bad_length);
	assert_int_equal(req.content_length, -1);
	at_buf_release(&req.body);
}

static void test_traceparent(void **state)
{
	static const char *const good[] = {
		"HTTP_TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", NULL,
	};
	static const char *const zero[] = {
		"HTTP_TRACEPARENT", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", NULL,
	};
	static const char *const upper[] = {
		"HTTP_TRACEPARENT", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", NULL,
	};
	struct at_request req;

	(void)state;
	fill(&req, good);
	assert_memory_equal(req.trace_id, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36);
	/* our own span, not the caller's */
	assert_memory_not_equal(req.trace_id + 36, "00f067aa0ba902b7", 16);
	assert_string_equal(req.trace_id + 52, "-00");
	at_buf_release(&req.body);

	fill(&req, zero);
	assert_memory_not_equal(req.trace_id + 3, "00000000000000000000000000000000", 32);
	at_buf_release(&req.body);

	fill(&req, upper);
	assert_memory_not_equal(req.trace_id + 3, "4bf92f3577b34da6a3ce929d0e0e4736", 32);
	at_buf_release(&req.body);
}

static void test_header_too_long(void **state)
{
	static char big[AT_HEADER_MAX + 2];
	const char *env[] = { "HTTP_USER_AGENT", big, NULL };
	struct at_request req;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	fill(&req, env);
	assert_true(req.header_too_long);
	at_buf_release(&req.body);
	big[AT_HEADER_MAX] = '\0';
	fill(&req, env);
	assert_false(req.header_too_long);
	at_buf_release(&req.body);
}

static void test_response_headers(void **state)
{
	struct at_response resp;
	size_t i;

	(void)state;
	at_response_init(&resp);
	assert_int_equal(at_response_header(&resp, "ETag", "\"%d\"", 3), AT_OK);
	assert_string_equal(resp.headers[0].value, "\"3\"");
	/* header injection is refused */
	assert_int_equal(at_response_header(&resp, "X-A", "a\r\nSet-Cookie: x"), AT_ERR_INTERNAL);
	assert_int_equal(resp.nheaders, 1);
	for (i = 1; i < AT_RESP_HEADERS; i++)
		assert_int_equal(at_response_header(&resp, "X-N", "%zu", i), AT_OK);
	assert_int_equal(at_response_header(&resp, "X-N", "over"), AT_ERR_INTERNAL);
	at_response_reset(&resp);
	assert_int_equal(resp.nheaders, 0);
	assert_int_equal(resp.status, 200);
	at_response_release(&resp);
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(at_status_reason(404), "Not Found");
	assert_string_equal(at_status_reason(409), "Conflict");
	assert_string_equal(at_status_reason(413), "Content Too Large");
	assert_string_equal(at_method_name(AT_DELETE), "DELETE");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percent_decode),
		cmocka_unit_test(test_fill),
		cmocka_unit_test(test_fill_odd_requests),
		cmocka_unit_test(test_traceparent),
		cmocka_unit_test(test_header_too_long),
		cmocka_unit_test(test_response_headers),
		cmocka_unit_test(test_reasons),
	};

	if (at_crypto_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
