/* ipnet.c: allowlist entries and the match of a client address. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ipnet.h"

static const unsigned char mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* Quote the client's text in a message only when it is short printable
 * ASCII: it goes back in a JSON body and may be anything. */
static void say(char *msg, size_t msglen, const char *s, size_t len, const char *what)
{
	size_t i;
	bool quote = len > 0 && len < AT_IPNET_TEXT + 10;

	if (!msg || !msglen)
		return;
	for (i = 0; quote && i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			quote = false;
	if (quote)
		snprintf(msg, msglen, "'%.*s' %s", (int)len, s, what);
	else
		snprintf(msg, msglen, "An entry %s", what);
}

static bool read_addr(const char *s, size_t len, struct at_ipnet *out)
{
	char text[INET6_ADDRSTRLEN];

	/* inet_pton wants a string; longer than any address is none */
	if (len == 0 || len >= sizeof(text) || memchr(s, '\0', len))
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->addr) == 1) {
		out->family = 4;
		out->prefix = 32;
		return true;
	}
	if (inet_pton(AF_INET6, text, out->addr) == 1) {
		out->family = 6;
		out->prefix = 128;
		return true;
	}
	return false;
}

/* An IPv4-mapped IPv6 range of at least /96 is the IPv4 range it maps. */
static void unmap(struct at_ipnet *n)
{
	if (n->family != 6 || n->prefix < 96 || memcmp(n->addr, mapped_prefix, 12))
		return;
	memmove(n->addr, n->addr + 12, 4);
	memset(n->addr + 4, 0, 12);
	n->family = 4;
	n->prefix = (unsigned char)(n->prefix - 96);
}

/* Decimal prefix length: digits only, no leading zero, at most max. */
static bool read_prefix(const char *s, size_t len, unsigned max, unsigned *out)
{
	unsigned v = 0;
	size_t i;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Whether bits from prefix on are all zero. */
static bool host_bits_zero(const struct at_ipnet *n)
{
	size_t bytes = n->family == 4 ? 4 : 16, i = n->prefix / 8;

	if (i < bytes && (n->addr[i] & (0xff >> (n->prefix % 8))))
		return false;
	for (i++; i < bytes; i++)
		if (n->addr[i])
			return false;
	return true;
}

static void mask(struct at_ipnet *n)
{
	size_t bytes = n->family == 4 ? 4 : 16, i = n->prefix / 8;

	if (i < bytes)
		n->addr[i] &= (unsigned char)~(0xff >> (n->prefix % 8));
	for (i++; i < bytes; i++)
		n->addr[i] = 0;
}

enum at_err at_ipnet_parse(const char *s, size_t len, struct at_ipnet *out,
			   char *msg, size_t msglen)
{
	const char *slash = s ? memchr(s, '/', len) : NULL;
	size_t alen = slash ? (size_t)(slash - s) : len;
	unsigned prefix;
	struct at_ipnet net;
	char text[AT_IPNET_TEXT], m[AT_IPNET_TEXT + 40];

	if (!s || !read_addr(s, alen, &net))
		goto bad;
	if (slash) {
		if (!read_prefix(slash + 1, len - alen - 1, net.prefix, &prefix))
			goto bad;
		net.prefix = (unsigned char)prefix;
	}
	if (!host_bits_zero(&net)) {
		/* refused, not masked: 10.0.0.1/8 is more likely a typo of a
		 * smaller range than a wish for all of 10/8 */
		mask(&net);
		unmap(&net);
		at_ipnet_format(&net, text);
		snprintf(m, sizeof(m), "has host bits set; the range is '%s'.", text);
		say(msg, msglen, s, len, m);
		return AT_ERR_INVALID;
	}
	unmap(&net);
	*out = net;
	return AT_OK;
bad:
	say(msg, msglen, s, len, "is not an IP address or CIDR range.");
	return AT_ERR_INVALID;
}

void at_ipnet_format(const struct at_ipnet *n, char out[AT_IPNET_TEXT])
{
	size_t l;

	if (!inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->addr, out, INET6_ADDRSTRLEN)) {
		/* cannot happen with room for any address; never leave junk */
		out[0] = '\0';
		return;
	}
	if (n->prefix != (n->family == 4 ? 32 : 128)) {
		l = strlen(out);
		snprintf(out + l, AT_IPNET_TEXT - l, "/%u", (unsigned)n->prefix);
	}
}

bool at_ipnet_equal(const struct at_ipnet *a, const struct at_ipnet *b)
{
	return a->family == b->family && a->prefix == b->prefix &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

enum at_err at_ipaddr_parse(const char *s, struct at_ipnet *out)
{
	if (!s || !read_addr(s, strlen(s), out))
		return AT_ERR_INVALID;
	unmap(out);
	return AT_OK;
}

bool at_ipnet_contains(const struct at_ipnet *n, const struct at_ipnet *a)
{
	size_t whole = n->prefix / 8;
	unsigned rest = n->prefix % 8;

	if (n->family != a->family)
		return false;
	if (memcmp(n->addr, a->addr, whole))
		return false;
	return !rest || !((n->addr[whole] ^ a->addr[whole]) & (0xff << (8 - rest)));
}

void at_iplist_init(struct at_iplist *l)
{
	l->n = 0;
}

enum at_err at_iplist_add(struct at_iplist *l, const char *s, size_t len,
			  char *msg, size_t msglen)
{
	struct at_ipnet net;
	enum at_err rc;
	size_t i;

	rc = at_ipnet_parse(s, len, &net, msg, msglen);
	if (rc)
		return rc;
	for (i = 0; i < l->n; i++) {
		if (at_ipnet_equal(&l->e[i], &net)) {
			say(msg, msglen, s, len, "is listed more than once.");
			return AT_ERR_INVALID;
		}
	}
	if (l->n == AT_IPLIST_MAX) {
		if (msg && msglen)
			snprintf(msg, msglen, "At most %d addresses or ranges are allowed.",
				 AT_IPLIST_MAX);
		return AT_ERR_INVALID;
	}
	l->e[l->n++] = net;
	return AT_OK;
}

bool at_iplist_match(const struct at_iplist *l, const char *client)
{
	struct at_ipnet a;
	size_t i;

	if (at_ipaddr_parse(client, &a))
		return false;
	for (i = 0; i < l->n; i++)
		if (at_ipnet_contains(&l->e[i], &a))
			return true;
	return false;
}

enum at_err at_iplist_format(const struct at_iplist *l, struct at_buf *out)
{
	char text[AT_IPNET_TEXT];
	enum at_err rc = AT_OK;
	size_t i;

	for (i = 0; i < l->n && !rc; i++) {
		at_ipnet_format(&l->e[i], text);
		if (i)
			rc = at_buf_append(out, ",", 1);
		if (!rc)
			rc = at_buf_puts(out, text);
	}
	return rc;
}

enum at_err at_iplist_parse(struct at_iplist *l, const char *s, size_t len,
			    char *msg, size_t msglen)
{
	const char *end = s + len, *comma;
	enum at_err rc;

	at_iplist_init(l);
	while (s && s < end) {
		comma = memchr(s, ',', (size_t)(end - s));
		if (!comma)
			comma = end;
		rc = at_iplist_add(l, s, (size_t)(comma - s), msg, msglen);
		if (rc)
			return rc;
		/* a trailing ',' is an empty entry, not the end */
		if (comma == end)
			break;
		s = comma + 1;
		if (s == end)
			return at_iplist_add(l, s, 0, msg, msglen);
	}
	return AT_OK;
}
