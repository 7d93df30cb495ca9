/*
 * hist — fixed log-linear latency histogram (HDR-like), no allocation per
 * sample.
 *
 * Exact below 128 ns, then 64 sub-buckets per power of two (about 1.6 %
 * relative error), the same bucketing as wsload so quantiles compare.
 * Thread: single-threaded, no atomics. Ownership: the caller owns the struct
 * (about 30 KiB; embed or allocate once).
 */
#ifndef HB_HIST_H
#define HB_HIST_H

#include <stdint.h>

struct report;

#define HIST_BUCKETS (128 + 57 * 64)

struct hist {
	uint64_t n;
	uint64_t sum;
	int64_t max;
	uint64_t b[HIST_BUCKETS];
};

/* Empties h. */
void hist_reset(struct hist *h);

/* Records one sample in nanoseconds (negative counts as 0). */
static inline void hist_add(struct hist *h, int64_t ns);

/* Value in ns at quantile q (0..1): the midpoint of the bucket holding the
 * q-th sample; 0 when empty. */
double hist_quantile(const struct hist *h, double q);

/* Adds lat_samples, p50_us, p99_us, p999_us, max_us, mean_us to r. */
void hist_report(const struct hist *h, struct report *r);

static inline int hist_index(int64_t v)
{
	int l, shift;

	if (v < 128)
		return v < 0 ? 0 : (int)v;
	l = 64 - __builtin_clzll((uint64_t)v); /* >= 8 */
	shift = l - 7;
	return 128 + (l - 8) * 64 + (int)((v >> shift) - 64);
}

static inline void hist_add(struct hist *h, int64_t ns)
{
	if (ns < 0)
		ns = 0;
	h->b[hist_index(ns)]++;
	h->n++;
	h->sum += (uint64_t)ns;
	if (ns > h->max)
		h->max = ns;
}

#endif
