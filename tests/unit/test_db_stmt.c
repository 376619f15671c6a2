/* Unit tests of the statement table (db_stmt.c) and the column lists
 * (db_columns.h) it is made from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "db.h"
#include "db_columns.h"
#include "db_stmt.h"

/* Commas outside parentheses between SELECT and the first FROM: the
 * number of columns a statement's rows have, less one. */
static unsigned select_commas(const char *sql)
{
	const char *p = strstr(sql, "SELECT ");
	unsigned n = 0;
	int depth = 0;

	assert_non_null(p);
	for (p += 7; *p && (depth || strncmp(p, " FROM ", 6)); p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (*p == ',' && !depth)
			n++;
	}
	assert_true(*p);
	return n;
}

static unsigned count(const char *s, const char *what)
{
	unsigned n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void test_every_statement_has_sql(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < AT_STMT__MAX; i++) {
		assert_non_null(at_db_stmt_sql[i]);
		assert_true(strlen(at_db_stmt_sql[i]) > 6);
	}
	for (i = 0; i < AT_TPL__MAX; i++)
		assert_non_null(at_db_tpl_sql[i]);
}

/* db.c fills a template with snprintf: WHERE, then ORDER BY for a list;
 * any other conversion would read an argument that is not there. */
static void test_templates_take_where_then_order(void **state)
{
	const char *sql, *first, *second;
	unsigned i;

	(void)state;
	for (i = 0; i < AT_TPL__MAX; i++) {
		sql = at_db_tpl_sql[i];
		assert_int_equal(count(sql, "%"), count(sql, "%s"));
		first = strstr(sql, "%s");
		assert_non_null(first);
		second = strstr(first + 2, "%s");
		if (strstr(sql, "LIMIT ? OFFSET ?")) {
			assert_non_null(second);
			assert_int_equal(count(sql, "%s"), 2);
			assert_memory_equal(second - 9, "ORDER BY ", 9);
		} else {
			assert_null(second);
			assert_non_null(strstr(sql, "COUNT(*)"));
		}
	}
}

/* The enums index the rows these statements return. */
static void test_columns_match_their_enums(void **state)
{
	(void)state;
	assert_int_equal(select_commas(at_db_stmt_sql[AT_STMT_TOKEN_GET]) + 1, TC__MAX);
	assert_int_equal(select_commas(at_db_tpl_sql[AT_TPL_TOKEN_LIST]) + 1, TC__MAX);
	assert_int_equal(select_commas(at_db_tpl_sql[AT_TPL_TOKEN_LIST_ACCOUNT]) + 1, TC__MAX);
	assert_int_equal(select_commas(at_db_stmt_sql[AT_STMT_AUDIT_GET]) + 1, AC__MAX);
	assert_int_equal(select_commas(at_db_stmt_sql[AT_STMT_AUDIT_CHAIN_PAGE]) + 1, AC__MAX);
	assert_int_equal(select_commas(at_db_tpl_sql[AT_TPL_AUDIT_LIST]) + 1, AC__MAX);
	assert_int_equal(select_commas(at_db_stmt_sql[AT_STMT_MODULE_GET]) + 1, MC__MAX);
	assert_int_equal(select_commas(at_db_tpl_sql[AT_TPL_MODULE_LIST]) + 1, MC__MAX);
	assert_non_null(strstr(at_db_stmt_sql[AT_STMT_TOKEN_GET],
			       "SELECT t.id, t.name, t.description, t.status,"));
	assert_non_null(strstr(at_db_stmt_sql[AT_STMT_TOKEN_GET],
			       " t.deleted_by_name, a.id, a.name, a.type, a.status,"
			       " t.expires_at, t.not_before, t.allowed_ips, t.rate_limit,"));
	/* rotation's columns, last */
	assert_non_null(strstr(at_db_stmt_sql[AT_STMT_TOKEN_GET],
			       " t.rotated_at, t.rotated_by_id, t.rotated_by_name,"
			       " t.prev_valid_until FROM "));
	assert_non_null(strstr(at_db_stmt_sql[AT_STMT_AUDIT_GET],
			       " r.documents, r.prev_hash, r.hash FROM audit_records r "));
}

/* audit.c binds a record's values in the order of its columns. */
static void test_audit_insert_follows_the_columns(void **state)
{
	const char *sql = at_db_stmt_sql[AT_STMT_AUDIT_INSERT];

	(void)state;
	assert_int_equal(count(sql, "?"), AC__MAX);
	assert_non_null(strstr(sql, "INSERT INTO audit_records (id, account_id, seq, event,"));
	assert_non_null(strstr(sql, " documents, prev_hash, hash) VALUES (?, ?,"));
}

/* A bulk action re-checks a locked token under the confinement of the
 * token counts (what lists apply): the same text, then the token id. */
static void test_bulk_match_is_the_count_and_an_id(void **state)
{
	const char *own = at_db_tpl_sql[AT_TPL_TOKEN_COUNT_ACCOUNT];
	const char *all = at_db_tpl_sql[AT_TPL_TOKEN_COUNT];
	const char *m_own = at_db_tpl_sql[AT_TPL_TOKEN_BULK_MATCH_ACCOUNT];
	const char *m_all = at_db_tpl_sql[AT_TPL_TOKEN_BULK_MATCH];
	size_t n = strlen(all) - strlen(" WHERE %s");

	(void)state;
	assert_int_equal(strlen(m_own), strlen(own) + strlen(" AND t.id = ?"));
	assert_memory_equal(m_own, own, strlen(own));
	assert_string_equal(m_own + strlen(own), " AND t.id = ?");
	assert_memory_equal(m_all, all, n);
	assert_string_equal(m_all + n, " WHERE (%s) AND t.id = ?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_statement_has_sql),
		cmocka_unit_test(test_templates_take_where_then_order),
		cmocka_unit_test(test_columns_match_their_enums),
		cmocka_unit_test(test_audit_insert_follows_the_columns),
		cmocka_unit_test(test_bulk_match_is_the_count_and_an_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
