/*
 * check — the tiny assertion helper of herald's unit tests (docs/design.md, "Conventions").
 *
 * A test program is a set of `static void test_x(void)` functions run from
 * main() with RUN(test_x); main returns check_exit_code(). A failed CHECK
 * prints file:line, the expression and the values, and the test goes on (so
 * one run shows every failure); RUN prints "ok <name>" or "FAIL <name>" and
 * the program exits 1 at the end when anything failed.
 *
 *   CHECK(cond)
 *   CHECK_INT_EQ(a, b)          integers (signed or unsigned, up to 64 bits)
 *   CHECK_STR_EQ(a, b)          NUL-terminated strings; NULL equals only NULL
 *   CHECK_MEM_EQ(p, len, str)   len bytes at p are exactly the string str
 *   CHECK_CONTAINS(hay, needle) strstr(hay, needle) != NULL
 *   CHECK_NOT_CONTAINS(hay, needle)
 *   CHECK_NO_LEAKS()            under AddressSanitizer: nothing unreachable
 *                               is allocated now (a no-op otherwise)
 *
 * Values are printed with control and non-ASCII bytes escaped as \xNN.
 */
#ifndef HERALD_TEST_CHECK_H
#define HERALD_TEST_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define CHECK_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/lsan_interface.h>
#define CHECK_HAVE_LSAN 1
#endif
#endif

static int check_failed_tests;   /* test functions with a failure */
static int check_failed_in_test; /* failed checks in the running test */

static inline void check_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline void check_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	check_failed_in_test++;
}

/* Prints len bytes of s quoted and escaped, or (null). */
static inline void check_print_bytes(const char *s, size_t len)
{
	if (!s) {
		fputs("(null)", stderr);
		return;
	}
	fputc('"', stderr);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(stderr, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fputc('"', stderr);
	if (len > 200)
		fprintf(stderr, " (%zu bytes)", len);
}

static inline void check_str_eq(const char *file, int line, const char *ea,
				const char *eb, const char *a, const char *b)
{
	if (a == b || (a && b && !strcmp(a, b)))
		return;
	check_fail(file, line, "%s == %s", ea, eb);
	fputs("    got:      ", stderr);
	check_print_bytes(a, a ? strlen(a) : 0);
	fputs("\n    expected: ", stderr);
	check_print_bytes(b, b ? strlen(b) : 0);
	fputc('\n', stderr);
}

static inline void check_mem_eq(const char *file, int line, const char *ep,
				const void *p, size_t len, const char *want)
{
	size_t wlen = strlen(want);

	if (p && len == wlen && !memcmp(p, want, len))
		return;
	check_fail(file, line, "%s holds the expected %zu bytes (it has %zu)",
		   ep, wlen, len);
	fputs("    got:      ", stderr);
	check_print_bytes((const char *)p, len);
	fputs("\n    expected: ", stderr);
	check_print_bytes(want, wlen);
	fputc('\n', stderr);
}

static inline void check_contains(const char *file, int line, const char *eh,
				  const char *en, const char *hay,
				  const char *needle, int want)
{
	int has = hay && needle && strstr(hay, needle);

	if (has == want)
		return;
	check_fail(file, line, "%s %s %s", eh,
		   want ? "contains" : "does not contain", en);
	fputs("    text:   ", stderr);
	check_print_bytes(hay, hay ? strlen(hay) : 0);
	fputs("\n    needle: ", stderr);
	check_print_bytes(needle, needle ? strlen(needle) : 0);
	fputc('\n', stderr);
}

#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond))                                          \
			check_fail(__FILE__, __LINE__, "%s", #cond); \
	} while (0)

/* Both sides are compared as long long (a uint64_t above LLONG_MAX compares
 * by bit pattern and prints negative). */
#define CHECK_INT_EQ(a, b)                                                    \
	do {                                                                  \
		long long check_a_ = (long long)(a);                          \
		long long check_b_ = (long long)(b);                          \
		if (check_a_ != check_b_)                                     \
			check_fail(__FILE__, __LINE__,                        \
				   "%s == %s (got %lld, expected %lld)", #a, \
				   #b, check_a_, check_b_);                   \
	} while (0)

#define CHECK_STR_EQ(a, b) check_str_eq(__FILE__, __LINE__, #a, #b, (a), (b))

#define CHECK_MEM_EQ(p, len, want) \
	check_mem_eq(__FILE__, __LINE__, #p, (p), (len), (want))

#define CHECK_CONTAINS(hay, needle) \
	check_contains(__FILE__, __LINE__, #hay, #needle, (hay), (needle), 1)

#define CHECK_NOT_CONTAINS(hay, needle) \
	check_contains(__FILE__, __LINE__, #hay, #needle, (hay), (needle), 0)

#ifdef CHECK_HAVE_LSAN
#define CHECK_NO_LEAKS()                                                  \
	do {                                                              \
		if (__lsan_do_recoverable_leak_check())                   \
			check_fail(__FILE__, __LINE__,                    \
				   "LeakSanitizer found leaks (see above)"); \
	} while (0)
#else
#define CHECK_NO_LEAKS() ((void)0)
#endif

static inline void check_run(const char *name, void (*fn)(void))
{
	check_failed_in_test = 0;
	fn();
	fflush(stderr);
	if (check_failed_in_test) {
		check_failed_tests++;
		printf("FAIL %s (%d failed checks)\n", name,
		       check_failed_in_test);
	} else {
		printf("ok %s\n", name);
	}
	fflush(stdout);
}

#define RUN(fn) check_run(#fn, fn)

/* main's return value: 0 when everything passed, else 1. */
static inline int check_exit_code(void)
{
	if (check_failed_tests) {
		printf("%d test function(s) failed\n", check_failed_tests);
		return 1;
	}
	return 0;
}

#endif
