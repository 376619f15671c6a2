/* log.h: diagnostics and the one line per request.
 *
 * Lines go to stderr (a supervisor or the shell redirects it), each written
 * with a single write(2) so lines of concurrent workers never interleave.
 * Callers never pass secrets: token values, passwords and keys have no
 * business in a log line.
 */
#ifndef AT_LOG_H
#define AT_LOG_H

#include "settings.h"

void at_log_set_level(enum at_log_level level);

/* Where lines go: "" for stderr (the default), "syslog", or a file that
 * is opened for appending and put in the place of stderr, so that library
 * messages land there too.  Call again (SIGHUP) to reopen it after
 * logrotate moved it. */
AT_MUST_CHECK enum at_err at_log_open(const char *target, char *err, size_t errlen);
void at_log(enum at_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define at_log_error(...) at_log(AT_LOG_ERROR, __VA_ARGS__)
#define at_log_warn(...) at_log(AT_LOG_WARN, __VA_ARGS__)
#define at_log_info(...) at_log(AT_LOG_INFO, __VA_ARGS__)
#define at_log_debug(...) at_log(AT_LOG_DEBUG, __VA_ARGS__)

struct at_buf;

/* The access log: one JSON object per line, in an at_buf of at most
 * this many bytes (paths and headers are bounded well below it). */
#define AT_LOG_LINE_MAX 16384

struct at_log_request {
	const char *trace_id;
	const char *method;
	const char *path;
	int status;
	double ms;
	const char *caller;	/* NULL or "" when anonymous */
	const char *error;	/* internal cause of a 5xx, or NULL */
};
/* The line of r into line, emptied first (nothing below info), made
 * while r's strings are alive; at_log_request_write() writes it later,
 * once the answer has gone out, and empties it. */
void at_log_request_format(const struct at_log_request *r, struct at_buf *line);
void at_log_request_write(struct at_buf *line);

#endif
