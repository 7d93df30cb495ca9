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

#include "hist.h"
#include "opts.h"
#include "scenario.h"
#include "util.h"

#define CONNECT_RETRY_NS 1000000LL

struct connect_slot {
	uint32_t n;        /* dials started by this slot */
	int64_t retry_at;  /* 0: none; else dial again at this time */
};

struct connect_loop {
	struct hist hist;
	struct connect_slot *slots;
	uint32_t base, conc;
	int64_t end;
	int64_t dur;
	uint64_t ok, failed;
	char first_error[200];
};

struct connect_loop *connect_loop_create(uint32_t base, uint32_t conc)
{
	struct connect_loop *x = calloc(1, sizeof(*x));

	if (!x || !(x->slots = calloc(conc, sizeof(*x->slots)))) {
		free(x);
		return NULL;
	}
	x->base = base;
	x->conc = conc;
	return x;
}

void connect_loop_destroy(struct connect_loop *x)
{
	if (!x)
		return;
	free(x->slots);
	free(x);
}

int connect_loop_owns(const struct connect_loop *x, const struct conn *c)
{
	return c->idx >= x->base && c->idx < x->base + x->conc;
}

static void connect_loop_fail(struct connect_loop *x, const char *why,
			      uint32_t idx, int64_t now)
{
	x->failed++;
	if (!x->first_error[0])
		util_strlcpy(x->first_error, why, sizeof(x->first_error));
	x->slots[idx - x->base].retry_at = now + CONNECT_RETRY_NS;
}

static void connect_next(struct connect_loop *x, struct engine *e,
			 struct conn *c, int64_t now)
{
	struct connect_slot *s = &x->slots[c->idx - x->base];
	char id[48];

	if (now >= x->end)
		return;
	snprintf(id, sizeof(id), "k%u_%u", c->idx, s->n++);
	if (engine_dial(e, c, id, now) < 0)
		connect_loop_fail(x, e->first_error, c->idx, now);
}

void connect_loop_on_open(struct connect_loop *x, struct engine *e,
			  struct conn *c, int64_t now)
{
	if (now <= x->end) {
		x->ok++;
		hist_add(&x->hist, now - c->t0);
	}
	conn_abort(e, c, 1);
	connect_next(x, e, c, util_now_ns());
}

void connect_loop_on_close(struct connect_loop *x, struct engine *e,
			   struct conn *c, const char *why)
{
	int64_t now = util_now_ns();

	if (now >= x->end)
		return;
	connect_loop_fail(x, e->first_error[0] ? e->first_error : why, c->idx,
			  now);
}

void connect_loop_run(struct connect_loop *x, struct engine *e, int64_t dur,
		      int pid, struct cpu_meter *meter)
{
	int64_t now, start = util_now_ns();

	x->dur = dur;
	x->end = start + dur;
	proc_meter_start(meter, pid, start);
	for (uint32_t i = 0; i < x->conc; i++)
		connect_next(x, e, engine_conn(e, x->base + i), start);
	while ((now = util_now_ns()) < x->end) {
		int retry = 0;

		for (uint32_t i = 0; i < x->conc; i++) {
			struct connect_slot *s = &x->slots[i];

			if (!s->retry_at)
				continue;
			if (now >= s->retry_at) {
				s->retry_at = 0;
				connect_next(x, e, engine_conn(e, x->base + i),
					     now);
			} else {
				retry = 1;
			}
		}
		if (engine_poll(e, retry ? 1 : 10) < 0)
			break;
	}
	proc_meter_stop(meter, util_now_ns());
	/* dials still in flight: drop them with an RST, uncounted */
	for (uint32_t i = 0; i < x->conc; i++) {
		struct conn *c = engine_conn(e, x->base + i);

		if (c->state != CONN_FREE)
			conn_abort(e, c, 1);
	}
}

void connect_loop_report(const struct connect_loop *x,
			 const struct cpu_meter *meter, struct report *r,
			 char *say, size_t saylen)
{
	double rate = (double)x->ok / ((double)x->dur / 1e9);
	char cpu[160];

	report_num(r, "duration_s", (double)x->dur / 1e9);
	report_int(r, "concurrency", x->conc);
	proc_meter_report(meter, r, "conns_per_server_cpu_s", (double)x->ok);
	report_uint(r, "connections", x->ok);
	report_uint(r, "failed", x->failed);
	report_num(r, "conns_per_s", util_round1(rate));
	if (x->first_error[0])
		report_str(r, "first_error", x->first_error);
	hist_report(&x->hist, r);
	scenario_cpu_text(cpu, sizeof(cpu), meter, (double)x->ok, "conns");
	snprintf(say, saylen,
		 "connect conc=%u: %.0f conns/s (failed=%llu) p50=%.1fus p99=%.1fus%s",
		 x->conc, rate, (unsigned long long)x->failed,
		 hist_quantile(&x->hist, 0.5) / 1e3,
		 hist_quantile(&x->hist, 0.99) / 1e3, cpu);
}

uint64_t connect_loop_ok(const struct connect_loop *x)
{
	return x->ok;
}

uint64_t connect_loop_failed(const struct connect_loop *x)
{
	return x->failed;
}

static void connect_on_open(struct engine *e, struct conn *c, int64_t now)
{
	connect_loop_on_open(e->ud, e, c, now);
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
	(void)was_open;
	connect_loop_on_close(e->ud, e, c, why);
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
	struct connect_loop *x;
	struct net_url u;
	struct engine *e;
	struct cpu_meter meter;
	struct report r;
	char say[320];
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
	x = connect_loop_create(0, (uint32_t)conc);
	e = x ? engine_create(&u, (uint32_t)conc, &connect_ops, x) : NULL;
	if (!e) {
		connect_loop_destroy(x);
		fprintf(stderr, "herald-bench connect: out of memory\n");
		return SCENARIO_FAILED;
	}
	engine_set_sources(e, nsrc);
	e->rbuf_init = 1024;
	e->hs_timeout = 5 * 1000000000LL;

	connect_loop_run(x, e, dur, pid, &meter);
	report_init(&r, "connect");
	report_str(&r, "url", url);
	connect_loop_report(x, &meter, &r, say, sizeof(say));
	report_emit(&r);
	scenario_say("%s", say);

	status = connect_loop_ok(x) ? SCENARIO_OK : SCENARIO_FAILED;
	if (strict && connect_loop_failed(x))
		status = SCENARIO_CHECK;
	engine_destroy(e);
	connect_loop_destroy(x);
	return status;
}
