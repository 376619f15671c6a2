/* json.h: JSON text in and out, with the limits of SPEC §11.
 *
 * json.c is the only file that uses json-c.  Two small APIs:
 *
 * - the writer (struct at_jw) appends JSON text straight to a bounded
 *   buffer, a member at a time, with no tree in between.  Its error is
 *   sticky: after the first failure every call does nothing, and
 *   at_jw_finish() reports it, so a renderer checks once at the end.
 * - the reader (struct at_jv) is a parsed request body: one value with
 *   typed getters.  Values borrowed from a document live as long as it.
 *
 * A NULL value pointer is JSON null, as json-c has it.
 */
#ifndef AT_JSON_H
#define AT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define AT_JSON_MAX_DEPTH 32

/* Append s (n bytes) as a JSON string literal; invalid UTF-8 becomes
 * U+FFFD, so the output is always valid JSON. */
AT_MUST_CHECK enum at_err at_json_quote_n(struct at_buf *b, const char *s, size_t n);
AT_MUST_CHECK enum at_err at_json_quote(struct at_buf *b, const char *s);

/* ---- the writer -------------------------------------------------------- */

struct at_jw {
	struct at_buf *b;
	enum at_err err;	/* the first failure; AT_OK so far */
	unsigned depth;		/* open objects and arrays */
	uint64_t members;	/* bit d: the container at depth d has a member */
};

/* Write into b, after whatever it holds. */
void at_jw_init(struct at_jw *w, struct at_buf *b);
/* The first failure, or AT_ERR_INTERNAL when a container is left open. */
AT_MUST_CHECK enum at_err at_jw_finish(const struct at_jw *w);

/* In every call, key names the member inside an object and must be NULL
 * inside an array and for the top-level value. */
void at_jw_object(struct at_jw *w, const char *key);
void at_jw_object_end(struct at_jw *w);
void at_jw_array(struct at_jw *w, const char *key);
void at_jw_array_end(struct at_jw *w);
/* s NULL writes null. */
void at_jw_str(struct at_jw *w, const char *key, const char *s);
void at_jw_strn(struct at_jw *w, const char *key, const char *s, size_t n);
/* Nothing at all when s is NULL or empty: SPEC §4 omits such fields. */
void at_jw_opt_str(struct at_jw *w, const char *key, const char *s);
void at_jw_int(struct at_jw *w, const char *key, long long v);
void at_jw_bool(struct at_jw *w, const char *key, bool v);
void at_jw_null(struct at_jw *w, const char *key);
/* json (n bytes) is one JSON value this program wrote itself (a stored
 * document): copied as it is, not checked. */
void at_jw_raw(struct at_jw *w, const char *key, const char *json, size_t n);
struct at_jv;
/* A parsed value, written back compactly. */
void at_jw_value(struct at_jw *w, const char *key, const struct at_jv *v);

/* ---- the reader -------------------------------------------------------- */

enum at_jv_type {
	AT_JV_NULL,
	AT_JV_BOOL,
	AT_JV_INT,
	AT_JV_DOUBLE,
	AT_JV_STRING,
	AT_JV_ARRAY,
	AT_JV_OBJECT,
};

/* Parse a request body: one JSON value, nothing after it but whitespace,
 * at most AT_JSON_MAX_DEPTH deep, valid UTF-8 in every string and key,
 * no NUL, no duplicate keys in an object.  AT_ERR_INVALID with a message
 * in err.  The caller frees *out with at_jv_free(). */
AT_MUST_CHECK enum at_err at_jv_parse(const char *text, size_t len, struct at_jv **out,
				      char *err, size_t errlen);
/* Free a document returned by at_jv_parse (never a borrowed value). */
void at_jv_free(struct at_jv *doc);

enum at_jv_type at_jv_type(const struct at_jv *v);
/* Is key a member of obj?  *v is its value (NULL for null); false when
 * obj is no object or lacks it. */
bool at_jv_get(const struct at_jv *obj, const char *key, const struct at_jv **v);
/* The value at a dotted path of object members ("a.b.c"), NULL when any
 * step is missing or not an object. */
const struct at_jv *at_jv_path(const struct at_jv *v, const char *path);
/* The string and its length, or NULL when v is not a string. */
const char *at_jv_str(const struct at_jv *v, size_t *len);
/* True and *out for an integer (a number without fraction or exponent). */
bool at_jv_int(const struct at_jv *v, long long *out);
bool at_jv_bool(const struct at_jv *v);
/* Elements of an array, members of an object; 0 for anything else. */
size_t at_jv_len(const struct at_jv *v);
const struct at_jv *at_jv_at(const struct at_jv *arr, size_t i);
/* Call fn for each member of obj in document order until it returns
 * false; false when fn stopped it. */
typedef bool (*at_jv_each_fn)(const char *key, const struct at_jv *v, void *ud);
bool at_jv_each(const struct at_jv *obj, at_jv_each_fn fn, void *ud);
/* The value as text: a string's characters, a number's or a boolean's
 * JSON text, "" for null; any other value as compact JSON.  Appended to
 * b. */
AT_MUST_CHECK enum at_err at_jv_text(struct at_buf *b, const struct at_jv *v);

#endif
