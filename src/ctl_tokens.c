/* ctl_tokens.c: apitokenctl's commands that change tokens: token issue,
 * module add and module remove, through the domain layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "token_store.h"

struct issue {
	const char *account, *name, *by, *description;
	const char *modules[MAX_MODULES];
	size_t nmodules;
};

struct issue_job {
	struct ctl *c;
	struct at_token_new t;
	char id[AT_TOKEN_ID_LEN + 1];
	char value[AT_TOKEN_VALUE_LEN + 1];
};

static enum at_err issue_tx(void *arg)
{
	struct issue_job *j = arg;

	return at_token_insert(&j->c->dom, &j->t, j->id, j->value);
}

int at_ctl_cmd_token_issue(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	static const char *const names[] = { "account", "name", "by", "description" };
	const char *v[4] = { NULL, NULL, NULL, NULL };
	struct issue_job job = { .c = c };
	struct issue is = { 0 };
	bool found;
	int rc, err = 0;
	size_t i, j;

	if ((rc = at_ctl_take_opts(argc, argv, cmd, names, v, 4, "module", is.modules,
				   &is.nmodules, MAX_MODULES)))
		return rc;
	is.account = v[0];
	is.name = v[1];
	is.by = v[2];
	is.description = v[3];
	if (!is.account || !is.name || !is.by)
		at_ctl_usage_exit(cmd);
	if (!at_id_valid(is.account, "ACC", 2) || !at_id_valid(is.by, "USR", 2)) {
		fprintf(stderr, "apitokenctl: token issue: --account takes ACC-dddd-dddd and "
			"--by USR-dddd-dddd\n");
		return 2;
	}
	if (!*is.name || strlen(is.name) > 200) {
		fprintf(stderr, "apitokenctl: token issue: --name takes 1 to 200 characters\n");
		return 2;
	}
	for (i = 0; i < is.nmodules; i++) {
		if (!at_id_valid(is.modules[i], "MOD", 1)) {
			fprintf(stderr, "apitokenctl: token issue: %s: not a module id\n",
				is.modules[i]);
			return 2;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(is.modules[i], is.modules[j])) {
				fprintf(stderr, "apitokenctl: token issue: %s given twice\n",
					is.modules[i]);
				return 2;
			}
		}
	}
	if (at_crypto_init() || at_ctl_load_keys(c) || at_ctl_open_db(c))
		return 1;
	if (at_ctl_lookup(c, AT_STMT_ACCOUNT_GET, is.account, &found, 0, NULL, 0, 0, NULL, 0))
		return 1;
	if (!found) {
		fprintf(stderr, "apitokenctl: token issue: account %s does not exist\n", is.account);
		return 1;
	}
	if (at_ctl_operator(c, is.by, "token issue"))
		return 1;
	for (i = 0; i < is.nmodules; i++) {
		if (!at_ctl_module_enabled(c, is.account, is.modules[i], &err)) {
			if (!err)
				fprintf(stderr, "apitokenctl: token issue: module %s is not enabled "
					"for account %s\n", is.modules[i], is.account);
			return 1;
		}
	}
	job.t = (struct at_token_new){ .account_id = is.account, .name = is.name,
				     .description = is.description, .modules = is.modules,
				     .nmodules = is.nmodules };
	if (at_db_transact(c->db, issue_tx, &job)) {
		fprintf(stderr, "apitokenctl: token issue: %s\n", at_db_error(c->db));
		return 1;
	}
	printf("%s\n", job.value);
	fflush(stdout);
	at_wipe(job.value, sizeof(job.value));
	fprintf(stderr, "issued %s in %s\n", job.id, is.account);
	return 0;
}

/* --account and --module (and --by) of the module commands. */
static int module_args(int argc, char **argv, const struct command *cmd, bool by,
		       const char **account, const char **module, const char **user)
{
	static const char *const names[] = { "account", "module", "by" };
	const char *v[3] = { NULL, NULL, NULL };
	int rc;

	if ((rc = at_ctl_take_opts(argc, argv, cmd, names, v, 3, NULL, NULL, NULL, 0)))
		return rc;
	*account = v[0];
	*module = v[1];
	*user = v[2];
	if (!*account || !*module || (by && !*user) || (!by && *user))
		at_ctl_usage_exit(cmd);
	if (!at_id_valid(*account, "ACC", 2) || !at_id_valid(*module, "MOD", 1)) {
		fprintf(stderr, "apitokenctl: %s: --account takes ACC-dddd-dddd and --module "
			"MOD-dddd\n", cmd->name);
		return 2;
	}
	return 0;
}

int at_ctl_cmd_module_add(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *account, *module, *user;
	struct at_db_param p[2];
	uint64_t n = 0;
	int rc;

	if ((rc = module_args(argc, argv, cmd, false, &account, &module, &user)))
		return rc;
	if (at_ctl_open_db(c))
		return 1;
	p[0] = AT_DB_P_STR(account);
	p[1] = AT_DB_P_STR(module);
	/* with the change counter, so that cached answers go (token_cache.h) */
	if (at_db_begin(c->db) || at_db_exec(c->db, AT_STMT_ACCOUNT_MODULE_ADD, p, 2, &n) ||
	    at_db_exec(c->db, AT_STMT_TOKEN_CHANGES_BUMP, NULL, 0, NULL) || at_db_commit(c->db)) {
		at_db_rollback(c->db);
		fprintf(stderr, "apitokenctl: module add: %s\n", at_db_error(c->db));
		return 1;
	}
	printf("%s %s for %s\n", module, n ? "enabled" : "was already enabled", account);
	return 0;
}

struct strip_job {
	struct ctl *c;
	const char *account, *module;
	unsigned changed;
};

static enum at_err strip_tx(void *arg)
{
	struct strip_job *j = arg;

	enum at_err rc;

	rc = at_token_strip_module(&j->c->dom, j->account, j->module, &j->changed);
	/* each token that lost it bumped the change counter; the account's
	 * module list changed even when none held it */
	if (!rc)
		rc = at_db_exec(j->c->db, AT_STMT_TOKEN_CHANGES_BUMP, NULL, 0, NULL);
	return rc;
}

int at_ctl_cmd_module_remove(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	struct strip_job j = { .c = c };
	const char *user;
	int rc;

	if ((rc = module_args(argc, argv, cmd, true, &j.account, &j.module, &user)))
		return rc;
	if (at_crypto_init() || at_ctl_load_keys(c) || at_ctl_open_db(c) ||
	    at_ctl_operator(c, user, "module remove"))
		return 1;
	if (at_db_transact(c->db, strip_tx, &j)) {
		fprintf(stderr, "apitokenctl: module remove: %s\n", at_db_error(c->db));
		return 1;
	}
	printf("%s removed from %s; %u token%s lost it\n", j.module, j.account, j.changed,
	       j.changed == 1 ? "" : "s");
	return 0;
}
