/*
 * rate — the per-session message rate limit (SPEC §6, --rate-limit).
 *
 * A token bucket of rate messages per second holding at most 2 x rate
 * (the burst). A message over the limit is refused; a session that keeps
 * sending after being refused (more refusals in one second than its rate,
 * at least 10) is abusing it and is to be closed.
 *
 * Pure, any thread; a zeroed bucket is a full one.
 */
#ifndef HERALD_RATE_H
#define HERALD_RATE_H

#include <stdint.h>

struct rate_bucket {
	uint64_t credit;        /* in millionths of a message */
	uint64_t last_us;       /* 0: never used (full) */
	uint32_t window;        /* the second refusals are counted in */
	uint32_t refused;       /* refusals in that second */
};

enum rate_verdict { RATE_OK = 0, RATE_LIMITED, RATE_ABUSE };

/* Takes one message at now_us (a monotonic clock) from b. */
enum rate_verdict rate_take(struct rate_bucket *b, long rate, uint64_t now_us);

/*
 * A budget of rate units (bytes, or bytes x recipients) per second that
 * holds at most 2 x rate (the burst): --rate-limit-bytes per session and
 * --fanout-limit per sender (docs/security.md, "Memory, rates and open
 * files"). A cost is taken whole while the budget is not in debt, so one
 * message larger than the burst still passes once the budget is full; the
 * debt it leaves is repaid at rate, and the sender is refused until then.
 * Zeroed is full.
 */
struct rate_budget {
	int64_t credit;         /* units; negative: debt */
	uint64_t last_us;       /* 0: never used (full) */
};

/* Spends cost at now_us: 0 when taken, -1 when refused (nothing spent). */
int rate_spend(struct rate_budget *b, uint64_t rate, uint64_t cost,
	       uint64_t now_us);

#endif
