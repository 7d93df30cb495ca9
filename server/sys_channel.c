/*
 * sys_channel — see sys_channel.h. Figures are per node: every worker
 * publishes its node's to its own subscribers, never through Redis.
 */
#include "sys_channel.h"
#include "router.h"

#include <sys/time.h>

void sys_channel_publish(struct worker *w)
{
	struct route_target sys;
	struct metrics_view v;
	struct timeval tv;
	json_t *stats;

	if (!hub_channel_find(w->hub, NAMES_SYS_CHANNEL))
		return;
	gettimeofday(&tv, NULL);
	node_metrics_view(w->node, w, &v);
	stats = metrics_render_json(&v);
	if (!stats)
		return;
	json_object_set_new(stats, "time",
			    json_integer((json_int_t)tv.tv_sec * 1000 +
					 tv.tv_usec / 1000));
	route_channel(&sys, NAMES_SYS_CHANNEL, 0);
	router_notify(w, &sys, stats);
	json_decref(stats);
}
