/*
 * engine — see engine.h.
 *
 * Role: the only place that touches WebSocket sockets. Invariants:
 *  - a slot's epoll data is (gen << 32 | idx), so an event queued for a
 *    socket that was closed (and maybe re-dialed) in the same batch is
 *    recognised as stale and ignored;
 *  - obuf holds only complete frames; the shared repeat frames and obuf
 *    are interleaved only at frame boundaries (a started obuf is finished
 *    first, then a started repeat frame, then new ones);
 *  - buffers grow (never per message) and are freed by engine_destroy().
 * Thread: the caller's (single) thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util.h"

#define ENGINE_MAX_HS (16 * 1024) /* largest handshake answer */
#define ENGINE_OBUF_INIT 256
#define ENGINE_SCAN_NS 100000000LL /* timeout scan every 100 ms */

static void engine_teardown(struct engine *e, struct conn *c, int reset);
static void conn_fail(struct engine *e, struct conn *c, const char *why);

void engine_error(struct engine *e, const char *fmt, ...)
{
	va_list ap;

	e->errors++;
	if (e->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(e->first_error, sizeof(e->first_error), fmt, ap);
	va_end(ap);
}

struct engine *engine_create(const struct net_url *u, uint32_t cap,
			     const struct engine_ops *ops, void *ud)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0)
		goto fail;
	e->conns = calloc(cap, sizeof(*e->conns));
	if (!e->conns)
		goto fail;
	for (uint32_t i = 0; i < cap; i++) {
		e->conns[i].fd = -1;
		e->conns[i].idx = i;
		e->conns[i].mask = (uint32_t)util_rand64();
	}
	e->cap = cap;
	e->ops = ops;
	e->ud = ud;
	e->url = u;
	e->rbuf_init = 4096;
	e->max_msg = 64u << 20;
	e->hs_timeout = 10 * 1000000000LL;
	return e;

fail:
	if (e->epfd >= 0)
		close(e->epfd);
	free(e->conns);
	free(e);
	return NULL;
}

void engine_destroy(struct engine *e)
{
	if (!e)
		return;
	for (uint32_t i = 0; i < e->cap; i++) {
		struct conn *c = &e->conns[i];

		if (c->state == CONN_OPEN)
			conn_close(e, c, 1000);
		else if (c->state != CONN_FREE)
			conn_abort(e, c, 0);
		free(c->rbuf);
		free(c->frag);
		free(c->obuf);
	}
	close(e->epfd);
	free(e->conns);
	free(e);
}

void engine_set_sources(struct engine *e, int nsrc)
{
	e->nsrc = (nsrc > 0 && net_url_is_loopback4(e->url)) ? nsrc : 0;
}

void engine_set_repeat(struct engine *e, const unsigned char *buf,
		       uint32_t flen, uint32_t max)
{
	e->rep_buf = buf;
	e->rep_flen = flen;
	e->rep_max = max;
}

/* ------------------------------------------------------------ buffers */

static int buf_reserve(unsigned char **buf, uint32_t *cap, uint64_t need,
		       uint64_t limit)
{
	uint64_t n = *cap ? *cap : 256;
	unsigned char *nb;

	if (need <= *cap)
		return 0;
	if (need > limit)
		return -1;
	while (n < need)
		n *= 2;
	if (n > limit)
		n = limit;
	nb = realloc(*buf, (size_t)n);
	if (!nb)
		return -1;
	*buf = nb;
	*cap = (uint32_t)n;
	return 0;
}

/* ------------------------------------------------------------ epoll */

static int conn_want(struct engine *e, struct conn *c, uint32_t ev)
{
	struct epoll_event ee;

	if (c->ev == ev)
		return 0;
	ee.events = ev;
	ee.data.u64 = (uint64_t)c->gen << 32 | c->idx;
	if (epoll_ctl(e->epfd, EPOLL_CTL_MOD, c->fd, &ee))
		return -1;
	c->ev = ev;
	return 0;
}

static int conn_register(struct engine *e, struct conn *c, uint32_t ev)
{
	struct epoll_event ee;

	ee.events = ev;
	ee.data.u64 = (uint64_t)c->gen << 32 | c->idx;
	if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, c->fd, &ee))
		return -1;
	c->ev = ev;
	return 0;
}

/* ------------------------------------------------------------ teardown */

/* Releases the slot: closes the socket, resets the state, bumps gen. The
 * buffers stay allocated for the next connection in this slot. */
static void engine_teardown(struct engine *e, struct conn *c, int reset)
{
	if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE) {
		e->dialing--;
		if (c->in_dial_many) {
			e->dm_inflight--;
			e->dm_done++;
			e->dm_failed++;
		}
	} else if (c->state == CONN_OPEN) {
		e->open--;
	}
	c->in_dial_many = 0;
	if (c->fd >= 0) {
		if (reset)
			net_close_reset(c->fd);
		else
			close(c->fd);
	}
	c->fd = -1;
	c->state = CONN_FREE;
	c->ev = 0;
	c->gen++;
	c->rlen = c->flen = c->olen = c->ooff = 0;
	c->rep_left = c->rep_off = 0;
	c->frag_op = 0;
	c->raw_fn = NULL;
}

/* The connection failed or the server ended it: tear down, then tell the
 * scenario. */
static void conn_fail(struct engine *e, struct conn *c, const char *why)
{
	int was_open = c->state == CONN_OPEN;
	int ws = c->state == CONN_OPEN || c->state == CONN_HANDSHAKE ||
		 c->state == CONN_CONNECTING;

	if (!ws) { /* raw sockets are their owner's business */
		if (c->raw_fn)
			c->raw_fn(e, c, EPOLLERR, util_now_ns());
		return;
	}
	if (!was_open)
		e->dial_failed++;
	engine_teardown(e, c, 0);
	if (e->ops->on_close)
		e->ops->on_close(e, c, was_open, why);
}

void conn_abort(struct engine *e, struct conn *c, int reset)
{
	if (c->state == CONN_FREE)
		return;
	engine_teardown(e, c, reset);
}

void conn_close(struct engine *e, struct conn *c, int code)
{
	unsigned char body[2] = { (unsigned char)(code >> 8),
				  (unsigned char)code };

	if (c->state == CONN_OPEN) {
		unsigned char fr[2 + WS_MAX_CLIENT_HDR];
		size_t n;

		/* Best effort, after what is already queued: if the queue
		 * cannot drain now, the close frame is skipped. */
		if (c->olen - c->ooff == 0 && c->rep_left == 0) {
			n = ws_frame_write(fr, WS_OP_CLOSE, body, 2, c->mask);
			(void)!send(c->fd, fr, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
	}
	conn_abort(e, c, 0);
}

/* ------------------------------------------------------------ output */

int conn_queue_bytes(struct engine *e, struct conn *c, const void *p,
		     size_t len)
{
	if (c->ooff && c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if (buf_reserve(&c->obuf, &c->ocap, (uint64_t)c->olen + len,
			(uint64_t)e->max_msg + 64 * 1024) < 0)
		return -1;
	memcpy(c->obuf + c->olen, p, len);
	c->olen += (uint32_t)len;
	return 0;
}

int conn_queue_frame(struct engine *e, struct conn *c, int op, const void *p,
		     size_t len)
{
	if (c->ooff && c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if (buf_reserve(&c->obuf, &c->ocap,
			(uint64_t)c->olen + len + WS_MAX_CLIENT_HDR,
			(uint64_t)e->max_msg + 64 * 1024) < 0)
		return -1;
	c->olen += (uint32_t)ws_frame_write(c->obuf + c->olen, op, p, len,
					     c->mask);
	return 0;
}

int conn_flush(struct engine *e, struct conn *c)
{
	const uint32_t base = EPOLLIN;

	if (c->state == CONN_CONNECTING || c->state == CONN_RAW_CONNECTING)
		return 0; /* flushed once connected */
	for (;;) {
		const unsigned char *p;
		size_t n;
		ssize_t w;
		int from_obuf;

		if (c->ooff > 0 || (c->rep_off == 0 && c->olen > c->ooff)) {
			if (c->ooff == c->olen)
				break;
			p = c->obuf + c->ooff;
			n = c->olen - c->ooff;
			from_obuf = 1;
		} else if (c->rep_left) {
			uint32_t k = c->rep_left < e->rep_max ? c->rep_left
							     : e->rep_max;

			p = e->rep_buf + c->rep_off;
			n = (size_t)k * e->rep_flen - c->rep_off;
			from_obuf = 0;
		} else {
			break;
		}
		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				goto wait_out;
			engine_error(e, "write: %s", strerror(errno));
			conn_fail(e, c, "write error");
			return -1;
		}
		if (from_obuf) {
			c->ooff += (uint32_t)w;
			if (c->ooff == c->olen)
				c->ooff = c->olen = 0;
		} else {
			uint64_t done = (uint64_t)c->rep_off + (uint64_t)w;

			c->rep_left -= (uint32_t)(done / e->rep_flen);
			c->rep_off = (uint32_t)(done % e->rep_flen);
		}
		if ((size_t)w < n)
			goto wait_out;
	}
	if (conn_want(e, c, base) < 0)
		goto epoll_fail;
	return 0;

wait_out:
	if (conn_want(e, c, base | EPOLLOUT) < 0)
		goto epoll_fail;
	return 0;

epoll_fail:
	engine_error(e, "epoll_ctl: %s", strerror(errno));
	conn_fail(e, c, "epoll error");
	return -1;
}

/* ------------------------------------------------------------ dialing */

int engine_dial(struct engine *e, struct conn *c, const char *id, int64_t now)
{
	char key[WS_KEY_LEN + 1];
	char path[2200];
	char req[2600];
	size_t n;
	int src = 0;

	if (c->state != CONN_FREE)
		return -1;
	if (ws_key_make(key, c->accept) < 0) {
		engine_error(e, "SHA-1 unavailable");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/ws/%s%s", e->url->path, id,
		 e->url->query);
	n = ws_request_write(req, sizeof(req), e->url->hostport, path, key);
	if (!n) {
		engine_error(e, "upgrade request too long");
		return -1;
	}
	if (e->nsrc > 0)
		src = 1 + (int)(e->src_next++ % (uint32_t)e->nsrc);
	c->fd = net_connect_start(e->url, src);
	if (c->fd < 0) {
		engine_error(e, "connect: %s", strerror(errno));
		e->dial_failed++;
		return -1;
	}
	c->gen++; /* fresh identity for this connection's events */
	c->rlen = c->olen = c->ooff = c->flen = 0;
	c->rep_left = c->rep_off = 0;
	c->frag_op = 0;
	if (!c->rbuf && buf_reserve(&c->rbuf, &c->rcap, e->rbuf_init,
				    e->rbuf_init) < 0)
		goto fail;
	if (conn_queue_bytes(e, c, req, n) < 0)
		goto fail;
	if (conn_register(e, c, EPOLLOUT) < 0)
		goto fail;
	c->state = CONN_CONNECTING;
	c->t0 = now;
	e->dialing++;
	return 0;

fail:
	engine_error(e, "dial setup: %s", strerror(errno));
	e->dial_failed++;
	close(c->fd);
	c->fd = -1;
	c->olen = 0;
	return -1;
}

uint32_t engine_dial_many(struct engine *e, uint32_t first, uint32_t n,
			  uint32_t conc, const char *prefix, int64_t deadline)
{
	uint32_t next = first, end = first + n;
	uint64_t opened0 = e->opened;
	char id[96];

	e->dm_inflight = e->dm_done = e->dm_failed = 0;
	if (!conc)
		conc = 1;
	while (e->dm_done < n) {
		int64_t now = util_now_ns();

		if (now >= deadline) {
			for (uint32_t i = first; i < end; i++) {
				struct conn *c = &e->conns[i];

				if (c->in_dial_many) {
					engine_error(e, "connect phase deadline");
					conn_fail(e, c, "connect phase deadline");
				}
			}
			e->dm_failed += end - next;
			e->dm_done += end - next;
			break;
		}
		while (e->dm_inflight < conc && next < end) {
			struct conn *c = &e->conns[next];

			snprintf(id, sizeof(id), "%s%u", prefix, next - first);
			next++;
			if (engine_dial(e, c, id, now) < 0) {
				e->dm_done++;
				e->dm_failed++;
				continue;
			}
			c->in_dial_many = 1;
			e->dm_inflight++;
		}
		if (engine_poll(e, 5) < 0)
			break;
	}
	return (uint32_t)(e->opened - opened0);
}

/* ------------------------------------------------------------ input */

/* Handles the frames in c->rbuf. Returns 0, or -1 if the connection is gone
 * (or was replaced by a callback). */
static int conn_parse(struct engine *e, struct conn *c, int64_t now)
{
	uint32_t gen = c->gen, off = 0;
	struct ws_frame f;

	for (;;) {
		int rc = ws_frame_parse(c->rbuf + off, c->rlen - off, &f);

		if (rc < 0) {
			engine_error(e, "protocol error in a server frame");
			conn_fail(e, c, "protocol error");
			return -1;
		}
		if (rc == 0) {
			uint64_t need = (uint64_t)f.hdr + f.len;

			if (f.hdr && need > c->rcap) {
				if (need > (uint64_t)e->max_msg + 14) {
					engine_error(e, "server frame of %llu bytes is too big",
						     (unsigned long long)f.len);
					conn_fail(e, c, "frame too big");
					return -1;
				}
				if (off) {
					memmove(c->rbuf, c->rbuf + off, c->rlen - off);
					c->rlen -= off;
					off = 0;
				}
				if (buf_reserve(&c->rbuf, &c->rcap, need,
						(uint64_t)e->max_msg + 14) < 0) {
					engine_error(e, "out of memory");
					conn_fail(e, c, "out of memory");
					return -1;
				}
			}
			break;
		}
		off += (uint32_t)(f.hdr + f.len);
		switch (f.op) {
		case WS_OP_PING:
			if (conn_queue_frame(e, c, WS_OP_PONG, f.payload,
					     (size_t)f.len) < 0) {
				conn_fail(e, c, "output buffer full");
				return -1;
			}
			break;
		case WS_OP_PONG:
			break;
		case WS_OP_CLOSE: {
			int code = f.len >= 2 ? (f.payload[0] << 8 | f.payload[1])
					      : 1005;
			char why[128];

			snprintf(why, sizeof(why), "closed by server: %d %.*s",
				 code, f.len > 2 ? (int)(f.len - 2 > 80 ? 80 : f.len - 2) : 0,
				 f.len > 2 ? (const char *)f.payload + 2 : "");
			if (!e->first_close[0])
				util_strlcpy(e->first_close, why,
					     sizeof(e->first_close));
			e->closed_by_peer++;
			conn_queue_frame(e, c, WS_OP_CLOSE, f.payload,
					 f.len >= 2 ? 2 : 0);
			c->rep_left = 0;
			c->rep_off = 0;
			(void)!send(c->fd, c->obuf + c->ooff, c->olen - c->ooff,
				    MSG_NOSIGNAL | MSG_DONTWAIT);
			conn_fail(e, c, why);
			return -1;
		}
		case WS_OP_CONT:
			if (!c->frag_op) {
				engine_error(e, "continuation frame without a start");
				conn_fail(e, c, "protocol error");
				return -1;
			}
			if (buf_reserve(&c->frag, &c->fcap,
					(uint64_t)c->flen + f.len, e->max_msg) < 0) {
				engine_error(e, "fragmented message too big");
				conn_fail(e, c, "message too big");
				return -1;
			}
			memcpy(c->frag + c->flen, f.payload, (size_t)f.len);
			c->flen += (uint32_t)f.len;
			if (f.fin) {
				int op = c->frag_op;

				c->frag_op = 0;
				e->ops->on_msg(e, c, op, c->frag, c->flen, now);
				if (c->gen != gen)
					return -1;
				c->flen = 0;
			}
			break;
		case WS_OP_TEXT:
		case WS_OP_BINARY:
			if (c->frag_op) {
				engine_error(e, "new message inside a fragmented one");
				conn_fail(e, c, "protocol error");
				return -1;
			}
			if (f.fin) {
				e->ops->on_msg(e, c, f.op, f.payload,
					       (size_t)f.len, now);
				if (c->gen != gen)
					return -1;
			} else {
				if (buf_reserve(&c->frag, &c->fcap, f.len,
						e->max_msg) < 0) {
					engine_error(e, "fragmented message too big");
					conn_fail(e, c, "message too big");
					return -1;
				}
				memcpy(c->frag, f.payload, (size_t)f.len);
				c->flen = (uint32_t)f.len;
				c->frag_op = (uint8_t)f.op;
			}
			break;
		default:
			engine_error(e, "unknown opcode %d from server", f.op);
			conn_fail(e, c, "protocol error");
			return -1;
		}
	}
	if (off) {
		if (off < c->rlen)
			memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return 0;
}

static void conn_opened(struct engine *e, struct conn *c, size_t hdr_len,
			int64_t now)
{
	uint32_t gen = c->gen;

	if (hdr_len < c->rlen)
		memmove(c->rbuf, c->rbuf + hdr_len, c->rlen - hdr_len);
	c->rlen -= (uint32_t)hdr_len;
	c->state = CONN_OPEN;
	e->dialing--;
	e->open++;
	e->opened++;
	if (c->in_dial_many) {
		c->in_dial_many = 0;
		e->dm_inflight--;
		e->dm_done++;
	}
	if (e->ops->on_open)
		e->ops->on_open(e, c, now);
	if (c->gen != gen || !c->rlen)
		return;
	if (conn_parse(e, c, now) < 0)
		return;
	if (e->ops->on_read_done)
		e->ops->on_read_done(e, c, now);
	if (c->gen == gen)
		conn_flush(e, c);
}

static void conn_readable(struct engine *e, struct conn *c)
{
	uint32_t gen = c->gen;
	ssize_t n;
	int64_t now;

	if (c->rlen == c->rcap) {
		uint64_t limit = c->state == CONN_HANDSHAKE
					 ? ENGINE_MAX_HS
					 : (uint64_t)e->max_msg + 14;

		if (buf_reserve(&c->rbuf, &c->rcap, (uint64_t)c->rcap * 2,
				limit) < 0) {
			engine_error(e, c->state == CONN_HANDSHAKE
						? "handshake answer too long"
						: "read buffer full");
			conn_fail(e, c, "read buffer full");
			return;
		}
	}
	n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	now = util_now_ns();
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		engine_error(e, "read: %s", strerror(errno));
		conn_fail(e, c, strerror(errno));
		return;
	}
	if (n == 0) {
		if (c->state == CONN_HANDSHAKE) {
			engine_error(e, "server closed the connection during the handshake");
			conn_fail(e, c, "closed during handshake");
		} else {
			e->closed_by_peer++;
			if (!e->first_close[0])
				util_strlcpy(e->first_close,
					     "TCP closed by server without a close frame",
					     sizeof(e->first_close));
			conn_fail(e, c, "connection closed by server");
		}
		return;
	}
	c->rlen += (uint32_t)n;
	if (c->state == CONN_HANDSHAKE) {
		char err[160];
		size_t hl = 0;
		int rc = ws_response_check((const char *)c->rbuf, c->rlen,
					   c->accept, &hl, err, sizeof(err));

		if (rc < 0) {
			engine_error(e, "%s", err);
			conn_fail(e, c, err);
		} else if (rc > 0) {
			conn_opened(e, c, hl, now);
		}
		return;
	}
	if (conn_parse(e, c, now) < 0)
		return;
	if (e->ops->on_read_done)
		e->ops->on_read_done(e, c, now);
	if (c->gen == gen && (c->olen || c->rep_left))
		conn_flush(e, c);
}

/* ------------------------------------------------------------ raw sockets */

int engine_raw_add(struct engine *e, struct conn *c, int fd, uint32_t events,
		   conn_raw_fn fn, void *user)
{
	if (c->state != CONN_FREE)
		return -1;
	c->gen++;
	c->fd = fd;
	c->raw_fn = fn;
	c->user = user;
	c->rlen = c->olen = c->ooff = 0;
	if (conn_register(e, c, events) < 0) {
		c->fd = -1;
		return -1;
	}
	c->state = CONN_RAW;
	return 0;
}

int engine_raw_connect(struct engine *e, struct conn *c,
		       const struct net_url *u, conn_raw_fn fn, void *user)
{
	int fd;

	if (c->state != CONN_FREE)
		return -1;
	fd = net_connect_start(u, 0);
	if (fd < 0)
		return -1;
	if (engine_raw_add(e, c, fd, EPOLLOUT, fn, user) < 0) {
		close(fd);
		return -1;
	}
	c->state = CONN_RAW_CONNECTING;
	c->t0 = util_now_ns();
	return 0;
}

long conn_raw_read(struct engine *e, struct conn *c)
{
	ssize_t n;

	if (c->rlen == c->rcap &&
	    buf_reserve(&c->rbuf, &c->rcap,
			c->rcap ? (uint64_t)c->rcap * 2 : e->rbuf_init,
			(uint64_t)e->max_msg + 64 * 1024) < 0)
		return -1;
	n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, MSG_DONTWAIT);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			       ? -2
			       : -1;
	c->rlen += (uint32_t)n;
	return (long)n;
}

static void conn_raw_event(struct engine *e, struct conn *c, uint32_t ev,
			   int64_t now)
{
	uint32_t gen = c->gen;

	if (c->state == CONN_RAW_CONNECTING) {
		int err;

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		err = net_connect_result(c->fd);
		if (err) {
			errno = err;
			c->raw_fn(e, c, EPOLLERR, now);
			return;
		}
		c->state = CONN_RAW;
		if (conn_want(e, c, EPOLLIN) < 0) {
			c->raw_fn(e, c, EPOLLERR, now);
			return;
		}
		if (conn_flush(e, c) < 0 || c->gen != gen)
			return; /* raw_fn already told */
		c->raw_fn(e, c, EPOLLOUT, now);
		return;
	}
	if ((ev & EPOLLOUT) && conn_flush(e, c) < 0)
		return;
	if (c->gen != gen)
		return;
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		c->raw_fn(e, c, ev, now);
}

/* ------------------------------------------------------------ loop */

static void engine_scan_timeouts(struct engine *e, int64_t now)
{
	e->last_scan = now;
	if (!e->dialing)
		return;
	for (uint32_t i = 0; i < e->cap; i++) {
		struct conn *c = &e->conns[i];

		if ((c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE) &&
		    now - c->t0 > e->hs_timeout) {
			engine_error(e, "%s timeout",
				     c->state == CONN_CONNECTING ? "connect"
								 : "handshake");
			conn_fail(e, c, "timeout");
		}
	}
}

int engine_poll(struct engine *e, int timeout_ms)
{
	struct epoll_event evs[256];
	int64_t now;
	int n;

	n = epoll_wait(e->epfd, evs, 256, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)evs[i].data.u64;
		uint32_t gen = (uint32_t)(evs[i].data.u64 >> 32);
		uint32_t ev = evs[i].events;
		struct conn *c;

		if (idx >= e->cap)
			continue;
		c = &e->conns[idx];
		if (c->gen != gen || c->state == CONN_FREE)
			continue; /* stale: closed earlier in this batch */
		switch (c->state) {
		case CONN_CONNECTING: {
			int err = net_connect_result(c->fd);

			if (err) {
				engine_error(e, "connect: %s", strerror(err));
				conn_fail(e, c, strerror(err));
				break;
			}
			if (!(ev & EPOLLOUT))
				break;
			c->state = CONN_HANDSHAKE;
			conn_flush(e, c); /* the upgrade request */
			break;
		}
		case CONN_HANDSHAKE:
		case CONN_OPEN:
			if ((ev & EPOLLOUT) && conn_flush(e, c) < 0)
				break;
			if (c->gen != gen)
				break;
			if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_readable(e, c);
			break;
		default:
			now = util_now_ns();
			conn_raw_event(e, c, ev, now);
			break;
		}
	}
	now = util_now_ns();
	if (now - e->last_scan >= ENGINE_SCAN_NS)
		engine_scan_timeouts(e, now);
	return n;
}
