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
 * in the server's "$" namespace, with a small JSON envelope:
 *   <prefix>$broadcast        {"from":F,"data":X}
 *   <prefix>$client:<id>      {"from":F,"data":X}
 *   <prefix>$channel:<name>   {"from":F,"data":X}
 * Backends publish on <prefix><channel>, <prefix>broadcast and
 * <prefix>client:<id> (SPEC §3).
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

#include <string.h>

#define SEQ_MAX 48
#define INTERNAL_BROADCAST "$broadcast"
#define INTERNAL_CLIENT "$client:"
#define INTERNAL_CHANNEL "$channel:"
#define INTERNAL_KEEPALIVE "$keepalive:"

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

void router_notify(struct worker *w, const char *channel, json_t *data)
{
	struct frame *f = NULL;
	unsigned n = 0;

	if (!strcmp(channel, "broadcast")) {
		f = message_frame_notification(channel, data, NULL);
		n = hub_deliver_all(w->hub, f);
	} else if (!strncmp(channel, "client:", 7)) {
		if (!hub_has_client(w->hub, channel + 7))
			return;
		f = message_frame_notification(channel, data, NULL);
		n = hub_deliver_client(w->hub, channel + 7, f);
	} else {
		struct hub_channel *ch = hub_channel_find(w->hub, channel);
		char seq[SEQ_MAX];

		if (!ch)
			return;
		hub_next_seq(w->hub, seq, sizeof(seq));
		f = message_frame_notification(channel, data, seq);
		n = hub_deliver_channel(w->hub, ch, f);
	}
	if (n)
		w->metrics.notifications++;
	frame_unref(f);
}

/* Sends a client message through Redis; -1 when it must stay local. */
static int route_via_redis(struct worker *w, const char *internal_channel,
			   const char *from, json_t *data)
{
	json_t *env;
	char *text;
	int rc = -1;

	if (!redis_bridge_ready(w->redis))
		return -1;
	env = json_pack("{s:s, s:O}", "from", from, "data",
			data ? data : json_null());
	text = env ? json_dumps(env, JSON_COMPACT) : NULL;
	if (text)
		rc = redis_bridge_publish(w->redis, internal_channel, text,
					  strlen(text));
	free(text);
	json_decref(env);
	return rc;
}

static void route_broadcast(struct worker *w, const char *from, json_t *data)
{
	if (route_via_redis(w, INTERNAL_BROADCAST, from, data))
		deliver_broadcast(w, from, data);
}

static void route_direct(struct worker *w, const char *from, const char *to,
			 json_t *data)
{
	char internal[sizeof(INTERNAL_CLIENT) + NAMES_CLIENT_ID_MAX];

	snprintf(internal, sizeof(internal), INTERNAL_CLIENT "%s", to);
	if (route_via_redis(w, internal, from, data))
		deliver_direct(w, from, to, data);
}

static void route_channel_message(struct worker *w, const char *channel,
				  const char *from, json_t *data)
{
	char internal[sizeof(INTERNAL_CHANNEL) + NAMES_CHANNEL_MAX];

	snprintf(internal, sizeof(internal), INTERNAL_CHANNEL "%s", channel);
	if (route_via_redis(w, internal, from, data))
		deliver_channel_message(w, channel, from, data);
}

void router_publish(struct worker *w, const char *channel, json_t *data)
{
	char *text;

	if (redis_bridge_ready(w->redis)) {
		text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text && !redis_bridge_publish(w->redis, channel, text,
						  strlen(text))) {
			free(text);
			return;
		}
		free(text);
	}
	router_notify(w, channel, data);
}

/* An internal envelope {"from":F,"data":X} from another node (or this one). */
static void router_redis_internal(struct worker *w, const char *channel,
				  const char *payload, size_t len)
{
	json_t *env = json_loadb(payload, len,
				JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	json_t *from = json_object_get(env, "from");
	json_t *data = json_object_get(env, "data");
	const char *sender = json_string_value(from);

	if (!sender || !data ||
	    !names_valid_client_id(sender, json_string_length(from))) {
		log_msg(LOG_WARN, "redis", "dropped malformed message on %s",
			channel);
		w->metrics.drops++;
	} else if (!strcmp(channel, INTERNAL_BROADCAST)) {
		deliver_broadcast(w, sender, data);
	} else if (!strncmp(channel, INTERNAL_CLIENT, strlen(INTERNAL_CLIENT))) {
		deliver_direct(w, sender, channel + strlen(INTERNAL_CLIENT), data);
	} else {
		deliver_channel_message(w, channel + strlen(INTERNAL_CHANNEL),
					sender, data);
	}
	json_decref(env);
}

static int router_internal_channel_valid(const char *c, size_t len)
{
	size_t n;

	if (len == strlen(INTERNAL_BROADCAST) && !memcmp(c, INTERNAL_BROADCAST, len))
		return 1;
	n = strlen(INTERNAL_CLIENT);
	if (len > n && !memcmp(c, INTERNAL_CLIENT, n))
		return names_valid_client_id(c + n, len - n);
	n = strlen(INTERNAL_CHANNEL);
	if (len > n && !memcmp(c, INTERNAL_CHANNEL, n))
		return names_valid_channel(c + n, len - n);
	return 0;
}

int router_publish_target_valid(const char *c, size_t len)
{
	if (len == 9 && !memcmp(c, "broadcast", 9))
		return 1;
	if (len >= 7 && !memcmp(c, "client:", 7))
		return names_valid_client_id(c + 7, len - 7);
	return names_valid_channel(c, len);
}

void router_redis_message(struct worker *w, const char *channel,
			  size_t channel_len, const char *payload,
			  size_t payload_len)
{
	char name[NAMES_CHANNEL_MAX + 16];
	int internal = channel_len && channel[0] == '$';
	json_t *data;

	if (internal && channel_len > strlen(INTERNAL_KEEPALIVE) &&
	    !memcmp(channel, INTERNAL_KEEPALIVE, strlen(INTERNAL_KEEPALIVE)))
		return; /* another node's keepalive round trip */
	if (internal ? !router_internal_channel_valid(channel, channel_len)
		     : !router_publish_target_valid(channel, channel_len)) {
		log_msg(LOG_WARN, "redis",
			"dropped message on invalid channel '%.*s'",
			(int)(channel_len > 64 ? 64 : channel_len), channel);
		w->metrics.drops++;
		return;
	}
	if (payload_len > (size_t)w->cfg->max_message_size) {
		log_msg(LOG_WARN, "redis",
			"dropped %zu-byte message on '%.*s': over "
			"max-message-size",
			payload_len, (int)channel_len, channel);
		w->metrics.drops++;
		return;
	}
	memcpy(name, channel, channel_len);
	name[channel_len] = '\0';
	if (internal) {
		router_redis_internal(w, name, payload, payload_len);
		return;
	}
	data = message_payload_value(payload, payload_len);
	if (!data) {
		log_msg(LOG_WARN, "redis",
			"dropped message on '%s': payload is not UTF-8", name);
		w->metrics.drops++;
		return;
	}
	router_notify(w, name, data);
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
		router_ack(w, s, m.id);
		route_broadcast(w, s->client_id, m.data);
		break;
	case MSG_SEND:
		router_ack(w, s, m.id);
		route_direct(w, s->client_id, m.target, m.data);
		break;
	case MSG_PUBLISH:
		if (!auth_grant_allows(s->grant, m.target)) {
			router_error(w, s, "forbidden",
				     "the token does not allow this channel",
				     m.id);
			break;
		}
		router_ack(w, s, m.id);
		route_channel_message(w, m.target, s->client_id, m.data);
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
