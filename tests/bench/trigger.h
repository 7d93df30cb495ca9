/*
 * trigger — the fan-out publisher: sends one message per call through a
 * WebSocket broadcast, a Redis PUBLISH or an HTTP POST, on the engine's
 * loop, never waiting for an answer.
 *
 *  ws:    one WebSocket (/ws/publisher) sends
 *         {"type":"broadcast","data":<body>}; it is acknowledged when written.
 *  redis: RESP "PUBLISH <channel> <body>" on one TCP socket (no hiredis);
 *         acknowledged by the ":<receivers>" reply, "-ERR" counts as failed.
 *  http:  POST over a small keep-alive pool (one request in flight per
 *         socket): to <url>/api/publish with {"channel":C,"data":<body>}
 *         (herald), or the raw body to -pub URL (other servers, like
 *         wsload); acknowledged by a 2xx answer.
 *
 * Thread: the engine's. Ownership: the trigger owns its engine slots
 * (slot_first and following, see trigger_slots()) and one message buffer;
 * nothing is allocated per message.
 */
#ifndef HB_TRIGGER_H
#define HB_TRIGGER_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "netaddr.h"

enum trigger_kind {
	TRIGGER_WS,
	TRIGGER_REDIS,
	TRIGGER_HTTP,
};

struct trigger_cfg {
	enum trigger_kind kind;
	const char *redis_addr;  /* host:port or redis://host:port */
	const char *channel;     /* Redis channel */
	const char *pub_url;     /* raw-body POST URL; NULL: herald's API */
	const char *api_channel; /* "channel" of herald's /api/publish */
	const char *api_key;     /* bearer key for /api/publish, or NULL */
	size_t max_body;         /* largest body that will be published */
	uint32_t slot_first;     /* first engine slot the trigger may use */
};

struct trigger;

/* Engine slots a trigger of this kind needs. */
uint32_t trigger_slots(enum trigger_kind kind);

/* Parses "ws", "redis" or "http"; 0 or -1. */
int trigger_kind_parse(const char *s, enum trigger_kind *kind);

/* Connects the publisher (running the engine loop until it is ready or
 * deadline passes). NULL with a reason in err on failure. */
struct trigger *trigger_create(struct engine *e, const struct trigger_cfg *cfg,
			       int64_t deadline, char *err, size_t errcap);

/* Closes the trigger's sockets and frees it. */
void trigger_destroy(struct trigger *t);

/* Publishes body (<= max_body bytes). 0 when sent (or queued), -1 when it
 * could not be (counted in failed / skipped). */
int trigger_publish(struct trigger *t, const char *body, size_t len);

/* 1 if c is the trigger's WebSocket (its own broadcast copies arrive
 * there: the scenario routes them to trigger_on_ws_msg()). */
int trigger_owns(const struct trigger *t, const struct conn *c);

/* The WS publisher's open/message/close events, forwarded by the scenario. */
void trigger_on_ws_open(struct trigger *t);
void trigger_on_ws_msg(struct trigger *t, const unsigned char *p,
		       size_t len);
void trigger_on_ws_close(struct trigger *t, const char *why);

struct trigger_stats {
	uint64_t sent;      /* handed to the socket */
	uint64_t acked;     /* accepted by the broker/server */
	uint64_t failed;    /* refused, or lost with its socket */
	uint64_t skipped;   /* not sent: every HTTP socket busy */
	uint64_t pending;   /* sent, answer not yet in */
	uint64_t echoes;    /* WS: own messages the publisher got back */
	int64_t receivers;  /* Redis: subscribers counted by the last PUBLISH */
	const char *first_error; /* "" if none */
};

/* Current counters (first_error points into the trigger). */
void trigger_stats(const struct trigger *t, struct trigger_stats *s);

#endif
