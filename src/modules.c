/* modules.c: the module catalogue and what an account may grant. */
#include <string.h>

#include "crypto.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "rql.h"

/* MODULE_COLUMNS in db.c */
enum module_col { MC_ID, MC_NAME, MC_DESCRIPTION, MC_CODE, MC_ACCOUNT_TYPES, MC_REVISION };

static enum at_err render_module(const struct at_db_rows *rows, struct json_object **out)
{
	const char *types = at_db_rows_str(rows, MC_ACCOUNT_TYPES, NULL), *desc;
	struct json_object *obj, *arr;
	enum at_err rc;
	size_t len;

	*out = obj = json_object_new_object();
	if (!obj)
		return AT_ERR_NOMEM;
	desc = at_db_rows_str(rows, MC_DESCRIPTION, NULL);
	if ((rc = at_json_add_str(obj, "id", at_db_rows_str(rows, MC_ID, NULL))) ||
	    (rc = at_json_add_str(obj, "name", at_db_rows_str(rows, MC_NAME, NULL))) ||
	    (desc && *desc && (rc = at_json_add_str(obj, "description", desc))) ||
	    (rc = at_json_add_str(obj, "code", at_db_rows_str(rows, MC_CODE, NULL))))
		goto fail;
	arr = json_object_new_array();
	if ((rc = at_json_add(obj, "accountTypes", arr)))
		goto fail;
	/* a SET column reads as "Client,Vendor" */
	while (types && *types) {
		len = strcspn(types, ",");
		if ((rc = at_json_push(arr, json_object_new_string_len(types, (int)len))))
			goto fail;
		types += len;
		if (*types == ',')
			types++;
	}
	if ((rc = at_json_add_int(obj, "revision", at_db_rows_int(rows, MC_REVISION))))
		goto fail;
	return AT_OK;
fail:
	json_object_put(obj);
	*out = NULL;
	return rc;
}

/* Read every row of a module query into data; with filter, only the
 * modules the caller holds. */
static enum at_err fill(struct at_ctx *ctx, struct at_db_rows *rows, struct json_object *data,
			bool held_only, long long *count)
{
	struct json_object *obj;
	enum at_err rc;
	bool more;

	*count = 0;
	while (!(rc = at_db_rows_next(rows, &more)) && more) {
		if (held_only && !at_caller_holds(&ctx->caller, at_db_rows_str(rows, MC_ID, NULL)))
			continue;
		if ((rc = render_module(rows, &obj)) || (rc = at_json_push(data, obj)))
			break;
		(*count)++;
	}
	return rc;
}

/* What the create wizard offers: the modules enabled for the caller's
 * account that the caller holds itself (it cannot grant others). */
enum at_err at_modules_grantable(struct at_ctx *ctx)
{
	struct at_db_param p = AT_DB_P_STR(ctx->caller.account_id);
	struct json_object *root, *data, *pag, *meta;
	struct at_db_rows rows;
	struct at_paging pg;
	long long count = 0;
	enum at_err rc;

	if ((rc = at_query_each(ctx, NULL, NULL)))
		return rc;
	pg.offset = 0;
	pg.limit = AT_LIST_LIMIT_MAX;
	if ((rc = at_list_new(&pg, 0, NULL, 0, &root, &data)))
		return rc;
	if ((rc = at_db_query(ctx->db, AT_STMT_ACCOUNT_MODULES, &p, 1, &rows))) {
		json_object_put(root);
		return at_db_failed(ctx, rc);
	}
	rc = fill(ctx, &rows, data, true, &count);
	at_db_rows_release(&rows);
	if (rc) {
		json_object_put(root);
		return at_db_failed(ctx, rc);
	}
	/* the whole set is one page */
	json_object_object_get_ex(root, "$meta", &meta);
	json_object_object_get_ex(meta, "pagination", &pag);
	json_object_object_add(pag, "total", json_object_new_int64(count));
	return at_reply_json(ctx, 200, root);
}

static enum at_err ops_only(struct at_ctx *ctx)
{
	if (at_caller_is_ops(&ctx->caller))
		return AT_OK;
	at_problem_detail(&ctx->problem, "The module catalogue is open to Operations accounts "
			  "only; see /settings/api-tokens/modules for your account's modules.");
	return AT_ERR_FORBIDDEN;
}

static enum at_err list_render(struct at_ctx *ctx, const struct at_db_rows *rows,
			       const struct at_rql_query *q, struct json_object **out)
{
	enum at_err rc;

	if ((rc = render_module(rows, out)))
		return rc;
	at_list_drop_unselected(q, &at_rql_modules, *out);
	return AT_OK;
}

enum at_err at_modules_list(struct at_ctx *ctx)
{
	static const struct at_list_spec spec = {
		.res = &at_rql_modules,
		.list_tpl = AT_TPL_MODULE_LIST,
		.count_tpl = AT_TPL_MODULE_COUNT,
		.render = list_render,
	};
	enum at_err rc;

	if ((rc = ops_only(ctx)))
		return rc;
	return at_list_reply(ctx, &spec);
}

enum at_err at_modules_get(struct at_ctx *ctx)
{
	const char *id = ctx->params[0];
	struct json_object *obj;
	struct at_db_param p;
	struct at_db_rows rows;
	bool found = false;
	enum at_err rc;

	if ((rc = ops_only(ctx)) || (rc = at_query_each(ctx, NULL, NULL)))
		return rc;
	if (!at_id_valid(id, "MOD", 1))
		return AT_ERR_NOT_FOUND;
	p = AT_DB_P_STR(id);
	if ((rc = at_db_query(ctx->db, AT_STMT_MODULE_GET, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	if (!(rc = at_db_rows_next(&rows, &found)) && !found)
		rc = AT_ERR_NOT_FOUND;
	if (!rc && !(rc = render_module(&rows, &obj)))
		rc = at_reply_json(ctx, 200, obj);
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}
