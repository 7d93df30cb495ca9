/*
 * Unit tests for server/metrics.c: the Prometheus text (gauges, every
 * counter, the Redis state gauge), the JSON rendering, and truncation into
 * small buffers (allocated at their exact size, so ASan sees any overflow).
 */
#include "check.h"
#include "metrics.h"

#include <stdlib.h>
#include <string.h>

/* Every counter with its Prometheus and JSON names and a distinct value. */
static const struct {
	const char *prom;
	const char *json;
	uint64_t value;
} expected[] = {
	{ "herald_connections_accepted_total", "connections_total", 101 },
	{ "herald_upgrades_refused_total", "refused_total", 102 },
	{ "herald_messages_in_total", "messages_in", 103 },
	{ "herald_messages_out_total", "messages_out", 104 },
	{ "herald_bytes_in_total", "bytes_in", 105 },
	{ "herald_bytes_out_total", "bytes_out", 106 },
	{ "herald_broadcasts_total", "broadcasts", 107 },
	{ "herald_notifications_total", "notifications", 108 },
	{ "herald_channel_messages_total", "publishes", 109 },
	{ "herald_direct_messages_total", "directs", 110 },
	{ "herald_dropped_frames_total", "drops", 111 },
	{ "herald_slow_consumer_disconnects_total", "slow_consumers", 112 },
	{ "herald_oversize_closes_total", "oversize_closes", 113 },
	{ "herald_error_replies_total", "errors_sent", 114 },
	{ "herald_redis_reconnects_total", "redis_reconnects", 115 },
	{ "herald_rate_limited_total", "rate_limited", 116 },
	{ "herald_rate_limit_closes_total", "rate_limit_closes", 117 },
	{ "herald_heartbeat_pings_total", "pings_sent", 118 },
	{ "herald_heartbeat_drops_total", "heartbeat_drops", 119 },
	{ "herald_close_deadline_drops_total", "close_deadline_drops", 120 },
	{ "herald_history_writes_total", "history_writes", 121 },
	{ "herald_history_replayed_total", "history_replayed", 122 },
	{ "herald_resumes_recovered_total", "resumes_recovered", 123 },
	{ "herald_resumes_resync_total", "resumes_resync", 124 },
	{ "herald_gaps_healed_total", "gaps_healed", 125 },
	{ "herald_memory_budget_sheds_total", "memory_sheds", 126 },
	{ "herald_overloaded_refusals_total", "overloaded", 127 },
	{ "herald_redis_publishes_unconfirmed_total", "publishes_unconfirmed",
	  128 },
	{ "herald_worker_queue_refusals_total", "bus_refused", 129 },
};

#define COUNTERS (sizeof(expected) / sizeof(expected[0]))

static struct metrics m;
static struct metrics_view view;

static void setup(const char *redis_state)
{
	memset(&m, 0, sizeof(m));
	m.connections_total = 101;
	m.refused_total = 102;
	m.messages_in = 103;
	m.messages_out = 104;
	m.bytes_in = 105;
	m.bytes_out = 106;
	m.broadcasts = 107;
	m.notifications = 108;
	m.publishes = 109;
	m.directs = 110;
	m.drops = 111;
	m.slow_consumers = 112;
	m.oversize_closes = 113;
	m.errors_sent = 114;
	m.redis_reconnects = 115;
	m.rate_limited = 116;
	m.rate_limit_closes = 117;
	m.pings_sent = 118;
	m.heartbeat_drops = 119;
	m.close_deadline_drops = 120;
	m.history_writes = 121;
	m.history_replayed = 122;
	m.resumes_recovered = 123;
	m.resumes_resync = 124;
	m.gaps_healed = 125;
	m.memory_sheds = 126;
	m.overloaded = 127;
	m.publishes_unconfirmed = 128;
	m.bus_refused = 129;
	view.counters = m;
	view.workers = 2;
	view.worker_sessions[0] = 1;
	view.worker_sessions[1] = 2;
	view.node_id = "node-a";
	view.sessions = 3;
	view.clients = 2;
	view.channels = 5;
	view.redis_state = redis_state;
	view.uptime_seconds = 12.5;
	view.queued_cost = 4242;
	view.memory_budget = 1 << 30;
	view.session_limit = 192;
}

/* Number of (non-overlapping) occurrences of needle in hay. */
static int occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_prometheus_gauges(void)
{
	static char buf[16384];
	size_t n;

	setup("connected");
	n = metrics_render_prometheus(&view, buf, sizeof(buf));
	CHECK_INT_EQ(n, strlen(buf));
	CHECK(n > 0 && buf[n - 1] == '\n');
	/* whole lines: at the start or after a newline */
	CHECK(!strncmp(buf, "# HELP herald_connections ", 26));
	CHECK_CONTAINS(buf, "\n# TYPE herald_connections gauge\n");
	CHECK_CONTAINS(buf, "\nherald_connections 3\n");
	CHECK_CONTAINS(buf, "\n# TYPE herald_clients gauge\n");
	CHECK_CONTAINS(buf, "\nherald_clients 2\n");
	CHECK_CONTAINS(buf, "\nherald_channels 5\n");
	CHECK_CONTAINS(buf, "\nherald_uptime_seconds 12.500\n");
	CHECK_CONTAINS(buf, "\n# TYPE herald_queued_bytes gauge\n");
	CHECK_CONTAINS(buf, "\nherald_queued_bytes 4242\n");
	CHECK_CONTAINS(buf, "\nherald_memory_budget_bytes 1073741824\n");
	CHECK_CONTAINS(buf, "\nherald_session_limit 192\n");
	CHECK_CONTAINS(buf, "\nherald_worker_connections{worker=\"0\"} 1\n"
			    "herald_worker_connections{worker=\"1\"} 2\n");
}

static void test_prometheus_counters(void)
{
	static char buf[16384];
	char line[128];

	setup("connected");
	metrics_render_prometheus(&view, buf, sizeof(buf));
	for (size_t i = 0; i < COUNTERS; i++) {
		snprintf(line, sizeof(line), "\n%s %llu\n", expected[i].prom,
			 (unsigned long long)expected[i].value);
		CHECK_CONTAINS(buf, line);
		snprintf(line, sizeof(line), "\n# TYPE %s counter\n",
			 expected[i].prom);
		CHECK_CONTAINS(buf, line);
		snprintf(line, sizeof(line), "\n# HELP %s ", expected[i].prom);
		CHECK_CONTAINS(buf, line);
	}
	CHECK_INT_EQ(occurrences(buf, " counter\n"), COUNTERS);

	/* the full 64-bit range */
	view.counters.bytes_out = UINT64_MAX;
	metrics_render_prometheus(&view, buf, sizeof(buf));
	CHECK_CONTAINS(buf, "\nherald_bytes_out_total 18446744073709551615\n");
}

static void test_prometheus_redis_state(void)
{
	static const char *const states[] = { "connected", "disconnected",
					      "disabled" };
	static char buf[16384];
	char line[128];

	for (size_t s = 0; s < 3; s++) {
		setup(states[s]);
		metrics_render_prometheus(&view, buf, sizeof(buf));
		CHECK_CONTAINS(buf, "\n# TYPE herald_redis_state gauge\n");
		CHECK_INT_EQ(occurrences(buf, "herald_redis_state{"), 3);
		CHECK_INT_EQ(occurrences(buf, "state=\"connected\"} 1\n") +
			     occurrences(buf, "state=\"disconnected\"} 1\n") +
			     occurrences(buf, "state=\"disabled\"} 1\n"), 1);
		CHECK_INT_EQ(occurrences(buf, "\"} 0\n"), 2);
		for (size_t t = 0; t < 3; t++) {
			snprintf(line, sizeof(line),
				 "\nherald_redis_state{state=\"%s\"} %d\n",
				 states[t], s == t);
			CHECK_CONTAINS(buf, line);
		}
	}
}

static void test_json(void)
{
	json_t *o;

	setup("disabled");
	o = metrics_render_json(&view);
	CHECK(json_is_object(o));
	CHECK_STR_EQ(json_string_value(json_object_get(o, "node")), "node-a");
	/* whole seconds in JSON (12.5 s -> 12), 3 decimals in Prometheus */
	CHECK(json_is_integer(json_object_get(o, "uptime")));
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "uptime")), 12);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "connections")), 3);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "clients")), 2);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "channels")), 5);
	CHECK_STR_EQ(json_string_value(json_object_get(o, "redis")), "disabled");
	for (size_t i = 0; i < COUNTERS; i++) {
		json_t *v = json_object_get(o, expected[i].json);

		CHECK(json_is_integer(v));
		if (!json_is_integer(v))
			fprintf(stderr, "    missing: %s\n", expected[i].json);
		CHECK_INT_EQ(json_integer_value(v), expected[i].value);
	}
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "queued_bytes")),
		     4242);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "memory_budget")),
		     1 << 30);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "session_limit")),
		     192);
	CHECK_INT_EQ(json_integer_value(json_object_get(o, "workers")), 2);
	CHECK_INT_EQ(json_integer_value(json_array_get(
			     json_object_get(o, "worker_connections"), 1)), 2);
	CHECK_INT_EQ(json_object_size(o), 11 + COUNTERS);
	json_decref(o);
}

/* Every buffer size from 1 to past the full text: the output is a prefix
 * of the full text, NUL-terminated inside the buffer, cut after a newline,
 * and its length is what the function returns. */
static void test_truncation(void)
{
	static char full[16384];
	size_t total, bad = 0;

	setup("connected");
	total = metrics_render_prometheus(&view, full, sizeof(full));
	CHECK(total > 1000 && total < sizeof(full) - 1);

	for (size_t len = 1; len <= total + 2; len++) {
		char *buf = malloc(len); /* exact size: ASan sees overflows */
		size_t n;
		int ok;

		memset(buf, '#', len);
		n = metrics_render_prometheus(&view, buf, len);
		ok = n < len && buf[n] == '\0' && strlen(buf) == n &&
		     !memcmp(buf, full, n) && (n == 0 || buf[n - 1] == '\n') &&
		     (len <= total ? n < total : n == total);
		if (!ok && bad++ < 5) /* report a few sizes, not thousands */
			check_fail(__FILE__, __LINE__,
				   "a %zu-byte buffer: returned %zu, strnlen %zu",
				   len, n, strnlen(buf, len));
		free(buf);
	}
	if (bad > 5)
		fprintf(stderr, "    ... %zu sizes wrong in all\n", bad);

	{
		char tiny[40];

		/* smaller than the first block: nothing, but terminated */
		memset(tiny, '#', sizeof(tiny));
		CHECK_INT_EQ(metrics_render_prometheus(&view, tiny, sizeof(tiny)),
			     0);
		CHECK_STR_EQ(tiny, "");
	}
}

/*
 * A zero-length buffer has no room even for the terminator: nothing may be
 * read or written there and the result is 0 bytes written.
 */
static void test_zero_length_buffer(void)
{
	char buf[8] = "garbage"; /* no room is given: must stay as it is */

	setup("connected");
	CHECK_INT_EQ(metrics_render_prometheus(&view, buf, 0), 0);
	CHECK_STR_EQ(buf, "garbage");
}

int main(void)
{
	RUN(test_prometheus_gauges);
	RUN(test_prometheus_counters);
	RUN(test_prometheus_redis_state);
	RUN(test_json);
	RUN(test_truncation);
	RUN(test_zero_length_buffer);
	return check_exit_code();
}
