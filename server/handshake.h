/*
 * handshake — the checks on a WebSocket upgrade request (docs/protocol.md, "Connecting"), before
 * anything is allocated for it.
 *
 * Pure functions over the request's path and decoded query arguments, any
 * thread; used by protocols/ws_client.c in FILTER_PROTOCOL_CONNECTION and
 * again at ESTABLISHED to read the channels to subscribe.
 */
#ifndef HERALD_HANDSHAKE_H
#define HERALD_HANDSHAKE_H

#include <stddef.h>

#include "names.h"

#define HANDSHAKE_MAX_CHANNELS 64
#define HANDSHAKE_MAX_QUERY 4096

struct handshake_result {
	int status;               /* 0 when accepted, else the HTTP status */
	const char *error;        /* reason for a refusal (static text) */
	char client_id[NAMES_CLIENT_ID_MAX + 1];
};

/*
 * Checks path ("/ws/<client_id>") and the query arguments (each "k=v",
 * already URL-decoded by lws). Fills res; returns 0 when accepted, else the
 * HTTP status (400 or 404) also put in res->status.
 */
int handshake_check(const char *path, const char *const *args, size_t nargs,
		    struct handshake_result *res);

/*
 * Calls fn(channel, len, arg) for each name of the "channels" argument
 * (comma-separated; empty items skipped). Assumes handshake_check passed.
 */
void handshake_foreach_channel(const char *const *args, size_t nargs,
			       void (*fn)(const char *channel, size_t len,
					  void *arg),
			       void *arg);

struct seq;

/*
 * The seq the "since" argument gives for channel (len bytes): since=
 * holds comma-separated "<channel>:<seq>" items (the channel is what
 * precedes the last ':'). 0 and *out set, or -1 when it names none.
 * Assumes handshake_check passed (which refuses a malformed since=).
 */
int handshake_since(const char *const *args, size_t nargs,
		    const char *channel, size_t len, struct seq *out);

#endif
