/* Unit tests of router.c and problem.c: routing, the gates, error bodies.
 * The database is a real handle pointed at a socket where nothing
 * listens, which is what an outage looks like to a worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "json.h"
#include "log.h"
#include "router.h"

static struct at_settings settings;

static const char *param(void *ud, const char *name)
{
	const char *const *kv = ud;

	for (; kv[0]; kv += 2)
		if (!strcmp(kv[0], name))
			return kv[1];
	return NULL;
}

struct fixture {
	struct at_ctx ctx;
	struct at_request req;
	struct at_response resp;
	struct json_object *body;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || at_db_open(&f->ctx.db, &settings))
		return -1;
	at_buf_init(&f->req.body, 1 << 20);
	at_response_init(&f->resp);
	f->ctx.settings = &settings;
	f->ctx.req = &f->req;
	f->ctx.resp = &f->resp;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	json_object_put(f->body);
	at_db_free(f->ctx.db);
	at_buf_release(&f->req.body);
	at_response_release(&f->resp);
	free(f);
	return 0;
}

static void run(struct fixture *f, const char *const *env)
{
	json_object_put(f->body);
	f->body = NULL;
	at_request_fill(&f->req, param, (void *)(uintptr_t)env);
	at_response_reset(&f->resp);
	at_router_handle(&f->ctx);
	if (f->resp.body.len)
		f->body = json_tokener_parse(f->resp.body.data);
}

static const char *field(struct fixture *f, const char *key)
{
	struct json_object *v;

	assert_non_null(f->body);
	if (!json_object_object_get_ex(f->body, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static const char *header(struct fixture *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->resp.nheaders; i++)
		if (!strcmp(f->resp.headers[i].name, name))
			return f->resp.headers[i].value;
	return NULL;
}

static void assert_problem(struct fixture *f, int status, const char *title)
{
	assert_int_equal(f->resp.status, status);
	assert_string_equal(f->resp.content_type, "application/problem+json");
	assert_string_equal(field(f, "title"), title);
	assert_int_equal(atoi(field(f, "status")), status);
	assert_non_null(strstr(field(f, "type"), "rfc9110"));
	assert_non_null(field(f, "detail"));
	assert_string_equal(field(f, "traceId"), f->req.trace_id);
}

static void test_unknown_path_is_404(void **state)
{
	static const char *const paths[] = {
		"/", "/settings", "/settings/api-tokens/health/x", "/settings/api-tokens/TKN-1/x/y",
		"/settings/api-tokens//health", "/settings/api-tokens/%zz", "/SETTINGS/api-tokens/health",
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *env[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", paths[i], NULL };

		run(f, env);
		assert_problem(f, 404, "Not Found");
	}
}

static void test_protected_routes_need_credentials(void **state)
{
	static const char *const none[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/settings/api-tokens/TKN-0000-0000", NULL,
	};
	static const char *const basic[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/public/v1/accounts/api-tokens",
		"HTTP_AUTHORIZATION", "Basic dXNlcjpwYXNz", NULL,
	};
	/* right shape, wrong checksum: refused before any query, so the
	 * unreachable database does not turn it into a 503 */
	static const char *const forged[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/public/v1/accounts/api-tokens",
		"HTTP_AUTHORIZATION",
		"Bearer idt:TKN-1234-5678:0000000000000000000000000000000000000000000000000000000000000000",
		NULL,
	};
	/* REMOTE_USER is not trusted unless configured */
	static const char *const remote[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/public/v1/accounts/api-tokens",
		"REMOTE_USER", "USR-1000-0001", NULL,
	};
	const char *const *cases[] = { none, basic, forged, remote };
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run(f, cases[i]);
		assert_problem(f, 401, "Authentication Failed");
	}
}

static void test_wrong_method_is_405_with_allow(void **state)
{
	static const char *const env[] = {
		"REQUEST_METHOD", "DELETE", "REQUEST_URI", "/settings/api-tokens/health", NULL,
	};
	struct fixture *f = *state;

	run(f, env);
	assert_problem(f, 405, "Method Not Allowed");
	assert_string_equal(header(f, "Allow"), "GET, HEAD");
}

/* …/bulk is a route of its own, before {id}: only POST, on both mounts */
static void test_bulk_is_post_only(void **state)
{
	static const char *const paths[] = {
		"/settings/api-tokens/bulk", "/public/v1/accounts/api-tokens/bulk",
		"/public/v1/accounts/api-tokens/bulk/",
	};
	static const char *const methods[] = { "GET", "HEAD", "PUT", "DELETE", "PATCH" };
	struct fixture *f = *state;
	size_t i, k;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
			const char *env[] = { "REQUEST_METHOD", methods[k], "REQUEST_URI", paths[i],
					      NULL };

			run(f, env);
			assert_int_equal(f->resp.status, 405);
			assert_string_equal(header(f, "Allow"), "POST");
		}
		/* POST is the route: it asks for credentials */
		{
			const char *env[] = { "REQUEST_METHOD", "POST", "REQUEST_URI", paths[i], NULL };

			run(f, env);
			assert_problem(f, 401, "Authentication Failed");
		}
	}
}

static void test_health_without_database_is_503(void **state)
{
	static const char *const env[] = {
		"REQUEST_METHOD", "GET", "REQUEST_URI", "/settings/api-tokens/health/", NULL,
	};
	struct fixture *f = *state;

	run(f, env);
	assert_problem(f, 503, "Service Unavailable");
	assert_string_equal(header(f, "Retry-After"), "5");
	/* the cause is for the log, not for the client */
	assert_non_null(strstr(f->ctx.problem.internal, "health"));
	assert_null(strstr(f->resp.body.data, "mariadb"));
}

static void test_oversized_header_and_query(void **state)
{
	static char big[AT_QUERY_MAX + 2];
	const char *q[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/settings/api-tokens/health",
			    "QUERY_STRING", big, NULL };
	const char *h[] = { "REQUEST_METHOD", "GET", "REQUEST_URI", "/settings/api-tokens/health",
			    "HTTP_IF_MATCH", big, NULL };
	struct json_object *errors;
	struct fixture *f = *state;

	memset(big, 'a', sizeof(big) - 1);
	run(f, q);
	assert_problem(f, 400, "Bad Request");
	assert_true(json_object_object_get_ex(f->body, "errors", &errors));
	assert_true(json_object_object_get_ex(errors, "query", NULL));
	run(f, h);
	assert_problem(f, 400, "Bad Request");
	assert_true(json_object_object_get_ex(f->body, "errors", &errors));
	assert_true(json_object_object_get_ex(errors, "headers", NULL));
}

static void test_problem_groups_field_errors(void **state)
{
	struct at_response resp;
	struct at_problem p;
	struct json_object *root, *errors, *list;

	(void)state;
	at_response_init(&resp);
	at_problem_clear(&p);
	at_problem_field(&p, "name", "The name is required.");
	at_problem_field(&p, "modules", "MOD-1 is not a module id.");
	at_problem_field(&p, "name", "Second message.");
	assert_int_equal(at_problem_render(&resp, 400, &p, "00-x-y-00"), AT_OK);
	root = json_tokener_parse(resp.body.data);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "errors", &errors));
	assert_true(json_object_object_get_ex(errors, "name", &list));
	assert_int_equal(json_object_array_length(list), 2);
	assert_true(json_object_object_get_ex(errors, "modules", &list));
	assert_int_equal(json_object_array_length(list), 1);
	json_object_put(root);
	at_response_release(&resp);
	assert_string_equal(at_problem_title(401), "Authentication Failed");
	assert_string_equal(at_problem_title(409), "Conflict");
}

/* An integer extension member (a bulk action's "matched"), gone once
 * the problem is cleared. */
static void test_problem_extension_member(void **state)
{
	struct at_response resp;
	struct at_problem p;
	struct json_object *root, *v;

	(void)state;
	at_response_init(&resp);
	at_problem_clear(&p);
	at_problem_detail(&p, "1001 tokens match; a bulk action takes at most 1000.");
	at_problem_ext_int(&p, "matched", 1001);
	assert_int_equal(at_problem_render(&resp, 409, &p, "00-x-y-00"), AT_OK);
	root = json_tokener_parse(resp.body.data);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "matched", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 1001);
	json_object_put(root);
	at_problem_clear(&p);
	assert_int_equal(at_problem_render(&resp, 409, &p, "00-x-y-00"), AT_OK);
	assert_null(strstr(resp.body.data, "matched"));
	at_response_release(&resp);
}

static void test_statuses(void **state)
{
	(void)state;
	assert_int_equal(at_err_status(AT_OK), 200);
	assert_int_equal(at_err_status(AT_ERR_INVALID), 400);
	assert_int_equal(at_err_status(AT_ERR_AUTH), 401);
	assert_int_equal(at_err_status(AT_ERR_NOT_FOUND), 404);
	assert_int_equal(at_err_status(AT_ERR_PRECONDITION), 412);
	assert_int_equal(at_err_status(AT_ERR_UNAVAILABLE), 503);
	assert_int_equal(at_err_status(AT_ERR_DB), 500);
	assert_int_equal(at_err_status(AT_ERR_DUPLICATE), 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unknown_path_is_404, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protected_routes_need_credentials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_method_is_405_with_allow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_is_post_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_without_database_is_503, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_header_and_query, setup, teardown),
		cmocka_unit_test(test_problem_groups_field_errors),
		cmocka_unit_test(test_problem_extension_member),
		cmocka_unit_test(test_statuses),
	};

	if (at_crypto_init() || at_db_library_init())
		return 1;
	at_settings_init(&settings);
	at_strlcpy(settings.db_socket, "/nonexistent/apitokend-test.sock",
		   sizeof(settings.db_socket));
	settings.db_connect_timeout = 1;
	at_log_set_level(AT_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
