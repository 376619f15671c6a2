/* token_store.h: the token rules over the database (SPEC §2-4, §9).
 *
 * Every function takes the caller's struct at_dom and plain data; a
 * refusal is an enum at_err with its reason in dom->problem.  Changes run
 * in one transaction that locks the token row first, checks visibility,
 * state and the expected revision, and only then writes, with the audit
 * record of the change (the token before and after, its value masked).
 */
#ifndef AT_TOKEN_STORE_H
#define AT_TOKEN_STORE_H

#include "buf.h"
#include "domain.h"
#include "tokens.h"

/* What If-Match asked for: any revision, or one of those listed (none
 * listed: nothing matches).  The HTTP side keeps the first AT_REV_MAX. */
#define AT_REV_MAX 16
struct at_rev_cond {
	bool any;
	size_t n;
	long long rev[AT_REV_MAX];
};

/* at_token_read: also the token's modules. */
#define AT_TOKEN_READ_MODULES 1u
/* …and its last-used addresses. */
#define AT_TOKEN_READ_USAGE 2u

/* The token id as the actor may see it: 404 when it does not exist, is
 * of another account (unless the actor is Operations) or is Deleted (to
 * all but Operations). */
AT_MUST_CHECK enum at_err at_token_read(const struct at_dom *dom, const char *id, unsigned what,
					struct at_token *t);
/* Only whether at_token_read would find it; *account_id (AT_ID_MAX
 * bytes, may be NULL) receives its account. */
AT_MUST_CHECK enum at_err at_token_visible(const struct at_dom *dom, const char *id,
					   char *account_id);

struct at_db_rows;
/* A row of a token list (the TOKEN_COLUMNS of the statement table). */
void at_token_from_row(const struct at_db_rows *rows, struct at_token *t);
/* The modules of t, for a list row rendered with them. */
AT_MUST_CHECK enum at_err at_token_read_modules(const struct at_dom *dom, struct at_token *t);

/* Insert a new Active token with its modules, count it and write its
 * audit record, inside the caller's transaction; dom->actor is the
 * creator.  id receives the new id (AT_TOKEN_ID_LEN + 1 bytes), value the
 * token value (AT_TOKEN_VALUE_LEN + 1 bytes; the caller wipes it).  A
 * colliding random id is retried with a new one.  No grant rule is
 * checked here (apitokenctl issues what the account has enabled). */
AT_MUST_CHECK enum at_err at_token_insert(const struct at_dom *dom, const struct at_token_new *t,
					  char *id, char *value);

/* The account a create names (NULL: the actor's): only Operations may
 * name another, which must exist.  *out points at account_id or at the
 * actor's. */
AT_MUST_CHECK enum at_err at_token_create_account(const struct at_dom *dom,
						  const char *account_id, const char **out);
/* A create through the API: the modules must be enabled for the account
 * and held by the actor, then at_token_insert in a transaction of its
 * own. */
AT_MUST_CHECK enum at_err at_token_create(const struct at_dom *dom, const struct at_token_new *t,
					  char *id, char *value);

/* A change of the fields body has (from at_token_body_update); valid
 * false when the body failed its checks, which is reported (as
 * AT_ERR_INVALID, dom->problem left for the caller to fill) only once the
 * token is known to be changeable.  Nothing that changes nothing moves
 * the revision. */
AT_MUST_CHECK enum at_err at_token_update(const struct at_dom *dom, const char *id,
					  const struct at_token_body *body, bool valid,
					  const struct at_rev_cond *expect);

enum at_token_state_change { AT_TOKEN_ENABLE, AT_TOKEN_DISABLE, AT_TOKEN_DELETE };
/* Enable a Disabled token, disable an Active one (409 otherwise), or
 * delete one; a Deleted token is final (409). */
AT_MUST_CHECK enum at_err at_token_set_state(const struct at_dom *dom, const char *id,
					     enum at_token_state_change change,
					     const struct at_rev_cond *expect);
/* The same change of one token inside the caller's transaction, with no
 * revision expected: what a bulk action (token_bulk.h) runs per token, so
 * that both follow one set of state rules.  A refusal changes nothing
 * and leaves its reason in dom->problem's detail. */
AT_MUST_CHECK enum at_err at_token_set_state_in(const struct at_dom *dom, const char *id,
						enum at_token_state_change change);

/* Enable as at_token_set_state does, with a new expiry (epoch ms in the
 * future, within the account's maximum lifetime; 0 for none given).  A
 * token whose expiry has passed, Active or Disabled, is enabled only
 * with one (409 otherwise). */
AT_MUST_CHECK enum at_err at_token_enable(const struct at_dom *dom, const char *id,
					  int64_t expires_ms, const struct at_rev_cond *expect);

/* A database time as epoch ms; 0 for "" (none) or text that does not
 * parse. */
int64_t at_token_time_ms(const char *dbtime);

/* A new value under the same id (SPEC §4 token, returned once: value
 * holds AT_TOKEN_VALUE_LEN + 1 bytes, the caller wipes it); the value it
 * replaces keeps verifying for overlap seconds (0: not at all), and the
 * one before that stops.  Active, Disabled and Expired tokens rotate; a
 * Deleted one is 409.  valid false: the body failed its checks, reported
 * as AT_ERR_INVALID once the token is known to be changeable (as update
 * does); an overlap above [tokens] max_rotation_overlap is 400 naming
 * overlap, with nothing changed. */
AT_MUST_CHECK enum at_err at_token_rotate(const struct at_dom *dom, const char *id,
					  int64_t overlap, bool valid,
					  const struct at_rev_cond *expect, char *value);

/* Last-used addresses: note that token_id succeeded from ip (any text;
 * only an IP address counts), at now_ms, after the answer went out.  At
 * most one write per token and address a minute: an in-process map of
 * the last writes (bounded: a collision only costs a write) and the
 * statement's own condition, for the other processes.  A failure is
 * logged, never reported. */
void at_token_usage_note(struct at_db *db, const char *token_id, const char *ip,
			 int64_t now_ms);
/* Forget the map (tests). */
void at_token_usage_forget(void);
/* The token's last-used addresses into t (newest first). */
AT_MUST_CHECK enum at_err at_token_read_usage(const struct at_dom *dom, struct at_token *t);

/* Store a logo of type (from at_icon_type). */
AT_MUST_CHECK enum at_err at_token_icon_set(const struct at_dom *dom, const char *id,
					    const char *type, const void *data, size_t len,
					    const struct at_rev_cond *expect);
/* The logo of a token the actor sees, appended to out; type (typelen
 * bytes) receives its media type.  404 when the token has none. */
AT_MUST_CHECK enum at_err at_token_icon_get(const struct at_dom *dom, const char *id,
					    struct at_buf *out, char *type, size_t typelen);

/* The token's value, opened from its sealed copy, with its audit record
 * committed before it returns; value holds AT_TOKEN_VALUE_LEN + 1 bytes
 * (the caller wipes it).  403 without the Access Management module or
 * when the deployment keeps no copies, 409 when the token has none. */
AT_MUST_CHECK enum at_err at_token_reveal(const struct at_dom *dom, const char *id,
					  char *value);

/* Remove a module from an account: every token of the account loses it,
 * each change audited, inside the caller's transaction.  *changed counts
 * the tokens that held it. */
AT_MUST_CHECK enum at_err at_token_strip_module(const struct at_dom *dom, const char *account_id,
						const char *module_id, unsigned *changed);

/* ---- shared by the files of the token domain layer ----------------------- */

enum at_token_audit_event {
	AT_TEV_CREATED, AT_TEV_UPDATED, AT_TEV_ENABLED, AT_TEV_DISABLED, AT_TEV_DELETED,
	AT_TEV_REVEALED,
	AT_TEV_ROTATED,
};

/* What a change records: the token before it (a document, or NULL) and
 * the names of the fields it changed. */
struct at_token_note {
	const struct at_buf *before;
	const char *const *changes;
	size_t nchanges;
	/* rotation: the overlap asked for (ISO 8601) and when the replaced
	 * value stops verifying (ISO 8601 time); NULL for other changes */
	const char *overlap;
	const char *valid_until;
};

/* The token's row whoever may see it; AT_ERR_NOT_FOUND when there is none. */
AT_MUST_CHECK enum at_err at_token_read_any(const struct at_dom *dom, const char *id,
					    struct at_token *t);
/* The token as an audit document (what a GET shows, the value masked)
 * into doc, which the caller releases; t receives the token. */
AT_MUST_CHECK enum at_err at_token_document(const struct at_dom *dom, const char *id,
					    struct at_buf *doc, struct at_token *t);
/* The audit record of event ev of token id (note may be NULL), inside
 * the change's transaction. */
AT_MUST_CHECK enum at_err at_token_audit(const struct at_dom *dom, const char *id,
					 enum at_token_audit_event ev,
					 const struct at_token_note *note);

#endif
