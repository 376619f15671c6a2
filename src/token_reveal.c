/* token_reveal.c: a token's value shown again, from its sealed copy. */
#include <string.h>

#include "token_store.h"

/* The sealed copy, opened; AT_ERR_FORBIDDEN when this deployment keeps
 * none, AT_ERR_CONFLICT when the token has none (Deleted). */
static enum at_err open_sealed(const struct at_dom *dom, const char *id, char *value)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *sealed;
	size_t len = 0;
	bool found = false;
	enum at_err rc;

	if (dom->settings->reveal == AT_REVEAL_NEVER) {
		at_problem_detail(dom->problem, "This server shows token values only once, when "
				  "they are created.");
		return AT_ERR_FORBIDDEN;
	}
	if ((rc = at_db_query(dom->db, AT_STMT_TOKEN_SEALED, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	if ((rc = at_db_rows_next(&rows, &found)))
		goto out;
	sealed = found ? at_db_rows_str(&rows, 0, &len) : NULL;
	if (!sealed) {
		at_problem_detail(dom->problem, "The token has no value to show: it was deleted, "
				  "or created while values were shown only once.");
		rc = AT_ERR_CONFLICT;
		goto out;
	}
	rc = at_token_open(dom->keys, (unsigned)at_db_rows_int(&rows, 1), id,
			   (const unsigned char *)sealed, len, value);
	if (rc)
		at_problem_internal(dom->problem, "token %s: sealed value does not open", id);
	/* the result buffer held only ciphertext; nothing to wipe there */
out:
	at_db_rows_release(&rows);
	return at_dom_db_failed(dom, rc);
}

struct reveal_job {
	const struct at_dom *dom;
	const char *id;
};

static enum at_err reveal_tx(void *arg)
{
	struct reveal_job *j = arg;

	return at_dom_db_failed(j->dom, at_token_audit(j->dom, j->id, AT_TEV_REVEALED, NULL));
}

enum at_err at_token_reveal(const struct at_dom *dom, const char *id, char *value)
{
	struct reveal_job j = { dom, id };
	enum at_err rc;

	/* a token reading itself without the module gets no reveal */
	if (!dom->actor->access_management) {
		at_problem_detail(dom->problem, "Showing a token value needs the Access "
				  "Management module.");
		return AT_ERR_FORBIDDEN;
	}
	/* visibility first: a reveal of someone else's token is a 404; no
	 * value leaves without its audit record committed */
	if ((rc = at_token_visible(dom, id, NULL)) || (rc = open_sealed(dom, id, value)))
		return rc;
	if ((rc = at_db_transact(dom->db, reveal_tx, &j)))
		at_wipe(value, AT_TOKEN_VALUE_LEN + 1);
	return rc;
}

