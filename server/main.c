/*
 * main — herald's process: the configuration, the open-files limit, the
 * signals, and the node's life (its workers start, run, drain, stop).
 * Everything of an event loop belongs to its worker (server/worker.c),
 * and what the workers share to the node (server/node.c).
 *
 * Thread: the main thread blocks SIGTERM and SIGINT (every worker's thread
 * inherits the mask, so none is interrupted), reads them from a signalfd
 * on worker 0's loop, which it runs itself (node_run), and stops the node:
 * no signal handler, no global mutable state.
 */
#include "config.h"
#include "log.h"
#include "node.h"
#include "service_notify.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

/*
 * rand() draws the Redis reconnect jitter: seeded per process, or every
 * node would draw the same delays and reconnect in lockstep after a Redis
 * restart.
 */
static void seed_rand(void)
{
	unsigned seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (unsigned)time(NULL) ^ (unsigned)getpid() << 16;
	srand(seed);
}

/* SIGTERM and SIGINT arrive on the returned signalfd, -1 on failure;
 * SIGPIPE is ignored (a peer gone mid-write is an error return, not a
 * death). Before any thread starts, which then inherits the mask. */
static int block_signals(void)
{
	sigset_t stop;
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	return signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void on_stop_signal(int sig)
{
	log_msg(LOG_INFO, "main", "%s: draining", strsignal(sig));
	service_notify_stopping();
}

/* open files beside the sessions when --max-connections sets the limit */
#define FD_RESERVE 1024
/* the least reserve under a low limit (fit_session_limit) */
#define FD_RESERVE_MIN 32

/*
 * lws sizes its fd tables from the soft open-files limit when the context
 * is created and refuses any socket numbered past it, so the limit is set
 * to what --max-connections needs plus FD_RESERVE. Raised from the usual
 * default of 1024, or herald would refuse connections near 1,000 whatever
 * --max-connections says; lowered from a huge one, because the Debian
 * build of lws 4.1.6 scans its whole fd table each time a socket closes
 * (docs/benchmarks.md). Returns the soft limit in force.
 */
static rlim_t fit_fd_limit(long max_connections)
{
	rlim_t want = (rlim_t)max_connections + FD_RESERVE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return want;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max) {
		log_msg(LOG_WARN, "main", "--max-connections %ld needs %lu open "
			"files; the hard limit is %lu, so sessions are limited "
			"to fewer (see the session limit below)",
			max_connections, (unsigned long)want,
			(unsigned long)rl.rlim_max);
		want = rl.rlim_max;
	}
	if (want == rl.rlim_cur)
		return want;
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		log_msg(LOG_WARN, "main", "cannot set the open-files limit to "
			"%lu: %s", (unsigned long)want, strerror(errno));
		getrlimit(RLIMIT_NOFILE, &rl);
		return rl.rlim_cur;
	}
	log_msg(LOG_INFO, "main", "open-files limit set to %lu",
		(unsigned long)want);
	return want;
}

/* Descriptors open now (the lws contexts' own, the listener, the loop,
 * the log), or 64 when /proc cannot tell. */
static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return 64;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}

/*
 * At the open-files limit (docs/security.md, "Memory, rates and open
 * files"): sessions are limited to --max-connections or to what the limit
 * leaves once the descriptors herald holds at start (about 40: its lws
 * contexts', the listener, the loop, the log) and a reserve (an eighth of
 * the limit, FD_RESERVE_MIN to FD_RESERVE / 2) are set aside, whichever is
 * lower. Upgrades past it get 503 (admission.c), and the reserve keeps
 * room for HTTP (/health), the 503 answers themselves, Redis reconnects
 * and files being served. Should handshakes in flight use it up all the
 * same, accept4() fails with EMFILE and the listener backs off
 * (docs/design.md, "Accepting"). Call once the worker is up.
 */
static void fit_session_limit(struct config *cfg, rlim_t limit)
{
	long held = open_fds(), reserve = (long)(limit / 8), fit;

	if (reserve < FD_RESERVE_MIN)
		reserve = FD_RESERVE_MIN;
	if (reserve > FD_RESERVE / 2)
		reserve = FD_RESERVE / 2;
	fit = (long)limit - held - reserve;
	if (fit < 1)
		fit = 1;
	cfg->session_limit = cfg->max_connections < fit ? cfg->max_connections
							: fit;
	if (cfg->session_limit < cfg->max_connections)
		log_msg(LOG_WARN, "main", "session limit %ld: the open-files "
			"limit %lu less %ld open at start and %ld kept for "
			"HTTP, Redis and the log (not --max-connections %ld)",
			cfg->session_limit, (unsigned long)limit, held,
			reserve, cfg->max_connections);
}

#define MEMORY_BUDGET_CAP (4ULL << 30)
#define MEMORY_BUDGET_FLOOR (64ULL << 20)

/* A cgroup v2 memory limit, when herald runs under one (0: none). */
static unsigned long long cgroup_memory_limit(void)
{
	unsigned long long v = 0;
	FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0; /* "max" */
	fclose(f);
	return v;
}

/*
 * --memory-budget auto: a quarter of the memory herald may use (physical
 * memory, or its cgroup's limit when lower), at most MEMORY_BUDGET_CAP and
 * at least MEMORY_BUDGET_FLOOR (docs/security.md, "Memory, rates and open
 * files").
 */
static void fit_memory_budget(struct config *cfg)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	unsigned long long mem = pages > 0 && page > 0
		? (unsigned long long)pages * (unsigned long long)page : 0;
	unsigned long long cg = cgroup_memory_limit(), b;

	if (cfg->memory_budget)
		return;
	if (cg && (!mem || cg < mem))
		mem = cg;
	b = mem ? mem / 4 : MEMORY_BUDGET_CAP;
	if (b > MEMORY_BUDGET_CAP)
		b = MEMORY_BUDGET_CAP;
	if (b < MEMORY_BUDGET_FLOOR)
		b = MEMORY_BUDGET_FLOOR;
	cfg->memory_budget = (long)b;
}

int main(int argc, char **argv, char **envp)
{
	static struct config cfg;
	static struct node node;
	rlim_t fd_limit;
	char err[512];
	int stop_fd;

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
	if (!cfg.workers)
		cfg.workers = node_default_workers();
	seed_rand();
	log_configure(cfg.log_level, cfg.log_format);
	log_route_lws();
	fd_limit = fit_fd_limit(cfg.max_connections);
	fit_memory_budget(&cfg);
	stop_fd = block_signals();
	if (stop_fd < 0) {
		log_msg(LOG_ERROR, "main", "signalfd: %s", strerror(errno));
		return 1;
	}

	if (node_init(&node, &cfg, cfg.workers))
		return 1;
	/* before the loops run: admission reads it from the first upgrade */
	fit_session_limit(&cfg, fd_limit);
	if (node_start(&node)) {
		node_stop(&node);
		node_destroy(&node);
		return 1;
	}
	log_msg(LOG_INFO, "main",
		"herald listening on %s:%d (%s) node=%s workers=%u web_root=%s "
		"redis=%s session_limit=%ld memory_budget=%ld",
		cfg.host, cfg.port, cfg.tls_cert ? "wss/https" : "ws/http",
		cfg.node_id, cfg.workers,
		cfg.web_root ? cfg.web_root : "none",
		cfg.redis.kind == REDIS_NONE ? "none"
		: cfg.redis.kind == REDIS_UNIX ? cfg.redis.path : cfg.redis.host,
		cfg.session_limit, cfg.memory_budget);
	service_notify_ready();

	node_run(&node, stop_fd, on_stop_signal);
	node_destroy(&node);
	close(stop_fd);
	log_msg(LOG_INFO, "main", "herald stopped");
	return 0;
}
