/* err.h: the one error enum of apitokend, and its messages.
 *
 * Every fallible function returns enum at_err.  AT_OK is 0 so that
 * "if (rc)" reads as "on failure".  The router is the one place that turns
 * an error into an HTTP status (router.c, at_err_status()).  Functions
 * that explain a failure to an operator take a char *err, size_t errlen
 * pair and fill it with at_errf().
 */
#ifndef AT_ERR_H
#define AT_ERR_H

#include <stddef.h>

#define AT_MUST_CHECK __attribute__((warn_unused_result))

enum at_err {
	AT_OK = 0,
	AT_ERR_NOMEM,		/* allocation failed */
	AT_ERR_INVALID,		/* bad input: 400 */
	AT_ERR_AUTH,		/* no or bad credentials: 401 */
	AT_ERR_FORBIDDEN,	/* authenticated, not allowed: 403 */
	AT_ERR_NOT_FOUND,	/* unknown or invisible: 404 */
	AT_ERR_METHOD,		/* method not allowed: 405 */
	AT_ERR_CONFLICT,	/* state conflict: 409 */
	AT_ERR_PRECONDITION,	/* If-Match mismatch: 412 */
	AT_ERR_TOO_LARGE,	/* body or value over its limit: 413 */
	AT_ERR_MEDIA_TYPE,	/* unsupported content type: 415 */
	AT_ERR_UNAVAILABLE,	/* database unreachable: 503 */
	AT_ERR_RETRY,		/* deadlock or lock timeout: retry the transaction */
	AT_ERR_DUPLICATE,	/* unique key collision (e.g. a random id) */
	AT_ERR_DB,		/* any other database failure: 500 */
	AT_ERR_CRYPTO,		/* libsodium failure or forged sealed value */
	AT_ERR_IO,		/* file or socket failure */
	AT_ERR_CONFIG,		/* bad configuration or key file */
	AT_ERR_INTERNAL,	/* broken invariant: 500 */
	AT_ERR__MAX
};

/* A short lower-case name of the error, for logs. */
const char *at_err_str(enum at_err err);

/* printf into err (errlen bytes, cut to fit); nothing when err is NULL
 * or errlen 0, for callers that do not want the message. */
void at_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
