/*
 * util — clock, random numbers and small helpers shared by herald-bench.
 *
 * Thread: herald-bench is single-threaded; nothing here locks.
 * Ownership: nothing here allocates.
 */
#ifndef HB_UTIL_H
#define HB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds (vDSO, no syscall). The fan-out payload's
 * "ts" uses this clock, so publisher and subscribers must share a host. */
static inline int64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Fast non-cryptographic 64-bit random number (xorshift64*, seeded once from
 * getrandom()). Good enough for WebSocket keys and masks of a load tool. */
uint64_t util_rand64(void);

/* Copies src into dst (capacity cap, cap > 0), always NUL-terminates;
 * returns strlen(dst). */
size_t util_strlcpy(char *dst, const char *src, size_t cap);

/* Raises the soft open-files limit to the hard limit; returns the new soft
 * limit. */
long util_raise_nofile(void);

/* Rounds to one decimal, like wsload's round1(). */
double util_round1(double v);

#endif
