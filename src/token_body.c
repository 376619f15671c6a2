/* token_body.c: the checks of a token body that need no database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipnet.h"
#include "isotime.h"
#include "json.h"
#include "ratelimit.h"
#include "text.h"
#include "tokens.h"

enum at_err at_token_body_parse(const char *text, size_t len, struct at_jv **doc,
				struct at_problem *p)
{
	char err[256];
	enum at_err rc;

	*doc = NULL;
	if (!len) {
		at_problem_detail(p, "The body must be a JSON object.");
		return AT_ERR_INVALID;
	}
	if ((rc = at_jv_parse(text, len, doc, err, sizeof(err)))) {
		at_problem_detail(p, "%s.", err);
		return rc;
	}
	if (at_jv_type(*doc) != AT_JV_OBJECT) {
		at_jv_free(*doc);
		*doc = NULL;
		at_problem_detail(p, "The body must be a JSON object.");
		return AT_ERR_INVALID;
	}
	return AT_OK;
}

/* At most max characters; field is also what the message calls it. */
static bool short_enough(struct at_problem *p, const char *field, const char *s, size_t len,
			 int max)
{
	if (at_utf8_chars(s, len) <= (size_t)max)
		return true;
	at_problem_field(p, field, "The %s must be at most %d characters.", field, max);
	return false;
}

static bool check_name(const struct at_jv *v, struct at_problem *p, const char **out)
{
	const char *s;
	size_t len;

	if (at_jv_type(v) == AT_JV_NULL) {
		at_problem_field(p, "name", "The name is required.");
		return false;
	}
	if (!(s = at_jv_str(v, &len))) {
		at_problem_field(p, "name", "The name must be a string.");
		return false;
	}
	if (len == 0) {
		at_problem_field(p, "name", "The name is required.");
		return false;
	}
	if (!short_enough(p, "name", s, len, AT_TOKEN_NAME_CHARS))
		return false;
	if (!at_name_chars_valid(s, len)) {
		at_problem_field(p, "name",
				 "The name may contain only letters, digits, spaces and - . ' \".");
		return false;
	}
	*out = s;
	return true;
}

/* description: a string, or null / "" for none. */
static bool check_description(const struct at_jv *v, struct at_problem *p, const char **out)
{
	const char *s;
	size_t len;

	*out = NULL;
	if (at_jv_type(v) == AT_JV_NULL)
		return true;
	if (!(s = at_jv_str(v, &len))) {
		at_problem_field(p, "description", "The description must be a string.");
		return false;
	}
	if (!short_enough(p, "description", s, len, AT_TOKEN_DESCRIPTION_CHARS))
		return false;
	*out = len ? s : NULL;
	return true;
}

/* icon: logos are uploaded with PUT …/icon; in a body only "" or null
 * (remove it) or the token's own icon path (keep it) make sense. */
static bool check_icon(const struct at_jv *v, const char *id, struct at_problem *p, bool *keep)
{
	char own[128], own2[128];
	const char *s;

	*keep = false;
	if (at_jv_type(v) == AT_JV_NULL)
		return true;
	if (!(s = at_jv_str(v, NULL))) {
		at_problem_field(p, "icon", "The icon must be a string.");
		return false;
	}
	if (!*s)
		return true;
	snprintf(own, sizeof(own), "/public/v1/accounts/api-tokens/%s/icon", id ? id : "");
	snprintf(own2, sizeof(own2), "/settings/api-tokens/%s/icon", id ? id : "");
	if (id && (!strcmp(s, own) || !strcmp(s, own2))) {
		*keep = true;
		return true;
	}
	at_problem_field(p, "icon", "Upload the logo with PUT …/api-tokens/{id}/icon; here the "
			 "icon may only be empty.");
	return false;
}

/* modules: [{"id": "MOD-dddd"}, …], no duplicates; shape only here. */
static bool check_modules(const struct at_jv *v, struct at_problem *p, struct at_module_set *out)
{
	const struct at_jv *m, *idv;
	const char *id;
	size_t i, n;
	bool ok = true;

	out->n = 0;
	if (at_jv_type(v) == AT_JV_NULL)
		return true;
	if (at_jv_type(v) != AT_JV_ARRAY) {
		at_problem_field(p, "modules", "The modules must be a list of {\"id\"}.");
		return false;
	}
	n = at_jv_len(v);
	if (n > AT_TOKEN_MODULES_MAX) {
		at_problem_field(p, "modules", "A token holds at most %d modules.",
				 AT_TOKEN_MODULES_MAX);
		return false;
	}
	for (i = 0; i < n; i++) {
		m = at_jv_at(v, i);
		if (at_jv_type(m) != AT_JV_OBJECT || !at_jv_get(m, "id", &idv) ||
		    !(id = at_jv_str(idv, NULL))) {
			at_problem_field(p, "modules", "Module %zu must be an object with a string id.",
					 i);
			ok = false;
			continue;
		}
		if (!at_id_valid(id, "MOD", 1)) {
			at_problem_field(p, "modules", "'%.20s' is not a module id (MOD-dddd).", id);
			ok = false;
			continue;
		}
		if (at_module_set_has(out, id)) {
			at_problem_field(p, "modules", "%s is listed twice.", id);
			ok = false;
			continue;
		}
		at_strlcpy(out->ids[out->n++], id, AT_MODULE_ID_MAX);
	}
	return ok;
}

/* ---- restrictions ---------------------------------------------------- */

/* A timestamp field: null (*ms 0) or ISO 8601; future: it must be later
 * than now. */
static bool check_time(const struct at_jv *v, const char *field, bool future,
		       struct at_problem *p, int64_t *ms)
{
	const char *s;
	size_t len;

	*ms = 0;
	if (at_jv_type(v) == AT_JV_NULL)
		return true;
	if (!(s = at_jv_str(v, &len)) || at_iso_parse(s, len, AT_ISO_API, ms)) {
		at_problem_field(p, field, "The %s must be an ISO 8601 time such as "
				 "2030-01-31T12:00:00Z.", field);
		*ms = 0;
		return false;
	}
	if (future && *ms <= at_iso_now_ms()) {
		at_problem_field(p, field, "The expiry must be in the future.");
		return false;
	}
	if (*ms == 0)
		*ms = 1;	/* 0 means none: the epoch itself is a millisecond later */
	return true;
}

/* allowedIps: null, or a list of addresses and CIDR ranges (ipnet.c),
 * at most AT_IPLIST_MAX, no entry twice; out gets the canonical text. */
static bool check_allowed_ips(const struct at_jv *v, struct at_problem *p, char *out,
			      size_t outlen)
{
	char msg[AT_IPNET_MSG];
	struct at_iplist *l = NULL;
	const struct at_jv *e;
	struct at_buf text;
	const char *s;
	size_t i, n, len;
	bool ok = false;

	out[0] = '\0';
	if (at_jv_type(v) == AT_JV_NULL)
		return true;
	if (at_jv_type(v) != AT_JV_ARRAY) {
		at_problem_field(p, "allowedIps", "The allowedIps must be a list of IP addresses "
				 "and CIDR ranges.");
		return false;
	}
	n = at_jv_len(v);
	if (n > AT_IPLIST_MAX) {
		at_problem_field(p, "allowedIps", "At most %d addresses or ranges are allowed.",
				 AT_IPLIST_MAX);
		return false;
	}
	/* about 1.2 KB: kept off the stack of a request handler */
	l = malloc(sizeof(*l));
	if (!l) {
		at_problem_field(p, "allowedIps", "The list could not be read.");
		return false;
	}
	at_iplist_init(l);
	for (i = 0; i < n; i++) {
		e = at_jv_at(v, i);
		if (!(s = at_jv_str(e, &len))) {
			at_problem_field(p, "allowedIps", "Entry %zu must be a string.", i);
			goto out;
		}
		if (at_iplist_add(l, s, len, msg, sizeof(msg))) {
			at_problem_field(p, "allowedIps", "%s", msg);
			goto out;
		}
	}
	at_buf_init(&text, outlen - 1);
	if (at_iplist_format(l, &text)) {
		at_buf_release(&text);
		at_problem_field(p, "allowedIps", "The list is too long.");
		goto out;
	}
	if (text.len)
		memcpy(out, text.data, text.len);
	out[text.len] = '\0';
	at_buf_release(&text);
	ok = true;
out:
	free(l);
	return ok;
}

/* rateLimit: null, or one of the tiers nginx enforces (ratelimit.h). */
static bool check_rate_limit(const struct at_jv *v, struct at_problem *p, long long *out)
{
	long long n;

	*out = 0;
	if (at_jv_type(v) == AT_JV_NULL)
		return true;
	if (at_jv_type(v) != AT_JV_INT || !at_jv_int(v, &n) || !at_rate_limit_valid(n)) {
		at_problem_field(p, "rateLimit", "%s", at_rate_limit_message());
		return false;
	}
	*out = n;
	return true;
}

/* expiresAt, notBefore, allowedIps, rateLimit; notBefore must come
 * before expiresAt when the body has both. */
static bool check_restrictions(const struct at_jv *doc, struct at_token_body *b,
			       struct at_problem *p)
{
	const struct at_jv *v = NULL;
	bool ok = true, exp_ok = true, nb_ok = true;

	if ((b->has_expires = at_jv_get(doc, "expiresAt", &v)))
		ok = exp_ok = check_time(v, "expiresAt", true, p, &b->expires_ms);
	v = NULL;
	if ((b->has_not_before = at_jv_get(doc, "notBefore", &v))) {
		nb_ok = check_time(v, "notBefore", false, p, &b->not_before_ms);
		ok = nb_ok && ok;
	}
	if (exp_ok && nb_ok && b->expires_ms && b->not_before_ms &&
	    b->not_before_ms >= b->expires_ms) {
		at_problem_field(p, "notBefore", "The notBefore must be earlier than expiresAt.");
		ok = false;
	}
	v = NULL;
	if ((b->has_allowed_ips = at_jv_get(doc, "allowedIps", &v)))
		ok = check_allowed_ips(v, p, b->allowed_ips, sizeof(b->allowed_ips)) && ok;
	v = NULL;
	if ((b->has_rate_limit = at_jv_get(doc, "rateLimit", &v)))
		ok = check_rate_limit(v, p, &b->rate_limit) && ok;
	return ok;
}

/* The fields a create and an update share; id is the token's (NULL at
 * create), all is true at create (a missing name is then an error). */
static bool check_fields(const struct at_jv *doc, const char *id, bool all,
			 struct at_token_body *b, struct at_problem *p)
{
	const struct at_jv *v = NULL;
	bool ok = true;

	memset(b, 0, sizeof(*b));
	b->has_name = at_jv_get(doc, "name", &v);
	if (b->has_name || all)
		ok = check_name(b->has_name ? v : NULL, p, &b->name);
	v = NULL;
	if ((b->has_description = at_jv_get(doc, "description", &v)))
		ok = check_description(v, p, &b->description) && ok;
	v = NULL;
	if ((b->has_icon = at_jv_get(doc, "icon", &v)))
		ok = check_icon(v, id, p, &b->keep_icon) && ok;
	v = NULL;
	if ((b->has_modules = at_jv_get(doc, "modules", &v)))
		ok = check_modules(v, p, &b->modules) && ok;
	ok = check_restrictions(doc, b, p) && ok;
	return ok;
}

enum at_err at_token_body_create(const struct at_jv *doc, struct at_token_body *b,
				 struct at_problem *p, bool *account_ok)
{
	const struct at_jv *acc = NULL, *idv;
	const char *id = NULL;
	bool ok;

	ok = check_fields(doc, NULL, true, b, p);
	*account_ok = true;
	/* account: {"id"} names the account; null or none is the caller's */
	b->has_account = at_jv_get(doc, "account", &acc) && at_jv_type(acc) != AT_JV_NULL;
	if (b->has_account) {
		if (at_jv_type(acc) != AT_JV_OBJECT || !at_jv_get(acc, "id", &idv) ||
		    !(id = at_jv_str(idv, NULL)) || !at_id_valid(id, "ACC", 2)) {
			at_problem_field(p, "account.id",
					 "The account must be {\"id\": \"ACC-dddd-dddd\"}.");
			*account_ok = false;
			ok = false;
		}
		b->account_id = id;
	}
	return ok ? AT_OK : AT_ERR_INVALID;
}

enum at_err at_token_body_update(const struct at_jv *doc, const char *id,
				 struct at_token_body *b, struct at_problem *p)
{
	return check_fields(doc, id, false, b, p) ? AT_OK : AT_ERR_INVALID;
}

enum at_err at_token_body_enable(const char *text, size_t len, int64_t *expires_ms,
				 struct at_problem *p)
{
	const struct at_jv *v = NULL;
	struct at_jv *doc = NULL;
	enum at_err rc;

	*expires_ms = 0;
	if (!len)
		return AT_OK;	/* no body: a plain enable */
	if ((rc = at_token_body_parse(text, len, &doc, p)))
		return rc;
	if (at_jv_get(doc, "expiresAt", &v) && at_jv_type(v) != AT_JV_NULL &&
	    !check_time(v, "expiresAt", true, p, expires_ms))
		rc = AT_ERR_INVALID;
	at_jv_free(doc);
	return rc;
}

enum at_err at_token_body_rotate(const struct at_jv *doc, int64_t *overlap,
				 struct at_problem *p)
{
	const struct at_jv *v = NULL;
	const char *s, *why = NULL;
	size_t len;

	*overlap = 0;
	if (!doc || !at_jv_get(doc, "overlap", &v) || at_jv_type(v) == AT_JV_NULL)
		return AT_OK;
	if (!(s = at_jv_str(v, &len))) {
		at_problem_field(p, "overlap", "The overlap must be a string, an ISO 8601 "
				 "duration such as PT1H.");
		return AT_ERR_INVALID;
	}
	if (at_iso_duration_parse(s, len, overlap, &why)) {
		*overlap = 0;
		at_problem_field(p, "overlap", "The overlap must be an ISO 8601 duration such as "
				 "PT1H or P1DT12H (%s).", why ? why : "not one");
		return AT_ERR_INVALID;
	}
	return AT_OK;
}

enum at_err at_tokens_check_body(const char *text, size_t len, struct at_problem *p)
{
	struct at_token_body b;
	struct at_jv *doc;
	enum at_err rc;

	if ((rc = at_token_body_parse(text, len, &doc, p)))
		return rc;
	rc = check_fields(doc, NULL, true, &b, p) ? AT_OK : AT_ERR_INVALID;
	at_jv_free(doc);
	return rc;
}
