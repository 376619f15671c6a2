/* libFuzzer harness: allowlist entries, the stored list form and client
 * addresses, all read from what clients and nginx send. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipnet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct at_iplist l, back;
	struct at_ipnet n, again;
	struct at_buf b;
	char msg[AT_IPNET_MSG], text[AT_IPNET_TEXT], *copy, *client;
	size_t i;

	/* an exact-size copy: a read past the end is a finding */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (at_ipnet_parse(copy, size, &n, msg, sizeof(msg)) == AT_OK) {
		/* the canonical text reads back as the same entry */
		at_ipnet_format(&n, text);
		if (at_ipnet_parse(text, strlen(text), &again, NULL, 0) != AT_OK ||
		    !at_ipnet_equal(&n, &again))
			abort();
	} else if (!memchr(msg, '\0', sizeof(msg))) {
		abort();
	}
	if (at_iplist_parse(&l, copy, size, msg, sizeof(msg)) == AT_OK) {
		if (l.n > AT_IPLIST_MAX)
			abort();
		at_buf_init(&b, 1 << 16);
		if (at_iplist_format(&l, &b) ||
		    at_iplist_parse(&back, b.data ? b.data : "", b.len, NULL, 0) ||
		    back.n != l.n)
			abort();
		for (i = 0; i < l.n; i++)
			if (!at_ipnet_equal(&l.e[i], &back.e[i]))
				abort();
		at_buf_release(&b);
	}
	/* the same bytes as a client address: a NUL-terminated copy */
	client = malloc(size + 1);
	if (client) {
		memcpy(client, data, size);
		client[size] = '\0';
		if (at_ipaddr_parse(client, &n) == AT_OK) {
			/* an address is in its own /32 or /128 and in /0 */
			if (!at_ipnet_contains(&n, &n))
				abort();
			again = n;
			again.prefix = 0;
			memset(again.addr, 0, sizeof(again.addr));
			if (!at_ipnet_contains(&again, &n))
				abort();
		}
		free(client);
	}
	free(copy);
	return 0;
}
