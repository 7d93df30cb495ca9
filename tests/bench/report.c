/*
 * report — see report.h.
 *
 * Role: the machine-readable output. Every append checks the remaining room
 * first and rolls back a partial key, so the buffer is always one valid
 * prefix of an object.
 */
#include "report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define REPORT_ROOM 64 /* kept free for the closing brace */

static int report_appendf(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int report_appendf(struct report *r, const char *fmt, ...)
{
	size_t room = sizeof(r->buf) - REPORT_ROOM - r->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	r->len += (size_t)n;
	return 0;
}

static int report_key(struct report *r, const char *key)
{
	return report_appendf(r, "%s\"%s\":", r->keys++ ? "," : "", key);
}

void report_init(struct report *r, const char *mode)
{
	r->len = 0;
	r->keys = 0;
	r->buf[r->len++] = '{';
	report_str(r, "tool", "herald-bench");
	report_str(r, "mode", mode);
}

void report_str(struct report *r, const char *key, const char *val)
{
	size_t mark = r->len;
	int keys = r->keys;

	if (report_key(r, key) || report_appendf(r, "\""))
		goto fail;
	for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
		int rc;

		if (*p == '"' || *p == '\\')
			rc = report_appendf(r, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			rc = report_appendf(r, "\\u%04x", *p);
		else
			rc = report_appendf(r, "%c", *p);
		if (rc)
			goto fail;
	}
	if (report_appendf(r, "\""))
		goto fail;
	return;
fail:
	r->len = mark;
	r->keys = keys;
}

void report_int(struct report *r, const char *key, int64_t val)
{
	size_t mark = r->len;
	int keys = r->keys;

	if (report_key(r, key) || report_appendf(r, "%lld", (long long)val)) {
		r->len = mark;
		r->keys = keys;
	}
}

void report_uint(struct report *r, const char *key, uint64_t val)
{
	size_t mark = r->len;
	int keys = r->keys;

	if (report_key(r, key) ||
	    report_appendf(r, "%llu", (unsigned long long)val)) {
		r->len = mark;
		r->keys = keys;
	}
}

void report_num(struct report *r, const char *key, double val)
{
	size_t mark = r->len;
	int keys = r->keys;
	char num[64];
	size_t n;

	if (!isfinite(val))
		val = 0;
	n = (size_t)snprintf(num, sizeof(num), "%.2f", val);
	if (n >= sizeof(num))
		n = sizeof(num) - 1;
	while (n > 1 && num[n - 1] == '0')
		num[--n] = '\0';
	if (n > 1 && num[n - 1] == '.')
		num[--n] = '\0';
	if (!strcmp(num, "-0"))
		strcpy(num, "0");
	if (report_key(r, key) || report_appendf(r, "%s", num)) {
		r->len = mark;
		r->keys = keys;
	}
}

void report_object(struct report *r, const char *key,
		   const struct report *inner)
{
	size_t mark = r->len;
	int keys = r->keys;

	if (report_key(r, key) ||
	    report_appendf(r, "%.*s}", (int)inner->len, inner->buf)) {
		r->len = mark;
		r->keys = keys;
	}
}

void report_bool(struct report *r, const char *key, int val)
{
	size_t mark = r->len;
	int keys = r->keys;

	if (report_key(r, key) || report_appendf(r, "%s", val ? "true" : "false")) {
		r->len = mark;
		r->keys = keys;
	}
}

void report_emit(struct report *r)
{
	r->buf[r->len++] = '}';
	r->buf[r->len++] = '\n';
	fwrite(r->buf, 1, r->len, stdout);
	fflush(stdout);
	r->len -= 2;
}
