/*
 * heartbeat — see heartbeat.h.
 *
 * The wheel has one slot per second, nslots of them; a watch sits in the
 * slot of the second its next decision is due, so the first tick in or
 * after that second finds it. A watch due further away than the wheel reaches is
 * filed in the farthest slot and simply re-filed when visited: filing is
 * lazy everywhere, which keeps heartbeat_heard() to two stores.
 *
 * Invariants: a watch is on the wheel exactly when its state is WATCH,
 * PINGED or CLOSING; the slot being visited is detached first, and every
 * re-filing goes to a later second, so a tick visits each watch at most
 * once. Callbacks run with the watch already in its new state and slot,
 * so a callback may call heartbeat_closing() or heartbeat_unwatch().
 */
#include "heartbeat.h"

#include <stdlib.h>

#define MS_PER_S 1000u
/*
 * Pings go up to half a tick early: a watch heard just after a tick is then
 * pinged by the tick one period later, not the one after that (with 1 s
 * ticks and --heartbeat 1 it would otherwise be pinged every 2 s). Drops
 * are never early.
 */
#define PING_EARLY_MS (MS_PER_S / 2)
/* slots: enough for two periods, capped; farther watches are re-filed */
#define HEARTBEAT_MAX_SLOTS 1024u

struct heartbeat {
	struct heartbeat_ops ops;
	void *arg;
	uint64_t period_ms;
	uint32_t spread_ms;      /* pings go up to this much early */
	uint64_t next_second;    /* the next second a tick visits */
	uint64_t visits;         /* watches visited by ticks, ever */
	unsigned nslots;
	struct lws_dll2_owner slots[];
};

struct heartbeat *heartbeat_create(unsigned period_s,
				   const struct heartbeat_ops *ops, void *arg,
				   uint64_t now_ms)
{
	unsigned nslots = 2 * (period_s ? period_s : 1) + 4;
	struct heartbeat *hb;

	if (nslots > HEARTBEAT_MAX_SLOTS)
		nslots = HEARTBEAT_MAX_SLOTS;
	hb = calloc(1, sizeof(*hb) + nslots * sizeof(hb->slots[0]));
	if (!hb)
		return NULL;
	hb->ops = *ops;
	hb->arg = arg;
	hb->period_ms = (uint64_t)(period_s ? period_s : 1) * MS_PER_S;
	/* a quarter period, in whole seconds: at 25 s, pings spread over 7
	 * ticks; at 1-3 s (tests), none are early */
	hb->spread_ms = (uint32_t)(period_s / 4) * MS_PER_S;
	hb->nslots = nslots;
	hb->next_second = now_ms / MS_PER_S + 1;
	return hb;
}

void heartbeat_destroy(struct heartbeat *hb)
{
	if (!hb)
		return;
	for (unsigned i = 0; i < hb->nslots; i++)
		while (hb->slots[i].head)
			lws_dll2_remove(hb->slots[i].head);
	free(hb);
}

static uint64_t heartbeat_ping_due(const struct heartbeat *hb,
				   const struct heartbeat_watch *w)
{
	return w->_at_ms + hb->period_ms - w->_lead_ms - PING_EARLY_MS;
}

/*
 * Files w in the slot of the second due_ms falls in, but no earlier than
 * the next tick and no farther than the wheel reaches. A tick that comes
 * before due_ms within that second re-files it for the next tick, so a
 * decision is at most one tick late.
 */
static void heartbeat_file(struct heartbeat *hb, struct heartbeat_watch *w,
			   uint64_t due_ms)
{
	uint64_t second = due_ms / MS_PER_S;

	if (second < hb->next_second)
		second = hb->next_second;
	if (second > hb->next_second + hb->nslots - 1)
		second = hb->next_second + hb->nslots - 1;
	lws_dll2_remove(&w->_in_slot);
	lws_dll2_add_tail(&w->_in_slot, &hb->slots[second % hb->nslots]);
}

void heartbeat_watch(struct heartbeat *hb, struct heartbeat_watch *w,
		     uint64_t now_ms, uint64_t key)
{
	/* Fibonacci hashing spreads sequential keys evenly over the spread */
	uint64_t mixed = (key * 0x9E3779B97F4A7C15ull) >> 32;

	w->_lead_ms = hb->spread_ms
		? (uint32_t)(mixed % ((uint64_t)hb->spread_ms + 1)) : 0;
	w->_at_ms = now_ms;
	w->_state = HEARTBEAT_WATCH;
	heartbeat_file(hb, w, heartbeat_ping_due(hb, w));
}

void heartbeat_closing(struct heartbeat *hb, struct heartbeat_watch *w,
		       uint64_t now_ms, uint32_t grace_ms)
{
	if (w->_state != HEARTBEAT_WATCH && w->_state != HEARTBEAT_PINGED)
		return;
	w->_state = HEARTBEAT_CLOSING;
	w->_at_ms = now_ms + grace_ms;
	heartbeat_file(hb, w, w->_at_ms);
}

void heartbeat_unwatch(struct heartbeat_watch *w)
{
	lws_dll2_remove(&w->_in_slot);
	w->_state = HEARTBEAT_OFF;
}

static void heartbeat_expire(struct heartbeat *hb, struct heartbeat_watch *w,
			     enum heartbeat_expiry why)
{
	w->_state = HEARTBEAT_EXPIRED;
	hb->ops.expire(w, why, hb->arg);
}

/* One watch whose slot came round (already detached from it). */
static void heartbeat_visit(struct heartbeat *hb, struct heartbeat_watch *w,
			    uint64_t now_ms)
{
	uint64_t due, deadline;

	hb->visits++;
	switch (w->_state) {
	case HEARTBEAT_WATCH:
		due = heartbeat_ping_due(hb, w);
		if (due > now_ms) {
			heartbeat_file(hb, w, due); /* input since: not yet */
			return;
		}
		/*
		 * Dropped two periods after the last input, but never less
		 * than a period after the ping itself: a tick that runs late
		 * must not leave the peer no time to answer.
		 */
		deadline = w->_at_ms + 2 * hb->period_ms;
		if (deadline < now_ms + hb->period_ms)
			deadline = now_ms + hb->period_ms;
		w->_state = HEARTBEAT_PINGED;
		w->_at_ms = deadline;
		heartbeat_file(hb, w, deadline);
		hb->ops.ping(w, hb->arg);
		return;
	case HEARTBEAT_PINGED:
	case HEARTBEAT_CLOSING:
		if (w->_at_ms > now_ms) {
			heartbeat_file(hb, w, w->_at_ms);
			return;
		}
		heartbeat_expire(hb, w, w->_state == HEARTBEAT_PINGED
						? HEARTBEAT_SILENT
						: HEARTBEAT_CLOSE_DEADLINE);
		return;
	default:
		return; /* not on the wheel: cannot happen */
	}
}

void heartbeat_tick(struct heartbeat *hb, uint64_t now_ms)
{
	uint64_t now_second = now_ms / MS_PER_S;

	/* after a long stall, one round of the wheel visits every watch */
	if (now_second >= hb->next_second + hb->nslots)
		hb->next_second = now_second - hb->nslots + 1;
	while (hb->next_second <= now_second) {
		struct lws_dll2_owner *slot =
			&hb->slots[hb->next_second % hb->nslots];
		struct lws_dll2_owner due;

		/* detach the slot: re-filing goes to later seconds only */
		hb->next_second++;
		lws_dll2_owner_clear(&due);
		while (slot->head) {
			struct lws_dll2 *d = slot->head;

			lws_dll2_remove(d);
			lws_dll2_add_tail(d, &due);
		}
		while (due.head) {
			struct lws_dll2 *d = due.head;

			lws_dll2_remove(d);
			heartbeat_visit(hb, lws_container_of(
						    d, struct heartbeat_watch,
						    _in_slot),
					now_ms);
		}
	}
}

uint64_t heartbeat_visits(const struct heartbeat *hb)
{
	return hb->visits;
}
