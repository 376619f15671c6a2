/* json.h: JSON text in and out, with the limits of SPEC §11.
 *
 * json-c is used here and in the resource handlers, nowhere else.
 * Objects returned to the caller are owned by it (json_object_put).
 */
#ifndef AT_JSON_H
#define AT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "err.h"
#include "text.h"

#define AT_JSON_MAX_DEPTH 32

/* Append s as a JSON string literal; invalid UTF-8 becomes U+FFFD. */
AT_MUST_CHECK enum at_err at_json_quote(struct at_buf *b, const char *s);
/* Append obj serialised compactly. */
AT_MUST_CHECK enum at_err at_json_render(struct at_buf *b, struct json_object *obj);

/* Append obj serialised and wipe json-c's own copy of the text: for
 * bodies that hold a secret (the caller marks b secret). */
AT_MUST_CHECK enum at_err at_json_render_secret(struct at_buf *b, struct json_object *obj);
/* Zero the characters of a json-c string object in place. */
void at_json_wipe_string(struct json_object *str);


/* Parse a request body: one JSON value, nothing after it but whitespace,
 * at most AT_JSON_MAX_DEPTH deep, valid UTF-8 in every string, no
 * duplicate keys in an object.  AT_ERR_INVALID with a message in err. */
AT_MUST_CHECK enum at_err at_json_parse(const char *text, size_t len,
					struct json_object **out, char *err, size_t errlen);

/* json_object_object_add that reports allocation failure. */
AT_MUST_CHECK enum at_err at_json_add(struct json_object *obj, const char *key,
				      struct json_object *val);
AT_MUST_CHECK enum at_err at_json_add_str(struct json_object *obj, const char *key,
					  const char *val);
AT_MUST_CHECK enum at_err at_json_add_int(struct json_object *obj, const char *key,
					  long long val);

#endif
