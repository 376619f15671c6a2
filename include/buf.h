/* buf.h: growable byte buffers with a hard maximum.
 *
 * The buffer owns data; at_buf_release() frees it (after zeroing it when
 * the buffer was marked secret).  data is always NUL-terminated when
 * non-NULL, so text can be read in place.
 */
#ifndef AT_BUF_H
#define AT_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct at_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;	/* appends that would pass this fail with AT_ERR_TOO_LARGE */
	bool secret;	/* zero the memory before it is freed or reused */
};

void at_buf_init(struct at_buf *b, size_t max);
AT_MUST_CHECK enum at_err at_buf_append(struct at_buf *b, const void *p, size_t n);
AT_MUST_CHECK enum at_err at_buf_puts(struct at_buf *b, const char *s);
AT_MUST_CHECK enum at_err at_buf_printf(struct at_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Forget the contents but keep the memory for the next request. */
void at_buf_reset(struct at_buf *b);
void at_buf_release(struct at_buf *b);

/* printf at dst + *len into a fixed buffer of size bytes and advance
 * *len; false, with *len as it was, when the text does not fit. */
bool at_appendf(char *dst, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Copy src into dst of size n, always NUL-terminating; returns false when
 * src did not fit (dst then holds a truncated copy). */
bool at_strlcpy(char *dst, const char *src, size_t n);

#endif
