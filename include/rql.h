/* rql.h: the query string of a list → SQL WHERE and ORDER BY, LIMIT,
 * OFFSET and select, from a fixed table of fields per resource; and the
 * filter of a bulk action → SQL WHERE.
 *
 * No database and no FastCGI here: the result is SQL text made only of
 * fragments of the resource table, operators, parentheses and '?', plus
 * the values to bind to those '?' in order.  No input text ever reaches
 * the SQL text.
 *
 * Decoding (SPEC §6): the raw query is split on '&' first, then each part
 * is percent-decoded ('+' stays '+') and must be valid UTF-8 without NUL.
 * A part starting with order=, select=, limit= or offset= is that
 * parameter; "render()" or "render()=" is the render flag; every other
 * part is filter text.  The filter parts are joined with '&' and parsed
 * as one RQL expression, as mpt-rql-net does with its query keys.
 *
 * Grammar of the filter text (see the head of rql.c for the details):
 *   group  := item (sep item)*        sep: ',' '&' (and), ';' '|' (or)
 *   item   := name '(' [arg (',' arg)*] ')' | '(' group ')' | name '=' value
 *   value  := bare text | 'quoted' | "quoted" | null() | empty()
 * and binds tighter than or; parentheses group.  Spaces and tabs around
 * items are insignificant; quote a value to keep them.
 *
 * The result owns everything it points to, except pointers into the
 * resource table (which is static).
 */
#ifndef AT_RQL_H
#define AT_RQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

#define AT_RQL_MAX_DEPTH	64	/* SPEC §11: nesting of parentheses */
#define AT_RQL_MAX_NODES	256	/* SPEC §11: every operator, group and value */
#define AT_RQL_MAX_QUERY	8192	/* SPEC §11: the raw query string */
#define AT_RQL_MAX_ORDER	16	/* keys of order= */
#define AT_RQL_MAX_SELECT	64	/* selectable fields of a resource (a bitmask) */
#define AT_RQL_LIMIT_DEFAULT	10
#define AT_RQL_LIMIT_MAX	1000	/* larger limits are capped, not refused */
#define AT_RQL_OFFSET_MAX	2147483647L

enum at_rql_type {
	AT_RQL_STRING,		/* text: every operator, like and ilike too */
	AT_RQL_ENUM,		/* text with a fixed set of values (values) */
	AT_RQL_INTEGER,		/* strict decimal, bound as an int64 */
	AT_RQL_DATETIME,	/* YYYY-MM-DD[THH:MM:SS[.f{1,3}]Z], bound as text */
};

/* at_rql_field.flags */
#define AT_RQL_FILTER	0x1u	/* may appear in the filter */
#define AT_RQL_SORT	0x2u	/* may appear in order= */

struct at_rql_collection;

struct at_rql_field {
	const char *name;	/* public name, dotted: "audit.created.at" */
	const char *sql;	/* SQL expression: "t.created_at" */
	const char *order_sql;	/* ORDER BY expression when not sql, else NULL */
	enum at_rql_type type;
	unsigned flags;
	const char *const *values;	/* AT_RQL_ENUM: NULL-terminated */
	/* set: a field of a collection seen from its parent ("modules.id"):
	 * op(modules.id, v) means any(modules, op(id, v)) */
	const struct at_rql_collection *coll;
};

/* A collection for any() and all(): the condition on its fields goes
 * between sql_open and sql_close.  Two strings rather than a format with
 * %s, so that no table text is ever used as a printf format. */
struct at_rql_collection {
	const char *name;		/* "modules" */
	const char *sql_open;		/* "EXISTS (SELECT 1 ... AND (" */
	const char *sql_close;		/* "))" */
	const struct at_rql_field *fields;
	size_t nfields;
};

/* at_rql_selectable.flags */
#define AT_RQL_SEL_DEFAULT	0x1u	/* returned unless select=-name */
#define AT_RQL_SEL_ALWAYS	0x2u	/* returned whatever select says (id) */
#define AT_RQL_SEL_UNLISTED	0x4u	/* never named in $meta.omitted (token) */

struct at_rql_selectable {
	const char *name;	/* a top-level field of the object */
	unsigned flags;
};

struct at_rql_resource {
	const struct at_rql_field *fields;
	size_t nfields;
	const struct at_rql_collection *colls;
	size_t ncolls;
	const char *id_sql;		/* the tie-break of every order: "t.id" */
	const char *default_order;	/* order= text used when none is given */
	const struct at_rql_selectable *select;	/* at most AT_RQL_MAX_SELECT */
	size_t nselect;
};

/* The API tokens resource (rql_tokens.c): tokens t JOIN accounts a. */
extern const struct at_rql_resource at_rql_tokens;
/* src/rql_audit.c */
extern const struct at_rql_resource at_rql_audit;
extern const struct at_rql_resource at_rql_modules;

enum at_rql_param_type {
	AT_RQL_PARAM_TEXT,
	AT_RQL_PARAM_INT,	/* num holds the value, text its decimal form */
	AT_RQL_PARAM_DATETIME,	/* text: "YYYY-MM-DD HH:MM:SS.fff" (UTC) */
};

struct at_rql_param {
	enum at_rql_param_type type;
	char *text;		/* NUL-terminated, owned by the query */
	size_t len;
	int64_t num;
};

/* What a 400 body says: errors: {key: [message]}. */
struct at_rql_error {
	char key[16];		/* "rql", "order", "select", "limit", "offset", "render";
				 * "filter" from at_rql_parse_filter() */
	char message[256];	/* positions are 0-based character offsets */
};

struct at_rql_query {
	struct at_buf where;	/* "" when there is no filter; safe to AND with */
	struct at_buf order;	/* never empty; ends with the id tie-break */
	struct at_rql_param *params;	/* nparams values for the '?' of where */
	size_t nparams;
	long limit;		/* 0..AT_RQL_LIMIT_MAX; 0: count only */
	long offset;
	uint64_t selected;	/* bit i: resource select[i] is returned */
	const char *omitted[AT_RQL_MAX_SELECT];	/* for $meta.omitted */
	size_t nomitted;
	bool render;		/* render() flag */
	struct at_rql_error error;	/* set when parse returns AT_ERR_INVALID */
	size_t cap;		/* private: room in params */
};

void at_rql_init(struct at_rql_query *q);

/* Parse the raw query string (as received, at most AT_RQL_MAX_QUERY
 * bytes) against res.  AT_ERR_INVALID with q->error filled on bad input,
 * AT_ERR_NOMEM, or AT_OK.  q must be fresh from at_rql_init() or
 * at_rql_release(). */
AT_MUST_CHECK enum at_err at_rql_parse(struct at_rql_query *q, const struct at_rql_resource *res,
				       const char *query);

/* Parse text, a bulk action's "filter" (as a JSON body carries it), as
 * the filter text of a query string: the same grammar, top-level terms
 * joined by '&' or ',' (and) and '|' or ';' (or), and the same q->where
 * and q->params as at_rql_parse() gives for that filter.  The text is
 * taken as it is, neither split on '&' nor percent-decoded: JSON needs
 * no such encoding.  A top-level order=, select=, limit=, offset= or
 * render() is refused ("a filter takes no select/order/limit"), and so
 * is an empty or blank text (NULL counts as empty).  Errors are
 * AT_ERR_INVALID with q->error.key "filter"; q->order, limit, offset,
 * select and render stay as at_rql_init() left them.  q must be fresh
 * from at_rql_init() or at_rql_release(). */
AT_MUST_CHECK enum at_err at_rql_parse_filter(struct at_rql_query *q,
					      const struct at_rql_resource *res, const char *text);

/* True when select field name (as in the resource table) is returned. */
bool at_rql_selected(const struct at_rql_query *q, const struct at_rql_resource *res,
		     const char *name);

/* A one-object read's field select: start q->selected from what that read
 * shows by default (AT_RQL_SELECT_EVERY: every field), then apply the
 * value of each select= to it.  The items are a list's: f and +f add a
 * field, -f drops one; the fields marked always stay.  AT_ERR_INVALID
 * with q->error filled on bad input. */
#define AT_RQL_SELECT_EVERY UINT64_MAX
AT_MUST_CHECK enum at_err at_rql_select(struct at_rql_query *q, const struct at_rql_resource *res,
					const char *value);

void at_rql_release(struct at_rql_query *q);

#endif
