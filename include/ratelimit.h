/* ratelimit.h: the rates a token's rateLimit may take.
 *
 * nginx enforces the limit (conf/nginx/apitokend-zones.conf and
 * apitokend-ratelimit.conf), with one limit_req zone of fixed rate per
 * tier, so only the tiers are valid values; tests/unit/test_ratelimit.c
 * checks that the nginx files have exactly these.
 */
#ifndef AT_RATELIMIT_H
#define AT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The tiers in requests per minute, ascending. */
extern const int64_t at_rate_limit_tiers[];
extern const size_t at_rate_limit_ntiers;

/* Whether n is a tier. */
bool at_rate_limit_valid(int64_t n);

/* The message of a 400 for any other value, naming the tiers:
 * "rateLimit must be one of 10, 30, … requests per minute." */
const char *at_rate_limit_message(void);

#endif
