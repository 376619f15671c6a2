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

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "crypto.h"
#include "db.h"
#include "db_columns.h"
#include "domain.h"

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
	const char *object_type;	/* "ApiToken", or NULL */
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

/* Actor and origin of r: who acts in d and where the change came from. */
void at_audit_actor_dom(struct at_audit_record *r, const struct at_dom *d);

/* What a record's hash covers: every column before the hashes, in
 * column order (AT_AUDIT_COLUMNS), as text: NULL for SQL NULL, the
 * timestamp in its ISO form, so that the database's text for a DATETIME
 * does not matter. */
struct at_audit_canon {
	const char *f[AC_DOCUMENTS + 1];
};

/* The canonical content: each field as a 4-byte big-endian length and
 * its bytes, NULL as the length 0xFFFFFFFF.  Appended to b. */
AT_MUST_CHECK enum at_err at_audit_canon_text(struct at_buf *b, const struct at_audit_canon *c);
/* The keyed hash of c chained to prev (AT_HASH_LEN bytes each). */
AT_MUST_CHECK enum at_err at_audit_canon_hash(const struct at_keys *keys,
					      const struct at_audit_canon *c,
					      const unsigned char *prev, unsigned char *out);

/* ---- records from outside: extensions (SPEC §9) ----
 * A Vendor or Operations caller adds a record about an object of its own
 * account, under an event key extensions.<name>.<event>. */
struct at_audit_post {
	const char *event;
	const char *summary;
	const char *details;		/* or NULL */
	const char *object_id;
	const char *object_type;	/* or NULL */
	const char *object_name;	/* or NULL */
	const char *documents;		/* JSON object text, or NULL */
};

/* extensions.<name>.<event…>: lower-case words of [a-z0-9-_], at most
 * 255 characters. */
bool at_audit_event_key_valid(const char *s);
/* AT_ERR_FORBIDDEN (the detail in d->problem) unless d's actor may add
 * records. */
AT_MUST_CHECK enum at_err at_audit_may_post(const struct at_dom *d);
/* Does p follow the rules?  A field error in d->problem for each rule it
 * breaks.  Fields left NULL are not checked (missing ones are the
 * parser's to name), so a parser may check as it goes. */
bool at_audit_post_valid(const struct at_dom *d, const struct at_audit_post *p);
/* The record of p: in the chain of the actor's own account (an extension
 * speaks only of its own objects), by d's actor, from d's origin. */
void at_audit_post_record(const struct at_dom *d, const struct at_audit_post *p,
			  struct at_audit_record *r);
/* Check p against the rules (a field error in d->problem for each
 * broken one; AT_ERR_INVALID) and append it to the actor's account's
 * chain in a transaction of its own; id receives the record's id. */
AT_MUST_CHECK enum at_err at_audit_post(const struct at_dom *d, const struct at_audit_post *p,
					char *id);

/* Check every chain: sequence, links and hashes.  Prints what it checked
 * to report; on the first broken record of a chain names it in bad (the
 * record id, or the account id when the head is wrong) and why.
 * *broken counts the chains that failed. */
AT_MUST_CHECK enum at_err at_audit_verify(struct at_db *db, const struct at_keys *keys,
					  FILE *report, unsigned *broken);

#endif
