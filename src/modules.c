/* modules.c: the module catalogue and what an account may grant. */
#include <string.h>

#include "crypto.h"
#include "db_columns.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "rql.h"

/* Is field name shown?  Every field when there is no select (q NULL). */
static bool shown(const struct at_rql_query *q, const char *name)
{
	return !q || at_rql_selected(q, &at_rql_modules, name);
}

/* One module as SPEC shows it, the fields q selects. */
static void write_module(struct at_jw *w, const struct at_db_rows *rows,
			 const struct at_rql_query *q)
{
	const char *types = at_db_rows_str(rows, MC_ACCOUNT_TYPES, NULL);
	size_t len;

	at_jw_object(w, NULL);
	at_jw_str(w, "id", at_db_rows_str(rows, MC_ID, NULL));
	if (shown(q, "name"))
		at_jw_str(w, "name", at_db_rows_str(rows, MC_NAME, NULL));
	if (shown(q, "description"))
		at_jw_opt_str(w, "description", at_db_rows_str(rows, MC_DESCRIPTION, NULL));
	if (shown(q, "code"))
		at_jw_str(w, "code", at_db_rows_str(rows, MC_CODE, NULL));
	if (shown(q, "accountTypes")) {
		at_jw_array(w, "accountTypes");
		/* a SET column reads as "Client,Vendor" */
		while (types && *types) {
			len = strcspn(types, ",");
			at_jw_strn(w, NULL, types, len);
			types += len;
			if (*types == ',')
				types++;
		}
		at_jw_array_end(w);
	}
	if (shown(q, "revision"))
		at_jw_int(w, "revision", at_db_rows_int(rows, MC_REVISION));
	at_jw_object_end(w);
}

/* What the create wizard offers: the modules enabled for the caller's
 * account that the caller holds itself (it cannot grant others). */
enum at_err at_modules_grantable(struct at_ctx *ctx)
{
	struct at_db_param p = AT_DB_P_STR(ctx->caller.account_id);
	struct at_db_rows rows;
	struct at_jw w, dw;
	struct at_buf data;
	long long count = 0;
	enum at_err rc;
	bool more;

	if ((rc = at_query_each(ctx, NULL, NULL)))
		return rc;
	if ((rc = at_db_query(ctx->db, AT_STMT_ACCOUNT_MODULES, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	/* the total comes before the data and is known after it */
	at_buf_init(&data, ctx->resp->body.max);
	at_jw_init(&dw, &data);
	at_jw_array(&dw, NULL);
	while (!(rc = at_db_rows_next(&rows, &more)) && more && !dw.err) {
		if (!at_caller_holds(&ctx->caller, at_db_rows_str(&rows, MC_ID, NULL)))
			continue;
		write_module(&dw, &rows, NULL);
		count++;
	}
	at_db_rows_release(&rows);
	at_jw_array_end(&dw);
	if (rc || (rc = at_jw_finish(&dw)))
		goto out;
	/* the whole set is one page */
	at_reply_begin(ctx, 200, &w);
	at_jw_object(&w, NULL);
	at_jw_object(&w, "$meta");
	at_jw_object(&w, "pagination");
	at_jw_int(&w, "offset", 0);
	at_jw_int(&w, "limit", AT_LIST_LIMIT_MAX);
	at_jw_int(&w, "total", count);
	at_jw_object_end(&w);
	at_jw_array(&w, "omitted");
	at_jw_array_end(&w);
	at_jw_object_end(&w);
	at_jw_raw(&w, "data", data.data, data.len);
	at_jw_object_end(&w);
	rc = at_jw_finish(&w);
out:
	at_buf_release(&data);
	return at_db_failed(ctx, rc);
}

static enum at_err ops_only(struct at_ctx *ctx)
{
	if (at_caller_is_ops(&ctx->caller))
		return AT_OK;
	at_problem_detail(&ctx->problem, "The module catalogue is open to Operations accounts "
			  "only; see /settings/api-tokens/modules for your account's modules.");
	return AT_ERR_FORBIDDEN;
}

static enum at_err list_write(struct at_ctx *ctx, const struct at_db_rows *rows,
			      const struct at_rql_query *q, struct at_jw *w)
{
	(void)ctx;
	write_module(w, rows, q);
	return AT_OK;
}

enum at_err at_modules_list(struct at_ctx *ctx)
{
	static const struct at_list_spec spec = {
		.res = &at_rql_modules,
		.plan = { .list_tpl = AT_TPL_MODULE_LIST, .count_tpl = AT_TPL_MODULE_COUNT },
		.write = list_write,
	};
	enum at_err rc;

	if ((rc = ops_only(ctx)))
		return rc;
	return at_list_reply(ctx, &spec);
}

/* One module's query: the field select of the list. */
static enum at_err take_select(struct at_ctx *ctx, const char *key, char *val, void *arg)
{
	if (strcmp(key, "select"))
		return AT_ERR_NOT_FOUND;
	return at_query_select(ctx, arg, &at_rql_modules, val);
}

enum at_err at_modules_get(struct at_ctx *ctx)
{
	const char *id = ctx->params[0];
	struct at_rql_query q;
	struct at_db_param p;
	struct at_db_rows rows;
	struct at_jw w;
	bool found = false;
	enum at_err rc;

	if ((rc = ops_only(ctx)))
		return rc;
	at_rql_init(&q);
	q.selected = AT_RQL_SELECT_EVERY;
	if ((rc = at_query_each(ctx, take_select, &q)))
		goto out;
	if (!at_id_valid(id, "MOD", 1)) {
		rc = AT_ERR_NOT_FOUND;
		goto out;
	}
	p = AT_DB_P_STR(id);
	if ((rc = at_db_query(ctx->db, AT_STMT_MODULE_GET, &p, 1, &rows)))
		goto out;
	if (!(rc = at_db_rows_next(&rows, &found)) && !found)
		rc = AT_ERR_NOT_FOUND;
	if (!rc) {
		at_reply_begin(ctx, 200, &w);
		write_module(&w, &rows, &q);
		rc = at_jw_finish(&w);
	}
	at_db_rows_release(&rows);
out:
	at_rql_release(&q);
	return at_db_failed(ctx, rc);
}
