/*
 * history — channel history and resume (docs/protocol.md, "History and
 * resume"): seqs, the per-channel records of one worker (the in-memory
 * ring used without Redis, the last seq delivered here), and the resume
 * state machine with its pagination.
 *
 * A resume brings one target up to date on one channel: a session that
 * subscribed with "since" (or without: then it only learns the channel's
 * position), or every local subscriber of a channel after the node's
 * Redis link came back (a heal, target NULL). The source of history is
 * not known here: the caller's ops.read() answers with
 * history_resume_page(), at once (the ring) or later (Redis).
 *
 *  (WAIT: a heal, until the link is back)
 *   START --read--> FETCH --page--> REPLAY --drained, page full--> FETCH
 *                     |                |
 *                     | no proof       | last page queued
 *                     v                v
 *                   (resync)  ------> TAIL --seq >= pos, or 2 s--> gone
 *
 * While a resume runs, the target's subscription is held (the hub does
 * not deliver to it) and live messages on the channel are kept in the
 * resume's buffer (history_offer); when the last page is queued the
 * buffer is released without what the replay already sent (by seq), and
 * in TAIL live messages at or below the replayed position are dropped
 * (a Redis reply and a pub/sub message travel on different links, so a
 * message can arrive live after its stream entry was replayed).
 * Continuity is proven when the page starts with the target's own
 * position (or, from the channel's origin, with the channel's first seq
 * ever); a page that cannot be proven gives resync. Replay pages are
 * queued only while the target has room (ops.room), so a replay larger
 * than the session's queue follows the client's reading (history_pump).
 *
 * Thread: the worker's loop. No Redis and no lws I/O (lws lists only):
 * unit-tested alone.
 * Ownership: history owns its records, rings (frame references), resumes
 * and tickets; sessions are borrowed and must be reported closed
 * (history_session_closed) before their storage goes.
 */
#ifndef HERALD_HISTORY_H
#define HERALD_HISTORY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"
#include "seq.h"

struct hub_session;
struct history;
struct history_resume;
struct history_ticket;

/* Why a resume could not be proven continuous (resync's "reason"). */
enum history_outcome {
	HISTORY_RECOVERED,   /* every message after since follows */
	HISTORY_TRIMMED,     /* the history no longer reaches back to since */
	HISTORY_EXPIRED,     /* the history expired with messages after since */
	HISTORY_EPOCH,       /* since is from another epoch (a node restart,
				a flushed or recreated stream) */
	HISTORY_UNAVAILABLE, /* the history could not be read */
};

const char *history_outcome_name(enum history_outcome o);

/* One history entry: its seq and its encoded frame (a borrowed reference:
 * history takes its own when it keeps it). */
struct history_entry {
	struct seq seq;
	struct frame *f;
};

/* What a read found: the channel's first and last seq ever (has_* 0 when
 * the channel has none: nothing was published, or the record expired),
 * and the entries from the position asked for (inclusive), oldest first. */
struct history_page {
	int local;             /* from the node's ring (else Redis) */
	struct seq origin;     /* the position before any message: "0-0" in
				  Redis, "<epoch>-0" in the ring */
	int has_first, has_last;
	struct seq first, last;
	const struct history_entry *entries;
	size_t count;
};

struct history_ops {
	/* Read up to count entries from `from` (inclusive) on channel;
	 * count 0: only first/last. Answer with history_resume_page(), now
	 * or later, exactly once (a NULL page when the read failed). */
	void (*read)(void *arg, struct history_resume *r, const char *channel,
		     struct seq from, unsigned count);
	/* Queue f for s, or for every unheld local subscriber of channel
	 * when s is NULL (a heal). */
	void (*deliver)(void *arg, struct hub_session *s, const char *channel,
			struct frame *f);
	/* Bytes s may still take now (a heal: every subscriber may). */
	size_t (*room)(void *arg, struct hub_session *s);
	/* The first page decided: s's subscribe gets its reply. recovered
	 * is -1 for a subscribe without since. id: the request's, or NULL. */
	void (*subscribed)(void *arg, struct hub_session *s,
			   const char *channel, json_t *id, struct seq pos,
			   int recovered);
	/* Continuity could not be proven for s (NULL: every local
	 * subscriber of channel); pos is where s now stands. */
	void (*resync)(void *arg, struct hub_session *s, const char *channel,
		       enum history_outcome why, struct seq pos);
	/* Hold (1) or release (0) s's subscription to channel (a heal:
	 * the whole channel). */
	void (*hold)(void *arg, struct hub_session *s, const char *channel,
		     int held);
};

struct history_limits {
	unsigned size;       /* entries kept per channel; 0: none */
	unsigned ttl_s;      /* an entry older than this is gone */
	uint64_t epoch_ms;   /* this node's numbering */
	unsigned page;       /* entries read at a time (>= 2) */
};

struct history_stats {
	uint64_t replayed;     /* entries replayed to sessions */
	uint64_t recovered;    /* resumes that recovered */
	uint64_t resyncs;      /* resumes answered resync */
	uint64_t heals;        /* heals that ran (the Redis link came back) */
	uint64_t healed;       /* entries a heal delivered */
};

/* New history; NULL on OOM. */
struct history *history_create(const struct history_limits *lim,
			       const struct history_ops *ops, void *arg);
/* Frees everything; pending reads must not answer afterwards. */
void history_destroy(struct history *h);

const struct history_stats *history_stats(const struct history *h);

/* The node's origin for a channel without messages: "<epoch>-0". */
struct seq history_local_origin(const struct history *h);

/* --- the in-memory ring (no Redis, or Redis down) --- */

/* Keeps f (a reference) as channel's entry seq, stamped now_ms. 0 or -1
 * on OOM. With size 0 only the channel's last seq is kept. */
int history_local_store(struct history *h, const char *channel,
			struct seq seq, struct frame *f, uint64_t now_ms);

/* Answers a read from the ring (see history_ops.read): fills page with
 * entries from `from` on, at most count; they stay valid until the next
 * call into history. Expired entries are skipped. */
void history_local_read(struct history *h, const char *channel,
			struct seq from, unsigned count, uint64_t now_ms,
			struct history_page *page);

/* --- live delivery --- */

/* A live message on channel (seq NULL: one without a seq), before the
 * caller delivers it to the channel's unheld subscribers: every resume of
 * the channel keeps (or takes) it. Returns 1 when a heal of the channel
 * holds it or delivered it already: the caller must not deliver it. */
int history_offer(struct history *h, const char *channel,
		  const struct seq *seq, struct frame *f, int from_redis);

/* A live message with a Redis seq was delivered on channel: where a heal
 * starts when the link comes back. */
void history_note_seen(struct history *h, const char *channel,
		       struct seq seq);

/* Whether a heal of channel is running (its live messages wait). */
int history_healing(struct history *h, const char *channel);

/* The last seq delivered live on channel here, from Redis; 0 or -1. */
int history_last_seen(struct history *h, const char *channel,
		      struct seq *out);

/* Calls fn for every channel with a Redis seq seen here (heal
 * candidates). fn may start heals. */
void history_foreach_seen(struct history *h,
			  void (*fn)(void *arg, const char *channel,
				     struct seq seen),
			  void *arg);

/* --- resumes --- */

/* Starts bringing s up to date on channel, which s is subscribed to
 * (held from now on). since NULL: only the position (the subscribe
 * reply's seq). reply: send ops.subscribed (a subscribe message; id is
 * copied), else none (?channels=). Replaces a resume s already has on
 * channel. 0, or -1 on OOM (nothing started, nothing held). */
int history_resume_start(struct history *h, struct hub_session *s,
			 const char *channel, const struct seq *since,
			 int reply, json_t *id);

/* Name of r's channel; NULL once r was cancelled (its page is still
 * owed: answer it with a NULL page, which frees it). */
const char *history_resume_channel(const struct history_resume *r);

/* Prepares a heal of channel from pos (every local subscriber): called
 * when the Redis link is lost, so that what Redis sends once the
 * subscriber link is back (possibly before the command link) waits with
 * the heal; the node's own messages meanwhile are delivered. It reads
 * from history_heal_go() on. No-op when channel has a heal already. */
int history_heal_start(struct history *h, const char *channel,
		       struct seq pos);

/* The Redis link is back: every waiting heal reads now. */
void history_heal_go(struct history *h);

/* The answer to ops.read for r (page NULL: the read failed). */
void history_resume_page(struct history *h, struct history_resume *r,
			 const struct history_page *page);

/* Queues more replay where targets have room, issues the reads due, and
 * ends TAILs; call once per loop iteration (cheap when idle). now_ms is
 * monotonic. */
void history_pump(struct history *h, uint64_t now_ms);

/* Whether history_pump() has work. */
int history_busy(const struct history *h);

/* s left channel: its resume there ends, silently. */
void history_unsubscribed(struct history *h, struct hub_session *s,
			  const char *channel);

/* s is closing: its resumes end and its tickets are disowned. */
void history_session_closed(struct history *h, struct hub_session *s);

/* Once a second: expires ring entries and forgets quiet channels. */
void history_tick(struct history *h, uint64_t now_ms);

/* --- tickets: a session-bound request awaiting Redis (a publish ack) --- */

/* New ticket for s carrying a reference to id and the caller's ctx; NULL
 * on OOM. */
struct history_ticket *history_ticket_create(struct history *h,
					     struct hub_session *s,
					     json_t *id, void *ctx);
/* The session (NULL once it closed), id and ctx of t. */
struct hub_session *history_ticket_session(const struct history_ticket *t);
json_t *history_ticket_id(const struct history_ticket *t);
void *history_ticket_ctx(const struct history_ticket *t);
/* Frees t. */
void history_ticket_free(struct history *h, struct history_ticket *t);

#endif
