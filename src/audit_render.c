/* audit_render.c: an audit record as the API shows it, and render(). */
#include <string.h>

#include "audit.h"
#include "audit_render.h"
#include "rql.h"
#include "text.h"

/* A placeholder's value, as the record's text had it: at most this many
 * bytes. */
#define VALUE_MAX 1023
/* A placeholder's path segment: at most this many bytes. */
#define SEGMENT_MAX 63

static const char *col(const struct at_db_rows *rows, enum at_audit_col c)
{
	return at_db_rows_str(rows, c, NULL);
}

static bool shown(const struct at_audit_view *v, const char *name)
{
	if (!strcmp(name, "documents"))
		return v->documents;
	return !v->q || at_rql_selected(v->q, &at_rql_audit, name);
}

/* summary and details with their placeholders filled; NULL writes the
 * stored text */
struct texts {
	const char *summary;
	const char *details;
};

static void write_record(struct at_jw *w, const struct at_db_rows *rows,
			 const struct at_audit_view *v, const struct texts *t)
{
	const char *ts = col(rows, AC_TIMESTAMP), *d = col(rows, AC_DOCUMENTS);
	char iso[32];

	at_jw_object(w, NULL);
	at_jw_str(w, "id", col(rows, AC_ID));
	if (shown(v, "event"))
		at_jw_str(w, "event", col(rows, AC_EVENT));
	if (shown(v, "timestamp") && ts && at_time_iso(ts, iso, sizeof(iso)))
		at_jw_str(w, "timestamp", iso);
	if (shown(v, "summary")) {
		if (t->summary)
			at_jw_str(w, "summary", t->summary);
		else
			at_jw_opt_str(w, "summary", col(rows, AC_SUMMARY));
	}
	if (shown(v, "details")) {
		if (t->details)
			at_jw_str(w, "details", t->details);
		else
			at_jw_opt_str(w, "details", col(rows, AC_DETAILS));
	}
	if (shown(v, "object")) {
		at_jw_object(w, "object");
		at_jw_opt_str(w, "id", col(rows, AC_OBJECT_ID));
		at_jw_opt_str(w, "name", col(rows, AC_OBJECT_NAME));
		at_jw_opt_str(w, "objectType", col(rows, AC_OBJECT_TYPE));
		if (col(rows, AC_OBJECT_REVISION))
			at_jw_int(w, "revision", at_db_rows_int(rows, AC_OBJECT_REVISION));
		at_jw_object_end(w);
	}
	if (shown(v, "actor")) {
		at_jw_object(w, "actor");
		at_jw_opt_str(w, "id", col(rows, AC_ACTOR_ID));
		at_jw_opt_str(w, "name", col(rows, AC_ACTOR_NAME));
		at_jw_object(w, "account");
		at_jw_opt_str(w, "id", col(rows, AC_ACTOR_ACCOUNT_ID));
		at_jw_opt_str(w, "name", col(rows, AC_ACTOR_ACCOUNT_NAME));
		at_jw_object_end(w);
		at_jw_object_end(w);
	}
	if (shown(v, "request")) {
		at_jw_object(w, "request");
		at_jw_object(w, "api");
		at_jw_opt_str(w, "ip", col(rows, AC_IP));
		at_jw_opt_str(w, "userAgent", col(rows, AC_USER_AGENT));
		at_jw_object_end(w);
		at_jw_object(w, "log");
		at_jw_opt_str(w, "requestId", col(rows, AC_REQUEST_ID));
		at_jw_object_end(w);
		at_jw_object_end(w);
	}
	/* stored as compact JSON text by this program */
	if (shown(v, "documents") && d)
		at_jw_raw(w, "documents", d, strlen(d));
	at_jw_object_end(w);
}

/* A placeholder's path as render() has always taken it: dotted segments,
 * none empty or longer than SEGMENT_MAX, one trailing dot forgiven. */
static bool path_ok(const char *p)
{
	size_t seg;

	while (*p) {
		seg = strcspn(p, ".");
		if (!seg || seg > SEGMENT_MAX)
			return false;
		p += seg;
		if (*p)
			p++;
	}
	return true;
}

/* A placeholder naming an object or array has always been filled with
 * its JSON text with every '/' written "\/" (json-c's default); in
 * compact JSON a '/' stands only inside a string, where "\/" is what
 * it means. */
static enum at_err slash_escape(struct at_buf *b)
{
	struct at_buf t;
	const char *p, *s;
	enum at_err rc = AT_OK;

	if (!b->data || !strchr(b->data, '/'))
		return AT_OK;
	at_buf_init(&t, b->max);
	for (s = b->data; !rc && (p = strchr(s, '/')); s = p + 1)
		if (!(rc = at_buf_append(&t, s, (size_t)(p - s))))
			rc = at_buf_append(&t, "\\/", 2);
	if (!rc && !(rc = at_buf_puts(&t, s))) {
		at_buf_reset(b);
		rc = at_buf_append(b, t.data, t.len);
	}
	at_buf_release(&t);
	return rc;
}

/* {{a.b.c}}: the value at that path of the record, as text into out;
 * false when the path names nothing (the placeholder then stays). */
static bool lookup_path(const struct at_jv *root, const char *path, size_t len,
			struct at_buf *out)
{
	const struct at_jv *v = root, *parent = root;
	char *p, *key, *dot;
	const char *s;
	size_t n;

	at_buf_reset(out);
	if (at_buf_append(out, path, len) || at_buf_append(out, "", 1))
		return false;
	p = out->data;
	if (!path_ok(p))
		return false;
	if (len && p[len - 1] == '.')
		p[len - 1] = '\0';
	/* the parent by path, then the member: a null member is found */
	if (*p) {
		key = p;
		if ((dot = strrchr(p, '.'))) {
			*dot = '\0';
			parent = at_jv_path(root, p);
			key = dot + 1;
		}
		if (!at_jv_get(parent, key, &v))
			return false;
	}
	at_buf_reset(out);
	if ((s = at_jv_str(v, &n)))
		return !at_buf_append(out, s, n);
	if (at_jv_type(v) == AT_JV_NULL)
		return !at_buf_puts(out, "null");
	if (at_jv_text(out, v) || slash_escape(out))
		return false;
	/* what fitted in the value's buffer of old */
	if (out->len > VALUE_MAX) {
		out->len = VALUE_MAX;
		out->data[VALUE_MAX] = '\0';
	}
	return true;
}

/* Fill the {{path}} placeholders of s from the record; an unknown path
 * stays as it is.  *res stays NULL when s has none. */
static enum at_err fill(const struct at_jv *full, const char *s, struct at_buf *b,
			const char **res)
{
	const char *open, *close;
	struct at_buf val;
	enum at_err rc = AT_OK;

	*res = NULL;
	if (!s || !strstr(s, "{{"))
		return AT_OK;
	/* as large as the record's text: {{}} names all of it */
	at_buf_init(&val, 64u << 20);
	while (!rc && (open = strstr(s, "{{")) && (close = strstr(open + 2, "}}"))) {
		rc = at_buf_append(b, s, (size_t)(open - s));
		if (!rc)
			rc = lookup_path(full, open + 2, (size_t)(close - open - 2), &val)
				     ? at_buf_append(b, val.data, val.len)
				     : at_buf_append(b, open, (size_t)(close + 2 - open));
		s = close + 2;
	}
	if (!rc)
		rc = at_buf_puts(b, s);
	at_buf_release(&val);
	*res = b->data ? b->data : "";
	return rc;
}

enum at_err at_audit_write(struct at_jw *w, const struct at_db_rows *rows,
			   const struct at_audit_view *v)
{
	/* placeholders may point into the documents even when not shown;
	 * documents this reader refuses (written around the API) count as
	 * absent, as they always have for render() */
	static const struct at_audit_view all[] = { { .documents = true }, { .documents = false } };
	struct at_buf text, summary, details;
	struct texts t = { NULL, NULL };
	struct at_jv *full = NULL;
	struct at_jw fw;
	char err[128];
	enum at_err rc = AT_OK;
	size_t i;

	if (!v->render) {
		write_record(w, rows, v, &t);
		return at_jw_finish(w);
	}
	at_buf_init(&text, 64u << 20);
	at_buf_init(&summary, 64 * 1024);
	at_buf_init(&details, 64 * 1024);
	for (i = 0, rc = AT_ERR_INVALID; i < 2 && rc == AT_ERR_INVALID; i++) {
		at_buf_reset(&text);
		at_jw_init(&fw, &text);
		write_record(&fw, rows, &all[i], &t);
		if (!(rc = at_jw_finish(&fw)))
			rc = at_jv_parse(text.data, text.len, &full, err, sizeof(err));
	}
	if (rc)
		goto out;
	if ((rc = fill(full, col(rows, AC_SUMMARY), &summary, &t.summary)) ||
	    (rc = fill(full, col(rows, AC_DETAILS), &details, &t.details)))
		goto out;
	write_record(w, rows, v, &t);
	rc = at_jw_finish(w);
out:
	at_jv_free(full);
	at_buf_release(&text);
	at_buf_release(&summary);
	at_buf_release(&details);
	return rc;
}
