/* main.c: apitokend: options, configuration, signals, the worker pool. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "db.h"
#include "front.h"
#include "log.h"
#include "router.h"
#include "settings.h"
#include "page_cache.h"
#include "token_cache.h"

#define DEFAULT_CONFIG SYSCONFDIR "/apitokend/apitokend.ini"

/* Key files loaded so far: the newest is current, older ones stay until
 * exit because a worker may still be using one. */
struct keyring {
	struct at_keys *_Atomic current;
	struct at_keys *all[64];
	size_t n;
};

/* SIGHUP: reopen the log file, load the key file again (after a seal key
 * rotation).  A failure keeps what is in use and says why. */
static void reload(const struct at_settings *s, struct keyring *kr)
{
	struct at_keys *keys;
	char err[512];

	if (at_log_open(s->log_file, err, sizeof(err)))
		at_log_error("SIGHUP: %s", err);
	if (kr->n == sizeof(kr->all) / sizeof(kr->all[0])) {
		at_log_error("SIGHUP: key file reloaded too often; restart apitokend");
		return;
	}
	if (at_keys_load(&keys, s->key_file, err, sizeof(err))) {
		at_log_error("SIGHUP: keeping the keys in use: %s", err);
		return;
	}
	kr->all[kr->n++] = keys;
	atomic_store(&kr->current, keys);
	at_log_info("SIGHUP: log reopened, key file reloaded (seal key %u)", at_keys_current(keys));
}

struct worker {
	pthread_t thread;
	int fd;
	struct at_ctx ctx;
	bool started;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: apitokend [-c FILE] [--listen HOST:PORT|:PORT|PATH] [--workers N]\n"
		"                 [--check-config] [--version]\n"
		"\n"
		"Serves the apitokend FastCGI application.  Without --listen it serves the\n"
		"socket on fd 0 (spawn-fcgi, mod_fcgid) or systemd's socket (LISTEN_FDS).\n"
		"\n"
		"  -c, --config FILE   INI configuration (default " DEFAULT_CONFIG
		" if it exists;\n"
		"                      also APITOKEND_CONFIG); every key can be overridden\n"
		"                      by APITOKEND_<SECTION>_<KEY>\n"
		"  -l, --listen ADDR   TCP HOST:PORT or :PORT, or a Unix socket path\n"
		"  -w, --workers N     worker threads, each with its own database connection\n"
		"  -t, --check-config  load the configuration and the key file, then exit\n"
		"  -V, --version       print the version and exit\n");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	at_front_serve(w->fd, &w->ctx);
	at_db_free(w->ctx.db);
	w->ctx.db = NULL;
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = getenv("APITOKEND_CONFIG"), *listen_opt = NULL, *workers_opt = NULL;
	struct at_settings settings;
	struct at_keys *keys = NULL;
	struct at_token_cache *cache = NULL;
	struct at_page_cache *pages = NULL;
	static struct keyring kr;
	struct worker *workers = NULL;
	bool check_only = false;
	char err[512];
	sigset_t sigs;
	int c, sig, fd = -1, status = 1;
	unsigned i;

	while ((c = getopt_long(argc, argv, "c:l:w:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'l': listen_opt = optarg; break;
		case 'w': workers_opt = optarg; break;
		case 't': check_only = true; break;
		case 'V': printf("apitokend %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!config && access(DEFAULT_CONFIG, F_OK) == 0)
		config = DEFAULT_CONFIG;

	at_settings_init(&settings);
	if (at_settings_load(&settings, config, err, sizeof(err)) ||
	    (listen_opt && at_settings_set(&settings, "server", "listen", listen_opt,
					   err, sizeof(err))) ||
	    (workers_opt && at_settings_set(&settings, "server", "workers", workers_opt,
					    err, sizeof(err)))) {
		fprintf(stderr, "apitokend: %s\n", err);
		return 2;
	}
	at_log_set_level(settings.log_level);
	if (at_log_open(settings.log_file, err, sizeof(err))) {
		fprintf(stderr, "apitokend: %s\n", err);
		return 1;
	}
	if (at_crypto_init()) {
		fprintf(stderr, "apitokend: libsodium cannot be initialised\n");
		return 1;
	}
	if (at_keys_load(&keys, settings.key_file, err, sizeof(err))) {
		fprintf(stderr, "apitokend: %s\n", err);
		return 1;
	}
	kr.all[kr.n++] = keys;
	atomic_store(&kr.current, keys);
	if (check_only) {
		printf("apitokend: configuration and key file are fine\n");
		status = 0;
		goto out;
	}
	if (at_db_library_init()) {
		fprintf(stderr, "apitokend: the MariaDB client library cannot be initialised\n");
		goto out;
	}
	if (at_front_init() || at_front_listen(&settings, &fd, err, sizeof(err))) {
		fprintf(stderr, "apitokend: %s\n", err);
		goto out;
	}

	/* signals are taken by sigwait() below, never by the workers */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (at_token_cache_new(&cache, settings.verify_cache_entries) ||
	    at_page_cache_new(&pages, settings.list_cache_size)) {
		fprintf(stderr, "apitokend: out of memory\n");
		goto out;
	}
	workers = calloc(settings.workers, sizeof(*workers));
	if (!workers) {
		fprintf(stderr, "apitokend: out of memory\n");
		goto out;
	}
	for (i = 0; i < settings.workers; i++) {
		struct worker *w = &workers[i];

		w->fd = fd;
		w->ctx.settings = &settings;
		w->ctx.keys = keys;
		w->ctx.keyring = &kr.current;
		w->ctx.cache = cache;
		w->ctx.pages = pages;
		if (at_db_open(&w->ctx.db, &settings)) {
			fprintf(stderr, "apitokend: out of memory\n");
			goto out;
		}
		/* a database that is down at start is not fatal: workers
		 * answer 503 and reconnect when it is back */
		if (i == 0 && at_db_ping(w->ctx.db))
			at_log_warn("database not reachable yet: %s", at_db_error(w->ctx.db));
		if ((errno = pthread_create(&w->thread, NULL, worker_main, w))) {
			fprintf(stderr, "apitokend: start worker: %s\n", strerror(errno));
			at_db_free(w->ctx.db);
			goto out;
		}
		w->started = true;
	}
	at_log_info("apitokend %s serving with %u workers", PACKAGE_VERSION, settings.workers);
	if (cache)
		at_log_info("verify cache: %u tokens, at most %zu KiB", settings.verify_cache_entries,
			    (settings.verify_cache_entries * at_token_cache_entry_max() + 1023) / 1024);
	if (pages)
		at_log_info("list cache: at most %d pages and %zu KiB, each served for %d ms",
			    AT_PC_SLOTS, (settings.list_cache_size + 1023) / 1024, AT_PC_MAX_AGE_MS);

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			reload(&settings, &kr);
			continue;
		}
		at_log_info("%s: finishing requests in flight", strsignal(sig));
		break;
	}
	status = 0;
out:
	/* workers: the front was listening, threads may be running */
	if (workers) {
		at_front_stop(fd);
		for (i = 0; i < settings.workers; i++)
			if (workers[i].started)
				pthread_join(workers[i].thread, NULL);
		free(workers);
		at_log_info("apitokend stopped");
	}
	at_token_cache_free(cache);
	at_page_cache_free(pages);
	while (kr.n)
		at_keys_free(kr.all[--kr.n]);
	if (fd > 0)
		close(fd);
	at_db_library_end();
	/* the password has no business staying in memory */
	at_wipe(settings.db_password, sizeof(settings.db_password));
	return status;
}
