/* token_state.c: a token's state (enable, disable, delete; enable with a
 * new expiry) and the restriction rules a create, an update and an
 * enable share: the account's maximum lifetime, the notBefore window,
 * the restrictions written (SPEC §4).
 */
#include <string.h>

#include "isotime.h"
#include "token_store.h"
#include "token_store_int.h"

/* ---- restrictions -------------------------------------------------------- */

/* The account's maximum token lifetime in seconds, 0 for none. */
enum at_err at_token_account_lifetime(const struct at_dom *dom, const char *account_id,
				      long long *seconds)
{
	struct at_db_param p = AT_DB_P_STR(account_id);
	struct at_db_rows rows;
	bool found = false;
	enum at_err rc;

	*seconds = 0;
	if ((rc = at_db_query(dom->db, AT_STMT_ACCOUNT_LIFETIME, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	if (!(rc = at_db_rows_next(&rows, &found)) && found)
		*seconds = at_db_rows_int(&rows, 0);
	at_db_rows_release(&rows);
	return at_dom_db_failed(dom, rc);
}

/* expiresAt within the account's maximum lifetime (max seconds, 0: none)
 * of now; given: the request named expiresAt (null included). */
bool at_token_within_lifetime(const struct at_dom *dom, long long max, int64_t expires_ms,
			      bool given)
{
	char dur[AT_DURATION_TEXT];

	if (!max || !given)
		return true;
	if (!at_iso_duration_format(max, dur))
		dur[0] = '\0';
	if (!expires_ms) {
		at_problem_field(dom->problem, "expiresAt", "Tokens of this account must expire "
				 "within %s; the expiry cannot be removed.", dur);
		return false;
	}
	if (expires_ms > at_iso_now_ms() + max * 1000) {
		at_problem_field(dom->problem, "expiresAt", "Tokens of this account must expire "
				 "within %s from now.", dur);
		return false;
	}
	return true;
}

bool at_token_valid_window(const struct at_dom *dom, int64_t not_before_ms, int64_t expires_ms)
{
	if (!not_before_ms || !expires_ms || not_before_ms < expires_ms)
		return true;
	at_problem_field(dom->problem, "notBefore", "The notBefore must be earlier than "
			 "expiresAt.");
	return false;
}

/* A DATETIME(3) parameter from epoch ms (0: NULL); text holds
 * AT_DATETIME_TEXT bytes. */
struct at_db_param at_token_time_param(int64_t ms, char *text)
{
	if (!ms || !at_datetime_format(ms, text))
		return AT_DB_P_NULL();
	return AT_DB_P_STR(text);
}

enum at_err at_token_write_restrictions(const struct at_dom *dom, const char *id,
					int64_t expires_ms, int64_t not_before_ms,
					const char *ips, long long rate_limit)
{
	char exp[AT_DATETIME_TEXT], nb[AT_DATETIME_TEXT];
	struct at_db_param p[] = {
		at_token_time_param(expires_ms, exp), at_token_time_param(not_before_ms, nb),
		ips && *ips ? AT_DB_P_STR(ips) : AT_DB_P_NULL(),
		rate_limit ? AT_DB_P_INT(rate_limit) : AT_DB_P_NULL(), AT_DB_P_STR(id),
	};

	return at_db_exec(dom->db, AT_STMT_TOKEN_RESTRICT, p, 5, NULL);
}

/* ---- state ------------------------------------------------------------- */

static enum at_err state_tx(void *arg)
{
	static const enum at_stmt stmts[] = { AT_STMT_TOKEN_ENABLE, AT_STMT_TOKEN_DISABLE,
					      AT_STMT_TOKEN_DELETE };
	static const enum at_token_audit_event events[] = { AT_TEV_ENABLED, AT_TEV_DISABLED,
							    AT_TEV_DELETED };
	struct at_token_job *j = arg;
	const struct at_dom *dom = j->dom;
	char exp[AT_DATETIME_TEXT];
	struct at_token scratch;
	struct at_buf before;
	uint64_t affected = 0;
	enum at_stmt stmt = stmts[j->change];
	long long max = 0;
	enum at_err rc;

	at_token_release(&j->t);
	if ((rc = at_token_lock(dom, j->id, j->expect, &j->t)))
		return rc;
	/* an expired token comes back only with a new expiry */
	if (j->change == AT_TOKEN_ENABLE && !j->t.expiry_passed && strcmp(j->t.status, "Disabled")) {
		at_problem_detail(dom->problem, "The token is already Active.");
		return AT_ERR_CONFLICT;
	}
	if (j->change == AT_TOKEN_ENABLE && j->t.expiry_passed && !j->expires_ms) {
		at_problem_detail(dom->problem, "The token has expired; enable it with a new "
				  "expiresAt.");
		return AT_ERR_CONFLICT;
	}
	if (j->change == AT_TOKEN_ENABLE && j->expires_ms) {
		if ((rc = at_token_account_lifetime(dom, j->t.account.id, &max)))
			return rc;
		if (!at_token_within_lifetime(dom, max, j->expires_ms, true) ||
		    !at_token_valid_window(dom, at_token_time_ms(j->t.not_before), j->expires_ms))
			return AT_ERR_INVALID;
		stmt = AT_STMT_TOKEN_ENABLE_UNTIL;
	}
	if (j->change == AT_TOKEN_DISABLE && strcmp(j->t.status, "Active")) {
		at_problem_detail(dom->problem, "The token is already Disabled.");
		return AT_ERR_CONFLICT;
	}
	if ((rc = at_token_document(dom, j->id, &before, &scratch)))
		return at_dom_db_failed(dom, rc);
	if (stmt == AT_STMT_TOKEN_ENABLE_UNTIL) {
		struct at_db_param p[] = { at_token_time_param(j->expires_ms, exp),
					   AT_DB_P_STR(dom->actor->id),
					   AT_DB_P_STR(dom->actor->name), AT_DB_P_STR(j->id) };

		if ((rc = at_db_exec(dom->db, stmt, p, 4, &affected)))
			goto out;
	} else {
		struct at_db_param p[] = { AT_DB_P_STR(dom->actor->id),
					   AT_DB_P_STR(dom->actor->name), AT_DB_P_STR(j->id) };

		if ((rc = at_db_exec(dom->db, stmt, p, 3, &affected)))
			goto out;
	}
	if (affected != 1) {
		rc = AT_ERR_INTERNAL;	/* the row is locked: cannot happen */
		goto out;
	}
	if (j->change == AT_TOKEN_DELETE) {
		struct at_db_param p = AT_DB_P_STR(j->t.account.id);

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_COUNT_DROP, &p, 1, NULL)))
			goto out;
	}
	return at_dom_db_failed(dom, at_token_audit_change(dom, j->id, events[j->change], &before,
						  NULL, 0));
out:
	at_buf_release(&before);
	return at_dom_db_failed(dom, rc);
}

enum at_err at_token_set_state(const struct at_dom *dom, const char *id,
			       enum at_token_state_change change,
			       const struct at_rev_cond *expect)
{
	struct at_token_job init = { .change = change };

	return at_token_change_run(dom, id, expect, &init, state_tx);
}

/* bulk actions: the same rules, in the bulk's one transaction */
enum at_err at_token_set_state_in(const struct at_dom *dom, const char *id,
				  enum at_token_state_change change)
{
	struct at_token_job init = { .change = change };

	return at_token_job_run(dom, id, NULL, &init, state_tx, false);
}

enum at_err at_token_enable(const struct at_dom *dom, const char *id, int64_t expires_ms,
			    const struct at_rev_cond *expect)
{
	struct at_token_job init = { .change = AT_TOKEN_ENABLE, .expires_ms = expires_ms };

	return at_token_change_run(dom, id, expect, &init, state_tx);
}
