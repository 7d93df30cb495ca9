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
