/*
 * router — what herald does with each complete client message (SPEC §2)
 * and with each notification (SPEC §3): parse, check, encode once, deliver.
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
#include "worker.h"

/* Handles one complete text message from session s. */
void router_client_text(struct worker *w, struct hub_session *s,
			const char *buf, size_t len);

/* Handles one complete binary message from s: echoed byte for byte. */
void router_client_binary(struct worker *w, struct hub_session *s,
			  const void *buf, size_t len);

/* Subscribes s to channel on connect (?channels=); 0 or -1 when refused. */
int router_subscribe(struct worker *w, struct hub_session *s,
		     const char *channel);

/* Delivers a notification on channel ("broadcast", "client:<id>" or a
 * channel name) with payload data to this node's sessions. */
void router_notify(struct worker *w, const char *channel, json_t *data);

#endif
