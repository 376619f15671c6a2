/* token_store_int.h: what the files of the token rules share
 * (token_store.c, token_state.c, token_rotate.c); not for other callers.
 */
#ifndef AT_TOKEN_STORE_INT_H
#define AT_TOKEN_STORE_INT_H

#include "db.h"
#include "token_store.h"

/* ---- the change machinery (token_store.c) ------------------------------- */

/* A change of one token in one transaction; on the heap, as the token
 * is large. */
struct at_token_job {
	const struct at_dom *dom;
	const char *id;
	const struct at_rev_cond *expect;
	struct at_token t;
	const struct at_token_body *body;	/* update */
	bool valid;
	enum at_token_state_change change;	/* enable, disable, delete */
	int64_t expires_ms;			/* enable: the new expiry, 0 for none */
	const char *icon_type;			/* icon upload */
	const void *icon;
	size_t icon_len;
};

/* Lock the token and read it with its modules; visibility, Deleted and
 * the expected revision are checked here for every change. */
AT_MUST_CHECK enum at_err at_token_lock(const struct at_dom *dom, const char *id,
					const struct at_rev_cond *expect, struct at_token *t);
/* tx over a heap copy of init, in a transaction of its own, or (own_tx
 * false) in the caller's. */
AT_MUST_CHECK enum at_err at_token_job_run(const struct at_dom *dom, const char *id,
					   const struct at_rev_cond *expect,
					   struct at_token_job *init,
					   enum at_err (*tx)(void *arg), bool own_tx);
/* at_token_job_run in a transaction of its own. */
AT_MUST_CHECK enum at_err at_token_change_run(const struct at_dom *dom, const char *id,
					      const struct at_rev_cond *expect,
					      struct at_token_job *init,
					      enum at_err (*tx)(void *arg));
/* The record of a change (the token before it, the fields it changed),
 * once it is written; releases before. */
AT_MUST_CHECK enum at_err at_token_audit_change(const struct at_dom *dom, const char *id,
						enum at_token_audit_event ev,
						struct at_buf *before,
						const char *const *changes, size_t nchanges);

/* ---- restrictions (token_state.c) --------------------------------------- */

/* The account's maximum token lifetime in seconds, 0 for none. */
AT_MUST_CHECK enum at_err at_token_account_lifetime(const struct at_dom *dom,
						    const char *account_id, long long *seconds);
/* expiresAt within the account's maximum lifetime (max seconds, 0: none)
 * of now; given: the request named expiresAt (null included).  false
 * with the field's reason in dom->problem. */
bool at_token_within_lifetime(const struct at_dom *dom, long long max, int64_t expires_ms,
			      bool given);
/* notBefore earlier than expiresAt (either 0: none); false with the
 * field's reason in dom->problem. */
bool at_token_valid_window(const struct at_dom *dom, int64_t not_before_ms, int64_t expires_ms);
/* A DATETIME(3) parameter from epoch ms (0: NULL); text holds
 * AT_DATETIME_TEXT bytes. */
struct at_db_param at_token_time_param(int64_t ms, char *text);
/* Write the token's restrictions (expiry, notBefore, allowed addresses,
 * rate limit; 0, NULL or "": none). */
AT_MUST_CHECK enum at_err at_token_write_restrictions(const struct at_dom *dom, const char *id,
						      int64_t expires_ms, int64_t not_before_ms,
						      const char *ips, long long rate_limit);

#endif
