/* handlers.h: the resource handlers the route table points at.
 *
 * A handler reads ctx->req (already routed and gated), writes
 * ctx->resp through at_reply_json() and returns AT_OK, or fills
 * ctx->problem and returns the error.
 */
#ifndef AT_HANDLERS_H
#define AT_HANDLERS_H

#include "router.h"

/* health.c */
enum at_err at_health_get(struct at_ctx *ctx);

#endif
