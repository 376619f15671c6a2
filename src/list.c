/* list.c: list envelope and paging. */
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "rql.h"

enum at_err at_json_push(struct json_object *arr, struct json_object *obj)
{
	if (!obj)
		return AT_ERR_NOMEM;
	if (json_object_array_add(arr, obj)) {
		json_object_put(obj);
		return AT_ERR_NOMEM;
	}
	return AT_OK;
}

enum at_err at_list_new(const struct at_paging *pg, long long total, const char *const *omitted,
			size_t nomitted, struct json_object **root, struct json_object **data)
{
	struct json_object *meta, *pag, *om;
	enum at_err rc;
	size_t i;

	*root = json_object_new_object();
	if (!*root)
		return AT_ERR_NOMEM;
	meta = json_object_new_object();
	pag = json_object_new_object();
	om = json_object_new_array();
	*data = json_object_new_array();
	if ((rc = at_json_add(*root, "$meta", meta))) {
		json_object_put(pag);
		json_object_put(om);
		json_object_put(*data);
		goto fail;
	}
	if ((rc = at_json_add(meta, "pagination", pag))) {
		json_object_put(om);
		json_object_put(*data);
		goto fail;
	}
	if ((rc = at_json_add(meta, "omitted", om))) {
		json_object_put(*data);
		goto fail;
	}
	if ((rc = at_json_add(*root, "data", *data)) ||
	    (rc = at_json_add_int(pag, "offset", pg->offset)) ||
	    (rc = at_json_add_int(pag, "limit", pg->limit)) ||
	    (rc = at_json_add_int(pag, "total", total)))
		goto fail;
	for (i = 0; i < nomitted; i++)
		if ((rc = at_json_push(om, json_object_new_string(omitted[i]))))
			goto fail;
	return AT_OK;
fail:
	json_object_put(*root);
	*root = *data = NULL;
	return rc;
}

#define LIST_MAX_PARAMS 300

/* scope, then the filter's values, then limit and offset when wanted */
static size_t list_params(const struct at_list_spec *spec, const struct at_rql_query *q,
			  bool paging, struct at_db_param *p)
{
	size_t n = 0, i;

	for (i = 0; i < spec->nscope; i++)
		p[n++] = spec->scope[i];
	for (i = 0; i < q->nparams; i++)
		p[n++] = q->params[i].type == AT_RQL_PARAM_INT
				 ? AT_DB_P_INT(q->params[i].num)
				 : AT_DB_P_STRN(q->params[i].text, q->params[i].len);
	if (paging) {
		p[n++] = AT_DB_P_INT(q->limit);
		p[n++] = AT_DB_P_INT(q->offset);
	}
	return n;
}

static enum at_err list_total(struct at_ctx *ctx, const struct at_list_spec *spec,
			      const struct at_rql_query *q, const struct at_db_param *p,
			      size_t n, long long *total)
{
	struct at_db_rows rows;
	enum at_err rc;
	bool more;

	if (!q->where.len && spec->has_total_stmt)
		rc = at_db_query(ctx->db, spec->total_stmt, spec->scope, spec->nscope, &rows);
	else
		rc = at_db_query_built(ctx->db, spec->count_tpl, q->where.data, NULL, p, n, &rows);
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
		n = list_params(spec, q, true, p);
		if ((rc = at_db_query_built(ctx->db, spec->list_tpl, q->where.data, q->order.data, p,
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
	struct json_object *root = NULL, *data, *obj;
	struct at_rql_query q;
	struct at_db_rows rows;
	struct at_paging pg;
	long long total = 0;
	enum at_err rc;
	size_t n;
	bool more;

	at_rql_init(&q);
	rc = at_rql_parse(&q, spec->res, ctx->req->query);
	if (rc == AT_ERR_INVALID)
		at_problem_field(&ctx->problem, q.error.key, "%s", q.error.message);
	if (rc || (spec->check && (rc = spec->check(ctx, &q))))
		goto out;
	if (spec->nscope + q.nparams + 2 > LIST_MAX_PARAMS) {
		rc = AT_ERR_INTERNAL;
		goto out;
	}
	n = list_params(spec, &q, false, p);
	if ((rc = list_total(ctx, spec, &q, p, n, &total)))
		goto out;
	if (spec->write) {
		rc = list_write(ctx, spec, &q, p, total);
		goto out;
	}
	pg.limit = q.limit;
	pg.offset = q.offset;
	if ((rc = at_list_new(&pg, total, q.omitted, q.nomitted, &root, &data)))
		goto out;
	if (q.limit > 0) {
		n = list_params(spec, &q, true, p);
		if ((rc = at_db_query_built(ctx->db, spec->list_tpl, q.where.data, q.order.data, p,
					    n, &rows)))
			goto out;
		while (!(rc = at_db_rows_next(&rows, &more)) && more)
			if ((rc = spec->render(ctx, &rows, &q, &obj)) || (rc = at_json_push(data, obj)))
				break;
		at_db_rows_release(&rows);
		if (rc)
			goto out;
	}
	rc = at_reply_json(ctx, 200, root);
	root = NULL;
out:
	json_object_put(root);
	at_rql_release(&q);
	return at_db_failed(ctx, rc);
}

enum at_err at_list_reply_confined(struct at_ctx *ctx, struct at_list_spec *spec,
				   const struct at_list_scope *all, const struct at_list_scope *own)
{
	struct at_db_param scope = AT_DB_P_STR(ctx->caller.account_id);
	const struct at_list_scope *use = at_caller_is_ops(&ctx->caller) ? all : own;

	spec->list_tpl = use->list;
	spec->count_tpl = use->count;
	spec->total_stmt = use->total;
	spec->has_total_stmt = true;
	spec->scope = use == own ? &scope : NULL;
	spec->nscope = use == own ? 1 : 0;
	return at_list_reply(ctx, spec);
}

void at_list_drop_unselected(const struct at_rql_query *q, const struct at_rql_resource *res,
			     struct json_object *obj)
{
	size_t i;

	for (i = 0; i < res->nselect; i++)
		if (!at_rql_selected(q, res, res->select[i].name))
			json_object_object_del(obj, res->select[i].name);
}
