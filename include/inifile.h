/* inifile.h: INI-shaped files (the configuration, the key file).
 *
 * inifile.c is the only file that includes ini.h (libinih).  A line
 * longer than libinih takes is an error at that line, never read as two.
 */
#ifndef AT_INIFILE_H
#define AT_INIFILE_H

#include <stdio.h>

/* cb returns nonzero to go on, 0 to stop with an error at that line.
 * The parsers return 0 on success, the first bad line number, or -1 on
 * I/O error. */
typedef int (*at_ini_cb)(void *ud, const char *section, const char *key,
			 const char *value);
int at_ini_parse_fp(FILE *fp, at_ini_cb cb, void *ud);
int at_ini_parse_string(const char *text, at_ini_cb cb, void *ud);

#endif
