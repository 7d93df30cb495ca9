/*
 * Unit tests for server/rate.c: the per-session token bucket (docs/security.md,
 * docs/security.md "--rate-limit"): a burst of 2 x rate, refill of rate
 * messages per second computed exactly in millionths, RATE_LIMITED
 * refusals, and RATE_ABUSE once the refusal debt (one per refusal,
 * draining at the limit's rate) passes 3 x max(rate, 10): one burst is
 * never abuse wherever it falls on the clock, sustained sending over twice
 * the limit is.
 *
 * Time is synthetic: every call passes its own now_us, so the tests are
 * exact and instant. T0 is an arbitrary clock value.
 */
#include "check.h"
#include "rate.h"

#include <string.h>

#define SEC 1000000ULL
#define T0 (5000 * SEC + 250000) /* 5000.25 s */

/* Takes n messages at now; returns how many got RATE_OK. */
static long take_n(struct rate_bucket *b, long rate, uint64_t now, long n)
{
	long ok = 0;

	for (long i = 0; i < n; i++)
		ok += rate_take(b, rate, now) == RATE_OK;
	return ok;
}

/* Takes messages at now until the first refusal; returns how many got
 * RATE_OK (at most limit). */
static long drain(struct rate_bucket *b, long rate, uint64_t now, long limit)
{
	long ok = 0;

	while (ok < limit && rate_take(b, rate, now) == RATE_OK)
		ok++;
	return ok;
}

static void test_zeroed_bucket_is_full(void)
{
	static const long rates[] = { 1, 2, 5, 10, 100, 1000 };

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct rate_bucket b;
		long r = rates[i];

		memset(&b, 0, sizeof(b));
		CHECK_INT_EQ(take_n(&b, r, T0, 2 * r), 2 * r);
		CHECK_INT_EQ(rate_take(&b, r, T0), RATE_LIMITED);
		CHECK_INT_EQ(b.credit, 0);
		CHECK_INT_EQ(b.last_us, T0);
	}
}

static void test_refill_exact(void)
{
	struct rate_bucket b = { 0 };
	long r = 10; /* one message per 100 ms */

	CHECK_INT_EQ(drain(&b, r, T0, 1000), 20);
	/* 1 us short of a message: refused, and the credit is kept */
	CHECK_INT_EQ(rate_take(&b, r, T0 + 99999), RATE_LIMITED);
	CHECK_INT_EQ(b.credit, 999990);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 100000), RATE_OK);
	CHECK_INT_EQ(b.credit, 0);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 100000), RATE_LIMITED);

	/* half a second: 5 messages, no more */
	CHECK_INT_EQ(drain(&b, r, T0 + 600000, 1000), 5);
	/* refill accumulates across many small steps exactly (refused all
	 * along: limited, then abuse, as the debt outgrows the drain) */
	for (uint64_t t = T0 + 600001; t < T0 + 700000; t++)
		CHECK(rate_take(&b, r, t) != RATE_OK);
	CHECK_INT_EQ(b.credit, 999990);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 700000), RATE_OK);

	/* a fractional rate-step: rate 3 gives 1 message per 333334 us */
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(drain(&b, 3, T0, 100), 6);
	CHECK_INT_EQ(rate_take(&b, 3, T0 + 333333), RATE_LIMITED);
	CHECK_INT_EQ(b.credit, 999999);
	CHECK_INT_EQ(rate_take(&b, 3, T0 + 333334), RATE_OK);
	CHECK_INT_EQ(b.credit, 2);
}

static void test_cap_at_burst(void)
{
	struct rate_bucket b = { 0 };
	long r = 4;

	CHECK_INT_EQ(drain(&b, r, T0, 1000), 8);
	/* 1.5 s refill 6 */
	CHECK_INT_EQ(drain(&b, r, T0 + 1500000, 1000), 6);
	/* a long idle period refills to 2R and no more */
	CHECK_INT_EQ(drain(&b, r, T0 + 60 * SEC, 1000), 8);
	CHECK_INT_EQ(drain(&b, r, T0 + 3600 * SEC, 1000), 8);
	/* exactly two seconds is a full bucket */
	CHECK_INT_EQ(drain(&b, r, T0 + 3602 * SEC, 1000), 8);
	/* never more than the cap in credit, however it is reached */
	CHECK_INT_EQ(rate_take(&b, r, T0 + 3700 * SEC), RATE_OK);
	CHECK(b.credit <= 2 * (uint64_t)r * SEC);
	CHECK_INT_EQ(b.credit, (2 * r - 1) * (long long)SEC);
	/* a full bucket taken slowly stays full */
	memset(&b, 0, sizeof(b));
	for (int i = 1; i <= 100; i++)
		CHECK_INT_EQ(rate_take(&b, r, T0 + (uint64_t)i * SEC), RATE_OK);
	CHECK_INT_EQ(drain(&b, r, T0 + 100 * SEC, 1000), 7);
}

/* Takes messages at now until one is not RATE_LIMITED; returns how many
 * refusals came first, and the verdict that ended them in *end. */
static long refuse_until(struct rate_bucket *b, long rate, uint64_t now,
			 long limit, enum rate_verdict *end)
{
	long refused = 0;
	enum rate_verdict v = RATE_LIMITED;

	while (refused < limit && (v = rate_take(b, rate, now)) == RATE_LIMITED)
		refused++;
	*end = v;
	return refused;
}

static void test_limited_then_abuse(void)
{
	struct rate_bucket b = { 0 };
	enum rate_verdict end;
	long r = 5; /* threshold: 3 x max(5, 10) = 30 refusals */

	CHECK_INT_EQ(rate_abuse_threshold(5), 30);
	CHECK_INT_EQ(rate_abuse_threshold(10), 30);
	CHECK_INT_EQ(rate_abuse_threshold(50), 150);
	CHECK_INT_EQ(drain(&b, r, T0, 1000), 10); /* refusal 1 */
	CHECK_INT_EQ(b.debt, SEC);
	CHECK_INT_EQ(refuse_until(&b, r, T0, 1000, &end), 29);
	CHECK_INT_EQ(end, RATE_ABUSE);
	CHECK_INT_EQ(rate_take(&b, r, T0), RATE_ABUSE);

	/* rate above 10: the threshold is 3 x the rate */
	memset(&b, 0, sizeof(b));
	r = 50;
	CHECK_INT_EQ(drain(&b, r, T0, 1000), 100);
	CHECK_INT_EQ(refuse_until(&b, r, T0, 1000, &end), 149);
	CHECK_INT_EQ(end, RATE_ABUSE);
}

/* Issue 11: one burst of 40 at --rate-limit 10 then silence was closed
 * when its refusals fell into one calendar second. Now it never is,
 * wherever it lands, and the debt it left drains at the rate. */
static void test_one_burst_is_not_abuse(void)
{
	static const uint64_t starts[] = { 5000 * SEC, 5000 * SEC + 999999,
					   5000 * SEC + 500000, T0 };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct rate_bucket b = { 0 };
		long limited = 0;

		for (int k = 0; k < 40; k++) {
			enum rate_verdict v = rate_take(&b, 10, starts[i] +
							(uint64_t)k * 100);

			CHECK(v != RATE_ABUSE);
			limited += v == RATE_LIMITED;
		}
		CHECK_INT_EQ(limited, 20);
		/* the 20 refusals drain in 2 s at 10/s */
		CHECK_INT_EQ(rate_take(&b, 10, starts[i] + 2 * SEC + 3900),
			     RATE_OK);
		CHECK_INT_EQ(b.debt, 0);
		/* and a second burst after the pause is no abuse either */
		for (int k = 0; k < 40; k++)
			CHECK(rate_take(&b, 10, starts[i] + 3 * SEC) !=
			      RATE_ABUSE);
	}
	/* the largest burst that is only refused: 2R accepted + 3R refused */
	struct rate_bucket b = { 0 };
	CHECK_INT_EQ(take_n(&b, 20, T0, 100), 40);
	CHECK(b.debt == 60 * SEC);
	CHECK_INT_EQ(rate_take(&b, 20, T0), RATE_ABUSE);
}

/* Sending at k x the limit, evenly: refused (k - 1) x rate a second, the
 * debt drains rate a second. Returns the ms at which RATE_ABUSE came, or
 * -1 when it did not within 60 s. */
static long abuse_after_ms(long rate, long k)
{
	struct rate_bucket b = { 0 };
	uint64_t step = SEC / (uint64_t)(rate * k);

	for (uint64_t t = 0; t < 60 * SEC; t += step)
		if (rate_take(&b, rate, T0 + t) == RATE_ABUSE)
			return (long)(t / 1000);
	return -1;
}

static void test_sustained_sending(void)
{
	/* at the limit, and at twice the limit: never closed */
	CHECK_INT_EQ(abuse_after_ms(10, 1), -1);
	CHECK_INT_EQ(abuse_after_ms(10, 2), -1);
	/* three times: the burst lasts 1 s, then the debt grows 10/s to 30 */
	long t3 = abuse_after_ms(10, 3);
	CHECK(t3 >= 3700 && t3 <= 4100);
	/* ten times: the burst lasts 2/9 s, then +80/s to 30 */
	long t10 = abuse_after_ms(10, 10);
	CHECK(t10 >= 550 && t10 <= 650);
	/* rate 1 at 11 messages a second: closed after a few seconds */
	long t1 = abuse_after_ms(1, 11);
	CHECK(t1 >= 3000 && t1 <= 4000);
	/* a high rate: the same shape */
	long tk = abuse_after_ms(1000, 3);
	CHECK(tk >= 3700 && tk <= 4100);
}

static void test_clock_backwards(void)
{
	struct rate_bucket b = { 0 };
	long r = 10;
	uint64_t cap = 2 * (uint64_t)r * SEC;

	CHECK_INT_EQ(drain(&b, r, T0, 1000), 20);
	/* the clock steps back: no wrap-around to a huge elapsed time, no
	 * credit beyond the cap */
	enum rate_verdict v = rate_take(&b, r, T0 - 1);
	CHECK(v == RATE_OK || v == RATE_LIMITED);
	CHECK(b.credit <= cap);
	CHECK_INT_EQ(b.last_us, T0 - 1);
	CHECK(drain(&b, r, T0 - 1, 1000) <= 2 * r);
	CHECK(b.credit <= cap);

	/* far back, to the first microsecond */
	v = rate_take(&b, r, 1);
	CHECK(v == RATE_OK || v == RATE_LIMITED);
	CHECK(b.credit <= cap);
	CHECK(drain(&b, r, 1, 1000) <= 2 * r);
	/* and forward again: normal refill from the new point */
	CHECK_INT_EQ(drain(&b, r, 1 + 100000, 1000), 1);
	CHECK(b.credit <= cap);

	/* a bucket whose last_us is at the end of the clock */
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(drain(&b, r, UINT64_MAX, 1000), 20);
	v = rate_take(&b, r, 2 * SEC);
	CHECK(v == RATE_OK || v == RATE_LIMITED);
	CHECK(b.credit <= cap);
}

static void test_rate_one(void)
{
	struct rate_bucket b = { 0 };

	CHECK_INT_EQ(drain(&b, 1, T0, 100), 2);
	CHECK_INT_EQ(rate_take(&b, 1, T0 + SEC - 1), RATE_LIMITED);
	CHECK_INT_EQ(rate_take(&b, 1, T0 + SEC), RATE_OK);
	CHECK_INT_EQ(rate_take(&b, 1, T0 + SEC), RATE_LIMITED);
	/* abuse still needs more than 30 refusals (the floor of 10/s) */
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(take_n(&b, 1, T0, 2), 2);
	for (int i = 1; i <= 30; i++)
		CHECK_INT_EQ(rate_take(&b, 1, T0), RATE_LIMITED);
	CHECK_INT_EQ(rate_take(&b, 1, T0), RATE_ABUSE);
	/* a long pause gives the burst of 2 back */
	CHECK_INT_EQ(drain(&b, 1, T0 + 10 * SEC, 100), 2);
}

static void test_rate_million(void)
{
	struct rate_bucket b = { 0 };
	long r = 1000000; /* the largest --rate-limit: one message per us */

	CHECK_INT_EQ(drain(&b, r, T0, 3000000), 2000000);
	CHECK_INT_EQ(b.credit, 0);
	/* each microsecond is exactly one message */
	CHECK_INT_EQ(rate_take(&b, r, T0 + 1), RATE_OK);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 1), RATE_LIMITED); /* refusal 1 */
	CHECK_INT_EQ(drain(&b, r, T0 + 11, 100), 10);
	/* the largest refill (2 s clamp x rate) does not overflow the cap */
	CHECK_INT_EQ(drain(&b, r, T0 + 3600 * SEC, 3000000), 2000000);
	CHECK_INT_EQ(b.credit, 0);
	/* abuse after 3,000,000 refusals at one moment, not before */
	memset(&b, 0, sizeof(b));
	uint64_t t = 7000 * SEC;
	CHECK_INT_EQ(drain(&b, r, t, 3000000), 2000000); /* refusal 1 */
	long limited = 1;
	for (long i = 2; i <= 3000000; i++)
		limited += rate_take(&b, r, t) == RATE_LIMITED;
	CHECK_INT_EQ(limited, 3000000);
	CHECK_INT_EQ(rate_take(&b, r, t), RATE_ABUSE);
	/* the largest drain (an hour x rate) clears any debt, no overflow */
	CHECK_INT_EQ(rate_take(&b, r, t + 3600 * SEC), RATE_OK);
	CHECK_INT_EQ(b.debt, 0);
}

int main(void)
{
	RUN(test_zeroed_bucket_is_full);
	RUN(test_refill_exact);
	RUN(test_cap_at_burst);
	RUN(test_limited_then_abuse);
	RUN(test_one_burst_is_not_abuse);
	RUN(test_sustained_sending);
	RUN(test_clock_backwards);
	RUN(test_rate_one);
	RUN(test_rate_million);
	return check_exit_code();
}
