/* router.c: the route table, the gates, and errors into statuses. */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "isotime.h"
#include "log.h"
#include "router.h"
#include "token_store.h"
#include "token_cache.h"

enum route_flag {
	ROUTE_PUBLIC = 1 << 0,	/* no authentication */
	ROUTE_JSON = 1 << 1,	/* the body, if any, must be JSON */
	ROUTE_ICON = 1 << 2,	/* the body is an image up to max_icon */
	ROUTE_ADMIN = 1 << 3,	/* needs the access-management module */
	ROUTE_SELF = 1 << 4,	/* …or is a token reading itself ({id}) */
};

struct route {
	enum at_method method;
	const char *pattern;	/* "{id}" matches one segment */
	at_handler_fn handler;
	unsigned flags;
};

/* Static segments before "{id}" ones: the first pattern that matches a
 * path names the resource, and 405 lists the methods of that pattern. */
#define TOKEN_ROUTES(base) \
	{ AT_GET, base, at_tokens_list, ROUTE_ADMIN }, \
	{ AT_POST, base, at_tokens_create, ROUTE_ADMIN | ROUTE_JSON }, \
	/* before {id}: "bulk" is no token id, and GET/PUT/DELETE get 405 */ \
	{ AT_POST, base "/bulk", at_tokens_bulk, ROUTE_ADMIN | ROUTE_JSON }, \
	{ AT_GET, base "/{id}", at_tokens_get, ROUTE_ADMIN | ROUTE_SELF }, \
	{ AT_PUT, base "/{id}", at_tokens_update, ROUTE_ADMIN | ROUTE_JSON }, \
	{ AT_DELETE, base "/{id}", at_tokens_delete, ROUTE_ADMIN }, \
	{ AT_POST, base "/{id}/enable", at_tokens_enable, ROUTE_ADMIN | ROUTE_JSON }, \
	{ AT_POST, base "/{id}/disable", at_tokens_disable, ROUTE_ADMIN }, \
	{ AT_POST, base "/{id}/rotate", at_tokens_rotate, ROUTE_ADMIN | ROUTE_JSON }, \
	{ AT_GET, base "/{id}/icon", at_tokens_icon_get, ROUTE_ADMIN | ROUTE_SELF }, \
	{ AT_PUT, base "/{id}/icon", at_tokens_icon_put, ROUTE_ADMIN | ROUTE_ICON }, \
	{ AT_GET, base "/{id}/audit", at_tokens_audit, ROUTE_ADMIN }

static const struct route routes[] = {
	{ AT_GET, "/settings/api-tokens/health", at_health_get, ROUTE_PUBLIC },
	/* authenticates by itself: refusals must not depend on the route */
	{ AT_GET, AT_VERIFY_PATH, at_verify, ROUTE_PUBLIC },
	{ AT_GET, "/settings/api-tokens/modules", at_modules_grantable, ROUTE_ADMIN },
	TOKEN_ROUTES("/settings/api-tokens"),
	TOKEN_ROUTES("/public/v1/accounts/api-tokens"),
	{ AT_GET, "/public/v1/audit/records", at_audit_list, ROUTE_ADMIN },
	{ AT_POST, "/public/v1/audit/records", at_audit_create, ROUTE_JSON },
	{ AT_GET, "/public/v1/audit/records/{id}", at_audit_get, ROUTE_ADMIN },
	{ AT_GET, "/public/v1/accounts/modules", at_modules_list, 0 },
	{ AT_GET, "/public/v1/accounts/modules/{id}", at_modules_get, 0 },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

int at_err_status(enum at_err err)
{
	switch (err) {
	case AT_OK: return 200;
	case AT_ERR_INVALID: return 400;
	case AT_ERR_AUTH: return 401;
	case AT_ERR_FORBIDDEN: return 403;
	case AT_ERR_NOT_FOUND: return 404;
	case AT_ERR_METHOD: return 405;
	case AT_ERR_CONFLICT: return 409;
	case AT_ERR_PRECONDITION: return 412;
	case AT_ERR_TOO_LARGE: return 413;
	case AT_ERR_MEDIA_TYPE: return 415;
	case AT_ERR_UNAVAILABLE:
	case AT_ERR_RETRY:	/* still deadlocked after the retries */
		return 503;
	default: return 500;
	}
}

/* Does path match pattern?  Fills params with the {id} segments. */
static bool route_match(const char *pattern, const char *path,
			char params[AT_ROUTE_PARAMS][AT_PARAM_MAX])
{
	const char *p = pattern, *s = path;
	size_t np = 0, seg;

	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		seg = strcspn(s, "/");
		if (!strncmp(p, "{id}", 4) && (p[4] == '/' || !p[4])) {
			if (seg == 0 || seg >= AT_PARAM_MAX || np >= AT_ROUTE_PARAMS)
				return false;
			memcpy(params[np], s, seg);
			params[np][seg] = '\0';
			np++;
			p += 4;
		} else {
			size_t plen = strcspn(p, "/");

			if (plen != seg || strncmp(p, s, seg))
				return false;
			p += plen;
		}
		s += seg;
	}
	/* one trailing slash is forgiven: /settings/api-tokens/ */
	return !*p && (!*s || !strcmp(s, "/"));
}

static bool is_json_type(const char *ct)
{
	size_t n;

	if (!ct)
		return false;
	n = strcspn(ct, ";");
	while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	/* application/json, text/json, application/<anything>+json */
	if ((n == 16 && !strncasecmp(ct, "application/json", 16)) ||
	    (n == 9 && !strncasecmp(ct, "text/json", 9)))
		return true;
	return n > 17 && !strncasecmp(ct, "application/", 12) &&
	       !strncasecmp(ct + n - 5, "+json", 5);
}

static enum at_err allow_header(struct at_ctx *ctx, const char *pattern)
{
	char allow[128] = "";
	size_t i, len = 0;
	int n;

	for (i = 0; i < NROUTES; i++) {
		if (strcmp(routes[i].pattern, pattern))
			continue;
		n = snprintf(allow + len, sizeof(allow) - len, "%s%s", len ? ", " : "",
			     at_method_name(routes[i].method));
		if (n < 0 || (size_t)n >= sizeof(allow) - len)
			return AT_ERR_INTERNAL;
		len += (size_t)n;
		if (routes[i].method == AT_GET) {
			n = snprintf(allow + len, sizeof(allow) - len, ", HEAD");
			if (n < 0 || (size_t)n >= sizeof(allow) - len)
				return AT_ERR_INTERNAL;
			len += (size_t)n;
		}
	}
	return at_response_header(ctx->resp, "Allow", "%s", allow);
}

static enum at_err read_body(struct at_ctx *ctx, const struct route *r)
{
	struct at_request *req = ctx->req;
	size_t limit = r->flags & ROUTE_ICON ? ctx->settings->max_icon
					     : ctx->settings->max_body;
	enum at_err rc;

	if (req->content_length > 0 && (unsigned long long)req->content_length > limit) {
		at_problem_detail(&ctx->problem, "The request body is larger than %zu bytes.",
				  limit);
		return AT_ERR_TOO_LARGE;
	}
	rc = ctx->read_body ? ctx->read_body(ctx->front, &req->body, limit) : AT_OK;
	if (rc == AT_ERR_TOO_LARGE)
		at_problem_detail(&ctx->problem, "The request body is larger than %zu bytes.",
				  limit);
	if (rc)
		return rc;
	if ((r->flags & ROUTE_JSON) && req->body.len && !is_json_type(req->content_type))
		return AT_ERR_MEDIA_TYPE;
	return AT_OK;
}

/* Who is calling, and may they use this route? */
static enum at_err authorize(struct at_ctx *ctx, const struct route *r)
{
	const struct at_caller *c = &ctx->caller;
	struct at_auth_in in = at_auth_in_of(ctx, NULL);
	const char *why = NULL;
	bool stale;
	enum at_err rc;

	in.why = &why;
	if ((rc = at_auth_caller(&in, &ctx->caller, &stale))) {
		if (rc == AT_ERR_UNAVAILABLE)
			at_problem_internal(&ctx->problem, "auth: %s", at_db_error(ctx->db));
		if (why)
			at_problem_detail(&ctx->problem, "%s", why);
		return rc;
	}
	if (stale)
		at_strlcpy(ctx->touch_id, c->id, sizeof(ctx->touch_id));
	if (!(r->flags & ROUTE_ADMIN) || c->access_management)
		return AT_OK;
	/* a token may read its own record, as API clients do to learn
	 * their account */
	if ((r->flags & ROUTE_SELF) && c->kind == AT_CALLER_TOKEN &&
	    !strcmp(ctx->params[0], c->id))
		return AT_OK;
	at_problem_detail(&ctx->problem, "This needs the Access Management module.");
	return AT_ERR_FORBIDDEN;
}

/* The gates, in order; returns the route to run or an error. */
static enum at_err route(struct at_ctx *ctx, const struct route **out)
{
	struct at_request *req = ctx->req;
	enum at_method method = req->method == AT_HEAD ? AT_GET : req->method;
	const struct route *found = NULL;
	enum at_err rc;
	size_t i;

	if (!req->path_ok)
		return AT_ERR_NOT_FOUND;
	if (req->header_too_long) {
		at_problem_field(&ctx->problem, "headers",
				 "A header value is longer than %d bytes.", AT_HEADER_MAX);
		return AT_ERR_INVALID;
	}
	if (strlen(req->query) > AT_QUERY_MAX) {
		at_problem_field(&ctx->problem, "query",
				 "The query string is longer than %d bytes.", AT_QUERY_MAX);
		return AT_ERR_INVALID;
	}
	for (i = 0; i < NROUTES; i++) {
		if (route_match(routes[i].pattern, req->path, ctx->params)) {
			found = &routes[i];
			break;
		}
	}
	if (!found)
		return AT_ERR_NOT_FOUND;
	for (i = 0; i < NROUTES; i++) {
		if (routes[i].method == method && !strcmp(routes[i].pattern, found->pattern)) {
			*out = &routes[i];
			break;
		}
	}
	if (!*out) {
		if (allow_header(ctx, found->pattern))
			return AT_ERR_INTERNAL;
		return AT_ERR_METHOD;
	}
	if (!((*out)->flags & ROUTE_PUBLIC) && (rc = authorize(ctx, *out)))
		return rc;
	if (method == AT_POST || method == AT_PUT || method == AT_PATCH)
		return read_body(ctx, *out);
	return AT_OK;
}

/* after the answer went out: lastAccessAt when due, and the address */
static void touch_after(struct at_ctx *ctx)
{
	if (ctx->touch_id[0])
		at_auth_touch(ctx->db, ctx->touch_id);
	if (ctx->usage_ip[0])
		at_token_usage_note(ctx->db, ctx->caller.id, ctx->usage_ip, at_iso_now_ms());
}

static void reply_error(struct at_ctx *ctx, enum at_err err, const struct route *r)
{
	struct at_response *resp = ctx->resp;
	int status = at_err_status(err);
	size_t keep = resp->nheaders;

	if (status >= 500 && !ctx->problem.internal[0])
		at_problem_internal(&ctx->problem, "%s", at_err_str(err));
	/* only headers the gates set for this error (Allow) survive */
	if (status != 405)
		keep = 0;
	resp->nheaders = keep;
	if (status == 503 && at_response_header(resp, "Retry-After", "%d", 5))
		resp->nheaders = keep;
	/* RFC 9110: a 401 names the scheme it wants */
	if (status == 401 && at_response_header(resp, "WWW-Authenticate", "Bearer"))
		resp->nheaders = keep;
	/* nginx answers verify's refusals itself (auth_request keeps only the
	 * status): the detail, for the body it writes */
	if (r && r->handler == at_verify && (status == 401 || status == 403) &&
	    at_response_header(resp, "X-Problem-Detail", "%s",
			       at_problem_detail_text(&ctx->problem, status)))
		resp->nheaders = keep;
	if (at_problem_render(resp, status, &ctx->problem, ctx->req->trace_id)) {
		/* out of memory even for the problem: a fixed body */
		resp->status = 500;
		at_strlcpy(resp->content_type, "application/problem+json",
			   sizeof(resp->content_type));
		at_buf_reset(&resp->body);
		if (at_buf_puts(&resp->body, "{\"title\":\"Internal Server Error\",\"status\":500}"))
			resp->content_type[0] = '\0';
	}
}

void at_router_handle(struct at_ctx *ctx)
{
	const struct route *r = NULL;
	enum at_err rc;

	at_problem_clear(&ctx->problem);
	ctx->after = NULL;
	ctx->touch_id[0] = '\0';
	ctx->usage_ip[0] = '\0';
	ctx->caller.kind = AT_CALLER_NONE;
	ctx->caller.id[0] = '\0';
	rc = route(ctx, &r);
	if (!rc) {
		rc = r->handler(ctx);
		/* what it changed is committed: this process's cached
		 * answers check the change counter again first */
		if (ctx->req->method != AT_GET && ctx->req->method != AT_HEAD)
			at_token_cache_stale(ctx->cache);
	}
	if (rc)
		reply_error(ctx, rc, r);
	/* a use is a request that succeeded: a refused verify is none */
	else if (ctx->caller.kind == AT_CALLER_TOKEN) {
		if (ctx->req->remote_addr)
			at_strlcpy(ctx->usage_ip, ctx->req->remote_addr, sizeof(ctx->usage_ip));
		ctx->after = touch_after;
	}
}
