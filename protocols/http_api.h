/*
 * http_api — the lws protocol behind herald's HTTP endpoints (docs/protocol.md, "HTTP"):
 * /health, /metrics, /api/stats, POST /api/publish, and JSON 404/426
 * answers. Static files of --web-root are served by an lws file mount.
 */
#ifndef HERALD_HTTP_API_H
#define HERALD_HTTP_API_H

#include <libwebsockets.h>

#define HTTP_API_PROTOCOL_NAME "herald-http"

extern const struct lws_protocols http_api_protocol;

/*
 * The answer to LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 for "websocket", -1
 * (hang up) for h2c and anything else. New connections are bound to the
 * /ws/ protocol (the vhost default), so ws_client.c asks this too.
 */
int http_api_confirm_upgrade(struct lws *wsi);

/* Writes "HTTP/1.1 <status>" with a JSON body {"error":...} on a connection
 * that asked for an upgrade and is refused (FILTER_PROTOCOL_CONNECTION);
 * the caller then returns -1 so lws closes it. */
void http_api_refuse_upgrade(struct lws *wsi, int status, const char *error);

#endif
