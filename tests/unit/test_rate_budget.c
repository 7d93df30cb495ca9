/*
 * Unit tests for the byte budgets of server/rate.c (rate_spend; the
 * --rate-limit-bytes and --fanout-limit budgets, docs/security.md "Rate
 * limits"): a burst of 2 x rate, refill at rate, one oversized cost taken
 * whole from a full budget and repaid before anything else passes, and no
 * overflow at the largest values.
 */
#include "check.h"
#include "rate.h"

#define S 1000000ULL /* one second in microseconds */

static void test_burst_then_rate(void)
{
	struct rate_budget b = { 0 };
	uint64_t t = 5 * S;
	int taken = 0;

	/* 1000 units/s: a burst of 2000 in 100-unit messages */
	while (!rate_spend(&b, 1000, 100, t))
		taken++;
	CHECK_INT_EQ(taken, 20);
	CHECK_INT_EQ(rate_spend(&b, 1000, 100, t), -1);
	/* 0.1 s later, 100 units came back: one more */
	CHECK_INT_EQ(rate_spend(&b, 1000, 100, t + S / 10), 0);
	CHECK_INT_EQ(rate_spend(&b, 1000, 100, t + S / 10), -1);
	/* a long pause refills the burst, no more */
	taken = 0;
	while (!rate_spend(&b, 1000, 100, t + 3600 * S))
		taken++;
	CHECK_INT_EQ(taken, 20);
}

static void test_sustained_rate_is_the_limit(void)
{
	struct rate_budget b = { 0 };
	uint64_t t = S;
	int taken = 0;

	/* offered 10x the rate for 10 s: the burst plus 10 s of rate pass */
	for (int i = 0; i < 10000; i++, t += S / 1000)
		if (!rate_spend(&b, 1000, 100, t))
			taken++;
	CHECK(taken >= 118 && taken <= 121);
}

static void test_oversized_cost_passes_once_then_debt(void)
{
	struct rate_budget b = { 0 };
	uint64_t t = S;

	/* 10x the burst, from a full budget: taken, leaving 18000 of debt */
	CHECK_INT_EQ(rate_spend(&b, 1000, 20000, t), 0);
	CHECK(b.credit == -18000);
	CHECK_INT_EQ(rate_spend(&b, 1000, 1, t + 17 * S), -1);
	CHECK_INT_EQ(rate_spend(&b, 1000, 1, t + 18 * S + 1000), 0);
}

static void test_no_overflow(void)
{
	struct rate_budget b = { 0 };
	uint64_t huge = 1ULL << 50, t = S;

	CHECK_INT_EQ(rate_spend(&b, huge, UINT64_MAX, t), 0);
	CHECK(b.credit < 0);
	CHECK_INT_EQ(rate_spend(&b, huge, 1, t + 1), -1);
	/* an hour repays any debt */
	CHECK_INT_EQ(rate_spend(&b, huge, 1, t + 7200 * S), 0);
	CHECK(b.credit > 0);
}

static void test_clock_step_back_keeps_debt(void)
{
	struct rate_budget b = { 0 };

	CHECK_INT_EQ(rate_spend(&b, 1000, 5000, 100 * S), 0);
	CHECK_INT_EQ(rate_spend(&b, 1000, 1, 50 * S), -1);
	CHECK_INT_EQ(rate_spend(&b, 1000, 1, 50 * S + 4 * S), 0);
}

int main(void)
{
	RUN(test_burst_then_rate);
	RUN(test_sustained_rate_is_the_limit);
	RUN(test_oversized_cost_passes_once_then_debt);
	RUN(test_no_overflow);
	RUN(test_clock_step_back_keeps_debt);
	return check_exit_code();
}
