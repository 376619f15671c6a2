/* audit_chain.c: the audit trail's rules: the canonical content of a
 * record, the keyed hash chain per account, appending, verifying every
 * chain, and what a record from outside may be.  No HTTP here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "text.h"

#define ID_TRIES 8

/* ---- the chain ------------------------------------------------------------ */

/* One field of the canonical content (audit.h). */
static enum at_err canon_field(struct at_buf *b, const char *s)
{
	unsigned char len[4];
	size_t n;

	if (!s) {
		memset(len, 0xFF, sizeof(len));
		return at_buf_append(b, len, sizeof(len));
	}
	n = strlen(s);
	len[0] = (unsigned char)(n >> 24);
	len[1] = (unsigned char)(n >> 16);
	len[2] = (unsigned char)(n >> 8);
	len[3] = (unsigned char)n;
	if (at_buf_append(b, len, sizeof(len)))
		return AT_ERR_TOO_LARGE;
	return at_buf_append(b, s, n);
}

enum at_err at_audit_canon_text(struct at_buf *b, const struct at_audit_canon *c)
{
	enum at_err rc = AT_OK;
	unsigned i;

	for (i = 0; i <= AC_DOCUMENTS && !rc; i++)
		rc = canon_field(b, c->f[i]);
	return rc;
}

enum at_err at_audit_canon_hash(const struct at_keys *keys, const struct at_audit_canon *c,
				const unsigned char *prev, unsigned char *out)
{
	struct at_buf b;
	enum at_err rc;

	at_buf_init(&b, 64u << 20);
	rc = at_audit_canon_text(&b, c);
	if (!rc)
		at_audit_hash(keys, b.data, b.len, prev, out);
	at_buf_release(&b);
	return rc;
}

/* Milliseconds since the epoch of a DATETIME(3) text, -1 if not one. */
static long long db_time_ms(const char *s)
{
	struct tm tm = { 0 };
	int ms = 0;

	if (!s || sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

/* The record's time as DATETIME(3) and ISO text: now, or a millisecond
 * after the chain's newest record when the clock is not past it, so
 * that a chain's timestamps always grow with its sequence. */
static void record_times(const char *last, char *db, size_t dn, char *iso, size_t in)
{
	long long now_ms, last_ms = db_time_ms(last);
	struct timespec ts;
	struct tm tm;
	time_t secs;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (last_ms >= now_ms)
		now_ms = last_ms + 1;
	secs = (time_t)(now_ms / 1000);
	gmtime_r(&secs, &tm);
	len = strftime(db, dn, "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(db + len, dn - len, ".%03d", (int)(now_ms % 1000));
	at_time_iso(db, iso, in);
}

enum at_err at_audit_append(struct at_db *db, const struct at_keys *keys,
			    const struct at_audit_record *r, char *id)
{
	static const unsigned char zero[AT_HASH_LEN];
	unsigned char prev[AT_HASH_LEN], hash[AT_HASH_LEN];
	char ts[32], iso[32], seqs[24], revs[24], ua[AT_AUDIT_USER_AGENT_CHARS * 4 + 1];
	struct at_db_param p[21], hp[4];
	struct at_db_rows rows;
	const char *h;
	struct at_audit_canon c;
	long long seq = 0;
	size_t hlen = 0;
	bool found = false;
	enum at_err rc;
	unsigned tries;

	/* lock the chain head: writers in one account queue up here */
	hp[0] = AT_DB_P_STR(r->account_id);
	hp[1] = AT_DB_P_BLOB(zero, sizeof(zero));
	if ((rc = at_db_exec(db, AT_STMT_AUDIT_HEAD_ENSURE, hp, 2, NULL)) ||
	    (rc = at_db_query(db, AT_STMT_AUDIT_HEAD_LOCK, hp, 1, &rows)))
		return rc;
	if (!(rc = at_db_rows_next(&rows, &found)) && found) {
		seq = at_db_rows_int(&rows, 0);
		h = at_db_rows_str(&rows, 1, &hlen);
		if (!h || hlen != AT_HASH_LEN)
			rc = AT_ERR_DB;
		else
			memcpy(prev, h, AT_HASH_LEN);
		record_times(at_db_rows_str(&rows, 2, NULL), ts, sizeof(ts), iso, sizeof(iso));
	} else if (!rc) {
		rc = AT_ERR_DB;
	}
	at_db_rows_release(&rows);
	if (rc)
		return rc;
	seq++;
	snprintf(seqs, sizeof(seqs), "%lld", seq);
	snprintf(revs, sizeof(revs), "%lld", r->object_revision);
	/* a header's bytes: anything, the column takes UTF-8 only */
	at_utf8_sanitize(r->user_agent, AT_AUDIT_USER_AGENT_CHARS, ua, sizeof(ua));

	rc = AT_ERR_DUPLICATE;
	for (tries = 0; tries < ID_TRIES && rc == AT_ERR_DUPLICATE; tries++) {
		at_id_make(id, AT_AUDIT_ID_LEN + 1, "AUD", 4);
		c = (struct at_audit_canon){ .f = {
			[AC_ID] = id, [AC_ACCOUNT_ID] = r->account_id, [AC_SEQ] = seqs,
			[AC_EVENT] = r->event, [AC_TIMESTAMP] = iso, [AC_SUMMARY] = r->summary,
			[AC_DETAILS] = r->details, [AC_OBJECT_ID] = r->object_id,
			[AC_OBJECT_NAME] = r->object_name, [AC_OBJECT_TYPE] = r->object_type,
			[AC_OBJECT_REVISION] = r->object_revision < 0 ? NULL : revs,
			[AC_ACTOR_ID] = r->actor_id, [AC_ACTOR_NAME] = r->actor_name,
			[AC_ACTOR_ACCOUNT_ID] = r->actor_account_id,
			[AC_ACTOR_ACCOUNT_NAME] = r->actor_account_name, [AC_IP] = r->ip,
			[AC_USER_AGENT] = r->user_agent ? ua : NULL,
			[AC_REQUEST_ID] = r->request_id, [AC_DOCUMENTS] = r->documents,
		} };
		if ((rc = at_audit_canon_hash(keys, &c, prev, hash)))
			return rc;
		p[0] = AT_DB_P_STR(id);
		p[1] = AT_DB_P_STR(r->account_id);
		p[2] = AT_DB_P_INT(seq);
		p[3] = AT_DB_P_STR(r->event);
		p[4] = AT_DB_P_STR(ts);
		p[5] = AT_DB_P_STR(r->summary);
		p[6] = AT_DB_P_OPT(r->details);
		p[7] = AT_DB_P_STR(r->object_id);
		p[8] = AT_DB_P_OPT(r->object_name);
		p[9] = AT_DB_P_OPT(r->object_type);
		p[10] = r->object_revision < 0 ? AT_DB_P_NULL() : AT_DB_P_INT(r->object_revision);
		p[11] = AT_DB_P_STR(r->actor_id);
		p[12] = AT_DB_P_STR(r->actor_name);
		p[13] = AT_DB_P_STR(r->actor_account_id);
		p[14] = AT_DB_P_STR(r->actor_account_name);
		p[15] = AT_DB_P_OPT(r->ip);
		p[16] = r->user_agent ? AT_DB_P_STR(ua) : AT_DB_P_NULL();
		p[17] = AT_DB_P_OPT(r->request_id);
		p[18] = AT_DB_P_OPT(r->documents);
		p[19] = AT_DB_P_BLOB(prev, sizeof(prev));
		p[20] = AT_DB_P_BLOB(hash, sizeof(hash));
		rc = at_db_exec(db, AT_STMT_AUDIT_INSERT, p, 21, NULL);
	}
	if (rc)
		return rc;
	hp[0] = AT_DB_P_INT(seq);
	hp[1] = AT_DB_P_BLOB(hash, sizeof(hash));
	hp[2] = AT_DB_P_STR(ts);
	hp[3] = AT_DB_P_STR(r->account_id);
	return at_db_exec(db, AT_STMT_AUDIT_HEAD_SET, hp, 4, NULL);
}

/* The canonical content of a stored record, for verification. */
static void canon_from_row(const struct at_db_rows *rows, struct at_audit_canon *c, char *iso, size_t n)
{
	unsigned i;

	for (i = 0; i <= AC_DOCUMENTS; i++)
		c->f[i] = at_db_rows_str(rows, i, NULL);
	if (c->f[AC_TIMESTAMP] && at_time_iso(c->f[AC_TIMESTAMP], iso, n))
		c->f[AC_TIMESTAMP] = iso;
}

/* Walk one account's chain; returns AT_OK with *bad set on the first
 * broken record. */
static enum at_err verify_chain(struct at_db *db, const struct at_keys *keys,
				const char *account, long long head_seq,
				const unsigned char *head_hash, FILE *report, bool *bad)
{
	unsigned char prev[AT_HASH_LEN] = { 0 }, want[AT_HASH_LEN];
	const char *stored, *linked, *rid;
	char iso[32], rec_id[AT_AUDIT_ID_LEN + 1] = "";
	struct at_db_rows rows;
	struct at_audit_canon c;
	long long seq = 0, s;
	size_t slen, llen;
	enum at_err rc;
	bool more, any;

	*bad = false;
	do {
		struct at_db_param p[] = { AT_DB_P_STR(account), AT_DB_P_INT(seq) };

		any = false;
		if ((rc = at_db_query(db, AT_STMT_AUDIT_CHAIN_PAGE, p, 2, &rows)))
			return rc;
		while (!*bad && !(rc = at_db_rows_next(&rows, &more)) && more) {
			any = true;
			rid = at_db_rows_str(&rows, AC_ID, NULL);
			at_strlcpy(rec_id, rid ? rid : "?", sizeof(rec_id));
			s = at_db_rows_int(&rows, AC_SEQ);
			stored = at_db_rows_str(&rows, AC_HASH, &slen);
			linked = at_db_rows_str(&rows, AC_PREV_HASH, &llen);
			if (s != seq + 1) {
				fprintf(report, "account %s: BROKEN at record %s: seq %lld follows "
					"%lld (a record is missing)\n", account, rec_id, s, seq);
				*bad = true;
				break;
			}
			if (!linked || llen != AT_HASH_LEN || memcmp(linked, prev, AT_HASH_LEN)) {
				fprintf(report, "account %s: BROKEN at record %s (seq %lld): it does "
					"not link to the record before it\n", account, rec_id, s);
				*bad = true;
				break;
			}
			canon_from_row(&rows, &c, iso, sizeof(iso));
			if ((rc = at_audit_canon_hash(keys, &c, prev, want)))
				break;
			if (!stored || slen != AT_HASH_LEN || !at_hash_equal(want, (const unsigned char *)stored)) {
				fprintf(report, "account %s: BROKEN at record %s (seq %lld): its "
					"content does not match its hash\n", account, rec_id, s);
				*bad = true;
				break;
			}
			memcpy(prev, stored, AT_HASH_LEN);
			seq = s;
		}
		at_db_rows_release(&rows);
		if (rc)
			return rc;
	} while (any && !*bad);
	if (*bad)
		return AT_OK;
	if (seq != head_seq || (seq && memcmp(prev, head_hash, AT_HASH_LEN))) {
		fprintf(report, "account %s: BROKEN at the head: it names seq %lld, the chain "
			"ends at %lld%s%s\n", account, head_seq, seq, rec_id[0] ? " (record " : "",
			rec_id[0] ? rec_id : "");
		if (rec_id[0])
			fputs(")\n", report);
		*bad = true;
		return AT_OK;
	}
	fprintf(report, "account %s: %lld record%s, chain intact\n", account, seq,
		seq == 1 ? "" : "s");
	return AT_OK;
}

enum at_err at_audit_verify(struct at_db *db, const struct at_keys *keys, FILE *report,
			    unsigned *broken)
{
	struct chain {
		char account[AT_ID_MAX];
		long long seq;
		unsigned char hash[AT_HASH_LEN];
	} *chains = NULL, *tmp;
	size_t n = 0, cap = 0, i, hlen;
	struct at_db_rows rows;
	const char *h, *acc;
	enum at_err rc;
	bool more, bad;

	*broken = 0;
	/* read the heads first: the chain walks need the connection */
	if ((rc = at_db_query(db, AT_STMT_AUDIT_CHAINS, NULL, 0, &rows)))
		return rc;
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			tmp = realloc(chains, cap * sizeof(*chains));
			if (!tmp) {
				rc = AT_ERR_NOMEM;
				break;
			}
			chains = tmp;
		}
		acc = at_db_rows_str(&rows, 0, NULL);
		h = at_db_rows_str(&rows, 2, &hlen);
		at_strlcpy(chains[n].account, acc ? acc : "", sizeof(chains[n].account));
		chains[n].seq = at_db_rows_int(&rows, 1);
		memset(chains[n].hash, 0, AT_HASH_LEN);
		if (h && hlen == AT_HASH_LEN)
			memcpy(chains[n].hash, h, AT_HASH_LEN);
		n++;
	}
	at_db_rows_release(&rows);
	for (i = 0; !rc && i < n; i++) {
		rc = verify_chain(db, keys, chains[i].account, chains[i].seq, chains[i].hash,
				  report, &bad);
		if (!rc && bad)
			(*broken)++;
	}
	free(chains);
	return rc;
}

void at_audit_actor_dom(struct at_audit_record *r, const struct at_dom *d)
{
	r->actor_id = d->actor->id;
	r->actor_name = d->actor->name;
	r->actor_account_id = d->actor->account_id;
	r->actor_account_name = d->actor->account_name;
	r->ip = d->origin.ip;
	r->user_agent = d->origin.user_agent;
	r->request_id = d->origin.request_id;
}

/* ---- records from outside: extensions ------------------------------------ */

bool at_audit_event_key_valid(const char *s)
{
	const char *p;
	int parts = 0;

	if (strncmp(s, "extensions.", 11) || strlen(s) > 255)
		return false;
	/* extensions.<name>.<event...>: lower-case words of [a-z0-9-_] */
	for (p = s + 11; *p; p++) {
		if (*p == '.') {
			if (p[-1] == '.' || !p[1])
				return false;
			parts++;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
			     *p == '_')) {
			return false;
		}
	}
	return parts >= 1 && s[11] != '.';
}

enum at_err at_audit_may_post(const struct at_dom *d)
{
	if (d->actor->account_type != AT_ACCOUNT_CLIENT)
		return AT_OK;
	at_problem_detail(d->problem, "Only Vendor and Operations accounts may add audit "
			  "records.");
	return AT_ERR_FORBIDDEN;
}

bool at_audit_post_valid(const struct at_dom *d, const struct at_audit_post *p)
{
	if (p->event && !at_audit_event_key_valid(p->event)) {
		at_problem_field(d->problem, "event",
				 "Records from outside take keys extensions.<name>.<event>.");
		return false;
	}
	return true;
}

struct post_job {
	const struct at_dom *d;
	struct at_audit_record r;
	char *id;
};

static enum at_err post_tx(void *arg)
{
	struct post_job *j = arg;

	return at_audit_append(j->d->db, j->d->keys, &j->r, j->id);
}

void at_audit_post_record(const struct at_dom *d, const struct at_audit_post *p,
			  struct at_audit_record *r)
{
	*r = (struct at_audit_record){
		.event = p->event,
		.summary = p->summary,
		.details = p->details,
		/* about the caller's own account, in its chain */
		.account_id = d->actor->account_id,
		.object_id = p->object_id,
		.object_name = p->object_name,
		.object_type = p->object_type,
		.object_revision = -1,
		.documents = p->documents,
	};
	at_audit_actor_dom(r, d);
}

enum at_err at_audit_post(const struct at_dom *d, const struct at_audit_post *p, char *id)
{
	struct post_job j = { .d = d, .id = id };
	enum at_err rc;

	if ((rc = at_audit_may_post(d)))
		return rc;
	if (!p->event || !p->summary || !p->object_id || !at_audit_post_valid(d, p))
		return AT_ERR_INVALID;
	at_audit_post_record(d, p, &j.r);
	return at_db_transact(d->db, post_tx, &j);
}
