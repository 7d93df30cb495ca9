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

#endif
