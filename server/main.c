/*
 * main — herald's process: the configuration, the open-files limit, the
 * signals, and the workers' lives (start, run, drain, stop). Everything of
 * an event loop belongs to its worker (server/worker.c).
 *
 * Thread: the main thread runs the one worker today. The only global
 * mutable state is the pointer the signal handler uses to ask the worker
 * to stop (worker_request_stop() is async-signal-safe); it is cleared
 * before the worker is destroyed.
 */
#include "config.h"
#include "log.h"
#include "service_notify.h"
#include "worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static struct worker *volatile signal_target;

static void on_stop_signal(int sig)
{
	struct worker *w = signal_target;

	(void)sig;
	if (w)
		worker_request_stop(w);
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* open files beside the sessions: HTTP clients, Redis links, served files */
#define FD_RESERVE 1024

/*
 * lws sizes its fd tables from the soft open-files limit when the context
 * is created and refuses any socket numbered past it, so the limit is set
 * to what --max-connections needs plus FD_RESERVE. Raised from the usual
 * default of 1024, or herald would refuse connections near 1,000 whatever
 * --max-connections says; lowered from a huge one, because the Debian
 * build of lws 4.1.6 scans its whole fd table each time a socket closes
 * (docs/benchmarks.md).
 */
static void fit_fd_limit(long max_connections)
{
	rlim_t want = (rlim_t)max_connections + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
		log_msg(LOG_WARN, "main", "--max-connections %ld needs %lu open "
			"files; the hard limit is %lu, so connections past about "
			"%lu are refused", max_connections, (unsigned long)want,
			(unsigned long)rl.rlim_max,
			(unsigned long)(rl.rlim_max > FD_RESERVE
					? rl.rlim_max - FD_RESERVE : 0));
		want = rl.rlim_max;
	}
	if (want == rl.rlim_cur)
		return;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_msg(LOG_WARN, "main", "cannot set the open-files limit to "
			"%lu: %s", (unsigned long)want, strerror(errno));
	else
		log_msg(LOG_INFO, "main", "open-files limit set to %lu",
			(unsigned long)want);
}

int main(int argc, char **argv, char **envp)
{
	static struct config cfg;
	static struct worker w;
	char err[512];

	switch (config_parse(&cfg, argc, argv, envp, stdout, err, sizeof(err))) {
	case CONFIG_EXIT_OK:
		return 0;
	case CONFIG_ERROR:
		fprintf(stderr, "herald: %s\n", err);
		return 2;
	case CONFIG_OK:
		break;
	}
	if (cfg.tls_cert && config_check_tls(&cfg, err, sizeof(err))) {
		fprintf(stderr, "herald: %s\n", err);
		return 2;
	}
	log_configure(cfg.log_level, cfg.log_format);
	log_route_lws();
	fit_fd_limit(cfg.max_connections);

	if (worker_init(&w, &cfg, 0))
		return 1;
	signal_target = &w;
	install_signals();
	log_msg(LOG_INFO, "main",
		"herald listening on %s:%d (%s) node=%s web_root=%s redis=%s",
		cfg.host, cfg.port, cfg.tls_cert ? "wss/https" : "ws/http",
		cfg.node_id,
		cfg.web_root ? cfg.web_root : "none",
		cfg.redis.kind == REDIS_NONE ? "none"
		: cfg.redis.kind == REDIS_UNIX ? cfg.redis.path : cfg.redis.host);
	service_notify_ready();

	worker_run(&w);
	service_notify_stopping();
	worker_drain(&w);

	signal_target = NULL;
	worker_destroy(&w);
	log_msg(LOG_INFO, "main", "herald stopped");
	return 0;
}
