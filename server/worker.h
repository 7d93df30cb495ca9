/*
 * worker — one thread, one event loop and everything on it: the libev
 * loop, the listening socket, the lws contexts that run on it
 * (server/transport.h), the hub, the metrics, the Redis bridge, the
 * timers (heartbeat wheel, $sys), its inbox on the node's bus and the
 * drain (docs/design.md, "Threads and ownership" and "Workers").
 *
 * A worker shares nothing mutable with the other workers of its node but
 * through node.h (the bus, the session count, the seq, the names) and the
 * figures it publishes for them to read (metrics, open_sessions,
 * queued_cost, redis_ready: one writer, atomic loads). Everything lws
 * keeps pointers to lives in the struct. All the rest is used only on the
 * worker's thread; worker_request_stop() may be called from any thread.
 *
 * Life: worker_init() -> worker_run() (until a stop is requested) ->
 * worker_drain() -> worker_destroy(). The lws protocols find their worker
 * with worker_of().
 */
#ifndef HERALD_WORKER_H
#define HERALD_WORKER_H

#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "history.h"
#include "hub.h"
#include "listener.h"
#include "metrics.h"
#include "node.h"
#include "redis.h"
#include "transport.h"

struct worker {
	const struct config *cfg;     /* shared, read-only */
	struct node *node;            /* the process's workers and bus */
	int index;
	struct ev_loop *loop;         /* the libev (epoll) loop lws runs on */
	struct transport transport;   /* lws contexts (server/transport.h) */
	struct listener *listener;    /* accepts into the transport */
	struct hub *hub;
	struct metrics metrics;       /* written here only (metric_add) */
	uint64_t open_sessions;       /* published gauges: metric_set here, */
	uint64_t queued_cost;         /* metric_read anywhere */
	uint64_t largest_cost;        /* its largest session's queue cost */
	int redis_ready;              /* atomic: the bridge is ready */
	struct redis_bridge *redis;   /* NULL with --redis-url none */
	struct history *history;      /* seqs, rings, resumes (history.h) */
	int redis_was_ready;          /* a later ready state is a reconnect */
	int draining;                 /* refusing upgrades, sessions closing */
	/* private to worker.c */
	ev_timer _heartbeat_tick;     /* drives the hub's heartbeat wheel */
	ev_timer _sys_tick;           /* publishes $sys */
	ev_prepare _history_pump;     /* replay pages as sessions drain */
	ev_async _stop;               /* woken by worker_request_stop() */
	ev_async _inbox;              /* woken by posts to the bus */
	int _stop_requested;          /* atomic */
};

/* The worker that owns wsi's context. */
static inline struct worker *worker_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Sets up worker index of node with its own loop, hub, lws contexts,
 * listening socket and Redis bridge; w is zeroed storage the node keeps.
 * 0, or -1 (logged, nothing left to free). */
int worker_init(struct worker *w, struct node *node, int index);

/* Runs the loop until worker_request_stop(), on the worker's thread. */
void worker_run(struct worker *w);

/* From any thread (and async-signal-safe): makes worker_run() return soon. */
void worker_request_stop(struct worker *w);

/* Stops accepting (503), closes every session with CLOSE_SHUTDOWN after
 * flushing what it has queued, and runs the loop until all are gone or
 * the drain's time is up. */
void worker_drain(struct worker *w);

/* Frees everything worker_init() made. */
void worker_destroy(struct worker *w);

/* Publishes the worker's gauges (open_sessions, queued_cost) for the
 * node's figures; on the worker's thread. */
static inline void worker_publish_gauges(struct worker *w)
{
	metric_set(&w->open_sessions, hub_session_count(w->hub));
	metric_set(&w->queued_cost, hub_queued_cost(w->hub));
}

#endif
