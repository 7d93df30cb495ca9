/*
 * trigger — see trigger.h.
 *
 * Role: the publishing side of the fan-out scenario. Every message is
 * written into one buffer allocated at creation (msg) and from there into
 * the socket's output queue; replies are parsed in the socket's read buffer.
 * Invariants: pending = sent - acked - failed (for Redis and HTTP); an HTTP
 * socket has at most one request in flight (busy).
 * Thread: the engine's.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "trigger.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "util.h"

#define TRIGGER_HTTP_POOL 8

struct trigger {
	struct trigger_cfg cfg;
	struct engine *e;
	struct net_url url;     /* Redis or HTTP target */
	struct conn *ws;
	struct conn *redis;
	struct conn *http[TRIGGER_HTTP_POOL];
	uint8_t http_busy[TRIGGER_HTTP_POOL];
	int ready;
	int herald_api;         /* wrap the body for /api/publish */
	char http_path[2100];
	char auth[300];         /* "Authorization: Bearer ...\r\n" or "" */
	char *msg;              /* one message being built */
	size_t msg_cap;
	uint64_t sent, acked, failed, skipped, echoes;
	int64_t receivers;
	char first_error[256];
};

static void trigger_error(struct trigger *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void trigger_error(struct trigger *t, const char *fmt, ...)
{
	va_list ap;

	if (t->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(t->first_error, sizeof(t->first_error), fmt, ap);
	va_end(ap);
}

uint32_t trigger_slots(enum trigger_kind kind)
{
	return kind == TRIGGER_HTTP ? TRIGGER_HTTP_POOL : 1;
}

int trigger_kind_parse(const char *s, enum trigger_kind *kind)
{
	if (!strcmp(s, "ws"))
		*kind = TRIGGER_WS;
	else if (!strcmp(s, "redis"))
		*kind = TRIGGER_REDIS;
	else if (!strcmp(s, "http"))
		*kind = TRIGGER_HTTP;
	else
		return -1;
	return 0;
}

int trigger_owns(const struct trigger *t, const struct conn *c)
{
	return t && t->ws == c;
}

void trigger_on_ws_open(struct trigger *t)
{
	t->ready = 1;
}

void trigger_on_ws_msg(struct trigger *t, const unsigned char *p, size_t len)
{
	if (memmem(p, len, "\"seq\":", 6))
		t->echoes++;
}

void trigger_on_ws_close(struct trigger *t, const char *why)
{
	trigger_error(t, "publisher connection: %s", why);
	t->ready = -1;
}

/* ------------------------------------------------------------ Redis */

/* Handles the replies in c->rbuf: one line per PUBLISH. */
static void trigger_redis_replies(struct trigger *t, struct conn *c)
{
	unsigned char *p = c->rbuf, *end = c->rbuf + c->rlen;

	for (;;) {
		unsigned char *nl = memchr(p, '\n', (size_t)(end - p));

		if (!nl)
			break;
		if (*p == ':') {
			t->acked++;
			t->receivers = strtoll((const char *)p + 1, NULL, 10);
		} else if (*p == '-') {
			t->failed++;
			trigger_error(t, "redis: %.*s", (int)(nl - p - 1 > 120 ? 120 : nl - p - 1),
				      (const char *)p + 1);
		} else {
			t->failed++;
			trigger_error(t, "redis: unexpected reply %.40s", (const char *)p);
		}
		p = nl + 1;
	}
	if (p != c->rbuf) {
		memmove(c->rbuf, p, (size_t)(end - p));
		c->rlen = (uint32_t)(end - p);
	}
}

static void trigger_redis_event(struct engine *e, struct conn *c,
				uint32_t events, int64_t now)
{
	struct trigger *t = c->user;
	const char *why = errno ? strerror(errno) : "socket error";
	long n;

	(void)now;
	if (events == EPOLLOUT) { /* connected */
		t->ready = 1;
		return;
	}
	if (events & EPOLLIN) {
		n = conn_raw_read(e, c);
		if (n > 0) {
			trigger_redis_replies(t, c);
			return;
		}
		if (n == -2)
			return;
		why = n == 0 ? "closed by the server" : strerror(errno);
	}
	trigger_error(t, "redis connection %s: %s", t->ready ? "lost" : "failed",
		      why);
	t->failed += t->sent - t->acked - t->failed;
	t->ready = -1;
	conn_abort(e, c, 0);
}

static int trigger_redis_publish(struct trigger *t, const char *body,
				 size_t len)
{
	size_t clen = strlen(t->cfg.channel);
	int h;

	if (t->ready != 1 || t->redis->state != CONN_RAW) {
		t->skipped++;
		return -1;
	}
	h = snprintf(t->msg, t->msg_cap, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n",
		     clen, t->cfg.channel, len);
	if (h < 0 || (size_t)h + len + 2 > t->msg_cap)
		return -1;
	memcpy(t->msg + h, body, len);
	memcpy(t->msg + h + len, "\r\n", 2);
	if (conn_queue_bytes(t->e, t->redis, t->msg, (size_t)h + len + 2) < 0) {
		t->skipped++;
		return -1;
	}
	t->sent++;
	conn_flush(t->e, t->redis);
	return 0;
}

/* ------------------------------------------------------------ HTTP */

static int trigger_http_index(struct trigger *t, struct conn *c)
{
	for (int i = 0; i < TRIGGER_HTTP_POOL; i++)
		if (t->http[i] == c)
			return i;
	return -1;
}

/* Parses one response in c->rbuf. Returns 1 when complete (*status set,
 * *close if the server will close), 0 when more bytes are needed. */
static int trigger_http_response(struct conn *c, int *status, int *close_after,
				 char *body, size_t bodycap)
{
	char *buf = (char *)c->rbuf, *hend, *line;
	size_t len = c->rlen, hlen, total;
	long long clen = -1;
	int chunked = 0;

	hend = memmem(buf, len, "\r\n\r\n", 4);
	if (!hend)
		return 0;
	hlen = (size_t)(hend - buf) + 4;
	*status = (len > 12 && !strncmp(buf, "HTTP/1.", 7)) ? atoi(buf + 9) : 0;
	*close_after = !strncmp(buf, "HTTP/1.0", 8);
	for (line = memchr(buf, '\n', hlen) + 1; line < hend;) {
		char *eol = memmem(line, (size_t)(hend + 2 - line), "\r\n", 2);

		if (!eol)
			break;
		if (!strncasecmp(line, "Content-Length:", 15))
			clen = strtoll(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) &&
			 memmem(line, (size_t)(eol - line), "chunked", 7))
			chunked = 1;
		else if (!strncasecmp(line, "Connection:", 11) &&
			 memmem(line, (size_t)(eol - line), "close", 5))
			*close_after = 1;
		line = eol + 2;
	}
	if (chunked) {
		char *z = memmem(buf + hlen, len - hlen, "0\r\n\r\n", 5);

		if (!z)
			return 0;
		total = (size_t)(z - buf) + 5;
	} else if (clen >= 0) {
		if (len < hlen + (size_t)clen)
			return 0;
		total = hlen + (size_t)clen;
	} else if (*status == 204 || *status == 304) {
		total = hlen;
	} else {
		return 0; /* body until close: wait for EOF */
	}
	snprintf(body, bodycap, "%.*s", (int)(total - hlen > 100 ? 100 : total - hlen),
		 buf + hlen);
	memmove(buf, buf + total, len - total);
	c->rlen = (uint32_t)(len - total);
	return 1;
}

static void trigger_http_event(struct engine *e, struct conn *c,
			       uint32_t events, int64_t now)
{
	struct trigger *t = c->user;
	int i = trigger_http_index(t, c);
	int status, close_after = 0;
	char body[128];
	const char *why = errno ? strerror(errno) : "socket error";
	long n;

	(void)now;
	if (events == EPOLLOUT) /* connected; the request was flushed */
		return;
	if (events & EPOLLIN) {
		n = conn_raw_read(e, c);
		if (n == -2)
			return;
		why = n == 0 ? "closed by the server" : strerror(errno);
		if (n > 0) {
			if (!trigger_http_response(c, &status, &close_after, body,
						   sizeof(body)))
				return;
			if (i >= 0)
				t->http_busy[i] = 0;
			if (status >= 200 && status < 300) {
				t->acked++;
			} else {
				t->failed++;
				trigger_error(t, "publish HTTP %d: %s", status, body);
			}
			if (close_after)
				conn_abort(e, c, 0);
			return;
		}
		if (n == 0 && c->rlen && i >= 0 && t->http_busy[i]) {
			/* a body delimited by the close */
			status = atoi((const char *)c->rbuf + 9);
			t->http_busy[i] = 0;
			if (status >= 200 && status < 300) {
				t->acked++;
			} else {
				t->failed++;
				trigger_error(t, "publish HTTP %d", status);
			}
			conn_abort(e, c, 0);
			return;
		}
	}
	if (i >= 0 && t->http_busy[i]) {
		t->http_busy[i] = 0;
		t->failed++;
		trigger_error(t, "publish HTTP connection: %s", why);
	}
	conn_abort(e, c, 0);
}

static int trigger_http_publish(struct trigger *t, const char *body,
				size_t len)
{
	struct conn *c = NULL;
	size_t blen = len;
	int i, h, idle = -1, unused = -1;

	for (i = 0; i < TRIGGER_HTTP_POOL; i++) {
		if (t->http_busy[i])
			continue;
		if (t->http[i]->state == CONN_RAW) {
			idle = i;
			break;
		}
		if (unused < 0 && t->http[i]->state == CONN_FREE)
			unused = i;
	}
	if (idle < 0 && unused < 0) {
		t->skipped++;
		trigger_error(t, "every HTTP publish socket busy (%d)",
			      TRIGGER_HTTP_POOL);
		return -1;
	}
	if (idle < 0) {
		i = unused;
		c = t->http[i];
		if (engine_raw_connect(t->e, c, &t->url, trigger_http_event, t) < 0) {
			t->failed++;
			trigger_error(t, "publish HTTP connect: %s", strerror(errno));
			return -1;
		}
	} else {
		i = idle;
		c = t->http[i];
	}
	if (t->herald_api)
		blen = len + strlen(t->cfg.api_channel) + 22;
	h = snprintf(t->msg, t->msg_cap,
		     "POST %s HTTP/1.1\r\nHost: %s\r\n%s"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     t->http_path, t->url.hostport, t->auth, blen);
	if (h < 0 || (size_t)h + blen > t->msg_cap)
		goto too_big;
	if (t->herald_api) {
		int b = snprintf(t->msg + h, t->msg_cap - (size_t)h,
				 "{\"channel\":\"%s\",\"data\":%.*s}",
				 t->cfg.api_channel, (int)len, body);

		if (b < 0 || (size_t)b != blen)
			goto too_big;
	} else {
		memcpy(t->msg + h, body, len);
	}
	if (conn_queue_bytes(t->e, c, t->msg, (size_t)h + blen) < 0) {
		t->skipped++;
		return -1;
	}
	t->http_busy[i] = 1;
	t->sent++;
	conn_flush(t->e, c);
	return 0;

too_big:
	t->skipped++;
	trigger_error(t, "publish request does not fit its buffer");
	return -1;
}

/* ------------------------------------------------------------ WS */

static int trigger_ws_publish(struct trigger *t, const char *body, size_t len)
{
	int n;

	if (t->ready != 1 || t->ws->state != CONN_OPEN) {
		t->skipped++;
		return -1;
	}
	n = snprintf(t->msg, t->msg_cap, "{\"type\":\"broadcast\",\"data\":%.*s}",
		     (int)len, body);
	if (n < 0 || (size_t)n >= t->msg_cap)
		return -1;
	if (conn_queue_frame(t->e, t->ws, WS_OP_TEXT, t->msg, (size_t)n) < 0) {
		t->skipped++;
		return -1;
	}
	t->sent++;
	t->acked++;
	conn_flush(t->e, t->ws);
	return 0;
}

/* ------------------------------------------------------------ common */

int trigger_publish(struct trigger *t, const char *body, size_t len)
{
	if (len > t->cfg.max_body)
		return -1;
	switch (t->cfg.kind) {
	case TRIGGER_WS:
		return trigger_ws_publish(t, body, len);
	case TRIGGER_REDIS:
		return trigger_redis_publish(t, body, len);
	case TRIGGER_HTTP:
		return trigger_http_publish(t, body, len);
	}
	return -1;
}

struct trigger *trigger_create(struct engine *e, const struct trigger_cfg *cfg,
			       int64_t deadline, char *err, size_t errcap)
{
	struct trigger *t = calloc(1, sizeof(*t));
	const char *addr;

	if (!t) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	t->cfg = *cfg;
	t->e = e;
	t->msg_cap = cfg->max_body + 2048;
	t->msg = malloc(t->msg_cap);
	if (!t->msg) {
		snprintf(err, errcap, "out of memory");
		goto fail;
	}
	switch (cfg->kind) {
	case TRIGGER_WS:
		t->ws = engine_conn(e, cfg->slot_first);
		if (engine_dial(e, t->ws, "publisher", util_now_ns()) < 0) {
			snprintf(err, errcap, "publisher dial: %s", e->first_error);
			goto fail;
		}
		break;
	case TRIGGER_REDIS:
		addr = cfg->redis_addr;
		if (!strncmp(addr, "redis://", 8))
			addr += 8;
		if (net_url_parse(&t->url, addr, err, errcap) < 0)
			goto fail;
		t->redis = engine_conn(e, cfg->slot_first);
		if (engine_raw_connect(e, t->redis, &t->url, trigger_redis_event, t) < 0) {
			snprintf(err, errcap, "redis connect %s: %s", addr,
				 strerror(errno));
			goto fail;
		}
		break;
	case TRIGGER_HTTP:
		if (cfg->pub_url) {
			if (net_url_parse(&t->url, cfg->pub_url, err, errcap) < 0)
				goto fail;
			snprintf(t->http_path, sizeof(t->http_path), "%s%s",
				 t->url.path[0] ? t->url.path : "/", t->url.query);
		} else {
			t->url = *e->url;
			t->herald_api = 1;
			snprintf(t->http_path, sizeof(t->http_path), "%s/api/publish",
				 t->url.path);
		}
		if (cfg->api_key && cfg->api_key[0])
			snprintf(t->auth, sizeof(t->auth),
				 "Authorization: Bearer %s\r\n", cfg->api_key);
		for (int i = 0; i < TRIGGER_HTTP_POOL; i++)
			t->http[i] = engine_conn(e, cfg->slot_first + (uint32_t)i);
		/* the first socket is opened by the first publish */
		t->ready = 1;
		break;
	}
	while (!t->ready && util_now_ns() < deadline) {
		engine_poll(e, 5);
		/* the scenario cannot forward the WS publisher's events yet */
		if (t->ws && t->ws->state == CONN_OPEN)
			t->ready = 1;
		else if (t->ws && t->ws->state == CONN_FREE)
			t->ready = -1;
	}
	if (t->ready != 1) {
		snprintf(err, errcap, "publisher not ready: %s",
			 t->first_error[0] ? t->first_error
			 : e->first_error[0] ? e->first_error : "timeout");
		goto fail;
	}
	return t;

fail:
	trigger_destroy(t);
	return NULL;
}

void trigger_destroy(struct trigger *t)
{
	if (!t)
		return;
	if (t->ws && t->ws->state != CONN_FREE)
		conn_close(t->e, t->ws, 1000);
	if (t->redis)
		conn_abort(t->e, t->redis, 0);
	for (int i = 0; i < TRIGGER_HTTP_POOL; i++)
		if (t->http[i])
			conn_abort(t->e, t->http[i], 0);
	free(t->msg);
	free(t);
}

void trigger_stats(const struct trigger *t, struct trigger_stats *s)
{
	s->sent = t->sent;
	s->acked = t->acked;
	s->failed = t->failed;
	s->skipped = t->skipped;
	s->pending = t->sent - t->acked - t->failed;
	s->echoes = t->echoes;
	s->receivers = t->receivers;
	s->first_error = t->first_error;
}
