/*
 * ws_request — an upgrade request's path, query arguments and headers,
 * copied out of lws into a struct admission_request (server/admission.h)
 * for FILTER_PROTOCOL_CONNECTION and ESTABLISHED.
 *
 * Thread: the worker's loop thread. The caller owns the struct (on its
 * stack: about 13 KB); the request's strings point into it.
 */
#ifndef HERALD_WS_REQUEST_H
#define HERALD_WS_REQUEST_H

#include <libwebsockets.h>

#include "admission.h"
#include "ws_wire.h"

#define WS_MAX_ARGS 32
#define WS_ARG_BUF (HANDSHAKE_MAX_QUERY + 64)

/* The query arguments, decoded by lws, copied into one buffer. */
struct ws_args {
	const char *argv[WS_MAX_ARGS];
	size_t argc;
	char buf[WS_ARG_BUF];
	int overflow;
};

/* An upgrade request's headers, copied out of lws for admission.c. */
struct ws_request {
	struct admission_request req;
	struct ws_args args;
	char path[256];
	char authorization[AUTH_MAX_TOKEN + 16];
	char protocols[256];
	char origin[256];
};

/* Fills r from wsi's request. */
void ws_request_gather(struct lws *wsi, struct ws_request *r);

/*
 * The same from a request head herald read itself (ws_conn.c), for the
 * plain form only: a path /ws/<id> and a query with no escapes, each value
 * within its buffer. Returns 0, or -1 for anything else, which goes to lws
 * so that it is parsed the one way lws parses it (URL decoding, path
 * normalisation, and the answers to oddities).
 */
int ws_request_from_head(struct ws_request *r, const struct ws_http_head *h);

#endif
