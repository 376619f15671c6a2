/* keyfile.c: the key file: loading, generating, rotating.
 *
 * The keys live in memory from at_secure_alloc() (crypto.c), made
 * read-only once loaded; this file never sees libsodium itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "inifile.h"
#include "keyset.h"
#include "settings.h"

#define KEY_LEN		AT_KEY_LEN
#define KEY_HEX_LEN	(2 * KEY_LEN)
#define MAX_SEAL_ID	999999u		/* keeps "seal.N" names short */
#define KEYS_FILE_MAX	(16 * 1024)	/* a real key file is under 2 KiB */
#define KEYS_TEXT_MAX	4096

unsigned at_keys_current(const struct at_keys *keys)
{
	return keys->current;
}

void at_keys_free(struct at_keys *keys)
{
	at_secure_free(keys);
}

const struct at_seal_key *at_keys_seal(const struct at_keys *keys, unsigned id)
{
	unsigned i;

	for (i = 0; i < keys->nseal; i++)
		if (keys->seal[i].id == id)
			return &keys->seal[i];
	return NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Decimal 1..MAX_SEAL_ID, canonical (no sign, no leading zero). */
static bool parse_seal_id(const char *s, unsigned *id)
{
	unsigned v = 0;
	size_t i;

	if (!is_digit(s[0]) || s[0] == '0')
		return false;
	for (i = 0; s[i]; i++) {
		if (!is_digit(s[i]) || i >= 6)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*id = v;
	return v <= MAX_SEAL_ID;
}

struct load_ctx {
	struct at_keys *keys;
	char msg[160];		/* the first problem; names the key, not the line */
};

static int keys_line(void *ud, const char *section, const char *key, const char *value)
{
	struct load_ctx *c = ud;
	struct at_keys *k = c->keys;
	struct at_seal_key *s;
	unsigned id;

	/* libinih reads on after an error; keep the first one */
	if (c->msg[0])
		return 0;
	if (strcmp(section, "keys")) {
		at_errf(c->msg, sizeof(c->msg), "%s outside [keys]", key);
		return 0;
	}
	if (!strcmp(key, "hash")) {
		if (k->has_hash) {
			at_errf(c->msg, sizeof(c->msg), "hash given twice");
			return 0;
		}
		if (!at_hex_decode(k->hash, KEY_LEN, value)) {
			at_errf(c->msg, sizeof(c->msg), "hash is not 64 hex digits");
			return 0;
		}
		k->has_hash = true;
	} else if (!strncmp(key, "seal.", 5)) {
		if (!parse_seal_id(key + 5, &id)) {
			at_errf(c->msg, sizeof(c->msg), "%s is not seal.N with N from 1 to %u",
				key, MAX_SEAL_ID);
			return 0;
		}
		if (at_keys_seal(k, id)) {
			at_errf(c->msg, sizeof(c->msg), "%s given twice", key);
			return 0;
		}
		if (k->nseal == AT_MAX_SEAL_KEYS) {
			at_errf(c->msg, sizeof(c->msg), "more than %d seal keys",
				AT_MAX_SEAL_KEYS);
			return 0;
		}
		s = &k->seal[k->nseal];
		if (!at_hex_decode(s->key, KEY_LEN, value)) {
			at_errf(c->msg, sizeof(c->msg), "%s is not 64 hex digits", key);
			return 0;
		}
		s->id = id;
		k->nseal++;
	} else if (!strcmp(key, "current")) {
		if (k->has_current) {
			at_errf(c->msg, sizeof(c->msg), "current given twice");
			return 0;
		}
		if (!parse_seal_id(value, &k->current)) {
			at_errf(c->msg, sizeof(c->msg), "current is not a seal key number");
			return 0;
		}
		k->has_current = true;
	} else {
		at_errf(c->msg, sizeof(c->msg), "unknown key %s", key);
		return 0;
	}
	return 1;
}

/* open() of path failed: the errno expected is the operator's to set
 * right (AT_ERR_CONFIG, saying how), any other an I/O error. */
static enum at_err open_failed(const char *path, int expected, const char *how,
			       char *err, size_t errlen)
{
	if (errno == expected) {
		at_errf(err, errlen, "key file %s: %s", path, how);
		return AT_ERR_CONFIG;
	}
	at_errf(err, errlen, "key file %s: %s", path, strerror(errno));
	return AT_ERR_IO;
}

/* Read and check the key file; the result is still writable.  st receives
 * the file's status (rotate keeps its owner). */
static enum at_err keys_read(struct at_keys **out, const char *path, struct stat *st,
			     char *err, size_t errlen)
{
	char iobuf[BUFSIZ];	/* stdio's buffer, ours so that we can wipe it */
	struct load_ctx c = { 0 };
	struct at_keys *k = NULL;
	FILE *fp = NULL;
	enum at_err rc;
	int fd, line;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted at path must not hang us before fstat */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		rc = open_failed(path, ENOENT, "not found; run `apitokenctl keygen` to make one",
				 err, errlen);
		goto out;
	}
	if (fstat(fd, st)) {
		at_errf(err, errlen, "key file %s: %s", path, strerror(errno));
		rc = AT_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		at_errf(err, errlen, "key file %s: not a regular file", path);
		rc = AT_ERR_CONFIG;
		goto out;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		at_errf(err, errlen, "key file %s: mode 0%03o is wider than 0600", path,
			(unsigned)(st->st_mode & 07777));
		rc = AT_ERR_CONFIG;
		goto out;
	}
	if (st->st_size > KEYS_FILE_MAX) {
		at_errf(err, errlen, "key file %s: larger than %d bytes", path, KEYS_FILE_MAX);
		rc = AT_ERR_CONFIG;
		goto out;
	}
	fp = fdopen(fd, "r");
	if (!fp) {
		at_errf(err, errlen, "key file %s: %s", path, strerror(errno));
		rc = AT_ERR_IO;
		goto out;
	}
	fd = -1;	/* fp owns it now */
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));

	k = at_secure_alloc(sizeof(*k));
	if (!k) {
		at_errf(err, errlen, "key file %s: out of memory", path);
		rc = AT_ERR_NOMEM;
		goto out;
	}
	c.keys = k;
	line = at_ini_parse_fp(fp, keys_line, &c);
	if (line < 0 || ferror(fp)) {
		at_errf(err, errlen, "key file %s: read error", path);
		rc = AT_ERR_IO;
		goto out;
	}
	rc = AT_ERR_CONFIG;
	if (c.msg[0]) {
		at_errf(err, errlen, "key file %s: %s", path, c.msg);
		goto out;
	}
	if (line > 0) {
		at_errf(err, errlen, "key file %s: line %d: not a key = value line", path, line);
		goto out;
	}
	if (!k->has_hash) {
		at_errf(err, errlen, "key file %s: no hash key", path);
		goto out;
	}
	if (!k->nseal) {
		at_errf(err, errlen, "key file %s: no seal key", path);
		goto out;
	}
	if (!k->has_current) {
		at_errf(err, errlen, "key file %s: no current seal key", path);
		goto out;
	}
	if (!at_keys_seal(k, k->current)) {
		at_errf(err, errlen, "key file %s: current = %u names no seal key", path,
			k->current);
		goto out;
	}
	*out = k;
	k = NULL;
	rc = AT_OK;
out:
	if (fp)
		fclose(fp);
	else if (fd >= 0)
		close(fd);
	at_wipe(iobuf, sizeof(iobuf));
	at_secure_free(k);
	return rc;
}

enum at_err at_keys_load(struct at_keys **out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	enum at_err rc;

	rc = keys_read(out, path, &st, err, errlen);
	if (rc)
		return rc;
	if (at_secure_readonly(*out)) {
		at_errf(err, errlen, "key file %s: cannot protect keys: %s", path,
			strerror(errno));
		at_secure_free(*out);
		*out = NULL;
		return AT_ERR_CRYPTO;
	}
	return AT_OK;
}

/* The file's text into text; false only if it does not fit. */
static bool keys_format(const struct at_keys *k, char *text, size_t size, size_t *len)
{
	char hex[KEY_HEX_LEN + 1];
	bool ok;
	unsigned i;

	*len = 0;
	ok = at_appendf(text, size, len,
		     "; apitokend key file: keep it secret, mode 0600\n"
		     "; hash must never change (that would invalidate every token);\n"
		     "; seal keys rotate: current names the one that seals new values\n"
		     "[keys]\n");
	at_hex_encode(hex, k->hash, KEY_LEN);
	ok = ok && at_appendf(text, size, len, "hash = %s\n", hex);
	for (i = 0; i < k->nseal; i++) {
		at_hex_encode(hex, k->seal[i].key, KEY_LEN);
		ok = ok && at_appendf(text, size, len, "seal.%u = %s\n", k->seal[i].id, hex);
	}
	ok = ok && at_appendf(text, size, len, "current = %u\n", k->current);
	at_wipe(hex, sizeof(hex));
	return ok;
}

/* Write all of text to fd, fsync and close it (even on failure). */
static enum at_err write_file(int fd, const char *text, size_t len, const char *path,
			      char *err, size_t errlen)
{
	enum at_err rc = AT_ERR_IO;
	ssize_t n = -1;

	while (len) {
		n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		text += n;
		len -= (size_t)n;
	}
	if (fsync(fd))
		goto out;
	rc = close(fd) ? AT_ERR_IO : AT_OK;
	fd = -1;
out:
	if (rc)
		at_errf(err, errlen, "key file %s: %s", path,
			n == 0 ? "short write" : strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* fsync the directory holding path so that a new name survives a crash. */
static enum at_err sync_dir(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd;

	if (!slash) {
		memcpy(dir, ".", 2);
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof(dir)) {
			at_errf(err, errlen, "key file %s: path too long", path);
			return AT_ERR_IO;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		at_errf(err, errlen, "key file %s: directory: %s", path, strerror(errno));
		return AT_ERR_IO;
	}
	/* some file systems cannot sync a directory; that is not our failure */
	if (fsync(fd) && errno != EINVAL) {
		at_errf(err, errlen, "key file %s: directory: %s", path, strerror(errno));
		close(fd);
		return AT_ERR_IO;
	}
	close(fd);
	return AT_OK;
}

enum at_err at_keys_generate(const char *path, char *err, size_t errlen)
{
	char text[KEYS_TEXT_MAX];
	struct at_keys *k;
	bool created = false;
	enum at_err rc;
	size_t len;
	int fd;

	k = at_secure_alloc(sizeof(*k));
	if (!k) {
		at_errf(err, errlen, "key file %s: out of memory", path);
		return AT_ERR_NOMEM;
	}
	at_random_bytes(k->hash, KEY_LEN);
	k->has_hash = true;
	k->seal[0].id = 1;
	at_random_bytes(k->seal[0].key, KEY_LEN);
	k->nseal = 1;
	k->current = 1;
	k->has_current = true;
	if (!keys_format(k, text, sizeof(text), &len)) {
		at_errf(err, errlen, "key file %s: text too long", path);
		rc = AT_ERR_INTERNAL;
		goto out;
	}
	/* O_EXCL: never overwrite keys (nor follow a symlink planted there) */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		rc = open_failed(path, EEXIST, "already exists; refusing to overwrite it",
				 err, errlen);
		goto out;
	}
	created = true;
	rc = write_file(fd, text, len, path, err, errlen);
	if (rc)
		goto out;
	rc = sync_dir(path, err, errlen);
out:
	/* a half-written key file would only confuse the next keygen */
	if (rc && created)
		unlink(path);
	at_wipe(text, sizeof(text));
	at_secure_free(k);
	return rc;
}

enum at_err at_keys_rotate(const char *path, unsigned *new_id, char *err, size_t errlen)
{
	char text[KEYS_TEXT_MAX];
	char tmp[PATH_MAX];
	struct at_keys *k = NULL;
	struct at_seal_key *s;
	struct stat st;
	bool created = false;
	unsigned id = 0, i;
	enum at_err rc;
	size_t len;
	int fd = -1, n;

	rc = keys_read(&k, path, &st, err, errlen);
	if (rc)
		goto out;
	rc = AT_ERR_CONFIG;
	if (k->nseal >= AT_MAX_SEAL_KEYS) {
		at_errf(err, errlen, "key file %s: already holds %d seal keys; retire an old one first",
			path, AT_MAX_SEAL_KEYS);
		goto out;
	}
	for (i = 0; i < k->nseal; i++)
		if (k->seal[i].id > id)
			id = k->seal[i].id;
	if (id >= MAX_SEAL_ID) {
		at_errf(err, errlen, "key file %s: seal key numbers are used up", path);
		goto out;
	}
	id++;
	s = &k->seal[k->nseal++];
	s->id = id;
	at_random_bytes(s->key, KEY_LEN);
	k->current = id;
	if (!keys_format(k, text, sizeof(text), &len)) {
		at_errf(err, errlen, "key file %s: text too long", path);
		rc = AT_ERR_INTERNAL;
		goto out;
	}

	/* a temporary file in the same directory, then rename: readers see
	 * the old file or the new one, never half of either */
	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		at_errf(err, errlen, "key file %s: path too long", path);
		goto out;
	}
	rc = AT_ERR_IO;
	fd = mkstemp(tmp);	/* mode 0600, O_EXCL */
	if (fd < 0) {
		at_errf(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto out;
	}
	created = true;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC)) {
		at_errf(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* root rotating the daemon's file must leave it readable to the daemon */
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid)) {
		at_errf(err, errlen, "key file %s: cannot keep owner %u:%u: %s", tmp,
			(unsigned)st.st_uid, (unsigned)st.st_gid, strerror(errno));
		goto out;
	}
	rc = write_file(fd, text, len, tmp, err, errlen);
	fd = -1;	/* closed by write_file */
	if (rc)
		goto out;
	if (rename(tmp, path)) {
		at_errf(err, errlen, "key file %s: %s", path, strerror(errno));
		rc = AT_ERR_IO;
		goto out;
	}
	created = false;
	/* the new file is in place even if the directory sync fails */
	*new_id = id;
	rc = sync_dir(path, err, errlen);
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp);
	at_wipe(text, sizeof(text));
	at_secure_free(k);
	return rc;
}
