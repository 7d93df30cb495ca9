/*
 * hub — one worker's sessions, clients and channels, and local delivery.
 *
 * A session is one WebSocket connection; a client is every session with the
 * same client_id; a channel is a set of subscribed sessions. Delivery puts
 * one reference to an already-encoded frame on each recipient's bounded
 * queue and asks the transport to write (hub_ops.wake). A session whose
 * queue passes max_queue (payload plus HUB_FRAME_CHARGE per frame) is a
 * slow consumer: its queue is dropped at once (memory stays bounded), it
 * is counted, and the transport is asked to close it (hub_ops.close).
 * Every queue together is bounded too (memory_budget): past it the
 * sessions holding the most are shed the same way, and past three
 * quarters of it hub_overloaded() tells callers to refuse new messages.
 *
 * Thread: one worker's lws service thread; everything here is per worker.
 * The transport owns struct hub_session storage (it lives in the lws
 * per-session data); the hub owns clients, channels and subscriptions.
 */
#ifndef HERALD_HUB_H
#define HERALD_HUB_H

#include <libwebsockets.h>
#include <stdint.h>

#include "close_code.h"
#include "frame.h"
#include "heartbeat.h"
#include "metrics.h"
#include "names.h"
#include "rate.h"

#define HUB_MAX_SUBSCRIPTIONS 256

struct hub;
struct auth_grant;
struct hub_client;
struct hub_channel;

struct hub_session {
	/* read and set by the transport */
	void *transport;              /* the lws wsi */
	struct frame_queue queue;     /* frames to write, oldest first */
	struct auth_grant *grant;     /* token's channel limits; NULL: none */
	uint64_t id;
	const char *client_id;        /* the client's, while open; else "" */
	uint16_t close_code;          /* enum close_code; non-zero: closing,
					 deliver nothing, read nothing */
	/* read and set by the router */
	struct rate_bucket rate;      /* --rate-limit */
	struct rate_budget bytes;     /* --rate-limit-bytes */
	struct rate_budget fanout;    /* --fanout-limit: bytes x recipients */
	/* private to hub.c */
	struct lws_dll2 _in_hub;      /* hub->sessions */
	struct lws_dll2 _in_client;   /* client->sessions */
	struct lws_dll2_owner _subs;  /* struct hub_subscription, in_session */
	struct hub_client *_client;
	struct heartbeat_watch _beat; /* pings, liveness, close deadline */
};

struct hub_ops {
	/* Frames were queued for s: arrange a write. */
	void (*wake)(struct hub_session *s);
	/* s must be closed with s->close_code (already set): flush what is
	 * queued, then send the close frame. */
	void (*close)(struct hub_session *s);
	/* Drop s's connection now, without a close handshake: it did not
	 * answer pings, or did not finish a close in time. */
	void (*drop)(struct hub_session *s);
};

struct hub_limits {
	size_t max_queue;          /* cost of unsent frames per session */
	size_t memory_budget;      /* cost of every session's unsent frames
				      together; 0: unbounded */
	long max_sessions;
	unsigned heartbeat_s;      /* ping period; 0 counts as 1 */
};

/*
 * What a queued frame costs beside its payload: the struct frame with its
 * LWS_PRE headroom in a heap block of its own (48 bytes with glibc's
 * malloc for an empty frame) and its slot in the queue's ring (8 bytes,
 * up to twice that while the ring is half full). docs/design.md, "Slow
 * consumers".
 */
#define HUB_FRAME_CHARGE 64
/* Frames one session may have queued, whatever they cost. */
#define HUB_QUEUE_MAX_FRAMES 65536

/* How long a close herald starts may take before the session is dropped. */
#define HUB_CLOSE_GRACE_MS 3000

/* The clock of the heartbeat and close deadlines: monotonic milliseconds. */
static inline uint64_t hub_now_ms(void)
{
	return (uint64_t)lws_now_usecs() / 1000;
}

/* New empty hub; NULL on OOM. */
struct hub *hub_create(const struct hub_ops *ops, const struct hub_limits *lim,
		       struct metrics *metrics);

/*
 * What the hub tells and asks the node it is a worker of (node.h); every
 * op may be NULL:
 * - count: a session of client name opened (channel 0, delta +1) or
 *   closed (-1), or a session subscribed to channel name (channel 1, +1)
 *   or left it (-1): the node counts clients, channels and recipients
 *   over every worker;
 * - cost: this hub's queues cost own now, and its largest session's queue
 *   costs largest (called when own moved by HUB_COST_STEP since the last
 *   call, after shedding, and by hub_tick);
 * - elsewhere: what the other workers' queues cost, as they last told,
 *   and in *largest the largest session's on any of them (the memory
 *   budget is the node's: hub_check_output_limit in hub.c).
 */
struct hub_node_ops {
	void (*count)(void *arg, int channel, const char *name, int delta);
	void (*cost)(void *arg, size_t own, size_t largest);
	size_t (*elsewhere)(void *arg, size_t *largest);
};

/* How far this hub's cost moves before the node is told. */
#define HUB_COST_STEP (64u << 10)

void hub_set_node(struct hub *hub, const struct hub_node_ops *ops, void *arg);

/* Frees clients and channels; every session must be closed first. */
void hub_destroy(struct hub *hub);

/* Registers s (zeroed by the caller, transport set) as a new session of
 * client_id (valid, see names.h); returns 0, or -1 on OOM (s is left
 * unregistered). */
int hub_session_open(struct hub *hub, struct hub_session *s,
		     const char *client_id);

/* Unsubscribes s, drops its queue and unregisters it. Idempotent. */
void hub_session_close(struct hub *hub, struct hub_session *s);

/* Input arrived from s: it is alive (the heartbeat). O(1), per message. */
static inline void hub_session_heard(struct hub_session *s, uint64_t now_ms)
{
	heartbeat_heard(&s->_beat, now_ms);
}

/*
 * The one way herald closes a session: from now on s receives nothing,
 * the transport flushes its queue and sends a close frame with code, and
 * s is dropped if that has not finished within HUB_CLOSE_GRACE_MS (a peer
 * that stopped reading never lets it finish). A session already closing
 * keeps its first code and deadline.
 */
void hub_session_end(struct hub *hub, struct hub_session *s,
		     enum close_code code);

/* Runs the heartbeat wheel up to now_ms: pings silent sessions, drops the
 * ones that stopped answering or did not close in time; tells the node
 * this hub's cost. Call once a second from the worker's loop. */
void hub_tick(struct hub *hub, uint64_t now_ms);

/* Number of open sessions / distinct clients / channels with subscribers. */
unsigned hub_session_count(const struct hub *hub);
unsigned hub_client_count(const struct hub *hub);
unsigned hub_channel_count(const struct hub *hub);

/* Sessions of client_id here (0: none) / local subscribers of ch. */
unsigned hub_client_session_count(struct hub *hub, const char *client_id);
unsigned hub_channel_size(const struct hub_channel *ch);

/* The session of client_id with this id, or NULL when it is gone. */
struct hub_session *hub_find_session(struct hub *hub, const char *client_id,
				     uint64_t id);

/* What every session's queue costs together now (payload bytes plus
 * HUB_FRAME_CHARGE per frame): the figure memory_budget bounds. */
size_t hub_queued_cost(const struct hub *hub);

/* Whether the queues together, on every worker of the node, hold three
 * quarters of memory_budget or more: new messages from clients and HTTP
 * callers are then refused (docs/protocol.md, "Errors"). */
int hub_overloaded(struct hub *hub);

/* Whether client_id has a session on this hub. */
int hub_has_client(struct hub *hub, const char *client_id);

/* Subscribes s to a valid channel name; 0 (also when already subscribed),
 * -1 over HUB_MAX_SUBSCRIPTIONS, -2 on OOM. */
int hub_subscribe(struct hub *hub, struct hub_session *s, const char *channel);

/* Leaves channel; 0 whether or not s was subscribed. */
int hub_unsubscribe(struct hub *hub, struct hub_session *s,
		    const char *channel);

/* Whether s is subscribed to channel. */
int hub_is_subscribed(struct hub *hub, struct hub_session *s,
		      const char *channel);

/* Holds (1) or releases (0) s's subscription to channel: a held one gets
 * nothing from hub_deliver_channel() (a resume delivers to it instead:
 * history.h). No-op when s is not subscribed. */
void hub_hold(struct hub *hub, struct hub_session *s, const char *channel,
	      int held);

/* The channel's local subscriber set, or NULL when nobody here listens. */
struct hub_channel *hub_channel_find(struct hub *hub, const char *channel);

/* Queue f on one session / every session / every session of client_id /
 * every subscriber of ch (but the held ones). f keeps the caller's reference. Each returns
 * the number of sessions it was queued on. */
unsigned hub_deliver_session(struct hub *hub, struct hub_session *s,
			     struct frame *f);
unsigned hub_deliver_all(struct hub *hub, struct frame *f);
unsigned hub_deliver_client(struct hub *hub, const char *client_id,
			    struct frame *f);
unsigned hub_deliver_channel(struct hub *hub, struct hub_channel *ch,
			     struct frame *f);

/* hub_session_end() for every session (CLOSE_SHUTDOWN when draining). */
void hub_close_all(struct hub *hub, enum close_code code);

/* Calls fn on every open session. */
void hub_foreach_session(struct hub *hub, void (*fn)(struct hub_session *s,
						     void *arg),
			 void *arg);

#endif
