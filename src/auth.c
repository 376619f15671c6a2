/* auth.c: caller identity. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "ipnet.h"
#include "isotime.h"
#include "log.h"
#include "token_cache.h"

#define ACCESS_MANAGEMENT "access-management"

static const char *const type_names[AT_ACCOUNT__MAX] = {
	[AT_ACCOUNT_CLIENT] = "Client",
	[AT_ACCOUNT_VENDOR] = "Vendor",
	[AT_ACCOUNT_OPERATIONS] = "Operations",
};

const char *at_account_type_name(enum at_account_type t)
{
	return (unsigned)t < AT_ACCOUNT__MAX ? type_names[t] : "Client";
}

bool at_account_type_parse(const char *s, enum at_account_type *t)
{
	unsigned i;

	for (i = 0; i < AT_ACCOUNT__MAX; i++) {
		if (s && !strcmp(s, type_names[i])) {
			*t = (enum at_account_type)i;
			return true;
		}
	}
	return false;
}

bool at_module_listed(const char (*ids)[AT_MODULE_ID_MAX], size_t n, const char *module_id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(ids[i], module_id))
			return true;
	return false;
}

bool at_caller_holds(const struct at_caller *c, const char *module_id)
{
	return at_module_listed(c->modules, c->nmodules, module_id);
}

bool at_caller_is_ops(const struct at_caller *c)
{
	return c->account_type == AT_ACCOUNT_OPERATIONS;
}

bool at_caller_sees_account(const struct at_caller *c, const char *account_id)
{
	return at_caller_is_ops(c) || !strcmp(c->account_id, account_id);
}

/* Columns account id, name, type, status starting at col. */
static bool take_account(struct at_caller *c, const struct at_tc_rows *rows, unsigned col)
{
	const char *id = at_tc_rows_str(rows, col, NULL);
	const char *name = at_tc_rows_str(rows, col + 1, NULL);
	const char *status = at_tc_rows_str(rows, col + 3, NULL);

	if (!id || !name || !status || strcmp(status, "Active"))
		return false;
	if (!at_account_type_parse(at_tc_rows_str(rows, col + 2, NULL), &c->account_type))
		return false;
	at_strlcpy(c->account_id, id, sizeof(c->account_id));
	at_strlcpy(c->account_name, name, sizeof(c->account_name));
	return true;
}

static enum at_err load_modules(struct at_db *db, struct at_caller *c, enum at_stmt stmt,
				const struct at_db_param *p, size_t n)
{
	struct at_db_rows rows;
	const char *id, *code;
	enum at_err rc;
	bool more;

	c->nmodules = 0;
	c->access_management = false;
	if ((rc = at_db_query(db, stmt, p, n, &rows)))
		return rc;
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		id = at_db_rows_str(&rows, 0, NULL);
		code = at_db_rows_str(&rows, 1, NULL);
		if (!id || c->nmodules == AT_CALLER_MODULES)
			continue;
		at_strlcpy(c->modules[c->nmodules++], id, AT_MODULE_ID_MAX);
		if (code && !strcmp(code, ACCESS_MANAGEMENT))
			c->access_management = true;
	}
	at_db_rows_release(&rows);
	return rc;
}

/* lastAccessAt: written after the answer has gone out, so a slow write
 * never delays it; a failure only leaves the time older. */
void at_auth_touch(struct at_db *db, const char *token_id)
{
	struct at_db_param p = AT_DB_P_STR(token_id);

	if (at_db_exec(db, AT_STMT_AUTH_TOKEN_TOUCH, &p, 1, NULL))
		at_log_warn("lastAccessAt of %s: %s", token_id, at_db_error(db));
}

/* The columns of AT_STMT_AUTH_TOKEN and AT_STMT_VERIFY_PATHS (db.c). */
enum {
	TK_STATUS, TK_HASH, TK_NAME, TK_ACCOUNT /* id, name, type, status */,
	TK_TOUCH = TK_ACCOUNT + 4, TK_MODULE_ID, TK_MODULE_CODE, TK_PATH,
	/* restrictions */
	TK_EXPIRES_MS, TK_NOT_BEFORE_MS, TK_ALLOWED_IPS, TK_RATE_LIMIT,
	/* rotation: the previous value's hash, and until when it verifies */
	TK_PREV_HASH, TK_PREV_UNTIL_MS,
};

/* Whether client is in the stored list (canonical entries joined by
 * ','), read entry by entry on the stack: no list is built. */
static bool address_allowed(const char *list, size_t len, const char *client)
{
	const char *end = list + len, *comma;
	struct at_ipnet net, addr;

	if (!client || at_ipaddr_parse(client, &addr))
		return false;
	while (list < end) {
		comma = memchr(list, ',', (size_t)(end - list));
		if (!comma)
			comma = end;
		if (!at_ipnet_parse(list, (size_t)(comma - list), &net, NULL, 0) &&
		    at_ipnet_contains(&net, &addr))
			return true;
		list = comma + 1;
	}
	return false;
}

/* The restrictions of a token whose secret was right: its validity
 * window, then the client address; the rate goes to the caller. */
static enum at_err check_restrictions(const struct at_auth_in *in, const struct at_tc_rows *rows,
				      struct at_caller *c)
{
	const char *ips, *why = NULL;
	enum at_err rc = AT_OK;
	size_t len = 0;
	int64_t now = at_iso_now_ms();

	if (at_tc_rows_str(rows, TK_EXPIRES_MS, NULL) &&
	    at_tc_rows_int(rows, TK_EXPIRES_MS) <= now) {
		why = "The token has expired.";
		rc = AT_ERR_AUTH;
	} else if (at_tc_rows_str(rows, TK_NOT_BEFORE_MS, NULL) &&
		   at_tc_rows_int(rows, TK_NOT_BEFORE_MS) > now) {
		why = "The token is not valid yet.";
		rc = AT_ERR_AUTH;
	} else if ((ips = at_tc_rows_str(rows, TK_ALLOWED_IPS, &len)) && len &&
		   !address_allowed(ips, len, in->client_addr)) {
		why = "The client address is not allowed to use this token.";
		rc = AT_ERR_FORBIDDEN;
	}
	if (in->why)
		*in->why = why;
	c->rate_limit = at_tc_rows_int(rows, TK_RATE_LIMIT);
	return rc;
}

/* Add a module to the caller's, kept sorted by id and without repeats
 * (the rows come in no order, a module once per path it grants). */
static void add_module(struct at_caller *c, const char *id, const char *code)
{
	size_t i;
	int cmp = 1;

	if (!id)
		return;
	for (i = 0; i < c->nmodules; i++) {
		cmp = strcmp(c->modules[i], id);
		if (cmp >= 0)
			break;
	}
	if (cmp == 0 || i == AT_CALLER_MODULES)
		return;
	if (c->nmodules == AT_CALLER_MODULES)
		c->nmodules--;	/* the lowest AT_CALLER_MODULES ids are kept */
	memmove(c->modules[i + 1], c->modules[i], (c->nmodules - i) * sizeof(c->modules[0]));
	at_strlcpy(c->modules[i], id, AT_MODULE_ID_MAX);
	c->nmodules++;
	if (code && !strcmp(code, ACCESS_MANAGEMENT))
		c->access_management = true;
}

enum { KIND_AUTH, KIND_VERIFY };

/* The rows of one token, live or cached (token_cache.h), checked against
 * the hash of the presented value: the processing of a token, all of it
 * here, so that a cached token is checked as a live one is, at the time
 * of each use.  AT_ERR_AUTH when it does not verify. */
static enum at_err token_rows(const struct at_auth_in *in, struct at_tc_rows *rows,
			      const char *id, const unsigned char *presented,
			      struct at_caller *c, bool *stale)
{
	const struct at_auth_paths *paths = in->paths;
	static const unsigned char no_hash[AT_HASH_LEN];
	const unsigned char *stored = no_hash, *prev = no_hash;
	const char *status, *name, *h, *prefix;
	size_t hlen = 0, plen;
	bool found = false, ok = false, more, current, previous;
	enum at_err rc;

	if ((rc = at_tc_rows_next(rows, &found)))
		return rc;
	if (found) {
		status = at_tc_rows_str(rows, TK_STATUS, NULL);
		h = at_tc_rows_str(rows, TK_HASH, &hlen);
		name = at_tc_rows_str(rows, TK_NAME, NULL);
		if (h && hlen == AT_HASH_LEN)
			stored = (const unsigned char *)h;
		/* rotation: the value it replaced, while its window is open;
		 * both compared always, so that neither match is faster */
		h = at_tc_rows_str(rows, TK_PREV_HASH, &hlen);
		if (h && hlen == AT_HASH_LEN && at_tc_rows_str(rows, TK_PREV_UNTIL_MS, NULL) &&
		    at_tc_rows_int(rows, TK_PREV_UNTIL_MS) > at_iso_now_ms())
			prev = (const unsigned char *)h;
		current = at_hash_equal(presented, stored) && stored != no_hash;
		previous = at_hash_equal(presented, prev) && prev != no_hash;
		ok = (current || previous) && status &&
		     !strcmp(status, "Active") && name && take_account(c, rows, TK_ACCOUNT);
		if (ok) {
			c->kind = AT_CALLER_TOKEN;
			c->previous_value = !current;
			at_strlcpy(c->id, id, sizeof(c->id));
			at_strlcpy(c->name, name, sizeof(c->name));
			/* written once the request succeeded */
			*stale = at_tc_rows_int(rows, TK_TOUCH) != 0;
			if ((rc = check_restrictions(in, rows, c)))
				return rc;
		}
	} else {
		(void)at_hash_equal(presented, no_hash);
		(void)at_hash_equal(presented, no_hash);
	}
	if (!ok)
		return AT_ERR_AUTH;
	c->nmodules = 0;
	c->access_management = false;
	do {
		add_module(c, at_tc_rows_str(rows, TK_MODULE_ID, NULL),
			   at_tc_rows_str(rows, TK_MODULE_CODE, NULL));
		if (paths && (prefix = at_tc_rows_str(rows, TK_PATH, &plen)))
			paths->each(paths->arg, prefix, plen);
	} while (!(rc = at_tc_rows_next(rows, &more)) && more);
	return rc;
}

/* The presented value is checked for shape and checksum first, so that
 * junk costs no query; then the verify cache, keyed by the keyed hash of
 * the value; else one primary-key lookup (which brings the token's
 * modules along, and with paths, for verify, every path prefix they
 * grant) and a constant-time comparison of keyed hashes.  An unknown id
 * still computes and compares a hash, so that the common paths take
 * about the same time.  Only a token that verified is cached. */
static enum at_err auth_token(const struct at_auth_in *in, const char *value, size_t len,
			      struct at_caller *c, bool *stale)
{
	unsigned kind = in->paths ? KIND_VERIFY : KIND_AUTH;
	unsigned char presented[AT_HASH_LEN];
	char id[AT_TOKEN_ID_LEN + 1];
	struct at_tc_snap *snap = NULL;
	struct at_tc_rows r = { 0 };
	struct at_db_param p;
	struct at_db_rows rows;
	unsigned long epoch = 0;
	bool cacheable = false, touch;
	long long now = 0;
	enum at_err rc;

	if (at_token_value_parse(value, len, id))
		return AT_ERR_AUTH;
	at_token_hash(in->keys, value, len, presented);
	memset(&rows, 0, sizeof(rows));
	if (in->cache && (snap = malloc(sizeof(*snap)))) {
		at_tc_snap_clear(snap, 0);
		now = at_token_cache_now(in->cache);
		cacheable = at_token_cache_usable(in->cache, in->db, now, &epoch);
		if (cacheable && at_token_cache_get(in->cache, presented, kind, now, snap, &touch)) {
			r.snap = snap;
			rc = token_rows(in, &r, id, presented, c, stale);
			*stale = touch;
			goto out;
		}
	}
	p = AT_DB_P_STR(id);
	if ((rc = at_db_query(in->db, in->paths ? AT_STMT_VERIFY_PATHS : AT_STMT_AUTH_TOKEN, &p, 1,
			      &rows)))
		goto out;
	r.live = &rows;
	if (cacheable) {
		at_tc_snap_clear(snap, rows.ncols);
		r.rec = snap;
	}
	rc = token_rows(in, &r, id, presented, c, stale);
	if (!rc && cacheable)
		at_token_cache_put(in->cache, presented, kind, now, epoch, snap, *stale);
out:
	at_db_rows_release(&rows);
	at_wipe(presented, sizeof(presented));
	if (snap) {
		/* it held the stored hash */
		at_wipe(snap->data, snap->used < sizeof(snap->data) ? snap->used : sizeof(snap->data));
		free(snap);
	}
	return rc;
}

static enum at_err auth_user(struct at_db *db, const char *user, struct at_caller *c)
{
	struct at_db_param p[2];
	struct at_db_rows rows;
	const char *status, *name;
	bool found = false;
	enum at_err rc;

	if (!at_id_valid(user, "USR", 2))
		return AT_ERR_AUTH;
	p[0] = AT_DB_P_STR(user);
	if ((rc = at_db_query(db, AT_STMT_AUTH_USER, p, 1, &rows)))
		return rc;
	rc = at_db_rows_next(&rows, &found);
	if (!rc) {
		status = at_db_rows_str(&rows, 0, NULL);
		name = at_db_rows_str(&rows, 1, NULL);
		if (!found || !status || strcmp(status, "Active") || !name ||
		    !take_account(c, &(struct at_tc_rows){ .live = &rows }, 2)) {
			rc = AT_ERR_AUTH;
		} else {
			c->kind = AT_CALLER_USER;
			at_strlcpy(c->id, user, sizeof(c->id));
			at_strlcpy(c->name, name, sizeof(c->name));
		}
	}
	at_db_rows_release(&rows);
	if (rc)
		return rc;
	p[0] = AT_DB_P_STR(c->account_id);
	p[1] = AT_DB_P_STR(user);
	return load_modules(db, c, AT_STMT_AUTH_USER_MODULES, p, 2);
}

enum at_err at_auth_load_user(struct at_db *db, const char *user_id, struct at_caller *c)
{
	enum at_err rc;

	memset(c, 0, sizeof(*c));
	rc = auth_user(db, user_id, c);
	if (rc)
		memset(c, 0, sizeof(*c));
	return rc;
}

enum at_err at_auth_caller(const struct at_auth_in *in, struct at_caller *c, bool *stale)
{
	const char *a = in->authorization;
	const char *u = in->remote_user;
	enum at_err rc = AT_ERR_AUTH;
	size_t len;

	memset(c, 0, sizeof(*c));
	*stale = false;
	if (in->why)
		*in->why = NULL;
	if (a && !strncasecmp(a, "Bearer ", 7)) {
		/* a token always wins: a web server login does not widen it */
		a += 7;
		while (*a == ' ')
			a++;
		len = strlen(a);
		while (len && a[len - 1] == ' ')
			len--;
		rc = auth_token(in, a, len, c, stale);
	} else if (u && *u && in->trust_remote_user) {
		/* the web server checked the login (e.g. a Basic header) */
		rc = auth_user(in->db, u, c);
	}
	if (rc) {
		memset(c, 0, sizeof(*c));
		*stale = false;
	}
	return rc;
}
