/* migrate.c: the versioned SQL migrations. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "migrate.h"

#define MIGRATION_MAX_FILES 1000
#define MIGRATION_MAX_BYTES (4u << 20)
#define VERSION_MAX 64

struct version_list {
	char (*v)[VERSION_MAX];
	size_t n;
};

/* NNNN-name.sql: four digits, a dash, [a-z0-9-_]. */
static bool migration_name(const char *name, char *version)
{
	size_t len = strlen(name), i;

	if (len < 10 || len - 4 >= VERSION_MAX || strcmp(name + len - 4, ".sql"))
		return false;
	for (i = 0; i < 4; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	if (name[4] != '-')
		return false;
	for (i = 5; i < len - 4; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-_", name[i]))
			return false;
	memcpy(version, name, len - 4);
	version[len - 4] = '\0';
	return true;
}

static int cmp_version(const void *a, const void *b)
{
	return strcmp(a, b);
}

static enum at_err list_files(const char *dir, struct version_list *out, char *err,
			      size_t errlen)
{
	struct dirent *de;
	char version[VERSION_MAX];
	DIR *d;

	out->v = calloc(MIGRATION_MAX_FILES, VERSION_MAX);
	out->n = 0;
	if (!out->v)
		return AT_ERR_NOMEM;
	d = opendir(dir);
	if (!d) {
		at_errf(err, errlen, "migrations %s: %s", dir, strerror(errno));
		return AT_ERR_IO;
	}
	while ((de = readdir(d))) {
		if (!migration_name(de->d_name, version))
			continue;
		if (out->n == MIGRATION_MAX_FILES) {
			closedir(d);
			at_errf(err, errlen, "migrations %s: more than %d files", dir,
				MIGRATION_MAX_FILES);
			return AT_ERR_IO;
		}
		memcpy(out->v[out->n++], version, VERSION_MAX);
	}
	closedir(d);
	qsort(out->v, out->n, VERSION_MAX, cmp_version);
	return AT_OK;
}

static enum at_err list_applied(struct at_db *db, struct version_list *out)
{
	struct at_db_rows rows;
	enum at_err rc;
	const char *v;
	bool more;

	out->v = calloc(MIGRATION_MAX_FILES, VERSION_MAX);
	out->n = 0;
	if (!out->v)
		return AT_ERR_NOMEM;
	if ((rc = at_db_query(db, AT_STMT_MIGRATION_LIST, NULL, 0, &rows)))
		return rc;
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		v = at_db_rows_str(&rows, 0, NULL);
		if (v && out->n < MIGRATION_MAX_FILES)
			at_strlcpy(out->v[out->n++], v, VERSION_MAX);
	}
	at_db_rows_release(&rows);
	return rc;
}

static bool applied_has(const struct version_list *l, const char *v)
{
	return bsearch(v, l->v, l->n, VERSION_MAX, cmp_version) != NULL;
}

static enum at_err read_file(const char *path, struct at_buf *b, char *err, size_t errlen)
{
	char chunk[8192];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		at_errf(err, errlen, "%s: %s", path, strerror(errno));
		return AT_ERR_IO;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (at_buf_append(b, chunk, (size_t)n)) {
			at_errf(err, errlen, "%s: larger than %u bytes", path,
				MIGRATION_MAX_BYTES);
			close(fd);
			return AT_ERR_IO;
		}
	}
	close(fd);
	if (n < 0) {
		at_errf(err, errlen, "%s: %s", path, strerror(errno));
		return AT_ERR_IO;
	}
	return AT_OK;
}

static enum at_err apply_one(struct at_db *db, const char *dir, const char *version,
			     char *err, size_t errlen)
{
	char path[PATH_MAX], inner[512];
	struct at_db_param p;
	struct at_buf sql;
	enum at_err rc;

	if (snprintf(path, sizeof(path), "%s/%s.sql", dir, version) >= (int)sizeof(path)) {
		at_errf(err, errlen, "%s: path too long", dir);
		return AT_ERR_IO;
	}
	at_buf_init(&sql, MIGRATION_MAX_BYTES);
	if ((rc = read_file(path, &sql, err, errlen)))
		goto out;
	if ((rc = at_db_run_script(db, sql.data ? sql.data : "", sql.len, inner,
				   sizeof(inner)))) {
		at_errf(err, errlen, "%s: %s", path, inner);
		goto out;
	}
	p = AT_DB_P_STR(version);
	if ((rc = at_db_exec(db, AT_STMT_MIGRATION_ADD, &p, 1, NULL)))
		at_errf(err, errlen, "record %s: %s", version, at_db_error(db));
out:
	at_buf_release(&sql);
	return rc;
}

enum at_err at_migrate(struct at_db *db, const char *dir, FILE *report, unsigned *applied,
		       char *err, size_t errlen)
{
	struct version_list files = { 0 }, done = { 0 };
	struct at_db_rows rows;
	enum at_err rc;
	/* a failure that has no message of its own is the database's */
	bool db_failed = false;
	size_t i;
	bool more;

	*applied = 0;
	if ((rc = list_files(dir, &files, err, errlen)))
		goto out;
	db_failed = true;
	if ((rc = at_db_query(db, AT_STMT_MIGRATION_LOCK, NULL, 0, &rows)))
		goto out;
	rc = at_db_rows_next(&rows, &more);
	if (!rc && (!more || at_db_rows_int(&rows, 0) != 1)) {
		at_db_rows_release(&rows);
		at_errf(err, errlen, "another migration holds the lock; try again");
		rc = AT_ERR_CONFLICT;
		db_failed = false;
		goto out;
	}
	at_db_rows_release(&rows);
	if (rc)
		goto out;
	if ((rc = at_db_exec(db, AT_STMT_MIGRATION_TABLE, NULL, 0, NULL)) ||
	    (rc = list_applied(db, &done)))
		goto out;
	db_failed = false;
	for (i = 0; i < files.n; i++) {
		if (applied_has(&done, files.v[i]))
			continue;
		if ((rc = apply_one(db, dir, files.v[i], err, errlen)))
			goto out;
		(*applied)++;
		if (report)
			fprintf(report, "applied %s\n", files.v[i]);
	}
	if (at_db_exec(db, AT_STMT_MIGRATION_UNLOCK, NULL, 0, NULL)) {
		/* released with the connection anyway */
	}
out:
	if (rc && db_failed)
		at_errf(err, errlen, "database: %s", at_db_error(db));
	free(files.v);
	free(done.v);
	return rc;
}
