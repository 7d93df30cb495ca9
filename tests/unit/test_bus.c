/*
 * test_bus — the bounded queues between a node's workers (server/bus.h):
 * every inbox gets every post, in one order; a post that does not fit
 * every inbox is refused whole; the last inbox frees a message; and, with
 * real threads (also run under ThreadSanitizer: make tsan), two producers
 * and two consumers on libev loops see every message exactly once, in the
 * same order, each producer's in its own order.
 */
#include "check.h"
#include "bus.h"

#include <ev.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct msg {
	struct bus_msg bus; /* first: the bus frees the block */
	unsigned producer;
	unsigned n;
};

static struct msg *msg_new(unsigned producer, unsigned n, size_t bytes)
{
	struct msg *m = calloc(1, sizeof(*m));

	m->bus.bytes = bytes;
	m->producer = producer;
	m->n = n;
	return m;
}

/* What one inbox took, in order. */
struct seen {
	unsigned count;
	unsigned order[64];
};

static void record(const struct bus_msg *b, void *arg)
{
	const struct msg *m = (const struct msg *)b;
	struct seen *s = arg;

	if (s->count < 64)
		s->order[s->count] = m->producer * 1000 + m->n;
	s->count++;
}

static void test_every_inbox_in_order(void)
{
	struct bus *b = bus_create(2, 1 << 20);
	struct seen s0 = { 0 }, s1 = { 0 };

	for (unsigned i = 0; i < 3; i++) {
		bus_post_begin(b);
		CHECK_INT_EQ(bus_post_end(b, &msg_new(0, i, 10)->bus, 0), 0);
	}
	CHECK_INT_EQ(bus_take(b, 0, record, &s0), 3);
	CHECK_INT_EQ(bus_take(b, 0, record, &s0), 0); /* taken once */
	CHECK_INT_EQ(bus_take(b, 1, record, &s1), 3);
	CHECK_INT_EQ(s0.count, 3);
	CHECK(!memcmp(s0.order, s1.order, sizeof(unsigned) * 3));
	CHECK_INT_EQ(s0.order[2], 2);
	bus_destroy(b);
}

static void test_refused_whole_when_full(void)
{
	struct bus *b = bus_create(2, 100);
	struct seen s0 = { 0 }, s1 = { 0 };
	struct msg *big;

	bus_post_begin(b);
	CHECK_INT_EQ(bus_post_end(b, &msg_new(0, 0, 60)->bus, 1), 0);
	/* 60 + 60 > 100 in every inbox: refused, still the caller's */
	big = msg_new(0, 1, 60);
	bus_post_begin(b);
	CHECK_INT_EQ(bus_post_end(b, &big->bus, 1), -1);
	free(big);
	/* inbox 1 drains; inbox 0 is still full: refused for both */
	CHECK_INT_EQ(bus_take(b, 1, record, &s1), 1);
	big = msg_new(0, 2, 60);
	bus_post_begin(b);
	CHECK_INT_EQ(bus_post_end(b, &big->bus, 1), -1);
	free(big);
	CHECK_INT_EQ(bus_take(b, 0, record, &s0), 1);
	bus_post_begin(b);
	CHECK_INT_EQ(bus_post_end(b, &msg_new(0, 3, 60)->bus, 1), 0);
	bus_post_begin(b);
	bus_post_cancel(b); /* nothing posted */
	CHECK_INT_EQ(bus_take(b, 0, record, &s0), 1);
	CHECK_INT_EQ(bus_take(b, 1, record, &s1), 1);
	CHECK_INT_EQ(s0.order[1], 3);
	CHECK_INT_EQ(s1.order[1], 3);
	bus_destroy(b);
}

/* Messages left in inboxes are freed with the bus (LeakSanitizer). */
static void test_destroy_frees_what_is_left(void)
{
	struct bus *b = bus_create(3, 1 << 20);
	struct seen s = { 0 };

	for (unsigned i = 0; i < 5; i++) {
		bus_post_begin(b);
		CHECK_INT_EQ(bus_post_end(b, &msg_new(0, i, 1)->bus, 0), 0);
	}
	CHECK_INT_EQ(bus_take(b, 2, record, &s), 5);
	bus_destroy(b);
}

/* ---- threads ---- */

#define PRODUCERS 2
#define CONSUMERS 2
#define PER_PRODUCER 20000
#define TOTAL (PRODUCERS * PER_PRODUCER)

struct consumer {
	struct bus *bus;
	unsigned index;
	struct ev_loop *loop;
	ev_async wake;
	unsigned *order;       /* TOTAL: producer * PER_PRODUCER + n */
	unsigned count;
	unsigned next[PRODUCERS];
	unsigned out_of_order;
};

static void consume(const struct bus_msg *b, void *arg)
{
	const struct msg *m = (const struct msg *)b;
	struct consumer *c = arg;

	if (m->n != c->next[m->producer])
		c->out_of_order++;
	c->next[m->producer] = m->n + 1;
	if (c->count < TOTAL)
		c->order[c->count] = m->producer * PER_PRODUCER + m->n;
	c->count++;
}

static void on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct consumer *c = a->data;

	(void)revents;
	bus_take(c->bus, c->index, consume, c);
	if (c->count >= TOTAL)
		ev_break(loop, EVBREAK_ALL);
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;

	ev_run(c->loop, 0);
	return NULL;
}

struct producer {
	struct bus *bus;
	unsigned index;
	unsigned refused;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;

	for (unsigned n = 0; n < PER_PRODUCER;) {
		struct msg *m = msg_new(p->index, n, 64);

		bus_post_begin(p->bus);
		/* self: CONSUMERS (none), so every inbox is woken */
		if (bus_post_end(p->bus, &m->bus, CONSUMERS)) {
			free(m);
			p->refused++;
			sched_yield();
			continue;
		}
		n++;
	}
	return NULL;
}

static void test_threads_exactly_once_in_one_order(void)
{
	/* small inboxes: the producers meet refusals and try again */
	struct bus *b = bus_create(CONSUMERS, 64 * 256);
	struct consumer c[CONSUMERS];
	struct producer p[PRODUCERS];
	pthread_t ct[CONSUMERS], pt[PRODUCERS];
	unsigned refused = 0;

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < CONSUMERS; i++) {
		c[i].bus = b;
		c[i].index = i;
		c[i].loop = ev_loop_new(EVFLAG_AUTO);
		c[i].order = calloc(TOTAL, sizeof(unsigned));
		ev_async_init(&c[i].wake, on_wake);
		c[i].wake.data = &c[i];
		ev_async_start(c[i].loop, &c[i].wake);
		bus_attach(b, i, c[i].loop, &c[i].wake);
	}
	for (unsigned i = 0; i < CONSUMERS; i++)
		pthread_create(&ct[i], NULL, consumer_main, &c[i]);
	for (unsigned i = 0; i < PRODUCERS; i++) {
		p[i] = (struct producer){ .bus = b, .index = i };
		pthread_create(&pt[i], NULL, producer_main, &p[i]);
	}
	for (unsigned i = 0; i < PRODUCERS; i++) {
		pthread_join(pt[i], NULL);
		refused += p[i].refused;
	}
	for (unsigned i = 0; i < CONSUMERS; i++)
		pthread_join(ct[i], NULL);
	for (unsigned i = 0; i < CONSUMERS; i++) {
		CHECK_INT_EQ(c[i].count, TOTAL);
		CHECK_INT_EQ(c[i].out_of_order, 0);
		for (unsigned k = 0; k < PRODUCERS; k++)
			CHECK_INT_EQ(c[i].next[k], PER_PRODUCER);
	}
	CHECK(!memcmp(c[0].order, c[1].order, TOTAL * sizeof(unsigned)));
	CHECK(refused > 0); /* the bound was met, and nothing was lost */
	for (unsigned i = 0; i < CONSUMERS; i++) {
		ev_async_stop(c[i].loop, &c[i].wake);
		ev_loop_destroy(c[i].loop);
		free(c[i].order);
	}
	bus_destroy(b);
}

int main(void)
{
	RUN(test_every_inbox_in_order);
	RUN(test_refused_whole_when_full);
	RUN(test_destroy_frees_what_is_left);
	RUN(test_threads_exactly_once_in_one_order);
	return check_exit_code();
}
