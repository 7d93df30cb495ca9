/*
 * rate — see rate.h. Credit and debt are kept in millionths of a message
 * so refill and drain (elapsed microseconds x rate) need no floating
 * point.
 */
#include "rate.h"

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
