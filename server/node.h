/*
 * node — one herald process: its workers (one thread and one event loop
 * each, server/worker.h), the bus between them (server/bus.h), and what
 * belongs to the node rather than to a worker: the session count that
 * --max-connections bounds, the seq numbering, the distinct clients and
 * channels, and the figures every endpoint shows (docs/design.md,
 * "Workers").
 *
 * Thread: node_init/start/stop/destroy (node_threads.c) on the main thread; everything
 * else from any worker, lock-free (atomics) but for the names of clients
 * and channels, which one mutex guards. The workers array is fixed from
 * node_init() to node_destroy().
 */
#ifndef HERALD_NODE_H
#define HERALD_NODE_H

#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdint.h>

#include "bus.h"
#include "config.h"
#include "metrics.h"

/* --workers at most (and the default's cap) */
#define NODE_WORKERS_MAX METRICS_WORKERS_MAX

struct worker;
struct hub_node_ops;
struct node_name;

enum node_name_kind { NODE_CLIENT, NODE_CHANNEL };

struct node {
	const struct config *cfg;     /* shared, read-only */
	unsigned count;               /* workers */
	struct worker *workers;       /* count of them */
	struct bus *bus;
	uint64_t epoch_ms;            /* wall clock at start: the seq epoch */
	lws_usec_t started_mono;      /* for uptime */
	/* private to node.c */
	uint64_t _last_seq;           /* atomic */
	uint64_t _sessions;           /* atomic: open on every worker */
	pthread_mutex_t _names_lock;
	struct node_name *_names[2];  /* enum node_name_kind: uthash of
					 name -> its sessions or subscribers */
	pthread_t *_threads;
	unsigned _made;               /* workers initialised */
	unsigned _running;            /* threads started */
};

/* The number of workers --workers 0 (the default) means: the CPUs this
 * process may run on, at most NODE_WORKERS_MAX. */
unsigned node_default_workers(void);

/* Makes count workers (their loops, lws contexts, listening sockets and
 * Redis bridges) on zeroed n; 0, or -1 (logged, nothing left to free). */
int node_init(struct node *n, const struct config *cfg, unsigned count);

/* Starts a thread for every worker but worker 0 (node_run runs it); 0,
 * or -1 (logged; stop what started with node_stop). Signals must be
 * blocked by the caller: workers take none. */
int node_start(struct node *n);

/* Runs worker 0 on the calling thread until stop_fd (a signalfd of the
 * stop signals) is readable; then calls on_stop(signal), asks every worker
 * to stop, and returns once each has drained (closed its sessions or
 * reached the drain's deadline). */
void node_run(struct node *n, int stop_fd, void (*on_stop)(int sig));

/* Stops and joins the threads node_start() started (after a failed
 * start). */
void node_stop(struct node *n);

/* Frees every worker and the bus. */
void node_destroy(struct node *n);

/* What node_init() sets up before its workers, and node_destroy() frees
 * after them: the epoch, the bus, the names (n->workers is left to the
 * caller). 0, or -1 on OOM (nothing left to free). */
int node_setup(struct node *n, const struct config *cfg, unsigned count);
void node_teardown(struct node *n);

/* The node's next channel-message seq, "<epoch_ms>-<n>": one counter for
 * every channel and worker, so a channel's seqs increase strictly (with
 * gaps, like Redis Stream ids) and never restart while the node runs. */
void node_next_seq(struct node *n, char *out, size_t outlen);

/* Sessions open (or being opened) on every worker: what the session
 * limit bounds. */
long node_sessions(struct node *n);

/* Takes a seat for a new session when fewer than limit are taken: 0, or
 * -1 (the node is full; nothing taken). Atomic, so two workers cannot
 * both take the last one. */
int node_session_reserve(struct node *n, long limit);

/* Gives a seat back (the session closed, or never opened). */
void node_session_release(struct node *n);

/* Sessions of client name (NODE_CLIENT) or subscribers of channel name
 * (NODE_CHANNEL) on every worker. */
unsigned node_name_count(struct node *n, enum node_name_kind kind,
			 const char *name);

/* The hub's node ops (hub.h), with the worker as their argument: counts
 * clients and channels over the workers, and shares the cost of their
 * queues (one memory budget for the node). */
extern const struct hub_node_ops node_hub_ops;

/* The node's figures, as /metrics, /api/stats and $sys show them; self
 * is the worker asking. */
void node_metrics_view(struct node *n, struct worker *self,
		       struct metrics_view *v);

/* Redis state of the node: connected when every worker's bridge is,
 * disconnected when one is not, disabled with --redis-url none. */
const char *node_redis_state(struct node *n);

#endif
