/* json.c: json-c helpers with limits. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "text.h"

enum at_err at_json_quote(struct at_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k;
	enum at_err rc;
	char esc[8];

	if ((rc = at_buf_append(b, "\"", 1)))
		return rc;
	while (i < n) {
		/* printable ASCII but " and \ goes out as it is, a run at once */
		for (k = 0; i + k < n && p[i + k] >= 0x20 && p[i + k] < 0x7f && p[i + k] != '"' &&
			    p[i + k] != '\\'; k++)
			;
		if (k) {
			if ((rc = at_buf_append(b, p + i, k)))
				return rc;
			i += k;
			continue;
		}
		k = at_utf8_seq(p + i, n - i);
		if (k == 0) {
			rc = at_buf_puts(b, "\\ufffd");
			k = 1;
		} else if (k > 1) {
			rc = at_buf_append(b, p + i, k);
		} else if (p[i] == '"' || p[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)p[i];
			rc = at_buf_append(b, esc, 2);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			rc = at_buf_append(b, esc, 6);
		} else {
			rc = at_buf_append(b, p + i, 1);
		}
		if (rc)
			return rc;
		i += k;
	}
	return at_buf_append(b, "\"", 1);
}

enum at_err at_json_render(struct at_buf *b, struct json_object *obj)
{
	size_t len;
	const char *s;

	s = json_object_to_json_string_length(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s)
		return AT_ERR_NOMEM;
	return at_buf_append(b, s, len);
}

enum at_err at_json_render_secret(struct at_buf *b, struct json_object *obj)
{
	size_t len;
	const char *s;
	enum at_err rc;

	s = json_object_to_json_string_length(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s)
		return AT_ERR_NOMEM;
	rc = at_buf_append(b, s, len);
	/* json-c caches the text in the object and frees it unwiped */
	explicit_bzero((void *)(uintptr_t)s, len);
	return rc;
}

void at_json_wipe_string(struct json_object *str)
{
	const char *s;

	if (!str || !json_object_is_type(str, json_type_string))
		return;
	s = json_object_get_string(str);
	explicit_bzero((void *)(uintptr_t)s, (size_t)json_object_get_string_len(str));
}

/* Walk a parsed value: strings must be valid UTF-8 (json-c passes raw
 * bytes through) and must not hold NUL (C strings would cut them short). */
static bool strings_valid(struct json_object *v, int depth)
{
	size_t i, n;

	if (depth > AT_JSON_MAX_DEPTH)
		return false;
	switch (json_object_get_type(v)) {
	case json_type_string:
		n = (size_t)json_object_get_string_len(v);
		return at_utf8_valid(json_object_get_string(v), n) &&
		       strlen(json_object_get_string(v)) == n;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (!strings_valid(json_object_array_get_idx(v, i), depth + 1))
				return false;
		return true;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			if (!at_utf8_valid(key, strlen(key)))
				return false;
			if (!strings_valid(val, depth + 1))
				return false;
		}
		return true;
	}
	default:
		return true;
	}
}

/* A second look at the text for what json-c lets through: duplicate keys
 * (it keeps the last; a client sending two values for one field has a bug
 * we should tell it about) and single-quoted strings. */
static int scan_text(const char *text, size_t len, struct json_object *root);

enum at_err at_json_parse(const char *text, size_t len, struct json_object **out,
			  char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;
	enum at_err rc = AT_ERR_INVALID;
	size_t end;

	*out = NULL;
	if (len > (size_t)INT32_MAX) {
		snprintf(err, errlen, "the body is too large");
		return AT_ERR_TOO_LARGE;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "the body contains a NUL byte");
		return AT_ERR_INVALID;
	}
	tok = json_tokener_new_ex(AT_JSON_MAX_DEPTH);
	if (!tok)
		return AT_ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue) {
		snprintf(err, errlen, "the body ends in the middle of a JSON value");
		goto out;
	}
	if (jerr != json_tokener_success) {
		snprintf(err, errlen, "the body is not valid JSON: %s at offset %zu",
			 json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok); end < len; end++) {
		if (!strchr(" \t\r\n", text[end])) {
			snprintf(err, errlen, "the body has text after the JSON value at offset %zu",
				 end);
			goto out;
		}
	}
	if (!strings_valid(obj, 0)) {
		snprintf(err, errlen, "the body holds a string that is not valid UTF-8");
		goto out;
	}
	switch (scan_text(text, len, obj)) {
	case 1:
		snprintf(err, errlen, "the body repeats a key within one object");
		goto out;
	case 2:
		snprintf(err, errlen, "the body is not valid JSON: strings take double quotes");
		goto out;
	case 3:
		snprintf(err, errlen, "the body holds a \\u escape of half a surrogate pair, which "
			 "is no character");
		goto out;
	}
	*out = obj;
	obj = NULL;
	rc = AT_OK;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

/* Count the members written in the text for each object, in document
 * order, and compare with json-c's distinct key count.  The text is
 * already known to be valid JSON, so a small scanner suffices. */
struct dup_scan {
	const char *s;
	size_t len, pos;
	bool dup;
	bool single_quote;	/* json-c takes 'x' even in strict mode */
	bool lone_surrogate;	/* json-c turns a lone \ud800 into U+FFFD */
};

static void dup_skip_ws(struct dup_scan *d)
{
	while (d->pos < d->len && strchr(" \t\r\n", d->s[d->pos]))
		d->pos++;
}

/* The 4 hex digits of \uXXXX at s, or -1. */
static long hex4(const char *s, size_t avail)
{
	long v = 0;
	size_t i;

	if (avail < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* At the 'u' of an escape: a high surrogate must be followed by an
 * escaped low one (and both are then skipped), a low one must not stand
 * alone.  json-c would store U+FFFD instead of what the client sent. */
static void check_surrogate(struct dup_scan *d)
{
	long hi = hex4(d->s + d->pos + 1, d->len - d->pos - 1), lo;

	if (hi < 0xD800 || hi > 0xDFFF)
		return;
	if (hi >= 0xDC00) {
		d->lone_surrogate = true;
		return;
	}
	/* \uD83D\uDE00: u, 4 digits, backslash, u, 4 digits */
	if (d->pos + 10 < d->len && d->s[d->pos + 5] == '\\' && d->s[d->pos + 6] == 'u') {
		lo = hex4(d->s + d->pos + 7, d->len - d->pos - 7);
		if (lo >= 0xDC00 && lo <= 0xDFFF) {
			d->pos += 10;	/* the loop's increment passes the last digit */
			return;
		}
	}
	d->lone_surrogate = true;
}

static void dup_skip_string(struct dup_scan *d)
{
	char quote = d->s[d->pos];

	if (quote != '"') {
		d->single_quote = true;
		d->dup = true;	/* stops the scan */
		return;
	}
	d->pos++;	/* opening quote */
	while (d->pos < d->len && d->s[d->pos] != quote) {
		if (d->s[d->pos] == '\\') {
			d->pos++;
			if (d->pos < d->len && d->s[d->pos] == 'u')
				check_surrogate(d);
		}
		d->pos++;
	}
	d->pos++;	/* closing quote */
}

static void dup_value(struct dup_scan *d, struct json_object *v);

/* json-c keeps members in insertion order and a duplicate replaces the
 * first value in place, so until the first duplicate the n-th member of
 * the text is the n-th entry of v's table; after it, the counts differ. */
static void dup_object(struct dup_scan *d, struct json_object *v)
{
	struct lh_entry *e = lh_table_head(json_object_get_object(v));
	size_t members = 0;

	d->pos++;	/* { */
	dup_skip_ws(d);
	while (!d->dup && d->pos < d->len && d->s[d->pos] != '}') {
		dup_skip_string(d);	/* the key */
		dup_skip_ws(d);
		d->pos++;		/* : */
		dup_value(d, e ? (struct json_object *)lh_entry_v(e) : NULL);
		e = e ? lh_entry_next(e) : NULL;
		members++;
		dup_skip_ws(d);
		if (d->pos < d->len && d->s[d->pos] == ',')
			d->pos++;
		dup_skip_ws(d);
	}
	d->pos++;	/* } */
	if (members != (size_t)json_object_object_length(v))
		d->dup = true;
}

static void dup_value(struct dup_scan *d, struct json_object *v)
{
	size_t i = 0;

	dup_skip_ws(d);
	if (d->pos >= d->len)
		return;
	switch (d->s[d->pos]) {
	case '{':
		if (v && json_object_is_type(v, json_type_object))
			dup_object(d, v);
		else	/* only after a replaced duplicate */
			d->dup = true;
		return;
	case '[':
		d->pos++;
		dup_skip_ws(d);
		while (!d->dup && d->pos < d->len && d->s[d->pos] != ']') {
			dup_value(d, v && json_object_is_type(v, json_type_array)
					     ? json_object_array_get_idx(v, i) : NULL);
			i++;
			dup_skip_ws(d);
			if (d->pos < d->len && d->s[d->pos] == ',')
				d->pos++;
			dup_skip_ws(d);
		}
		d->pos++;
		return;
	case '"':
	case '\'':
		dup_skip_string(d);
		return;
	default:
		while (d->pos < d->len && !strchr(",]} \t\r\n", d->s[d->pos]))
			d->pos++;
		return;
	}
}

/* 0: fine, 1: a duplicate key, 2: a single-quoted string, 3: a lone
 * surrogate escape. */
static int scan_text(const char *text, size_t len, struct json_object *root)
{
	struct dup_scan d = { text, len, 0, false, false };

	dup_value(&d, root);
	return d.single_quote ? 2 : d.lone_surrogate ? 3 : d.dup ? 1 : 0;
}

enum at_err at_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return AT_ERR_NOMEM;
	if (json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return AT_ERR_NOMEM;
	}
	return AT_OK;
}

enum at_err at_json_add_str(struct json_object *obj, const char *key, const char *val)
{
	return at_json_add(obj, key, json_object_new_string(val));
}

enum at_err at_json_add_int(struct json_object *obj, const char *key, long long val)
{
	return at_json_add(obj, key, json_object_new_int64(val));
}
