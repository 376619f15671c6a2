/* token_usage.c: the last client addresses a token was used from.
 *
 * Written after the answer of a request that succeeded, so that a slow
 * write never delays it, and coalesced: a verify a millisecond must not
 * become a write a millisecond.  Each process remembers when it last
 * wrote each (token, address) in a fixed table, one slot per hash, so
 * memory stays bounded whatever the traffic; a slot taken over by
 * another pair only costs that pair one more write, which the
 * statement's own condition (a minute since last_seen_at) turns into
 * no change for the pairs other processes wrote.
 */
#include <pthread.h>
#include <string.h>

#include "ipnet.h"
#include "log.h"
#include "token_store.h"

#define SLOTS 1024		/* a power of two */
#define COALESCE_MS (60 * 1000)

struct slot {
	char token[AT_TOKEN_ID_LEN + 1];
	char ip[AT_TOKEN_IP_MAX];
	int64_t written_ms;
};

static struct slot slots[SLOTS];
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a: spreads ids and addresses; who picks addresses gains nothing
 * from a collision but a write */
static size_t slot_of(const char *token, const char *ip)
{
	uint32_t h = 2166136261u;
	const char *s;

	for (s = token; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ '|') * 16777619u;
	for (s = ip; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h & (SLOTS - 1);
}

/* Whether the pair is due a write at now_ms; if so it counts as written. */
static bool due(const char *token, const char *ip, int64_t now_ms)
{
	struct slot *s = &slots[slot_of(token, ip)];
	bool write = true;

	pthread_mutex_lock(&slots_lock);
	if (!strcmp(s->token, token) && !strcmp(s->ip, ip) &&
	    now_ms - s->written_ms < COALESCE_MS && now_ms >= s->written_ms)
		write = false;
	if (write) {
		at_strlcpy(s->token, token, sizeof(s->token));
		at_strlcpy(s->ip, ip, sizeof(s->ip));
		s->written_ms = now_ms;
	}
	pthread_mutex_unlock(&slots_lock);
	return write;
}

void at_token_usage_forget(void)
{
	pthread_mutex_lock(&slots_lock);
	memset(slots, 0, sizeof(slots));
	pthread_mutex_unlock(&slots_lock);
}

void at_token_usage_note(struct at_db *db, const char *token_id, const char *ip,
			 int64_t now_ms)
{
	char canon[AT_IPNET_TEXT];
	struct at_ipnet a;
	uint64_t affected = 0;

	/* an address in one spelling ("::ffff:10.0.0.1" is 10.0.0.1), and
	 * nothing for what is none (a Unix socket's "unix:") */
	if (!token_id || !*token_id || !ip || at_ipaddr_parse(ip, &a))
		return;
	at_ipnet_format(&a, canon);
	if (!due(token_id, canon, now_ms))
		return;
	{
		struct at_db_param p[] = { AT_DB_P_STR(token_id), AT_DB_P_STR(canon) };

		if (at_db_exec(db, AT_STMT_USAGE_TOUCH, p, 2, &affected))
			goto fail;
	}
	/* a new address: the oldest beyond the newest ten go */
	if (affected == 1) {
		struct at_db_param p[] = { AT_DB_P_STR(token_id), AT_DB_P_STR(token_id) };

		if (at_db_exec(db, AT_STMT_USAGE_PRUNE, p, 2, NULL))
			goto fail;
	}
	return;
fail:
	at_log_warn("usage of %s: %s", token_id, at_db_error(db));
}

enum at_err at_token_read_usage(const struct at_dom *dom, struct at_token *t)
{
	struct at_db_param p = AT_DB_P_STR(t->id);
	struct at_db_rows rows;
	struct at_token_usage *u;
	const char *v;
	enum at_err rc;
	bool more;

	t->nusage = 0;
	if ((rc = at_db_query(dom->db, AT_STMT_USAGE_LIST, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		if (t->nusage == AT_TOKEN_USAGE_MAX)
			continue;
		u = &t->usage[t->nusage++];
		v = at_db_rows_str(&rows, 0, NULL);
		at_strlcpy(u->ip, v ? v : "", sizeof(u->ip));
		v = at_db_rows_str(&rows, 1, NULL);
		at_strlcpy(u->first_seen, v ? v : "", sizeof(u->first_seen));
		v = at_db_rows_str(&rows, 2, NULL);
		at_strlcpy(u->last_seen, v ? v : "", sizeof(u->last_seen));
	}
	at_db_rows_release(&rows);
	if (rc)
		t->nusage = 0;
	return at_dom_db_failed(dom, rc);
}
