/* auth.h: who is calling (SPEC §7).
 *
 * A caller is an API token (Authorization: Bearer idt:…) or a user the web
 * server vouched for in REMOTE_USER, trusted only when the configuration
 * says so.  HTTP headers never carry identity otherwise.  Every refusal
 * is the same AT_ERR_AUTH, whatever the cause, so a client cannot tell a
 * disabled token from a wrong one.
 */
#ifndef AT_AUTH_H
#define AT_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define AT_ID_MAX		24	/* USR-dddd-dddd, TKN-…, AUD-… and NUL */
#define AT_NAME_MAX		(200 * 4 + 1)	/* 200 characters of UTF-8 */
#define AT_MODULE_ID_MAX	9	/* MOD-dddd */
#define AT_CALLER_MODULES	64

enum at_account_type {
	AT_ACCOUNT_CLIENT,
	AT_ACCOUNT_VENDOR,
	AT_ACCOUNT_OPERATIONS,
	AT_ACCOUNT__MAX
};

enum at_caller_kind {
	AT_CALLER_NONE,
	AT_CALLER_USER,
	AT_CALLER_TOKEN,
};

struct at_caller {
	enum at_caller_kind kind;
	char id[AT_ID_MAX];
	char name[AT_NAME_MAX];
	char account_id[AT_ID_MAX];
	char account_name[AT_NAME_MAX];
	enum at_account_type account_type;
	char modules[AT_CALLER_MODULES][AT_MODULE_ID_MAX];	/* held modules */
	size_t nmodules;
	bool access_management;		/* holds the module of that code */
	long long rate_limit;		/* a token's requests per minute, 0 for none */
	/* rotation: a token that presented the value its latest rotation
	 * replaced, inside the overlap window */
	bool previous_value;
};

struct at_db;
struct at_keys;
struct at_token_cache;

/* For verify: each path prefix the token's modules grant passed to
 * each() (as stored, len bytes, a prefix once per module that grants
 * it), in the same round trip as the token. */
struct at_auth_paths {
	void (*each)(void *arg, const char *prefix, size_t len);
	void *arg;
};

/* What a request says about its caller, and what checking it needs. */
struct at_auth_in {
	const char *authorization;	/* the Authorization header, or NULL */
	const char *remote_user;	/* REMOTE_USER, or NULL */
	bool trust_remote_user;		/* the configuration vouches for it */
	struct at_db *db;
	const struct at_keys *keys;
	const struct at_auth_paths *paths;	/* verify only; NULL otherwise */
	/* restrictions: the client address a token's allowedIps is checked
	 * against (NULL: none known, refused by a list), and where the
	 * reason goes when a token with the right secret is refused for its
	 * expiry, not-before or address (may be NULL) */
	const char *client_addr;
	const char **why;
	struct at_token_cache *cache;		/* verified tokens (NULL: none) */
};

/* Establish *c from the request, or return AT_ERR_AUTH (or
 * AT_ERR_UNAVAILABLE when the database is down; *c is then empty).
 * A token past its expiresAt or before its notBefore is AT_ERR_AUTH, one
 * used from an address outside its allowedIps AT_ERR_FORBIDDEN, each
 * with its reason in *in->why.
 * *stale: the token's lastAccessAt is due a write (at_auth_touch). */
AT_MUST_CHECK enum at_err at_auth_caller(const struct at_auth_in *in, struct at_caller *c,
					 bool *stale);

/* Make *c the user user_id (an operator's tool acting for a named user);
 * AT_ERR_AUTH when there is no such active user. */
AT_MUST_CHECK enum at_err at_auth_load_user(struct at_db *db, const char *user_id,
					    struct at_caller *c);

/* lastAccessAt of token_id: run after the answer has gone out, and only
 * for a request that succeeded. */
void at_auth_touch(struct at_db *db, const char *token_id);

/* Is module_id one of the n ids? */
bool at_module_listed(const char (*ids)[AT_MODULE_ID_MAX], size_t n, const char *module_id);
bool at_caller_holds(const struct at_caller *c, const char *module_id);
/* An Operations caller: sees and acts on every account. */
bool at_caller_is_ops(const struct at_caller *c);
/* May this caller see and touch objects of that account? */
bool at_caller_sees_account(const struct at_caller *c, const char *account_id);

const char *at_account_type_name(enum at_account_type t);
bool at_account_type_parse(const char *s, enum at_account_type *t);

#endif
