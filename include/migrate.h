/* migrate.h: applying the versioned SQL migrations.
 *
 * A migration is a file NNNN-name.sql in one directory; its version is
 * the file name without ".sql".  Files are applied in name order, each
 * once, and recorded in schema_migrations.  Running it again applies
 * only what is new.  MariaDB commits DDL as it goes, so a migration that
 * fails half-way is reported with the server's message and not recorded:
 * fix the cause and run it again.
 */
#ifndef AT_MIGRATE_H
#define AT_MIGRATE_H

#include <stdio.h>

#include "db.h"

/* Apply what is pending from dir, telling report (may be NULL) what it
 * did.  *applied receives the number applied. */
AT_MUST_CHECK enum at_err at_migrate(struct at_db *db, const char *dir, FILE *report,
				     unsigned *applied, char *err, size_t errlen);

#endif
