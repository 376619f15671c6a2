/* list.h: the list envelope and paging shared by every collection (SPEC §6). */
#ifndef AT_LIST_H
#define AT_LIST_H

#include <stdbool.h>

#include "json.h"
#include "router.h"

#define AT_LIST_LIMIT_DEFAULT 10
#define AT_LIST_LIMIT_MAX 1000

struct at_paging {
	long long limit;
	long long offset;
};

void at_paging_init(struct at_paging *pg);

/* If key is limit or offset, parse val into pg and return true (with
 * *rc set, AT_ERR_INVALID naming the parameter when it is bad).  A limit
 * above the maximum is capped, as the platform does. */
bool at_paging_param(struct at_ctx *ctx, struct at_paging *pg, const char *key,
		     const char *val, enum at_err *rc);

/* {"$meta": {"pagination": {offset, limit, total}, "omitted": [...]},
 *  "data": []}; *data is the (borrowed) array to fill. */
AT_MUST_CHECK enum at_err at_list_new(const struct at_paging *pg, long long total,
				      const char *const *omitted, size_t nomitted,
				      struct json_object **root, struct json_object **data);

/* Append obj to arr, taking it; frees it on failure. */
AT_MUST_CHECK enum at_err at_json_push(struct json_object *arr, struct json_object *obj);

#endif
