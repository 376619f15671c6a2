/* Unit tests of ratelimit.c, and of its agreement with the nginx files
 * that enforce the limits. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

static void test_tiers(void **state)
{
	static const int64_t bad[] = { 0, -60, 1, 10, 30, 45, 59, 61, 12001, INT64_MAX, INT64_MIN };
	char list[256] = "";
	size_t i, o = 0;

	(void)state;
	for (i = 0; i < at_rate_limit_ntiers; i++) {
		assert_true(at_rate_limit_valid(at_rate_limit_tiers[i]));
		if (i)
			assert_true(at_rate_limit_tiers[i] > at_rate_limit_tiers[i - 1]);
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%" PRId64,
				      !i ? "" : i + 1 == at_rate_limit_ntiers ? " or " : ", ",
				      at_rate_limit_tiers[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(at_rate_limit_valid(bad[i]));
	/* the message names every tier */
	assert_non_null(strstr(at_rate_limit_message(), list));
}

static char *slurp(const char *name)
{
	char path[1024], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/conf/nginx/%s", TOP_SRCDIR, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* Occurrences of s in text. */
static int count(const char *text, const char *s)
{
	int n = 0;

	for (text = strstr(text, s); text; text = strstr(text + 1, s))
		n++;
	return n;
}

static void test_nginx_has_the_tiers(void **state)
{
	char *zones = slurp("apitokend-zones.conf"), *limit = slurp("apitokend-ratelimit.conf");
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < at_rate_limit_ntiers; i++) {
		int64_t t = at_rate_limit_tiers[i];

		snprintf(want, sizeof(want), "\n\t%" PRId64 "\t$apitokend_token_id;\n", t);
		assert_int_equal(count(zones, want), 1);
		snprintf(want, sizeof(want), "\nlimit_req_zone $apitokend_rl_%" PRId64
			 " zone=apitokend_rl_%" PRId64 ":1m rate=%" PRId64 "r/m;\n", t, t, t);
		assert_int_equal(count(zones, want), 1);
		snprintf(want, sizeof(want), "\nlimit_req zone=apitokend_rl_%" PRId64
			 " burst=%" PRId64 " nodelay;\n", t, t - 1);
		assert_int_equal(count(limit, want), 1);
	}
	/* and no other */
	assert_int_equal(count(zones, "\nlimit_req_zone "), (int)at_rate_limit_ntiers);
	assert_int_equal(count(zones, "\t$apitokend_token_id;\n"), (int)at_rate_limit_ntiers);
	assert_int_equal(count(limit, "\nlimit_req zone="), (int)at_rate_limit_ntiers);
	free(zones);
	free(limit);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_nginx_has_the_tiers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
