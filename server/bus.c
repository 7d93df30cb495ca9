/*
 * bus — see bus.h.
 *
 * An inbox is a ring of message pointers under the bus's lock. bus_take()
 * reads the count under the lock and then runs the messages without it:
 * posts only ever write past the ring's tail, never into the part being
 * taken, and the head moves (under the lock again) once they are done, so
 * a slow delivery never holds up another worker's post.
 */
#include "bus.h"

#include <pthread.h>
#include <stdlib.h>

/* Rounds of bus_take() in one call before it leaves the rest to the next
 * wake-up, so that a worker under a steady stream still runs its loop. */
#define BUS_TAKE_ROUNDS 4

struct bus_inbox {
	struct bus_msg **slots;   /* BUS_INBOX_SLOTS */
	unsigned head;            /* oldest */
	unsigned count;
	size_t bytes;
	struct ev_loop *loop;
	ev_async *wake;
	int taking;               /* the owner is in bus_take() */
};

struct bus {
	pthread_mutex_t lock;
	unsigned workers;
	size_t bytes_max;
	struct bus_inbox inbox[];
};

struct bus *bus_create(unsigned workers, size_t bytes_max)
{
	struct bus *b = calloc(1, sizeof(*b) + workers * sizeof(b->inbox[0]));

	if (!b)
		return NULL;
	b->workers = workers;
	b->bytes_max = bytes_max;
	pthread_mutex_init(&b->lock, NULL);
	for (unsigned i = 0; i < workers; i++) {
		b->inbox[i].slots = calloc(BUS_INBOX_SLOTS,
					   sizeof(*b->inbox[i].slots));
		if (!b->inbox[i].slots) {
			bus_destroy(b);
			return NULL;
		}
	}
	return b;
}

static void bus_msg_release(struct bus_msg *m)
{
	if (__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(m);
}

void bus_destroy(struct bus *b)
{
	if (!b)
		return;
	for (unsigned i = 0; i < b->workers; i++) {
		struct bus_inbox *in = &b->inbox[i];

		for (unsigned k = 0; in->slots && k < in->count; k++)
			bus_msg_release(
				in->slots[(in->head + k) % BUS_INBOX_SLOTS]);
		free(in->slots);
	}
	pthread_mutex_destroy(&b->lock);
	free(b);
}

void bus_attach(struct bus *b, unsigned i, struct ev_loop *loop,
		ev_async *wake)
{
	b->inbox[i].loop = loop;
	b->inbox[i].wake = wake;
}

void bus_post_begin(struct bus *b)
{
	pthread_mutex_lock(&b->lock);
}

void bus_post_cancel(struct bus *b)
{
	pthread_mutex_unlock(&b->lock);
}

int bus_post_end(struct bus *b, struct bus_msg *m, unsigned self)
{
	for (unsigned i = 0; i < b->workers; i++) {
		struct bus_inbox *in = &b->inbox[i];

		if (in->count == BUS_INBOX_SLOTS ||
		    in->bytes + m->bytes > b->bytes_max) {
			pthread_mutex_unlock(&b->lock);
			return -1;
		}
	}
	m->refs = b->workers; /* published by the unlock below */
	for (unsigned i = 0; i < b->workers; i++) {
		struct bus_inbox *in = &b->inbox[i];

		in->slots[(in->head + in->count) % BUS_INBOX_SLOTS] = m;
		in->count++;
		in->bytes += m->bytes;
	}
	pthread_mutex_unlock(&b->lock);
	for (unsigned i = 0; i < b->workers; i++)
		if (i != self && b->inbox[i].loop) /* attached */
			ev_async_send(b->inbox[i].loop, b->inbox[i].wake);
	return 0;
}

size_t bus_take(struct bus *b, unsigned i,
		void (*fn)(const struct bus_msg *m, void *arg), void *arg)
{
	struct bus_inbox *in = &b->inbox[i];
	size_t taken = 0;

	if (in->taking)
		return 0;
	in->taking = 1;
	for (int round = 0; round < BUS_TAKE_ROUNDS; round++) {
		unsigned head, n;
		size_t bytes = 0;

		pthread_mutex_lock(&b->lock);
		head = in->head;
		n = in->count;
		pthread_mutex_unlock(&b->lock);
		if (!n)
			break;
		for (unsigned k = 0; k < n; k++)
			fn(in->slots[(head + k) % BUS_INBOX_SLOTS], arg);
		for (unsigned k = 0; k < n; k++) {
			struct bus_msg *m = in->slots[(head + k) % BUS_INBOX_SLOTS];

			bytes += m->bytes;
			bus_msg_release(m);
		}
		taken += n;
		pthread_mutex_lock(&b->lock);
		in->head = (head + n) % BUS_INBOX_SLOTS;
		in->count -= n;
		in->bytes -= bytes;
		n = in->count;
		pthread_mutex_unlock(&b->lock);
		if (n && round == BUS_TAKE_ROUNDS - 1 && in->loop)
			ev_async_send(in->loop, in->wake); /* the rest: later */
	}
	in->taking = 0;
	return taken;
}
