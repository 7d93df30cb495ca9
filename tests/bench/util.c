/*
 * util — see util.h.
 *
 * Role: process-wide helpers. The only state is the PRNG seed, touched by the
 * one thread.
 */
#include "util.h"

#include <string.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/resource.h>

static uint64_t util_seed;

uint64_t util_rand64(void)
{
	uint64_t x = util_seed;

	if (!x) {
		if (getrandom(&x, sizeof(x), 0) != (ssize_t)sizeof(x))
			x = (uint64_t)util_now_ns();
		x |= 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	util_seed = x;
	return x * 0x2545F4914F6CDD1DULL;
}

size_t util_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return n;
}

long util_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

double util_round1(double v)
{
	return (double)(int64_t)(v * 10 + (v >= 0 ? 0.5 : -0.5)) / 10;
}
