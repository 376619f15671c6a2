/* Unit tests of buf.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_grows_and_terminates(void **state)
{
	struct at_buf b;
	size_t i;

	(void)state;
	at_buf_init(&b, 1 << 20);
	for (i = 0; i < 1000; i++)
		assert_int_equal(at_buf_append(&b, "abc", 3), AT_OK);
	assert_int_equal(b.len, 3000);
	assert_int_equal(b.data[3000], '\0');
	assert_memory_equal(b.data + 2997, "abc", 3);
	at_buf_release(&b);
	assert_null(b.data);
}

static void test_max_is_enforced(void **state)
{
	struct at_buf b;

	(void)state;
	at_buf_init(&b, 10);
	assert_int_equal(at_buf_puts(&b, "0123456789"), AT_OK);
	assert_int_equal(at_buf_append(&b, "x", 1), AT_ERR_TOO_LARGE);
	assert_int_equal(b.len, 10);
	assert_string_equal(b.data, "0123456789");
	assert_int_equal(at_buf_printf(&b, "%d", 1), AT_ERR_TOO_LARGE);
	at_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(at_buf_printf(&b, "%s-%d", "ab", 42), AT_OK);
	assert_string_equal(b.data, "ab-42");
	/* a size that would overflow len + n */
	assert_int_equal(at_buf_append(&b, "", SIZE_MAX), AT_ERR_TOO_LARGE);
	at_buf_release(&b);
}

static void test_secret_reset_zeroes(void **state)
{
	struct at_buf b;
	char *p;

	(void)state;
	at_buf_init(&b, 100);
	assert_int_equal(at_buf_puts(&b, "secret"), AT_OK);
	b.secret = true;
	p = b.data;
	at_buf_reset(&b);
	/* same memory, wiped, and the flag goes with the contents */
	assert_ptr_equal(p, b.data);
	assert_memory_equal(p, "\0\0\0\0\0\0", 6);
	assert_false(b.secret);
	at_buf_release(&b);
}

static void test_strlcpy(void **state)
{
	char d[4];

	(void)state;
	assert_true(at_strlcpy(d, "abc", sizeof(d)));
	assert_string_equal(d, "abc");
	assert_false(at_strlcpy(d, "abcd", sizeof(d)));
	assert_string_equal(d, "abc");
	assert_false(at_strlcpy(d, "x", 0));
}

static void test_appendf_fills_a_fixed_buffer(void **state)
{
	char b[12];
	size_t len = 0;

	(void)state;
	assert_true(at_appendf(b, sizeof(b), &len, "%s=%d", "a", 1));
	assert_true(at_appendf(b, sizeof(b), &len, ";%s", "bcd"));
	assert_int_equal(len, 7);
	assert_string_equal(b, "a=1;bcd");
	/* 7 + 5 would leave no room for the NUL: refused, len kept */
	assert_false(at_appendf(b, sizeof(b), &len, "%s", "efghi"));
	assert_int_equal(len, 7);
	assert_true(at_appendf(b, sizeof(b), &len, "%s", "efgh"));
	assert_int_equal(len, 11);
	assert_string_equal(b, "a=1;bcdefgh");
	/* full: nothing more fits, but nothing does */
	assert_false(at_appendf(b, sizeof(b), &len, "x"));
	assert_true(at_appendf(b, sizeof(b), &len, "%s", ""));
	assert_int_equal(len, 11);
	len = sizeof(b);
	assert_false(at_appendf(b, sizeof(b), &len, "x"));
	assert_int_equal(len, sizeof(b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_grows_and_terminates),
		cmocka_unit_test(test_max_is_enforced),
		cmocka_unit_test(test_secret_reset_zeroes),
		cmocka_unit_test(test_strlcpy),
		cmocka_unit_test(test_appendf_fills_a_fixed_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
