/*
 * procstat — CPU time and resident memory of a process tree and of
 * herald-bench itself, read from /proc and getrusage().
 *
 * A "tree" is the PID plus all its descendants (found through
 * /proc/<pid>/task/<tid>/children), so a multi-process server (nginx master
 * and workers) is measured whole; /proc/<pid>/stat already sums all threads.
 * Thread: single-threaded (static scratch buffers). Ownership: no allocation.
 */
#ifndef HB_PROCSTAT_H
#define HB_PROCSTAT_H

#include <stdint.h>

struct report;

/* CPU time (user + system) used by herald-bench so far, in ns. */
int64_t proc_self_cpu_ns(void);

/* Resident set size of herald-bench now, in KiB (VmRSS). */
long proc_self_rss_kb(void);

/* Summed utime+stime of pid and its descendants, in ns; -1 if pid is gone. */
int64_t proc_tree_cpu_ns(int pid);

/* Summed VmRSS of pid and its descendants, in KiB; -1 if pid is gone. */
long proc_tree_rss_kb(int pid);

/* Measures CPU use over a window. pid <= 0: only herald-bench's own. */
struct cpu_meter {
	int pid;
	int64_t t0, self0, srv0;
	int64_t t1, self1, srv1;
};

/* Opens the window at now (CLOCK_MONOTONIC ns). */
void proc_meter_start(struct cpu_meter *m, int pid, int64_t now);

/* Closes the window at now. */
void proc_meter_stop(struct cpu_meter *m, int64_t now);

/* Server CPU seconds used in the window; 0 without a pid. */
double proc_meter_server_s(const struct cpu_meter *m);

/* Adds loadgen_cpu_pct and, with a pid, server_cpu_pct and (when work > 0)
 * <work_key> = work / server CPU seconds (e.g. "msgs_per_server_cpu_s"). */
void proc_meter_report(const struct cpu_meter *m, struct report *r,
		       const char *work_key, double work);

#endif
