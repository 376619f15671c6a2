/* list.c: list envelope and paging. */
#include <stdlib.h>
#include <string.h>

#include "list.h"

void at_paging_init(struct at_paging *pg)
{
	pg->limit = AT_LIST_LIMIT_DEFAULT;
	pg->offset = 0;
}

bool at_paging_param(struct at_ctx *ctx, struct at_paging *pg, const char *key,
		     const char *val, enum at_err *rc)
{
	bool is_limit = !strcmp(key, "limit");
	long long n;
	char *end;

	if (!is_limit && strcmp(key, "offset"))
		return false;
	*rc = AT_OK;
	n = strtoll(val, &end, 10);
	if (!*val || *end || *val == '-' || *val == '+' || n < 0 || n > 1000000000LL) {
		at_problem_field(&ctx->problem, key, "The %s must be a whole number from 0 to "
				 "1000000000.", key);
		*rc = AT_ERR_INVALID;
		return true;
	}
	if (is_limit)
		pg->limit = n > AT_LIST_LIMIT_MAX ? AT_LIST_LIMIT_MAX : n;
	else
		pg->offset = n;
	return true;
}

enum at_err at_json_push(struct json_object *arr, struct json_object *obj)
{
	if (!obj)
		return AT_ERR_NOMEM;
	if (json_object_array_add(arr, obj)) {
		json_object_put(obj);
		return AT_ERR_NOMEM;
	}
	return AT_OK;
}

enum at_err at_list_new(const struct at_paging *pg, long long total, const char *const *omitted,
			size_t nomitted, struct json_object **root, struct json_object **data)
{
	struct json_object *meta, *pag, *om;
	enum at_err rc;
	size_t i;

	*root = json_object_new_object();
	if (!*root)
		return AT_ERR_NOMEM;
	meta = json_object_new_object();
	pag = json_object_new_object();
	om = json_object_new_array();
	*data = json_object_new_array();
	if ((rc = at_json_add(*root, "$meta", meta))) {
		json_object_put(pag);
		json_object_put(om);
		json_object_put(*data);
		goto fail;
	}
	if ((rc = at_json_add(meta, "pagination", pag))) {
		json_object_put(om);
		json_object_put(*data);
		goto fail;
	}
	if ((rc = at_json_add(meta, "omitted", om))) {
		json_object_put(*data);
		goto fail;
	}
	if ((rc = at_json_add(*root, "data", *data)) ||
	    (rc = at_json_add_int(pag, "offset", pg->offset)) ||
	    (rc = at_json_add_int(pag, "limit", pg->limit)) ||
	    (rc = at_json_add_int(pag, "total", total)))
		goto fail;
	for (i = 0; i < nomitted; i++)
		if ((rc = at_json_push(om, json_object_new_string(omitted[i]))))
			goto fail;
	return AT_OK;
fail:
	json_object_put(*root);
	*root = *data = NULL;
	return rc;
}
