/* audit_render.h: an audit record as the API shows it (SPEC §9). */
#ifndef AT_AUDIT_RENDER_H
#define AT_AUDIT_RENDER_H

#include <stdbool.h>

#include "db.h"
#include "json.h"

struct at_rql_query;

/* Which fields, and whether {{path}} placeholders are filled. */
struct at_audit_view {
	/* the top-level fields it selects (at_rql_audit); NULL: every one
	 * but documents, which documents decides */
	const struct at_rql_query *q;
	bool documents;
	/* render(): fill {{path}} in summary and details from the record,
	 * documents included whether shown or not */
	bool render;
};

/* Write the record of an AUDIT_COLUMNS row as one value (key NULL in an
 * array).  Errors also stick in w. */
AT_MUST_CHECK enum at_err at_audit_write(struct at_jw *w, const struct at_db_rows *rows,
					 const struct at_audit_view *v);

#endif
