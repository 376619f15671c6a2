/* audit.c: the audit records' HTTP side: list, read one, one object's
 * records, and records posted by extensions.  The rules are in
 * audit_chain.c, the rendering in audit_render.c. */
#include <string.h>

#include "audit.h"
#include "audit_render.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "rql.h"
#include "text.h"

/* A listed record: the fields q selects, render() filling placeholders. */
static enum at_err list_write(struct at_ctx *ctx, const struct at_db_rows *rows,
			      const struct at_rql_query *q, struct at_jw *w)
{
	struct at_audit_view v = {
		.q = q,
		.documents = at_rql_selected(q, &at_rql_audit, "documents"),
		.render = q->render,
	};

	(void)ctx;
	return at_audit_write(w, rows, &v);
}

/* Client and Vendor callers read their own account's records, Operations
 * every record; an RQL filter only narrows that. */
static const struct at_list_scope every_account = {
	AT_TPL_AUDIT_LIST, AT_TPL_AUDIT_COUNT, AT_STMT_AUDIT_TOTAL_ALL
};
static const struct at_list_scope own_account = {
	AT_TPL_AUDIT_LIST_ACCOUNT, AT_TPL_AUDIT_COUNT_ACCOUNT, AT_STMT_AUDIT_TOTAL_ACCOUNT
};

enum at_err at_audit_list(struct at_ctx *ctx)
{
	struct at_list_spec spec = { .res = &at_rql_audit, .write = list_write };

	return at_list_reply_confined(ctx, &spec, &every_account, &own_account);
}

enum at_err at_audit_object_list(struct at_ctx *ctx, const char *object_id,
				 const char *account_id)
{
	struct at_db_param scope[] = { AT_DB_P_STR(object_id), AT_DB_P_STR(account_id) };
	struct at_list_spec spec = {
		.res = &at_rql_audit,
		.plan = {
			.list_tpl = AT_TPL_AUDIT_LIST_OBJECT,
			.count_tpl = AT_TPL_AUDIT_COUNT_OBJECT,
			.scope = scope,
			.nscope = 2,
		},
		.write = list_write,
	};

	return at_list_reply(ctx, &spec);
}

struct read_opts {
	struct at_rql_query q;	/* its selected fields only */
	bool render;
};

/* One record's query: the field select of the list, and render(). */
static enum at_err take_read_opt(struct at_ctx *ctx, const char *key, char *val, void *arg)
{
	struct read_opts *o = arg;

	if (!strcmp(key, "render()")) {
		o->render = true;
		return AT_OK;
	}
	if (strcmp(key, "select"))
		return AT_ERR_NOT_FOUND;
	return at_query_select(ctx, &o->q, &at_rql_audit, val);
}

/* Reply status with record id; another account's record is as absent
 * as an unknown one. */
static enum at_err reply_record(struct at_ctx *ctx, const char *id,
				const struct at_audit_view *v, int status)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *acc;
	struct at_jw w;
	bool found = false;
	enum at_err rc;

	if ((rc = at_db_query(ctx->db, AT_STMT_AUDIT_GET, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	if (!(rc = at_db_rows_next(&rows, &found))) {
		acc = found ? at_db_rows_str(&rows, AC_ACCOUNT_ID, NULL) : NULL;
		if (!acc || !at_caller_sees_account(&ctx->caller, acc)) {
			rc = AT_ERR_NOT_FOUND;
		} else {
			at_reply_begin(ctx, status, &w);
			rc = at_audit_write(&w, &rows, v);
		}
	}
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

enum at_err at_audit_get(struct at_ctx *ctx)
{
	struct read_opts o = { .render = false };
	struct at_audit_view v;
	const char *id = ctx->params[0];
	enum at_err rc;

	/* one record shows every field, documents too, unless told */
	at_rql_init(&o.q);
	o.q.selected = AT_RQL_SELECT_EVERY;
	if ((rc = at_query_each(ctx, take_read_opt, &o)))
		goto out;
	if (!at_id_valid(id, "AUD", 4)) {
		rc = AT_ERR_NOT_FOUND;
		goto out;
	}
	v = (struct at_audit_view){
		.q = &o.q,
		.documents = at_rql_selected(&o.q, &at_rql_audit, "documents"),
		.render = o.render,
	};
	rc = reply_record(ctx, id, &v, 200);
out:
	at_rql_release(&o.q);
	return rc;
}

/* ---- records from outside: extensions ------------------------------------ */

/* A string member of at most max characters; NULL when absent or null. */
static bool text_member(struct at_ctx *ctx, const struct at_jv *obj, const char *key,
			const char *field, size_t max, bool required, const char **out)
{
	const struct at_jv *v = NULL;
	const char *s;
	size_t n;

	*out = NULL;
	if (!at_jv_get(obj, key, &v) || at_jv_type(v) == AT_JV_NULL) {
		if (required)
			at_problem_field(&ctx->problem, field, "The %s is required.", field);
		return !required;
	}
	if (!(s = at_jv_str(v, &n))) {
		at_problem_field(&ctx->problem, field, "The %s must be a string.", field);
		return false;
	}
	if (required && !*s) {
		at_problem_field(&ctx->problem, field, "The %s is required.", field);
		return false;
	}
	if (at_utf8_chars(s, n) > max) {
		at_problem_field(&ctx->problem, field, "The %s must be at most %zu characters.",
				 field, max);
		return false;
	}
	*out = *s ? s : NULL;
	return true;
}

/* The body's fields into p; false with field errors in ctx->problem. */
static bool parse_post(struct at_ctx *ctx, const struct at_dom *d, const struct at_jv *body,
		       struct at_audit_post *p, struct at_buf *docs_text, enum at_err *rc)
{
	const struct at_jv *object = NULL, *docs = NULL;
	bool ok = true;

	ok = text_member(ctx, body, "event", "event", 255, true, &p->event) && ok;
	/* the event's rules at once, so that its errors come first */
	ok = at_audit_post_valid(d, p) && ok;
	ok = text_member(ctx, body, "summary", "summary", AT_AUDIT_SUMMARY_CHARS, true,
			 &p->summary) && ok;
	ok = text_member(ctx, body, "details", "details", AT_AUDIT_DETAILS_CHARS, false,
			 &p->details) && ok;
	if (!at_jv_get(body, "object", &object) || at_jv_type(object) != AT_JV_OBJECT) {
		at_problem_field(&ctx->problem, "object",
				 "The object must be {\"id\", \"objectType\"?, \"name\"?}.");
		ok = false;
	} else {
		ok = text_member(ctx, object, "id", "object.id", 64, true, &p->object_id) && ok;
		/* platform clients send none: stored NULL, shown absent */
		ok = text_member(ctx, object, "objectType", "object.objectType", 64, false,
				 &p->object_type) && ok;
		ok = text_member(ctx, object, "name", "object.name", 255, false,
				 &p->object_name) && ok;
	}
	if (at_jv_get(body, "documents", &docs) && at_jv_type(docs) != AT_JV_OBJECT &&
	    at_jv_type(docs) != AT_JV_NULL) {
		at_problem_field(&ctx->problem, "documents", "The documents must be an object.");
		ok = false;
	} else if (at_jv_type(docs) == AT_JV_OBJECT) {
		if ((*rc = at_jv_text(docs_text, docs)))
			return false;
		p->documents = docs_text->data;
	}
	return ok;
}

enum at_err at_audit_create(struct at_ctx *ctx)
{
	struct at_buf *b = &ctx->req->body, docs_text;
	struct at_audit_view v = { .documents = true };
	struct at_audit_post p = { NULL };
	char id[AT_AUDIT_ID_LEN + 1], err[256];
	struct at_jv *body = NULL;
	struct at_dom d;
	enum at_err rc = AT_OK;
	bool ok;

	at_ctx_dom(ctx, &d);
	if ((rc = at_audit_may_post(&d)))
		return rc;
	if (!b->len || at_jv_parse(b->data, b->len, &body, err, sizeof(err)) ||
	    at_jv_type(body) != AT_JV_OBJECT) {
		at_problem_detail(&ctx->problem, "The body must be a JSON object.");
		at_jv_free(body);
		return AT_ERR_INVALID;
	}
	/* compact text of a part of the body: never more than twice its size */
	at_buf_init(&docs_text, 2 * b->len + 64);
	ok = parse_post(ctx, &d, body, &p, &docs_text, &rc);
	if (rc)
		goto out;
	if (!ok) {
		rc = AT_ERR_INVALID;
		goto out;
	}
	if ((rc = at_audit_post(&d, &p, id)) ||
	    (rc = reply_record(ctx, id, &v, 201)))
		goto out;
	rc = at_response_header(ctx->resp, "Location", "/public/v1/audit/records/%s", id);
out:
	at_buf_release(&docs_text);
	at_jv_free(body);
	return at_db_failed(ctx, rc);
}
