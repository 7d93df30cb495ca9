/*
 * fuzz_assert — the one assertion every fuzz target uses: it reports the
 * failed condition and aborts, so libFuzzer saves the input as a crash.
 */
#ifndef HERALD_FUZZ_ASSERT_H
#define HERALD_FUZZ_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ASSERT(cond)                                                    \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: fuzz assertion failed: %s\n", \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

#endif
