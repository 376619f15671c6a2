/* list.c: the list envelope and paging (SPEC §6), streamed into the
 * response; the caller's confinement is confine.c's. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "list.h"
#include "page_cache.h"
#include "rql.h"
#include "token_cache.h"

#define LIST_MAX_PARAMS 300
#define LIST_LEAD_MAX 4
#define LIST_KEY_MAX 16384

static enum at_err list_total(struct at_ctx *ctx, const struct at_list_spec *spec,
			      const struct at_rql_query *q, const struct at_db_param *p,
			      size_t n, long long *total)
{
	struct at_db_rows rows;
	enum at_err rc;
	bool more;

	if (!q->where.len && spec->plan.has_total_stmt)
		rc = at_db_query(ctx->db, spec->plan.total_stmt, spec->plan.scope, spec->plan.nscope, &rows);
	else
		rc = at_db_query_built(ctx->db, spec->plan.count_tpl, q->where.data, NULL, p, n, &rows);
	if (rc)
		return rc;
	rc = at_db_rows_next(&rows, &more);
	*total = !rc && more ? at_db_rows_int(&rows, 0) : 0;
	at_db_rows_release(&rows);
	return rc;
}

/* The page's statement: with list_has_total the scope comes once more,
 * first, for the total's column. */
static enum at_err list_query(struct at_ctx *ctx, const struct at_list_spec *spec,
			      const struct at_rql_query *q, struct at_db_param *p,
			      struct at_db_rows *rows)
{
	size_t n = 0, i;

	if (spec->plan.list_has_total && spec->lead)
		n = spec->lead(q, p);
	if (spec->plan.list_has_total)
		for (i = 0; i < spec->plan.nscope; i++)
			p[n++] = spec->plan.scope[i];
	n += at_list_params(&spec->plan, q, true, p + n);
	return at_db_query_built(ctx->db, spec->plan.list_tpl, q->where.data, q->order.data, p, n,
				 rows);
}

/* The envelope and its rows straight into the response body.  rows is
 * the page (started when q->limit > 0), more whether its first row has
 * been read. */
static enum at_err list_write(struct at_ctx *ctx, const struct at_list_spec *spec,
			      const struct at_rql_query *q, struct at_db_rows *rows, bool more,
			      long long total)
{
	struct at_jw w;
	enum at_err rc = AT_OK;
	size_t i;

	at_reply_begin(ctx, 200, &w);
	at_jw_object(&w, NULL);
	at_jw_object(&w, "$meta");
	at_jw_object(&w, "pagination");
	at_jw_int(&w, "offset", q->offset);
	at_jw_int(&w, "limit", q->limit);
	at_jw_int(&w, "total", total);
	at_jw_object_end(&w);
	at_jw_array(&w, "omitted");
	for (i = 0; i < q->nomitted; i++)
		at_jw_str(&w, NULL, q->omitted[i]);
	at_jw_array_end(&w);
	at_jw_object_end(&w);
	at_jw_array(&w, "data");
	if (q->limit > 0) {
		/* as ever, what counts of a writer is w.err: audit's ends each
		 * element with at_jw_finish, mid-body */
		while (more && !w.err) {
			(void)spec->write(ctx, rows, q, &w);
			if ((rc = at_db_rows_next(rows, &more)))
				return rc;
		}
	}
	at_jw_array_end(&w);
	at_jw_object_end(&w);
	return at_jw_finish(&w);
}

/* What decides a page: its statements, the caller's scope and the query
 * string as sent, each counted so that no two differ only in where one
 * ends.  AT_ERR_TOO_LARGE: a query too long to be worth keeping. */
static enum at_err page_key(const struct at_list_spec *spec, const char *query,
			    struct at_buf *key)
{
	enum at_err rc;
	size_t i;

	rc = at_buf_printf(key, "%d,%d,%zu;", (int)spec->plan.list_tpl, (int)spec->plan.count_tpl,
			   spec->plan.nscope);
	for (i = 0; !rc && i < spec->plan.nscope; i++) {
		const struct at_db_param *sp = &spec->plan.scope[i];

		if (sp->type == AT_DB_STR || sp->type == AT_DB_BLOB) {
			if (!(rc = at_buf_printf(key, "%d:%zu:", (int)sp->type, sp->len)))
				rc = at_buf_append(key, sp->s, sp->len);
		} else {
			rc = at_buf_printf(key, "%d:%lld;", (int)sp->type, sp->i);
		}
	}
	if (!rc)
		rc = at_buf_printf(key, ";%s", query ? query : "");
	return rc;
}

enum at_err at_list_reply(struct at_ctx *ctx, const struct at_list_spec *spec)
{
	struct at_db_param p[LIST_MAX_PARAMS];
	struct at_db_rows rows;
	struct at_rql_query q;
	struct at_buf key;
	struct at_jw w;
	long long total = 0, now = 0, version = 0;
	bool more = false, counted = false, hit, keep = false;
	enum at_err rc;
	size_t n;

	memset(&rows, 0, sizeof(rows));
	at_buf_init(&key, LIST_KEY_MAX);
	at_rql_init(&q);
	rc = at_rql_parse(&q, spec->res, ctx->req->query);
	if (rc == AT_ERR_INVALID)
		at_problem_field(&ctx->problem, q.error.key, "%s", q.error.message);
	if (rc || (spec->check && (rc = spec->check(ctx, &q))))
		goto out;
	/* only a query that parsed and passed its checks is looked up (a
	 * page is kept only when it was answered), and only at the version
	 * the counter gives now, read before the page's own statement */
	if (spec->cached && ctx->pages && !page_key(spec, ctx->req->query, &key)) {
		rc = at_changes_read(ctx->db, AT_CHANGES_LISTS, &version);
		if (rc && rc != AT_ERR_DB)
			goto out;
		/* a counter row gone: answered without the cache */
		keep = !rc;
		rc = AT_OK;
	}
	if (keep) {
		now = at_page_cache_now(ctx->pages);
		at_reply_begin(ctx, 200, &w);
		if ((rc = at_page_cache_get(ctx->pages, key.data, key.len, now, version,
					    &ctx->resp->body, &hit)) || hit)
			goto out;
	}
	if (2 * spec->plan.nscope + q.nparams + 2 + LIST_LEAD_MAX > LIST_MAX_PARAMS) {
		rc = AT_ERR_INTERNAL;
		goto out;
	}
	/* without a filter the page may bring the total along: then it is
	 * the one statement, unless it is empty */
	if (q.limit > 0 && spec->plan.list_has_total && !q.where.len) {
		if ((rc = list_query(ctx, spec, &q, p, &rows)) ||
		    (rc = at_db_rows_next(&rows, &more)))
			goto out;
		if (more) {
			total = at_db_rows_int(&rows, rows.ncols - 1);
			counted = true;
		}
	}
	if (!counted) {
		n = at_list_params(&spec->plan, &q, false, p);
		if ((rc = list_total(ctx, spec, &q, p, n, &total)))
			goto out;
	}
	if (q.limit > 0 && !rows.stmt) {
		if ((rc = list_query(ctx, spec, &q, p, &rows)) ||
		    (rc = at_db_rows_next(&rows, &more)))
			goto out;
	}
	rc = list_write(ctx, spec, &q, &rows, more, total);
	if (!rc && keep)
		at_page_cache_put(ctx->pages, key.data, key.len, now, version,
				  ctx->resp->body.data, ctx->resp->body.len);
out:
	at_buf_release(&key);
	at_db_rows_release(&rows);
	at_rql_release(&q);
	return at_db_failed(ctx, rc);
}

enum at_err at_list_reply_confined(struct at_ctx *ctx, struct at_list_spec *spec,
				   const struct at_list_scope *all, const struct at_list_scope *own)
{
	struct at_db_param scope;

	at_list_confine(&ctx->caller, all, own, &spec->plan, &scope);
	return at_list_reply(ctx, spec);
}
