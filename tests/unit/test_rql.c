/* Unit tests of rql*.c: exact SQL and parameters, every error, the filter
 * of a bulk action, and a round of malformed input that must be refused
 * without a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rql.h"

/* the status the API shows: Expired is derived (rql_tokens.c) */
#define STATUS "(CASE WHEN t.status = 'Active' AND t.expires_at <= UTC_TIMESTAMP(3)" \
	" THEN 'Expired' ELSE CAST(t.status AS CHAR) END)"

#define MODS "EXISTS (SELECT 1 FROM token_modules tm JOIN modules m ON m.id = tm.module_id" \
	" WHERE tm.token_id = t.id AND ("
#define ICON "(CASE WHEN t.has_icon THEN CONCAT('/public/v1/accounts/api-tokens/', t.id, '/icon') END)"
#define DEFAULT_ORDER "t.created_at DESC, t.id DESC"

/* Params as "s:text", "i:text" or "d:text", NULL-terminated. */
#define P(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static struct at_rql_query q;

/* A second resource, shaped like audit records, for what tokens lack. */
static const struct at_rql_field audit_fields[] = {
	{ "id", "r.id", NULL, AT_RQL_STRING, AT_RQL_FILTER | AT_RQL_SORT, NULL, NULL },
	{ "timestamp", "r.ts", NULL, AT_RQL_DATETIME, AT_RQL_FILTER | AT_RQL_SORT, NULL, NULL },
	{ "event", "r.event", NULL, AT_RQL_STRING, AT_RQL_FILTER, NULL, NULL },
	{ "hash", "r.hash", NULL, AT_RQL_STRING, AT_RQL_SORT, NULL, NULL },
};
static const struct at_rql_selectable audit_select[] = {
	{ "id", AT_RQL_SEL_DEFAULT | AT_RQL_SEL_ALWAYS },
	{ "event", AT_RQL_SEL_DEFAULT },
	{ "object", 0 },
	{ "actor", 0 },
	{ "documents", 0 },
};
static const struct at_rql_resource audit = {
	.fields = audit_fields,
	.nfields = 4,
	.id_sql = "r.id",
	.default_order = "-timestamp",
	.select = audit_select,
	.nselect = 5,
};

static enum at_err run(const struct at_rql_resource *res, const char *query)
{
	at_rql_release(&q);
	return at_rql_parse(&q, res, query);
}

static void check_params(const char *const *params)
{
	size_t n;

	for (n = 0; params[n]; n++) {
		const char *want = params[n] + 2;
		const struct at_rql_param *got;
		enum at_rql_param_type t = params[n][0] == 'i' ? AT_RQL_PARAM_INT :
					   params[n][0] == 'd' ? AT_RQL_PARAM_DATETIME :
					   AT_RQL_PARAM_TEXT;

		assert_true(n < q.nparams);
		got = &q.params[n];
		assert_int_equal(got->type, t);
		assert_string_equal(got->text, want);
		assert_int_equal(got->len, strlen(want));
		if (t == AT_RQL_PARAM_INT)
			assert_int_equal(got->num, strtoll(want, NULL, 10));
	}
	assert_int_equal(q.nparams, n);
}

static void where_is(const char *query, const char *where, const char *const *params)
{
	enum at_err rc = run(&at_rql_tokens, query);

	if (rc)
		fail_msg("%s: %s: %s", query, q.error.key, q.error.message);
	assert_string_equal(q.where.data, where);
	check_params(params);
}

static void order_is(const struct at_rql_resource *res, const char *query, const char *order)
{
	assert_int_equal(run(res, query), AT_OK);
	assert_string_equal(q.order.data, order);
}

static void refused(const struct at_rql_resource *res, const char *query, const char *key,
		    const char *msg)
{
	if (run(res, query) != AT_ERR_INVALID)
		fail_msg("accepted: %s", query);
	assert_string_equal(q.error.key, key);
	if (msg)
		assert_string_equal(q.error.message, msg);
}

static void bad(const char *query, const char *msg)
{
	refused(&at_rql_tokens, query, "rql", msg);
}

/* ---- defaults and the examples of SPEC §6 ---------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	where_is("", "", NONE);
	assert_string_equal(q.order.data, DEFAULT_ORDER);
	assert_int_equal(q.limit, 10);
	assert_int_equal(q.offset, 0);
	assert_false(q.render);
	assert_int_equal(q.nomitted, 2);
	assert_string_equal(q.omitted[0], "modules");
	assert_string_equal(q.omitted[1], "audit");
	assert_true(at_rql_selected(&q, &at_rql_tokens, "id"));
	assert_true(at_rql_selected(&q, &at_rql_tokens, "name"));
	assert_true(at_rql_selected(&q, &at_rql_tokens, "account"));
	assert_false(at_rql_selected(&q, &at_rql_tokens, "token"));
	assert_false(at_rql_selected(&q, &at_rql_tokens, "modules"));
	assert_false(at_rql_selected(&q, &at_rql_tokens, "audit"));
	assert_false(at_rql_selected(&q, &at_rql_tokens, "nonsense"));
	/* empty parts and empty order/select are as if absent */
	where_is("&&select=&order=&", "", NONE);
	assert_string_equal(q.order.data, DEFAULT_ORDER);
}

static void test_spec_examples(void **state)
{
	(void)state;
	where_is("and(eq(status,Active),ilike(name,*ci*))&order=-audit.created.at"
		 "&limit=20&offset=40&select=+modules",
		 "(" STATUS " = ? AND t.name LIKE ? ESCAPE '!')", P("s:Active", "s:%ci%"));
	assert_string_equal(q.order.data, DEFAULT_ORDER);
	assert_int_equal(q.limit, 20);
	assert_int_equal(q.offset, 40);
	assert_true(at_rql_selected(&q, &at_rql_tokens, "modules"));
	assert_int_equal(q.nomitted, 1);
	assert_string_equal(q.omitted[0], "audit");

	/* sent raw */
	where_is("and(eq(id,'TKN-1234-5678'),eq(name,'A%20B'))&render()",
		 "(t.id = ? AND t.name = ?)", P("s:TKN-1234-5678", "s:A B"));
	assert_true(q.render);
	/* sent fully encoded */
	where_is("and%28eq%28id%2C%27TKN-1234-5678%27%29%2Ceq%28name%2C%27A%20B%27%29%29"
		 "&render%28%29=",
		 "(t.id = ? AND t.name = ?)", P("s:TKN-1234-5678", "s:A B"));
	assert_true(q.render);
	where_is("render()=", "", NONE);
	assert_true(q.render);

	assert_int_equal(run(&audit, "select=object%2Cactor"), AT_OK);
	assert_true(at_rql_selected(&q, &audit, "object"));
	assert_true(at_rql_selected(&q, &audit, "actor"));
	assert_false(at_rql_selected(&q, &audit, "documents"));
	assert_int_equal(q.nomitted, 1);
	assert_string_equal(q.omitted[0], "documents");
	assert_string_equal(q.order.data, "r.ts DESC, r.id DESC");
}

/* ---- operators ----------------------------------------------------------- */

static void test_comparisons(void **state)
{
	(void)state;
	where_is("eq(name,x)", "t.name = ?", P("s:x"));
	where_is("ne(name,x)", "(t.name = ?) IS NOT TRUE", P("s:x"));
	where_is("gt(revision,3)", "t.revision > ?", P("i:3"));
	where_is("ge(revision,3)", "t.revision >= ?", P("i:3"));
	where_is("lt(revision,-3)", "t.revision < ?", P("i:-3"));
	where_is("le(revision,007)", "t.revision <= ?", P("i:007"));
	assert_int_equal(q.params[0].num, 7);
	where_is("eq(revision,9223372036854775807)", "t.revision = ?", P("i:9223372036854775807"));
	where_is("eq(revision,-9223372036854775808)", "t.revision = ?", P("i:-9223372036854775808"));
	assert_true(q.params[0].num == INT64_MIN);
	where_is("eq(revision,'5')", "t.revision = ?", P("i:5"));
	where_is("eq(account.name,Contoso)", "a.name = ?", P("s:Contoso"));
	where_is("eq(icon,/public/v1/accounts/api-tokens/TKN-1111-2222/icon)", ICON " = ?",
		 P("s:/public/v1/accounts/api-tokens/TKN-1111-2222/icon"));
	/* names match case-insensitively, as the reference lowers its terms */
	where_is("EQ(Name,x)", "t.name = ?", P("s:x"));
}

static void test_enums(void **state)
{
	(void)state;
	/* the table's spelling is bound */
	where_is("eq(status,disabled)", STATUS " = ?", P("s:Disabled"));
	where_is("eq(status,expired)", STATUS " = ?", P("s:Expired"));
	where_is("in(account.type,(client,VENDOR))", "a.type IN (?, ?)", P("s:Client", "s:Vendor"));
	where_is("like(status,*ed)", STATUS " COLLATE utf8mb4_bin LIKE ? ESCAPE '!'", P("s:%ed"));
	bad("eq(status,Paused)", "unknown value of status at position 10");
}

static void test_like(void **state)
{
	(void)state;
	where_is("like(name,CI*)", "t.name COLLATE utf8mb4_bin LIKE ? ESCAPE '!'", P("s:CI%"));
	where_is("ilike(description,*deploy*)", "t.description LIKE ? ESCAPE '!'", P("s:%deploy%"));
	/* \* is a literal star, % _ ! are escaped for LIKE */
	where_is("like(name,a\\*b*)", "t.name COLLATE utf8mb4_bin LIKE ? ESCAPE '!'", P("s:a*b%"));
	where_is("ilike(name,'50%25_off!*')", "t.name LIKE ? ESCAPE '!'", P("s:50!%!_off!!%"));
	where_is("ilike(name,a\\\\*)", "t.name LIKE ? ESCAPE '!'", P("s:a\\%"));
	where_is("ilike(name,a\\b)", "t.name LIKE ? ESCAPE '!'", P("s:a\\b"));
	/* eq takes the star literally */
	where_is("eq(name,a*)", "t.name = ?", P("s:a*"));
	bad("like(revision,1*)", "like only goes with text fields, not revision");
	bad("ilike(lastAccessAt,2024*)", "ilike only goes with text fields, not lastAccessAt");
	bad("like(name,null())", "null() only goes with eq and ne (position 10)");
}

static void test_null_empty(void **state)
{
	(void)state;
	where_is("eq(description,null())", "t.description IS NULL", NONE);
	where_is("ne(description,null())", "t.description IS NOT NULL", NONE);
	where_is("eq(description,empty())", "(t.description IS NULL OR t.description = '')", NONE);
	where_is("ne(description,empty())", "(t.description IS NOT NULL AND t.description <> '')", NONE);
	where_is("eq(lastAccessAt,null())", "t.last_access_at IS NULL", NONE);
	where_is("eq(icon,null())", ICON " IS NULL", NONE);
	where_is("description=null()", "t.description IS NULL", NONE);
	where_is("eq(description,'')", "t.description = ?", P("s:"));
	bad("eq(revision,empty())", "empty() only goes with text fields, not revision");
	bad("gt(name,null())", "null() only goes with eq and ne (position 8)");
	bad("null()", "null() is a value, not an expression (position 0)");
	bad("empty()", "empty() is a value, not an expression (position 0)");
	bad("eq(name,null(x))", "syntax error at position 8: expected a value");
	bad("in(name,(a,null()))", "syntax error at position 11: expected values separated by ','");
}

static void test_in_out(void **state)
{
	(void)state;
	where_is("in(id,(TKN-1111-2222,'TKN-3333-4444'))", "t.id IN (?, ?)",
		 P("s:TKN-1111-2222", "s:TKN-3333-4444"));
	where_is("in(id,TKN-1111-2222)", "t.id IN (?)", P("s:TKN-1111-2222"));
	where_is("in(id,(a))", "t.id IN (?)", P("s:a"));
	where_is("out(status,(Deleted,Disabled))", "(" STATUS " IN (?, ?)) IS NOT TRUE",
		 P("s:Deleted", "s:Disabled"));
	where_is("in(revision,(1,2))", "t.revision IN (?, ?)", P("i:1", "i:2"));
	where_is("in(modules.id,(MOD-1,MOD-2))", MODS "m.id IN (?, ?)))", P("s:MOD-1", "s:MOD-2"));
	bad("in(id,a,b)", "in takes a field and a list, as in in(field,(a,b)), at position 0");
	bad("out(id)", "out takes a field and a list, as in out(field,(a,b)), at position 0");
	bad("in(id,(a|b))", "syntax error at position 9: expected values separated by ','");
	bad("in(id,(a,eq(b,c)))", "syntax error at position 9: expected values separated by ','");
	bad("in(id,eq(a,b))", "syntax error at position 6: expected values separated by ','");
	bad("in(id,())", "syntax error at position 7: expected a term");
	bad("in(revision,(1,x))", "revision takes a whole number at position 15");
}

static void test_logic(void **state)
{
	(void)state;
	where_is("and(eq(name,a),eq(name,b),eq(name,c))", "(t.name = ? AND t.name = ? AND t.name = ?)",
		 P("s:a", "s:b", "s:c"));
	where_is("or(eq(name,a),eq(name,b))", "(t.name = ? OR t.name = ?)", P("s:a", "s:b"));
	where_is("and(eq(name,a))", "t.name = ?", P("s:a"));
	where_is("not(eq(description,x))", "(t.description = ?) IS NOT TRUE", P("s:x"));
	where_is("not(or(eq(name,a),and(eq(name,b),not(eq(status,Active)))))",
		 "((t.name = ? OR (t.name = ? AND (" STATUS " = ?) IS NOT TRUE))) IS NOT TRUE",
		 P("s:a", "s:b", "s:Active"));
	bad("and()", "and() needs at least one expression (position 0)");
	bad("or()", "or() needs at least one expression (position 0)");
	bad("not()", "not() takes one expression (position 0)");
	bad("not(eq(name,a),eq(name,b))", "not() takes one expression (position 0)");
	bad("and(name)", "syntax error at position 4: expected an expression, not a value");
}

static void test_any_all(void **state)
{
	(void)state;
	where_is("any(modules,eq(id,MOD-1756))", MODS "m.id = ?))", P("s:MOD-1756"));
	where_is("any(modules,and(eq(id,MOD-1756),not(ilike(name,*audit*))))",
		 MODS "(m.id = ? AND (m.name LIKE ? ESCAPE '!') IS NOT TRUE)))",
		 P("s:MOD-1756", "s:%audit%"));
	where_is("any(modules,(id=MOD-1|name=Audit))", MODS "(m.id = ? OR m.name = ?)))",
		 P("s:MOD-1", "s:Audit"));
	bad("any(modules,id=MOD-1|name=Audit)", "syntax error at position 20: only ',' separates"
	    " arguments; use and(), or() or parentheses");
	where_is("any(modules)", MODS "TRUE))", NONE);
	where_is("not(any(modules))", "(" MODS "TRUE))) IS NOT TRUE", NONE);
	where_is("all(modules,ilike(name,acc*))",
		 "NOT " MODS "(m.name LIKE ? ESCAPE '!') IS NOT TRUE))", P("s:acc%"));
	where_is("eq(modules.id,MOD-1756)", MODS "m.id = ?))", P("s:MOD-1756"));
	where_is("modules.name=Audit", MODS "m.name = ?))", P("s:Audit"));
	where_is("eq(modules.name,null())", MODS "m.name IS NULL))", NONE);
	bad("any(accounts,eq(id,1))", "unknown collection 'accounts' at position 4");
	bad("any(modules,eq(status,Active))", "unknown field 'status' at position 15");
	bad("any(modules,any(modules))", "unknown collection 'modules' at position 16");
	bad("any()", "any takes a collection and a condition, as in any(modules,eq(id,MOD-1756)),"
	    " at position 0");
	bad("all(modules)", "all takes a collection and a condition, as in"
	    " all(modules,eq(id,MOD-1756)), at position 0");
	bad("any('modules',eq(id,1))", "syntax error at position 4: expected a collection name");
	bad("any(modules,eq(id,1),eq(id,2))", NULL);
}

static void test_dates(void **state)
{
	(void)state;
	where_is("gt(audit.created.at,2024-05-09T14:40:28.958Z)", "t.created_at > ?",
		 P("d:2024-05-09 14:40:28.958"));
	where_is("ge(audit.updated.at,2024-02-29)", "t.updated_at >= ?",
		 P("d:2024-02-29 00:00:00.000"));
	where_is("lt(lastAccessAt,'2000-02-29T23:59:59Z')", "t.last_access_at < ?",
		 P("d:2000-02-29 23:59:59.000"));
	where_is("le(lastAccessAt,2024-01-01T00:00:00.5Z)", "t.last_access_at <= ?",
		 P("d:2024-01-01 00:00:00.500"));
	where_is("eq(lastAccessAt,2024-01-01T00:00:00.05Z)", "t.last_access_at = ?",
		 P("d:2024-01-01 00:00:00.050"));
	static const char *const bad_dates[] = {
		"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "0000-01-01",
		"2024-1-01", "24-01-01", "2024/01/01", "2024-01-01T", "2024-01-01T10:00:00",
		"2024-01-01T24:00:00Z", "2024-01-01T10:60:00Z", "2024-01-01T10:00:60Z",
		"2024-01-01T10:00:00.Z", "2024-01-01T10:00:00.1234Z", "2024-01-01 10:00:00Z",
		"2024-01-01T10:00:00+00:00", "2024-01-01t10:00:00z", "yesterday", "2024-01-0a",
		"2024-01-01T1a:00:00Z", "2024-01-01T10:00:00.12aZ",
	};
	char buf[128];
	size_t i;

	for (i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
		snprintf(buf, sizeof(buf), "eq(lastAccessAt,'%s')", bad_dates[i]);
		bad(buf, "lastAccessAt takes a date YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.sssZ"
		    " at position 16");
	}
}

static void test_numbers(void **state)
{
	static const char *const nums[] = {
		"1x", "+1", "1.0", "1e3", "0x10", "-", "--1", " ", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999999",
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		snprintf(buf, sizeof(buf), "eq(revision,'%s')", nums[i]);
		bad(buf, "revision takes a whole number at position 12");
	}
	bad("eq(revision,'')", "revision takes a whole number at position 12");
}

/* ---- syntax: shortcuts, quoting, precedence, nesting ---------------------- */

static void test_shortcuts(void **state)
{
	(void)state;
	where_is("name=CI", "t.name = ?", P("s:CI"));
	where_is("status=Active&name=CI", "(" STATUS " = ? AND t.name = ?)", P("s:Active", "s:CI"));
	where_is("account.id=ACC-1234-5678", "a.id = ?", P("s:ACC-1234-5678"));
	where_is("name='a,b'", "t.name = ?", P("s:a,b"));
	where_is("name=A%20B", "t.name = ?", P("s:A B"));
	/* %26 does not split the query: quoted, it is part of the value */
	where_is("name='A%26B'&limit=5", "t.name = ?", P("s:A&B"));
	assert_int_equal(q.limit, 5);
	/* unquoted, a decoded & is RQL's and, as in mpt-rql-net */
	where_is("name=A%26status=Active", "(t.name = ? AND " STATUS " = ?)", P("s:A", "s:Active"));
	where_is("eq(name,x)&status=Active", "(t.name = ? AND " STATUS " = ?)", P("s:x", "s:Active"));
	bad("name=(a)", "syntax error at position 5: invalid equals shortcut expression");
	bad("name=a=b", "syntax error at position 6: invalid equals shortcut expression");
	bad("name=eq(a,b)", "syntax error at position 5: invalid equals shortcut expression");
	bad("name=", "syntax error at position 5: expected a value");
	bad("=x", "syntax error at position 0: expected a field name before '='");
	bad("nmae=x", "unknown field 'nmae' at position 0");
	bad("eq(name=x,y)", "syntax error at position 3: expected a field name");
	bad("'name'=x", "syntax error at position 6: expected ',' or ')'");
	bad("in(name=x,(y))", "syntax error at position 3: expected a field name");
}

static void test_quoting(void **state)
{
	(void)state;
	where_is("eq(name,'a b')", "t.name = ?", P("s:a b"));
	where_is("eq(name,\"a b\")", "t.name = ?", P("s:a b"));
	where_is("eq(name,'say \"hi\"')", "t.name = ?", P("s:say \"hi\""));
	where_is("eq(name,\"O'Brien\")", "t.name = ?", P("s:O'Brien"));
	where_is("eq(name,'O\\'Brien')", "t.name = ?", P("s:O'Brien"));
	where_is("eq(name,\"a\\\"b\")", "t.name = ?", P("s:a\"b"));
	where_is("eq(name,'back\\\\slash')", "t.name = ?", P("s:back\\slash"));
	where_is("eq(name,'a\\x')", "t.name = ?", P("s:a\\x"));
	where_is("eq(name,'(),&;|=')", "t.name = ?", P("s:(),&;|="));
	/* a raw & inside quotes splits the query, the join puts it back */
	where_is("eq(name,'a&b')", "t.name = ?", P("s:a&b"));
	where_is("eq(name,'')", "t.name = ?", P("s:"));
	/* spaces around items do not count; inside a bare value they do */
	where_is(" and( eq( name , a b ) , eq(name,\t'c' ) ) ", "(t.name = ? AND t.name = ?)",
		 P("s:a b", "s:c"));
	where_is("eq(name,%C3%A9t%C3%A9)", "t.name = ?", P("s:\xC3\xA9t\xC3\xA9"));
	bad("eq(name,'abc)", "syntax error at position 8: quote is never closed");
	bad("eq(name,\"abc')", "syntax error at position 8: quote is never closed");
	bad("eq(name,'abc'd)", "syntax error at position 13: expected ',' or ')'");
	bad("eq(name,O'Brien)", "syntax error at position 9: a quote inside a value;"
	    " quote the whole value");
	bad("eq('name',x)", "syntax error at position 3: expected a field name");
	bad("eq(name,'a\\')", "syntax error at position 8: quote is never closed");
}

static void test_precedence(void **state)
{
	(void)state;
	/* and binds tighter than or, whichever spelling */
	where_is("name=a,name=b|name=c,name=d",
		 "((t.name = ? AND t.name = ?) OR (t.name = ? AND t.name = ?))",
		 P("s:a", "s:b", "s:c", "s:d"));
	where_is("name=a;name=b&name=c", "(t.name = ? OR (t.name = ? AND t.name = ?))",
		 P("s:a", "s:b", "s:c"));
	where_is("name=a|name=b|name=c,name=d", "(t.name = ? OR t.name = ? OR (t.name = ? AND t.name = ?))",
		 P("s:a", "s:b", "s:c", "s:d"));
	where_is("name=a|name=b,name=c|name=d", "(t.name = ? OR (t.name = ? AND t.name = ?) OR t.name = ?)",
		 P("s:a", "s:b", "s:c", "s:d"));
	/* the query's own & joins the filter parts the same way */
	where_is("name=a|name=b&name=c|name=d", "(t.name = ? OR (t.name = ? AND t.name = ?) OR t.name = ?)",
		 P("s:a", "s:b", "s:c", "s:d"));
	/* parentheses group */
	where_is("(name=a|name=b),status=Active", "((t.name = ? OR t.name = ?) AND " STATUS " = ?)",
		 P("s:a", "s:b", "s:Active"));
	where_is("((name=a))", "t.name = ?", P("s:a"));
	where_is("and((name=a;name=b),(name=c|name=d))",
		 "((t.name = ? OR t.name = ?) AND (t.name = ? OR t.name = ?))",
		 P("s:a", "s:b", "s:c", "s:d"));
	bad("and(name=a|name=b)", "syntax error at position 10: only ',' separates arguments;"
	    " use and(), or() or parentheses");
}

#define BIG 20000

static void test_nesting_limits(void **state)
{
	char *s = malloc(BIG);
	size_t i, n;

	(void)state;
	assert_non_null(s);
	/* 64 levels pass, 65 do not */
	n = 0;
	for (i = 0; i < 63; i++)
		n += (size_t)snprintf(s + n, BIG - n, "not(");
	n += (size_t)snprintf(s + n, BIG - n, "eq(name,x)");
	for (i = 0; i < 63; i++)
		s[n++] = ')';
	s[n] = '\0';
	assert_int_equal(run(&at_rql_tokens, s), AT_OK);
	memmove(s + 4, s, n + 1);
	memcpy(s, "not(", 4);
	memcpy(s + n + 4, ")", 2);
	bad(s, "nested deeper than 64 levels at position 256");

	/* 256 terms pass, 257 do not: in + field + list + 253 values */
	n = (size_t)snprintf(s, BIG, "in(id,(");
	for (i = 0; i < 253; i++)
		n += (size_t)snprintf(s + n, BIG - n, "%s%zu", i ? "," : "", i);
	snprintf(s + n, BIG - n, "))");
	assert_int_equal(run(&at_rql_tokens, s), AT_OK);
	assert_int_equal(q.nparams, 253);
	snprintf(s + n, BIG - n, ",x))");
	bad(s, NULL);
	assert_non_null(strstr(q.error.message, "more than 256 terms at position"));

	/* 10k open parentheses: over the query limit; 8k: over the depth */
	memset(s, '(', 10000);
	s[10000] = '\0';
	bad(s, "the query string is longer than 8192 bytes");
	s[8192] = '\0';
	bad(s, "nested deeper than 64 levels at position 64");
	memset(s, 0, 8192);
	for (i = 0; i + 3 <= 8190; i += 3)
		memcpy(s + i, "or(", 3);
	bad(s, "nested deeper than 64 levels at position 192");
	/* 300 terms */
	n = 0;
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(s + n, BIG - n, "%sname=%zu", i ? "|" : "", i);
	bad(s, NULL);
	assert_non_null(strstr(q.error.message, "more than 256 terms"));
	/* longer than the query string may be */
	memset(s, 'a', 8193);
	s[8193] = '\0';
	bad(s, "the query string is longer than 8192 bytes");
	free(s);
}

/* ---- order, select, limit, offset, render ------------------------------- */

static void test_order(void **state)
{
	(void)state;
	order_is(&at_rql_tokens, "", DEFAULT_ORDER);
	order_is(&at_rql_tokens, "order=-audit.created.at", DEFAULT_ORDER);
	order_is(&at_rql_tokens, "order=name", "t.name ASC, t.id ASC");
	order_is(&at_rql_tokens, "order=+name,-revision", "t.name ASC, t.revision DESC, t.id DESC");
	order_is(&at_rql_tokens, "order=-revision,name", "t.revision DESC, t.name ASC, t.id ASC");
	order_is(&at_rql_tokens, "order=-revision%2Cname", "t.revision DESC, t.name ASC, t.id ASC");
	/* the id is unique: no tie-break after it */
	order_is(&at_rql_tokens, "order=-id", "t.id DESC");
	order_is(&at_rql_tokens, "order=status,id,name", STATUS " ASC, t.id ASC, t.name ASC");
	order_is(&at_rql_tokens, "order= account.type , -lastAccessAt ",
		 "CAST(a.type AS CHAR) ASC, t.last_access_at DESC, t.id DESC");
	order_is(&at_rql_tokens, "order=-modules.name",
		 "(SELECT MIN(m.name) FROM token_modules tm JOIN modules m ON m.id = tm.module_id"
		 " WHERE tm.token_id = t.id) DESC, t.id DESC");
	order_is(&at_rql_tokens, "order=icon", ICON " ASC, t.id ASC");
}

static void test_order_errors(void **state)
{
	(void)state;
	refused(&at_rql_tokens, "order=nmae", "order", "unknown field 'nmae'");
	refused(&at_rql_tokens, "order=name,,id", "order", "an order key is empty");
	refused(&at_rql_tokens, "order=-", "order", "an order key is empty");
	refused(&at_rql_tokens, "order=name&order=id", "order", "order is given twice");
	refused(&at_rql_tokens, "order=name;drop table tokens", "order",
		"unknown field 'name;drop table tokens'");
	refused(&at_rql_tokens, "order=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "order",
		"unknown field 'a'");
	refused(&at_rql_tokens, "order=id,id,id,id,id,id,id,id,id,id,id,id,id,id,id,id,id", "order",
		"more than 16 order keys");
	refused(&audit, "order=event", "order", "field event cannot be sorted");
	order_is(&audit, "order=hash", "r.hash ASC, r.id ASC");
	refused(&audit, "eq(hash,x)", "rql", "field hash cannot be filtered");
}

static void test_select(void **state)
{
	(void)state;
	assert_int_equal(run(&at_rql_tokens, "select=+modules,-name,audit"), AT_OK);
	assert_true(at_rql_selected(&q, &at_rql_tokens, "modules"));
	assert_true(at_rql_selected(&q, &at_rql_tokens, "audit"));
	assert_false(at_rql_selected(&q, &at_rql_tokens, "name"));
	assert_int_equal(q.nomitted, 1);
	assert_string_equal(q.omitted[0], "name");
	/* id always; token only when named, never listed as omitted */
	assert_int_equal(run(&at_rql_tokens, "select=-id,token&select=-token,+token"), AT_OK);
	assert_true(at_rql_selected(&q, &at_rql_tokens, "id"));
	assert_true(at_rql_selected(&q, &at_rql_tokens, "token"));
	assert_int_equal(run(&at_rql_tokens, "select=-token"), AT_OK);
	assert_false(at_rql_selected(&q, &at_rql_tokens, "token"));
	assert_int_equal(q.nomitted, 2);
	/* a nested path selects its field */
	assert_int_equal(run(&at_rql_tokens, "select=%2Bmodules.id"), AT_OK);
	assert_true(at_rql_selected(&q, &at_rql_tokens, "modules"));
	refused(&at_rql_tokens, "select=-modules.id", "select",
		"only a whole field can be dropped: 'modules.id'");
	refused(&at_rql_tokens, "select=secret", "select", "unknown field 'secret'");
	refused(&at_rql_tokens, "select=modules,", "select", "a select item is empty");
	refused(&at_rql_tokens, "select=+", "select", "a select item is empty");
}

static void test_limit_offset(void **state)
{
	(void)state;
	assert_int_equal(run(&at_rql_tokens, "limit=0"), AT_OK);
	assert_int_equal(q.limit, 0);
	assert_int_equal(run(&at_rql_tokens, "limit=1000&offset=2147483647"), AT_OK);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(q.offset, 2147483647L);
	/* larger limits are capped */
	assert_int_equal(run(&at_rql_tokens, "limit=1001"), AT_OK);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(run(&at_rql_tokens, "limit=999999999999999999999999"), AT_OK);
	assert_int_equal(q.limit, 1000);
	assert_int_equal(run(&at_rql_tokens, "offset=0&limit=%205"), AT_OK);
	assert_int_equal(q.limit, 5);
	refused(&at_rql_tokens, "limit=", "limit", "limit must be a whole number from 0 to 1000");
	refused(&at_rql_tokens, "limit=-1", "limit", NULL);
	refused(&at_rql_tokens, "limit=+5", "limit", NULL);
	refused(&at_rql_tokens, "limit=1e3", "limit", NULL);
	refused(&at_rql_tokens, "limit=ten", "limit", NULL);
	refused(&at_rql_tokens, "limit=5&limit=6", "limit", "limit is given twice");
	refused(&at_rql_tokens, "offset=2147483648", "offset",
		"offset must be a whole number from 0 to 2147483647");
	refused(&at_rql_tokens, "offset=-1", "offset", NULL);
	refused(&at_rql_tokens, "offset=", "offset", NULL);
	refused(&at_rql_tokens, "offset=1&offset=1", "offset", "offset is given twice");
}

static void test_render(void **state)
{
	(void)state;
	assert_int_equal(run(&at_rql_tokens, "render()"), AT_OK);
	assert_true(q.render);
	assert_int_equal(run(&at_rql_tokens, "eq(name,x)&render%28%29="), AT_OK);
	assert_true(q.render);
	assert_string_equal(q.where.data, "t.name = ?");
	assert_int_equal(run(&at_rql_tokens, "eq(name,x)"), AT_OK);
	assert_false(q.render);
	refused(&at_rql_tokens, "render()=yes", "render", "render() takes no value");
	bad("render(x)", "unknown operator 'render' at position 0");
}

/* ---- errors name what is wrong ------------------------------------------- */

static void test_errors(void **state)
{
	(void)state;
	bad("eq(nme,1)", "unknown field 'nme' at position 3");
	bad("eq(name,x)&eq(nme,1)", "unknown field 'nme' at position 14");
	/* positions count characters of the decoded text, not bytes */
	bad("eq(name,%C3%A9)&eq(nme,1)", "unknown field 'nme' at position 14");
	bad("foo(a,b)", "unknown operator 'foo' at position 0");
	bad("and(eq(name,a),regex(name,b))", "unknown operator 'regex' at position 15");
	bad("eq(token,x)", "unknown field 'token' at position 3");
	bad("eq(secret_hash,x)", "unknown field 'secret_hash' at position 3");
	bad("eq(name)", "eq takes a field and a value, as in eq(name,value), at position 0");
	bad("gt(name,a,b)", "gt takes a field and a value, as in gt(name,value), at position 0");
	bad("eq(name,eq(a,b))", "syntax error at position 8: expected a value");
	bad("eq(name,(a))", "syntax error at position 8: expected a value");
	bad("name", "syntax error at position 0: expected an expression, not a value");
	bad("eq(name", "syntax error at position 2: '(' is never closed");
	bad("eq(name,x))", "syntax error at position 10: ')' without '('");
	bad("eq(name,x),", "syntax error at position 11: expected a term");
	bad(",eq(name,x)", "syntax error at position 0: expected a term");
	bad("eq(,)", "syntax error at position 3: expected a term");
	bad("eq()", "eq takes a field and a value, as in eq(name,value), at position 0");
	bad("eq(name,x)eq(name,y)", "syntax error at position 10: expected ',' or ')'");
	bad("()", "syntax error at position 1: expected a term");
	bad("%ZZ", "bad percent-encoding or NUL in the query string");
	bad("eq(name,%00)", "bad percent-encoding or NUL in the query string");
	bad("eq(name,%FF)", "the query string is not valid UTF-8");
	/* a long unknown name is quoted back in part, on a character boundary */
	bad("eq(aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa%C3%A9,1)",
	    "unknown field 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' at position 3");
}

/* ---- no input text ever reaches the SQL ---------------------------------- */

static void test_no_injection(void **state)
{
	static const char *const evil[] = {
		"'", "`", ";", "--", "/*", "*/", "#", "DROP", "SELECT", "UNION", "OR 1=1",
		"\\", "sleep", "0x",
	};
	size_t i;

	(void)state;
	where_is("and(eq(name,\"x' OR 1=1 --\"),eq(description,'`; DROP TABLE tokens; /* */'),"
		 "ilike(name,'%23 UNION SELECT sleep(1)'),in(id,('0x27','\\\\')))",
		 "(t.name = ? AND t.description = ? AND t.name LIKE ? ESCAPE '!' AND t.id IN (?, ?))",
		 P("s:x' OR 1=1 --", "s:`; DROP TABLE tokens; /* */", "s:# UNION SELECT sleep(1)",
		   "s:0x27", "s:\\"));
	for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		if (!strcmp(evil[i], "'"))
			continue;	/* the ESCAPE '!' of the table */
		assert_null(strstr(q.where.data, evil[i]));
	}
	/* in field, operator and collection positions it is refused */
	bad("eq(name;DROP TABLE tokens,1)", NULL);
	bad("eq(`name`,1)", "unknown field '`name`' at position 3");
	bad("eq(t.name,1)", "unknown field 't.name' at position 3");
	bad("eq(name OR 1=1,1)", NULL);
	bad("eq(name/**/,1)", "unknown field 'name/**/' at position 3");
	bad("eq(1=1--,1)", NULL);
	bad("SELECT(name,1)", "unknown operator 'SELECT' at position 0");
	bad("any(modules;DROP,eq(id,1))", NULL);
	refused(&at_rql_tokens, "order=name--", "order", "unknown field 'name--'");
	refused(&at_rql_tokens, "order=t.id", "order", "unknown field 't.id'");
	/* a refused query leaves no parameters behind that a caller could use */
	assert_string_equal(q.error.key, "order");
}

/* ---- the filter of a bulk action ------------------------------------------ */

static enum at_err run_filter(const struct at_rql_resource *res, const char *text)
{
	at_rql_release(&q);
	return at_rql_parse_filter(&q, res, text);
}

static void filter_refused(const char *text, const char *msg)
{
	if (run_filter(&at_rql_tokens, text) != AT_ERR_INVALID)
		fail_msg("accepted as a filter: %s", text ? text : "(null)");
	assert_string_equal(q.error.key, "filter");
	if (msg)
		assert_string_equal(q.error.message, msg);
}

/* The filter gives the WHERE and parameters of the query string holding
 * the same expression. */
static void test_filter_as_query(void **state)
{
	static const char *const exprs[] = {
		"and(eq(status,Active),ilike(name,*ci*))",
		"eq(id,TKN-1234-5678)",
		"eq(status,Active)&ilike(name,*ci*)",
		"eq(status,Active),ne(description,null())",
		"eq(status,Active)|eq(status,Disabled)",
		"eq(status,Active);eq(status,Disabled)",
		"eq(name,a),eq(name,b)|eq(name,c)&eq(name,d)",
		"status=Active&name='A B'",
		"any(modules,eq(id,MOD-1756))",
		"modules.id=MOD-1756",
		"in(id,(TKN-1111-2222,TKN-3333-4444)),out(account.type,(Vendor))",
		"not(eq(name,x)),ge(revision,3)",
		"ge(audit.created.at,2026-01-01),lt(audit.created.at,2026-02-01T00:00:00.000Z)",
		" eq(name,x) | eq(name,y) ",
		"(eq(name,x)|eq(name,y)),eq(status,Active)",
	};
	struct at_rql_param want[8];
	char where[512];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		if (run(&at_rql_tokens, exprs[i]) != AT_OK)
			fail_msg("%s: %s: %s", exprs[i], q.error.key, q.error.message);
		assert_true(q.where.len > 0 && q.where.len < sizeof(where));
		assert_true(q.nparams <= 8);
		memcpy(where, q.where.data, q.where.len + 1);
		n = q.nparams;
		for (j = 0; j < n; j++) {
			want[j] = q.params[j];
			want[j].text = strdup(q.params[j].text);
			assert_non_null(want[j].text);
		}
		if (run_filter(&at_rql_tokens, exprs[i]) != AT_OK)
			fail_msg("filter %s: %s: %s", exprs[i], q.error.key, q.error.message);
		assert_string_equal(q.where.data, where);
		assert_int_equal(q.nparams, n);
		for (j = 0; j < n; j++) {
			assert_int_equal(q.params[j].type, want[j].type);
			assert_string_equal(q.params[j].text, want[j].text);
			assert_int_equal(q.params[j].len, want[j].len);
			assert_true(q.params[j].num == want[j].num);
			free(want[j].text);
		}
	}

	/* the example of a bulk body, spelled out */
	assert_int_equal(run_filter(&at_rql_tokens, "and(eq(status,Active),ilike(name,*ci*))"),
			 AT_OK);
	assert_string_equal(q.where.data, "(" STATUS " = ? AND t.name LIKE ? ESCAPE '!')");
	check_params(P("s:Active", "s:%ci%"));
	/* a filter has no order, paging or select of its own */
	assert_int_equal(q.order.len, 0);
	assert_int_equal(q.limit, AT_RQL_LIMIT_DEFAULT);
	assert_int_equal(q.offset, 0);
	assert_int_equal(q.nomitted, 0);
	assert_false(q.render);

	/* another resource's table */
	assert_int_equal(run_filter(&audit, "ge(timestamp,2026-01-01),eq(event,x)"), AT_OK);
	assert_string_equal(q.where.data, "(r.ts >= ? AND r.event = ?)");
	check_params(P("d:2026-01-01 00:00:00.000", "s:x"));
}

/* JSON needs no percent-encoding: the text is taken as it is. */
static void test_filter_verbatim(void **state)
{
	(void)state;
	assert_int_equal(run_filter(&at_rql_tokens, "eq(name,'A%20B')"), AT_OK);
	check_params(P("s:A%20B"));
	/* a quoted '&' stays in its value; a query string would need %26 */
	assert_int_equal(run_filter(&at_rql_tokens, "eq(name,'a&&b&limit=1')"), AT_OK);
	assert_string_equal(q.where.data, "t.name = ?");
	check_params(P("s:a&&b&limit=1"));
	assert_int_equal(run_filter(&at_rql_tokens, "eq(name,é)"), AT_OK);
	check_params(P("s:é"));
}

static void test_filter_refused(void **state)
{
	static const char *const listy[] = {
		"order=-name", "select=+modules", "limit=5", "offset=10", "render()",
		"eq(name,x)&limit=5", "eq(name,x),order=name", "eq(name,x)|select=-audit",
		"offset=0;eq(name,x)", "LIMIT=5", "Render()", "render(x)",
		"select=+modules,-audit",
	};
	char big[AT_RQL_MAX_QUERY + 2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(listy) / sizeof(listy[0]); i++)
		filter_refused(listy[i], "a filter takes no select/order/limit");
	filter_refused("", "the filter is empty");
	filter_refused(" \t ", "the filter is empty");
	filter_refused(NULL, "the filter is empty");

	/* errors of the expression are those of the query string, keyed filter */
	filter_refused("eq(nme,1)", "unknown field 'nme' at position 3");
	filter_refused("eq(name", "syntax error at position 2: '(' is never closed");
	filter_refused("eq(name,x)&&eq(name,y)", "syntax error at position 11: expected a term");
	filter_refused("eq(status,Paused)", "unknown value of status at position 10");
	filter_refused("(order=name)", "unknown field 'order' at position 1");
	filter_refused("eq(name,\xff)", "the filter is not valid UTF-8");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	filter_refused(big, "the filter is longer than 8192 bytes");
	/* list parameters are refused before any SQL is written */
	filter_refused("eq(name,x),eq(id,y)&order=name", "a filter takes no select/order/limit");
	assert_int_equal(q.where.len, 0);
	assert_int_equal(q.nparams, 0);

	/* the query string still reads these as its parameters */
	assert_int_equal(run(&at_rql_tokens, "eq(name,x)&limit=5"), AT_OK);
	assert_int_equal(q.limit, 5);
	assert_string_equal(q.where.data, "t.name = ?");
}

/* ---- malformed input: refused, never a crash ------------------------------ */

static void test_malformed(void **state)
{
	static const char *const inputs[] = {
		"(", ")", "((", "))", "(()", "())", "eq(", "eq(name", "eq(name,", "eq(name,x",
		"eq(name)", "eq(,)", "eq(,x)", "eq(name,)", "eq(name,x,)", "and(,)", "and(eq(name,x),)",
		"eq(name,x),", "eq(name,x)|", "|eq(name,x)", "eq(name,x),,eq(name,y)", ",", ";", "|",
		"'", "\"", "'abc", "\"abc", "eq(name,')", "eq(name,\")", "eq(name,'x\")",
		"eq(name,%00)", "%00", "%0", "%", "%G1", "eq(name,%FF)", "%C0%AF", "%ED%A0%80",
		"%F4%90%80%80", "%E2%82", "=", "==", "name==x", "name=", "=name", "eq", "eq()",
		"eq()()", "()", "(,)", "not", "not()", "any", "any(", "any()", "in(id,(", "in(id,((a)))",
		"in(id,)", "null()", "empty()", "eq(name,null)(", "eq(name,x))", "eq(name,x)(",
		"eq(name,x)=y", "eq(name,'x'y)", "eq(name,x'y')", "\\", "eq\\(name,x)", "name='",
		"name=''x", "name=x'", "select=,", "order=,", "limit=x", "offset=x",
		"eq(name,x)&order=,", "eq(name,x)&limit=1001x", "\t", " ", "  ,  ",
		"eq(revision,1.5)", "eq(lastAccessAt,now)", "like(revision,1)", "any(modules,",
		"any(modules,eq(id,1)", "all(modules)", "not(a,b)", "in(id)", "out(id,a,b)",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		if (run(&at_rql_tokens, inputs[i]) != AT_ERR_INVALID)
			fail_msg("accepted: '%s'", inputs[i]);
		assert_true(q.error.key[0] != '\0');
		assert_true(q.error.message[0] != '\0');
	}
	/* the filter of a bulk action takes no percent-encoding nor list
	 * parameters, so it refuses the lot as well */
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		if (strchr(inputs[i], '%'))
			continue;
		if (run_filter(&at_rql_tokens, inputs[i]) != AT_ERR_INVALID)
			fail_msg("accepted as a filter: '%s'", inputs[i]);
		assert_string_equal(q.error.key, "filter");
		assert_true(q.error.message[0] != '\0');
	}
}

/* A one-object read: every field by default, the list's items on top,
 * id kept. */
static void test_select_one(void **state)
{
	struct at_rql_query one;

	(void)state;
	at_rql_init(&one);
	one.selected = AT_RQL_SELECT_EVERY;
	assert_int_equal(at_rql_select(&one, &at_rql_audit, "-documents, -object ,actor"), AT_OK);
	assert_false(at_rql_selected(&one, &at_rql_audit, "documents"));
	assert_false(at_rql_selected(&one, &at_rql_audit, "object"));
	assert_true(at_rql_selected(&one, &at_rql_audit, "actor"));
	assert_true(at_rql_selected(&one, &at_rql_audit, "event"));
	assert_int_equal(at_rql_select(&one, &at_rql_audit, "+documents,-id"), AT_OK);
	assert_true(at_rql_selected(&one, &at_rql_audit, "documents"));
	assert_true(at_rql_selected(&one, &at_rql_audit, "id"));
	assert_int_equal(at_rql_select(&one, &at_rql_audit, "object,nope"), AT_ERR_INVALID);
	assert_string_equal(one.error.key, "select");
	assert_non_null(strstr(one.error.message, "nope"));
	assert_int_equal(at_rql_select(&one, &at_rql_modules, "\xff"), AT_ERR_INVALID);
	assert_string_equal(one.error.key, "select");
	at_rql_release(&one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_like),
		cmocka_unit_test(test_null_empty),
		cmocka_unit_test(test_in_out),
		cmocka_unit_test(test_logic),
		cmocka_unit_test(test_any_all),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_shortcuts),
		cmocka_unit_test(test_quoting),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_nesting_limits),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_order_errors),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_limit_offset),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_injection),
		cmocka_unit_test(test_filter_as_query),
		cmocka_unit_test(test_filter_verbatim),
		cmocka_unit_test(test_filter_refused),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_select_one),
	};
	int rc;

	at_rql_init(&q);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	at_rql_release(&q);
	return rc;
}
