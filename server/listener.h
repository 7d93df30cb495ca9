/*
 * listener — a worker's own listening socket: binds --host/--port, accepts
 * in batches with accept4() on the worker's libev loop, and hands each new
 * socket to a callback (the transport adopts it into lws). herald accepts
 * itself rather than through lws so that it can spread a worker's sessions
 * over several lws contexts, back off cleanly when it runs out of file
 * descriptors, and give each worker a listener of its own on a shared
 * port (SO_REUSEPORT: the kernel spreads connections over the workers).
 * docs/design.md, "Accepting".
 *
 * Thread: the owning worker's loop thread. The listener owns its socket
 * and watchers; an accepted socket belongs to the callback.
 */
#ifndef HERALD_LISTENER_H
#define HERALD_LISTENER_H

#include <stddef.h>

struct ev_loop;
struct listener;

/* Takes ownership of fd, a connected non-blocking socket. */
typedef void (*listener_accept_fn)(int fd, void *arg);

/* Whether the port is shared by the node's workers, and which opens it. */
enum listener_share {
	LISTENER_ALONE,        /* one worker: no SO_REUSEPORT */
	LISTENER_SHARE_FIRST,  /* the first of several: the port must be free */
	LISTENER_SHARE,        /* the others join it */
};

/*
 * Listens on host ("0.0.0.0": every IPv4 and IPv6 address; else an
 * address or a host name) and port, and starts accepting on loop. NULL
 * with the reason in err when it cannot (the port is taken, also by
 * another herald: workers share their node's port, never another's).
 */
struct listener *listener_create(struct ev_loop *loop, const char *host,
				 int port, enum listener_share share,
				 listener_accept_fn fn, void *arg,
				 char *err, size_t errlen);

/* Stops accepting and closes the socket. NULL is ignored. */
void listener_destroy(struct listener *l);

#endif
