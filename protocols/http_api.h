/*
 * http_api — the lws protocol behind herald's HTTP endpoints (SPEC §4):
 * /health, /metrics, /api/stats, POST /api/publish, and JSON 404/426
 * answers. Static files of --web-root are served by an lws file mount.
 */
#ifndef HERALD_HTTP_API_H
#define HERALD_HTTP_API_H

#include <libwebsockets.h>

#define HTTP_API_PROTOCOL_NAME "herald-http"

extern const struct lws_protocols http_api_protocol;

#endif
