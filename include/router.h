/* router.h: the route table and the gates every request passes.
 *
 * at_router_handle() is given a filled request and always leaves a
 * complete response: either the handler's, or a problem+json body for
 * the error the handler (or a gate) returned.  It is the one place where
 * an enum at_err becomes an HTTP status.
 */
#ifndef AT_ROUTER_H
#define AT_ROUTER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "auth.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "problem.h"
#include "settings.h"

/* The verify endpoint: outside every public prefix, and behind an nginx
 * location marked internal. */
#define AT_VERIFY_PATH "/_apitokend/verify"

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

	/* per request */
	struct at_request *req;
	struct at_response *resp;
	struct at_problem problem;
	char params[AT_ROUTE_PARAMS][AT_PARAM_MAX];	/* {id} segments in order */
	struct at_caller caller;			/* kind NONE on public routes */
	/* run by the front after the response has gone out */
	void (*after)(struct at_ctx *ctx);
	char touch_id[AT_ID_MAX];			/* token whose lastAccessAt is stale */
};

struct json_object;

typedef enum at_err (*at_handler_fn)(struct at_ctx *ctx);

void at_router_handle(struct at_ctx *ctx);

/* What auth needs to know of the request being served. */
struct at_auth_in at_auth_in_of(const struct at_ctx *ctx, const struct at_auth_paths *paths);

/* The HTTP status for an error code (AT_OK gives 200). */
int at_err_status(enum at_err err);

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

struct at_jw;
/* Start a JSON reply: status, its content type, an empty body, and w
 * writing into it.  The handler writes one value and returns
 * at_jw_finish(w). */
void at_reply_begin(struct at_ctx *ctx, int status, struct at_jw *w);

/* Reply status with obj as the JSON body; takes ownership of obj. */
AT_MUST_CHECK enum at_err at_reply_json(struct at_ctx *ctx, int status,
					struct json_object *obj);

#endif
