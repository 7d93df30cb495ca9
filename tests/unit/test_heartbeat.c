/*
 * test_heartbeat — the heartbeat wheel (server/heartbeat.c) on a fake
 * clock: when a silent watch is pinged and dropped, that input and pongs
 * keep it alive, close deadlines, the spread of pings, what a tick costs,
 * a stalled loop, and callbacks that change the wheel under its feet.
 */
#include "check.h"
#include "heartbeat.h"

#include <stdlib.h>

#define S 1000ull           /* one second of the fake clock */
#define T0 (1000000 * S)    /* an arbitrary start, far from zero */

struct rec {
	struct heartbeat_watch w;
	int pings;
	int expired;
	enum heartbeat_expiry why;
	uint64_t first_ping_at, last_ping_at, expired_at;
	int close_on_ping;     /* the ping callback starts a close */
};

static uint64_t now;
static struct heartbeat *hb;

static void on_ping(struct heartbeat_watch *w, void *arg)
{
	struct rec *r = lws_container_of(w, struct rec, w);

	(void)arg;
	if (!r->pings++)
		r->first_ping_at = now;
	r->last_ping_at = now;
	if (r->close_on_ping)
		heartbeat_closing(hb, w, now, 3000);
}

static void on_expire(struct heartbeat_watch *w, enum heartbeat_expiry why,
		      void *arg)
{
	struct rec *r = lws_container_of(w, struct rec, w);

	(void)arg;
	r->expired++;
	r->why = why;
	r->expired_at = now;
	heartbeat_unwatch(w); /* as the transport's close does, later */
}

static const struct heartbeat_ops ops = { on_ping, on_expire };

/* Runs the clock from now to until, ticking every second at phase ms
 * into the second (every tick after now, up to and including until). */
static void run_until(uint64_t until, uint64_t phase)
{
	uint64_t t = now / S * S + phase;

	if (t <= now)
		t += S;

	for (; t <= until; t += S) {
		now = t;
		heartbeat_tick(hb, now);
	}
	now = until;
}

static void start(unsigned period_s)
{
	now = T0;
	hb = heartbeat_create(period_s, &ops, NULL, now);
	CHECK(hb != NULL);
}

static void test_silent_is_pinged_then_dropped(void)
{
	/* every tick phase: a tick early or late in its second */
	for (uint64_t phase = 0; phase < S; phase += 125) {
		struct rec r = { 0 };

		start(1);
		now = T0 + 337;
		heartbeat_watch(hb, &r.w, now, 1);
		run_until(T0 + 10 * S, phase);
		CHECK_INT_EQ(r.pings, 1);
		CHECK_INT_EQ(r.expired, 1);
		CHECK_INT_EQ(r.why, HEARTBEAT_SILENT);
		/* pinged about a period after the last input */
		CHECK(r.first_ping_at >= T0 + 337 + S / 2);
		CHECK(r.first_ping_at <= T0 + 337 + S + S);
		/* dropped after two periods of silence, at most a tick late */
		CHECK(r.expired_at >= T0 + 337 + 2 * S);
		CHECK(r.expired_at <= T0 + 337 + 3 * S);
		CHECK_INT_EQ(heartbeat_state_of(&r.w), HEARTBEAT_OFF);
		heartbeat_destroy(hb);
	}
}

static void test_input_keeps_alive(void)
{
	struct rec r = { 0 };

	start(25);
	heartbeat_watch(hb, &r.w, now, 7);
	/* a message every 10 s for 10 minutes: never pinged */
	for (int i = 0; i < 60; i++) {
		run_until(now + 10 * S, 300);
		heartbeat_heard(&r.w, now);
	}
	CHECK_INT_EQ(r.pings, 0);
	CHECK_INT_EQ(r.expired, 0);
	CHECK_INT_EQ(heartbeat_state_of(&r.w), HEARTBEAT_WATCH);
	heartbeat_destroy(hb);
}

static void test_answered_pings_stay(void)
{
	struct rec r = { 0 };
	int pings = 0;

	start(2);
	heartbeat_watch(hb, &r.w, now, 3);
	/* a peer that answers each ping 50 ms later, for 60 s */
	for (uint64_t t = now + 50; t < T0 + 60 * S; t += 50) {
		run_until(t, 900);
		if (r.pings != pings && now >= r.last_ping_at + 50) {
			pings = r.pings;
			heartbeat_heard(&r.w, now); /* the pong */
		}
	}
	CHECK_INT_EQ(r.expired, 0);
	/* a ping every period (2 s), give or take a tick */
	CHECK(r.pings >= 25);
	CHECK(r.pings <= 31);
	heartbeat_destroy(hb);
}

static void test_close_deadline(void)
{
	struct rec a = { 0 }, b = { 0 };

	start(25);
	heartbeat_watch(hb, &a.w, now, 1);
	heartbeat_watch(hb, &b.w, now, 2);
	now += 1234;
	heartbeat_closing(hb, &a.w, now, 3000);
	heartbeat_closing(hb, &b.w, now, 3000);
	/* a second close keeps the first deadline */
	heartbeat_closing(hb, &a.w, now + 2000, 3000);
	CHECK_INT_EQ(heartbeat_state_of(&a.w), HEARTBEAT_CLOSING);
	/* input while closing changes nothing */
	heartbeat_heard(&a.w, now + 100);
	run_until(T0 + 1234 + 2000, 500);
	heartbeat_unwatch(&b.w); /* b closed in time */
	run_until(T0 + 60 * S, 500);
	CHECK_INT_EQ(a.expired, 1);
	CHECK_INT_EQ(a.why, HEARTBEAT_CLOSE_DEADLINE);
	CHECK(a.expired_at >= T0 + 1234 + 3000);
	CHECK(a.expired_at <= T0 + 1234 + 4000);
	CHECK_INT_EQ(a.pings, 0);
	CHECK_INT_EQ(b.expired, 0);
	CHECK_INT_EQ(b.pings, 0);
	heartbeat_destroy(hb);
}

#define MANY 10000

static void test_pings_spread_and_cost(void)
{
	struct rec *r = calloc(MANY, sizeof(*r));
	unsigned per_tick[64] = { 0 };
	unsigned busiest = 0, ticks_used = 0, expired = 0;
	uint64_t earliest = UINT64_MAX, latest = 0;

	start(25);
	/* a reconnect storm: all in the same millisecond */
	for (int i = 0; i < MANY; i++)
		heartbeat_watch(hb, &r[i].w, now, (uint64_t)i + 1);
	for (int t = 1; t < 40; t++) {
		int before = 0, after = 0;

		for (int i = 0; i < MANY; i++)
			before += r[i].pings;
		run_until(T0 + (uint64_t)t * S + 500, 100);
		for (int i = 0; i < MANY; i++)
			after += r[i].pings;
		per_tick[t] = (unsigned)(after - before);
		if (per_tick[t])
			ticks_used++;
		if (per_tick[t] > busiest)
			busiest = per_tick[t];
		/* everyone answers at once */
		for (int i = 0; i < MANY; i++)
			if (r[i].pings)
				heartbeat_heard(&r[i].w, now);
	}
	for (int i = 0; i < MANY; i++) {
		expired += (unsigned)r[i].expired;
		if (r[i].first_ping_at < earliest)
			earliest = r[i].first_ping_at;
		if (r[i].first_ping_at > latest)
			latest = r[i].first_ping_at;
	}
	CHECK_INT_EQ(expired, 0);
	/* pinged no earlier than 3/4 of a period, minus half a tick, and
	 * no later than a period and a tick */
	CHECK(earliest >= T0 + 18 * S);
	CHECK(latest <= T0 + 26 * S);
	/* the first round of pings spreads over 7 ticks, evenly */
	CHECK(ticks_used >= 7);
	CHECK(busiest <= MANY / 7 + MANY / 20);
	/* cost: each watch is visited about once per ping, not every tick */
	CHECK(heartbeat_visits(hb) <= 3 * MANY);
	heartbeat_destroy(hb);
	free(r);
}

static void test_stall_pings_before_dropping(void)
{
	struct rec r = { 0 };

	start(5);
	heartbeat_watch(hb, &r.w, now, 1);
	/* the loop stalls for ten minutes, then ticks again */
	now = T0 + 600 * S;
	heartbeat_tick(hb, now);
	CHECK_INT_EQ(r.pings, 1);
	CHECK_INT_EQ(r.expired, 0);
	/* the peer gets a whole period to answer the late ping */
	run_until(T0 + 604 * S, 0);
	CHECK_INT_EQ(r.expired, 0);
	run_until(T0 + 607 * S, 0);
	CHECK_INT_EQ(r.expired, 1);
	heartbeat_destroy(hb);
}

static void test_long_period_beyond_the_wheel(void)
{
	struct rec r = { 0 };

	start(3600); /* two periods do not fit in the capped wheel */
	heartbeat_watch(hb, &r.w, now, 1);
	run_until(T0 + 3600 * S - 900 * S - 1000, 0);
	CHECK_INT_EQ(r.pings, 0); /* not before 3/4 of the period */
	run_until(T0 + 3600 * S + 1000, 0);
	CHECK_INT_EQ(r.pings, 1);
	run_until(T0 + 7200 * S - 1000, 0);
	CHECK_INT_EQ(r.expired, 0);
	run_until(T0 + 7201 * S, 0);
	CHECK_INT_EQ(r.expired, 1);
	heartbeat_destroy(hb);
}

static void test_callback_closes(void)
{
	struct rec r = { 0 };

	start(1);
	r.close_on_ping = 1; /* e.g. the ping made it a slow consumer */
	heartbeat_watch(hb, &r.w, now, 1);
	run_until(T0 + 10 * S, 0);
	CHECK_INT_EQ(r.pings, 1);
	CHECK_INT_EQ(r.expired, 1);
	CHECK_INT_EQ(r.why, HEARTBEAT_CLOSE_DEADLINE);
	CHECK(r.expired_at >= r.first_ping_at + 3000);
	heartbeat_destroy(hb);
}

static void test_unwatch_is_idempotent(void)
{
	struct rec r = { 0 };

	start(1);
	heartbeat_unwatch(&r.w); /* never watched */
	heartbeat_watch(hb, &r.w, now, 1);
	heartbeat_unwatch(&r.w);
	heartbeat_unwatch(&r.w);
	run_until(T0 + 10 * S, 0);
	CHECK_INT_EQ(r.pings, 0);
	CHECK_INT_EQ(heartbeat_visits(hb), 0);
	/* destroying a wheel that still holds watches forgets them */
	heartbeat_watch(hb, &r.w, now, 1);
	heartbeat_destroy(hb);
	CHECK_NO_LEAKS();
}

int main(void)
{
	RUN(test_silent_is_pinged_then_dropped);
	RUN(test_input_keeps_alive);
	RUN(test_answered_pings_stay);
	RUN(test_close_deadline);
	RUN(test_pings_spread_and_cost);
	RUN(test_stall_pings_before_dropping);
	RUN(test_long_period_beyond_the_wheel);
	RUN(test_callback_closes);
	RUN(test_unwatch_is_idempotent);
	return check_exit_code();
}
