/*
 * idle — see idle.h.
 *
 * Role: the memory scenario. RSS is read before the first dial and after
 * -hold; the server's CPU use during the hold (idle connections only) is
 * reported too, since an idle server should use next to none.
 * Thread: the main thread.
 */
#include "idle.h"

#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "opts.h"
#include "procstat.h"
#include "report.h"
#include "scenario.h"
#include "util.h"

struct idle {
	uint64_t msgs;    /* frames received (welcome, server pushes) */
	uint64_t closed;
};

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

	(void)c;
	(void)why;
	if (was_open)
		x->closed++;
}

static const struct engine_ops idle_ops = {
	.on_msg = idle_on_msg,
	.on_close = idle_on_close,
};

static const char idle_summary[] =
	"Idle connections: opens -c connections, holds them -hold (answering pings),\n"
	"then reports (server VmRSS after - before) / connections; -pid is required.";

int idle_main(int argc, char **argv)
{
	const char *url = "ws://127.0.0.1:8080";
	int conns = 10000, pid = 0, dialconc = 64, nsrc = 0, strict = 0;
	int64_t hold = 5000000000LL, max_connect = 120000000000LL;
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
		{ NULL, 0, NULL, NULL },
	};
	struct idle x;
	struct net_url u;
	struct engine *e = NULL;
	struct cpu_meter meter;
	struct report r;
	long before, after;
	uint32_t opened;
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
	if (conns < 1 || dialconc < 1 || hold < 0) {
		fprintf(stderr, "herald-bench idle: -c and -dialconc must be positive\n");
		return SCENARIO_USAGE;
	}
	if (scenario_url(&u, "idle", url) < 0)
		return SCENARIO_USAGE;
	scenario_check_nofile("idle", conns);
	memset(&x, 0, sizeof(x));
	before = proc_tree_rss_kb(pid);
	if (before < 0) {
		fprintf(stderr, "herald-bench idle: no process %d\n", pid);
		return SCENARIO_USAGE;
	}
	e = engine_create(&u, (uint32_t)conns, &idle_ops, &x);
	if (!e) {
		fprintf(stderr, "herald-bench idle: out of memory\n");
		return SCENARIO_FAILED;
	}
	engine_set_sources(e, scenario_nsrc(conns, nsrc));
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

	report_uint(&r, "still_open", e->open);
	scenario_report_closed(&r, e, x.closed);
	report_int(&r, "rss_before_kb", before);
	report_int(&r, "rss_after_kb", after);
	if (opened && after >= 0) {
		per_conn = (int64_t)(after - before) * 1024 / (int64_t)opened;
		report_int(&r, "bytes_per_conn", per_conn);
	}
	proc_meter_report(&meter, &r, NULL, 0);
	report_num(&r, "loadgen_rss_mb", util_round1((double)proc_self_rss_kb() / 1024));
	report_emit(&r);

	scenario_cpu_text(cpu, sizeof(cpu), &meter, 0, "msgs");
	scenario_say("idle c=%d: connected=%u open=%u rss %ld->%ld kB => %lld B/conn "
		     "(during hold%s)",
		     conns, opened, e->open, before, after, (long long)per_conn,
		     cpu);
	status = opened ? SCENARIO_OK : SCENARIO_FAILED;
	if (strict && (opened < (uint32_t)conns || e->open < opened))
		status = SCENARIO_CHECK;
	engine_destroy(e);
	return status;
}
