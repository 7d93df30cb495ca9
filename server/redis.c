/*
 * redis — see redis.h.
 *
 * Link life cycle: link_start() connects, attaches the context to the loop
 * with hiredis's libev adapter and pipelines AUTH, SELECT and the
 * subscriptions (or a PING on the command link); the link is ready when the
 * last of those replies arrives.
 *
 * "Gone exactly once": every context ends through link_gone(), the single
 * place that marks the link down and schedules the next attempt. It takes
 * the context that ended and does nothing unless that is still the link's
 * current one, so whichever of these reports an end first wins and the
 * others find the context disowned:
 *   - hiredis's connect callback with an error (connect refused; in 0.14.1
 *     hiredis then frees the context without a disconnect callback);
 *   - hiredis's disconnect callback (Redis closed the link or an I/O or
 *     protocol error; 0.14.1 calls it only for a context that had
 *     connected);
 *   - link_drop(), for an end we decide (a deadline, Redis refusing the
 *     handshake, a failed start, the bridge stopping): it disowns the
 *     context first, then frees it, so a disconnect callback that freeing
 *     runs finds nothing to do. This also covers a context freed before it
 *     connected, for which hiredis runs no callback at all.
 * link_drop() is never called from the connect or disconnect callback:
 * hiredis goes on using the context when those return (it frees it after a
 * failed connect or a disconnect, and carries on writing after a
 * successful connect) and does not defer a free made inside them. From a
 * reply callback it is safe: hiredis defers the free until it returns.
 *
 * Replies are input: every callback accepts reply == NULL (hiredis runs the
 * pending ones with NULL when a context is freed) and checks types and
 * element counts before reading.
 */
#include "redis.h"
#include "log.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_BASE_MS 100
#define RETRY_CAP_MS 1000
#define TICK_S 1.0
#define HANDSHAKE_DEADLINE_S 3.0
#define KEEPALIVE_DEADLINE_S 3.0

struct redis_link {
	struct redis_bridge *b;
	redisAsyncContext *ac;   /* NULL while the link is down */
	const char *name;        /* "subscriber" or "command", for logs */
	int is_subscriber;
	int ready;
	int pending;             /* handshake replies still expected */
	unsigned attempt;        /* failures since the last ready state */
	double started;          /* monotonic seconds at link_start() */
	ev_timer retry;
};

struct redis_bridge {
	struct ev_loop *loop;
	struct redis_target target;
	char prefix[65];
	char pattern[67];        /* <prefix>* */
	char keepalive[200];     /* private channel for the round trip */
	char name[160];          /* CLIENT SETNAME: herald:<node>:<worker> */
	struct redis_bridge_ops ops;
	void *arg;
	struct redis_link sub, cmd;
	int history;             /* load the library, write the settings */
	unsigned history_size, history_ttl;
	int library_loaded;      /* the last load on the command link worked */
	int ready;
	int stopping;
	ev_timer tick;
	double ping_sent;        /* 0: no keepalive outstanding */
	unsigned long unconfirmed; /* PUBLISHes lost since the last log line */
};

static void link_start(struct redis_link *l);

/*
 * Deadlines are measured on the monotonic clock: libev's ev_now() is wall
 * clock time, which a clock step would turn into a false deadline or none.
 */
static double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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

static void link_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	link_start(w->data);
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
	ev_timer_stop(l->b->loop, &l->retry);
	ev_timer_set(&l->retry, ms / 1000.0, 0.);
	ev_timer_start(l->b->loop, &l->retry);
}

/* The one place a link ends; see the top of this file. */
static void link_gone(struct redis_link *l, const redisAsyncContext *ac)
{
	if (!ac || l->ac != ac)
		return; /* already gone: a later report of the same end */
	l->ac = NULL;
	l->ready = 0;
	bridge_update(l->b);
	if (!l->b->stopping)
		link_schedule_retry(l);
}

/* Ends the link's context on our initiative; why NULL: quietly. */
static void link_drop(struct redis_link *l, const char *why)
{
	redisAsyncContext *ac = l->ac;

	if (!ac)
		return;
	if (why)
		log_msg(LOG_WARN, "redis", "%s link reset: %s", l->name, why);
	link_gone(l, ac);
	redisAsyncFree(ac);
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
		/* said once per outage, not on every retry (a wrong password
		 * would otherwise log twice a second) */
		log_msg(l->attempt ? LOG_DEBUG : LOG_ERROR, "redis",
			"%s link refused by Redis: %.200s", l->name,
			r->str ? r->str : "error");
		link_drop(l, NULL); /* hiredis frees it when we return */
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

/* hiredis 0.14.1 calls this once per context: status REDIS_OK when the
 * socket connected, else the connect failed and hiredis frees the context
 * when this returns, without calling on_disconnect. */
static void on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;

	if (status == REDIS_OK) {
		log_msg(LOG_DEBUG, "redis", "%s link connected", l->name);
		return;
	}
	if (l->ac == ac)
		log_msg(l->attempt ? LOG_DEBUG : LOG_WARN, "redis",
			"%s link cannot connect: %s", l->name, ac->errstr);
	link_gone(l, ac);
}

/* A context that had connected is being freed: Redis closed it, an I/O or
 * protocol error, or link_drop() (then it is already disowned). hiredis
 * frees the context when this returns. */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;

	if (l->ac == ac && status != REDIS_OK)
		log_msg(LOG_WARN, "redis", "%s link closed: %s", l->name,
			ac->errstr);
	link_gone(l, ac);
}

/*
 * herald's function library (redis.h, "History"). The code is the same for
 * every node and prefix, so nodes with different prefixes can share a
 * Redis: the prefix is what precedes the first "stream:" of the key, and
 * each prefix's settings are in <prefix>history-config (written by each
 * node as it connects; defaults 100 and 300 when absent).
 */
static const char library[] =
	"#!lua name=herald\n"
	"local meta_ttl = " REDIS_HISTORY_META_TTL_TEXT "\n"
	"local function split(keys)\n"
	"  local key = keys[1]\n"
	"  if #keys ~= 1 then return nil end\n"
	"  local at = string.find(key, 'stream:', 1, true)\n"
	"  if not at or at + 7 > #key then return nil end\n"
	"  return string.sub(key, 1, at - 1), string.sub(key, at + 7)\n"
	"end\n"
	"redis.register_function('herald_publish', function(keys, args)\n"
	"  local prefix, channel = split(keys)\n"
	"  if not prefix then\n"
	"    return redis.error_reply('ERR herald_publish: one key, ' ..\n"
	"      '<prefix>stream:<channel>')\n"
	"  end\n"
	"  local payload, kind = args[1], args[2] or 'n'\n"
	"  if payload == nil or (kind ~= 'n' and kind ~= 'm') then\n"
	"    return redis.error_reply('ERR herald_publish: <payload> [n|m]')\n"
	"  end\n"
	"  local conf = redis.call('HMGET', prefix .. 'history-config',\n"
	"    'size', 'ttl')\n"
	"  local size = tonumber(conf[1]) or 100\n"
	"  local ttl = tonumber(conf[2]) or 300\n"
	"  local id = redis.call('XADD', keys[1], 'MAXLEN', '~', size, '*',\n"
	"    'd', payload, 'k', kind)\n"
	"  redis.call('EXPIRE', keys[1], ttl)\n"
	"  local meta = prefix .. 'meta:' .. channel\n"
	"  redis.call('HSETNX', meta, 'first', id)\n"
	"  redis.call('HSET', meta, 'last', id)\n"
	"  redis.call('EXPIRE', meta, meta_ttl)\n"
	"  redis.call('PUBLISH', prefix .. '$history:' .. channel,\n"
	"    id .. ' ' .. kind .. ' ' .. payload)\n"
	"  return id\n"
	"end)\n"
	"redis.register_function{function_name = 'herald_history',\n"
	"  flags = {'no-writes'}, callback = function(keys, args)\n"
	"  local prefix, channel = split(keys)\n"
	"  local count = tonumber(args[2])\n"
	"  if not prefix or not args[1] or not count then\n"
	"    return redis.error_reply('ERR herald_history: <from> <count>')\n"
	"  end\n"
	"  local m = redis.call('HMGET', prefix .. 'meta:' .. channel,\n"
	"    'first', 'last')\n"
	"  local entries = {}\n"
	"  if count > 0 and args[1] == '+' then\n"
	"    local rev = redis.call('XREVRANGE', keys[1], '+', '-',\n"
	"      'COUNT', count)\n"
	"    for i = #rev, 1, -1 do entries[#entries + 1] = rev[i] end\n"
	"  elseif count > 0 then\n"
	"    entries = redis.call('XRANGE', keys[1], args[1], '+',\n"
	"      'COUNT', count)\n"
	"  end\n"
	"  return {m[1] or '', m[2] or '', entries}\n"
	"end}\n";

/* FUNCTION LOAD's answer: part of the handshake, but a refusal (Redis
 * before 7, an ACL) only turns history off, it does not end the link. */
static void on_library_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_link *l = priv;
	redisReply *r = reply;

	if (!r || l->ac != ac)
		return;
	l->b->library_loaded = r->type != REDIS_REPLY_ERROR;
	if (!l->b->library_loaded)
		log_msg(LOG_ERROR, "redis",
			"cannot load the history functions (Redis 7 needed): "
			"%.200s; publishing without history",
			r->str ? r->str : "error");
	link_handshake_step(l);
}

static void link_start(struct redis_link *l)
{
	struct redis_bridge *b = l->b;
	const struct redis_target *t = &b->target;
	redisAsyncContext *ac;

	ac = t->kind == REDIS_UNIX ? redisAsyncConnectUnix(t->path)
				   : redisAsyncConnect(t->host, t->port);
	if (!ac) {
		/* no context, so nothing is gone: only try again */
		log_msg(LOG_ERROR, "redis", "%s link: out of memory", l->name);
		link_schedule_retry(l);
		return;
	}
	ac->data = l;
	l->ac = ac;
	l->ready = 0;
	l->pending = 0;
	l->started = monotonic_now();
	if (ac->err) {
		/* failed at once (no such socket file, bad address): the
		 * context is ours to free, and no callback runs */
		log_msg(l->attempt ? LOG_DEBUG : LOG_WARN, "redis",
			"%s link cannot connect: %s", l->name, ac->errstr);
		link_drop(l, NULL);
		return;
	}
	/* the adapter first: setting the connect callback arms the write
	 * watcher that tells us when the non-blocking connect completes */
	if (redisLibevAttach(b->loop, ac) != REDIS_OK) {
		log_msg(LOG_ERROR, "redis", "cannot add the %s link to the loop",
			l->name);
		link_drop(l, NULL);
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
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
	/* named for operators (CLIENT LIST, CLIENT KILL); a refusal is harmless */
	redisAsyncCommand(ac, NULL, NULL, "CLIENT SETNAME %s-%s", b->name,
			  l->is_subscriber ? "sub" : "cmd");
	if (l->is_subscriber) {
		redisAsyncCommand(ac, on_subscriber_reply, l, "PSUBSCRIBE %s",
				  b->pattern);
		redisAsyncCommand(ac, on_subscriber_reply, l, "SUBSCRIBE %s",
				  b->keepalive);
		l->pending += 2;
	} else {
		redisAsyncCommand(ac, on_handshake_reply, l, "PING");
		l->pending++;
		if (b->history) {
			b->library_loaded = 0;
			redisAsyncCommand(ac, NULL, NULL,
					  "HSET %shistory-config size %u ttl %u",
					  b->prefix, b->history_size,
					  b->history_ttl);
			redisAsyncCommand(ac, on_library_reply, l,
					  "FUNCTION LOAD REPLACE %s", library);
			l->pending++;
		}
	}
}

/* Once a second: handshake deadlines and the keepalive round trip. */
static void bridge_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct redis_bridge *b = w->data;
	double now = monotonic_now();
	struct redis_link *links[] = { &b->sub, &b->cmd };

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < 2; i++)
		if (links[i]->ac && !links[i]->ready &&
		    now - links[i]->started > HANDSHAKE_DEADLINE_S)
			link_drop(links[i], "no answer to the handshake");

	if (b->unconfirmed) {
		log_msg(LOG_WARN, "redis", "%lu PUBLISHes lost with the command "
			"link before Redis confirmed them; their senders are "
			"told (unconfirmed)", b->unconfirmed);
		b->unconfirmed = 0;
	}
	if (b->ready && b->ping_sent &&
	    now - b->ping_sent > KEEPALIVE_DEADLINE_S) {
		link_drop(&b->sub, "keepalive deadline passed");
		link_drop(&b->cmd, "keepalive deadline passed");
	} else if (b->ready && !b->ping_sent) {
		b->ping_sent = now;
		redisAsyncCommand(b->cmd.ac, NULL, NULL, "PUBLISH %s ping",
				  b->keepalive);
	}
}

static void link_init(struct redis_bridge *b, struct redis_link *l,
		      const char *name, int is_subscriber)
{
	l->b = b;
	l->name = name;
	l->is_subscriber = is_subscriber;
	ev_timer_init(&l->retry, link_retry_cb, 0., 0.);
	l->retry.data = l;
}

struct redis_bridge *redis_bridge_create(struct ev_loop *loop,
					 const struct redis_target *target,
					 const char *prefix, const char *node_id,
					 int worker_index,
					 unsigned history_size,
					 unsigned history_ttl_s,
					 const struct redis_bridge_ops *ops,
					 void *arg)
{
	struct redis_bridge *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->history = history_size > 0;
	b->history_size = history_size;
	b->history_ttl = history_ttl_s;
	b->loop = loop;
	b->target = *target;
	b->ops = *ops;
	b->arg = arg;
	snprintf(b->prefix, sizeof(b->prefix), "%s", prefix);
	snprintf(b->pattern, sizeof(b->pattern), "%s*", prefix);
	/* inside the prefix, under "$", so no client channel can collide */
	snprintf(b->keepalive, sizeof(b->keepalive), "%s$keepalive:%s:%d",
		 prefix, node_id, worker_index);
	snprintf(b->name, sizeof(b->name), "herald:%s:%d", node_id,
		 worker_index);
	link_init(b, &b->sub, "subscriber", 1);
	link_init(b, &b->cmd, "command", 0);
	ev_timer_init(&b->tick, bridge_tick, TICK_S, TICK_S);
	b->tick.data = b;
	ev_timer_start(loop, &b->tick);
	link_start(&b->sub);
	link_start(&b->cmd);
	return b;
}

void redis_bridge_destroy(struct redis_bridge *b)
{
	if (!b)
		return;
	/* stopping: link_gone() schedules nothing and no callback runs */
	b->stopping = 1;
	ev_timer_stop(b->loop, &b->tick);
	ev_timer_stop(b->loop, &b->sub.retry);
	ev_timer_stop(b->loop, &b->cmd.retry);
	link_drop(&b->sub, NULL);
	link_drop(&b->cmd, NULL);
	free(b);
}

int redis_bridge_ready(const struct redis_bridge *b)
{
	return b && b->ready;
}

/* The reply to one PUBLISH (NULL: its context went before Redis answered). */
static void on_plain_publish_reply(redisAsyncContext *ac, void *reply,
				   void *tag)
{
	struct redis_link *l = ac->data;
	struct redis_bridge *b = l->b;
	const redisReply *r = reply;
	int confirmed = r && r->type == REDIS_REPLY_INTEGER;

	if (!confirmed && !b->stopping)
		b->unconfirmed++;
	b->ops.on_published(b->arg, tag, confirmed, b->stopping);
}

int redis_bridge_publish(struct redis_bridge *b, const char *channel,
			 const char *payload, size_t len, void *tag)
{
	char full[512];
	int n;

	if (!redis_bridge_ready(b))
		return -1;
	n = snprintf(full, sizeof(full), "%s%s", b->prefix, channel);
	if (n < 0 || n >= (int)sizeof(full))
		return -1;
	return redisAsyncCommand(b->cmd.ac, on_plain_publish_reply, tag,
				 "PUBLISH %b %b", full, (size_t)n, payload,
				 len) == REDIS_OK ? 0 : -1;
}

int redis_bridge_history_ok(const struct redis_bridge *b)
{
	return redis_bridge_ready(b) && b->history && b->library_loaded;
}

/* A request's callback and argument, freed by its reply callback. */
struct redis_call {
	void *cb;
	void *arg;
};

static struct redis_call *call_new(void *cb, void *arg)
{
	struct redis_call *c = malloc(sizeof(*c));

	if (c) {
		c->cb = cb;
		c->arg = arg;
	}
	return c;
}

static void on_publish_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_call *c = priv;
	redis_seq_cb cb = (redis_seq_cb)c->cb;
	redisReply *r = reply;

	(void)ac;
	if (r && r->type == REDIS_REPLY_ERROR)
		log_msg(LOG_WARN, "redis", "herald_publish failed: %.200s",
			r->str ? r->str : "error");
	if (r && (r->type == REDIS_REPLY_STRING ||
		  r->type == REDIS_REPLY_STATUS) && r->str)
		cb(c->arg, r->str, r->len);
	else
		cb(c->arg, NULL, 0);
	free(c);
}

static int stream_key(const struct redis_bridge *b, const char *channel,
		      char *out, size_t cap)
{
	int n = snprintf(out, cap, "%sstream:%s", b->prefix, channel);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* What every history command starts with: the stream key of channel into
 * key (returns its length) and the call record for cb; -1 when history
 * is not usable now (nothing allocated). */
static int history_call_start(struct redis_bridge *b, const char *channel,
			      char *key, size_t cap, void *cb, void *arg,
			      struct redis_call **c)
{
	int n;

	if (!redis_bridge_history_ok(b) ||
	    (n = stream_key(b, channel, key, cap)) < 0 ||
	    !(*c = call_new(cb, arg)))
		return -1;
	return n;
}

int redis_bridge_history_publish(struct redis_bridge *b, const char *channel,
				 char kind, const char *payload, size_t len,
				 redis_seq_cb cb, void *arg)
{
	char key[512];
	struct redis_call *c;
	int n = history_call_start(b, channel, key, sizeof(key), (void *)cb,
				   arg, &c);

	if (n < 0)
		return -1;
	if (redisAsyncCommand(b->cmd.ac, on_publish_reply, c,
			      "FCALL herald_publish 1 %b %b %b", key,
			      (size_t)n, payload, len, &kind,
			      (size_t)1) != REDIS_OK) {
		free(c);
		return -1;
	}
	return 0;
}

static int bulk_or_empty(const redisReply *r, const char **s, size_t *len)
{
	if (!r || (r->type != REDIS_REPLY_STRING &&
		   r->type != REDIS_REPLY_STATUS) || !r->str)
		return -1;
	*s = r->len ? r->str : NULL;
	*len = r->len;
	return 0;
}

/* [id, [field, value, ...]] with fields d and k. */
static int parse_entry(const redisReply *e, struct redis_history_entry *out)
{
	const redisReply *fields;

	if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    !element_is_string(e, 0))
		return -1;
	out->id = e->element[0]->str;
	out->id_len = e->element[0]->len;
	out->data = NULL;
	out->kind = 'n';
	fields = e->element[1];
	if (!fields || fields->type != REDIS_REPLY_ARRAY ||
	    fields->elements % 2)
		return -1;
	for (size_t i = 0; i + 1 < fields->elements; i += 2) {
		const redisReply *k = fields->element[i];
		const redisReply *v = fields->element[i + 1];

		if (!element_is_string(fields, i) ||
		    !element_is_string(fields, i + 1) || k->len != 1)
			return -1;
		if (k->str[0] == 'd') {
			out->data = v->str;
			out->data_len = v->len;
		} else if (k->str[0] == 'k' && v->len == 1) {
			out->kind = v->str[0];
		}
	}
	return out->data ? 0 : -1;
}

static void on_history_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct redis_call *c = priv;
	redis_history_cb cb = (redis_history_cb)c->cb;
	const redisReply *r = reply, *list;
	struct redis_history_reply out;
	struct redis_history_entry *v = NULL;

	(void)ac;
	memset(&out, 0, sizeof(out));
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    bulk_or_empty(r->element[0], &out.first, &out.first_len) ||
	    bulk_or_empty(r->element[1], &out.last, &out.last_len) ||
	    !(list = r->element[2]) || list->type != REDIS_REPLY_ARRAY)
		goto fail;
	if (list->elements) {
		v = calloc(list->elements, sizeof(*v));
		if (!v)
			goto fail;
		for (size_t i = 0; i < list->elements; i++)
			if (parse_entry(list->element[i], &v[i]))
				goto fail;
	}
	out.entries = v;
	out.count = list->elements;
	cb(c->arg, &out);
	free(v);
	free(c);
	return;
fail:
	if (r && r->type == REDIS_REPLY_ERROR)
		log_msg(LOG_WARN, "redis", "herald_history failed: %.200s",
			r->str ? r->str : "error");
	else if (r)
		log_msg(LOG_WARN, "redis", "malformed herald_history reply");
	free(v);
	cb(c->arg, NULL);
	free(c);
}

int redis_bridge_history_read(struct redis_bridge *b, const char *channel,
			      const char *from, unsigned count,
			      redis_history_cb cb, void *arg)
{
	char key[512], num[16];
	struct redis_call *c;
	int n = history_call_start(b, channel, key, sizeof(key), (void *)cb,
				   arg, &c);

	if (n < 0)
		return -1;
	snprintf(num, sizeof(num), "%u", count);
	if (redisAsyncCommand(b->cmd.ac, on_history_reply, c,
			      "FCALL_RO herald_history 1 %b %s %s", key,
			      (size_t)n, from, num) != REDIS_OK) {
		free(c);
		return -1;
	}
	return 0;
}
