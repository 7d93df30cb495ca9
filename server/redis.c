/*
 * redis — see redis.h.
 *
 * Link life cycle: link_start() connects and pipelines AUTH, SELECT and the
 * subscriptions (or a PING on the command link); the link is ready when the
 * last of those replies arrives. Whatever ends a link (error, Redis closing,
 * a deadline we enforce), hiredis's cleanup runs once and calls link_gone(),
 * the single place that marks it down and schedules the next attempt.
 *
 * Replies are input: every callback accepts reply == NULL (teardown) and
 * checks types and element counts before reading.
 */
#include "redis.h"
#include "log.h"
#include "redis_io.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_BASE_MS 100
#define RETRY_CAP_MS 1000
#define TICK_US (1 * LWS_US_PER_SEC)
#define HANDSHAKE_DEADLINE_US (3 * LWS_US_PER_SEC)
#define KEEPALIVE_DEADLINE_US (3 * LWS_US_PER_SEC)

struct redis_link {
	struct redis_bridge *b;
	redisAsyncContext *ac;
	const char *name;        /* "subscriber" or "command", for logs */
	int is_subscriber;
	int ready;
	int pending;             /* handshake replies still expected */
	unsigned attempt;        /* failures since the last ready state */
	lws_usec_t started;
	lws_sorted_usec_list_t retry;
};

struct redis_bridge {
	struct lws_vhost *vhost;
	struct lws_context *context;
	struct redis_target target;
	char prefix[65];
	char pattern[67];        /* <prefix>* */
	char keepalive[200];     /* private channel for the round trip */
	struct redis_bridge_ops ops;
	void *arg;
	struct redis_link sub, cmd;
	int ready;
	int stopping;
	lws_sorted_usec_list_t tick;
	lws_usec_t ping_sent;    /* 0: no keepalive outstanding */
};

static void link_start(struct redis_link *l);

static void bridge_update(struct redis_bridge *b)
{
	int ready = b->sub.ready && b->cmd.ready;

	if (ready == b->ready || b->stopping)
		return;
	b->ready = ready;
	b->ping_sent = 0;
	log_msg(ready ? LOG_INFO : LOG_WARN, "redis", "link %s",
		ready ? "connected" : "lost; delivering within this node");
	b->ops.on_state(b->arg, ready);
}

static void link_retry_cb(lws_sorted_usec_list_t *sul)
{
	link_start(lws_container_of(sul, struct redis_link, retry));
}

/* Capped exponential backoff with jitter: half fixed, half random. */
static void link_schedule_retry(struct redis_link *l)
{
	unsigned shift = l->attempt < 10 ? l->attempt : 10;
	unsigned ms = RETRY_BASE_MS << shift;

	if (ms > RETRY_CAP_MS)
		ms = RETRY_CAP_MS;
	ms = ms / 2 + (unsigned)(rand() % (int)(ms / 2 + 1));
	l->attempt++;
	lws_sul_schedule(l->b->context, 0, &l->retry, link_retry_cb,
			 (lws_usec_t)ms * LWS_US_PER_MS);
}

static void link_gone(void *arg)
{
	struct redis_link *l = arg;

	l->ac = NULL;
	l->ready = 0;
	bridge_update(l->b);
	if (!l->b->stopping)
		link_schedule_retry(l);
}

/* Ends a link we no longer trust; link_gone() follows from the cleanup. */
static void link_reset(struct redis_link *l, const char *why)
{
	if (!l->ac)
		return;
	log_msg(LOG_WARN, "redis", "%s link reset: %s", l->name, why);
	redisAsyncFree(l->ac);
}

static void link_handshake_step(struct redis_link *l)
{
	if (--l->pending > 0)
		return;
	l->ready = 1;
	l->attempt = 0;
	log_msg(LOG_DEBUG, "redis", "%s link ready", l->name);
	bridge_update(l->b);
}

/* A handshake reply (AUTH, SELECT, PING): any error ends the link. */
static void on_handshake_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_link *l = priv;
	redisReply *r = reply;

	if (!r || l->ac != ac)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		log_msg(LOG_ERROR, "redis", "%s link refused by Redis: %.200s",
			l->name, r->str ? r->str : "error");
		redisAsyncDisconnect(ac);
		return;
	}
	link_handshake_step(l);
}

static int element_is_string(const redisReply *r, size_t i)
{
	return i < r->elements && r->element[i] &&
	       (r->element[i]->type == REDIS_REPLY_STRING ||
		r->element[i]->type == REDIS_REPLY_STATUS) &&
	       r->element[i]->str;
}

/* Every reply on the subscriber link: (p)subscribe confirmations and
 * pushed (p)messages. */
static void on_subscriber_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_link *l = priv;
	struct redis_bridge *b = l->b;
	redisReply *r = reply;
	const char *kind;

	if (!r || l->ac != ac)
		return;
	if (r->type != REDIS_REPLY_ARRAY || !element_is_string(r, 0)) {
		log_msg(LOG_WARN, "redis", "unexpected reply on subscriber link");
		return;
	}
	kind = r->element[0]->str;
	if (!strcmp(kind, "psubscribe") || !strcmp(kind, "subscribe")) {
		link_handshake_step(l);
	} else if (!strcmp(kind, "pmessage") && r->elements == 4 &&
		   element_is_string(r, 2) && element_is_string(r, 3)) {
		const redisReply *ch = r->element[2], *payload = r->element[3];
		size_t plen = strlen(b->prefix);

		if (ch->len < plen || memcmp(ch->str, b->prefix, plen))
			return;
		if (ch->len == strlen(b->keepalive) &&
		    !memcmp(ch->str, b->keepalive, ch->len))
			return; /* also seen as "message" below */
		b->ops.on_message(b->arg, ch->str + plen, ch->len - plen,
				  payload->str, payload->len);
	} else if (!strcmp(kind, "message") && r->elements == 3 &&
		   element_is_string(r, 1)) {
		b->ping_sent = 0; /* the keepalive came back */
	}
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;

	if (status != REDIS_OK)
		log_msg(l->attempt ? LOG_DEBUG : LOG_WARN, "redis",
			"%s link cannot connect: %s", l->name, ac->errstr);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;

	if (status != REDIS_OK && !l->b->stopping)
		log_msg(LOG_WARN, "redis", "%s link closed: %s", l->name,
			ac->errstr);
}

static void link_start(struct redis_link *l)
{
	struct redis_bridge *b = l->b;
	const struct redis_target *t = &b->target;
	redisAsyncContext *ac;

	ac = t->kind == REDIS_UNIX ? redisAsyncConnectUnix(t->path)
				   : redisAsyncConnect(t->host, t->port);
	if (!ac || ac->err) {
		log_msg(l->attempt ? LOG_DEBUG : LOG_WARN, "redis",
			"%s link cannot connect: %s", l->name,
			ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		link_schedule_retry(l);
		return;
	}
	ac->data = l;
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	if (redis_io_attach(b->vhost, ac, link_gone, l)) {
		log_msg(LOG_ERROR, "redis", "cannot add the %s link to the loop",
			l->name);
		redisAsyncFree(ac);
		link_schedule_retry(l);
		return;
	}
	l->ac = ac;
	l->started = lws_now_usecs();
	l->pending = 0;
	if (t->username[0]) {
		redisAsyncCommand(ac, on_handshake_reply, l, "AUTH %s %s",
				  t->username, t->password);
		l->pending++;
	} else if (t->password[0]) {
		redisAsyncCommand(ac, on_handshake_reply, l, "AUTH %s",
				  t->password);
		l->pending++;
	}
	if (t->db > 0) {
		redisAsyncCommand(ac, on_handshake_reply, l, "SELECT %d", t->db);
		l->pending++;
	}
	if (l->is_subscriber) {
		redisAsyncCommand(ac, on_subscriber_reply, l, "PSUBSCRIBE %s",
				  b->pattern);
		redisAsyncCommand(ac, on_subscriber_reply, l, "SUBSCRIBE %s",
				  b->keepalive);
		l->pending += 2;
	} else {
		redisAsyncCommand(ac, on_handshake_reply, l, "PING");
		l->pending++;
	}
}

/* Once a second: handshake deadlines and the keepalive round trip. */
static void bridge_tick(lws_sorted_usec_list_t *sul)
{
	struct redis_bridge *b = lws_container_of(sul, struct redis_bridge, tick);
	lws_usec_t now = lws_now_usecs();
	struct redis_link *links[] = { &b->sub, &b->cmd };

	for (size_t i = 0; i < 2; i++)
		if (links[i]->ac && !links[i]->ready &&
		    now - links[i]->started > HANDSHAKE_DEADLINE_US)
			link_reset(links[i], "no answer to the handshake");

	if (b->ready && b->ping_sent &&
	    now - b->ping_sent > KEEPALIVE_DEADLINE_US) {
		link_reset(&b->sub, "keepalive deadline passed");
		link_reset(&b->cmd, "keepalive deadline passed");
	} else if (b->ready && !b->ping_sent) {
		b->ping_sent = now;
		redisAsyncCommand(b->cmd.ac, NULL, NULL, "PUBLISH %s ping",
				  b->keepalive);
	}
	lws_sul_schedule(b->context, 0, &b->tick, bridge_tick, TICK_US);
}

struct redis_bridge *redis_bridge_create(struct lws_context *context,
					 struct lws_vhost *vhost,
					 const struct redis_target *target,
					 const char *prefix, const char *node_id,
					 int worker_index,
					 const struct redis_bridge_ops *ops,
					 void *arg)
{
	struct redis_bridge *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->vhost = vhost;
	b->context = context;
	b->target = *target;
	b->ops = *ops;
	b->arg = arg;
	snprintf(b->prefix, sizeof(b->prefix), "%s", prefix);
	snprintf(b->pattern, sizeof(b->pattern), "%s*", prefix);
	/* inside the prefix, under "$", so no client channel can collide */
	snprintf(b->keepalive, sizeof(b->keepalive), "%s$keepalive:%s:%d",
		 prefix, node_id, worker_index);
	b->sub.b = b->cmd.b = b;
	b->sub.name = "subscriber";
	b->sub.is_subscriber = 1;
	b->cmd.name = "command";
	link_start(&b->sub);
	link_start(&b->cmd);
	lws_sul_schedule(b->context, 0, &b->tick, bridge_tick, TICK_US);
	return b;
}

void redis_bridge_destroy(struct redis_bridge *b)
{
	if (!b)
		return;
	b->stopping = 1;
	lws_sul_cancel(&b->tick);
	lws_sul_cancel(&b->sub.retry);
	lws_sul_cancel(&b->cmd.retry);
	if (b->sub.ac)
		redisAsyncFree(b->sub.ac);
	if (b->cmd.ac)
		redisAsyncFree(b->cmd.ac);
	free(b);
}

int redis_bridge_ready(const struct redis_bridge *b)
{
	return b && b->ready;
}

int redis_bridge_publish(struct redis_bridge *b, const char *channel,
			 const char *payload, size_t len)
{
	char full[512];
	int n;

	if (!redis_bridge_ready(b))
		return -1;
	n = snprintf(full, sizeof(full), "%s%s", b->prefix, channel);
	if (n < 0 || n >= (int)sizeof(full))
		return -1;
	return redisAsyncCommand(b->cmd.ac, NULL, NULL, "PUBLISH %b %b", full,
				 (size_t)n, payload, len) == REDIS_OK ? 0 : -1;
}
