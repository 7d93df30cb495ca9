/*
 * fuzz_world — a worker without a network, for the fuzz targets that drive
 * the router: a node of one worker (its bus included), a real hub (no-op
 * transport ops), zeroed metrics, a config with sane limits, no Redis
 * (w->redis = NULL: everything is delivered within the node), and a few
 * fake sessions.
 *
 * Everything lives in one struct fuzz_world set up at the start of an input
 * and torn down at its end (world_destroy closes every session, drains
 * every queue and destroys the hub), so no state survives from one input
 * to the next and LeakSanitizer sees every allocation returned.
 *
 * Also: fuzz_check_frame(), the oracle every queued frame must pass, and
 * FUZZ_ASSERT, which aborts (a libFuzzer crash) with a message.
 */
#ifndef HERALD_FUZZ_WORLD_H
#define HERALD_FUZZ_WORLD_H

#include "config.h"
#include "frame.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "router.h"
#include "worker.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_assert.h"

#define FUZZ_MAX_SESSIONS 4
struct fuzz_world {
	struct node node;
	struct worker w;
	struct config cfg;
	struct hub_session s[FUZZ_MAX_SESSIONS];
	int nsessions;
	unsigned frames_seen;
};

static void fuzz_wake(struct hub_session *s)
{
	(void)s;
}

static void fuzz_close(struct hub_session *s)
{
	(void)s; /* s->close_code is set; the transport would close later */
}

static void fuzz_drop(struct hub_session *s)
{
	(void)s; /* only the heartbeat drops, and the fuzzers never tick */
}

static const struct hub_ops fuzz_ops = { fuzz_wake, fuzz_close, fuzz_drop };

/* Once per process: quiet logs (policy decisions are logged at warn, once
 * per input here) and a fixed jansson hash seed, so a crash replays with
 * the same hash table layout. */
static inline void fuzz_quiet_logs(void)
{
	log_configure(LOG_ERROR, LOG_FORMAT_TEXT);
	json_object_seed(1);
}

/* Sets up the worker and its hub; max_queue bounds each session's queue
 * (small values reach the slow-consumer path). Returns 0 or -1 on OOM. */
static inline int world_init(struct fuzz_world *fw, long max_message_size,
			     size_t max_queue)
{
	struct hub_limits lim = { .max_queue = max_queue, .max_sessions = 100 };

	memset(fw, 0, sizeof(*fw));
	fw->cfg.host = "127.0.0.1";
	fw->cfg.port = 8080;
	fw->cfg.redis_prefix = "herald:";
	fw->cfg.rate_limit = 100;
	fw->cfg.max_message_size = max_message_size;
	fw->cfg.max_queue = (long)max_queue;
	fw->cfg.max_connections = 100;
	fw->cfg.heartbeat = 30;
	snprintf(fw->cfg.node_id, sizeof(fw->cfg.node_id), "fuzz-node");
	if (node_setup(&fw->node, &fw->cfg, 1))
		return -1;
	fw->node.workers = &fw->w;
	fw->w.node = &fw->node;
	fw->w.cfg = &fw->cfg;
	fw->w.redis = NULL;
	fw->w.hub = hub_create(&fuzz_ops, &lim, &fw->w.metrics);
	if (!fw->w.hub) {
		node_teardown(&fw->node);
		return -1;
	}
	hub_set_node(fw->w.hub, &node_hub_ops, &fw->w);
	return 0;
}

/* Opens a fake session for client_id with an optional grant (borrowed: the
 * world never frees it). Returns the session or NULL. */
static inline struct hub_session *world_open(struct fuzz_world *fw,
					     const char *client_id,
					     struct auth_grant *grant)
{
	struct hub_session *s;

	if (fw->nsessions >= FUZZ_MAX_SESSIONS)
		return NULL;
	s = &fw->s[fw->nsessions];
	memset(s, 0, sizeof(*s));
	s->transport = s;
	s->grant = grant;
	if (hub_session_open(fw->w.hub, s, client_id))
		return NULL;
	fw->nsessions++;
	return s;
}

/* The oracle for what herald puts on the wire: binary frames are opaque;
 * a text frame is "Echo: ..." or one compact JSON object with a string
 * "type" of a message herald sends. */
static inline void fuzz_check_frame(struct frame *f)
{
	static const char *const types[] = {
		"error", "subscribed", "unsubscribed", "pong", "ack", "echo",
		"broadcast", "message", "notification", "welcome", "redis",
	};
	const unsigned char *p = frame_payload(f);
	json_error_t err;
	json_t *v, *type;
	int known = 0;

	FUZZ_ASSERT(f->refs >= 1);
	if (f->binary)
		return;
	if (f->len >= 6 && !memcmp(p, "Echo: ", 6))
		return;
	v = json_loadb((const char *)p, f->len,
		       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	/* data nested up to jansson's parse limit (2048) comes back one or
	 * two levels deeper inside the reply: too deep for this parser, not
	 * for a client's */
	if (!v && json_error_code(&err) == json_error_stack_overflow)
		return;
	if (!v)
		fprintf(stderr, "frame is not JSON (%s): %.*s\n", err.text,
			(int)(f->len > 300 ? 300 : f->len), (const char *)p);
	FUZZ_ASSERT(v != NULL);
	FUZZ_ASSERT(json_is_object(v));
	type = json_object_get(v, "type");
	FUZZ_ASSERT(json_is_string(type));
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		known |= !strcmp(json_string_value(type), types[i]);
	FUZZ_ASSERT(known);
	json_decref(v);
}

/* What the transport does when it writes: takes every queued frame off
 * s's queue, checking each. */
static inline void world_drain_session(struct fuzz_world *fw,
				       struct hub_session *s)
{
	struct frame *f;

	while ((f = frame_queue_peek(&s->queue))) {
		fuzz_check_frame(f);
		fw->frames_seen++;
		frame_queue_pop(&s->queue);
	}
	FUZZ_ASSERT(s->queue.count == 0 && s->queue.bytes == 0);
}

static inline void world_drain(struct fuzz_world *fw)
{
	for (int i = 0; i < fw->nsessions; i++)
		world_drain_session(fw, &fw->s[i]);
}

/* Closes every session (what is still queued is dropped with
 * frame_queue_clear inside hub_session_close) and frees the hub. */
static inline void world_destroy(struct fuzz_world *fw)
{
	for (int i = 0; i < fw->nsessions; i++) {
		hub_session_close(fw->w.hub, &fw->s[i]);
		FUZZ_ASSERT(fw->s[i].queue.count == 0);
		FUZZ_ASSERT(fw->s[i]._subs.count == 0);
	}
	FUZZ_ASSERT(hub_session_count(fw->w.hub) == 0);
	FUZZ_ASSERT(hub_client_count(fw->w.hub) == 0);
	FUZZ_ASSERT(hub_channel_count(fw->w.hub) == 0);
	hub_destroy(fw->w.hub);
	fw->w.hub = NULL;
	node_teardown(&fw->node);
}

#endif
