/* ctl.c: apitokenctl, the administration tool: the command line, and what
 * the commands share. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"

void at_ctl_usage_exit(const struct command *cmd)
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

int at_ctl_open_db(struct ctl *c)
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

int at_ctl_load_keys(struct ctl *c)
{
	char err[512];

	if (at_keys_load(&c->keys, c->settings.key_file, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: %s\n", err);
		return 1;
	}
	return 0;
}

int at_ctl_lookup(struct ctl *c, enum at_stmt stmt, const char *id, bool *found,
		  unsigned col_a, char *a, size_t alen, unsigned col_b, char *b, size_t blen)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *v;
	enum at_err rc;

	*found = false;
	if ((rc = at_db_query(c->db, stmt, &p, 1, &rows)))
		goto out;
	if (!(rc = at_db_rows_next(&rows, found))) {
		if (*found && a && (v = at_db_rows_str(&rows, col_a, NULL)))
			at_strlcpy(a, v, alen);
		if (*found && b && (v = at_db_rows_str(&rows, col_b, NULL)))
			at_strlcpy(b, v, blen);
	}
	at_db_rows_release(&rows);
out:
	if (rc)
		fprintf(stderr, "apitokenctl: database: %s\n", at_db_error(c->db));
	return rc ? 1 : 0;
}

bool at_ctl_module_enabled(struct ctl *c, const char *account, const char *module, int *err)
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

/* The operator's domain calls: the user by acts, from apitokenctl (the
 * audit records show it as the user agent). */
int at_ctl_operator(struct ctl *c, const char *by, const char *cmd)
{
	at_problem_clear(&c->problem);
	c->dom = (struct at_dom){
		.db = c->db,
		.keys = c->keys,
		.settings = &c->settings,
		.actor = &c->actor,
		.origin = { .user_agent = "apitokenctl" },
		.problem = &c->problem,
	};
	if (!at_id_valid(by, "USR", 2) || at_auth_load_user(c->db, by, &c->actor)) {
		fprintf(stderr, "apitokenctl: %s: --by %s is not an active user%s%s\n", cmd, by,
			at_db_error(c->db)[0] ? ": " : "", at_db_error(c->db));
		return 1;
	}
	return 0;
}

int at_ctl_take_opts(int argc, char **argv, const struct command *cmd, const char *const *names,
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
			at_ctl_usage_exit(cmd);
	}
	if (optind != argc)
		at_ctl_usage_exit(cmd);
	return 0;
}

static const struct command commands[] = {
	{ "migrate", "[--dir DIR]",
	  "Apply the SQL migrations not yet applied, in order, recording each in\n"
	  "schema_migrations; running it again applies only new ones.  DIR defaults\n"
	  "to " DEFAULT_MIGRATIONS ".  Connects as [database] user: use an account\n"
	  "that may create tables (e.g. APITOKEND_DATABASE_USER=root).",
	  at_ctl_cmd_migrate },
	{ "keygen", "[PATH]",
	  "Write a new key file (mode 0600) at PATH, or at [security] key_file.\n"
	  "Refuses to overwrite an existing file: its keys protect every token.",
	  at_ctl_cmd_keygen },
	{ "token issue", "--account ACC-… --name NAME --by USR-… [--module MOD-…]… [--description TEXT]",
	  "Create an API token in an account and print its value once on stdout.\n"
	  "Each module must be enabled for the account; --by names the user the\n"
	  "token's audit shows as its creator.",
	  at_ctl_cmd_token_issue },
	{ "module add", "--account ACC-… --module MOD-…",
	  "Enable a module for an account (its users and tokens may then hold it).",
	  at_ctl_cmd_module_add },
	{ "module remove", "--account ACC-… --module MOD-… --by USR-…",
	  "Disable a module for an account: every token of the account that holds it\n"
	  "loses it, each change audited as done by the user --by, in one transaction.",
	  at_ctl_cmd_module_remove },
	{ "audit verify", "",
	  "Check every account's audit chain: the sequence, each record's link to the\n"
	  "one before, and each record's hash over its content.  Names the first\n"
	  "broken record of each chain and exits 1 if any chain is broken.",
	  at_ctl_cmd_audit_verify },
	{ "key rotate", "",
	  "Add a new seal key to the key file and make it the one new values are\n"
	  "sealed with.  Then reload apitokend (SIGHUP) so that it knows the new key,\n"
	  "and run 'key reseal' to move every stored value to it.  The hash key never\n"
	  "changes: every token would stop working.",
	  at_ctl_cmd_key_rotate },
	{ "key reseal", "",
	  "Seal every stored token value again under the current seal key, so that\n"
	  "older seal keys can later be dropped.  Safe to run while apitokend serves.",
	  at_ctl_cmd_key_reseal },
	{ "account create", "--name NAME --type Client|Vendor|Operations [--id ACC-…]",
	  "Create an account and print its id (random unless --id is given).",
	  at_ctl_cmd_account_create },
	{ "account list", "",
	  "List the accounts: id, type, status, name and enabled modules.",
	  at_ctl_cmd_account_list },
	{ "account lifetime", "ACC-… DURATION|none",
	  "Set the longest an account's tokens may live, as an ISO 8601 duration\n"
	  "(P90D, PT12H), or none.  A token created without expiresAt then expires\n"
	  "that long after its creation, and no create, edit or enable may set an\n"
	  "expiresAt further away; tokens that exist keep their expiry.",
	  at_ctl_cmd_account_lifetime },
	{ "user create", "--account ACC-… --name NAME [--email ADDR] [--module MOD-…]…",
	  "Create a user in an account, holding the given modules (each enabled for the\n"
	  "account; access-management makes an administrator), and print its id.",
	  at_ctl_cmd_user_create },
	{ "module create", "--id MOD-dddd --code CODE --name NAME --types Client,Vendor,… "
	  "[--description TEXT] [--path PREFIX]…",
	  "Add a module to the catalogue with the API path prefixes it grants.",
	  at_ctl_cmd_module_create },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))
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
	status = cmd->run(&c, cmd, argc - i, argv + i);
	at_db_free(c.db);
	at_keys_free(c.keys);
	at_wipe(c.settings.db_password, sizeof(c.settings.db_password));
	if (c.db)
		at_db_library_end();
	return status;
}

