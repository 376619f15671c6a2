/* ipnet.h: IP addresses and CIDR ranges of a token's allowlist.
 *
 * Text is read and written by the C library (inet_pton, inet_ntop); this
 * module adds the prefix length, the network check, the canonical form
 * and the match of a client address.  Nothing here allocates: an entry
 * and a list are plain values the caller owns.
 *
 * Families: an IPv4 entry matches IPv4 clients, an IPv6 entry IPv6 ones.
 * A client written as an IPv4-mapped IPv6 address (::ffff:10.0.0.1, as a
 * dual-stack socket reports it) is the IPv4 client 10.0.0.1, and an
 * entry in the mapped range with a prefix of at least 96 is the IPv4
 * entry it maps, so either spelling of an address means the same thing.
 */
#ifndef AT_IPNET_H
#define AT_IPNET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "err.h"

/* At most this many entries in one token's list. */
#define AT_IPLIST_MAX 64
/* The canonical text of an entry, NUL included: the longest IPv6 text
 * inet_ntop writes (INET6_ADDRSTRLEN, 46) and "/128". */
#define AT_IPNET_TEXT 50
/* Room for an error message about one entry (its text is quoted in it). */
#define AT_IPNET_MSG 160

struct at_ipnet {
	unsigned char addr[16];	/* network, host bits zero; IPv4 in the first 4 */
	unsigned char family;	/* 4 or 6 */
	unsigned char prefix;	/* 0..32 or 0..128 */
};

struct at_iplist {
	size_t n;
	struct at_ipnet e[AT_IPLIST_MAX];
};

/* Read one entry: an address ("10.0.0.1", "2001:db8::1") or a range
 * "addr/len" with len in decimal, no sign, space or leading zero.  A
 * range with host bits set (10.0.0.1/8) is refused, naming the network.
 * AT_ERR_INVALID with msg (msglen bytes, AT_IPNET_MSG is enough) set to a
 * sentence for the client, e.g. "'10.0.0.0/33' is not an IP address or
 * CIDR range."; s needs no NUL (len bytes are read). */
AT_MUST_CHECK enum at_err at_ipnet_parse(const char *s, size_t len, struct at_ipnet *out,
					 char *msg, size_t msglen);

/* The canonical text, for storage and display: inet_ntop's spelling of
 * the address, "/len" unless the range is one address.  out holds
 * AT_IPNET_TEXT bytes. */
void at_ipnet_format(const struct at_ipnet *n, char out[AT_IPNET_TEXT]);

bool at_ipnet_equal(const struct at_ipnet *a, const struct at_ipnet *b);

/* A client address (nginx's $remote_addr), read like an entry without a
 * length: AT_ERR_INVALID for anything else ("unix:", empty, a zone id). */
AT_MUST_CHECK enum at_err at_ipaddr_parse(const char *s, struct at_ipnet *out);

/* Whether the range n holds the address a (from at_ipaddr_parse). */
bool at_ipnet_contains(const struct at_ipnet *n, const struct at_ipnet *a);

void at_iplist_init(struct at_iplist *l);
/* Append one entry read from text.  AT_ERR_INVALID with msg set for a
 * bad entry, for one already in the list (compared in canonical form:
 * 10.0.0.1 and 10.0.0.1/32 are the same), and for the 65th. */
AT_MUST_CHECK enum at_err at_iplist_add(struct at_iplist *l, const char *s, size_t len,
					char *msg, size_t msglen);
/* Whether the client address text matches an entry; false when it is
 * not an address.  An empty list matches nothing: the caller decides
 * what having no list means. */
bool at_iplist_match(const struct at_iplist *l, const char *client);

/* The list as one line of canonical entries separated by ',' (empty for
 * none), and back: a compact stored form that verify reads quickly. */
AT_MUST_CHECK enum at_err at_iplist_format(const struct at_iplist *l, struct at_buf *out);
AT_MUST_CHECK enum at_err at_iplist_parse(struct at_iplist *l, const char *s, size_t len,
					  char *msg, size_t msglen);

#endif
