/*
 * ws_client — the lws protocol behind /ws/<client_id>; it also implements
 * transport_hub_ops (server/transport.h), how the hub writes to, closes
 * and drops these sessions.
 */
#ifndef HERALD_WS_CLIENT_H
#define HERALD_WS_CLIENT_H

#include <libwebsockets.h>

#define WS_CLIENT_PROTOCOL_NAME "herald"

/* True for a close code a client may send (RFC 6455 §7.4.1): 1000-1003,
 * 1007-1011 and 3000-4999. 1004-1006 and 1015 never go on the wire, and
 * herald treats the unassigned 1012-1014 and 1016-2999 as invalid too. */
int ws_close_code_valid(unsigned code);

/* The protocol entry for the vhost's protocol list. */
extern const struct lws_protocols ws_client_protocol;

#endif
