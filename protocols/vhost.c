/*
 * vhost — one worker's lws contexts (server/transport.h): the protocols
 * (HTTP API first, then /ws/), the mounts (the dashboard's files at /, the
 * API paths) and TLS, on the worker's libev loop, serving the sockets
 * herald accepts (server/listener.c). lws glue only: every choice here is
 * about lws 4.1.6's behaviour.
 *
 * Thread: the worker's thread. The arrays lws keeps pointers to
 * (protocols, the root mount, the retry policy) live in the worker's
 * struct transport, so workers share no mutable state.
 */
#include "transport.h"
#include "http_api.h"
#include "log.h"
#include "worker.h"
#include "ws_client.h"
#include "ws_conn.h"

#include <fcntl.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <string.h>

/* descriptors a new lws context opens for itself, with room to spare */
#define VHOST_FDS_HEADROOM 32

static const struct lws_protocols *const protocols_list[] = {
	&http_api_protocol, /* first: plain HTTP requests land here */
	&ws_client_protocol,
};

_Static_assert(sizeof(protocols_list) / sizeof(protocols_list[0]) ==
		       TRANSPORT_PROTOCOLS,
	       "TRANSPORT_PROTOCOLS counts the protocols of protocols_list");

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
static const struct lws_http_mount mount_ws = API_MOUNT(NULL, "/ws");
static const struct lws_http_mount mount_api = API_MOUNT(&mount_ws, "/api");
static const struct lws_http_mount mount_metrics =
	API_MOUNT(&mount_api, "/metrics");
static const struct lws_http_mount mount_health =
	API_MOUNT(&mount_metrics, "/health");

static void vhost_mount_root(struct lws_http_mount *root,
			     const struct config *cfg)
{
	memset(root, 0, sizeof(*root));
	root->mount_next = &mount_health;
	root->mountpoint = "/";
	root->mountpoint_len = 1;
	/*
	 * Name the protocol: lws binds a new connection to the vhost's default
	 * protocol (the /ws/ one, for upgrades without a subprotocol), and
	 * file serving must complete its transactions in the HTTP protocol's
	 * callback, or a keep-alive connection serves its first file again for
	 * every later request (seen with curl and Chromium).
	 */
	root->protocol = HTTP_API_PROTOCOL_NAME;
	if (cfg->web_root) {
		root->origin = cfg->web_root;
		root->def = "index.html";
		root->origin_protocol = LWSMPRO_FILE;
	} else {
		root->origin = HTTP_API_PROTOCOL_NAME;
		root->origin_protocol = LWSMPRO_CALLBACK;
	}
}

static struct lws_context *vhost_create_shard(struct worker *w)
{
	struct transport *t = &w->transport;
	const struct config *cfg = w->cfg;
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	/* herald accepts (server/listener.c) and hands sockets over */
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = t->_protocols;
	info.pvo = &pvo_ws;
	info.mounts = &t->_mount_root;
	info.user = w;
	info.retry_and_idle_policy = &t->_retry;
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
	t->_foreign_loops[0] = w->loop;
	info.foreign_loops = t->_foreign_loops;
	info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8 |
			LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
	return lws_create_context(&info);
}

/*
 * Makes shard i for the descriptors up to its share of the open-files
 * limit: lws 4.1.6 sizes a context's fd table, and so the scan of it on
 * every close (transport.h), from the soft limit in force when the
 * context is made, so the limit is lowered for that moment. Shard i's top
 * is (i + 1) / count of the limit, and above every descriptor open now
 * (lws opens its own while it makes the context). The limit is the
 * process's: this runs before any worker's thread starts (node_threads.c).
 * Sessions fill the low shards first, as the kernel hands out the lowest
 * free descriptor.
 */
static struct lws_context *vhost_create_shard_below(struct worker *w,
						    struct transport *t,
						    unsigned i)
{
	struct lws_context *cx;
	struct rlimit rl, lowered;
	int next_fd = fcntl(0, F_DUPFD_CLOEXEC, 0);
	rlim_t top;

	if (next_fd >= 0)
		close(next_fd);
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    next_fd < 0) {
		t->_top[i] = INT_MAX;
		return vhost_create_shard(w);
	}
	top = rl.rlim_cur / t->_count * (i + 1);
	if (i == t->_count - 1 || top > rl.rlim_cur)
		top = rl.rlim_cur;
	if (top < (rlim_t)next_fd + VHOST_FDS_HEADROOM)
		top = (rlim_t)next_fd + VHOST_FDS_HEADROOM;
	if (top > rl.rlim_cur)
		top = rl.rlim_cur;
	lowered = rl;
	lowered.rlim_cur = top;
	setrlimit(RLIMIT_NOFILE, &lowered);
	cx = vhost_create_shard(w);
	setrlimit(RLIMIT_NOFILE, &rl);
	t->_top[i] = (int)top;
	return cx;
}

int transport_create(struct worker *w)
{
	struct transport *t = &w->transport;
	const struct config *cfg = w->cfg;

	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < TRANSPORT_PROTOCOLS; i++) {
		t->_protocols[i] = *protocols_list[i];
		if (protocols_list[i] == &ws_client_protocol)
			t->_protocols[i].rx_buffer_size =
				(size_t)cfg->read_buffer;
	}
	vhost_mount_root(&t->_mount_root, cfg);
	/*
	 * t->_retry stays zeroed: lws's own validity pings are off (a policy
	 * whose hangup time is 0):
	 * lws 4.1.6 re-sorts one timer per connection in a single list on each
	 * ping and pong, which made idle sessions cost CPU with the square of
	 * their number. The hub pings from its own wheel (docs/design.md,
	 * "Heartbeat and deadlines").
	 */
	/*
	 * One context with TLS: with several TLS server contexts in one
	 * process, lws 4.1.6 refused some adoptions and leaked OpenSSL
	 * objects (seen under ASan), so a TLS worker keeps its sessions in
	 * one context.
	 */
	t->_count = cfg->tls_cert ? 1 : TRANSPORT_SHARDS;
	for (unsigned i = 0; i < t->_count; i++) {
		t->_shards[i] = vhost_create_shard_below(w, t, i);
		t->_vhosts[i] = t->_shards[i]
			? lws_get_vhost_by_name(t->_shards[i], "herald") : NULL;
		/*
		 * Now, not on the context's first connection: lws 4.1.6 with a
		 * foreign loop initialises the protocols lazily, and an
		 * upgrade that came first met a vhost with no default
		 * protocol yet (the HTTP API's, which refuses it). Seen with
		 * several workers, whose other contexts got no /health first.
		 */
		if (t->_vhosts[i] && lws_protocol_init(t->_shards[i]))
			t->_vhosts[i] = NULL;
		if (!t->_vhosts[i]) {
			log_msg(LOG_ERROR, "transport", "cannot create the lws "
				"context%s", cfg->tls_cert
				? " (check --tls-cert and --tls-key)" : "");
			transport_destroy(w);
			return -1;
		}
	}
	return 0;
}

/* The shard whose range holds fd (vhost_create_shard_below). */
static struct lws_vhost *vhost_for_fd(struct transport *t, int fd)
{
	unsigned shard = 0;

	while (shard < t->_count - 1 && fd >= t->_top[shard])
		shard++;
	return t->_vhosts[shard];
}

void transport_adopt(struct worker *w, int fd)
{
	if (!w->cfg->tls_cert)
		ws_conn_accept(w, fd);
	else
		transport_adopt_lws(w, fd);
}

void transport_adopt_lws(struct worker *w, int fd)
{
	/* lws closes fd itself when it cannot adopt it (a failed TLS
	 * handshake ends here too) */
	if (!lws_adopt_socket_vhost(vhost_for_fd(&w->transport, fd), fd))
		log_msg(LOG_DEBUG, "transport", "lws did not take a new "
			"connection");
}

void transport_destroy(struct worker *w)
{
	struct transport *t = &w->transport;

	ws_conn_close_all(w);

	for (unsigned i = 0; i < TRANSPORT_SHARDS; i++) {
		if (t->_shards[i])
			lws_context_destroy(t->_shards[i]);
		t->_shards[i] = NULL;
		t->_vhosts[i] = NULL;
	}
}
