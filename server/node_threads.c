/*
 * node_threads — the life of a node's workers (node.h): each is made on
 * the main thread, runs and drains on a thread of its own, and is
 * destroyed on the main thread once every thread has returned, so no
 * worker is freed while another can still post to its inbox.
 */
#include "node.h"
#include "log.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

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

int node_start(struct node *n)
{
	for (unsigned i = 0; i < n->count; i++) {
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

void node_stop(struct node *n)
{
	for (unsigned i = 0; i < n->_running; i++)
		worker_request_stop(&n->workers[i]);
	for (unsigned i = 0; i < n->_running; i++)
		pthread_join(n->_threads[i], NULL);
	n->_running = 0;
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
