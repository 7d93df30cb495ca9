/*
 * router — see router.h.
 *
 * Every outgoing message is encoded once into a frame and handed to the
 * hub, which queues a reference per recipient. A channel that has no
 * subscriber on this node costs a hash lookup and no encoding.
 */
#include "router.h"
#include "log.h"
#include "message.h"

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
	hub_next_seq(w->hub, ch, seq, sizeof(seq));
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
		f = message_frame_notification(channel, data, NULL);
		n = hub_deliver_client(w->hub, channel + 7, f);
	} else {
		struct hub_channel *ch = hub_channel_find(w->hub, channel);
		char seq[SEQ_MAX];

		if (!ch)
			return;
		hub_next_seq(w->hub, ch, seq, sizeof(seq));
		f = message_frame_notification(channel, data, seq);
		n = hub_deliver_channel(w->hub, ch, f);
	}
	if (n)
		w->metrics.notifications++;
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
		deliver_broadcast(w, s->client_id, m.data);
		break;
	case MSG_SEND:
		router_ack(w, s, m.id);
		deliver_direct(w, s->client_id, m.target, m.data);
		break;
	case MSG_PUBLISH:
		router_ack(w, s, m.id);
		deliver_channel_message(w, m.target, s->client_id, m.data);
		break;
	case MSG_SUBSCRIBE:
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
