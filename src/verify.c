/* verify.c: the nginx auth_request target (SPEC §8), the hot path.
 *
 * nginx's internal location passes the request it asks about as the
 * FastCGI parameters ORIGINAL_URI and ORIGINAL_METHOD, which no client can
 * set; without them this is not a verify call and answers 404.  The
 * answer is 204 with the token's identity in X- headers for nginx to pass
 * upstream (X-Token-Value: current, or previous for the value a rotation
 * replaced, inside its window), 401 for any bad token, 403 when none of
 * the token's modules grants the path or the client address is outside
 * the token's allowedIps.  nginx answers a refusal with a body of its
 * own, so the router passes the detail along in X-Problem-Detail
 * (verify's details are fixed sentences without quotes: nginx pastes it
 * into JSON).
 */
#include <string.h>

#include "handlers.h"
#include "http.h"

/* A module path prefix covers the path itself and everything below it at
 * a segment boundary: /a/b covers /a/b and /a/b/x, not /a/bc; a prefix
 * with a trailing slash also covers itself without it. */
static bool prefix_covers(const char *prefix, size_t plen, const char *path)
{
	size_t len = strlen(path);

	if (plen && prefix[plen - 1] == '/') {
		if (len == plen - 1 && !strncmp(path, prefix, len))
			return true;
		return len >= plen && !strncmp(path, prefix, plen);
	}
	return len >= plen && !strncmp(path, prefix, plen) &&
	       (path[plen] == '\0' || path[plen] == '/');
}

/* The decoded path of the original request, refusing what nginx would
 * have normalised differently ("." and ".." segments, empty segments): a
 * path that could mean two things is not granted. */
static bool original_path(const char *uri, char *out, size_t n)
{
	size_t len = strcspn(uri, "?#");
	const char *seg;

	if (!at_percent_decode(out, n, uri, len) || out[0] != '/')
		return false;
	for (seg = out + 1;; seg += strcspn(seg, "/") + 1) {
		size_t sl = strcspn(seg, "/");

		if ((sl == 0 && seg[0] == '/') || (sl == 1 && seg[0] == '.') ||
		    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
			return false;
		if (!seg[sl])
			return true;
	}
}

struct grant_check {
	const char *path;	/* NULL when not canonical: nothing grants it */
	bool ok;
};

static void check_prefix(void *arg, const char *prefix, size_t plen)
{
	struct grant_check *g = arg;

	if (!g->ok && g->path && prefix_covers(prefix, plen, g->path))
		g->ok = true;
}

enum at_err at_verify(struct at_ctx *ctx)
{
	const struct at_caller *c = &ctx->caller;
	char path[AT_PATH_MAX], mods[AT_CALLER_MODULES * AT_MODULE_ID_MAX];
	struct grant_check g = { .path = path };
	struct at_auth_paths paths = { .each = check_prefix, .arg = &g };
	struct at_auth_in in;
	const char *why = NULL;
	size_t i, len = 0;
	bool stale;
	enum at_err rc;

	if (!ctx->req->original_uri)
		return AT_ERR_NOT_FOUND;
	if (!original_path(ctx->req->original_uri, path, sizeof(path)))
		g.path = NULL;
	/* the token, its modules and the paths they grant: one round trip */
	in = at_auth_in_of(ctx, &paths);
	in.why = &why;
	if ((rc = at_auth_caller(&in, &ctx->caller, &stale))) {
		if (why)
			at_problem_detail(&ctx->problem, "%s", why);
		return rc;
	}
	if (stale)
		at_strlcpy(ctx->touch_id, c->id, sizeof(ctx->touch_id));
	if (c->kind != AT_CALLER_TOKEN)
		return AT_ERR_AUTH;	/* only tokens guard the platform's APIs */
	if (!g.path) {
		at_problem_detail(&ctx->problem, "The request path is not in canonical form.");
		return AT_ERR_FORBIDDEN;
	}
	if (!g.ok) {
		at_problem_detail(&ctx->problem, "None of the token's modules grants this path.");
		return AT_ERR_FORBIDDEN;
	}
	mods[0] = '\0';
	for (i = 0; i < c->nmodules; i++) {
		size_t n = strlen(c->modules[i]);

		if (len + n + 2 > sizeof(mods))
			break;
		if (len)
			mods[len++] = ',';
		memcpy(mods + len, c->modules[i], n + 1);
		len += n;
	}
	ctx->resp->status = 204;
	ctx->resp->content_type[0] = '\0';
	if ((rc = at_response_header(ctx->resp, "X-Token-Id", "%s", c->id)) ||
	    (rc = at_response_header(ctx->resp, "X-Account-Id", "%s", c->account_id)) ||
	    (rc = at_response_header(ctx->resp, "X-Account-Type", "%s",
				     at_account_type_name(c->account_type))) ||
	    (rc = at_response_header(ctx->resp, "X-Token-Modules", "%s", mods)))
		return rc;
	/* restrictions: nginx's limit_req zone of this tier (absent: none) */
	if (c->rate_limit &&
	    (rc = at_response_header(ctx->resp, "X-Token-Rate-Limit", "%lld", c->rate_limit)))
		return rc;
	/* rotation: which of the two values matched, nothing more of it */
	if ((rc = at_response_header(ctx->resp, "X-Token-Value", "%s",
				     c->previous_value ? "previous" : "current")))
		return rc;
	return AT_OK;
}
