/*
 * echo — see echo.h.
 *
 * Role: the throughput/latency scenario. Every request is the same
 * pre-masked frame (built once, `pipeline` copies side by side, shared by
 * all connections), so a reply costs one comparison and, per read(), one
 * clock reading and one write() of the frames it freed. Replies are FIFO
 * per connection, so each connection keeps a ring of send times.
 *
 * Expectation: herald answers text with "Echo: <text>"; -expect auto (the
 * default) takes whichever of exact or "Echo: "-prefixed the first reply
 * is, and then holds every reply to it. A text frame starting with
 * {"type":"welcome" is the server's greeting and is skipped, one starting
 * with {"type":"redis" is herald's Redis link-state push and is counted in
 * "foreign"; neither consumes a request. Every other frame is the reply to
 * the oldest request in flight, so an error reply (say herald's
 * {"type":"error","code":"rate_limited",...}) counts as a bad reply.
 * Thread: the main thread.
 */
#include "echo.h"

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

enum echo_expect {
	ECHO_AUTO,
	ECHO_EXACT,
	ECHO_PREFIX,
};

#define ECHO_PREFIX_STR "Echo: "
#define ECHO_PREFIX_LEN 6
#define ECHO_WELCOME "{\"type\":\"welcome\""
#define ECHO_REDIS "{\"type\":\"redis\""

struct echo_conn {
	uint32_t head;     /* oldest request in flight */
	uint32_t inflight;
	uint32_t pending;  /* replies received in this read: to resend */
};

struct echo {
	struct engine *e;
	struct hist hist;
	struct echo_conn *ec;
	int64_t *sent;      /* conns x pipeline send times (ns) */
	uint32_t conns, pipeline;
	unsigned char *payload;
	size_t size;
	int want_op;
	enum echo_expect expect;
	int64_t t0, t1;     /* measured window */
	uint64_t msgs, bad, foreign, welcomes, closed, unsolicited;
	char first_bad[200];
};

static void echo_on_msg(struct engine *e, struct conn *c, int op,
			unsigned char *p, size_t len, int64_t now)
{
	struct echo *x = e->ud;
	struct echo_conn *ec;
	int ok;
	int64_t ts;

	if (c->idx >= x->conns)
		return;
	ec = &x->ec[c->idx];
	if (op == WS_OP_TEXT && len >= sizeof(ECHO_WELCOME) - 1 &&
	    !memcmp(p, ECHO_WELCOME, sizeof(ECHO_WELCOME) - 1)) {
		x->welcomes++;
		return;
	}
	if (op == WS_OP_TEXT && len >= sizeof(ECHO_REDIS) - 1 &&
	    !memcmp(p, ECHO_REDIS, sizeof(ECHO_REDIS) - 1)) {
		x->foreign++; /* herald's Redis link-state notice */
		return;
	}
	if (!ec->inflight) {
		x->unsolicited++;
		return;
	}
	ok = op == x->want_op;
	if (ok && x->expect != ECHO_PREFIX && len == x->size &&
	    !memcmp(p, x->payload, len)) {
		if (x->expect == ECHO_AUTO)
			x->expect = ECHO_EXACT;
	} else if (ok && x->expect != ECHO_EXACT &&
		   len == x->size + ECHO_PREFIX_LEN &&
		   !memcmp(p, ECHO_PREFIX_STR, ECHO_PREFIX_LEN) &&
		   !memcmp(p + ECHO_PREFIX_LEN, x->payload, x->size)) {
		if (x->expect == ECHO_AUTO)
			x->expect = ECHO_PREFIX;
	} else {
		ok = 0;
	}
	ts = x->sent[(size_t)c->idx * x->pipeline + ec->head];
	ec->head = (ec->head + 1) % x->pipeline;
	ec->inflight--;
	if (!ok) {
		if (!x->bad++) {
			size_t n = len > 80 ? 80 : len;
			char *q = x->first_bad;

			q += sprintf(q, "unexpected reply (op %d, %zu bytes): ", op, len);
			for (size_t i = 0; i < n; i++)
				*q++ = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '.';
			*q = '\0';
		}
	} else if (ts >= x->t0 && now <= x->t1) {
		hist_add(&x->hist, now - ts);
		x->msgs++;
	}
	if (now < x->t1)
		ec->pending++;
}

/* Sends one request per reply of this read, stamped now. */
static void echo_on_read_done(struct engine *e, struct conn *c, int64_t now)
{
	struct echo *x = e->ud;
	struct echo_conn *ec;
	int64_t t;
	int64_t *ring;

	(void)now;
	if (c->idx >= x->conns)
		return;
	ec = &x->ec[c->idx];
	if (!ec->pending)
		return;
	t = util_now_ns();
	ring = x->sent + (size_t)c->idx * x->pipeline;
	for (uint32_t i = 0; i < ec->pending; i++)
		ring[(ec->head + ec->inflight + i) % x->pipeline] = t;
	ec->inflight += ec->pending;
	conn_queue_repeat(c, ec->pending);
	ec->pending = 0;
}

static void echo_on_close(struct engine *e, struct conn *c, int was_open,
			  const char *why)
{
	struct echo *x = e->ud;

	(void)why;
	if (was_open) {
		x->closed++;
		if (c->idx < x->conns)
			memset(&x->ec[c->idx], 0, sizeof(x->ec[c->idx]));
	}
}

static const struct engine_ops echo_ops = {
	.on_msg = echo_on_msg,
	.on_read_done = echo_on_read_done,
	.on_close = echo_on_close,
};

static const char echo_summary[] =
	"Closed-loop echo: C connections, each keeping -pipeline requests of -s bytes\n"
	"in flight; replies checked byte for byte (exact, or \"Echo: \" + payload).";

int echo_main(int argc, char **argv)
{
	const char *url = "ws://127.0.0.1:8080", *expect_s = "auto";
	int conns = 100, size = 32, pipeline = 1, binary = 0, dialconc = 64;
	int pid = 0, nsrc = 0, strict = 0;
	int64_t dur = 10000000000LL, warm = 2000000000LL;
	const struct opt opts[] = {
		{ "url", OPT_STR, &url, "server base URL (/ws/<id> is appended)" },
		{ "c", OPT_INT, &conns, "connections" },
		{ "s", OPT_INT, &size, "message size in bytes" },
		{ "d", OPT_DUR, &dur, "measured duration" },
		{ "warmup", OPT_DUR, &warm, "warm-up before measuring" },
		{ "pipeline", OPT_INT, &pipeline, "requests in flight per connection" },
		{ "binary", OPT_BOOL, &binary, "send binary frames (expect the same bytes back)" },
		{ "expect", OPT_STR, &expect_s, "auto | exact | echo-prefix" },
		{ "dialconc", OPT_INT, &dialconc, "concurrent handshakes while connecting" },
		{ "pid", OPT_INT, &pid, "server PID: report its CPU% and msgs per server CPU-second" },
		{ "nsrc", OPT_INT, &nsrc, "source addresses 127.0.0.1..N (0: auto, several above 25000)" },
		{ "srcips", OPT_INT, &nsrc, "same as -nsrc (wsload's name)" },
		{ "strict", OPT_BOOL, &strict, "exit 3 on bad replies, errors, server closes or no replies" },
		{ NULL, 0, NULL, NULL },
	};
	struct net_url u;
	struct echo *x = NULL;
	struct engine *e = NULL;
	struct cpu_meter meter;
	struct report r;
	unsigned char *frames = NULL;
	uint32_t opened, flen;
	uint64_t errors0;
	int64_t t, now;
	int meter_on = 0, status = SCENARIO_FAILED, rc;
	double rate;
	char cpu[160];

	rc = opts_parse("echo", echo_summary, opts, argc, argv);
	if (rc)
		return rc > 0 ? SCENARIO_OK : SCENARIO_USAGE;
	if (conns < 1 || size < 0 || pipeline < 1 || dur <= 0 || warm < 0 ||
	    dialconc < 1) {
		fprintf(stderr, "herald-bench echo: -c, -pipeline, -d and -dialconc must be positive\n");
		return SCENARIO_USAGE;
	}
	if (scenario_url(&u, "echo", url) < 0)
		return SCENARIO_USAGE;
	scenario_check_nofile("echo", conns);

	x = calloc(1, sizeof(*x));
	if (!x)
		goto fail;
	if (!strcmp(expect_s, "auto"))
		x->expect = ECHO_AUTO;
	else if (!strcmp(expect_s, "exact"))
		x->expect = ECHO_EXACT;
	else if (!strcmp(expect_s, "echo-prefix"))
		x->expect = ECHO_PREFIX;
	else {
		fprintf(stderr, "herald-bench echo: -expect must be auto, exact or echo-prefix\n");
		free(x);
		return SCENARIO_USAGE;
	}
	x->conns = (uint32_t)conns;
	x->pipeline = (uint32_t)pipeline;
	x->size = (size_t)size;
	x->want_op = binary ? WS_OP_BINARY : WS_OP_TEXT;
	x->ec = calloc((size_t)conns, sizeof(*x->ec));
	x->sent = calloc((size_t)conns * (size_t)pipeline, sizeof(*x->sent));
	x->payload = malloc((size_t)size + 1);
	if (!x->ec || !x->sent || !x->payload)
		goto fail;
	for (int i = 0; i < size; i++) /* printable, never starts with '{' */
		x->payload[i] = (unsigned char)"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];

	/* the request frame, pre-masked once, `pipeline` copies in a row */
	frames = malloc(((size_t)size + WS_MAX_CLIENT_HDR) * (size_t)pipeline);
	if (!frames)
		goto fail;
	flen = (uint32_t)ws_frame_write(frames, x->want_op, x->payload,
					(size_t)size, (uint32_t)util_rand64());
	for (int i = 1; i < pipeline; i++)
		memcpy(frames + (size_t)i * flen, frames, flen);

	e = engine_create(&u, (uint32_t)conns, &echo_ops, x);
	if (!e)
		goto fail;
	x->e = e;
	engine_set_sources(e, scenario_nsrc(conns, nsrc));
	engine_set_repeat(e, frames, flen, (uint32_t)pipeline);
	e->rbuf_init = (uint32_t)(size + 64 > 4096 ? size + 64 : 4096);

	report_init(&r, "echo");
	report_str(&r, "url", url);
	report_int(&r, "conns", conns);
	report_int(&r, "size", size);
	report_num(&r, "duration_s", (double)dur / 1e9);
	report_bool(&r, "binary", binary);
	report_int(&r, "pipeline", pipeline);

	/* the send times must start after warm-up is set, so connect first */
	x->t0 = x->t1 = INT64_MAX;
	t = util_now_ns();
	opened = engine_dial_many(e, 0, (uint32_t)conns, (uint32_t)dialconc, "e",
				  t + 60 * 1000000000LL);
	scenario_report_dial(&r, e, opened, util_now_ns() - t);
	if (!opened) {
		report_str(&r, "error", "no connections");
		report_emit(&r);
		scenario_say("echo: no connections (%s)", e->first_error);
		goto out;
	}
	errors0 = e->errors;

	now = util_now_ns();
	x->t0 = now + warm;
	x->t1 = x->t0 + dur;
	for (uint32_t i = 0; i < (uint32_t)conns; i++) {
		struct conn *c = engine_conn(e, i);
		struct echo_conn *ec = &x->ec[i];

		if (c->state != CONN_OPEN)
			continue;
		ec->pending = (uint32_t)pipeline;
		echo_on_read_done(e, c, now);
		conn_flush(e, c);
	}
	while ((now = util_now_ns()) < x->t1 && e->open > 0) {
		int64_t wait = (meter_on ? x->t1 : x->t0) - now;
		int ms = wait > 10000000 ? 10 : (int)(wait / 1000000) + 1;

		if (!meter_on && now >= x->t0) {
			proc_meter_start(&meter, pid, now);
			meter_on = 1;
		}
		if (engine_poll(e, ms) < 0)
			break;
	}
	if (!meter_on)
		proc_meter_start(&meter, pid, now);
	proc_meter_stop(&meter, now);

	rate = (double)x->msgs / ((double)dur / 1e9);
	proc_meter_report(&meter, &r, "msgs_per_server_cpu_s", (double)x->msgs);
	scenario_report_closed(&r, e, x->closed);
	report_uint(&r, "msgs", x->msgs);
	report_num(&r, "msgs_per_s", util_round1(rate));
	report_uint(&r, "bad_replies", x->bad);
	report_uint(&r, "errors", e->errors - errors0);
	report_uint(&r, "foreign", x->foreign + x->unsolicited);
	report_str(&r, "expect", x->expect == ECHO_EXACT ? "exact"
				 : x->expect == ECHO_PREFIX ? "echo-prefix" : "auto");
	if (x->first_bad[0])
		report_str(&r, "first_error", x->first_bad);
	else if (e->errors > errors0)
		report_str(&r, "first_error", e->first_error);
	hist_report(&x->hist, &r);
	report_emit(&r);

	scenario_cpu_text(cpu, sizeof(cpu), &meter, (double)x->msgs, "msgs");
	scenario_say("echo c=%d s=%d pipeline=%d: %.0f msgs/s p50=%.1fus p99=%.1fus "
		     "p999=%.1fus (bad=%llu errs=%llu closed=%llu)%s",
		     conns, size, pipeline, rate, hist_quantile(&x->hist, 0.5) / 1e3,
		     hist_quantile(&x->hist, 0.99) / 1e3,
		     hist_quantile(&x->hist, 0.999) / 1e3,
		     (unsigned long long)x->bad,
		     (unsigned long long)(e->errors - errors0),
		     (unsigned long long)x->closed, cpu);
	status = SCENARIO_OK;
	if (strict && (x->bad || e->errors > errors0 || x->closed || !x->msgs ||
		       opened < (uint32_t)conns))
		status = SCENARIO_CHECK;
	goto out;

fail:
	fprintf(stderr, "herald-bench echo: out of memory\n");
out:
	engine_destroy(e);
	free(frames);
	if (x) {
		free(x->ec);
		free(x->sent);
		free(x->payload);
		free(x);
	}
	return status;
}
