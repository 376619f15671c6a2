/* settings.c: the INI file and its environment overrides.
 *
 * The file is read by inifile.c; this file knows its keys and values.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "inifile.h"
#include "isotime.h"
#include "settings.h"

#define ENV_PREFIX "APITOKEND_"

enum key_type { K_STR, K_UINT, K_OCTAL, K_SIZE, K_BOOL, K_REVEAL, K_LOGLEVEL, K_DURATION };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;		/* of the string field */
	unsigned long long min, max;
};

#define STR(sec, key, field) \
	{ sec, key, K_STR, offsetof(struct at_settings, field), \
	  sizeof(((struct at_settings *)0)->field), 0, 0 }
#define NUM(sec, key, type, field, lo, hi) \
	{ sec, key, type, offsetof(struct at_settings, field), 0, lo, hi }

/* The one list of configuration keys; the environment names derive from it. */
static const struct key keys[] = {
	STR("database", "host", db_host),
	NUM("database", "port", K_UINT, db_port, 0, 65535),
	STR("database", "socket", db_socket),
	STR("database", "user", db_user),
	STR("database", "password", db_password),
	STR("database", "name", db_name),
	NUM("database", "connect_timeout", K_UINT, db_connect_timeout, 1, 3600),
	STR("server", "listen", listen),
	NUM("server", "socket_mode", K_OCTAL, socket_mode, 0, 0777),
	NUM("server", "workers", K_UINT, workers, 1, 256),
	NUM("server", "log_level", K_LOGLEVEL, log_level, 0, 0),
	STR("server", "log_file", log_file),
	NUM("server", "verify_cache_entries", K_UINT, verify_cache_entries, 0, 1000000),
	NUM("server", "list_cache_size", K_SIZE, list_cache_size, 0, 1ULL << 30),
	STR("security", "key_file", key_file),
	NUM("security", "trust_remote_user", K_BOOL, trust_remote_user, 0, 0),
	NUM("security", "reveal", K_REVEAL, reveal, 0, 0),
	NUM("limits", "max_body", K_SIZE, max_body, 1024, 64ULL << 20),
	NUM("limits", "max_icon", K_SIZE, max_icon, 1024, 64ULL << 20),
	/* an ISO 8601 duration, in seconds; at most a year */
	NUM("tokens", "max_rotation_overlap", K_DURATION, max_rotation_overlap, 0,
	    AT_MAX_ROTATION_OVERLAP),
};

void at_settings_init(struct at_settings *s)
{
	memset(s, 0, sizeof(*s));
	at_strlcpy(s->db_host, "localhost", sizeof(s->db_host));
	s->db_port = 3306;
	at_strlcpy(s->db_socket, "/run/mysqld/mysqld.sock", sizeof(s->db_socket));
	at_strlcpy(s->db_user, "apitokend", sizeof(s->db_user));
	at_strlcpy(s->db_name, "apitokend", sizeof(s->db_name));
	s->db_connect_timeout = 5;
	s->socket_mode = 0660;
	s->workers = 4;
	s->log_level = AT_LOG_INFO;
	s->verify_cache_entries = 10000;
	s->list_cache_size = 4 << 20;
	at_strlcpy(s->key_file, SYSCONFDIR "/apitokend/keys", sizeof(s->key_file));
	s->trust_remote_user = false;
	s->reveal = AT_REVEAL_ALLOW;
	s->max_body = 1u << 20;
	s->max_icon = 5u * 1000 * 1000;
	s->max_rotation_overlap = 7 * 86400;	/* P7D */
}

/* Strict unsigned parse: digits only, in range, in the given base. */
static bool parse_ull(const char *v, int base, unsigned long long lo,
		      unsigned long long hi, unsigned long long *out)
{
	unsigned long long n;
	char *end;

	if (!*v || !isdigit((unsigned char)*v))
		return false;
	errno = 0;
	n = strtoull(v, &end, base);
	if (errno || *end || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

/* The values of an enum key, by name, in the enum's order. */
static const char *const reveal_names[] = {
	[AT_REVEAL_ALLOW] = "allow", [AT_REVEAL_NEVER] = "never",
};
static const char *const level_names[] = {
	[AT_LOG_ERROR] = "error", [AT_LOG_WARN] = "warn", [AT_LOG_INFO] = "info",
	[AT_LOG_DEBUG] = "debug",
};
#define NAMES(a) (sizeof(a) / sizeof((a)[0]))

static bool parse_name(const char *v, const char *const *names, size_t n, unsigned *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(v, names[i])) {
			*out = (unsigned)i;
			return true;
		}
	}
	return false;
}

static enum at_err set_key(struct at_settings *s, const struct key *k,
			   const char *value, char *err, size_t errlen)
{
	char *field = (char *)s + k->offset;
	unsigned long long n = 0;
	unsigned u;
	bool b;

	switch (k->type) {
	case K_STR:
		if (!at_strlcpy(field, value, k->size))
			break;
		return AT_OK;
	case K_UINT:
	case K_OCTAL:
	case K_SIZE:
		if (!parse_ull(value, k->type == K_OCTAL ? 8 : 10, k->min, k->max, &n))
			break;
		if (k->type == K_SIZE)
			*(size_t *)(void *)field = (size_t)n;
		else
			*(unsigned *)(void *)field = (unsigned)n;
		return AT_OK;
	case K_BOOL:
		if (!parse_bool(value, &b))
			break;
		*(bool *)(void *)field = b;
		return AT_OK;
	case K_REVEAL:
		if (!parse_name(value, reveal_names, NAMES(reveal_names), &u))
			break;
		s->reveal = (enum at_reveal)u;
		return AT_OK;
	case K_LOGLEVEL:
		if (!parse_name(value, level_names, NAMES(level_names), &u))
			break;
		s->log_level = (enum at_log_level)u;
		return AT_OK;
	case K_DURATION: {
		int64_t sec;

		if (at_iso_duration_parse(value, strlen(value), &sec, NULL) ||
		    (unsigned long long)sec < k->min || (unsigned long long)sec > k->max)
			break;
		*(int64_t *)(void *)field = sec;
		return AT_OK;
	}
	}
	/* the value did not fit its key */
	switch (k->type) {
	case K_STR:
		at_errf(err, errlen, "[%s] %s: value longer than %zu bytes",
			k->section, k->name, k->size - 1);
		break;
	case K_UINT:
	case K_SIZE:
		at_errf(err, errlen, "[%s] %s: not a number from %llu to %llu",
			k->section, k->name, k->min, k->max);
		break;
	case K_OCTAL:
		at_errf(err, errlen, "[%s] %s: not an octal mode from 0 to 0777",
			k->section, k->name);
		break;
	case K_BOOL:
		at_errf(err, errlen, "[%s] %s: not true or false", k->section, k->name);
		break;
	case K_REVEAL:
		at_errf(err, errlen, "[%s] %s: not allow or never", k->section, k->name);
		break;
	case K_LOGLEVEL:
		at_errf(err, errlen, "[%s] %s: not error, warn, info or debug",
			k->section, k->name);
		break;
	case K_DURATION:
		at_errf(err, errlen, "[%s] %s: not an ISO 8601 duration from PT0S to P365D "
			"(e.g. PT1H, P7D)", k->section, k->name);
		break;
	}
	return AT_ERR_CONFIG;
}

enum at_err at_settings_set(struct at_settings *s, const char *section, const char *key,
			    const char *value, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].name, key))
			return set_key(s, &keys[i], value, err, errlen);
	at_errf(err, errlen, "[%s] %s: unknown key", section, key);
	return AT_ERR_CONFIG;
}

struct load_state {
	struct at_settings *s;
	char *err;
	size_t errlen;
	enum at_err rc;
};

static int load_cb(void *ud, const char *section, const char *key, const char *value)
{
	struct load_state *st = ud;
	enum at_err rc;

	rc = at_settings_set(st->s, section, key, value, st->err, st->errlen);
	if (rc && !st->rc)
		st->rc = rc;
	return rc == AT_OK;
}

enum at_err at_settings_parse_string(struct at_settings *s, const char *text, char *err,
				     size_t errlen)
{
	struct load_state st = { s, err, errlen, AT_OK };
	int line = at_ini_parse_string(text, load_cb, &st);

	if (line && !st.rc) {
		at_errf(err, errlen, "line %d: syntax error or line too long", line);
		return AT_ERR_CONFIG;
	}
	return line ? st.rc : AT_OK;
}

/* APITOKEND_DATABASE_SOCKET for [database] socket. */
static bool env_name(char *out, size_t n, const struct key *k)
{
	size_t i, len;
	int w;

	w = snprintf(out, n, ENV_PREFIX "%s_%s", k->section, k->name);
	if (w < 0 || (size_t)w >= n)
		return false;
	len = (size_t)w;
	for (i = 0; i < len; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
	return true;
}

enum at_err at_settings_load(struct at_settings *s, const char *path, char *err,
			     size_t errlen)
{
	struct load_state st = { s, err, errlen, AT_OK };
	char name[96], inner[256];
	const char *v;
	size_t i;
	FILE *fp;
	int line;

	if (path && *path) {
		fp = fopen(path, "r");
		if (!fp) {
			at_errf(err, errlen, "%s: %s", path, strerror(errno));
			return AT_ERR_CONFIG;
		}
		/* the callback's message names the key; add the file and line */
		inner[0] = '\0';
		st.err = inner;
		st.errlen = sizeof(inner);
		line = at_ini_parse_fp(fp, load_cb, &st);
		fclose(fp);
		if (line) {
			if (line < 0)
				at_errf(err, errlen, "%s: cannot read it", path);
			else if (inner[0])
				at_errf(err, errlen, "%s:%d: %s", path, line, inner);
			else
				at_errf(err, errlen, "%s:%d: syntax error or line too long",
					path, line);
			return AT_ERR_CONFIG;
		}
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!env_name(name, sizeof(name), &keys[i]))
			return AT_ERR_INTERNAL;
		v = getenv(name);
		if (!v)
			continue;
		if (set_key(s, &keys[i], v, inner, sizeof(inner))) {
			at_errf(err, errlen, "%s: %s", name, inner);
			return AT_ERR_CONFIG;
		}
	}
	return AT_OK;
}
