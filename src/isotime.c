/* isotime.c: ISO 8601 timestamps and durations. */
#define _GNU_SOURCE	/* strptime */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "isotime.h"

static bool all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Fraction digits s[0..n) as milliseconds, the rest cut. */
static int64_t fraction_ms(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < 3; i++)
		v = v * 10 + (i < n ? s[i] - '0' : 0);
	return v;
}

/* The date (and time) fields of s, shape checked by the caller, as epoch
 * seconds.  strptime reads the fields; comparing them with what timegm
 * made of them refuses the days a month lacks and leap seconds, which
 * timegm would quietly carry into the next month or minute. */
static bool fields(const char *s, bool with_time, time_t *out)
{
	char text[20];
	struct tm tm, back;
	const char *end;
	time_t t;

	memcpy(text, s, with_time ? 19 : 10);
	text[with_time ? 19 : 10] = '\0';
	if (with_time)
		text[10] = 'T';
	memset(&tm, 0, sizeof(tm));
	end = strptime(text, with_time ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d", &tm);
	if (!end || *end || tm.tm_year + 1900 < 1)
		return false;
	/* timegm normalises its argument: compare with a copy */
	back = tm;
	t = timegm(&back);
	if (back.tm_year != tm.tm_year || back.tm_mon != tm.tm_mon ||
	    back.tm_mday != tm.tm_mday || back.tm_hour != tm.tm_hour ||
	    back.tm_min != tm.tm_min || back.tm_sec != tm.tm_sec)
		return false;
	*out = t;
	return true;
}

static bool date_shape(const char *s, size_t len)
{
	return len >= 10 && all_digits(s, 4) && s[4] == '-' && all_digits(s + 5, 2) &&
	       s[7] == '-' && all_digits(s + 8, 2);
}

static bool time_shape(const char *s, size_t len, char sep)
{
	return len >= 19 && s[10] == sep && all_digits(s + 11, 2) && s[13] == ':' &&
	       all_digits(s + 14, 2) && s[16] == ':' && all_digits(s + 17, 2);
}

/* ".f…" at s[0..len): the number of digits (1..max), or 0 if none. */
static size_t fraction_len(const char *s, size_t len, size_t max)
{
	size_t n = 0;

	if (!len || s[0] != '.')
		return 0;
	while (n + 1 < len && n < max + 1 && s[n + 1] >= '0' && s[n + 1] <= '9')
		n++;
	return n <= max ? n : 0;
}

enum at_err at_iso_parse(const char *s, size_t len, unsigned flags, int64_t *ms)
{
	size_t pos = 19, nf = 0;
	int64_t v, off = 0;
	time_t t;

	if (!s || !date_shape(s, len))
		return AT_ERR_INVALID;
	if (len == 10) {
		if (!(flags & AT_ISO_DATE) || !fields(s, false, &t))
			return AT_ERR_INVALID;
		*ms = (int64_t)t * 1000;
		return AT_OK;
	}
	if (!time_shape(s, len, 'T'))
		return AT_ERR_INVALID;
	if (len > pos && s[pos] == '.') {
		nf = fraction_len(s + pos, len - pos, flags & AT_ISO_LONG_FRACTION ? 9 : 3);
		if (!nf)
			return AT_ERR_INVALID;
		pos += 1 + nf;
	}
	if (len == pos + 1 && s[pos] == 'Z') {
		off = 0;
	} else if ((flags & AT_ISO_OFFSET) && len == pos + 6 &&
		   (s[pos] == '+' || s[pos] == '-') && all_digits(s + pos + 1, 2) &&
		   s[pos + 3] == ':' && all_digits(s + pos + 4, 2)) {
		int h = (s[pos + 1] - '0') * 10 + (s[pos + 2] - '0');
		int m = (s[pos + 4] - '0') * 10 + (s[pos + 5] - '0');

		if (h > 23 || m > 59)
			return AT_ERR_INVALID;
		off = (int64_t)(h * 60 + m) * 60000;
		if (s[pos] == '-')
			off = -off;
	} else {
		return AT_ERR_INVALID;
	}
	if (!fields(s, true, &t))
		return AT_ERR_INVALID;
	/* local time = UTC + offset */
	v = (int64_t)t * 1000 + fraction_ms(s + 20, nf) - off;
	if (v < AT_ISO_MIN_MS || v > AT_ISO_MAX_MS)
		return AT_ERR_INVALID;
	*ms = v;
	return AT_OK;
}

enum at_err at_datetime_parse(const char *s, size_t len, int64_t *ms)
{
	size_t nf = 0;
	time_t t;

	if (!s || !date_shape(s, len) || !time_shape(s, len, ' '))
		return AT_ERR_INVALID;
	if (len > 19) {
		nf = fraction_len(s + 19, len - 19, 6);
		if (!nf || len != 20 + nf)
			return AT_ERR_INVALID;
	}
	if (!fields(s, true, &t))
		return AT_ERR_INVALID;
	*ms = (int64_t)t * 1000 + fraction_ms(s + 20, nf);
	return AT_OK;
}

/* ms split into a broken-down UTC time and the milliseconds. */
static bool split(int64_t ms, struct tm *tm, int *frac)
{
	int64_t sec;
	time_t t;

	if (ms < AT_ISO_MIN_MS || ms > AT_ISO_MAX_MS)
		return false;
	/* floor, so that the millisecond before the epoch is 23:59:59.999 */
	sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	*frac = (int)(ms - sec * 1000);
	t = (time_t)sec;
	return gmtime_r(&t, tm) != NULL;
}

/* v (0 <= v < 10^n) as n digits. */
static void put_digits(char *o, unsigned long v, unsigned n)
{
	while (n--) {
		o[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* not strftime: glibc's %Y writes year 1 as "1" */
size_t at_datetime_put(char *o, const struct tm *tm, char sep, unsigned long usec,
		       unsigned decimals)
{
	unsigned d;

	put_digits(o, (unsigned long)tm->tm_year + 1900, 4);
	o[4] = '-';
	put_digits(o + 5, (unsigned long)tm->tm_mon + 1, 2);
	o[7] = '-';
	put_digits(o + 8, (unsigned long)tm->tm_mday, 2);
	o[10] = sep;
	put_digits(o + 11, (unsigned long)tm->tm_hour, 2);
	o[13] = ':';
	put_digits(o + 14, (unsigned long)tm->tm_min, 2);
	o[16] = ':';
	put_digits(o + 17, (unsigned long)tm->tm_sec, 2);
	if (!decimals)
		return 19;
	o[19] = '.';
	for (d = decimals; d < 6; d++)
		usec /= 10;
	put_digits(o + 20, usec, decimals);
	return 20 + decimals;
}

bool at_iso_format(int64_t ms, char out[AT_ISO_TEXT])
{
	struct tm tm;
	int frac;

	out[0] = '\0';
	if (!split(ms, &tm, &frac))
		return false;
	(void)at_datetime_put(out, &tm, 'T', (unsigned long)frac * 1000, 3);
	out[23] = 'Z';
	out[24] = '\0';
	return true;
}

bool at_datetime_format(int64_t ms, char out[AT_DATETIME_TEXT])
{
	struct tm tm;
	int frac;

	out[0] = '\0';
	if (!split(ms, &tm, &frac))
		return false;
	(void)at_datetime_put(out, &tm, ' ', (unsigned long)frac * 1000, 3);
	out[23] = '\0';
	return true;
}

int64_t at_iso_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long at_mono_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fail with a reason. */
static enum at_err no(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return AT_ERR_INVALID;
}

enum at_err at_iso_duration_parse(const char *s, size_t len, int64_t *seconds,
				  const char **why)
{
	/* designators in the order they may come, and their length */
	static const struct {
		char c;
		bool time;
		int64_t unit;
	} part[] = {
		{ 'W', false, 7 * 86400 }, { 'D', false, 86400 },
		{ 'H', true, 3600 }, { 'M', true, 60 }, { 'S', true, 1 },
	};
	size_t i = 1, next = 0, k, parts = 0;
	bool in_time = false, weeks = false;
	int64_t total = 0, n, add;

	if (!s || !len)
		return no(why, "empty");
	if (s[0] == '-' || s[0] == '+')
		return no(why, "a duration has no sign");
	if (s[0] != 'P')
		return no(why, "not an ISO 8601 duration");
	while (i < len) {
		if (s[i] == 'T') {
			if (in_time || weeks)
				return no(why, "not an ISO 8601 duration");
			in_time = true;
			next = 2;
			i++;
			if (i == len)
				return no(why, "no time after T");
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return no(why, "not an ISO 8601 duration");
		for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (__builtin_mul_overflow(n, 10, &n) ||
			    __builtin_add_overflow(n, s[i] - '0', &n))
				return no(why, "too long");
		if (i == len)
			return no(why, "a number without a designator");
		if (s[i] == '.' || s[i] == ',')
			return no(why, "fractions are not accepted");
		if (s[i] == 'Y' || (s[i] == 'M' && !in_time))
			return no(why, "years and months have no fixed length");
		for (k = next; k < sizeof(part) / sizeof(part[0]); k++)
			if (part[k].c == s[i] && part[k].time == in_time)
				break;
		if (k == sizeof(part) / sizeof(part[0]) || (weeks && k != 0) ||
		    (k == 0 && parts))
			return no(why, "not an ISO 8601 duration");
		weeks = k == 0;
		if (__builtin_mul_overflow(n, part[k].unit, &add) ||
		    __builtin_add_overflow(total, add, &total))
			return no(why, "too long");
		next = k + 1;
		parts++;
		i++;
	}
	if (!parts)
		return no(why, "empty");
	*seconds = total;
	return AT_OK;
}

bool at_iso_duration_format(int64_t seconds, char out[AT_DURATION_TEXT])
{
	int64_t d = seconds / 86400, r = seconds % 86400;
	int h = (int)(r / 3600), m = (int)(r / 60 % 60), s = (int)(r % 60);
	size_t o;

	out[0] = '\0';
	if (seconds < 0)
		return false;
	o = (size_t)snprintf(out, AT_DURATION_TEXT, "P");
	if (d)
		o += (size_t)snprintf(out + o, AT_DURATION_TEXT - o, "%lldD", (long long)d);
	if (r || !d)
		o += (size_t)snprintf(out + o, AT_DURATION_TEXT - o, "T");
	if (h)
		o += (size_t)snprintf(out + o, AT_DURATION_TEXT - o, "%dH", h);
	if (m)
		o += (size_t)snprintf(out + o, AT_DURATION_TEXT - o, "%dM", m);
	if (s || !seconds)
		snprintf(out + o, AT_DURATION_TEXT - o, "%dS", s);
	return true;
}
