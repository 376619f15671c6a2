/* Unit tests of ipnet.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ipnet.h"

/* s reads as an entry whose canonical text is canon. */
static void canon_is(const char *s, const char *canon)
{
	struct at_ipnet n;
	char text[AT_IPNET_TEXT], msg[AT_IPNET_MSG] = "";

	if (at_ipnet_parse(s, strlen(s), &n, msg, sizeof(msg)) != AT_OK)
		fail_msg("'%s' refused: %s", s, msg);
	at_ipnet_format(&n, text);
	assert_string_equal(text, canon);
}

static void refused(const char *s, size_t len, const char *want)
{
	struct at_ipnet n;
	char msg[AT_IPNET_MSG] = "";

	assert_int_equal(at_ipnet_parse(s, len, &n, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_string_equal(msg, want);
}

static void bad(const char *s)
{
	char want[AT_IPNET_MSG];

	snprintf(want, sizeof(want), "'%s' is not an IP address or CIDR range.", s);
	refused(s, strlen(s), want);
}

static bool in(const char *entry, const char *client)
{
	struct at_iplist l;
	char msg[AT_IPNET_MSG];

	at_iplist_init(&l);
	assert_int_equal(at_iplist_add(&l, entry, strlen(entry), msg, sizeof(msg)), AT_OK);
	return at_iplist_match(&l, client);
}

static void test_canonical_forms(void **state)
{
	(void)state;
	canon_is("10.0.0.1", "10.0.0.1");
	canon_is("10.0.0.1/32", "10.0.0.1");
	canon_is("10.0.0.0/24", "10.0.0.0/24");
	canon_is("0.0.0.0/0", "0.0.0.0/0");
	canon_is("::/0", "::/0");
	canon_is("::1", "::1");
	canon_is("::1/128", "::1");
	canon_is("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	canon_is("2001:0db8:0000:0000:0000:0000:0000:0000/32", "2001:db8::/32");
	canon_is("2001:db8::/48", "2001:db8::/48");
	canon_is("fe80::/10", "fe80::/10");
	canon_is("10.0.0.128/25", "10.0.0.128/25");
	/* the mapped spelling of an IPv4 address or range is that address */
	canon_is("::ffff:10.0.0.1", "10.0.0.1");
	canon_is("::ffff:a00:1", "10.0.0.1");
	canon_is("::ffff:10.0.0.0/104", "10.0.0.0/8");
	canon_is("::ffff:0.0.0.0/96", "0.0.0.0/0");
	/* below /96 a range holding the mapped ones is an IPv6 range */
	canon_is("::/80", "::/80");
}

static void test_refused(void **state)
{
	(void)state;
	bad("10.0.0.0/33");
	bad("::/129");
	bad("10.0.0.0/");
	bad("/8");
	bad("10.0.0.0/8/8");
	bad("10.0.0.0/x");
	bad("10.0.0.0/08");
	bad("10.0.0.0/+8");
	bad("10.0.0.0/-8");
	bad("10.0.0.0/ 8");
	bad("10.0.0.0/8 ");
	bad(" 10.0.0.0/8");
	bad("10.0.0.0 /8");
	bad("10.0.0.0/1000");
	bad("::/0128");
	bad("10.0.0");
	bad("10.0.0.256");
	bad("010.0.0.1");
	bad("10.0.0.1.");
	bad("0x0a.0.0.1");
	bad("2001:db8::1::2");
	bad("2001:db8:::1");
	bad("fe80::1%eth0");
	bad("[::1]");
	bad("localhost");
	bad("unix:");
	bad("10.0.0.1:80");
	refused("", 0, "An entry is not an IP address or CIDR range.");
	refused("10.0.0.1\0junk", 13, "An entry is not an IP address or CIDR range.");
	refused("10.0.0.1\n", 9, "An entry is not an IP address or CIDR range.");
	refused("10.0.0.1/8", 10, "'10.0.0.1/8' has host bits set; the range is '10.0.0.0/8'.");
	refused("10.0.0.255/24", 13,
		"'10.0.0.255/24' has host bits set; the range is '10.0.0.0/24'.");
	refused("2001:db8::1/32", 14,
		"'2001:db8::1/32' has host bits set; the range is '2001:db8::/32'.");
	refused("::ffff:10.0.0.1/104", 19,
		"'::ffff:10.0.0.1/104' has host bits set; the range is '10.0.0.0/8'.");
	refused("1.2.3.4/0", 9, "'1.2.3.4/0' has host bits set; the range is '0.0.0.0/0'.");
}

static void test_len_bounds_the_read(void **state)
{
	struct at_ipnet n;
	char text[AT_IPNET_TEXT];

	(void)state;
	/* only len bytes count: "10.0.0.1/24" cut after the address */
	assert_int_equal(at_ipnet_parse("10.0.0.1/24", 8, &n, NULL, 0), AT_OK);
	at_ipnet_format(&n, text);
	assert_string_equal(text, "10.0.0.1");
}

static void test_match_edges(void **state)
{
	(void)state;
	assert_true(in("10.0.0.0/24", "10.0.0.0"));
	assert_true(in("10.0.0.0/24", "10.0.0.255"));
	assert_false(in("10.0.0.0/24", "10.0.1.0"));
	assert_false(in("10.0.0.0/24", "9.255.255.255"));
	assert_true(in("10.0.0.128/25", "10.0.0.128"));
	assert_false(in("10.0.0.128/25", "10.0.0.127"));
	assert_true(in("10.0.0.1", "10.0.0.1"));
	assert_true(in("10.0.0.1/32", "10.0.0.1"));
	assert_false(in("10.0.0.1/32", "10.0.0.2"));
	assert_false(in("10.0.0.1/32", "10.0.0.0"));
	assert_true(in("0.0.0.0/0", "255.255.255.255"));
	assert_true(in("0.0.0.0/0", "0.0.0.0"));
	assert_true(in("::/0", "2001:db8::1"));
	assert_true(in("::1/128", "::1"));
	assert_true(in("::1", "0:0:0:0:0:0:0:1"));
	assert_false(in("::1/128", "::2"));
	assert_true(in("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(in("2001:db8::/32", "2001:db9::"));
	assert_true(in("2001:db8:0:0:1::/80", "2001:db8::1:0:0:1"));
	assert_false(in("2001:db8:0:0:1::/80", "2001:db8:0:0:2::1"));
	assert_true(in("2001:db8:0:0:1::/80", "2001:db8::1:ffff:ffff:ffff"));
	assert_true(in("fe80::/10", "febf::1"));
	assert_false(in("fe80::/10", "fec0::1"));
}

static void test_families_and_mapped(void **state)
{
	(void)state;
	/* a mapped client is the IPv4 client */
	assert_true(in("10.0.0.0/24", "::ffff:10.0.0.1"));
	assert_true(in("10.0.0.0/24", "::FFFF:10.0.0.1"));
	assert_false(in("10.0.0.0/24", "::ffff:10.0.1.0"));
	assert_true(in("10.0.0.1", "::ffff:a00:1"));
	assert_true(in("::ffff:10.0.0.0/120", "10.0.0.9"));
	assert_true(in("0.0.0.0/0", "::ffff:192.0.2.1"));
	/* families do not cross otherwise */
	assert_false(in("::/0", "10.0.0.1"));
	assert_false(in("::/0", "::ffff:10.0.0.1"));
	assert_false(in("0.0.0.0/0", "::1"));
	assert_false(in("0.0.0.0/0", "::10.0.0.1"));
	assert_false(in("10.0.0.1", "::10.0.0.1"));
	assert_false(in("::/80", "::ffff:10.0.0.1"));
	assert_true(in("::/80", "::10.0.0.1"));
}

static void test_bad_clients_match_nothing(void **state)
{
	static const char *const clients[] = {
		"", "unix:", "10.0.0.1 ", " 10.0.0.1", "10.0.0.1/32", "fe80::1%lo",
		"10.0.0.1:443", "[::1]", "-",
	};
	struct at_ipnet a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		assert_false(in("0.0.0.0/0", clients[i]));
		assert_false(in("::/0", clients[i]));
		assert_int_equal(at_ipaddr_parse(clients[i], &a), AT_ERR_INVALID);
	}
	assert_int_equal(at_ipaddr_parse(NULL, &a), AT_ERR_INVALID);
}

static void test_list_bound_and_duplicates(void **state)
{
	struct at_iplist l;
	char s[32], msg[AT_IPNET_MSG];
	int i;

	(void)state;
	at_iplist_init(&l);
	assert_false(at_iplist_match(&l, "10.0.0.1"));
	for (i = 0; i < AT_IPLIST_MAX; i++) {
		snprintf(s, sizeof(s), "10.0.%d.0/24", i);
		assert_int_equal(at_iplist_add(&l, s, strlen(s), msg, sizeof(msg)), AT_OK);
	}
	assert_int_equal(l.n, 64);
	assert_int_equal(at_iplist_add(&l, "192.0.2.1", 9, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_string_equal(msg, "At most 64 addresses or ranges are allowed.");
	assert_int_equal(l.n, 64);
	assert_true(at_iplist_match(&l, "10.0.63.200"));
	assert_false(at_iplist_match(&l, "10.0.64.0"));
	assert_false(at_iplist_match(&l, "192.0.2.1"));

	at_iplist_init(&l);
	assert_int_equal(at_iplist_add(&l, "10.0.0.1", 8, msg, sizeof(msg)), AT_OK);
	assert_int_equal(at_iplist_add(&l, "10.0.0.1/32", 11, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_string_equal(msg, "'10.0.0.1/32' is listed more than once.");
	assert_int_equal(at_iplist_add(&l, "::ffff:10.0.0.1", 15, msg, sizeof(msg)),
			 AT_ERR_INVALID);
	assert_int_equal(at_iplist_add(&l, "2001:db8::/32", 13, msg, sizeof(msg)), AT_OK);
	assert_int_equal(at_iplist_add(&l, "2001:0DB8:0::/32", 16, msg, sizeof(msg)),
			 AT_ERR_INVALID);
	assert_string_equal(msg, "'2001:0DB8:0::/32' is listed more than once.");
	/* the same network with another length is another entry */
	assert_int_equal(at_iplist_add(&l, "2001:db8::/33", 13, msg, sizeof(msg)), AT_OK);
	assert_int_equal(at_iplist_add(&l, "10.0.0.0/33", 11, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_string_equal(msg, "'10.0.0.0/33' is not an IP address or CIDR range.");
	assert_int_equal(l.n, 3);
}

static void test_stored_form(void **state)
{
	struct at_iplist l, back;
	struct at_buf b;
	char msg[AT_IPNET_MSG];
	const char *in_text = "10.0.0.0/8,2001:DB8::/32,::ffff:192.0.2.7,::1";

	(void)state;
	assert_int_equal(at_iplist_parse(&l, in_text, strlen(in_text), msg, sizeof(msg)), AT_OK);
	assert_int_equal(l.n, 4);
	at_buf_init(&b, 4096);
	assert_int_equal(at_iplist_format(&l, &b), AT_OK);
	assert_string_equal(b.data, "10.0.0.0/8,2001:db8::/32,192.0.2.7,::1");
	assert_int_equal(at_iplist_parse(&back, b.data, b.len, msg, sizeof(msg)), AT_OK);
	assert_int_equal(back.n, 4);
	assert_true(at_iplist_match(&back, "192.0.2.7"));
	assert_false(at_iplist_match(&back, "192.0.2.8"));
	at_buf_release(&b);

	assert_int_equal(at_iplist_parse(&l, "", 0, msg, sizeof(msg)), AT_OK);
	assert_int_equal(l.n, 0);
	assert_int_equal(at_iplist_parse(&l, "10.0.0.1,", 9, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_int_equal(at_iplist_parse(&l, ",10.0.0.1", 9, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_int_equal(at_iplist_parse(&l, "10.0.0.1,,::1", 13, msg, sizeof(msg)),
			 AT_ERR_INVALID);
	assert_int_equal(at_iplist_parse(&l, "10.0.0.1, ::1", 13, msg, sizeof(msg)),
			 AT_ERR_INVALID);
	assert_string_equal(msg, "' ::1' is not an IP address or CIDR range.");
}

static void test_long_text_is_not_echoed(void **state)
{
	char s[200], msg[AT_IPNET_MSG];
	struct at_ipnet n;

	(void)state;
	memset(s, '1', sizeof(s));
	assert_int_equal(at_ipnet_parse(s, sizeof(s), &n, msg, sizeof(msg)), AT_ERR_INVALID);
	assert_string_equal(msg, "An entry is not an IP address or CIDR range.");
	/* the longest valid text still fits in the message */
	canon_is("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	refused("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/120", 49,
		"'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/120' has host bits set;"
		" the range is 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120'.");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_forms),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_len_bounds_the_read),
		cmocka_unit_test(test_match_edges),
		cmocka_unit_test(test_families_and_mapped),
		cmocka_unit_test(test_bad_clients_match_nothing),
		cmocka_unit_test(test_list_bound_and_duplicates),
		cmocka_unit_test(test_stored_form),
		cmocka_unit_test(test_long_text_is_not_echoed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
