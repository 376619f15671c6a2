/* health.c: GET /settings/api-tokens/health, without authentication. */
#include "handlers.h"
#include "json.h"

enum at_err at_health_get(struct at_ctx *ctx)
{
	struct json_object *obj;
	enum at_err rc;

	rc = at_db_ping(ctx->db);
	if (rc) {
		at_problem_detail(&ctx->problem, "The database is unavailable.");
		at_problem_internal(&ctx->problem, "health: %s", at_db_error(ctx->db));
		/* whatever failed, the answer to "is it healthy" is no */
		return AT_ERR_UNAVAILABLE;
	}
	obj = json_object_new_object();
	if (!obj)
		return AT_ERR_NOMEM;
	if ((rc = at_json_add_str(obj, "status", "ok")) ||
	    (rc = at_json_add_str(obj, "database", "ok"))) {
		json_object_put(obj);
		return rc;
	}
	return at_reply_json(ctx, 200, obj);
}
