/* settings.h: the configuration of apitokend and apitokenctl.
 *
 * One INI file (see conf/apitokend.ini.example).  Every key can be
 * overridden by an environment variable named APITOKEND_<SECTION>_<KEY>
 * in upper case, e.g. [database] socket -> APITOKEND_DATABASE_SOCKET.
 * Precedence: built-in default < INI file < environment.  The file itself
 * is read by inifile.c.
 */
#ifndef AT_SETTINGS_H
#define AT_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "inifile.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

enum at_reveal {
	AT_REVEAL_ALLOW,	/* a sealed copy is kept; select=token reveals it */
	AT_REVEAL_NEVER,	/* only the hash is kept; the value is shown once */
};

enum at_log_level {
	AT_LOG_ERROR,
	AT_LOG_WARN,
	AT_LOG_INFO,
	AT_LOG_DEBUG,
};

/* The largest [tokens] max_rotation_overlap: P365D. */
#define AT_MAX_ROTATION_OVERLAP (365LL * 86400)

struct at_settings {
	/* [database] */
	char db_host[256];
	unsigned db_port;
	char db_socket[PATH_MAX];
	char db_user[128];
	char db_password[256];
	char db_name[64];
	unsigned db_connect_timeout;	/* seconds */

	/* [server] */
	char listen[PATH_MAX];		/* empty: the socket on fd 0 */
	unsigned socket_mode;		/* of a Unix socket made by --listen */
	unsigned workers;
	enum at_log_level log_level;
	char log_file[PATH_MAX];	/* "": stderr; "syslog"; or a file path */
	unsigned verify_cache_entries;	/* tokens the verify cache keeps; 0: none */
	size_t list_cache_size;		/* bytes of list pages kept; 0: none */

	/* [security] */
	char key_file[PATH_MAX];
	bool trust_remote_user;
	enum at_reveal reveal;

	/* [limits] */
	size_t max_body;
	size_t max_icon;

	/* [tokens] */
	/* rotation: the longest overlap a rotate may ask for, in seconds */
	int64_t max_rotation_overlap;
};

/* Fill s with the built-in defaults. */
void at_settings_init(struct at_settings *s);

/* Read the INI file at path (NULL or "" to skip it), then apply the
 * environment.  On failure err holds a message naming the file, line or
 * variable. */
AT_MUST_CHECK enum at_err at_settings_load(struct at_settings *s, const char *path,
					   char *err, size_t errlen);

/* Read INI text (not a file) into s; the fuzz harness's entry. */
AT_MUST_CHECK enum at_err at_settings_parse_string(struct at_settings *s, const char *text,
						   char *err, size_t errlen);

/* Apply one key; used by the loader and by the fuzz harness. */
AT_MUST_CHECK enum at_err at_settings_set(struct at_settings *s, const char *section,
					  const char *key, const char *value,
					  char *err, size_t errlen);

#endif
