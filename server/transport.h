/*
 * transport — what a worker needs from the network glue, declared here
 * and implemented in protocols/ (protocols/vhost.c builds the lws contexts;
 * protocols/ws_client.c writes, closes and drops the hub's sessions). The core depends on this
 * interface, never on protocols/ headers: protocols/ depends on the core.
 *
 * Thread: the worker's loop thread.
 */
#ifndef HERALD_TRANSPORT_H
#define HERALD_TRANSPORT_H

#include <libwebsockets.h>

#include "hub.h"

struct worker;

/* The lws protocols of a worker's vhost (HTTP API, /ws/). */
#define TRANSPORT_PROTOCOLS 2

/*
 * lws contexts per worker, all on the worker's loop, each serving one range
 * of descriptor numbers: the Debian build of lws 4.1.6 scans its whole fd
 * table (one entry per descriptor number up to the open-files limit it saw
 * when the context was made) each time one of its sockets closes, so a
 * shard made for descriptors below N scans N entries, not the limit
 * (docs/design.md, "Accepting").
 */
#define TRANSPORT_SHARDS 16

/* A worker's transport: its lws contexts and what lws keeps pointers to.
 * Private to protocols/vhost.c. */
struct transport {
	struct lws_context *_shards[TRANSPORT_SHARDS];
	struct lws_vhost *_vhosts[TRANSPORT_SHARDS];
	unsigned _count;              /* shards in use */
	int _top[TRANSPORT_SHARDS];   /* shard i serves descriptors from
					 _top[i - 1] (0) up to _top[i] */
	struct lws_protocols _protocols[TRANSPORT_PROTOCOLS + 1];
	struct lws_http_mount _mount_root;
	lws_retry_bo_t _retry;
	void *_foreign_loops[1];
	struct lws_dll2_owner _conns; /* herald's own connections (ws_conn.c) */
};

/* How the hub asks the transport to write, close and drop sessions. */
extern const struct hub_ops transport_hub_ops;

/*
 * Sets up w->transport on w->loop: lws contexts that serve the HTTP API,
 * the dashboard files, the /ws/ protocol and TLS on sockets handed to
 * transport_adopt(). 0, or -1 (logged; nothing left to free).
 */
int transport_create(struct worker *w);

/*
 * Serves fd, an accepted socket: on a plain listener herald reads the
 * request itself (a WebSocket upgrade is its own, protocols/ws_conn.c);
 * with TLS lws serves it, in the shard for its descriptor. The socket is
 * closed when it cannot be served.
 */
void transport_adopt(struct worker *w, int fd);

/* Gives fd to lws, nothing read from it yet. */
void transport_adopt_lws(struct worker *w, int fd);


/* Closes every connection and frees the contexts. */
void transport_destroy(struct worker *w);

#endif
