/* tokens.c: the API token resource over HTTP (SPEC §2-4), on both mounts.
 *
 * Each handler parses the request (path id, select, If-Match, body),
 * calls token_store.c and renders what it read.  The response is read
 * back after the commit, so it shows what was stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_columns.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "rql.h"
#include "token_bulk.h"
#include "token_store.h"

/* If-Match: "*", or a list of "N" / W/"N" / N; a revision is matched by
 * its exact decimal text, so anything else matches nothing. */
static void if_match(const struct at_ctx *ctx, struct at_rev_cond *c)
{
	const char *p = ctx->req->if_match;
	char text[24], back[24];
	long long v;
	size_t len;

	c->any = !p;
	c->n = 0;
	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*') {
			c->any = true;
			return;
		}
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p == '"')
			p++;
		len = strcspn(p, "\", ");
		if (len && len < sizeof(text) && c->n < AT_REV_MAX) {
			memcpy(text, p, len);
			text[len] = '\0';
			v = strtoll(text, NULL, 10);
			snprintf(back, sizeof(back), "%lld", v);
			if (!strcmp(back, text))
				c->rev[c->n++] = v;
		}
		p += len;
		if (*p == '"')
			p++;
	}
}

/* What every handler of one token starts from: the id in the path (of
 * the wrong shape it is 404 like an unknown one: such a token cannot
 * exist), If-Match and the domain call's context. */
struct one {
	const char *id;
	struct at_rev_cond expect;
	struct at_dom dom;
};

static enum at_err one_token(struct at_ctx *ctx, struct one *o)
{
	o->id = ctx->params[0];
	if (!at_id_valid(o->id, "TKN", 2))
		return AT_ERR_NOT_FOUND;
	if_match(ctx, &o->expect);
	at_ctx_dom(ctx, &o->dom);
	return AT_OK;
}

/* A one-token read takes select only (lists go through RQL). */
static enum at_err take_select(struct at_ctx *ctx, const char *key, char *val, void *fields)
{
	return strcmp(key, "select") ? AT_ERR_NOT_FOUND
				     : at_token_select(val, fields, &ctx->problem);
}

/* Read a token and reply with it; value (the token value, or NULL) goes
 * only into a body marked secret. */
static enum at_err reply_token(struct at_ctx *ctx, const char *id, int status,
			       unsigned fields, const char *value)
{
	struct at_token *t;
	struct at_dom dom;
	struct at_jw w;
	enum at_err rc;

	at_ctx_dom(ctx, &dom);
	t = malloc(sizeof(*t));
	if (!t)
		return AT_ERR_NOMEM;
	rc = at_token_read(&dom, id, (fields & AT_TF_MODULES ? AT_TOKEN_READ_MODULES : 0) |
				     (fields & AT_TF_USAGE ? AT_TOKEN_READ_USAGE : 0), t);
	if (rc || (rc = at_response_header(ctx->resp, "ETag", "\"%lld\"", t->revision)))
		goto out;
	/* the body holds a secret: wipe every copy when done */
	if (value)
		ctx->resp->body.secret = true;
	at_reply_begin(ctx, status, &w);
	if (value)
		ctx->resp->body.secret = true;
	at_token_render(&w, NULL, t, fields, value);
	rc = at_jw_finish(&w);
out:
	at_token_release(t);
	free(t);
	return rc;
}

/* ---- list and read ------------------------------------------------------ */

/* The response fields an RQL select asked for. */
static unsigned rql_fields(const struct at_rql_query *q)
{
	unsigned fields = 0;
	size_t i;

	for (i = 0; i < at_token_nfields; i++)
		if (at_rql_selected(q, &at_rql_tokens, at_token_fields[i].name))
			fields |= at_token_fields[i].bit;
	return fields;
}

static enum at_err list_check(struct at_ctx *ctx, const struct at_rql_query *q)
{
	unsigned fields = rql_fields(q);

	if (fields & AT_TF_TOKEN) {
		at_problem_field(&ctx->problem, "select",
				 "Token values are never listed; read one token with select=token.");
		return AT_ERR_INVALID;
	}
	/* last-used addresses: a query per row is not what a list costs */
	if (fields & AT_TF_USAGE) {
		at_problem_field(&ctx->problem, "select", "Last-used addresses are not listed; "
				 "read one token with select=+usage.");
		return AT_ERR_INVALID;
	}
	return AT_OK;
}

/* "<len>:<bytes>" at *p (within end) into out (size n); false when it
 * does not parse or fit. */
static bool take_counted(const char **p, const char *end, char *out, size_t n)
{
	unsigned long len = 0;
	const char *s = *p;

	while (s < end && *s >= '0' && *s <= '9' && len < 100000)
		len = len * 10 + (unsigned long)(*s++ - '0');
	if (s == *p || s >= end || *s++ != ':' || len > (unsigned long)(end - s) || len >= n)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	*p = s + len;
	return true;
}

/* The modules AT_TPL_TOKEN_PAGE_ACCOUNT aggregates in the column after
 * the token's; AT_ERR_NOT_FOUND when the row has none (another list, or
 * a value that does not parse: read them the usual way). */
static enum at_err modules_of_row(const struct at_db_rows *rows, struct at_token *t)
{
	struct at_token_module *mods = NULL, *tmp;
	const char *v, *p, *end;
	size_t len, cap = 0, n = 0;

	if (rows->ncols != TC__MAX + 2 || !(v = at_db_rows_str(rows, TC__MAX, &len)))
		return AT_ERR_NOT_FOUND;
	for (p = v, end = v + len; p < end; n++) {
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			tmp = realloc(mods, cap * sizeof(*mods));
			if (!tmp) {
				free(mods);
				return AT_ERR_NOMEM;
			}
			mods = tmp;
		}
		if (!take_counted(&p, end, mods[n].id, sizeof(mods[n].id)) ||
		    !take_counted(&p, end, mods[n].name, sizeof(mods[n].name))) {
			free(mods);
			return AT_ERR_NOT_FOUND;
		}
	}
	at_token_release(t);
	t->modules = mods;
	t->nmodules = n;
	return AT_OK;
}

/* AT_TPL_TOKEN_PAGE_ACCOUNT's first parameter: modules wanted. */
static size_t page_lead(const struct at_rql_query *q, struct at_db_param *p)
{
	p[0] = AT_DB_P_INT(rql_fields(q) & AT_TF_MODULES ? 1 : 0);
	return 1;
}

static enum at_err list_write(struct at_ctx *ctx, const struct at_db_rows *rows,
			      const struct at_rql_query *q, struct at_jw *w)
{
	unsigned fields = rql_fields(q);
	struct at_token t;
	struct at_dom dom;
	enum at_err rc = AT_OK;

	at_token_from_row(rows, &t);
	if (fields & AT_TF_MODULES) {
		/* the page brought them along, else one statement each */
		rc = modules_of_row(rows, &t);
		if (rc == AT_ERR_NOT_FOUND) {
			at_ctx_dom(ctx, &dom);
			rc = at_token_read_modules(&dom, &t);
		}
	}
	if (!rc)
		at_token_render(w, NULL, &t, fields, NULL);
	at_token_release(&t);
	return rc;
}

/* Client and Vendor callers list their own account without Deleted
 * tokens, Operations every account; an RQL filter only narrows that. */
enum at_err at_tokens_list(struct at_ctx *ctx)
{
	static const struct at_list_scope all = {
		AT_TPL_TOKEN_LIST, AT_TPL_TOKEN_COUNT, AT_STMT_TOKEN_TOTAL_ALL
	};
	static const struct at_list_scope own = {
		AT_TPL_TOKEN_PAGE_ACCOUNT, AT_TPL_TOKEN_COUNT_ACCOUNT, AT_STMT_TOKEN_TOTAL_ACCOUNT,
		true
	};
	struct at_list_spec spec = {
		.res = &at_rql_tokens,
		.check = list_check,
		.write = list_write,
		.lead = page_lead,
		.cached = true,
	};

	return at_list_reply_confined(ctx, &spec, &all, &own);
}

enum at_err at_tokens_get(struct at_ctx *ctx)
{
	char value[AT_TOKEN_VALUE_LEN + 1];
	unsigned fields = AT_TF_DEFAULT_ONE;
	struct one o;
	enum at_err rc;

	if ((rc = one_token(ctx, &o)) || (rc = at_query_each(ctx, take_select, &fields)))
		return rc;
	if (!(fields & AT_TF_TOKEN))
		return reply_token(ctx, o.id, 200, fields, NULL);
	if ((rc = at_token_reveal(&o.dom, o.id, value)))
		return rc;
	rc = reply_token(ctx, o.id, 200, fields, value);
	at_wipe(value, sizeof(value));
	return rc;
}

/* ---- changes ------------------------------------------------------------- */

enum at_err at_tokens_create(struct at_ctx *ctx)
{
	char id[AT_TOKEN_ID_LEN + 1], value[AT_TOKEN_VALUE_LEN + 1];
	const char *mods[AT_TOKEN_MODULES_MAX];
	struct at_buf *body = &ctx->req->body;
	struct at_token_new t = { NULL };
	struct at_token_body *b = NULL;
	struct at_jv *doc = NULL;
	struct at_dom dom;
	enum at_err rc, valid;
	bool account_ok;
	size_t i;

	at_ctx_dom(ctx, &dom);
	if ((rc = at_token_body_parse(body->data, body->len, &doc, &ctx->problem)))
		return rc;
	b = malloc(sizeof(*b));
	if (!b) {
		rc = AT_ERR_NOMEM;
		goto out;
	}
	valid = at_token_body_create(doc, b, &ctx->problem, &account_ok);
	if (!account_ok) {
		rc = AT_ERR_INVALID;
		goto out;
	}
	if ((rc = at_token_create_account(&dom, b->has_account ? b->account_id : NULL,
					  &t.account_id)) || (rc = valid))
		goto out;
	for (i = 0; i < b->modules.n; i++)
		mods[i] = b->modules.ids[i];
	t.name = b->name;
	t.description = b->description;
	t.modules = mods;
	t.nmodules = b->modules.n;
	t.expires_ms = b->expires_ms;
	t.not_before_ms = b->not_before_ms;
	t.allowed_ips = b->allowed_ips;
	t.rate_limit = b->rate_limit;
	if ((rc = at_token_create(&dom, &t, id, value)))
		goto out;
	if ((rc = at_response_header(ctx->resp, "Location", "/public/v1/accounts/api-tokens/%s",
				     id)))
		goto out;
	rc = reply_token(ctx, id, 201, AT_TF_DEFAULT_ONE, value);
out:
	at_wipe(value, sizeof(value));
	free(b);
	at_jv_free(doc);
	return rc;
}

enum at_err at_tokens_update(struct at_ctx *ctx)
{
	struct at_buf *body = &ctx->req->body;
	struct at_problem *invalid = NULL;
	struct at_token_body *b = NULL;
	struct at_jv *doc = NULL;
	struct one o;
	enum at_err rc;
	bool valid;

	if ((rc = one_token(ctx, &o)) ||
	    (rc = at_token_body_parse(body->data, body->len, &doc, &ctx->problem)))
		return rc;
	b = malloc(sizeof(*b));
	invalid = malloc(sizeof(*invalid));
	if (!b || !invalid) {
		rc = AT_ERR_NOMEM;
		goto out;
	}
	/* the body's errors count only once the token is known to be
	 * changeable: a change of a missing token is a 404 */
	at_problem_clear(invalid);
	valid = !at_token_body_update(doc, o.id, b, invalid);
	rc = at_token_update(&o.dom, o.id, b, valid, &o.expect);
	if (rc == AT_ERR_INVALID && !valid)
		ctx->problem = *invalid;
	if (!rc)
		rc = reply_token(ctx, o.id, 200, AT_TF_DEFAULT_ONE, NULL);
out:
	free(invalid);
	free(b);
	at_jv_free(doc);
	return rc;
}

static enum at_err change_state(struct at_ctx *ctx, enum at_token_state_change change)
{
	struct one o;
	enum at_err rc;

	if ((rc = one_token(ctx, &o)) || (rc = at_token_set_state(&o.dom, o.id, change, &o.expect)))
		return rc;
	if (change != AT_TOKEN_DELETE)
		return reply_token(ctx, o.id, 200, AT_TF_DEFAULT_ONE, NULL);
	ctx->resp->status = 204;
	ctx->resp->content_type[0] = '\0';
	return AT_OK;
}

/* An optional body {"expiresAt": …}: how an expired token comes back. */
enum at_err at_tokens_enable(struct at_ctx *ctx)
{
	struct at_buf *body = &ctx->req->body;
	int64_t expires_ms;
	struct one o;
	enum at_err rc;

	if ((rc = one_token(ctx, &o)))
		return rc;
	if ((rc = at_token_body_enable(body->data, body->len, &expires_ms, &ctx->problem))) {
		/* as for an update: a change of a missing token is a 404 */
		if (rc == AT_ERR_INVALID && at_token_visible(&o.dom, o.id, NULL) == AT_ERR_NOT_FOUND) {
			at_problem_clear(&ctx->problem);
			return AT_ERR_NOT_FOUND;
		}
		return rc;
	}
	if ((rc = at_token_enable(&o.dom, o.id, expires_ms, &o.expect)))
		return rc;
	return reply_token(ctx, o.id, 200, AT_TF_DEFAULT_ONE, NULL);
}

enum at_err at_tokens_disable(struct at_ctx *ctx)
{
	return change_state(ctx, AT_TOKEN_DISABLE);
}

enum at_err at_tokens_delete(struct at_ctx *ctx)
{
	return change_state(ctx, AT_TOKEN_DELETE);
}

/* ---- rotation ------------------------------------------------------------- */

/* The body is optional ({"overlap": "PT1H"}; none is PT0S); the new
 * value is in the answer, once, like create's. */
enum at_err at_tokens_rotate(struct at_ctx *ctx)
{
	char value[AT_TOKEN_VALUE_LEN + 1];
	struct at_buf *body = &ctx->req->body;
	struct at_problem *invalid = NULL;
	struct at_jv *doc = NULL;
	int64_t overlap = 0;
	struct one o;
	enum at_err rc;
	bool valid;

	value[0] = '\0';
	if ((rc = one_token(ctx, &o)))
		return rc;
	if (body->len && (rc = at_token_body_parse(body->data, body->len, &doc, &ctx->problem)))
		return rc;
	invalid = malloc(sizeof(*invalid));
	if (!invalid) {
		rc = AT_ERR_NOMEM;
		goto out;
	}
	/* as for an update: a bad body counts once the token may change */
	at_problem_clear(invalid);
	valid = !at_token_body_rotate(doc, &overlap, invalid);
	rc = at_token_rotate(&o.dom, o.id, overlap, valid, &o.expect, value);
	if (rc == AT_ERR_INVALID && !valid)
		ctx->problem = *invalid;
	if (!rc)
		rc = reply_token(ctx, o.id, 200, AT_TF_DEFAULT_ONE, value);
out:
	at_wipe(value, sizeof(value));
	free(invalid);
	at_jv_free(doc);
	return rc;
}

/* ---- icon --------------------------------------------------------------- */

enum at_err at_tokens_icon_put(struct at_ctx *ctx)
{
	struct at_buf *b = &ctx->req->body;
	const char *type;
	struct one o;
	enum at_err rc;

	if ((rc = one_token(ctx, &o)))
		return rc;
	type = at_icon_type((const unsigned char *)b->data, b->len);
	if (!b->len) {
		at_problem_field(&ctx->problem, "icon", "The body must hold a PNG or JPEG image.");
		return AT_ERR_INVALID;
	}
	if (!type) {
		at_problem_detail(&ctx->problem, "The logo must be a PNG or JPEG image.");
		return AT_ERR_MEDIA_TYPE;
	}
	if ((rc = at_token_icon_set(&o.dom, o.id, type, b->data, b->len, &o.expect)))
		return rc;
	return reply_token(ctx, o.id, 200, AT_TF_DEFAULT_ONE, NULL);
}

enum at_err at_tokens_icon_get(struct at_ctx *ctx)
{
	struct at_response *resp = ctx->resp;
	struct one o;
	enum at_err rc;

	if ((rc = one_token(ctx, &o)) ||
	    (rc = at_token_icon_get(&o.dom, o.id, &resp->body, resp->content_type,
				    sizeof(resp->content_type))))
		return rc;
	resp->status = 200;
	return AT_OK;
}

/* ---- the audit trail of one token --------------------------------------- */

enum at_err at_tokens_audit(struct at_ctx *ctx)
{
	char account[AT_ID_MAX];
	struct one o;
	enum at_err rc;

	if ((rc = one_token(ctx, &o)) || (rc = at_token_visible(&o.dom, o.id, account)))
		return rc;
	return at_audit_object_list(ctx, o.id, account);
}

/* ---- bulk actions -------------------------------------------------------- */

static void write_bulk(struct at_jw *w, const struct at_token_bulk_body *b,
		       const struct at_token_bulk_result *r)
{
	size_t i;

	at_jw_object(w, NULL);
	at_jw_str(w, "action", b->action_name);
	at_jw_int(w, "matched", (long long)r->matched);
	at_jw_int(w, "changed", (long long)r->changed);
	at_jw_array(w, "data");
	for (i = 0; i < r->matched; i++)
		if (r->items[i].changed)
			at_jw_str(w, NULL, r->items[i].id);
	at_jw_array_end(w);
	at_jw_array(w, "skipped");
	for (i = 0; i < r->matched; i++) {
		if (r->items[i].changed)
			continue;
		at_jw_object(w, NULL);
		at_jw_str(w, "id", r->items[i].id);
		at_jw_str(w, "reason", r->items[i].reason);
		at_jw_object_end(w);
	}
	at_jw_array_end(w);
	at_jw_object_end(w);
}

enum at_err at_tokens_bulk(struct at_ctx *ctx)
{
	struct at_buf *body = &ctx->req->body;
	struct at_token_bulk_result r = { NULL, 0, 0 };
	struct at_token_bulk_body *b;
	struct at_jv *doc = NULL;
	struct at_dom dom;
	struct at_jw w;
	enum at_err rc;

	at_ctx_dom(ctx, &dom);
	if ((rc = at_token_body_parse(body->data, body->len, &doc, &ctx->problem)))
		return rc;
	b = malloc(sizeof(*b));
	if (!b) {
		at_jv_free(doc);
		return AT_ERR_NOMEM;
	}
	at_token_bulk_body_init(b);
	if ((rc = at_token_bulk_body_check(doc, b, &ctx->problem)) ||
	    (rc = at_token_bulk(&dom, b, &r)))
		goto out;
	at_reply_begin(ctx, 200, &w);
	write_bulk(&w, b, &r);
	rc = at_jw_finish(&w);
out:
	at_token_bulk_result_release(&r);
	at_token_bulk_body_release(b);
	free(b);
	at_jv_free(doc);
	return rc;
}
