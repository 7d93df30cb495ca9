/*
 * router — see router.h.
 *
 * Where a message goes: client broadcast, send and publish, and HTTP
 * publishes, travel through Redis while the bridge is ready, and every node
 * (this one included) delivers them when they come back from Redis; so each
 * session gets each message once, in the order Redis saw them; every
 * worker has its own bridge, and Redis sends each of them every message.
 * Without a ready bridge they go to every worker of this node through the
 * bus (server/bus.h): encoded once, posted under the bus's lock (which
 * orders them, and numbers a channel message, the same way for every
 * worker), and delivered by each worker to its own sessions
 * (router_bus_take). docs/design.md, "Workers".
 *
 * Client-originated messages use internal Redis channels under the prefix,
 * in the server's "$" namespace (route.h), with a small JSON envelope
 * {"from":F,"data":X}; backends publish on the public names. A target is
 * parsed once, into a struct route_target, where it arrives.
 *
 * Every outgoing message is encoded once into a frame and handed to the
 * hub, which queues a reference per recipient. A channel that has no
 * subscriber on this node costs a hash lookup and no encoding.
 *
 * Channel messages and history (docs/protocol.md, "History and resume"):
 * with history on and herald's Redis functions loaded, a client's publish
 * and an HTTP publish to a channel are one FCALL herald_publish, whose
 * live copy comes back on <prefix>$history:<channel> with its seq; without
 * a ready Redis they are numbered by this node ("<epoch>-<n>") and kept in
 * every worker's history.c ring. Every channel message passes channel_deliver(), which
 * lets history.c's resumes and heals see it before the hub delivers it to
 * the unheld subscribers. history.c asks for pages through router_history_
 * ops below: Redis (herald_history) when it is ready, else the ring.
 */
#include "router.h"
#include "auth.h"
#include "history.h"
#include "history_query.h"
#include "log.h"
#include "message.h"
#include "rate.h"
#include "redis.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEQ_MAX SEQ_TEXT_MAX
#define HISTORY_PAGE 100

static int history_on(const struct worker *w)
{
	return w->history && w->cfg->history_size > 0;
}

/* Every channel message, live or healed: resumes and heals first. */
static unsigned channel_deliver(struct worker *w, const char *channel,
				const struct seq *seq, int from_redis,
				struct frame *f)
{
	if (!f)
		return 0;
	if (w->history) {
		if (history_offer(w->history, channel, seq, f, from_redis))
			return 0; /* a heal holds it */
		if (seq && from_redis)
			history_note_seen(w->history, channel, *seq);
	}
	return hub_deliver_channel(w->hub, hub_channel_find(w->hub, channel),
				   f);
}

/* This node's next seq (text, SEQ_MAX bytes, and parsed into out). */
static void local_seq(struct worker *w, struct seq *out, char *text)
{
	node_next_seq(w->node, text, SEQ_MAX);
	if (seq_parse(text, strlen(text), out))
		memset(out, 0, sizeof(*out));
}

/* Keeps f as channel's entry seq in this worker's ring (with history
 * on; else only the seq). count: this worker stored it for the node (every
 * worker keeps a copy of a posted message; one counts it). */
static void local_keep(struct worker *w, const char *channel,
		       struct seq seq, struct frame *f, int count)
{
	if (w->history &&
	    !history_local_store(w->history, channel, seq,
				 history_on(w) ? f : NULL, hub_now_ms()) &&
	    history_on(w) && count)
		metric_add(&w->metrics.history_writes, 1);
}

/* Queues a reply on s and drops the creator's reference. */
static void router_reply(struct worker *w, struct hub_session *s,
			 struct frame *f)
{
	hub_deliver_session(w->hub, s, f);
	frame_unref(f);
}

static void router_error(struct worker *w, struct hub_session *s,
			 const char *code, const char *text, json_t *id)
{
	metric_add(&w->metrics.errors_sent, 1);
	router_reply(w, s, message_frame_error(code, text, id));
}

static void deliver_broadcast(struct worker *w, const char *from, json_t *data)
{
	struct frame *f = message_frame_broadcast(from, data);

	if (hub_deliver_all(w->hub, f))
		metric_add(&w->metrics.broadcasts, 1);
	frame_unref(f);
}

static void deliver_direct(struct worker *w, const char *from, const char *to,
			   json_t *data)
{
	struct frame *f;

	if (!hub_has_client(w->hub, to))
		return; /* not on this node: nothing to encode */
	f = message_frame_direct(from, data);
	if (hub_deliver_client(w->hub, to, f))
		metric_add(&w->metrics.directs, 1);
	frame_unref(f);
}

/* A client's channel message from Redis without a seq (a plain PUBLISH:
 * history is off, or Redis has no herald functions): numbered here. */
static void deliver_channel_message(struct worker *w, const char *channel,
				    const char *from, json_t *data)
{
	char text[SEQ_MAX];
	struct seq seq;
	struct frame *f;

	/* nobody here and no ring to keep it in: nothing is encoded */
	if (!history_on(w) && !hub_channel_find(w->hub, channel))
		return;
	local_seq(w, &seq, text);
	f = message_frame_channel(channel, from, data, text);
	local_keep(w, channel, seq, f, 1);
	if (channel_deliver(w, channel, &seq, 0, f))
		metric_add(&w->metrics.publishes, 1);
	frame_unref(f);
}

/* Queues f on this worker's recipients of a target (kind, name); seq is
 * a channel message's. Returns the number of sessions. */
static unsigned deliver_here(struct worker *w, enum route_kind kind,
			     const char *name, const struct seq *seq,
			     struct frame *f)
{
	switch (kind) {
	case ROUTE_BROADCAST:
		return hub_deliver_all(w->hub, f);
	case ROUTE_CLIENT:
		return hub_deliver_client(w->hub, name, f);
	case ROUTE_CHANNEL:
		return channel_deliver(w, name, seq, 0, f);
	case ROUTE_KEEPALIVE:
		break;
	}
	return 0;
}

/* A notification from Redis for t (or a $sys one from this worker):
 * numbered here when it is for a channel and history is off (with history
 * on, a backend's plain PUBLISH has no seq). */
void router_notify(struct worker *w, const struct route_target *t,
		   json_t *data)
{
	char channel[ROUTE_NAME_MAX], text[SEQ_MAX];
	int numbered = t->kind == ROUTE_CHANNEL && !history_on(w);
	struct frame *f;
	struct seq seq;

	/* nothing is encoded for a target with nobody here */
	if ((t->kind == ROUTE_CLIENT && !hub_has_client(w->hub, t->name)) ||
	    (t->kind == ROUTE_CHANNEL && !hub_channel_find(w->hub, t->name)))
		return;
	if (numbered)
		local_seq(w, &seq, text);
	route_public_name(t, channel);
	f = message_frame_notification(channel, data, numbered ? text : NULL);
	if (numbered)
		local_keep(w, t->name, seq, f, 1);
	if (deliver_here(w, t->kind, t->name, numbered ? &seq : NULL, f))
		metric_add(&w->metrics.notifications, 1);
	frame_unref(f);
}

/* Delivers a client's message (internal target) from Redis here. */
static void deliver_internal(struct worker *w, const struct route_target *t,
			     const char *from, json_t *data)
{
	switch (t->kind) {
	case ROUTE_BROADCAST:
		deliver_broadcast(w, from, data);
		break;
	case ROUTE_CLIENT:
		deliver_direct(w, from, t->name, data);
		break;
	case ROUTE_CHANNEL:
		deliver_channel_message(w, t->name, from, data);
		break;
	case ROUTE_KEEPALIVE:
		break;
	}
}

/* ------------------------------------------- the node's bus (no Redis) */

/*
 * A message for every worker of the node (bus.h): its target, the figure
 * a delivery adds to, its seq when it is a channel message, and its frame,
 * encoded once by the worker that posted it; each worker copies the frame
 * once when it has someone to deliver it to.
 */
struct router_post {
	struct bus_msg bus;           /* first: the bus frees the block */
	size_t counter;               /* offsetof(struct metrics, ...) */
	struct seq seq;
	int origin;                   /* the posting worker's index */
	uint8_t kind;                 /* enum route_kind */
	char name[ROUTE_NAME_MAX];    /* client id or channel; "" */
	uint32_t len;
	unsigned char payload[];
};

/* One worker's delivery of a post to its own sessions. */
static void router_on_post(const struct bus_msg *m, void *arg)
{
	const struct router_post *p = (const struct router_post *)m;
	struct worker *w = arg;
	struct frame *f = NULL;
	int here;

	switch (p->kind) {
	case ROUTE_BROADCAST:
		here = hub_session_count(w->hub) > 0;
		break;
	case ROUTE_CLIENT:
		here = hub_has_client(w->hub, p->name);
		break;
	default: /* a channel's: every worker keeps it, so that a resume
		  * here finds it */
		here = history_on(w) || hub_channel_find(w->hub, p->name);
		break;
	}
	if (here)
		f = frame_from(p->payload, p->len, 0);
	if (p->kind == ROUTE_CHANNEL)
		local_keep(w, p->name, p->seq, f, p->origin == w->index);
	if (f && deliver_here(w, p->kind, p->name, &p->seq, f))
		metric_add((uint64_t *)((char *)&w->metrics + p->counter), 1);
	frame_unref(f);
}

void router_bus_take(struct worker *w)
{
	bus_take(w->node->bus, (unsigned)w->index, router_on_post, w);
}

/*
 * Posts frame f (the creator's reference is dropped) for t to every
 * worker; call between bus_post_begin() and its end, which this is.
 * seq: the channel message's, drawn after bus_post_begin(). 0, or -1 when
 * a worker's inbox is full or memory ran out (counted; nothing posted).
 */
static int router_post_end(struct worker *w, const struct route_target *t,
			   const struct seq *seq, size_t counter,
			   struct frame *f)
{
	struct router_post *p = f ? malloc(sizeof(*p) + f->len) : NULL;

	if (p) {
		memset(p, 0, sizeof(*p));
		p->bus.bytes = sizeof(*p) + f->len;
		p->counter = counter;
		p->origin = w->index;
		p->kind = (uint8_t)t->kind;
		if (seq)
			p->seq = *seq;
		snprintf(p->name, sizeof(p->name), "%s", t->name);
		p->len = f->len;
		memcpy(p->payload, frame_payload(f), f->len);
	}
	frame_unref(f);
	if (!p) {
		bus_post_cancel(w->node->bus);
	} else if (bus_post_end(w->node->bus, &p->bus, (unsigned)w->index)) {
		free(p);
		p = NULL;
	}
	if (!p) {
		metric_add(&w->metrics.bus_refused, 1);
		return -1;
	}
	return 0;
}

/*
 * A message for t posted to every worker. A channel message is numbered
 * under the bus's lock, and seq (SEQ_MAX bytes, or NULL) receives it.
 * Only then (the post cannot be undone) may the caller ack; its own
 * delivery follows at once (router_bus_take). from: the sender of a
 * client's message; NULL for a notification (an HTTP publish).
 */
static int router_post(struct worker *w, const struct route_target *t,
		       const char *from, json_t *data, char *seq)
{
	char channel[ROUTE_NAME_MAX], text[SEQ_MAX];
	struct frame *f = NULL;
	struct seq parsed;
	size_t counter;

	route_public_name(t, channel);
	if (t->kind != ROUTE_CHANNEL) { /* encoded outside the lock */
		f = !from ? message_frame_notification(channel, data, NULL)
		    : t->kind == ROUTE_BROADCAST
			? message_frame_broadcast(from, data)
			: message_frame_direct(from, data);
		counter = !from ? offsetof(struct metrics, notifications)
			  : t->kind == ROUTE_BROADCAST
			  ? offsetof(struct metrics, broadcasts)
			  : offsetof(struct metrics, directs);
		bus_post_begin(w->node->bus);
		return router_post_end(w, t, NULL, counter, f);
	}
	bus_post_begin(w->node->bus);
	local_seq(w, &parsed, text);
	if (seq)
		memcpy(seq, text, SEQ_MAX);
	f = from ? message_frame_channel(t->name, from, data, text)
		 : message_frame_notification(t->name, data, text);
	counter = from ? offsetof(struct metrics, publishes)
		       : offsetof(struct metrics, notifications);
	return router_post_end(w, t, &parsed, counter, f);
}

/* router_post()'s refusal to a client (its message is not acked). */
static void router_post_refused(struct worker *w, struct hub_session *s,
				json_t *id)
{
	router_error(w, s, "overloaded", "a worker of this server is too far "
		     "behind to take the message; try again later", id);
}

/*
 * Who to tell when a client's PUBLISH is lost with the Redis link before
 * Redis confirmed it (router_on_published): the session that sent it and
 * the id of its message.
 */
struct router_sender {
	uint64_t session;
	json_t *id;          /* the message's id, or NULL */
	char client_id[];
};

static struct router_sender *router_sender_new(const struct hub_session *s,
					       json_t *id)
{
	size_t n = strlen(s->client_id);
	struct router_sender *r = malloc(sizeof(*r) + n + 1);

	if (!r)
		return NULL;
	r->session = s->id;
	r->id = id ? json_incref(id) : NULL;
	memcpy(r->client_id, s->client_id, n + 1);
	return r;
}

static void router_sender_free(struct router_sender *r)
{
	if (!r)
		return;
	json_decref(r->id);
	free(r);
}

/* Sends a message through Redis; -1 when it must stay local. sender (may
 * be NULL) is told if the PUBLISH is lost before Redis confirms it. */
static int route_via_redis(struct worker *w, const struct route_target *t,
			   const char *text, const struct hub_session *sender,
			   json_t *id)
{
	char name[ROUTE_NAME_MAX];
	struct router_sender *tag = NULL;

	if (!redis_bridge_ready(w->redis) || !text)
		return -1;
	route_redis_name(t, name);
	if (sender && !(tag = router_sender_new(sender, id)))
		return -1; /* out of memory: deliver here at least */
	if (redis_bridge_publish(w->redis, name, text, strlen(text), tag)) {
		router_sender_free(tag);
		return -1;
	}
	return 0;
}

/* This node's recipients of t, on every worker, at least 1 (the fan-out
 * budget's multiplier; a message for another node's sessions costs what
 * one recipient does). */
static uint64_t router_recipients(struct worker *w,
				  const struct route_target *t)
{
	unsigned n = 0;

	switch (t->kind) {
	case ROUTE_BROADCAST:
		n = (unsigned)node_sessions(w->node);
		break;
	case ROUTE_CLIENT:
		n = node_name_count(w->node, NODE_CLIENT, t->name);
		break;
	case ROUTE_CHANNEL:
		n = node_name_count(w->node, NODE_CHANNEL, t->name);
		break;
	case ROUTE_KEEPALIVE:
		break;
	}
	return n ? n : 1;
}

static void router_ack(struct worker *w, struct hub_session *s, json_t *id);

/*
 * Everything that can refuse a client's broadcast, send or publish (t
 * internal, text its envelope {"from","data"}) before its ack, because a
 * message herald acks is delivered (docs/protocol.md, "Errors"):
 * - the envelope must fit --max-message-size, the bound every node checks
 *   when it comes back from Redis (checked with or without Redis, so a
 *   client sees one rule);
 * - the node must not be overloaded (hub_overloaded: the memory budget);
 * - the sender's --fanout-limit budget must take envelope bytes x local
 *   recipients (docs/security.md, "Memory, rates and open files").
 * Returns 1 when refused (the error is queued for s), else 0.
 */
static int router_client_refused(struct worker *w, struct hub_session *s,
				 const struct route_target *t,
				 const char *text, json_t *id)
{
	size_t len = text ? strlen(text) : 0;

	if (!text) {
		router_error(w, s, "internal", "out of memory", id);
	} else if (len > (size_t)w->cfg->max_message_size) {
		router_error(w, s, "too_big", "the message with its sender "
			     "(from) is over max-message-size", id);
	} else if (hub_overloaded(w->hub)) {
		metric_add(&w->metrics.overloaded, 1);
		router_error(w, s, "overloaded", "the server is over its "
			     "memory budget; try again later", id);
	} else if (w->cfg->fanout_limit &&
		   rate_spend(&s->fanout, (uint64_t)w->cfg->fanout_limit,
			      (uint64_t)len * router_recipients(w, t),
			      (uint64_t)lws_now_usecs())) {
		metric_add(&w->metrics.rate_limited, 1);
		router_error(w, s, "rate_limited", "over the fan-out limit "
			     "(bytes x recipients per second)", id);
	} else {
		return 0;
	}
	return 1;
}

/* A client's broadcast or send (t internal): the checks, then Redis in
 * the envelope when it is ready, so that every node delivers it, else the
 * bus to every worker here; the ack once it is on its way. */
static void route_client_message(struct worker *w, struct hub_session *s,
				 const struct route_target *t, json_t *data,
				 json_t *id)
{
	char *text = message_envelope_text(s->client_id, data);

	if (router_client_refused(w, s, t, text, id))
		goto done;
	if (!route_via_redis(w, t, text, s, id)) {
		router_ack(w, s, id);
	} else if (router_post(w, t, s->client_id, data, NULL)) {
		router_post_refused(w, s, id);
	} else {
		router_ack(w, s, id);
		router_bus_take(w);
	}
done:
	free(text);
}

/* herald_publish's answer for a client's publish with an id. */
static void on_client_published(void *arg, const char *seq, size_t len)
{
	struct history_ticket *t = arg;
	struct worker *w = history_ticket_ctx(t);
	struct hub_session *s = history_ticket_session(t);

	(void)len;
	if (s && seq)
		router_reply(w, s, message_frame_ack(history_ticket_id(t), seq));
	else if (s)
		router_error(w, s, "unavailable",
			     "the message could not be stored", 
			     history_ticket_id(t));
	history_ticket_free(w->history, t);
}

static void on_published_quietly(void *arg, const char *seq, size_t len)
{
	(void)arg;
	(void)seq;
	(void)len;
}

/* A publish to a channel with history through herald_publish: kind 'm'
 * for a client's envelope, 'n' for an HTTP publish. 0 when sent. */
static int publish_with_history(struct worker *w, const char *channel,
				char kind, const char *text,
				struct history_ticket *t)
{
	int rc;

	if (!history_on(w) || !redis_bridge_history_ok(w->redis) || !text)
		return -1;
	rc = redis_bridge_history_publish(w->redis, channel, kind, text,
					  strlen(text),
					  t ? on_client_published
					    : on_published_quietly,
					  t);
	if (!rc)
		metric_add(&w->metrics.history_writes, 1);
	return rc;
}

/* A client's publish: with history through herald_publish (the ack, for
 * a message with an id, waits for its seq), else as any client message. */
static void route_client_publish(struct worker *w, struct hub_session *s,
				 const struct route_target *t, json_t *data,
				 json_t *id)
{
	char *text = message_envelope_text(s->client_id, data);
	struct history_ticket *ticket = NULL;
	char seq[SEQ_MAX];

	if (router_client_refused(w, s, t, text, id))
		goto done;
	if (history_on(w) && redis_bridge_history_ok(w->redis)) {
		if (id)
			ticket = history_ticket_create(w->history, s, id, w);
		if ((!id || ticket) &&
		    !publish_with_history(w, t->name, 'm', text, ticket))
			goto done;
		history_ticket_free(w->history, ticket);
	}
	if (!route_via_redis(w, t, text, s, id)) {
		if (id)
			router_reply(w, s, message_frame_ack(id, NULL));
		goto done;
	}
	/* numbered by this node: the ack carries the seq, before the message */
	if (router_post(w, t, s->client_id, data, seq)) {
		router_post_refused(w, s, id);
		goto done;
	}
	if (id)
		router_reply(w, s, message_frame_ack(id, seq));
	router_bus_take(w);
done:
	free(text);
}

struct stored_publish {
	router_stored_cb cb;
	void *arg;
};

static void on_stored(void *arg, const char *seq, size_t len)
{
	struct stored_publish *sp = arg;

	(void)len;
	sp->cb(sp->arg, seq);
	free(sp);
}

int router_publish_stored(struct worker *w, const struct route_target *t,
			  json_t *data, router_stored_cb cb, void *arg)
{
	struct stored_publish *sp;
	char *text;
	int rc = -1;

	/* overloaded: -1, and router_publish() refuses it */
	if (t->kind != ROUTE_CHANNEL || !history_on(w) ||
	    hub_overloaded(w->hub) || !redis_bridge_history_ok(w->redis) ||
	    !(sp = malloc(sizeof(*sp))))
		return -1;
	sp->cb = cb;
	sp->arg = arg;
	text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text && !redis_bridge_history_publish(w->redis, t->name, 'n', text,
						  strlen(text), on_stored,
						  sp)) {
		metric_add(&w->metrics.history_writes, 1);
		rc = 0;
	} else {
		free(sp);
	}
	free(text);
	return rc;
}

int router_publish(struct worker *w, const struct route_target *t,
		   json_t *data, char *seq)
{
	char *text;

	if (seq)
		seq[0] = '\0';
	if (hub_overloaded(w->hub)) {
		metric_add(&w->metrics.overloaded, 1);
		return -1;
	}
	text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	if (t->kind == ROUTE_CHANNEL &&
	    !publish_with_history(w, t->name, 'n', text, NULL))
		goto done;
	if (route_via_redis(w, t, text, NULL, NULL)) {
		if (router_post(w, t, NULL, data, seq)) {
			free(text);
			return -1;
		}
		router_bus_take(w);
	}
done:
	free(text);
	return 0;
}

/*
 * A message from Redis that herald drops (malformed, too big, not UTF-8):
 * every worker gets it on its own link, so worker 0 alone counts it for
 * the node (and logs it: 1).
 */
static int redis_dropped(struct worker *w)
{
	if (w->index)
		return 0;
	metric_add(&w->metrics.drops, 1);
	return 1;
}

/* An internal envelope {"from":F,"data":X} from another node (or this one). */
static void router_redis_internal(struct worker *w, const struct route_target *t,
				  const char *payload, size_t len)
{
	const char *sender;
	json_t *env, *data;

	if (message_parse_envelope(payload, len, &env, &sender, &data)) {
		char name[ROUTE_NAME_MAX];

		route_redis_name(t, name);
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis",
				"dropped malformed message on %s", name);
	} else {
		deliver_internal(w, t, sender, data);
	}
	json_decref(env);
}

/* A stored entry (kind 'n': a notification; 'm': a client's envelope)
 * encoded for channel with its seq; NULL when malformed or on OOM. */
static struct frame *history_frame(const char *channel, char kind,
				   const char *payload, size_t len,
				   const char *seq)
{
	struct frame *f = NULL;
	json_t *v;

	if (kind == 'm') {
		const char *sender;
		json_t *env, *data;

		if (!message_parse_envelope(payload, len, &env, &sender,
					    &data))
			f = message_frame_channel(channel, sender, data, seq);
		json_decref(env);
		return f;
	}
	v = message_payload_value(payload, len);
	if (v)
		f = message_frame_notification(channel, v, seq);
	json_decref(v);
	return f;
}

/* herald_publish's live copy: "<seq> <kind> <payload>". */
static void router_redis_history(struct worker *w,
				 const struct route_target *t,
				 const char *payload, size_t len)
{
	const char *sp = memchr(payload, ' ', len);
	char text[SEQ_MAX];
	struct seq seq;
	struct frame *f;
	size_t n;

	if (!sp || (n = (size_t)(sp - payload)) >= SEQ_MAX ||
	    seq_parse(payload, n, &seq) || len < n + 3 ||
	    (sp[1] != 'n' && sp[1] != 'm') || sp[2] != ' ') {
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis", "dropped malformed history "
				"message on '%s'", t->name);
		return;
	}
	if (len - n - 3 > (size_t)w->cfg->max_message_size) {
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis", "dropped %zu-byte message "
				"on '%s': over max-message-size", len - n - 3,
				t->name);
		return;
	}
	if (!hub_channel_find(w->hub, t->name))
		return; /* nobody here: nothing to encode */
	memcpy(text, payload, n);
	text[n] = '\0';
	f = history_frame(t->name, sp[1], sp + 3, len - n - 3, text);
	if (!f) {
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis", "dropped malformed history "
				"message on '%s'", t->name);
		return;
	}
	if (channel_deliver(w, t->name, &seq, 1, f))
		sp[1] == 'm' ? metric_add(&w->metrics.publishes, 1)
			     : metric_add(&w->metrics.notifications, 1);
	frame_unref(f);
}

void router_redis_message(struct worker *w, const char *channel,
			  size_t channel_len, const char *payload,
			  size_t payload_len)
{
	struct route_target t;
	json_t *data;

	if (route_parse_redis(channel, channel_len, &t)) {
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis",
				"dropped message on invalid channel '%.*s'",
				(int)(channel_len > 64 ? 64 : channel_len), channel);
		return;
	}
	if (t.kind == ROUTE_KEEPALIVE)
		return; /* another node's keepalive round trip */
	if (t.history) { /* its payload is checked after the seq */
		router_redis_history(w, &t, payload, payload_len);
		return;
	}
	if (payload_len > (size_t)w->cfg->max_message_size) {
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis",
				"dropped %zu-byte message on '%.*s': over "
				"max-message-size",
				payload_len, (int)channel_len, channel);
		return;
	}
	if (t.internal) {
		router_redis_internal(w, &t, payload, payload_len);
		return;
	}

	data = message_payload_value(payload, payload_len);
	if (!data) {
		if (redis_dropped(w))
			log_msg(LOG_WARN, "redis",
				"dropped message on '%.*s': payload is not UTF-8",
				(int)channel_len, channel);
		return;
	}
	router_notify(w, &t, data);
	json_decref(data);
}

/* A channel this node delivered Redis seqs on: heal it when someone here
 * still listens (see history.h). */
static void heal_channel(void *arg, const char *channel, struct seq seen)
{
	struct worker *w = arg;

	if (hub_channel_find(w->hub, channel))
		history_heal_start(w->history, channel, seen);
}

void router_redis_state(struct worker *w, int ready)
{
	int again = ready && w->redis_was_ready;
	struct frame *f;
	json_t *o;

	if (again)
		metric_add(&w->metrics.redis_reconnects, 1);
	/* after the count: whoever sees the node connected sees it too */
	__atomic_store_n(&w->redis_ready, ready, __ATOMIC_RELEASE);
	if (ready)
		w->redis_was_ready = 1;
	o = json_pack("{s:s, s:s}", "type", "redis", "state",
		      ready ? "connected" : "disconnected");
	f = message_frame_json(o);
	json_decref(o);
	hub_deliver_all(w->hub, f);
	frame_unref(f);
	/*
	 * What the link misses: each channel delivered from Redis here gets a
	 * heal from its last seq when the link goes, which holds what Redis
	 * sends from then on (the subscriber link may be back before the
	 * command link) and reads the streams once "connected" is out.
	 */
	if (!history_on(w))
		return;
	if (!ready)
		history_foreach_seen(w->history, heal_channel, w);
	else if (again)
		history_heal_go(w->history);
}

static void router_on_redis_message(void *arg, const char *channel,
				    size_t channel_len, const char *payload,
				    size_t payload_len)
{
	router_redis_message(arg, channel, channel_len, payload, payload_len);
}

static void router_on_redis_state(void *arg, int ready)
{
	router_redis_state(arg, ready);
}

/*
 * A PUBLISH is settled. One lost with its link before Redis confirmed it
 * may or may not have reached Redis: delivering it here could duplicate
 * it on this node (the subscriber link may have brought it back already)
 * and would still miss the other nodes, so herald tells its sender
 * instead, with the id of the message it acked, and the sender decides
 * whether to send it again (docs/protocol.md, "Errors"). Lost HTTP
 * publishes were answered 202 already: they are counted and logged.
 */
static void router_on_published(void *arg, void *tag, int confirmed,
				int stopping)
{
	struct worker *w = arg;
	struct router_sender *r = tag;
	struct hub_session *s;

	if (!confirmed && !stopping) {
		metric_add(&w->metrics.publishes_unconfirmed, 1);
		if (r && (s = hub_find_session(w->hub, r->client_id,
					       r->session)))
			router_error(w, s, "unconfirmed",
				     "the Redis link was lost before Redis "
				     "confirmed this message: it may not have "
				     "been delivered", r->id);
	}
	router_sender_free(r);
}

const struct redis_bridge_ops router_redis_ops = {
	.on_message = router_on_redis_message,
	.on_state = router_on_redis_state,
	.on_published = router_on_published,
};

/* Whether channel has a seq and a history ("$" channels do not). */
static int channel_has_history(const struct worker *w, const char *channel)
{
	return w->history && channel[0] != '$';
}

int router_subscribe(struct worker *w, struct hub_session *s,
		     const char *channel, const struct seq *since)
{
	if (hub_subscribe(w->hub, s, channel))
		return -1;
	/* ?channels= has no reply: only a resume, from since */
	if (since && channel_has_history(w, channel) &&
	    history_resume_start(w->history, s, channel, since, 0, NULL))
		log_msg(LOG_WARN, "router", "client_id=%s cannot resume %s: "
			"out of memory", s->client_id, channel);
	return 0;
}

void router_session_closed(struct worker *w, struct hub_session *s)
{
	if (w->history)
		history_session_closed(w->history, s);
}

/* A subscribe message: the reply (with the channel's seq, after a resume
 * from since when it has one) comes from history.c's resume. */
static void router_subscribe_message(struct worker *w, struct hub_session *s,
				     const struct client_msg *m)
{
	struct seq since;

	switch (hub_subscribe(w->hub, s, m->target)) {
	case 0:
		break;
	case -1:
		router_error(w, s, "limit", "too many subscriptions", m->id);
		return;
	default:
		router_error(w, s, "internal", "out of memory", m->id);
		return;
	}
	if (!channel_has_history(w, m->target)) {
		router_reply(w, s, message_frame_reply("subscribed", m->target,
						       m->id));
		return;
	}
	if (m->since)
		seq_parse(m->since, strlen(m->since), &since);
	if (history_resume_start(w->history, s, m->target,
				 m->since ? &since : NULL, 1, m->id)) {
		hub_unsubscribe(w->hub, s, m->target);
		router_error(w, s, "internal", "out of memory", m->id);
	}
}

/* history_query's answer to a session's history request (t: its ticket). */
static void on_history_answer(void *arg, json_t *answer)
{
	struct history_ticket *t = arg;
	struct worker *w = history_ticket_ctx(t);
	struct hub_session *s = history_ticket_session(t);
	json_t *id = history_ticket_id(t);

	if (s && answer) {
		if (id)
			json_object_set(answer, "id", id);
		router_reply(w, s, message_frame_json(answer));
	} else if (s) {
		router_error(w, s, "unavailable",
			     "the history could not be read", id);
	}
	json_decref(answer);
	history_ticket_free(w->history, t);
}

/* {"type":"history","channel":c,"limit":n}: the last n messages. */
static void router_history_message(struct worker *w, struct hub_session *s,
				   const struct client_msg *m)
{
	unsigned max = history_query_max(w);
	struct history_ticket *t;

	if (!max || !w->history) {
		router_error(w, s, "unavailable",
			     "history is off (--history-size 0)", m->id);
		return;
	}
	if (m->limit > (json_int_t)max) {
		char text[64];

		snprintf(text, sizeof(text), "\"limit\" must be 1..%u", max);
		router_error(w, s, "bad_request", text, m->id);
		return;
	}
	t = history_ticket_create(w->history, s, m->id, w);
	if (!t || history_query_run(w, m->target,
				    m->limit ? (unsigned)m->limit : max,
				    on_history_answer, t)) {
		if (t)
			history_ticket_free(w->history, t);
		router_error(w, s, "internal", "out of memory", m->id);
	}
}

static void router_ack(struct worker *w, struct hub_session *s, json_t *id)
{
	if (id)
		router_reply(w, s, message_frame_reply("ack", NULL, id));
}

void router_client_text(struct worker *w, struct hub_session *s,
			const char *buf, size_t len)
{
	struct route_target t;
	struct client_msg m;

	message_parse(buf, len, &m);
	/* publish, subscribe and history name a channel the token must allow */
	if ((m.type == MSG_PUBLISH || m.type == MSG_SUBSCRIBE ||
	     m.type == MSG_HISTORY) &&
	    !auth_grant_allows(s->grant, m.target)) {
		router_error(w, s, "forbidden",
			     "the token does not allow this channel", m.id);
		message_release(&m);
		return;
	}
	switch (m.type) {
	case MSG_TEXT_ECHO:
		router_reply(w, s, message_frame_text_echo(buf, len));
		break;
	case MSG_INVALID:
		router_error(w, s, m.error_code, m.error_message, m.id);
		break;
	case MSG_ECHO:
		router_reply(w, s, message_frame_echo(m.data, m.id));
		break;
	case MSG_PING:
		router_reply(w, s, message_frame_reply("pong", NULL, m.id));
		break;
	case MSG_BROADCAST:
		route_broadcast(&t, 1);
		route_client_message(w, s, &t, m.data, m.id);
		break;
	case MSG_SEND:
		route_client(&t, m.target, 1);
		route_client_message(w, s, &t, m.data, m.id);
		break;
	case MSG_PUBLISH:
		route_channel(&t, m.target, 1);
		route_client_publish(w, s, &t, m.data, m.id);
		break;
	case MSG_SUBSCRIBE:
		router_subscribe_message(w, s, &m);
		break;
	case MSG_HISTORY:
		router_history_message(w, s, &m);
		break;
	case MSG_UNSUBSCRIBE:
		if (w->history)
			history_unsubscribed(w->history, s, m.target);
		hub_unsubscribe(w->hub, s, m.target);
		router_reply(w, s,
			     message_frame_reply("unsubscribed", m.target, m.id));
		break;
	}
	message_release(&m);
}

/* Applies --rate-limit to one complete message: 0 to handle it, 1 when
 * refused (an error reply is queued), -1 when the session abuses the limit
 * and must be closed with 1008. */
static int router_rate_limited(struct worker *w, struct hub_session *s,
			       const unsigned char *in, size_t len, int binary)
{
	struct client_msg m;
	struct frame *f;

	switch (rate_take(&s->rate, w->cfg->rate_limit,
			  (uint64_t)lws_now_usecs())) {
	case RATE_OK:
		return 0;
	case RATE_LIMITED:
		metric_add(&w->metrics.rate_limited, 1);
		/* parsed only to copy its id into the refusal */
		message_parse(binary ? "" : (const char *)in, binary ? 0 : len,
			      &m);
		f = message_frame_error("rate_limited",
					"over the message rate limit", m.id);
		message_release(&m);
		hub_deliver_session(w->hub, s, f);
		frame_unref(f);
		return 1;
	case RATE_ABUSE:
		break;
	}
	metric_add(&w->metrics.rate_limited, 1);
	metric_add(&w->metrics.rate_limit_closes, 1);
	log_msg(LOG_WARN, "router",
		"closing client_id=%s: rate limit of %ld/s exceeded (1008)",
		s->client_id, w->cfg->rate_limit);
	return -1;
}

/* Applies --rate-limit-bytes to one complete message: 0 to handle it, 1
 * when refused (a rate_limited error is queued; these refusals never
 * close the session). */
static int router_bytes_limited(struct worker *w, struct hub_session *s,
				const unsigned char *in, size_t len,
				int binary)
{
	struct client_msg m;

	if (!w->cfg->rate_limit_bytes ||
	    !rate_spend(&s->bytes, (uint64_t)w->cfg->rate_limit_bytes, len,
			(uint64_t)lws_now_usecs()))
		return 0;
	metric_add(&w->metrics.rate_limited, 1);
	message_parse(binary ? "" : (const char *)in, binary ? 0 : len, &m);
	router_reply(w, s, message_frame_error("rate_limited",
					       "over the byte rate limit",
					       m.id));
	message_release(&m);
	return 1;
}

int router_client_message(struct worker *w, struct hub_session *s,
			  const unsigned char *msg, size_t len, int binary)
{
	metric_add(&w->metrics.messages_in, 1);
	metric_add(&w->metrics.bytes_in, len);
	switch (w->cfg->rate_limit
			? router_rate_limited(w, s, msg, len, binary)
			: 0) {
	case -1:
		return CLOSE_RATE_ABUSE;
	case 1:
		return 0; /* refused: answered with rate_limited */
	}
	if (router_bytes_limited(w, s, msg, len, binary))
		return 0; /* refused: answered with rate_limited */
	if (binary)
		router_client_binary(w, s, msg, len);
	else
		router_client_text(w, s, (const char *)msg, len);
	return 0;
}

void router_client_binary(struct worker *w, struct hub_session *s,
			  const void *buf, size_t len)
{
	router_reply(w, s, frame_from(buf, len, 1));
}

/* ------------------------------------------------- history.c's ops */

struct history_read {
	struct worker *w;
	struct history_resume *r;
};

/* herald_history's answer: entries encoded into frames for history.c. */
static void on_history_read(void *arg, const struct redis_history_reply *rep)
{
	struct history_read *rd = arg;
	struct worker *w = rd->w;
	const char *channel = history_resume_channel(rd->r);
	struct history_entry *v = NULL;
	struct history_page page;
	size_t n = 0;

	memset(&page, 0, sizeof(page));
	if (!rep || !channel ||
	    (rep->first && seq_parse(rep->first, rep->first_len,
				     &page.first)) ||
	    (rep->last && seq_parse(rep->last, rep->last_len, &page.last)) ||
	    (rep->count && !(v = calloc(rep->count, sizeof(*v))))) {
		history_resume_page(w->history, rd->r, NULL);
		free(rd);
		return;
	}
	page.has_first = rep->first != NULL;
	page.has_last = rep->last != NULL;
	for (size_t i = 0; i < rep->count; i++) {
		const struct redis_history_entry *e = &rep->entries[i];
		char text[SEQ_MAX];

		if (e->id_len >= SEQ_MAX || seq_parse(e->id, e->id_len,
						      &v[n].seq))
			continue;
		memcpy(text, e->id, e->id_len);
		text[e->id_len] = '\0';
		v[n].f = history_frame(channel, e->kind, e->data, e->data_len,
				       text);
		if (!v[n].f) /* malformed: kept as its raw text */
			v[n].f = message_frame_notification(
				channel, json_stringn(e->data, e->data_len),
				text);
		if (v[n].f)
			n++;
	}
	page.entries = v;
	page.count = n;
	history_resume_page(w->history, rd->r, &page);
	for (size_t i = 0; i < n; i++)
		frame_unref(v[i].f);
	free(v);
	free(rd);
}

static void history_op_read(void *arg, struct history_resume *r,
			    const char *channel, struct seq from,
			    unsigned count)
{
	struct worker *w = arg;
	struct history_page page;

	if (history_on(w) && redis_bridge_history_ok(w->redis)) {
		struct history_read *rd = malloc(sizeof(*rd));
		char text[SEQ_MAX];

		if (rd) {
			rd->w = w;
			rd->r = r;
			if (!redis_bridge_history_read(w->redis, channel,
						       seq_format(from, text),
						       count, on_history_read,
						       rd))
				return;
			free(rd);
		}
	}
	/* no Redis (or not now): the node's own ring */
	history_local_read(w->history, channel, from, count, hub_now_ms(),
			   &page);
	history_resume_page(w->history, r, &page);
}

static void history_op_deliver(void *arg, struct hub_session *s,
			       const char *channel, struct frame *f)
{
	struct worker *w = arg;

	if (s)
		hub_deliver_session(w->hub, s, f);
	else
		hub_deliver_channel(w->hub, hub_channel_find(w->hub, channel),
				    f);
}

/* Replay fills at most half of --max-queue, so that live messages and
 * replies still fit beside it; an empty queue takes one frame. */
static size_t history_op_room(void *arg, struct hub_session *s)
{
	struct worker *w = arg;
	size_t budget = (size_t)w->cfg->max_queue / 2;

	if (s->close_code || !s->queue.count)
		return (size_t)-1;
	return s->queue.bytes < budget ? budget - s->queue.bytes : 0;
}

static void history_op_subscribed(void *arg, struct hub_session *s,
				  const char *channel, json_t *id,
				  struct seq pos, int recovered)
{
	char text[SEQ_MAX];

	router_reply(arg, s, message_frame_subscribed(
				     channel, id, seq_format(pos, text),
				     recovered));
}

static void history_op_resync(void *arg, struct hub_session *s,
			      const char *channel, enum history_outcome why,
			      struct seq pos)
{
	struct worker *w = arg;
	char text[SEQ_MAX];
	struct frame *f = message_frame_resync(
		channel, history_outcome_name(why), seq_format(pos, text));

	if (s) {
		log_msg(LOG_INFO, "router", "resync client_id=%s channel=%s: %s",
			s->client_id, channel, history_outcome_name(why));
		hub_deliver_session(w->hub, s, f);
	} else {
		log_msg(LOG_WARN, "router", "resync of every subscriber of %s "
			"here: %s", channel, history_outcome_name(why));
		hub_deliver_channel(w->hub, hub_channel_find(w->hub, channel),
				    f);
	}
	frame_unref(f);
}

static void history_op_hold(void *arg, struct hub_session *s,
			    const char *channel, int held)
{
	struct worker *w = arg;

	if (s)
		hub_hold(w->hub, s, channel, held);
}

const struct history_ops router_history_ops = {
	.read = history_op_read,
	.deliver = history_op_deliver,
	.room = history_op_room,
	.subscribed = history_op_subscribed,
	.resync = history_op_resync,
	.hold = history_op_hold,
};
