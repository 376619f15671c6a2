/* db_stmt.h: the statement table (db_stmt.c), for db.c alone. */
#ifndef AT_DB_STMT_H
#define AT_DB_STMT_H

#include "db.h"

/* Every statement the programs run. */
extern const char *const at_db_stmt_sql[AT_STMT__MAX];
/* Statements with a WHERE and an ORDER BY to fill in, each %s in order
 * (WHERE, then ORDER BY): text the RQL module built from its field
 * tables, never from request text. */
extern const char *const at_db_tpl_sql[AT_TPL__MAX];

#endif
