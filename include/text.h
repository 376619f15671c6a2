/* text.h: checks on user-supplied text (names, descriptions, ids). */
#ifndef AT_TEXT_H
#define AT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none:
 * overlong forms, surrogates and code points above U+10FFFF are not. */
size_t at_utf8_seq(const unsigned char *s, size_t n);
bool at_utf8_valid(const char *s, size_t len);

/* Copy at most max_chars characters of s into out (outlen bytes), each
 * byte that is not valid UTF-8 replaced by U+FFFD: header text (a
 * User-Agent) fit for a utf8mb4 column.  Returns out, or NULL for NULL. */
const char *at_utf8_sanitize(const char *s, size_t max_chars, char *out, size_t outlen);

/* Percent-decode src[0..len) into dst (size n).  '+' stays '+': RQL uses
 * it for ascending order.  Fails on a bad escape, an encoded NUL, or when
 * dst is too small. */
bool at_percent_decode(char *dst, size_t n, const char *src, size_t len);

/* Number of code points in valid UTF-8. */
size_t at_utf8_chars(const char *s, size_t len);

/* SPEC §4 names: Unicode letters and digits, space, and - . ' " only. */
bool at_name_chars_valid(const char *s, size_t len);

/* Make the Unicode character tables ready; call once at start (they come
 * from glibc's C.UTF-8 locale).  AT_ERR_CONFIG if the locale is missing. */
AT_MUST_CHECK enum at_err at_text_init(void);

/* "2026-05-09 14:40:28.958" (MariaDB DATETIME(3)) into
 * "2026-05-09T14:40:28.958Z"; out holds 25 bytes.  False if s is not
 * such a value. */
bool at_time_iso(const char *s, char *out, size_t n);

#endif
