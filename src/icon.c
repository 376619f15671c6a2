/* icon.c: what kind of image a token's logo is. */
#include <string.h>

#include "tokens.h"

/* The type comes from the magic bytes, never from the client's header. */
const char *at_icon_type(const unsigned char *p, size_t n)
{
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return "image/png";
	if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return "image/jpeg";
	return NULL;
}
