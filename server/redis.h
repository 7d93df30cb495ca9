/*
 * redis — the bridge between one worker and Redis.
 *
 * Role: two links per worker, a subscriber (PSUBSCRIBE <prefix>*, plus a
 * private keepalive channel) and a command link (PUBLISH). The bridge is
 * "ready" when both are up and subscribed; only then may messages travel
 * through Redis. Links reconnect on their own with capped exponential
 * backoff and jitter; a keepalive round trip (PUBLISH on the command link,
 * received on the subscriber link) with a deadline detects a silently dead
 * Redis, since hiredis 0.14 has no timeouts. What clients see of this is
 * in docs/protocol.md ("Redis link state").
 *
 * Thread: the worker's loop thread. hiredis is driven by its own libev
 * adapter on the worker's libev loop (the loop lws runs on too), and the
 * bridge's timers are libev timers on that loop: the bridge depends on
 * libev and hiredis only, not on lws.
 *
 * Ownership: the bridge owns its hiredis contexts and timers; the loop is
 * the caller's and must outlive the bridge. Replies belong to hiredis and
 * are never freed here. The ops callbacks run on the loop thread, never
 * from inside redis_bridge_create() or redis_bridge_destroy(), except
 * on_published with stopping set (so that its tag is freed).
 */
#ifndef HERALD_REDIS_H
#define HERALD_REDIS_H

#include <stddef.h>

#include "config.h"

struct ev_loop;
struct redis_bridge;

struct redis_bridge_ops {
	/* A message arrived on <prefix><channel>; channel excludes the
	 * prefix. Neither string is NUL-terminated. */
	void (*on_message)(void *arg, const char *channel, size_t channel_len,
			   const char *payload, size_t payload_len);
	/* The bridge became ready (1) or stopped being ready (0). */
	void (*on_state)(void *arg, int ready);
	/* A PUBLISH that redis_bridge_publish() queued is settled: Redis
	 * confirmed it (confirmed 1), or its link was lost or Redis answered
	 * an error first (0: it may or may not have been delivered). Runs
	 * exactly once per such PUBLISH, with its tag; inside
	 * redis_bridge_destroy() with stopping 1, only to free the tag. */
	void (*on_published)(void *arg, void *tag, int confirmed,
			     int stopping);
};

/* Creates the bridge on loop and starts connecting; NULL on OOM. target
 * must not be REDIS_NONE. Strings are copied. */
struct redis_bridge *redis_bridge_create(struct ev_loop *loop,
					 const struct redis_target *target,
					 const char *prefix, const char *node_id,
					 int worker_index,
					 const struct redis_bridge_ops *ops,
					 void *arg);

/* Closes both links, stops the timers and frees the bridge; no callback
 * runs afterwards. NULL is allowed. */
void redis_bridge_destroy(struct redis_bridge *b);

/* Whether messages can travel through Redis now. */
int redis_bridge_ready(const struct redis_bridge *b);

/* PUBLISH <prefix><channel> payload on the command link. Returns 0 when
 * queued (ops.on_published will run once with tag), -1 when the bridge is
 * not ready (nothing queued, tag untouched: the caller delivers locally).
 * PUBLISHes lost with the link are counted and logged once a second. */
int redis_bridge_publish(struct redis_bridge *b, const char *channel,
			 const char *payload, size_t len, void *tag);

#endif
