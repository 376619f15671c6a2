/* token_bulk.h: one state change (enable, disable, delete) of many tokens
 * at once, named by an RQL filter or by their ids.
 *
 * The body check needs no database; the action (token_bulk.c) runs the
 * single change's rules (at_token_set_state_in) on each token in one
 * transaction, with one audit record per changed token, and confines the
 * caller exactly as a token list does (at_list_confine).
 */
#ifndef AT_TOKEN_BULK_H
#define AT_TOKEN_BULK_H

#include <stdbool.h>
#include <stddef.h>

#include "rql.h"
#include "token_store.h"

#define AT_TOKEN_BULK_MAX 1000		/* tokens a call may change */
#define AT_TOKEN_BULK_REASON_MAX 160

/* A checked body: {"action", "filter"} or {"action", "ids"}. */
struct at_token_bulk_body {
	enum at_token_state_change action;
	const char *action_name;	/* "enable", "disable", "delete" (static) */
	bool has_filter;
	struct at_rql_query filter;	/* at_rql_parse_filter's where and params */
	char (*ids)[AT_TOKEN_ID_LEN + 1];	/* sorted, distinct; owned */
	size_t nids;
};

void at_token_bulk_body_init(struct at_token_bulk_body *b);
/* doc (an object, from at_token_body_parse) into b: action one of the
 * three; exactly one of filter (RQL text, as a list's query takes it,
 * without select, order or limit) and ids (1 to AT_TOKEN_BULK_MAX token
 * ids, none twice).  AT_OK, or AT_ERR_INVALID with every field error in
 * p.  b must come from at_token_bulk_body_init; release it either way. */
AT_MUST_CHECK enum at_err at_token_bulk_body_check(const struct at_jv *doc,
						   struct at_token_bulk_body *b,
						   struct at_problem *p);
void at_token_bulk_body_release(struct at_token_bulk_body *b);

/* One token the call matched: changed, or skipped for reason. */
struct at_token_bulk_item {
	char id[AT_TOKEN_ID_LEN + 1];
	char account_id[AT_ID_MAX];	/* "" for an id nobody may see */
	bool changed;
	char reason[AT_TOKEN_BULK_REASON_MAX];
};

struct at_token_bulk_result {
	struct at_token_bulk_item *items;	/* in id order; owned */
	size_t matched;				/* items */
	size_t changed;
};

void at_token_bulk_result_release(struct at_token_bulk_result *r);

/* Apply b as dom->actor: the matching tokens (at most AT_TOKEN_BULK_MAX,
 * else AT_ERR_CONFLICT with the count in dom->problem and nothing
 * changed) are locked in id order and changed in one transaction; a
 * token the rules refuse, or that the actor may not see, is skipped with
 * its reason.  r is filled on AT_OK; release it either way. */
AT_MUST_CHECK enum at_err at_token_bulk(const struct at_dom *dom,
					const struct at_token_bulk_body *b,
					struct at_token_bulk_result *r);

#endif
