/* db_columns.h: the columns of the rows read whole, written once.
 *
 * Each list gives a column's index name, its table alias and its name.
 * The statement table (src/db_stmt.c) makes the SELECT lists from them,
 * and the readers index the rows with the enums made from the same
 * lists, so a column added or moved here moves in both.
 *
 * A list takes two macros: F for the first column, X for every other
 * one (the SQL text puts a comma before all but the first).
 */
#ifndef AT_DB_COLUMNS_H
#define AT_DB_COLUMNS_H

/* A token and its account (tokens t JOIN accounts a), as tokens.c reads
 * it.  The five events are three columns each, in event order. */
#define AT_TOKEN_COLUMNS(F, X) \
	F(TC_ID, t, id) \
	X(TC_NAME, t, name) \
	X(TC_DESCRIPTION, t, description) \
	X(TC_STATUS, t, status) \
	X(TC_HAS_ICON, t, has_icon) \
	X(TC_LAST_ACCESS, t, last_access_at) \
	X(TC_REVISION, t, revision) \
	X(TC_CREATED_AT, t, created_at) \
	X(TC_CREATED_BY_ID, t, created_by_id) \
	X(TC_CREATED_BY_NAME, t, created_by_name) \
	X(TC_UPDATED_AT, t, updated_at) \
	X(TC_UPDATED_BY_ID, t, updated_by_id) \
	X(TC_UPDATED_BY_NAME, t, updated_by_name) \
	X(TC_ENABLED_AT, t, enabled_at) \
	X(TC_ENABLED_BY_ID, t, enabled_by_id) \
	X(TC_ENABLED_BY_NAME, t, enabled_by_name) \
	X(TC_DISABLED_AT, t, disabled_at) \
	X(TC_DISABLED_BY_ID, t, disabled_by_id) \
	X(TC_DISABLED_BY_NAME, t, disabled_by_name) \
	X(TC_DELETED_AT, t, deleted_at) \
	X(TC_DELETED_BY_ID, t, deleted_by_id) \
	X(TC_DELETED_BY_NAME, t, deleted_by_name) \
	X(TC_ACCOUNT_ID, a, id) \
	X(TC_ACCOUNT_NAME, a, name) \
	X(TC_ACCOUNT_TYPE, a, type) \
	X(TC_ACCOUNT_STATUS, a, status) \
	/* restrictions */ \
	X(TC_EXPIRES_AT, t, expires_at) \
	X(TC_NOT_BEFORE, t, not_before) \
	X(TC_ALLOWED_IPS, t, allowed_ips) \
	X(TC_RATE_LIMIT, t, rate_limit) \
	/* rotation: audit.rotated, and until when the previous value verifies */ \
	X(TC_ROTATED_AT, t, rotated_at) \
	X(TC_ROTATED_BY_ID, t, rotated_by_id) \
	X(TC_ROTATED_BY_NAME, t, rotated_by_name) \
	X(TC_PREV_VALID_UNTIL, t, prev_valid_until)

/* An audit record (audit_records r), as audit.c reads it; also the
 * column order of its INSERT, whose parameters audit.c binds in it. */
#define AT_AUDIT_COLUMNS(F, X) \
	F(AC_ID, r, id) \
	X(AC_ACCOUNT_ID, r, account_id) \
	X(AC_SEQ, r, seq) \
	X(AC_EVENT, r, event) \
	X(AC_TIMESTAMP, r, timestamp) \
	X(AC_SUMMARY, r, summary) \
	X(AC_DETAILS, r, details) \
	X(AC_OBJECT_ID, r, object_id) \
	X(AC_OBJECT_NAME, r, object_name) \
	X(AC_OBJECT_TYPE, r, object_type) \
	X(AC_OBJECT_REVISION, r, object_revision) \
	X(AC_ACTOR_ID, r, actor_id) \
	X(AC_ACTOR_NAME, r, actor_name) \
	X(AC_ACTOR_ACCOUNT_ID, r, actor_account_id) \
	X(AC_ACTOR_ACCOUNT_NAME, r, actor_account_name) \
	X(AC_IP, r, request_ip) \
	X(AC_USER_AGENT, r, request_user_agent) \
	X(AC_REQUEST_ID, r, request_id) \
	X(AC_DOCUMENTS, r, documents) \
	X(AC_PREV_HASH, r, prev_hash) \
	X(AC_HASH, r, hash)

/* A module (modules m), as modules.c reads it. */
#define AT_MODULE_COLUMNS(F, X) \
	F(MC_ID, m, id) \
	X(MC_NAME, m, name) \
	X(MC_DESCRIPTION, m, description) \
	X(MC_CODE, m, code) \
	X(MC_ACCOUNT_TYPES, m, account_types) \
	X(MC_REVISION, m, revision)

/* The enums: one index per column, then a __MAX sentinel. */
#define AT_COL_ENUM(e, t, c) e,

enum at_token_col {
	AT_TOKEN_COLUMNS(AT_COL_ENUM, AT_COL_ENUM)
	TC__MAX,
	/* the first of the events' (at, by_id, by_name) triples */
	TC_EVENTS = TC_CREATED_AT
};

enum at_audit_col {
	AT_AUDIT_COLUMNS(AT_COL_ENUM, AT_COL_ENUM)
	AC__MAX
};

enum at_module_col {
	AT_MODULE_COLUMNS(AT_COL_ENUM, AT_COL_ENUM)
	MC__MAX
};

/* tokens.c walks the events as TC_EVENTS + 3 * i, in this order */
_Static_assert(TC_UPDATED_AT == TC_EVENTS + 3 && TC_ENABLED_AT == TC_EVENTS + 6 &&
	       TC_DISABLED_AT == TC_EVENTS + 9 && TC_DELETED_AT == TC_EVENTS + 12 &&
	       TC_ACCOUNT_ID == TC_EVENTS + 15, "token events are three columns each");
/* audit.c hashes every column before the two hashes, which come last */
_Static_assert(AC_PREV_HASH == AC_DOCUMENTS + 1 && AC_HASH == AC_DOCUMENTS + 2 &&
	       AC__MAX == AC_HASH + 1, "an audit record ends with its hashes");

/* The SQL text: "t.id, t.name, …" for a SELECT, "id, account_id, …"
 * and "?, ?, …" for an INSERT.  String literals, so that statements can
 * be written around them. */
#define AT_COL_SQL_FIRST(e, t, c) #t "." #c
#define AT_COL_SQL(e, t, c) ", " #t "." #c
#define AT_COL_NAME_FIRST(e, t, c) #c
#define AT_COL_NAME(e, t, c) ", " #c
#define AT_COL_PARAM_FIRST(e, t, c) "?"
#define AT_COL_PARAM(e, t, c) ", ?"

#define AT_COLUMNS_SQL(list) list(AT_COL_SQL_FIRST, AT_COL_SQL)
#define AT_COLUMNS_NAMES(list) list(AT_COL_NAME_FIRST, AT_COL_NAME)
#define AT_COLUMNS_PARAMS(list) list(AT_COL_PARAM_FIRST, AT_COL_PARAM)

#endif
