/* libFuzzer harness: the INI reader (libinih behind inifile.c) and every
 * key's value parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct at_settings s;
	char err[512], *text;
	enum at_err rc;

	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	at_settings_init(&s);
	err[0] = '\0';
	rc = at_settings_parse_string(&s, text, err, sizeof(err));
	if (rc != AT_OK && rc != AT_ERR_CONFIG)
		abort();
	/* a refusal says why */
	if (rc == AT_ERR_CONFIG && !err[0])
		abort();
	/* whatever was accepted stays in range */
	if (rc == AT_OK && (s.workers < 1 || s.workers > 256 || s.socket_mode > 0777 ||
			    s.db_port > 65535))
		abort();
	free(text);
	return 0;
}
