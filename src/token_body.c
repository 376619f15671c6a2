/* token_body.c: the checks of a token body that need no database. */
#include <stdio.h>
#include <string.h>

#include "isotime.h"
#include "json.h"
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
