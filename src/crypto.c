/* crypto.c: ids, token values, hashing, sealing, secure memory.
 *
 * The only file that includes sodium.h.  The keys come from keyfile.c,
 * which keeps them in memory from at_secure_alloc() (guard pages, locked,
 * wiped when freed), made read-only once loaded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <zlib.h>

#include "crypto.h"
#include "keyset.h"

#define KEY_LEN		AT_KEY_LEN
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

void *at_secure_alloc(size_t n)
{
	void *p = sodium_malloc(n);

	if (p)
		memset(p, 0, n);	/* sodium_malloc fills with junk */
	return p;
}

void at_secure_free(void *p)
{
	sodium_free(p);		/* wipes; NULL is fine */
}

enum at_err at_secure_readonly(void *p)
{
	return sodium_mprotect_readonly(p) ? AT_ERR_CRYPTO : AT_OK;
}

bool at_hex_decode(void *out, size_t n, const char *hex)
{
	const char *end;
	size_t len;

	if (n > SIZE_MAX / 2 - 1 || strnlen(hex, 2 * n + 1) != 2 * n)
		return false;
	if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &len, &end) || len != n ||
	    end != hex + 2 * n) {
		sodium_memzero(out, n);
		return false;
	}
	return true;
}

void at_hex_encode(char *out, const void *in, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

/* Lower-case hex of n bytes of draw() into out (2n + 1 bytes). */
static void hex_of(char *out, size_t n, void (*draw)(unsigned char *, size_t))
{
	unsigned char chunk[32];
	size_t i, m;

	out[0] = '\0';
	for (i = 0; i < n; i += m) {
		m = n - i < sizeof(chunk) ? n - i : sizeof(chunk);
		draw(chunk, m);
		/* each chunk's NUL is overwritten by the next one */
		at_hex_encode(out + 2 * i, chunk, m);
	}
	/* the hex may well be a secret: so is its source */
	at_wipe(chunk, sizeof(chunk));
}

static void system_draw(unsigned char *out, size_t n)
{
	randombytes_buf(out, n);
}

/* A ChaCha20 stream of this thread, keyed once from the system's
 * generator: as unpredictable, and no system call a draw.  Its key
 * stays for the thread's life: what it makes are ids, not secrets. */
static void thread_draw(unsigned char *out, size_t n)
{
	static __thread unsigned char key[crypto_stream_chacha20_ietf_KEYBYTES];
	static __thread uint64_t draws;
	unsigned char nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = { 0 };

	if (!draws++)
		randombytes_buf(key, sizeof(key));
	memcpy(nonce, &draws, sizeof(draws));
	crypto_stream_chacha20_ietf(out, n, nonce, key);
}

void at_random_hex(char *out, size_t n)
{
	hex_of(out, n, system_draw);
}

void at_id_hex(char *out, size_t n)
{
	hex_of(out, n, thread_draw);
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

enum at_err at_token_seal(const struct at_keys *keys, const char *token_id,
			  const char *value, unsigned char *out, unsigned *key_id)
{
	const struct at_seal_key *s = at_keys_seal(keys, keys->current);
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
	const struct at_seal_key *s;
	enum at_err rc = AT_ERR_CRYPTO;
	unsigned long long mlen;

	if (len != AT_SEALED_LEN)
		goto out;
	s = at_keys_seal(keys, key_id);
	if (!s)
		goto out;
	if (strnlen(token_id, AT_TOKEN_ID_LEN + 1) != AT_TOKEN_ID_LEN)
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, &mlen,
			NULL, sealed + NONCE_LEN, len - NONCE_LEN,
			(const unsigned char *)token_id, AT_TOKEN_ID_LEN,
			sealed, s->key) != 0 ||
	    mlen != AT_TOKEN_VALUE_LEN)
		goto out;
	out[AT_TOKEN_VALUE_LEN] = '\0';
	rc = AT_OK;
out:
	if (rc)
		at_wipe(out, AT_TOKEN_VALUE_LEN + 1);
	return rc;
}
