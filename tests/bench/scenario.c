/*
 * scenario — see scenario.h.
 *
 * Role: keeps the four subcommands' outputs alike (same connect-phase keys
 * as wsload's).
 */
#include "scenario.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/resource.h>

#include "procstat.h"
#include "util.h"

int scenario_url(struct net_url *u, const char *cmd, const char *url)
{
	char err[300];

	if (net_url_parse(u, url, err, sizeof(err)) < 0) {
		fprintf(stderr, "herald-bench %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int scenario_nsrc(int conns, int flag)
{
	if (flag > 0)
		return flag;
	if (conns > 25000)
		return (conns + 19999) / 20000;
	return 0;
}

void scenario_check_nofile(const char *cmd, long conns)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    (rlim_t)conns + 32 > rl.rlim_cur)
		fprintf(stderr,
			"herald-bench %s: %ld connections but the open-files limit is "
			"%llu (hard limit; raise it with ulimit -n): expect failures\n",
			cmd, conns, (unsigned long long)rl.rlim_cur);
}

void scenario_report_dial(struct report *r, const struct engine *e,
			  uint32_t opened, int64_t elapsed_ns)
{
	report_uint(r, "connected", opened);
	report_uint(r, "connect_failed", e->dm_failed);
	report_num(r, "connect_s", util_round1((double)elapsed_ns / 1e9));
	if (e->first_error[0])
		report_str(r, "connect_error", e->first_error);
}

void scenario_report_closed(struct report *r, const struct engine *e,
			    uint64_t closed)
{
	report_uint(r, "closed_by_server", closed);
	if (closed && e->first_close[0])
		report_str(r, "first_close", e->first_close);
}

void scenario_say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void scenario_cpu_text(char *buf, size_t cap, const struct cpu_meter *m,
		       double work, const char *unit)
{
	double el = (double)(m->t1 - m->t0) / 1e9;
	double srv = proc_meter_server_s(m);
	int n = 0;

	buf[0] = '\0';
	if (el <= 0)
		return;
	if (m->pid > 0 && m->srv0 >= 0 && m->srv1 >= 0) {
		n = snprintf(buf, cap, ", server %.0f%% cpu", 100.0 * srv / el);
		if (srv > 0 && work > 0 && n >= 0 && (size_t)n < cap)
			n += snprintf(buf + n, cap - (size_t)n,
				      ", %.0f %s/server-cpu-s", work / srv, unit);
	}
	if (n >= 0 && (size_t)n < cap)
		snprintf(buf + n, cap - (size_t)n, ", loadgen %.0f%% cpu",
			 100.0 * (double)(m->self1 - m->self0) / 1e9 / el);
}
