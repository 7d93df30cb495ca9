/*
 * listener — see listener.h.
 *
 * Out of file descriptors (EMFILE, ENFILE) or kernel memory (ENOBUFS,
 * ENOMEM), accept() fails at once every time it is called, and a
 * level-triggered watcher would call it again at once: a spin at 100% CPU
 * that starves the sessions already open (seen with lws's own accept loop).
 * Instead the watcher stops for LISTENER_BACKOFF_S and the pause is logged
 * once per LISTENER_LOG_EVERY_S with how many there were.
 */
#include "listener.h"
#include "log.h"

#include <errno.h>
#include <ev.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LISTENER_BACKLOG 1024
#define LISTENER_BATCH 64       /* accepts per wake-up; the rest next time */
#define LISTENER_BACKOFF_S 0.1
#define LISTENER_LOG_EVERY_S 10.

struct listener {
	struct ev_loop *loop;
	int fd;
	ev_io readable;
	ev_timer backoff;
	listener_accept_fn fn;
	void *arg;
	unsigned long pauses;        /* ever: the first is logged at once */
	unsigned long pauses_unlogged;
	ev_tstamp last_log;
};

static void listener_pause(struct listener *l, int err)
{
	ev_tstamp now = ev_now(l->loop);

	ev_io_stop(l->loop, &l->readable);
	ev_timer_set(&l->backoff, LISTENER_BACKOFF_S, 0.);
	ev_timer_start(l->loop, &l->backoff);
	l->pauses++;
	l->pauses_unlogged++;
	if (l->pauses == 1 || now - l->last_log >= LISTENER_LOG_EVERY_S) {
		log_msg(LOG_WARN, "listener", "accept: %s; not accepting for "
			"%.0f ms (%lu pauses since the last report)",
			strerror(err), LISTENER_BACKOFF_S * 1000,
			l->pauses_unlogged);
		l->pauses_unlogged = 0;
		l->last_log = now;
	}
}

static void listener_on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = io->data;
	int one = 1;

	(void)loop;
	(void)revents;
	for (int i = 0; i < LISTENER_BATCH; i++) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			/* no Nagle delay behind a frame already in flight, as
			 * lws's own accept path sets; without it, messages that
			 * follow each other closely waited for the peer's
			 * delayed ACK (tens of milliseconds each) */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			l->fn(fd, l->arg);
			continue;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue; /* that one connection is gone */
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			listener_pause(l, errno);
			return;
		default:
			return; /* EAGAIN: nothing more for now */
		}
	}
}

static void listener_on_backoff(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct listener *l = t->data;

	(void)revents;
	ev_io_start(loop, &l->readable);
}

/*
 * A socket bound to ai and, unless probe, listening; -1 with the reason
 * in err. reuseport joins the node's other workers on the port.
 */
static int listener_open(const struct addrinfo *ai, int reuseport, int probe,
			 char *err, size_t errlen)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
					      SOCK_CLOEXEC,
			ai->ai_protocol);
	int on = 1, off = 0;

	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    (reuseport &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on))))
		goto fail;
	if (ai->ai_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)))
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen))
		goto fail;
	if (probe) {
		close(fd);
		return 0;
	}
	if (listen(fd, LISTENER_BACKLOG))
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Opens the first socket of res that binds (for "0.0.0.0", IPv6 first);
 * -1 with the reason in err.
 */
static int listener_open_any(struct addrinfo *res, int any, int reuseport,
			     int probe, char *err, size_t errlen)
{
	int fd = -1;

	for (int pass = 0; pass < 2 && fd < 0; pass++)
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
			if (!any || (pass == 0) == (ai->ai_family == AF_INET6))
				fd = listener_open(ai, reuseport, probe, err,
						   errlen);
	return fd;
}

struct listener *listener_create(struct ev_loop *loop, const char *host,
				 int port, enum listener_share share,
				 listener_accept_fn fn, void *arg,
				 char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct listener *l;
	char service[16];
	int any = !strcmp(host, "0.0.0.0"), rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%d", port);
	/* "0.0.0.0" is every address: [::] with IPv4 mapped, when there is
	 * IPv6, else 0.0.0.0 */
	rc = getaddrinfo(any ? NULL : host, service, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		freeaddrinfo(res);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/*
	 * SO_REUSEPORT lets any socket of the same user with the option join
	 * the port, a second herald started by mistake included. One worker
	 * goes without it; the first of several first binds without it once,
	 * so that a port someone holds, with or without the option, fails
	 * the start as it does with one worker.
	 */
	l->fd = share == LISTENER_SHARE_FIRST
			? listener_open_any(res, any, 0, 1, err, errlen)
			: 0;
	if (l->fd == 0)
		l->fd = listener_open_any(res, any, share != LISTENER_ALONE, 0,
					  err, errlen);
	freeaddrinfo(res);
	if (l->fd < 0) {
		free(l);
		return NULL;
	}
	l->loop = loop;
	l->fn = fn;
	l->arg = arg;
	ev_io_init(&l->readable, listener_on_readable, l->fd, EV_READ);
	l->readable.data = l;
	ev_init(&l->backoff, listener_on_backoff);
	l->backoff.data = l;
	ev_io_start(loop, &l->readable);
	return l;
}

void listener_destroy(struct listener *l)
{
	if (!l)
		return;
	ev_io_stop(l->loop, &l->readable);
	ev_timer_stop(l->loop, &l->backoff);
	close(l->fd);
	free(l);
}
