/* router.h: the route table and the gates every request passes.
 *
 * at_router_handle() is given a filled request and always leaves a
 * complete response: either the handler's, or a problem+json body for
 * the error the handler (or a gate) returned.  It is the one place where
 * an enum at_err becomes an HTTP status.
 */
#ifndef AT_ROUTER_H
#define AT_ROUTER_H

#include "ctx.h"

/* The verify endpoint: outside every public prefix, and behind an nginx
 * location marked internal. */
#define AT_VERIFY_PATH "/_apitokend/verify"

typedef enum at_err (*at_handler_fn)(struct at_ctx *ctx);

void at_router_handle(struct at_ctx *ctx);

/* The HTTP status for an error code (AT_OK gives 200). */
int at_err_status(enum at_err err);

#endif
