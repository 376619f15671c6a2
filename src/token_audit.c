/* token_audit.c: the audit record of a token change (SPEC §9): the token
 * before and after as documents, its value always masked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "json.h"
#include "token_store.h"

#define DOCUMENT_MAX (1u << 20)

static const struct {
	const char *key;	/* platform.accounts.api-token.<key> */
	const char *verb;	/* for the summary */
} audit_events[] = {
	[AT_TEV_CREATED] = { "created", "created" },
	[AT_TEV_UPDATED] = { "updated", "changed" },
	[AT_TEV_ENABLED] = { "enabled", "enabled" },
	[AT_TEV_DISABLED] = { "disabled", "disabled" },
	[AT_TEV_DELETED] = { "deleted", "deleted" },
	[AT_TEV_REVEALED] = { "revealed", "revealed the value of" },
	[AT_TEV_ROTATED] = { "rotated", "rotated the value of" },
};

/* The token as an audit document: what a GET shows, with the value
 * masked: a record never holds a secret.  t receives the token. */
enum at_err at_token_document(const struct at_dom *dom, const char *id, struct at_buf *doc,
			      struct at_token *t)
{
	char masked[AT_TOKEN_ID_LEN + 16];
	struct at_jw w;
	enum at_err rc;

	snprintf(masked, sizeof(masked), "idt:%s:********", id);
	t->modules = NULL;
	t->nmodules = 0;
	if ((rc = at_token_read_any(dom, id, t)) || (rc = at_token_read_modules(dom, t)))
		return rc;
	at_buf_init(doc, DOCUMENT_MAX);
	at_jw_init(&w, doc);
	at_token_render(&w, NULL, t, AT_TF_DEFAULT_ONE, masked);
	if ((rc = at_jw_finish(&w)))
		at_buf_release(doc);
	at_token_release(t);
	return rc;
}

static void write_side(struct at_jw *w, const char *key, const struct at_jv *doc,
		       const char *field)
{
	const struct at_jv *v = NULL;

	if (at_jv_get(doc, field, &v) && v)
		at_jw_value(w, key, v);
	else
		at_jw_null(w, key);
}

/* "fields": each changed field's value before and after, as the
 * documents show it (null where a document leaves it out).  Never the
 * value: only named fields are copied, and "token" is none of them. */
static enum at_err write_fields(struct at_jw *w, const struct at_buf *before,
				const struct at_buf *after, const struct at_token_note *note)
{
	struct at_jv *b = NULL, *a = NULL;
	char err[128];
	enum at_err rc;
	size_t i;

	if ((rc = at_jv_parse(before->data, before->len, &b, err, sizeof(err))) ||
	    (rc = at_jv_parse(after->data, after->len, &a, err, sizeof(err))))
		goto out;
	at_jw_object(w, "fields");
	for (i = 0; i < note->nchanges; i++) {
		at_jw_object(w, note->changes[i]);
		write_side(w, "before", b, note->changes[i]);
		write_side(w, "after", a, note->changes[i]);
		at_jw_object_end(w);
	}
	at_jw_object_end(w);
out:
	at_jv_free(b);
	at_jv_free(a);
	return rc;
}

/* One record for a change of token id, in the change's transaction:
 * documents hold the token before (when given) and after, and for an
 * update the names of the fields that changed and each one's values
 * before and after, for a rotation the overlap and when the replaced
 * value stops (never a value: those are masked or absent). */
enum at_err at_token_audit(const struct at_dom *dom, const char *id,
			   enum at_token_audit_event ev, const struct at_token_note *note)
{
	struct at_audit_record r = { .object_id = id, .object_type = "ApiToken" };
	char event[64], summary[2048], details[256], rid[AT_AUDIT_ID_LEN + 1];
	const struct at_caller *a = dom->actor;
	struct at_buf after, docs;
	struct at_token *t;
	struct at_jw w;
	enum at_err rc;
	size_t i;

	at_buf_init(&docs, DOCUMENT_MAX);
	t = malloc(sizeof(*t));
	if (!t)
		return AT_ERR_NOMEM;
	if ((rc = at_token_document(dom, id, &after, t)))
		goto out;
	at_jw_init(&w, &docs);
	at_jw_object(&w, NULL);
	if (note && note->before)
		at_jw_raw(&w, "before", note->before->data, note->before->len);
	at_jw_raw(&w, "after", after.data, after.len);
	if (note && note->nchanges) {
		at_jw_array(&w, "changes");
		for (i = 0; i < note->nchanges; i++)
			at_jw_str(&w, NULL, note->changes[i]);
		at_jw_array_end(&w);
		if (note->before)
			rc = write_fields(&w, note->before, &after, note);
	}
	/* rotation: how long the replaced value was given, and its end */
	if (note && note->overlap) {
		at_jw_object(&w, "rotation");
		at_jw_str(&w, "overlap", note->overlap);
		at_jw_opt_str(&w, "validUntil", note->valid_until);
		at_jw_object_end(&w);
	}
	at_jw_object_end(&w);
	at_buf_release(&after);
	if (rc || (rc = at_jw_finish(&w)))
		goto out;
	snprintf(event, sizeof(event), "platform.accounts.api-token.%s", audit_events[ev].key);
	snprintf(summary, sizeof(summary), "%s %s API token %s (%s)", a->name,
		 audit_events[ev].verb, t->name, id);
	snprintf(details, sizeof(details), "{{actor.name}} ({{actor.id}}) %s API token "
		 "{{object.name}} ({{object.id}}).", audit_events[ev].verb);
	r.event = event;
	r.summary = summary;
	r.details = details;
	r.account_id = t->account.id;
	r.object_name = t->name;
	r.object_revision = t->revision;
	r.documents = docs.data;
	r.actor_id = a->id;
	r.actor_name = a->name;
	r.actor_account_id = a->account_id;
	r.actor_account_name = a->account_name;
	r.ip = dom->origin.ip;
	r.user_agent = dom->origin.user_agent;
	r.request_id = dom->origin.request_id;
	rc = at_audit_append(dom->db, dom->keys, &r, rid);
	/* every change of a token passes here: the change counters in the
	 * same transaction make every apitokend drop its cached answers
	 * (token_cache.h, page_cache.h).  A reveal changes nothing verify
	 * answers or lists show; a new token is in no verify answer, only
	 * in lists. */
	if (!rc && ev == AT_TEV_CREATED)
		rc = at_db_exec(dom->db, AT_STMT_TOKEN_CHANGES_BUMP_LISTS, NULL, 0, NULL);
	else if (!rc && ev != AT_TEV_REVEALED)
		rc = at_db_exec(dom->db, AT_STMT_TOKEN_CHANGES_BUMP, NULL, 0, NULL);
out:
	at_buf_release(&docs);
	free(t);
	return rc;
}

