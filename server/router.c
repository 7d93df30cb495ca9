/*
 * router — see router.h.
 *
 * Where a message goes: client broadcast, send and publish, and HTTP
 * publishes, travel through Redis while the bridge is ready, and every node
 * (this one included) delivers them when they come back from Redis; so each
 * session gets each message once, in the order Redis saw them. Without a
 * ready bridge they are delivered within this node directly.
 *
 * Client-originated messages use internal Redis channels under the prefix,
 * in the server's "$" namespace (route.h), with a small JSON envelope
 * {"from":F,"data":X}; backends publish on the public names. A target is
 * parsed once, into a struct route_target, where it arrives.
 *
 * Every outgoing message is encoded once into a frame and handed to the
 * hub, which queues a reference per recipient. A channel that has no
 * subscriber on this node costs a hash lookup and no encoding.
 */
#include "router.h"
#include "auth.h"
#include "log.h"
#include "message.h"
#include "redis.h"

#include <stdlib.h>
#include <string.h>

#define SEQ_MAX 48

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
	w->metrics.errors_sent++;
	router_reply(w, s, message_frame_error(code, text, id));
}

static void deliver_broadcast(struct worker *w, const char *from, json_t *data)
{
	struct frame *f = message_frame_broadcast(from, data);

	if (hub_deliver_all(w->hub, f))
		w->metrics.broadcasts++;
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
		w->metrics.directs++;
	frame_unref(f);
}

static void deliver_channel_message(struct worker *w, const char *channel,
				    const char *from, json_t *data)
{
	struct hub_channel *ch = hub_channel_find(w->hub, channel);
	char seq[SEQ_MAX];
	struct frame *f;

	if (!ch)
		return;
	hub_next_seq(w->hub, seq, sizeof(seq));
	f = message_frame_channel(channel, from, data, seq);
	if (hub_deliver_channel(w->hub, ch, f))
		w->metrics.publishes++;
	frame_unref(f);
}

void router_notify(struct worker *w, const struct route_target *t,
		   json_t *data)
{
	char channel[ROUTE_NAME_MAX], seq[SEQ_MAX];
	struct hub_channel *ch = NULL;
	struct frame *f;
	unsigned n = 0;

	/* nothing is encoded for a target with nobody here */
	if (t->kind == ROUTE_CLIENT && !hub_has_client(w->hub, t->name))
		return;
	if (t->kind == ROUTE_CHANNEL &&
	    !(ch = hub_channel_find(w->hub, t->name)))
		return;
	route_public_name(t, channel);
	if (ch)
		hub_next_seq(w->hub, seq, sizeof(seq));
	f = message_frame_notification(channel, data, ch ? seq : NULL);
	switch (t->kind) {
	case ROUTE_BROADCAST:
		n = hub_deliver_all(w->hub, f);
		break;
	case ROUTE_CLIENT:
		n = hub_deliver_client(w->hub, t->name, f);
		break;
	case ROUTE_CHANNEL:
		n = hub_deliver_channel(w->hub, ch, f);
		break;
	case ROUTE_KEEPALIVE:
		break;
	}
	if (n)
		w->metrics.notifications++;
	frame_unref(f);
}

/* Delivers a client's message (internal target) within this node. */
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

/* Local recipients of t, at least 1 (the fan-out budget's multiplier; a
 * message for another node's sessions costs what one recipient does). */
static uint64_t router_recipients(struct worker *w,
				  const struct route_target *t)
{
	unsigned n = 0;

	switch (t->kind) {
	case ROUTE_BROADCAST:
		n = hub_session_count(w->hub);
		break;
	case ROUTE_CLIENT:
		n = hub_client_session_count(w->hub, t->name);
		break;
	case ROUTE_CHANNEL:
		n = hub_channel_size(hub_channel_find(w->hub, t->name));
		break;
	case ROUTE_KEEPALIVE:
		break;
	}
	return n ? n : 1;
}

static void router_ack(struct worker *w, struct hub_session *s, json_t *id);

/*
 * A client's broadcast, send or publish (t internal). Everything that can
 * refuse it comes before the ack, because a message herald acks is
 * delivered (docs/protocol.md, "Errors"):
 * - its Redis envelope {"from","data"} must fit --max-message-size, the
 *   bound every node checks when it comes back from Redis (checked with
 *   or without Redis, so a client sees one rule);
 * - the node must not be overloaded (hub_overloaded: the memory budget);
 * - the sender's --fanout-limit budget must take envelope bytes x local
 *   recipients (docs/security.md, "Memory, rates and open files").
 * Then the ack, then Redis in the envelope when it is ready, so that every
 * node delivers it; else delivery here.
 */
static void route_client_message(struct worker *w, struct hub_session *s,
				 const struct route_target *t, json_t *data,
				 json_t *id)
{
	json_t *env = json_pack("{s:s, s:O}", "from", s->client_id, "data",
				data ? data : json_null());
	char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;

	if (!text) {
		router_error(w, s, "internal", "out of memory", id);
	} else if (len > (size_t)w->cfg->max_message_size) {
		router_error(w, s, "too_big", "the message with its sender "
			     "(from) is over max-message-size", id);
	} else if (hub_overloaded(w->hub)) {
		w->metrics.overloaded++;
		router_error(w, s, "overloaded", "the server is over its "
			     "memory budget; try again later", id);
	} else if (w->cfg->fanout_limit &&
		   rate_spend(&s->fanout, (uint64_t)w->cfg->fanout_limit,
			      (uint64_t)len * router_recipients(w, t),
			      (uint64_t)lws_now_usecs())) {
		w->metrics.rate_limited++;
		router_error(w, s, "rate_limited", "over the fan-out limit "
			     "(bytes x recipients per second)", id);
	} else {
		router_ack(w, s, id);
		if (route_via_redis(w, t, text, s, id))
			deliver_internal(w, t, s->client_id, data);
	}
	free(text);
	json_decref(env);
}

int router_publish(struct worker *w, const struct route_target *t,
		   json_t *data)
{
	char *text;

	if (hub_overloaded(w->hub)) {
		w->metrics.overloaded++;
		return -1;
	}
	text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	if (route_via_redis(w, t, text, NULL, NULL))
		router_notify(w, t, data);
	free(text);
	return 0;
}

/* An internal envelope {"from":F,"data":X} from another node (or this one). */
static void router_redis_internal(struct worker *w, const struct route_target *t,
				  const char *payload, size_t len)
{
	json_t *env = json_loadb(payload, len,
				JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	json_t *from = json_object_get(env, "from");
	json_t *data = json_object_get(env, "data");
	const char *sender = json_string_value(from);

	if (!sender || !data ||
	    !names_valid_client_id(sender, json_string_length(from))) {
		char name[ROUTE_NAME_MAX];

		route_redis_name(t, name);
		log_msg(LOG_WARN, "redis", "dropped malformed message on %s",
			name);
		w->metrics.drops++;
	} else {
		deliver_internal(w, t, sender, data);
	}
	json_decref(env);
}

void router_redis_message(struct worker *w, const char *channel,
			  size_t channel_len, const char *payload,
			  size_t payload_len)
{
	struct route_target t;
	json_t *data;

	if (route_parse_redis(channel, channel_len, &t)) {
		log_msg(LOG_WARN, "redis",
			"dropped message on invalid channel '%.*s'",
			(int)(channel_len > 64 ? 64 : channel_len), channel);
		w->metrics.drops++;
		return;
	}
	if (t.kind == ROUTE_KEEPALIVE)
		return; /* another node's keepalive round trip */
	if (payload_len > (size_t)w->cfg->max_message_size) {
		log_msg(LOG_WARN, "redis",
			"dropped %zu-byte message on '%.*s': over "
			"max-message-size",
			payload_len, (int)channel_len, channel);
		w->metrics.drops++;
		return;
	}
	if (t.internal) {
		router_redis_internal(w, &t, payload, payload_len);
		return;
	}
	data = message_payload_value(payload, payload_len);
	if (!data) {
		log_msg(LOG_WARN, "redis",
			"dropped message on '%.*s': payload is not UTF-8",
			(int)channel_len, channel);
		w->metrics.drops++;
		return;
	}
	router_notify(w, &t, data);
	json_decref(data);
}

void router_redis_state(struct worker *w, int ready)
{
	struct frame *f;
	json_t *o;

	if (ready && w->redis_was_ready)
		w->metrics.redis_reconnects++;
	if (ready)
		w->redis_was_ready = 1;
	o = json_pack("{s:s, s:s}", "type", "redis", "state",
		      ready ? "connected" : "disconnected");
	f = message_frame_json(o);
	json_decref(o);
	hub_deliver_all(w->hub, f);
	frame_unref(f);
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
		w->metrics.publishes_unconfirmed++;
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

int router_subscribe(struct worker *w, struct hub_session *s,
		     const char *channel)
{
	return hub_subscribe(w->hub, s, channel) ? -1 : 0;
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
		if (!auth_grant_allows(s->grant, m.target)) {
			router_error(w, s, "forbidden",
				     "the token does not allow this channel",
				     m.id);
			break;
		}
		route_channel(&t, m.target, 1);
		route_client_message(w, s, &t, m.data, m.id);
		break;
	case MSG_SUBSCRIBE:
		if (!auth_grant_allows(s->grant, m.target)) {
			router_error(w, s, "forbidden",
				     "the token does not allow this channel",
				     m.id);
			break;
		}
		switch (hub_subscribe(w->hub, s, m.target)) {
		case 0:
			router_reply(w, s, message_frame_reply(
						   "subscribed", m.target, m.id));
			break;
		case -1:
			router_error(w, s, "limit", "too many subscriptions",
				     m.id);
			break;
		default:
			router_error(w, s, "internal", "out of memory", m.id);
			break;
		}
		break;
	case MSG_UNSUBSCRIBE:
		hub_unsubscribe(w->hub, s, m.target);
		router_reply(w, s,
			     message_frame_reply("unsubscribed", m.target, m.id));
		break;
	}
	message_release(&m);
}

void router_client_binary(struct worker *w, struct hub_session *s,
			  const void *buf, size_t len)
{
	router_reply(w, s, frame_from(buf, len, 1));
}
