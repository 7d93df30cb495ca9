/*
 * connect — see connect.h.
 *
 * Role: the handshake-rate scenario. Each of -conc slots loops: dial, on
 * the 101 record socket()-to-101 latency, RST, dial again. A failed dial
 * waits 1 ms before its slot retries, so a refusing server does not turn
 * the loop into a spin. Dials still running at the end are dropped
 * uncounted (as wsload does).
 * Thread: the main thread.
 */
#include "connect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "hist.h"
#include "opts.h"
#include "procstat.h"
#include "report.h"
#include "scenario.h"
#include "util.h"

#define CONNECT_RETRY_NS 1000000LL

struct connect_slot {
	uint32_t n;        /* dials started by this slot */
	int64_t retry_at;  /* 0: none; else dial again at this time */
};

struct connect {
	struct hist hist;
	struct connect_slot *slots;
	int64_t end;
	uint64_t ok, failed;
	char first_error[200];
};

static void connect_next(struct engine *e, struct conn *c, int64_t now)
{
	struct connect *x = e->ud;
	struct connect_slot *s = &x->slots[c->idx];
	char id[48];

	if (now >= x->end)
		return;
	snprintf(id, sizeof(id), "k%u_%u", c->idx, s->n++);
	if (engine_dial(e, c, id, now) < 0) {
		x->failed++;
		if (!x->first_error[0])
			util_strlcpy(x->first_error, e->first_error,
				     sizeof(x->first_error));
		s->retry_at = now + CONNECT_RETRY_NS;
	}
}

static void connect_on_open(struct engine *e, struct conn *c, int64_t now)
{
	struct connect *x = e->ud;

	if (now <= x->end) {
		x->ok++;
		hist_add(&x->hist, now - c->t0);
	}
	conn_abort(e, c, 1);
	connect_next(e, c, util_now_ns());
}

static void connect_on_msg(struct engine *e, struct conn *c, int op,
			   unsigned char *p, size_t len, int64_t now)
{
	(void)e;
	(void)c;
	(void)op;
	(void)p;
	(void)len;
	(void)now;

}

static void connect_on_close(struct engine *e, struct conn *c, int was_open,
			     const char *why)
{
	struct connect *x = e->ud;
	int64_t now = util_now_ns();

	(void)was_open;
	if (now >= x->end)
		return;
	x->failed++;
	if (!x->first_error[0])
		util_strlcpy(x->first_error,
			     e->first_error[0] ? e->first_error : why,
			     sizeof(x->first_error));
	x->slots[c->idx].retry_at = now + CONNECT_RETRY_NS;
}

static const struct engine_ops connect_ops = {
	.on_open = connect_on_open,
	.on_msg = connect_on_msg,
	.on_close = connect_on_close,
};

static const char connect_summary[] =
	"Connection rate: -conc connectors open /ws/<id>, check the 101, reset the\n"
	"TCP connection (SO_LINGER 0) and start again, for -d.";

int connect_main(int argc, char **argv)
{
	const char *url = "ws://127.0.0.1:8080";
	int conc = 32, pid = 0, nsrc = 4, strict = 0;
	int64_t dur = 10000000000LL;
	const struct opt opts[] = {
		{ "url", OPT_STR, &url, "server base URL (/ws/<id> is appended)" },
		{ "d", OPT_DUR, &dur, "duration" },
		{ "conc", OPT_INT, &conc, "concurrent connectors" },
		{ "pid", OPT_INT, &pid, "server PID: report its CPU% and handshakes per server CPU-second" },
		{ "nsrc", OPT_INT, &nsrc, "source addresses 127.0.0.1..N" },
		{ "srcips", OPT_INT, &nsrc, "same as -nsrc (wsload's name)" },
		{ "strict", OPT_BOOL, &strict, "exit 3 on any failed handshake" },
		{ NULL, 0, NULL, NULL },
	};
	struct connect *x;
	struct net_url u;
	struct engine *e;
	struct cpu_meter meter;
	struct report r;
	int64_t now, start;
	double rate;
	char cpu[160];
	int status, rc;

	rc = opts_parse("connect", connect_summary, opts, argc, argv);
	if (rc)
		return rc > 0 ? SCENARIO_OK : SCENARIO_USAGE;
	if (conc < 1 || dur <= 0) {
		fprintf(stderr, "herald-bench connect: -conc and -d must be positive\n");
		return SCENARIO_USAGE;
	}
	if (scenario_url(&u, "connect", url) < 0)
		return SCENARIO_USAGE;
	x = calloc(1, sizeof(*x));
	if (!x || !(x->slots = calloc((size_t)conc, sizeof(*x->slots)))) {
		free(x);
		fprintf(stderr, "herald-bench connect: out of memory\n");
		return SCENARIO_FAILED;
	}
	e = engine_create(&u, (uint32_t)conc, &connect_ops, x);
	if (!e) {
		free(x->slots);
		free(x);
		fprintf(stderr, "herald-bench connect: out of memory\n");
		return SCENARIO_FAILED;
	}
	engine_set_sources(e, nsrc);
	e->rbuf_init = 1024;
	e->hs_timeout = 5 * 1000000000LL;

	start = util_now_ns();
	x->end = start + dur;
	proc_meter_start(&meter, pid, start);
	for (int i = 0; i < conc; i++)
		connect_next(e, engine_conn(e, (uint32_t)i), start);
	while ((now = util_now_ns()) < x->end) {
		int retry = 0;

		for (int i = 0; i < conc; i++) {
			struct connect_slot *s = &x->slots[i];

			if (!s->retry_at)
				continue;
			if (now >= s->retry_at) {
				s->retry_at = 0;
				connect_next(e, engine_conn(e, (uint32_t)i), now);
			} else {
				retry = 1;
			}
		}
		if (engine_poll(e, retry ? 1 : 10) < 0)
			break;
	}
	proc_meter_stop(&meter, util_now_ns());
	rate = (double)x->ok / ((double)dur / 1e9);

	report_init(&r, "connect");
	report_str(&r, "url", url);
	report_num(&r, "duration_s", (double)dur / 1e9);
	report_int(&r, "concurrency", conc);
	proc_meter_report(&meter, &r, "conns_per_server_cpu_s", (double)x->ok);
	report_uint(&r, "connections", x->ok);
	report_uint(&r, "failed", x->failed);
	report_num(&r, "conns_per_s", util_round1(rate));
	if (x->first_error[0])
		report_str(&r, "first_error", x->first_error);
	hist_report(&x->hist, &r);
	report_emit(&r);

	scenario_cpu_text(cpu, sizeof(cpu), &meter, (double)x->ok, "conns");
	scenario_say("connect conc=%d: %.0f conns/s (failed=%llu) p50=%.1fus p99=%.1fus%s",
		     conc, rate, (unsigned long long)x->failed,
		     hist_quantile(&x->hist, 0.5) / 1e3,
		     hist_quantile(&x->hist, 0.99) / 1e3, cpu);
	status = x->ok ? SCENARIO_OK : SCENARIO_FAILED;
	if (strict && x->failed)
		status = SCENARIO_CHECK;
	/* dials still in flight: drop them with an RST, uncounted */
	for (int i = 0; i < conc; i++)
		conn_abort(e, engine_conn(e, (uint32_t)i), 1);
	engine_destroy(e);
	free(x->slots);
	free(x);
	return status;
}
