/*
 * router — what herald does with each complete client message
 * (docs/protocol.md, "Messages") and with each notification ("Redis
 * notifications"): parse, check, encode once, deliver.
 *
 * This is the one place that decides where a message goes; the lws
 * protocols only hand it complete messages. Thread: the worker's service
 * thread.
 */
#ifndef HERALD_ROUTER_H
#define HERALD_ROUTER_H

#include <jansson.h>
#include <stddef.h>

#include "hub.h"
#include "route.h"
#include "worker.h"

/* One complete message from session s: counted, rate-limited (a refusal
 * is answered with rate_limited), then handled as text or binary. Returns
 * 0, or the close code when s must be closed (CLOSE_RATE_ABUSE). */
int router_client_message(struct worker *w, struct hub_session *s,
			  const unsigned char *msg, size_t len, int binary);

/* Handles one complete text message from session s. */
void router_client_text(struct worker *w, struct hub_session *s,
			const char *buf, size_t len);

/* Handles one complete binary message from s: echoed byte for byte. */
void router_client_binary(struct worker *w, struct hub_session *s,
			  const void *buf, size_t len);

struct seq;

/* Subscribes s to channel on connect (?channels=), resuming from since
 * when it is not NULL (?since=); 0 or -1 when refused. */
int router_subscribe(struct worker *w, struct hub_session *s,
		     const char *channel, const struct seq *since);

/* s is closing (before hub_session_close): its resumes end. */
void router_session_closed(struct worker *w, struct hub_session *s);

/* history.c's ops, with the worker as their argument: pages from Redis
 * (herald_history) or the node's ring, and delivery through the hub. */
extern const struct history_ops router_history_ops;

/* Delivers a notification for t (a public target) with payload data to
 * this node's sessions. */
void router_notify(struct worker *w, const struct route_target *t,
		   json_t *data);

/* Publishes a notification as a backend's PUBLISH would (POST
 * /api/publish): to a channel with history through herald_publish, else
 * through Redis when it is ready, else to every worker of this node. seq
 * (SEQ_TEXT_MAX bytes, or NULL) receives the seq when this node numbered
 * it, else "". 0, or -1 when refused because the node is overloaded
 * (hub_overloaded, or a worker's inbox is full): nothing was sent. */
int router_publish(struct worker *w, const struct route_target *t,
		   json_t *data, char *seq);

/* herald_publish's answer: the seq, or NULL when the message could not be
 * stored (it was not published). */
typedef void (*router_stored_cb)(void *arg, const char *seq);

/* POST /api/publish to a channel while history goes through Redis: one
 * FCALL herald_publish. 0 when sent (cb runs exactly once, also with NULL
 * when the link goes), -1 when it does not apply, or the node is
 * overloaded (use router_publish, which refuses it then). */
int router_publish_stored(struct worker *w, const struct route_target *t,
			  json_t *data, router_stored_cb cb, void *arg);

/* The Redis bridge's callbacks, with the worker as their argument:
 * router_redis_message() and router_redis_state(). */
extern const struct redis_bridge_ops router_redis_ops;

/* A message from Redis on <prefix><channel> (channel without the prefix,
 * neither string NUL-terminated): validated, then delivered here. */
void router_redis_message(struct worker *w, const char *channel,
			  size_t channel_len, const char *payload,
			  size_t payload_len);

/* The Redis link became ready (1) or was lost (0): tell every session. */
void router_redis_state(struct worker *w, int ready);

/* Delivers what other workers (or w) posted to the node's bus to w's
 * sessions (worker.c calls it when its inbox is woken). */
void router_bus_take(struct worker *w);

#endif
