/* ctl.c: apitokenctl, the administration tool. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "buf.h"
#include "audit.h"
#include "auth.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "migrate.h"
#include "router.h"
#include "settings.h"
#include "tokens.h"

#define DEFAULT_CONFIG SYSCONFDIR "/apitokend/apitokend.ini"
#define DEFAULT_MIGRATIONS PKGDATADIR "/migrations"
#define MAX_MODULES AT_TOKEN_MODULES_MAX

struct ctl {
	struct at_settings settings;
	struct at_db *db;
	struct at_keys *keys;
	/* commands that change tokens act through the same code as the API,
	 * as the user named by --by, from a request of their own */
	struct at_ctx op;
	struct at_request req;
	struct at_response resp;
};

struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct ctl *c, int argc, char **argv);
};

static void die_usage(const struct command *cmd)
{
	fprintf(stderr, "usage: apitokenctl [-c FILE] %s %s\n", cmd->name, cmd->args);
	exit(2);
}

static bool want_help(int argc, char **argv, const struct command *cmd)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: apitokenctl [-c FILE] %s %s\n\n%s\n", cmd->name,
			       cmd->args, cmd->help);
			return true;
		}
	}
	return false;
}

static int open_db(struct ctl *c)
{
	if (at_db_library_init() || at_db_open(&c->db, &c->settings)) {
		fprintf(stderr, "apitokenctl: the MariaDB client library cannot be initialised\n");
		return 1;
	}
	if (at_db_ping(c->db)) {
		fprintf(stderr, "apitokenctl: database %s: %s\n", c->settings.db_name,
			at_db_error(c->db));
		return 1;
	}
	return 0;
}

static int load_keys(struct ctl *c)
{
	char err[512];

	if (at_keys_load(&c->keys, c->settings.key_file, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: %s\n", err);
		return 1;
	}
	return 0;
}

static int cmd_migrate(struct ctl *c, int argc, char **argv);
static int cmd_keygen(struct ctl *c, int argc, char **argv);
static int cmd_token_issue(struct ctl *c, int argc, char **argv);
static int cmd_module_add(struct ctl *c, int argc, char **argv);
static int cmd_module_remove(struct ctl *c, int argc, char **argv);
static int cmd_audit_verify(struct ctl *c, int argc, char **argv);
static int cmd_key_rotate(struct ctl *c, int argc, char **argv);
static int cmd_key_reseal(struct ctl *c, int argc, char **argv);
static int cmd_account_create(struct ctl *c, int argc, char **argv);
static int cmd_account_list(struct ctl *c, int argc, char **argv);
static int cmd_user_create(struct ctl *c, int argc, char **argv);
static int cmd_module_create(struct ctl *c, int argc, char **argv);

static const struct command commands[] = {
	{ "migrate", "[--dir DIR]",
	  "Apply the SQL migrations not yet applied, in order, recording each in\n"
	  "schema_migrations; running it again applies only new ones.  DIR defaults\n"
	  "to " DEFAULT_MIGRATIONS ".  Connects as [database] user: use an account\n"
	  "that may create tables (e.g. APITOKEND_DATABASE_USER=root).",
	  cmd_migrate },
	{ "keygen", "[PATH]",
	  "Write a new key file (mode 0600) at PATH, or at [security] key_file.\n"
	  "Refuses to overwrite an existing file: its keys protect every token.",
	  cmd_keygen },
	{ "token issue", "--account ACC-… --name NAME --by USR-… [--module MOD-…]… [--description TEXT]",
	  "Create an API token in an account and print its value once on stdout.\n"
	  "Each module must be enabled for the account; --by names the user the\n"
	  "token's audit shows as its creator.",
	  cmd_token_issue },
	{ "module add", "--account ACC-… --module MOD-…",
	  "Enable a module for an account (its users and tokens may then hold it).",
	  cmd_module_add },
	{ "module remove", "--account ACC-… --module MOD-… --by USR-…",
	  "Disable a module for an account: every token of the account that holds it\n"
	  "loses it, each change audited as done by the user --by, in one transaction.",
	  cmd_module_remove },
	{ "audit verify", "",
	  "Check every account's audit chain: the sequence, each record's link to the\n"
	  "one before, and each record's hash over its content.  Names the first\n"
	  "broken record of each chain and exits 1 if any chain is broken.",
	  cmd_audit_verify },
	{ "key rotate", "",
	  "Add a new seal key to the key file and make it the one new values are\n"
	  "sealed with.  Then reload apitokend (SIGHUP) so that it knows the new key,\n"
	  "and run 'key reseal' to move every stored value to it.  The hash key never\n"
	  "changes: every token would stop working.",
	  cmd_key_rotate },
	{ "key reseal", "",
	  "Seal every stored token value again under the current seal key, so that\n"
	  "older seal keys can later be dropped.  Safe to run while apitokend serves.",
	  cmd_key_reseal },
	{ "account create", "--name NAME --type Client|Vendor|Operations [--id ACC-…]",
	  "Create an account and print its id (random unless --id is given).",
	  cmd_account_create },
	{ "account list", "",
	  "List the accounts: id, type, status, name and enabled modules.",
	  cmd_account_list },
	{ "user create", "--account ACC-… --name NAME [--email ADDR] [--module MOD-…]…",
	  "Create a user in an account, holding the given modules (each enabled for the\n"
	  "account; access-management makes an administrator), and print its id.",
	  cmd_user_create },
	{ "module create", "--id MOD-dddd --code CODE --name NAME --types Client,Vendor,… "
	  "[--description TEXT] [--path PREFIX]…",
	  "Add a module to the catalogue with the API path prefixes it grants.",
	  cmd_module_create },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_migrate(struct ctl *c, int argc, char **argv)
{
	const char *dir = DEFAULT_MIGRATIONS;
	unsigned applied = 0;
	char err[1024];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else
			die_usage(&commands[0]);
	}
	if (open_db(c))
		return 1;
	if (at_migrate(c->db, dir, stdout, &applied, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: migrate: %s\n", err);
		return 1;
	}
	printf("%u migration%s applied; the schema is up to date\n", applied,
	       applied == 1 ? "" : "s");
	return 0;
}

static int cmd_keygen(struct ctl *c, int argc, char **argv)
{
	const char *path = c->settings.key_file;
	char err[512];

	if (argc > 2)
		die_usage(&commands[1]);
	if (argc == 2)
		path = argv[1];
	if (at_crypto_init() || at_keys_generate(path, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: keygen: %s\n", err);
		return 1;
	}
	printf("wrote %s\n", path);
	return 0;
}

/* Look up one row by id; *found tells whether it exists.  Copies up to
 * two text columns into the given buffers. */
static int lookup(struct ctl *c, enum at_stmt stmt, const char *id, bool *found,
		  unsigned col_a, char *a, size_t alen, unsigned col_b, char *b, size_t blen)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *v;
	enum at_err rc;

	*found = false;
	if ((rc = at_db_query(c->db, stmt, &p, 1, &rows)))
		goto fail;
	if ((rc = at_db_rows_next(&rows, found))) {
		at_db_rows_release(&rows);
		goto fail;
	}
	if (*found && a && (v = at_db_rows_str(&rows, col_a, NULL)))
		at_strlcpy(a, v, alen);
	if (*found && b && (v = at_db_rows_str(&rows, col_b, NULL)))
		at_strlcpy(b, v, blen);
	at_db_rows_release(&rows);
	return 0;
fail:
	fprintf(stderr, "apitokenctl: database: %s\n", at_db_error(c->db));
	return 1;
}

static bool module_enabled(struct ctl *c, const char *account, const char *module, int *err)
{
	struct at_db_param p[2] = { AT_DB_P_STR(account), AT_DB_P_STR(module) };
	struct at_db_rows rows;
	bool more = false;

	if (at_db_query(c->db, AT_STMT_MODULE_OF_ACCOUNT, p, 2, &rows) ||
	    at_db_rows_next(&rows, &more)) {
		fprintf(stderr, "apitokenctl: database: %s\n", at_db_error(c->db));
		*err = 1;
	}
	at_db_rows_release(&rows);
	return more;
}

struct issue {
	const char *account, *name, *by, *description;
	const char *modules[MAX_MODULES];
	size_t nmodules;
};

/* The operator's context: the user by acts, the request says where from
 * (the audit records show the user agent "apitokenctl"). */
static int operator_ctx(struct ctl *c, const char *by, const char *cmd)
{
	struct at_ctx *op = &c->op;

	memset(&c->req, 0, sizeof(c->req));
	c->req.user_agent = "apitokenctl";
	c->req.query = "";
	at_buf_init(&c->req.body, 0);
	at_response_init(&c->resp);
	op->settings = &c->settings;
	op->keys = c->keys;
	op->db = c->db;
	op->req = &c->req;
	op->resp = &c->resp;
	if (!at_id_valid(by, "USR", 2) || at_auth_load_user(c->db, by, &op->caller)) {
		fprintf(stderr, "apitokenctl: %s: --by %s is not an active user%s%s\n", cmd, by,
			at_db_error(c->db)[0] ? ": " : "", at_db_error(c->db));
		return 1;
	}
	return 0;
}

struct issue_job {
	struct ctl *c;
	struct at_token_new t;
	char id[AT_TOKEN_ID_LEN + 1];
	char value[AT_TOKEN_VALUE_LEN + 1];
};

static enum at_err issue_tx(void *arg)
{
	struct issue_job *j = arg;

	return at_tokens_insert(&j->c->op, &j->t, j->id, j->value);
}

static int cmd_token_issue(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "by", required_argument, NULL, 'b' },
		{ "module", required_argument, NULL, 'm' },
		{ "description", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct issue_job job = { .c = c };
	struct issue is = { 0 };
	bool found;
	int o, err = 0;
	size_t i, j;

	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'a': is.account = optarg; break;
		case 'n': is.name = optarg; break;
		case 'b': is.by = optarg; break;
		case 'd': is.description = optarg; break;
		case 'm':
			if (is.nmodules == MAX_MODULES)
				die_usage(&commands[2]);
			is.modules[is.nmodules++] = optarg;
			break;
		default: die_usage(&commands[2]);
		}
	}
	if (optind != argc || !is.account || !is.name || !is.by)
		die_usage(&commands[2]);
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
	if (at_crypto_init() || load_keys(c) || open_db(c))
		return 1;
	if (lookup(c, AT_STMT_ACCOUNT_GET, is.account, &found, 0, NULL, 0, 0, NULL, 0))
		return 1;
	if (!found) {
		fprintf(stderr, "apitokenctl: token issue: account %s does not exist\n", is.account);
		return 1;
	}
	if (operator_ctx(c, is.by, "token issue"))
		return 1;
	for (i = 0; i < is.nmodules; i++) {
		if (!module_enabled(c, is.account, is.modules[i], &err)) {
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
	static const struct option opts[] = {
		{ "account", required_argument, NULL, 'a' },
		{ "module", required_argument, NULL, 'm' },
		{ "by", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	*account = *module = *user = NULL;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'a': *account = optarg; break;
		case 'm': *module = optarg; break;
		case 'b': *user = optarg; break;
		default: die_usage(cmd);
		}
	}
	if (optind != argc || !*account || !*module || (by && !*user) || (!by && *user))
		die_usage(cmd);
	if (!at_id_valid(*account, "ACC", 2) || !at_id_valid(*module, "MOD", 1)) {
		fprintf(stderr, "apitokenctl: %s: --account takes ACC-dddd-dddd and --module "
			"MOD-dddd\n", cmd->name);
		return 2;
	}
	return 0;
}

static int cmd_module_add(struct ctl *c, int argc, char **argv)
{
	const char *account, *module, *user;
	struct at_db_param p[2];
	uint64_t n = 0;
	int rc;

	if ((rc = module_args(argc, argv, &commands[3], false, &account, &module, &user)))
		return rc;
	if (open_db(c))
		return 1;
	p[0] = AT_DB_P_STR(account);
	p[1] = AT_DB_P_STR(module);
	if (at_db_exec(c->db, AT_STMT_ACCOUNT_MODULE_ADD, p, 2, &n)) {
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

	return at_tokens_strip_module(&j->c->op, j->account, j->module, &j->changed);
}

static int cmd_module_remove(struct ctl *c, int argc, char **argv)
{
	struct strip_job j = { .c = c };
	const char *user;
	int rc;

	if ((rc = module_args(argc, argv, &commands[4], true, &j.account, &j.module, &user)))
		return rc;
	if (at_crypto_init() || load_keys(c) || open_db(c) ||
	    operator_ctx(c, user, "module remove"))
		return 1;
	if (at_db_transact(c->db, strip_tx, &j)) {
		fprintf(stderr, "apitokenctl: module remove: %s\n", at_db_error(c->db));
		return 1;
	}
	printf("%s removed from %s; %u token%s lost it\n", j.module, j.account, j.changed,
	       j.changed == 1 ? "" : "s");
	return 0;
}

static int cmd_audit_verify(struct ctl *c, int argc, char **argv)
{
	unsigned broken = 0;

	if (argc != 1)
		die_usage(&commands[5]);
	if (at_crypto_init() || load_keys(c) || open_db(c))
		return 1;
	if (at_audit_verify(c->db, c->keys, stdout, &broken)) {
		fprintf(stderr, "apitokenctl: audit verify: %s\n", at_db_error(c->db));
		return 1;
	}
	if (broken) {
		printf("%u chain%s broken\n", broken, broken == 1 ? "" : "s");
		return 1;
	}
	printf("every chain is intact\n");
	return 0;
}

static int cmd_key_rotate(struct ctl *c, int argc, char **argv)
{
	unsigned id = 0;
	char err[512];

	if (argc != 1)
		die_usage(&commands[6]);
	if (at_crypto_init() || at_keys_rotate(c->settings.key_file, &id, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: key rotate: %s\n", err);
		return 1;
	}
	printf("seal key %u is now current in %s\n"
	       "next: reload apitokend (SIGHUP), then run 'apitokenctl key reseal'\n", id,
	       c->settings.key_file);
	return 0;
}

struct reseal_job {
	struct ctl *c;
	unsigned current;
	unsigned done;
	bool more;
};

/* One batch: open each value with its old key, seal it with the current
 * one.  The id in the WHERE makes a concurrent reseal harmless. */
static enum at_err reseal_tx(void *arg)
{
	struct reseal_job *j = arg;
	struct at_db_param p = AT_DB_P_INT(j->current);
	char value[AT_TOKEN_VALUE_LEN + 1];
	unsigned char sealed[AT_SEALED_LEN];
	struct { char id[AT_TOKEN_ID_LEN + 1]; unsigned char s[AT_SEALED_LEN]; unsigned key; }
		*batch = NULL;
	struct at_db_rows rows;
	size_t n = 0, i, len;
	const char *id, *v;
	unsigned key_id;
	enum at_err rc;
	bool more;

	batch = calloc(200, sizeof(*batch));
	if (!batch)
		return AT_ERR_NOMEM;
	if ((rc = at_db_query(j->c->db, AT_STMT_TOKENS_TO_RESEAL, &p, 1, &rows)))
		goto out;
	while (!(rc = at_db_rows_next(&rows, &more)) && more && n < 200) {
		id = at_db_rows_str(&rows, 0, NULL);
		v = at_db_rows_str(&rows, 1, &len);
		if (!id || !v || len != AT_SEALED_LEN)
			continue;
		at_strlcpy(batch[n].id, id, sizeof(batch[n].id));
		memcpy(batch[n].s, v, AT_SEALED_LEN);
		batch[n].key = (unsigned)at_db_rows_int(&rows, 2);
		n++;
	}
	at_db_rows_release(&rows);
	for (i = 0; !rc && i < n; i++) {
		if ((rc = at_token_open(j->c->keys, batch[i].key, batch[i].id, batch[i].s,
					AT_SEALED_LEN, value))) {
			fprintf(stderr, "apitokenctl: key reseal: %s: the value does not open with "
				"seal key %u\n", batch[i].id, batch[i].key);
			break;
		}
		rc = at_token_seal(j->c->keys, batch[i].id, value, sealed, &key_id);
		at_wipe(value, sizeof(value));
		if (rc)
			break;
		struct at_db_param q[] = { AT_DB_P_BLOB(sealed, sizeof(sealed)), AT_DB_P_INT(key_id),
					   AT_DB_P_STR(batch[i].id), AT_DB_P_INT(batch[i].key) };
		rc = at_db_exec(j->c->db, AT_STMT_TOKEN_RESEAL, q, 4, NULL);
	}
	if (!rc) {
		j->done += (unsigned)n;
		j->more = n == 200;
	}
out:
	free(batch);
	return rc;
}

static int cmd_key_reseal(struct ctl *c, int argc, char **argv)
{
	struct reseal_job j = { .c = c };

	if (argc != 1)
		die_usage(&commands[7]);
	if (at_crypto_init() || load_keys(c) || open_db(c))
		return 1;
	j.current = at_keys_current(c->keys);
	do {
		if (at_db_transact(c->db, reseal_tx, &j)) {
			fprintf(stderr, "apitokenctl: key reseal: %s\n", at_db_error(c->db));
			return 1;
		}
	} while (j.more);
	printf("%u value%s sealed again under seal key %u\n", j.done, j.done == 1 ? "" : "s",
	       j.current);
	return 0;
}

/* getopt_long over a table of long options that all take an argument;
 * vals[i] receives the argument of opts[i], repeated ones go to multi. */
static int take_opts(int argc, char **argv, const struct command *cmd, const char *const *names,
		     const char **vals, size_t n, const char *multi_name, const char **multi,
		     size_t *nmulti, size_t max_multi)
{
	struct option opts[16];
	size_t i;
	int o;

	if (n + 2 > sizeof(opts) / sizeof(opts[0]))
		return 2;
	for (i = 0; i < n; i++)
		opts[i] = (struct option){ names[i], required_argument, NULL, (int)i + 1 };
	if (multi_name)
		opts[i++] = (struct option){ multi_name, required_argument, NULL, 100 };
	opts[i] = (struct option){ NULL, 0, NULL, 0 };
	optind = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 100 && *nmulti < max_multi)
			multi[(*nmulti)++] = optarg;
		else if (o >= 1 && (size_t)o <= n)
			vals[o - 1] = optarg;
		else
			die_usage(cmd);
	}
	if (optind != argc)
		die_usage(cmd);
	return 0;
}

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
	size_t i;

	if (at_db_begin(c->db) ||
	    insert_with_id(c, row->stmt, row->p, row->n, row->given, row->prefix, row->groups, id,
			   sizeof(id), what))
		goto fail;
	for (i = 0; i < nlinks; i++) {
		struct at_db_param m[] = { AT_DB_P_STR(id), AT_DB_P_STR(links[i]) };

		if (at_db_exec(c->db, link_stmt, m, 2, NULL))
			goto fail;
	}
	if (at_db_commit(c->db))
		goto fail;
	printf("%s\n", id);
	return 0;
fail:
	at_db_rollback(c->db);
	fprintf(stderr, "apitokenctl: %s: %s\n", what, at_db_error(c->db));
	return 1;
}

static int cmd_account_create(struct ctl *c, int argc, char **argv)
{
	static const char *const names[] = { "name", "type", "id" };
	const char *v[3] = { NULL, NULL, NULL };
	enum at_account_type type;
	struct at_db_param p[3];
	char id[AT_ID_MAX];
	int rc;

	if ((rc = take_opts(argc, argv, &commands[8], names, v, 3, NULL, NULL, NULL, 0)))
		return rc;
	if (!v[0] || !v[1] || !*v[0] || strlen(v[0]) > 200 || !at_account_type_parse(v[1], &type) ||
	    (v[2] && !at_id_valid(v[2], "ACC", 2))) {
		fprintf(stderr, "apitokenctl: account create: --name (1-200 characters) and --type "
			"Client|Vendor|Operations are needed; --id takes ACC-dddd-dddd\n");
		return 2;
	}
	if (at_crypto_init() || open_db(c))
		return 1;
	p[1] = AT_DB_P_STR(v[0]);
	p[2] = AT_DB_P_STR(at_account_type_name(type));
	if (insert_with_id(c, AT_STMT_ACCOUNT_INSERT, p, 3, v[2], "ACC", 2, id, sizeof(id),
			   "account create"))
		return 1;
	printf("%s\n", id);
	return 0;
}

static int cmd_account_list(struct ctl *c, int argc, char **argv)
{
	struct at_db_rows rows;
	const char *mods;
	bool more;

	if (argc != 1)
		die_usage(&commands[9]);
	if (open_db(c))
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

static int cmd_user_create(struct ctl *c, int argc, char **argv)
{
	static const char *const names[] = { "account", "name", "email" };
	const char *v[3] = { NULL, NULL, NULL }, *mods[MAX_MODULES];
	struct at_db_param p[4];
	size_t nmods = 0, i;
	int rc, err = 0;

	if ((rc = take_opts(argc, argv, &commands[10], names, v, 3, "module", mods, &nmods,
			    MAX_MODULES)))
		return rc;
	if (!v[0] || !at_id_valid(v[0], "ACC", 2) || !v[1] || !*v[1] || strlen(v[1]) > 200) {
		fprintf(stderr, "apitokenctl: user create: --account ACC-dddd-dddd and --name "
			"(1-200 characters) are needed\n");
		return 2;
	}
	if (at_crypto_init() || open_db(c))
		return 1;
	for (i = 0; i < nmods; i++) {
		if (!at_id_valid(mods[i], "MOD", 1) || !module_enabled(c, v[0], mods[i], &err)) {
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

static int cmd_module_create(struct ctl *c, int argc, char **argv)
{
	static const char *const names[] = { "id", "code", "name", "types", "description" };
	const char *v[5] = { NULL, NULL, NULL, NULL, NULL }, *paths[64];
	struct at_db_param p[5];
	char types[64];
	size_t npaths = 0, i;
	int rc;

	if ((rc = take_opts(argc, argv, &commands[11], names, v, 5, "path", paths, &npaths, 64)))
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
	if (open_db(c))
		return 1;
	p[1] = AT_DB_P_STR(v[1]);
	p[2] = AT_DB_P_STR(v[2]);
	p[3] = AT_DB_P_OPT(v[4]);
	p[4] = AT_DB_P_STR(v[3]);
	return create_with_links(c, &(struct row_spec){ AT_STMT_MODULE_INSERT, p, 5, v[0], "MOD", 1 },
				 AT_STMT_MODULE_PATH_ADD, paths, npaths, "module create");
}

static void usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: apitokenctl [-c FILE] COMMAND [ARGS]\n\n"
		    "  -c, --config FILE  INI configuration (default " DEFAULT_CONFIG
		    " if it exists;\n"
		    "                     also APITOKEND_CONFIG); every key can be overridden\n"
		    "                     by APITOKEND_<SECTION>_<KEY>\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %s %s\n", commands[i].name, commands[i].args);
	fprintf(fp, "\n'apitokenctl COMMAND --help' tells more.\n");
}

int main(int argc, char **argv)
{
	const char *config = getenv("APITOKEND_CONFIG");
	struct ctl c = { 0 };
	const struct command *cmd = NULL;
	char err[512], name[64];
	int i = 1, status, words;
	size_t k;

	while (i < argc && argv[i][0] == '-') {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
			config = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("apitokenctl %s\n", PACKAGE_VERSION);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	/* commands are one or two words: "migrate", "token issue" */
	for (k = 0; k < NCOMMANDS && !cmd; k++) {
		words = strchr(commands[k].name, ' ') ? 2 : 1;
		if (words == 1 && !strcmp(argv[i], commands[k].name))
			cmd = &commands[k];
		if (words == 2 && i + 1 < argc) {
			snprintf(name, sizeof(name), "%s %s", argv[i], argv[i + 1]);
			if (!strcmp(name, commands[k].name)) {
				cmd = &commands[k];
				i++;
			}
		}
	}
	if (!cmd) {
		fprintf(stderr, "apitokenctl: %s: unknown command\n", argv[i]);
		usage(stderr);
		return 2;
	}
	if (want_help(argc - i, argv + i, cmd))
		return 0;
	if (!config && access(DEFAULT_CONFIG, F_OK) == 0)
		config = DEFAULT_CONFIG;
	at_settings_init(&c.settings);
	if (at_settings_load(&c.settings, config, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: %s\n", err);
		return 2;
	}
	status = cmd->run(&c, argc - i, argv + i);
	at_response_release(&c.resp);
	at_db_free(c.db);
	at_keys_free(c.keys);
	at_wipe(c.settings.db_password, sizeof(c.settings.db_password));
	if (c.db)
		at_db_library_end();
	return status;
}
