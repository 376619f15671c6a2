/* rql_parse.c: RQL filter text → a generic tree of words, calls, groups
 * and field=value shortcuts.
 *
 * The parser knows nothing of fields or operators (rql_sql.c gives them
 * meaning); it enforces the depth and node limits of SPEC §11, so that the
 * emitter may recurse freely.  The error helpers live here because every
 * message quotes a position in the text the parser read.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rql_int.h"
#include "text.h"

/* ---- errors ------------------------------------------------------------ */

enum at_err rql_fail(struct at_rql_query *q, const char *key, const char *fmt, ...)
{
	va_list ap;

	at_strlcpy(q->error.key, key, sizeof(q->error.key));
	va_start(ap, fmt);
	vsnprintf(q->error.message, sizeof(q->error.message), fmt, ap);
	va_end(ap);
	return AT_ERR_INVALID;
}

/* How much of s to quote back: at most RQL_ECHO_MAX bytes, never half a
 * UTF-8 sequence (the text was checked to be valid UTF-8). */
int rql_echo_len(const char *s, size_t len)
{
	if (len <= RQL_ECHO_MAX)
		return (int)len;
	len = RQL_ECHO_MAX;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return (int)len;
}

/* Byte offset → character offset in the decoded filter text. */
size_t rql_char_pos(const struct parser *p, size_t byte)
{
	size_t i, n = 0;

	for (i = 0; i < byte && p->orig[i]; i++)
		if (((unsigned char)p->orig[i] & 0xC0) != 0x80)
			n++;
	return n;
}

enum at_err rql_syntax(struct parser *p, size_t pos, const char *what)
{
	return rql_fail(p->q, p->key, "syntax error at position %zu: %s",
			rql_char_pos(p, pos), what);
}

/* Operator and field names match ASCII case-insensitively, like the
 * reference's lowered terms. */
bool rql_name_eq(const char *a, size_t alen, const char *b)
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

static bool is_sep(char c)
{
	return c == ',' || c == '&' || c == ';' || c == '|';
}

static char peek(const struct parser *p)
{
	return p->i < p->len ? p->s[p->i] : '\0';
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->len && rql_is_ws(p->s[p->i]))
		p->i++;
}

static enum at_err new_node(struct parser *p, enum nkind kind, size_t pos, struct node **out)
{
	struct node *n;

	if (p->nnodes >= AT_RQL_MAX_NODES)
		return rql_fail(p->q, p->key, "more than %d terms at position %zu",
				AT_RQL_MAX_NODES, rql_char_pos(p, pos));
	n = &p->nodes[p->nnodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->pos = pos;
	*out = n;
	return AT_OK;
}

static enum at_err parse_item(struct parser *p, unsigned depth, bool value, struct node **out);

/* Items up to the ')' that closes the '(' at open (left unread), or to
 * the end of the text when open is RQL_NO_POS.  Arguments of a call (args)
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
			if (open != RQL_NO_POS)
				return rql_fail(p->q, p->key,
						"syntax error at position %zu: '(' is never closed",
						rql_char_pos(p, open));
			return AT_OK;
		}
		c = p->s[p->i];
		if (is_sep(c)) {
			if (args && c != ',')
				return rql_syntax(p, p->i, "only ',' separates arguments;"
					      " use and(), or() or parentheses");
			sep = c;
			p->i++;
			continue;
		}
		if (c == ')') {
			if (open == RQL_NO_POS)
				return rql_syntax(p, p->i, "')' without '('");
			return AT_OK;
		}
		return rql_syntax(p, p->i, "expected ',' or ')'");
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
			return rql_fail(p->q, p->key,
					"syntax error at position %zu: quote is never closed",
					rql_char_pos(p, open));
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
		return rql_syntax(p, pos, value ? "expected a value" : "expected a term");
	if (c == '=')
		return rql_syntax(p, pos, "expected a field name before '='");
	if (c == '(') {
		if (value)
			return rql_syntax(p, pos, "invalid equals shortcut expression");
		if (depth >= AT_RQL_MAX_DEPTH)
			return rql_fail(p->q, p->key, "nested deeper than %d levels at position %zu",
					AT_RQL_MAX_DEPTH, rql_char_pos(p, pos));
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
		return rql_syntax(p, p->i, "a quote inside a value; quote the whole value");
	end = p->i;
	while (end > start && rql_is_ws(p->s[end - 1]))
		end--;
	n->text = p->s + start;
	n->len = end - start;

	c = peek(p);
	if (c == '(') {
		if (depth >= AT_RQL_MAX_DEPTH)
			return rql_fail(p->q, p->key, "nested deeper than %d levels at position %zu",
					AT_RQL_MAX_DEPTH, rql_char_pos(p, pos));
		n->kind = N_CALL;
		p->i++;
		if ((rc = parse_list(p, depth + 1, n, true, p->i - 1)))
			return rc;
		p->i++;
		if (value && n->nkids)
			return rql_syntax(p, pos, "invalid equals shortcut expression");
		return AT_OK;
	}
	if (c == '=') {
		if (value)
			return rql_syntax(p, p->i, "invalid equals shortcut expression");
		n->kind = N_SHORT;
		p->i++;
		if ((rc = parse_item(p, depth, true, &n->kids)))
			return rc;
		n->nkids = 1;
	}
	return AT_OK;
}

enum at_err rql_parse_text(struct parser *p, struct node *top)
{
	/* the implicit outer group is no term of the user's: not counted */
	memset(top, 0, sizeof(*top));
	top->kind = N_GROUP;
	return parse_list(p, 0, top, false, RQL_NO_POS);
}
