/* reply.c: what handlers answer with, and the query of a one-object read. */
#include <string.h>

#include "ctx.h"
#include "json.h"
#include "rql.h"

enum at_err at_query_each(struct at_ctx *ctx, at_query_take_fn take, void *ud)
{
	struct at_query_iter it = { ctx->req->query };
	char key[64], val[1024];
	enum at_err rc;
	int r;

	while ((r = at_query_next(&it, key, sizeof(key), val, sizeof(val))) == 1) {
		rc = take ? take(ctx, key, val, ud) : AT_ERR_NOT_FOUND;
		if (rc == AT_ERR_NOT_FOUND) {
			at_problem_field(&ctx->problem, "query", "Unknown query parameter '%.40s'.",
					 key);
			return AT_ERR_INVALID;
		}
		if (rc)
			return rc;
	}
	if (r < 0) {
		at_problem_field(&ctx->problem, "query",
				 "The query string is not valid percent-encoding.");
		return AT_ERR_INVALID;
	}
	return AT_OK;
}

enum at_err at_query_select(struct at_ctx *ctx, struct at_rql_query *q,
			    const struct at_rql_resource *res, const char *val)
{
	enum at_err rc = at_rql_select(q, res, val);

	if (rc == AT_ERR_INVALID)
		at_problem_field(&ctx->problem, q->error.key, "%s", q->error.message);
	return rc;
}

enum at_err at_db_failed(struct at_ctx *ctx, enum at_err rc)
{
	struct at_dom dom = { .db = ctx->db, .problem = &ctx->problem };

	return at_dom_db_failed(&dom, rc);
}

void at_reply_begin(struct at_ctx *ctx, int status, struct at_jw *w)
{
	struct at_response *resp = ctx->resp;

	resp->status = status;
	at_strlcpy(resp->content_type, "application/json", sizeof(resp->content_type));
	at_buf_reset(&resp->body);
	at_jw_init(w, &resp->body);
}

void at_ctx_dom(struct at_ctx *ctx, struct at_dom *d)
{
	*d = (struct at_dom){
		.db = ctx->db,
		.keys = ctx->keys,
		.settings = ctx->settings,
		.actor = &ctx->caller,
		.origin = {
			.ip = ctx->req->remote_addr,
			.user_agent = ctx->req->user_agent,
			.request_id = ctx->req->trace_id,
		},
		.problem = &ctx->problem,
	};
}

struct at_auth_in at_auth_in_of(const struct at_ctx *ctx, const struct at_auth_paths *paths)
{
	const struct at_request *req = ctx->req;
	/* verify checks the request nginx asks about; its client comes in
	 * ORIGINAL_REMOTE_ADDR (REMOTE_ADDR holds the same) */
	const char *client = paths && req->original_remote_addr ? req->original_remote_addr
								  : req->remote_addr;

	return (struct at_auth_in){
		.authorization = ctx->req->authorization,
		.remote_user = ctx->req->remote_user,
		.trust_remote_user = ctx->settings->trust_remote_user,
		.db = ctx->db,
		.keys = ctx->keys,
		.paths = paths,
		.client_addr = client,
		.cache = ctx->cache,
	};
}
