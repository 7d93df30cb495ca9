/*
 * bus — carries a message from one worker to every worker of the node,
 * itself included, through one bounded inbox per worker (docs/design.md,
 * "Workers").
 *
 * One lock orders every post: a message goes into every inbox or into
 * none, and every inbox receives the posts in the same order, so every
 * worker delivers the node's messages in one order; a seq drawn between
 * bus_post_begin() and bus_post_end() therefore increases in every
 * worker's delivery order. An inbox holds at most BUS_INBOX_SLOTS messages
 * and bytes_max bytes; a post that does not fit every inbox is refused
 * whole, and the caller refuses the message before it acks it (counted as
 * bus_refused): nothing is lost unseen and nothing grows without bound.
 *
 * Thread: bus_post_* from any worker; each inbox is taken only by its own
 * worker (bus_take), which the post wakes through the ev_async it
 * attached. A posted message is immutable; the last inbox to let go of it
 * frees it (an atomic count), so the sender keeps no reference.
 */
#ifndef HERALD_BUS_H
#define HERALD_BUS_H

#include <ev.h>
#include <stddef.h>

#define BUS_INBOX_SLOTS 65536

/* The head of every posted message: the caller's struct starts with it
 * and is one malloc() block, which the bus free()s. */
struct bus_msg {
	unsigned refs;    /* inboxes that still hold it (atomic) */
	size_t bytes;     /* what it costs, for the inboxes' bound */
};

struct bus;

/* A bus for workers inboxes of at most bytes_max bytes each; NULL on OOM. */
struct bus *bus_create(unsigned workers, size_t bytes_max);

/* Frees the bus and every message still in an inbox. No worker may use
 * it any more. */
void bus_destroy(struct bus *b);

/* Worker i's wake-up: posts ev_async_send() it on loop. Call before any
 * post, on the thread that starts the workers. */
void bus_attach(struct bus *b, unsigned i, struct ev_loop *loop,
		ev_async *wake);

/* Takes the lock that orders posts; draw what must follow post order
 * (a seq), then bus_post_end() or bus_post_cancel(). */
void bus_post_begin(struct bus *b);

/* Puts m into every inbox, lets go of the lock and wakes every worker but
 * self (which takes its inbox itself: bus_take). 0, or -1 when an inbox is
 * full: nothing was posted and m is still the caller's. */
int bus_post_end(struct bus *b, struct bus_msg *m, unsigned self);

/* Lets go of the lock without posting. */
void bus_post_cancel(struct bus *b);

/* Runs fn on every message in worker i's inbox, oldest first, and drops
 * the inbox's hold on each. Only worker i calls it; a call from inside fn
 * returns at once (the outer call goes on). Returns the number taken. */
size_t bus_take(struct bus *b, unsigned i,
		void (*fn)(const struct bus_msg *m, void *arg), void *arg);

#endif
