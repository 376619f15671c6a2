/* handlers.h: the resource handlers the route table points at.
 *
 * A handler reads ctx->req (already routed and gated), writes
 * ctx->resp through at_reply_begin() and returns AT_OK, or fills
 * ctx->problem and returns the error.
 */
#ifndef AT_HANDLERS_H
#define AT_HANDLERS_H

#include "ctx.h"
#include "domain.h"

/* health.c */
enum at_err at_health_get(struct at_ctx *ctx);

/* tokens.c: both mounts, …/api-tokens[/{id}[/enable|/disable|/icon]] */
enum at_err at_tokens_list(struct at_ctx *ctx);
enum at_err at_tokens_create(struct at_ctx *ctx);
enum at_err at_tokens_get(struct at_ctx *ctx);
enum at_err at_tokens_update(struct at_ctx *ctx);
enum at_err at_tokens_delete(struct at_ctx *ctx);
enum at_err at_tokens_enable(struct at_ctx *ctx);
enum at_err at_tokens_disable(struct at_ctx *ctx);
enum at_err at_tokens_icon_put(struct at_ctx *ctx);
enum at_err at_tokens_icon_get(struct at_ctx *ctx);
/* …/api-tokens/bulk: one action on many tokens (token_bulk.h) */
enum at_err at_tokens_bulk(struct at_ctx *ctx);
/* …/{id}/rotate */
enum at_err at_tokens_rotate(struct at_ctx *ctx);

/* audit.c: /public/v1/audit/records[/{id}] */
enum at_err at_audit_list(struct at_ctx *ctx);
enum at_err at_audit_get(struct at_ctx *ctx);
enum at_err at_audit_create(struct at_ctx *ctx);
/* Records of one object of account_id (the caller checked visibility). */
enum at_err at_audit_object_list(struct at_ctx *ctx, const char *object_id,
				 const char *account_id);
/* tokens.c: /settings/api-tokens/{id}/audit */
enum at_err at_tokens_audit(struct at_ctx *ctx);

/* verify.c: the nginx auth_request target */
enum at_err at_verify(struct at_ctx *ctx);

/* modules.c */
enum at_err at_modules_grantable(struct at_ctx *ctx);	/* /settings/api-tokens/modules */
enum at_err at_modules_list(struct at_ctx *ctx);	/* /public/v1/accounts/modules */
enum at_err at_modules_get(struct at_ctx *ctx);

#endif
