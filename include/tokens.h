/* tokens.h: the API token resource (SPEC §2-4) as plain data.
 *
 * What the token's parts share: the token as read (struct at_token), a
 * new one (struct at_token_new), a wanted change (struct at_token_body),
 * the body checks that make them from JSON (token_body.c), the rendering
 * into JSON (token_render.c) and the icon's type (icon.c).  The rules
 * that need the database are in token_store.h.
 */
#ifndef AT_TOKENS_H
#define AT_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "crypto.h"
#include "problem.h"

#define AT_TOKEN_NAME_CHARS 200
#define AT_TOKEN_DESCRIPTION_CHARS 2000
#define AT_TOKEN_MODULES_MAX 64
#define AT_TOKEN_DESCRIPTION_MAX (AT_TOKEN_DESCRIPTION_CHARS * 4 + 1)
#define AT_TOKEN_TIME_MAX 40	/* a DATETIME(6) as the database writes it */
/* allowedIps as stored: canonical entries joined by ',' (tokens.allowed_ips) */
#define AT_TOKEN_IPS_MAX 4097

/* The changes a token records who made and when (SPEC §4 audit). */
enum at_token_event {
	AT_TOKEN_CREATED,
	AT_TOKEN_UPDATED,
	AT_TOKEN_ENABLED,
	AT_TOKEN_DISABLED,
	AT_TOKEN_DELETED,
	/* rotation (its columns come after the others') */
	AT_TOKEN_ROTATED,
	AT_TOKEN_EVENTS
};

/* Last-used addresses kept per token (the statements' LIMIT 10). */
#define AT_TOKEN_USAGE_MAX 10
#define AT_TOKEN_IP_MAX 46	/* INET6_ADDRSTRLEN */

struct at_token_usage {
	char ip[AT_TOKEN_IP_MAX];
	char first_seen[AT_TOKEN_TIME_MAX];	/* database time text */
	char last_seen[AT_TOKEN_TIME_MAX];
};

struct at_token_stamp {
	bool set;			/* the token had this event */
	char at[AT_TOKEN_TIME_MAX];	/* database time text */
	char by_id[AT_ID_MAX];		/* "" when not known */
	char by_name[AT_NAME_MAX];
};

struct at_token_module {
	char id[AT_MODULE_ID_MAX];
	char name[AT_NAME_MAX];
};

/* One token as stored.  Empty strings stand for absent values. */
struct at_token {
	char id[AT_TOKEN_ID_LEN + 1];
	char name[AT_NAME_MAX];
	bool has_description;
	char description[AT_TOKEN_DESCRIPTION_MAX];
	char status[16];		/* Active, Disabled, Deleted */
	bool has_icon;
	char last_access[AT_TOKEN_TIME_MAX];
	long long revision;
	struct {
		char id[AT_ID_MAX];
		char name[AT_NAME_MAX];
		char type[16];
		char status[16];
	} account;
	struct at_token_stamp events[AT_TOKEN_EVENTS];
	/* with AT_TOKEN_READ_MODULES only; owned, freed by at_token_release */
	struct at_token_module *modules;
	size_t nmodules;
	/* restrictions: validity, client addresses, rate */
	char expires_at[AT_TOKEN_TIME_MAX];	/* database time text, "" for none */
	char not_before[AT_TOKEN_TIME_MAX];
	bool expiry_passed;		/* expires_at <= now (any status) */
	char allowed_ips[AT_TOKEN_IPS_MAX];	/* "" for any address */
	long long rate_limit;		/* requests per minute, 0 for none */
	/* rotation: until when the previous value verifies ("" for none) */
	char prev_valid_until[AT_TOKEN_TIME_MAX];
	/* last-used addresses, newest first: with AT_TOKEN_READ_USAGE only */
	struct at_token_usage usage[AT_TOKEN_USAGE_MAX];
	size_t nusage;
};

/* The status the API shows: Expired for a stored Active token past its
 * expiry, else the stored one. */
const char *at_token_status(const struct at_token *t);

void at_token_release(struct at_token *t);

struct at_token_new {
	const char *account_id;
	const char *name;
	const char *description;	/* NULL for none */
	const char *const *modules;	/* validated MOD-dddd ids */
	size_t nmodules;
	/* restrictions; epoch ms, 0 for none (the account's maximum lifetime
	 * may still give the token an expiry) */
	int64_t expires_ms;
	int64_t not_before_ms;
	const char *allowed_ips;	/* canonical (at_iplist_format), NULL for any */
	long long rate_limit;		/* a tier, 0 for none */
};

struct at_module_set {
	char ids[AT_TOKEN_MODULES_MAX][AT_MODULE_ID_MAX];
	size_t n;
};

bool at_module_set_has(const struct at_module_set *s, const char *id);

/* ---- token_body.c: request bodies, checked without a database ---------- */

struct at_jv;

/* The fields of a create or update body; has_* tells which were present.
 * Strings borrow from the parsed body. */
struct at_token_body {
	bool has_name;
	const char *name;
	bool has_description;
	const char *description;	/* NULL: none */
	bool has_icon;
	bool keep_icon;			/* the token's own icon path: unchanged */
	bool has_modules;
	struct at_module_set modules;
	bool has_account;
	const char *account_id;		/* create only */
	/* restrictions; a field present as null removes it (0 / "") */
	bool has_expires;
	int64_t expires_ms;		/* epoch ms, 0 for null */
	bool has_not_before;
	int64_t not_before_ms;
	bool has_allowed_ips;
	char allowed_ips[AT_TOKEN_IPS_MAX];	/* canonical, "" for any address */
	bool has_rate_limit;
	long long rate_limit;		/* a tier, 0 for null */
};

/* Parse body text as a JSON object; AT_ERR_INVALID (or the parser's
 * error) with a detail in p.  The caller frees *doc. */
AT_MUST_CHECK enum at_err at_token_body_parse(const char *text, size_t len, struct at_jv **doc,
					      struct at_problem *p);
/* A create body: name required, description, icon (only empty),
 * modules' shape, account {"id"}.  AT_OK or AT_ERR_INVALID with every
 * field error in p; *account_ok false when account.id was malformed (the
 * other fields were still checked). */
AT_MUST_CHECK enum at_err at_token_body_create(const struct at_jv *doc, struct at_token_body *b,
					       struct at_problem *p, bool *account_ok);
/* An update body of token id: only the fields present change. */
AT_MUST_CHECK enum at_err at_token_body_update(const struct at_jv *doc, const char *id,
					       struct at_token_body *b, struct at_problem *p);
/* The optional body of POST …/enable: nothing, or {"expiresAt": future}.
 * *expires_ms 0 when none was given. */
AT_MUST_CHECK enum at_err at_token_body_enable(const char *text, size_t len, int64_t *expires_ms,
					       struct at_problem *p);

/* A rotate body (optional: doc NULL is none): {"overlap": "PT1H"}, an
 * ISO 8601 duration; none, null or absent is PT0S.  *overlap receives
 * the seconds; AT_ERR_INVALID naming overlap in p. */
AT_MUST_CHECK enum at_err at_token_body_rotate(const struct at_jv *doc, int64_t *overlap,
					       struct at_problem *p);

/* The database-free checks of a create body: JSON shape, name,
 * description, icon, modules.  AT_OK or an error with p filled.  What
 * create runs first; the fuzz harness runs it alone. */
AT_MUST_CHECK enum at_err at_tokens_check_body(const char *text, size_t len,
					       struct at_problem *p);

/* ---- token_render.c: a token as JSON ------------------------------------ */

/* Fields a response may leave out; id always stays (SPEC §6). */
enum at_token_field {
	AT_TF_NAME = 1 << 0, AT_TF_DESCRIPTION = 1 << 1, AT_TF_ICON = 1 << 2,
	AT_TF_STATUS = 1 << 3, AT_TF_TOKEN = 1 << 4, AT_TF_LAST_ACCESS = 1 << 5,
	AT_TF_ACCOUNT = 1 << 6, AT_TF_MODULES = 1 << 7, AT_TF_AUDIT = 1 << 8,
	AT_TF_REVISION = 1 << 9,
	/* restrictions */
	AT_TF_EXPIRES = 1 << 10, AT_TF_NOT_BEFORE = 1 << 11, AT_TF_ALLOWED_IPS = 1 << 12,
	AT_TF_RATE_LIMIT = 1 << 13,
	/* last-used addresses: one token's read only, never a list's */
	AT_TF_USAGE = 1 << 24,
};
#define AT_TF_RESTRICTIONS (AT_TF_EXPIRES | AT_TF_NOT_BEFORE | AT_TF_ALLOWED_IPS | \
			    AT_TF_RATE_LIMIT)
#define AT_TF_DEFAULT_ONE (AT_TF_NAME | AT_TF_DESCRIPTION | AT_TF_ICON | AT_TF_STATUS | \
			   AT_TF_LAST_ACCESS | AT_TF_ACCOUNT | AT_TF_MODULES | AT_TF_AUDIT | \
			   AT_TF_REVISION | AT_TF_RESTRICTIONS)
#define AT_TF_DEFAULT_LIST (AT_TF_DEFAULT_ONE & ~(AT_TF_MODULES | AT_TF_AUDIT))

struct at_token_fieldname {
	const char *name;
	unsigned bit;
};
extern const struct at_token_fieldname at_token_fields[];
extern const size_t at_token_nfields;

/* select=+a,-b (SPEC §6) applied to *fields; AT_ERR_INVALID naming the
 * unknown field in p. */
AT_MUST_CHECK enum at_err at_token_select(const char *spec, unsigned *fields,
					  struct at_problem *p);

struct at_jw;
/* t as one JSON object in SPEC §4's field order; value is the token value
 * to include (then w must write into a buffer marked secret), or NULL.
 * With AT_TF_MODULES, t's modules must have been read. */
void at_token_render(struct at_jw *w, const char *key, const struct at_token *t,
		     unsigned fields, const char *value);

/* ---- icon.c ------------------------------------------------------------- */

/* "image/png" or "image/jpeg" from the magic bytes, NULL for neither. */
const char *at_icon_type(const unsigned char *p, size_t n);

#endif
