/* rql_sql.c: the tree of rql_parse.c → SQL WHERE text and bound parameters.
 *
 * The emitter walks the tree against the resource's field table and
 * appends SQL made only of table fragments, operators, parentheses and
 * '?'; every value becomes a parameter.  The decisions on what each
 * operator means are listed at the head of rql.c.
 */
#include <stdlib.h>
#include <string.h>

#include "isotime.h"
#include "rql_int.h"

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

const struct at_rql_field *rql_find_field(const struct scope *sc, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sc->nfields; i++)
		if (rql_name_eq(name, len, sc->fields[i].name))
			return &sc->fields[i];
	return NULL;
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
	char dt[AT_DATETIME_TEXT];
	int64_t num, ms;

	switch (f->type) {
	case AT_RQL_INTEGER:
		if (!parse_int64(v->text, v->len, &num))
			return rql_fail(p->q, p->key, "%s takes a whole number at position %zu",
					f->name, rql_char_pos(p, v->pos));
		return add_param(p, AT_RQL_PARAM_INT, v->text, v->len, num);
	case AT_RQL_DATETIME:
		if (at_iso_parse(v->text, v->len, AT_ISO_RQL, &ms) || !at_datetime_format(ms, dt))
			return rql_fail(p->q, p->key, "%s takes a date YYYY-MM-DD or"
					" YYYY-MM-DDTHH:MM:SS.sssZ at position %zu",
					f->name, rql_char_pos(p, v->pos));
		return add_param(p, AT_RQL_PARAM_DATETIME, dt, strlen(dt), 0);
	case AT_RQL_ENUM:
		/* bind the table's spelling: the collation would match either */
		for (e = f->values; e && *e; e++)
			if (rql_name_eq(v->text, v->len, *e))
				return add_param(p, AT_RQL_PARAM_TEXT, *e, strlen(*e), 0);
		return rql_fail(p->q, p->key, "unknown value of %s at position %zu",
				f->name, rql_char_pos(p, v->pos));
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
		if (rql_name_eq(n->text, n->len, op_names[o]))
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
		return rql_syntax(p, fn->pos, "expected a field name");
	f = rql_find_field(sc, fn->text, fn->len);
	if (!f)
		return rql_fail(p->q, p->key, "unknown field '%.*s' at position %zu",
				rql_echo_len(fn->text, fn->len), fn->text,
				rql_char_pos(p, fn->pos));
	if (!(f->flags & AT_RQL_FILTER))
		return rql_fail(p->q, p->key, "field %s cannot be filtered", f->name);
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
		return rql_syntax(p, v->pos, "expected a value");
	if (sv >= 0 && op != OP_EQ && op != OP_NE)
		return rql_fail(p->q, p->key, "%s() only goes with eq and ne (position %zu)",
				op_names[sv], rql_char_pos(p, v->pos));
	if (sv == OP_EMPTY && !is_text(f))
		return rql_fail(p->q, p->key, "empty() only goes with text fields, not %s", f->name);
	if ((op == OP_LIKE || op == OP_ILIKE) && !is_text(f))
		return rql_fail(p->q, p->key, "%s only goes with text fields, not %s",
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
		return rql_fail(p->q, p->key, "%s takes a field and a list, as in %s(field,(a,b)),"
				" at position %zu", op_names[op], op_names[op],
				rql_char_pos(p, call->pos));
	lst = fn->next;
	if ((rc = field_arg(p, sc, fn, false, &f)))
		return rc;
	/* a single value is the last argument: its next is NULL too */
	first = lst->kind == N_GROUP ? lst->kids : lst;
	for (v = first; v; v = v->next)
		if (v->kind != N_WORD || (v->sep && v->sep != ','))
			return rql_syntax(p, v->pos, "expected values separated by ','");
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
enum at_err rql_emit_group(struct parser *p, struct at_buf *out, const struct scope *sc,
			   const struct node *g)
{
	const struct node *k, *run;
	size_t runs = 1, len;
	enum at_err rc;

	for (k = g->kids->next; k; k = k->next)
		if (!rql_is_and(k->sep))
			runs++;
	if (runs > 1 && (rc = at_buf_puts(out, "(")))
		return rc;
	for (run = g->kids; run; run = k) {
		len = 1;
		for (k = run->next; k && rql_is_and(k->sep); k = k->next)
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
		return rql_fail(p->q, p->key, "%s takes a collection and a condition, as in"
				" %s(modules,eq(id,MOD-1756)), at position %zu",
				op_names[op], op_names[op], rql_char_pos(p, call->pos));
	if (cn->kind != N_WORD || cn->quoted)
		return rql_syntax(p, cn->pos, "expected a collection name");
	for (i = 0; i < sc->ncolls; i++)
		if (rql_name_eq(cn->text, cn->len, sc->colls[i].name))
			c = &sc->colls[i];
	if (!c)
		return rql_fail(p->q, p->key, "unknown collection '%.*s' at position %zu",
				rql_echo_len(cn->text, cn->len), cn->text,
				rql_char_pos(p, cn->pos));
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
		return rql_syntax(p, n->pos, "expected an expression, not a value");
	case N_GROUP:
		return rql_emit_group(p, out, sc, n);
	case N_SHORT:
		return emit_compare(p, out, sc, OP_EQ, n, n->kids);
	case N_CALL:
		break;
	}
	op = call_op(n);
	switch (op) {
	case -1:
		return rql_fail(p->q, p->key, "unknown operator '%.*s' at position %zu",
				rql_echo_len(n->text, n->len), n->text, rql_char_pos(p, n->pos));
	case OP_NULL:
	case OP_EMPTY:
		return rql_fail(p->q, p->key, "%s() is a value, not an expression (position %zu)",
				op_names[op], rql_char_pos(p, n->pos));
	case OP_AND:
	case OP_OR:
		if (!n->nkids)
			return rql_fail(p->q, p->key, "%s() needs at least one expression"
					" (position %zu)", op_names[op], rql_char_pos(p, n->pos));
		return emit_join(p, out, sc, n->kids, n->nkids, op == OP_AND ? "AND" : "OR");
	case OP_NOT:
		if (n->nkids != 1)
			return rql_fail(p->q, p->key, "not() takes one expression (position %zu)",
					rql_char_pos(p, n->pos));
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
			return rql_fail(p->q, p->key, "%s takes a field and a value, as in"
					" %s(name,value), at position %zu",
					op_names[op], op_names[op], rql_char_pos(p, n->pos));
		return emit_compare(p, out, sc, op, n->kids, n->kids->next);
	}
}
