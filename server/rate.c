/*
 * rate — see rate.h. Credit is kept in millionths of a message so the
 * refill (elapsed microseconds x rate) needs no floating point.
 */
#include "rate.h"

#define UNIT 1000000ULL

enum rate_verdict rate_take(struct rate_bucket *b, long rate, uint64_t now_us)
{
	uint64_t cap = 2 * (uint64_t)rate * UNIT;
	uint32_t window = (uint32_t)(now_us / UNIT);
	uint64_t abuse = rate > 10 ? (uint64_t)rate : 10;

	if (!b->last_us || now_us < b->last_us) {
		b->credit = cap;
	} else {
		uint64_t elapsed = now_us - b->last_us;

		/* elapsed beyond two seconds refills fully anyway */
		if (elapsed > 2 * UNIT)
			elapsed = 2 * UNIT;
		b->credit += elapsed * (uint64_t)rate;
		if (b->credit > cap)
			b->credit = cap;
	}
	b->last_us = now_us;

	if (b->credit >= UNIT) {
		b->credit -= UNIT;
		return RATE_OK;
	}
	if (window != b->window) {
		b->window = window;
		b->refused = 0;
	}
	return ++b->refused > abuse ? RATE_ABUSE : RATE_LIMITED;
}
