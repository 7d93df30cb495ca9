/*
 * ws_client — the lws protocol behind /ws/<client_id>; it also implements
 * transport_hub_ops (server/transport.h), how the hub writes to, closes
 * and drops these sessions.
 */
#ifndef HERALD_WS_CLIENT_H
#define HERALD_WS_CLIENT_H

#include <libwebsockets.h>

#define WS_CLIENT_PROTOCOL_NAME "herald"

/* The protocol entry for the vhost's protocol list. */
extern const struct lws_protocols ws_client_protocol;

#endif
