/*
 * main — herald's process: flags, signals, the worker's libev (epoll) loop
 * with its lws context on it, and the graceful drain on SIGTERM/SIGINT.
 *
 * Thread: the main thread runs the (single, for now) worker's event loop.
 * The only global mutable state is the pointer the signal handler uses to
 * raise the worker's stop flag and wake its loop with lws_cancel_service(),
 * the one lws call that is safe from any context.
 */
#include "config.h"
#include "hub.h"
#include "log.h"
#include "service_notify.h"
#include "worker.h"

#include "http_api.h"
#include "router.h"
#include "sys_channel.h"
#include "ws_client.h"

#include <ev.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#define DRAIN_TIMEOUT_US (5 * LWS_US_PER_SEC)
#define DRAIN_FLUSH_PASSES 4

static struct worker *volatile signal_target;

static void on_stop_signal(int sig)
{
	struct worker *w = signal_target;

	(void)sig;
	if (w) {
		w->stop_requested = 1;
		if (w->context)
			lws_cancel_service(w->context);
	}
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

static uint64_t wall_clock_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static const struct lws_protocols *const protocols_list[] = {
	&http_api_protocol, /* first: plain HTTP requests land here */
	&ws_client_protocol,
};

#define PROTOCOL_COUNT (sizeof(protocols_list) / sizeof(protocols_list[0]))

/* lws wants a terminated array of structs. */
static struct lws_protocols protocols[PROTOCOL_COUNT + 1];

/* Upgrades that name no subprotocol go to the /ws/ protocol. */
static const struct lws_protocol_vhost_options pvo_default = {
	NULL, NULL, "default", "1"
};
static const struct lws_protocol_vhost_options pvo_ws = {
	NULL, &pvo_default, WS_CLIENT_PROTOCOL_NAME, ""
};

#define API_MOUNT(next, path)                                             \
	{ .mount_next = next, .mountpoint = path, .origin = HTTP_API_PROTOCOL_NAME, \
	  .protocol = HTTP_API_PROTOCOL_NAME,                                     \
	  .origin_protocol = LWSMPRO_CALLBACK,                                    \
	  .mountpoint_len = sizeof(path) - 1 }

/*
 * lws picks the longest matching file mount but the last matching callback
 * mount, so the catch-all "/" comes first and the API paths after it.
 */
static struct lws_http_mount mount_root;
static const struct lws_http_mount mount_ws = API_MOUNT(NULL, "/ws");
static const struct lws_http_mount mount_api = API_MOUNT(&mount_ws, "/api");
static const struct lws_http_mount mount_metrics =
	API_MOUNT(&mount_api, "/metrics");
static const struct lws_http_mount mount_health =
	API_MOUNT(&mount_metrics, "/health");

static void on_redis_message(void *arg, const char *channel,
			     size_t channel_len, const char *payload,
			     size_t payload_len)
{
	router_redis_message(arg, channel, channel_len, payload, payload_len);
}

static void on_redis_state(void *arg, int ready)
{
	router_redis_state(arg, ready);
}

static const struct redis_bridge_ops redis_ops = {
	.on_message = on_redis_message,
	.on_state = on_redis_state,
};

static struct lws_context *create_context(struct worker *w,
					  lws_retry_bo_t *retry,
					  void **foreign_loops)
{
	const struct config *cfg = w->cfg;
	struct lws_context_creation_info info;

	for (size_t i = 0; i < PROTOCOL_COUNT; i++) {
		protocols[i] = *protocols_list[i];
		if (protocols_list[i] == &ws_client_protocol)
			protocols[i].rx_buffer_size = (size_t)cfg->read_buffer;
	}

	memset(&mount_root, 0, sizeof(mount_root));
	mount_root.mount_next = &mount_health;
	mount_root.mountpoint = "/";
	mount_root.mountpoint_len = 1;
	/*
	 * Name the protocol: lws binds a new connection to the vhost's default
	 * protocol (the /ws/ one, for upgrades without a subprotocol), and
	 * file serving must complete its transactions in the HTTP protocol's
	 * callback, or a keep-alive connection serves its first file again for
	 * every later request (seen with curl and Chromium).
	 */
	mount_root.protocol = HTTP_API_PROTOCOL_NAME;
	if (cfg->web_root) {
		mount_root.origin = cfg->web_root;
		mount_root.def = "index.html";
		mount_root.origin_protocol = LWSMPRO_FILE;
	} else {
		mount_root.origin = HTTP_API_PROTOCOL_NAME;
		mount_root.origin_protocol = LWSMPRO_CALLBACK;
	}

	/*
	 * lws's own validity pings stay off (a policy whose hangup time is 0):
	 * lws 4.1.6 re-sorts one timer per connection in a single list on each
	 * ping and pong, which made idle sessions cost CPU with the square of
	 * their number. The hub pings from its own wheel (server/heartbeat.c).
	 */
	memset(retry, 0, sizeof(*retry));

	memset(&info, 0, sizeof(info));
	info.port = cfg->port;
	if (strcmp(cfg->host, "0.0.0.0")) {
		info.iface = cfg->host;
		if (!strchr(cfg->host, ':'))
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	}
	info.protocols = protocols;
	info.pvo = &pvo_ws;
	info.mounts = &mount_root;
	info.user = w;
	info.retry_and_idle_policy = retry;
	/* h2 of lws 4.1.6 stays unreachable: only http/1.1 is offered over TLS,
	 * and plaintext "Upgrade: h2c" is refused in http_api.c */
	info.alpn = "http/1.1";
	if (cfg->tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
		/* TLS 1.2 and newer only */
		info.ssl_options_set = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 |
				       SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	}
	info.server_string = "herald";
	/* room for a 4 KiB query (HANDSHAKE_MAX_QUERY) plus ordinary headers,
	 * so herald, not lws, answers an over-long query with a 400 */
	info.max_http_header_data = 8192;
	info.vhost_name = "herald";
	/*
	 * lws runs on the worker's libev loop (epoll) instead of its own
	 * poll(): poll() walks every socket on each wake-up, 11% of the CPU
	 * of a 10k-subscriber fan-out (docs/benchmarks.md).
	 */
	info.options |= LWS_SERVER_OPTION_LIBEV;
	info.foreign_loops = foreign_loops;
	info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8 |
			LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
			LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	return lws_create_context(&info);
}

/* Stops accepting, closes every session (CLOSE_SHUTDOWN) after flushing what it
 * has queued, and services the loop until all are gone or time is up. */
static void drain(struct worker *w)
{
	lws_usec_t deadline = lws_now_usecs() + DRAIN_TIMEOUT_US;

	w->draining = 1;
	service_notify_stopping();
	log_msg(LOG_INFO, "main", "draining %u sessions",
		hub_session_count(w->hub));
	hub_close_all(w->hub, CLOSE_SHUTDOWN);
	while (hub_session_count(w->hub) && lws_now_usecs() < deadline)
		ev_run(w->loop, EVRUN_ONCE);
	if (hub_session_count(w->hub))
		log_msg(LOG_WARN, "main", "%u sessions still open at the drain "
			"deadline; dropping them", hub_session_count(w->hub));
	/*
	 * A session leaves the hub when lws takes over its close; lws sends
	 * the close frame on the socket's next writable event. A few passes
	 * that do not block send them to every peer that still reads.
	 */
	for (int pass = 0; pass < DRAIN_FLUSH_PASSES; pass++)
		ev_run(w->loop, EVRUN_NOWAIT);
}

int main(int argc, char **argv, char **envp)
{
	static struct config cfg;
	static struct worker w;
	struct hub_limits limits;
	lws_retry_bo_t retry;
	char err[512];
	int rc = 0;

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

	w.cfg = &cfg;
	w.started_ms = wall_clock_ms();
	w.started_mono = lws_now_usecs();
	limits.max_queue = (size_t)cfg.max_queue;
	limits.max_sessions = cfg.max_connections;
	limits.heartbeat_s = (unsigned)cfg.heartbeat;
	w.hub = hub_create(&ws_client_hub_ops, &limits, &w.metrics, w.started_ms);
	if (!w.hub) {
		log_msg(LOG_ERROR, "main", "out of memory");
		return 1;
	}

	signal_target = &w;
	install_signals();
	fit_fd_limit(cfg.max_connections);

	w.loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!w.loop) {
		log_msg(LOG_ERROR, "main", "cannot create the epoll loop");
		hub_destroy(w.hub);
		return 1;
	}
	w.context = create_context(&w, &retry, (void **)&w.loop);
	if (!w.context) {
		log_msg(LOG_ERROR, "main", "cannot listen on %s:%d",
			cfg.host, cfg.port);
		ev_loop_destroy(w.loop);
		hub_destroy(w.hub);
		return 1;
	}
	if (cfg.redis.kind != REDIS_NONE) {
		w.redis = redis_bridge_create(w.loop, &cfg.redis,
					      cfg.redis_prefix, cfg.node_id,
					      w.index, &redis_ops, &w);
		if (!w.redis) {
			log_msg(LOG_ERROR, "main", "out of memory");
			rc = 1;
			goto out;
		}
	}
	sys_channel_start(&w);
	worker_heartbeat_start(&w);
	log_msg(LOG_INFO, "main",
		"herald listening on %s:%d (%s) node=%s web_root=%s redis=%s",
		cfg.host, cfg.port, cfg.tls_cert ? "wss/https" : "ws/http",
		cfg.node_id,
		cfg.web_root ? cfg.web_root : "none",
		cfg.redis.kind == REDIS_NONE ? "none"
		: cfg.redis.kind == REDIS_UNIX ? cfg.redis.path : cfg.redis.host);
	service_notify_ready();

	while (!w.stop_requested)
		ev_run(w.loop, EVRUN_ONCE);

	if (w.stop_requested)
		drain(&w);
out:
	worker_heartbeat_stop(&w);
	sys_channel_stop(&w);
	redis_bridge_destroy(w.redis);
	w.redis = NULL;
	lws_context_destroy(w.context);
	w.context = NULL;
	ev_loop_destroy(w.loop);
	hub_destroy(w.hub);
	log_msg(LOG_INFO, "main", "herald stopped");
	return rc;
}
