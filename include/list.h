/* list.h: the list envelope and paging shared by every collection (SPEC §6). */
#ifndef AT_LIST_H
#define AT_LIST_H

#include <stdbool.h>

#include "db.h"
#include "json.h"
#include "ctx.h"

#define AT_LIST_LIMIT_DEFAULT 10
#define AT_LIST_LIMIT_MAX 1000

struct at_paging {
	long long limit;
	long long offset;
};

/* {"$meta": {"pagination": {offset, limit, total}, "omitted": [...]},
 *  "data": []}; *data is the (borrowed) array to fill. */
AT_MUST_CHECK enum at_err at_list_new(const struct at_paging *pg, long long total,
				      const char *const *omitted, size_t nomitted,
				      struct json_object **root, struct json_object **data);

struct at_rql_resource;
struct at_rql_query;
struct at_db_rows;

/* A collection read through RQL: the query string is parsed against res,
 * the caller's confinement (scope, the template's leading parameters)
 * comes first in the SQL so that a filter can only narrow it, and each
 * row is rendered by render.  Without a filter, total_stmt (when set)
 * reads a kept counter instead of counting rows. */
struct at_list_spec {
	const struct at_rql_resource *res;
	enum at_tpl list_tpl;
	enum at_tpl count_tpl;
	const struct at_db_param *scope;
	size_t nscope;
	bool has_total_stmt;
	enum at_stmt total_stmt;	/* takes the scope parameters */
	/* refuse a query the resource cannot answer (may be NULL) */
	enum at_err (*check)(struct at_ctx *ctx, const struct at_rql_query *q);
	/* one element of data, written with w (key NULL); replaces render */
	enum at_err (*write)(struct at_ctx *ctx, const struct at_db_rows *rows,
			     const struct at_rql_query *q, struct at_jw *w);
	/* being retired: the element as a json-c object */
	enum at_err (*render)(struct at_ctx *ctx, const struct at_db_rows *rows,
			      const struct at_rql_query *q, struct json_object **out);
};

AT_MUST_CHECK enum at_err at_list_reply(struct at_ctx *ctx, const struct at_list_spec *spec);

/* The statements of one confinement of a collection. */
struct at_list_scope {
	enum at_tpl list;
	enum at_tpl count;
	enum at_stmt total;
};

/* at_list_reply confined the usual way: Operations callers read every
 * account (all), others their own (own, whose templates take the
 * caller's account id first). */
AT_MUST_CHECK enum at_err at_list_reply_confined(struct at_ctx *ctx, struct at_list_spec *spec,
						 const struct at_list_scope *all,
						 const struct at_list_scope *own);

/* Remove from obj every field of res that q did not select. */
void at_list_drop_unselected(const struct at_rql_query *q, const struct at_rql_resource *res,
			     struct json_object *obj);

/* Append obj to arr, taking it; frees it on failure. */
AT_MUST_CHECK enum at_err at_json_push(struct json_object *arr, struct json_object *obj);

#endif
