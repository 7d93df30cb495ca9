/*
 * scenario — what the four subcommands share: the target URL, the
 * connect-phase figures, the human summary line, and the exit status.
 *
 * Thread: the main thread. Ownership: no allocation.
 */
#ifndef HB_SCENARIO_H
#define HB_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "netaddr.h"
#include "report.h"

/* Exit statuses of herald-bench. */
enum {
	SCENARIO_OK = 0,
	SCENARIO_FAILED = 1,   /* could not run (no connection, bad target) */
	SCENARIO_USAGE = 2,
	SCENARIO_CHECK = 3,    /* -strict: bad replies, errors or loss */
};

/* Parses and resolves url into u; prints the reason and returns -1 on
 * failure. */
int scenario_url(struct net_url *u, const char *cmd, const char *url);

/* Source addresses to use for conns connections: flag if > 0, else several
 * (one per 20,000) above 25,000 connections, else 0 (kernel's choice). */
int scenario_nsrc(int conns, int flag);

/* Warns on stderr when conns (plus a few spare descriptors) exceed the
 * open-files limit; those dials will fail with EMFILE. */
void scenario_check_nofile(const char *cmd, long conns);

/* Adds connected, connect_failed, connect_s and connect_error. */
void scenario_report_dial(struct report *r, const struct engine *e,
			  uint32_t opened, int64_t elapsed_ns);

/* Adds closed_by_server and first_close when a server closed any. */
void scenario_report_closed(struct report *r, const struct engine *e,
			    uint64_t closed);

struct cpu_meter;

/* Writes the CPU part of a summary line into buf: ", server 95% cpu,
 * 130000 <unit>/server-cpu-s" (with a pid) then ", loadgen 60% cpu". */
void scenario_cpu_text(char *buf, size_t cap, const struct cpu_meter *m,
		       double work, const char *unit);

/* Prints a summary line on stderr (printf-style), newline added. */
void scenario_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
