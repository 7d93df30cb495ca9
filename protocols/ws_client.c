/*
 * ws_client — the lws protocol behind /ws/<client_id>: translates lws
 * events into hub and router calls and holds no policy of its own.
 *
 * Lifecycle of a session (pss = struct ws_session, zeroed by lws):
 *   FILTER_PROTOCOL_CONNECTION  handshake, Origin and token checks; a
 *                               refusal writes an HTTP status with a JSON
 *                               body and allocates nothing
 *   ESTABLISHED                 token grant, hub_session_open, ?channels=,
 *                               welcome frame
 *   RECEIVE                     reassembly up to max-message-size, rate
 *                               limit, then router
 *   (hub wake)                  frames for another session are written at
 *                               once when lws holds nothing back for it
 *   SERVER_WRITEABLE            write queued frames until lws must buffer;
 *                               then close if a close code is set
 *   CLOSED / DROP_PROTOCOL      hub_session_close, free grant and buffer
 *
 * Thread: the worker's lws service thread.
 */
#include "ws_client.h"
#include "auth.h"
#include "handshake.h"
#include "http_api.h"
#include "hub.h"
#include "log.h"
#include "message.h"
#include "rate.h"
#include "router.h"
#include "worker.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define WS_MAX_ARGS 32
#define WS_ARG_BUF (HANDSHAKE_MAX_QUERY + 64)

struct ws_session {
	struct hub_session hub;      /* first: lws user space is the session */
	unsigned char *rx;           /* reassembly buffer for multi-part input */
	size_t rx_len;
	size_t rx_cap;
	uint8_t rx_binary;
	uint8_t opened;              /* registered with the hub */
	uint8_t write_failed;        /* a direct write failed: close it */
	struct rate_bucket rate;
};

/* The query arguments, decoded by lws, copied into one buffer. */
struct ws_args {
	const char *argv[WS_MAX_ARGS];
	size_t argc;
	char buf[WS_ARG_BUF];
	int overflow;
};

static void ws_read_args(struct lws *wsi, struct ws_args *a)
{
	size_t used = 0;

	a->argc = 0;
	a->overflow = 0;
	for (int i = 0; i < 255; i++) {
		int n = lws_hdr_copy_fragment(wsi, a->buf + used,
					      (int)(sizeof(a->buf) - used),
					      WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0) {
			/* -1: no such fragment; anything else: too long */
			if (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS,
						    i) > 0)
				a->overflow = 1;
			break;
		}
		if (a->argc == WS_MAX_ARGS) {
			a->overflow = 1;
			break;
		}
		a->argv[a->argc++] = a->buf + used;
		used += (size_t)n + 1;
	}
}

/* Writes "HTTP/1.1 <status>" with a JSON error body on a connection that has
 * not been upgraded; the caller then returns -1 so lws closes it. */
static void ws_refuse(struct lws *wsi, int status, const char *error)
{
	unsigned char buf[LWS_PRE + 512];
	char body[160];
	const char *reason;
	int blen, n;

	switch (status) {
	case 400: reason = "Bad Request"; break;
	case 401: reason = "Unauthorized"; break;
	case 403: reason = "Forbidden"; break;
	case 404: reason = "Not Found"; break;
	default: reason = "Service Unavailable"; break;
	}
	blen = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", error);
	n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
		     "HTTP/1.1 %d %s\r\n"
		     "content-type: application/json\r\n"
		     "content-length: %d\r\n"
		     "connection: close\r\n\r\n%s",
		     status, reason, blen, body);
	if (n > 0 && n < (int)(sizeof(buf) - LWS_PRE))
		lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP);
}

#define WS_BEARER_PROTOCOL_PREFIX "bearer."

/*
 * Finds the connection's token: ?token=, "Authorization: Bearer <t>", or a
 * "bearer.<t>" entry of Sec-WebSocket-Protocol (for browsers). Copies it
 * into buf; returns its length, 0 when there is none.
 */
static size_t ws_find_token(struct lws *wsi, const struct ws_args *args,
			    char *buf, size_t cap)
{
	const char *p, *end;
	size_t n;
	int len;

	for (size_t i = 0; i < args->argc; i++)
		if (!strncmp(args->argv[i], "token=", 6)) {
			n = strlen(args->argv[i] + 6);
			if (n >= cap)
				return 0;
			memcpy(buf, args->argv[i] + 6, n + 1);
			return n;
		}
	len = lws_hdr_copy(wsi, buf, (int)cap, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (len > 7 && !strncasecmp(buf, "Bearer ", 7)) {
		memmove(buf, buf + 7, (size_t)len - 6);
		return (size_t)len - 7;
	}
	len = lws_hdr_copy(wsi, buf, (int)cap, WSI_TOKEN_PROTOCOL);
	for (p = buf; len > 0 && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n > strlen(WS_BEARER_PROTOCOL_PREFIX) &&
		    !strncmp(p, WS_BEARER_PROTOCOL_PREFIX,
			     strlen(WS_BEARER_PROTOCOL_PREFIX))) {
			p += strlen(WS_BEARER_PROTOCOL_PREFIX);
			n -= strlen(WS_BEARER_PROTOCOL_PREFIX);
			memmove(buf, p, n);
			buf[n] = '\0';
			return n;
		}
		if (!end)
			break;
		p = end + 1;
	}
	return 0;
}

struct ws_channel_check {
	const struct auth_grant *grant;
	int refused;
};

static void ws_check_channel(const char *channel, size_t len, void *arg)
{
	struct ws_channel_check *c = arg;
	char name[NAMES_CHANNEL_MAX + 1];

	memcpy(name, channel, len);
	name[len] = '\0';
	if (!auth_grant_allows(c->grant, name))
		c->refused = 1;
}

/*
 * With --token-secret: verifies the connection's token. Returns 0 and,
 * when grant is not NULL, the token's channel limits; else the HTTP status
 * to refuse with and the reason in *why.
 */
static int ws_authorize(struct lws *wsi, const struct ws_args *args,
			const char *client_id, struct auth_grant **grant,
			const char **why)
{
	const char *secret = worker_of(wsi)->cfg->token_secret;
	char token[AUTH_MAX_TOKEN + 1];
	struct auth_grant *g = NULL;
	enum auth_result r;
	size_t len;

	if (!secret)
		return 0;
	len = ws_find_token(wsi, args, token, sizeof(token));
	r = auth_verify(secret, token, len, client_id, time(NULL), &g);
	if (r != AUTH_OK) {
		*why = auth_result_text(r);
		return 401;
	}
	if (grant) {
		*grant = g;
		return 0;
	}
	{
		struct ws_channel_check check = { g, 0 };

		handshake_foreach_channel(args->argv, args->argc,
					  ws_check_channel, &check);
		auth_grant_free(g);
		if (check.refused) {
			*why = "the token does not allow a requested channel";
			return 403;
		}
	}
	return 0;
}

/* With --allowed-origins: a browser's Origin must be listed. */
static int ws_origin_allowed(struct lws *wsi)
{
	const char *allow = worker_of(wsi)->cfg->allowed_origins;
	char origin[256];
	int n;

	if (!allow || !lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN))
		return 1; /* not a browser, or no list: no check */
	n = lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN);
	return n > 0 && config_origin_allowed(allow, origin, (size_t)n);
}

/*
 * Reads the query into args and checks the path and query (handshake.c):
 * 0 with res->client_id set, else the HTTP status to refuse with.
 */
static int ws_check_request(struct lws *wsi, struct ws_args *args,
			    struct handshake_result *res)
{
	char path[256];

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0) {
		/* no GET path (another method, or longer than any valid one) */
		res->error = "not found";
		res->client_id[0] = '\0';
		return 404;
	}
	ws_read_args(wsi, args);
	return handshake_check(path, args->argv, args->argc, res);
}

static int ws_filter(struct lws *wsi)
{
	struct worker *w = worker_of(wsi);
	struct handshake_result res;
	struct ws_args args;
	int status;

	status = ws_check_request(wsi, &args, &res);
	if (!status && args.overflow) {
		status = 400;
		res.error = "query string too long";
	}
	if (!status && !ws_origin_allowed(wsi)) {
		status = 403;
		res.error = "origin not allowed";
	}
	if (!status)
		status = ws_authorize(wsi, &args, res.client_id, NULL,
				      &res.error);
	if (!status && w->draining) {
		status = 503;
		res.error = "server is shutting down";
	}
	if (!status && (long)hub_session_count(w->hub) >=
			       w->cfg->max_connections) {
		status = 503;
		res.error = "connection limit reached";
	}
	if (!status)
		return 0;
	w->metrics.refused_total++;
	log_msg(LOG_INFO, "ws", "refused upgrade status=%d client_id=%s reason=%s",
		status, res.client_id[0] ? res.client_id : "-", res.error);
	ws_refuse(wsi, status, res.error);
	return -1;
}

static void ws_subscribe_arg(const char *channel, size_t len, void *arg)
{
	struct lws *wsi = arg;
	struct ws_session *pss = lws_wsi_user(wsi);
	char name[NAMES_CHANNEL_MAX + 1];

	memcpy(name, channel, len);
	name[len] = '\0';
	if (router_subscribe(worker_of(wsi), &pss->hub, name))
		log_msg(LOG_WARN, "ws", "client_id=%s could not subscribe to %s",
			pss->hub.client_id, name);
}

static int ws_established(struct lws *wsi, struct ws_session *pss)
{
	struct worker *w = worker_of(wsi);
	struct handshake_result res;
	struct ws_args args;
	char session[32];
	struct frame *f;
	const char *why;

	pss->hub.transport = wsi;
	/*
	 * FILTER checked all this already. Reading it again here is cheaper
	 * than carrying a 65-byte client id copy in every session, and keeps
	 * the token's channel list.
	 */
	if (ws_check_request(wsi, &args, &res) ||
	    ws_authorize(wsi, &args, res.client_id, &pss->hub.grant, &why))
		return -1;
	if (hub_session_open(w->hub, &pss->hub, res.client_id))
		return -1;
	pss->opened = 1;
	w->metrics.connections_total++;

	handshake_foreach_channel(args.argv, args.argc, ws_subscribe_arg, wsi);

	snprintf(session, sizeof(session), "%d-%" PRIu64, w->index,
		 pss->hub.id);
	f = message_frame_welcome(pss->hub.client_id, session, w->cfg->node_id,
				  w->cfg->heartbeat);
	hub_deliver_session(w->hub, &pss->hub, f);
	frame_unref(f);
	log_msg(LOG_INFO, "ws", "session open client_id=%s session=%s",
		pss->hub.client_id, session);
	return 0;
}

static const char *ws_close_reason_text(uint16_t code)
{
	switch (code) {
	case 1001: return "server shutting down";
	case 1008: return "rate limit exceeded";
	case 1009: return "message too big";
	case 1011: return "out of memory";
	case 1013: return "slow consumer";
	default: return "closing";
	}
}

/*
 * Closes the session with code from its next WRITEABLE (hub_session_end):
 * what is queued is flushed first and input is ignored meanwhile. Closing
 * from RECEIVE at once would close the socket with the client's unread
 * frames in it, and the kernel's reset would then overtake the close frame
 * (1006, not the code). Always returns 0, for "return ws_close_later(...)".
 */
static int ws_close_later(struct lws *wsi, struct ws_session *pss,
			  uint16_t code)
{
	hub_session_end(worker_of(wsi)->hub, &pss->hub, code);
	return 0;
}

/* Applies --rate-limit to one complete message: 0 to handle it, 1 when
 * refused (an error reply is queued), -1 when the session abuses the limit
 * and must be closed with 1008. */
static int ws_rate_limited(struct ws_session *pss, struct worker *w,
			   const unsigned char *in, size_t len, int binary)
{
	struct client_msg m;
	struct frame *f;

	switch (rate_take(&pss->rate, w->cfg->rate_limit,
			  (uint64_t)lws_now_usecs())) {
	case RATE_OK:
		return 0;
	case RATE_LIMITED:
		w->metrics.rate_limited++;
		/* parsed only to copy its id into the refusal */
		message_parse(binary ? "" : (const char *)in, binary ? 0 : len,
			      &m);
		f = message_frame_error("rate_limited",
					"over the message rate limit", m.id);
		message_release(&m);
		hub_deliver_session(w->hub, &pss->hub, f);
		frame_unref(f);
		return 1;
	case RATE_ABUSE:
		break;
	}
	w->metrics.rate_limited++;
	w->metrics.rate_limit_closes++;
	log_msg(LOG_WARN, "ws",
		"closing client_id=%s: rate limit of %ld/s exceeded (1008)",
		pss->hub.client_id, w->cfg->rate_limit);
	return -1;
}

static int ws_receive(struct lws *wsi, struct ws_session *pss,
		      const unsigned char *in, size_t len)
{
	struct worker *w = worker_of(wsi);
	size_t max = (size_t)w->cfg->max_message_size;
	size_t remaining = lws_remaining_packet_payload(wsi);
	int final = lws_is_final_fragment(wsi);

	if (pss->hub.close_code)
		return 0; /* closing: input is ignored */
	/* any input proves the peer alive, not only pongs (the heartbeat) */
	hub_session_heard(&pss->hub, hub_now_ms());

	if (pss->rx_len + len + remaining > max) {
		w->metrics.oversize_closes++;
		log_msg(LOG_INFO, "ws",
			"closing client_id=%s: message over %zu bytes (1009)",
			pss->hub.client_id, max);
		return ws_close_later(wsi, pss, 1009);
	}

	if (!pss->rx_len && final) {
		/* the whole message arrived at once: no copy */
		pss->rx_binary = (uint8_t)lws_frame_is_binary(wsi);
		goto dispatch_in_place;
	}

	if (!pss->rx_len)
		pss->rx_binary = (uint8_t)lws_frame_is_binary(wsi);
	if (pss->rx_len + len > pss->rx_cap) {
		size_t cap = pss->rx_cap ? pss->rx_cap : 1024;
		unsigned char *grown;

		while (cap < pss->rx_len + len + remaining)
			cap *= 2;
		if (cap > max)
			cap = max;
		grown = realloc(pss->rx, cap);
		if (!grown)
			return ws_close_later(wsi, pss, 1011);
		pss->rx = grown;
		pss->rx_cap = cap;
	}
	memcpy(pss->rx + pss->rx_len, in, len);
	pss->rx_len += len;
	if (!final)
		return 0;
	in = pss->rx;
	len = pss->rx_len;

dispatch_in_place:
	w->metrics.messages_in++;
	w->metrics.bytes_in += len;
	switch (w->cfg->rate_limit
			? ws_rate_limited(pss, w, in, len, pss->rx_binary)
			: 0) {
	case -1:
		return ws_close_later(wsi, pss, 1008);
	case 1:
		break; /* refused: answered with rate_limited */
	default:
		if (pss->rx_binary)
			router_client_binary(w, &pss->hub, in, len);
		else
			router_client_text(w, &pss->hub, (const char *)in, len);
	}

	/* a large reassembly buffer is not kept for the next message */
	pss->rx_len = 0;
	if (pss->rx_cap > 4096) {
		free(pss->rx);
		pss->rx = NULL;
		pss->rx_cap = 0;
	}
	return 0;
}

/*
 * Writes queued frames until the queue is empty or lws had to keep part of
 * a frame (the kernel buffer is full). lws_partial_buffered() costs no
 * syscall, unlike lws_send_pipe_choked()'s poll(); lws then holds at most
 * the rest of one frame, and everything else stays in our bounded queue.
 * Returns -1 when the connection failed.
 */
static int ws_flush(struct lws *wsi, struct ws_session *pss)
{
	struct worker *w = worker_of(wsi);
	struct frame_queue *q = &pss->hub.queue;
	struct frame *f;

	while ((f = frame_queue_peek(q)) && !lws_partial_buffered(wsi)) {
		int n = lws_write(wsi, frame_payload(f), f->len,
				  f->ping ? LWS_WRITE_PING
				  : f->binary ? LWS_WRITE_BINARY
					      : LWS_WRITE_TEXT);

		if (n < (int)f->len) {
			log_msg(LOG_INFO, "ws", "write failed client_id=%s",
				pss->hub.client_id);
			return -1;
		}
		if (!f->ping) { /* pings are counted as pings_sent */
			w->metrics.messages_out++;
			w->metrics.bytes_out += f->len;
		}
		frame_queue_pop(q);
	}
	return 0;
}

static int ws_writeable(struct lws *wsi, struct ws_session *pss)
{
	struct frame_queue *q = &pss->hub.queue;

	/*
	 * Once we asked lws to close, it unbinds the protocol (ws_closed runs)
	 * and then sends the close frame and waits for the peer's answer.
	 * A WRITEABLE in between must not ask again: a second -1 makes lws
	 * drop the socket at once, resetting the connection before the
	 * client has read the close frame.
	 */
	if (!pss->opened)
		return 0;
	if (pss->write_failed || ws_flush(wsi, pss))
		return -1;
	if (q->count) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (pss->hub.close_code) {
		const char *reason = ws_close_reason_text(pss->hub.close_code);

		log_msg(LOG_INFO, "ws", "closing client_id=%s code=%u reason=%s",
			pss->hub.client_id, pss->hub.close_code, reason);
		lws_close_reason(wsi, (enum lws_close_status)pss->hub.close_code,
				 (unsigned char *)reason, strlen(reason));
		return -1;
	}
	return 0;
}

static void ws_closed(struct lws *wsi, struct ws_session *pss)
{
	struct worker *w = worker_of(wsi);

	if (pss->opened) {
		log_msg(LOG_INFO, "ws", "session closed client_id=%s session=%d-%" PRIu64,
			pss->hub.client_id, w->index, pss->hub.id);
		hub_session_close(w->hub, &pss->hub);
		pss->opened = 0;
	}
	auth_grant_free(pss->hub.grant);
	pss->hub.grant = NULL;
	free(pss->rx);
	pss->rx = NULL;
	pss->rx_len = pss->rx_cap = 0;
}

static int callback_ws_client(struct lws *wsi, enum lws_callback_reasons reason,
			      void *user, void *in, size_t len)
{
	struct ws_session *pss = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* a fresh connection is bound to this, the default protocol */
		return http_api_confirm_upgrade(wsi);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_filter(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(wsi, pss, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		hub_session_heard(&pss->hub, hub_now_ms());
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(wsi, pss);
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
		if (pss)
			ws_closed(wsi, pss);
		return 0;
	default:
		return 0;
	}
}

/*
 * Frames were queued on an empty queue: write them now when lws holds
 * nothing back for this connection. That saves the POLLOUT round trip
 * (epoll_ctl() on and off, a wake-up and a WRITEABLE callback per session),
 * which is most of the cost of a fan-out and of an echo. If the kernel
 * takes only part of a frame, lws keeps the rest and WRITEABLE goes on
 * from there; a failed write is reported by the next WRITEABLE, which
 * closes the session.
 */
static void ws_hub_wake(struct hub_session *s)
{
	struct ws_session *pss = lws_container_of(s, struct ws_session, hub);
	struct lws *wsi = s->transport;

	/*
	 * This includes replies to the session whose message is being
	 * handled (an echo): on the epoll loop, going through WRITEABLE
	 * instead costs two epoll_ctl() calls per message, a third of echo's
	 * throughput. A pong lws owes that session then follows the reply.
	 */
	if (pss->opened && !s->close_code && !pss->write_failed &&
	    !lws_partial_buffered(wsi) &&
	    ws_flush(wsi, pss))
		pss->write_failed = 1;
	if (s->queue.count || pss->write_failed)
		lws_callback_on_writable(wsi);
}

static void ws_hub_close(struct hub_session *s)
{
	/* WRITEABLE flushes what is queued, then closes with s->close_code;
	 * the hub drops a peer that never lets it finish (ws_hub_drop) */
	lws_callback_on_writable(s->transport);
}

static void ws_hub_drop(struct hub_session *s)
{
	/* lws closes it on its next service, not inside the hub's walk of
	 * its wheel. An immediate lws timer is filed ahead of every later
	 * one, so lws's sorted list is walked only past other kills due now,
	 * never past the open sessions (which have no lws timer). */
	lws_set_timeout(s->transport, PENDING_TIMEOUT_USER_OK,
			LWS_TO_KILL_ASYNC);
}

const struct hub_ops ws_client_hub_ops = {
	.wake = ws_hub_wake,
	.close = ws_hub_close,
	.drop = ws_hub_drop,
};

const struct lws_protocols ws_client_protocol = {
	.name = WS_CLIENT_PROTOCOL_NAME,
	.callback = callback_ws_client,
	.per_session_data_size = sizeof(struct ws_session),
	/* --read-buffer replaces this (main.c). lws allocates it per
	 * connection and reads at most that much per recv(), so it sets much
	 * of an idle session's memory and the syscalls a large message costs;
	 * messages arrive in pieces and are reassembled in ws_receive().
	 * lws 4.1.6 gathers a control frame's payload (up to 125 bytes) in
	 * it: 128 is the least that keeps pings and close reasons whole. */
	.rx_buffer_size = 128,
	/* lws would otherwise cut every write to rx_buffer_size and buffer the
	 * rest: let a whole frame go to the kernel in one send() */
	.tx_packet_size = 1 << 20,
};
