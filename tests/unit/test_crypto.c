/* test_crypto.c: unit tests of crypto.c (ids, token values, checksum,
 * hash, seal/open) and keyfile.c (the key file).
 *
 * Checksum known answers are built by hand: a value whose CRC32 is a chosen
 * number is made by solving the CRC's linear system over GF(2), so the
 * encoding (big-endian base62, zero-padded) is checked against literal
 * strings through the public parser alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1	/* memmem, mkdtemp, nftw */
#endif
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "crypto.h"

#define UNUSED	__attribute__((unused))

#define VLEN		AT_TOKEN_VALUE_LEN
#define CHECK_OFF	(VLEN - AT_TOKEN_CHECK_LEN)
#define RANDOM_OFF	(CHECK_OFF - AT_TOKEN_RANDOM_LEN)
#define HEXA	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEXB	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static const char b62[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static char tmpdir[64];
static unsigned path_seq;

#define assert_has(hay, needle)							\
	do {									\
		if (!strstr((hay), (needle)))					\
			fail_msg("\"%s\" lacks \"%s\"", (hay), (needle));	\
	} while (0)

/* A fresh path in the test directory; the name keeps messages readable. */
static char *tpath(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%u-%s", tmpdir, path_seq++, name);

	assert_true(n > 0 && (size_t)n < size);
	return buf;
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);	/* not subject to umask */
	assert_int_equal(close(fd), 0);
}

static size_t read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

static uint32_t crc_of(const char *v)
{
	return (uint32_t)crc32(0L, (const Bytef *)v, CHECK_OFF);
}

/* The test's own encoder: checked against literals in test_check_kat. */
static void enc62(uint32_t crc, char *out)
{
	int i;

	for (i = AT_TOKEN_CHECK_LEN - 1; i >= 0; i--) {
		out[i] = b62[crc % 62];
		crc /= 62;
	}
}

/* Rewrite v's checksum to match its first CHECK_OFF bytes, whatever they
 * are, so that a shape test fails on the shape alone. */
static void fix_check(char *v)
{
	enc62(crc_of(v), v + CHECK_OFF);
}

static void base_value(char *v)
{
	memcpy(v, "idt:TKN-1234-5678:", RANDOM_OFF);
	memset(v + RANDOM_OFF, 'A', AT_TOKEN_RANDOM_LEN);
	fix_check(v);
	v[VLEN] = '\0';
}

/* Parse from a heap copy of exactly len bytes, no NUL: ASan catches any
 * read past the end. */
static enum at_err parse_exact(const char *v, size_t len, char *id)
{
	char *copy = malloc(len ? len : 1);
	enum at_err rc;

	assert_non_null(copy);
	memcpy(copy, v, len);
	rc = at_token_value_parse(copy, len, id);
	free(copy);
	return rc;
}

static int rm_entry(const char *p, const struct stat *st UNUSED, int flag UNUSED,
		    struct FTW *ftw UNUSED)
{
	return remove(p);
}

static int group_setup(void **state UNUSED)
{
	char tmpl[] = "/tmp/test_crypto.XXXXXX";

	if (at_crypto_init() != AT_OK || !mkdtemp(tmpl))
		return -1;
	memcpy(tmpdir, tmpl, sizeof(tmpl));
	return 0;
}

static int group_teardown(void **state UNUSED)
{
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- ids ---- */

static void test_id_make(void **state UNUSED)
{
	char id[AT_TOKEN_ID_LEN + 1], first[AT_TOKEN_ID_LEN + 1], aud[32];
	bool differ = false;
	int i, seen[10] = { 0 }, d;

	assert_true(at_id_make(first, sizeof(first), "TKN", 2));
	for (i = 0; i < 200; i++) {
		assert_true(at_id_make(id, sizeof(id), "TKN", 2));
		assert_int_equal(strlen(id), AT_TOKEN_ID_LEN);
		assert_memory_equal(id, "TKN-", 4);
		assert_int_equal(id[8], '-');
		assert_true(at_id_valid(id, "TKN", 2));
		for (d = 4; d < 13; d++)
			if (d != 8)
				seen[id[d] - '0']++;
		differ |= strcmp(id, first) != 0;
	}
	assert_true(differ);
	for (d = 0; d < 10; d++)	/* 1600 digits: each one shows up */
		assert_true(seen[d] > 0);

	assert_true(at_id_make(aud, sizeof(aud), "AUD", 4));
	assert_int_equal(strlen(aud), 23);
	assert_true(at_id_valid(aud, "AUD", 4));
	assert_false(at_id_valid(aud, "AUD", 2));
	assert_false(at_id_valid(aud, "TKN", 4));

	/* exactly enough room, and one byte less */
	memset(id, 'x', sizeof(id));
	assert_true(at_id_make(id, AT_TOKEN_ID_LEN + 1, "TKN", 2));
	assert_false(at_id_make(id, AT_TOKEN_ID_LEN, "TKN", 2));
	assert_false(at_id_make(id, 0, "TKN", 2));
	assert_false(at_id_make(id, sizeof(id), "TKN", 0));
}

static void test_id_valid(void **state UNUSED)
{
	static const char *const good[] = {
		"TKN-0000-0000", "TKN-9999-9999", "TKN-1234-5678",
	};
	static const char *const bad[] = {
		"", "T", "TKN", "TKN-", "TKN-1234", "TKN-1234-", "TKN-1234-567",
		"TKN-1234-56789", "TKN-1234-5678-9012", "TKN-1234-567a",
		"TKN-a234-5678", "tkn-1234-5678", "Tkn-1234-5678", "USR-1234-5678",
		"TKN_1234-5678", "TKN-1234_5678", "TKN-12345678", "TKN--1234-567",
		"TKN-1234--567", " TKN-1234-5678", "TKN-1234-5678 ", "TKN-1234-5678\n",
		"TKN-1234-56/8", "TKN-1234-56:8", "TKN-+123-5678", "TKN- 123-5678",
		"TKN-1234-5678:", "TKN-\xd9\xa1\xd9\xa2-5678", "XTKN-1234-5678",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!at_id_valid(good[i], "TKN", 2))
			fail_msg("rejected %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (at_id_valid(bad[i], "TKN", 2))
			fail_msg("accepted \"%s\"", bad[i]);
	assert_false(at_id_valid(NULL, "TKN", 2));
	assert_false(at_id_valid("TKN", "TKN", 0));
	assert_true(at_id_valid("AUD-1234-5678-9012-3456", "AUD", 4));
	assert_false(at_id_valid("AUD-1234-5678-9012-345", "AUD", 4));
	assert_true(at_id_valid("MOD-1756", "MOD", 1));
}

/* ---- token values ---- */

static void test_value_roundtrip(void **state UNUSED)
{
	char tid[AT_TOKEN_ID_LEN + 1], v[VLEN + 1], w[VLEN + 1], id[AT_TOKEN_ID_LEN + 1];
	size_t i;
	int n;

	assert_int_equal(VLEN, 82);
	for (n = 0; n < 100; n++) {
		assert_true(at_id_make(tid, sizeof(tid), "TKN", 2));
		at_token_value_make(tid, v);
		assert_int_equal(strlen(v), VLEN);
		assert_memory_equal(v, "idt:", 4);
		assert_memory_equal(v + 4, tid, AT_TOKEN_ID_LEN);
		assert_int_equal(v[4 + AT_TOKEN_ID_LEN], ':');
		for (i = RANDOM_OFF; i < VLEN; i++)
			assert_non_null(memchr(b62, v[i], 62));
		memset(id, 'x', sizeof(id));
		assert_int_equal(parse_exact(v, VLEN, id), AT_OK);
		assert_string_equal(id, tid);
		/* the checksum is the CRC32 of the rest, as documented */
		enc62(crc_of(v), w);
		assert_memory_equal(w, v + CHECK_OFF, AT_TOKEN_CHECK_LEN);
	}
	at_token_value_make(tid, w);
	assert_string_not_equal(v, w);
}

static void test_value_corruption(void **state UNUSED)
{
	char tid[AT_TOKEN_ID_LEN + 1], v[VLEN + 1], w[VLEN + 1], id[AT_TOKEN_ID_LEN + 1];
	size_t i;
	int c;

	assert_true(at_id_make(tid, sizeof(tid), "TKN", 2));
	at_token_value_make(tid, v);
	for (i = 0; i < VLEN; i++) {
		for (c = 0; c < 256; c++) {
			if ((char)c == v[i])
				continue;
			memcpy(w, v, sizeof(w));
			w[i] = (char)c;
			if (at_token_value_parse(w, VLEN, id) != AT_ERR_AUTH)
				fail_msg("accepted byte 0x%02x at %zu of %s", c, i, v);
		}
	}
	/* swapping two different characters is caught as well */
	for (i = RANDOM_OFF; i + 1 < VLEN; i++) {
		memcpy(w, v, sizeof(w));
		if (w[i] == w[i + 1])
			continue;
		w[i] = v[i + 1];
		w[i + 1] = v[i];
		assert_int_equal(at_token_value_parse(w, VLEN, id), AT_ERR_AUTH);
	}
}

static void test_value_length(void **state UNUSED)
{
	char v[VLEN + 2], id[AT_TOKEN_ID_LEN + 1];
	size_t len;

	base_value(v);
	assert_int_equal(parse_exact(v, VLEN, id), AT_OK);
	for (len = 0; len < VLEN; len++)
		assert_int_equal(parse_exact(v, len, id), AT_ERR_AUTH);
	v[VLEN] = 'A';
	assert_int_equal(parse_exact(v, VLEN + 1, id), AT_ERR_AUTH);
	/* a trailing NUL or newline counted in len is not a token */
	v[VLEN] = '\0';
	assert_int_equal(parse_exact(v, VLEN + 1, id), AT_ERR_AUTH);
	v[VLEN] = '\n';
	assert_int_equal(parse_exact(v, VLEN + 1, id), AT_ERR_AUTH);
	assert_int_equal(at_token_value_parse(v, SIZE_MAX, id), AT_ERR_AUTH);
}

/* Each case edits a valid value and then fixes its checksum, so only the
 * shape is wrong. */
static void test_value_shape(void **state UNUSED)
{
	static const struct {
		size_t off;
		const char *text;
	} cases[] = {
		{ 0, "IDT:" }, { 0, "Idt:" }, { 0, "idx:" }, { 0, "tkn:" },
		{ 3, "-" }, { 3, ";" },
		{ 4, "tkn" }, { 4, "Tkn" }, { 4, "USR" }, { 7, "_" }, { 12, "_" },
		{ 8, "a" }, { 16, "Z" }, { 9, "/" }, { 10, ":" }, { 7, "1" },
		{ 17, ";" }, { 17, "-" }, { 17, "A" },
		{ RANDOM_OFF, "-" }, { RANDOM_OFF + 5, "_" }, { RANDOM_OFF + 9, "+" },
		{ RANDOM_OFF + 20, "/" }, { RANDOM_OFF + 30, "=" },
		{ RANDOM_OFF + 40, " " }, { RANDOM_OFF + 57, ":" },
		{ RANDOM_OFF + 1, "\xc3\xa9" }, { RANDOM_OFF + 2, "\x80" },
		{ RANDOM_OFF + 3, "\xff" }, { RANDOM_OFF + 4, "@" },
		{ RANDOM_OFF + 6, "[" }, { RANDOM_OFF + 7, "`" }, { RANDOM_OFF + 8, "{" },
		{ RANDOM_OFF + 10, "\0" },
	};
	char v[VLEN + 1], id[AT_TOKEN_ID_LEN + 1];
	size_t i;

	/* the control: fix_check() makes a value the parser takes */
	base_value(v);
	assert_int_equal(parse_exact(v, VLEN, id), AT_OK);
	assert_string_equal(id, "TKN-1234-5678");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base_value(v);
		memcpy(v + cases[i].off, cases[i].text,
		       cases[i].text[0] ? strlen(cases[i].text) : 1);
		fix_check(v);
		if (parse_exact(v, VLEN, id) != AT_ERR_AUTH)
			fail_msg("case %zu accepted: %.*s", i, VLEN, v);
	}

	/* a non-base62 character in the checksum itself */
	base_value(v);
	v[VLEN - 1] = '-';
	assert_int_equal(parse_exact(v, VLEN, id), AT_ERR_AUTH);
}

/* Choose the random part from 'B','C','b','c' (bits 0 and 5 of each byte)
 * so that the CRC32 of everything before the checksum is target: the CRC
 * is affine over GF(2), so this is a linear system of 32 equations. */
static void value_with_crc(char *v, uint32_t target)
{
	enum { NVAR = 2 * AT_TOKEN_RANDOM_LEN };
	uint32_t col[NVAR], basis[32] = { 0 }, x, base;
	unsigned __int128 comb[32] = { 0 }, m;
	bool have[32] = { false };
	int i, bit;

	memcpy(v, "idt:TKN-1234-5678:", RANDOM_OFF);
	memset(v + RANDOM_OFF, 'B', AT_TOKEN_RANDOM_LEN);
	memset(v + CHECK_OFF, '0', AT_TOKEN_CHECK_LEN);
	v[VLEN] = '\0';
	base = crc_of(v);
	for (i = 0; i < NVAR; i++) {
		char *p = v + RANDOM_OFF + i / 2;

		*p ^= i % 2 ? 0x20 : 0x01;
		col[i] = crc_of(v) ^ base;
		*p ^= i % 2 ? 0x20 : 0x01;
	}
	for (i = 0; i < NVAR; i++) {
		x = col[i];
		m = (unsigned __int128)1 << i;
		for (bit = 31; bit >= 0 && x; bit--) {
			if (!(x >> bit & 1))
				continue;
			if (!have[bit]) {
				have[bit] = true;
				basis[bit] = x;
				comb[bit] = m;
				break;
			}
			x ^= basis[bit];
			m ^= comb[bit];
		}
	}
	x = base ^ target;
	m = 0;
	for (bit = 31; bit >= 0; bit--) {
		if (!(x >> bit & 1))
			continue;
		assert_true(have[bit]);
		x ^= basis[bit];
		m ^= comb[bit];
	}
	assert_int_equal(x, 0);
	for (i = 0; i < NVAR; i++)
		if (m >> i & 1)
			v[RANDOM_OFF + i / 2] ^= i % 2 ? 0x20 : 0x01;
	assert_int_equal(crc_of(v), target);
}

static void test_check_kat(void **state UNUSED)
{
	static const struct {
		uint32_t crc;
		const char *check;
	} kat[] = {
		{ 0, "000000" },		/* all padding */
		{ 1, "000001" },
		{ 61, "00000z" },
		{ 62, "000010" },		/* most significant digit first */
		{ 3843, "0000zz" },
		{ 916132832, "100000" },	/* 62^5 */
		{ 0xffffffffu, "4gfFC3" },	/* the largest CRC */
	};
	char v[VLEN + 1], w[VLEN + 1], id[AT_TOKEN_ID_LEN + 1];
	size_t i;
	int j;

	/* a fixed value; CRC32 and encoding computed independently */
	memcpy(v, "idt:TKN-1234-5678:", RANDOM_OFF);
	memset(v + RANDOM_OFF, 'A', AT_TOKEN_RANDOM_LEN);
	memcpy(v + CHECK_OFF, "1D3xMt", AT_TOKEN_CHECK_LEN);
	assert_int_equal(crc_of(v), 0x421c910fu);
	enc62(crc_of(v), w);
	assert_memory_equal(w, "1D3xMt", AT_TOKEN_CHECK_LEN);
	assert_int_equal(parse_exact(v, VLEN, id), AT_OK);

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		value_with_crc(v, kat[i].crc);
		enc62(kat[i].crc, w);
		assert_memory_equal(w, kat[i].check, AT_TOKEN_CHECK_LEN);
		memcpy(v + CHECK_OFF, kat[i].check, AT_TOKEN_CHECK_LEN);
		if (parse_exact(v, VLEN, id) != AT_OK)
			fail_msg("crc %u: %s rejected", kat[i].crc, kat[i].check);
		/* the same digits reversed (little-endian) are wrong */
		for (j = 0; j < AT_TOKEN_CHECK_LEN; j++)
			v[CHECK_OFF + j] = kat[i].check[AT_TOKEN_CHECK_LEN - 1 - j];
		if (memcmp(v + CHECK_OFF, kat[i].check, AT_TOKEN_CHECK_LEN))
			assert_int_equal(parse_exact(v, VLEN, id), AT_ERR_AUTH);
	}
}

/* ---- key file ---- */

static struct at_keys *load_ok(const char *path)
{
	struct at_keys *k = NULL;
	char err[512] = "";

	if (at_keys_load(&k, path, err, sizeof(err)) != AT_OK)
		fail_msg("load %s: %s", path, err);
	assert_non_null(k);
	return k;
}

static void gen_ok(const char *path)
{
	char err[512] = "";

	if (at_keys_generate(path, err, sizeof(err)) != AT_OK)
		fail_msg("generate %s: %s", path, err);
}

static void load_fails(const char *path, enum at_err want, const char *msg)
{
	static char junk;
	struct at_keys *k = (struct at_keys *)&junk;	/* load must reset it */
	char err[512] = "";

	assert_int_equal(at_keys_load(&k, path, err, sizeof(err)), want);
	assert_null(k);
	assert_has(err, path);
	assert_has(err, msg);
}

static void test_keys_generate_load(void **state UNUSED)
{
	char path[256], text[4096], *line;
	struct at_keys *k;
	struct stat st;
	size_t i;

	tpath(path, sizeof(path), "keys");
	gen_ok(path);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	read_text(path, text, sizeof(text));
	assert_int_equal(text[0], ';');		/* the comment header */
	assert_has(text, "[keys]\n");
	assert_has(text, "current = 1\n");
	line = strstr(text, "\nhash = ");
	assert_non_null(line);
	line += strlen("\nhash = ");
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", line[i]));
	assert_int_equal(line[64], '\n');
	line = strstr(text, "\nseal.1 = ");
	assert_non_null(line);
	line += strlen("\nseal.1 = ");
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", line[i]));

	k = load_ok(path);
	assert_int_equal(at_keys_current(k), 1);
	at_keys_free(k);
	at_keys_free(NULL);
}

static void test_keys_mode(void **state UNUSED)
{
	static const mode_t wide[] = { 0644, 0640, 0604, 0601, 0610, 0660, 0666, 0777 };
	static const mode_t narrow[] = { 0600, 0400, 0700 };
	char path[256], want[64];
	size_t i;

	tpath(path, sizeof(path), "keys");
	gen_ok(path);
	assert_int_equal(chmod(path, 0644), 0);
	load_fails(path, AT_ERR_CONFIG, "mode 0644 is wider than 0600");
	for (i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		assert_int_equal(chmod(path, wide[i]), 0);
		snprintf(want, sizeof(want), "mode 0%03o is wider than 0600", (unsigned)wide[i]);
		load_fails(path, AT_ERR_CONFIG, want);
	}
	for (i = 0; i < sizeof(narrow) / sizeof(narrow[0]); i++) {
		assert_int_equal(chmod(path, narrow[i]), 0);
		at_keys_free(load_ok(path));
	}
}

static void test_keys_missing(void **state UNUSED)
{
	char path[256], dir[256], fifo[256], err[8];
	struct at_keys *k = NULL;

	tpath(path, sizeof(path), "nothing-here");
	load_fails(path, AT_ERR_CONFIG, "apitokenctl keygen");

	tpath(dir, sizeof(dir), "a-dir");
	assert_int_equal(mkdir(dir, 0700), 0);
	load_fails(dir, AT_ERR_CONFIG, "not a regular file");

	/* a FIFO must be refused, not waited on */
	tpath(fifo, sizeof(fifo), "a-fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	load_fails(fifo, AT_ERR_CONFIG, "not a regular file");

	/* a short err buffer is truncated, never overrun */
	memset(err, 'x', sizeof(err));
	assert_int_equal(at_keys_load(&k, path, err, sizeof(err)), AT_ERR_CONFIG);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(at_keys_load(&k, path, NULL, 0), AT_ERR_CONFIG);
}

static void test_keys_malformed(void **state UNUSED)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "[keys]\nhash = " HEXA "0\nseal.1 = " HEXB "\ncurrent = 1\n",
		  "hash is not 64 hex digits" },
		{ "[keys]\nhash = 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n"
		  "seal.1 = " HEXB "\ncurrent = 1\n", "hash is not 64 hex digits" },
		{ "[keys]\nhash = zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		  "seal.1 = " HEXB "\ncurrent = 1\n", "hash is not 64 hex digits" },
		{ "[keys]\nhash = 01:23456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\n"
		  "seal.1 = " HEXB "\ncurrent = 1\n", "hash is not 64 hex digits" },
		{ "[keys]\nhash =\nseal.1 = " HEXB "\ncurrent = 1\n",
		  "hash is not 64 hex digits" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "g\ncurrent = 1\n",
		  "seal.1 is not 64 hex digits" },
		{ "[keys]\nseal.1 = " HEXB "\ncurrent = 1\n", "no hash key" },
		{ "[keys]\nhash = " HEXA "\ncurrent = 1\n", "no seal key" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\n", "no current seal key" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\ncurrent = 2\n",
		  "current = 2 names no seal key" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\ncurrent = one\n",
		  "current is not a seal key number" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\ncurrent = 1\nfoo = bar\n",
		  "unknown key foo" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\ncurrent = 1\nHash = " HEXA "\n",
		  "unknown key Hash" },
		{ "hash = " HEXA "\n[keys]\nseal.1 = " HEXB "\ncurrent = 1\n",
		  "hash outside [keys]" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\ncurrent = 1\n[more]\nx = 1\n",
		  "x outside [keys]" },
		{ "[keys]\nhash = " HEXA "\nseal.0 = " HEXB "\ncurrent = 1\n",
		  "seal.0 is not seal.N" },
		{ "[keys]\nhash = " HEXA "\nseal.01 = " HEXB "\ncurrent = 1\n",
		  "seal.01 is not seal.N" },
		{ "[keys]\nhash = " HEXA "\nseal.x = " HEXB "\ncurrent = 1\n",
		  "seal.x is not seal.N" },
		{ "[keys]\nhash = " HEXA "\nseal. = " HEXB "\ncurrent = 1\n",
		  "seal. is not seal.N" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\nseal.1 = " HEXA "\ncurrent = 1\n",
		  "seal.1 given twice" },
		{ "[keys]\nhash = " HEXA "\nhash = " HEXB "\nseal.1 = " HEXB "\ncurrent = 1\n",
		  "hash given twice" },
		{ "[keys]\nhash = " HEXA "\nseal.1 = " HEXB "\ncurrent = 1\ncurrent = 1\n",
		  "current given twice" },
		{ "[keys]\nhash = " HEXA "\nthis line is junk\nseal.1 = " HEXB "\ncurrent = 1\n",
		  "line 3: not a key = value line" },
		{ "", "no hash key" },
	};
	struct at_keys *k;
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tpath(path, sizeof(path), "keys");
		write_text(path, cases[i].text, 0600);
		load_fails(path, AT_ERR_CONFIG, cases[i].msg);
	}

	/* the control: the same shape, well formed, with comments */
	tpath(path, sizeof(path), "keys");
	write_text(path, "; made by hand\n# another comment\n[keys]\nhash = " HEXA
		   "\nseal.1 = " HEXB "\nseal.7 = " HEXA "\ncurrent = 7\n", 0600);
	k = load_ok(path);
	assert_int_equal(at_keys_current(k), 7);
	at_keys_free(k);
}

static void test_keys_seal_count(void **state UNUSED)
{
	char path[256], text[4096], line[128];
	unsigned i, total;
	size_t len;

	for (total = 16; total <= 17; total++) {
		len = (size_t)snprintf(text, sizeof(text), "[keys]\nhash = %s\n", HEXA);
		for (i = 1; i <= total; i++) {
			snprintf(line, sizeof(line), "seal.%u = %s\n", i, HEXB);
			len += (size_t)snprintf(text + len, sizeof(text) - len, "%s", line);
		}
		snprintf(text + len, sizeof(text) - len, "current = 1\n");
		tpath(path, sizeof(path), "keys");
		write_text(path, text, 0600);
		if (total == 16)
			at_keys_free(load_ok(path));
		else
			load_fails(path, AT_ERR_CONFIG, "more than 16 seal keys");
	}
}

static void test_keys_no_overwrite(void **state UNUSED)
{
	char path[256], link[256], target[256], before[4096], after[4096], err[512] = "";
	struct stat st;

	tpath(path, sizeof(path), "keys");
	gen_ok(path);
	read_text(path, before, sizeof(before));
	assert_int_equal(at_keys_generate(path, err, sizeof(err)), AT_ERR_CONFIG);
	assert_has(err, path);
	assert_has(err, "already exists");
	read_text(path, after, sizeof(after));
	assert_string_equal(before, after);

	/* nor write through a symlink planted at the path */
	tpath(link, sizeof(link), "link");
	tpath(target, sizeof(target), "target");
	assert_int_equal(symlink(target, link), 0);
	assert_int_not_equal(at_keys_generate(link, err, sizeof(err)), AT_OK);
	assert_int_equal(stat(target, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* ---- hash, seal, open ---- */

static void test_hash(void **state UNUSED)
{
	char p1[256], p2[256], v[VLEN + 1], tid[AT_TOKEN_ID_LEN + 1];
	unsigned char h1[AT_HASH_LEN], h2[AT_HASH_LEN], h3[AT_HASH_LEN];
	unsigned char h4[AT_HASH_LEN], h5[AT_HASH_LEN];
	struct at_keys *k1, *k1b, *k2;

	tpath(p1, sizeof(p1), "keys");
	tpath(p2, sizeof(p2), "keys");
	gen_ok(p1);
	gen_ok(p2);
	k1 = load_ok(p1);
	k1b = load_ok(p1);
	k2 = load_ok(p2);

	assert_true(at_id_make(tid, sizeof(tid), "TKN", 2));
	at_token_value_make(tid, v);
	at_token_hash(k1, v, VLEN, h1);
	at_token_hash(k1b, v, VLEN, h2);
	at_token_hash(k2, v, VLEN, h3);
	assert_memory_equal(h1, h2, AT_HASH_LEN);	/* same key file: same hash */
	assert_true(at_hash_equal(h1, h2));
	assert_memory_not_equal(h1, h3, AT_HASH_LEN);	/* the key matters */
	assert_false(at_hash_equal(h1, h3));

	/* the whole value counts, to its last byte */
	at_token_hash(k1, v, VLEN - 1, h4);
	assert_false(at_hash_equal(h1, h4));
	v[VLEN - 1] ^= 1;
	at_token_hash(k1, v, VLEN, h5);
	assert_false(at_hash_equal(h1, h5));

	memcpy(h2, h1, AT_HASH_LEN);
	h2[AT_HASH_LEN - 1] ^= 0x80;
	assert_false(at_hash_equal(h1, h2));
	h2[AT_HASH_LEN - 1] ^= 0x80;
	h2[0] ^= 1;
	assert_false(at_hash_equal(h1, h2));

	at_keys_free(k1);
	at_keys_free(k1b);
	at_keys_free(k2);
}

static void assert_wiped(const char *out)
{
	size_t i;

	for (i = 0; i <= VLEN; i++)
		if (out[i])
			fail_msg("byte %zu of a failed open is not wiped", i);
}

static void test_seal_open(void **state UNUSED)
{
	char p1[256], p2[256], tid[AT_TOKEN_ID_LEN + 1], other[AT_TOKEN_ID_LEN + 1];
	char v[VLEN + 1], out[VLEN + 1];
	unsigned char s[AT_SEALED_LEN], s2[AT_SEALED_LEN], bad[AT_SEALED_LEN];
	struct at_keys *k1, *k2;
	unsigned kid = 0, kid2 = 0;
	size_t i;

	tpath(p1, sizeof(p1), "keys");
	tpath(p2, sizeof(p2), "keys");
	gen_ok(p1);
	gen_ok(p2);
	k1 = load_ok(p1);
	k2 = load_ok(p2);

	assert_true(at_id_make(tid, sizeof(tid), "TKN", 2));
	at_token_value_make(tid, v);
	assert_int_equal(at_token_seal(k1, tid, v, s, &kid), AT_OK);
	assert_int_equal(kid, 1);
	assert_null(memmem(s, sizeof(s), v + RANDOM_OFF, 8));	/* not in clear */
	memset(out, 'x', sizeof(out));
	assert_int_equal(at_token_open(k1, kid, tid, s, sizeof(s), out), AT_OK);
	assert_string_equal(out, v);

	/* a random nonce: sealing twice gives different bytes */
	assert_int_equal(at_token_seal(k1, tid, v, s2, &kid2), AT_OK);
	assert_memory_not_equal(s, s2, AT_SEALED_LEN);

	/* moved to another token id */
	do
		assert_true(at_id_make(other, sizeof(other), "TKN", 2));
	while (!strcmp(other, tid));
	memset(out, 'x', sizeof(out));
	assert_int_equal(at_token_open(k1, kid, other, s, sizeof(s), out), AT_ERR_CRYPTO);
	assert_wiped(out);

	/* every flipped byte: nonce, ciphertext, tag */
	for (i = 0; i < AT_SEALED_LEN; i++) {
		memcpy(bad, s, sizeof(bad));
		bad[i] ^= 0x01;
		memset(out, 'x', sizeof(out));
		if (at_token_open(k1, kid, tid, bad, sizeof(bad), out) != AT_ERR_CRYPTO)
			fail_msg("opened with byte %zu flipped", i);
		assert_wiped(out);
	}

	/* unknown key ids, another file's key of the same id, wrong lengths */
	memset(out, 'x', sizeof(out));
	assert_int_equal(at_token_open(k1, 2, tid, s, sizeof(s), out), AT_ERR_CRYPTO);
	assert_wiped(out);
	assert_int_equal(at_token_open(k1, 0, tid, s, sizeof(s), out), AT_ERR_CRYPTO);
	assert_int_equal(at_token_open(k2, 1, tid, s, sizeof(s), out), AT_ERR_CRYPTO);
	assert_wiped(out);
	assert_int_equal(at_token_open(k1, kid, tid, s, sizeof(s) - 1, out), AT_ERR_CRYPTO);
	assert_int_equal(at_token_open(k1, kid, tid, s, 0, out), AT_ERR_CRYPTO);

	/* sealing refuses a value of another token or a malformed one */
	assert_int_not_equal(at_token_seal(k1, other, v, s2, &kid2), AT_OK);
	v[VLEN - 1] = v[VLEN - 1] == '0' ? '1' : '0';
	assert_int_not_equal(at_token_seal(k1, tid, v, s2, &kid2), AT_OK);

	at_keys_free(k1);
	at_keys_free(k2);
}

static void test_keys_rotate(void **state UNUSED)
{
	char path[256], err[512] = "", tid[AT_TOKEN_ID_LEN + 1], v[VLEN + 1], out[VLEN + 1];
	unsigned char s1[AT_SEALED_LEN], s2[AT_SEALED_LEN];
	unsigned char h1[AT_HASH_LEN], h2[AT_HASH_LEN];
	struct at_keys *k1, *k2;
	unsigned kid1 = 0, kid2 = 0, nid = 0, i;
	struct stat st;

	tpath(path, sizeof(path), "keys");
	gen_ok(path);
	k1 = load_ok(path);
	assert_true(at_id_make(tid, sizeof(tid), "TKN", 2));
	at_token_value_make(tid, v);
	assert_int_equal(at_token_seal(k1, tid, v, s1, &kid1), AT_OK);
	assert_int_equal(kid1, 1);
	at_token_hash(k1, v, VLEN, h1);

	if (at_keys_rotate(path, &nid, err, sizeof(err)) != AT_OK)
		fail_msg("rotate: %s", err);
	assert_int_equal(nid, 2);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	k2 = load_ok(path);
	assert_int_equal(at_keys_current(k2), 2);
	/* old sealed values still open under their own key id */
	assert_int_equal(at_token_open(k2, kid1, tid, s1, sizeof(s1), out), AT_OK);
	assert_string_equal(out, v);
	/* new seals use the new key, which the old key set does not have */
	assert_int_equal(at_token_seal(k2, tid, v, s2, &kid2), AT_OK);
	assert_int_equal(kid2, 2);
	assert_int_equal(at_token_open(k2, kid2, tid, s2, sizeof(s2), out), AT_OK);
	assert_string_equal(out, v);
	assert_int_equal(at_token_open(k1, kid2, tid, s2, sizeof(s2), out), AT_ERR_CRYPTO);
	assert_int_equal(at_token_open(k2, 1, tid, s2, sizeof(s2), out), AT_ERR_CRYPTO);
	/* the hash key never changes */
	at_token_hash(k2, v, VLEN, h2);
	assert_true(at_hash_equal(h1, h2));
	at_keys_free(k1);
	at_keys_free(k2);

	/* up to 16 seal keys, then rotation refuses and leaves the file be */
	for (i = 3; i <= 16; i++) {
		if (at_keys_rotate(path, &nid, err, sizeof(err)) != AT_OK)
			fail_msg("rotate %u: %s", i, err);
		assert_int_equal(nid, i);
	}
	k2 = load_ok(path);
	assert_int_equal(at_keys_current(k2), 16);
	assert_int_equal(at_token_open(k2, kid1, tid, s1, sizeof(s1), out), AT_OK);
	at_keys_free(k2);
	nid = 0;
	assert_int_equal(at_keys_rotate(path, &nid, err, sizeof(err)), AT_ERR_CONFIG);
	assert_has(err, "16 seal keys");
	assert_int_equal(nid, 0);
	k2 = load_ok(path);
	assert_int_equal(at_keys_current(k2), 16);
	at_keys_free(k2);

	/* rotate checks the file as load does */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(at_keys_rotate(path, &nid, err, sizeof(err)), AT_ERR_CONFIG);
	assert_has(err, "mode 0644");
}

/* Rotation leaves no temporary file behind. */
static void test_keys_rotate_clean(void **state UNUSED)
{
	char dir[256], path[300], err[512] = "", list[1024] = "";
	struct dirent *e;
	size_t len = 0;
	unsigned nid;
	DIR *d;
	int n;

	tpath(dir, sizeof(dir), "rotdir");
	assert_int_equal(mkdir(dir, 0700), 0);
	n = snprintf(path, sizeof(path), "%s/keys", dir);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	gen_ok(path);
	assert_int_equal(at_keys_rotate(path, &nid, err, sizeof(err)), AT_OK);
	assert_int_equal(at_keys_rotate(path, &nid, err, sizeof(err)), AT_OK);
	assert_int_equal(nid, 3);

	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n = snprintf(list + len, sizeof(list) - len, "%s ", e->d_name);
		assert_true(n > 0 && (size_t)n < sizeof(list) - len);
		len += (size_t)n;
	}
	closedir(d);
	assert_string_equal(list, "keys ");
}

/* 2n lower-case hex digits, then the NUL and nothing past it; and two
 * draws in a row differ (a stream must not give the same block again). */
static void check_hex(void (*hex)(char *, size_t))
{
	char a[2 * 100 + 2], b[2 * 100 + 2];
	size_t n, i;

	for (n = 0; n <= 100; n++) {
		memset(a, '#', sizeof(a));
		hex(a, n);
		assert_int_equal(strlen(a), 2 * n);
		for (i = 0; i < 2 * n; i++)
			assert_non_null(strchr("0123456789abcdef", a[i]));
		assert_int_equal(a[2 * n + 1], '#');	/* nothing past the NUL */
	}
	hex(a, 32);
	hex(b, 32);
	assert_string_not_equal(a, b);
	hex(b, 16);
	assert_memory_not_equal(a, b, 32);
}

static void test_random_hex(void **state UNUSED)
{
	char a[64], b[64];
	size_t i;

	check_hex(at_random_hex);
	check_hex(at_id_hex);

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	at_random_bytes(a, 32);
	at_random_bytes(b, 32);
	assert_memory_not_equal(a, b, 32);
	at_wipe(a, 32);
	for (i = 0; i < 32; i++)
		assert_int_equal(a[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_id_make),
		cmocka_unit_test(test_id_valid),
		cmocka_unit_test(test_value_roundtrip),
		cmocka_unit_test(test_value_corruption),
		cmocka_unit_test(test_value_length),
		cmocka_unit_test(test_value_shape),
		cmocka_unit_test(test_check_kat),
		cmocka_unit_test(test_keys_generate_load),
		cmocka_unit_test(test_keys_mode),
		cmocka_unit_test(test_keys_missing),
		cmocka_unit_test(test_keys_malformed),
		cmocka_unit_test(test_keys_seal_count),
		cmocka_unit_test(test_keys_no_overwrite),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_keys_rotate),
		cmocka_unit_test(test_keys_rotate_clean),
		cmocka_unit_test(test_random_hex),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
