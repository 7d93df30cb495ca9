/*
 * worker — see worker.h. The figures every endpoint shows come from here,
 * so /metrics, /api/stats and $sys always agree.
 *
 * Timers are libev timers on the worker's loop, not lws ones: lws 4.1.6
 * keeps its timers in one sorted list, and nothing per session (nor any
 * periodic work) belongs in it (docs/design.md, "Heartbeat and deadlines").
 */
#include "worker.h"
#include "log.h"
#include "router.h"
#include "sys_channel.h"

#include <string.h>

#define DRAIN_TIMEOUT_US (5 * LWS_US_PER_SEC)
#define DRAIN_FLUSH_PASSES 4
#define TICK_SECONDS 1.
#define WORKER_IO_COLLECT_S 0.0002

static void worker_on_heartbeat_tick(struct ev_loop *loop, ev_timer *t,
				     int revents)
{
	struct worker *w = lws_container_of(t, struct worker, _heartbeat_tick);

	(void)loop;
	(void)revents;
	hub_tick(w->hub, hub_now_ms());
	history_tick(w->history, hub_now_ms());
	worker_publish_gauges(w);
}

/* Before the loop waits: replay pages where sessions drained, reads due. */
static void worker_on_prepare(struct ev_loop *loop, ev_prepare *p,
			      int revents)
{
	struct worker *w = lws_container_of(p, struct worker, _history_pump);

	(void)loop;
	(void)revents;
	if (history_busy(w->history))
		history_pump(w->history, hub_now_ms());
}

static void worker_on_sys_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	sys_channel_publish(lws_container_of(t, struct worker, _sys_tick));
}

static void worker_on_stop(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)a;
	(void)revents;
	/* the flag is set already; waking the loop was the point */
}

/* Messages other workers (or this one) posted to the node's bus. */
static void worker_on_inbox(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = lws_container_of(a, struct worker, _inbox);

	(void)loop;
	(void)revents;
	router_bus_take(w);
}

static void worker_on_accept(int fd, void *arg)
{
	transport_adopt(arg, fd);
}

int worker_init(struct worker *w, struct node *node, int index)
{
	const struct config *cfg = node->cfg;
	char err[256];
	struct hub_limits limits = {
		.max_queue = (size_t)cfg->max_queue,
		.memory_budget = (size_t)cfg->memory_budget, /* the node's */
		.max_sessions = cfg->max_connections,
		.heartbeat_s = (unsigned)cfg->heartbeat,
	};

	struct history_limits hlim = {
		.size = cfg->history_size,
		.ttl_s = cfg->history_ttl,
		.page = 100,
		.epoch_ms = node->epoch_ms,
	};

	w->cfg = cfg;
	w->node = node;
	w->index = index;
	w->hub = hub_create(&transport_hub_ops, &limits, &w->metrics);
	w->history = history_create(&hlim, &router_history_ops, w);
	if (!w->hub || !w->history) {
		log_msg(LOG_ERROR, "worker", "out of memory");
		goto fail;
	}
	hub_set_node(w->hub, &node_hub_ops, w);
	w->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!w->loop) {
		log_msg(LOG_ERROR, "worker", "cannot create the epoll loop");
		goto fail;
	}
	/*
	 * With several workers each loop is partly idle, and one woken for
	 * every message spent a quarter of its time going to sleep and
	 * waking (echo: 0.83x the work per CPU-second of one worker). Waiting
	 * up to WORKER_IO_COLLECT_S after a wake-up gathers the events that
	 * follow into one poll: 1.0x, and a lower p99 (docs/benchmarks.md,
	 * "8. Workers"). One worker keeps polling at once, as before.
	 */
	if (node->count > 1)
		ev_set_io_collect_interval(w->loop, WORKER_IO_COLLECT_S);
	if (transport_create(w))
		goto fail;
	w->listener = listener_create(w->loop, cfg->host, cfg->port,
				      node->count == 1 ? LISTENER_ALONE
				      : index == 0 ? LISTENER_SHARE_FIRST
						   : LISTENER_SHARE,
				      worker_on_accept, w,
				      err, sizeof(err));
	if (!w->listener) {
		log_msg(LOG_ERROR, "worker", "cannot listen on %s:%d: %s",
			cfg->host, cfg->port, err);
		goto fail;
	}
	if (cfg->redis.kind != REDIS_NONE) {
		w->redis = redis_bridge_create(w->loop, &cfg->redis,
					       cfg->redis_prefix, cfg->node_id,
					       index, cfg->history_size,
					       cfg->history_ttl,
					       &router_redis_ops, w);
		if (!w->redis) {
			log_msg(LOG_ERROR, "worker", "out of memory");
			goto fail;
		}
	}
	ev_timer_init(&w->_heartbeat_tick, worker_on_heartbeat_tick,
		      TICK_SECONDS, TICK_SECONDS);
	ev_timer_start(w->loop, &w->_heartbeat_tick);
	ev_timer_init(&w->_sys_tick, worker_on_sys_tick, TICK_SECONDS,
		      TICK_SECONDS);
	ev_timer_start(w->loop, &w->_sys_tick);
	ev_async_init(&w->_stop, worker_on_stop);
	ev_async_start(w->loop, &w->_stop);
	ev_async_init(&w->_inbox, worker_on_inbox);
	ev_async_start(w->loop, &w->_inbox);
	bus_attach(node->bus, (unsigned)index, w->loop, &w->_inbox);
	ev_prepare_init(&w->_history_pump, worker_on_prepare);
	ev_prepare_start(w->loop, &w->_history_pump);
	return 0;
fail:
	worker_destroy(w);
	return -1;
}

void worker_run(struct worker *w)
{
	while (!__atomic_load_n(&w->_stop_requested, __ATOMIC_ACQUIRE))
		ev_run(w->loop, EVRUN_ONCE);
}

void worker_request_stop(struct worker *w)
{
	__atomic_store_n(&w->_stop_requested, 1, __ATOMIC_RELEASE);
	ev_async_send(w->loop, &w->_stop); /* thread- and signal-safe (libev) */
}

void worker_drain(struct worker *w)
{
	lws_usec_t deadline = lws_now_usecs() + DRAIN_TIMEOUT_US;

	w->draining = 1;
	log_msg(LOG_INFO, "worker", "worker %d: draining %u sessions", w->index,
		hub_session_count(w->hub));
	hub_close_all(w->hub, CLOSE_SHUTDOWN);
	while (hub_session_count(w->hub) && lws_now_usecs() < deadline)
		ev_run(w->loop, EVRUN_ONCE);
	if (hub_session_count(w->hub))
		log_msg(LOG_WARN, "worker", "%u sessions still open at the "
			"drain deadline; dropping them",
			hub_session_count(w->hub));
	/*
	 * A session leaves the hub when lws takes over its close; lws sends
	 * the close frame on the socket's next writable event. A few passes
	 * that do not block send them to every peer that still reads.
	 */
	for (int pass = 0; pass < DRAIN_FLUSH_PASSES; pass++)
		ev_run(w->loop, EVRUN_NOWAIT);
}

void worker_destroy(struct worker *w)
{
	if (w->loop) {
		ev_timer_stop(w->loop, &w->_heartbeat_tick);
		ev_timer_stop(w->loop, &w->_sys_tick);
		ev_async_stop(w->loop, &w->_stop);
		ev_async_stop(w->loop, &w->_inbox);
		ev_prepare_stop(w->loop, &w->_history_pump);
	}
	listener_destroy(w->listener);
	w->listener = NULL;
	redis_bridge_destroy(w->redis);
	w->redis = NULL;
	transport_destroy(w);
	if (w->loop)
		ev_loop_destroy(w->loop);
	w->loop = NULL;
	/* after the bridge (its pending reads answer) and the sessions */
	history_destroy(w->history);
	w->history = NULL;
	hub_destroy(w->hub);
	w->hub = NULL;
}
