/*
 * rate — see rate.h. Credit and debt are kept in millionths of a message
 * so refill and drain (elapsed microseconds x rate) need no floating
 * point.
 */
#include "rate.h"

#include <stdint.h>

#define UNIT 1000000ULL
/* elapsed time is clamped before it is multiplied by the rate (at most
 * 10^6): an hour drains any debt and cannot overflow */
#define MAX_ELAPSED (3600 * UNIT)

uint64_t rate_abuse_threshold(long rate)
{
	return RATE_ABUSE_SECONDS * (uint64_t)(rate > 10 ? rate : 10);
}

enum rate_verdict rate_take(struct rate_bucket *b, long rate, uint64_t now_us)
{
	uint64_t cap = 2 * (uint64_t)rate * UNIT;

	if (!b->last_us || now_us < b->last_us) {
		/* first use, or the clock stepped back: start afresh, but
		 * keep the debt (a clock step forgives nothing) */
		b->credit = cap;
	} else {
		uint64_t elapsed = now_us - b->last_us;
		uint64_t gain;

		if (elapsed > MAX_ELAPSED)
			elapsed = MAX_ELAPSED;
		gain = elapsed * (uint64_t)rate;
		b->credit = b->credit + gain > cap ? cap : b->credit + gain;
		b->debt = gain >= b->debt ? 0 : b->debt - gain;
	}
	b->last_us = now_us;

	if (b->credit >= UNIT) {
		b->credit -= UNIT;
		return RATE_OK;
	}
	b->debt += UNIT;
	return b->debt > rate_abuse_threshold(rate) * UNIT ? RATE_ABUSE
							   : RATE_LIMITED;
}

/* Budgets: elapsed time is clamped to an hour before it is multiplied by
 * the rate, and the product is taken in 128 bits, so no flag value can
 * overflow it; a cost is clamped to an hour of the rate, so an hour
 * refills any budget and repays any debt. */
#define BUDGET_MAX_ELAPSED_US (3600 * UNIT)

int rate_spend(struct rate_budget *b, uint64_t rate, uint64_t cost,
	       uint64_t now_us)
{
	int64_t cap = rate > INT64_MAX / 2 ? INT64_MAX : (int64_t)(2 * rate);

	if (!b->last_us || now_us < b->last_us) {
		if (!b->last_us || b->credit > 0)
			b->credit = cap; /* first use, or a clock step back */
	} else {
		uint64_t elapsed = now_us - b->last_us;
		unsigned __int128 gain;

		if (elapsed > BUDGET_MAX_ELAPSED_US)
			elapsed = BUDGET_MAX_ELAPSED_US;
		gain = (unsigned __int128)elapsed * rate / UNIT;
		if (gain >= (unsigned __int128)((__int128)cap - b->credit))
			b->credit = cap;
		else
			b->credit += (int64_t)gain;
	}
	b->last_us = now_us;
	if (b->credit <= 0)
		return -1;
	/* no message costs more than an hour of the budget */
	if (rate <= (uint64_t)INT64_MAX / 4 / 3600 && cost > rate * 3600)
		cost = rate * 3600;
	else if (cost > (uint64_t)INT64_MAX / 4)
		cost = (uint64_t)INT64_MAX / 4;
	b->credit -= (int64_t)cost;
	return 0;
}
