/* domain.c: what every file of the domain layer shares. */
#include "domain.h"

enum at_err at_dom_db_failed(const struct at_dom *dom, enum at_err rc)
{
	if ((rc == AT_ERR_UNAVAILABLE || rc == AT_ERR_DB || rc == AT_ERR_RETRY ||
	     rc == AT_ERR_DUPLICATE) && !dom->problem->internal[0])
		at_problem_internal(dom->problem, "database: %s", at_db_error(dom->db));
	return rc;
}
