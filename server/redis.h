/*
 * redis — the bridge between one worker and Redis (SPEC §3, DESIGN §5).
 *
 * Two links per worker, both driven by hiredis async on the worker's lws
 * loop (protocols/redis_io.c): a subscriber (PSUBSCRIBE <prefix>*, plus a
 * private keepalive channel) and a command link (PUBLISH). The bridge is
 * "ready" when both are up and subscribed; only then may messages travel
 * through Redis. Links reconnect on their own with capped exponential
 * backoff and jitter; a keepalive round trip (PUBLISH on the command link,
 * received on the subscriber link) with a deadline detects a silently dead
 * Redis, since hiredis 0.14 has no timeouts.
 *
 * Thread: the worker's lws service thread. The bridge owns its hiredis
 * contexts; replies are hiredis's and are never freed here.
 */
#ifndef HERALD_REDIS_H
#define HERALD_REDIS_H

#include <libwebsockets.h>
#include <stddef.h>

#include "config.h"

struct redis_bridge;

struct redis_bridge_ops {
	/* A message arrived on <prefix><channel>; channel excludes the
	 * prefix. Neither string is NUL-terminated. */
	void (*on_message)(void *arg, const char *channel, size_t channel_len,
			   const char *payload, size_t payload_len);
	/* The bridge became ready (1) or stopped being ready (0). */
	void (*on_state)(void *arg, int ready);
};

/* Creates the bridge and starts connecting; NULL on OOM. target must not
 * be REDIS_NONE. Strings are copied. */
struct redis_bridge *redis_bridge_create(struct lws_context *context,
					 struct lws_vhost *vhost,
					 const struct redis_target *target,
					 const char *prefix, const char *node_id,
					 int worker_index,
					 const struct redis_bridge_ops *ops,
					 void *arg);

/* Closes both links and frees the bridge; no callback runs afterwards. */
void redis_bridge_destroy(struct redis_bridge *b);

/* Whether messages can travel through Redis now. */
int redis_bridge_ready(const struct redis_bridge *b);

/* PUBLISH <prefix><channel> payload on the command link. Returns 0 when
 * sent, -1 when the bridge is not ready (the caller delivers locally). */
int redis_bridge_publish(struct redis_bridge *b, const char *channel,
			 const char *payload, size_t len);

#endif
