/* rql_tokens.c: the RQL field table of API tokens.
 *
 * Aliases as in db_stmt.c TOKEN_COLUMNS: tokens t JOIN accounts a.
 * Every SQL fragment here is a constant; rql.c pastes only these.
 */
#include "rql.h"

#define MODULES_EXISTS \
	"EXISTS (SELECT 1 FROM token_modules tm JOIN modules m ON m.id = tm.module_id" \
	" WHERE tm.token_id = t.id AND ("
/* ordering by a collection: its smallest value, NULL (first) when empty */
#define MODULES_MIN(col) \
	"(SELECT MIN(" col ") FROM token_modules tm JOIN modules m ON m.id = tm.module_id" \
	" WHERE tm.token_id = t.id)"

/* Expired is derived: a stored Active token past its expiry */
static const char *const token_statuses[] = { "Active", "Disabled", "Deleted", "Expired", NULL };
#define STATUS_SQL \
	"(CASE WHEN t.status = 'Active' AND t.expires_at <= UTC_TIMESTAMP(3) THEN 'Expired'" \
	" ELSE CAST(t.status AS CHAR) END)"
static const char *const account_types[] = { "Client", "Vendor", "Operations", NULL };

static const struct at_rql_field module_fields[] = {
	{ "id", "m.id", NULL, AT_RQL_STRING, AT_RQL_FILTER, NULL, NULL },
	{ "name", "m.name", NULL, AT_RQL_STRING, AT_RQL_FILTER, NULL, NULL },
};

static const struct at_rql_collection token_colls[] = {
	{ "modules", MODULES_EXISTS, "))", module_fields,
	  sizeof(module_fields) / sizeof(module_fields[0]) },
};

#define FS (AT_RQL_FILTER | AT_RQL_SORT)

static const struct at_rql_field token_fields[] = {
	{ "id", "t.id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "name", "t.name", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "description", "t.description", NULL, AT_RQL_STRING, FS, NULL, NULL },
	/* ENUM columns sort by their index; the API sorts by the text */
	{ "status", STATUS_SQL, NULL, AT_RQL_ENUM, FS, token_statuses, NULL },
	/* the icon's URL as the API shows it, NULL without an icon */
	{ "icon", "(CASE WHEN t.has_icon THEN CONCAT('/public/v1/accounts/api-tokens/', t.id, '/icon') END)",
	  NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "lastAccessAt", "t.last_access_at", NULL, AT_RQL_DATETIME, FS, NULL, NULL },
	{ "revision", "t.revision", NULL, AT_RQL_INTEGER, FS, NULL, NULL },
	{ "account.id", "a.id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "account.name", "a.name", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "account.type", "a.type", "CAST(a.type AS CHAR)", AT_RQL_ENUM, FS, account_types, NULL },
	{ "modules.id", "m.id", MODULES_MIN("m.id"), AT_RQL_STRING, FS, NULL, &token_colls[0] },
	{ "modules.name", "m.name", MODULES_MIN("m.name"), AT_RQL_STRING, FS, NULL, &token_colls[0] },
	{ "audit.created.at", "t.created_at", NULL, AT_RQL_DATETIME, FS, NULL, NULL },
	{ "audit.created.by.id", "t.created_by_id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "audit.updated.at", "t.updated_at", NULL, AT_RQL_DATETIME, FS, NULL, NULL },
	{ "audit.updated.by.id", "t.updated_by_id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	/* restrictions */
	{ "expiresAt", "t.expires_at", NULL, AT_RQL_DATETIME, FS, NULL, NULL },
	{ "notBefore", "t.not_before", NULL, AT_RQL_DATETIME, FS, NULL, NULL },
	{ "rateLimit", "t.rate_limit", NULL, AT_RQL_INTEGER, FS, NULL, NULL },
};

/* Top-level fields of the token object (SPEC §4), in its order. */
static const struct at_rql_selectable token_select[] = {
	{ "id", AT_RQL_SEL_DEFAULT | AT_RQL_SEL_ALWAYS },
	{ "name", AT_RQL_SEL_DEFAULT },
	{ "description", AT_RQL_SEL_DEFAULT },
	{ "icon", AT_RQL_SEL_DEFAULT },
	{ "status", AT_RQL_SEL_DEFAULT },
	/* the secret: only when named, and never advertised as omitted */
	{ "token", AT_RQL_SEL_UNLISTED },
	{ "lastAccessAt", AT_RQL_SEL_DEFAULT },
	/* restrictions */
	{ "expiresAt", AT_RQL_SEL_DEFAULT },
	{ "notBefore", AT_RQL_SEL_DEFAULT },
	{ "allowedIps", AT_RQL_SEL_DEFAULT },
	{ "rateLimit", AT_RQL_SEL_DEFAULT },
	{ "account", AT_RQL_SEL_DEFAULT },
	{ "modules", 0 },
	{ "audit", 0 },
	{ "revision", AT_RQL_SEL_DEFAULT },
	/* last-used addresses: one token's read only; a list refuses it */
	{ "usage", AT_RQL_SEL_UNLISTED },
};

const struct at_rql_resource at_rql_tokens = {
	.fields = token_fields,
	.nfields = sizeof(token_fields) / sizeof(token_fields[0]),
	.colls = token_colls,
	.ncolls = sizeof(token_colls) / sizeof(token_colls[0]),
	.id_sql = "t.id",
	.default_order = "-audit.created.at",
	.select = token_select,
	.nselect = sizeof(token_select) / sizeof(token_select[0]),
};
