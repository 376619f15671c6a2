/* front.c: FastCGI requests in, responses out.  The only user of libfcgi. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "buf.h"
#include "front.h"
#include "log.h"

#define LISTEN_BACKLOG 128
#define SD_LISTEN_FDS_START 3

/* No lock around FCGX_Accept_r: on Linux a blocking accept() on a shared
 * socket wakes one waiting thread per connection, and libfcgi reads the
 * new request's parameters inside FCGX_Accept_r, so a lock there made the
 * workers read their requests one at a time, each handing the lock to
 * the next through the kernel (two futex calls and a context switch a
 * request, measured under scripts/bench). */
static atomic_bool stopping;
/* The listening socket is TCP: answers go out without Nagle's delay. */
static bool listen_tcp;

enum at_err at_front_init(void)
{
	return FCGX_Init() == 0 ? AT_OK : AT_ERR_IO;
}

static bool is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool is_tcp(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	       (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}

/* A kept-alive FastCGI connection over TCP would otherwise hold back the
 * last segment of an answer until the web server's delayed ACK (40 ms):
 * Nagle's algorithm against delayed ACK. */
static void set_nodelay(int fd)
{
	int on = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)))
		at_log_debug("TCP_NODELAY: %s", strerror(errno));
}

static bool is_socket_path(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* systemd socket activation: LISTEN_PID is us and LISTEN_FDS >= 1. */
static int systemd_fd(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long p, n;

	if (!pid || !fds)
		return -1;
	p = strtol(pid, &end, 10);
	if (*end || p != (long)getpid())
		return -1;
	n = strtol(fds, &end, 10);
	if (*end || n < 1)
		return -1;
	/* not for children we might start */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return SD_LISTEN_FDS_START;
}

enum at_err at_front_listen(const struct at_settings *s, int *fd, char *err, size_t errlen)
{
	const char *l = s->listen;

	*fd = systemd_fd();
	if (*fd >= 0) {
		if (!is_socket(*fd)) {
			at_errf(err, errlen, "LISTEN_FDS: fd %d is not a socket", *fd);
			return AT_ERR_CONFIG;
		}
		return AT_OK;
	}
	if (l[0]) {
		/* a stale socket file from a previous run would make bind fail */
		if (l[0] == '/' && is_socket_path(l))
			unlink(l);
		*fd = FCGX_OpenSocket(l, LISTEN_BACKLOG);
		if (*fd < 0) {
			at_errf(err, errlen, "listen %s: %s", l, strerror(errno));
			return AT_ERR_IO;
		}
		if (l[0] == '/' && chmod(l, s->socket_mode)) {
			at_errf(err, errlen, "chmod %s: %s", l, strerror(errno));
			close(*fd);
			return AT_ERR_IO;
		}
		return AT_OK;
	}
	if (!is_socket(0)) {
		at_errf(err, errlen, "fd 0 is not a socket: give --listen HOST:PORT or PATH, "
			"or start apitokend from spawn-fcgi, mod_fcgid or systemd");
		return AT_ERR_CONFIG;
	}
	*fd = 0;
	return AT_OK;
}

void at_front_stop(int fd)
{
	atomic_store(&stopping, true);
	/* on Linux this makes accept() fail at once with EINVAL */
	shutdown(fd, SHUT_RDWR);
}

struct front {
	FCGX_Request rq;
};

static const char *front_param(void *ud, const char *name)
{
	return FCGX_GetParam(name, ud);
}

static enum at_err front_read_body(void *ud, struct at_buf *out, size_t limit)
{
	struct front *f = ud;
	char chunk[16384];
	int n;

	for (;;) {
		n = FCGX_GetStr(chunk, sizeof(chunk), f->rq.in);
		if (n <= 0)
			break;
		if (out->len + (size_t)n > limit)
			return AT_ERR_TOO_LARGE;
		if (at_buf_append(out, chunk, (size_t)n))
			return AT_ERR_TOO_LARGE;
	}
	return FCGX_GetError(f->rq.in) ? AT_ERR_IO : AT_OK;
}

/* The web server may still be sending a body we did not want; read it
 * so it is not met by a reset connection. */
static void front_drain(struct front *f)
{
	char chunk[16384];

	while (FCGX_GetStr(chunk, sizeof(chunk), f->rq.in) > 0)
		;
}

/* Append strings as they are (no format to parse); false once full. */
static bool head_put(char *head, size_t size, size_t *len, const char *const *parts, size_t n)
{
	size_t i, l;

	for (i = 0; i < n; i++) {
		l = strlen(parts[i]);
		if (l >= size - *len)
			return false;
		memcpy(head + *len, parts[i], l);
		*len += l;
	}
	head[*len] = '\0';
	return true;
}

/* libfcgi's own printf knows no %zu: headers are formatted here. */
static void front_write(struct front *f, const struct at_request *req,
			const struct at_response *resp)
{
	FCGX_Stream *out = f->rq.out;
	bool body = resp->content_type[0] && resp->status != 204 && resp->status != 304;
	/* room for every header a response can hold, and the fixed ones */
	char head[AT_RESP_HEADERS * (sizeof(struct at_header) + 4) + 512];
	size_t len = 0, i;
	bool ok;

	ok = at_appendf(head, sizeof(head), &len, "Status: %d %s\r\n", resp->status,
			at_status_reason(resp->status));
	if (body)
		ok = ok && at_appendf(head, sizeof(head), &len,
				      "Content-Type: %s\r\nContent-Length: %zu\r\n",
				      resp->content_type, resp->body.len);
	/* responses hold tokens and account data: never cache them */
	ok = ok && head_put(head, sizeof(head), &len, (const char *const[]){
		"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n" }, 1);
	for (i = 0; ok && i < resp->nheaders; i++)
		ok = head_put(head, sizeof(head), &len, (const char *const[]){
			resp->headers[i].name, ": ", resp->headers[i].value, "\r\n" }, 4);
	ok = ok && head_put(head, sizeof(head), &len, (const char *const[]){ "\r\n" }, 1);
	if (!ok) {
		/* cannot happen with the sizes above; never send half a head */
		at_log_error("response headers do not fit");
		len = (size_t)snprintf(head, sizeof(head), "Status: 500 Internal Server Error\r\n\r\n");
		body = false;
	}
	FCGX_PutStr(head, (int)len, out);
	if (body && req->method != AT_HEAD && resp->body.len)
		FCGX_PutStr(resp->body.data, (int)resp->body.len, out);
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

void at_front_serve(int fd, struct at_ctx *base)
{
	struct at_response resp;
	struct at_request req;
	struct at_buf line;
	struct timespec t0;
	struct front f;
	int rc;

	listen_tcp = is_tcp(fd);
	memset(&req, 0, sizeof(req));
	at_buf_init(&req.body, base->settings->max_icon > base->settings->max_body
				       ? base->settings->max_icon : base->settings->max_body);
	at_response_init(&resp);
	at_buf_init(&line, AT_LOG_LINE_MAX);
	if (FCGX_InitRequest(&f.rq, fd, 0)) {
		at_log_error("worker: cannot set up a FastCGI request");
		goto out;
	}
	base->read_body = front_read_body;
	base->front = &f;
	base->req = &req;
	base->resp = &resp;
	for (;;) {
		/* libfcgi keeps the connection in f.rq.ipcFd when the web
		 * server asked to keep it (FCGI_KEEP_CONN): then FCGX_Accept_r
		 * only reads the next request from it */
		rc = FCGX_Accept_r(&f.rq);
		/* every time: libfcgi may have swapped a closed kept
		 * connection for a new one inside FCGX_Accept_r */
		if (rc >= 0 && listen_tcp)
			set_nodelay(f.rq.ipcFd);
		if (rc < 0) {
			if (atomic_load(&stopping))
				break;
			/* e.g. out of file descriptors: back off, do not spin */
			at_log_warn("accept: %s", strerror(-rc > 0 ? -rc : errno));
			usleep(100 * 1000);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (base->keyring)
			base->keys = atomic_load(base->keyring);
		at_request_fill(&req, front_param, f.rq.envp);
		at_response_reset(&resp);
		at_router_handle(base);
		front_drain(&f);
		front_write(&f, &req, &resp);
		/* the request's strings live in libfcgi's parameter block,
		 * which FCGX_Finish_r frees: the line is made now, written
		 * once the answer is out */
		at_log_request_format(&(struct at_log_request){
			.trace_id = req.trace_id,
			.method = req.method_name,
			.path = req.path_ok ? req.path : "(undecodable)",
			.status = resp.status,
			.ms = ms_since(&t0),
			.caller = base->caller.id,
			.error = resp.status >= 500 ? base->problem.internal : NULL,
		}, &line);
		/* the presented credential must not linger in freed memory */
		if (req.authorization)
			explicit_bzero((char *)(uintptr_t)req.authorization,
				       strlen(req.authorization));
		/* libfcgi's close lingers: shutdown, then wait up to 2 s for
		 * the web server to close first, so that a TCP reset cannot
		 * discard the answer while unread input is pending.  Over a
		 * Unix socket the peer reads what was sent before any reset,
		 * and the input was drained above: close at once, and the
		 * worker is free for the next connection without waiting on
		 * the web server (two system calls and a wakeup a request). */
		if (!listen_tcp && !f.rq.keepConnection)
			(void)FCGX_Detach(&f.rq);
		FCGX_Finish_r(&f.rq);
		at_log_request_write(&line);
		/* work that must not delay the answer (lastAccessAt) */
		if (base->after) {
			base->after(base);
			base->after = NULL;
		}
		/* request memory is reused, secrets are not */
		at_buf_reset(&req.body);
		at_buf_reset(&resp.body);
	}
	FCGX_Free(&f.rq, 0);
out:
	at_buf_release(&line);
	at_buf_release(&req.body);
	at_response_release(&resp);
}
