/* audit.h: the audit trail (SPEC §9).
 *
 * Records are written in the transaction of the change they describe, and
 * chained per account: each carries a keyed BLAKE2b hash over its
 * canonical content and the previous record's hash in the same account.
 * Writers lock the account's chain head first, so concurrent changes in
 * one account queue up instead of forking the chain.  Nothing here
 * updates or deletes a record; the application's database user has no
 * right to (docs/database.md).
 */
#ifndef AT_AUDIT_H
#define AT_AUDIT_H

#include <stdio.h>

#include "crypto.h"
#include "db.h"

#define AT_AUDIT_ID_LEN 23	/* AUD-dddd-dddd-dddd-dddd */
#define AT_AUDIT_SUMMARY_CHARS 1000
#define AT_AUDIT_DETAILS_CHARS 10000
#define AT_AUDIT_USER_AGENT_CHARS 1024

struct at_audit_record {
	const char *event;		/* platform.accounts.api-token.created, … */
	const char *summary;		/* one line a person reads */
	const char *details;		/* may hold {{path}} placeholders, or NULL */
	const char *account_id;		/* the chain: the object's account */
	const char *object_id;
	const char *object_name;	/* or NULL */
	const char *object_type;	/* "ApiToken" */
	long long object_revision;	/* < 0 for none */
	const char *actor_id;
	const char *actor_name;
	const char *actor_account_id;
	const char *actor_account_name;
	const char *ip;			/* or NULL */
	const char *user_agent;		/* or NULL; cut to 1024 characters */
	const char *request_id;		/* the traceId, or NULL */
	const char *documents;		/* JSON object text, or NULL */
};

/* Append r to its account's chain inside the caller's transaction; id
 * receives the new record's id (AT_AUDIT_ID_LEN + 1 bytes). */
AT_MUST_CHECK enum at_err at_audit_append(struct at_db *db, const struct at_keys *keys,
					  const struct at_audit_record *r, char *id);

struct at_ctx;
/* Actor and request of r from the request being served. */
void at_audit_actor(struct at_audit_record *r, const struct at_ctx *ctx);

/* Check every chain: sequence, links and hashes.  Prints what it checked
 * to report; on the first broken record of a chain names it in bad (the
 * record id, or the account id when the head is wrong) and why.
 * *broken counts the chains that failed. */
AT_MUST_CHECK enum at_err at_audit_verify(struct at_db *db, const struct at_keys *keys,
					  FILE *report, unsigned *broken);

#endif
