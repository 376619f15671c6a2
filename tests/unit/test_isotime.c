/* Unit tests of isotime.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "isotime.h"

static int64_t parsed(const char *s, unsigned flags)
{
	int64_t ms = -1;

	if (at_iso_parse(s, strlen(s), flags, &ms) != AT_OK)
		fail_msg("'%s' refused", s);
	return ms;
}

static void refused(const char *s, unsigned flags)
{
	int64_t ms = 12345;

	if (at_iso_parse(s, strlen(s), flags, &ms) != AT_ERR_INVALID)
		fail_msg("'%s' accepted", s);
	assert_int_equal(ms, 12345);
}

/* s reads as the instant written as want. */
static void reads_as(const char *s, unsigned flags, const char *want)
{
	char out[AT_ISO_TEXT];

	assert_true(at_iso_format(parsed(s, flags), out));
	assert_string_equal(out, want);
}

static void test_parse(void **state)
{
	(void)state;
	assert_int_equal(parsed("1970-01-01T00:00:00Z", 0), 0);
	assert_int_equal(parsed("1970-01-01T00:00:00.001Z", 0), 1);
	assert_int_equal(parsed("1969-12-31T23:59:59.999Z", 0), -1);
	assert_int_equal(parsed("2026-12-31T23:59:59Z", 0), 1798761599000LL);
	assert_int_equal(parsed("2026-12-31T23:59:59.5Z", 0), 1798761599500LL);
	assert_int_equal(parsed("2026-12-31T23:59:59.05Z", 0), 1798761599050LL);
	assert_int_equal(parsed("2026-12-31T23:59:59.123Z", 0), 1798761599123LL);
	assert_int_equal(parsed("0001-01-01T00:00:00Z", 0), AT_ISO_MIN_MS);
	assert_int_equal(parsed("9999-12-31T23:59:59.999Z", 0), AT_ISO_MAX_MS);
	assert_int_equal(parsed("2024-02-29", AT_ISO_DATE), 1709164800000LL);
	reads_as("2000-02-29T12:00:00Z", 0, "2000-02-29T12:00:00.000Z");
}

static void test_offsets_and_long_fractions(void **state)
{
	(void)state;
	reads_as("2027-01-01T00:59:59+01:00", AT_ISO_API, "2026-12-31T23:59:59.000Z");
	reads_as("2026-12-31T18:29:59.250-05:30", AT_ISO_API, "2026-12-31T23:59:59.250Z");
	reads_as("2026-12-31T23:59:59+00:00", AT_ISO_API, "2026-12-31T23:59:59.000Z");
	reads_as("2026-12-31T23:59:59-00:00", AT_ISO_API, "2026-12-31T23:59:59.000Z");
	reads_as("2026-12-31T23:59:59.9999999Z", AT_ISO_API, "2026-12-31T23:59:59.999Z");
	reads_as("2026-12-31T23:59:59.123456+00:00", AT_ISO_API, "2026-12-31T23:59:59.123Z");
	reads_as("2026-12-31T23:59:59.123456789Z", AT_ISO_API, "2026-12-31T23:59:59.123Z");
	refused("2026-12-31T23:59:59.1234567890Z", AT_ISO_API);
	refused("2026-12-31T23:59:59.1234Z", AT_ISO_OFFSET);
	refused("2026-12-31T23:59:59+01:00", AT_ISO_LONG_FRACTION | AT_ISO_DATE);
	refused("2026-12-31T23:59:59+24:00", AT_ISO_API);
	refused("2026-12-31T23:59:59+01:60", AT_ISO_API);
	refused("2026-12-31T23:59:59+0100", AT_ISO_API);
	refused("2026-12-31T23:59:59+01", AT_ISO_API);
	refused("2026-12-31T23:59:59+01:00Z", AT_ISO_API);
	refused("2026-12-31T23:59:59Z+01:00", AT_ISO_API);
	refused("2026-12-31T23:59:59 +01:00", AT_ISO_API);
	refused("2026-12-31T23:59:59+1:00", AT_ISO_API);
	/* the year range holds after the offset too */
	refused("0001-01-01T00:00:00+00:01", AT_ISO_API);
	refused("9999-12-31T23:59:59-00:01", AT_ISO_API);
	assert_int_equal(parsed("0001-01-01T00:00:00-00:01", AT_ISO_API), AT_ISO_MIN_MS + 60000);
	/* date alone only when asked for */
	refused("2026-12-31", AT_ISO_API);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31",
		"0000-01-01", "2024-04-00", "2024-1-01", "24-01-01", "2024/01/01", "2024-01-01T",
		"2024-01-01T10:00:00", "2024-01-01T24:00:00Z", "2024-01-01T10:60:00Z",
		"2024-01-01T10:00:60Z", "2016-12-31T23:59:60Z", "2024-01-01T10:00:00.Z",
		"2024-01-01T10:00:00.1234Z", "2024-01-01 10:00:00Z", "2024-01-01T10:00:00+00:00",
		"2024-01-01t10:00:00z", "yesterday", "2024-01-0a", "2024-01-01T1a:00:00Z",
		"2024-01-01T10:00:00.12aZ", " 2024-01-01", "2024-01-01 ", "+2024-01-01",
		"-2024-01-01", "2024-01- 1", "2024-01-01T 1:00:00Z", "2024-01-01T10:00:00ZZ",
		"12024-01-01", "2024-01-01T10:00Z", "2024-01-01T10:00:00,5Z", "",
		"2024-0-1T10:00:00Z",
	};
	int64_t ms;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused(bad[i], AT_ISO_RQL);
	assert_int_equal(at_iso_parse(NULL, 0, AT_ISO_API, &ms), AT_ERR_INVALID);
	/* only len bytes are read */
	assert_int_equal(at_iso_parse("2024-01-01T10:00:00Zjunk", 20, 0, &ms), AT_OK);
	assert_int_equal(at_iso_parse("2024-01-01\0", 11, AT_ISO_RQL, &ms), AT_ERR_INVALID);
}

static void test_format(void **state)
{
	char iso[AT_ISO_TEXT], dt[AT_DATETIME_TEXT];

	(void)state;
	assert_true(at_iso_format(0, iso));
	assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
	assert_true(at_iso_format(-1, iso));
	assert_string_equal(iso, "1969-12-31T23:59:59.999Z");
	assert_true(at_iso_format(AT_ISO_MIN_MS, iso));
	assert_string_equal(iso, "0001-01-01T00:00:00.000Z");
	assert_true(at_iso_format(AT_ISO_MAX_MS, iso));
	assert_string_equal(iso, "9999-12-31T23:59:59.999Z");
	assert_false(at_iso_format(AT_ISO_MAX_MS + 1, iso));
	assert_string_equal(iso, "");
	assert_false(at_iso_format(AT_ISO_MIN_MS - 1, iso));
	assert_false(at_iso_format(INT64_MIN, iso));
	assert_true(at_datetime_format(1798761599123LL, dt));
	assert_string_equal(dt, "2026-12-31 23:59:59.123");
	assert_true(at_datetime_format(AT_ISO_MIN_MS, dt));
	assert_string_equal(dt, "0001-01-01 00:00:00.000");
	assert_false(at_datetime_format(INT64_MAX, dt));
}

static void test_datetime_text(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(at_datetime_parse("2026-12-31 23:59:59", 19, &ms), AT_OK);
	assert_int_equal(ms, 1798761599000LL);
	assert_int_equal(at_datetime_parse("2026-12-31 23:59:59.123", 23, &ms), AT_OK);
	assert_int_equal(ms, 1798761599123LL);
	assert_int_equal(at_datetime_parse("2026-12-31 23:59:59.123456", 26, &ms), AT_OK);
	assert_int_equal(ms, 1798761599123LL);
	assert_int_equal(at_datetime_parse("2026-12-31 23:59:59.1234567", 27, &ms),
			 AT_ERR_INVALID);
	assert_int_equal(at_datetime_parse("2026-12-31T23:59:59", 19, &ms), AT_ERR_INVALID);
	assert_int_equal(at_datetime_parse("2026-12-31 23:59:59Z", 20, &ms), AT_ERR_INVALID);
	assert_int_equal(at_datetime_parse("2026-02-31 23:59:59", 19, &ms), AT_ERR_INVALID);
	assert_int_equal(at_datetime_parse("2026-12-31", 10, &ms), AT_ERR_INVALID);
}

static void test_round_trip(void **state)
{
	static const int64_t v[] = {
		0, 1, -1, 999, -999, 1000, -1000, 951782400000LL, AT_ISO_MIN_MS, AT_ISO_MAX_MS,
		1798761599999LL,
	};
	char iso[AT_ISO_TEXT], dt[AT_DATETIME_TEXT];
	int64_t back;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_true(at_iso_format(v[i], iso));
		assert_int_equal(at_iso_parse(iso, strlen(iso), 0, &back), AT_OK);
		assert_int_equal(back, v[i]);
		assert_true(at_datetime_format(v[i], dt));
		assert_int_equal(at_datetime_parse(dt, strlen(dt), &back), AT_OK);
		assert_int_equal(back, v[i]);
	}
}

static void test_now(void **state)
{
	int64_t now = at_iso_now_ms();

	(void)state;
	/* later than this file, earlier than the last writable instant */
	assert_true(now > 1780000000000LL);
	assert_true(now < AT_ISO_MAX_MS);
}

static int64_t duration(const char *s)
{
	int64_t v = -1;
	const char *why = NULL;

	if (at_iso_duration_parse(s, strlen(s), &v, &why) != AT_OK)
		fail_msg("'%s' refused: %s", s, why);
	return v;
}

static void bad_duration(const char *s, const char *want)
{
	int64_t v = 777;
	const char *why = NULL;

	if (at_iso_duration_parse(s, strlen(s), &v, &why) != AT_ERR_INVALID)
		fail_msg("'%s' accepted", s);
	assert_int_equal(v, 777);
	assert_non_null(why);
	if (want)
		assert_string_equal(why, want);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(duration("PT1H"), 3600);
	assert_int_equal(duration("PT90M"), 5400);
	assert_int_equal(duration("PT30S"), 30);
	assert_int_equal(duration("P1D"), 86400);
	assert_int_equal(duration("P1DT12H"), 129600);
	assert_int_equal(duration("P2W"), 1209600);
	assert_int_equal(duration("PT0S"), 0);
	assert_int_equal(duration("P0D"), 0);
	assert_int_equal(duration("PT1H30M15S"), 5415);
	assert_int_equal(duration("P1DT1S"), 86401);
	assert_int_equal(duration("PT01H"), 3600);
	assert_int_equal(duration("PT9223372036854775807S"), INT64_MAX);
	bad_duration("P1Y", "years and months have no fixed length");
	bad_duration("P1M", "years and months have no fixed length");
	bad_duration("P1Y2M3D", "years and months have no fixed length");
	bad_duration("-PT1H", "a duration has no sign");
	bad_duration("+PT1H", "a duration has no sign");
	bad_duration("PT-1H", NULL);
	bad_duration("", "empty");
	bad_duration("P", "empty");
	bad_duration("PT", "no time after T");
	bad_duration("P1DT", "no time after T");
	bad_duration("PT9223372036854775808S", "too long");
	bad_duration("PT2562047788015216H", "too long");
	bad_duration("P106751991167301D", "too long");
	bad_duration("P106751991167300DT15H30M8S", "too long");
	bad_duration("PT0.5S", "fractions are not accepted");
	bad_duration("PT0,5S", "fractions are not accepted");
	bad_duration("pt1h", NULL);
	bad_duration("PT1h", NULL);
	bad_duration("1H", NULL);
	bad_duration("PT1", "a number without a designator");
	bad_duration("P1H", NULL);
	bad_duration("PT1D", NULL);
	bad_duration("PT1H1H", NULL);
	bad_duration("PT1M1H", NULL);
	bad_duration("P1D1D", NULL);
	bad_duration("PTT1H", NULL);
	bad_duration("P1DT1HT1M", NULL);
	bad_duration("P1W1D", NULL);
	bad_duration("P1D1W", NULL);
	bad_duration("P1WT1H", NULL);
	bad_duration("PT1W", NULL);
	bad_duration(" PT1H", NULL);
	bad_duration("PT1H ", NULL);
	bad_duration("PTH", NULL);
	bad_duration("PT1S\n", NULL);
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t s;
		const char *text;
	} cases[] = {
		{ 0, "PT0S" }, { 1, "PT1S" }, { 60, "PT1M" }, { 3600, "PT1H" },
		{ 5400, "PT1H30M" }, { 86400, "P1D" }, { 129600, "P1DT12H" },
		{ 1209600, "P14D" }, { 86401, "P1DT1S" },
		{ INT64_MAX, "P106751991167300DT15H30M7S" },
	};
	char out[AT_DURATION_TEXT];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_true(at_iso_duration_format(cases[i].s, out));
		assert_string_equal(out, cases[i].text);
		assert_int_equal(duration(out), cases[i].s);
	}
	assert_false(at_iso_duration_format(-1, out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_offsets_and_long_fractions),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_datetime_text),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_now),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_duration_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
