/* libFuzzer harness of rql*.c: any query string, against the tokens table;
 * the same bytes also as a bulk action's filter.
 *
 * Besides the sanitizers, it checks what callers rely on: one parameter
 * per '?', SQL made only of characters the table and operators use, an
 * order that is never empty, limits in range, and an error that names a
 * key and says something.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rql.h"

/* Characters the input could carry but no table fragment or operator
 * does: seeing one in the SQL would mean input reached it. */
static const char forbidden[] = "\"`;#\\%*|&$@~^[]{}+:";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The WHERE text and its parameters, as both entries leave them. */
static void check_where(const struct at_rql_query *q)
{
	size_t i, marks = 0;

	for (i = 0; i < q->where.len; i++) {
		unsigned char c = (unsigned char)q->where.data[i];

		if (c == '?')
			marks++;
		if (c >= 0x80 || c < 0x20 || strchr(forbidden, c))
			abort();
	}
	if (marks != q->nparams)
		abort();
	for (i = 0; i < q->nparams; i++)
		if (!q->params[i].text || strlen(q->params[i].text) != q->params[i].len)
			abort();
}

static void check_error(const struct at_rql_query *q)
{
	if (!q->error.key[0] || !q->error.message[0] ||
	    !memchr(q->error.message, '\0', sizeof(q->error.message)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct at_rql_query q;
	char *s;
	size_t i;
	enum at_err rc;

	/* the query string is a C string: it ends at the first NUL */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	at_rql_init(&q);
	rc = at_rql_parse(&q, &at_rql_tokens, s);
	if (rc == AT_OK) {
		check_where(&q);
		if (!q.order.len || q.limit < 0 || q.limit > AT_RQL_LIMIT_MAX || q.offset < 0 ||
		    q.offset > AT_RQL_OFFSET_MAX)
			abort();
		for (i = 0; i < q.order.len; i++)
			if (strchr(forbidden, q.order.data[i]) || (unsigned char)q.order.data[i] >= 0x80)
				abort();
	} else if (rc == AT_ERR_INVALID) {
		check_error(&q);
	} else if (rc != AT_ERR_NOMEM) {
		abort();
	}
	at_rql_release(&q);

	/* a filter always has a WHERE, never an order, and errors keyed filter */
	rc = at_rql_parse_filter(&q, &at_rql_tokens, s);
	if (rc == AT_OK) {
		check_where(&q);
		if (!q.where.len || q.order.len)
			abort();
	} else if (rc == AT_ERR_INVALID) {
		check_error(&q);
		if (strcmp(q.error.key, "filter"))
			abort();
	} else if (rc != AT_ERR_NOMEM) {
		abort();
	}
	at_rql_release(&q);
	free(s);
	return 0;
}
