/* ctl.h: what apitokenctl's command files share.
 *
 * ctl.c parses the command line and runs one command; each command group
 * (ctl_tokens.c, ctl_keys.c, ctl_catalog.c) lives in a file of its own.
 * A command returns the exit status: 0, 1 for a failure, 2 for bad usage.
 */
#ifndef AT_CTL_H
#define AT_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "domain.h"
#include "problem.h"
#include "settings.h"
#include "tokens.h"

#define DEFAULT_CONFIG SYSCONFDIR "/apitokend/apitokend.ini"
#define DEFAULT_MIGRATIONS PKGDATADIR "/migrations"
#define MAX_MODULES AT_TOKEN_MODULES_MAX

struct ctl {
	struct at_settings settings;
	struct at_db *db;
	struct at_keys *keys;
	/* commands that change tokens act through the same domain layer as
	 * the API, as the user named by --by */
	struct at_caller actor;
	struct at_problem problem;
	struct at_dom dom;
};

struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*run)(struct ctl *c, const struct command *cmd, int argc, char **argv);
};

/* Print cmd's usage and exit 2. */
__attribute__((noreturn)) void at_ctl_usage_exit(const struct command *cmd);
/* 0, or 1 with the reason on stderr. */
int at_ctl_open_db(struct ctl *c);
int at_ctl_load_keys(struct ctl *c);
/* c->dom acting as the active user by; 1 with the reason otherwise. */
int at_ctl_operator(struct ctl *c, const char *by, const char *cmd);
/* Look up one row by id; *found tells whether it exists.  Copies up to
 * two text columns into the given buffers. */
int at_ctl_lookup(struct ctl *c, enum at_stmt stmt, const char *id, bool *found,
		  unsigned col_a, char *a, size_t alen, unsigned col_b, char *b, size_t blen);
/* Is module enabled for account?  *err set on a database failure. */
bool at_ctl_module_enabled(struct ctl *c, const char *account, const char *module, int *err);
/* getopt_long over a table of long options that all take an argument;
 * vals[i] receives the argument of names[i], repeated ones go to multi. */
int at_ctl_take_opts(int argc, char **argv, const struct command *cmd, const char *const *names,
		     const char **vals, size_t n, const char *multi_name, const char **multi,
		     size_t *nmulti, size_t max_multi);

#define AT_CTL_COMMAND(fn) int fn(struct ctl *c, const struct command *cmd, int argc, char **argv)
AT_CTL_COMMAND(at_ctl_cmd_migrate);
AT_CTL_COMMAND(at_ctl_cmd_keygen);
AT_CTL_COMMAND(at_ctl_cmd_audit_verify);
AT_CTL_COMMAND(at_ctl_cmd_key_rotate);
AT_CTL_COMMAND(at_ctl_cmd_key_reseal);
AT_CTL_COMMAND(at_ctl_cmd_token_issue);
AT_CTL_COMMAND(at_ctl_cmd_module_add);
AT_CTL_COMMAND(at_ctl_cmd_module_remove);
AT_CTL_COMMAND(at_ctl_cmd_account_create);
AT_CTL_COMMAND(at_ctl_cmd_account_list);
AT_CTL_COMMAND(at_ctl_cmd_account_lifetime);
AT_CTL_COMMAND(at_ctl_cmd_user_create);
AT_CTL_COMMAND(at_ctl_cmd_module_create);

#endif
