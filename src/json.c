/* json.c: the only file that uses json-c: the writer, the reader and the
 * checks json-c leaves out (duplicate keys, lone surrogates, NUL). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "text.h"

enum at_err at_json_quote(struct at_buf *b, const char *s)
{
	return at_json_quote_n(b, s, strlen(s));
}

enum at_err at_json_quote_n(struct at_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
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
			/* NUL included: a counted string may hold one */
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

/* obj serialised compactly, / unescaped. */
static enum at_err tree_render(struct at_buf *b, struct json_object *obj)
{
	size_t len;
	const char *s;

	s = json_object_to_json_string_length(obj,
		JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s)
		return AT_ERR_NOMEM;
	return at_buf_append(b, s, len);
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

static enum at_err tree_parse(const char *text, size_t len, struct json_object **out,
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




/* ---- the writer ---------------------------------------------------------- */

void at_jw_init(struct at_jw *w, struct at_buf *b)
{
	w->b = b;
	w->err = AT_OK;
	w->depth = 0;
	w->members = 0;
}

enum at_err at_jw_finish(const struct at_jw *w)
{
	if (w->err)
		return w->err;
	return w->depth ? AT_ERR_INTERNAL : AT_OK;
}

static void jw_put(struct at_jw *w, const char *s, size_t n)
{
	if (!w->err)
		w->err = at_buf_append(w->b, s, n);
}

/* The comma and the key before a value; false when the writer failed. */
static bool jw_member(struct at_jw *w, const char *key)
{
	uint64_t bit;

	if (w->err)
		return false;
	if (w->depth) {
		bit = (uint64_t)1 << (w->depth - 1);
		if (w->members & bit)
			jw_put(w, ",", 1);
		w->members |= bit;
	}
	if (key && !w->err) {
		w->err = at_json_quote(w->b, key);
		jw_put(w, ":", 1);
	}
	return !w->err;
}

static void jw_open(struct at_jw *w, const char *key, char c)
{
	if (!jw_member(w, key))
		return;
	/* deeper than any body we accept: a renderer's bug */
	if (w->depth >= 64) {
		w->err = AT_ERR_INTERNAL;
		return;
	}
	jw_put(w, &c, 1);
	w->depth++;
	w->members &= ~((uint64_t)1 << (w->depth - 1));
}

static void jw_close(struct at_jw *w, char c)
{
	if (w->err)
		return;
	if (!w->depth) {
		w->err = AT_ERR_INTERNAL;
		return;
	}
	w->depth--;
	jw_put(w, &c, 1);
}

void at_jw_object(struct at_jw *w, const char *key)
{
	jw_open(w, key, '{');
}

void at_jw_object_end(struct at_jw *w)
{
	jw_close(w, '}');
}

void at_jw_array(struct at_jw *w, const char *key)
{
	jw_open(w, key, '[');
}

void at_jw_array_end(struct at_jw *w)
{
	jw_close(w, ']');
}

void at_jw_strn(struct at_jw *w, const char *key, const char *s, size_t n)
{
	if (!s) {
		at_jw_null(w, key);
		return;
	}
	if (jw_member(w, key))
		w->err = at_json_quote_n(w->b, s, n);
}

void at_jw_str(struct at_jw *w, const char *key, const char *s)
{
	at_jw_strn(w, key, s, s ? strlen(s) : 0);
}

void at_jw_opt_str(struct at_jw *w, const char *key, const char *s)
{
	if (s && *s)
		at_jw_str(w, key, s);
}

void at_jw_int(struct at_jw *w, const char *key, long long v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%lld", v);

	if (jw_member(w, key))
		jw_put(w, num, (size_t)n);
}

void at_jw_bool(struct at_jw *w, const char *key, bool v)
{
	if (jw_member(w, key))
		jw_put(w, v ? "true" : "false", v ? 4 : 5);
}

void at_jw_null(struct at_jw *w, const char *key)
{
	if (jw_member(w, key))
		jw_put(w, "null", 4);
}

void at_jw_raw(struct at_jw *w, const char *key, const char *json, size_t n)
{
	if (jw_member(w, key))
		jw_put(w, json, n);
}

void at_jw_value(struct at_jw *w, const char *key, const struct at_jv *v)
{
	if (jw_member(w, key))
		w->err = tree_render(w->b, (struct json_object *)(uintptr_t)v);
}

/* ---- the reader ---------------------------------------------------------- */

/* A struct at_jv is a json_object: the type only hides json-c. */
static struct json_object *jv(const struct at_jv *v)
{
	return (struct json_object *)(uintptr_t)v;
}

enum at_err at_jv_parse(const char *text, size_t len, struct at_jv **out, char *err,
			size_t errlen)
{
	struct json_object *obj = NULL;
	enum at_err rc;

	rc = tree_parse(text, len, &obj, err, errlen);
	*out = (struct at_jv *)obj;
	return rc;
}

void at_jv_free(struct at_jv *doc)
{
	json_object_put(jv(doc));
}

enum at_jv_type at_jv_type(const struct at_jv *v)
{
	switch (json_object_get_type(jv(v))) {
	case json_type_boolean:
		return AT_JV_BOOL;
	case json_type_int:
		return AT_JV_INT;
	case json_type_double:
		return AT_JV_DOUBLE;
	case json_type_string:
		return AT_JV_STRING;
	case json_type_array:
		return AT_JV_ARRAY;
	case json_type_object:
		return AT_JV_OBJECT;
	default:
		return AT_JV_NULL;
	}
}

bool at_jv_get(const struct at_jv *obj, const char *key, const struct at_jv **v)
{
	struct json_object *m = NULL;

	*v = NULL;
	if (!json_object_is_type(jv(obj), json_type_object) ||
	    !json_object_object_get_ex(jv(obj), key, &m))
		return false;
	*v = (const struct at_jv *)m;
	return true;
}

const struct at_jv *at_jv_path(const struct at_jv *v, const char *path)
{
	char key[128];
	size_t len;

	while (v && *path) {
		len = strcspn(path, ".");
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		if (!at_jv_get(v, key, &v))
			return NULL;
		path += len;
		if (*path == '.')
			path++;
	}
	return *path ? NULL : v;
}

const char *at_jv_str(const struct at_jv *v, size_t *len)
{
	if (!json_object_is_type(jv(v), json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(jv(v));
	return json_object_get_string(jv(v));
}

bool at_jv_int(const struct at_jv *v, long long *out)
{
	if (!json_object_is_type(jv(v), json_type_int))
		return false;
	*out = (long long)json_object_get_int64(jv(v));
	return true;
}

bool at_jv_bool(const struct at_jv *v)
{
	return json_object_is_type(jv(v), json_type_boolean) && json_object_get_boolean(jv(v));
}

size_t at_jv_len(const struct at_jv *v)
{
	if (json_object_is_type(jv(v), json_type_array))
		return json_object_array_length(jv(v));
	if (json_object_is_type(jv(v), json_type_object))
		return (size_t)json_object_object_length(jv(v));
	return 0;
}

const struct at_jv *at_jv_at(const struct at_jv *arr, size_t i)
{
	if (!json_object_is_type(jv(arr), json_type_array))
		return NULL;
	return (const struct at_jv *)json_object_array_get_idx(jv(arr), i);
}

bool at_jv_each(const struct at_jv *obj, at_jv_each_fn fn, void *ud)
{
	if (!json_object_is_type(jv(obj), json_type_object))
		return true;
	json_object_object_foreach(jv(obj), key, val) {
		if (!fn(key, (const struct at_jv *)val, ud))
			return false;
	}
	return true;
}

enum at_err at_jv_text(struct at_buf *b, const struct at_jv *v)
{
	const char *s;
	size_t len = 0;

	switch (at_jv_type(v)) {
	case AT_JV_NULL:
		return AT_OK;
	case AT_JV_STRING:
		s = at_jv_str(v, &len);
		return at_buf_append(b, s, len);
	default:
		return tree_render(b, jv(v));
	}
}
