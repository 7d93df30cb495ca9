/*
 * rate — the per-session message rate limit (docs/security.md, --rate-limit;
 * docs/security.md).
 *
 * A token bucket of rate messages per second holding at most 2 x rate
 * (the burst): a message over the limit is refused. Each refusal adds one
 * message of debt to a second bucket that drains at the limit's own rate;
 * a session whose debt passes RATE_ABUSE_SECONDS x max(rate, 10) is
 * abusing the limit and is to be closed. So one burst, however it falls
 * on the clock, is only refused in part, while a session that keeps
 * sending faster than twice its limit is closed within seconds.
 *
 * Pure, any thread; a zeroed bucket is a full one with no debt.
 */
#ifndef HERALD_RATE_H
#define HERALD_RATE_H

#include <stdint.h>

/* The refusal debt a session may carry, in seconds of its limit. */
#define RATE_ABUSE_SECONDS 3

struct rate_bucket {
	uint64_t credit;        /* in millionths of a message */
	uint64_t debt;          /* refusals not yet drained, in millionths */
	uint64_t last_us;       /* 0: never used (full, no debt) */
};

enum rate_verdict { RATE_OK = 0, RATE_LIMITED, RATE_ABUSE };

/* Takes one message at now_us (a monotonic clock) from b. */
enum rate_verdict rate_take(struct rate_bucket *b, long rate, uint64_t now_us);

/* The refusal debt past which rate_take() answers RATE_ABUSE, in
 * messages: RATE_ABUSE_SECONDS x max(rate, 10). */
uint64_t rate_abuse_threshold(long rate);
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
