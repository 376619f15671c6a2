/* http.c: filling requests, building responses, decoding. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "http.h"

static const char *const method_names[AT_METHOD__MAX] = {
	[AT_GET] = "GET",
	[AT_HEAD] = "HEAD",
	[AT_POST] = "POST",
	[AT_PUT] = "PUT",
	[AT_DELETE] = "DELETE",
	[AT_PATCH] = "PATCH",
	[AT_OPTIONS] = "OPTIONS",
	[AT_METHOD_OTHER] = "OTHER",
};

const char *at_method_name(enum at_method m)
{
	return (unsigned)m < AT_METHOD__MAX ? method_names[m] : "OTHER";
}

static enum at_method method_parse(const char *s)
{
	unsigned m;

	for (m = 0; m < AT_METHOD_OTHER; m++)
		if (!strcmp(s, method_names[m]))
			return (enum at_method)m;
	return AT_METHOD_OTHER;
}

static bool is_lower_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool all_zero(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != '0')
			return false;
	return true;
}

/* W3C trace context: keep the caller's trace id, add our own span id. */
static void trace_id_make(char *out, const char *traceparent)
{
	/* a trace id and a span id from one draw of the thread's stream:
	 * every request makes one of these */
	char ids[2 * 24 + 1];
	const char *trace = ids, *span = ids + 32;

	at_id_hex(ids, 24);
	if (traceparent && strlen(traceparent) >= 55 && traceparent[2] == '-' &&
	    traceparent[35] == '-' && traceparent[52] == '-' &&
	    is_lower_hex(traceparent, 2) && strncmp(traceparent, "ff", 2) &&
	    is_lower_hex(traceparent + 3, 32) && !all_zero(traceparent + 3, 32) &&
	    (traceparent[55] == '\0' || traceparent[55] == '-'))
		memcpy(ids, traceparent + 3, 32);
	/* "%.32s": the trace id ends where the span id begins */
	snprintf(out, AT_TRACE_ID_LEN + 1, "00-%.32s-%s-00", trace, span);
}

static const char *header(at_param_fn param, void *ud, const char *name, bool *too_long)
{
	const char *v = param(ud, name);

	if (v && strlen(v) > AT_HEADER_MAX)
		*too_long = true;
	return v;
}

void at_request_fill(struct at_request *req, at_param_fn param, void *ud)
{
	const char *m, *uri, *q, *cl;
	size_t plen;
	char *end;

	req->method_name = (m = param(ud, "REQUEST_METHOD")) ? m : "";
	req->method = method_parse(req->method_name);
	uri = param(ud, "REQUEST_URI");
	if (!uri)
		uri = param(ud, "DOCUMENT_URI");
	req->uri = uri ? uri : "";
	q = strchr(req->uri, '?');
	plen = q ? (size_t)(q - req->uri) : strlen(req->uri);
	req->path_ok = at_percent_decode(req->path, sizeof(req->path), req->uri, plen);
	if (!req->path_ok)
		req->path[0] = '\0';
	q = param(ud, "QUERY_STRING");
	req->query = q ? q : "";
	req->header_too_long = false;
	req->content_type = header(param, ud, "CONTENT_TYPE", &req->header_too_long);
	cl = param(ud, "CONTENT_LENGTH");
	req->content_length = -1;
	if (cl && *cl && isdigit((unsigned char)*cl)) {
		long long n = strtoll(cl, &end, 10);

		if (!*end && n >= 0)
			req->content_length = n;
	}
	req->authorization = header(param, ud, "HTTP_AUTHORIZATION", &req->header_too_long);
	req->remote_user = param(ud, "REMOTE_USER");
	req->remote_addr = param(ud, "REMOTE_ADDR");
	req->user_agent = header(param, ud, "HTTP_USER_AGENT", &req->header_too_long);
	req->if_match = header(param, ud, "HTTP_IF_MATCH", &req->header_too_long);
	req->original_uri = param(ud, "ORIGINAL_URI");
	req->original_remote_addr = param(ud, "ORIGINAL_REMOTE_ADDR");
	req->original_method = param(ud, "ORIGINAL_METHOD");
	req->body_too_large = false;
	at_buf_reset(&req->body);
	trace_id_make(req->trace_id,
		      header(param, ud, "HTTP_TRACEPARENT", &req->header_too_long));
}

void at_response_init(struct at_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	at_buf_init(&resp->body, AT_RESP_BODY_MAX);
	resp->status = 200;
}

void at_response_reset(struct at_response *resp)
{
	resp->status = 200;
	resp->content_type[0] = '\0';
	resp->nheaders = 0;
	at_buf_reset(&resp->body);
}

void at_response_release(struct at_response *resp)
{
	at_buf_release(&resp->body);
}

enum at_err at_response_header(struct at_response *resp, const char *name,
			       const char *fmt, ...)
{
	struct at_header *h;
	va_list ap;
	int n;

	if (resp->nheaders >= AT_RESP_HEADERS)
		return AT_ERR_INTERNAL;
	h = &resp->headers[resp->nheaders];
	if (!at_strlcpy(h->name, name, sizeof(h->name)))
		return AT_ERR_INTERNAL;
	va_start(ap, fmt);
	n = vsnprintf(h->value, sizeof(h->value), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(h->value))
		return AT_ERR_INTERNAL;
	/* CR or LF would let a value start a header of its own */
	if (strpbrk(h->value, "\r\n"))
		return AT_ERR_INTERNAL;
	resp->nheaders++;
	return AT_OK;
}

const char *at_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

int at_query_next(struct at_query_iter *it, char *key, size_t klen, char *val, size_t vlen)
{
	const char *pair, *eq;
	size_t len;

	while (*it->p == '&')
		it->p++;
	if (!*it->p)
		return 0;
	pair = it->p;
	len = strcspn(pair, "&");
	it->p += len;
	eq = memchr(pair, '=', len);
	if (!eq) {
		if (!at_percent_decode(key, klen, pair, len) || vlen == 0)
			return -1;
		val[0] = '\0';
		return 1;
	}
	if (!at_percent_decode(key, klen, pair, (size_t)(eq - pair)) ||
	    !at_percent_decode(val, vlen, eq + 1, len - (size_t)(eq - pair) - 1))
		return -1;
	return 1;
}
