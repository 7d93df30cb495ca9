/*
 * node_threads — the life of a node's workers (node.h): each is made on
 * the main thread; worker 0 runs and drains on the main thread, every
 * other on a thread of its own; all are destroyed on the main thread once
 * every thread has returned, so no worker is freed while another can
 * still post to its inbox.
 */
#include "node.h"
#include "log.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

int node_init(struct node *n, const struct config *cfg, unsigned count)
{
	if (node_setup(n, cfg, count))
		goto oom;
	n->workers = calloc(count, sizeof(*n->workers));
	n->_threads = calloc(count, sizeof(*n->_threads));
	if (!n->workers || !n->_threads)
		goto oom;
	for (unsigned i = 0; i < count; i++) {
		if (worker_init(&n->workers[i], n, (int)i))
			goto fail;
		n->_made = i + 1;
	}
	return 0;
oom:
	log_msg(LOG_ERROR, "node", "out of memory");
fail:
	node_destroy(n);
	return -1;
}

static void *node_worker_main(void *arg)
{
	struct worker *w = arg;

	worker_run(w);
	worker_drain(w);
	return NULL;
}

/* Threads for workers 1 and up: worker 0 runs on the caller's (node_run),
 * so that a node of one worker is a process of one thread, whose libc
 * calls skip the multi-threaded paths (cancellation points, malloc). */
int node_start(struct node *n)
{
	for (unsigned i = 1; i < n->count; i++) {
		int rc = pthread_create(&n->_threads[i], NULL,
					node_worker_main, &n->workers[i]);

		if (rc) {
			log_msg(LOG_ERROR, "node", "cannot start worker %u: %s",
				i, strerror(rc));
			return -1;
		}
		n->_running = i + 1;
	}
	return 0;
}

/* Joins the threads node_start() started (their workers stopping). */
static void node_join(struct node *n)
{
	for (unsigned i = 1; i < n->_running; i++)
		pthread_join(n->_threads[i], NULL);
	n->_running = 0;
}

void node_stop(struct node *n)
{
	for (unsigned i = 1; i < n->_running; i++)
		worker_request_stop(&n->workers[i]);
	node_join(n);
}

struct node_stop_watch {
	ev_io io;
	struct node *node;
	void (*on_stop)(int sig);
};

/* A stop signal arrived on the signalfd: every worker stops. */
static void node_on_stop_fd(struct ev_loop *loop, ev_io *io, int revents)
{
	struct node_stop_watch *sw = lws_container_of(io, struct node_stop_watch,
						      io);
	struct signalfd_siginfo si;

	(void)revents;
	if (read(io->fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	ev_io_stop(loop, io); /* a second signal changes nothing */
	sw->on_stop((int)si.ssi_signo);
	for (unsigned i = 0; i < sw->node->count; i++)
		worker_request_stop(&sw->node->workers[i]);
}

void node_run(struct node *n, int stop_fd, void (*on_stop)(int sig))
{
	struct worker *first = &n->workers[0];
	struct node_stop_watch sw = { .node = n, .on_stop = on_stop };

	ev_io_init(&sw.io, node_on_stop_fd, stop_fd, EV_READ);
	ev_io_start(first->loop, &sw.io);
	worker_run(first);
	ev_io_stop(first->loop, &sw.io);
	worker_drain(first); /* the others drain on their threads meanwhile */
	node_join(n);
}

void node_destroy(struct node *n)
{
	for (unsigned i = 0; i < n->_made; i++)
		worker_destroy(&n->workers[i]);
	n->_made = 0;
	free(n->workers);
	n->workers = NULL;
	free(n->_threads);
	n->_threads = NULL;
	node_teardown(n); /* after the workers: nothing posts any more */
}
