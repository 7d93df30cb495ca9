/*
 * metrics — herald's counters and their renderings (Prometheus text, JSON).
 *
 * Each worker owns one struct metrics and is its only writer: metric_add()
 * is a plain add published with relaxed atomic stores, so that any worker
 * can read every worker's counters (metric_read) and render the node's
 * figures (node_metrics_view: the HTTP API, $sys) without a lock and
 * without a locked instruction on the hot path (docs/design.md, "Workers").
 */
#ifndef HERALD_METRICS_H
#define HERALD_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct metrics {
	uint64_t connections_total;   /* sessions accepted */
	uint64_t refused_total;       /* upgrades refused before the 101 */
	uint64_t messages_in;         /* complete client messages */
	uint64_t messages_out;        /* frames written to sessions */
	uint64_t bytes_in;
	uint64_t bytes_out;
	/* messages delivered, counted once per worker with recipients: */
	uint64_t broadcasts;          /* broadcast messages */
	uint64_t notifications;       /* Redis/HTTP notifications */
	uint64_t publishes;           /* channel messages */
	uint64_t directs;             /* client-to-client messages */
	uint64_t drops;               /* frames dropped (slow consumer, OOM) */
	uint64_t slow_consumers;      /* sessions closed as slow consumers */
	uint64_t oversize_closes;     /* sessions closed with 1009 */
	uint64_t errors_sent;         /* error replies to bad client messages */
	uint64_t rate_limited;        /* messages refused by the rate limit */
	uint64_t rate_limit_closes;   /* sessions closed (1008) for abusing it */
	uint64_t redis_reconnects;    /* Redis links re-established */
	uint64_t pings_sent;          /* heartbeat pings to silent sessions */
	uint64_t heartbeat_drops;     /* sessions dropped: no answer to a ping */
	uint64_t close_deadline_drops; /* closes herald started that timed out */
	uint64_t history_writes;      /* channel messages this node stored */
	uint64_t history_replayed;    /* messages replayed to resuming sessions */
	uint64_t resumes_recovered;   /* resumes that got every missed message */
	uint64_t resumes_resync;      /* resumes answered with resync */
	uint64_t gaps_healed;         /* channels healed after a Redis outage */
	uint64_t memory_sheds;        /* slow consumers shed for the memory budget */
	uint64_t overloaded;          /* messages refused: memory budget */
	uint64_t publishes_unconfirmed; /* PUBLISHes lost with a Redis link */
	uint64_t bus_refused;         /* messages refused: a worker's inbox
					 was full (server/bus.h) */
};

/* Adds n to one of this worker's own counters (c is in its struct
 * metrics): one writer, so a load and a store, each atomic, suffice. */
static inline void metric_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

/* Sets a gauge of this worker's own (one writer). */
static inline void metric_set(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, v, __ATOMIC_RELAXED);
}

/* Reads any worker's counter or gauge from any thread. */
static inline uint64_t metric_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Adds every counter of src (any worker's, read with metric_read) to sum. */
void metrics_sum(struct metrics *sum, const struct metrics *src);

/* Workers whose sessions /metrics lists one by one (worker="i"). */
#define METRICS_WORKERS_MAX 64

/* Everything the renderers show. */
struct metrics_view {
	struct metrics counters;      /* every worker's, summed */
	const char *node_id;
	unsigned sessions;
	unsigned clients;
	unsigned channels;
	const char *redis_state;      /* connected, disconnected, disabled */
	size_t queued_cost;           /* every queue's cost (hub_queued_cost) */
	size_t memory_budget;         /* its bound; 0: none */
	long session_limit;           /* upgrades past it get 503 */
	double uptime_seconds;
	unsigned workers;             /* --workers */
	unsigned worker_sessions[METRICS_WORKERS_MAX]; /* each one's sessions */
};

/* Prometheus text exposition into buf; returns bytes written (truncated
 * output is cut at a line boundary) . */
size_t metrics_render_prometheus(const struct metrics_view *v, char *buf,
				 size_t len);

/* The same figures as a JSON object (new reference, NULL on OOM). */
json_t *metrics_render_json(const struct metrics_view *v);

#endif
