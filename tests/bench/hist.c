/*
 * hist — see hist.h.
 *
 * Role: latency quantiles for every scenario. Reporting rounds down to
 * 0.01 us like wsload, so both tools print comparable figures.
 */
#include "hist.h"

#include <string.h>

#include "report.h"

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

static double hist_value(int i)
{
	int j, l, m, shift;
	double lo;

	if (i < 128)
		return i;
	j = i - 128;
	l = j / 64 + 8;
	m = j % 64 + 64;
	shift = l - 7;
	lo = (double)((int64_t)m << shift);
	return lo + (double)((int64_t)1 << shift) / 2;
}

double hist_quantile(const struct hist *h, double q)
{
	uint64_t target, c = 0;

	if (!h->n)
		return 0;
	target = (uint64_t)(q * (double)h->n + 0.5);
	if (target < 1)
		target = 1;
	for (int i = 0; i < HIST_BUCKETS; i++) {
		c += h->b[i];
		if (c >= target) {
			double v = hist_value(i);

			return v > (double)h->max ? (double)h->max : v;
		}
	}
	return (double)h->max;
}

static double hist_us(double ns)
{
	return (double)(int64_t)(ns / 10) / 100;
}

void hist_report(const struct hist *h, struct report *r)
{
	report_uint(r, "lat_samples", h->n);
	report_num(r, "p50_us", hist_us(hist_quantile(h, 0.50)));
	report_num(r, "p99_us", hist_us(hist_quantile(h, 0.99)));
	report_num(r, "p999_us", hist_us(hist_quantile(h, 0.999)));
	report_num(r, "max_us", hist_us((double)h->max));
	if (h->n)
		report_num(r, "mean_us", hist_us((double)h->sum / (double)h->n));
}
