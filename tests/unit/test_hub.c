/*
 * Unit tests for server/hub.c: sessions, clients and channels of one worker,
 * local delivery, the slow-consumer policy and presence reports.
 *
 * The transport is a fake hub_ops that records every wake/close call; the
 * counters are a zeroed struct metrics. Run under ASan: every test ends with
 * all frames back to the caller's single reference and, where it matters,
 * CHECK_NO_LEAKS().
 */
#include "check.h"
#include "hub.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG_QUEUE (1024 * 1024)

/* ---- the fake transport ---- */

#define MAX_CALLS 1024

static struct {
	struct hub_session *woken[MAX_CALLS];
	int wakes;
	struct hub_session *closed[MAX_CALLS];
	uint16_t close_codes[MAX_CALLS]; /* s->close_code when close ran */
	int closes;
	struct hub_session *dropped[MAX_CALLS];
	int drops;
} rec;

static void fake_wake(struct hub_session *s)
{
	if (rec.wakes < MAX_CALLS)
		rec.woken[rec.wakes] = s;
	rec.wakes++;
}

static void fake_close(struct hub_session *s)
{
	if (rec.closes < MAX_CALLS) {
		rec.closed[rec.closes] = s;
		rec.close_codes[rec.closes] = s->close_code;
	}
	rec.closes++;
}

static void fake_drop(struct hub_session *s)
{
	if (rec.drops < MAX_CALLS)
		rec.dropped[rec.drops] = s;
	rec.drops++;
	/* as the transport's close does, later */
}

static const struct hub_ops fake_ops = { fake_wake, fake_close, fake_drop };

/* How many times s was woken / closed. */
static int wakes_of(const struct hub_session *s)
{
	int n = 0;

	for (int i = 0; i < rec.wakes && i < MAX_CALLS; i++)
		n += rec.woken[i] == s;
	return n;
}

static int closes_of(const struct hub_session *s)
{
	int n = 0;

	for (int i = 0; i < rec.closes && i < MAX_CALLS; i++)
		n += rec.closed[i] == s;
	return n;
}

static struct metrics metrics;

/* A new hub with a fresh recorder and zeroed metrics. */
static struct hub *new_hub(size_t max_queue)
{
	struct hub_limits lim = { .max_queue = max_queue, .max_sessions = 100 };
	struct hub *hub;

	memset(&rec, 0, sizeof(rec));
	memset(&metrics, 0, sizeof(metrics));
	hub = hub_create(&fake_ops, &lim, &metrics);
	CHECK(hub != NULL);
	return hub;
}

/* Zeroes s and registers it as a session of client_id. */
static void open_session(struct hub *hub, struct hub_session *s,
			 const char *client_id)
{
	memset(s, 0, sizeof(*s));
	s->transport = s;
	CHECK_INT_EQ(hub_session_open(hub, s, client_id), 0);
	CHECK_STR_EQ(s->client_id, client_id);
}

/* Pops every frame queued on s. */
static void drain(struct hub_session *s)
{
	while (frame_queue_peek(&s->queue))
		frame_queue_pop(&s->queue);
}

static struct frame *text(const char *s)
{
	return frame_from(s, strlen(s), 0);
}

/* ---- sessions, clients, channels ---- */

static void test_sessions_and_clients(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a1, a2, b1, never;

	CHECK_INT_EQ(hub_session_count(hub), 0);
	CHECK_INT_EQ(hub_client_count(hub), 0);
	CHECK_INT_EQ(hub_channel_count(hub), 0);

	open_session(hub, &a1, "alice");
	open_session(hub, &a2, "alice");
	open_session(hub, &b1, "bob");
	CHECK_INT_EQ(hub_session_count(hub), 3);
	CHECK_INT_EQ(hub_client_count(hub), 2);
	CHECK_INT_EQ(hub_channel_count(hub), 0);
	CHECK(hub_has_client(hub, "alice"));
	CHECK(hub_has_client(hub, "bob"));
	CHECK(!hub_has_client(hub, "carol"));
	CHECK(!hub_has_client(hub, "alic"));
	CHECK(!hub_has_client(hub, ""));

	/* distinct, non-zero session ids; one client object per client id */
	CHECK(a1.id != 0 && a2.id != 0 && b1.id != 0);
	CHECK(a1.id != a2.id && a2.id != b1.id && a1.id != b1.id);
	CHECK(a1._client != NULL);
	CHECK(a1._client == a2._client);
	CHECK(a1._client != b1._client);
	/* opening wakes and closes nothing */
	CHECK_INT_EQ(rec.wakes, 0);
	CHECK_INT_EQ(rec.closes, 0);

	hub_session_close(hub, &a1);
	CHECK(a1._client == NULL);
	CHECK_STR_EQ(a1.client_id, ""); /* not the client's, which may go */
	CHECK_STR_EQ(a2.client_id, "alice");
	CHECK_INT_EQ(hub_session_count(hub), 2);
	CHECK_INT_EQ(hub_client_count(hub), 2); /* alice still has a2 */
	CHECK(hub_has_client(hub, "alice"));
	hub_session_close(hub, &a1); /* idempotent */
	CHECK_INT_EQ(hub_session_count(hub), 2);

	hub_session_close(hub, &a2);
	CHECK_INT_EQ(hub_client_count(hub), 1);
	CHECK(!hub_has_client(hub, "alice"));

	memset(&never, 0, sizeof(never)); /* never opened: a no-op */
	hub_session_close(hub, &never);
	CHECK_INT_EQ(hub_session_count(hub), 1);

	/* a client id can come back */
	open_session(hub, &a1, "alice");
	CHECK(a1.id > b1.id);
	CHECK_INT_EQ(hub_client_count(hub), 2);

	/* the longest valid id is kept whole; a prefix is another client */
	{
		char longest[NAMES_CLIENT_ID_MAX + 1];

		memset(longest, 'x', NAMES_CLIENT_ID_MAX);
		longest[NAMES_CLIENT_ID_MAX] = '\0';
		open_session(hub, &a2, longest);
		CHECK(hub_has_client(hub, longest));
		longest[NAMES_CLIENT_ID_MAX - 1] = '\0';
		CHECK(!hub_has_client(hub, longest));
		hub_session_close(hub, &a2);
	}

	hub_session_close(hub, &a1);
	hub_session_close(hub, &b1);
	CHECK_INT_EQ(hub_session_count(hub), 0);
	CHECK_INT_EQ(hub_client_count(hub), 0);
	CHECK_INT_EQ(rec.closes, 0); /* the hub never asks for these */
	hub_destroy(hub);
	hub_destroy(NULL);
	CHECK_NO_LEAKS();
}

static void count_session(struct hub_session *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
}

static void test_foreach_session(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session s[3];
	int n = 0;

	hub_foreach_session(hub, count_session, &n);
	CHECK_INT_EQ(n, 0);
	for (int i = 0; i < 3; i++)
		open_session(hub, &s[i], i ? "x" : "y");
	hub_foreach_session(hub, count_session, &n);
	CHECK_INT_EQ(n, 3);
	for (int i = 0; i < 3; i++)
		hub_session_close(hub, &s[i]);
	hub_destroy(hub);
}

static void test_subscribe_unsubscribe(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a, b;
	struct hub_channel *news;
	struct frame *f = text("m");

	open_session(hub, &a, "alice");
	open_session(hub, &b, "bob");

	CHECK_INT_EQ(hub_subscribe(hub, &a, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &a, "news"), 0); /* idempotent */
	CHECK(hub_is_subscribed(hub, &a, "news"));
	CHECK(!hub_is_subscribed(hub, &b, "news"));
	CHECK_INT_EQ(hub_channel_count(hub), 1);
	news = hub_channel_find(hub, "news");
	CHECK(news != NULL);
	/* subscribed twice, delivered once */
	CHECK_INT_EQ(hub_deliver_channel(hub, news, f), 1);
	CHECK_INT_EQ(a.queue.count, 1);
	drain(&a);

	CHECK_INT_EQ(hub_subscribe(hub, &b, "news"), 0);
	CHECK_INT_EQ(hub_channel_count(hub), 1);
	CHECK(hub_channel_find(hub, "news") == news);
	CHECK_INT_EQ(hub_subscribe(hub, &a, "sport"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &a, "$sys"), 0);
	CHECK_INT_EQ(hub_channel_count(hub), 3);
	CHECK(hub_channel_find(hub, "weather") == NULL);

	CHECK_INT_EQ(hub_unsubscribe(hub, &a, "sport"), 0);
	CHECK(!hub_is_subscribed(hub, &a, "sport"));
	CHECK(hub_channel_find(hub, "sport") == NULL); /* last one left */
	CHECK_INT_EQ(hub_channel_count(hub), 2);
	CHECK_INT_EQ(hub_unsubscribe(hub, &a, "sport"), 0); /* idempotent */
	CHECK_INT_EQ(hub_unsubscribe(hub, &a, "never"), 0);
	CHECK_INT_EQ(hub_unsubscribe(hub, &b, "$sys"), 0); /* not b's */
	CHECK(hub_channel_find(hub, "$sys") != NULL);

	CHECK_INT_EQ(hub_unsubscribe(hub, &a, "news"), 0);
	CHECK(hub_channel_find(hub, "news") != NULL); /* b still listens */
	CHECK(hub_is_subscribed(hub, &b, "news"));
	CHECK_INT_EQ(hub_unsubscribe(hub, &b, "news"), 0);
	CHECK(hub_channel_find(hub, "news") == NULL);
	CHECK_INT_EQ(hub_channel_count(hub), 1);

	/* closing a session leaves its channels */
	hub_session_close(hub, &a);
	CHECK(hub_channel_find(hub, "$sys") == NULL);
	CHECK_INT_EQ(hub_channel_count(hub), 0);
	hub_session_close(hub, &b);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

static void test_subscription_limit(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a, b;
	char name[32];

	CHECK_INT_EQ(HUB_MAX_SUBSCRIPTIONS, 256);
	open_session(hub, &a, "alice");
	open_session(hub, &b, "bob");
	for (int i = 0; i < HUB_MAX_SUBSCRIPTIONS; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		CHECK_INT_EQ(hub_subscribe(hub, &a, name), 0);
	}
	CHECK_INT_EQ(hub_channel_count(hub), HUB_MAX_SUBSCRIPTIONS);

	CHECK_INT_EQ(hub_subscribe(hub, &a, "one-more"), -1);
	CHECK(!hub_is_subscribed(hub, &a, "one-more"));
	CHECK(hub_channel_find(hub, "one-more") == NULL); /* not created */
	CHECK_INT_EQ(hub_channel_count(hub), HUB_MAX_SUBSCRIPTIONS);
	/* re-subscribing to one it has is still fine */
	CHECK_INT_EQ(hub_subscribe(hub, &a, "c7"), 0);
	/* the limit is per session */
	CHECK_INT_EQ(hub_subscribe(hub, &b, "one-more"), 0);
	/* leaving one makes room for one */
	CHECK_INT_EQ(hub_unsubscribe(hub, &a, "c0"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &a, "one-more"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &a, "c0"), -1);

	hub_session_close(hub, &a);
	CHECK_INT_EQ(hub_channel_count(hub), 1); /* b's "one-more" */
	hub_session_close(hub, &b);
	CHECK_INT_EQ(hub_channel_count(hub), 0);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

/* ---- delivery ---- */

static void test_deliver_all(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session s[3];
	struct frame *f = text("one"), *g = text("two"), *h = text("three");

	open_session(hub, &s[0], "alice");
	open_session(hub, &s[1], "alice");
	open_session(hub, &s[2], "bob");

	CHECK_INT_EQ(hub_deliver_all(hub, f), 3);
	CHECK_INT_EQ(f->refs, 4); /* the caller's and one per queue */
	for (int i = 0; i < 3; i++) {
		CHECK(frame_queue_peek(&s[i].queue) == f);
		CHECK_INT_EQ(s[i].queue.count, 1);
		CHECK_INT_EQ(s[i].queue.bytes, 3);
		CHECK_INT_EQ(wakes_of(&s[i]), 1); /* empty -> non-empty */
	}
	CHECK_INT_EQ(rec.wakes, 3);

	/* queues already non-empty: no new wake */
	CHECK_INT_EQ(hub_deliver_all(hub, g), 3);
	CHECK_INT_EQ(g->refs, 4);
	CHECK_INT_EQ(rec.wakes, 3);
	for (int i = 0; i < 3; i++) {
		CHECK_INT_EQ(s[i].queue.count, 2);
		CHECK_INT_EQ(s[i].queue.bytes, 6);
	}

	/* one transport writes everything out; only it is woken again */
	drain(&s[1]);
	CHECK_INT_EQ(f->refs, 3);
	CHECK_INT_EQ(g->refs, 3);
	CHECK_INT_EQ(hub_deliver_all(hub, h), 3);
	CHECK_INT_EQ(rec.wakes, 4);
	CHECK_INT_EQ(wakes_of(&s[1]), 2);
	CHECK_INT_EQ(wakes_of(&s[0]), 1);
	CHECK(frame_queue_peek(&s[1].queue) == h);

	/* FIFO per session */
	CHECK(frame_queue_peek(&s[0].queue) == f);
	frame_queue_pop(&s[0].queue);
	CHECK(frame_queue_peek(&s[0].queue) == g);
	frame_queue_pop(&s[0].queue);
	CHECK(frame_queue_peek(&s[0].queue) == h);

	CHECK_INT_EQ(hub_deliver_all(hub, NULL), 0);
	CHECK_INT_EQ(rec.closes, 0);
	CHECK_INT_EQ(metrics.drops, 0);

	for (int i = 0; i < 3; i++)
		hub_session_close(hub, &s[i]);
	CHECK_INT_EQ(f->refs, 1);
	CHECK_INT_EQ(g->refs, 1);
	CHECK_INT_EQ(h->refs, 1);
	frame_unref(f);
	frame_unref(g);
	frame_unref(h);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

static void test_deliver_client_and_session(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a1, a2, b;
	struct frame *f = text("hi");

	open_session(hub, &a1, "alice");
	open_session(hub, &b, "bob");
	open_session(hub, &a2, "alice");

	CHECK_INT_EQ(hub_deliver_client(hub, "alice", f), 2);
	CHECK_INT_EQ(f->refs, 3);
	CHECK(frame_queue_peek(&a1.queue) == f);
	CHECK(frame_queue_peek(&a2.queue) == f);
	CHECK(frame_queue_peek(&b.queue) == NULL);
	CHECK_INT_EQ(wakes_of(&a1), 1);
	CHECK_INT_EQ(wakes_of(&a2), 1);
	CHECK_INT_EQ(wakes_of(&b), 0);

	CHECK_INT_EQ(hub_deliver_client(hub, "carol", f), 0);
	CHECK_INT_EQ(hub_deliver_client(hub, "", f), 0);
	CHECK_INT_EQ(hub_deliver_client(hub, "alic", f), 0);
	CHECK_INT_EQ(f->refs, 3);

	CHECK_INT_EQ(hub_deliver_session(hub, &b, f), 1);
	CHECK_INT_EQ(f->refs, 4);
	CHECK_INT_EQ(wakes_of(&b), 1);
	CHECK_INT_EQ(hub_deliver_session(hub, &b, NULL), 0);

	hub_session_close(hub, &a1);
	hub_session_close(hub, &a2);
	hub_session_close(hub, &b);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f);
	hub_destroy(hub);
}

static void test_deliver_channel(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a1, a2, b;
	struct frame *f = text("news!");

	open_session(hub, &a1, "alice");
	open_session(hub, &a2, "alice");
	open_session(hub, &b, "bob");
	CHECK_INT_EQ(hub_subscribe(hub, &a1, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &b, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &a2, "sport"), 0);

	CHECK_INT_EQ(hub_deliver_channel(hub, hub_channel_find(hub, "news"), f),
		     2);
	CHECK_INT_EQ(f->refs, 3);
	CHECK(frame_queue_peek(&a1.queue) == f);
	CHECK(frame_queue_peek(&b.queue) == f);
	CHECK(frame_queue_peek(&a2.queue) == NULL);
	CHECK_INT_EQ(rec.wakes, 2);

	CHECK_INT_EQ(hub_deliver_channel(hub, NULL, f), 0);
	CHECK_INT_EQ(hub_deliver_channel(hub, hub_channel_find(hub, "none"), f),
		     0);
	CHECK_INT_EQ(f->refs, 3);

	hub_session_close(hub, &a1);
	hub_session_close(hub, &a2);
	hub_session_close(hub, &b);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f);
	hub_destroy(hub);
}

/* ---- the slow-consumer policy ---- */

/* What a frame of len payload bytes costs in a queue (hub.h). */
#define COST(len) ((len) + HUB_FRAME_CHARGE)

static void test_slow_consumer(void)
{
	struct hub *hub = new_hub(3 * COST(30) + 10);
	struct hub_session slow, fast;
	struct frame *f = frame_create(30, 0);

	memset(frame_payload(f), 'x', 30);
	open_session(hub, &slow, "slow");
	open_session(hub, &fast, "fast");
	CHECK_INT_EQ(hub_subscribe(hub, &slow, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &fast, "news"), 0);

	/* 3 frames of 30 fit; the fast one writes each out */
	for (int i = 0; i < 3; i++) {
		CHECK_INT_EQ(hub_deliver_all(hub, f), 2);
		drain(&fast);
	}
	CHECK_INT_EQ(slow.queue.count, 3);
	CHECK_INT_EQ(slow.queue.bytes, 90);
	CHECK_INT_EQ(f->refs, 4);
	CHECK_INT_EQ(rec.closes, 0);

	/* a fourth is over: the slow one is dropped, the fast one served */
	CHECK_INT_EQ(hub_deliver_all(hub, f), 1);
	CHECK_INT_EQ(slow.queue.count, 0);
	CHECK_INT_EQ(slow.queue.bytes, 0);
	CHECK(frame_queue_peek(&slow.queue) == NULL);
	CHECK_INT_EQ(slow.close_code, 1013);
	CHECK_INT_EQ(closes_of(&slow), 1);
	CHECK_INT_EQ(rec.closes, 1);
	CHECK_INT_EQ(rec.close_codes[0], 1013); /* set before close() runs */
	CHECK_INT_EQ(closes_of(&fast), 0);
	CHECK_INT_EQ(metrics.slow_consumers, 1);
	CHECK_INT_EQ(metrics.drops, 4); /* 3 queued + the one refused */
	CHECK_INT_EQ(f->refs, 2);       /* the caller's + fast's queue */
	CHECK(frame_queue_peek(&fast.queue) == f);
	drain(&fast);

	/* nothing more reaches it, by any route, and no second close */
	CHECK_INT_EQ(hub_deliver_all(hub, f), 1);
	CHECK_INT_EQ(hub_deliver_client(hub, "slow", f), 0);
	CHECK_INT_EQ(hub_deliver_session(hub, &slow, f), 0);
	CHECK_INT_EQ(hub_deliver_channel(hub, hub_channel_find(hub, "news"), f),
		     1);
	CHECK_INT_EQ(slow.queue.count, 0);
	CHECK_INT_EQ(rec.closes, 1);
	CHECK_INT_EQ(wakes_of(&slow), 1); /* only the first delivery */
	CHECK_INT_EQ(metrics.slow_consumers, 1);
	CHECK_INT_EQ(metrics.drops, 4);
	CHECK_INT_EQ(hub_session_count(hub), 2); /* the transport closes it */

	hub_session_close(hub, &slow);
	CHECK_INT_EQ(hub_session_count(hub), 1);
	CHECK(!hub_has_client(hub, "slow"));
	hub_session_close(hub, &fast);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

static void test_slow_consumer_boundary(void)
{
	struct hub *hub = new_hub(COST(40) + COST(20) + COST(0));
	struct hub_session s;
	struct frame *f40 = frame_create(40, 0), *f20 = frame_create(20, 0);
	struct frame *f0 = frame_create(0, 0), *f1 = frame_create(1, 0);

	open_session(hub, &s, "alice");
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f40), 1);
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f20), 1);
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f0), 1);  /* exactly full */
	CHECK_INT_EQ(s.queue.bytes, 60);
	CHECK_INT_EQ(rec.closes, 0);
	frame_queue_pop(&s.queue); /* f40 written: room again */
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f40), 1);
	CHECK_INT_EQ(rec.closes, 0);
	/* one byte more is over */
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f1), 0);
	CHECK_INT_EQ(s.close_code, CLOSE_SLOW_CONSUMER);
	CHECK_INT_EQ(s.queue.count, 0);
	CHECK_INT_EQ(f1->refs, 1);
	CHECK_INT_EQ(f40->refs, 1);
	hub_session_close(hub, &s);
	frame_unref(f40);
	frame_unref(f20);
	frame_unref(f0);
	frame_unref(f1);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

/* The hub's heartbeat wheel (server/heartbeat.c has the timing tests):
 * a silent session gets the ping frame, then is dropped; a session being
 * closed is dropped at the close deadline. */
static void test_heartbeat_and_close_deadline(void)
{
	struct hub_limits lim = { .max_queue = BIG_QUEUE, .max_sessions = 10,
				  .heartbeat_s = 2 };
	struct hub *hub = hub_create(&fake_ops, &lim, &metrics);
	struct hub_session quiet, closing;
	uint64_t t0 = hub_now_ms();
	struct frame *f;

	memset(&rec, 0, sizeof(rec));
	memset(&metrics, 0, sizeof(metrics));
	open_session(hub, &quiet, "quiet");
	open_session(hub, &closing, "closing");
	hub_session_end(hub, &closing, CLOSE_TOO_BIG);
	CHECK_INT_EQ(rec.closes, 1);
	hub_tick(hub, t0 + 1000);
	CHECK_INT_EQ(rec.drops, 0);
	/* a period later: the quiet one got a ping, the closing one nothing */
	hub_tick(hub, t0 + 2600);
	f = frame_queue_peek(&quiet.queue);
	CHECK(f != NULL && f->ping);
	CHECK_INT_EQ(closing.queue.count, 0);
	CHECK_INT_EQ(metrics.pings_sent, 1);
	/* past the 3 s close deadline: dropped, counted */
	hub_tick(hub, t0 + HUB_CLOSE_GRACE_MS + 1100);
	CHECK_INT_EQ(rec.drops, 1);
	CHECK(rec.dropped[0] == &closing);
	CHECK_INT_EQ(metrics.close_deadline_drops, 1);
	/* the quiet one, pinged and never answering: dropped at 2 periods */
	hub_tick(hub, t0 + 4000 + 1100);
	CHECK_INT_EQ(rec.drops, 2);
	CHECK(rec.dropped[1] == &quiet);
	CHECK_INT_EQ(metrics.heartbeat_drops, 1);
	hub_session_close(hub, &quiet);
	hub_session_close(hub, &closing);
	hub_tick(hub, t0 + 20000); /* nothing left to visit */
	CHECK_INT_EQ(rec.drops, 2);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

static void test_slow_consumer_with_one_huge_frame(void)
{
	struct hub *hub = new_hub(100);
	struct hub_session s;
	struct frame *big = frame_create(500, 0), *small = frame_create(1, 0);

	open_session(hub, &s, "alice");
	/* an empty queue takes one frame over the limit ... */
	CHECK_INT_EQ(hub_deliver_session(hub, &s, big), 1);
	CHECK_INT_EQ(rec.closes, 0);
	/* ... and the next one is over */
	CHECK_INT_EQ(hub_deliver_session(hub, &s, small), 0);
	CHECK_INT_EQ(s.close_code, 1013);
	CHECK_INT_EQ(rec.closes, 1);
	CHECK_INT_EQ(metrics.drops, 2);
	CHECK_INT_EQ(metrics.slow_consumers, 1);
	CHECK_INT_EQ(big->refs, 1);
	CHECK_INT_EQ(small->refs, 1);
	hub_session_close(hub, &s);
	frame_unref(big);
	frame_unref(small);
	hub_destroy(hub);
}

/* ---- closing ---- */

static void test_close_all(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session s[3];
	struct frame *f = text("late");

	open_session(hub, &s[0], "a");
	open_session(hub, &s[1], "b");
	open_session(hub, &s[2], "c");
	s[1].close_code = 1013; /* already closing: keeps its code */

	hub_close_all(hub, CLOSE_SHUTDOWN);
	CHECK_INT_EQ(s[0].close_code, 1001);
	CHECK_INT_EQ(s[1].close_code, 1013);
	CHECK_INT_EQ(s[2].close_code, 1001);
	CHECK_INT_EQ(rec.closes, 2);
	CHECK_INT_EQ(closes_of(&s[0]), 1);
	CHECK_INT_EQ(closes_of(&s[1]), 0);
	CHECK_INT_EQ(closes_of(&s[2]), 1);
	CHECK_INT_EQ(rec.close_codes[0], 1001);

	/* closing sessions receive nothing */
	CHECK_INT_EQ(hub_deliver_all(hub, f), 0);
	CHECK_INT_EQ(f->refs, 1);
	CHECK_INT_EQ(rec.wakes, 0);

	hub_close_all(hub, CLOSE_SHUTDOWN); /* again: no second close request */
	CHECK_INT_EQ(rec.closes, 2);
	/* the sessions stay registered until the transport closes them */
	CHECK_INT_EQ(hub_session_count(hub), 3);

	for (int i = 0; i < 3; i++)
		hub_session_close(hub, &s[i]);
	frame_unref(f);
	hub_destroy(hub);
}

static void test_session_close_releases_everything(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a, b;
	struct frame *fs[3 * FRAME_QUEUE_INLINE];
	char name[32];

	open_session(hub, &a, "alice");
	open_session(hub, &b, "bob");
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "ch%d", i);
		CHECK_INT_EQ(hub_subscribe(hub, &a, name), 0);
	}
	CHECK_INT_EQ(hub_subscribe(hub, &b, "ch3"), 0);
	/* enough frames to move a's queue onto a heap ring */
	for (int i = 0; i < 3 * FRAME_QUEUE_INLINE; i++) {
		fs[i] = text("frame");
		CHECK_INT_EQ(hub_deliver_session(hub, &a, fs[i]), 1);
	}
	CHECK(a.queue.ring != NULL);
	CHECK_INT_EQ(hub_channel_count(hub), 20);

	hub_session_close(hub, &a);
	CHECK_INT_EQ(a.queue.count, 0);
	CHECK_INT_EQ(a.queue.bytes, 0);
	CHECK(a.queue.ring == NULL);
	CHECK_INT_EQ(a._subs.count, 0);
	CHECK_INT_EQ(hub_channel_count(hub), 1); /* ch3, still b's */
	CHECK(hub_channel_find(hub, "ch3") != NULL);
	CHECK_INT_EQ(hub_session_count(hub), 1);
	CHECK(!hub_has_client(hub, "alice"));
	for (int i = 0; i < 3 * FRAME_QUEUE_INLINE; i++) {
		CHECK_INT_EQ(fs[i]->refs, 1);
		frame_unref(fs[i]);
	}

	hub_session_close(hub, &b);
	CHECK_INT_EQ(hub_channel_count(hub), 0);
	CHECK_INT_EQ(hub_client_count(hub), 0);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

/* ---- what the hub tells its node (node.h) ---- */

static char count_log[256];
static size_t cost_told, cost_elsewhere, largest_elsewhere;

static void record_count(void *arg, int channel, const char *name, int delta)
{
	size_t n = strlen(count_log);

	(void)arg;
	snprintf(count_log + n, sizeof(count_log) - n, "%c%s%s ",
		 delta > 0 ? '+' : '-', channel ? "#" : "", name);
}

static void record_cost(void *arg, size_t own, size_t largest)
{
	(void)arg;
	(void)largest;
	cost_told = own;
}

static size_t fake_elsewhere(void *arg, size_t *largest)
{
	(void)arg;
	*largest = largest_elsewhere;
	return cost_elsewhere;
}

static const struct hub_node_ops recording_node = {
	record_count, record_cost, fake_elsewhere,
};

static void test_node_counts(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a1, a2, b;

	count_log[0] = '\0';
	hub_set_node(hub, &recording_node, NULL);
	open_session(hub, &a1, "alice");
	open_session(hub, &a2, "alice");
	open_session(hub, &b, "bob");
	CHECK_INT_EQ(hub_subscribe(hub, &a1, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &b, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &b, "news"), 0); /* already: no count */
	CHECK_INT_EQ(hub_subscribe(hub, &b, "sport"), 0);
	CHECK_INT_EQ(hub_unsubscribe(hub, &b, "sport"), 0);
	hub_session_close(hub, &a1);
	hub_session_close(hub, &b);
	hub_session_close(hub, &a2);
	CHECK_STR_EQ(count_log, "+alice +alice +bob +#news +#news +#sport "
				"-#sport -#news -alice -#news -bob -alice ");
	hub_destroy(hub);
}

/* The budget is the node's: other workers' queues count, as they told. */
static void test_budget_counts_other_workers(void)
{
	struct hub_limits lim = { .max_queue = BIG_QUEUE,
				  .memory_budget = 4 * HUB_COST_STEP,
				  .max_sessions = 100, .heartbeat_s = 25 };
	struct hub *hub = hub_create(&fake_ops, &lim, &metrics);
	struct hub_session s;
	struct frame *f = frame_create(HUB_COST_STEP, 0);

	hub_set_node(hub, &recording_node, NULL);
	open_session(hub, &s, "alice");
	cost_elsewhere = 0;
	CHECK(!hub_overloaded(hub));
	cost_elsewhere = 3 * HUB_COST_STEP; /* 3/4 of the budget elsewhere */
	CHECK(hub_overloaded(hub));
	/* one more frame would pass the budget: this worker sheds its own */
	hub_deliver_session(hub, &s, f);
	CHECK(hub_deliver_session(hub, &s, f) == 0 || s.close_code);
	CHECK_INT_EQ(s.close_code, CLOSE_SLOW_CONSUMER);
	/* and told the node what it holds once it moved by a step */
	hub_tick(hub, hub_now_ms());
	CHECK_INT_EQ(cost_told, hub_queued_cost(hub));
	hub_session_close(hub, &s);
	hub_destroy(hub);

	/* its sessions hold less than half of what another worker's largest
	 * does: that one is shed (by its worker), not these; new messages
	 * are refused all the same */
	hub = hub_create(&fake_ops, &lim, &metrics);
	hub_set_node(hub, &recording_node, NULL);
	open_session(hub, &s, "bob");
	cost_elsewhere = 4 * HUB_COST_STEP; /* the whole budget elsewhere */
	largest_elsewhere = 3 * HUB_COST_STEP;
	CHECK(hub_overloaded(hub));
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f), 1);
	CHECK_INT_EQ(hub_deliver_session(hub, &s, f), 1);
	CHECK_INT_EQ(s.close_code, 0);
	/* once the other's largest is gone, this one is the largest: shed */
	largest_elsewhere = HUB_COST_STEP / 2;
	hub_tick(hub, hub_now_ms());
	CHECK_INT_EQ(s.close_code, CLOSE_SLOW_CONSUMER);
	hub_session_close(hub, &s);
	hub_destroy(hub);
	frame_unref(f);
	largest_elsewhere = 0;
	cost_elsewhere = 0;
}

/*
 * hub_destroy() with sessions still open, subscribed and with frames queued
 * (hub.c: "free what is left"): the hub frees everything it owns (clients,
 * channels and the subscriptions linking sessions to channels). The session
 * storage and its queue are the transport's: here they are cleared and
 * freed afterwards, as lws frees its per-session data.
 */
static void test_destroy_with_leftovers(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	struct frame *f = text("left");

	open_session(hub, a, "alice");
	open_session(hub, b, "bob");
	CHECK_INT_EQ(hub_subscribe(hub, a, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, a, "sport"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, b, "news"), 0);
	CHECK_INT_EQ(hub_deliver_all(hub, f), 2);

	hub_destroy(hub);
	frame_queue_clear(&a->queue);
	frame_queue_clear(&b->queue);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f);
	free(a);
	free(b);
	CHECK_NO_LEAKS(); /* under ASan: nothing of the hub left behind */
}

/* docs/design.md "Slow consumers": a queued 0-byte frame is not free. A
 * reader that never reads, sent one empty frame after another, is a slow
 * consumer after max_queue / HUB_FRAME_CHARGE of them (before: never). */
static void test_empty_frames_count(void)
{
	struct hub *hub = new_hub(65536);
	struct hub_session s;
	struct frame *f0 = frame_create(0, 1);
	unsigned n = 0;

	open_session(hub, &s, "alice");
	while (n < 1000000 && hub_deliver_session(hub, &s, f0))
		n++;
	CHECK_INT_EQ(n, 65536 / HUB_FRAME_CHARGE);
	CHECK_INT_EQ(s.close_code, CLOSE_SLOW_CONSUMER);
	CHECK_INT_EQ(metrics.slow_consumers, 1);
	CHECK_INT_EQ(metrics.drops, n + 1);
	CHECK_INT_EQ(s.queue.count, 0);
	CHECK_INT_EQ(hub_queued_cost(hub), 0);
	CHECK_INT_EQ(f0->refs, 1);
	hub_session_close(hub, &s);
	frame_unref(f0);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

/* However large --max-queue, a session holds at most
 * HUB_QUEUE_MAX_FRAMES frames. */
static void test_frame_count_cap(void)
{
	struct hub *hub = new_hub((size_t)1 << 30);
	struct hub_session s;
	struct frame *f0 = frame_create(0, 1);
	unsigned n = 0;

	open_session(hub, &s, "alice");
	while (n < 1000000 && hub_deliver_session(hub, &s, f0))
		n++;
	CHECK_INT_EQ(n, HUB_QUEUE_MAX_FRAMES);
	CHECK_INT_EQ(s.close_code, CLOSE_SLOW_CONSUMER);
	hub_session_close(hub, &s);
	frame_unref(f0);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

static struct hub *new_budget_hub(size_t max_queue, size_t budget)
{
	struct hub_limits lim = { .max_queue = max_queue,
				  .memory_budget = budget,
				  .max_sessions = 100 };
	struct hub *hub;

	memset(&rec, 0, sizeof(rec));
	memset(&metrics, 0, sizeof(metrics));
	hub = hub_create(&fake_ops, &lim, &metrics);
	CHECK(hub != NULL);
	return hub;
}

/* docs/security.md "Memory, rates and open files": the queues together
 * stay within the budget; past it the sessions holding the most are shed (1013, counted) down to
 * half the budget, the others keep theirs; from 3/4 of it the hub is
 * overloaded. */
static void test_memory_budget_sheds_the_largest(void)
{
	const size_t budget = 100 * COST(100);
	struct hub *hub = new_budget_hub(budget, budget);
	struct hub_session big[3], small[4], fresh;
	struct frame *f = frame_create(100, 0);
	char id[24];

	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "big%d", i);
		open_session(hub, &big[i], id);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(id, sizeof(id), "small%d", i);
		open_session(hub, &small[i], id);
	}
	open_session(hub, &fresh, "fresh");
	/* smalls hold 5 frames each (20), bigs 20, 22 and 24 (66): 86 */
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 5; k++)
			CHECK_INT_EQ(hub_deliver_session(hub, &small[i], f), 1);
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 20 + 2 * i; k++)
			CHECK_INT_EQ(hub_deliver_session(hub, &big[i], f), 1);
	CHECK_INT_EQ(hub_queued_cost(hub), 86 * COST(100));
	CHECK(hub_overloaded(hub)); /* 86 >= 75 */
	CHECK_INT_EQ(rec.closes, 0);
	/* 14 more fit exactly; the next one passes the budget */
	for (int k = 0; k < 14; k++)
		CHECK_INT_EQ(hub_deliver_session(hub, &fresh, f), 1);
	CHECK_INT_EQ(hub_queued_cost(hub), budget);
	CHECK_INT_EQ(rec.closes, 0);
	CHECK_INT_EQ(hub_deliver_session(hub, &small[0], f), 1);
	/* shed, largest first, to at most half the budget less the frame:
	 * big2 (24), big1 (22), big0 (20): 100 - 66 = 34 <= 49 */
	for (int i = 0; i < 3; i++)
		CHECK_INT_EQ(big[i].close_code, CLOSE_SLOW_CONSUMER);
	CHECK_INT_EQ(fresh.close_code, 0);
	for (int i = 0; i < 4; i++)
		CHECK_INT_EQ(small[i].close_code, 0);
	CHECK_INT_EQ(metrics.memory_sheds, 3);
	CHECK_INT_EQ(metrics.slow_consumers, 3);
	CHECK_INT_EQ(metrics.drops, 24 + 22 + 20);
	CHECK_INT_EQ(hub_queued_cost(hub), 35 * COST(100));
	CHECK(!hub_overloaded(hub));
	CHECK_INT_EQ(small[0].queue.count, 6);

	/* the session being delivered to is the largest: it is shed and
	 * gets nothing */
	for (int k = 0; k < 65; k++)
		CHECK_INT_EQ(hub_deliver_session(hub, &fresh, f), 1);
	CHECK_INT_EQ(hub_queued_cost(hub), budget);
	CHECK_INT_EQ(hub_deliver_session(hub, &fresh, f), 0);
	CHECK_INT_EQ(fresh.close_code, CLOSE_SLOW_CONSUMER);
	CHECK_INT_EQ(hub_queued_cost(hub), 21 * COST(100));
	for (int i = 0; i < 4; i++)
		CHECK_INT_EQ(small[i].close_code, 0);

	for (int i = 0; i < 3; i++)
		hub_session_close(hub, &big[i]);
	for (int i = 0; i < 4; i++)
		hub_session_close(hub, &small[i]);
	hub_session_close(hub, &fresh);
	CHECK_INT_EQ(hub_queued_cost(hub), 0);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

/* No budget: nothing is shed and the hub is never overloaded. */
static void test_memory_budget_frees_its_list(void)
{
	struct hub *hub = new_budget_hub(BIG_QUEUE, 0);
	struct hub_session s;
	struct frame *f = frame_create(1000, 0);

	open_session(hub, &s, "alice");
	for (int k = 0; k < 100; k++)
		CHECK_INT_EQ(hub_deliver_session(hub, &s, f), 1);
	CHECK(!hub_overloaded(hub));
	CHECK_INT_EQ(hub_queued_cost(hub), 100 * COST(1000));
	hub_session_close(hub, &s);
	CHECK_INT_EQ(hub_queued_cost(hub), 0);
	frame_unref(f);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

static void test_find_session_and_counts(void)
{
	struct hub *hub = new_hub(BIG_QUEUE);
	struct hub_session a1, a2, b;

	open_session(hub, &a1, "alice");
	open_session(hub, &a2, "alice");
	open_session(hub, &b, "bob");
	CHECK_INT_EQ(hub_subscribe(hub, &a1, "news"), 0);
	CHECK_INT_EQ(hub_subscribe(hub, &b, "news"), 0);
	CHECK_INT_EQ(hub_client_session_count(hub, "alice"), 2);
	CHECK_INT_EQ(hub_client_session_count(hub, "carol"), 0);
	CHECK_INT_EQ(hub_channel_size(hub_channel_find(hub, "news")), 2);
	CHECK_INT_EQ(hub_channel_size(hub_channel_find(hub, "none")), 0);
	CHECK(hub_find_session(hub, "alice", a2.id) == &a2);
	CHECK(hub_find_session(hub, "alice", b.id) == NULL);
	CHECK(hub_find_session(hub, "carol", 1) == NULL);
	hub_session_close(hub, &a2);
	CHECK(hub_find_session(hub, "alice", a2.id) == NULL);
	hub_session_close(hub, &a1);
	hub_session_close(hub, &b);
	hub_destroy(hub);
	CHECK_NO_LEAKS();
}

int main(void)
{
	/* the slow-consumer warnings are expected here: keep the output to
	 * the test results */
	log_configure(LOG_ERROR, LOG_FORMAT_TEXT);

	RUN(test_sessions_and_clients);
	RUN(test_foreach_session);
	RUN(test_subscribe_unsubscribe);
	RUN(test_subscription_limit);
	RUN(test_deliver_all);
	RUN(test_deliver_client_and_session);
	RUN(test_deliver_channel);
	RUN(test_slow_consumer);
	RUN(test_slow_consumer_boundary);
	RUN(test_empty_frames_count);
	RUN(test_frame_count_cap);
	RUN(test_memory_budget_sheds_the_largest);
	RUN(test_memory_budget_frees_its_list);
	RUN(test_find_session_and_counts);
	RUN(test_heartbeat_and_close_deadline);
	RUN(test_slow_consumer_with_one_huge_frame);
	RUN(test_close_all);
	RUN(test_session_close_releases_everything);
	RUN(test_node_counts);
	RUN(test_budget_counts_other_workers);
	RUN(test_destroy_with_leftovers);
	return check_exit_code();
}
