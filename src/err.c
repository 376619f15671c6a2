/* err.c: names of the error codes, for logs, and error messages. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

static const char *const err_names[AT_ERR__MAX] = {
	[AT_OK] = "ok",
	[AT_ERR_NOMEM] = "out of memory",
	[AT_ERR_INVALID] = "invalid input",
	[AT_ERR_AUTH] = "authentication failed",
	[AT_ERR_FORBIDDEN] = "forbidden",
	[AT_ERR_NOT_FOUND] = "not found",
	[AT_ERR_METHOD] = "method not allowed",
	[AT_ERR_CONFLICT] = "state conflict",
	[AT_ERR_PRECONDITION] = "precondition failed",
	[AT_ERR_TOO_LARGE] = "too large",
	[AT_ERR_MEDIA_TYPE] = "unsupported media type",
	[AT_ERR_UNAVAILABLE] = "database unavailable",
	[AT_ERR_RETRY] = "transaction must be retried",
	[AT_ERR_DUPLICATE] = "duplicate key",
	[AT_ERR_DB] = "database error",
	[AT_ERR_CRYPTO] = "crypto failure",
	[AT_ERR_IO] = "i/o error",
	[AT_ERR_CONFIG] = "configuration error",
	[AT_ERR_INTERNAL] = "internal error",
};

const char *at_err_str(enum at_err err)
{
	if ((unsigned)err >= AT_ERR__MAX || !err_names[err])
		return "unknown error";
	return err_names[err];
}

void at_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
