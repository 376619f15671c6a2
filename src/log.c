/* log.c: diagnostics and the access log. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"

static enum at_log_level log_level = AT_LOG_INFO;
static const char *const level_names[] = { "error", "warn", "info", "debug" };
static const int syslog_levels[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
static bool use_syslog;

enum at_err at_log_open(const char *target, char *err, size_t errlen)
{
	int fd;

	if (!target || !*target)
		return AT_OK;
	if (!strcmp(target, "syslog")) {
		if (!use_syslog)
			openlog("apitokend", LOG_PID | LOG_NDELAY, LOG_DAEMON);
		use_syslog = true;
		return AT_OK;
	}
	fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		at_errf(err, errlen, "log file %s: %s", target, strerror(errno));
		return AT_ERR_IO;
	}
	/* every writer uses fd 2: swapping it is atomic for them */
	if (dup2(fd, STDERR_FILENO) < 0) {
		at_errf(err, errlen, "log file %s: %s", target, strerror(errno));
		close(fd);
		return AT_ERR_IO;
	}
	close(fd);
	return AT_OK;
}

void at_log_set_level(enum at_log_level level)
{
	log_level = level;
}

/* Decimal digits of v, at least width of them, at out; their count. */
static size_t put_uint(char *out, unsigned long long v, size_t width)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < width);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* 2026-01-31T12:34:56.789Z; the part up to the second is made once a
 * second per thread (every request logs a line: no strftime each time). */
static size_t log_time(char *out, size_t n)
{
	static __thread time_t sec = -1;
	static __thread char head[32];
	static __thread size_t hlen;
	struct timespec ts;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != sec) {
		gmtime_r(&ts.tv_sec, &tm);
		hlen = strftime(head, sizeof(head), "%Y-%m-%dT%H:%M:%S", &tm);
		sec = ts.tv_sec;
	}
	if (!hlen || hlen >= n) {
		if (n)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, head, hlen);
	len = hlen;
	if (len + 6 < n) {
		out[len++] = '.';
		len += put_uint(out + len, (unsigned long long)(ts.tv_nsec / 1000000), 3);
		out[len++] = 'Z';
	}
	out[len] = '\0';
	return len;
}

static void log_write(enum at_log_level level, const char *line, size_t len)
{
	ssize_t w;

	if (use_syslog) {
		/* syslog stamps its own time; the line without the newline */
		syslog(syslog_levels[level], "%.*s", (int)(len ? len - 1 : 0), line);
		return;
	}
	while (len) {
		w = write(STDERR_FILENO, line, len);
		if (w <= 0)
			return;
		line += w;
		len -= (size_t)w;
	}
}

void at_log(enum at_log_level level, const char *fmt, ...)
{
	char line[2048];
	size_t len, max = sizeof(line) - 2;
	va_list ap;
	int n;

	if (level > log_level)
		return;
	len = log_time(line, max);
	n = snprintf(line + len, max - len, " %s ", level_names[level]);
	if (n > 0)
		len += (size_t)n < max - len ? (size_t)n : max - len - 1;
	va_start(ap, fmt);
	n = vsnprintf(line + len, max - len, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += (size_t)n < max - len ? (size_t)n : max - len - 1;
	line[len++] = '\n';
	log_write(level, line, len);
}

void at_log_request_format(const struct at_log_request *r, struct at_buf *b)
{
	char tbuf[64], nbuf[96];
	unsigned long long us;
	size_t n;

	at_buf_reset(b);
	if (log_level < AT_LOG_INFO)
		return;
	/* by hand, not printf: this runs for every request */
	n = log_time(tbuf + 9, sizeof(tbuf) - 9 - 2);
	memcpy(tbuf, "{\"time\":\"", 9);
	memcpy(tbuf + 9 + n, "\"", 2);
	us = r->ms > 0 ? (unsigned long long)(r->ms * 1000.0 + 0.5) : 0;
	n = 0;
	memcpy(nbuf, ",\"status\":", 10);
	n += 10;
	if (r->status < 0)
		nbuf[n++] = '-';
	n += put_uint(nbuf + n, (unsigned long long)(r->status < 0 ? -(long long)r->status
								    : r->status), 1);
	memcpy(nbuf + n, ",\"ms\":", 6);
	n += 6;
	n += put_uint(nbuf + n, us / 1000, 1);
	nbuf[n++] = '.';
	n += put_uint(nbuf + n, us % 1000, 3);
	memcpy(nbuf + n, ",\"caller\":", 11);
	n += 10;
	/* paths are bounded, so only a broken invariant drops the line */
	if (at_buf_puts(b, tbuf) || at_buf_puts(b, ",\"traceId\":") ||
	    at_json_quote(b, r->trace_id ? r->trace_id : "") ||
	    at_buf_puts(b, ",\"method\":") ||
	    at_json_quote(b, r->method ? r->method : "") ||
	    at_buf_puts(b, ",\"path\":") ||
	    at_json_quote(b, r->path ? r->path : "") ||
	    at_buf_append(b, nbuf, n) ||
	    (r->caller && *r->caller ? at_json_quote(b, r->caller) : at_buf_puts(b, "null")) ||
	    (r->error ? at_buf_puts(b, ",\"error\":") || at_json_quote(b, r->error) : AT_OK) ||
	    at_buf_puts(b, "}\n"))
		at_buf_reset(b);
}

void at_log_request_write(struct at_buf *line)
{
	if (line->len)
		log_write(AT_LOG_INFO, line->data, line->len);
	at_buf_reset(line);
}
