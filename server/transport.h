/*
 * transport — what a worker needs from the network glue, declared here
 * and implemented in protocols/ (protocols/vhost.c builds the lws context;
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

/* What lws keeps pointers to for the context's life: one per worker. */
struct transport_conf {
	struct lws_protocols protocols[TRANSPORT_PROTOCOLS + 1];
	struct lws_http_mount mount_root;
	lws_retry_bo_t retry;
	void *foreign_loops[1];
};

/* How the hub asks the transport to write, close and drop sessions. */
extern const struct hub_ops transport_hub_ops;

/*
 * The lws context of worker w on w->loop: its listening socket on
 * --host/--port, the HTTP API, the dashboard files, the /ws/ protocol and
 * TLS. Uses w->transport_conf for what lws keeps pointers to. NULL when it
 * cannot listen (the reason is logged). lws_context_destroy() ends it.
 */
struct lws_context *transport_create(struct worker *w);

#endif
