/*
 * ws_conn — see ws_conn.h.
 *
 * Lifecycle (state):
 *   REQUEST   the request head is read (at most 8 KiB, 5 s). A plain
 *             upgrade to /ws/<id> is admitted (ws_session_admit; a refusal
 *             is answered here, then HANGUP) and opened
 *             (ws_session_open): the 101 waits in `out` and leaves with
 *             the welcome in one sendmsg(). Anything else goes to lws
 *             untouched: its bytes were only peeked.
 *   OPEN      frames are read and unmasked in place; data goes to
 *             ws_session_receive, pings are answered, pongs heard. Queued
 *             frames are written straight from the shared frames, many
 *             per sendmsg(), with EV_WRITE watched only while the kernel
 *             buffer is full.
 *   CLOSING   herald sent its close frame (a close code from the hub, or
 *             a protocol error): input is read only for the client's
 *             close, which ends it, as does EOF or 5 s.
 *   HANGUP    the socket is closed once `out` is written: a refusal, or
 *             the answer to the client's close.
 *   DEAD      freed on the loop's next iteration, never inside a call
 *             from the hub (which may be walking its sessions).
 *
 * Control bytes (101, pong, close) wait in `out` and go out at the next
 * frame boundary: before the queue, or after the rest of a frame the
 * kernel took only part of (partial).
 */
#include "ws_conn.h"

#include "http_api.h"
#include "ws_client.h"
#include "ws_request.h"
#include "ws_session.h"
#include "ws_wire.h"
#include "close_code.h"
#include "frame.h"
#include "hub.h"
#include "log.h"
#include "transport.h"
#include "worker.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define WS_CONN_REQUEST_MAX 8192     /* as lws's max_http_header_data */
#define WS_CONN_PEEK_FIRST 0.005     /* s before a partial head is peeked
					 again; doubles each time */
#define WS_CONN_PEEK_MAX 0.32
#define WS_CONN_REQUEST_TIMEOUT 5.0  /* s to send the whole request head */
#define WS_CONN_CLOSE_TIMEOUT 5.0    /* s for the client's close frame */
#define WS_CONN_READ_CHUNK 16384
#define WS_CONN_READ_ROUNDS 4        /* reads per event: others' turn next */
#define WS_CONN_FRAMES_PER_WRITE 32  /* frames per sendmsg() */

enum ws_conn_state {
	WS_CONN_REQUEST,
	WS_CONN_OPEN,
	WS_CONN_CLOSING,
	WS_CONN_HANGUP,
	WS_CONN_DEAD,
};

struct ws_conn {
	struct ws_session s;          /* first: the hub's session is this */
	struct lws_dll2 in_transport; /* w->transport._conns */
	struct worker *w;
	ev_io io;
	ev_timer timer;               /* request, close and free deadlines */
	int fd;
	uint8_t state;
	uint8_t writing;              /* io also watches EV_WRITE */
	uint8_t in_payload;           /* reading the payload of `frame` */
	uint8_t message_open;         /* a data message awaits continuations */
	uint8_t message_binary;
	uint8_t head_len;             /* header bytes gathered in head */
	uint8_t ctl_len;              /* control payload gathered in ctl */
	uint8_t rx_broken;            /* a protocol error: input is only
					 drained from here on */
	uint8_t head[WS_HEAD_MAX];
	uint8_t ctl[WS_CONTROL_MAX];
	struct ws_frame_head frame;   /* the frame being read */
	uint64_t frame_done;          /* its payload bytes read */
	struct ws_utf8 utf8;          /* the text message being read */
	ev_tstamp request_until;      /* REQUEST: the head's deadline */
	double peek_wait;             /* REQUEST: s until the next peek */
	uint8_t *out;                 /* control bytes due at a boundary */
	size_t out_len, out_off, out_cap;
	struct frame *partial;        /* a frame the kernel took in part,
					 off the queue (as lws would hold it) */
	size_t partial_off;           /* its bytes written, header included */
};

static struct ws_conn *ws_conn_of(struct hub_session *h)
{
	return (struct ws_conn *)h; /* s.hub is the first member */
}

static void ws_conn_watch(struct ws_conn *c, int writing)
{
	if (c->writing == writing && ev_is_active(&c->io))
		return;
	c->writing = (uint8_t)writing;
	ev_io_stop(c->w->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ | (writing ? EV_WRITE : 0));
	ev_io_start(c->w->loop, &c->io);
}

static void ws_conn_free(struct ws_conn *c)
{
	ws_session_closed(c->w, &c->s);
	ev_io_stop(c->w->loop, &c->io);
	ev_timer_stop(c->w->loop, &c->timer);
	if (c->fd >= 0)
		close(c->fd);
	lws_dll2_remove(&c->in_transport);
	frame_unref(c->partial);
	free(c->out);
	free(c);
}

/* Closes the socket on the loop's next iteration (see DEAD). */
static void ws_conn_kill(struct ws_conn *c)
{
	if (c->state == WS_CONN_DEAD)
		return;
	c->state = WS_CONN_DEAD;
	ev_io_stop(c->w->loop, &c->io);
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, 0, 0);
	ev_timer_start(c->w->loop, &c->timer);
}

static void ws_conn_deadline(struct ws_conn *c, double seconds)
{
	ev_timer_stop(c->w->loop, &c->timer);
	ev_timer_set(&c->timer, seconds, 0);
	ev_timer_start(c->w->loop, &c->timer);
}

static int ws_conn_out_add(struct ws_conn *c, const void *p, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 256;
		uint8_t *grown;

		while (cap < c->out_len + n)
			cap *= 2;
		grown = realloc(c->out, cap);
		if (!grown)
			return -1;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	return 0;
}

static int ws_conn_out_frame(struct ws_conn *c, enum ws_opcode op,
			     const void *payload, size_t len)
{
	uint8_t head[WS_OUT_HEAD_MAX];
	size_t hl = ws_wire_write_head(head, op, len);

	if (ws_conn_out_add(c, head, hl))
		return -1;
	return len ? ws_conn_out_add(c, payload, len) : 0;
}

/* ------------------------------------------------------------ writing */

static enum ws_opcode ws_conn_opcode(const struct frame *f)
{
	return f->ping ? WS_OP_PING : f->binary ? WS_OP_BINARY : WS_OP_TEXT;
}

/* Counts a frame written whole. */
static void ws_conn_sent_frame(struct ws_conn *c, const struct frame *f)
{
	if (!f->ping) { /* pings are counted as pings_sent */
		metric_add(&c->w->metrics.messages_out, 1);
		metric_add(&c->w->metrics.bytes_out, f->len);
	}
}

/* The part of frame f from byte off (its header included) as iovecs;
 * head: room for the header. Returns the iovecs used. */
static unsigned ws_conn_frame_iov(struct iovec *iov, uint8_t *head,
				  struct frame *f, size_t off)
{
	size_t hl = ws_wire_write_head(head, ws_conn_opcode(f), f->len);
	unsigned n = 0;

	if (off < hl)
		iov[n++] = (struct iovec){ head + off, hl - off };
	off = off > hl ? off - hl : 0;
	if (f->len > off)
		iov[n++] = (struct iovec){ frame_payload(f) + off,
					   f->len - off };
	return n;
}

/*
 * One sendmsg() of what is due, in order: the rest of a frame sent in
 * part, the control bytes, then queued frames. Returns the bytes the
 * kernel took, 0 when it took none (EAGAIN) or nothing was due, -1 when
 * the connection failed.
 */
static ssize_t ws_conn_write_once(struct ws_conn *c, size_t *due)
{
	struct iovec iov[2 * WS_CONN_FRAMES_PER_WRITE + 3];
	uint8_t heads[WS_CONN_FRAMES_PER_WRITE + 1][WS_OUT_HEAD_MAX];
	struct frame_queue *q = &c->s.hub.queue;
	struct msghdr msg = { .msg_iov = iov };
	unsigned n = 0;
	ssize_t sent;

	*due = 0;
	if (c->partial)
		n += ws_conn_frame_iov(iov + n, heads[WS_CONN_FRAMES_PER_WRITE],
				       c->partial, c->partial_off);
	if (c->out_off < c->out_len)
		iov[n++] = (struct iovec){ c->out + c->out_off,
					   c->out_len - c->out_off };
	for (uint32_t i = 0; i < WS_CONN_FRAMES_PER_WRITE && i < q->count; i++)
		n += ws_conn_frame_iov(iov + n, heads[i], frame_queue_at(q, i),
				       0);
	for (unsigned k = 0; k < n; k++)
		*due += iov[k].iov_len;
	if (!*due)
		return 0;
	msg.msg_iovlen = n;
	do
		sent = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return sent;
}

/* Takes sent bytes off what ws_conn_write_once() offered, in its order. */
static void ws_conn_account(struct ws_conn *c, size_t sent)
{
	struct frame_queue *q = &c->s.hub.queue;
	struct frame *f;

	if (c->partial) {
		f = c->partial;
		size_t rest = ws_wire_head_len(f->len) + f->len - c->partial_off;

		if (sent < rest) {
			c->partial_off += sent;
			return;
		}
		sent -= rest;
		ws_conn_sent_frame(c, f);
		frame_unref(f);
		c->partial = NULL;
		c->partial_off = 0;
	}
	if (c->out_off < c->out_len) {
		size_t n = c->out_len - c->out_off;

		if (sent < n) {
			c->out_off += sent;
			return;
		}
		sent -= n;
		c->out_off = c->out_len = 0;
	}
	while (sent && (f = frame_queue_peek(q))) {
		size_t whole = ws_wire_head_len(f->len) + f->len;

		if (sent < whole) {
			/* off the queue: a shed or a close that clears the
			 * queue must not cut a frame the client has begun */
			c->partial = frame_ref(f);
			c->partial_off = sent;
			frame_queue_pop(q);
			return;
		}
		sent -= whole;
		ws_conn_sent_frame(c, f);
		frame_queue_pop(q);
	}
}

static void ws_conn_send_close(struct ws_conn *c, unsigned code,
			       const char *reason);

/*
 * Writes what is due until it is all out or the kernel buffer is full
 * (then EV_WRITE is watched). A session with a close code whose queue is
 * out gets its close frame. A failed socket dies (DEAD).
 */
static void ws_conn_flush(struct ws_conn *c)
{
	if (c->state == WS_CONN_DEAD || c->state == WS_CONN_REQUEST)
		return;
	for (;;) {
		size_t due;
		ssize_t sent = ws_conn_write_once(c, &due);

		if (sent < 0) {
			log_msg(LOG_INFO, "ws", "write failed client_id=%s",
				c->s.opened ? c->s.hub.client_id : "-");
			ws_conn_kill(c);
			return;
		}
		ws_conn_account(c, (size_t)sent);
		if (due && (size_t)sent < due) {
			ws_conn_watch(c, 1); /* the kernel buffer is full */
			return;
		}
		if (c->state == WS_CONN_OPEN && c->s.hub.close_code &&
		    !c->s.hub.queue.count) {
			enum close_code code = c->s.hub.close_code;

			log_msg(LOG_INFO, "ws", "closing client_id=%s code=%u "
				"reason=%s", c->s.hub.client_id, code,
				close_code_reason(code));
			ws_conn_send_close(c, code, close_code_reason(code));
			continue;
		}
		if (due)
			continue; /* more may be queued than one write took */
		break;
	}
	if (c->writing)
		ws_conn_watch(c, 0);
	if (c->state == WS_CONN_HANGUP)
		ws_conn_kill(c);
}

/*
 * herald's close frame: the session leaves the hub now and its queue is
 * dropped; a frame begun (partial) is not in the queue and still goes out
 * whole, before the close frame. The client's answer is awaited in
 * CLOSING.
 */
static void ws_conn_send_close(struct ws_conn *c, unsigned code,
			       const char *reason)
{
	uint8_t payload[WS_CONTROL_MAX];
	size_t rl = reason ? strlen(reason) : 0;

	if (rl > WS_CONTROL_MAX - 2)
		rl = WS_CONTROL_MAX - 2;
	ws_session_closed(c->w, &c->s);
	payload[0] = (uint8_t)(code >> 8);
	payload[1] = (uint8_t)code;
	memcpy(payload + 2, reason, rl);
	if (ws_conn_out_frame(c, WS_OP_CLOSE, payload, 2 + rl)) {
		ws_conn_kill(c);
		return;
	}
	c->state = WS_CONN_CLOSING;
	ws_conn_deadline(c, WS_CONN_CLOSE_TIMEOUT);
}

/* A protocol error: close with code at once, input ignored from here. */
static void ws_conn_fail(struct ws_conn *c, unsigned code, const char *why)
{
	c->rx_broken = 1; /* where the next frame starts is unknown now */
	if (c->state != WS_CONN_OPEN)
		return; /* herald's close frame is out already */
	log_msg(LOG_INFO, "ws", "client_id=%s broke the protocol (%s): %u",
		c->s.opened ? c->s.hub.client_id : "-", why, code);
	ws_conn_send_close(c, code, why);
	ws_conn_flush(c);
}

/* ------------------------------------------------------------ reading */

/* The client's close frame (payload in ctl): answered, then hang up. */
static void ws_conn_peer_close(struct ws_conn *c)
{
	unsigned code = c->ctl_len >= 2 ? (unsigned)c->ctl[0] << 8 | c->ctl[1]
					: 0;
	struct ws_utf8 u = { 0 };

	c->s.peer_closed = 1;
	if (c->state == WS_CONN_CLOSING) { /* the answer to ours */
		ws_conn_kill(c);
		return;
	}
	if (c->ctl_len == 1 ||
	    (c->ctl_len >= 2 && !close_code_valid_from_peer(code))) {
		log_msg(LOG_INFO, "ws", "client_id=%s sent an invalid close "
			"frame (%u bytes, code %u): 1002",
			c->s.opened ? c->s.hub.client_id : "-", c->ctl_len,
			code);
		ws_conn_send_close(c, 1002, "invalid close frame");
	} else if (c->ctl_len > 2 &&
		   (ws_utf8_feed(&u, c->ctl + 2, (size_t)c->ctl_len - 2) ||
		    !ws_utf8_complete(&u))) {
		ws_conn_send_close(c, 1007, "invalid close reason");
	} else {
		ws_session_closed(c->w, &c->s);
		/* the echo of its code (none when it sent none) */
		if (ws_conn_out_frame(c, WS_OP_CLOSE, c->ctl,
				      c->ctl_len >= 2 ? 2 : 0)) {
			ws_conn_kill(c);
			return;
		}
	}
	if (c->state != WS_CONN_DEAD)
		c->state = WS_CONN_HANGUP;
	ws_conn_flush(c);
}

static void ws_conn_control(struct ws_conn *c)
{
	switch (c->frame.opcode) {
	case WS_OP_PING:
		if (c->state != WS_CONN_OPEN)
			return;
		hub_session_heard(&c->s.hub, hub_now_ms());
		if (ws_conn_out_frame(c, WS_OP_PONG, c->ctl, c->ctl_len)) {
			ws_conn_kill(c);
			return;
		}
		ws_conn_flush(c);
		return;
	case WS_OP_PONG:
		if (c->state == WS_CONN_OPEN)
			hub_session_heard(&c->s.hub, hub_now_ms());
		return;
	default:
		ws_conn_peer_close(c);
	}
}

/* A frame's header was read: checks that it may come now. */
static int ws_conn_frame_begins(struct ws_conn *c)
{
	struct ws_frame_head *f = &c->frame;

	c->frame_done = 0;
	c->ctl_len = 0;
	c->in_payload = 1;
	if (f->opcode >= WS_OP_CLOSE)
		return 0;
	if (f->opcode == WS_OP_CONTINUATION && !c->message_open) {
		ws_conn_fail(c, 1002, "continuation without a message");
		return -1;
	}
	if (f->opcode != WS_OP_CONTINUATION && c->message_open) {
		ws_conn_fail(c, 1002, "new message inside a fragmented one");
		return -1;
	}
	if (f->opcode != WS_OP_CONTINUATION) {
		c->message_open = 1;
		c->message_binary = f->opcode == WS_OP_BINARY;
		memset(&c->utf8, 0, sizeof(c->utf8));
	}
	return 0;
}

/* A piece (maybe empty) of a data frame's payload, unmasked. */
static int ws_conn_data(struct ws_conn *c, uint8_t *p, size_t n)
{
	uint64_t remaining = c->frame.len - c->frame_done;
	int final = c->frame.fin && remaining == 0;
	int code;

	if (final)
		c->message_open = 0;
	if (c->state != WS_CONN_OPEN)
		return 0; /* closing: read only for the close frame */
	if (!c->message_binary &&
	    (ws_utf8_feed(&c->utf8, p, n) ||
	     (final && !ws_utf8_complete(&c->utf8)))) {
		ws_conn_fail(c, 1007, "invalid UTF-8");
		return -1;
	}
	code = ws_session_receive(c->w, &c->s, n ? p : NULL, n,
				  remaining > SIZE_MAX ? SIZE_MAX
						       : (size_t)remaining,
				  final, c->message_binary);
	if (code)
		hub_session_end(c->w->hub, &c->s.hub, (enum close_code)code);
	return 0;
}

/*
 * Frames from n bytes just read (unmasked in place). Returns -1 once the
 * connection is closing for good (DEAD or HANGUP): the rest is not read.
 */
static int ws_conn_frames(struct ws_conn *c, uint8_t *p, size_t n)
{
	uint8_t *end = p + n;

	if (c->rx_broken)
		return 0;
	while (p < end || (c->in_payload && c->frame.len == c->frame_done)) {
		if (c->state == WS_CONN_DEAD || c->state == WS_CONN_HANGUP)
			return -1;
		if (!c->in_payload) {
			size_t take = (size_t)(end - p), had = c->head_len;
			const char *why = NULL;
			int hl;

			if (take > WS_HEAD_MAX - had)
				take = WS_HEAD_MAX - had;
			memcpy(c->head + had, p, take);
			hl = ws_wire_parse_head(c->head, had + take, &c->frame,
						&why);
			if (hl == WS_HEAD_ERROR) {
				ws_conn_fail(c, 1002, why);
				return -1;
			}
			if (hl == WS_HEAD_MORE) {
				c->head_len = (uint8_t)(had + take);
				return 0;
			}
			p += (size_t)hl - had;
			c->head_len = 0;
			if (ws_conn_frame_begins(c))
				return -1;
		}
		{
			uint64_t left = c->frame.len - c->frame_done;
			size_t take = (size_t)(end - p) < left
				? (size_t)(end - p) : (size_t)left;

			ws_wire_unmask(p, take, c->frame.mask, c->frame_done);
			c->frame_done += take;
			if (c->frame.opcode >= WS_OP_CLOSE) {
				memcpy(c->ctl + c->ctl_len, p, take);
				c->ctl_len = (uint8_t)(c->ctl_len + take);
			} else if (ws_conn_data(c, p, take)) {
				return -1;
			}
			p += take;
			if (c->frame_done < c->frame.len)
				return 0;
			c->in_payload = 0;
			if (c->frame.opcode >= WS_OP_CLOSE)
				ws_conn_control(c);
		}
	}
	return c->state == WS_CONN_DEAD || c->state == WS_CONN_HANGUP ? -1 : 0;
}

static void ws_conn_read(struct ws_conn *c)
{
	uint8_t buf[WS_CONN_READ_CHUNK];

	for (int round = 0; round < WS_CONN_READ_ROUNDS; round++) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0) {
			if (ws_conn_frames(c, buf, (size_t)n))
				return;
			if ((size_t)n < sizeof(buf))
				return;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		ws_conn_kill(c); /* EOF or a reset */
		return;
	}
}

/* ------------------------------------------------------------ the upgrade */

/* Gives the socket to lws (the HTTP server); nothing was read from it. */
static void ws_conn_hand_over(struct ws_conn *c)
{
	int fd = c->fd;
	struct worker *w = c->w;

	c->fd = -1;
	ws_conn_free(c);
	transport_adopt_lws(w, fd);
}

/* The upgrade response: 101, or a refusal that ends the connection. */
static void ws_conn_upgrade(struct ws_conn *c, const struct ws_http_head *h,
			    const struct ws_request *r, const char *accept)
{
	struct admission_result res;
	char resp[512];
	int n;

	if (ws_session_admit(c->w, &c->s, &r->req, &res)) {
		size_t len = admission_format_refusal(resp, sizeof(resp),
						      res.status, res.error);

		c->state = WS_CONN_HANGUP;
		if (!len || ws_conn_out_add(c, resp, len)) {
			ws_conn_kill(c);
			return;
		}
		ws_conn_flush(c);
		return;
	}
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: WebSocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept,
		     h->protocol.p ? "Sec-WebSocket-Protocol: "
				     WS_CLIENT_PROTOCOL_NAME "\r\n" : "");
	c->state = WS_CONN_OPEN;
	ev_timer_stop(c->w->loop, &c->timer);
	if (ws_conn_out_add(c, resp, (size_t)n) ||
	    ws_session_open(c->w, &c->s, &r->req, c)) {
		ws_conn_kill(c);
		return;
	}
	/* the welcome's wake wrote the 101 with it; bytes a client sent
	 * right behind its request are still in the socket: its first
	 * frames, read on the next event */
}

/* s is exactly name (case matters). */
static int ws_conn_span_is(struct ws_wire_span s, const char *name)
{
	return s.len == strlen(name) && !memcmp(s.p, name, s.len);
}

/*
 * Whether herald answers this request itself: a GET /ws/... upgrade over
 * HTTP/1.1 with every header it needs, and "herald" first among the
 * subprotocols lws would pick from (lws decides the rest).
 */
static int ws_conn_is_plain_upgrade(const struct ws_http_head *h)
{
	struct ws_wire_span v = h->ws_version;

	if (h->method.len != 3 || memcmp(h->method.p, "GET", 3) ||
	    h->version.len != 8 || memcmp(h->version.p, "HTTP/1.1", 8) ||
	    !h->host.p || !h->key.p || h->key.len != 24 ||
	    /* lws upgrades only on exactly this value */
	    h->upgrade.len != 9 || strncasecmp(h->upgrade.p, "websocket", 9) ||
	    !ws_wire_list_has(h->connection, "upgrade") ||
	    v.len != 2 || memcmp(v.p, "13", 2))
		return 0;
	if (h->protocol.p) {
		struct ws_wire_span list = h->protocol, name;

		/* the first name of the list that names one of the
		 * vhost's protocols decides, as in lws (case matters) */
		while (ws_wire_list_next(&list, &name)) {
			if (ws_conn_span_is(name, WS_CLIENT_PROTOCOL_NAME))
				return 1;
			if (ws_conn_span_is(name, HTTP_API_PROTOCOL_NAME))
				return 0;
		}
		return 0;
	}
	return 1;
}

/*
 * The request head h, peeked whole into buf: herald's own upgrade (the
 * head is read off the socket, into buf again: the same bytes; frames
 * behind it stay there), or lws's (nothing read). parsed: what
 * ws_wire_parse_http() said of it.
 */
static void ws_conn_request_head(struct ws_conn *c, char *buf,
				 enum ws_http_result parsed,
				 const struct ws_http_head *h)
{
	struct ws_request r;
	char accept[29];

	/* lws answers an over-long head, and every other form */
	if (parsed != WS_HTTP_DONE || !ws_conn_is_plain_upgrade(h) ||
	    ws_request_from_head(&r, h) ||
	    ws_wire_accept_key(h->key.p, h->key.len, accept)) {
		ws_conn_hand_over(c);
		return;
	}
	if (recv(c->fd, buf, h->head_len, 0) != (ssize_t)h->head_len) {
		ws_conn_kill(c);
		return;
	}
	ws_conn_upgrade(c, h, &r, accept);
}

/*
 * A new socket's first bytes are peeked, never read: whatever is not a
 * plain upgrade to /ws/ (the HTTP API with its bodies, the dashboard, odd
 * forms) goes to lws untouched, and lws reads it all itself. lws 4.1.6
 * handed bytes already read (lws_adopt_socket_vhost_readbuf) lost a POST
 * body and, with bytes left over behind the head, spun its loop. A head
 * that is not complete yet is peeked again after a pause that doubles
 * (5 ms up to 320 ms) until the 5 s deadline: the socket stays readable
 * while nothing is read, so watching it would spin.
 */
static void ws_conn_read_request(struct ws_conn *c)
{
	static const char prefix[] = "GET /ws/";
	char peek[WS_CONN_REQUEST_MAX];
	struct ws_http_head h;
	enum ws_http_result parsed;
	ev_tstamp now;
	ssize_t n;

	do
		n = recv(c->fd, peek, sizeof(peek), MSG_PEEK);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		ws_conn_kill(c);
		return;
	}
	if (memcmp(peek, prefix, (size_t)n < sizeof(prefix) - 1
			 ? (size_t)n : sizeof(prefix) - 1)) {
		ws_conn_hand_over(c);
		return;
	}
	parsed = ws_wire_parse_http(peek, (size_t)n, &h);
	if (parsed != WS_HTTP_MORE || (size_t)n == sizeof(peek)) {
		ws_conn_request_head(c, peek, parsed, &h);
		return;
	}
	/* part of a head: look again later */
	now = ev_now(c->w->loop);
	if (now >= c->request_until) {
		ws_conn_kill(c);
		return;
	}
	c->peek_wait = c->peek_wait ? c->peek_wait * 2 : WS_CONN_PEEK_FIRST;
	if (c->peek_wait > WS_CONN_PEEK_MAX)
		c->peek_wait = WS_CONN_PEEK_MAX;
	ev_io_stop(c->w->loop, &c->io);
	ws_conn_deadline(c, c->peek_wait < c->request_until - now
			    ? c->peek_wait : c->request_until - now);
}

/* ------------------------------------------------------------ the loop */

static void ws_conn_on_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct ws_conn *c = lws_container_of(io, struct ws_conn, io);

	(void)loop;
	if (c->state == WS_CONN_REQUEST) {
		ws_conn_read_request(c);
		return;
	}
	if (revents & EV_WRITE)
		ws_conn_flush(c);
	if ((revents & EV_READ) && c->state != WS_CONN_DEAD)
		ws_conn_read(c);
}

static void ws_conn_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ws_conn *c = lws_container_of(t, struct ws_conn, timer);

	(void)loop;
	(void)revents;
	if (c->state == WS_CONN_REQUEST &&
	    ev_now(c->w->loop) < c->request_until) {
		/* a pause between peeks of a partial head is over */
		ev_timer_set(&c->timer, c->request_until - ev_now(c->w->loop), 0);
		ev_timer_start(c->w->loop, &c->timer);
		ev_io_start(c->w->loop, &c->io);
		return;
	}
	if (c->state == WS_CONN_REQUEST)
		log_msg(LOG_DEBUG, "ws", "request head not complete in time");
	ws_conn_free(c); /* DEAD, or a deadline passed */
}

/* ------------------------------------------------------------ the hub */

static void ws_conn_hub_wake(struct hub_session *s)
{
	struct ws_conn *c = ws_conn_of(s);

	if (c->state == WS_CONN_OPEN && !c->writing)
		ws_conn_flush(c);
}

static void ws_conn_hub_close(struct hub_session *s)
{
	ws_conn_hub_wake(s); /* the flush sends the close frame after */
}

static void ws_conn_hub_drop(struct hub_session *s)
{
	ws_conn_kill(ws_conn_of(s));
}

static const struct hub_ops ws_conn_hub_ops = {
	.wake = ws_conn_hub_wake,
	.close = ws_conn_hub_close,
	.drop = ws_conn_hub_drop,
};

void ws_conn_accept(struct worker *w, int fd)
{
	struct ws_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c) {
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->s.ops = &ws_conn_hub_ops;
	/* frames go out as they are written, as with lws */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	lws_dll2_add_tail(&c->in_transport, &w->transport._conns);
	ev_io_init(&c->io, ws_conn_on_io, fd, EV_READ);
	ev_io_start(w->loop, &c->io);
	c->request_until = ev_now(w->loop) + WS_CONN_REQUEST_TIMEOUT;
	ev_timer_init(&c->timer, ws_conn_on_timer, WS_CONN_REQUEST_TIMEOUT, 0);
	ev_timer_start(w->loop, &c->timer);
}

void ws_conn_close_all(struct worker *w)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1,
				   w->transport._conns.head)
	{
		ws_conn_free(lws_container_of(d, struct ws_conn,
					      in_transport));
	}
	lws_end_foreach_dll_safe(d, d1);
}
