/* tokens.c: the API token resource (SPEC §2-4), on both mounts.
 *
 * Reads render straight from the result row; changes run in one
 * transaction that locks the token row first, checks visibility, state
 * and If-Match, and only then writes.  The response is read back after
 * the commit, so it shows what was stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "audit.h"
#include "db_columns.h"
#include "json.h"
#include "list.h"
#include "log.h"
#include "rql.h"
#include "text.h"
#include "tokens.h"

#define ID_TRIES 8

static const char *const event_names[] = { "created", "updated", "enabled", "disabled",
					     "deleted" };
#define NEVENTS (sizeof(event_names) / sizeof(event_names[0]))

/* Fields a response may leave out; id always stays (SPEC §6). */
enum field {
	F_NAME = 1 << 0, F_DESCRIPTION = 1 << 1, F_ICON = 1 << 2, F_STATUS = 1 << 3,
	F_TOKEN = 1 << 4, F_LAST_ACCESS = 1 << 5, F_ACCOUNT = 1 << 6, F_MODULES = 1 << 7,
	F_AUDIT = 1 << 8, F_REVISION = 1 << 9,
};
#define F_DEFAULT_ONE (F_NAME | F_DESCRIPTION | F_ICON | F_STATUS | F_LAST_ACCESS | \
		       F_ACCOUNT | F_MODULES | F_AUDIT | F_REVISION)
#define F_DEFAULT_LIST (F_DEFAULT_ONE & ~(F_MODULES | F_AUDIT))

static const struct {
	const char *name;
	unsigned bit;
} select_fields[] = {
	{ "id", 0 }, { "name", F_NAME }, { "description", F_DESCRIPTION }, { "icon", F_ICON },
	{ "status", F_STATUS }, { "token", F_TOKEN }, { "lastAccessAt", F_LAST_ACCESS },
	{ "account", F_ACCOUNT }, { "modules", F_MODULES }, { "audit", F_AUDIT },
	{ "revision", F_REVISION },
};

/* What a change needs to know of the token it locked. */
struct token_state {
	char id[AT_TOKEN_ID_LEN + 1];
	char account_id[AT_ID_MAX];
	char status[16];
	char name[AT_NAME_MAX];
	char description[AT_TOKEN_DESCRIPTION_CHARS * 4 + 1];
	bool has_description;
	bool has_icon;
	long long revision;
	char modules[AT_TOKEN_MODULES_MAX][AT_MODULE_ID_MAX];
	size_t nmodules;
};

enum audit_event { EV_CREATED, EV_UPDATED, EV_ENABLED, EV_DISABLED, EV_DELETED, EV_REVEALED };

static enum at_err audit_token(struct at_ctx *ctx, const char *id, enum audit_event ev,
			       struct json_object *before, const char *const *changes,
			       size_t nchanges);

/* ---- shared with apitokenctl ------------------------------------------ */

enum at_err at_tokens_insert(struct at_ctx *ctx, const struct at_token_new *t, char *id,
			     char *value)
{
	unsigned char hash[AT_HASH_LEN], sealed[AT_SEALED_LEN];
	bool seal = ctx->settings->reveal == AT_REVEAL_ALLOW;
	enum at_err rc = AT_ERR_DUPLICATE;
	unsigned key_id = 0, tries;
	size_t i;

	/* a failed INSERT does not end the transaction: try another id */
	for (tries = 0; tries < ID_TRIES && rc == AT_ERR_DUPLICATE; tries++) {
		at_id_make(id, AT_TOKEN_ID_LEN + 1, "TKN", 2);
		at_token_value_make(id, value);
		at_token_hash(ctx->keys, value, AT_TOKEN_VALUE_LEN, hash);
		if (seal && (rc = at_token_seal(ctx->keys, id, value, sealed, &key_id)))
			goto out;
		struct at_db_param p[] = {
			AT_DB_P_STR(id), AT_DB_P_STR(t->account_id), AT_DB_P_STR(t->name),
			AT_DB_P_OPT(t->description), AT_DB_P_BLOB(hash, sizeof(hash)),
			seal ? AT_DB_P_BLOB(sealed, sizeof(sealed)) : AT_DB_P_NULL(),
			seal ? AT_DB_P_INT(key_id) : AT_DB_P_NULL(),
			AT_DB_P_STR(ctx->caller.id), AT_DB_P_STR(ctx->caller.name),
		};
		rc = at_db_exec(ctx->db, AT_STMT_TOKEN_INSERT, p, sizeof(p) / sizeof(p[0]), NULL);
	}
	for (i = 0; !rc && i < t->nmodules; i++) {
		struct at_db_param p[] = { AT_DB_P_STR(id), AT_DB_P_STR(t->modules[i]) };

		rc = at_db_exec(ctx->db, AT_STMT_TOKEN_MODULE_ADD, p, 2, NULL);
	}
	if (!rc) {
		struct at_db_param p = AT_DB_P_STR(t->account_id);

		rc = at_db_exec(ctx->db, AT_STMT_TOKEN_COUNT_BUMP, &p, 1, NULL);
	}
	if (!rc)
		rc = audit_token(ctx, id, EV_CREATED, NULL, NULL, 0);
out:
	at_wipe(hash, sizeof(hash));
	at_wipe(sealed, sizeof(sealed));
	if (rc)
		at_wipe(value, AT_TOKEN_VALUE_LEN + 1);
	return rc;
}

/* ---- helpers ---------------------------------------------------------- */

/* Client and Vendor callers see their own account's tokens, and no
 * Deleted ones; Operations sees everything. */
static bool visible(const struct at_ctx *ctx, const char *account_id, const char *status)
{
	if (!account_id || !status)
		return false;
	if (at_caller_is_ops(&ctx->caller))
		return true;
	return !strcmp(account_id, ctx->caller.account_id) && strcmp(status, "Deleted");
}

/* Ids of the wrong shape are 404 like unknown ones: the resource with
 * such a name cannot exist. */
static enum at_err token_id_param(struct at_ctx *ctx, const char **id)
{
	*id = ctx->params[0];
	return at_id_valid(*id, "TKN", 2) ? AT_OK : AT_ERR_NOT_FOUND;
}

static enum at_err add_time(struct json_object *obj, const char *key, const char *dbtime)
{
	char iso[32];

	if (!dbtime || !at_time_iso(dbtime, iso, sizeof(iso)))
		return AT_OK;
	return at_json_add_str(obj, key, iso);
}

static enum at_err add_opt_str(struct json_object *obj, const char *key, const char *s)
{
	return s && *s ? at_json_add_str(obj, key, s) : AT_OK;
}

static enum at_err render_modules(struct at_ctx *ctx, const char *id, struct json_object *obj)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct json_object *list, *m;
	struct at_db_rows rows;
	enum at_err rc;
	bool more;

	list = json_object_new_array();
	if ((rc = at_json_add(obj, "modules", list)))
		return rc;
	if ((rc = at_db_query(ctx->db, AT_STMT_TOKEN_MODULES, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		m = json_object_new_object();
		if (!m || json_object_array_add(list, m)) {
			json_object_put(m);
			rc = AT_ERR_NOMEM;
			break;
		}
		if ((rc = at_json_add_str(m, "id", at_db_rows_str(&rows, 0, NULL))) ||
		    (rc = at_json_add_str(m, "name", at_db_rows_str(&rows, 1, NULL))))
			break;
	}
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

static enum at_err render_audit(const struct at_db_rows *rows, struct json_object *obj)
{
	struct json_object *audit, *ev, *by;
	enum at_err rc;
	unsigned col;
	size_t i;

	audit = json_object_new_object();
	if ((rc = at_json_add(obj, "audit", audit)))
		return rc;
	for (i = 0; i < NEVENTS; i++) {
		col = TC_EVENTS + 3 * (unsigned)i;
		if (!at_db_rows_str(rows, col, NULL))
			continue;
		ev = json_object_new_object();
		if ((rc = at_json_add(audit, event_names[i], ev)) ||
		    (rc = add_time(ev, "at", at_db_rows_str(rows, col, NULL))))
			return rc;
		by = json_object_new_object();
		if ((rc = at_json_add(ev, "by", by)) ||
		    (rc = add_opt_str(by, "id", at_db_rows_str(rows, col + 1, NULL))) ||
		    (rc = add_opt_str(by, "name", at_db_rows_str(rows, col + 2, NULL))))
			return rc;
	}
	return AT_OK;
}

/* One token object from a TOKEN_COLUMNS row, in SPEC §4's field order;
 * value is the token value to include, or NULL. */
static enum at_err render_token(struct at_ctx *ctx, const struct at_db_rows *rows,
				unsigned fields, const char *value, struct json_object **out)
{
	const char *id = at_db_rows_str(rows, TC_ID, NULL);
	struct json_object *obj, *acc;
	const char *hi;
	enum at_err rc;
	char icon[128];

	*out = NULL;
	obj = json_object_new_object();
	if (!obj)
		return AT_ERR_NOMEM;
	if ((rc = at_json_add_str(obj, "id", id)))
		goto fail;
	if ((fields & F_NAME) &&
	    (rc = add_opt_str(obj, "name", at_db_rows_str(rows, TC_NAME, NULL))))
		goto fail;
	if ((fields & F_DESCRIPTION) &&
	    (rc = add_opt_str(obj, "description", at_db_rows_str(rows, TC_DESCRIPTION, NULL))))
		goto fail;
	hi = at_db_rows_str(rows, TC_HAS_ICON, NULL);
	if ((fields & F_ICON) && hi && strcmp(hi, "0")) {
		/* where the settings page and API clients fetch it */
		snprintf(icon, sizeof(icon), "/public/v1/accounts/api-tokens/%s/icon", id);
		if ((rc = at_json_add_str(obj, "icon", icon)))
			goto fail;
	}
	if ((fields & F_STATUS) &&
	    (rc = add_opt_str(obj, "status", at_db_rows_str(rows, TC_STATUS, NULL))))
		goto fail;
	if (value && (rc = at_json_add_str(obj, "token", value)))
		goto fail;
	if ((fields & F_LAST_ACCESS) &&
	    (rc = add_time(obj, "lastAccessAt", at_db_rows_str(rows, TC_LAST_ACCESS, NULL))))
		goto fail;
	if (fields & F_ACCOUNT) {
		acc = json_object_new_object();
		if ((rc = at_json_add(obj, "account", acc)) ||
		    (rc = at_json_add_str(acc, "id", at_db_rows_str(rows, TC_ACCOUNT_ID, NULL))) ||
		    (rc = at_json_add_str(acc, "name", at_db_rows_str(rows, TC_ACCOUNT_NAME, NULL))) ||
		    (rc = at_json_add_str(acc, "type", at_db_rows_str(rows, TC_ACCOUNT_TYPE, NULL))) ||
		    (rc = at_json_add_str(acc, "status",
					  at_db_rows_str(rows, TC_ACCOUNT_STATUS, NULL))))
			goto fail;
	}
	if ((fields & F_MODULES) && (rc = render_modules(ctx, id, obj)))
		goto fail;
	if ((fields & F_AUDIT) && (rc = render_audit(rows, obj)))
		goto fail;
	if ((fields & F_REVISION) &&
	    (rc = at_json_add_int(obj, "revision", at_db_rows_int(rows, TC_REVISION))))
		goto fail;
	*out = obj;
	return AT_OK;
fail:
	json_object_put(obj);
	return rc;
}

/* select=+a,-b (SPEC §6): a bare or '+' name adds, '-' drops. */
static enum at_err parse_select(struct at_ctx *ctx, const char *spec, unsigned *fields)
{
	char name[64];
	size_t len, i;
	bool drop;

	while (*spec) {
		len = strcspn(spec, ",");
		drop = *spec == '-';
		if (*spec == '-' || *spec == '+') {
			spec++;
			len--;
		}
		for (i = 0; i < sizeof(select_fields) / sizeof(select_fields[0]); i++)
			if (strlen(select_fields[i].name) == len &&
			    !strncmp(select_fields[i].name, spec, len))
				break;
		if (i == sizeof(select_fields) / sizeof(select_fields[0])) {
			snprintf(name, sizeof(name), "%.*s", (int)(len < 40 ? len : 40), spec);
			at_problem_field(&ctx->problem, "select", "Unknown field '%s'.", name);
			return AT_ERR_INVALID;
		}
		if (drop)
			*fields &= ~select_fields[i].bit;
		else
			*fields |= select_fields[i].bit;
		spec += len;
		if (*spec == ',')
			spec++;
	}
	return AT_OK;
}

/* A one-token read takes select only (lists go through RQL). */
static enum at_err take_select(struct at_ctx *ctx, const char *key, char *val, void *fields)
{
	return strcmp(key, "select") ? AT_ERR_NOT_FOUND : parse_select(ctx, val, fields);
}

static enum at_err set_etag(struct at_ctx *ctx, long long revision)
{
	return at_response_header(ctx->resp, "ETag", "\"%lld\"", revision);
}

/* If-Match: "*", or a list of "N" / W/"N" / N; none matching is 412. */
static enum at_err check_if_match(struct at_ctx *ctx, long long revision)
{
	const char *p = ctx->req->if_match;
	char want[32];
	size_t len, wl;

	if (!p)
		return AT_OK;
	wl = (size_t)snprintf(want, sizeof(want), "%lld", revision);
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return AT_OK;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (*p == '"')
			p++;
		len = strcspn(p, "\", ");
		if (len == wl && !strncmp(p, want, wl))
			return AT_OK;
		p += len;
		if (*p == '"')
			p++;
	}
	at_problem_detail(&ctx->problem, "The token is at revision %lld, not the one in If-Match.",
			  revision);
	return AT_ERR_PRECONDITION;
}

/* 404 unless the token exists and the caller may see it. */
/* Read the token's row (TOKEN_COLUMNS) into rows, which the caller
 * releases; 404 (rows released) unless it exists and the caller may see
 * it. */
static enum at_err read_visible(struct at_ctx *ctx, const char *id, struct at_db_rows *rows)
{
	struct at_db_param p = AT_DB_P_STR(id);
	bool found = false;
	enum at_err rc;

	if ((rc = at_db_query(ctx->db, AT_STMT_TOKEN_GET, &p, 1, rows)))
		return at_db_failed(ctx, rc);
	rc = at_db_rows_next(rows, &found);
	if (!rc && (!found || !visible(ctx, at_db_rows_str(rows, TC_ACCOUNT_ID, NULL),
				       at_db_rows_str(rows, TC_STATUS, NULL))))
		rc = AT_ERR_NOT_FOUND;
	if (rc)
		at_db_rows_release(rows);
	return at_db_failed(ctx, rc);
}

static enum at_err token_visible(struct at_ctx *ctx, const char *id)
{
	struct at_db_rows rows;
	enum at_err rc;

	if (!(rc = read_visible(ctx, id, &rows)))
		at_db_rows_release(&rows);
	return rc;
}

/* Read a token and reply with it. */
static enum at_err reply_token(struct at_ctx *ctx, const char *id, int status,
			       unsigned fields, const char *value)
{
	struct json_object *obj = NULL;
	struct at_db_rows rows;
	enum at_err rc;

	if ((rc = read_visible(ctx, id, &rows)))
		return rc;
	if ((rc = set_etag(ctx, at_db_rows_int(&rows, TC_REVISION))) ||
	    (rc = render_token(ctx, &rows, fields, value, &obj)))
		goto out;
	if (value) {
		/* the body holds a secret: wipe every copy when done */
		ctx->resp->body.secret = true;
		ctx->resp->status = status;
		at_strlcpy(ctx->resp->content_type, "application/json",
			   sizeof(ctx->resp->content_type));
		at_buf_reset(&ctx->resp->body);
		ctx->resp->body.secret = true;
		rc = at_json_render_secret(&ctx->resp->body, obj);
		json_object_object_foreach(obj, k, v) {
			if (!strcmp(k, "token"))
				at_json_wipe_string(v);
		}
		json_object_put(obj);
	} else {
		rc = at_reply_json(ctx, status, obj);
	}
out:
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

/* ---- audit records ---------------------------------------------------------- */

static const struct {
	const char *key;	/* platform.accounts.api-token.<key> */
	const char *verb;	/* for the summary */
} audit_events[] = {
	[EV_CREATED] = { "created", "created" },
	[EV_UPDATED] = { "updated", "changed" },
	[EV_ENABLED] = { "enabled", "enabled" },
	[EV_DISABLED] = { "disabled", "disabled" },
	[EV_DELETED] = { "deleted", "deleted" },
	[EV_REVEALED] = { "revealed", "revealed the value of" },
};

/* The token as an audit document: what a GET shows, with the value
 * masked: a record never holds a secret. */
static enum at_err token_document(struct at_ctx *ctx, const char *id, struct json_object **out,
				  char *account, size_t alen, long long *revision)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	char masked[AT_TOKEN_ID_LEN + 16];
	bool found = false;
	enum at_err rc;

	*out = NULL;
	snprintf(masked, sizeof(masked), "idt:%s:********", id);
	if ((rc = at_db_query(ctx->db, AT_STMT_TOKEN_GET, &p, 1, &rows)))
		return rc;
	if (!(rc = at_db_rows_next(&rows, &found)) && !found)
		rc = AT_ERR_NOT_FOUND;
	if (!rc) {
		if (account)
			at_strlcpy(account, at_db_rows_str(&rows, TC_ACCOUNT_ID, NULL), alen);
		if (revision)
			*revision = at_db_rows_int(&rows, TC_REVISION);
		rc = render_token(ctx, &rows, F_DEFAULT_ONE, masked, out);
	}
	at_db_rows_release(&rows);
	return rc;
}

/* One record for a change of token id, in the change's transaction:
 * documents hold the token before (when given) and after, and for an
 * update the names of the fields that changed.  Takes before. */
static enum at_err audit_token(struct at_ctx *ctx, const char *id, enum audit_event ev,
			       struct json_object *before, const char *const *changes,
			       size_t nchanges)
{
	struct json_object *docs = NULL, *after = NULL, *list, *namev;
	struct at_audit_record r = { .object_id = id, .object_type = "ApiToken" };
	char account[AT_ID_MAX], event[64], summary[2048], details[256], rid[AT_AUDIT_ID_LEN + 1];
	const char *name = "";
	enum at_err rc;
	size_t i;

	if ((rc = token_document(ctx, id, &after, account, sizeof(account), &r.object_revision)))
		goto out;
	docs = json_object_new_object();
	if (!docs) {
		rc = AT_ERR_NOMEM;
		goto out;
	}
	if (before && (rc = at_json_add(docs, "before", json_object_get(before))))
		goto out;
	if ((rc = at_json_add(docs, "after", json_object_get(after))))
		goto out;
	if (nchanges) {
		list = json_object_new_array();
		if ((rc = at_json_add(docs, "changes", list)))
			goto out;
		for (i = 0; i < nchanges; i++)
			if ((rc = at_json_push(list, json_object_new_string(changes[i]))))
				goto out;
	}
	if (json_object_object_get_ex(after, "name", &namev))
		name = json_object_get_string(namev);
	snprintf(event, sizeof(event), "platform.accounts.api-token.%s", audit_events[ev].key);
	snprintf(summary, sizeof(summary), "%s %s API token %s (%s)", ctx->caller.name,
		 audit_events[ev].verb, name, id);
	snprintf(details, sizeof(details), "{{actor.name}} ({{actor.id}}) %s API token "
		 "{{object.name}} ({{object.id}}).", audit_events[ev].verb);
	r.event = event;
	r.summary = summary;
	r.details = details;
	r.account_id = account;
	r.object_name = name;
	r.documents = json_object_to_json_string_ext(docs, JSON_C_TO_STRING_PLAIN);
	at_audit_actor(&r, ctx);
	rc = at_audit_append(ctx->db, ctx->keys, &r, rid);
out:
	json_object_put(before);
	json_object_put(after);
	json_object_put(docs);
	return rc;
}

/* ---- validation -------------------------------------------------------- */

static bool check_name(struct at_ctx *ctx, struct json_object *v, const char **out)
{
	const char *s;
	size_t len;

	if (!v || json_object_is_type(v, json_type_null)) {
		at_problem_field(&ctx->problem, "name", "The name is required.");
		return false;
	}
	if (!json_object_is_type(v, json_type_string)) {
		at_problem_field(&ctx->problem, "name", "The name must be a string.");
		return false;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0) {
		at_problem_field(&ctx->problem, "name", "The name is required.");
		return false;
	}
	if (at_utf8_chars(s, len) > AT_TOKEN_NAME_CHARS) {
		at_problem_field(&ctx->problem, "name", "The name must be at most %d characters.",
				 AT_TOKEN_NAME_CHARS);
		return false;
	}
	if (!at_name_chars_valid(s, len)) {
		at_problem_field(&ctx->problem, "name",
				 "The name may contain only letters, digits, spaces and - . ' \".");
		return false;
	}
	*out = s;
	return true;
}

/* description: a string, or null / "" for none. */
static bool check_description(struct at_ctx *ctx, struct json_object *v, const char **out)
{
	const char *s;
	size_t len;

	*out = NULL;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string)) {
		at_problem_field(&ctx->problem, "description", "The description must be a string.");
		return false;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (at_utf8_chars(s, len) > AT_TOKEN_DESCRIPTION_CHARS) {
		at_problem_field(&ctx->problem, "description",
				 "The description must be at most %d characters.",
				 AT_TOKEN_DESCRIPTION_CHARS);
		return false;
	}
	*out = len ? s : NULL;
	return true;
}

/* icon: logos are uploaded with PUT …/icon; in a body only "" or null
 * (remove it) or the token's own icon path (keep it) make sense. */
static bool check_icon(struct at_ctx *ctx, struct json_object *v, const char *id, bool *keep)
{
	char own[128], own2[128];
	const char *s;

	*keep = false;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string)) {
		at_problem_field(&ctx->problem, "icon", "The icon must be a string.");
		return false;
	}
	s = json_object_get_string(v);
	if (!*s)
		return true;
	snprintf(own, sizeof(own), "/public/v1/accounts/api-tokens/%s/icon", id ? id : "");
	snprintf(own2, sizeof(own2), "/settings/api-tokens/%s/icon", id ? id : "");
	if (id && (!strcmp(s, own) || !strcmp(s, own2))) {
		*keep = true;
		return true;
	}
	at_problem_field(&ctx->problem, "icon",
			 "Upload the logo with PUT …/api-tokens/{id}/icon; here the icon may "
			 "only be empty.");
	return false;
}

struct module_set {
	char ids[AT_TOKEN_MODULES_MAX][AT_MODULE_ID_MAX];
	size_t n;
};

static bool set_has(const struct module_set *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->ids[i], id))
			return true;
	return false;
}

/* modules: [{"id": "MOD-dddd"}, …], no duplicates; shape only here. */
static bool check_modules_shape(struct at_ctx *ctx, struct json_object *v, struct module_set *out)
{
	struct json_object *m, *idv;
	const char *id;
	size_t i, n;
	bool ok = true;

	out->n = 0;
	if (!v || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_array)) {
		at_problem_field(&ctx->problem, "modules", "The modules must be a list of {\"id\"}.");
		return false;
	}
	n = json_object_array_length(v);
	if (n > AT_TOKEN_MODULES_MAX) {
		at_problem_field(&ctx->problem, "modules", "A token holds at most %d modules.",
				 AT_TOKEN_MODULES_MAX);
		return false;
	}
	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(v, i);
		if (!json_object_is_type(m, json_type_object) ||
		    !json_object_object_get_ex(m, "id", &idv) ||
		    !json_object_is_type(idv, json_type_string)) {
			at_problem_field(&ctx->problem, "modules",
					 "Module %zu must be an object with a string id.", i);
			ok = false;
			continue;
		}
		id = json_object_get_string(idv);
		if (!at_id_valid(id, "MOD", 1)) {
			at_problem_field(&ctx->problem, "modules",
					 "'%.20s' is not a module id (MOD-dddd).", id);
			ok = false;
			continue;
		}
		if (set_has(out, id)) {
			at_problem_field(&ctx->problem, "modules", "%s is listed twice.", id);
			ok = false;
			continue;
		}
		at_strlcpy(out->ids[out->n++], id, AT_MODULE_ID_MAX);
	}
	return ok;
}

/* Each wanted module must be enabled for the account, and a module the
 * token does not have yet must be held by the caller: nobody hands out
 * more than they have. */
static enum at_err check_modules_allowed(struct at_ctx *ctx, const char *account_id,
					 const struct module_set *want,
					 const struct module_set *had)
{
	struct at_db_param p = AT_DB_P_STR(account_id);
	struct module_set enabled = { .n = 0 };
	struct at_db_rows rows;
	const char *id;
	enum at_err rc;
	bool more, ok = true;
	size_t i;

	if (!want->n)
		return AT_OK;
	if ((rc = at_db_query(ctx->db, AT_STMT_ACCOUNT_MODULES, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		id = at_db_rows_str(&rows, 0, NULL);
		if (id && enabled.n < AT_TOKEN_MODULES_MAX)
			at_strlcpy(enabled.ids[enabled.n++], id, AT_MODULE_ID_MAX);
	}
	at_db_rows_release(&rows);
	if (rc)
		return at_db_failed(ctx, rc);
	for (i = 0; i < want->n; i++) {
		if (!set_has(&enabled, want->ids[i])) {
			at_problem_field(&ctx->problem, "modules",
					 "%s is not enabled for account %s.", want->ids[i],
					 account_id);
			ok = false;
		} else if (!set_has(had, want->ids[i]) &&
			   !at_caller_holds(&ctx->caller, want->ids[i])) {
			at_problem_field(&ctx->problem, "modules",
					 "%s cannot be granted by a caller that does not hold it.",
					 want->ids[i]);
			ok = false;
		}
	}
	return ok ? AT_OK : AT_ERR_INVALID;
}

/* The request body as a JSON object. */
static enum at_err body_object(struct at_ctx *ctx, struct json_object **out)
{
	struct at_buf *b = &ctx->req->body;
	char err[256];
	enum at_err rc;

	*out = NULL;
	if (!b->len) {
		at_problem_detail(&ctx->problem, "The body must be a JSON object.");
		return AT_ERR_INVALID;
	}
	rc = at_json_parse(b->data, b->len, out, err, sizeof(err));
	if (rc) {
		at_problem_detail(&ctx->problem, "%s.", err);
		return rc;
	}
	if (!json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		at_problem_detail(&ctx->problem, "The body must be a JSON object.");
		return AT_ERR_INVALID;
	}
	return AT_OK;
}

static struct json_object *member(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

/* ---- list and read ------------------------------------------------------ */

/* The response fields an RQL select asked for. */
static unsigned rql_fields(const struct at_rql_query *q)
{
	unsigned fields = 0;
	size_t i;

	for (i = 0; i < sizeof(select_fields) / sizeof(select_fields[0]); i++)
		if (at_rql_selected(q, &at_rql_tokens, select_fields[i].name))
			fields |= select_fields[i].bit;
	return fields;
}

static enum at_err list_check(struct at_ctx *ctx, const struct at_rql_query *q)
{
	if (!(rql_fields(q) & F_TOKEN))
		return AT_OK;
	at_problem_field(&ctx->problem, "select",
			 "Token values are never listed; read one token with select=token.");
	return AT_ERR_INVALID;
}

static enum at_err list_render(struct at_ctx *ctx, const struct at_db_rows *rows,
			       const struct at_rql_query *q, struct json_object **out)
{
	return render_token(ctx, rows, rql_fields(q), NULL, out);
}

/* Client and Vendor callers list their own account without Deleted
 * tokens, Operations every account; an RQL filter only narrows that. */
enum at_err at_tokens_list(struct at_ctx *ctx)
{
	static const struct at_list_scope all = {
		AT_TPL_TOKEN_LIST, AT_TPL_TOKEN_COUNT, AT_STMT_TOKEN_TOTAL_ALL
	};
	static const struct at_list_scope own = {
		AT_TPL_TOKEN_LIST_ACCOUNT, AT_TPL_TOKEN_COUNT_ACCOUNT, AT_STMT_TOKEN_TOTAL_ACCOUNT
	};
	struct at_list_spec spec = {
		.res = &at_rql_tokens,
		.check = list_check,
		.render = list_render,
	};

	return at_list_reply_confined(ctx, &spec, &all, &own);
}

/* The sealed copy, opened; AT_ERR_FORBIDDEN when this deployment keeps
 * none, AT_ERR_CONFLICT when the token has none (Deleted). */
static enum at_err reveal(struct at_ctx *ctx, const char *id, char *value)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *sealed;
	size_t len = 0;
	bool found = false;
	enum at_err rc;

	if (ctx->settings->reveal == AT_REVEAL_NEVER) {
		at_problem_detail(&ctx->problem, "This server shows token values only once, when "
				  "they are created.");
		return AT_ERR_FORBIDDEN;
	}
	if ((rc = at_db_query(ctx->db, AT_STMT_TOKEN_SEALED, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	if ((rc = at_db_rows_next(&rows, &found)))
		goto out;
	sealed = found ? at_db_rows_str(&rows, 0, &len) : NULL;
	if (!sealed) {
		at_problem_detail(&ctx->problem, "The token has no value to show: it was deleted, "
				  "or created while values were shown only once.");
		rc = AT_ERR_CONFLICT;
		goto out;
	}
	rc = at_token_open(ctx->keys, (unsigned)at_db_rows_int(&rows, 1), id,
			   (const unsigned char *)sealed, len, value);
	if (rc)
		at_problem_internal(&ctx->problem, "token %s: sealed value does not open", id);
	/* the result buffer held only ciphertext; nothing to wipe there */
out:
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

struct reveal_job {
	struct at_ctx *ctx;
	const char *id;
};

static enum at_err reveal_tx(void *arg)
{
	struct reveal_job *j = arg;

	return at_db_failed(j->ctx, audit_token(j->ctx, j->id, EV_REVEALED, NULL, NULL, 0));
}

enum at_err at_tokens_get(struct at_ctx *ctx)
{
	char value[AT_TOKEN_VALUE_LEN + 1];
	unsigned fields = F_DEFAULT_ONE;
	const char *id;
	enum at_err rc;

	if ((rc = token_id_param(ctx, &id)) || (rc = at_query_each(ctx, take_select, &fields)))
		return rc;
	if (!(fields & F_TOKEN))
		return reply_token(ctx, id, 200, fields, NULL);
	/* a token reading itself without the module gets no reveal */
	if (!ctx->caller.access_management) {
		at_problem_detail(&ctx->problem, "Showing a token value needs the Access "
				  "Management module.");
		return AT_ERR_FORBIDDEN;
	}
	/* visibility first: a reveal of someone else's token is a 404; no
	 * value leaves without its audit record committed */
	if ((rc = token_visible(ctx, id)) || (rc = reveal(ctx, id, value)))
		return rc;
	rc = at_db_transact(ctx->db, reveal_tx, &(struct reveal_job){ ctx, id });
	if (!rc)
		rc = reply_token(ctx, id, 200, fields, value);
	at_wipe(value, sizeof(value));
	return rc;
}

/* ---- changes ------------------------------------------------------------- */

/* Lock the token and read what a change needs; visibility, Deleted and
 * If-Match are checked here for every change. */
static enum at_err lock_token(struct at_ctx *ctx, const char *id, struct token_state *st)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *v;
	bool found = false;
	enum at_err rc;

	if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_LOCK, &p, 1, NULL)))
		return at_db_failed(ctx, rc);
	if ((rc = read_visible(ctx, id, &rows)))
		return rc;
	at_strlcpy(st->id, id, sizeof(st->id));
	at_strlcpy(st->account_id, at_db_rows_str(&rows, TC_ACCOUNT_ID, NULL),
		   sizeof(st->account_id));
	at_strlcpy(st->status, at_db_rows_str(&rows, TC_STATUS, NULL), sizeof(st->status));
	v = at_db_rows_str(&rows, TC_NAME, NULL);
	at_strlcpy(st->name, v ? v : "", sizeof(st->name));
	v = at_db_rows_str(&rows, TC_DESCRIPTION, NULL);
	st->has_description = v != NULL;
	at_strlcpy(st->description, v ? v : "", sizeof(st->description));
	v = at_db_rows_str(&rows, TC_HAS_ICON, NULL);
	st->has_icon = v && strcmp(v, "0");
	st->revision = at_db_rows_int(&rows, TC_REVISION);
	at_db_rows_release(&rows);

	if ((rc = at_db_query(ctx->db, AT_STMT_TOKEN_MODULES, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	st->nmodules = 0;
	while (!(rc = at_db_rows_next(&rows, &found)) && found) {
		v = at_db_rows_str(&rows, 0, NULL);
		if (v && st->nmodules < AT_TOKEN_MODULES_MAX)
			at_strlcpy(st->modules[st->nmodules++], v, AT_MODULE_ID_MAX);
	}
	if (rc)
		goto out;
	if (!strcmp(st->status, "Deleted")) {
		at_problem_detail(&ctx->problem, "The token is deleted; deletion is final.");
		rc = AT_ERR_CONFLICT;
		goto out;
	}
	rc = check_if_match(ctx, st->revision);
out:
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

struct create_job {
	struct at_ctx *ctx;
	struct at_token_new t;
	char id[AT_TOKEN_ID_LEN + 1];
	char value[AT_TOKEN_VALUE_LEN + 1];
};

static enum at_err create_tx(void *arg)
{
	struct create_job *j = arg;

	return at_tokens_insert(j->ctx, &j->t, j->id, j->value);
}

/* account: {"id"} names the account; only Operations may name another. */
static enum at_err create_account(struct at_ctx *ctx, struct json_object *body,
				  const char **account_id)
{
	struct json_object *acc = member(body, "account"), *idv;
	struct at_db_param p;
	struct at_db_rows rows;
	const char *id;
	bool found = false;
	enum at_err rc;

	*account_id = ctx->caller.account_id;
	if (!acc || json_object_is_type(acc, json_type_null))
		return AT_OK;
	if (!json_object_is_type(acc, json_type_object) ||
	    !json_object_object_get_ex(acc, "id", &idv) ||
	    !json_object_is_type(idv, json_type_string) ||
	    !at_id_valid(id = json_object_get_string(idv), "ACC", 2)) {
		at_problem_field(&ctx->problem, "account.id",
				 "The account must be {\"id\": \"ACC-dddd-dddd\"}.");
		return AT_ERR_INVALID;
	}
	if (!strcmp(id, ctx->caller.account_id))
		return AT_OK;
	if (!at_caller_is_ops(&ctx->caller)) {
		at_problem_detail(&ctx->problem, "Tokens can only be created in the caller's own "
				  "account.");
		return AT_ERR_FORBIDDEN;
	}
	p = AT_DB_P_STR(id);
	if ((rc = at_db_query(ctx->db, AT_STMT_ACCOUNT_GET, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	rc = at_db_rows_next(&rows, &found);
	at_db_rows_release(&rows);
	if (rc)
		return at_db_failed(ctx, rc);
	if (!found) {
		at_problem_field(&ctx->problem, "account.id", "Account %s does not exist.", id);
		return AT_ERR_INVALID;
	}
	*account_id = id;
	return AT_OK;
}

/* The checks of a create body that need no database. */
static bool check_create_fields(struct at_ctx *ctx, struct json_object *body,
				struct at_token_new *t, struct module_set *want)
{
	bool keep_icon, ok;

	ok = check_name(ctx, member(body, "name"), &t->name);
	ok = check_description(ctx, member(body, "description"), &t->description) && ok;
	ok = check_icon(ctx, member(body, "icon"), NULL, &keep_icon) && ok;
	return check_modules_shape(ctx, member(body, "modules"), want) && ok;
}

enum at_err at_tokens_check_body(struct at_ctx *ctx)
{
	struct json_object *body = NULL;
	struct module_set want;
	struct at_token_new t;
	enum at_err rc;

	if ((rc = body_object(ctx, &body)))
		return rc;
	rc = check_create_fields(ctx, body, &t, &want) ? AT_OK : AT_ERR_INVALID;
	json_object_put(body);
	return rc;
}

enum at_err at_tokens_create(struct at_ctx *ctx)
{
	struct create_job *j = NULL;
	struct json_object *body = NULL;
	struct module_set want, none = { .n = 0 };
	const char *mods[AT_TOKEN_MODULES_MAX];
	enum at_err rc;
	bool ok;
	size_t i;

	if ((rc = body_object(ctx, &body)))
		return rc;
	j = calloc(1, sizeof(*j));
	if (!j) {
		rc = AT_ERR_NOMEM;
		goto out;
	}
	j->ctx = ctx;
	ok = check_create_fields(ctx, body, &j->t, &want);
	if ((rc = create_account(ctx, body, &j->t.account_id)))
		goto out;
	if (!ok) {
		rc = AT_ERR_INVALID;
		goto out;
	}
	if ((rc = check_modules_allowed(ctx, j->t.account_id, &want, &none)))
		goto out;
	for (i = 0; i < want.n; i++)
		mods[i] = want.ids[i];
	j->t.modules = mods;
	j->t.nmodules = want.n;
	if ((rc = at_db_transact(ctx->db, create_tx, j))) {
		at_db_failed(ctx, rc);
		goto out;
	}
	if ((rc = at_response_header(ctx->resp, "Location", "/public/v1/accounts/api-tokens/%s",
				     j->id)))
		goto out;
	rc = reply_token(ctx, j->id, 201, F_DEFAULT_ONE, j->value);
out:
	if (j)
		at_wipe(j->value, sizeof(j->value));
	free(j);
	json_object_put(body);
	return rc;
}

enum state_change { CHANGE_ENABLE, CHANGE_DISABLE, CHANGE_DELETE };

/* A change to the token named in the path, run in one transaction; on
 * the heap, as token_state is large. */
struct change_job {
	struct at_ctx *ctx;
	const char *id;
	struct token_state st;
	struct json_object *body;	/* update */
	enum state_change change;	/* enable, disable, delete */
	const char *icon_type;		/* icon upload */
};

static enum at_err change_new(struct at_ctx *ctx, struct change_job **out)
{
	const char *id;
	enum at_err rc;

	*out = NULL;
	if ((rc = token_id_param(ctx, &id)))
		return rc;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return AT_ERR_NOMEM;
	(*out)->ctx = ctx;
	(*out)->id = id;
	return AT_OK;
}

static bool same_modules(const struct token_state *st, const struct module_set *want)
{
	size_t i;

	if (st->nmodules != want->n)
		return false;
	for (i = 0; i < want->n; i++) {
		size_t k;

		for (k = 0; k < st->nmodules && strcmp(st->modules[k], want->ids[i]); k++)
			;
		if (k == st->nmodules)
			return false;
	}
	return true;
}

static enum at_err update_tx(void *arg)
{
	struct change_job *j = arg;
	struct at_ctx *ctx = j->ctx;
	struct token_state *st = &j->st;
	struct json_object *v;
	struct module_set want, had = { .n = 0 };
	const char *name = NULL, *desc = NULL;
	bool ok = true, keep_icon = false, change = false, mods_given;
	bool has_icon, icon_change;
	struct json_object *before = NULL;
	const char *changes[4];
	size_t i, nchanges = 0;
	enum at_err rc;

	at_problem_clear(&ctx->problem);
	if ((rc = lock_token(ctx, j->id, st)))
		return rc;
	/* delta: only the fields present change */
	name = st->name;
	if (json_object_object_get_ex(j->body, "name", &v) && (ok = check_name(ctx, v, &name)))
		change |= strcmp(name, st->name) != 0;
	desc = st->has_description ? st->description : NULL;
	if (json_object_object_get_ex(j->body, "description", &v)) {
		ok = check_description(ctx, v, &desc) && ok;
		change |= (desc == NULL) != (!st->has_description) ||
			  (desc && strcmp(desc, st->description));
	}
	has_icon = st->has_icon;
	if (json_object_object_get_ex(j->body, "icon", &v)) {
		ok = check_icon(ctx, v, j->id, &keep_icon) && ok;
		has_icon = st->has_icon && keep_icon;
	}
	icon_change = has_icon != st->has_icon;
	mods_given = json_object_object_get_ex(j->body, "modules", &v);
	if (mods_given) {
		ok = check_modules_shape(ctx, v, &want) && ok;
		for (i = 0; i < st->nmodules; i++)
			at_strlcpy(had.ids[had.n++], st->modules[i], AT_MODULE_ID_MAX);
	}
	if (!ok)
		return AT_ERR_INVALID;
	if (mods_given) {
		if ((rc = check_modules_allowed(ctx, st->account_id, &want, &had)))
			return rc;
		mods_given = !same_modules(st, &want);
		change |= mods_given;
	}
	if (!change && !icon_change)
		return AT_OK;	/* nothing to record: the revision stays */
	if (strcmp(name, st->name))
		changes[nchanges++] = "name";
	if ((desc == NULL) != !st->has_description || (desc && strcmp(desc, st->description)))
		changes[nchanges++] = "description";
	if (icon_change)
		changes[nchanges++] = "icon";
	if (mods_given)
		changes[nchanges++] = "modules";
	if ((rc = token_document(ctx, j->id, &before, NULL, 0, NULL)))
		return at_db_failed(ctx, rc);
	/* one statement for every field, so a change counts once */
	{
		struct at_db_param p[] = {
			AT_DB_P_STR(name), AT_DB_P_OPT(desc), AT_DB_P_INT(has_icon),
			AT_DB_P_STR(ctx->caller.id), AT_DB_P_STR(ctx->caller.name),
			AT_DB_P_STR(j->id),
		};

		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_UPDATE, p, 6, NULL)))
			goto fail;
	}
	if (icon_change) {
		struct at_db_param p = AT_DB_P_STR(j->id);

		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_ICON_CLEAR, &p, 1, NULL)))
			goto fail;
	}
	if (mods_given) {
		struct at_db_param p = AT_DB_P_STR(j->id);

		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_MODULES_CLEAR, &p, 1, NULL)))
			goto fail;
		for (i = 0; i < want.n; i++) {
			struct at_db_param m[] = { AT_DB_P_STR(j->id), AT_DB_P_STR(want.ids[i]) };

			if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_MODULE_ADD, m, 2, NULL)))
				goto fail;
		}
	}
	rc = audit_token(ctx, j->id, EV_UPDATED, before, changes, nchanges);
	return at_db_failed(ctx, rc);
fail:
	json_object_put(before);
	return at_db_failed(ctx, rc);
}

enum at_err at_tokens_update(struct at_ctx *ctx)
{
	struct change_job *j;
	enum at_err rc;

	if ((rc = change_new(ctx, &j)))
		return rc;
	if (!(rc = body_object(ctx, &j->body)) && !(rc = at_db_transact(ctx->db, update_tx, j)))
		rc = reply_token(ctx, j->id, 200, F_DEFAULT_ONE, NULL);
	json_object_put(j->body);
	free(j);
	return rc;
}


static enum at_err state_tx(void *arg)
{
	static const enum at_stmt stmts[] = { AT_STMT_TOKEN_ENABLE, AT_STMT_TOKEN_DISABLE,
					      AT_STMT_TOKEN_DELETE };
	static const enum audit_event events[] = { EV_ENABLED, EV_DISABLED, EV_DELETED };
	struct change_job *j = arg;
	struct at_ctx *ctx = j->ctx;
	struct json_object *before = NULL;
	uint64_t affected = 0;
	enum at_err rc;

	at_problem_clear(&ctx->problem);
	if ((rc = lock_token(ctx, j->id, &j->st)))
		return rc;
	if (j->change == CHANGE_ENABLE && strcmp(j->st.status, "Disabled")) {
		at_problem_detail(&ctx->problem, "The token is already Active.");
		return AT_ERR_CONFLICT;
	}
	if (j->change == CHANGE_DISABLE && strcmp(j->st.status, "Active")) {
		at_problem_detail(&ctx->problem, "The token is already Disabled.");
		return AT_ERR_CONFLICT;
	}
	if ((rc = token_document(ctx, j->id, &before, NULL, 0, NULL)))
		return at_db_failed(ctx, rc);
	{
		struct at_db_param p[] = { AT_DB_P_STR(ctx->caller.id),
					   AT_DB_P_STR(ctx->caller.name), AT_DB_P_STR(j->id) };

		if ((rc = at_db_exec(ctx->db, stmts[j->change], p, 3, &affected)))
			goto fail;
	}
	if (affected != 1) {
		rc = AT_ERR_INTERNAL;	/* the row is locked: cannot happen */
		goto fail;
	}
	if (j->change == CHANGE_DELETE) {
		struct at_db_param p = AT_DB_P_STR(j->st.account_id);

		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_COUNT_DROP, &p, 1, NULL)))
			goto fail;
	}
	return at_db_failed(ctx, audit_token(ctx, j->id, events[j->change], before, NULL, 0));
fail:
	json_object_put(before);
	return at_db_failed(ctx, rc);
}

static enum at_err change_state(struct at_ctx *ctx, enum state_change change)
{
	struct change_job *j;
	enum at_err rc;

	if ((rc = change_new(ctx, &j)))
		return rc;
	j->change = change;
	rc = at_db_transact(ctx->db, state_tx, j);
	if (!rc && change == CHANGE_DELETE) {
		ctx->resp->status = 204;
		ctx->resp->content_type[0] = '\0';
	} else if (!rc) {
		rc = reply_token(ctx, j->id, 200, F_DEFAULT_ONE, NULL);
	}
	free(j);
	return rc;
}

enum at_err at_tokens_enable(struct at_ctx *ctx)
{
	return change_state(ctx, CHANGE_ENABLE);
}

enum at_err at_tokens_disable(struct at_ctx *ctx)
{
	return change_state(ctx, CHANGE_DISABLE);
}

enum at_err at_tokens_delete(struct at_ctx *ctx)
{
	return change_state(ctx, CHANGE_DELETE);
}

/* ---- icon --------------------------------------------------------------- */

/* The type comes from the magic bytes, never from the client's header. */
const char *at_icon_type(const unsigned char *p, size_t n)
{
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return "image/jpeg";
	return NULL;
}

static enum at_err icon_tx(void *arg)
{
	static const char *const changes[] = { "icon" };
	struct change_job *j = arg;
	struct at_ctx *ctx = j->ctx;
	struct at_buf *b = &ctx->req->body;
	struct json_object *before = NULL;
	enum at_err rc;

	at_problem_clear(&ctx->problem);
	if ((rc = lock_token(ctx, j->id, &j->st)))
		return rc;
	if ((rc = token_document(ctx, j->id, &before, NULL, 0, NULL)))
		return at_db_failed(ctx, rc);
	{
		struct at_db_param p[] = { AT_DB_P_STR(j->id), AT_DB_P_STR(j->icon_type),
					   AT_DB_P_BLOB(b->data, b->len) };
		struct at_db_param f[] = { AT_DB_P_INT(1), AT_DB_P_STR(ctx->caller.id),
					   AT_DB_P_STR(ctx->caller.name), AT_DB_P_STR(j->id) };

		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_ICON_SET, p, 3, NULL)) ||
		    (rc = at_db_exec(ctx->db, AT_STMT_TOKEN_ICON_FLAG, f, 4, NULL))) {
			json_object_put(before);
			return at_db_failed(ctx, rc);
		}
	}
	return at_db_failed(ctx, audit_token(ctx, j->id, EV_UPDATED, before, changes, 1));
}

enum at_err at_tokens_icon_put(struct at_ctx *ctx)
{
	struct at_buf *b = &ctx->req->body;
	struct change_job *j;
	enum at_err rc;

	if ((rc = change_new(ctx, &j)))
		return rc;
	j->icon_type = at_icon_type((const unsigned char *)b->data, b->len);
	if (!b->len) {
		at_problem_field(&ctx->problem, "icon", "The body must hold a PNG or JPEG image.");
		rc = AT_ERR_INVALID;
	} else if (!j->icon_type) {
		at_problem_detail(&ctx->problem, "The logo must be a PNG or JPEG image.");
		rc = AT_ERR_MEDIA_TYPE;
	} else if (!(rc = at_db_transact(ctx->db, icon_tx, j))) {
		rc = reply_token(ctx, j->id, 200, F_DEFAULT_ONE, NULL);
	}
	free(j);
	return rc;
}

enum at_err at_tokens_icon_get(struct at_ctx *ctx)
{
	struct at_db_param p;
	struct at_db_rows rows;
	const char *id, *type, *data;
	size_t len = 0;
	bool found = false;
	enum at_err rc;

	if ((rc = token_id_param(ctx, &id)))
		return rc;
	if ((rc = token_visible(ctx, id)))
		return rc;
	p = AT_DB_P_STR(id);
	if ((rc = at_db_query(ctx->db, AT_STMT_TOKEN_ICON_GET, &p, 1, &rows)))
		return at_db_failed(ctx, rc);
	if ((rc = at_db_rows_next(&rows, &found)))
		goto out;
	type = found ? at_db_rows_str(&rows, 0, NULL) : NULL;
	data = found ? at_db_rows_str(&rows, 1, &len) : NULL;
	if (!type || !data) {
		at_problem_detail(&ctx->problem, "The token has no logo.");
		rc = AT_ERR_NOT_FOUND;
		goto out;
	}
	ctx->resp->status = 200;
	at_strlcpy(ctx->resp->content_type, type, sizeof(ctx->resp->content_type));
	rc = at_buf_append(&ctx->resp->body, data, len);
out:
	at_db_rows_release(&rows);
	return at_db_failed(ctx, rc);
}

/* ---- the audit trail of one token, and module removal ------------------------ */

enum at_err at_tokens_audit(struct at_ctx *ctx)
{
	struct at_db_rows rows;
	char account[AT_ID_MAX];
	const char *id;
	enum at_err rc;

	if ((rc = token_id_param(ctx, &id)) || (rc = read_visible(ctx, id, &rows)))
		return rc;
	at_strlcpy(account, at_db_rows_str(&rows, TC_ACCOUNT_ID, NULL), sizeof(account));
	at_db_rows_release(&rows);
	return at_audit_object_list(ctx, id, account);
}

enum at_err at_tokens_strip_module(struct at_ctx *ctx, const char *account_id,
				   const char *module_id, unsigned *changed)
{
	static const char *const changes[] = { "modules" };
	struct at_db_param p[] = { AT_DB_P_STR(account_id), AT_DB_P_STR(module_id) };
	char (*ids)[AT_TOKEN_ID_LEN + 1] = NULL, (*tmp)[AT_TOKEN_ID_LEN + 1];
	struct json_object *before;
	struct at_db_rows rows;
	size_t n = 0, cap = 0, i;
	enum at_err rc;
	const char *id;
	bool more;

	*changed = 0;
	/* the tokens first (the connection is needed for each change) */
	if ((rc = at_db_query(ctx->db, AT_STMT_TOKENS_WITH_MODULE, p, 2, &rows)))
		return rc;
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		id = at_db_rows_str(&rows, 0, NULL);
		if (!id)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			tmp = realloc(ids, cap * sizeof(*ids));
			if (!tmp) {
				rc = AT_ERR_NOMEM;
				break;
			}
			ids = tmp;
		}
		at_strlcpy(ids[n++], id, sizeof(*ids));
	}
	at_db_rows_release(&rows);
	for (i = 0; !rc && i < n; i++) {
		struct at_db_param q[] = { AT_DB_P_STR(ctx->caller.id), AT_DB_P_STR(ctx->caller.name),
					   AT_DB_P_STR(ids[i]) };
		struct at_db_param d[] = { AT_DB_P_STR(ids[i]), AT_DB_P_STR(module_id) };

		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_LOCK, q + 2, 1, NULL)) ||
		    (rc = token_document(ctx, ids[i], &before, NULL, 0, NULL)))
			break;
		if ((rc = at_db_exec(ctx->db, AT_STMT_TOKEN_MODULE_DROP, d, 2, NULL)) ||
		    (rc = at_db_exec(ctx->db, AT_STMT_TOKEN_TOUCH_UPDATED, q, 3, NULL))) {
			json_object_put(before);
			break;
		}
		if ((rc = audit_token(ctx, ids[i], EV_UPDATED, before, changes, 1)))
			break;
		(*changed)++;
	}
	if (!rc)
		rc = at_db_exec(ctx->db, AT_STMT_ACCOUNT_MODULE_DROP, p, 2, NULL);
	free(ids);
	return rc;
}
