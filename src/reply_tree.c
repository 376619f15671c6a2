/* reply_tree.c: being retired: replies built as json-c trees
 * (at_reply_json, lists with at_list_spec.render).  Goes with the last
 * renderer that builds one; every other reply is written with at_jw. */
#include "json.h"
#include "list.h"
#include "rql.h"

enum at_err at_reply_json(struct at_ctx *ctx, int status, struct json_object *obj)
{
	struct at_jw w;
	enum at_err rc;

	at_reply_begin(ctx, status, &w);
	rc = at_json_render(&ctx->resp->body, obj);
	json_object_put(obj);
	return rc;
}

struct at_paging {
	long long limit;
	long long offset;
};

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

static enum at_err list_new(const struct at_paging *pg, long long total, const char *const *omitted,
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
		goto out;
	}
	if ((rc = at_json_add(meta, "pagination", pag))) {
		json_object_put(om);
		json_object_put(*data);
		goto out;
	}
	if ((rc = at_json_add(meta, "omitted", om))) {
		json_object_put(*data);
		goto out;
	}
	if ((rc = at_json_add(*root, "data", *data)) ||
	    (rc = at_json_add_int(pag, "offset", pg->offset)) ||
	    (rc = at_json_add_int(pag, "limit", pg->limit)) ||
	    (rc = at_json_add_int(pag, "total", total)))
		goto out;
	for (i = 0; i < nomitted; i++)
		if ((rc = at_json_push(om, json_object_new_string(omitted[i]))))
			goto out;
out:
	if (rc) {
		json_object_put(*root);
		*root = *data = NULL;
	}
	return rc;
}

enum at_err at_list_reply_tree(struct at_ctx *ctx, const struct at_list_spec *spec,
			       const struct at_rql_query *q, struct at_db_param *p, long long total)
{
	struct json_object *root = NULL, *data, *obj;
	struct at_db_rows rows;
	struct at_paging pg;
	enum at_err rc;
	size_t n;
	bool more;

	pg.limit = q->limit;
	pg.offset = q->offset;
	if ((rc = list_new(&pg, total, q->omitted, q->nomitted, &root, &data)))
		return rc;
	if (q->limit > 0) {
		n = at_list_params(spec, q, true, p);
		if ((rc = at_db_query_built(ctx->db, spec->list_tpl, q->where.data, q->order.data, p,
					    n, &rows)))
			goto out;
		while (!(rc = at_db_rows_next(&rows, &more)) && more)
			if ((rc = spec->render(ctx, &rows, q, &obj)) || (rc = at_json_push(data, obj)))
				break;
		at_db_rows_release(&rows);
		if (rc)
			goto out;
	}
	rc = at_reply_json(ctx, 200, root);
	root = NULL;
out:
	json_object_put(root);
	return rc;
}
