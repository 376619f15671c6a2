/* rql_int.h: what the three passes of RQL share, and nothing else uses.
 *
 *   rql_parse.c  text → tree, and the error helpers every pass reports with
 *   rql_sql.c    tree → SQL and bound parameters, against a field table
 *   rql.c        the query string (order, select, limit, offset, render())
 *                and the public entries of rql.h
 */
#ifndef AT_RQL_INT_H
#define AT_RQL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"
#include "rql.h"

#define RQL_ECHO_MAX	40		/* bytes of input quoted back in a message */
#define RQL_NO_POS	((size_t)-1)

enum nkind { N_WORD, N_CALL, N_GROUP, N_SHORT };

/* One node of the syntax tree; all live in parser.nodes. */
struct node {
	enum nkind kind;
	char sep;		/* separator before it in a group, 0 for the first */
	bool quoted;		/* N_WORD came in quotes */
	size_t pos;		/* byte offset in the filter text */
	const char *text;	/* word: its value; call: the name; short: the field */
	size_t len;
	struct node *kids;	/* call arguments, group items, short: the value */
	struct node *next;
	size_t nkids;
};

/* The fields in reach: the resource's, or a collection's inside any(). */
struct scope {
	const struct at_rql_field *fields;
	size_t nfields;
	const struct at_rql_collection *colls;
	size_t ncolls;
};

struct parser {
	struct at_rql_query *q;
	const struct at_rql_resource *res;
	const char *key;	/* error key of the filter text: "rql" or "filter" */
	char *s;		/* filter text; quoted values unescaped in place */
	size_t len;
	size_t i;
	size_t nnodes;
	bool have_order, have_limit, have_offset;
	struct node nodes[AT_RQL_MAX_NODES];
	char orig[AT_RQL_MAX_QUERY + 1];	/* filter text as decoded, for positions */
	char text[AT_RQL_MAX_QUERY + 1];
	char part[AT_RQL_MAX_QUERY + 1];
	char order[AT_RQL_MAX_QUERY + 1];	/* the value of order= */
};

static inline bool rql_is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static inline bool rql_is_and(char c)
{
	return c == ',' || c == '&';
}

/* rql_parse.c */
enum at_err rql_fail(struct at_rql_query *q, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int rql_echo_len(const char *s, size_t len);
size_t rql_char_pos(const struct parser *p, size_t byte);
enum at_err rql_syntax(struct parser *p, size_t pos, const char *what);
bool rql_name_eq(const char *a, size_t alen, const char *b);
/* p->s[0..p->len) → the items of top, an implicit group of no depth */
enum at_err rql_parse_text(struct parser *p, struct node *top);

/* rql_sql.c */
const struct at_rql_field *rql_find_field(const struct scope *sc, const char *name, size_t len);
enum at_err rql_emit_group(struct parser *p, struct at_buf *out, const struct scope *sc,
			   const struct node *g);

#endif
