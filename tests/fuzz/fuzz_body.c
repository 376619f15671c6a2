/* libFuzzer harness: a token create body, parsed and checked the way
 * POST …/api-tokens does before it touches the database (JSON limits,
 * duplicate keys, UTF-8, name, description, icon, modules); the same
 * text as a rotate body (overlap); and the same bytes as a bulk action's
 * body (action, filter, ids). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "text.h"
#include "json.h"
#include "token_bulk.h"
#include "tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct at_token_bulk_body bulk;
	struct at_problem problem;
	struct at_jv *doc = NULL;
	struct at_buf body;
	int64_t overlap = 0;
	enum at_err rc;

	if (!ready) {
		if (at_text_init())
			abort();
		ready = true;
	}
	at_problem_clear(&problem);
	/* the body as the front hands it over: bounded, NUL-terminated */
	at_buf_init(&body, 1u << 20);
	if (at_buf_append(&body, data, size))
		goto out;
	rc = at_tokens_check_body(body.data, body.len, &problem);
	/* only these answers are possible without a database */
	if (rc != AT_OK && rc != AT_ERR_INVALID && rc != AT_ERR_TOO_LARGE && rc != AT_ERR_NOMEM)
		abort();
	/* whatever failed must be explainable to the client */
	if (rc == AT_ERR_INVALID && !problem.detail[0] && !problem.nerrors)
		abort();
	/* a rotate body: a refused overlap is named, a taken one is >= 0 */
	at_problem_clear(&problem);
	if (at_token_body_parse(body.data, body.len, &doc, &problem))
		goto out;
	rc = at_token_body_rotate(doc, &overlap, &problem);
	if ((rc != AT_OK && rc != AT_ERR_INVALID) || overlap < 0 ||
	    (rc == AT_ERR_INVALID && (problem.nerrors != 1 ||
				      strcmp(problem.errors[0].field, "overlap"))))
		abort();
	/* a bulk action's body */
	at_problem_clear(&problem);
	at_token_bulk_body_init(&bulk);
	rc = at_token_bulk_body_check(doc, &bulk, &problem);
	if (rc != AT_OK && rc != AT_ERR_INVALID)
		abort();
	if (rc == AT_ERR_INVALID && !problem.nerrors)
		abort();
	at_token_bulk_body_release(&bulk);
out:
	at_jv_free(doc);
	at_buf_release(&body);
	return 0;
}
