/* libFuzzer harness: the presented token value parser, which runs on every
 * Bearer header before any key or query. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char id[AT_TOKEN_ID_LEN + 1];
	char *copy;

	/* an exact-size copy: a read past the end is a finding */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (at_token_value_parse(copy, size, id) == AT_OK) {
		/* whatever passes has exactly the documented shape */
		if (size != AT_TOKEN_VALUE_LEN || memcmp(copy, "idt:", 4) ||
		    !at_id_valid(id, "TKN", 2) || memcmp(copy + 4, id, AT_TOKEN_ID_LEN))
			abort();
	}
	free(copy);
	return 0;
}
