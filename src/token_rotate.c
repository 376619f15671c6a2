/* token_rotate.c: a new value under the same id, the one it replaces
 * verifying for an overlap window (SPEC §4 rotation).
 */
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "text.h"
#include "token_store.h"
#include "token_store_int.h"

struct rotate_job {
	const struct at_dom *dom;
	const char *id;
	const struct at_rev_cond *expect;
	int64_t overlap;
	bool valid;
	char *value;
	struct at_token t;
};

static enum at_err rotate_tx(void *arg)
{
	struct rotate_job *j = arg;
	const struct at_dom *dom = j->dom;
	unsigned char hash[AT_HASH_LEN], sealed[AT_SEALED_LEN];
	bool seal = dom->settings->reveal == AT_REVEAL_ALLOW;
	char overlap[AT_DURATION_TEXT], until[32];
	struct at_token_note note = { NULL, NULL, 0, overlap, until };
	struct at_token scratch;
	struct at_buf before;
	uint64_t affected = 0;
	unsigned key_id = 0;
	enum at_err rc;

	at_token_release(&j->t);
	if ((rc = at_token_lock(dom, j->id, j->expect, &j->t)))
		return rc;
	if (!j->valid)
		return AT_ERR_INVALID;
	if (j->overlap > dom->settings->max_rotation_overlap) {
		char max[AT_DURATION_TEXT];

		if (!at_iso_duration_format(dom->settings->max_rotation_overlap, max))
			at_strlcpy(max, "?", sizeof(max));
		at_problem_field(dom->problem, "overlap", "The overlap may be at most %s.", max);
		return AT_ERR_INVALID;
	}
	if (!at_iso_duration_format(j->overlap, overlap))
		return AT_ERR_INTERNAL;
	if ((rc = at_token_document(dom, j->id, &before, &scratch)))
		return at_dom_db_failed(dom, rc);
	note.before = &before;
	/* a value the id cannot have had before: 58 random characters */
	at_token_value_make(j->id, j->value);
	at_token_hash(dom->keys, j->value, AT_TOKEN_VALUE_LEN, hash);
	if (seal && (rc = at_token_seal(dom->keys, j->id, j->value, sealed, &key_id)))
		goto out;
	{
		struct at_db_param p[] = {
			AT_DB_P_INT(j->overlap), AT_DB_P_INT(j->overlap), AT_DB_P_INT(j->overlap),
			AT_DB_P_BLOB(hash, sizeof(hash)),
			seal ? AT_DB_P_BLOB(sealed, sizeof(sealed)) : AT_DB_P_NULL(),
			seal ? AT_DB_P_INT(key_id) : AT_DB_P_NULL(),
			AT_DB_P_STR(dom->actor->id), AT_DB_P_STR(dom->actor->name),
			AT_DB_P_STR(j->id),
		};

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_ROTATE, p, sizeof(p) / sizeof(p[0]),
				     &affected)))
			goto out;
	}
	if (affected != 1) {
		rc = AT_ERR_INTERNAL;	/* the row is locked: cannot happen */
		goto out;
	}
	/* the replaced value stops at rotated_at + overlap, as stored */
	if ((rc = at_token_read_any(dom, j->id, &scratch)))
		goto out;
	if (!at_time_iso(scratch.prev_valid_until[0] ? scratch.prev_valid_until
						     : scratch.events[AT_TOKEN_ROTATED].at,
			 until, sizeof(until))) {
		rc = AT_ERR_INTERNAL;
		goto out;
	}
	rc = at_token_audit(dom, j->id, AT_TEV_ROTATED, &note);
out:
	at_buf_release(&before);
	at_wipe(hash, sizeof(hash));
	at_wipe(sealed, sizeof(sealed));
	return at_dom_db_failed(dom, rc);
}

enum at_err at_token_rotate(const struct at_dom *dom, const char *id, int64_t overlap,
			    bool valid, const struct at_rev_cond *expect, char *value)
{
	struct rotate_job *j;
	enum at_err rc;

	j = malloc(sizeof(*j));
	if (!j)
		return AT_ERR_NOMEM;
	*j = (struct rotate_job){ .dom = dom, .id = id, .expect = expect, .overlap = overlap,
				  .valid = valid, .value = value };
	rc = at_db_transact(dom->db, rotate_tx, j);
	at_token_release(&j->t);
	free(j);
	if (rc)
		at_wipe(value, AT_TOKEN_VALUE_LEN + 1);
	return at_dom_db_failed(dom, rc);
}
