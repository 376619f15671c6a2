/* token_store.c: the token rules over the database (SPEC §2-4, §9).
 *
 * Changes lock the token row first, then check visibility, state and the
 * expected revision, and only then write; each writes its audit record
 * in the same transaction.  The state changes and the restriction rules
 * are in token_state.c, rotation in token_rotate.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_columns.h"
#include "isotime.h"
#include "text.h"
#include "token_store.h"
#include "token_store_int.h"

#define ID_TRIES 8

void at_token_release(struct at_token *t)
{
	free(t->modules);
	t->modules = NULL;
	t->nmodules = 0;
}

bool at_module_set_has(const struct at_module_set *s, const char *id)
{
	return at_module_listed(s->ids, s->n, id);
}

/* ---- reading ------------------------------------------------------------ */

static void copy_col(const struct at_db_rows *rows, unsigned col, char *out, size_t n)
{
	const char *v = at_db_rows_str(rows, col, NULL);

	at_strlcpy(out, v ? v : "", n);
}

void at_token_from_row(const struct at_db_rows *rows, struct at_token *t)
{
	const char *v;
	unsigned col;
	size_t i;

	copy_col(rows, TC_ID, t->id, sizeof(t->id));
	copy_col(rows, TC_NAME, t->name, sizeof(t->name));
	v = at_db_rows_str(rows, TC_DESCRIPTION, NULL);
	t->has_description = v != NULL;
	at_strlcpy(t->description, v ? v : "", sizeof(t->description));
	copy_col(rows, TC_STATUS, t->status, sizeof(t->status));
	v = at_db_rows_str(rows, TC_HAS_ICON, NULL);
	t->has_icon = v && strcmp(v, "0");
	copy_col(rows, TC_LAST_ACCESS, t->last_access, sizeof(t->last_access));
	t->revision = at_db_rows_int(rows, TC_REVISION);
	copy_col(rows, TC_ACCOUNT_ID, t->account.id, sizeof(t->account.id));
	copy_col(rows, TC_ACCOUNT_NAME, t->account.name, sizeof(t->account.name));
	copy_col(rows, TC_ACCOUNT_TYPE, t->account.type, sizeof(t->account.type));
	copy_col(rows, TC_ACCOUNT_STATUS, t->account.status, sizeof(t->account.status));
	for (i = 0; i < AT_TOKEN_EVENTS; i++) {
		struct at_token_stamp *e = &t->events[i];

		/* rotation's columns come after the others' */
		col = i == AT_TOKEN_ROTATED ? TC_ROTATED_AT : TC_EVENTS + 3 * (unsigned)i;
		e->set = at_db_rows_str(rows, col, NULL) != NULL;
		copy_col(rows, col, e->at, sizeof(e->at));
		copy_col(rows, col + 1, e->by_id, sizeof(e->by_id));
		copy_col(rows, col + 2, e->by_name, sizeof(e->by_name));
	}
	copy_col(rows, TC_PREV_VALID_UNTIL, t->prev_valid_until, sizeof(t->prev_valid_until));
	t->modules = NULL;
	t->nmodules = 0;
	/* restrictions */
	copy_col(rows, TC_EXPIRES_AT, t->expires_at, sizeof(t->expires_at));
	copy_col(rows, TC_NOT_BEFORE, t->not_before, sizeof(t->not_before));
	t->expiry_passed = t->expires_at[0] && at_token_time_ms(t->expires_at) <= at_iso_now_ms();
	copy_col(rows, TC_ALLOWED_IPS, t->allowed_ips, sizeof(t->allowed_ips));
	t->rate_limit = at_db_rows_int(rows, TC_RATE_LIMIT);
	t->nusage = 0;
}

int64_t at_token_time_ms(const char *dbtime)
{
	int64_t ms;

	if (!*dbtime || at_datetime_parse(dbtime, strlen(dbtime), &ms))
		return 0;
	return ms ? ms : 1;
}

enum at_err at_token_read_modules(const struct at_dom *dom, struct at_token *t)
{
	struct at_db_param p = AT_DB_P_STR(t->id);
	struct at_token_module *tmp;
	struct at_db_rows rows;
	size_t cap = 0;
	enum at_err rc;
	bool more;

	at_token_release(t);
	if ((rc = at_db_query(dom->db, AT_STMT_TOKEN_MODULES, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		if (t->nmodules == cap) {
			cap = cap ? 2 * cap : 8;
			tmp = realloc(t->modules, cap * sizeof(*tmp));
			if (!tmp) {
				rc = AT_ERR_NOMEM;
				goto out;
			}
			t->modules = tmp;
		}
		copy_col(&rows, 0, t->modules[t->nmodules].id, AT_MODULE_ID_MAX);
		copy_col(&rows, 1, t->modules[t->nmodules].name, AT_NAME_MAX);
		t->nmodules++;
	}
out:
	at_db_rows_release(&rows);
	if (rc)
		at_token_release(t);
	return at_dom_db_failed(dom, rc);
}

/* Client and Vendor callers see their own account's tokens, and no
 * Deleted ones; Operations sees everything. */
static bool visible(const struct at_dom *dom, const struct at_token *t)
{
	if (at_caller_is_ops(dom->actor))
		return true;
	return !strcmp(t->account.id, dom->actor->account_id) && strcmp(t->status, "Deleted");
}

/* The token's row, visible or not; AT_ERR_NOT_FOUND when there is none. */
enum at_err at_token_read_any(const struct at_dom *dom, const char *id, struct at_token *t)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	bool found = false;
	enum at_err rc;

	if ((rc = at_db_query(dom->db, AT_STMT_TOKEN_GET, &p, 1, &rows)))
		return rc;
	if (!(rc = at_db_rows_next(&rows, &found))) {
		if (found)
			at_token_from_row(&rows, t);
		else
			rc = AT_ERR_NOT_FOUND;
	}
	at_db_rows_release(&rows);
	return rc;
}

enum at_err at_token_read(const struct at_dom *dom, const char *id, unsigned what,
			  struct at_token *t)
{
	enum at_err rc;

	t->modules = NULL;
	t->nmodules = 0;
	if ((rc = at_token_read_any(dom, id, t)))
		return at_dom_db_failed(dom, rc);
	if (!visible(dom, t))
		return AT_ERR_NOT_FOUND;
	if ((what & AT_TOKEN_READ_USAGE) && (rc = at_token_read_usage(dom, t)))
		return rc;
	if (what & AT_TOKEN_READ_MODULES)
		return at_token_read_modules(dom, t);
	return AT_OK;
}

enum at_err at_token_visible(const struct at_dom *dom, const char *id, char *account_id)
{
	struct at_token *t;
	enum at_err rc;

	/* large: on the heap */
	t = malloc(sizeof(*t));
	if (!t)
		return AT_ERR_NOMEM;
	rc = at_token_read(dom, id, 0, t);
	if (!rc && account_id)
		at_strlcpy(account_id, t->account.id, AT_ID_MAX);
	at_token_release(t);
	free(t);
	return rc;
}

/* ---- creating ----------------------------------------------------------- */

enum at_err at_token_insert(const struct at_dom *dom, const struct at_token_new *t, char *id,
			    char *value)
{
	unsigned char hash[AT_HASH_LEN], sealed[AT_SEALED_LEN];
	bool seal = dom->settings->reveal == AT_REVEAL_ALLOW;
	int64_t expires_ms = t->expires_ms;
	enum at_err rc = AT_ERR_DUPLICATE;
	unsigned key_id = 0, tries;
	long long max = 0;
	bool ok;
	size_t i;

	/* the account's maximum lifetime: the default expiry, and a bound */
	if ((rc = at_token_account_lifetime(dom, t->account_id, &max)))
		return rc;
	if (max && !expires_ms)
		expires_ms = at_iso_now_ms() + max * 1000;
	ok = at_token_within_lifetime(dom, max, expires_ms, true);
	if (!at_token_valid_window(dom, t->not_before_ms, expires_ms) || !ok)
		return AT_ERR_INVALID;
	rc = AT_ERR_DUPLICATE;
	/* a failed INSERT does not end the transaction: try another id */
	for (tries = 0; tries < ID_TRIES && rc == AT_ERR_DUPLICATE; tries++) {
		at_id_make(id, AT_TOKEN_ID_LEN + 1, "TKN", 2);
		at_token_value_make(id, value);
		at_token_hash(dom->keys, value, AT_TOKEN_VALUE_LEN, hash);
		if (seal && (rc = at_token_seal(dom->keys, id, value, sealed, &key_id)))
			goto out;
		struct at_db_param p[] = {
			AT_DB_P_STR(id), AT_DB_P_STR(t->account_id), AT_DB_P_STR(t->name),
			AT_DB_P_OPT(t->description), AT_DB_P_BLOB(hash, sizeof(hash)),
			seal ? AT_DB_P_BLOB(sealed, sizeof(sealed)) : AT_DB_P_NULL(),
			seal ? AT_DB_P_INT(key_id) : AT_DB_P_NULL(),
			AT_DB_P_STR(dom->actor->id), AT_DB_P_STR(dom->actor->name),
		};
		rc = at_db_exec(dom->db, AT_STMT_TOKEN_INSERT, p, sizeof(p) / sizeof(p[0]), NULL);
	}
	for (i = 0; !rc && i < t->nmodules; i++) {
		struct at_db_param p[] = { AT_DB_P_STR(id), AT_DB_P_STR(t->modules[i]) };

		rc = at_db_exec(dom->db, AT_STMT_TOKEN_MODULE_ADD, p, 2, NULL);
	}
	if (!rc) {
		struct at_db_param p = AT_DB_P_STR(t->account_id);

		rc = at_db_exec(dom->db, AT_STMT_TOKEN_COUNT_BUMP, &p, 1, NULL);
	}
	if (!rc && (expires_ms || t->not_before_ms || (t->allowed_ips && *t->allowed_ips) ||
		    t->rate_limit))
		rc = at_token_write_restrictions(dom, id, expires_ms, t->not_before_ms, t->allowed_ips,
					t->rate_limit);
	if (!rc)
		rc = at_token_audit(dom, id, AT_TEV_CREATED, NULL);
out:
	at_wipe(hash, sizeof(hash));
	at_wipe(sealed, sizeof(sealed));
	if (rc)
		at_wipe(value, AT_TOKEN_VALUE_LEN + 1);
	return rc;
}

enum at_err at_token_create_account(const struct at_dom *dom, const char *account_id,
				    const char **out)
{
	struct at_db_param p;
	struct at_db_rows rows;
	bool found = false;
	enum at_err rc;

	*out = dom->actor->account_id;
	if (!account_id || !strcmp(account_id, dom->actor->account_id))
		return AT_OK;
	if (!at_caller_is_ops(dom->actor)) {
		at_problem_detail(dom->problem, "Tokens can only be created in the caller's own "
				  "account.");
		return AT_ERR_FORBIDDEN;
	}
	p = AT_DB_P_STR(account_id);
	if ((rc = at_db_query(dom->db, AT_STMT_ACCOUNT_GET, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	rc = at_db_rows_next(&rows, &found);
	at_db_rows_release(&rows);
	if (rc)
		return at_dom_db_failed(dom, rc);
	if (!found) {
		at_problem_field(dom->problem, "account.id", "Account %s does not exist.",
				 account_id);
		return AT_ERR_INVALID;
	}
	*out = account_id;
	return AT_OK;
}

/* Each wanted module must be enabled for the account, and a module the
 * token does not have yet must be held by the actor: nobody hands out
 * more than they have. */
static enum at_err check_modules_allowed(const struct at_dom *dom, const char *account_id,
					 const char *const *want, size_t nwant,
					 const struct at_module_set *had)
{
	struct at_db_param p = AT_DB_P_STR(account_id);
	struct at_module_set enabled = { .n = 0 };
	struct at_db_rows rows;
	const char *id;
	enum at_err rc;
	bool more, ok = true;
	size_t i;

	if (!nwant)
		return AT_OK;
	if ((rc = at_db_query(dom->db, AT_STMT_ACCOUNT_MODULES, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		id = at_db_rows_str(&rows, 0, NULL);
		if (id && enabled.n < AT_TOKEN_MODULES_MAX)
			at_strlcpy(enabled.ids[enabled.n++], id, AT_MODULE_ID_MAX);
	}
	at_db_rows_release(&rows);
	if (rc)
		return at_dom_db_failed(dom, rc);
	for (i = 0; i < nwant; i++) {
		if (!at_module_set_has(&enabled, want[i])) {
			at_problem_field(dom->problem, "modules",
					 "%s is not enabled for account %s.", want[i], account_id);
			ok = false;
		} else if (!at_module_set_has(had, want[i]) &&
			   !at_caller_holds(dom->actor, want[i])) {
			at_problem_field(dom->problem, "modules",
					 "%s cannot be granted by a caller that does not hold it.",
					 want[i]);
			ok = false;
		}
	}
	return ok ? AT_OK : AT_ERR_INVALID;
}

struct create_job {
	const struct at_dom *dom;
	const struct at_token_new *t;
	char *id, *value;
};

static enum at_err create_tx(void *arg)
{
	struct create_job *j = arg;

	return at_token_insert(j->dom, j->t, j->id, j->value);
}

enum at_err at_token_create(const struct at_dom *dom, const struct at_token_new *t, char *id,
			    char *value)
{
	static const struct at_module_set none = { .n = 0 };
	struct create_job j = { dom, t, id, value };
	enum at_err rc;

	if ((rc = check_modules_allowed(dom, t->account_id, t->modules, t->nmodules, &none)))
		return rc;
	return at_dom_db_failed(dom, at_db_transact(dom->db, create_tx, &j));
}

/* ---- changing ------------------------------------------------------------ */

static enum at_err check_revision(const struct at_dom *dom, const struct at_rev_cond *expect,
				  long long revision)
{
	size_t i;

	if (!expect || expect->any)
		return AT_OK;
	for (i = 0; i < expect->n; i++)
		if (expect->rev[i] == revision)
			return AT_OK;
	at_problem_detail(dom->problem, "The token is at revision %lld, not the one in If-Match.",
			  revision);
	return AT_ERR_PRECONDITION;
}

/* Lock the token and read it with its modules; visibility, Deleted and
 * the expected revision are checked here for every change. */
enum at_err at_token_lock(const struct at_dom *dom, const char *id,
			  const struct at_rev_cond *expect, struct at_token *t)
{
	struct at_db_param p = AT_DB_P_STR(id);
	enum at_err rc;

	at_problem_clear(dom->problem);
	t->modules = NULL;
	t->nmodules = 0;
	if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_LOCK, &p, 1, NULL)))
		return at_dom_db_failed(dom, rc);
	if ((rc = at_token_read(dom, id, AT_TOKEN_READ_MODULES, t)))
		return rc;
	if (!strcmp(t->status, "Deleted")) {
		at_problem_detail(dom->problem, "The token is deleted; deletion is final.");
		return AT_ERR_CONFLICT;
	}
	return check_revision(dom, expect, t->revision);
}

/* tx in a transaction of its own, or (own_tx false) in the caller's. */
enum at_err at_token_job_run(const struct at_dom *dom, const char *id,
			     const struct at_rev_cond *expect, struct at_token_job *init,
			     enum at_err (*tx)(void *arg), bool own_tx)
{
	struct at_token_job *j;
	enum at_err rc;

	j = malloc(sizeof(*j));
	if (!j)
		return AT_ERR_NOMEM;
	*j = *init;
	j->dom = dom;
	j->id = id;
	j->expect = expect;
	rc = own_tx ? at_db_transact(dom->db, tx, j) : tx(j);
	at_token_release(&j->t);
	free(j);
	return at_dom_db_failed(dom, rc);
}

enum at_err at_token_change_run(const struct at_dom *dom, const char *id,
				const struct at_rev_cond *expect, struct at_token_job *init,
				enum at_err (*tx)(void *arg))
{
	return at_token_job_run(dom, id, expect, init, tx, true);
}

static bool same_modules(const struct at_token *t, const struct at_module_set *want)
{
	size_t i, k;

	if (t->nmodules != want->n)
		return false;
	for (i = 0; i < want->n; i++) {
		for (k = 0; k < t->nmodules && strcmp(t->modules[k].id, want->ids[i]); k++)
			;
		if (k == t->nmodules)
			return false;
	}
	return true;
}

/* The document of the token before a change, and the change's record
 * once it is written. */
enum at_err at_token_audit_change(const struct at_dom *dom, const char *id,
				  enum at_token_audit_event ev, struct at_buf *before,
				  const char *const *changes, size_t nchanges)
{
	struct at_token_note note = { before, changes, nchanges, NULL, NULL };
	enum at_err rc;

	rc = at_token_audit(dom, id, ev, &note);
	at_buf_release(before);
	return rc;
}

static enum at_err update_tx(void *arg)
{
	struct at_token_job *j = arg;
	const struct at_dom *dom = j->dom;
	const struct at_token_body *b = j->body;
	struct at_token *t = &j->t, scratch;
	struct at_module_set had = { .n = 0 };
	const char *name, *desc, *mods[AT_TOKEN_MODULES_MAX], *changes[8];
	bool change = false, mods_change = false, has_icon, icon_change, desc_change;
	bool exp_change, nb_change, ips_change, rl_change, ok;
	int64_t exp, nb, old_exp, old_nb;
	const char *ips;
	long long rl, max = 0;
	struct at_buf before;
	size_t i, nchanges = 0;
	enum at_err rc;

	at_token_release(t);
	if ((rc = at_token_lock(dom, j->id, j->expect, t)))
		return rc;
	if (!j->valid)
		return AT_ERR_INVALID;
	/* delta: only the fields present change */
	name = b->has_name ? b->name : t->name;
	change |= strcmp(name, t->name) != 0;
	desc = t->has_description ? t->description : NULL;
	if (b->has_description)
		desc = b->description;
	desc_change = (desc == NULL) != !t->has_description || (desc && strcmp(desc, t->description));
	change |= desc_change;
	has_icon = b->has_icon ? t->has_icon && b->keep_icon : t->has_icon;
	icon_change = has_icon != t->has_icon;
	if (b->has_modules) {
		for (i = 0; i < t->nmodules && had.n < AT_TOKEN_MODULES_MAX; i++)
			at_strlcpy(had.ids[had.n++], t->modules[i].id, AT_MODULE_ID_MAX);
		for (i = 0; i < b->modules.n; i++)
			mods[i] = b->modules.ids[i];
		if ((rc = check_modules_allowed(dom, t->account.id, mods, b->modules.n, &had)))
			return rc;
		mods_change = !same_modules(t, &b->modules);
		change |= mods_change;
	}
	/* restrictions: the window as it will be, within the account's
	 * maximum when expiresAt is what changes */
	old_exp = at_token_time_ms(t->expires_at);
	old_nb = at_token_time_ms(t->not_before);
	exp = b->has_expires ? b->expires_ms : old_exp;
	nb = b->has_not_before ? b->not_before_ms : old_nb;
	ips = b->has_allowed_ips ? b->allowed_ips : t->allowed_ips;
	rl = b->has_rate_limit ? b->rate_limit : t->rate_limit;
	exp_change = exp != old_exp;
	nb_change = nb != old_nb;
	ips_change = strcmp(ips, t->allowed_ips) != 0;
	rl_change = rl != t->rate_limit;
	if (b->has_expires && (rc = at_token_account_lifetime(dom, t->account.id, &max)))
		return rc;
	ok = at_token_within_lifetime(dom, max, exp, b->has_expires && exp_change);
	if (!at_token_valid_window(dom, nb, exp) || !ok)
		return AT_ERR_INVALID;
	change |= exp_change || nb_change || ips_change || rl_change;
	if (!change && !icon_change)
		return AT_OK;	/* nothing to record: the revision stays */
	if (strcmp(name, t->name))
		changes[nchanges++] = "name";
	if (desc_change)
		changes[nchanges++] = "description";
	if (icon_change)
		changes[nchanges++] = "icon";
	if (mods_change)
		changes[nchanges++] = "modules";
	if (exp_change)
		changes[nchanges++] = "expiresAt";
	if (nb_change)
		changes[nchanges++] = "notBefore";
	if (ips_change)
		changes[nchanges++] = "allowedIps";
	if (rl_change)
		changes[nchanges++] = "rateLimit";
	if ((rc = at_token_document(dom, j->id, &before, &scratch)))
		return at_dom_db_failed(dom, rc);
	/* one statement for every field, so a change counts once */
	{
		struct at_db_param p[] = {
			AT_DB_P_STR(name), AT_DB_P_OPT(desc), AT_DB_P_INT(has_icon),
			AT_DB_P_STR(dom->actor->id), AT_DB_P_STR(dom->actor->name),
			AT_DB_P_STR(j->id),
		};

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_UPDATE, p, 6, NULL)))
			goto out;
	}
	if (icon_change) {
		struct at_db_param p = AT_DB_P_STR(j->id);

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_ICON_CLEAR, &p, 1, NULL)))
			goto out;
	}
	if ((exp_change || nb_change || ips_change || rl_change) &&
	    (rc = at_token_write_restrictions(dom, j->id, exp, nb, ips, rl)))
		goto out;
	if (mods_change) {
		struct at_db_param p = AT_DB_P_STR(j->id);

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_MODULES_CLEAR, &p, 1, NULL)))
			goto out;
		for (i = 0; i < b->modules.n; i++) {
			struct at_db_param m[] = { AT_DB_P_STR(j->id),
						   AT_DB_P_STR(b->modules.ids[i]) };

			if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_MODULE_ADD, m, 2, NULL)))
				goto out;
		}
	}
	return at_dom_db_failed(dom, at_token_audit_change(dom, j->id, AT_TEV_UPDATED, &before, changes,
						  nchanges));
out:
	at_buf_release(&before);
	return at_dom_db_failed(dom, rc);
}

enum at_err at_token_update(const struct at_dom *dom, const char *id,
			    const struct at_token_body *body, bool valid,
			    const struct at_rev_cond *expect)
{
	struct at_token_job init = { .body = body, .valid = valid };

	return at_token_change_run(dom, id, expect, &init, update_tx);
}

/* ---- icon --------------------------------------------------------------- */

static enum at_err icon_tx(void *arg)
{
	static const char *const changes[] = { "icon" };
	struct at_token_job *j = arg;
	const struct at_dom *dom = j->dom;
	struct at_token scratch;
	struct at_buf before;
	enum at_err rc;

	at_token_release(&j->t);
	if ((rc = at_token_lock(dom, j->id, j->expect, &j->t)))
		return rc;
	if ((rc = at_token_document(dom, j->id, &before, &scratch)))
		return at_dom_db_failed(dom, rc);
	{
		struct at_db_param p[] = { AT_DB_P_STR(j->id), AT_DB_P_STR(j->icon_type),
					   AT_DB_P_BLOB(j->icon, j->icon_len) };
		struct at_db_param f[] = { AT_DB_P_INT(1), AT_DB_P_STR(dom->actor->id),
					   AT_DB_P_STR(dom->actor->name), AT_DB_P_STR(j->id) };

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_ICON_SET, p, 3, NULL)) ||
		    (rc = at_db_exec(dom->db, AT_STMT_TOKEN_ICON_FLAG, f, 4, NULL))) {
			at_buf_release(&before);
			return at_dom_db_failed(dom, rc);
		}
	}
	return at_dom_db_failed(dom, at_token_audit_change(dom, j->id, AT_TEV_UPDATED, &before,
							   changes, 1));
}

enum at_err at_token_icon_set(const struct at_dom *dom, const char *id, const char *type,
			      const void *data, size_t len, const struct at_rev_cond *expect)
{
	struct at_token_job init = { .icon_type = type, .icon = data, .icon_len = len };

	return at_token_change_run(dom, id, expect, &init, icon_tx);
}

enum at_err at_token_icon_get(const struct at_dom *dom, const char *id, struct at_buf *out,
			      char *type, size_t typelen)
{
	struct at_db_param p = AT_DB_P_STR(id);
	struct at_db_rows rows;
	const char *t, *data;
	size_t len = 0;
	bool found = false;
	enum at_err rc;

	if ((rc = at_token_visible(dom, id, NULL)))
		return rc;
	if ((rc = at_db_query(dom->db, AT_STMT_TOKEN_ICON_GET, &p, 1, &rows)))
		return at_dom_db_failed(dom, rc);
	if ((rc = at_db_rows_next(&rows, &found)))
		goto out;
	t = found ? at_db_rows_str(&rows, 0, NULL) : NULL;
	data = found ? at_db_rows_str(&rows, 1, &len) : NULL;
	if (!t || !data) {
		at_problem_detail(dom->problem, "The token has no logo.");
		rc = AT_ERR_NOT_FOUND;
		goto out;
	}
	at_strlcpy(type, t, typelen);
	rc = at_buf_append(out, data, len);
out:
	at_db_rows_release(&rows);
	return at_dom_db_failed(dom, rc);
}

/* ---- module removal (apitokenctl) ---------------------------------------- */

enum at_err at_token_strip_module(const struct at_dom *dom, const char *account_id,
				  const char *module_id, unsigned *changed)
{
	static const char *const changes[] = { "modules" };
	struct at_db_param p[] = { AT_DB_P_STR(account_id), AT_DB_P_STR(module_id) };
	char (*ids)[AT_TOKEN_ID_LEN + 1] = NULL, (*tmp)[AT_TOKEN_ID_LEN + 1];
	struct at_token *scratch;
	struct at_buf before;
	struct at_db_rows rows;
	size_t n = 0, cap = 0, i;
	enum at_err rc;
	const char *id;
	bool more;

	*changed = 0;
	scratch = malloc(sizeof(*scratch));
	if (!scratch)
		return AT_ERR_NOMEM;
	/* the tokens first (the connection is needed for each change) */
	if ((rc = at_db_query(dom->db, AT_STMT_TOKENS_WITH_MODULE, p, 2, &rows)))
		goto out;
	while (!(rc = at_db_rows_next(&rows, &more)) && more) {
		id = at_db_rows_str(&rows, 0, NULL);
		if (!id)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			tmp = realloc(ids, cap * sizeof(*ids));
			if (!tmp) {
				rc = AT_ERR_NOMEM;
				break;
			}
			ids = tmp;
		}
		at_strlcpy(ids[n++], id, sizeof(*ids));
	}
	at_db_rows_release(&rows);
	for (i = 0; !rc && i < n; i++) {
		struct at_db_param q[] = { AT_DB_P_STR(dom->actor->id),
					   AT_DB_P_STR(dom->actor->name), AT_DB_P_STR(ids[i]) };
		struct at_db_param d[] = { AT_DB_P_STR(ids[i]), AT_DB_P_STR(module_id) };

		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_LOCK, q + 2, 1, NULL)) ||
		    (rc = at_token_document(dom, ids[i], &before, scratch)))
			break;
		if ((rc = at_db_exec(dom->db, AT_STMT_TOKEN_MODULE_DROP, d, 2, NULL)) ||
		    (rc = at_db_exec(dom->db, AT_STMT_TOKEN_TOUCH_UPDATED, q, 3, NULL))) {
			at_buf_release(&before);
			break;
		}
		if ((rc = at_token_audit_change(dom, ids[i], AT_TEV_UPDATED, &before, changes, 1)))
			break;
		(*changed)++;
	}
	if (!rc)
		rc = at_db_exec(dom->db, AT_STMT_ACCOUNT_MODULE_DROP, p, 2, NULL);
out:
	free(ids);
	free(scratch);
	return rc;
}
