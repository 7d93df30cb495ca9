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

#endif
