/* ctl_catalog.c: apitokenctl's commands for accounts, users and the
 * module catalogue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "isotime.h"

/* Insert with a random id of prefix/groups unless given; retried on the
 * rare collision. */
static int insert_with_id(struct ctl *c, enum at_stmt stmt, struct at_db_param *p, size_t n,
			  const char *given, const char *prefix, unsigned groups, char *id,
			  size_t idlen, const char *what)
{
	enum at_err rc = AT_ERR_DUPLICATE;
	unsigned tries;

	for (tries = 0; tries < 8 && rc == AT_ERR_DUPLICATE; tries++) {
		if (given)
			at_strlcpy(id, given, idlen);
		else
			at_id_make(id, idlen, prefix, groups);
		p[0] = AT_DB_P_STR(id);
		rc = at_db_exec(c->db, stmt, p, n, NULL);
		if (given)
			break;
	}
	if (rc) {
		fprintf(stderr, "apitokenctl: %s: %s\n", what,
			rc == AT_ERR_DUPLICATE ? "that id is taken" : at_db_error(c->db));
		return 1;
	}
	return 0;
}

struct row_spec {
	enum at_stmt stmt;
	struct at_db_param *p;	/* p[0] is set to the id */
	size_t n;
	const char *given;	/* the id, or NULL for a random one */
	const char *prefix;
	unsigned groups;
};

/* A row and its links (a user's modules, a module's paths) in one
 * transaction; prints the new row's id. */
static int create_with_links(struct ctl *c, const struct row_spec *row, enum at_stmt link_stmt,
			     const char *const *links, size_t nlinks, const char *what)
{
	char id[AT_ID_MAX];
	int status = 1;
	size_t i;

	if (at_db_begin(c->db) ||
	    insert_with_id(c, row->stmt, row->p, row->n, row->given, row->prefix, row->groups, id,
			   sizeof(id), what))
		goto out;
	for (i = 0; i < nlinks; i++) {
		struct at_db_param m[] = { AT_DB_P_STR(id), AT_DB_P_STR(links[i]) };

		if (at_db_exec(c->db, link_stmt, m, 2, NULL))
			goto out;
	}
	/* a module's paths are part of verify's answers: the change counter
	 * makes every apitokend drop what it cached (token_cache.h) */
	if (at_db_exec(c->db, AT_STMT_TOKEN_CHANGES_BUMP, NULL, 0, NULL) || at_db_commit(c->db))
		goto out;
	printf("%s\n", id);
	status = 0;
out:
	if (status) {
		at_db_rollback(c->db);
		fprintf(stderr, "apitokenctl: %s: %s\n", what, at_db_error(c->db));
	}
	return status;
}

int at_ctl_cmd_account_create(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	static const char *const names[] = { "name", "type", "id" };
	const char *v[3] = { NULL, NULL, NULL };
	enum at_account_type type;
	struct at_db_param p[3];
	char id[AT_ID_MAX];
	int rc;

	if ((rc = at_ctl_take_opts(argc, argv, cmd, names, v, 3, NULL, NULL, NULL, 0)))
		return rc;
	if (!v[0] || !v[1] || !*v[0] || strlen(v[0]) > 200 || !at_account_type_parse(v[1], &type) ||
	    (v[2] && !at_id_valid(v[2], "ACC", 2))) {
		fprintf(stderr, "apitokenctl: account create: --name (1-200 characters) and --type "
			"Client|Vendor|Operations are needed; --id takes ACC-dddd-dddd\n");
		return 2;
	}
	if (at_crypto_init() || at_ctl_open_db(c))
		return 1;
	p[1] = AT_DB_P_STR(v[0]);
	p[2] = AT_DB_P_STR(at_account_type_name(type));
	if (insert_with_id(c, AT_STMT_ACCOUNT_INSERT, p, 3, v[2], "ACC", 2, id, sizeof(id),
			   "account create"))
		return 1;
	printf("%s\n", id);
	return 0;
}

int at_ctl_cmd_account_list(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	struct at_db_rows rows;
	const char *mods;
	bool more;

	if (argc != 1)
		at_ctl_usage_exit(cmd);
	if (at_ctl_open_db(c))
		return 1;
	if (at_db_query(c->db, AT_STMT_ACCOUNT_LIST, NULL, 0, &rows)) {
		fprintf(stderr, "apitokenctl: account list: %s\n", at_db_error(c->db));
		return 1;
	}
	while (!at_db_rows_next(&rows, &more) && more) {
		mods = at_db_rows_str(&rows, 4, NULL);
		printf("%s\t%s\t%s\t%s\t%s\n", at_db_rows_str(&rows, 0, NULL),
		       at_db_rows_str(&rows, 1, NULL), at_db_rows_str(&rows, 2, NULL),
		       at_db_rows_str(&rows, 3, NULL), mods ? mods : "-");
	}
	at_db_rows_release(&rows);
	return 0;
}

int at_ctl_cmd_user_create(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	static const char *const names[] = { "account", "name", "email" };
	const char *v[3] = { NULL, NULL, NULL }, *mods[MAX_MODULES];
	struct at_db_param p[4];
	size_t nmods = 0, i;
	int rc, err = 0;

	if ((rc = at_ctl_take_opts(argc, argv, cmd, names, v, 3, "module", mods, &nmods,
			    MAX_MODULES)))
		return rc;
	if (!v[0] || !at_id_valid(v[0], "ACC", 2) || !v[1] || !*v[1] || strlen(v[1]) > 200) {
		fprintf(stderr, "apitokenctl: user create: --account ACC-dddd-dddd and --name "
			"(1-200 characters) are needed\n");
		return 2;
	}
	if (at_crypto_init() || at_ctl_open_db(c))
		return 1;
	for (i = 0; i < nmods; i++) {
		if (!at_id_valid(mods[i], "MOD", 1) || !at_ctl_module_enabled(c, v[0], mods[i], &err)) {
			if (!err)
				fprintf(stderr, "apitokenctl: user create: %s is not a module enabled "
					"for %s\n", mods[i], v[0]);
			return 1;
		}
	}
	p[1] = AT_DB_P_STR(v[0]);
	p[2] = AT_DB_P_STR(v[1]);
	p[3] = AT_DB_P_OPT(v[2]);
	return create_with_links(c, &(struct row_spec){ AT_STMT_USER_INSERT, p, 4, NULL, "USR", 2 },
				 AT_STMT_USER_MODULE_ADD, mods, nmods, "user create");
}

int at_ctl_cmd_module_create(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	static const char *const names[] = { "id", "code", "name", "types", "description" };
	const char *v[5] = { NULL, NULL, NULL, NULL, NULL }, *paths[64];
	struct at_db_param p[5];
	char types[64];
	size_t npaths = 0, i;
	int rc;

	if ((rc = at_ctl_take_opts(argc, argv, cmd, names, v, 5, "path", paths, &npaths, 64)))
		return rc;
	if (!v[0] || !at_id_valid(v[0], "MOD", 1) || !v[1] || !*v[1] || !v[2] || !*v[2] ||
	    !v[3] || strlen(v[3]) >= sizeof(types)) {
		fprintf(stderr, "apitokenctl: module create: --id MOD-dddd, --code, --name and "
			"--types are needed\n");
		return 2;
	}
	for (i = 0; i < npaths; i++) {
		if (paths[i][0] != '/' || strlen(paths[i]) > 255) {
			fprintf(stderr, "apitokenctl: module create: %s: a path prefix starts with "
				"/ and has at most 255 characters\n", paths[i]);
			return 2;
		}
	}
	if (at_ctl_open_db(c))
		return 1;
	p[1] = AT_DB_P_STR(v[1]);
	p[2] = AT_DB_P_STR(v[2]);
	p[3] = AT_DB_P_OPT(v[4]);
	p[4] = AT_DB_P_STR(v[3]);
	return create_with_links(c, &(struct row_spec){ AT_STMT_MODULE_INSERT, p, 5, v[0], "MOD", 1 },
				 AT_STMT_MODULE_PATH_ADD, paths, npaths, "module create");
}

/* An account's maximum token lifetime: new tokens without expiresAt get
 * it, and no expiresAt may lie beyond it (token_store.c). */
int at_ctl_cmd_account_lifetime(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	char dur[AT_DURATION_TEXT];
	const char *why = NULL;
	struct at_db_param p[2];
	int64_t seconds = 0;
	bool found, none;

	if (argc != 3)
		at_ctl_usage_exit(cmd);
	none = !strcmp(argv[2], "none");
	if (!at_id_valid(argv[1], "ACC", 2) ||
	    (!none && (at_iso_duration_parse(argv[2], strlen(argv[2]), &seconds, &why) ||
		       seconds <= 0 || seconds > 4294967295LL))) {
		fprintf(stderr, "apitokenctl: account lifetime: give ACC-dddd-dddd and an ISO 8601 "
			"duration from PT1S to about 136 years (P90D, PT12H) or none%s%s\n",
			why ? ": " : "", why ? why : "");
		return 2;
	}
	if (at_ctl_open_db(c) ||
	    at_ctl_lookup(c, AT_STMT_ACCOUNT_GET, argv[1], &found, 0, NULL, 0, 0, NULL, 0))
		return 1;
	if (!found) {
		fprintf(stderr, "apitokenctl: account lifetime: account %s does not exist\n",
			argv[1]);
		return 1;
	}
	p[0] = none ? AT_DB_P_NULL() : AT_DB_P_INT(seconds);
	p[1] = AT_DB_P_STR(argv[1]);
	if (at_db_exec(c->db, AT_STMT_ACCOUNT_LIFETIME_SET, p, 2, NULL)) {
		fprintf(stderr, "apitokenctl: account lifetime: %s\n", at_db_error(c->db));
		return 1;
	}
	if (none || !at_iso_duration_format(seconds, dur))
		snprintf(dur, sizeof(dur), "none");
	fprintf(stderr, "maximum token lifetime of %s: %s\n", argv[1], dur);
	return 0;
}
