/* domain.h: what every call into the domain layer is given.
 *
 * The domain layer (token_store.c, audit_chain.c, …) holds the token and
 * audit rules.  It never sees a request, a response or the router's
 * context: the HTTP handlers and apitokenctl both fill a struct at_dom
 * and call it.  Arrows go one way: front → router → handlers → domain →
 * db, crypto.
 */
#ifndef AT_DOMAIN_H
#define AT_DOMAIN_H

#include "auth.h"
#include "crypto.h"
#include "db.h"
#include "problem.h"
#include "settings.h"

/* Where a change came from, for its audit record; any may be NULL. */
struct at_origin {
	const char *ip;
	const char *user_agent;
	const char *request_id;		/* the traceId */
};

struct at_dom {
	struct at_db *db;
	const struct at_keys *keys;
	const struct at_settings *settings;
	const struct at_caller *actor;	/* who acts: a user or a token */
	struct at_origin origin;
	/* why a call was refused: a detail, errors by field, the internal
	 * cause for the log; the caller renders it */
	struct at_problem *problem;
};

/* rc unchanged; when it is a database failure, the server's message goes
 * to dom->problem's internal cause (the log), never to the client. */
enum at_err at_dom_db_failed(const struct at_dom *dom, enum at_err rc);

#endif
