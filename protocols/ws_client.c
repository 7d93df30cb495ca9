/*
 * ws_client — the lws protocol behind /ws/<client_id> on TLS listeners:
 * translates lws events into ws_session calls and holds no policy of its
 * own. Plain TCP upgrades are herald's own (ws_conn.c); lws carries the
 * ones it cannot see the bytes of, and whatever ws_conn.c leaves to the
 * HTTP server.
 *
 * Lifecycle of a session (pss = struct ws_session, zeroed by lws):
 *   FILTER_PROTOCOL_CONNECTION  ws_session_admit; a refusal writes an HTTP
 *                               status with a JSON body
 *   ESTABLISHED                 ws_session_open
 *   RECEIVE                     ws_session_receive
 *   (hub wake)                  frames for another session are written at
 *                               once when lws holds nothing back for it
 *   SERVER_WRITEABLE            write queued frames until lws must buffer;
 *                               then close if a close code is set (once
 *                               lws holds no part of a frame any more)
 *   WS_PEER_INITIATED_CLOSE     the client closed: nothing it sends after
 *                               that is acted on; an invalid close code
 *                               is answered with 1002
 *   CLOSED / DROP_PROTOCOL      ws_session_closed
 *
 * Thread: the worker's lws service thread.
 */
#include "ws_client.h"
#include "ws_request.h"
#include "ws_session.h"
#include "close_code.h"
#include "http_api.h"
#include "hub.h"
#include "log.h"
#include "worker.h"

#include <string.h>

static const struct hub_ops ws_client_hub_ops;

/* The admitted upgrade's request, gathered again from lws's headers. */
static int ws_filter(struct lws *wsi, struct ws_session *pss)
{
	struct worker *w = worker_of(wsi);
	struct admission_result res;
	struct ws_request r;

	ws_request_gather(wsi, &r);
	pss->ops = &ws_client_hub_ops;
	if (!ws_session_admit(w, pss, &r.req, &res))
		return 0;
	http_api_refuse_upgrade(wsi, res.status, res.error);
	return -1;
}

static int ws_established(struct lws *wsi, struct ws_session *pss)
{
	struct ws_request r;

	/*
	 * FILTER let it in. Reading the request again here is cheaper than
	 * carrying a 65-byte client id copy in every session, and gives the
	 * token's channel grant.
	 */
	ws_request_gather(wsi, &r);
	return ws_session_open(worker_of(wsi), pss, &r.req, wsi);
}

/*
 * Closes the session with code from its next WRITEABLE (hub_session_end):
 * what is queued is flushed first and input is ignored meanwhile. Closing
 * from RECEIVE at once would close the socket with the client's unread
 * frames in it, and the kernel's reset would then overtake the close frame
 * (1006, not the code).
 */
static int ws_receive(struct lws *wsi, struct ws_session *pss,
		      const unsigned char *in, size_t len)
{
	struct worker *w = worker_of(wsi);
	size_t remaining = lws_remaining_packet_payload(wsi);
	int code = ws_session_receive(w, pss, in, len, remaining,
				      lws_is_final_fragment(wsi),
				      lws_frame_is_binary(wsi));

	if (code)
		hub_session_end(w->hub, &pss->hub, (enum close_code)code);
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
			metric_add(&w->metrics.messages_out, 1);
			metric_add(&w->metrics.bytes_out, f->len);
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
	if (!pss->opened || pss->peer_closed)
		return 0; /* lws answers the client's close itself */
	if (ws_flush(wsi, pss))
		return -1;
	if (q->count) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (pss->hub.close_code && lws_partial_buffered(wsi)) {
		/*
		 * The last frame went out only in part. Closing now would make
		 * lws flush that part and then hang up without a close frame
		 * (the client sees 1006): wait for the rest to drain first.
		 * lws's own POLLOUT service finishes it before calling us again.
		 */
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (pss->hub.close_code) {
		const char *reason = close_code_reason(pss->hub.close_code);

		log_msg(LOG_INFO, "ws", "closing client_id=%s code=%u reason=%s",
			pss->hub.client_id, pss->hub.close_code, reason);
		lws_close_reason(wsi, (enum lws_close_status)pss->hub.close_code,
				 (unsigned char *)reason, strlen(reason));
		return -1;
	}
	return 0;
}

/*
 * The client's close frame (payload in/len: code and reason). From here on
 * herald acts on nothing the client sends: lws 4.1.6 still passes data
 * frames that follow the close to RECEIVE (its fast path for payload bytes
 * only checks whether lws itself started closing), so ws_receive() drops
 * them. lws then echoes the payload in its own close frame and hangs up.
 * An invalid code or a 1-byte payload is a protocol error, answered with
 * 1002 (docs/protocol.md, "When the client closes"):
 *  - a code lws does not know to be invalid (5000 and up; it rewrites the
 *    others to 1002 itself before calling us) is rewritten to 1002 in the
 *    payload lws is about to echo;
 *  - a 1-byte payload cannot be grown into a code, so herald returns -1
 *    with 1002 as its close reason: lws sends that and waits (at most 5 s)
 *    for the client to hang up.
 */
static int ws_peer_closed(struct lws *wsi, struct ws_session *pss,
			  unsigned char *in, size_t len)
{
	static const char reason[] = "invalid close frame";
	unsigned code = len >= 2 ? (unsigned)in[0] << 8 | in[1] : 0;

	if (pss)
		pss->peer_closed = 1;
	if (len == 0 || (len >= 2 && close_code_valid_from_peer(code)))
		return 0;
	log_msg(LOG_INFO, "ws",
		"client_id=%s sent an invalid close frame (%zu bytes, code %u): 1002",
		pss && pss->opened ? pss->hub.client_id : "-", len, code);
	if (len >= 2) {
		in[0] = LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8;
		in[1] = LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff;
		return 0;
	}
	lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
			 (unsigned char *)reason, sizeof(reason) - 1);
	return -1;
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
		return ws_filter(wsi, pss);
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(wsi, pss, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return ws_peer_closed(wsi, pss, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		hub_session_heard(&pss->hub, hub_now_ms());
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(wsi, pss);
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
		if (pss)
			ws_session_closed(worker_of(wsi), pss);
		return 0;
	default:
		return 0;
	}
}

static void ws_hub_drop(struct hub_session *s);

/*
 * Frames were queued on an empty queue: write them now when lws holds
 * nothing back for this connection. That saves the POLLOUT round trip
 * (epoll_ctl() on and off, a wake-up and a WRITEABLE callback per session),
 * which is most of the cost of a fan-out and of an echo. If the kernel
 * takes only part of a frame, lws keeps the rest and WRITEABLE goes on
 * from there; a failed write closes the session at once.
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
	if (!pss->opened || s->close_code || pss->peer_closed)
		return;
	if (!lws_partial_buffered(wsi) && ws_flush(wsi, pss)) {
		/*
		 * The socket failed: lws has marked it unusable, so it would
		 * never call WRITEABLE again and the session would linger
		 * until the heartbeat dropped it. Close it on lws's next
		 * service (not here, inside someone else's delivery).
		 */
		ws_hub_drop(s);
		return;
	}
	if (s->queue.count)
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
	struct lws *wsi = s->transport;

	/*
	 * lws closes it on its next service, not inside the hub's walk of its
	 * wheel. An immediate lws timer is filed ahead of every later one, so
	 * lws's sorted list is walked only past other drops due now, never
	 * past the open sessions (which have no lws timer). lws arms its
	 * timers only after an event of its own, so it is woken for this one.
	 */
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	lws_cancel_service(lws_get_context(wsi));
}

static const struct hub_ops ws_client_hub_ops = {
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
