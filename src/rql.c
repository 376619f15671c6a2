/* rql.c: the query string of a list, and the filter of a bulk action →
 * SQL WHERE and ORDER BY with bound parameters.
 *
 * Three passes over three files: this one splits and decodes the query
 * string and reads order=, select=, limit=, offset= and render(); the rest
 * is filter text, which rql_parse.c turns into a generic tree of words,
 * calls, groups and field=value shortcuts, knowing nothing of fields and
 * enforcing the depth and node limits; rql_sql.c walks the tree against the
 * resource table and appends SQL made only of table fragments, operators,
 * parentheses and '?'.  A bulk action's filter is filter text alone: it
 * goes through the same two passes, and may not carry what only a list
 * has (order, select, paging, render()).
 *
 * Decisions, following mpt-rql-net (RqlParser.cs, RqlExpressionReducer.cs)
 * where it has an answer:
 *  - precedence: in a group, ',' and '&' (and) bind tighter than ';' and
 *    '|' (or): a,b|c,d is (a and b) or (c and d), which is what the
 *    reference reducer builds.  The filter parts of the query string are
 *    joined with '&' before parsing, as the reference sample does, so
 *    ?a|b&c is a or (b and c).
 *  - arguments of a named operator are separated by ',' only; and(a|b) is
 *    refused rather than silently read as and(a,b).
 *  - in(f,(a,b)) and in(f,a): exactly two arguments, the second a list in
 *    parentheses or a single value; in(f,a,b) is refused, as the
 *    reference's binary parser does.
 *  - null(): eq → IS NULL, ne → IS NOT NULL, nothing else.  empty():
 *    eq → (f IS NULL OR f = ''), ne → (f IS NOT NULL AND f <> ''), text
 *    fields only: the API omits null and empty fields alike.
 *  - negations are null-safe, as LINQ's != is: ne, out and not() are
 *    written "(…) IS NOT TRUE", so a row whose field is NULL is "not
 *    equal" to a value.
 *  - like is case-sensitive (COLLATE utf8mb4_bin), ilike follows the
 *    column's case-insensitive collation; '*' is the wildcard, '\*' a
 *    literal star, '\\' a literal backslash; % _ ! are escaped with '!'
 *    (ESCAPE '!' does not depend on NO_BACKSLASH_ESCAPES).
 *  - op(modules.id, v) means any(modules, op(id, v)).
 *  - operator and field names match ASCII case-insensitively, like the
 *    reference's lowered terms.
 */
#include <stdlib.h>
#include <string.h>

#include "rql_int.h"
#include "text.h"

#define WHERE_MAX	(1u << 20)

/* ---- order, select, limit, offset ----------------------------------------- */

static void trim(const char **s, size_t *len)
{
	while (*len && rql_is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && rql_is_ws((*s)[*len - 1]))
		(*len)--;
}

static bool blank(const char *s)
{
	while (rql_is_ws(*s))
		s++;
	return !*s;
}

static enum at_err build_order(struct parser *p, const char *text)
{
	const struct at_rql_resource *res = p->res;
	struct scope sc = { res->fields, res->nfields, NULL, 0 };
	const struct at_rql_field *f;
	const char *s = text, *key;
	bool desc = false, has_id = false;
	size_t len, nkeys = 0;
	enum at_err rc;

	for (;;) {
		key = s;
		len = strcspn(s, ",");
		s += len;
		trim(&key, &len);
		desc = false;
		if (len && (*key == '+' || *key == '-')) {
			desc = *key == '-';
			key++;
			len--;
		}
		if (!len)
			return rql_fail(p->q, "order", "an order key is empty");
		if (++nkeys > AT_RQL_MAX_ORDER)
			return rql_fail(p->q, "order", "more than %d order keys", AT_RQL_MAX_ORDER);
		f = rql_find_field(&sc, key, len);
		if (!f)
			return rql_fail(p->q, "order", "unknown field '%.*s'",
					rql_echo_len(key, len), key);
		if (!(f->flags & AT_RQL_SORT))
			return rql_fail(p->q, "order", "field %s cannot be sorted", f->name);
		if ((rc = at_buf_printf(&p->q->order, "%s%s %s", p->q->order.len ? ", " : "",
					f->order_sql ? f->order_sql : f->sql,
					desc ? "DESC" : "ASC")))
			return rc;
		/* the id is unique: keys after it change nothing, no tie-break needed */
		if (!strcmp(f->sql, res->id_sql))
			has_id = true;
		if (!*s)
			break;
		s++;
	}
	if (has_id)
		return AT_OK;
	return at_buf_printf(&p->q->order, ", %s %s", res->id_sql, desc ? "DESC" : "ASC");
}

static enum at_err apply_select(const struct at_rql_resource *res, struct at_rql_query *q,
				const char *s)
{
	const char *item, *dot;
	size_t len, i;
	bool drop;

	if (blank(s))
		return AT_OK;
	for (;;) {
		item = s;
		len = strcspn(s, ",");
		s += len;
		trim(&item, &len);
		drop = false;
		if (len && (*item == '+' || *item == '-')) {
			drop = *item == '-';
			item++;
			len--;
		}
		if (!len)
			return rql_fail(q, "select", "a select item is empty");
		/* a nested path (+modules.id) selects its top-level field */
		dot = memchr(item, '.', len);
		if (dot && drop)
			return rql_fail(q, "select", "only a whole field can be dropped: '%.*s'",
					rql_echo_len(item, len), item);
		for (i = 0; i < res->nselect; i++)
			if (rql_name_eq(item, dot ? (size_t)(dot - item) : len, res->select[i].name))
				break;
		if (i == res->nselect)
			return rql_fail(q, "select", "unknown field '%.*s'", rql_echo_len(item, len),
					item);
		if (drop)
			q->selected &= ~((uint64_t)1 << i);
		else
			q->selected |= (uint64_t)1 << i;
		if (!*s)
			return AT_OK;
		s++;
	}
}

/* A whole number 0..max; larger ones become cap, or fail when cap < 0. */
static bool parse_count(const char *s, long max, long cap, long *out)
{
	long long v = 0;
	bool over = false;
	size_t len = strlen(s);

	trim(&s, &len);
	if (!len)
		return false;
	for (; len; s++, len--) {
		if (*s < '0' || *s > '9')
			return false;
		/* v <= max < 2^31 here, so v * 10 + 9 cannot overflow */
		if (!over && (v = v * 10 + (*s - '0')) > max)
			over = true;
	}
	if (over) {
		if (cap < 0)
			return false;
		v = cap;
	}
	*out = (long)v;
	return true;
}

/* One decoded part of the query string. */
static enum at_err take_part(struct parser *p, const char *part, size_t len,
			     bool *have_filter)
{
	struct at_rql_query *q = p->q;

	if (!strncmp(part, "order=", 6)) {
		if (p->have_order)
			return rql_fail(q, "order", "order is given twice");
		p->have_order = true;
		memcpy(p->order, part + 6, len - 6 + 1);
		return AT_OK;
	}
	if (!strncmp(part, "select=", 7))
		return apply_select(p->res, q, part + 7);
	if (!strncmp(part, "limit=", 6)) {
		if (p->have_limit)
			return rql_fail(q, "limit", "limit is given twice");
		p->have_limit = true;
		if (!parse_count(part + 6, AT_RQL_LIMIT_MAX, AT_RQL_LIMIT_MAX, &q->limit))
			return rql_fail(q, "limit", "limit must be a whole number from 0 to %d",
					AT_RQL_LIMIT_MAX);
		return AT_OK;
	}
	if (!strncmp(part, "offset=", 7)) {
		if (p->have_offset)
			return rql_fail(q, "offset", "offset is given twice");
		p->have_offset = true;
		if (!parse_count(part + 7, AT_RQL_OFFSET_MAX, -1, &q->offset))
			return rql_fail(q, "offset", "offset must be a whole number from 0 to %ld",
					AT_RQL_OFFSET_MAX);
		return AT_OK;
	}
	if (!strcmp(part, "render()") || !strcmp(part, "render()=")) {
		q->render = true;
		return AT_OK;
	}
	if (!strncmp(part, "render()=", 9))
		return rql_fail(q, "render", "render() takes no value");
	if (*have_filter)
		p->text[p->len++] = '&';
	memcpy(p->text + p->len, part, len);
	p->len += len;
	p->text[p->len] = '\0';
	*have_filter = true;
	return AT_OK;
}

/* The filter text in p->text: parse it whole, then emit it. */
static enum at_err parse_filter_text(struct parser *p, struct node *top)
{
	memcpy(p->orig, p->text, p->len + 1);
	p->s = p->text;
	return rql_parse_text(p, top);
}

static enum at_err emit_filter(struct parser *p, const struct node *top)
{
	const struct at_rql_resource *res = p->res;
	struct scope sc = { res->fields, res->nfields, res->colls, res->ncolls };

	return rql_emit_group(p, &p->q->where, &sc, top);
}

static enum at_err parse_query(struct parser *p, const char *query)
{
	struct at_rql_query *q = p->q;
	const struct at_rql_resource *res = p->res;
	bool have_filter = false;
	struct node top;
	size_t i, qlen = strlen(query), len;
	enum at_err rc;
	long n;
	bool ok;

	if (qlen > AT_RQL_MAX_QUERY)
		return rql_fail(q, "rql", "the query string is longer than %d bytes", AT_RQL_MAX_QUERY);
	if (res->nselect > AT_RQL_MAX_SELECT)
		return AT_ERR_INTERNAL;
	for (i = 0; i < res->nselect; i++)
		if (res->select[i].flags & (AT_RQL_SEL_DEFAULT | AT_RQL_SEL_ALWAYS))
			q->selected |= (uint64_t)1 << i;

	/* split on '&' before decoding: an encoded %26 stays in its part */
	while (*query) {
		len = strcspn(query, "&");
		ok = at_percent_decode(p->part, sizeof(p->part), query, len);
		query += len;
		if (*query)
			query++;
		if (!ok)
			return rql_fail(q, "rql", "bad percent-encoding or NUL in the query string");
		n = (long)strlen(p->part);
		if (!at_utf8_valid(p->part, (size_t)n))
			return rql_fail(q, "rql", "the query string is not valid UTF-8");
		if (n == 0)
			continue;
		if ((rc = take_part(p, p->part, (size_t)n, &have_filter)))
			return rc;
	}

	for (i = 0; i < res->nselect; i++) {
		if (res->select[i].flags & AT_RQL_SEL_ALWAYS)
			q->selected |= (uint64_t)1 << i;
		else if (!(q->selected & ((uint64_t)1 << i)) &&
			 !(res->select[i].flags & AT_RQL_SEL_UNLISTED))
			q->omitted[q->nomitted++] = res->select[i].name;
	}

	if ((rc = build_order(p, p->have_order && !blank(p->order) ? p->order : res->default_order)))
		return rc;

	if (!have_filter)
		return AT_OK;
	if ((rc = parse_filter_text(p, &top)))
		return rc;
	return emit_filter(p, &top);
}

/* A term of the top level that a query string would have read as one of
 * its other parameters: field=value on order, select, limit or offset, or
 * a call of render. */
static bool list_param(const struct node *n)
{
	static const char *const names[] = { "order", "select", "limit", "offset" };
	size_t i;

	if (n->kind == N_CALL)
		return rql_name_eq(n->text, n->len, "render");
	if (n->kind != N_SHORT)
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (rql_name_eq(n->text, n->len, names[i]))
			return true;
	return false;
}

/* The text is not split on '&' nor percent-decoded: a JSON string has no
 * %26 to keep a quoted '&' in its value, and needs no encoding. */
static enum at_err parse_filter(struct parser *p, const char *text)
{
	struct at_rql_query *q = p->q;
	const struct node *k;
	struct node top;
	size_t len = strlen(text);
	enum at_err rc;

	if (len > AT_RQL_MAX_QUERY)
		return rql_fail(q, "filter", "the filter is longer than %d bytes",
				AT_RQL_MAX_QUERY);
	if (!at_utf8_valid(text, len))
		return rql_fail(q, "filter", "the filter is not valid UTF-8");
	if (blank(text))
		return rql_fail(q, "filter", "the filter is empty");
	memcpy(p->text, text, len + 1);
	p->len = len;
	if ((rc = parse_filter_text(p, &top)))
		return rc;
	for (k = top.kids; k; k = k->next)
		if (list_param(k))
			return rql_fail(q, "filter", "a filter takes no select/order/limit");
	return emit_filter(p, &top);
}

/* ---- interface -------------------------------------------------------------- */

void at_rql_init(struct at_rql_query *q)
{
	memset(q, 0, sizeof(*q));
	at_buf_init(&q->where, WHERE_MAX);
	at_buf_init(&q->order, WHERE_MAX);
	q->limit = AT_RQL_LIMIT_DEFAULT;
}

/* filter: text is a bulk action's filter rather than a query string. */
static enum at_err run(struct at_rql_query *q, const struct at_rql_resource *res,
		       const char *text, bool filter)
{
	struct parser *p;
	enum at_err rc;

	p = malloc(sizeof(*p));
	if (!p)
		return AT_ERR_NOMEM;
	p->q = q;
	p->res = res;
	/* errors in the filter text are the field's that carried it */
	p->key = filter ? "filter" : "rql";
	p->s = NULL;
	p->len = p->i = p->nnodes = 0;
	p->have_order = p->have_limit = p->have_offset = false;
	p->text[0] = p->orig[0] = '\0';
	if (filter)
		rc = parse_filter(p, text ? text : "");
	else
		rc = parse_query(p, text);
	/* "" rather than NULL, so the caller may always read the text */
	if (!rc && !q->where.data)
		rc = at_buf_puts(&q->where, "");
	if (rc == AT_ERR_TOO_LARGE)
		rc = rql_fail(q, p->key, "the filter is too long");
	free(p);
	return rc;
}

enum at_err at_rql_parse(struct at_rql_query *q, const struct at_rql_resource *res,
			 const char *query)
{
	return run(q, res, query, false);
}

enum at_err at_rql_parse_filter(struct at_rql_query *q, const struct at_rql_resource *res,
				const char *text)
{
	return run(q, res, text, true);
}

bool at_rql_selected(const struct at_rql_query *q, const struct at_rql_resource *res,
		     const char *name)
{
	size_t i;

	for (i = 0; i < res->nselect && i < AT_RQL_MAX_SELECT; i++)
		if (!strcmp(res->select[i].name, name))
			return q->selected & ((uint64_t)1 << i);
	return false;
}

enum at_err at_rql_select(struct at_rql_query *q, const struct at_rql_resource *res,
			  const char *value)
{
	enum at_err rc;
	size_t i;

	if (res->nselect > AT_RQL_MAX_SELECT)
		return AT_ERR_INTERNAL;
	/* a list's query is checked whole; a lone value is checked here */
	if (!at_utf8_valid(value, strlen(value)))
		return rql_fail(q, "select", "the select is not valid UTF-8");
	if ((rc = apply_select(res, q, value)))
		return rc;
	for (i = 0; i < res->nselect; i++)
		if (res->select[i].flags & AT_RQL_SEL_ALWAYS)
			q->selected |= (uint64_t)1 << i;
	return AT_OK;
}

void at_rql_release(struct at_rql_query *q)
{
	size_t i;

	for (i = 0; i < q->nparams; i++)
		free(q->params[i].text);
	free(q->params);
	at_buf_release(&q->where);
	at_buf_release(&q->order);
	at_rql_init(q);
}
