/*
 * ws_client — the lws protocol behind /ws/<client_id>.
 */
#ifndef HERALD_WS_CLIENT_H
#define HERALD_WS_CLIENT_H

#include <libwebsockets.h>

#define WS_CLIENT_PROTOCOL_NAME "herald"

#include "hub.h"

/* How the hub reaches sessions of this protocol (wake to write, close). */
extern const struct hub_ops ws_client_hub_ops;

/* The protocol entry for the vhost's protocol list. */
extern const struct lws_protocols ws_client_protocol;

#endif
