/* Unit tests of settings.c: defaults, the INI file, the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "settings.h"

static char path[] = "/tmp/apitokend-settings-XXXXXX";

static void write_ini(const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_defaults(void **state)
{
	struct at_settings s;

	(void)state;
	at_settings_init(&s);
	assert_string_equal(s.db_name, "apitokend");
	assert_int_equal(s.workers, 4);
	assert_int_equal(s.reveal, AT_REVEAL_ALLOW);
	assert_false(s.trust_remote_user);
	assert_int_equal(s.max_body, 1u << 20);
	assert_int_equal(s.max_icon, 5000000);
}

static void test_file_then_env(void **state)
{
	struct at_settings s;
	char err[256] = "";

	(void)state;
	write_ini("; comment\n[database]\nsocket = /tmp/db.sock\nname = tokens\n"
		  "[server]\nworkers = 8\nsocket_mode = 0600\n"
		  "[security]\ntrust_remote_user = yes\nreveal = never\n");
	setenv("APITOKEND_DATABASE_NAME", "fromenv", 1);
	setenv("APITOKEND_SERVER_WORKERS", "3", 1);
	at_settings_init(&s);
	assert_int_equal(at_settings_load(&s, path, err, sizeof(err)), AT_OK);
	unsetenv("APITOKEND_DATABASE_NAME");
	unsetenv("APITOKEND_SERVER_WORKERS");
	assert_string_equal(s.db_socket, "/tmp/db.sock");
	assert_string_equal(s.db_name, "fromenv");
	assert_int_equal(s.workers, 3);
	assert_int_equal(s.socket_mode, 0600);
	assert_true(s.trust_remote_user);
	assert_int_equal(s.reveal, AT_REVEAL_NEVER);
}

static void expect_file_error(const char *text, const char *needle)
{
	struct at_settings s;
	char err[256] = "";

	write_ini(text);
	at_settings_init(&s);
	assert_int_equal(at_settings_load(&s, path, err, sizeof(err)), AT_ERR_CONFIG);
	if (!strstr(err, needle))
		fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
}

static void test_file_errors(void **state)
{
	char long_line[400];

	(void)state;
	expect_file_error("[server]\nworkers = 0\n", "workers");
	expect_file_error("[server]\nworkers = 12x\n", ":2:");
	expect_file_error("[server]\nworkers = -1\n", "workers");
	expect_file_error("[server]\nsocket_mode = 0999\n", "octal");
	expect_file_error("[server]\ncolour = blue\n", "unknown key");
	expect_file_error("[security]\nreveal = sometimes\n", "allow or never");
	expect_file_error("[security]\ntrust_remote_user = maybe\n", "true or false");
	expect_file_error("[server]\nlog_level = loud\n", "log_level");
	expect_file_error("this is not ini\n", ":1:");
	/* libinih would split an over-long line in two; we refuse it */
	memset(long_line, 'a', sizeof(long_line));
	memcpy(long_line, "[database]\npassword = ", 22);
	long_line[sizeof(long_line) - 2] = '\n';
	long_line[sizeof(long_line) - 1] = '\0';
	expect_file_error(long_line, "too long");
}

static void test_env_errors_name_the_variable(void **state)
{
	struct at_settings s;
	char err[256] = "";

	(void)state;
	setenv("APITOKEND_LIMITS_MAX_BODY", "lots", 1);
	at_settings_init(&s);
	assert_int_equal(at_settings_load(&s, NULL, err, sizeof(err)), AT_ERR_CONFIG);
	unsetenv("APITOKEND_LIMITS_MAX_BODY");
	assert_non_null(strstr(err, "APITOKEND_LIMITS_MAX_BODY"));
}

/* [tokens] max_rotation_overlap: a duration, P7D by default, bounded. */
static void test_rotation_overlap(void **state)
{
	struct at_settings s;
	char err[256] = "";

	(void)state;
	at_settings_init(&s);
	assert_int_equal(s.max_rotation_overlap, 7 * 86400);
	write_ini("[tokens]\nmax_rotation_overlap = PT90M\n");
	assert_int_equal(at_settings_load(&s, path, err, sizeof(err)), AT_OK);
	assert_int_equal(s.max_rotation_overlap, 5400);
	setenv("APITOKEND_TOKENS_MAX_ROTATION_OVERLAP", "PT0S", 1);
	assert_int_equal(at_settings_load(&s, path, err, sizeof(err)), AT_OK);
	unsetenv("APITOKEND_TOKENS_MAX_ROTATION_OVERLAP");
	assert_int_equal(s.max_rotation_overlap, 0);
	expect_file_error("[tokens]\nmax_rotation_overlap = 1h\n", "ISO 8601 duration");
	expect_file_error("[tokens]\nmax_rotation_overlap = P1M\n", "max_rotation_overlap");
	expect_file_error("[tokens]\nmax_rotation_overlap = P366D\n", "P365D");
	expect_file_error("[tokens]\nmax_rotation_overlap = 3600\n", "max_rotation_overlap");
}

static void test_missing_file(void **state)
{
	struct at_settings s;
	char err[256] = "";

	(void)state;
	at_settings_init(&s);
	assert_int_equal(at_settings_load(&s, "/nonexistent/apitokend.ini", err, sizeof(err)),
			 AT_ERR_CONFIG);
	assert_non_null(strstr(err, "/nonexistent/apitokend.ini"));
}

static int count_cb(void *ud, const char *section, const char *key, const char *value)
{
	(void)section;
	(void)key;
	(void)value;
	(*(int *)ud)++;
	return 1;
}

static void test_parse_string(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(at_ini_parse_string("[a]\nx = 1\ny = 2\n", count_cb, &n), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(at_ini_parse_string("[a]\nx = 1\ngarbage\n", count_cb, &n), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_then_env),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_env_errors_name_the_variable),
		cmocka_unit_test(test_rotation_overlap),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_parse_string),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
