/*
 * idle — see idle.h.
 *
 * Role: the memory and idle-cost scenario. RSS is read before the first
 * dial and after -hold; the server's CPU use during the hold (idle
 * connections only) is reported too, also per 10,000 connections, since an
 * idle server should use next to none. With -connect, a connection-rate
 * run (connect.c's connectors, on extra slots of the same engine) follows
 * while the idle connections are still held: what a reconnect storm meets.
 * Thread: the main thread.
 */
#include "idle.h"

#include <stdio.h>
#include <string.h>

#include "connect.h"
#include "engine.h"
#include "opts.h"
#include "procstat.h"
#include "report.h"
#include "scenario.h"
#include "util.h"

struct idle {
	uint64_t msgs;    /* frames received (welcome, server pushes) */
	uint64_t closed;
	struct connect_loop *connectors; /* -connect: the slots past -c */
};

static void idle_on_open(struct engine *e, struct conn *c, int64_t now)
{
	struct idle *x = e->ud;

	if (x->connectors && connect_loop_owns(x->connectors, c))
		connect_loop_on_open(x->connectors, e, c, now);
}

static void idle_on_msg(struct engine *e, struct conn *c, int op,
			unsigned char *p, size_t len, int64_t now)
{
	struct idle *x = e->ud;

	(void)c;
	(void)op;
	(void)p;
	(void)len;
	(void)now;
	x->msgs++;
}

static void idle_on_close(struct engine *e, struct conn *c, int was_open,
			  const char *why)
{
	struct idle *x = e->ud;

	if (x->connectors && connect_loop_owns(x->connectors, c)) {
		connect_loop_on_close(x->connectors, e, c, why);
		return;
	}
	if (was_open)
		x->closed++;
}

static const struct engine_ops idle_ops = {
	.on_open = idle_on_open,
	.on_msg = idle_on_msg,
	.on_close = idle_on_close,
};

static const char idle_summary[] =
	"Idle connections: opens -c connections, holds them -hold (answering pings),\n"
	"then reports (server VmRSS after - before) / connections and the server's\n"
	"CPU during the hold; -pid is required. -connect D then measures the\n"
	"connection rate (-conc connectors) for D while the idle ones are held.";

int idle_main(int argc, char **argv)
{
	const char *url = "ws://127.0.0.1:8080";
	int conns = 10000, pid = 0, dialconc = 64, nsrc = 0, strict = 0;
	int conc = 32;
	int64_t hold = 5000000000LL, max_connect = 120000000000LL, connect = 0;
	const struct opt opts[] = {
		{ "url", OPT_STR, &url, "server base URL (/ws/<id> is appended)" },
		{ "c", OPT_INT, &conns, "idle connections" },
		{ "pid", OPT_INT, &pid, "server PID (RSS of it and its descendants)" },
		{ "hold", OPT_DUR, &hold, "hold time after connecting, before reading RSS" },
		{ "dialconc", OPT_INT, &dialconc, "concurrent handshakes while connecting" },
		{ "nsrc", OPT_INT, &nsrc, "source addresses 127.0.0.1..N (0: auto, several above 25000)" },
		{ "srcips", OPT_INT, &nsrc, "same as -nsrc (wsload's name)" },
		{ "connect-timeout", OPT_DUR, &max_connect, "bound on the connect phase" },
		{ "strict", OPT_BOOL, &strict, "exit 3 unless every connection opened and stayed open" },
		{ "connect", OPT_DUR, &connect, "then measure the connection rate this long while holding (0: no)" },
		{ "conc", OPT_INT, &conc, "concurrent connectors of the -connect phase" },
		{ NULL, 0, NULL, NULL },
	};
	struct idle x;
	struct net_url u;
	struct engine *e = NULL;
	struct cpu_meter meter, connect_meter;
	struct report r, connect_report;
	char connect_say[320] = "";
	long before, after;
	uint32_t opened, open_after_hold;
	int64_t t, per_conn = 0;
	char cpu[160];
	int status = SCENARIO_FAILED, rc;

	rc = opts_parse("idle", idle_summary, opts, argc, argv);
	if (rc)
		return rc > 0 ? SCENARIO_OK : SCENARIO_USAGE;
	if (pid <= 0) {
		fprintf(stderr, "herald-bench idle: -pid is required\n");
		return SCENARIO_USAGE;
	}
	if (conns < 1 || dialconc < 1 || hold < 0 || conc < 1 || connect < 0) {
		fprintf(stderr, "herald-bench idle: -c, -dialconc and -conc must be positive\n");
		return SCENARIO_USAGE;
	}
	if (scenario_url(&u, "idle", url) < 0)
		return SCENARIO_USAGE;
	scenario_check_nofile("idle", conns + (connect ? conc : 0));
	memset(&x, 0, sizeof(x));
	if (connect && !(x.connectors = connect_loop_create((uint32_t)conns,
							    (uint32_t)conc))) {
		fprintf(stderr, "herald-bench idle: out of memory\n");
		return SCENARIO_FAILED;
	}
	before = proc_tree_rss_kb(pid);
	if (before < 0) {
		fprintf(stderr, "herald-bench idle: no process %d\n", pid);
		return SCENARIO_USAGE;
	}
	e = engine_create(&u, (uint32_t)conns + (connect ? (uint32_t)conc : 0),
			  &idle_ops, &x);
	if (!e) {
		connect_loop_destroy(x.connectors);
		fprintf(stderr, "herald-bench idle: out of memory\n");
		return SCENARIO_FAILED;
	}
	/* -connect dials on while the idle connections hold their ports: with
	 * one source address the kernel's search for a free port would cost
	 * the generator more than the handshakes (connect uses 4 too) */
	engine_set_sources(e, connect && !nsrc && scenario_nsrc(conns, 0) < 4
				      ? 4 : scenario_nsrc(conns, nsrc));
	e->rbuf_init = 512;

	report_init(&r, "idle");
	report_str(&r, "url", url);
	report_int(&r, "conns", conns);
	t = util_now_ns();
	opened = engine_dial_many(e, 0, (uint32_t)conns, (uint32_t)dialconc, "i",
				  t + max_connect);
	scenario_report_dial(&r, e, opened, util_now_ns() - t);

	t = util_now_ns();
	proc_meter_start(&meter, pid, t);
	while (opened && e->open && util_now_ns() < t + hold)
		if (engine_poll(e, 20) < 0)
			break;
	after = proc_tree_rss_kb(pid);
	proc_meter_stop(&meter, util_now_ns());
	open_after_hold = e->open;
	if (connect && opened && e->open) {
		e->hs_timeout = 5 * 1000000000LL;
		connect_loop_run(x.connectors, e, connect, pid, &connect_meter);
		report_init(&connect_report, "connect");
		connect_loop_report(x.connectors, &connect_meter,
				    &connect_report, connect_say,
				    sizeof(connect_say));
	}

	report_uint(&r, "still_open", open_after_hold);
	scenario_report_closed(&r, e, x.closed);
	report_int(&r, "rss_before_kb", before);
	report_int(&r, "rss_after_kb", after);
	if (opened && after >= 0) {
		per_conn = (int64_t)(after - before) * 1024 / (int64_t)opened;
		report_int(&r, "bytes_per_conn", per_conn);
	}
	proc_meter_report(&meter, &r, NULL, 0);
	if (opened && pid > 0 && meter.t1 > meter.t0)
		report_num(&r, "server_cpu_pct_per_10k",
			   100.0 * proc_meter_server_s(&meter) /
				   ((double)(meter.t1 - meter.t0) / 1e9) *
				   10000.0 / opened);
	report_num(&r, "loadgen_rss_mb", util_round1((double)proc_self_rss_kb() / 1024));
	if (connect_say[0]) {
		report_uint(&r, "still_open_after_connect", e->open);
		report_object(&r, "connect", &connect_report);
	}
	report_emit(&r);

	scenario_cpu_text(cpu, sizeof(cpu), &meter, 0, "msgs");
	scenario_say("idle c=%d: connected=%u open=%u rss %ld->%ld kB => %lld B/conn "
		     "(during hold%s)",
		     conns, opened, open_after_hold, before, after, (long long)per_conn,
		     cpu);
	if (connect_say[0])
		scenario_say("  while holding them: %s", connect_say);
	status = opened ? SCENARIO_OK : SCENARIO_FAILED;
	if (strict && (opened < (uint32_t)conns || open_after_hold < opened ||
		       e->open < opened))
		status = SCENARIO_CHECK;
	engine_destroy(e);
	connect_loop_destroy(x.connectors);
	return status;
}
