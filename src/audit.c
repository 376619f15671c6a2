/* audit.c: the audit trail: writing, chaining, verifying, reading. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "buf.h"
#include "db_columns.h"
#include "handlers.h"
#include "json.h"
#include "list.h"
#include "log.h"
#include "rql.h"
#include "text.h"

#define ID_TRIES 8

/* ---- the chain ------------------------------------------------------------ */

/* Canonical content: every field in a fixed order, each as a 4-byte
 * big-endian length and its bytes, NULL as the length 0xFFFFFFFF.  The
 * timestamp in its ISO form, so that the database's text for a DATETIME
 * does not matter. */
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

struct canon {
	const char *f[AC_DOCUMENTS + 1];	/* every column before the hashes */
};

static enum at_err canon_hash(const struct at_keys *keys, const struct canon *c,
			      const unsigned char *prev, unsigned char *out)
{
	struct at_buf b;
	enum at_err rc = AT_OK;
	unsigned i;

	at_buf_init(&b, 64u << 20);
	for (i = 0; i <= AC_DOCUMENTS && !rc; i++)
		rc = canon_field(&b, c->f[i]);
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
	struct canon c;
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
		c = (struct canon){ .f = {
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
		if ((rc = canon_hash(keys, &c, prev, hash)))
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
		p[9] = AT_DB_P_STR(r->object_type);
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
static void canon_from_row(const struct at_db_rows *rows, struct canon *c, char *iso, size_t n)
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
	struct canon c;
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
			if ((rc = canon_hash(keys, &c, prev, want)))
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

/* ---- reading -------------------------------------------------------------- */

static enum at_err add_opt(struct json_object *obj, const char *key, const char *s)
{
	return s && *s ? at_json_add_str(obj, key, s) : AT_OK;
}

/* The record as SPEC §9 shows it; documents only when asked for. */
static enum at_err render_record(const struct at_db_rows *rows, bool documents,
				 struct json_object **out)
{
	struct json_object *obj, *o, *a, *acc, *req, *api, *log, *docs;
	const char *ts = at_db_rows_str(rows, AC_TIMESTAMP, NULL), *d;
	char iso[32];
	enum at_err rc;

	*out = obj = json_object_new_object();
	if (!obj)
		return AT_ERR_NOMEM;
	if ((rc = at_json_add_str(obj, "id", at_db_rows_str(rows, AC_ID, NULL))) ||
	    (rc = at_json_add_str(obj, "event", at_db_rows_str(rows, AC_EVENT, NULL))) ||
	    (ts && at_time_iso(ts, iso, sizeof(iso)) &&
	     (rc = at_json_add_str(obj, "timestamp", iso))) ||
	    (rc = add_opt(obj, "summary", at_db_rows_str(rows, AC_SUMMARY, NULL))) ||
	    (rc = add_opt(obj, "details", at_db_rows_str(rows, AC_DETAILS, NULL))))
		goto fail;
	o = json_object_new_object();
	if ((rc = at_json_add(obj, "object", o)) ||
	    (rc = add_opt(o, "id", at_db_rows_str(rows, AC_OBJECT_ID, NULL))) ||
	    (rc = add_opt(o, "name", at_db_rows_str(rows, AC_OBJECT_NAME, NULL))) ||
	    (rc = add_opt(o, "objectType", at_db_rows_str(rows, AC_OBJECT_TYPE, NULL))))
		goto fail;
	if (at_db_rows_str(rows, AC_OBJECT_REVISION, NULL) &&
	    (rc = at_json_add_int(o, "revision", at_db_rows_int(rows, AC_OBJECT_REVISION))))
		goto fail;
	a = json_object_new_object();
	acc = json_object_new_object();
	if ((rc = at_json_add(obj, "actor", a))) {
		json_object_put(acc);
		goto fail;
	}
	if ((rc = add_opt(a, "id", at_db_rows_str(rows, AC_ACTOR_ID, NULL))) ||
	    (rc = add_opt(a, "name", at_db_rows_str(rows, AC_ACTOR_NAME, NULL))) ||
	    (rc = at_json_add(a, "account", acc)) ||
	    (rc = add_opt(acc, "id", at_db_rows_str(rows, AC_ACTOR_ACCOUNT_ID, NULL))) ||
	    (rc = add_opt(acc, "name", at_db_rows_str(rows, AC_ACTOR_ACCOUNT_NAME, NULL))))
		goto fail;
	req = json_object_new_object();
	api = json_object_new_object();
	log = json_object_new_object();
	if ((rc = at_json_add(obj, "request", req))) {
		json_object_put(api);
		json_object_put(log);
		goto fail;
	}
	if ((rc = at_json_add(req, "api", api))) {
		json_object_put(log);
		goto fail;
	}
	if ((rc = at_json_add(req, "log", log)) ||
	    (rc = add_opt(api, "ip", at_db_rows_str(rows, AC_IP, NULL))) ||
	    (rc = add_opt(api, "userAgent", at_db_rows_str(rows, AC_USER_AGENT, NULL))) ||
	    (rc = add_opt(log, "requestId", at_db_rows_str(rows, AC_REQUEST_ID, NULL))))
		goto fail;
	d = at_db_rows_str(rows, AC_DOCUMENTS, NULL);
	if (documents && d) {
		docs = json_tokener_parse(d);
		if (docs && (rc = at_json_add(obj, "documents", docs)))
			goto fail;
	}
	return AT_OK;
fail:
	json_object_put(obj);
	*out = NULL;
	return rc;
}

/* {{a.b.c}}: the value at that path of the record, as text. */
static const char *lookup_path(struct json_object *root, const char *path, size_t len,
			       char *tmp, size_t tlen)
{
	struct json_object *cur = root, *next;
	char key[64];
	size_t seg;

	while (len) {
		seg = 0;
		while (seg < len && path[seg] != '.')
			seg++;
		if (seg == 0 || seg >= sizeof(key) || !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(key, path, seg);
		key[seg] = '\0';
		if (!json_object_object_get_ex(cur, key, &next))
			return NULL;
		cur = next;
		path += seg;
		len -= seg;
		if (len) {
			path++;
			len--;
		}
	}
	if (json_object_is_type(cur, json_type_string))
		return json_object_get_string(cur);
	snprintf(tmp, tlen, "%s", json_object_to_json_string_ext(cur, JSON_C_TO_STRING_PLAIN));
	return tmp;
}

/* render(): fill {{path}} placeholders of summary and details from the
 * record itself; an unknown path stays as it is. */
static enum at_err render_placeholders(struct json_object *rec, struct json_object *full,
				       const char *field)
{
	struct json_object *v;
	const char *s, *open, *close, *val;
	char tmp[1024];
	struct at_buf b;
	enum at_err rc = AT_OK;

	if (!json_object_object_get_ex(rec, field, &v))
		return AT_OK;
	s = json_object_get_string(v);
	if (!strstr(s, "{{"))
		return AT_OK;
	at_buf_init(&b, 64 * 1024);
	while (!rc && (open = strstr(s, "{{")) && (close = strstr(open + 2, "}}"))) {
		val = lookup_path(full, open + 2, (size_t)(close - open - 2), tmp, sizeof(tmp));
		rc = at_buf_append(&b, s, (size_t)(open - s));
		if (!rc)
			rc = val ? at_buf_puts(&b, val)
				 : at_buf_append(&b, open, (size_t)(close + 2 - open));
		s = close + 2;
	}
	if (!rc)
		rc = at_buf_puts(&b, s);
	if (!rc)
		rc = at_json_add_str(rec, field, b.data ? b.data : "");
	at_buf_release(&b);
	return rc;
}

struct read_opts {
	bool documents;
	bool render;
};

/* One record's query: select=+documents/-documents and render(). */
static enum at_err take_read_opt(struct at_ctx *ctx, const char *key, char *val, void *arg)
{
	struct read_opts *o = arg;
	char *p = val, *tok;

	if (!strcmp(key, "render()")) {
		o->render = true;
		return AT_OK;
	}
	if (strcmp(key, "select"))
		return AT_ERR_NOT_FOUND;
	while ((tok = strsep(&p, ","))) {
		if (!strcmp(tok, "documents") || !strcmp(tok, "+documents")) {
			o->documents = true;
		} else if (!strcmp(tok, "-documents")) {
			o->documents = false;
		} else if (*tok) {
			at_problem_field(&ctx->problem, "select", "Unknown field '%.40s'.", tok);
			return AT_ERR_INVALID;
		}
	}
	return AT_OK;
}

/* Render a row, applying render() against the full record. */
static enum at_err record_json(const struct at_db_rows *rows, const struct read_opts *o,
			       struct json_object **out)
{
	struct json_object *full = NULL;
	enum at_err rc;

	if ((rc = render_record(rows, o->documents, out)))
		return rc;
	if (!o->render)
		return AT_OK;
	/* placeholders may point into the documents even when not shown */
	if ((rc = render_record(rows, true, &full)) ||
	    (rc = render_placeholders(*out, full, "summary")) ||
	    (rc = render_placeholders(*out, full, "details"))) {
		json_object_put(*out);
		*out = NULL;
	}
	json_object_put(full);
	return rc;
}

/* A listed record: fields not selected go, render() fills placeholders. */
static enum at_err list_render(struct at_ctx *ctx, const struct at_db_rows *rows,
			       const struct at_rql_query *q, struct json_object **out)
{
	struct read_opts o = {
		.documents = at_rql_selected(q, &at_rql_audit, "documents"),
		.render = q->render,
	};
	enum at_err rc;

	if ((rc = record_json(rows, &o, out)))
		return rc;
	at_list_drop_unselected(q, &at_rql_audit, *out);
	return AT_OK;
}

/* Client and Vendor callers read their own account's records, Operations
 * every record; an RQL filter only narrows that. */
enum at_err at_audit_list(struct at_ctx *ctx)
{
	static const struct at_list_scope all = {
		AT_TPL_AUDIT_LIST, AT_TPL_AUDIT_COUNT, AT_STMT_AUDIT_TOTAL_ALL
	};
	static const struct at_list_scope own = {
		AT_TPL_AUDIT_LIST_ACCOUNT, AT_TPL_AUDIT_COUNT_ACCOUNT, AT_STMT_AUDIT_TOTAL_ACCOUNT
	};
	struct at_list_spec spec = {
		.res = &at_rql_audit,
		.render = list_render,
	};

	return at_list_reply_confined(ctx, &spec, &all, &own);
}

enum at_err at_audit_object_list(struct at_ctx *ctx, const char *object_id,
				 const char *account_id)
{
	struct at_db_param scope[] = { AT_DB_P_STR(object_id), AT_DB_P_STR(account_id) };
	struct at_list_spec spec = {
		.res = &at_rql_audit,
		.list_tpl = AT_TPL_AUDIT_LIST_OBJECT,
		.count_tpl = AT_TPL_AUDIT_COUNT_OBJECT,
		.scope = scope,
		.nscope = 2,
		.render = list_render,
	};

	return at_list_reply(ctx, &spec);
}

enum at_err at_audit_get(struct at_ctx *ctx)
{
	struct read_opts o = { .documents = true };
	const char *id = ctx->params[0];
	struct json_object *obj;
	struct at_db_param p;
	struct at_db_rows rows;
	const char *acc;
	bool found = false;
	enum at_err rc;

	if ((rc = at_query_each(ctx, take_read_opt, &o)))
		return rc;
	if (!at_id_valid(id, "AUD", 4))
		return AT_ERR_NOT_FOUND;
	p = AT_DB_P_STR(id);
	if ((rc = at_db_query(ctx->db, AT_STMT_AUDIT_GET, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	if (!(rc = at_db_rows_next(&rows, &found))) {
		acc = found ? at_db_rows_str(&rows, AC_ACCOUNT_ID, NULL) : NULL;
		/* another account's record is as absent as an unknown one */
		if (!acc || !at_caller_sees_account(&ctx->caller, acc))
			rc = AT_ERR_NOT_FOUND;
		else if (!(rc = record_json(&rows, &o, &obj)))
			rc = at_reply_json(ctx, 200, obj);
	}
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

/* ---- records from outside: SoftwareOne extensions ------------------------- */

static bool event_key_valid(const char *s)
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

/* A string member of at most max characters; NULL when absent or null. */
static bool text_member(struct at_ctx *ctx, struct json_object *obj, const char *key,
			const char *field, size_t max, bool required, const char **out)
{
	struct json_object *v = NULL;
	const char *s;

	*out = NULL;
	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			at_problem_field(&ctx->problem, field, "The %s is required.", field);
		return !required;
	}
	if (!json_object_is_type(v, json_type_string)) {
		at_problem_field(&ctx->problem, field, "The %s must be a string.", field);
		return false;
	}
	s = json_object_get_string(v);
	if (required && !*s) {
		at_problem_field(&ctx->problem, field, "The %s is required.", field);
		return false;
	}
	if (at_utf8_chars(s, strlen(s)) > max) {
		at_problem_field(&ctx->problem, field, "The %s must be at most %zu characters.",
				 field, max);
		return false;
	}
	*out = *s ? s : NULL;
	return true;
}

struct post_job {
	struct at_ctx *ctx;
	struct at_audit_record r;
	char id[AT_AUDIT_ID_LEN + 1];
};

static enum at_err post_tx(void *arg)
{
	struct post_job *j = arg;

	return at_audit_append(j->ctx->db, j->ctx->keys, &j->r, j->id);
}

enum at_err at_audit_create(struct at_ctx *ctx)
{
	struct json_object *body = NULL, *object = NULL, *docs = NULL;
	struct at_buf *b = &ctx->req->body;
	struct post_job j = { .ctx = ctx };
	const char *event = NULL;
	char err[256];
	enum at_err rc;
	bool ok = true;

	if (ctx->caller.account_type == AT_ACCOUNT_CLIENT) {
		at_problem_detail(&ctx->problem, "Only Vendor and Operations accounts may add "
				  "audit records.");
		return AT_ERR_FORBIDDEN;
	}
	if (!b->len || (rc = at_json_parse(b->data, b->len, &body, err, sizeof(err))) ||
	    !json_object_is_type(body, json_type_object)) {
		at_problem_detail(&ctx->problem, "The body must be a JSON object.");
		json_object_put(body);
		return AT_ERR_INVALID;
	}
	ok = text_member(ctx, body, "event", "event", 255, true, &event) && ok;
	if (event && !event_key_valid(event)) {
		at_problem_field(&ctx->problem, "event",
				 "Records from outside take keys extensions.<name>.<event>.");
		ok = false;
	}
	ok = text_member(ctx, body, "summary", "summary", AT_AUDIT_SUMMARY_CHARS, true,
			 &j.r.summary) && ok;
	ok = text_member(ctx, body, "details", "details", AT_AUDIT_DETAILS_CHARS, false,
			 &j.r.details) && ok;
	if (!json_object_object_get_ex(body, "object", &object) ||
	    !json_object_is_type(object, json_type_object)) {
		at_problem_field(&ctx->problem, "object",
				 "The object must be {\"id\", \"objectType\", \"name\"?}.");
		ok = false;
	} else {
		ok = text_member(ctx, object, "id", "object.id", 64, true, &j.r.object_id) && ok;
		ok = text_member(ctx, object, "objectType", "object.objectType", 64, true,
				 &j.r.object_type) && ok;
		ok = text_member(ctx, object, "name", "object.name", 255, false,
				 &j.r.object_name) && ok;
	}
	if (json_object_object_get_ex(body, "documents", &docs) &&
	    !json_object_is_type(docs, json_type_object) &&
	    !json_object_is_type(docs, json_type_null)) {
		at_problem_field(&ctx->problem, "documents", "The documents must be an object.");
		ok = false;
	}
	if (!ok) {
		rc = AT_ERR_INVALID;
		goto out;
	}
	j.r.event = event;
	/* about the caller's own account, in its chain */
	j.r.account_id = ctx->caller.account_id;
	j.r.object_revision = -1;
	j.r.documents = docs && json_object_is_type(docs, json_type_object)
				? json_object_to_json_string_ext(docs, JSON_C_TO_STRING_PLAIN)
				: NULL;
	at_audit_actor(&j.r, ctx);
	if ((rc = at_db_transact(ctx->db, post_tx, &j))) {
		at_db_failed(ctx, rc);
		goto out;
	}
	{
		struct read_opts o = { .documents = true };
		struct at_db_param p = AT_DB_P_STR(j.id);
		struct at_db_rows rows;
		struct json_object *obj;
		bool found = false;

		if ((rc = at_db_query(ctx->db, AT_STMT_AUDIT_GET, &p, 1, &rows)))
			goto out;
		if (!(rc = at_db_rows_next(&rows, &found)) && found &&
		    !(rc = record_json(&rows, &o, &obj)))
			rc = at_reply_json(ctx, 201, obj);
		at_db_rows_release(&rows);
		if (!rc)
			rc = at_response_header(ctx->resp, "Location", "/public/v1/audit/records/%s",
						j.id);
	}
out:
	json_object_put(body);
	return at_db_failed(ctx, rc);
}

void at_audit_actor(struct at_audit_record *r, const struct at_ctx *ctx)
{
	r->actor_id = ctx->caller.id;
	r->actor_name = ctx->caller.name;
	r->actor_account_id = ctx->caller.account_id;
	r->actor_account_name = ctx->caller.account_name;
	r->ip = ctx->req->remote_addr;
	r->user_agent = ctx->req->user_agent;
	r->request_id = ctx->req->trace_id;
}
