/* libFuzzer harness: what the front takes from the web server: the
 * request line's URI (percent-decoded path), the query string walked pair
 * by pair, and header values with their limits and the traceparent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input is split on NUL bytes into: REQUEST_URI, QUERY_STRING,
 * traceparent, If-Match, Authorization. */
static const char *fields[5];

static const char *param(void *ud, const char *name)
{
	(void)ud;
	if (!strcmp(name, "REQUEST_METHOD"))
		return "GET";
	if (!strcmp(name, "REQUEST_URI"))
		return fields[0];
	if (!strcmp(name, "QUERY_STRING"))
		return fields[1];
	if (!strcmp(name, "HTTP_TRACEPARENT"))
		return fields[2];
	if (!strcmp(name, "HTTP_IF_MATCH"))
		return fields[3];
	if (!strcmp(name, "HTTP_AUTHORIZATION"))
		return fields[4];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct at_query_iter it;
	struct at_request req;
	char key[64], val[1024], *text, *p;
	size_t i, n = 0;
	int r;

	if (!ready) {
		if (at_crypto_init())
			abort();
		ready = true;
	}
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (i = 0; i < 5; i++)
		fields[i] = NULL;
	for (p = text; n < 5 && p <= text + size; p += strlen(p) + 1)
		fields[n++] = p;
	memset(&req, 0, sizeof(req));
	at_buf_init(&req.body, 1024);
	at_request_fill(&req, param, NULL);
	/* a decoded path never holds a NUL and is bounded */
	if (req.path_ok && strlen(req.path) >= AT_PATH_MAX)
		abort();
	if (strlen(req.trace_id) != AT_TRACE_ID_LEN)
		abort();
	it.p = req.query;
	for (i = 0; i < 10000 && (r = at_query_next(&it, key, sizeof(key), val, sizeof(val))) == 1;
	     i++)
		if (strlen(key) >= sizeof(key) || strlen(val) >= sizeof(val))
			abort();
	at_buf_release(&req.body);
	free(text);
	return 0;
}
