/*
 * hub — see hub.h.
 *
 * Data structures: all sessions in one list (broadcast walks it); clients
 * and channels in uthash tables keyed by name (hashed with SipHash under a
 * per-process key); a subscription node links
 * one session and one channel and sits in both lists, so leaving a channel
 * or closing a session is O(subscriptions) with no search.
 *
 * Invariants: a client exists while it has sessions, a channel while it has
 * subscribers; a session with close_code set receives nothing more and its
 * queue is empty once hub_session_close() has run.
 */
#include "hub.h"
#include "keyed_hash.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Client ids and channel names are chosen by clients: the tables hash them
 * with a per-process secret key (keyed_hash.h), not uthash's fixed one. */
#define HASH_FUNCTION KEYED_HASH_UT
#include <uthash.h>

struct hub_client {
	UT_hash_handle hh;
	struct lws_dll2_owner sessions;
	char id[]; /* allocated at its own length: memory per idle session */
};

struct hub_channel {
	UT_hash_handle hh;
	struct lws_dll2_owner subs;   /* struct hub_subscription, in_channel */
	char name[NAMES_CHANNEL_MAX + 1];
};

struct hub_subscription {
	struct lws_dll2 in_channel;
	struct lws_dll2 in_session;
	struct hub_channel *channel;
	struct hub_session *session;
	uint8_t held;                 /* a resume delivers instead */
};

struct hub {
	struct hub_ops ops;
	struct hub_limits limits;
	struct metrics *metrics;
	struct heartbeat *beat;       /* every open session's watch */
	struct frame *ping;           /* the one ping frame all sessions share */
	struct lws_dll2_owner sessions;
	struct hub_client *clients;   /* uthash head */
	struct hub_channel *channels; /* uthash head */
	struct frame_totals queued;   /* every session's queue together */
	uint64_t next_session_id;
	const struct hub_node_ops *node; /* NULL: a hub on its own */
	void *node_arg;
	size_t cost_told;             /* own cost the node last heard */
	size_t largest;               /* the largest session's queue cost, at
					 least (exact after a shed or a tick) */
	size_t elsewhere;             /* other workers' cost, last asked */
	size_t elsewhere_largest;     /* their largest session's, last asked */
};

static void hub_count(struct hub *hub, int channel, const char *name,
		      int delta)
{
	if (hub->node && hub->node->count)
		hub->node->count(hub->node_arg, channel, name, delta);
}

/* What the other workers' queues cost, asked again now. */
static size_t hub_elsewhere(struct hub *hub)
{
	if (hub->node && hub->node->elsewhere)
		hub->elsewhere = hub->node->elsewhere(hub->node_arg,
						      &hub->elsewhere_largest);
	return hub->elsewhere;
}

/* Tells the node this hub's cost when it moved by HUB_COST_STEP (or
 * always), and hears theirs back. */
static void hub_tell_cost(struct hub *hub, int always)
{
	size_t own = hub_queued_cost(hub);
	size_t moved = own > hub->cost_told ? own - hub->cost_told
					    : hub->cost_told - own;

	if (!hub->node || (!always && moved < HUB_COST_STEP))
		return;
	hub->cost_told = own;
	if (hub->node->cost)
		hub->node->cost(hub->node_arg, own, hub->largest);
	hub_elsewhere(hub);
}

static void hub_ping(struct heartbeat_watch *w, void *arg)
{
	struct hub *hub = arg;

	metric_add(&hub->metrics->pings_sent, 1);
	hub_deliver_session(hub, lws_container_of(w, struct hub_session, _beat),
			    hub->ping);
}

static void hub_expire(struct heartbeat_watch *w, enum heartbeat_expiry why,
		       void *arg)
{
	struct hub *hub = arg;
	struct hub_session *s = lws_container_of(w, struct hub_session, _beat);

	if (why == HEARTBEAT_SILENT) {
		metric_add(&hub->metrics->heartbeat_drops, 1);
		log_msg(LOG_INFO, "hub", "dropping client_id=%s session=%" PRIu64
			": no answer to the heartbeat", s->client_id, s->id);
	} else {
		metric_add(&hub->metrics->close_deadline_drops, 1);
		log_msg(LOG_INFO, "hub", "dropping client_id=%s session=%" PRIu64
			": close (%u) not finished within %d ms", s->client_id,
			s->id, s->close_code, HUB_CLOSE_GRACE_MS);
	}
	hub->ops.drop(s);
}

static const struct heartbeat_ops hub_heartbeat_ops = {
	.ping = hub_ping,
	.expire = hub_expire,
};

struct hub *hub_create(const struct hub_ops *ops, const struct hub_limits *lim,
		       struct metrics *metrics)
{
	struct hub *hub = calloc(1, sizeof(*hub));

	if (!hub)
		return NULL;
	hub->ops = *ops;
	hub->limits = *lim;
	hub->metrics = metrics;
	hub->next_session_id = 1;
	hub->beat = heartbeat_create(lim->heartbeat_s, &hub_heartbeat_ops, hub,
				     hub_now_ms());
	hub->ping = frame_create_ping();
	if (!hub->beat || !hub->ping) {
		hub_destroy(hub);
		return NULL;
	}
	return hub;
}

void hub_set_node(struct hub *hub, const struct hub_node_ops *ops, void *arg)
{
	hub->node = ops;
	hub->node_arg = arg;
}

void hub_destroy(struct hub *hub)
{
	struct hub_client *c, *ctmp;
	struct hub_channel *ch, *chtmp;

	if (!hub)
		return;
	/* transports close their sessions first; whatever is left goes now */
	while (hub->sessions.head)
		hub_session_close(hub, lws_container_of(hub->sessions.head,
							struct hub_session,
							_in_hub));
	HASH_ITER(hh, hub->clients, c, ctmp)
	{
		HASH_DEL(hub->clients, c);
		free(c);
	}
	HASH_ITER(hh, hub->channels, ch, chtmp)
	{
		HASH_DEL(hub->channels, ch);
		free(ch);
	}
	heartbeat_destroy(hub->beat);
	frame_unref(hub->ping);
	free(hub);
}

int hub_session_open(struct hub *hub, struct hub_session *s,
		     const char *client_id)
{
	struct hub_client *c;

	HASH_FIND_STR(hub->clients, client_id, c);
	if (!c) {
		size_t len = strlen(client_id);

		c = calloc(1, sizeof(*c) + len + 1);
		if (!c)
			return -1;
		memcpy(c->id, client_id, len + 1);
		HASH_ADD_KEYPTR(hh, hub->clients, c->id, len, c);
	}
	hub_count(hub, 0, c->id, 1);
	s->_client = c;
	s->client_id = c->id;
	s->id = hub->next_session_id++;
	lws_dll2_add_tail(&s->_in_client, &c->sessions);
	lws_dll2_add_tail(&s->_in_hub, &hub->sessions);
	s->queue.totals = &hub->queued;
	heartbeat_watch(hub->beat, &s->_beat, hub_now_ms(), s->id);
	return 0;
}

static void hub_subscription_free(struct hub *hub, struct hub_subscription *sub)
{
	struct hub_channel *ch = sub->channel;

	lws_dll2_remove(&sub->in_channel);
	lws_dll2_remove(&sub->in_session);
	free(sub);
	hub_count(hub, 1, ch->name, -1);
	if (!ch->subs.count) {
		HASH_DEL(hub->channels, ch);
		free(ch);
	}
}

void hub_session_close(struct hub *hub, struct hub_session *s)
{
	struct hub_client *c = s->_client;

	if (!c)
		return; /* never opened, or closed already */
	while (s->_subs.head)
		hub_subscription_free(
			hub, lws_container_of(s->_subs.head,
					      struct hub_subscription,
					      in_session));
	heartbeat_unwatch(&s->_beat);
	frame_queue_clear(&s->queue);
	s->queue.totals = NULL;
	lws_dll2_remove(&s->_in_hub);
	lws_dll2_remove(&s->_in_client);
	s->_client = NULL;
	s->client_id = "";
	hub_count(hub, 0, c->id, -1);
	if (!c->sessions.count) {
		HASH_DEL(hub->clients, c);
		free(c);
	}
}

unsigned hub_session_count(const struct hub *hub)
{
	return (unsigned)hub->sessions.count;
}

unsigned hub_client_count(const struct hub *hub)
{
	return HASH_COUNT(hub->clients);
}

unsigned hub_channel_count(const struct hub *hub)
{
	return HASH_COUNT(hub->channels);
}

unsigned hub_client_session_count(struct hub *hub, const char *client_id)
{
	struct hub_client *c;

	HASH_FIND_STR(hub->clients, client_id, c);
	return c ? (unsigned)c->sessions.count : 0;
}

unsigned hub_channel_size(const struct hub_channel *ch)
{
	return ch ? (unsigned)ch->subs.count : 0;
}

struct hub_session *hub_find_session(struct hub *hub, const char *client_id,
				     uint64_t id)
{
	struct hub_client *c;

	HASH_FIND_STR(hub->clients, client_id, c);
	if (!c)
		return NULL;
	lws_start_foreach_dll(struct lws_dll2 *, d, c->sessions.head)
	{
		struct hub_session *s =
			lws_container_of(d, struct hub_session, _in_client);

		if (s->id == id)
			return s;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

int hub_has_client(struct hub *hub, const char *client_id)
{
	struct hub_client *c;

	HASH_FIND_STR(hub->clients, client_id, c);
	return c != NULL;
}

struct hub_channel *hub_channel_find(struct hub *hub, const char *channel)
{
	struct hub_channel *ch;

	HASH_FIND_STR(hub->channels, channel, ch);
	return ch;
}

static struct hub_subscription *hub_find_subscription(struct hub_session *s,
						      const char *channel)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, s->_subs.head)
	{
		struct hub_subscription *sub = lws_container_of(
			d, struct hub_subscription, in_session);

		if (!strcmp(sub->channel->name, channel))
			return sub;
	}
	lws_end_foreach_dll(d);
	return NULL;
}

void hub_hold(struct hub *hub, struct hub_session *s, const char *channel,
	      int held)
{
	struct hub_subscription *sub = hub_find_subscription(s, channel);

	(void)hub;
	if (sub)
		sub->held = (uint8_t)(held != 0);
}

int hub_is_subscribed(struct hub *hub, struct hub_session *s,
		      const char *channel)
{
	return hub_find_subscription(s, channel) != NULL;
}

int hub_subscribe(struct hub *hub, struct hub_session *s, const char *channel)
{
	struct hub_subscription *sub;
	struct hub_channel *ch;

	if (hub_find_subscription(s, channel))
		return 0;
	if (s->_subs.count >= HUB_MAX_SUBSCRIPTIONS)
		return -1;
	sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -2;
	ch = hub_channel_find(hub, channel);
	if (!ch) {
		ch = calloc(1, sizeof(*ch));
		if (!ch) {
			free(sub);
			return -2;
		}
		snprintf(ch->name, sizeof(ch->name), "%s", channel);
		HASH_ADD_STR(hub->channels, name, ch);
	}
	hub_count(hub, 1, ch->name, 1);
	sub->channel = ch;
	sub->session = s;
	lws_dll2_add_tail(&sub->in_channel, &ch->subs);
	lws_dll2_add_tail(&sub->in_session, &s->_subs);
	return 0;
}

int hub_unsubscribe(struct hub *hub, struct hub_session *s,
		    const char *channel)
{
	struct hub_subscription *sub = hub_find_subscription(s, channel);

	if (sub)
		hub_subscription_free(hub, sub);
	return 0;
}

/* What a queue of count frames holding bytes of payload costs. */
static size_t hub_cost(size_t bytes, size_t count)
{
	return bytes + count * HUB_FRAME_CHARGE;
}

size_t hub_queued_cost(const struct hub *hub)
{
	return hub_cost(hub->queued.bytes, hub->queued.count);
}

int hub_overloaded(struct hub *hub)
{
	return hub->limits.memory_budget &&
	       hub_queued_cost(hub) + hub_elsewhere(hub) >=
		       hub->limits.memory_budget / 4 * 3;
}

/* Drops s's queue, counts and logs it, and closes it with 1013. */
static void hub_slow_consumer(struct hub *hub, struct hub_session *s,
			      const char *why, size_t limit, unsigned lost)
{
	struct frame_queue *q = &s->queue;

	metric_add(&hub->metrics->drops, q->count + lost);
	metric_add(&hub->metrics->slow_consumers, 1);
	log_msg(LOG_WARN, "hub",
		"slow consumer closed client_id=%s session=%" PRIu64
		" queued_frames=%" PRIu32 " queued_cost=%zu %s=%zu",
		s->client_id, s->id, q->count, hub_cost(q->bytes, q->count),
		why, limit);
	frame_queue_clear(q);
	hub_session_end(hub, s, CLOSE_SLOW_CONSUMER);
}

struct hub_holder {
	size_t cost;
	struct hub_session *s;
};

static int hub_holder_cmp(const void *a, const void *b)
{
	const struct hub_holder *x = a, *y = b;

	return x->cost < y->cost ? 1 : x->cost > y->cost ? -1
	       : x->s->id < y->s->id ? -1 : x->s->id > y->s->id;
}

/* The session whose queue costs the most (NULL: every queue is empty). */
static struct hub_session *hub_largest_holder(struct hub *hub)
{
	struct hub_session *best = NULL;
	size_t most = 0;

	lws_start_foreach_dll(struct lws_dll2 *, d, hub->sessions.head)
	{
		struct hub_session *s =
			lws_container_of(d, struct hub_session, _in_hub);
		size_t c = hub_cost(s->queue.bytes, s->queue.count);

		if (s->queue.count && c > most) {
			most = c;
			best = s;
		}
	}
	lws_end_foreach_dll(d);
	return best;
}

/*
 * The memory budget is about to be passed by need more: sheds the
 * sessions holding the most, largest first, until the queues together
 * cost at most half the budget (so that shedding, a walk over every
 * session, happens once per half a budget of growth, not per frame).
 * With other workers, each sheds its own share: its queues down to half
 * the budget times the part of the node's cost they hold, and only
 * sessions holding at least half of what the node's largest holds (the
 * others' as they last told): largest first across the node, as near as
 * the workers can tell without a lock. The worker holding the largest
 * sheds it on its next delivery or tick.
 */
static void hub_shed(struct hub *hub, size_t need)
{
	size_t budget = hub->limits.memory_budget, target = budget / 2;
	size_t own = hub_queued_cost(hub), total = own + hub->elsewhere;
	size_t least = 0;             /* what a session shed holds at least */
	struct hub_holder *all;
	size_t n = 0, i = 0;

	if (hub->elsewhere && total)
		target = (size_t)((double)target * (double)own / (double)total);
	target = need < target ? target - need : 0;
	all = calloc(hub->sessions.count ? hub->sessions.count : 1,
		     sizeof(*all));
	if (!all) { /* no memory for the list: one walk per session shed */
		struct hub_session *s;

		while (hub_queued_cost(hub) > target &&
		       (s = hub_largest_holder(hub))) {
			metric_add(&hub->metrics->memory_sheds, 1);
			hub_slow_consumer(hub, s, "memory_budget", budget, 0);
		}
		hub->largest = 0;
		hub_tell_cost(hub, 1);
		return;
	}
	lws_start_foreach_dll(struct lws_dll2 *, d, hub->sessions.head)
	{
		struct hub_session *s =
			lws_container_of(d, struct hub_session, _in_hub);

		if (s->queue.count) {
			all[n].cost = hub_cost(s->queue.bytes, s->queue.count);
			all[n++].s = s;
		}
	}
	lws_end_foreach_dll(d);
	qsort(all, n, sizeof(*all), hub_holder_cmp);
	if (hub->elsewhere_largest)
		least = (n && all[0].cost > hub->elsewhere_largest
			 ? all[0].cost : hub->elsewhere_largest) / 2;
	for (; i < n && hub_queued_cost(hub) > target && all[i].cost >= least;
	     i++) {
		metric_add(&hub->metrics->memory_sheds, 1);
		hub_slow_consumer(hub, all[i].s, "memory_budget", budget, 0);
	}
	hub->largest = i < n ? all[i].cost : 0;
	free(all);
	hub_tell_cost(hub, 1); /* or the others shed for what is gone */
}

/*
 * The slow-consumer policy, whole (docs/design.md, "Slow consumers"):
 * - what counts: what the frames queued for s and not yet written cost,
 *   their payload bytes plus HUB_FRAME_CHARGE each (a queued empty frame
 *   is not free), and their number;
 * - the limits: --max-queue and HUB_QUEUE_MAX_FRAMES per session, except
 *   that an empty queue takes one frame however large, so a message of
 *   --max-message-size reaches a reader that keeps up; and --memory-budget
 *   for every session's queue together, on every worker of the node (the
 *   others' as they last told: hub_tell_cost);
 * - the decision: a frame that would take s past its limits makes it a
 *   slow consumer; a frame that would take the queues together past the
 *   memory budget first sheds the sessions holding the most (hub_shed),
 *   s among them if it is one of those (with other workers, the node's
 *   largest as near as they can tell, and a worker sheds past the budget
 *   on its tick too, so the one holding the largest does even when its
 *   sessions get nothing);
 * - what follows: a slow consumer's queue is dropped at once (memory stays
 *   bounded), it is counted (slow_consumers, and memory_sheds for the
 *   budget; its lost frames in drops) and logged once, and it is closed
 *   with CLOSE_SLOW_CONSUMER through hub_session_end(), whose deadline
 *   drops it if it never reads again.
 * Returns 0 when s can take f, -1 when s has just been closed instead.
 */
static int hub_check_output_limit(struct hub *hub, struct hub_session *s,
				  const struct frame *f)
{
	struct frame_queue *q = &s->queue;
	size_t cost = hub_cost(f->len, 1), budget = hub->limits.memory_budget;
	size_t after = hub_cost(q->bytes, q->count) + cost;

	if (after > hub->largest)
		hub->largest = after;
	hub_tell_cost(hub, 0);
	if (budget && hub_queued_cost(hub) + hub->elsewhere + cost > budget &&
	    hub_queued_cost(hub) + hub_elsewhere(hub) + cost > budget) {
		hub_shed(hub, cost);
		if (s->close_code)
			return -1; /* s was one of the largest: shed */
	}
	if (!q->count)
		return 0;
	if (q->count < HUB_QUEUE_MAX_FRAMES &&
	    hub_cost(q->bytes, q->count) + cost <= hub->limits.max_queue)
		return 0;
	hub_slow_consumer(hub, s, q->count < HUB_QUEUE_MAX_FRAMES
			  ? "max_queue" : "max_frames",
			  q->count < HUB_QUEUE_MAX_FRAMES
			  ? hub->limits.max_queue : HUB_QUEUE_MAX_FRAMES, 1);
	return -1;
}

void hub_session_end(struct hub *hub, struct hub_session *s,
		     enum close_code code)
{
	if (s->close_code)
		return;
	s->close_code = code;
	heartbeat_closing(hub->beat, &s->_beat, hub_now_ms(), HUB_CLOSE_GRACE_MS);
	hub->ops.close(s);
}

void hub_tick(struct hub *hub, uint64_t now_ms)
{
	struct hub_session *l;

	heartbeat_tick(hub->beat, now_ms);
	/* exact once a second; idle sessions queue nothing: no walk */
	l = hub->node && hub->queued.count ? hub_largest_holder(hub) : NULL;
	hub->largest = l ? hub_cost(l->queue.bytes, l->queue.count) : 0;
	hub_tell_cost(hub, 1);
	if (hub->limits.memory_budget &&
	    hub_queued_cost(hub) + hub->elsewhere > hub->limits.memory_budget)
		hub_shed(hub, 0);
}

unsigned hub_deliver_session(struct hub *hub, struct hub_session *s,
			     struct frame *f)
{
	int was_empty = !s->queue.count;

	if (!f || s->close_code)
		return 0;
	if (hub_check_output_limit(hub, s, f))
		return 0;
	if (frame_queue_push(&s->queue, f)) {
		metric_add(&hub->metrics->drops, 1);
		log_msg(LOG_ERROR, "hub", "out of memory queueing for client_id=%s",
			s->client_id);
		return 0;
	}
	if (was_empty)
		hub->ops.wake(s);
	return 1;
}

unsigned hub_deliver_all(struct hub *hub, struct frame *f)
{
	unsigned n = 0;

	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, hub->sessions.head)
	{
		n += hub_deliver_session(
			hub, lws_container_of(d, struct hub_session, _in_hub), f);
	}
	lws_end_foreach_dll_safe(d, d1);
	return n;
}

unsigned hub_deliver_client(struct hub *hub, const char *client_id,
			    struct frame *f)
{
	struct hub_client *c;
	unsigned n = 0;

	HASH_FIND_STR(hub->clients, client_id, c);
	if (!c)
		return 0;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, c->sessions.head)
	{
		n += hub_deliver_session(
			hub, lws_container_of(d, struct hub_session, _in_client),
			f);
	}
	lws_end_foreach_dll_safe(d, d1);
	return n;
}

unsigned hub_deliver_channel(struct hub *hub, struct hub_channel *ch,
			     struct frame *f)
{
	unsigned n = 0;

	if (!ch)
		return 0;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, ch->subs.head)
	{
		struct hub_subscription *sub = lws_container_of(
			d, struct hub_subscription, in_channel);

		if (!sub->held)
			n += hub_deliver_session(hub, sub->session, f);
	}
	lws_end_foreach_dll_safe(d, d1);
	return n;
}

void hub_close_all(struct hub *hub, enum close_code code)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, hub->sessions.head)
	{
		hub_session_end(hub, lws_container_of(d, struct hub_session,
						      _in_hub),
				code);
	}
	lws_end_foreach_dll_safe(d, d1);
}

void hub_foreach_session(struct hub *hub,
			 void (*fn)(struct hub_session *s, void *arg), void *arg)
{
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, hub->sessions.head)
	{
		fn(lws_container_of(d, struct hub_session, _in_hub), arg);
	}
	lws_end_foreach_dll_safe(d, d1);
}
