/*
 * Unit tests for server/rate.c: the per-session token bucket (SPEC §6,
 * docs/security.md "--rate-limit"): a burst of 2 x rate, refill of rate
 * messages per second computed exactly in millionths, RATE_LIMITED
 * refusals, RATE_ABUSE past max(rate, 10) refusals within one second of
 * the clock.
 *
 * Time is synthetic: every call passes its own now_us, so the tests are
 * exact and instant. T0 is an arbitrary clock value well inside a second
 * (refusal windows are whole seconds of now_us / 1e6).
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
	 * along: limited, then abuse, as this is one second) */
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

static void test_limited_then_abuse(void)
{
	struct rate_bucket b = { 0 };
	long r = 5; /* abuse threshold: max(5, 10) = 10 */

	CHECK_INT_EQ(drain(&b, r, T0, 1000), 10);
	/* that drain's refusal was the first */
	for (int i = 2; i <= 10; i++)
		CHECK_INT_EQ(rate_take(&b, r, T0 + (uint64_t)i), RATE_LIMITED);
	CHECK_INT_EQ(b.refused, 10);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 11), RATE_ABUSE);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 12), RATE_ABUSE);

	/* rate above 10: the threshold is the rate */
	memset(&b, 0, sizeof(b));
	r = 50;
	CHECK_INT_EQ(drain(&b, r, T0, 1000), 100);
	for (int i = 2; i <= 50; i++)
		CHECK_INT_EQ(rate_take(&b, r, T0), RATE_LIMITED);
	CHECK_INT_EQ(rate_take(&b, r, T0), RATE_ABUSE);

	/* rate exactly 10 */
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(take_n(&b, 10, T0, 20), 20);
	for (int i = 1; i <= 10; i++)
		CHECK_INT_EQ(rate_take(&b, 10, T0), RATE_LIMITED);
	CHECK_INT_EQ(rate_take(&b, 10, T0), RATE_ABUSE);

	/* an accepted message in between does not forgive refusals of the
	 * same second */
	memset(&b, 0, sizeof(b));
	r = 10;
	CHECK_INT_EQ(drain(&b, r, T0, 1000), 20); /* refusal 1 */
	for (int i = 2; i <= 9; i++)
		CHECK_INT_EQ(rate_take(&b, r, T0), RATE_LIMITED);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 100000), RATE_OK);
	CHECK_INT_EQ(rate_take(&b, r, T0 + 100000), RATE_LIMITED); /* 10 */
	CHECK_INT_EQ(rate_take(&b, r, T0 + 100000), RATE_ABUSE);   /* 11 */
}

static void test_new_second_resets_refusals(void)
{
	struct rate_bucket b = { 0 };
	long r = 5;
	uint64_t end = 5000 * SEC + 999999; /* the last us of second 5000 */

	CHECK_INT_EQ(drain(&b, r, end, 1000), 10); /* refusal 1 */
	for (int i = 2; i <= 10; i++)
		CHECK_INT_EQ(rate_take(&b, r, end), RATE_LIMITED);
	/* one microsecond later is the next second: counting starts again
	 * (5 millionths of refill are not a message) */
	for (int i = 1; i <= 10; i++)
		CHECK_INT_EQ(rate_take(&b, r, end + 1), RATE_LIMITED);
	CHECK_INT_EQ(b.refused, 10);
	CHECK_INT_EQ(rate_take(&b, r, end + 1), RATE_ABUSE);

	/* refusals spread over seconds never add up to abuse: at rate 1,
	 * 11 messages a second (1 ms apart) are 10 refusals a second after
	 * the burst, refused but never abuse */
	memset(&b, 0, sizeof(b));
	for (uint64_t s = 0; s < 10; s++) {
		uint64_t base = (6000 + s) * SEC;
		int limited = 0;

		for (int i = 0; i < 11; i++) {
			enum rate_verdict v = rate_take(
				&b, 1, base + (uint64_t)i * 1000);

			CHECK(v != RATE_ABUSE);
			limited += v == RATE_LIMITED;
		}
		/* second 0 had the 2-message burst, later ones exactly one
		 * message of refill */
		CHECK_INT_EQ(limited, s == 0 ? 9 : 10);
	}
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
	/* abuse still needs more than 10 refusals in a second */
	memset(&b, 0, sizeof(b));
	CHECK_INT_EQ(take_n(&b, 1, T0, 2), 2);
	for (int i = 1; i <= 10; i++)
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
	/* abuse after 1,000,000 refusals in the same second, not before */
	memset(&b, 0, sizeof(b));
	uint64_t t = 7000 * SEC;
	CHECK_INT_EQ(drain(&b, r, t, 3000000), 2000000); /* refusal 1 */
	long limited = 1;
	for (long i = 2; i <= 1000000; i++)
		limited += rate_take(&b, r, t) == RATE_LIMITED;
	CHECK_INT_EQ(limited, 1000000);
	CHECK_INT_EQ(rate_take(&b, r, t), RATE_ABUSE);
}

int main(void)
{
	RUN(test_zeroed_bucket_is_full);
	RUN(test_refill_exact);
	RUN(test_cap_at_burst);
	RUN(test_limited_then_abuse);
	RUN(test_new_second_resets_refusals);
	RUN(test_clock_backwards);
	RUN(test_rate_one);
	RUN(test_rate_million);
	return check_exit_code();
}
