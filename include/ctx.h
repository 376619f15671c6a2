/* ctx.h: one request being served, and the replies handlers give.
 *
 * The router fills a struct at_ctx per request and hands it to a
 * handler (handlers.h); the handler parses, calls the domain layer and
 * answers with the helpers below (reply.c).  Nothing here knows the
 * route table.
 */
#ifndef AT_CTX_H
#define AT_CTX_H

#include <stdatomic.h>
#include <stdbool.h>

#include "auth.h"
#include "crypto.h"
#include "db.h"
#include "domain.h"
#include "http.h"
#include "problem.h"
#include "settings.h"

#define AT_ROUTE_PARAMS 2
#define AT_PARAM_MAX 64

/* Read the request body into req->body, at most limit bytes; the front
 * provides it so that a body is only read once a route wants it. */
typedef enum at_err (*at_body_fn)(void *front, struct at_buf *out, size_t limit);

struct at_ctx {
	/* set by the front, for the life of the worker */
	const struct at_settings *settings;
	const struct at_keys *keys;
	struct at_db *db;
	at_body_fn read_body;
	void *front;
	/* where keys is refreshed from before each request (SIGHUP reloads
	 * the key file); NULL in tools that load keys once */
	struct at_keys *_Atomic *keyring;
	/* the process's verified tokens, shared by the workers (NULL: none) */
	struct at_token_cache *cache;
	/* the process's list pages, shared by the workers (NULL: none) */
	struct at_page_cache *pages;

	/* per request */
	struct at_request *req;
	struct at_response *resp;
	struct at_problem problem;
	char params[AT_ROUTE_PARAMS][AT_PARAM_MAX];	/* {id} segments in order */
	struct at_caller caller;			/* kind NONE on public routes */
	/* run by the front after the response has gone out */
	void (*after)(struct at_ctx *ctx);
	char touch_id[AT_ID_MAX];			/* token whose lastAccessAt is stale */
	/* last-used addresses: the client address of a token's request
	 * that succeeded (copied: the request's strings are gone by then) */
	char usage_ip[64];
};

/* d for a call into the domain layer on behalf of this request: its
 * caller acts, its client address, User-Agent and traceId are the
 * origin, refusals land in ctx->problem. */
void at_ctx_dom(struct at_ctx *ctx, struct at_dom *d);

/* What auth needs to know of the request being served. */
struct at_auth_in at_auth_in_of(const struct at_ctx *ctx, const struct at_auth_paths *paths);

/* rc unchanged; when it is a database failure, the server's message goes
 * to ctx->problem's internal cause (the log), never to the client. */
enum at_err at_db_failed(struct at_ctx *ctx, enum at_err rc);

/* Walk the query string of a one-object read: take() gets each pair and
 * returns AT_OK when it used it, AT_ERR_NOT_FOUND for a parameter it does
 * not know (400 naming it: a misspelt one must not be ignored), or an
 * error it has explained in ctx->problem.  take may be NULL: no
 * parameter at all. */
typedef enum at_err (*at_query_take_fn)(struct at_ctx *ctx, const char *key, char *val,
					void *ud);
AT_MUST_CHECK enum at_err at_query_each(struct at_ctx *ctx, at_query_take_fn take, void *ud);

struct at_rql_query;
struct at_rql_resource;
/* A one-object read's select=val applied to q (at_rql_select); a bad one
 * is a 400 naming select. */
AT_MUST_CHECK enum at_err at_query_select(struct at_ctx *ctx, struct at_rql_query *q,
					  const struct at_rql_resource *res, const char *val);

struct at_jw;
/* Start a JSON reply: status, its content type, an empty body, and w
 * writing into it.  The handler writes one value and returns
 * at_jw_finish(w). */
void at_reply_begin(struct at_ctx *ctx, int status, struct at_jw *w);

#endif
