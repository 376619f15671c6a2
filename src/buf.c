/* buf.c: growable byte buffers with a hard maximum. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void buf_zero(void *p, size_t n)
{
	/* explicit_bzero survives dead-store elimination */
	if (p && n)
		explicit_bzero(p, n);
}

void at_buf_init(struct at_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Make room for n more bytes plus the terminating NUL. */
static enum at_err buf_reserve(struct at_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return AT_ERR_TOO_LARGE;
	need = b->len + n + 1;
	if (need <= b->cap)
		return AT_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->secret) {
		/* never leave a copy of a secret behind in freed memory */
		p = malloc(cap);
		if (!p)
			return AT_ERR_NOMEM;
		if (b->data) {
			memcpy(p, b->data, b->len + 1);
			buf_zero(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, cap);
		if (!p)
			return AT_ERR_NOMEM;
	}
	b->data = p;
	b->cap = cap;
	return AT_OK;
}

enum at_err at_buf_append(struct at_buf *b, const void *p, size_t n)
{
	enum at_err rc;

	if ((rc = buf_reserve(b, n)))
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return AT_OK;
}

enum at_err at_buf_puts(struct at_buf *b, const char *s)
{
	return at_buf_append(b, s, strlen(s));
}

enum at_err at_buf_printf(struct at_buf *b, const char *fmt, ...)
{
	va_list ap;
	enum at_err rc;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return AT_ERR_INTERNAL;
	if ((rc = buf_reserve(b, (size_t)n)))
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return AT_OK;
}

void at_buf_reset(struct at_buf *b)
{
	if (b->secret)
		buf_zero(b->data, b->cap);
	else if (b->data)
		b->data[0] = '\0';
	b->len = 0;
	b->secret = false;
}

void at_buf_release(struct at_buf *b)
{
	if (b->secret)
		buf_zero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->secret = false;
}

bool at_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);

	if (n == 0)
		return false;
	if (len >= n) {
		memcpy(dst, src, n - 1);
		dst[n - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

bool at_appendf(char *dst, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(dst + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return false;
	*len += (size_t)n;
	return true;
}
