/* libFuzzer harness: the icon magic-byte check of PUT …/icon. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	const char *type;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	type = at_icon_type(copy, size);
	if (type && strcmp(type, "image/png") && strcmp(type, "image/jpeg"))
		abort();
	if (type && !strcmp(type, "image/png") && (size < 8 || memcmp(copy, "\x89PNG", 4)))
		abort();
	if (type && !strcmp(type, "image/jpeg") && (size < 3 || copy[0] != 0xFF))
		abort();
	free(copy);
	return 0;
}
