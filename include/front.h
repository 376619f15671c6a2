/* front.h: the FastCGI side; front.c is the only file that includes
 * fcgiapp.h.
 *
 * Each worker thread calls at_front_serve() with a context of its own
 * (its database connection); all workers accept on the same socket.
 */
#ifndef AT_FRONT_H
#define AT_FRONT_H

#include <stdatomic.h>

#include "router.h"
#include "settings.h"

AT_MUST_CHECK enum at_err at_front_init(void);

/* The socket to serve: systemd's (LISTEN_FDS), else --listen (HOST:PORT,
 * :PORT or a Unix socket path, made with s->socket_mode), else fd 0 when
 * it is a socket (as spawn-fcgi and mod_fcgid pass it). */
AT_MUST_CHECK enum at_err at_front_listen(const struct at_settings *s, int *fd,
					  char *err, size_t errlen);

/* Serve until the socket is shut down; base holds the worker's
 * settings, keys and database handle. */
void at_front_serve(int fd, struct at_ctx *base);

/* Wake every worker blocked in accept: they finish what they hold and
 * return from at_front_serve(). */
void at_front_stop(int fd);

#endif
