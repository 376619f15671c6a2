/* tokens.h: the API token resource (SPEC §2-4) and its shared parts. */
#ifndef AT_TOKENS_H
#define AT_TOKENS_H

#include <stddef.h>

#include "crypto.h"
#include "db.h"
#include "settings.h"

#define AT_TOKEN_NAME_CHARS 200
#define AT_TOKEN_DESCRIPTION_CHARS 2000
#define AT_TOKEN_MODULES_MAX 64

struct at_token_new {
	const char *account_id;
	const char *name;
	const char *description;	/* NULL for none */
	const char *const *modules;	/* validated MOD-dddd ids */
	size_t nmodules;
};

struct at_ctx;

/* Insert a new Active token with its modules, count it and write its
 * audit record, inside the caller's transaction; ctx->caller is the
 * creator.  id receives the new id (AT_TOKEN_ID_LEN + 1 bytes), value the
 * token value (AT_TOKEN_VALUE_LEN + 1 bytes; the caller wipes it).  A
 * colliding random id is retried with a new one. */
AT_MUST_CHECK enum at_err at_tokens_insert(struct at_ctx *ctx, const struct at_token_new *t,
					   char *id, char *value);

/* Remove a module from an account: every token of the account loses it,
 * each change audited, inside the caller's transaction.  *changed counts
 * the tokens that held it. */
AT_MUST_CHECK enum at_err at_tokens_strip_module(struct at_ctx *ctx, const char *account_id,
						 const char *module_id, unsigned *changed);

/* The database-free checks of a create body (ctx->req->body): JSON shape,
 * name, description, icon, modules.  AT_OK or an error with ctx->problem
 * filled.  What create runs first; the fuzz harness runs it alone. */
AT_MUST_CHECK enum at_err at_tokens_check_body(struct at_ctx *ctx);

/* "image/png" or "image/jpeg" from the magic bytes, NULL for neither. */
const char *at_icon_type(const unsigned char *p, size_t n);

#endif
