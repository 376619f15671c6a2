/* inifile.c: INI-shaped files, read with libinih.
 *
 * The only file that includes ini.h.  libinih reads lines of at most
 * INI_MAX_LINE (200) bytes as built by Debian; the readers below refuse a
 * longer line instead of letting it be split into two bogus ones.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <ini.h>

#include "inifile.h"

/* fgets that refuses over-long lines: libinih would otherwise read the
 * rest of such a line as a line of its own. */
struct reader {
	FILE *fp;
	const char *str;
	bool too_long;
};

static char *reader_check(struct reader *r, char *line, int num)
{
	size_t len = strlen(line);

	if (len == (size_t)num - 1 && line[len - 1] != '\n') {
		r->too_long = true;
		return NULL;
	}
	return line;
}

static char *read_fp(char *str, int num, void *stream)
{
	struct reader *r = stream;

	if (!fgets(str, num, r->fp))
		return NULL;
	/* the last line of a file may lack its newline without being long */
	if (feof(r->fp))
		return str;
	return reader_check(r, str, num);
}

static char *read_str(char *str, int num, void *stream)
{
	struct reader *r = stream;
	const char *nl;
	size_t len;

	if (!*r->str)
		return NULL;
	nl = strchr(r->str, '\n');
	len = nl ? (size_t)(nl - r->str) + 1 : strlen(r->str);
	if (len > (size_t)num - 1) {
		r->too_long = true;
		return NULL;
	}
	memcpy(str, r->str, len);
	str[len] = '\0';
	r->str += len;
	return str;
}

/* Count lines read so far to report where an over-long line stopped us. */
struct counted {
	struct reader r;
	char *(*read)(char *, int, void *);
	int lines;
};

static char *read_counted(char *str, int num, void *stream)
{
	struct counted *c = stream;
	char *p = c->read(str, num, &c->r);

	c->lines++;
	return p;
}

static int parse(struct counted *c, at_ini_cb cb, void *ud)
{
	int rc = ini_parse_stream(read_counted, c, cb, ud);

	if (rc == 0 && c->r.too_long)
		return c->lines;
	return rc;
}

int at_ini_parse_fp(FILE *fp, at_ini_cb cb, void *ud)
{
	struct counted c = { { fp, NULL, false }, read_fp, 0 };
	int rc = parse(&c, cb, ud);

	if (rc == 0 && ferror(fp))
		return -1;
	return rc;
}

int at_ini_parse_string(const char *text, at_ini_cb cb, void *ud)
{
	struct counted c = { { NULL, text, false }, read_str, 0 };

	return parse(&c, cb, ud);
}
