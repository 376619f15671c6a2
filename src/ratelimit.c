/* ratelimit.c: the tiers of rateLimit. */
#include "ratelimit.h"

/* keep in step with conf/nginx/apitokend-zones.conf (a unit test checks) */
const int64_t at_rate_limit_tiers[] = {
	60, 120, 300, 600, 1200, 3000, 6000, 12000,
};
const size_t at_rate_limit_ntiers = sizeof(at_rate_limit_tiers) / sizeof(at_rate_limit_tiers[0]);

bool at_rate_limit_valid(int64_t n)
{
	size_t i;

	for (i = 0; i < at_rate_limit_ntiers; i++)
		if (at_rate_limit_tiers[i] == n)
			return true;
	return false;
}

const char *at_rate_limit_message(void)
{
	return "rateLimit must be one of 60, 120, 300, 600, 1200, 3000, 6000 or 12000"
	       " requests per minute.";
}
