/*
 * Unit tests for server/history.c: seqs, the in-memory ring (size, TTL),
 * and the resume state machine: continuity proofs and their resyncs,
 * live messages held and released without duplicates while the history
 * is read, TAIL, pagination as the target drains, heals, cancellation
 * with a read outstanding, tickets. The ops are fakes that log what
 * history asks for; a "Redis" read is answered by the test, later.
 */
#include "check.h"
#include "history.h"
#include "hub.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EPOCH 1000

static char log_buf[8192];
static size_t room_left = (size_t)-1;
static int deferred;                   /* reads wait for the test */
static struct history_resume *pending;
static struct seq pending_from;
static unsigned pending_count, reads;
static struct history *H;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	size_t used = strlen(log_buf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(log_buf + used, sizeof(log_buf) - used, fmt, ap);
	va_end(ap);
}

static void op_read(void *arg, struct history_resume *r, const char *channel,
		    struct seq from, unsigned count)
{
	struct history_page page;

	(void)arg;
	reads++;
	if (deferred) {
		pending = r;
		pending_from = from;
		pending_count = count;
		return;
	}
	history_local_read(H, channel, from, count, 0, &page);
	history_resume_page(H, r, &page);
}

static void op_deliver(void *arg, struct hub_session *s, const char *channel,
		       struct frame *f)
{
	(void)arg;
	if (s && room_left != (size_t)-1)
		room_left = room_left > f->len ? room_left - f->len : 0;
	logf_("%s:%.*s ", s ? s->client_id : "*", (int)f->len,
	      (const char *)frame_payload(f));
	(void)channel;
}

static size_t op_room(void *arg, struct hub_session *s)
{
	(void)arg;
	(void)s;
	return room_left;
}

static void op_subscribed(void *arg, struct hub_session *s,
			  const char *channel, json_t *id, struct seq pos,
			  int recovered)
{
	char t[SEQ_TEXT_MAX];

	(void)arg;
	logf_("%s:subscribed(%s,%s,%d%s) ", s->client_id, channel,
	      seq_format(pos, t), recovered, id ? ",id" : "");
}

static void op_resync(void *arg, struct hub_session *s, const char *channel,
		      enum history_outcome why, struct seq pos)
{
	char t[SEQ_TEXT_MAX];

	(void)arg;
	logf_("%s:resync(%s,%s,%s) ", s ? s->client_id : "*", channel,
	      history_outcome_name(why), seq_format(pos, t));
}

static void op_hold(void *arg, struct hub_session *s, const char *channel,
		    int held)
{
	(void)arg;
	logf_("%s:%s ", s->client_id, held ? "hold" : "live");
	(void)channel;
}

static const struct history_ops ops = {
	.read = op_read,
	.deliver = op_deliver,
	.room = op_room,
	.subscribed = op_subscribed,
	.resync = op_resync,
	.hold = op_hold,
};

static struct hub_session alice = { .id = 1, .client_id = "a" };
static struct hub_session bob = { .id = 2, .client_id = "b" };

static struct seq S(uint64_t ms, uint64_t n)
{
	struct seq s = { ms, n };

	return s;
}

static void setup(unsigned size, unsigned page)
{
	struct history_limits lim = {
		.size = size, .ttl_s = 10, .epoch_ms = EPOCH, .page = page,
	};

	log_buf[0] = '\0';
	room_left = (size_t)-1;
	deferred = 0;
	pending = NULL;
	reads = 0;
	H = history_create(&lim, &ops, NULL);
	CHECK(H != NULL);
}

/* Stores message n of the node's numbering on channel c at time t. */
static void store(const char *c, uint64_t n, uint64_t t)
{
	char text[16];
	struct frame *f;

	snprintf(text, sizeof(text), "m%llu", (unsigned long long)n);
	f = frame_from(text, strlen(text), 0);
	CHECK_INT_EQ(history_local_store(H, c, S(EPOCH, n), f, t), 0);
	frame_unref(f);
}

/* A live message (the caller would deliver it when offer says 0). */
static int offer(const char *c, const struct seq *seq, const char *text)
{
	struct frame *f = frame_from(text, strlen(text), 0);
	int held = history_offer(H, c, seq, f, 1);

	if (!held)
		logf_("hub:%s ", text); /* what the hub would deliver */
	frame_unref(f);
	return held;
}

static void pump(void)
{
	for (int i = 0; i < 10; i++)
		history_pump(H, 0);
}

static void test_seq(void)
{
	struct seq s;
	char t[SEQ_TEXT_MAX];

	CHECK_INT_EQ(seq_parse("1764105600000-12", 16, &s), 0);
	CHECK(s.ms == 1764105600000ULL && s.n == 12);
	CHECK_STR_EQ(seq_format(s, t), "1764105600000-12");
	CHECK_INT_EQ(seq_parse("0-0", 3, &s), 0);
	CHECK_INT_EQ(seq_parse("18446744073709551615-1", 22, &s), 0);
	CHECK_INT_EQ(seq_parse("18446744073709551616-1", 22, &s), -1);
	CHECK_INT_EQ(seq_parse("1-", 2, &s), -1);
	CHECK_INT_EQ(seq_parse("-1", 2, &s), -1);
	CHECK_INT_EQ(seq_parse("1-2-3", 5, &s), -1);
	CHECK_INT_EQ(seq_parse("1-2 ", 4, &s), -1);
	CHECK_INT_EQ(seq_parse("", 0, &s), -1);
	CHECK_INT_EQ(seq_parse("+1-2", 4, &s), -1);
	CHECK(seq_cmp(S(1, 2), S(1, 3)) < 0);
	CHECK(seq_cmp(S(2, 0), S(1, 9)) > 0);
	CHECK(seq_cmp(S(2, 5), S(2, 5)) == 0);
}

static void test_ring(void)
{
	struct history_page p;

	setup(3, 10);
	for (uint64_t n = 1; n <= 5; n++)
		store("c", n, 100 * n);
	history_local_read(H, "c", S(EPOCH, 0), 10, 500, &p);
	CHECK(p.local && p.has_first && p.has_last);
	CHECK(!seq_cmp(p.first, S(EPOCH, 1)) && !seq_cmp(p.last, S(EPOCH, 5)));
	CHECK(!seq_cmp(p.origin, S(EPOCH, 0)));
	CHECK_INT_EQ(p.count, 3); /* size 3: 3, 4, 5 */
	CHECK(!seq_cmp(p.entries[0].seq, S(EPOCH, 3)));
	history_local_read(H, "c", S(EPOCH, 4), 1, 500, &p);
	CHECK_INT_EQ(p.count, 1);
	CHECK(!seq_cmp(p.entries[0].seq, S(EPOCH, 4)));
	/* ttl 10 s: entry 3 (t=300) is gone at 10.35 s, 5 (t=500) stays */
	history_local_read(H, "c", S(EPOCH, 0), 10, 10350, &p);
	CHECK_INT_EQ(p.count, 2);
	history_local_read(H, "c", S(EPOCH, 0), 10, 20000, &p);
	CHECK_INT_EQ(p.count, 0);
	CHECK(p.has_last && !seq_cmp(p.last, S(EPOCH, 5)));
	history_local_read(H, "none", S(EPOCH, 0), 10, 0, &p);
	CHECK(!p.has_last && !p.count);
	history_destroy(H);
	CHECK_NO_LEAKS();
}

static void test_resume_local(void)
{
	struct seq since;

	setup(10, 10);
	for (uint64_t n = 1; n <= 4; n++)
		store("c", n, 0);
	/* missed 3 and 4 */
	since = S(EPOCH, 2);
	CHECK_INT_EQ(history_resume_start(H, &alice, "c", &since, 1, NULL), 0);
	CHECK(history_busy(H));
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,1000-2,1) a:m3 a:m4 "
			      "a:live ");
	/* missed nothing */
	log_buf[0] = '\0';
	since = S(EPOCH, 4);
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,1000-4,1) a:live ");
	/* from the origin: everything since the first message */
	log_buf[0] = '\0';
	since = S(EPOCH, 0);
	history_resume_start(H, &alice, "c", &since, 0, NULL);
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:m1 a:m2 a:m3 a:m4 a:live ");
	/* another epoch: a restart */
	log_buf[0] = '\0';
	since = S(999, 4);
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,1000-4,0) "
			      "a:resync(c,epoch,1000-4) a:live ");
	/* no since: only the position */
	log_buf[0] = '\0';
	history_resume_start(H, &bob, "c", NULL, 1, json_true());
	pump();
	CHECK_STR_EQ(log_buf, "b:hold b:subscribed(c,1000-4,-1,id) b:live ");
	log_buf[0] = '\0';
	history_resume_start(H, &bob, "new", NULL, 1, NULL);
	pump();
	CHECK_STR_EQ(log_buf, "b:hold b:subscribed(new,1000-0,-1) b:live ");
	CHECK(!history_busy(H));
	history_destroy(H);
	CHECK_NO_LEAKS();
}

static void test_resume_trimmed_and_expired(void)
{
	struct seq since;

	setup(2, 10);
	for (uint64_t n = 1; n <= 5; n++)
		store("c", n, 0);
	since = S(EPOCH, 2); /* the ring holds 4, 5 */
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,1000-5,0) "
			      "a:resync(c,trimmed,1000-5) a:live ");
	history_destroy(H);

	/* Redis-like: the stream expired */
	setup(10, 10);
	deferred = 1;
	since = S(50, 1);
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	CHECK(pending != NULL);
	{
		/* quiet past the TTL: the stream is gone, meta says 50-1 */
		struct history_page p = { .has_first = 1, .has_last = 1,
					  .first = S(10, 0), .last = S(50, 1) };

		history_resume_page(H, pending, &p);
	}
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,50-1,1) ");
	log_buf[0] = '\0';
	history_pump(H, 5000); /* the replay is queued: TAIL */
	CHECK_STR_EQ(log_buf, "");
	history_pump(H, 6999);
	CHECK_STR_EQ(log_buf, "");
	history_pump(H, 7000); /* TAIL ends without a live message */
	CHECK_STR_EQ(log_buf, "a:live ");
	log_buf[0] = '\0';
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	{
		/* gone, and meta says more was published: expired */
		struct history_page p = { .has_first = 1, .has_last = 1,
					  .first = S(10, 0), .last = S(60, 0) };

		history_resume_page(H, pending, &p);
	}
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,60-0,0) "
			      "a:resync(c,expired,60-0) ");
	log_buf[0] = '\0';
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	{
		/* no meta at all: a flushed Redis */
		struct history_page p = { 0 };

		history_resume_page(H, pending, &p);
	}
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,0-0,0) "
			      "a:resync(c,epoch,0-0) ");
	log_buf[0] = '\0';
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	history_resume_page(H, pending, NULL); /* the link went */
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,50-1,0) "
			      "a:resync(c,unavailable,50-1) ");
	history_session_closed(H, &alice);
	history_destroy(H);
	CHECK_NO_LEAKS();
}

/* Builds a page of entries n0..n1 of ms 7 with frames "e<n>". */
static void answer(uint64_t n0, uint64_t n1, uint64_t last)
{
	struct history_entry v[16];
	struct history_page p = { .has_first = 1, .has_last = 1,
				  .first = S(7, 0), .last = S(7, last) };
	size_t k = 0;

	for (uint64_t n = n0; n <= n1 && n0; n++, k++) {
		char text[16];

		snprintf(text, sizeof(text), "e%llu", (unsigned long long)n);
		v[k].seq = S(7, n);
		v[k].f = frame_from(text, strlen(text), 0);
	}
	p.entries = v;
	p.count = k;
	struct history_resume *r = pending;

	pending = NULL;
	history_resume_page(H, r, &p);
	for (size_t i = 0; i < k; i++)
		frame_unref(v[i].f);
}

static void test_resume_live_during_replay(void)
{
	struct seq since = S(7, 2), s4 = S(7, 4), s5 = S(7, 5),
		   s6 = S(7, 6), s3 = S(7, 3);

	setup(10, 10);
	deferred = 1;
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	CHECK(pending != NULL);
	CHECK(!seq_cmp(pending_from, since) && pending_count == 10);
	/* published while the read is on its way: 4 and 5 come live first */
	CHECK_INT_EQ(offer("c", &s4, "L4"), 0);
	CHECK_INT_EQ(offer("c", NULL, "plain"), 0);
	CHECK_INT_EQ(offer("c", &s5, "L5"), 0);
	/* the stream read saw 2..4 */
	answer(2, 4, 4);
	pump();
	/* 3 and 4 replayed; live 4 dropped, "plain" and 5 released */
	CHECK_STR_EQ(log_buf, "a:hold hub:L4 hub:plain hub:L5 "
			      "a:subscribed(c,7-2,1) a:e3 a:e4 a:plain a:L5 ");
	/* TAIL: a late live copy of 3 is dropped, 6 releases the hold */
	log_buf[0] = '\0';
	CHECK_INT_EQ(offer("c", &s3, "L3"), 0);
	CHECK_INT_EQ(offer("c", &s6, "L6"), 0);
	CHECK_STR_EQ(log_buf, "hub:L3 a:live hub:L6 ");
	CHECK(!history_busy(H));
	history_destroy(H);
	CHECK_NO_LEAKS();
}

static void test_pagination(void)
{
	struct seq since = S(7, 0);

	/* page 4: entries 1..3 new per page (the first is since itself) */
	setup(100, 4);
	deferred = 1;
	room_left = 5; /* "eN" frames are 2 bytes: two fit at a time */
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	answer(1, 4, 9);   /* from the origin: first == 7-0? no: 7-1 */
	pump();
	/* first is 7-0 in answer(): the page starts at 7-1, which is not
	 * since; since is the origin and 7-1 is not the first ever */
	CHECK_CONTAINS(log_buf, "resync");
	history_session_closed(H, &alice);
	history_destroy(H);

	setup(100, 4);
	deferred = 1;
	room_left = 5;
	since = S(7, 1);
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	answer(1, 4, 9);
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,7-1,1) a:e2 a:e3 ");
	CHECK(pending == NULL); /* no read while the page is not queued */
	room_left = 2;
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,7-1,1) a:e2 a:e3 a:e4 ");
	CHECK(pending != NULL); /* a full page: read on from 7-4 */
	CHECK(!seq_cmp(pending_from, S(7, 4)));
	room_left = (size_t)-1;
	answer(4, 7, 9);
	pump();
	answer(7, 9, 9); /* short: the end */
	pump();
	CHECK_STR_EQ(log_buf, "a:hold a:subscribed(c,7-1,1) a:e2 a:e3 a:e4 "
			      "a:e5 a:e6 a:e7 a:e8 a:e9 ");
	CHECK_INT_EQ(reads, 3);
	CHECK_INT_EQ(history_stats(H)->replayed, 8);
	CHECK_INT_EQ(history_stats(H)->recovered, 1);
	history_destroy(H); /* in TAIL: freed with the rest */
	CHECK_NO_LEAKS();
}

static void test_cancel_with_read_outstanding(void)
{
	struct seq since = S(7, 1);
	struct history_resume *r;

	setup(10, 10);
	deferred = 1;
	history_resume_start(H, &alice, "c", &since, 1, NULL);
	pump();
	r = pending;
	CHECK(r != NULL);
	offer("c", NULL, "kept");
	history_session_closed(H, &alice);
	CHECK(history_resume_channel(r) == NULL);
	pending = r;
	answer(1, 3, 3); /* the late page frees the dead resume */
	CHECK_STR_EQ(log_buf, "a:hold hub:kept ");
	/* unsubscribe ends a resume too */
	history_resume_start(H, &bob, "c", &since, 1, NULL);
	pump();
	r = pending;
	history_unsubscribed(H, &bob, "c");
	history_resume_page(H, r, NULL);
	history_destroy(H);
	CHECK_NO_LEAKS();
}

static void test_heal(void)
{
	struct seq s5 = S(7, 5), s2 = S(7, 2), seen;

	setup(10, 10);
	deferred = 1;
	CHECK_INT_EQ(history_last_seen(H, "c", &seen), -1);
	history_note_seen(H, "c", S(7, 1));
	CHECK_INT_EQ(history_last_seen(H, "c", &seen), 0);
	CHECK(!seq_cmp(seen, S(7, 1)));
	CHECK_INT_EQ(history_heal_start(H, "c", S(7, 1)), 0);
	CHECK(history_healing(H, "c"));
	pump();
	CHECK(pending == NULL); /* waits for the link */
	{
		/* the node's own message while the link is down: delivered */
		struct frame *f = frame_from("own", 3, 0);

		CHECK_INT_EQ(history_offer(H, "c", NULL, f, 0), 0);
		frame_unref(f);
	}
	history_heal_go(H);
	pump();
	CHECK(pending != NULL);
	/* live 5 waits for the heal */
	CHECK_INT_EQ(offer("c", &s5, "L5"), 1);
	answer(1, 4, 4);
	pump();
	CHECK_STR_EQ(log_buf, "*:e2 *:e3 *:e4 *:L5 ");
	CHECK_INT_EQ(history_last_seen(H, "c", &seen), 0);
	CHECK(!seq_cmp(seen, s5));
	/* TAIL: a late copy is swallowed */
	CHECK_INT_EQ(offer("c", &s2, "L2"), 1);
	CHECK_INT_EQ(history_stats(H)->healed, 3);
	/* a heal that cannot be proven tells every subscriber */
	log_buf[0] = '\0';
	history_heal_start(H, "c", S(7, 5));
	history_heal_go(H);
	pump();
	answer(8, 9, 9);
	CHECK_STR_EQ(log_buf, "*:resync(c,trimmed,7-9) ");
	history_destroy(H);
	CHECK_NO_LEAKS();
}

static void test_tickets(void)
{
	struct history_ticket *t1, *t2;
	json_t *id = json_integer(7);

	setup(10, 10);
	t1 = history_ticket_create(H, &alice, id, &bob);
	t2 = history_ticket_create(H, &alice, NULL, NULL);
	json_decref(id);
	CHECK(history_ticket_session(t1) == &alice);
	CHECK(history_ticket_ctx(t1) == &bob);
	CHECK_INT_EQ(json_integer_value(history_ticket_id(t1)), 7);
	history_ticket_free(H, t2);
	history_session_closed(H, &alice);
	CHECK(history_ticket_session(t1) == NULL);
	history_ticket_free(H, t1);
	history_destroy(H);
	CHECK_NO_LEAKS();
}

int main(void)
{
	RUN(test_seq);
	RUN(test_ring);
	RUN(test_resume_local);
	RUN(test_resume_trimmed_and_expired);
	RUN(test_resume_live_during_replay);
	RUN(test_pagination);
	RUN(test_cancel_with_read_outstanding);
	RUN(test_heal);
	RUN(test_tickets);
	return check_exit_code();
}
