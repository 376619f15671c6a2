/* problem.h: RFC 9457 problem details (SPEC §5).
 *
 * A handler that fails fills ctx->problem (a detail, field errors) and
 * returns an error code; the router renders the body.  Everything here is
 * bounded: messages that do not fit are cut, errors beyond the maximum
 * are dropped (the first ones are the useful ones).
 */
#ifndef AT_PROBLEM_H
#define AT_PROBLEM_H

#include <stddef.h>

#include "err.h"

#define AT_PROBLEM_MAX_ERRORS 16

struct at_problem_error {
	char field[64];
	char message[256];
};

struct at_problem {
	char detail[512];		/* "" for the status's default */
	struct at_problem_error errors[AT_PROBLEM_MAX_ERRORS];
	size_t nerrors;
	char internal[256];		/* cause for the log only, never sent */
	/* one extension member with an integer value (RFC 9457 §3.2), as a
	 * bulk action's 409 gives "matched"; "" for none */
	char ext_key[32];
	long long ext_value;
};

void at_problem_clear(struct at_problem *p);
void at_problem_detail(struct at_problem *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A validation error about one field: rendered as errors.<field>[]. */
void at_problem_field(struct at_problem *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void at_problem_internal(struct at_problem *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The extension member key (a fixed name, never input) with value v. */
void at_problem_ext_int(struct at_problem *p, const char *key, long long v);

/* Title clients match on: the reason phrase, but "Authentication Failed"
 * for 401. */
const char *at_problem_title(int status);

/* The detail a body for status says: p's, or the status's default. */
const char *at_problem_detail_text(const struct at_problem *p, int status);

struct at_response;
/* Replace resp's body with the problem+json for status. */
AT_MUST_CHECK enum at_err at_problem_render(struct at_response *resp, int status,
					    const struct at_problem *p, const char *trace_id);

#endif
