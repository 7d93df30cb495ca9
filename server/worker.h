/*
 * worker — one event loop and everything on it: the libev loop, the
 * listening socket, the lws contexts that run on it (server/transport.h),
 * the hub, the
 * metrics, the Redis bridge, the timers (heartbeat wheel, $sys) and the
 * drain (docs/design.md, "Threads and ownership").
 *
 * A worker assumes nothing of other workers and holds no process-wide
 * state: everything lws keeps pointers to lives in the struct. All of it
 * is used only on the worker's thread, except worker_request_stop(), which
 * is async-signal-safe.
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
#include "redis.h"
#include "transport.h"

struct worker {
	const struct config *cfg;     /* shared, read-only */
	int index;
	struct ev_loop *loop;         /* the libev (epoll) loop lws runs on */
	struct transport transport;   /* lws contexts (server/transport.h) */
	struct listener *listener;    /* accepts into the transport */
	struct hub *hub;
	struct metrics metrics;
	struct redis_bridge *redis;   /* NULL with --redis-url none */
	struct history *history;      /* seqs, rings, resumes (history.h) */
	int redis_was_ready;          /* a later ready state is a reconnect */
	int draining;                 /* refusing upgrades, sessions closing */
	uint64_t started_ms;          /* wall clock at start: the seq epoch */
	lws_usec_t started_mono;      /* for uptime */
	/* private to worker.c */
	ev_timer _heartbeat_tick;     /* drives the hub's heartbeat wheel */
	ev_timer _sys_tick;           /* publishes $sys */
	ev_prepare _history_pump;     /* replay pages as sessions drain */
	ev_async _stop;               /* woken by worker_request_stop() */
	volatile sig_atomic_t _stop_requested;
};

/* The worker that owns wsi's context. */
static inline struct worker *worker_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Sets up worker index with its own loop, hub, lws contexts, listening
 * socket and Redis bridge; w is zeroed storage the caller keeps. 0, or -1
 * (logged, nothing left to free). */
int worker_init(struct worker *w, const struct config *cfg, int index);

/* Runs the loop until worker_request_stop(). */
void worker_run(struct worker *w);

/* Async-signal-safe: makes worker_run() return soon. */
void worker_request_stop(struct worker *w);

/* Stops accepting (503), closes every session with CLOSE_SHUTDOWN after
 * flushing what it has queued, and runs the loop until all are gone or
 * the drain's time is up. */
void worker_drain(struct worker *w);

/* Frees everything worker_init() made. */
void worker_destroy(struct worker *w);

/* Figures for /metrics, /api/stats and $sys. */
void worker_metrics_view(struct worker *w, struct metrics_view *v);

/* Redis state as /health shows it: connected, disconnected or disabled. */
const char *worker_redis_state(struct worker *w);

#endif
