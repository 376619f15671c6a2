/* health.c: GET /settings/api-tokens/health, without authentication. */
#include "handlers.h"
#include "json.h"

enum at_err at_health_get(struct at_ctx *ctx)
{
	struct at_jw w;
	enum at_err rc;

	rc = at_db_ping(ctx->db);
	if (rc) {
		at_problem_detail(&ctx->problem, "The database is unavailable.");
		at_problem_internal(&ctx->problem, "health: %s", at_db_error(ctx->db));
		/* whatever failed, the answer to "is it healthy" is no */
		return AT_ERR_UNAVAILABLE;
	}
	at_reply_begin(ctx, 200, &w);
	at_jw_object(&w, NULL);
	at_jw_str(&w, "status", "ok");
	at_jw_str(&w, "database", "ok");
	at_jw_object_end(&w);
	return at_jw_finish(&w);
}
