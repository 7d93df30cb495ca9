/*
 * fanout — see fanout.h.
 *
 * Role: the delivery scenario. Order of a run: dial K subscribers, connect
 * the publisher, settle, then publish total = r x d messages at
 * t_first + i/r (a timerfd wakes the loop; a late loop publishes what is
 * due at once, each message stamped when built), then wait until every
 * acknowledged message reached every subscriber or -drain passed.
 *
 * Counting: a message is one frame holding "ts":<n> with n stamped after
 * the subscribers connected; anything else (welcome, leftovers) is
 * "foreign". "seq" indexes a counter per message (allocated once), which
 * yields duplicates and messages some subscriber missed. expected =
 * acknowledged publishes x subscribers connected.
 * Thread: the main thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fanout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "engine.h"
#include "hist.h"
#include "opts.h"
#include "procstat.h"
#include "report.h"
#include "scenario.h"
#include "trigger.h"
#include "util.h"

struct fanout {
	struct engine *e;
	struct trigger *t;
	struct hist hist;
	uint32_t subs;          /* subscriber slots 0..subs-1 */
	uint32_t connected;
	uint32_t total;         /* messages to publish */
	uint32_t *seq_count;    /* receipts per seq */
	int64_t t_start;        /* stamps older than this are leftovers */
	int64_t last_recv;
	uint64_t received, foreign, dups, closed;
};

/* Reads the unsigned integer after key (e.g. "\"ts\":") in p; 0 or -1. */
static int fanout_field(const unsigned char *p, size_t len, const char *key,
			size_t klen, int64_t *out)
{
	const unsigned char *k = memmem(p, len, key, klen), *end = p + len;
	int64_t v = 0;
	const unsigned char *d;

	if (!k)
		return -1;
	d = k + klen;
	while (d < end && *d == ' ')
		d++;
	if (d >= end || *d < '0' || *d > '9')
		return -1;
	while (d < end && *d >= '0' && *d <= '9')
		v = v * 10 + (*d++ - '0');
	*out = v;
	return 0;
}

static void fanout_on_open(struct engine *e, struct conn *c, int64_t now)
{
	struct fanout *f = e->ud;

	(void)now;
	if (trigger_owns(f->t, c))
		trigger_on_ws_open(f->t);
}

static void fanout_on_msg(struct engine *e, struct conn *c, int op,
			  unsigned char *p, size_t len, int64_t now)
{
	struct fanout *f = e->ud;
	int64_t ts, seq;

	(void)op;
	if (c->idx >= f->subs) {
		if (trigger_owns(f->t, c))
			trigger_on_ws_msg(f->t, p, len);
		return;
	}
	if (fanout_field(p, len, "\"ts\":", 5, &ts) < 0 || ts < f->t_start) {
		f->foreign++;
		return;
	}
	if (fanout_field(p, len, "\"seq\":", 6, &seq) == 0 && seq >= 0 &&
	    seq < f->total && ++f->seq_count[seq] > f->connected)
		f->dups++;
	hist_add(&f->hist, now - ts);
	f->received++;
	f->last_recv = now;
}

static void fanout_on_close(struct engine *e, struct conn *c, int was_open,
			    const char *why)
{
	struct fanout *f = e->ud;

	if (c->idx >= f->subs) {
		if (f->t && trigger_owns(f->t, c))
			trigger_on_ws_close(f->t, why);
	} else if (was_open) {
		f->closed++;
	}
}

static const struct engine_ops fanout_ops = {
	.on_open = fanout_on_open,
	.on_msg = fanout_on_msg,
	.on_close = fanout_on_close,
};

static void fanout_timer(struct engine *e, struct conn *c, uint32_t events,
			 int64_t now)
{
	uint64_t exp;

	(void)e;
	(void)events;
	(void)now;
	/* only wakes the loop; the publishing loop reads the clock */
	(void)!read(c->fd, &exp, sizeof(exp));
}

/* Polls until deadline, or earlier when done() holds. */
static void fanout_wait(struct fanout *f, int64_t deadline,
			int (*done)(struct fanout *))
{
	int64_t now;

	while ((now = util_now_ns()) < deadline && !(done && done(f))) {
		int64_t ms = (deadline - now) / 1000000 + 1;

		if (engine_poll(f->e, ms > 20 ? 20 : (int)ms) < 0)
			break;
	}
}

static int fanout_drained(struct fanout *f)
{
	struct trigger_stats ts;

	trigger_stats(f->t, &ts);
	return !ts.pending && f->received >= ts.acked * f->connected;
}

static const char fanout_summary[] =
	"Fan-out: K subscribers; a publisher sends -r messages/s for -d through a\n"
	"WebSocket broadcast, Redis PUBLISH or HTTP POST; latency from the \"ts\" in\n"
	"each message, loss = expected - received.";

int fanout_main(int argc, char **argv)
{
	const char *url = "ws://127.0.0.1:8080", *trig_s = "ws";
	const char *redis = "127.0.0.1:6379", *channel = "herald:broadcast";
	const char *pub = "", *api_channel = "broadcast", *api_key = "";
	int k = 1000, rate = 10, pad = 0, dialconc = 64, pid = 0, nsrc = 0;
	int strict = 0;
	int64_t dur = 10000000000LL, settle = 1000000000LL,
		drain = 10000000000LL;
	const struct opt opts[] = {
		{ "url", OPT_STR, &url, "server base URL (/ws/<id> is appended)" },
		{ "k", OPT_INT, &k, "subscriber connections" },
		{ "r", OPT_INT, &rate, "messages published per second" },
		{ "d", OPT_DUR, &dur, "publishing duration" },
		{ "trigger", OPT_STR, &trig_s, "ws | redis | http" },
		{ "redis", OPT_STR, &redis, "Redis address (trigger redis)" },
		{ "channel", OPT_STR, &channel, "Redis channel reaching every client (trigger redis)" },
		{ "pub", OPT_STR, &pub, "raw-body publish URL (trigger http); default: herald's <url>/api/publish" },
		{ "api-channel", OPT_STR, &api_channel, "channel of herald's /api/publish (trigger http)" },
		{ "api-key", OPT_STR, &api_key, "bearer key for herald's /api/publish" },
		{ "pad", OPT_INT, &pad, "extra payload padding bytes" },
		{ "settle", OPT_DUR, &settle, "pause after connecting, before publishing" },
		{ "drain", OPT_DUR, &drain, "longest wait for stragglers after the last publish" },
		{ "dialconc", OPT_INT, &dialconc, "concurrent handshakes while connecting" },
		{ "pid", OPT_INT, &pid, "server PID: report its CPU% and msgs per server CPU-second" },
		{ "nsrc", OPT_INT, &nsrc, "source addresses 127.0.0.1..N (0: auto, several above 25000)" },
		{ "srcips", OPT_INT, &nsrc, "same as -nsrc (wsload's name)" },
		{ "strict", OPT_BOOL, &strict, "exit 3 on loss, duplicates, publish errors or server closes" },
		{ NULL, 0, NULL, NULL },
	};
	struct trigger_cfg tcfg;
	struct trigger_stats ts;
	struct itimerspec its;
	struct net_url u;
	struct fanout *f = NULL;
	struct engine *e = NULL;
	struct cpu_meter meter;
	struct report r;
	char *body = NULL, err[300], cpu[160];
	int64_t t, now, t_first, interval, span_ns;
	uint64_t expected, incomplete = 0;
	uint32_t i, tslot;
	int tfd = -1, status = SCENARIO_FAILED, rc;
	double span, mps;

	rc = opts_parse("fanout", fanout_summary, opts, argc, argv);
	if (rc)
		return rc > 0 ? SCENARIO_OK : SCENARIO_USAGE;
	memset(&tcfg, 0, sizeof(tcfg));
	if (trigger_kind_parse(trig_s, &tcfg.kind) < 0) {
		fprintf(stderr, "herald-bench fanout: -trigger must be ws, redis or http\n");
		return SCENARIO_USAGE;
	}
	if (k < 1 || rate < 1 || dur <= 0 || pad < 0 || dialconc < 1) {
		fprintf(stderr, "herald-bench fanout: -k, -r, -d and -dialconc must be positive\n");
		return SCENARIO_USAGE;
	}
	if (scenario_url(&u, "fanout", url) < 0)
		return SCENARIO_USAGE;
	scenario_check_nofile("fanout", k);

	f = calloc(1, sizeof(*f));
	if (!f)
		goto oom;
	f->subs = (uint32_t)k;
	f->total = (uint32_t)((double)rate * (double)dur / 1e9);
	f->seq_count = calloc(f->total ? f->total : 1, sizeof(*f->seq_count));
	body = malloc((size_t)pad + 128);
	if (!f->seq_count || !body)
		goto oom;
	memset(body, 0, (size_t)pad + 128);

	/* slots: subscribers, the trigger's, the timer */
	tslot = (uint32_t)k + trigger_slots(tcfg.kind);
	e = engine_create(&u, tslot + 1, &fanout_ops, f);
	if (!e)
		goto oom;
	f->e = e;
	engine_set_sources(e, scenario_nsrc(k, nsrc));
	e->rbuf_init = (uint32_t)(pad + 1024 > 4096 ? 4096 : pad + 1024);

	report_init(&r, "fanout");
	report_str(&r, "url", url);
	report_int(&r, "subscribers", k);
	report_int(&r, "rate", rate);
	report_num(&r, "duration_s", (double)dur / 1e9);
	report_str(&r, "trigger", trig_s);

	t = util_now_ns();
	f->connected = engine_dial_many(e, 0, (uint32_t)k, (uint32_t)dialconc,
					"s", t + 90 * 1000000000LL);
	scenario_report_dial(&r, e, f->connected, util_now_ns() - t);
	if (!f->connected) {
		report_str(&r, "error", "no connections");
		report_emit(&r);
		scenario_say("fanout: no connections (%s)", e->first_error);
		goto out;
	}
	f->t_start = util_now_ns();

	tcfg.redis_addr = redis;
	tcfg.channel = channel;
	tcfg.pub_url = pub[0] ? pub : NULL;
	tcfg.api_channel = api_channel;
	tcfg.api_key = api_key;
	tcfg.max_body = (size_t)pad + 128;
	tcfg.slot_first = (uint32_t)k;
	f->t = trigger_create(e, &tcfg, util_now_ns() + 10 * 1000000000LL, err,
			      sizeof(err));
	if (!f->t) {
		report_str(&r, "error", err);
		report_emit(&r);
		scenario_say("fanout: %s", err);
		goto out;
	}

	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0 || engine_raw_add(e, engine_conn(e, tslot), tfd, EPOLLIN,
				      fanout_timer, f) < 0) {
		fprintf(stderr, "herald-bench fanout: timerfd: %s\n", strerror(errno));
		if (tfd >= 0)
			close(tfd);
		goto out;
	}

	fanout_wait(f, util_now_ns() + settle, NULL);

	interval = 1000000000LL / rate;
	if (interval < 1000)
		interval = 1000;
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = interval / 1000000000LL;
	its.it_interval.tv_nsec = interval % 1000000000LL;
	its.it_value = its.it_interval;
	timerfd_settime(tfd, 0, &its, NULL);

	t_first = util_now_ns();
	proc_meter_start(&meter, pid, t_first);
	for (i = 0; i < f->total;) {
		now = util_now_ns();
		if (now - t_first > dur + 5000000000LL)
			break; /* publisher badly behind: bound the run */
		while (i < f->total &&
		       t_first + (int64_t)((double)i * 1e9 / rate) <= now) {
			int n;

			if (pad)
				n = snprintf(body, (size_t)pad + 128,
					     "{\"seq\":%u,\"ts\":%lld,\"pad\":\"%0*d\"}",
					     i, (long long)util_now_ns(), pad, 0);
			else
				n = snprintf(body, 128, "{\"seq\":%u,\"ts\":%lld}", i,
					     (long long)util_now_ns());
			trigger_publish(f->t, body, (size_t)n);
			i++;
		}
		if (i >= f->total)
			break;
		if (engine_poll(e, 50) < 0)
			break;
	}
	now = util_now_ns();
	its.it_interval.tv_sec = its.it_interval.tv_nsec = 0;
	its.it_value = its.it_interval;
	timerfd_settime(tfd, 0, &its, NULL);
	fanout_wait(f, now + drain, fanout_drained);
	fanout_wait(f, util_now_ns() + 100000000LL, NULL);
	proc_meter_stop(&meter, util_now_ns());

	trigger_stats(f->t, &ts);
	expected = ts.acked * f->connected;
	for (uint32_t s = 0; s < f->total && s < ts.sent; s++)
		if (f->seq_count[s] < f->connected)
			incomplete++;
	span_ns = f->last_recv - t_first;
	span = span_ns > dur ? (double)span_ns / 1e9 : (double)dur / 1e9;
	mps = (double)f->received / span;

	proc_meter_report(&meter, &r, "msgs_per_server_cpu_s", (double)f->received);
	scenario_report_closed(&r, e, f->closed);
	report_uint(&r, "sent", ts.acked); /* wsload's "sent": accepted */
	report_uint(&r, "expected", expected);
	report_uint(&r, "received", f->received);
	report_uint(&r, "foreign", f->foreign);
	if (expected)
		report_num(&r, "loss_pct",
			   (double)(int64_t)(10000.0 * (1.0 - (double)f->received /
								(double)expected)) / 100);
	report_uint(&r, "dups", f->dups);
	report_uint(&r, "seq_incomplete", incomplete);
	report_num(&r, "delivery_span_s", util_round1(span));
	report_num(&r, "msgs_per_s", util_round1(mps));
	report_uint(&r, "publish_failed", ts.failed + ts.pending);
	report_uint(&r, "publish_skipped", ts.skipped);
	if (ts.first_error[0])
		report_str(&r, "publish_error", ts.first_error);
	if (tcfg.kind == TRIGGER_REDIS)
		report_int(&r, "redis_receivers", ts.receivers);
	if (tcfg.kind == TRIGGER_WS)
		report_uint(&r, "publisher_received", ts.echoes);
	report_uint(&r, "errors", e->errors);
	hist_report(&f->hist, &r);
	report_emit(&r);

	scenario_cpu_text(cpu, sizeof(cpu), &meter, (double)f->received, "msgs");
	scenario_say("fanout k=%d r=%d trigger=%s: %.0f msgs/s recv=%llu/%llu "
		     "loss=%.2f%% p50=%.1fus p99=%.1fus p999=%.1fus (dups=%llu "
		     "closed=%llu publish_failed=%llu)%s",
		     k, rate, trig_s, mps, (unsigned long long)f->received,
		     (unsigned long long)expected,
		     expected ? 100.0 * (1.0 - (double)f->received / (double)expected) : 0.0,
		     hist_quantile(&f->hist, 0.5) / 1e3,
		     hist_quantile(&f->hist, 0.99) / 1e3,
		     hist_quantile(&f->hist, 0.999) / 1e3,
		     (unsigned long long)f->dups, (unsigned long long)f->closed,
		     (unsigned long long)(ts.failed + ts.pending), cpu);
	status = SCENARIO_OK;
	if (strict && (f->received != expected || f->dups || ts.failed ||
		       ts.pending || ts.skipped || f->closed || !ts.sent ||
		       f->connected < (uint32_t)k))
		status = SCENARIO_CHECK;
	goto out;

oom:
	fprintf(stderr, "herald-bench fanout: out of memory\n");
out:
	if (f)
		trigger_destroy(f->t);
	engine_destroy(e); /* closes the timerfd too */
	if (f)
		free(f->seq_count);
	free(f);
	free(body);
	return status;
}
