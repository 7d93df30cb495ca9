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
 * must not be REDIS_NONE. Strings are copied. history_size > 0: the
 * command link loads herald's function library (redis_bridge_history_ok)
 * keeping history_size entries per channel for history_ttl_s seconds. */
struct redis_bridge *redis_bridge_create(struct ev_loop *loop,
					 const struct redis_target *target,
					 const char *prefix, const char *node_id,
					 int worker_index,
					 unsigned history_size,
					 unsigned history_ttl_s,
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

/*
 * History (docs/protocol.md, "History and resume"). herald's function
 * library (FUNCTION LOAD REPLACE on every command-link handshake, after
 * HSET <prefix>history-config size <n> ttl <s>):
 *   FCALL herald_publish 1 <prefix>stream:<channel> <payload> [n|m]
 *     XADD (MAXLEN ~ size), EXPIRE ttl, meta key <prefix>meta:<channel>
 *     {first,last} (kept REDIS_HISTORY_META_TTL_S), PUBLISH on
 *     <prefix>$history:<channel> "<id> <kind> <payload>"; returns <id>.
 *     kind m: payload is a client's {"from","data"} envelope.
 *   FCALL_RO herald_history 1 <prefix>stream:<channel> <from> <count>
 *     -> [first, last, XRANGE <from> + COUNT <count>] ("" when unknown)
 *     from "+": the last <count> entries instead (XREVRANGE, oldest first)
 */
#define REDIS_HISTORY_META_TTL_S (30u * 24 * 3600)
#define REDIS_HISTORY_META_TTL_TEXT "2592000"

/* Whether the bridge is ready and its library is loaded. */
int redis_bridge_history_ok(const struct redis_bridge *b);

/* herald_publish's answer: the entry id (NUL-terminated), or NULL when
 * it failed or the link went (then also on teardown). */
typedef void (*redis_seq_cb)(void *arg, const char *seq, size_t len);

/* FCALL herald_publish for channel with kind 'n' or 'm'. 0 when sent (cb
 * runs exactly once), -1 when not ready (cb never runs). */
int redis_bridge_history_publish(struct redis_bridge *b, const char *channel,
				 char kind, const char *payload, size_t len,
				 redis_seq_cb cb, void *arg);

/* One entry of herald_history's answer; strings borrowed from hiredis,
 * valid during the callback only, not NUL-terminated. */
struct redis_history_entry {
	const char *id, *data;
	size_t id_len, data_len;
	char kind;
};

struct redis_history_reply {
	const char *first, *last;      /* NULL when the channel has none */
	size_t first_len, last_len;
	const struct redis_history_entry *entries;
	size_t count;
};

/* herald_history's answer, or NULL when it failed (malformed replies
 * included) or the link went. */
typedef void (*redis_history_cb)(void *arg,
				 const struct redis_history_reply *r);

/* FCALL_RO herald_history for channel from `from` (inclusive), at most
 * count entries ("+": the last count entries). 0 when sent (cb runs exactly once), -1 when not ready
 * (cb never runs). */
int redis_bridge_history_read(struct redis_bridge *b, const char *channel,
			      const char *from, unsigned count,
			      redis_history_cb cb, void *arg);

#endif
