/*
 * worker — one event loop and everything that belongs to it.
 *
 * Each worker owns a libev loop and the lws context that runs on it (its
 * own listening socket once several workers share the port), a hub, its
 * metrics and its Redis links. The lws protocols find their worker with
 * lws_context_user(). All fields are used only on the worker's service
 * thread, except stop_requested, which the signal handler sets (followed
 * by lws_cancel_service()).
 */
#ifndef HERALD_WORKER_H
#define HERALD_WORKER_H

#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "hub.h"
#include "metrics.h"
#include "redis.h"

struct worker {
	const struct config *cfg;
	struct lws_context *context;
	struct ev_loop *loop;         /* the libev (epoll) loop lws runs on */
	struct hub *hub;
	struct metrics metrics;
	struct redis_bridge *redis;   /* NULL with --redis-url none */
	int redis_was_ready;          /* a later ready state is a reconnect */
	lws_sorted_usec_list_t sys_tick; /* the $sys publication timer */
	ev_timer heartbeat_tick;      /* drives the hub's heartbeat wheel */
	uint64_t started_ms;          /* wall clock at start: the seq epoch */
	lws_usec_t started_mono;      /* for uptime */
	int index;
	int draining;                 /* refusing upgrades, sessions closing */
	volatile sig_atomic_t stop_requested;
};

/* The worker that owns wsi's context. */
static inline struct worker *worker_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Starts / stops the once-a-second heartbeat tick on the worker's loop. */
void worker_heartbeat_start(struct worker *w);
void worker_heartbeat_stop(struct worker *w);

/* Figures for /metrics, /api/stats and $sys. */
void worker_metrics_view(struct worker *w, struct metrics_view *v);

/* Redis state as /health shows it: connected, disconnected or disabled. */
const char *worker_redis_state(struct worker *w);

#endif
