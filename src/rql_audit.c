/* rql_audit.c: the RQL field tables of audit records (alias r) and of the
 * module catalogue (alias m). */
#include "rql.h"

#define FS (AT_RQL_FILTER | AT_RQL_SORT)

static const struct at_rql_field audit_fields[] = {
	{ "id", "r.id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "event", "r.event", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "timestamp", "r.timestamp", NULL, AT_RQL_DATETIME, FS, NULL, NULL },
	{ "summary", "r.summary", NULL, AT_RQL_STRING, AT_RQL_FILTER, NULL, NULL },
	{ "details", "r.details", NULL, AT_RQL_STRING, AT_RQL_FILTER, NULL, NULL },
	{ "object.id", "r.object_id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "object.name", "r.object_name", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "object.objectType", "r.object_type", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "object.revision", "r.object_revision", NULL, AT_RQL_INTEGER, FS, NULL, NULL },
	{ "actor.id", "r.actor_id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "actor.name", "r.actor_name", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "actor.account.id", "r.actor_account_id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "actor.account.name", "r.actor_account_name", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "request.api.ip", "r.request_ip", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "request.log.requestId", "r.request_id", NULL, AT_RQL_STRING, FS, NULL, NULL },
};

static const struct at_rql_selectable audit_select[] = {
	{ "id", AT_RQL_SEL_DEFAULT | AT_RQL_SEL_ALWAYS },
	{ "event", AT_RQL_SEL_DEFAULT },
	{ "timestamp", AT_RQL_SEL_DEFAULT },
	{ "summary", AT_RQL_SEL_DEFAULT },
	{ "details", AT_RQL_SEL_DEFAULT },
	{ "object", AT_RQL_SEL_DEFAULT },
	{ "actor", AT_RQL_SEL_DEFAULT },
	{ "request", AT_RQL_SEL_DEFAULT },
	/* the token before and after: left out of lists unless asked for */
	{ "documents", 0 },
};

const struct at_rql_resource at_rql_audit = {
	.fields = audit_fields,
	.nfields = sizeof(audit_fields) / sizeof(audit_fields[0]),
	.id_sql = "r.id",
	/* newest first */
	.default_order = "-timestamp",
	.select = audit_select,
	.nselect = sizeof(audit_select) / sizeof(audit_select[0]),
};


static const struct at_rql_field module_fields[] = {
	{ "id", "m.id", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "name", "m.name", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "code", "m.code", NULL, AT_RQL_STRING, FS, NULL, NULL },
	{ "description", "m.description", NULL, AT_RQL_STRING, AT_RQL_FILTER, NULL, NULL },
	{ "revision", "m.revision", NULL, AT_RQL_INTEGER, FS, NULL, NULL },
};

static const struct at_rql_selectable module_select[] = {
	{ "id", AT_RQL_SEL_DEFAULT | AT_RQL_SEL_ALWAYS },
	{ "name", AT_RQL_SEL_DEFAULT },
	{ "description", AT_RQL_SEL_DEFAULT },
	{ "code", AT_RQL_SEL_DEFAULT },
	{ "accountTypes", AT_RQL_SEL_DEFAULT },
	{ "revision", AT_RQL_SEL_DEFAULT },
};

const struct at_rql_resource at_rql_modules = {
	.fields = module_fields,
	.nfields = sizeof(module_fields) / sizeof(module_fields[0]),
	.id_sql = "m.id",
	.default_order = "+id",
	.select = module_select,
	.nselect = sizeof(module_select) / sizeof(module_select[0]),
};
