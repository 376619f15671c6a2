/* token_render.c: a token as JSON (SPEC §4), and which fields to show. */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "text.h"
#include "tokens.h"

static const char *const event_names[AT_TOKEN_EVENTS] = {
	"created", "updated", "enabled", "disabled", "deleted",
	"rotated",
};

const struct at_token_fieldname at_token_fields[] = {
	{ "id", 0 }, { "name", AT_TF_NAME }, { "description", AT_TF_DESCRIPTION },
	{ "icon", AT_TF_ICON }, { "status", AT_TF_STATUS }, { "token", AT_TF_TOKEN },
	{ "lastAccessAt", AT_TF_LAST_ACCESS }, { "account", AT_TF_ACCOUNT },
	{ "modules", AT_TF_MODULES }, { "audit", AT_TF_AUDIT }, { "revision", AT_TF_REVISION },
	/* restrictions */
	{ "expiresAt", AT_TF_EXPIRES }, { "notBefore", AT_TF_NOT_BEFORE },
	{ "allowedIps", AT_TF_ALLOWED_IPS }, { "rateLimit", AT_TF_RATE_LIMIT },
	/* last-used addresses */
	{ "usage", AT_TF_USAGE },
};
const size_t at_token_nfields = sizeof(at_token_fields) / sizeof(at_token_fields[0]);

enum at_err at_token_select(const char *spec, unsigned *fields, struct at_problem *p)
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
		for (i = 0; i < at_token_nfields; i++)
			if (strlen(at_token_fields[i].name) == len &&
			    !strncmp(at_token_fields[i].name, spec, len))
				break;
		if (i == at_token_nfields) {
			snprintf(name, sizeof(name), "%.*s", (int)(len < 40 ? len : 40), spec);
			at_problem_field(p, "select", "Unknown field '%s'.", name);
			return AT_ERR_INVALID;
		}
		if (drop)
			*fields &= ~at_token_fields[i].bit;
		else
			*fields |= at_token_fields[i].bit;
		spec += len;
		if (*spec == ',')
			spec++;
	}
	return AT_OK;
}

/* A database time as ISO 8601; nothing when there is none. */
static void write_time(struct at_jw *w, const char *key, const char *dbtime)
{
	char iso[32];

	if (*dbtime && at_time_iso(dbtime, iso, sizeof(iso)))
		at_jw_str(w, key, iso);
}

const char *at_token_status(const struct at_token *t)
{
	return t->expiry_passed && !strcmp(t->status, "Active") ? "Expired" : t->status;
}

/* allowedIps as the list of its canonical entries. */
static void write_ips(struct at_jw *w, const char *ips)
{
	size_t n;

	at_jw_array(w, "allowedIps");
	while (*ips) {
		n = strcspn(ips, ",");
		at_jw_strn(w, NULL, ips, n);
		ips += n;
		if (*ips == ',')
			ips++;
	}
	at_jw_array_end(w);
}

static void write_audit(struct at_jw *w, const struct at_token *t)
{
	size_t i;

	at_jw_object(w, "audit");
	for (i = 0; i < AT_TOKEN_EVENTS; i++) {
		const struct at_token_stamp *e = &t->events[i];

		if (!e->set)
			continue;
		at_jw_object(w, event_names[i]);
		write_time(w, "at", e->at);
		at_jw_object(w, "by");
		at_jw_opt_str(w, "id", e->by_id);
		at_jw_opt_str(w, "name", e->by_name);
		at_jw_object_end(w);
		at_jw_object_end(w);
	}
	at_jw_object_end(w);
}

void at_token_render(struct at_jw *w, const char *key, const struct at_token *t,
		     unsigned fields, const char *value)
{
	char icon[128];
	size_t i;

	at_jw_object(w, key);
	at_jw_str(w, "id", t->id);
	if (fields & AT_TF_NAME)
		at_jw_opt_str(w, "name", t->name);
	if (fields & AT_TF_DESCRIPTION)
		at_jw_opt_str(w, "description", t->description);
	if ((fields & AT_TF_ICON) && t->has_icon) {
		/* where the settings page and API clients fetch it */
		snprintf(icon, sizeof(icon), "/public/v1/accounts/api-tokens/%s/icon", t->id);
		at_jw_str(w, "icon", icon);
	}
	if (fields & AT_TF_STATUS)
		at_jw_opt_str(w, "status", at_token_status(t));
	if (value)
		at_jw_str(w, "token", value);
	if (fields & AT_TF_LAST_ACCESS)
		write_time(w, "lastAccessAt", t->last_access);
	/* restrictions: each left out when the token has none */
	if (fields & AT_TF_EXPIRES)
		write_time(w, "expiresAt", t->expires_at);
	if (fields & AT_TF_NOT_BEFORE)
		write_time(w, "notBefore", t->not_before);
	if ((fields & AT_TF_ALLOWED_IPS) && t->allowed_ips[0])
		write_ips(w, t->allowed_ips);
	if ((fields & AT_TF_RATE_LIMIT) && t->rate_limit)
		at_jw_int(w, "rateLimit", t->rate_limit);
	if (fields & AT_TF_ACCOUNT) {
		at_jw_object(w, "account");
		at_jw_str(w, "id", t->account.id);
		at_jw_str(w, "name", t->account.name);
		at_jw_str(w, "type", t->account.type);
		at_jw_str(w, "status", t->account.status);
		at_jw_object_end(w);
	}
	if (fields & AT_TF_MODULES) {
		at_jw_array(w, "modules");
		for (i = 0; i < t->nmodules; i++) {
			at_jw_object(w, NULL);
			at_jw_str(w, "id", t->modules[i].id);
			at_jw_str(w, "name", t->modules[i].name);
			at_jw_object_end(w);
		}
		at_jw_array_end(w);
	}
	if (fields & AT_TF_AUDIT)
		write_audit(w, t);
	if (fields & AT_TF_REVISION)
		at_jw_int(w, "revision", t->revision);
	/* last-used addresses, newest first */
	if (fields & AT_TF_USAGE) {
		at_jw_array(w, "usage");
		for (i = 0; i < t->nusage; i++) {
			at_jw_object(w, NULL);
			at_jw_str(w, "ip", t->usage[i].ip);
			write_time(w, "firstSeenAt", t->usage[i].first_seen);
			write_time(w, "lastSeenAt", t->usage[i].last_seen);
			at_jw_object_end(w);
		}
		at_jw_array_end(w);
	}
	at_jw_object_end(w);
}
