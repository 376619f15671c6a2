/* crypto.c: ids, token values, hashing, sealing and the key file.
 *
 * The only file that includes sodium.h.  All key material lives in one
 * sodium_malloc'd struct at_keys (guard pages, locked, wiped by
 * sodium_free) that is made read-only once loaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zlib.h>

#include "crypto.h"
#include "settings.h"

#define KEY_LEN		32
#define KEY_HEX_LEN	(2 * KEY_LEN)
#define MAX_SEAL_KEYS	16
#define MAX_SEAL_ID	999999u		/* keeps "seal.N" names short */
#define KEYS_FILE_MAX	(16 * 1024)	/* a real key file is under 2 KiB */
#define KEYS_TEXT_MAX	4096
#define NONCE_LEN	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

#define ID_PREFIX	"TKN"
#define ID_GROUPS	2u

/* Offsets in "idt:TKN-dddd-dddd:<58 random><6 check>". */
#define VAL_PREFIX	"idt:"
#define VAL_ID_OFF	4
#define VAL_SEP_OFF	(VAL_ID_OFF + AT_TOKEN_ID_LEN)
#define VAL_RANDOM_OFF	(VAL_SEP_OFF + 1)
#define VAL_CHECK_OFF	(VAL_RANDOM_OFF + AT_TOKEN_RANDOM_LEN)

_Static_assert(sizeof(VAL_PREFIX) - 1 == VAL_ID_OFF, "value prefix");
_Static_assert(sizeof(ID_PREFIX) - 1 + 5 * ID_GROUPS == AT_TOKEN_ID_LEN, "id length");
_Static_assert(VAL_CHECK_OFF + AT_TOKEN_CHECK_LEN == AT_TOKEN_VALUE_LEN, "value length");
_Static_assert(NONCE_LEN == 24, "nonce length");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == 16, "tag length");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == KEY_LEN, "seal key length");
_Static_assert(AT_SEALED_LEN == NONCE_LEN + AT_TOKEN_VALUE_LEN +
	       crypto_aead_xchacha20poly1305_ietf_ABYTES, "sealed length");
_Static_assert(AT_HASH_LEN >= crypto_generichash_BYTES_MIN &&
	       AT_HASH_LEN <= crypto_generichash_BYTES_MAX, "hash length");
_Static_assert(KEY_LEN >= crypto_generichash_KEYBYTES_MIN &&
	       KEY_LEN <= crypto_generichash_KEYBYTES_MAX, "hash key length");

static const char b62[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct seal_key {
	unsigned id;			/* >= 1 */
	unsigned char key[KEY_LEN];
};

struct at_keys {
	unsigned char hash[KEY_LEN];
	bool has_hash;
	bool has_current;
	unsigned current;
	unsigned nseal;
	struct seal_key seal[MAX_SEAL_KEYS];
};

static void errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void at_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

enum at_err at_crypto_init(void)
{
	return sodium_init() < 0 ? AT_ERR_CRYPTO : AT_OK;
}

void at_random_bytes(void *out, size_t n)
{
	randombytes_buf(out, n);
}

void at_random_hex(char *out, size_t n)
{
	unsigned char chunk[32];
	size_t i, m;

	out[0] = '\0';
	for (i = 0; i < n; i += m) {
		m = n - i < sizeof(chunk) ? n - i : sizeof(chunk);
		randombytes_buf(chunk, m);
		/* each chunk's NUL is overwritten by the next one */
		sodium_bin2hex(out + 2 * i, 2 * m + 1, chunk, m);
	}
	/* the hex may well be a secret: so is its source */
	at_wipe(chunk, sizeof(chunk));
}

/* ---- ids ---- */

/* Length of an id of that shape without the NUL; false if absurd. */
static bool id_len(const char *prefix, unsigned groups, size_t *len)
{
	size_t plen = strlen(prefix);

	if (groups == 0 || groups > (SIZE_MAX - plen - 1) / 5)
		return false;
	*len = plen + 5 * (size_t)groups;
	return true;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_b62(char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* s holds exactly len bytes, no NUL needed. */
static bool id_shape(const char *s, size_t len, const char *prefix, unsigned groups)
{
	size_t want, plen = strlen(prefix), i;

	if (!id_len(prefix, groups, &want) || len != want)
		return false;
	if (memcmp(s, prefix, plen))
		return false;
	for (i = plen; i < len; i++) {
		if ((i - plen) % 5 == 0) {
			if (s[i] != '-')
				return false;
		} else if (!is_digit(s[i])) {
			return false;
		}
	}
	return true;
}

bool at_id_make(char *out, size_t size, const char *prefix, unsigned groups)
{
	size_t len, plen = strlen(prefix), i;

	if (!id_len(prefix, groups, &len) || size < len + 1)
		return false;
	memcpy(out, prefix, plen);
	for (i = plen; i < len; i++)
		out[i] = (i - plen) % 5 == 0 ? '-' : (char)('0' + randombytes_uniform(10));
	out[len] = '\0';
	return true;
}

bool at_id_valid(const char *s, const char *prefix, unsigned groups)
{
	size_t want;

	if (!s || !id_len(prefix, groups, &want))
		return false;
	/* strnlen: never look further than one past a valid id */
	return id_shape(s, strnlen(s, want + 1), prefix, groups);
}

/* ---- token values ---- */

/* Big-endian base62, zero-padded: 62^6 > 2^32, so 6 digits always do. */
static void check_encode(uint32_t crc, char *out)
{
	int i;

	for (i = AT_TOKEN_CHECK_LEN - 1; i >= 0; i--) {
		out[i] = b62[crc % 62];
		crc /= 62;
	}
}

static uint32_t value_crc(const char *value)
{
	return (uint32_t)crc32(0L, (const Bytef *)value, VAL_CHECK_OFF);
}

void at_token_value_make(const char *token_id, char *out)
{
	size_t i;

	/* a value for a malformed id could never parse: a caller's bug */
	if (!at_id_valid(token_id, ID_PREFIX, ID_GROUPS))
		abort();
	memcpy(out, VAL_PREFIX, VAL_ID_OFF);
	memcpy(out + VAL_ID_OFF, token_id, AT_TOKEN_ID_LEN);
	out[VAL_SEP_OFF] = ':';
	for (i = 0; i < AT_TOKEN_RANDOM_LEN; i++)
		out[VAL_RANDOM_OFF + i] = b62[randombytes_uniform(62)];
	check_encode(value_crc(out), out + VAL_CHECK_OFF);
	out[AT_TOKEN_VALUE_LEN] = '\0';
}

enum at_err at_token_value_parse(const char *value, size_t len, char *id)
{
	char check[AT_TOKEN_CHECK_LEN];
	size_t i;

	/* the length first: nothing below reads past value + len */
	if (len != AT_TOKEN_VALUE_LEN)
		return AT_ERR_AUTH;
	if (memcmp(value, VAL_PREFIX, VAL_ID_OFF))
		return AT_ERR_AUTH;
	if (!id_shape(value + VAL_ID_OFF, AT_TOKEN_ID_LEN, ID_PREFIX, ID_GROUPS))
		return AT_ERR_AUTH;
	if (value[VAL_SEP_OFF] != ':')
		return AT_ERR_AUTH;
	for (i = VAL_RANDOM_OFF; i < AT_TOKEN_VALUE_LEN; i++)
		if (!is_b62(value[i]))
			return AT_ERR_AUTH;
	check_encode(value_crc(value), check);
	/* the checksum is public: no need for a constant-time compare */
	if (memcmp(check, value + VAL_CHECK_OFF, AT_TOKEN_CHECK_LEN))
		return AT_ERR_AUTH;
	memcpy(id, value + VAL_ID_OFF, AT_TOKEN_ID_LEN);
	id[AT_TOKEN_ID_LEN] = '\0';
	return AT_OK;
}

/* ---- hash and seal ---- */

void at_token_hash(const struct at_keys *keys, const char *value, size_t len,
		   unsigned char *out)
{
	crypto_generichash(out, AT_HASH_LEN, (const unsigned char *)value, len,
			   keys->hash, KEY_LEN);
}

void at_audit_hash(const struct at_keys *keys, const void *content, size_t len,
		   const unsigned char *prev, unsigned char *out)
{
	unsigned char subkey[KEY_LEN];
	crypto_generichash_state st;

	/* a key of its own, derived from the hash key, so that chain hashes
	 * and token hashes can never be confused; keyed, so that someone who
	 * can write the database cannot rebuild a chain after editing it */
	crypto_kdf_derive_from_key(subkey, sizeof(subkey), 1, "auditchn", keys->hash);
	crypto_generichash_init(&st, subkey, sizeof(subkey), AT_HASH_LEN);
	crypto_generichash_update(&st, content, len);
	crypto_generichash_update(&st, prev, AT_HASH_LEN);
	crypto_generichash_final(&st, out, AT_HASH_LEN);
	sodium_memzero(subkey, sizeof(subkey));
	sodium_memzero(&st, sizeof(st));
}

bool at_hash_equal(const unsigned char *a, const unsigned char *b)
{
	return sodium_memcmp(a, b, AT_HASH_LEN) == 0;
}

static const struct seal_key *find_seal(const struct at_keys *keys, unsigned id)
{
	unsigned i;

	for (i = 0; i < keys->nseal; i++)
		if (keys->seal[i].id == id)
			return &keys->seal[i];
	return NULL;
}

enum at_err at_token_seal(const struct at_keys *keys, const char *token_id,
			  const char *value, unsigned char *out, unsigned *key_id)
{
	const struct seal_key *s = find_seal(keys, keys->current);
	unsigned long long clen;
	char value_id[AT_TOKEN_ID_LEN + 1];
	size_t len;

	if (!s)
		return AT_ERR_INTERNAL;
	/* seal only a well-formed value, and only under its own id */
	len = strnlen(value, AT_TOKEN_VALUE_LEN + 1);
	if (at_token_value_parse(value, len, value_id) != AT_OK ||
	    !at_id_valid(token_id, ID_PREFIX, ID_GROUPS) ||
	    memcmp(value_id, token_id, AT_TOKEN_ID_LEN))
		return AT_ERR_INTERNAL;

	randombytes_buf(out, NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_LEN, &clen,
			(const unsigned char *)value, AT_TOKEN_VALUE_LEN,
			(const unsigned char *)token_id, AT_TOKEN_ID_LEN,
			NULL, out, s->key) != 0 ||
	    clen != AT_SEALED_LEN - NONCE_LEN) {
		at_wipe(out, AT_SEALED_LEN);
		return AT_ERR_CRYPTO;
	}
	*key_id = s->id;
	return AT_OK;
}

enum at_err at_token_open(const struct at_keys *keys, unsigned key_id,
			  const char *token_id, const unsigned char *sealed,
			  size_t len, char *out)
{
	const struct seal_key *s;
	unsigned long long mlen;

	if (len != AT_SEALED_LEN)
		goto fail;
	s = find_seal(keys, key_id);
	if (!s)
		goto fail;
	if (strnlen(token_id, AT_TOKEN_ID_LEN + 1) != AT_TOKEN_ID_LEN)
		goto fail;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, &mlen,
			NULL, sealed + NONCE_LEN, len - NONCE_LEN,
			(const unsigned char *)token_id, AT_TOKEN_ID_LEN,
			sealed, s->key) != 0 ||
	    mlen != AT_TOKEN_VALUE_LEN)
		goto fail;
	out[AT_TOKEN_VALUE_LEN] = '\0';
	return AT_OK;
fail:
	at_wipe(out, AT_TOKEN_VALUE_LEN + 1);
	return AT_ERR_CRYPTO;
}

/* ---- key file ---- */

unsigned at_keys_current(const struct at_keys *keys)
{
	return keys->current;
}

void at_keys_free(struct at_keys *keys)
{
	sodium_free(keys);	/* wipes; NULL is fine */
}

static struct at_keys *keys_alloc(void)
{
	struct at_keys *k = sodium_malloc(sizeof(*k));

	if (k)
		memset(k, 0, sizeof(*k));	/* sodium_malloc fills with junk */
	return k;
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

/* Exactly 64 hex digits into out (KEY_LEN bytes), which is wiped on error. */
static bool parse_key_hex(const char *hex, unsigned char *out)
{
	const char *end;
	size_t bin_len;

	if (strnlen(hex, KEY_HEX_LEN + 1) != KEY_HEX_LEN)
		return false;
	if (sodium_hex2bin(out, KEY_LEN, hex, KEY_HEX_LEN, NULL, &bin_len, &end) ||
	    bin_len != KEY_LEN || end != hex + KEY_HEX_LEN) {
		at_wipe(out, KEY_LEN);
		return false;
	}
	return true;
}

struct load_ctx {
	struct at_keys *keys;
	char msg[160];		/* the first problem; names the key, not the line */
};

static void ctx_fail(struct load_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void ctx_fail(struct load_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->msg[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
}

static int keys_line(void *ud, const char *section, const char *key, const char *value)
{
	struct load_ctx *c = ud;
	struct at_keys *k = c->keys;
	struct seal_key *s;
	unsigned id;

	/* libinih reads on after an error; keep the first one */
	if (c->msg[0])
		return 0;
	if (strcmp(section, "keys")) {
		ctx_fail(c, "%s outside [keys]", key);
		return 0;
	}
	if (!strcmp(key, "hash")) {
		if (k->has_hash) {
			ctx_fail(c, "hash given twice");
			return 0;
		}
		if (!parse_key_hex(value, k->hash)) {
			ctx_fail(c, "hash is not 64 hex digits");
			return 0;
		}
		k->has_hash = true;
	} else if (!strncmp(key, "seal.", 5)) {
		if (!parse_seal_id(key + 5, &id)) {
			ctx_fail(c, "%s is not seal.N with N from 1 to %u", key, MAX_SEAL_ID);
			return 0;
		}
		if (find_seal(k, id)) {
			ctx_fail(c, "%s given twice", key);
			return 0;
		}
		if (k->nseal == MAX_SEAL_KEYS) {
			ctx_fail(c, "more than %d seal keys", MAX_SEAL_KEYS);
			return 0;
		}
		s = &k->seal[k->nseal];
		if (!parse_key_hex(value, s->key)) {
			ctx_fail(c, "%s is not 64 hex digits", key);
			return 0;
		}
		s->id = id;
		k->nseal++;
	} else if (!strcmp(key, "current")) {
		if (k->has_current) {
			ctx_fail(c, "current given twice");
			return 0;
		}
		if (!parse_seal_id(value, &k->current)) {
			ctx_fail(c, "current is not a seal key number");
			return 0;
		}
		k->has_current = true;
	} else {
		ctx_fail(c, "unknown key %s", key);
		return 0;
	}
	return 1;
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
		if (errno == ENOENT) {
			errf(err, errlen, "key file %s: not found; run `apitokenctl keygen` to make one",
			     path);
			rc = AT_ERR_CONFIG;
		} else {
			errf(err, errlen, "key file %s: %s", path, strerror(errno));
			rc = AT_ERR_IO;
		}
		goto out;
	}
	if (fstat(fd, st)) {
		errf(err, errlen, "key file %s: %s", path, strerror(errno));
		rc = AT_ERR_IO;
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		errf(err, errlen, "key file %s: not a regular file", path);
		rc = AT_ERR_CONFIG;
		goto out;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		errf(err, errlen, "key file %s: mode 0%03o is wider than 0600", path,
		     (unsigned)(st->st_mode & 07777));
		rc = AT_ERR_CONFIG;
		goto out;
	}
	if (st->st_size > KEYS_FILE_MAX) {
		errf(err, errlen, "key file %s: larger than %d bytes", path, KEYS_FILE_MAX);
		rc = AT_ERR_CONFIG;
		goto out;
	}
	fp = fdopen(fd, "r");
	if (!fp) {
		errf(err, errlen, "key file %s: %s", path, strerror(errno));
		rc = AT_ERR_IO;
		goto out;
	}
	fd = -1;	/* fp owns it now */
	setvbuf(fp, iobuf, _IOFBF, sizeof(iobuf));

	k = keys_alloc();
	if (!k) {
		errf(err, errlen, "key file %s: out of memory", path);
		rc = AT_ERR_NOMEM;
		goto out;
	}
	c.keys = k;
	line = at_ini_parse_fp(fp, keys_line, &c);
	if (line < 0 || ferror(fp)) {
		errf(err, errlen, "key file %s: read error", path);
		rc = AT_ERR_IO;
		goto out;
	}
	rc = AT_ERR_CONFIG;
	if (c.msg[0]) {
		errf(err, errlen, "key file %s: %s", path, c.msg);
		goto out;
	}
	if (line > 0) {
		errf(err, errlen, "key file %s: line %d: not a key = value line", path, line);
		goto out;
	}
	if (!k->has_hash) {
		errf(err, errlen, "key file %s: no hash key", path);
		goto out;
	}
	if (!k->nseal) {
		errf(err, errlen, "key file %s: no seal key", path);
		goto out;
	}
	if (!k->has_current) {
		errf(err, errlen, "key file %s: no current seal key", path);
		goto out;
	}
	if (!find_seal(k, k->current)) {
		errf(err, errlen, "key file %s: current = %u names no seal key", path, k->current);
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
	sodium_free(k);
	return rc;
}

enum at_err at_keys_load(struct at_keys **out, const char *path, char *err, size_t errlen)
{
	struct stat st;
	enum at_err rc;

	rc = keys_read(out, path, &st, err, errlen);
	if (rc)
		return rc;
	if (sodium_mprotect_readonly(*out)) {
		errf(err, errlen, "key file %s: cannot protect keys: %s", path, strerror(errno));
		sodium_free(*out);
		*out = NULL;
		return AT_ERR_CRYPTO;
	}
	return AT_OK;
}

static bool appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool appendf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size)
		return false;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size - *len)
		return false;
	*len += (size_t)n;
	return true;
}

/* The file's text into text; false only if it does not fit. */
static bool keys_format(const struct at_keys *k, char *text, size_t size, size_t *len)
{
	char hex[KEY_HEX_LEN + 1];
	bool ok;
	unsigned i;

	*len = 0;
	ok = appendf(text, size, len,
		     "; apitokend key file: keep it secret, mode 0600\n"
		     "; hash must never change (that would invalidate every token);\n"
		     "; seal keys rotate: current names the one that seals new values\n"
		     "[keys]\n");
	sodium_bin2hex(hex, sizeof(hex), k->hash, KEY_LEN);
	ok = ok && appendf(text, size, len, "hash = %s\n", hex);
	for (i = 0; i < k->nseal; i++) {
		sodium_bin2hex(hex, sizeof(hex), k->seal[i].key, KEY_LEN);
		ok = ok && appendf(text, size, len, "seal.%u = %s\n", k->seal[i].id, hex);
	}
	ok = ok && appendf(text, size, len, "current = %u\n", k->current);
	at_wipe(hex, sizeof(hex));
	return ok;
}

/* Write all of text to fd, fsync and close it (even on failure). */
static enum at_err write_file(int fd, const char *text, size_t len, const char *path,
			      char *err, size_t errlen)
{
	ssize_t n = -1;

	while (len) {
		n = write(fd, text, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		text += n;
		len -= (size_t)n;
	}
	if (fsync(fd))
		goto fail;
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	return AT_OK;
fail:
	errf(err, errlen, "key file %s: %s", path, n == 0 ? "short write" : strerror(errno));
	if (fd >= 0)
		close(fd);
	return AT_ERR_IO;
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
			errf(err, errlen, "key file %s: path too long", path);
			return AT_ERR_IO;
		}
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		errf(err, errlen, "key file %s: directory: %s", path, strerror(errno));
		return AT_ERR_IO;
	}
	/* some file systems cannot sync a directory; that is not our failure */
	if (fsync(fd) && errno != EINVAL) {
		errf(err, errlen, "key file %s: directory: %s", path, strerror(errno));
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

	k = keys_alloc();
	if (!k) {
		errf(err, errlen, "key file %s: out of memory", path);
		return AT_ERR_NOMEM;
	}
	randombytes_buf(k->hash, KEY_LEN);
	k->has_hash = true;
	k->seal[0].id = 1;
	randombytes_buf(k->seal[0].key, KEY_LEN);
	k->nseal = 1;
	k->current = 1;
	k->has_current = true;
	if (!keys_format(k, text, sizeof(text), &len)) {
		errf(err, errlen, "key file %s: text too long", path);
		rc = AT_ERR_INTERNAL;
		goto out;
	}
	/* O_EXCL: never overwrite keys (nor follow a symlink planted there) */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		if (errno == EEXIST) {
			errf(err, errlen, "key file %s: already exists; refusing to overwrite it",
			     path);
			rc = AT_ERR_CONFIG;
		} else {
			errf(err, errlen, "key file %s: %s", path, strerror(errno));
			rc = AT_ERR_IO;
		}
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
	sodium_free(k);
	return rc;
}

enum at_err at_keys_rotate(const char *path, unsigned *new_id, char *err, size_t errlen)
{
	char text[KEYS_TEXT_MAX];
	char tmp[PATH_MAX];
	struct at_keys *k = NULL;
	struct seal_key *s;
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
	if (k->nseal >= MAX_SEAL_KEYS) {
		errf(err, errlen, "key file %s: already holds %d seal keys; retire an old one first",
		     path, MAX_SEAL_KEYS);
		goto out;
	}
	for (i = 0; i < k->nseal; i++)
		if (k->seal[i].id > id)
			id = k->seal[i].id;
	if (id >= MAX_SEAL_ID) {
		errf(err, errlen, "key file %s: seal key numbers are used up", path);
		goto out;
	}
	id++;
	s = &k->seal[k->nseal++];
	s->id = id;
	randombytes_buf(s->key, KEY_LEN);
	k->current = id;
	if (!keys_format(k, text, sizeof(text), &len)) {
		errf(err, errlen, "key file %s: text too long", path);
		rc = AT_ERR_INTERNAL;
		goto out;
	}

	/* a temporary file in the same directory, then rename: readers see
	 * the old file or the new one, never half of either */
	n = snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		errf(err, errlen, "key file %s: path too long", path);
		goto out;
	}
	rc = AT_ERR_IO;
	fd = mkstemp(tmp);	/* mode 0600, O_EXCL */
	if (fd < 0) {
		errf(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto out;
	}
	created = true;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC)) {
		errf(err, errlen, "key file %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* root rotating the daemon's file must leave it readable to the daemon */
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid)) {
		errf(err, errlen, "key file %s: cannot keep owner %u:%u: %s", tmp,
		     (unsigned)st.st_uid, (unsigned)st.st_gid, strerror(errno));
		goto out;
	}
	rc = write_file(fd, text, len, tmp, err, errlen);
	fd = -1;	/* closed by write_file */
	if (rc)
		goto out;
	if (rename(tmp, path)) {
		errf(err, errlen, "key file %s: %s", path, strerror(errno));
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
	sodium_free(k);
	return rc;
}
