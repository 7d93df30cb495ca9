/*
 * route — where a message goes, as one type parsed once wherever a target
 * arrives: a backend's PUBLISH (the Redis channel after herald's prefix),
 * the HTTP API's "channel" field, a client's broadcast / send / publish,
 * and herald's own Redis channels (docs/protocol.md, "Redis notifications"
 * and "Redis channels herald uses").
 *
 *   public name (backends, HTTP)   internal Redis name (client-originated)
 *   broadcast                      $broadcast
 *   client:<client_id>             $client:<client_id>
 *   <channel>                      $channel:<channel>
 *   (none)                         $keepalive:<node>  (a node's link check)
 *   <channel> (with a seq)         $history:<channel> (herald_publish)
 *
 * Pure functions, any thread, no allocation.
 */
#ifndef HERALD_ROUTE_H
#define HERALD_ROUTE_H

#include <stddef.h>

#include "names.h"

enum route_kind {
	ROUTE_BROADCAST,  /* every session */
	ROUTE_CLIENT,     /* every session of one client_id */
	ROUTE_CHANNEL,    /* every subscriber of one channel */
	ROUTE_KEEPALIVE,  /* nobody: a node's Redis keepalive round trip */
};

struct route_target {
	enum route_kind kind;
	int internal;     /* in herald's "$" namespace, with a {"from","data"}
			     envelope: a client's broadcast, send or publish */
	int history;      /* $history:<channel>, herald_publish's live
			     message "<seq> <n|m> <payload>" (redis.h) */
	char name[NAMES_CHANNEL_MAX + 1]; /* client_id or channel; "" else */
};

/* Room for any route's public or Redis name, with its NUL. */
#define ROUTE_NAME_MAX (NAMES_CHANNEL_MAX + 16)
#define ROUTE_KEEPALIVE_PREFIX "$keepalive:"

/* Targets built from names already valid (names.h). */
void route_broadcast(struct route_target *t, int internal);
void route_client(struct route_target *t, const char *client_id,
		  int internal);
void route_channel(struct route_target *t, const char *channel, int internal);

/* A public name (len bytes, not NUL-terminated): "broadcast",
 * "client:<client_id>" or a channel name. 0, or -1 when it is none. */
int route_parse(const char *s, size_t len, struct route_target *t);

/* What follows herald's prefix on a Redis channel: a public name, or one
 * of herald's "$" names. 0, or -1 when it is none of them. */
int route_parse_redis(const char *s, size_t len, struct route_target *t);

/* t's public name, what a notification carries as "channel" (internal or
 * not). Returns its length; buf holds ROUTE_NAME_MAX bytes. */
size_t route_public_name(const struct route_target *t, char *buf);

/* t's Redis channel name after the prefix: the internal "$" form when
 * t->internal, else the public one. Returns its length; buf holds
 * ROUTE_NAME_MAX bytes. Keepalive targets have no name here (0). */
size_t route_redis_name(const struct route_target *t, char *buf);

#endif
