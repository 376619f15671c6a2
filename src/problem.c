/* problem.c: RFC 9457 bodies. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "http.h"
#include "problem.h"

void at_problem_clear(struct at_problem *p)
{
	p->detail[0] = '\0';
	p->nerrors = 0;
	p->internal[0] = '\0';
	p->ext_key[0] = '\0';
	p->ext_value = 0;
}

void at_problem_detail(struct at_problem *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

void at_problem_field(struct at_problem *p, const char *field, const char *fmt, ...)
{
	struct at_problem_error *e;
	va_list ap;

	if (p->nerrors >= AT_PROBLEM_MAX_ERRORS)
		return;
	e = &p->errors[p->nerrors++];
	at_strlcpy(e->field, field, sizeof(e->field));
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void at_problem_internal(struct at_problem *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->internal, sizeof(p->internal), fmt, ap);
	va_end(ap);
}

void at_problem_ext_int(struct at_problem *p, const char *key, long long v)
{
	at_strlcpy(p->ext_key, key, sizeof(p->ext_key));
	p->ext_value = v;
}

const char *at_problem_title(int status)
{
	return status == 401 ? "Authentication Failed" : at_status_reason(status);
}

/* RFC 9110 sections of the statuses we send. */
static const char *problem_type(int status)
{
	switch (status) {
	case 400: return "https://tools.ietf.org/html/rfc9110#section-15.5.1";
	case 401: return "https://tools.ietf.org/html/rfc9110#section-15.5.2";
	case 403: return "https://tools.ietf.org/html/rfc9110#section-15.5.4";
	case 404: return "https://tools.ietf.org/html/rfc9110#section-15.5.5";
	case 405: return "https://tools.ietf.org/html/rfc9110#section-15.5.6";
	case 409: return "https://tools.ietf.org/html/rfc9110#section-15.5.10";
	case 412: return "https://tools.ietf.org/html/rfc9110#section-15.5.13";
	case 413: return "https://tools.ietf.org/html/rfc9110#section-15.5.14";
	case 415: return "https://tools.ietf.org/html/rfc9110#section-15.5.16";
	case 503: return "https://tools.ietf.org/html/rfc9110#section-15.6.4";
	default: return "https://tools.ietf.org/html/rfc9110#section-15.6.1";
	}
}

static const char *default_detail(int status)
{
	switch (status) {
	case 400: return "One or more validation errors occurred.";
	case 401: return "The credentials are missing or not valid.";
	case 403: return "The caller may not do this.";
	case 404: return "The resource does not exist.";
	case 405: return "The resource does not support this method.";
	case 409: return "The request conflicts with the current state of the resource.";
	case 412: return "The resource has changed since the revision given in If-Match.";
	case 413: return "The request body is too large.";
	case 415: return "The request body must be JSON (Content-Type: application/json).";
	case 503: return "The database is unavailable; try again shortly.";
	default: return "An internal error occurred.";
	}
}

const char *at_problem_detail_text(const struct at_problem *p, int status)
{
	return p && p->detail[0] ? p->detail : default_detail(status);
}

/* errors: {"field": ["message", ...]}, grouped in order of first mention. */
static void write_errors(struct at_jw *w, const struct at_problem *p)
{
	size_t i, j;

	at_jw_object(w, "errors");
	for (i = 0; i < p->nerrors; i++) {
		for (j = 0; j < i && strcmp(p->errors[j].field, p->errors[i].field); j++)
			;
		if (j < i)
			continue;	/* written with its first mention */
		at_jw_array(w, p->errors[i].field);
		for (j = i; j < p->nerrors; j++)
			if (!strcmp(p->errors[j].field, p->errors[i].field))
				at_jw_str(w, NULL, p->errors[j].message);
		at_jw_array_end(w);
	}
	at_jw_object_end(w);
}

enum at_err at_problem_render(struct at_response *resp, int status,
			      const struct at_problem *p, const char *trace_id)
{
	struct at_jw w;

	resp->status = status;
	at_strlcpy(resp->content_type, "application/problem+json", sizeof(resp->content_type));
	at_buf_reset(&resp->body);
	at_jw_init(&w, &resp->body);
	at_jw_object(&w, NULL);
	at_jw_str(&w, "type", problem_type(status));
	at_jw_str(&w, "title", at_problem_title(status));
	at_jw_int(&w, "status", status);
	at_jw_str(&w, "detail", at_problem_detail_text(p, status));
	at_jw_str(&w, "traceId", trace_id);
	if (p && p->ext_key[0])
		at_jw_int(&w, p->ext_key, p->ext_value);
	if (p && p->nerrors)
		write_errors(&w, p);
	at_jw_object_end(&w);
	return at_jw_finish(&w);
}
