/*
 * node — see node.h: what the workers share. Their threads' lives are in
 * node_threads.c.
 *
 * A worker's figures are its own to write (metrics.h: one writer, relaxed
 * atomics); the node's are their sum, read from any worker. The gauges a
 * worker cannot share without a lock on its hot path (the cost of its
 * queues) it publishes once a tick, and the asking worker adds its own
 * live figure.
 */
#include "node.h"
#include "keyed_hash.h"
#include "log.h"
#include "worker.h"

/* names are chosen by clients: hashed under the process's secret key */
#define HASH_FUNCTION KEYED_HASH_UT
#include <uthash.h>

#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* One name's count: its sessions (clients) or subscribers (channels). */
struct node_name {
	UT_hash_handle hh;
	unsigned count;
	char name[];
};


/* What one inbox of the bus may hold, at least and at most: a quarter of
 * a worker's share of the memory budget in between. */
#define NODE_INBOX_BYTES_MIN (1u << 20)
#define NODE_INBOX_BYTES_MAX (64u << 20)

unsigned node_default_workers(void)
{
	cpu_set_t set;
	long online;
	unsigned n = 0;

	if (!sched_getaffinity(0, sizeof(set), &set))
		n = (unsigned)CPU_COUNT(&set);
	online = sysconf(_SC_NPROCESSORS_ONLN);
	if (!n && online > 0)
		n = (unsigned)online;
	if (!n)
		n = 1;
	return n > NODE_WORKERS_MAX ? NODE_WORKERS_MAX : n;
}

static uint64_t wall_clock_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static size_t node_inbox_bytes(const struct config *cfg, unsigned count)
{
	size_t b = (size_t)cfg->memory_budget / count / 4;

	if (b < NODE_INBOX_BYTES_MIN)
		return NODE_INBOX_BYTES_MIN;
	return b > NODE_INBOX_BYTES_MAX ? NODE_INBOX_BYTES_MAX : b;
}

int node_setup(struct node *n, const struct config *cfg, unsigned count)
{
	n->cfg = cfg;
	n->count = count;
	n->epoch_ms = wall_clock_ms();
	n->started_mono = lws_now_usecs();
	pthread_mutex_init(&n->_names_lock, NULL);
	n->bus = bus_create(count, node_inbox_bytes(cfg, count));
	if (!n->bus) {
		node_teardown(n);
		return -1;
	}
	return 0;
}

void node_teardown(struct node *n)
{
	bus_destroy(n->bus);
	n->bus = NULL;
	for (int kind = 0; kind < 2; kind++) {
		struct node_name *e, *tmp;

		HASH_ITER(hh, n->_names[kind], e, tmp) {
			HASH_DEL(n->_names[kind], e);
			free(e);
		}
	}
	pthread_mutex_destroy(&n->_names_lock);
}

void node_next_seq(struct node *n, char *out, size_t outlen)
{
	snprintf(out, outlen, "%" PRIu64 "-%" PRIu64, n->epoch_ms,
		 __atomic_add_fetch(&n->_last_seq, 1, __ATOMIC_RELAXED));
}

long node_sessions(struct node *n)
{
	return (long)__atomic_load_n(&n->_sessions, __ATOMIC_RELAXED);
}

int node_session_reserve(struct node *n, long limit)
{
	uint64_t now = __atomic_load_n(&n->_sessions, __ATOMIC_RELAXED);

	do {
		if ((long)now >= limit)
			return -1;
	} while (!__atomic_compare_exchange_n(&n->_sessions, &now, now + 1, 1,
					      __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return 0;
}

void node_session_release(struct node *n)
{
	__atomic_sub_fetch(&n->_sessions, 1, __ATOMIC_RELAXED);
}

static void node_name_add(struct node *n, enum node_name_kind kind,
			  const char *name, int delta)
{
	struct node_name *e;

	pthread_mutex_lock(&n->_names_lock);
	HASH_FIND_STR(n->_names[kind], name, e);
	if (!e && delta > 0) {
		size_t len = strlen(name);

		e = calloc(1, sizeof(*e) + len + 1);
		if (e) {
			memcpy(e->name, name, len + 1);
			HASH_ADD_KEYPTR(hh, n->_names[kind], e->name, len, e);
		}
	}
	if (e) {
		e->count = delta < 0 && (unsigned)-delta >= e->count
			? 0 : e->count + (unsigned)delta;
		if (!e->count) {
			HASH_DEL(n->_names[kind], e);
			free(e);
		}
	}
	pthread_mutex_unlock(&n->_names_lock);
}

unsigned node_name_count(struct node *n, enum node_name_kind kind,
			 const char *name)
{
	struct node_name *e;
	unsigned count;

	pthread_mutex_lock(&n->_names_lock);
	HASH_FIND_STR(n->_names[kind], name, e);
	count = e ? e->count : 0;
	pthread_mutex_unlock(&n->_names_lock);
	return count;
}

/* Distinct clients or channels on the node. */
static unsigned node_name_total(struct node *n, enum node_name_kind kind)
{
	unsigned c;

	pthread_mutex_lock(&n->_names_lock);
	c = HASH_COUNT(n->_names[kind]);
	pthread_mutex_unlock(&n->_names_lock);
	return c;
}

static void node_on_count(void *arg, int channel, const char *name, int delta)
{
	struct worker *w = arg;

	node_name_add(w->node, channel ? NODE_CHANNEL : NODE_CLIENT, name,
		      delta);
}

static void node_on_cost(void *arg, size_t own, size_t largest)
{
	struct worker *w = arg;

	metric_set(&w->queued_cost, own);
	metric_set(&w->largest_cost, largest);
}

static size_t node_on_elsewhere(void *arg, size_t *largest)
{
	struct worker *w = arg;
	struct node *n = w->node;
	size_t sum = 0;

	*largest = 0;
	for (unsigned i = 0; i < n->count; i++) {
		struct worker *o = &n->workers[i];
		size_t l = (size_t)metric_read(&o->largest_cost);

		if (o == w)
			continue;
		sum += (size_t)metric_read(&o->queued_cost);
		if (l > *largest)
			*largest = l;
	}
	return sum;
}

const struct hub_node_ops node_hub_ops = {
	.count = node_on_count,
	.cost = node_on_cost,
	.elsewhere = node_on_elsewhere,
};

void node_metrics_view(struct node *n, struct worker *self,
		       struct metrics_view *v)
{
	memset(v, 0, sizeof(*v));
	worker_publish_gauges(self);
	for (unsigned i = 0; i < n->count; i++) {
		struct worker *w = &n->workers[i];

		metrics_sum(&v->counters, &w->metrics);
		if (w->history) {
			const struct history_stats *hs =
				history_stats(w->history);

			v->counters.history_replayed += metric_read(&hs->replayed);
			v->counters.resumes_recovered +=
				metric_read(&hs->recovered);
			v->counters.resumes_resync += metric_read(&hs->resyncs);
			v->counters.gaps_healed += metric_read(&hs->heals);
		}
		v->queued_cost += (size_t)metric_read(&w->queued_cost);
		if (i < METRICS_WORKERS_MAX)
			v->worker_sessions[i] =
				(unsigned)metric_read(&w->open_sessions);
	}
	v->workers = n->count;
	v->node_id = n->cfg->node_id;
	v->sessions = (unsigned)node_sessions(n);
	v->clients = node_name_total(n, NODE_CLIENT);
	v->channels = node_name_total(n, NODE_CHANNEL);
	v->redis_state = node_redis_state(n);
	v->memory_budget = (size_t)n->cfg->memory_budget;
	v->session_limit = n->cfg->session_limit;
	v->uptime_seconds =
		(double)(lws_now_usecs() - n->started_mono) / LWS_US_PER_SEC;
}

const char *node_redis_state(struct node *n)
{
	if (n->cfg->redis.kind == REDIS_NONE)
		return "disabled";
	for (unsigned i = 0; i < n->count; i++)
		if (!__atomic_load_n(&n->workers[i].redis_ready,
				     __ATOMIC_ACQUIRE))
			return "disconnected";
	return "connected";
}
