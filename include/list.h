/* list.h: the list envelope and paging shared by every collection (SPEC §6). */
#ifndef AT_LIST_H
#define AT_LIST_H

#include <stdbool.h>

#include "confine.h"
#include "ctx.h"
#include "db.h"

#define AT_LIST_LIMIT_DEFAULT 10
#define AT_LIST_LIMIT_MAX 1000

struct at_jw;
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
	struct at_list_plan plan;
	/* with plan.list_has_total: the parameters list_tpl takes before those
	 * (into p, their count; may be NULL) */
	size_t (*lead)(const struct at_rql_query *q, struct at_db_param *p);
	/* refuse a query the resource cannot answer (may be NULL) */
	enum at_err (*check)(struct at_ctx *ctx, const struct at_rql_query *q);
	/* one element of data, written with w (key NULL) */
	enum at_err (*write)(struct at_ctx *ctx, const struct at_db_rows *rows,
			     const struct at_rql_query *q, struct at_jw *w);
	/* pages may come from ctx->pages (page_cache.h): nothing they show
	 * changes through a GET but what may lag by the cache's second */
	bool cached;
};

AT_MUST_CHECK enum at_err at_list_reply(struct at_ctx *ctx, const struct at_list_spec *spec);

/* at_list_reply confined the usual way: Operations callers read every
 * account (all), others their own (own, whose templates take the
 * caller's account id first). */
AT_MUST_CHECK enum at_err at_list_reply_confined(struct at_ctx *ctx, struct at_list_spec *spec,
						 const struct at_list_scope *all,
						 const struct at_list_scope *own);

#endif
