/* crypto.h: everything secret or random.
 *
 * crypto.c is the only file that includes sodium.h; the key file
 * functions below are keyfile.c's, built on the primitives here.  Token
 * values look like
 *
 *	idt:TKN-dddd-dddd:<58 random base62><6 base62 of CRC32>
 *
 * where the CRC32 (zlib's, IEEE 802.3) covers every character before it,
 * encoded big-endian in base62 with the alphabet 0-9A-Za-z, left-padded
 * with '0' to 6 characters.
 */
#ifndef AT_CRYPTO_H
#define AT_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define AT_TOKEN_ID_LEN		13	/* TKN-dddd-dddd */
#define AT_TOKEN_RANDOM_LEN	58
#define AT_TOKEN_CHECK_LEN	6
#define AT_TOKEN_SECRET_LEN	(AT_TOKEN_RANDOM_LEN + AT_TOKEN_CHECK_LEN)
#define AT_TOKEN_VALUE_LEN	(4 + AT_TOKEN_ID_LEN + 1 + AT_TOKEN_SECRET_LEN)
#define AT_HASH_LEN		32
/* nonce (24) + value + Poly1305 tag (16) */
#define AT_SEALED_LEN		(24 + AT_TOKEN_VALUE_LEN + 16)

struct at_keys;

/* sodium_init(); call once before any other function here. */
AT_MUST_CHECK enum at_err at_crypto_init(void);

/* Random ids: prefix "TKN", groups 2 -> "TKN-4134-7330".  out must hold
 * strlen(prefix) + 5 * groups + 1 bytes; returns false if it does not. */
bool at_id_make(char *out, size_t size, const char *prefix, unsigned groups);
/* Does s have exactly that shape? */
bool at_id_valid(const char *s, const char *prefix, unsigned groups);

void at_random_bytes(void *out, size_t n);
/* Lower-case hex of n random bytes into out (2n + 1 bytes). */
void at_random_hex(char *out, size_t n);
/* The same for ids that must not be guessed but are no secrets (trace
 * and span ids): from a stream of the thread's own, no system call. */
void at_id_hex(char *out, size_t n);

/* Memory for key material: guard pages, locked, zeroed; NULL when out
 * of memory.  at_secure_free() wipes it (NULL is fine). */
void *at_secure_alloc(size_t n);
void at_secure_free(void *p);
/* Make p (from at_secure_alloc) read-only; errno says why it failed. */
AT_MUST_CHECK enum at_err at_secure_readonly(void *p);

/* Exactly 2n hex digits, the whole of hex, into n bytes at out, in
 * constant time; false (out wiped) for anything else. */
AT_MUST_CHECK bool at_hex_decode(void *out, size_t n, const char *hex);
/* Lower-case hex of n bytes into out (2n + 1 bytes). */
void at_hex_encode(char *out, const void *in, size_t n);

/* A new token value for token_id; out holds AT_TOKEN_VALUE_LEN + 1 bytes. */
void at_token_value_make(const char *token_id, char *out);
/* Check shape and checksum of a presented value without touching any key
 * or the database.  On success id receives the token id (AT_TOKEN_ID_LEN
 * + 1 bytes).  Returns AT_ERR_AUTH for anything malformed. */
AT_MUST_CHECK enum at_err at_token_value_parse(const char *value, size_t len, char *id);

/* Key file (keyfile.c): INI-shaped text, mode 0600 or narrower:
 *	[keys]
 *	hash = <64 hex>
 *	seal.1 = <64 hex>
 *	current = 1
 * The hash key never changes (it would invalidate every token); seal keys
 * rotate: a new seal.N becomes current and stored values are re-sealed. */
AT_MUST_CHECK enum at_err at_keys_load(struct at_keys **out, const char *path,
				       char *err, size_t errlen);
void at_keys_free(struct at_keys *keys);
/* Write a new key file at path (refusing to overwrite). */
AT_MUST_CHECK enum at_err at_keys_generate(const char *path, char *err, size_t errlen);
/* Add a new seal key to the file at path and make it current. */
AT_MUST_CHECK enum at_err at_keys_rotate(const char *path, unsigned *new_id,
					 char *err, size_t errlen);
unsigned at_keys_current(const struct at_keys *keys);

/* Keyed BLAKE2b-256 of the whole value. */
void at_token_hash(const struct at_keys *keys, const char *value, size_t len,
		   unsigned char *out);
/* The audit chain link: keyed BLAKE2b-256 (a subkey of the hash key)
 * over a record's canonical content followed by the previous hash. */
void at_audit_hash(const struct at_keys *keys, const void *content, size_t len,
		   const unsigned char *prev, unsigned char *out);

/* Constant-time comparison of two AT_HASH_LEN hashes. */
bool at_hash_equal(const unsigned char *a, const unsigned char *b);

/* XChaCha20-Poly1305 with token_id as associated data, under the current
 * seal key.  out holds AT_SEALED_LEN bytes; key_id receives the key used. */
AT_MUST_CHECK enum at_err at_token_seal(const struct at_keys *keys, const char *token_id,
					const char *value, unsigned char *out,
					unsigned *key_id);
/* Open a sealed value; out holds AT_TOKEN_VALUE_LEN + 1 bytes.  AT_ERR_CRYPTO
 * if the key is unknown or the value was forged or moved to another id. */
AT_MUST_CHECK enum at_err at_token_open(const struct at_keys *keys, unsigned key_id,
					const char *token_id, const unsigned char *sealed,
					size_t len, char *out);

/* Zero memory in a way the compiler keeps. */
void at_wipe(void *p, size_t n);

#endif
