/*
 * opts — see opts.h.
 *
 * Role: turns argv into the scenario's settings. No allocation; errors are
 * printed once with the flag's name.
 */
#include "opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int opts_parse_duration(const char *s, int64_t *ns)
{
	double total = 0;
	const char *p = s;

	if (!*p)
		return -1;
	while (*p) {
		char *end;
		double v, unit;

		errno = 0;
		v = strtod(p, &end);
		if (end == p || errno || v < 0)
			return -1;
		p = end;
		if (!*p && total == 0) {
			unit = 1e9; /* bare number: seconds */
		} else if (!strncmp(p, "ns", 2)) {
			unit = 1, p += 2;
		} else if (!strncmp(p, "us", 2) || !strncmp(p, "\xc2\xb5s", 3)) {
			unit = 1e3, p += (*p == 'u') ? 2 : 3;
		} else if (!strncmp(p, "ms", 2)) {
			unit = 1e6, p += 2;
		} else if (*p == 's') {
			unit = 1e9, p += 1;
		} else if (*p == 'm') {
			unit = 60e9, p += 1;
		} else if (*p == 'h') {
			unit = 3600e9, p += 1;
		} else {
			return -1;
		}
		total += v * unit;
	}
	if (total > 9.2e18)
		return -1;
	*ns = (int64_t)total;
	return 0;
}

static const struct opt *opts_find(const struct opt *opts, const char *name,
				   size_t len)
{
	for (const struct opt *o = opts; o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

static void opts_default(const struct opt *o, char *buf, size_t cap)
{
	switch (o->type) {
	case OPT_INT:
		snprintf(buf, cap, "%d", *(int *)o->dst);
		break;
	case OPT_DUR: {
		int64_t ns = *(int64_t *)o->dst;

		if (ns % 1000000000LL == 0)
			snprintf(buf, cap, "%llds", (long long)(ns / 1000000000LL));
		else
			snprintf(buf, cap, "%lldms", (long long)(ns / 1000000LL));
		break;
	}
	case OPT_STR:
		snprintf(buf, cap, "%s",
			 *(const char **)o->dst ? *(const char **)o->dst : "");
		break;
	case OPT_BOOL:
		snprintf(buf, cap, "%s", *(int *)o->dst ? "true" : "false");
		break;
	}
}

void opts_usage(void *fp, const char *cmd, const char *summary,
		const struct opt *opts)
{
	FILE *f = fp;
	char def[256];

	fprintf(f, "usage: herald-bench %s [flags]\n%s\n\nflags:\n", cmd,
		summary);
	for (const struct opt *o = opts; o->name; o++) {
		opts_default(o, def, sizeof(def));
		fprintf(f, "  -%-14s %s", o->name, o->help);
		if (def[0] && !(o->type == OPT_BOOL && !*(int *)o->dst))
			fprintf(f, " (default %s)", def);
		fputc('\n', f);
	}
}

static int opts_set(const struct opt *o, const char *v)
{
	char *end;
	long l;

	switch (o->type) {
	case OPT_INT:
		errno = 0;
		l = strtol(v, &end, 10);
		if (end == v || *end || errno || l < -2147483647L ||
		    l > 2147483647L)
			return -1;
		*(int *)o->dst = (int)l;
		return 0;
	case OPT_DUR:
		return opts_parse_duration(v, (int64_t *)o->dst);
	case OPT_STR:
		*(const char **)o->dst = v;
		return 0;
	case OPT_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "1"))
			*(int *)o->dst = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "0"))
			*(int *)o->dst = 0;
		else
			return -1;
		return 0;
	}
	return -1;
}

int opts_parse(const char *cmd, const char *summary, const struct opt *opts,
	       int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val;
		const struct opt *o;
		size_t len;

		if (a[0] != '-' || !a[1]) {
			fprintf(stderr,
				"herald-bench %s: unexpected argument \"%s\"\n",
				cmd, a);
			goto fail;
		}
		name = a + 1 + (a[1] == '-');
		if (!strcmp(name, "h") || !strcmp(name, "help")) {
			opts_usage(stdout, cmd, summary, opts);
			return 1;
		}
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		o = opts_find(opts, name, len);
		if (!o) {
			fprintf(stderr, "herald-bench %s: unknown flag -%.*s\n",
				cmd, (int)len, name);
			goto fail;
		}
		if (eq) {
			val = eq + 1;
		} else if (o->type == OPT_BOOL) {
			val = "true";
		} else {
			if (i + 1 >= argc) {
				fprintf(stderr,
					"herald-bench %s: flag -%s needs a value\n",
					cmd, o->name);
				goto fail;
			}
			val = argv[++i];
		}
		if (opts_set(o, val)) {
			fprintf(stderr,
				"herald-bench %s: bad value \"%s\" for -%s\n", cmd,
				val, o->name);
			goto fail;
		}
	}
	return 0;

fail:
	opts_usage(stderr, cmd, summary, opts);
	return -1;
}
