/* http.h: the request and response of one FastCGI exchange.
 *
 * front.c fills a request from the FastCGI parameters through
 * at_request_fill() and writes the response out; everything between
 * works on these structs only, so it can be tested without a socket.
 * String fields of a request point into memory owned by the front (the
 * FastCGI parameter block) and live as long as the request.
 */
#ifndef AT_HTTP_H
#define AT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "text.h"

#define AT_PATH_MAX		2048	/* a decoded path longer than this is 404 */
#define AT_QUERY_MAX		8192	/* SPEC §11 */
#define AT_HEADER_MAX		8192	/* SPEC §11: header values */
#define AT_TRACE_ID_LEN		55	/* 00-<32 hex>-<16 hex>-00 */
#define AT_RESP_HEADERS		8
#define AT_RESP_BODY_MAX	(8u << 20)

enum at_method {
	AT_GET,
	AT_HEAD,
	AT_POST,
	AT_PUT,
	AT_DELETE,
	AT_PATCH,
	AT_OPTIONS,
	AT_METHOD_OTHER,
	AT_METHOD__MAX
};

const char *at_method_name(enum at_method m);

struct at_request {
	enum at_method method;
	const char *method_name;	/* as sent, for the log */
	const char *uri;		/* REQUEST_URI as sent */
	char path[AT_PATH_MAX];		/* percent-decoded path, no query */
	bool path_ok;			/* false: undecodable or too long */
	const char *query;		/* raw query string, never NULL */
	const char *content_type;	/* NULL when absent */
	long long content_length;	/* -1 when absent */
	const char *authorization;
	const char *remote_user;
	const char *remote_addr;
	const char *user_agent;
	const char *if_match;
	const char *original_uri;	/* verify: the request nginx asks about */
	const char *original_method;
	const char *original_remote_addr;	/* verify: that request's client */
	bool header_too_long;		/* some header value passed AT_HEADER_MAX */
	struct at_buf body;		/* read by the front, up to its limit */
	bool body_too_large;		/* the front stopped reading at the limit */
	char trace_id[AT_TRACE_ID_LEN + 1];
};

/* Parameter lookup provided by the front: the FastCGI environment. */
typedef const char *(*at_param_fn)(void *ud, const char *name);

/* Reset req and fill it from the FastCGI parameters; the body is read
 * separately by the front.  Makes the trace id (from a valid traceparent
 * header, else random). */
void at_request_fill(struct at_request *req, at_param_fn param, void *ud);

struct at_header {
	char name[32];
	char value[640];	/* X-Token-Modules: up to 64 module ids */
};

struct at_response {
	int status;
	char content_type[64];		/* "" for no body */
	struct at_header headers[AT_RESP_HEADERS];
	size_t nheaders;
	struct at_buf body;
};

void at_response_init(struct at_response *resp);
/* Forget status, headers and body, keeping the body's memory. */
void at_response_reset(struct at_response *resp);
void at_response_release(struct at_response *resp);
AT_MUST_CHECK enum at_err at_response_header(struct at_response *resp, const char *name,
					     const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *at_status_reason(int status);


/* Walk the query string's key=value pairs (split on '&'), percent-decoded
 * into key and val.  Returns 1 with a pair, 0 at the end, -1 when a pair
 * does not decode or does not fit. */
struct at_query_iter {
	const char *p;
};
int at_query_next(struct at_query_iter *it, char *key, size_t klen, char *val, size_t vlen);

#endif
