/*
 * procstat — see procstat.h.
 *
 * Role: the -pid measurements. Reads /proc with plain read(2) into static
 * buffers; never called on a per-message path.
 */
#include "procstat.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

#define PROC_MAX_TREE 4096

static char proc_buf[16384];

/* Reads a small /proc file into proc_buf; returns its length or -1. */
static ssize_t proc_read(const char *path)
{
	ssize_t n, off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (off < (ssize_t)sizeof(proc_buf) - 1) {
		n = read(fd, proc_buf + off, sizeof(proc_buf) - 1 - (size_t)off);
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	proc_buf[off] = '\0';
	return off;
}

/* Fills pids with pid and its descendants; returns the count. */
static int proc_tree(int pid, int *pids, int cap)
{
	int n = 1;
	char path[64];

	pids[0] = pid;
	for (int i = 0; i < n; i++) {
		DIR *d;
		struct dirent *de;

		snprintf(path, sizeof(path), "/proc/%d/task", pids[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char cpath[300];
			char *p, *end;

			if (de->d_name[0] == '.')
				continue;
			snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children",
				 pids[i], de->d_name);
			if (proc_read(cpath) <= 0)
				continue;
			for (p = proc_buf; *p && n < cap; p = end) {
				long c = strtol(p, &end, 10);

				if (end == p)
					break;
				pids[n++] = (int)c;
			}
		}
		closedir(d);
	}
	return n;
}

int64_t proc_self_cpu_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

static long proc_status_rss_kb(const char *path)
{
	const char *p;

	if (proc_read(path) < 0)
		return -1;
	p = strstr(proc_buf, "\nVmRSS:");
	if (!p)
		return 0; /* a zombie or kernel thread has no VmRSS */
	return strtol(p + 7, NULL, 10);
}

long proc_self_rss_kb(void)
{
	return proc_status_rss_kb("/proc/self/status");
}

long proc_tree_rss_kb(int pid)
{
	static int pids[PROC_MAX_TREE];
	long total = 0;
	int n;

	if (pid <= 0)
		return -1;
	n = proc_tree(pid, pids, PROC_MAX_TREE);
	for (int i = 0; i < n; i++) {
		char path[64];
		long kb;

		snprintf(path, sizeof(path), "/proc/%d/status", pids[i]);
		kb = proc_status_rss_kb(path);
		if (kb < 0) {
			if (i == 0)
				return -1;
			continue;
		}
		total += kb;
	}
	return total;
}

int64_t proc_tree_cpu_ns(int pid)
{
	static int pids[PROC_MAX_TREE];
	long hz = sysconf(_SC_CLK_TCK);
	int64_t ticks = 0;
	int n;

	if (pid <= 0)
		return -1;
	if (hz <= 0)
		hz = 100;
	n = proc_tree(pid, pids, PROC_MAX_TREE);
	for (int i = 0; i < n; i++) {
		char path[64];
		char *p;
		int field;

		snprintf(path, sizeof(path), "/proc/%d/stat", pids[i]);
		if (proc_read(path) < 0) {
			if (i == 0)
				return -1;
			continue;
		}
		p = strrchr(proc_buf, ')');
		if (!p)
			continue;
		/* after ") ": field 3 is state; utime is 14, stime 15 */
		p++;
		for (field = 2; field < 13 && p; field++)
			p = strchr(p + 1, ' ');
		if (!p)
			continue;
		{
			char *end;
			long long ut = strtoll(p + 1, &end, 10);
			long long st = strtoll(end, NULL, 10);

			ticks += ut + st;
		}
	}
	return ticks * (1000000000LL / hz);
}

void proc_meter_start(struct cpu_meter *m, int pid, int64_t now)
{
	memset(m, 0, sizeof(*m));
	m->pid = pid;
	m->t0 = now;
	m->self0 = proc_self_cpu_ns();
	m->srv0 = pid > 0 ? proc_tree_cpu_ns(pid) : -1;
}

void proc_meter_stop(struct cpu_meter *m, int64_t now)
{
	m->t1 = now;
	m->self1 = proc_self_cpu_ns();
	m->srv1 = m->pid > 0 ? proc_tree_cpu_ns(m->pid) : -1;
}

double proc_meter_server_s(const struct cpu_meter *m)
{
	if (m->pid <= 0 || m->srv0 < 0 || m->srv1 < 0)
		return 0;
	return (double)(m->srv1 - m->srv0) / 1e9;
}

void proc_meter_report(const struct cpu_meter *m, struct report *r,
		       const char *work_key, double work)
{
	double el = (double)(m->t1 - m->t0) / 1e9;
	double srv;

	if (el <= 0)
		return;
	report_num(r, "loadgen_cpu_pct",
		   util_round1(100.0 * (double)(m->self1 - m->self0) / 1e9 / el));
	if (m->pid <= 0)
		return;
	if (m->srv0 < 0 || m->srv1 < 0) {
		report_str(r, "server_cpu_error", "pid not found");
		return;
	}
	srv = proc_meter_server_s(m);
	report_num(r, "server_cpu_pct", util_round1(100.0 * srv / el));
	if (work_key && srv > 0)
		report_num(r, work_key, util_round1(work / srv));
}
