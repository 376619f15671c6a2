/* empty_fcgi.c: the baseline of scripts/bench.
 *
 * An empty FastCGI responder with apitokend's threading model: N threads
 * take turns in FCGX_Accept_r on one listening socket (accept serialised
 * by a mutex, as in src/front.c).  It answers 204 to the auth_request
 * path /_apitokend/verify, so that nginx lets the protected request
 * through, and a small fixed JSON body to everything else.  Whatever
 * nginx measures above this is the cost of nginx, FastCGI and libfcgi:
 * the floor apitokend is compared with.
 *
 *   empty_fcgi SOCKET-PATH [THREADS]
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcgiapp.h>

static int listen_fd;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

static const char verify_head[] =
	"Status: 204 No Content\r\n"
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"\r\n";

#define BODY "{\"$meta\":{\"pagination\":{\"offset\":0,\"limit\":50,\"total\":0}},\"data\":[]}"
static const char json_resp[] =
	"Status: 200 OK\r\n"
	"Content-Type: application/json\r\n"
	"Cache-Control: no-store\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Content-Length: 68\r\n"
	"\r\n" BODY;

_Static_assert(sizeof(BODY) - 1 == 68, "Content-Length of BODY");

static void *worker(void *arg)
{
	FCGX_Request rq;
	char chunk[16384];
	const char *uri;
	bool fresh;
	int rc;

	(void)arg;
	if (FCGX_InitRequest(&rq, listen_fd, 0))
		return NULL;
	for (;;) {
		/* as src/front.c: the lock only while accepting, not while
		 * waiting on a connection the web server keeps open */
		fresh = rq.ipcFd < 0;
		if (fresh)
			pthread_mutex_lock(&accept_lock);
		rc = FCGX_Accept_r(&rq);
		if (fresh)
			pthread_mutex_unlock(&accept_lock);
		if (rc < 0) {
			usleep(10000);
			continue;
		}
		while (FCGX_GetStr(chunk, sizeof(chunk), rq.in) > 0)
			;
		uri = FCGX_GetParam("REQUEST_URI", rq.envp);
		if (uri && !strcmp(uri, "/_apitokend/verify"))
			FCGX_PutStr(verify_head, (int)sizeof(verify_head) - 1, rq.out);
		else
			FCGX_PutStr(json_resp, (int)sizeof(json_resp) - 1, rq.out);
		FCGX_Finish_r(&rq);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t *threads;
	long i, n = 4;
	sigset_t set;
	int sig;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: empty_fcgi SOCKET-PATH [THREADS]\n");
		return 2;
	}
	if (argc == 3) {
		n = strtol(argv[2], NULL, 10);
		if (n < 1 || n > 1024) {
			fprintf(stderr, "empty_fcgi: THREADS must be 1..1024\n");
			return 2;
		}
	}
	if (FCGX_Init()) {
		fprintf(stderr, "empty_fcgi: FCGX_Init failed\n");
		return 1;
	}
	unlink(argv[1]);
	listen_fd = FCGX_OpenSocket(argv[1], 128);
	if (listen_fd < 0) {
		perror("empty_fcgi: listen");
		return 1;
	}
	chmod(argv[1], 0660);
	/* SIGTERM and SIGINT end the process; the workers never see them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	threads = calloc((size_t)n, sizeof(*threads));
	if (!threads)
		return 1;
	for (i = 0; i < n; i++) {
		if (pthread_create(&threads[i], NULL, worker, NULL)) {
			fprintf(stderr, "empty_fcgi: cannot start thread %ld\n", i);
			return 1;
		}
	}
	sigdelset(&set, SIGPIPE);
	do {
		if (sigwait(&set, &sig))
			return 1;
	} while (sig != SIGTERM && sig != SIGINT);
	unlink(argv[1]);
	return 0;
}
