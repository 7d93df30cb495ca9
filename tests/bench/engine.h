/*
 * engine — one epoll loop driving many non-blocking WebSocket client
 * connections (and a few raw TCP sockets: Redis, HTTP, timers).
 *
 * A connection goes CONNECTING (TCP) -> HANDSHAKE (upgrade sent) -> OPEN.
 * Reads are one read() per readiness event into the connection's buffer;
 * frames are parsed in place and handed to ops->on_msg without copying
 * (fragmented messages are reassembled into a per-connection buffer kept
 * for reuse). Pings are answered with pongs, a server close is answered and
 * the connection dropped. Outgoing bytes are either complete frames queued
 * in the connection's output buffer, or N copies of one shared pre-masked
 * request frame (engine_set_repeat), sent straight from that shared buffer;
 * the two are interleaved only at frame boundaries.
 *
 * Thread: everything runs on the caller's thread inside engine_poll() or
 * the engine_* / conn_* calls; callbacks run on it too.
 * Ownership: the engine owns all connection slots and their buffers
 * (allocated once, grown only when a message is larger than any before).
 * Callbacks may close or re-dial the connection they are given; the engine
 * notices (generation counter) and stops touching it.
 */
#ifndef HB_ENGINE_H
#define HB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"
#include "wsproto.h"

struct engine;
struct conn;

enum conn_state {
	CONN_FREE = 0,
	CONN_CONNECTING,     /* TCP connect in progress */
	CONN_HANDSHAKE,      /* upgrade request sent, waiting for the 101 */
	CONN_OPEN,           /* WebSocket open */
	CONN_RAW_CONNECTING, /* raw socket: TCP connect in progress */
	CONN_RAW,            /* raw socket: I/O by its raw_fn */
};

/* Raw-socket callback: events are the epoll events (EPOLLIN, EPOLLERR...),
 * or EPOLLERR alone when a raw connect failed. */
typedef void (*conn_raw_fn)(struct engine *e, struct conn *c, uint32_t events,
			    int64_t now);

struct engine_ops {
	/* The 101 arrived and was valid. now: CLOCK_MONOTONIC ns after the
	 * read that completed it. */
	void (*on_open)(struct engine *e, struct conn *c, int64_t now);
	/* One complete data message (op WS_OP_TEXT or WS_OP_BINARY). p points
	 * into the engine's buffer and is valid only during the call. */
	void (*on_msg)(struct engine *e, struct conn *c, int op,
		       unsigned char *p, size_t len, int64_t now);
	/* Optional: all messages of one read() were delivered; output queued
	 * here goes out in the same write as the pongs. */
	void (*on_read_done)(struct engine *e, struct conn *c, int64_t now);
	/* The server or the network ended the connection (was_open = 1), or a
	 * dial failed (was_open = 0). Not called for conn_close()/conn_abort().
	 * The slot is free again when this runs. */
	void (*on_close)(struct engine *e, struct conn *c, int was_open,
			 const char *why);
};

struct conn {
	int fd;
	uint8_t state;
	uint8_t frag_op;      /* opcode of the message being reassembled */
	uint8_t in_dial_many;
	uint8_t pad;
	uint32_t ev;          /* epoll events currently registered */
	uint32_t idx;         /* slot index */
	uint32_t gen;         /* bumped when the slot is released */
	uint32_t mask;        /* masking key of this connection's frames */
	int64_t t0;           /* dial start, CLOCK_MONOTONIC ns */
	unsigned char *rbuf;
	uint32_t rlen, rcap;
	unsigned char *frag;
	uint32_t flen, fcap;
	unsigned char *obuf;
	uint32_t olen, ooff, ocap;
	uint32_t rep_left;    /* shared request frames still to send */
	uint32_t rep_off;     /* bytes of the current one already sent */
	conn_raw_fn raw_fn;
	void *user;           /* the scenario's or trigger's */
	char accept[WS_ACCEPT_LEN + 1];
};

struct engine {
	int epfd;
	uint32_t cap;
	struct conn *conns;
	const struct engine_ops *ops;
	void *ud;                 /* the scenario's */
	const struct net_url *url;
	int nsrc;                 /* source addresses 127.0.0.1..nsrc (0: none) */
	uint32_t src_next;
	uint32_t rbuf_init;       /* initial read buffer per connection */
	uint32_t max_msg;         /* largest message accepted */
	int64_t hs_timeout;       /* connect + handshake bound, ns */
	int64_t last_scan;
	const unsigned char *rep_buf; /* rep_max copies of one frame */
	uint32_t rep_flen, rep_max;
	uint32_t dm_inflight, dm_done, dm_failed;
	uint32_t dialing;         /* connections in CONNECTING/HANDSHAKE */
	uint32_t open;            /* connections OPEN now */
	uint64_t opened;          /* handshakes completed */
	uint64_t dial_failed;
	uint64_t closed_by_peer;  /* OPEN connections ended by the other side */
	uint64_t errors;          /* I/O and protocol errors */
	char first_error[256];
	char first_close[128];    /* why the first server-side close happened */
};

/* New engine for up to cap connection slots (WebSocket and raw), all
 * targeting u (kept by pointer). NULL on failure. */
struct engine *engine_create(const struct net_url *u, uint32_t cap,
			     const struct engine_ops *ops, void *ud);

/* Closes every socket (open WebSockets get a close frame, 1000) and frees
 * everything. */
void engine_destroy(struct engine *e);

/* Source addresses: dials rotate over 127.0.0.1..127.0.0.nsrc (nsrc > 0
 * and an IPv4 loopback target only). */
void engine_set_sources(struct engine *e, int nsrc);

/* Shares buf (max copies of one flen-byte pre-masked frame; kept by
 * pointer) for conn_queue_repeat(). */
void engine_set_repeat(struct engine *e, const unsigned char *buf,
		       uint32_t flen, uint32_t max);

/* Slot idx (0 <= idx < cap). */
static inline struct conn *engine_conn(struct engine *e, uint32_t idx)
{
	return &e->conns[idx];
}

/* Records an error (the first one's text is kept). */
void engine_error(struct engine *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Starts dialing <url path>/ws/<id><query> on free slot c. Returns 0 (then
 * on_open or on_close follows exactly once), or -1 if it failed at once
 * (error recorded, no callback). */
int engine_dial(struct engine *e, struct conn *c, const char *id, int64_t now);

/* Dials slots first..first+n-1 as <prefix><i>, at most conc at a time,
 * running the loop until every dial ended or deadline (CLOCK_MONOTONIC ns)
 * passed (dials still running then fail). Returns the number opened;
 * e->dm_failed holds the failures. */
uint32_t engine_dial_many(struct engine *e, uint32_t first, uint32_t n,
			  uint32_t conc, const char *prefix, int64_t deadline);

/* Waits up to timeout_ms for events and handles them. Returns the number
 * of events, or -1 on an epoll error. */
int engine_poll(struct engine *e, int timeout_ms);

/* Queues n more copies of the shared request frame (n <= rep_max in flight
 * at once). Call conn_flush() to send. */
static inline void conn_queue_repeat(struct conn *c, uint32_t n)
{
	c->rep_left += n;
}

/* Queues one masked frame. 0, or -1 if it cannot be buffered. */
int conn_queue_frame(struct engine *e, struct conn *c, int op, const void *p,
		     size_t len);

/* Queues raw bytes (raw sockets). 0 or -1. */
int conn_queue_bytes(struct engine *e, struct conn *c, const void *p,
		     size_t len);

/* Writes what is queued until done or the socket is full (then waits for
 * EPOLLOUT). 0, or -1 when the connection failed (it has been torn down and
 * on_close called for a WebSocket). */
int conn_flush(struct engine *e, struct conn *c);

/* Sends a close frame with code (best effort) and closes. No on_close. */
void conn_close(struct engine *e, struct conn *c, int code);

/* Closes at once; reset = 1 sends an RST (SO_LINGER 0). No on_close. */
void conn_abort(struct engine *e, struct conn *c, int reset);

/* Registers an existing fd (timerfd, connected socket) as a raw slot. */
int engine_raw_add(struct engine *e, struct conn *c, int fd, uint32_t events,
		   conn_raw_fn fn, void *user);

/* Starts a non-blocking connect to u on raw slot c; fn gets EPOLLOUT once
 * connected (queued bytes are flushed first) or EPOLLERR. 0 or -1. */
int engine_raw_connect(struct engine *e, struct conn *c,
		       const struct net_url *u, conn_raw_fn fn, void *user);

/* Reads once into c->rbuf (growing it when full, up to max_msg). Returns
 * bytes read, 0 at EOF, -1 on error, -2 when nothing was ready. */
long conn_raw_read(struct engine *e, struct conn *c);

#endif
