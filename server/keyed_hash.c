/*
 * keyed_hash — see keyed_hash.h. SipHash-2-4 as in the reference
 * implementation (little-endian words, 2 compression and 4 finalisation
 * rounds); tests/unit/test_keyed_hash.c checks it against the reference
 * vectors.
 */
#include "keyed_hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint8_t process_key[16];
static pthread_once_t process_key_once = PTHREAD_ONCE_INIT;

static void process_key_draw(void)
{
	size_t got = 0;

	while (got < sizeof(process_key)) {
		ssize_t n = getrandom(process_key + got,
				      sizeof(process_key) - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(process_key)) {
		/* no getrandom (very old kernel): still differ per process */
		struct timespec ts;
		uint64_t mix[2];

		clock_gettime(CLOCK_REALTIME, &ts);
		mix[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
		mix[1] = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL ^
			 (uint64_t)(uintptr_t)&got;
		memcpy(process_key, mix, sizeof(process_key));
	}
}

static uint64_t load64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);      \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                         \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                         \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);      \
	} while (0)

uint64_t keyed_hash_with(const uint8_t key[16], const void *data, size_t n)
{
	const uint8_t *p = data, *end = p + (n & ~(size_t)7);
	uint64_t k0 = load64(key), k1 = load64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)n << 56, m;

	for (; p != end; p += 8) {
		m = load64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < (n & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t keyed_hash(const void *p, size_t n)
{
	pthread_once(&process_key_once, process_key_draw);
	return keyed_hash_with(process_key, p, n);
}
