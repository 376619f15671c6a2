/* Unit tests of list.c: the confinement of a list.  Operations callers
 * read every account (Deleted tokens too); everyone else reads their own
 * account, whose id is the first parameter of the statement, before
 * anything a filter brings, so that a filter can only narrow it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "confine.h"
#include "rql.h"

static const struct at_list_scope token_all = {
	AT_TPL_TOKEN_LIST, AT_TPL_TOKEN_COUNT, AT_STMT_TOKEN_TOTAL_ALL
};
static const struct at_list_scope token_own = {
	AT_TPL_TOKEN_LIST_ACCOUNT, AT_TPL_TOKEN_COUNT_ACCOUNT, AT_STMT_TOKEN_TOTAL_ACCOUNT
};
static const struct at_list_scope audit_all = {
	AT_TPL_AUDIT_LIST, AT_TPL_AUDIT_COUNT, AT_STMT_AUDIT_TOTAL_ALL
};
static const struct at_list_scope audit_own = {
	AT_TPL_AUDIT_LIST_ACCOUNT, AT_TPL_AUDIT_COUNT_ACCOUNT, AT_STMT_AUDIT_TOTAL_ACCOUNT
};

static void caller(struct at_caller *c, enum at_account_type type, const char *account)
{
	memset(c, 0, sizeof(*c));
	c->kind = AT_CALLER_USER;
	c->account_type = type;
	strcpy(c->account_id, account);
	strcpy(c->id, "USR-0000-0001");
}

/* A plan as a handler leaves it before confinement: garbage in every
 * field the confinement must set. */
static void dirty(struct at_list_plan *plan, struct at_db_param *stale)
{
	memset(plan, 0, sizeof(*plan));
	plan->list_tpl = AT_TPL_AUDIT_LIST_OBJECT;
	plan->count_tpl = AT_TPL_AUDIT_COUNT_OBJECT;
	plan->scope = stale;
	plan->nscope = 7;
	plan->has_total_stmt = false;
}

static void assert_str_param(const struct at_db_param *p, const char *want)
{
	assert_int_equal(p->type, AT_DB_STR);
	assert_int_equal(p->len, strlen(want));
	assert_memory_equal(p->s, want, p->len);
}

static void assert_int_param(const struct at_db_param *p, long long want)
{
	assert_int_equal(p->type, AT_DB_INT);
	assert_int_equal(p->i, want);
}

static void test_operations_read_every_account(void **state)
{
	struct at_db_param stale[7], scope = AT_DB_P_INT(99);
	struct at_list_plan plan;
	struct at_caller c;

	(void)state;
	caller(&c, AT_ACCOUNT_OPERATIONS, "ACC-0000-0001");
	dirty(&plan, stale);
	at_list_confine(&c, &token_all, &token_own, &plan, &scope);
	assert_int_equal(plan.list_tpl, AT_TPL_TOKEN_LIST);
	assert_int_equal(plan.count_tpl, AT_TPL_TOKEN_COUNT);
	assert_true(plan.has_total_stmt);
	assert_int_equal(plan.total_stmt, AT_STMT_TOKEN_TOTAL_ALL);
	assert_null(plan.scope);
	assert_int_equal(plan.nscope, 0);
	/* the scope slot is not used */
	assert_int_equal(scope.type, AT_DB_INT);
}

static void test_others_read_their_own_account(void **state)
{
	static const enum at_account_type types[] = { AT_ACCOUNT_CLIENT, AT_ACCOUNT_VENDOR };
	struct at_db_param stale[7], scope;
	struct at_list_plan plan;
	struct at_caller c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		caller(&c, types[i], "ACC-1234-5678");
		dirty(&plan, stale);
		at_list_confine(&c, &audit_all, &audit_own, &plan, &scope);
		assert_int_equal(plan.list_tpl, AT_TPL_AUDIT_LIST_ACCOUNT);
		assert_int_equal(plan.count_tpl, AT_TPL_AUDIT_COUNT_ACCOUNT);
		assert_true(plan.has_total_stmt);
		assert_int_equal(plan.total_stmt, AT_STMT_AUDIT_TOTAL_ACCOUNT);
		assert_ptr_equal(plan.scope, &scope);
		assert_int_equal(plan.nscope, 1);
		assert_str_param(&scope, "ACC-1234-5678");
	}
}

/* A list of res confined for a caller of type, its query parsed. */
struct bound {
	struct at_db_param scope;
	struct at_list_plan plan;
	struct at_rql_query q;
};

static void bind(struct bound *b, enum at_account_type type, const char *account,
		 const struct at_rql_resource *res, const struct at_list_scope *all,
		 const struct at_list_scope *own, const char *query)
{
	struct at_caller c;

	caller(&c, type, account);
	memset(b, 0, sizeof(*b));
	at_list_confine(&c, all, own, &b->plan, &b->scope);
	at_rql_init(&b->q);
	assert_int_equal(at_rql_parse(&b->q, res, query), AT_OK);
}

/* Whatever the filter says about accounts, the caller's account is bound
 * first, then the filter's values, then limit and offset. */
static void test_scope_comes_before_the_filter(void **state)
{
	struct at_db_param p[16];
	struct bound b;

	(void)state;
	bind(&b, AT_ACCOUNT_VENDOR, "ACC-1111-1111", &at_rql_audit, &audit_all, &audit_own,
	     "or(eq(actor.account.id,ACC-2222-2222),eq(event,x))&limit=5&offset=2");
	assert_int_equal(b.q.nparams, 2);

	assert_int_equal(at_list_params(&b.plan, &b.q, false, p), 3);
	assert_str_param(&p[0], "ACC-1111-1111");
	assert_str_param(&p[1], "ACC-2222-2222");
	assert_str_param(&p[2], "x");

	assert_int_equal(at_list_params(&b.plan, &b.q, true, p), 5);
	assert_str_param(&p[0], "ACC-1111-1111");
	assert_int_param(&p[3], 5);
	assert_int_param(&p[4], 2);
	at_rql_release(&b.q);
}

/* Operations: no scope, the filter's values come first. */
static void test_operations_bind_only_the_filter(void **state)
{
	struct at_db_param p[16];
	struct bound b;

	(void)state;
	bind(&b, AT_ACCOUNT_OPERATIONS, "ACC-0000-0001", &at_rql_tokens, &token_all, &token_own,
	     "eq(name,abc)");
	assert_int_equal(at_list_params(&b.plan, &b.q, true, p), 3);
	assert_str_param(&p[0], "abc");
	assert_int_param(&p[1], AT_RQL_LIMIT_DEFAULT);
	assert_int_param(&p[2], 0);
	at_rql_release(&b.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_operations_read_every_account),
		cmocka_unit_test(test_others_read_their_own_account),
		cmocka_unit_test(test_scope_comes_before_the_filter),
		cmocka_unit_test(test_operations_bind_only_the_filter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
