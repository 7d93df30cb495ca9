/*
 * netaddr — target URLs and non-blocking TCP sockets.
 *
 * Parses ws:// and http:// URLs (no TLS), resolves the host once, and opens
 * non-blocking TCP connections, optionally from one of several loopback
 * source addresses 127.0.0.1..127.0.0.N so that more than one address's
 * worth of ephemeral ports (about 28k here) can reach one server port.
 * Thread: single-threaded. Ownership: no allocation; sockets returned are
 * the caller's to close.
 */
#ifndef HB_NETADDR_H
#define HB_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

struct net_url {
	char hostport[300];  /* the Host header: host[:port] as written */
	char path[1024];     /* prefix with no trailing '/'; may be "" */
	char query[1024];    /* "" or "?..." (kept after /ws/<id>) */
	int port;
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* Parses url ("ws://host:port/prefix?q", "http://...", or "host:port") and
 * resolves the host. Returns 0, or -1 with a reason in err. */
int net_url_parse(struct net_url *u, const char *url, char *err, size_t errcap);

/* 1 if u's address is IPv4 loopback (source addresses may be used). */
int net_url_is_loopback4(const struct net_url *u);

/* Starts a non-blocking connect to u (TCP_NODELAY set). src > 0 binds the
 * socket to 127.0.0.src first (port chosen at connect time). Returns the fd,
 * or -1 with errno set. */
int net_connect_start(const struct net_url *u, int src);

/* 0 when a started connect has completed, else the socket error (errno). */
int net_connect_result(int fd);

/* Closes fd with SO_LINGER 0: an RST, no TIME_WAIT on either side. */
void net_close_reset(int fd);

#endif
