/*
 * metrics — see metrics.h. One table names every counter once for both
 * renderings, so /metrics, /api/stats and $sys can never disagree.
 */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct counter_def {
	const char *json_name;
	const char *prom_name;
	const char *help;
	size_t offset;
};

#define COUNTER(field, prom, help) \
	{ #field, prom, help, offsetof(struct metrics, field) }

static const struct counter_def counters[] = {
	COUNTER(connections_total, "herald_connections_accepted_total",
		"WebSocket sessions accepted"),
	COUNTER(refused_total, "herald_upgrades_refused_total",
		"upgrades refused before the handshake"),
	COUNTER(messages_in, "herald_messages_in_total",
		"complete messages received from clients"),
	COUNTER(messages_out, "herald_messages_out_total",
		"frames written to clients"),
	COUNTER(bytes_in, "herald_bytes_in_total",
		"payload bytes received from clients"),
	COUNTER(bytes_out, "herald_bytes_out_total",
		"payload bytes written to clients"),
	COUNTER(broadcasts, "herald_broadcasts_total",
		"broadcast messages delivered (once per worker with recipients)"),
	COUNTER(notifications, "herald_notifications_total",
		"notifications delivered (once per worker with recipients)"),
	COUNTER(publishes, "herald_channel_messages_total",
		"channel messages delivered (once per worker with recipients)"),
	COUNTER(directs, "herald_direct_messages_total",
		"client-to-client messages delivered (once per worker with recipients)"),
	COUNTER(drops, "herald_dropped_frames_total",
		"frames dropped (slow consumers, out of memory)"),
	COUNTER(slow_consumers, "herald_slow_consumer_disconnects_total",
		"sessions closed as slow consumers"),
	COUNTER(oversize_closes, "herald_oversize_closes_total",
		"sessions closed for a message over max-message-size"),
	COUNTER(errors_sent, "herald_error_replies_total",
		"error replies to bad client messages"),
	COUNTER(rate_limited, "herald_rate_limited_total",
		"client messages refused by the rate limit"),
	COUNTER(rate_limit_closes, "herald_rate_limit_closes_total",
		"sessions closed with 1008 for exceeding the rate limit"),
	COUNTER(redis_reconnects, "herald_redis_reconnects_total",
		"Redis links re-established after a loss"),
	COUNTER(pings_sent, "herald_heartbeat_pings_total",
		"pings sent to sessions silent for the heartbeat period"),
	COUNTER(heartbeat_drops, "herald_heartbeat_drops_total",
		"sessions dropped after twice the heartbeat without input"),
	COUNTER(close_deadline_drops, "herald_close_deadline_drops_total",
		"sessions dropped because a close herald started did not finish"),
	COUNTER(history_writes, "herald_history_writes_total",
		"channel messages stored in history by this node"),
	COUNTER(history_replayed, "herald_history_replayed_total",
		"messages replayed to resuming sessions"),
	COUNTER(resumes_recovered, "herald_resumes_recovered_total",
		"resumes that received every missed message"),
	COUNTER(resumes_resync, "herald_resumes_resync_total",
		"resumes (and heals) answered with resync"),
	COUNTER(gaps_healed, "herald_gaps_healed_total",
		"channels healed from the streams after the Redis link returned"),
	COUNTER(memory_sheds, "herald_memory_budget_sheds_total",
		"sessions closed with 1013 to keep the queues within --memory-budget"),
	COUNTER(overloaded, "herald_overloaded_refusals_total",
		"client and HTTP messages refused while the queues held 3/4 of --memory-budget"),
	COUNTER(publishes_unconfirmed, "herald_redis_publishes_unconfirmed_total",
		"PUBLISHes whose Redis link was lost before Redis confirmed them"),
	COUNTER(bus_refused, "herald_worker_queue_refusals_total",
		"messages refused because a worker's cross-worker queue was full"),
};

#define COUNTER_COUNT (sizeof(counters) / sizeof(counters[0]))

static uint64_t counter_value(const struct metrics *m, size_t i)
{
	uint64_t v;

	memcpy(&v, (const char *)m + counters[i].offset, sizeof(v));
	return v;
}

void metrics_sum(struct metrics *sum, const struct metrics *src)
{
	const uint64_t *from = (const uint64_t *)src;
	uint64_t *to = (uint64_t *)sum;

	_Static_assert(sizeof(struct metrics) % sizeof(uint64_t) == 0,
		       "struct metrics holds only uint64_t counters");
	for (size_t i = 0; i < sizeof(*sum) / sizeof(uint64_t); i++)
		to[i] += metric_read(&from[i]);
}

/* Appends to buf at *used; stops (and keeps the cut clean) when full. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - *used) {
		/* drop the partial line */
		buf[*used] = '\0';
		*used = len;
		return;
	}
	*used += (size_t)n;
}

size_t metrics_render_prometheus(const struct metrics_view *v, char *buf,
				 size_t len)
{
	static const char *const states[] = { "connected", "disconnected",
					      "disabled" };
	size_t used = 0;

	if (!len)
		return 0;
	append(buf, len, &used,
	       "# HELP herald_connections open WebSocket sessions\n"
	       "# TYPE herald_connections gauge\n"
	       "herald_connections %u\n"
	       "# HELP herald_clients distinct connected client ids\n"
	       "# TYPE herald_clients gauge\n"
	       "herald_clients %u\n"
	       "# HELP herald_channels channels with local subscribers\n"
	       "# TYPE herald_channels gauge\n"
	       "herald_channels %u\n"
	       "# HELP herald_uptime_seconds seconds since start\n"
	       "# TYPE herald_uptime_seconds gauge\n"
	       "herald_uptime_seconds %.3f\n"
	       "# HELP herald_queued_bytes what the unsent frames of every "
	       "session cost (payload + 64 bytes per frame)\n"
	       "# TYPE herald_queued_bytes gauge\n"
	       "herald_queued_bytes %zu\n"
	       "# HELP herald_memory_budget_bytes --memory-budget in effect\n"
	       "# TYPE herald_memory_budget_bytes gauge\n"
	       "herald_memory_budget_bytes %zu\n"
	       "# HELP herald_session_limit sessions this node lets in "
	       "(--max-connections and the open-files limit)\n"
	       "# TYPE herald_session_limit gauge\n"
	       "herald_session_limit %ld\n",
	       v->sessions, v->clients, v->channels, v->uptime_seconds,
	       v->queued_cost, v->memory_budget, v->session_limit);
	for (size_t i = 0; i < COUNTER_COUNT; i++)
		append(buf, len, &used,
		       "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
		       counters[i].prom_name, counters[i].help,
		       counters[i].prom_name, counters[i].prom_name,
		       (unsigned long long)counter_value(&v->counters, i));
	append(buf, len, &used,
	       "# HELP herald_worker_connections open sessions per worker\n"
	       "# TYPE herald_worker_connections gauge\n");
	for (unsigned i = 0; i < v->workers && i < METRICS_WORKERS_MAX; i++)
		append(buf, len, &used,
		       "herald_worker_connections{worker=\"%u\"} %u\n", i,
		       v->worker_sessions[i]);
	append(buf, len, &used,
	       "# HELP herald_redis_state Redis link state (1 for the "
	       "current state)\n# TYPE herald_redis_state gauge\n");
	for (size_t i = 0; i < 3; i++)
		append(buf, len, &used, "herald_redis_state{state=\"%s\"} %d\n",
		       states[i], !strcmp(states[i], v->redis_state));
	return used < len ? used : strlen(buf);
}

json_t *metrics_render_json(const struct metrics_view *v)
{
	/* uptime in whole seconds: a float would show binary noise */
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:s}", "node",
			      v->node_id, "uptime",
			      (json_int_t)v->uptime_seconds,
			      "connections", (json_int_t)v->sessions, "clients",
			      (json_int_t)v->clients, "channels",
			      (json_int_t)v->channels, "redis",
			      v->redis_state);

	if (o) {
		json_object_set_new(o, "queued_bytes",
				    json_integer((json_int_t)v->queued_cost));
		json_object_set_new(o, "memory_budget",
				    json_integer((json_int_t)v->memory_budget));
		json_object_set_new(o, "session_limit",
				    json_integer((json_int_t)v->session_limit));
		json_object_set_new(o, "workers",
				    json_integer((json_int_t)v->workers));
		json_object_set_new(o, "worker_connections", json_array());
		for (unsigned i = 0; i < v->workers &&
				     i < METRICS_WORKERS_MAX; i++)
			json_array_append_new(
				json_object_get(o, "worker_connections"),
				json_integer(v->worker_sessions[i]));
	}
	for (size_t i = 0; o && i < COUNTER_COUNT; i++)
		json_object_set_new(
			o, counters[i].json_name,
			json_integer((json_int_t)counter_value(&v->counters, i)));
	return o;
}
