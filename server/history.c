/*
 * history — see history.h.
 *
 * Records: one per channel that has a ring, a last seq, a resume or a
 * heal, in a uthash table by name; a record with none of them left is
 * forgotten after HISTORY_RECORD_TTL_S of quiet (the in-memory twin of
 * Redis's meta key). Rings are arrays of `size` slots holding frame
 * references, oldest first from head.
 *
 * Resumes sit in three lists: their record's (live messages reach them),
 * their session's (a close ends them; sessions are found by id in a
 * uthash table), and the active list the pump walks. A resume whose read
 * is outstanding when it is cancelled is only marked dead, and freed when
 * its page arrives (the reader holds its pointer).
 */
#include "history.h"
#include "hub.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* How long a record without entries, resumes or subscribers' reads is
 * kept after its last message: its last seq proves "nothing new". */
#define HISTORY_RECORD_TTL_S (30u * 24 * 3600)
/* How long a TAIL waits for a live message at or past its position. */
#define HISTORY_TAIL_MS 2000

struct history_slot {
	struct seq seq;
	struct frame *f;
	uint64_t at_ms;
};

struct history_rec {
	UT_hash_handle hh;
	struct lws_dll2_owner resumes;   /* session resumes on this channel */
	struct history_resume *heal;     /* NULL, or the channel's heal */
	struct history_slot *ring;       /* size slots, or NULL */
	unsigned head, count;
	int has_first, has_last, has_seen;
	struct seq first, last;          /* the node's numbering */
	struct seq seen;                 /* last Redis seq delivered here */
	uint64_t touched_ms;
	char name[];
};

struct history_sess {
	UT_hash_handle hh;
	uint64_t id;
	struct lws_dll2_owner resumes;
	struct lws_dll2_owner tickets;
};

enum resume_state { RS_WAIT, RS_START, RS_FETCH, RS_REPLAY, RS_TAIL };

struct held {
	struct seq seq;
	int has_seq;
	struct frame *f;
};

struct history_resume {
	struct lws_dll2 in_rec, in_sess, in_active;
	struct history_rec *rec;
	struct hub_session *s;        /* NULL: a heal of the whole channel */
	enum resume_state state;
	int fresh;                    /* no since: only the position */
	int reply, replied;
	json_t *id;
	int reading, dead, more, overflow, local;
	struct seq pos, origin;
	struct history_entry *pend;   /* replay not yet queued (own refs) */
	size_t npend, ipend;
	struct held *held;            /* live messages while replaying */
	size_t nheld, capheld, held_bytes;
	uint64_t tail_ms;
};

struct history_ticket {
	struct lws_dll2 in_sess;
	struct hub_session *s;
	json_t *id;
	void *ctx;
};

struct history {
	struct history_limits lim;
	struct history_ops ops;
	void *arg;
	struct history_rec *recs;
	struct history_sess *sessions;
	struct lws_dll2_owner active;
	struct history_stats stats;
	struct history_entry *scratch; /* history_local_read()'s page */
	size_t scratch_cap;
	uint64_t now_ms;
	size_t max_held;
};


const char *history_outcome_name(enum history_outcome o)
{
	switch (o) {
	case HISTORY_RECOVERED: return "recovered";
	case HISTORY_TRIMMED: return "trimmed";
	case HISTORY_EXPIRED: return "expired";
	case HISTORY_EPOCH: return "epoch";
	case HISTORY_UNAVAILABLE: return "unavailable";
	}
	return "unknown";
}

/* -------------------------------------------------------------- records */

struct history *history_create(const struct history_limits *lim,
			       const struct history_ops *ops, void *arg)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->lim = *lim;
	if (h->lim.page < 2)
		h->lim.page = 2;
	h->ops = *ops;
	h->arg = arg;
	h->max_held = 1u << 20;
	return h;
}

static struct history_rec *rec_find(struct history *h, const char *name)
{
	struct history_rec *r;

	HASH_FIND_STR(h->recs, name, r);
	return r;
}

static struct history_rec *rec_get(struct history *h, const char *name)
{
	struct history_rec *r = rec_find(h, name);
	size_t len;

	if (r)
		return r;
	len = strlen(name);
	r = calloc(1, sizeof(*r) + len + 1);
	if (!r)
		return NULL;
	memcpy(r->name, name, len + 1);
	r->touched_ms = h->now_ms;
	HASH_ADD_KEYPTR(hh, h->recs, r->name, len, r);
	return r;
}

static void ring_pop(struct history *h, struct history_rec *r)
{
	frame_unref(r->ring[r->head].f);
	r->ring[r->head].f = NULL;
	r->head = (r->head + 1) % h->lim.size;
	r->count--;
}

static void rec_free(struct history *h, struct history_rec *r)
{
	while (r->count)
		ring_pop(h, r);
	free(r->ring);
	HASH_DEL(h->recs, r);
	free(r);
}

const struct history_stats *history_stats(const struct history *h)
{
	return &h->stats;
}

struct seq history_local_origin(const struct history *h)
{
	struct seq s = { h->lim.epoch_ms, 0 };

	return s;
}

int history_local_store(struct history *h, const char *channel,
			struct seq seq, struct frame *f, uint64_t now_ms)
{
	struct history_rec *r = rec_get(h, channel);
	struct history_slot *slot;

	if (!r)
		return -1;
	h->now_ms = now_ms;
	r->touched_ms = now_ms;
	if (!r->has_first) {
		r->first = seq;
		r->has_first = 1;
	}
	r->last = seq;
	r->has_last = 1;
	if (!h->lim.size || !f)
		return 0;
	if (!r->ring) {
		r->ring = calloc(h->lim.size, sizeof(*r->ring));
		if (!r->ring)
			return -1;
	}
	if (r->count == h->lim.size)
		ring_pop(h, r);
	slot = &r->ring[(r->head + r->count) % h->lim.size];
	slot->seq = seq;
	slot->f = frame_ref(f);
	slot->at_ms = now_ms;
	r->count++;
	return 0;
}

static void ring_expire(struct history *h, struct history_rec *r,
			uint64_t now_ms)
{
	uint64_t ttl = (uint64_t)h->lim.ttl_s * 1000;

	while (r->count && r->ring[r->head].at_ms + ttl < now_ms)
		ring_pop(h, r);
}

void history_local_read(struct history *h, const char *channel,
			struct seq from, unsigned count, uint64_t now_ms,
			struct history_page *page)
{
	struct history_rec *r = rec_find(h, channel);
	size_t n = 0;

	memset(page, 0, sizeof(*page));
	page->local = 1;
	page->origin = history_local_origin(h);
	if (!r)
		return;
	page->has_first = r->has_first;
	page->has_last = r->has_last;
	page->first = r->first;
	page->last = r->last;
	ring_expire(h, r, now_ms);
	if (!count || !r->count)
		return;
	if (h->scratch_cap < count) {
		struct history_entry *e = realloc(h->scratch,
						  count * sizeof(*e));

		if (!e)
			return; /* an empty page: at worst a resync */
		h->scratch = e;
		h->scratch_cap = count;
	}
	for (unsigned i = 0; i < r->count && n < count; i++) {
		struct history_slot *s = &r->ring[(r->head + i) % h->lim.size];

		if (seq_cmp(s->seq, from) < 0)
			continue;
		h->scratch[n].seq = s->seq;
		h->scratch[n].f = s->f;
		n++;
	}
	page->entries = h->scratch;
	page->count = n;
}

int history_last_seen(struct history *h, const char *channel,
		      struct seq *out)
{
	struct history_rec *r = rec_find(h, channel);

	if (!r || !r->has_seen)
		return -1;
	*out = r->seen;
	return 0;
}

void history_foreach_seen(struct history *h,
			  void (*fn)(void *arg, const char *channel,
				     struct seq seen),
			  void *arg)
{
	struct history_rec *r, *tmp;

	HASH_ITER(hh, h->recs, r, tmp)
		if (r->has_seen)
			fn(arg, r->name, r->seen);
}

const char *history_resume_channel(const struct history_resume *r)
{
	return r->dead || !r->rec ? NULL : r->rec->name;
}

int history_healing(struct history *h, const char *channel)
{
	struct history_rec *r = rec_find(h, channel);

	return r && r->heal;
}

/* -------------------------------------------------------------- resumes */

static struct history_sess *sess_find(struct history *h, uint64_t id)
{
	struct history_sess *hs;

	HASH_FIND(hh, h->sessions, &id, sizeof(id), hs);
	return hs;
}

static struct history_sess *sess_get(struct history *h,
				     const struct hub_session *s);

static void sess_maybe_free(struct history *h, struct history_sess *hs)
{
	if (hs && !hs->resumes.count && !hs->tickets.count) {
		HASH_DEL(h->sessions, hs);
		free(hs);
	}
}

static uint64_t session_id(const struct hub_session *s);

static void held_clear(struct history_resume *r)
{
	for (size_t i = 0; i < r->nheld; i++)
		frame_unref(r->held[i].f);
	r->nheld = 0;
	r->held_bytes = 0;
}

static void pend_clear(struct history_resume *r)
{
	for (size_t i = r->ipend; i < r->npend; i++)
		frame_unref(r->pend[i].f);
	free(r->pend);
	r->pend = NULL;
	r->npend = r->ipend = 0;
}

static void activate(struct history *h, struct history_resume *r)
{
	if (lws_dll2_is_detached(&r->in_active))
		lws_dll2_add_tail(&r->in_active, &h->active);
}

/* Unlinks r from everything; frees it unless a read still points to it. */
static void resume_end(struct history *h, struct history_resume *r)
{
	struct history_rec *rec = r->rec;

	held_clear(r);
	free(r->held);
	r->held = NULL;
	r->capheld = 0;
	pend_clear(r);
	json_decref(r->id);
	r->id = NULL;
	lws_dll2_remove(&r->in_active);
	if (r->s) {
		struct history_sess *hs = sess_find(h, session_id(r->s));

		lws_dll2_remove(&r->in_rec);
		lws_dll2_remove(&r->in_sess);
		sess_maybe_free(h, hs);
	} else if (rec && rec->heal == r) {
		rec->heal = NULL;
	}
	r->rec = NULL;
	r->s = NULL;
	if (r->reading)
		r->dead = 1;
	else
		free(r);
}

/* The target is up to date and live: release its hold. */
static void resume_finish(struct history *h, struct history_resume *r)
{
	if (r->s)
		h->ops.hold(h->arg, r->s, r->rec->name, 0);
	resume_end(h, r);
}

/* Delivers one message to r's target; for a heal, the session resumes of
 * the channel see it too and it becomes the channel's last seen. */
static void resume_offer(struct history *h, struct history_resume *r,
			 const struct seq *seq, struct frame *f);

static void channel_emit(struct history *h, struct history_rec *rec,
			 const struct seq *seq, struct frame *f)
{
	/* the resumes first: one that ends here is delivered to below */
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, rec->resumes.head)
	{
		resume_offer(h, lws_container_of(d, struct history_resume,
						 in_rec),
			     seq, f);
	}
	lws_end_foreach_dll_safe(d, d1);
	h->ops.deliver(h->arg, NULL, rec->name, f);
	if (seq) {
		rec->seen = *seq;
		rec->has_seen = 1;
	}
}

static void target_deliver(struct history *h, struct history_resume *r,
			   const struct seq *seq, struct frame *f)
{
	if (r->s)
		h->ops.deliver(h->arg, r->s, r->rec->name, f);
	else
		channel_emit(h, r->rec, seq, f);
}

/* The replay is queued: the held live messages follow, without those the
 * replay sent; then TAIL (Redis) or done (the ring has no second link). */
static void resume_release(struct history *h, struct history_resume *r)
{
	struct held *v = r->held;
	size_t n = r->nheld;

	r->held = NULL;
	r->nheld = r->capheld = 0;
	r->held_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (!v[i].has_seq || seq_cmp(v[i].seq, r->pos) > 0) {
			if (v[i].has_seq)
				r->pos = v[i].seq;
			if (r->rec)
				target_deliver(h, r, v[i].has_seq ? &v[i].seq
								  : NULL,
					       v[i].f);
		}
		frame_unref(v[i].f);
	}
	free(v);
	if (!r->rec)
		return; /* ended meanwhile */
	if (r->local) {
		resume_finish(h, r);
		return;
	}
	r->state = RS_TAIL;
	r->tail_ms = h->now_ms;
	activate(h, r);
}

static void resume_offer(struct history *h, struct history_resume *r,
			 const struct seq *seq, struct frame *f)
{
	struct held *slot;

	if (r->state == RS_TAIL) {
		if (!seq) {
			target_deliver(h, r, NULL, f); /* the hold skips it */
			return;
		}
		if (seq_cmp(*seq, r->pos) <= 0)
			return; /* replayed already */
		/* live has caught up: released, the caller delivers it */
		resume_finish(h, r);
		return;
	}
	if (r->held_bytes + f->len > h->max_held) {
		/*
		 * Live messages pile up faster than the replay drains: drop
		 * the ones with a seq (the history holds them too, and the
		 * replay reads on until it finds no more), keep the others.
		 */
		size_t k = 0;

		for (size_t i = 0; i < r->nheld; i++) {
			if (r->held[i].has_seq) {
				r->held_bytes -= r->held[i].f->len;
				frame_unref(r->held[i].f);
			} else {
				r->held[k++] = r->held[i];
			}
		}
		r->nheld = k;
		r->overflow = 1;
		if (seq)
			return;
	}
	if (r->nheld == r->capheld) {
		size_t cap = r->capheld ? r->capheld * 2 : 8;
		struct held *v = realloc(r->held, cap * sizeof(*v));

		if (!v) {
			r->overflow = 1; /* read it from the history instead */
			return;
		}
		r->held = v;
		r->capheld = cap;
	}
	slot = &r->held[r->nheld++];
	slot->has_seq = seq != NULL;
	if (seq)
		slot->seq = *seq;
	slot->f = frame_ref(f);
	r->held_bytes += f->len;
}

int history_offer(struct history *h, const char *channel,
		  const struct seq *seq, struct frame *f, int from_redis)
{
	struct history_rec *rec = rec_find(h, channel);

	if (!rec)
		return 0;
	/* a heal waiting for the link holds only what Redis sends: the
	 * node's own messages meanwhile are delivered at once */
	if (rec->heal && (from_redis || rec->heal->state != RS_WAIT)) {
		struct history_resume *heal = rec->heal;

		if (heal->state != RS_TAIL) {
			resume_offer(h, heal, seq, f);
			return 1;
		}
		if (seq && seq_cmp(*seq, heal->pos) <= 0)
			return 1; /* the heal delivered it already */
		if (seq)
			resume_finish(h, heal);
	}
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, rec->resumes.head)
	{
		resume_offer(h, lws_container_of(d, struct history_resume,
						 in_rec),
			     seq, f);
	}
	lws_end_foreach_dll_safe(d, d1);
	return 0;
}

void history_note_seen(struct history *h, const char *channel,
		       struct seq seq)
{
	struct history_rec *rec = rec_get(h, channel);

	if (rec && (!rec->has_seen || seq_cmp(seq, rec->seen) > 0)) {
		rec->seen = seq;
		rec->has_seen = 1;
	}
}

static struct history_resume *resume_new(struct history *h,
					 struct history_rec *rec)
{
	struct history_resume *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->rec = rec;
	r->state = RS_START;
	lws_dll2_add_tail(&r->in_active, &h->active);
	return r;
}

int history_resume_start(struct history *h, struct hub_session *s,
			 const char *channel, const struct seq *since,
			 int reply, json_t *id)
{
	struct history_rec *rec = rec_get(h, channel);
	struct history_sess *hs;
	struct history_resume *r;

	if (!rec)
		return -1;
	hs = sess_get(h, s);
	if (!hs)
		return -1;
	history_unsubscribed(h, s, channel); /* a second subscribe replaces */
	hs = sess_get(h, s); /* (the call above may have freed it) */
	if (!hs || !(r = resume_new(h, rec))) {
		sess_maybe_free(h, hs);
		return -1;
	}
	r->s = s;
	r->fresh = since == NULL;
	if (since)
		r->pos = *since;
	r->reply = reply;
	r->id = id ? json_incref(id) : NULL;
	lws_dll2_add_tail(&r->in_rec, &rec->resumes);
	lws_dll2_add_tail(&r->in_sess, &hs->resumes);
	h->ops.hold(h->arg, s, channel, 1);
	return 0;
}

int history_heal_start(struct history *h, const char *channel,
		       struct seq pos)
{
	struct history_rec *rec = rec_get(h, channel);
	struct history_resume *r;

	if (!rec)
		return -1;
	if (rec->heal && rec->heal->state != RS_TAIL)
		return 0; /* the running one answers (resync if it fails) */
	if (rec->heal)
		resume_finish(h, rec->heal);
	r = resume_new(h, rec);
	if (!r)
		return -1;
	lws_dll2_remove(&r->in_active); /* waits for history_heal_go() */
	r->state = RS_WAIT;
	r->pos = pos;
	rec->heal = r;
	metric_add(&h->stats.heals, 1);
	return 0;
}

void history_heal_go(struct history *h)
{
	struct history_rec *r, *tmp;

	HASH_ITER(hh, h->recs, r, tmp)
	{
		if (r->heal && r->heal->state == RS_WAIT) {
			r->heal->state = RS_START;
			activate(h, r->heal);
		}
	}
}

/* Continuity of page from r->pos (see the top of history.h). Sets *skip
 * to the entries already held by the target (the first, when it is
 * r->pos itself). */
static enum history_outcome resume_judge(const struct history_resume *r,
					 const struct history_page *p,
					 size_t *skip)
{
	int at_origin = !seq_cmp(r->pos, r->origin);

	*skip = 0;
	if (r->local && !at_origin && r->pos.ms != r->origin.ms)
		return HISTORY_EPOCH;
	if (p->has_last && seq_cmp(r->pos, p->last) > 0)
		return HISTORY_EPOCH;
	if (p->count) {
		if (!seq_cmp(p->entries[0].seq, r->pos)) {
			*skip = 1;
			return HISTORY_RECOVERED;
		}
		if (at_origin && p->has_first &&
		    !seq_cmp(p->entries[0].seq, p->first))
			return HISTORY_RECOVERED;
		return at_origin || p->has_last ? HISTORY_TRIMMED
						: HISTORY_EPOCH;
	}
	if (p->has_last)
		return seq_cmp(p->last, r->pos) ? HISTORY_EXPIRED
						: HISTORY_RECOVERED;
	return at_origin ? HISTORY_RECOVERED : HISTORY_EPOCH;
}

void history_resume_page(struct history *h, struct history_resume *r,
			 const struct history_page *p)
{
	enum history_outcome why;
	size_t skip = 0;
	char text[SEQ_TEXT_MAX];

	r->reading = 0;
	if (r->dead) {
		free(r);
		return;
	}
	if (p) {
		r->local = p->local;
		r->origin = p->origin;
	}
	if (!p) {
		why = HISTORY_UNAVAILABLE;
	} else if (r->fresh) {
		r->pos = p->has_last ? p->last : r->origin;
		why = HISTORY_RECOVERED;
	} else {
		why = resume_judge(r, p, &skip);
	}
	if (!r->replied) {
		r->replied = 1;
		if (r->s && r->reply)
			h->ops.subscribed(h->arg, r->s, r->rec->name, r->id,
					  r->fresh || why == HISTORY_RECOVERED ||
							  !p
						  ? r->pos
						  : (p->has_last ? p->last
								 : r->origin),
					  r->fresh ? -1
						   : why == HISTORY_RECOVERED);
		if (!r->fresh) {
			if (why == HISTORY_RECOVERED)
				metric_add(&h->stats.recovered, 1);
			else
				metric_add(&h->stats.resyncs, 1);
		}
	}
	if (r->fresh) {
		resume_release(h, r);
		return;
	}
	if (why != HISTORY_RECOVERED) {
		struct seq now = p && p->has_last ? p->last : r->origin;

		log_msg(LOG_DEBUG, "history", "resync on %s from %s: %s",
			r->rec->name, seq_format(r->pos, text),
			history_outcome_name(why));
		if (seq_cmp(now, r->pos) > 0 || why == HISTORY_EPOCH)
			r->pos = now;
		h->ops.resync(h->arg, r->s, r->rec->name, why, r->pos);
		if (!r->rec)
			return;
		resume_release(h, r);
		return;
	}
	pend_clear(r);
	r->more = p->count >= h->lim.page;
	if (p->count > skip) {
		r->pend = calloc(p->count - skip, sizeof(*r->pend));
		if (!r->pend) {
			r->more = 1; /* read the page again */
		} else {
			for (size_t i = skip; i < p->count; i++) {
				r->pend[r->npend].seq = p->entries[i].seq;
				r->pend[r->npend].f =
					frame_ref(p->entries[i].f);
				r->npend++;
			}
		}
	}
	r->state = RS_REPLAY;
	activate(h, r);
}

/* One step of r: a read, what fits of its page, or the end of a TAIL. */
static void resume_step(struct history *h, struct history_resume *r)
{
	switch (r->state) {
	case RS_WAIT:
		return;
	case RS_START:
	case RS_FETCH:
		if (r->reading)
			return;
		r->reading = 1;
		lws_dll2_remove(&r->in_active);
		r->state = RS_FETCH;
		h->ops.read(h->arg, r, r->rec->name, r->pos,
			    r->fresh ? 0 : h->lim.page);
		return;
	case RS_REPLAY:
		while (r->ipend < r->npend) {
			struct history_entry *e = &r->pend[r->ipend];

			if (r->s && h->ops.room(h->arg, r->s) < e->f->len)
				return; /* the pump comes back */
			r->ipend++;
			r->pos = e->seq;
			target_deliver(h, r, &e->seq, e->f);
			frame_unref(e->f);
			if (r->s)
				metric_add(&h->stats.replayed, 1);
			else
				metric_add(&h->stats.healed, 1);
			if (!r->rec)
				return; /* the target went away */
		}
		pend_clear(r);
		if (r->more || r->overflow) {
			r->overflow = 0;
			r->state = RS_FETCH;
			return;
		}
		lws_dll2_remove(&r->in_active);
		resume_release(h, r);
		return;
	case RS_TAIL:
		if (h->now_ms - r->tail_ms >= HISTORY_TAIL_MS)
			resume_finish(h, r);
		return;
	}
}

void history_pump(struct history *h, uint64_t now_ms)
{
	h->now_ms = now_ms;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, h->active.head)
	{
		resume_step(h, lws_container_of(d, struct history_resume,
						in_active));
	}
	lws_end_foreach_dll_safe(d, d1);
}

int history_busy(const struct history *h)
{
	return h->active.count > 0;
}

void history_unsubscribed(struct history *h, struct hub_session *s,
			  const char *channel)
{
	struct history_sess *hs = sess_find(h, session_id(s));

	if (!hs)
		return;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, hs->resumes.head)
	{
		struct history_resume *r = lws_container_of(
			d, struct history_resume, in_sess);

		if (!strcmp(r->rec->name, channel)) {
			resume_end(h, r);
			return; /* one per channel; hs may be gone */
		}
	}
	lws_end_foreach_dll_safe(d, d1);
}

void history_session_closed(struct history *h, struct hub_session *s)
{
	struct history_sess *hs = sess_find(h, session_id(s));

	if (!hs)
		return;
	while (hs->tickets.head) {
		struct history_ticket *t = lws_container_of(
			hs->tickets.head, struct history_ticket, in_sess);

		lws_dll2_remove(&t->in_sess);
		t->s = NULL;
	}
	if (!hs->resumes.count) {
		sess_maybe_free(h, hs);
		return;
	}
	/* the last resume_end() frees hs */
	while (hs->resumes.count > 1)
		resume_end(h, lws_container_of(hs->resumes.head,
					       struct history_resume, in_sess));
	resume_end(h, lws_container_of(hs->resumes.head, struct history_resume,
				       in_sess));
}

void history_tick(struct history *h, uint64_t now_ms)
{
	struct history_rec *r, *tmp;
	uint64_t quiet = (uint64_t)HISTORY_RECORD_TTL_S * 1000;

	h->now_ms = now_ms;
	HASH_ITER(hh, h->recs, r, tmp)
	{
		if (r->count)
			ring_expire(h, r, now_ms);
		if (!r->count && !r->resumes.count && !r->heal &&
		    now_ms - r->touched_ms > quiet)
			rec_free(h, r);
	}
	history_pump(h, now_ms);
}

void history_destroy(struct history *h)
{
	struct history_rec *r, *tmp;
	struct history_sess *hs, *hstmp;

	if (!h)
		return;
	HASH_ITER(hh, h->sessions, hs, hstmp)
	{
		while (hs->tickets.head) {
			struct history_ticket *t = lws_container_of(
				hs->tickets.head, struct history_ticket,
				in_sess);

			lws_dll2_remove(&t->in_sess);
			t->s = NULL;
		}
		while (hs->resumes.head) {
			struct history_resume *res = lws_container_of(
				hs->resumes.head, struct history_resume,
				in_sess);

			lws_dll2_remove(&res->in_sess);
			res->s = NULL; /* never held again: no hold(0) */
			lws_dll2_remove(&res->in_rec);
			resume_end(h, res);
		}
		HASH_DEL(h->sessions, hs);
		free(hs);
	}
	HASH_ITER(hh, h->recs, r, tmp)
	{
		if (r->heal)
			resume_end(h, r->heal);
		rec_free(h, r);
	}
	free(h->scratch);
	free(h);
}

/* -------------------------------------------------------------- tickets */

static uint64_t session_id(const struct hub_session *s)
{
	return s->id;
}

static struct history_sess *sess_get(struct history *h,
				     const struct hub_session *s)
{
	uint64_t id = session_id(s);
	struct history_sess *hs = sess_find(h, id);

	if (hs)
		return hs;
	hs = calloc(1, sizeof(*hs));
	if (!hs)
		return NULL;
	hs->id = id;
	HASH_ADD(hh, h->sessions, id, sizeof(hs->id), hs);
	return hs;
}

struct history_ticket *history_ticket_create(struct history *h,
					     struct hub_session *s,
					     json_t *id, void *ctx)
{
	struct history_sess *hs = sess_get(h, s);
	struct history_ticket *t;

	if (!hs)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		sess_maybe_free(h, hs);
		return NULL;
	}
	t->s = s;
	t->ctx = ctx;
	t->id = id ? json_incref(id) : NULL;
	lws_dll2_add_tail(&t->in_sess, &hs->tickets);
	return t;
}

struct hub_session *history_ticket_session(const struct history_ticket *t)
{
	return t->s;
}

json_t *history_ticket_id(const struct history_ticket *t)
{
	return t->id;
}

void *history_ticket_ctx(const struct history_ticket *t)
{
	return t->ctx;
}

void history_ticket_free(struct history *h, struct history_ticket *t)
{
	if (!t)
		return;
	if (t->s) {
		struct history_sess *hs = sess_find(h, session_id(t->s));

		lws_dll2_remove(&t->in_sess);
		sess_maybe_free(h, hs);
	}
	json_decref(t->id);
	free(t);
}
