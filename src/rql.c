/* rql.c: RQL text → tree → SQL WHERE and ORDER BY with bound parameters.
 *
 * Two passes.  The parser turns the filter text into a generic tree of
 * words, calls, groups and field=value shortcuts, knowing nothing of
 * fields; it enforces the depth and node limits.  The emitter walks the
 * tree against the resource table and appends SQL made only of table
 * fragments, operators, parentheses and '?'.
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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rql.h"
#include "text.h"

#define WHERE_MAX	(1u << 20)
#define ECHO_MAX	40	/* bytes of input quoted back in a message */
#define NO_POS		((size_t)-1)

enum op {
	OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_LIKE, OP_ILIKE,
	OP_IN, OP_OUT, OP_AND, OP_OR, OP_NOT, OP_ANY, OP_ALL,
	OP_NULL, OP_EMPTY,
	OP__MAX
};

static const char *const op_names[OP__MAX] = {
	[OP_EQ] = "eq", [OP_NE] = "ne", [OP_GT] = "gt", [OP_GE] = "ge",
	[OP_LT] = "lt", [OP_LE] = "le", [OP_LIKE] = "like", [OP_ILIKE] = "ilike",
	[OP_IN] = "in", [OP_OUT] = "out", [OP_AND] = "and", [OP_OR] = "or",
	[OP_NOT] = "not", [OP_ANY] = "any", [OP_ALL] = "all",
	[OP_NULL] = "null", [OP_EMPTY] = "empty",
};

/* SQL of the plain comparisons */
static const char *const op_sql[OP__MAX] = {
	[OP_EQ] = " = ?", [OP_GT] = " > ?", [OP_GE] = " >= ?",
	[OP_LT] = " < ?", [OP_LE] = " <= ?",
};

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

/* ---- errors ------------------------------------------------------------ */

static enum at_err rql_fail(struct at_rql_query *q, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum at_err rql_fail(struct at_rql_query *q, const char *key, const char *fmt, ...)
{
	va_list ap;

	at_strlcpy(q->error.key, key, sizeof(q->error.key));
	va_start(ap, fmt);
	vsnprintf(q->error.message, sizeof(q->error.message), fmt, ap);
	va_end(ap);
	return AT_ERR_INVALID;
}

/* How much of s to quote back: at most ECHO_MAX bytes, never half a
 * UTF-8 sequence (the text was checked to be valid UTF-8). */
static int echo_len(const char *s, size_t len)
{
	if (len <= ECHO_MAX)
		return (int)len;
	len = ECHO_MAX;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return (int)len;
}

/* Byte offset → character offset in the decoded filter text. */
static size_t char_pos(const struct parser *p, size_t byte)
{
	size_t i, n = 0;

	for (i = 0; i < byte && p->orig[i]; i++)
		if (((unsigned char)p->orig[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static enum at_err syntax(struct parser *p, size_t pos, const char *what)
{
	return rql_fail(p->q, "rql", "syntax error at position %zu: %s", char_pos(p, pos), what);
}

/* Percent-decoding and UTF-8 checks are text.c's, shared with the front. */

static bool name_eq(const char *a, size_t alen, const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (!y)
			return false;
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return b[alen] == '\0';
}

/* ---- parser: text → tree ------------------------------------------------- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_sep(char c)
{
	return c == ',' || c == '&' || c == ';' || c == '|';
}

static bool is_and(char c)
{
	return c == ',' || c == '&';
}

static char peek(const struct parser *p)
{
	return p->i < p->len ? p->s[p->i] : '\0';
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->len && is_ws(p->s[p->i]))
		p->i++;
}

static enum at_err new_node(struct parser *p, enum nkind kind, size_t pos, struct node **out)
{
	struct node *n;

	if (p->nnodes >= AT_RQL_MAX_NODES)
		return rql_fail(p->q, "rql", "more than %d terms at position %zu",
				AT_RQL_MAX_NODES, char_pos(p, pos));
	n = &p->nodes[p->nnodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	*out = n;
	return AT_OK;
}

static enum at_err parse_item(struct parser *p, unsigned depth, bool value, struct node **out);

/* Items up to the ')' that closes the '(' at open (left unread), or to
 * the end of the text when open is NO_POS.  Arguments of a call (args)
 * take ',' only and may be none at all. */
static enum at_err parse_list(struct parser *p, unsigned depth, struct node *parent,
			      bool args, size_t open)
{
	struct node **tail = &parent->kids;
	struct node *n;
	enum at_err rc;
	char sep = 0, c;

	if (args) {
		skip_ws(p);
		if (peek(p) == ')')
			return AT_OK;
	}
	for (;;) {
		if ((rc = parse_item(p, depth, false, &n)))
			return rc;
		n->sep = sep;
		*tail = n;
		tail = &n->next;
		parent->nkids++;
		skip_ws(p);
		if (p->i >= p->len) {
			if (open != NO_POS)
				return rql_fail(p->q, "rql",
						"syntax error at position %zu: '(' is never closed",
						char_pos(p, open));
			return AT_OK;
		}
		c = p->s[p->i];
		if (is_sep(c)) {
			if (args && c != ',')
				return syntax(p, p->i, "only ',' separates arguments;"
					      " use and(), or() or parentheses");
			sep = c;
			p->i++;
			continue;
		}
		if (c == ')') {
			if (open == NO_POS)
				return syntax(p, p->i, "')' without '('");
			return AT_OK;
		}
		return syntax(p, p->i, "expected ',' or ')'");
	}
}

/* A quoted value: the opening quote is at p->i.  A backslash escapes the
 * quote character and itself; the value is unescaped in place. */
static enum at_err parse_quoted(struct parser *p, struct node *n)
{
	size_t open = p->i, out;
	char quote = p->s[p->i];

	p->i++;
	out = p->i;
	n->text = p->s + out;
	for (;;) {
		char c;

		if (p->i >= p->len)
			return rql_fail(p->q, "rql",
					"syntax error at position %zu: quote is never closed",
					char_pos(p, open));
		c = p->s[p->i];
		if (c == '\\' && p->i + 1 < p->len &&
		    (p->s[p->i + 1] == quote || p->s[p->i + 1] == '\\')) {
			p->s[out++] = p->s[p->i + 1];
			p->i += 2;
		} else if (c == quote) {
			p->i++;
			break;
		} else {
			p->s[out++] = c;
			p->i++;
		}
	}
	n->len = out - (open + 1);
	n->quoted = true;
	return AT_OK;
}

/* One item; value: only a value may come (the right side of '='). */
static enum at_err parse_item(struct parser *p, unsigned depth, bool value, struct node **out)
{
	struct node *n;
	enum at_err rc;
	size_t pos, start, end;
	char c;

	skip_ws(p);
	pos = p->i;
	c = peek(p);
	if (p->i >= p->len || is_sep(c) || c == ')')
		return syntax(p, pos, value ? "expected a value" : "expected a term");
	if (c == '=')
		return syntax(p, pos, "expected a field name before '='");
	if (c == '(') {
		if (value)
			return syntax(p, pos, "invalid equals shortcut expression");
		if (depth >= AT_RQL_MAX_DEPTH)
			return rql_fail(p->q, "rql", "nested deeper than %d levels at position %zu",
					AT_RQL_MAX_DEPTH, char_pos(p, pos));
		if ((rc = new_node(p, N_GROUP, pos, &n)))
			return rc;
		p->i++;
		if ((rc = parse_list(p, depth + 1, n, false, pos)))
			return rc;
		p->i++;		/* the ')' parse_list stopped at */
		*out = n;
		return AT_OK;
	}
	if ((rc = new_node(p, N_WORD, pos, &n)))
		return rc;
	*out = n;
	if (c == '\'' || c == '"')
		return parse_quoted(p, n);

	start = p->i;
	while (p->i < p->len && !strchr("(),&;|='\"", p->s[p->i]))
		p->i++;
	if (p->i < p->len && (p->s[p->i] == '\'' || p->s[p->i] == '"'))
		return syntax(p, p->i, "a quote inside a value; quote the whole value");
	end = p->i;
	while (end > start && is_ws(p->s[end - 1]))
		end--;
	n->text = p->s + start;
	n->len = end - start;

	c = peek(p);
	if (c == '(') {
		if (depth >= AT_RQL_MAX_DEPTH)
			return rql_fail(p->q, "rql", "nested deeper than %d levels at position %zu",
					AT_RQL_MAX_DEPTH, char_pos(p, pos));
		n->kind = N_CALL;
		p->i++;
		if ((rc = parse_list(p, depth + 1, n, true, p->i - 1)))
			return rc;
		p->i++;
		if (value && n->nkids)
			return syntax(p, pos, "invalid equals shortcut expression");
		return AT_OK;
	}
	if (c == '=') {
		if (value)
			return syntax(p, p->i, "invalid equals shortcut expression");
		n->kind = N_SHORT;
		p->i++;
		if ((rc = parse_item(p, depth, true, &n->kids)))
			return rc;
		n->nkids = 1;
	}
	return AT_OK;
}

/* ---- emitter: tree → SQL -------------------------------------------------- */

static enum at_err add_param(struct parser *p, enum at_rql_param_type type, const char *s,
			     size_t len, int64_t num)
{
	struct at_rql_query *q = p->q;
	struct at_rql_param *prm;
	char *t;

	if (q->nparams == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;

		prm = realloc(q->params, cap * sizeof(*prm));
		if (!prm)
			return AT_ERR_NOMEM;
		q->params = prm;
		q->cap = cap;
	}
	t = malloc(len + 1);
	if (!t)
		return AT_ERR_NOMEM;
	memcpy(t, s, len);
	t[len] = '\0';
	prm = &q->params[q->nparams++];
	prm->type = type;
	prm->text = t;
	prm->len = len;
	prm->num = num;
	return AT_OK;
}

static const struct at_rql_field *find_field(const struct scope *sc, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sc->nfields; i++)
		if (name_eq(name, len, sc->fields[i].name))
			return &sc->fields[i];
	return NULL;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Digits s[0..n) as a number, or -1. */
static int digits(const char *s, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* v (0 <= v < 10^n) as n digits. */
static void put_digits(char *o, int v, int n)
{
	while (n-- > 0) {
		o[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z → "YYYY-MM-DD HH:MM:SS.fff". */
static bool parse_datetime(const char *s, size_t len, char out[24])
{
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, fd;
	size_t nf;

	if (len < 10 || s[4] != '-' || s[7] != '-')
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return false;
	if (len > 10) {
		if (len < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len - 1] != 'Z')
			return false;
		h = digits(s + 11, 2);
		mi = digits(s + 14, 2);
		sec = digits(s + 17, 2);
		if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
			return false;
		if (len > 20) {
			nf = len - 21;
			if (s[19] != '.' || nf < 1 || nf > 3)
				return false;
			fd = digits(s + 20, nf);
			if (fd < 0)
				return false;
			ms = nf == 1 ? fd * 100 : nf == 2 ? fd * 10 : fd;
		}
	}
	put_digits(out, y, 4);
	out[4] = '-';
	put_digits(out + 5, mo, 2);
	out[7] = '-';
	put_digits(out + 8, d, 2);
	out[10] = ' ';
	put_digits(out + 11, h, 2);
	out[13] = ':';
	put_digits(out + 14, mi, 2);
	out[16] = ':';
	put_digits(out + 17, sec, 2);
	out[19] = '.';
	put_digits(out + 20, ms, 3);
	out[23] = '\0';
	return true;
}

static bool parse_int64(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0, lim;
	bool neg = false;
	size_t i = 0;

	if (len && s[0] == '-') {
		neg = true;
		i = 1;
	}
	if (i == len)
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (lim - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}

/* Bind one value word as f's type. */
static enum at_err bind_value(struct parser *p, const struct at_rql_field *f, const struct node *v)
{
	const char *const *e;
	char dt[24];
	int64_t num;

	switch (f->type) {
	case AT_RQL_INTEGER:
		if (!parse_int64(v->text, v->len, &num))
			return rql_fail(p->q, "rql", "%s takes a whole number at position %zu",
					f->name, char_pos(p, v->pos));
		return add_param(p, AT_RQL_PARAM_INT, v->text, v->len, num);
	case AT_RQL_DATETIME:
		if (!parse_datetime(v->text, v->len, dt))
			return rql_fail(p->q, "rql", "%s takes a date YYYY-MM-DD or"
					" YYYY-MM-DDTHH:MM:SS.sssZ at position %zu",
					f->name, char_pos(p, v->pos));
		return add_param(p, AT_RQL_PARAM_DATETIME, dt, strlen(dt), 0);
	case AT_RQL_ENUM:
		/* bind the table's spelling: the collation would match either */
		for (e = f->values; e && *e; e++)
			if (name_eq(v->text, v->len, *e))
				return add_param(p, AT_RQL_PARAM_TEXT, *e, strlen(*e), 0);
		return rql_fail(p->q, "rql", "unknown value of %s at position %zu",
				f->name, char_pos(p, v->pos));
	case AT_RQL_STRING:
		break;
	}
	return add_param(p, AT_RQL_PARAM_TEXT, v->text, v->len, 0);
}

/* '*' → '%', '\*' → '*', '\\' → '\', and % _ ! escaped with '!'. */
static enum at_err bind_pattern(struct parser *p, const struct node *v)
{
	struct at_buf b;
	enum at_err rc = AT_OK;
	size_t i;

	at_buf_init(&b, 2 * v->len + 1);
	for (i = 0; i < v->len && !rc; i++) {
		char c = v->text[i];

		if (c == '\\' && i + 1 < v->len && (v->text[i + 1] == '*' || v->text[i + 1] == '\\'))
			rc = at_buf_append(&b, &v->text[++i], 1);
		else if (c == '*')
			rc = at_buf_append(&b, "%", 1);
		else if (c == '%' || c == '_' || c == '!')
			rc = at_buf_printf(&b, "!%c", c);
		else
			rc = at_buf_append(&b, &c, 1);
	}
	if (!rc)
		rc = add_param(p, AT_RQL_PARAM_TEXT, b.data ? b.data : "", b.len, 0);
	at_buf_release(&b);
	return rc;
}

static int call_op(const struct node *n)
{
	int o;

	for (o = 0; o < OP__MAX; o++)
		if (name_eq(n->text, n->len, op_names[o]))
			return o;
	return -1;
}

/* null() or empty() as a value: OP_NULL, OP_EMPTY, or -1. */
static int special_value(const struct node *v)
{
	int o;

	if (v->kind != N_CALL || v->nkids)
		return -1;
	o = call_op(v);
	return o == OP_NULL || o == OP_EMPTY ? o : -1;
}

static bool is_text(const struct at_rql_field *f)
{
	return f->type == AT_RQL_STRING || f->type == AT_RQL_ENUM;
}

/* The field of a comparison: an unquoted word, or the left of '='
 * (shortcut: fn is the field=value node itself). */
static enum at_err field_arg(struct parser *p, const struct scope *sc, const struct node *fn,
			     bool shortcut, const struct at_rql_field **out)
{
	const struct at_rql_field *f;

	if (fn->kind != (shortcut ? N_SHORT : N_WORD) || fn->quoted || !fn->len)
		return syntax(p, fn->pos, "expected a field name");
	f = find_field(sc, fn->text, fn->len);
	if (!f)
		return rql_fail(p->q, "rql", "unknown field '%.*s' at position %zu",
				echo_len(fn->text, fn->len), fn->text, char_pos(p, fn->pos));
	if (!(f->flags & AT_RQL_FILTER))
		return rql_fail(p->q, "rql", "field %s cannot be filtered", f->name);
	*out = f;
	return AT_OK;
}

/* op(field, value): eq ne gt ge lt le like ilike, and the shortcut. */
static enum at_err emit_compare(struct parser *p, struct at_buf *out, const struct scope *sc,
				int op, const struct node *fn, const struct node *v)
{
	const struct at_rql_field *f;
	enum at_err rc;
	int sv;

	if ((rc = field_arg(p, sc, fn, fn->kind == N_SHORT && fn->kids == v, &f)))
		return rc;
	sv = special_value(v);
	if (v->kind != N_WORD && sv < 0)
		return syntax(p, v->pos, "expected a value");
	if (sv >= 0 && op != OP_EQ && op != OP_NE)
		return rql_fail(p->q, "rql", "%s() only goes with eq and ne (position %zu)",
				op_names[sv], char_pos(p, v->pos));
	if (sv == OP_EMPTY && !is_text(f))
		return rql_fail(p->q, "rql", "empty() only goes with text fields, not %s", f->name);
	if ((op == OP_LIKE || op == OP_ILIKE) && !is_text(f))
		return rql_fail(p->q, "rql", "%s only goes with text fields, not %s",
				op_names[op], f->name);

	if (f->coll && (rc = at_buf_puts(out, f->coll->sql_open)))
		return rc;
	if (sv == OP_NULL) {
		rc = at_buf_printf(out, "%s IS %sNULL", f->sql, op == OP_NE ? "NOT " : "");
	} else if (sv == OP_EMPTY) {
		if (op == OP_EQ)
			rc = at_buf_printf(out, "(%s IS NULL OR %s = '')", f->sql, f->sql);
		else
			rc = at_buf_printf(out, "(%s IS NOT NULL AND %s <> '')", f->sql, f->sql);
	} else if (op == OP_LIKE || op == OP_ILIKE) {
		rc = at_buf_printf(out, "%s%s LIKE ? ESCAPE '!'", f->sql,
				   op == OP_LIKE ? " COLLATE utf8mb4_bin" : "");
		if (!rc)
			rc = bind_pattern(p, v);
	} else {
		if (op == OP_NE)
			rc = at_buf_printf(out, "(%s = ?) IS NOT TRUE", f->sql);
		else
			rc = at_buf_printf(out, "%s%s", f->sql, op_sql[op]);
		if (!rc)
			rc = bind_value(p, f, v);
	}
	if (!rc && f->coll)
		rc = at_buf_puts(out, f->coll->sql_close);
	return rc;
}

/* in(field, (a, b)) / in(field, a) and out. */
static enum at_err emit_list(struct parser *p, struct at_buf *out, const struct scope *sc,
			     int op, const struct node *call)
{
	const struct at_rql_field *f;
	const struct node *fn = call->kids, *lst, *first, *v;
	enum at_err rc;

	if (call->nkids != 2)
		return rql_fail(p->q, "rql", "%s takes a field and a list, as in %s(field,(a,b)),"
				" at position %zu", op_names[op], op_names[op], char_pos(p, call->pos));
	lst = fn->next;
	if ((rc = field_arg(p, sc, fn, false, &f)))
		return rc;
	/* a single value is the last argument: its next is NULL too */
	first = lst->kind == N_GROUP ? lst->kids : lst;
	for (v = first; v; v = v->next)
		if (v->kind != N_WORD || (v->sep && v->sep != ','))
			return syntax(p, v->pos, "expected values separated by ','");
	if (f->coll && (rc = at_buf_puts(out, f->coll->sql_open)))
		return rc;
	if ((rc = at_buf_printf(out, "%s%s IN (", op == OP_OUT ? "(" : "", f->sql)))
		return rc;
	for (v = first; v; v = v->next) {
		if ((rc = at_buf_puts(out, v == first ? "?" : ", ?")))
			return rc;
		if ((rc = bind_value(p, f, v)))
			return rc;
	}
	if ((rc = at_buf_puts(out, op == OP_OUT ? ")) IS NOT TRUE" : ")")))
		return rc;
	if (f->coll)
		rc = at_buf_puts(out, f->coll->sql_close);
	return rc;
}

static enum at_err emit_cond(struct parser *p, struct at_buf *out, const struct scope *sc,
			     const struct node *n);

/* Items joined by and or or; one item goes bare. */
static enum at_err emit_join(struct parser *p, struct at_buf *out, const struct scope *sc,
			     const struct node *first, size_t count, const char *word)
{
	const struct node *k;
	enum at_err rc;
	size_t i;

	if (count == 1)
		return emit_cond(p, out, sc, first);
	if ((rc = at_buf_puts(out, "(")))
		return rc;
	for (k = first, i = 0; i < count; k = k->next, i++) {
		if (i && (rc = at_buf_printf(out, " %s ", word)))
			return rc;
		if ((rc = emit_cond(p, out, sc, k)))
			return rc;
	}
	return at_buf_puts(out, ")");
}

/* A group: runs joined by and, the runs joined by or (and binds tighter). */
static enum at_err emit_group(struct parser *p, struct at_buf *out, const struct scope *sc,
			      const struct node *g)
{
	const struct node *k, *run;
	size_t runs = 1, len;
	enum at_err rc;

	for (k = g->kids->next; k; k = k->next)
		if (!is_and(k->sep))
			runs++;
	if (runs > 1 && (rc = at_buf_puts(out, "(")))
		return rc;
	for (run = g->kids; run; run = k) {
		len = 1;
		for (k = run->next; k && is_and(k->sep); k = k->next)
			len++;
		if (run != g->kids && (rc = at_buf_puts(out, " OR ")))
			return rc;
		if ((rc = emit_join(p, out, sc, run, len, "AND")))
			return rc;
	}
	return runs > 1 ? at_buf_puts(out, ")") : AT_OK;
}

static enum at_err emit_coll(struct parser *p, struct at_buf *out, const struct scope *sc,
			     int op, const struct node *call)
{
	const struct node *cn = call->kids;
	const struct at_rql_collection *c = NULL;
	struct scope inner = { 0 };
	enum at_err rc;
	size_t i;

	if (call->nkids < 1 || call->nkids > 2 || (op == OP_ALL && call->nkids != 2))
		return rql_fail(p->q, "rql", "%s takes a collection and a condition, as in"
				" %s(modules,eq(id,MOD-1756)), at position %zu",
				op_names[op], op_names[op], char_pos(p, call->pos));
	if (cn->kind != N_WORD || cn->quoted)
		return syntax(p, cn->pos, "expected a collection name");
	for (i = 0; i < sc->ncolls; i++)
		if (name_eq(cn->text, cn->len, sc->colls[i].name))
			c = &sc->colls[i];
	if (!c)
		return rql_fail(p->q, "rql", "unknown collection '%.*s' at position %zu",
				echo_len(cn->text, cn->len), cn->text, char_pos(p, cn->pos));
	inner.fields = c->fields;
	inner.nfields = c->nfields;
	if (op == OP_ALL) {
		/* no element fails the condition */
		if ((rc = at_buf_printf(out, "NOT %s(", c->sql_open)) ||
		    (rc = emit_cond(p, out, &inner, cn->next)) ||
		    (rc = at_buf_printf(out, ") IS NOT TRUE%s", c->sql_close)))
			return rc;
		return AT_OK;
	}
	if ((rc = at_buf_puts(out, c->sql_open)))
		return rc;
	if (cn->next)
		rc = emit_cond(p, out, &inner, cn->next);
	else
		rc = at_buf_puts(out, "TRUE");
	if (!rc)
		rc = at_buf_puts(out, c->sql_close);
	return rc;
}

static enum at_err emit_cond(struct parser *p, struct at_buf *out, const struct scope *sc,
			     const struct node *n)
{
	enum at_err rc;
	int op;

	switch (n->kind) {
	case N_WORD:
		return syntax(p, n->pos, "expected an expression, not a value");
	case N_GROUP:
		return emit_group(p, out, sc, n);
	case N_SHORT:
		return emit_compare(p, out, sc, OP_EQ, n, n->kids);
	case N_CALL:
		break;
	}
	op = call_op(n);
	switch (op) {
	case -1:
		return rql_fail(p->q, "rql", "unknown operator '%.*s' at position %zu",
				echo_len(n->text, n->len), n->text, char_pos(p, n->pos));
	case OP_NULL:
	case OP_EMPTY:
		return rql_fail(p->q, "rql", "%s() is a value, not an expression (position %zu)",
				op_names[op], char_pos(p, n->pos));
	case OP_AND:
	case OP_OR:
		if (!n->nkids)
			return rql_fail(p->q, "rql", "%s() needs at least one expression"
					" (position %zu)", op_names[op], char_pos(p, n->pos));
		return emit_join(p, out, sc, n->kids, n->nkids, op == OP_AND ? "AND" : "OR");
	case OP_NOT:
		if (n->nkids != 1)
			return rql_fail(p->q, "rql", "not() takes one expression (position %zu)",
					char_pos(p, n->pos));
		/* NULL counts as not true: not(eq(description,x)) finds no description */
		if ((rc = at_buf_puts(out, "(")) || (rc = emit_cond(p, out, sc, n->kids)))
			return rc;
		return at_buf_puts(out, ") IS NOT TRUE");
	case OP_IN:
	case OP_OUT:
		return emit_list(p, out, sc, op, n);
	case OP_ANY:
	case OP_ALL:
		return emit_coll(p, out, sc, op, n);
	default:
		if (n->nkids != 2)
			return rql_fail(p->q, "rql", "%s takes a field and a value, as in"
					" %s(name,value), at position %zu",
					op_names[op], op_names[op], char_pos(p, n->pos));
		return emit_compare(p, out, sc, op, n->kids, n->kids->next);
	}
}

/* ---- order, select, limit, offset ----------------------------------------- */

static void trim(const char **s, size_t *len)
{
	while (*len && is_ws(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_ws((*s)[*len - 1]))
		(*len)--;
}

static bool blank(const char *s)
{
	while (is_ws(*s))
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
		f = find_field(&sc, key, len);
		if (!f)
			return rql_fail(p->q, "order", "unknown field '%.*s'", echo_len(key, len), key);
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
					echo_len(item, len), item);
		for (i = 0; i < res->nselect; i++)
			if (name_eq(item, dot ? (size_t)(dot - item) : len, res->select[i].name))
				break;
		if (i == res->nselect)
			return rql_fail(q, "select", "unknown field '%.*s'", echo_len(item, len), item);
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

static enum at_err parse_query(struct parser *p, const char *query)
{
	struct at_rql_query *q = p->q;
	const struct at_rql_resource *res = p->res;
	struct scope sc = { res->fields, res->nfields, res->colls, res->ncolls };
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
	memcpy(p->orig, p->text, p->len + 1);
	p->s = p->text;
	/* the implicit outer group is no term of the user's: not counted */
	memset(&top, 0, sizeof(top));
	top.kind = N_GROUP;
	if ((rc = parse_list(p, 0, &top, false, NO_POS)))
		return rc;
	return emit_group(p, &q->where, &sc, &top);
}

/* ---- interface -------------------------------------------------------------- */

void at_rql_init(struct at_rql_query *q)
{
	memset(q, 0, sizeof(*q));
	at_buf_init(&q->where, WHERE_MAX);
	at_buf_init(&q->order, WHERE_MAX);
	q->limit = AT_RQL_LIMIT_DEFAULT;
}

enum at_err at_rql_parse(struct at_rql_query *q, const struct at_rql_resource *res,
			 const char *query)
{
	struct parser *p;
	enum at_err rc;

	p = malloc(sizeof(*p));
	if (!p)
		return AT_ERR_NOMEM;
	p->q = q;
	p->res = res;
	p->s = NULL;
	p->len = p->i = p->nnodes = 0;
	p->have_order = p->have_limit = p->have_offset = false;
	p->text[0] = p->orig[0] = '\0';
	rc = parse_query(p, query);
	/* "" rather than NULL, so the caller may always read the text */
	if (!rc && !q->where.data)
		rc = at_buf_puts(&q->where, "");
	if (rc == AT_ERR_TOO_LARGE)
		rc = rql_fail(q, "rql", "the filter is too long");
	free(p);
	return rc;
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
