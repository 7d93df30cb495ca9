/*
 * netaddr — see netaddr.h.
 *
 * Role: everything herald-bench knows about addresses. Uses
 * IP_BIND_ADDRESS_NO_PORT so that binding a source address does not
 * reserve a port per socket before connect() picks the 4-tuple.
 */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

int net_url_parse(struct net_url *u, const char *url, char *err, size_t errcap)
{
	char host[256];
	const char *p = url, *hp_end, *path;
	const char *port_s = NULL;
	struct addrinfo hints, *res = NULL;
	char portbuf[16];
	size_t hlen;
	int rc;

	memset(u, 0, sizeof(*u));
	if (!strncmp(p, "wss://", 6) || !strncmp(p, "https://", 8)) {
		snprintf(err, errcap, "TLS is not supported: %s", url);
		return -1;
	}
	if (!strncmp(p, "ws://", 5))
		p += 5;
	else if (!strncmp(p, "http://", 7))
		p += 7;
	else if (strstr(p, "://")) {
		snprintf(err, errcap, "unsupported URL scheme: %s", url);
		return -1;
	}
	hp_end = p + strcspn(p, "/?");
	if (hp_end == p || (size_t)(hp_end - p) >= sizeof(u->hostport)) {
		snprintf(err, errcap, "bad host in URL: %s", url);
		return -1;
	}
	memcpy(u->hostport, p, (size_t)(hp_end - p));
	u->hostport[hp_end - p] = '\0';

	/* host and port: [v6]:port or host:port */
	if (u->hostport[0] == '[') {
		const char *rb = strchr(u->hostport, ']');

		if (!rb)
			goto bad_host;
		hlen = (size_t)(rb - u->hostport - 1);
		if (hlen >= sizeof(host))
			goto bad_host;
		memcpy(host, u->hostport + 1, hlen);
		if (rb[1] == ':')
			port_s = rb + 2;
		else if (rb[1])
			goto bad_host;
	} else {
		const char *colon = strrchr(u->hostport, ':');

		hlen = colon ? (size_t)(colon - u->hostport) : strlen(u->hostport);
		if (hlen >= sizeof(host))
			goto bad_host;
		memcpy(host, u->hostport, hlen);
		if (colon)
			port_s = colon + 1;
	}
	host[hlen] = '\0';
	u->port = 80;
	if (port_s) {
		char *end;
		long v = strtol(port_s, &end, 10);

		if (end == port_s || *end || v < 1 || v > 65535)
			goto bad_host;
		u->port = (int)v;
	}

	path = hp_end;
	{
		size_t plen = strcspn(path, "?");

		while (plen && path[plen - 1] == '/')
			plen--;
		if (plen >= sizeof(u->path))
			goto bad_host;
		memcpy(u->path, path, plen);
		u->path[plen] = '\0';
		path += strcspn(path, "?");
		if (*path)
			util_strlcpy(u->query, path, sizeof(u->query));
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portbuf, sizeof(portbuf), "%d", u->port);
	rc = getaddrinfo(host, portbuf, &hints, &res);
	if (rc || !res) {
		snprintf(err, errcap, "cannot resolve %s: %s", host,
			 gai_strerror(rc));
		return -1;
	}
	memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
	u->addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;

bad_host:
	snprintf(err, errcap, "bad host or port in URL: %s", url);
	return -1;
}

int net_url_is_loopback4(const struct net_url *u)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&u->addr;

	return u->addr.ss_family == AF_INET &&
	       (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
}

int net_connect_start(const struct net_url *u, int src)
{
	int one = 1, saved;
	int fd = socket(u->addr.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src > 0 && u->addr.ss_family == AF_INET) {
		struct sockaddr_in sa;

		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl((127u << 24) | (uint32_t)(src & 0xffffff));
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&u->addr, u->addrlen) &&
	    errno != EINPROGRESS)
		goto fail;
	return fd;

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int net_connect_result(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return errno;
	return soerr;
}

void net_close_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}
