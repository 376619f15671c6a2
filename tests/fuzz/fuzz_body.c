/* libFuzzer harness: a token create body, parsed and checked the way
 * POST …/api-tokens does before it touches the database (JSON limits,
 * duplicate keys, UTF-8, name, description, icon, modules). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "text.h"
#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct at_settings settings;
	static bool ready;
	struct at_request req;
	struct at_response resp;
	struct at_ctx ctx;
	enum at_err rc;

	if (!ready) {
		at_settings_init(&settings);
		if (at_text_init())
			abort();
		ready = true;
	}
	memset(&req, 0, sizeof(req));
	memset(&ctx, 0, sizeof(ctx));
	at_buf_init(&req.body, 1u << 20);
	at_response_init(&resp);
	req.query = "";
	req.content_type = "application/json";
	if (at_buf_append(&req.body, data, size))
		goto out;
	ctx.settings = &settings;
	ctx.req = &req;
	ctx.resp = &resp;
	rc = at_tokens_check_body(&ctx);
	/* only these answers are possible without a database */
	if (rc != AT_OK && rc != AT_ERR_INVALID && rc != AT_ERR_TOO_LARGE && rc != AT_ERR_NOMEM)
		abort();
	/* whatever failed must be explainable to the client */
	if (rc == AT_ERR_INVALID && !ctx.problem.detail[0] && !ctx.problem.nerrors)
		abort();
out:
	at_buf_release(&req.body);
	at_response_release(&resp);
	return 0;
}
