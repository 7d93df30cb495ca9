/*
 * report — one result as one JSON line on stdout.
 *
 * Keys keep their insertion order; key names follow wsload's where the
 * concept matches so the two tools' lines can be compared field by field.
 * Thread: single-threaded. Ownership: the caller owns the struct; it holds
 * a fixed buffer, so a key that does not fit is dropped (and the line stays
 * valid JSON).
 */
#ifndef HB_REPORT_H
#define HB_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct report {
	size_t len;
	int keys;
	char buf[8192];
};

/* Starts an object with "tool":"herald-bench" and "mode":mode. */
void report_init(struct report *r, const char *mode);

/* Adds a string value (JSON-escaped). */
void report_str(struct report *r, const char *key, const char *val);

/* Adds an integer value. */
void report_int(struct report *r, const char *key, int64_t val);
void report_uint(struct report *r, const char *key, uint64_t val);

/* Adds a number with at most two decimals (trailing zeros dropped). */
void report_num(struct report *r, const char *key, double val);

/* Adds true/false. */
void report_bool(struct report *r, const char *key, int val);

/* Adds inner (started with report_init, not emitted) as a nested object. */
void report_object(struct report *r, const char *key,
		   const struct report *inner);

/* Closes the object and writes it as one line to stdout (flushed). */
void report_emit(struct report *r);

#endif
