/*
 * names — validation of client ids and channel names (docs/protocol.md, "Connecting" and
 * "Messages").
 *
 * Pure functions, any thread, no allocation.
 */
#ifndef HERALD_NAMES_H
#define HERALD_NAMES_H

#include <stddef.h>

#define NAMES_CLIENT_ID_MAX 64
#define NAMES_CHANNEL_MAX 128

/* The server's own channel that clients may subscribe to. */
#define NAMES_SYS_CHANNEL "$sys"

/* 1-64 chars of [A-Za-z0-9_.:@-]. */
int names_valid_client_id(const char *s, size_t len);

/* 1-128 chars of [A-Za-z0-9_.:@-]; "$"-names are not valid client channels. */
int names_valid_channel(const char *s, size_t len);

/* Names starting with '$' belong to the server. */
int names_is_reserved(const char *s, size_t len);

/* A channel a client may subscribe to: a valid name or a server channel
 * that exists for subscribers ($sys). */
int names_subscribable(const char *s, size_t len);

#endif
