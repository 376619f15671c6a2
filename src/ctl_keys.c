/* ctl_keys.c: apitokenctl's commands for the schema, the keys and the
 * audit chains: migrate, keygen, key rotate, key reseal, audit verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "audit.h"
#include "migrate.h"

int at_ctl_cmd_migrate(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *dir = DEFAULT_MIGRATIONS;
	unsigned applied = 0;
	char err[1024];
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else
			at_ctl_usage_exit(cmd);
	}
	if (at_ctl_open_db(c))
		return 1;
	if (at_migrate(c->db, dir, stdout, &applied, err, sizeof(err))) {
		fprintf(stderr, "apitokenctl: migrate: %s\n", err);
		return 1;
	}
	printf("%u migration%s applied; the schema is up to date\n", applied,
	       applied == 1 ? "" : "s");
	return 0;
}

int at_ctl_cmd_keygen(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	const char *path = c->settings.key_file;
	char err[512];

	if (argc > 2)
		at_ctl_usage_exit(cmd);
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
int at_ctl_cmd_audit_verify(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	unsigned broken = 0;

	if (argc != 1)
		at_ctl_usage_exit(cmd);
	if (at_crypto_init() || at_ctl_load_keys(c) || at_ctl_open_db(c))
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

int at_ctl_cmd_key_rotate(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	unsigned id = 0;
	char err[512];

	if (argc != 1)
		at_ctl_usage_exit(cmd);
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

int at_ctl_cmd_key_reseal(struct ctl *c, const struct command *cmd, int argc, char **argv)
{
	struct reseal_job j = { .c = c };

	if (argc != 1)
		at_ctl_usage_exit(cmd);
	if (at_crypto_init() || at_ctl_load_keys(c) || at_ctl_open_db(c))
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
