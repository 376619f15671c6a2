/* keyset.h: what a struct at_keys holds, for crypto.c and keyfile.c
 * alone; everyone else sees it through crypto.h. */
#ifndef AT_KEYSET_H
#define AT_KEYSET_H

#include <stdbool.h>

#define AT_KEY_LEN		32
#define AT_MAX_SEAL_KEYS	16

struct at_seal_key {
	unsigned id;			/* >= 1 */
	unsigned char key[AT_KEY_LEN];
};

struct at_keys {
	unsigned char hash[AT_KEY_LEN];
	bool has_hash;
	bool has_current;
	unsigned current;
	unsigned nseal;
	struct at_seal_key seal[AT_MAX_SEAL_KEYS];
};

/* The seal key numbered id, or NULL (keyfile.c). */
const struct at_seal_key *at_keys_seal(const struct at_keys *keys, unsigned id);

#endif
