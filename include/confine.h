/* confine.h: the caller's confinement of a collection (SPEC §7).
 *
 * Which statements a list, or a bulk action, runs for a caller, and the
 * scope parameters they take first in their SQL, so that a filter can
 * only narrow what the caller may see: Operations callers read every
 * account (Deleted tokens too), others their own.  Pure: no request, no
 * database; list.c and token_bulk.c both plan with it.
 */
#ifndef AT_CONFINE_H
#define AT_CONFINE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "db.h"

/* The statements of one confinement of a collection. */
struct at_list_scope {
	enum at_tpl list;
	enum at_tpl count;
	enum at_stmt total;
	bool list_has_total;	/* see struct at_list_plan */
};

/* What a collection read runs: its templates, their leading scope
 * parameters, and the kept counter read when there is no filter. */
struct at_list_plan {
	enum at_tpl list_tpl;
	enum at_tpl count_tpl;
	const struct at_db_param *scope;
	size_t nscope;
	bool has_total_stmt;
	enum at_stmt total_stmt;	/* takes the scope parameters */
	/* list_tpl's last column is total_stmt's answer, and it takes the
	 * scope parameters twice (the total's first): without a filter the
	 * page is then one statement */
	bool list_has_total;
};

/* all's statements and no scope for an Operations caller c, else own's
 * with c's account id as the one scope parameter, kept in *scope. */
void at_list_confine(const struct at_caller *c, const struct at_list_scope *all,
		     const struct at_list_scope *own, struct at_list_plan *plan,
		     struct at_db_param *scope);

struct at_rql_query;
/* The parameters of a list statement into p: the scope first, then the
 * filter's values, then limit and offset when paging; their count. */
size_t at_list_params(const struct at_list_plan *plan, const struct at_rql_query *q,
		      bool paging, struct at_db_param *p);

#endif
