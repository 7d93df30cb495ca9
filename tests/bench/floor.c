/*
 * floor — see floor.h.
 *
 * Role: the reference server of the fan-out figures. Order of a run: bind
 * and listen, then one epoll loop (level-triggered) until -d passes or a
 * SIGTERM/SIGINT arrives; then a best-effort close frame (1001) to every
 * open connection, and the JSON line.
 *
 * A connection is HANDSHAKE until its upgrade request is complete, then
 * OPEN. Reads are one read() per readiness event into one buffer shared by
 * every connection; bytes of an incomplete request or frame are kept in
 * the connection's own leftover buffer and put back in front of the next
 * read. Broadcast frames are built once into a ring of FLOOR_RING slots;
 * a connection holds only the index of the next frame it must get and how
 * much of it is already sent, so a full send buffer costs one EPOLLOUT
 * registration and no copy. A connection more than FLOOR_RING frames
 * behind is closed (dropped_slow): no fan-out run should ever get there.
 *
 * Thread: the main thread. SIGTERM and SIGINT are blocked except inside
 * epoll_pwait(), so a signal always ends the wait that should notice it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "floor.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netaddr.h"
#include "opts.h"
#include "procstat.h"
#include "report.h"
#include "scenario.h"
#include "util.h"
#include "wsproto.h"

#define FLOOR_RING 64         /* broadcast frames a full socket may lag */
#define FLOOR_MAX_MSG 65536   /* largest client frame payload accepted */
#define FLOOR_MAX_HEADER 8192 /* largest upgrade request accepted */
#define FLOOR_KEEP_MAX (FLOOR_MAX_MSG + WS_MAX_CLIENT_HDR)
#define FLOOR_READ 65536      /* bytes asked for per read() */
#define FLOOR_ID_MAX 64       /* client id kept for "from" */
/* {"type":"broadcast","from":"<id>","data":<data>} around the data */
#define FLOOR_FRAME_CAP (WS_MAX_SERVER_HDR + 64 + FLOOR_ID_MAX + FLOOR_MAX_MSG)
#define FLOOR_EVENTS 512

enum floor_state {
	FLOOR_FREE = 0,
	FLOOR_HANDSHAKE,  /* accepted, upgrade request not complete yet */
	FLOOR_OPEN,       /* 101 sent: gets every broadcast */
};

struct floor_conn {
	uint8_t state;
	uint8_t armed;        /* EPOLLOUT registered: frames are waiting */
	uint32_t pos;         /* index in floor.open while OPEN */
	uint32_t off;         /* bytes of frame `next` already sent */
	uint64_t next;        /* next broadcast frame to send; == nframes: none */
	unsigned char *left;  /* leftover bytes of an incomplete request/frame */
	uint32_t llen, lcap;
	char id[FLOOR_ID_MAX + 1];
};

struct floor_frame {
	size_t len;
	unsigned char *buf;   /* FLOOR_FRAME_CAP bytes, allocated once */
};

struct floor {
	int epfd, lfd;
	uint32_t cap;             /* one slot per descriptor number */
	struct floor_conn *conns;
	int *open;                /* descriptors of the OPEN connections */
	uint32_t nopen, peak_open;
	unsigned char *rbuf;      /* FLOOR_KEEP_MAX + FLOOR_READ bytes */
	struct floor_frame ring[FLOOR_RING];
	uint64_t nframes;         /* broadcast frames built so far */
	int64_t accept_paused;    /* listener off until then (EMFILE), or 0 */
	uint64_t accepted, upgraded, rejected, broadcasts, frames_written;
	uint64_t bytes_written, sends, eagain, short_writes, epollout_waits;
	uint64_t dropped_slow, pings, client_closes, errors;
	size_t frame_bytes;       /* size of the last broadcast frame */
	char first_error[200];
};

static volatile sig_atomic_t floor_signal;

static void floor_on_signal(int sig)
{
	floor_signal = sig;
}

static void floor_error(struct floor *fl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void floor_error(struct floor *fl, const char *fmt, ...)
{
	va_list ap;

	fl->errors++;
	if (fl->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(fl->first_error, sizeof(fl->first_error), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ slots */

static void floor_close(struct floor *fl, int fd)
{
	struct floor_conn *c = &fl->conns[fd];

	if (c->state == FLOOR_OPEN) {
		/* swap-remove: the fan-out walks the list backwards, so the
		 * entry moved here has already been served */
		int last = fl->open[--fl->nopen];

		fl->open[c->pos] = last;
		fl->conns[last].pos = c->pos;
	}
	close(fd); /* also leaves the epoll set */
	free(c->left);
	memset(c, 0, sizeof(*c));
}

/* Registers EPOLLOUT (on = 1) or drops it; -1 (connection closed) on an
 * epoll error. */
static int floor_arm(struct floor *fl, int fd, struct floor_conn *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (c->armed == on)
		return 0;
	if (on) {
		ev.events |= EPOLLOUT;
		fl->epollout_waits++;
	}
	if (epoll_ctl(fl->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		floor_error(fl, "epoll_ctl: %s", strerror(errno));
		floor_close(fl, fd);
		return -1;
	}
	c->armed = (uint8_t)on;
	return 0;
}

/* ------------------------------------------------------------ output */

/* Sends the frames c has not had yet, from the ring, until it is caught
 * up (EPOLLOUT dropped) or the socket is full (EPOLLOUT registered). 0, or
 * -1 when the connection was closed. */
static int floor_flush(struct floor *fl, int fd, struct floor_conn *c)
{
	while (c->next < fl->nframes) {
		const struct floor_frame *fr = &fl->ring[c->next % FLOOR_RING];
		ssize_t n = send(fd, fr->buf + c->off, fr->len - c->off,
				 MSG_NOSIGNAL);

		fl->sends++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				fl->eagain++;
				return floor_arm(fl, fd, c, 1);
			}
			if (errno != EPIPE && errno != ECONNRESET)
				floor_error(fl, "send: %s", strerror(errno));
			floor_close(fl, fd);
			return -1;
		}
		fl->bytes_written += (uint64_t)n;
		c->off += (uint32_t)n;
		if (c->off < fr->len) {
			/* the next send() would most likely see EAGAIN: wait */
			fl->short_writes++;
			return floor_arm(fl, fd, c, 1);
		}
		c->off = 0;
		c->next++;
		fl->frames_written++;
	}
	return floor_arm(fl, fd, c, 0);
}

/* Writes one control frame (pong, close) when nothing else is owed to c,
 * since it must not land inside a broadcast frame; a blocked connection
 * goes without. 0, or -1 when the connection was closed. */
static int floor_control(struct floor *fl, int fd, struct floor_conn *c,
			 int op, const unsigned char *p, size_t len)
{
	unsigned char fr[WS_MAX_SERVER_HDR + 125];
	size_t h;

	if (c->next < fl->nframes || len > 125)
		return 0;
	h = ws_frame_header_unmasked(fr, op, len);
	memcpy(fr + h, p, len);
	if (send(fd, fr, h + len, MSG_NOSIGNAL) != (ssize_t)(h + len)) {
		/* a partial control frame would corrupt the stream */
		floor_close(fl, fd);
		return -1;
	}
	return 0;
}

static int floor_space(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Finds the JSON value of "data" in a client message: from after the
 * colon to before the message's last '}' (herald re-encodes it compactly,
 * and herald-bench's messages are compact already). */
static void floor_data(const unsigned char *p, size_t len,
		       const unsigned char **data, size_t *dlen)
{
	const unsigned char *k = memmem(p, len, "\"data\":", 7), *end = p + len;

	*data = (const unsigned char *)"null";
	*dlen = 4;
	if (!k)
		return;
	k += 7;
	while (end > k && end[-1] != '}')
		end--;
	if (end > k)
		end--; /* the closing brace of the message itself */
	while (k < end && floor_space(*k))
		k++;
	while (end > k && floor_space(end[-1]))
		end--;
	if (end > k) {
		*data = k;
		*dlen = (size_t)(end - k);
	}
}

/* Builds the broadcast frame for data into the next ring slot: the same
 * bytes herald sends, {"type":"broadcast","from":"<id>","data":<data>}. */
static void floor_frame_build(struct floor *fl, const char *from,
			      const unsigned char *data, size_t dlen)
{
	static const char pre[] = "{\"type\":\"broadcast\",\"from\":\"";
	static const char mid[] = "\",\"data\":";
	struct floor_frame *fr = &fl->ring[fl->nframes % FLOOR_RING];
	size_t flen = strlen(from);
	size_t plen = sizeof(pre) - 1 + flen + sizeof(mid) - 1 + dlen + 1;
	unsigned char *p = fr->buf;

	p += ws_frame_header_unmasked(p, WS_OP_TEXT, plen);
	memcpy(p, pre, sizeof(pre) - 1);
	p += sizeof(pre) - 1;
	memcpy(p, from, flen);
	p += flen;
	memcpy(p, mid, sizeof(mid) - 1);
	p += sizeof(mid) - 1;
	memcpy(p, data, dlen);
	p += dlen;
	*p++ = '}';
	fr->len = (size_t)(p - fr->buf);
	fl->frame_bytes = fr->len;
}

/* One broadcast: one frame built, then send() of those same bytes to every
 * OPEN connection that is caught up; a connection still owed older frames
 * gets this one after them, on EPOLLOUT. */
static void floor_broadcast(struct floor *fl, const char *from,
			    const unsigned char *msg, size_t len)
{
	const unsigned char *data;
	size_t dlen;

	floor_data(msg, len, &data, &dlen);
	floor_frame_build(fl, from, data, dlen);
	fl->nframes++;
	fl->broadcasts++;
	/* backwards, so that a close (swap-remove) moves a served entry */
	for (uint32_t i = fl->nopen; i-- > 0;) {
		int fd = fl->open[i];
		struct floor_conn *c = &fl->conns[fd];

		if (c->next + 1 == fl->nframes) {
			floor_flush(fl, fd, c);
		} else if (c->next + FLOOR_RING < fl->nframes) {
			/* its oldest owed frame was just overwritten */
			fl->dropped_slow++;
			floor_close(fl, fd);
		}
	}
}

/* ------------------------------------------------------------ input */

/* Copies the client id (what follows "/ws/" in the request line, up to a
 * '?', '/' or space) into c->id, for the broadcast's "from". Characters
 * that would need escaping in JSON end it (herald refuses such ids). */
static void floor_client_id(struct floor_conn *c, const char *req,
			    const char *end)
{
	const char *eol = memchr(req, '\r', (size_t)(end - req));
	const char *id = memmem(req, (size_t)((eol ? eol : end) - req), "/ws/", 4);
	size_t n = 0;

	if (id) {
		for (id += 4; n < FLOOR_ID_MAX && id + n < end; n++) {
			unsigned char ch = (unsigned char)id[n];

			if (ch <= ' ' || ch == '?' || ch == '/' || ch == '"' ||
			    ch == '\\' || ch >= 0x7f)
				break;
			c->id[n] = (char)ch;
		}
	}
	c->id[n] = '\0';
}

/* Finds the Sec-WebSocket-Key header among the lines between the request
 * line and end (the blank line); NULL if there is none. */
static const char *floor_ws_key(const char *buf, const char *end,
				size_t *klen)
{
	const char *line = (const char *)memchr(buf, '\n', (size_t)(end - buf));
	const char *eol, *key = NULL;

	for (line = line ? line + 1 : end; line < end; line = eol + 2) {
		/* the header's last line ends at end: search to end + 2 */
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		if (!eol)
			break;
		if ((size_t)(eol - line) > 18 &&
		    !strncasecmp(line, "Sec-WebSocket-Key:", 18)) {
			key = line + 18;
			while (key < eol && (*key == ' ' || *key == '\t'))
				key++;
			*klen = (size_t)(eol - key);
			while (*klen && (key[*klen - 1] == ' ' || key[*klen - 1] == '\t'))
				(*klen)--;
		}
	}
	return key;
}

/* Refuses an upgrade request (400) and closes the connection. */
static void floor_refuse(struct floor *fl, int fd)
{
	static const char refuse[] =
		"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
		"Content-Length: 0\r\n\r\n";

	fl->rejected++;
	(void)!send(fd, refuse, sizeof(refuse) - 1, MSG_NOSIGNAL);
	floor_close(fl, fd);
}

/* Answers the upgrade request if the header is complete. Returns the
 * header's length (bytes after it are frames), 0 when more bytes are
 * needed, -1 when the connection was refused and closed. */
static long floor_handshake(struct floor *fl, int fd, struct floor_conn *c,
			    const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *key;
	char accept[WS_ACCEPT_LEN + 1], resp[160];
	size_t klen = 0;
	int n;

	if (!end) {
		if (len <= FLOOR_MAX_HEADER)
			return 0;
		floor_refuse(fl, fd);
		return -1;
	}
	key = floor_ws_key(buf, end, &klen);
	if (len < 4 || memcmp(buf, "GET ", 4) || !key ||
	    ws_accept_for(key, klen, accept) < 0) {
		floor_refuse(fl, fd);
		return -1;
	}
	floor_client_id(c, buf + 4, end);
	/* the smallest valid 101: no extensions, no subprotocol */
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n\r\n",
		     accept);
	if (send(fd, resp, (size_t)n, MSG_NOSIGNAL) != n) {
		/* 129 bytes into a new socket: cannot be short in practice */
		floor_error(fl, "101 not sent in one send()");
		floor_close(fl, fd);
		return -1;
	}
	c->state = FLOOR_OPEN;
	c->next = fl->nframes; /* gets the broadcasts from now on */
	c->pos = fl->nopen;
	fl->open[fl->nopen++] = fd;
	if (fl->nopen > fl->peak_open)
		fl->peak_open = fl->nopen;
	fl->upgraded++;
	return (long)(end + 4 - buf);
}

/* Handles one complete client frame. */
static void floor_frame(struct floor *fl, int fd, struct floor_conn *c,
			const struct ws_frame *f)
{
	switch (f->op) {
	case WS_OP_TEXT:
		/* only what fanout needs: a broadcast request; anything else
		 * (echo, fragments) is read and ignored */
		if (f->fin && memmem(f->payload, (size_t)f->len, "broadcast", 9))
			floor_broadcast(fl, c->id, f->payload, (size_t)f->len);
		break;
	case WS_OP_PING:
		fl->pings++;
		floor_control(fl, fd, c, WS_OP_PONG, f->payload, (size_t)f->len);
		break;
	case WS_OP_CLOSE:
		/* echo the status code, then close: the client is going */
		fl->client_closes++;
		if (floor_control(fl, fd, c, WS_OP_CLOSE, f->payload,
				  f->len < 2 ? 0 : 2) == 0)
			floor_close(fl, fd);
		break;
	default:
		break;
	}
}

/* Handles the complete frames in buf[0..len); returns the bytes used. The
 * connection may be closed on return (state FLOOR_FREE). */
static size_t floor_frames(struct floor *fl, int fd, struct floor_conn *c,
			   unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len && c->state == FLOOR_OPEN) {
		struct ws_frame f;
		int rc = ws_frame_parse(buf + off, len - off, &f);

		if (rc < 0 || (f.hdr && f.len > FLOOR_MAX_MSG)) {
			floor_error(fl, "client %s: %s", c->id,
				    rc < 0 ? "protocol error" : "frame too large");
			floor_close(fl, fd);
			break;
		}
		if (rc == 0)
			break;
		off += f.hdr + (size_t)f.len;
		floor_frame(fl, fd, c, &f);
	}
	return off;
}

/* Keeps buf[0..len) (an incomplete request or frame) for the next read. */
static void floor_keep(struct floor *fl, int fd, struct floor_conn *c,
		       const unsigned char *buf, size_t len)
{
	c->llen = 0;
	if (!len)
		return;
	if (len > c->lcap) {
		uint32_t cap = len < 256 ? 256 : (uint32_t)len;
		unsigned char *p = realloc(c->left, cap);

		if (!p) {
			floor_error(fl, "out of memory");
			floor_close(fl, fd);
			return;
		}
		c->left = p;
		c->lcap = cap;
	}
	memcpy(c->left, buf, len);
	c->llen = (uint32_t)len;
}

static void floor_read(struct floor *fl, int fd, struct floor_conn *c)
{
	size_t len, off = 0;
	ssize_t n;

	/* the leftover goes in front, so frames are parsed in one buffer */
	if (c->llen)
		memcpy(fl->rbuf, c->left, c->llen);
	n = read(fd, fl->rbuf + c->llen, FLOOR_READ);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		/* EOF or reset: the client went away (herald-bench closes
		 * right after its close frame) */
		if (n < 0 && errno != ECONNRESET)
			floor_error(fl, "read: %s", strerror(errno));
		floor_close(fl, fd);
		return;
	}
	len = c->llen + (size_t)n;
	if (c->state == FLOOR_HANDSHAKE) {
		long h = floor_handshake(fl, fd, c, (const char *)fl->rbuf, len);

		if (h < 0)
			return;
		off = (size_t)h;
	}
	if (c->state == FLOOR_OPEN)
		off += floor_frames(fl, fd, c, fl->rbuf + off, len - off);
	if (c->state != FLOOR_FREE)
		floor_keep(fl, fd, c, fl->rbuf + off, len - off);
}

/* ------------------------------------------------------------ listener */

static void floor_accept(struct floor *fl)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int one = 1;

	for (;;) {
		int fd = accept4(fl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* level-triggered: the listener would wake the
				 * loop at once; rest it for 100 ms */
				floor_error(fl, "accept: %s", strerror(errno));
				epoll_ctl(fl->epfd, EPOLL_CTL_DEL, fl->lfd, NULL);
				fl->accept_paused = util_now_ns() + 100000000LL;
			}
			return;
		}
		if ((uint32_t)fd >= fl->cap) {
			floor_error(fl, "descriptor %d above the table", fd);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		ev.data.fd = fd;
		if (epoll_ctl(fl->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			floor_error(fl, "epoll_ctl: %s", strerror(errno));
			close(fd);
			continue;
		}
		memset(&fl->conns[fd], 0, sizeof(fl->conns[fd]));
		fl->conns[fd].state = FLOOR_HANDSHAKE;
		fl->accepted++;
	}
}

static void floor_accept_resume(struct floor *fl, int64_t now)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fl->lfd };

	if (!fl->accept_paused || now < fl->accept_paused)
		return;
	fl->accept_paused = 0;
	epoll_ctl(fl->epfd, EPOLL_CTL_ADD, fl->lfd, &ev);
}

/* Binds and listens on u's address; the fd, or -1 (message printed). */
static int floor_listen(const struct net_url *u)
{
	int one = 1;
	int fd = socket(u->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&u->addr, u->addrlen) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		fprintf(stderr, "herald-bench floor: listen on %s: %s\n",
			u->hostport, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------------ run */

static void floor_destroy(struct floor *fl);

/* Allocates the tables and the epoll set once. NULL (message printed)
 * on failure. */
static struct floor *floor_create(int lfd)
{
	struct floor *fl = calloc(1, sizeof(*fl));
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	struct rlimit rl;
	int ok;

	if (!fl)
		goto fail;
	fl->lfd = lfd;
	fl->epfd = -1;
	/* main() raised the soft limit to the hard one: every descriptor this
	 * process can get has a slot */
	fl->cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (1u << 24)
			  ? (uint32_t)rl.rlim_cur : (1u << 20);
	fl->conns = calloc(fl->cap, sizeof(*fl->conns));
	fl->open = calloc(fl->cap, sizeof(*fl->open));
	fl->rbuf = malloc(FLOOR_KEEP_MAX + FLOOR_READ);
	ok = fl->conns && fl->open && fl->rbuf;
	for (int i = 0; i < FLOOR_RING; i++)
		ok = ok && (fl->ring[i].buf = malloc(FLOOR_FRAME_CAP));
	fl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ok && fl->epfd >= 0 &&
	    epoll_ctl(fl->epfd, EPOLL_CTL_ADD, lfd, &ev) == 0)
		return fl;
fail:
	fprintf(stderr, "herald-bench floor: setup: %s\n", strerror(errno));
	floor_destroy(fl);
	return NULL;
}

/* Closes every connection (an open one caught up gets a close frame,
 * 1001 going away) and frees everything. */
static void floor_destroy(struct floor *fl)
{
	static const unsigned char going[] = { 0x03, 0xe9 };

	if (!fl)
		return;
	for (uint32_t fd = 0; fl->conns && fd < fl->cap; fd++) {
		struct floor_conn *c = &fl->conns[fd];

		if (c->state == FLOOR_OPEN &&
		    floor_control(fl, (int)fd, c, WS_OP_CLOSE, going, 2) < 0)
			continue; /* closed already */
		if (c->state != FLOOR_FREE)
			floor_close(fl, (int)fd);
	}
	if (fl->epfd >= 0)
		close(fl->epfd);
	for (int i = 0; i < FLOOR_RING; i++)
		free(fl->ring[i].buf);
	free(fl->conns);
	free(fl->open);
	free(fl->rbuf);
	free(fl);
}

static void floor_events(struct floor *fl, const struct epoll_event *evs,
			 int n)
{
	for (int i = 0; i < n; i++) {
		int fd = evs[i].data.fd;
		struct floor_conn *c = &fl->conns[fd];

		if (fd == fl->lfd) {
			floor_accept(fl);
			continue;
		}
		/* a slot closed earlier in this batch is FREE; one closed and
		 * re-accepted meanwhile just sees EAGAIN below */
		if ((evs[i].events & EPOLLOUT) && c->state == FLOOR_OPEN &&
		    floor_flush(fl, fd, c) < 0)
			continue;
		if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
		    c->state != FLOOR_FREE)
			floor_read(fl, fd, c);
	}
}

/* The loop: until deadline or a signal. Returns the signal, or 0. */
static int floor_run(struct floor *fl, int64_t deadline,
		     const sigset_t *waitmask)
{
	struct epoll_event evs[FLOOR_EVENTS];
	int64_t now;

	while (!floor_signal && (now = util_now_ns()) < deadline) {
		int64_t ms = (deadline - now) / 1000000 + 1;
		int n;

		floor_accept_resume(fl, now);
		if (ms > (fl->accept_paused ? 100 : 1000))
			ms = fl->accept_paused ? 100 : 1000;
		n = epoll_pwait(fl->epfd, evs, FLOOR_EVENTS, (int)ms, waitmask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			floor_error(fl, "epoll_wait: %s", strerror(errno));
			break;
		}
		floor_events(fl, evs, n);
	}
	return floor_signal;
}

static void floor_report(const struct floor *fl, const char *listen_s,
			 int64_t dur, int64_t run_ns, int64_t cpu_ns, int sig)
{
	struct report r;
	double cpu = (double)cpu_ns / 1e9;

	report_init(&r, "floor");
	report_str(&r, "listen", listen_s);
	report_num(&r, "duration_s", (double)dur / 1e9);
	report_num(&r, "run_s", util_round1((double)run_ns / 1e9));
	report_str(&r, "stopped_by", sig ? "signal" : "duration");
	report_uint(&r, "connections", fl->accepted);
	report_uint(&r, "upgraded", fl->upgraded);
	report_uint(&r, "rejected", fl->rejected);
	report_uint(&r, "peak_open", fl->peak_open);
	report_uint(&r, "open_at_end", fl->nopen);
	report_uint(&r, "broadcasts", fl->broadcasts);
	report_uint(&r, "frame_bytes", fl->frame_bytes);
	report_uint(&r, "frames_written", fl->frames_written);
	report_uint(&r, "bytes_written", fl->bytes_written);
	report_uint(&r, "sends", fl->sends);
	report_uint(&r, "eagain", fl->eagain);
	report_uint(&r, "short_writes", fl->short_writes);
	report_uint(&r, "epollout_waits", fl->epollout_waits);
	report_uint(&r, "dropped_slow", fl->dropped_slow);
	report_uint(&r, "pings", fl->pings);
	report_uint(&r, "client_closes", fl->client_closes);
	report_uint(&r, "errors", fl->errors);
	if (fl->first_error[0])
		report_str(&r, "first_error", fl->first_error);
	report_num(&r, "cpu_s", cpu);
	if (cpu > 0 && fl->frames_written)
		report_num(&r, "frames_per_cpu_s",
			   util_round1((double)fl->frames_written / cpu));
	report_emit(&r);
	scenario_say("floor %s: %llu connections, %llu broadcasts of %zu bytes, "
		     "%llu frames written (%llu EAGAIN, %llu short writes, %llu "
		     "dropped), %.2f s cpu in %.1f s, %llu errors",
		     listen_s, (unsigned long long)fl->accepted,
		     (unsigned long long)fl->broadcasts, fl->frame_bytes,
		     (unsigned long long)fl->frames_written,
		     (unsigned long long)fl->eagain,
		     (unsigned long long)fl->short_writes,
		     (unsigned long long)fl->dropped_slow, cpu,
		     (double)run_ns / 1e9, (unsigned long long)fl->errors);
}

static const char floor_summary[] =
	"The raw floor: a one-thread epoll WebSocket server that answers the\n"
	"upgrade and, for every text frame containing \"broadcast\", send()s one\n"
	"prebuilt frame to every connection. Run fanout against it with -pid to\n"
	"get the kernel's cost of a delivery with nothing else. Stops after -d or\n"
	"on SIGTERM/SIGINT and prints one JSON line.";

int floor_main(int argc, char **argv)
{
	const char *listen_s = "127.0.0.1:9100";
	int64_t dur = 60000000000LL;
	const struct opt opts[] = {
		{ "listen", OPT_STR, &listen_s, "address to listen on: host:port (or ws://host:port)" },
		{ "url", OPT_STR, &listen_s, "same as -listen" },
		{ "d", OPT_DUR, &dur, "serve this long, then stop" },
		{ NULL, 0, NULL, NULL },
	};
	struct sigaction sa;
	sigset_t block, waitmask;
	struct net_url u;
	struct floor *fl;
	int64_t t0, cpu0;
	int lfd, rc, sig;

	rc = opts_parse("floor", floor_summary, opts, argc, argv);
	if (rc)
		return rc > 0 ? SCENARIO_OK : SCENARIO_USAGE;
	if (dur <= 0) {
		fprintf(stderr, "herald-bench floor: -d must be positive\n");
		return SCENARIO_USAGE;
	}
	if (scenario_url(&u, "floor", listen_s) < 0)
		return SCENARIO_USAGE;

	/* the signals stay blocked but inside epoll_pwait(): no wake-up can
	 * fall between the flag's check and the wait */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = floor_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);

	lfd = floor_listen(&u);
	if (lfd < 0)
		return SCENARIO_FAILED;
	fl = floor_create(lfd);
	if (!fl) {
		close(lfd);
		return SCENARIO_FAILED;
	}
	scenario_say("floor: listening on %s for %g s (pid %d)", u.hostport,
		     (double)dur / 1e9, (int)getpid());
	t0 = util_now_ns();
	cpu0 = proc_self_cpu_ns();
	sig = floor_run(fl, t0 + dur, &waitmask);
	floor_report(fl, u.hostport, dur, util_now_ns() - t0,
		     proc_self_cpu_ns() - cpu0, sig);
	floor_destroy(fl);
	close(lfd);
	return SCENARIO_OK;
}
