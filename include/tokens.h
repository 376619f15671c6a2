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
	const char *by_id;		/* USR-… or TKN-… that creates it */
	const char *by_name;
};

/* Insert a new Active token with its modules and count it, inside the
 * caller's transaction.  id receives the new id (AT_TOKEN_ID_LEN + 1
 * bytes), value the token value (AT_TOKEN_VALUE_LEN + 1 bytes; the caller
 * wipes it).  A colliding random id is retried with a new one. */
AT_MUST_CHECK enum at_err at_tokens_insert(struct at_db *db, const struct at_keys *keys,
					   enum at_reveal reveal, const struct at_token_new *t,
					   char *id, char *value);

#endif
