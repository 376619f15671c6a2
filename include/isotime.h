/* isotime.h: ISO 8601 timestamps and durations as the API speaks them.
 *
 * A point in time is epoch milliseconds (int64_t, UTC).  Text is read with
 * the C library (strptime, timegm) after a check of its exact shape, since
 * strptime alone skips spaces and takes short fields.  Years 0001 to 9999
 * only: four digits, ISO 8601 without its expanded years.
 *
 * Rendering a DATETIME the database wrote stays at_time_iso() (text.h): a
 * rearrangement of trusted text, cheap on a page of 1,000 rows, where a
 * round trip through the calendar here would not be.
 */
#ifndef AT_ISOTIME_H
#define AT_ISOTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

/* What at_iso_parse accepts besides YYYY-MM-DDTHH:MM:SS[.f]Z with one to
 * three fraction digits: */
enum {
	AT_ISO_DATE = 1 << 0,	/* a date alone, YYYY-MM-DD: its midnight UTC */
	AT_ISO_OFFSET = 1 << 1,	/* +HH:MM or -HH:MM in place of Z */
	AT_ISO_LONG_FRACTION = 1 << 2,	/* up to nine fraction digits, cut to ms */
};
/* RQL values: what its grammar has always taken. */
#define AT_ISO_RQL AT_ISO_DATE
/* Timestamps in bodies, as clients' libraries write them (.NET writes
 * seven fraction digits, Python six, with +00:00). */
#define AT_ISO_API (AT_ISO_OFFSET | AT_ISO_LONG_FRACTION)

/* "YYYY-MM-DDTHH:MM:SS.sssZ" and its NUL. */
#define AT_ISO_TEXT 25
/* "YYYY-MM-DD HH:MM:SS.sss" (MariaDB DATETIME(3)) and its NUL. */
#define AT_DATETIME_TEXT 24
/* "P106751991167300DT15H30M7S" and its NUL. */
#define AT_DURATION_TEXT 32

/* The first and last millisecond that can be written. */
#define AT_ISO_MIN_MS (-62135596800000LL)	/* 0001-01-01T00:00:00.000Z */
#define AT_ISO_MAX_MS 253402300799999LL		/* 9999-12-31T23:59:59.999Z */

/* Read s[0..len) (no NUL needed) into *ms.  AT_ERR_INVALID for anything
 * else: another shape, a day the month lacks, 24:00, a leap second, a
 * result outside the years 0001 to 9999. */
AT_MUST_CHECK enum at_err at_iso_parse(const char *s, size_t len, unsigned flags, int64_t *ms);

/* Read MariaDB's DATETIME text, "YYYY-MM-DD HH:MM:SS" with up to six
 * fraction digits (cut to ms), as UTC. */
AT_MUST_CHECK enum at_err at_datetime_parse(const char *s, size_t len, int64_t *ms);

/* Write ms as the API's "YYYY-MM-DDTHH:MM:SS.sssZ" / as DATETIME(3) text.
 * False (out empty) outside AT_ISO_MIN_MS..AT_ISO_MAX_MS. */
bool at_iso_format(int64_t ms, char out[AT_ISO_TEXT]);
bool at_datetime_format(int64_t ms, char out[AT_DATETIME_TEXT]);
/* The fields of tm (a year 0 to 9999) as "YYYY-MM-DD?HH:MM:SS" with sep
 * for '?', then, with decimals (1 to 6), '.' and that many digits of usec
 * (microseconds, cut, not rounded); its length (at most 26), no NUL. */
size_t at_datetime_put(char *out, const struct tm *tm, char sep, unsigned long usec,
		       unsigned decimals);

/* The wall clock in epoch milliseconds. */
int64_t at_iso_now_ms(void);
/* A clock that never goes back, in milliseconds: for ages. */
long long at_mono_now_ms(void);

/* Read an ISO 8601 duration of fixed length: PnW, or PnDTnHnMnS with any
 * of the parts (at least one, in that order; T only before a time part).
 * Years and months have no fixed length and are refused, as are signs,
 * fractions, lower case and a total above INT64_MAX seconds.  PT0S is 0.
 * On AT_ERR_INVALID *why (when not NULL) says why in a few words, e.g.
 * "years and months have no fixed length". */
AT_MUST_CHECK enum at_err at_iso_duration_parse(const char *s, size_t len, int64_t *seconds,
						const char **why);

/* Write seconds (>= 0) as PnDTnHnMnS without the zero parts: 5400 is
 * "PT1H30M", 0 is "PT0S".  False for a negative value. */
bool at_iso_duration_format(int64_t seconds, char out[AT_DURATION_TEXT]);

#endif
