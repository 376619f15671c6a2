/* list.c: the list envelope and paging (SPEC §6), streamed into the
 * response; the caller's confinement is confine.c's. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "list.h"
#include "rql.h"

#define LIST_MAX_PARAMS 300

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

/* The envelope and its rows straight into the response body. */
static enum at_err list_write(struct at_ctx *ctx, const struct at_list_spec *spec,
			      const struct at_rql_query *q, struct at_db_param *p, long long total)
{
	struct at_db_rows rows;
	struct at_jw w;
	enum at_err rc = AT_OK;
	size_t i, n;
	bool more;

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
		n = at_list_params(&spec->plan, q, true, p);
		if ((rc = at_db_query_built(ctx->db, spec->plan.list_tpl, q->where.data, q->order.data, p,
					    n, &rows)))
			return rc;
		while (!(rc = at_db_rows_next(&rows, &more)) && more && !w.err)
			rc = spec->write(ctx, &rows, q, &w);
		at_db_rows_release(&rows);
		if (rc)
			return rc;
	}
	at_jw_array_end(&w);
	at_jw_object_end(&w);
	return at_jw_finish(&w);
}

enum at_err at_list_reply(struct at_ctx *ctx, const struct at_list_spec *spec)
{
	struct at_db_param p[LIST_MAX_PARAMS];
	struct at_rql_query q;
	long long total = 0;
	enum at_err rc;
	size_t n;

	at_rql_init(&q);
	rc = at_rql_parse(&q, spec->res, ctx->req->query);
	if (rc == AT_ERR_INVALID)
		at_problem_field(&ctx->problem, q.error.key, "%s", q.error.message);
	if (rc || (spec->check && (rc = spec->check(ctx, &q))))
		goto out;
	if (spec->plan.nscope + q.nparams + 2 > LIST_MAX_PARAMS) {
		rc = AT_ERR_INTERNAL;
		goto out;
	}
	n = at_list_params(&spec->plan, &q, false, p);
	if ((rc = list_total(ctx, spec, &q, p, n, &total)))
		goto out;
	rc = list_write(ctx, spec, &q, p, total);
out:
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
