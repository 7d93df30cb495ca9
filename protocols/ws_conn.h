/*
 * ws_conn — herald's own WebSocket connection on a plain TCP socket
 * (docs/design.md, "Herald's own WebSocket"): reads the upgrade request,
 * answers it with the 101 and the welcome in one write, then reads and
 * writes RFC 6455 frames on the worker's libev loop. A request that is not
 * a plain upgrade to /ws/<id> goes, with the bytes read so far, to lws
 * (the HTTP API, the dashboard, and every odd form of request).
 *
 * Thread: the worker's loop thread. The worker's transport owns its
 * connections (transport.h); each owns its socket and its ws_session.
 */
#ifndef HERALD_WS_CONN_H
#define HERALD_WS_CONN_H

struct worker;

/* Serves fd, a freshly accepted plain TCP socket. Closes it on failure. */
void ws_conn_accept(struct worker *w, int fd);

/* Closes every connection of w's (the worker stops). */
void ws_conn_close_all(struct worker *w);

#endif
