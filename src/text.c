/* text.c: character classes and time formatting. */
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

#include "text.h"

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_init(void)
{
	/* glibc >= 2.35 ships C.UTF-8 with the full Unicode tables */
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

enum at_err at_text_init(void)
{
	pthread_once(&utf8_once, utf8_init);
	return utf8_locale ? AT_OK : AT_ERR_CONFIG;
}

/* Decode one code point of valid UTF-8; returns its length. */
static size_t decode(const unsigned char *s, size_t n, wint_t *cp)
{
	if (s[0] < 0x80 || n < 2) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xE0) {
		*cp = (wint_t)((s[0] & 0x1F) << 6 | (s[1] & 0x3F));
		return 2;
	}
	if (s[0] < 0xF0 || n < 4) {
		*cp = n < 3 ? 0xFFFD
			    : (wint_t)((s[0] & 0x0F) << 12 | (s[1] & 0x3F) << 6 | (s[2] & 0x3F));
		return n < 3 ? n : 3;
	}
	*cp = (wint_t)((s[0] & 0x07) << 18 | (s[1] & 0x3F) << 12 | (s[2] & 0x3F) << 6 |
		       (s[3] & 0x3F));
	return 4;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
size_t at_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4;
	else
		return 0;
	/* the second byte's range (Unicode Table 3-7) keeps out overlong
	 * forms, surrogates and code points above U+10FFFF */
	if (c == 0xE0)
		lo = 0xA0;
	else if (c == 0xED)
		hi = 0x9F;
	else if (c == 0xF0)
		lo = 0x90;
	else if (c == 0xF4)
		hi = 0x8F;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

bool at_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		k = at_utf8_seq(p + i, len - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

const char *at_utf8_sanitize(const char *s, size_t max_chars, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, o = 0, chars = 0, k, n;

	if (!s || !outlen)
		return NULL;
	n = strlen(s);
	while (i < n && chars < max_chars) {
		k = at_utf8_seq(p + i, n - i);
		/* a broken byte becomes U+FFFD, three bytes */
		if (o + (k ? k : 3) + 1 > outlen)
			break;
		if (k) {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(out + o, "\xEF\xBF\xBD", 3);
			o += 3;
			i++;
		}
		chars++;
	}
	out[o] = '\0';
	return out;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool at_percent_decode(char *dst, size_t n, const char *src, size_t len)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			if (i + 2 >= len)
				return false;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '\0') {
			return false;
		}
		if (o + 1 >= n)
			return false;
		dst[o++] = c;
	}
	if (o >= n)
		return false;
	dst[o] = '\0';
	return true;
}

size_t at_utf8_chars(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

bool at_name_chars_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	wint_t cp;

	if (at_text_init())
		return false;
	while (i < len) {
		i += decode(p + i, len - i, &cp);
		if (cp == ' ' || cp == '-' || cp == '.' || cp == '\'' || cp == '"')
			continue;
		if (!iswalnum_l(cp, utf8_locale))
			return false;
	}
	return true;
}

bool at_time_iso(const char *s, char *out, size_t n)
{
	char ms[4] = "000";
	size_t len = s ? strlen(s) : 0, i;

	if (len < 19 || s[10] != ' ' || n < 25)
		return false;
	/* fractions beyond milliseconds are cut, fewer are padded */
	if (len > 19) {
		if (s[19] != '.')
			return false;
		for (i = 0; i < 3 && 20 + i < len; i++)
			ms[i] = s[20 + i];
	}
	snprintf(out, n, "%.10sT%.8s.%sZ", s, s + 11, ms);
	return true;
}
