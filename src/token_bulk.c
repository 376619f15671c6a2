/* token_bulk.c: enable, disable or delete many tokens in one call.
 *
 * The tokens a call names are read first, confined as a list confines
 * its caller; then one transaction locks them in id order and runs the
 * single change's rules (at_token_set_state_in) on each, so a change
 * here and one through …/{id} can never disagree.  The read comes before
 * the transaction because InnoDB fixes a REPEATABLE READ transaction's
 * view at its first plain read: read inside, before the locks, it would
 * show every token as it was before them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "confine.h"
#include "rql.h"
#include "token_bulk.h"

static const struct {
	const char *name;
	enum at_token_state_change change;
} actions[] = {
	{ "enable", AT_TOKEN_ENABLE },
	{ "disable", AT_TOKEN_DISABLE },
	{ "delete", AT_TOKEN_DELETE },
};

#define NACTIONS (sizeof(actions) / sizeof(actions[0]))
/* the confinement, then a filter of AT_RQL_MAX_NODES values, then paging
 * or the id */
#define BULK_PARAMS (AT_RQL_MAX_NODES + 8)

/* ---- the body ------------------------------------------------------------ */

void at_token_bulk_body_init(struct at_token_bulk_body *b)
{
	memset(b, 0, sizeof(*b));
	at_rql_init(&b->filter);
}

void at_token_bulk_body_release(struct at_token_bulk_body *b)
{
	at_rql_release(&b->filter);
	free(b->ids);
	at_token_bulk_body_init(b);
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool check_action(const struct at_jv *doc, struct at_token_bulk_body *b,
			 struct at_problem *p)
{
	const struct at_jv *v = NULL;
	const char *s;
	size_t i;

	if (!at_jv_get(doc, "action", &v) || at_jv_type(v) == AT_JV_NULL) {
		at_problem_field(p, "action", "The action is required: enable, disable or delete.");
		return false;
	}
	if (!(s = at_jv_str(v, NULL))) {
		at_problem_field(p, "action", "The action must be a string: enable, disable or "
				 "delete.");
		return false;
	}
	for (i = 0; i < NACTIONS; i++) {
		if (!strcmp(s, actions[i].name)) {
			b->action = actions[i].change;
			b->action_name = actions[i].name;
			return true;
		}
	}
	at_problem_field(p, "action", "'%.40s' is not an action: enable, disable or delete.", s);
	return false;
}

static bool check_filter(const struct at_jv *v, struct at_token_bulk_body *b,
			 struct at_problem *p)
{
	const char *s = at_jv_str(v, NULL);
	enum at_err rc;

	if (!s) {
		at_problem_field(p, "filter", "The filter must be a string (RQL).");
		return false;
	}
	rc = at_rql_parse_filter(&b->filter, &at_rql_tokens, s);
	if (rc == AT_ERR_INVALID)
		at_problem_field(p, "filter", "%s", b->filter.error.message);
	else if (rc)
		at_problem_field(p, "filter", "The filter could not be read.");
	if (rc)
		return false;
	b->has_filter = true;
	return true;
}

/* 1 to AT_TOKEN_BULK_MAX token ids, sorted into b->ids; each listed once. */
static bool check_ids(const struct at_jv *v, struct at_token_bulk_body *b, struct at_problem *p)
{
	const char *s;
	size_t i, n;
	bool ok = true;

	if (at_jv_type(v) != AT_JV_ARRAY) {
		at_problem_field(p, "ids", "The ids must be a list of token ids (TKN-dddd-dddd).");
		return false;
	}
	n = at_jv_len(v);
	if (!n) {
		at_problem_field(p, "ids", "The ids must name at least one token.");
		return false;
	}
	if (n > AT_TOKEN_BULK_MAX) {
		at_problem_field(p, "ids", "A bulk action takes at most %d ids, not %zu.",
				 AT_TOKEN_BULK_MAX, n);
		return false;
	}
	b->ids = calloc(n, sizeof(*b->ids));
	if (!b->ids) {
		at_problem_field(p, "ids", "The ids could not be read.");
		return false;
	}
	for (i = 0; i < n; i++) {
		s = at_jv_str(at_jv_at(v, i), NULL);
		if (!s || !at_id_valid(s, "TKN", 2)) {
			at_problem_field(p, "ids", "Entry %zu is not a token id (TKN-dddd-dddd).", i);
			ok = false;
			continue;
		}
		at_strlcpy(b->ids[b->nids++], s, sizeof(*b->ids));
	}
	if (!ok)
		return false;
	qsort(b->ids, b->nids, sizeof(*b->ids), id_cmp);
	for (i = 1; i < b->nids; i++) {
		if (!strcmp(b->ids[i - 1], b->ids[i])) {
			at_problem_field(p, "ids", "%s is listed twice.", b->ids[i]);
			ok = false;
		}
	}
	return ok;
}

enum at_err at_token_bulk_body_check(const struct at_jv *doc, struct at_token_bulk_body *b,
				     struct at_problem *p)
{
	const struct at_jv *filter = NULL, *ids = NULL;
	bool ok, has_filter, has_ids;

	ok = check_action(doc, b, p);
	has_filter = at_jv_get(doc, "filter", &filter);
	has_ids = at_jv_get(doc, "ids", &ids);
	if (has_filter && has_ids) {
		at_problem_field(p, "filter", "Give either filter or ids, not both.");
		at_problem_field(p, "ids", "Give either filter or ids, not both.");
		return AT_ERR_INVALID;
	}
	if (!has_filter && !has_ids) {
		at_problem_field(p, "filter", "Name the tokens with filter (RQL) or with ids.");
		at_problem_field(p, "ids", "Name the tokens with filter (RQL) or with ids.");
		return AT_ERR_INVALID;
	}
	if (has_filter)
		ok = check_filter(filter, b, p) && ok;
	else
		ok = check_ids(ids, b, p) && ok;
	return ok ? AT_OK : AT_ERR_INVALID;
}

/* ---- the action ---------------------------------------------------------- */

void at_token_bulk_result_release(struct at_token_bulk_result *r)
{
	free(r->items);
	r->items = NULL;
	r->matched = r->changed = 0;
}

/* The statements of a token list (tokens.c), and the re-check of one
 * locked token under the same confinement. */
static const struct at_list_scope list_all = {
	AT_TPL_TOKEN_LIST, AT_TPL_TOKEN_COUNT, AT_STMT_TOKEN_TOTAL_ALL
};
static const struct at_list_scope list_own = {
	AT_TPL_TOKEN_LIST_ACCOUNT, AT_TPL_TOKEN_COUNT_ACCOUNT, AT_STMT_TOKEN_TOTAL_ACCOUNT
};
static const struct at_list_scope match_all = {
	AT_TPL_TOKEN_LIST, AT_TPL_TOKEN_BULK_MATCH, AT_STMT_TOKEN_TOTAL_ALL
};
static const struct at_list_scope match_own = {
	AT_TPL_TOKEN_LIST_ACCOUNT, AT_TPL_TOKEN_BULK_MATCH_ACCOUNT, AT_STMT_TOKEN_TOTAL_ACCOUNT
};

struct bulk_job {
	const struct at_dom *dom;
	const struct at_token_bulk_body *b;
	struct at_token_bulk_result *r;
	struct at_token_bulk_item **order;	/* by (account, id): the writes' order */
};

static void skip(struct at_token_bulk_item *it, const char *reason)
{
	it->changed = false;
	at_strlcpy(it->reason, reason, sizeof(it->reason));
}

/* The filter's tokens, at most AT_TOKEN_BULK_MAX + 1 of them, in id
 * order, through the list's statement and confinement. */
static enum at_err read_filtered(const struct at_dom *dom, const struct at_token_bulk_body *b,
				 struct at_token_bulk_result *r, bool *too_many)
{
	struct at_list_plan plan;
	struct at_db_param p[BULK_PARAMS], scope;
	struct at_rql_query q = b->filter;	/* paging of our own; where as parsed */
	struct at_db_rows rows;
	struct at_token *t;
	enum at_err rc;
	size_t n;
	bool more;

	*too_many = false;
	at_list_confine(dom->actor, &list_all, &list_own, &plan, &scope);
	if (plan.nscope + q.nparams + 2 > BULK_PARAMS)
		return AT_ERR_INTERNAL;
	q.limit = AT_TOKEN_BULK_MAX + 1;
	q.offset = 0;
	n = at_list_params(&plan, &q, true, p);
	r->items = calloc(AT_TOKEN_BULK_MAX + 1, sizeof(*r->items));
	t = malloc(sizeof(*t));
	if (!r->items || !t) {
		free(t);
		return AT_ERR_NOMEM;
	}
	rc = at_db_query_built(dom->db, plan.list_tpl, q.where.data, at_rql_tokens.id_sql, p, n,
			       &rows);
	if (rc)
		goto out;
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		struct at_token_bulk_item *it = &r->items[r->matched];

		if (r->matched == AT_TOKEN_BULK_MAX) {
			*too_many = true;
			break;
		}
		at_token_from_row(&rows, t);
		at_strlcpy(it->id, t->id, sizeof(it->id));
		at_strlcpy(it->account_id, t->account.id, sizeof(it->account_id));
		r->matched++;
	}
	at_db_rows_release(&rows);
out:
	free(t);
	return rc;
}

/* The count statement of the filter's plan over all or own (by the
 * actor's confinement); id (NULL: none) is bound after the filter's
 * parameters. */
static enum at_err filter_count(const struct at_dom *dom, const struct at_token_bulk_body *b,
				const struct at_list_scope *all, const struct at_list_scope *own,
				const char *id, long long *count)
{
	struct at_list_plan plan;
	struct at_db_param p[BULK_PARAMS], scope;
	struct at_db_rows rows;
	enum at_err rc;
	size_t n;
	bool more;

	at_list_confine(dom->actor, all, own, &plan, &scope);
	n = at_list_params(&plan, &b->filter, false, p);
	if (id)
		p[n++] = AT_DB_P_STR(id);
	if ((rc = at_db_query_built(dom->db, plan.count_tpl, b->filter.where.data, NULL, p, n,
				    &rows)))
		return rc;
	rc = at_db_rows_next(&rows, &more);
	*count = !rc && more ? at_db_rows_int(&rows, 0) : 0;
	at_db_rows_release(&rows);
	return rc;
}

/* How many tokens the filter matches, with the list's count. */
static enum at_err count_filtered(const struct at_dom *dom, const struct at_token_bulk_body *b,
				  long long *total)
{
	return filter_count(dom, b, &list_all, &list_own, NULL, total);
}

/* The ids the actor may see (at_token_visible, as a GET of each would);
 * the others are skipped as not found, and never locked. */
static enum at_err read_ids(const struct at_dom *dom, const struct at_token_bulk_body *b,
			    struct at_token_bulk_result *r)
{
	enum at_err rc;
	size_t i;

	r->items = calloc(b->nids, sizeof(*r->items));
	if (!r->items)
		return AT_ERR_NOMEM;
	for (i = 0; i < b->nids; i++) {
		struct at_token_bulk_item *it = &r->items[i];

		at_strlcpy(it->id, b->ids[i], sizeof(it->id));
		rc = at_token_visible(dom, it->id, it->account_id);
		if (rc == AT_ERR_NOT_FOUND) {
			it->account_id[0] = '\0';
			skip(it, "not found");
		} else if (rc) {
			return rc;
		}
		r->matched++;
	}
	return AT_OK;
}

/* Is the locked token it still one the filter matches? */
static enum at_err still_matched(const struct at_dom *dom, const struct at_token_bulk_body *b,
				 const struct at_token_bulk_item *it, bool *yes)
{
	long long n = 0;
	enum at_err rc;

	rc = filter_count(dom, b, &match_all, &match_own, it->id, &n);
	*yes = !rc && n > 0;
	return rc;
}

static enum at_err bulk_tx(void *arg)
{
	struct bulk_job *j = arg;
	const struct at_dom *dom = j->dom;
	struct at_token_bulk_result *r = j->r;
	struct at_token_bulk_item *it;
	struct at_db_param p;
	enum at_err rc;
	size_t i;
	bool yes;

	/* a deadlock runs this again from the start */
	r->changed = 0;
	for (i = 0; i < r->matched; i++)
		if (r->items[i].account_id[0])
			skip(&r->items[i], "");
	/* every lock first, in id order: two bulk actions, or one and a
	 * single change, then wait for each other instead of deadlocking;
	 * nothing is read before them, so what follows sees their rows as
	 * they are now */
	for (i = 0; i < r->matched; i++) {
		if (!r->items[i].account_id[0])
			continue;
		p = AT_DB_P_STR(r->items[i].id);
		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_LOCK, &p, 1, NULL)))
			return at_dom_db_failed(dom, rc);
	}
	/* the writes by account, so that the audit chain heads, too, are
	 * locked in one order */
	for (i = 0; i < r->matched; i++) {
		it = j->order[i];
		if (!it->account_id[0])
			continue;
		if (j->b->has_filter) {
			if ((rc = still_matched(dom, j->b, it, &yes)))
				return at_dom_db_failed(dom, rc);
			if (!yes) {
				skip(it, "no longer matches the filter");
				continue;
			}
		}
		rc = at_token_set_state_in(dom, it->id, j->b->action);
		if (!rc) {
			it->changed = true;
			r->changed++;
		} else if (rc == AT_ERR_NOT_FOUND) {
			skip(it, "not found");
		} else if (rc == AT_ERR_CONFLICT) {
			skip(it, dom->problem->detail[0] ? dom->problem->detail : "conflict");
		} else {
			return rc;
		}
	}
	at_problem_clear(dom->problem);
	return AT_OK;
}

static int by_account(const void *a, const void *b)
{
	const struct at_token_bulk_item *x = *(struct at_token_bulk_item *const *)a;
	const struct at_token_bulk_item *y = *(struct at_token_bulk_item *const *)b;
	int c = strcmp(x->account_id, y->account_id);

	return c ? c : strcmp(x->id, y->id);
}

enum at_err at_token_bulk(const struct at_dom *dom, const struct at_token_bulk_body *b,
			  struct at_token_bulk_result *r)
{
	struct bulk_job j = { dom, b, r, NULL };
	long long total = 0;
	bool too_many = false;
	enum at_err rc;
	size_t i;

	memset(r, 0, sizeof(*r));
	at_problem_clear(dom->problem);
	if (b->has_filter)
		rc = read_filtered(dom, b, r, &too_many);
	else
		rc = read_ids(dom, b, r);
	if (rc)
		return at_dom_db_failed(dom, rc);
	if (too_many) {
		if ((rc = count_filtered(dom, b, &total)))
			return at_dom_db_failed(dom, rc);
		if (total <= AT_TOKEN_BULK_MAX)
			total = AT_TOKEN_BULK_MAX + 1;	/* grown since: at least this */
		at_problem_detail(dom->problem, "%lld tokens match; a bulk action takes at "
				  "most %d.", total, AT_TOKEN_BULK_MAX);
		at_problem_ext_int(dom->problem, "matched", total);
		return AT_ERR_CONFLICT;
	}
	j.order = malloc((r->matched ? r->matched : 1) * sizeof(*j.order));
	if (!j.order)
		return AT_ERR_NOMEM;
	for (i = 0; i < r->matched; i++)
		j.order[i] = &r->items[i];
	qsort(j.order, r->matched, sizeof(*j.order), by_account);
	rc = at_db_transact(dom->db, bulk_tx, &j);
	free(j.order);
	return at_dom_db_failed(dom, rc);
}
