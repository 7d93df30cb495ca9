/*
 * worker — see worker.h. The figures every endpoint shows come from here,
 * so /metrics, /api/stats and $sys always agree.
 */
#include "worker.h"

void worker_metrics_view(struct worker *w, struct metrics_view *v)
{
	v->counters = &w->metrics;
	v->node_id = w->cfg->node_id;
	v->sessions = hub_session_count(w->hub);
	v->clients = hub_client_count(w->hub);
	v->channels = hub_channel_count(w->hub);
	v->redis_state = worker_redis_state(w);
	v->uptime_seconds =
		(double)(lws_now_usecs() - w->started_mono) / LWS_US_PER_SEC;
}

const char *worker_redis_state(struct worker *w)
{
	if (!w->redis)
		return "disabled";
	return redis_bridge_ready(w->redis) ? "connected" : "disconnected";
}

static void worker_on_heartbeat_tick(struct ev_loop *loop, ev_timer *t,
				     int revents)
{
	struct worker *w = lws_container_of(t, struct worker, heartbeat_tick);

	(void)loop;
	(void)revents;
	hub_tick(w->hub, hub_now_ms());
}

/*
 * A libev timer, not an lws one: lws 4.1.6 keeps its timers in a sorted
 * list, and the point of the wheel is that nothing per session is in it.
 */
void worker_heartbeat_start(struct worker *w)
{
	ev_timer_init(&w->heartbeat_tick, worker_on_heartbeat_tick, 1., 1.);
	ev_timer_start(w->loop, &w->heartbeat_tick);
}

void worker_heartbeat_stop(struct worker *w)
{
	ev_timer_stop(w->loop, &w->heartbeat_tick);
}
