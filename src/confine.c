/* confine.c: the caller's confinement of a collection (SPEC §7). */
#include <string.h>

#include "confine.h"
#include "rql.h"

void at_list_confine(const struct at_caller *c, const struct at_list_scope *all,
		     const struct at_list_scope *own, struct at_list_plan *plan,
		     struct at_db_param *scope)
{
	const struct at_list_scope *use = at_caller_is_ops(c) ? all : own;

	plan->list_tpl = use->list;
	plan->count_tpl = use->count;
	plan->total_stmt = use->total;
	plan->has_total_stmt = true;
	plan->list_has_total = use->list_has_total;
	if (use == all) {
		plan->scope = NULL;
		plan->nscope = 0;
		return;
	}
	*scope = AT_DB_P_STR(c->account_id);
	plan->scope = scope;
	plan->nscope = 1;
}

size_t at_list_params(const struct at_list_plan *plan, const struct at_rql_query *q,
		      bool paging, struct at_db_param *p)
{
	size_t n = 0, i;

	for (i = 0; i < plan->nscope; i++)
		p[n++] = plan->scope[i];
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
