/*
 * ws_request — see ws_request.h. A query longer than the buffer, or with
 * more than WS_MAX_ARGS arguments, is marked args_overflow (a 400), never
 * cut silently.
 */
#include "ws_request.h"

#include <string.h>
#include <time.h>

static void ws_read_args(struct lws *wsi, struct ws_args *a)
{
	size_t used = 0;

	a->argc = 0;
	a->overflow = 0;
	for (int i = 0; i < 255; i++) {
		int n = lws_hdr_copy_fragment(wsi, a->buf + used,
					      (int)(sizeof(a->buf) - used),
					      WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0) {
			/* -1: no such fragment; anything else: too long */
			if (lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS,
						    i) > 0)
				a->overflow = 1;
			break;
		}
		if (a->argc == WS_MAX_ARGS) {
			a->overflow = 1;
			break;
		}
		a->argv[a->argc++] = a->buf + used;
		used += (size_t)n + 1;
	}
}

/* Copies a header into buf; returns buf, or NULL when absent. A header
 * that does not fit is passed on empty, so that it fails its check. */
static const char *ws_header(struct lws *wsi, enum lws_token_indexes h,
			     char *buf, size_t cap)
{
	if (lws_hdr_total_length(wsi, h) <= 0)
		return NULL;
	if (lws_hdr_copy(wsi, buf, (int)cap, h) <= 0)
		buf[0] = '\0';
	return buf;
}

void ws_request_gather(struct lws *wsi, struct ws_request *r)
{
	memset(&r->req, 0, sizeof(r->req));
	/* no GET path: another method, or longer than any valid one */
	if (lws_hdr_copy(wsi, r->path, sizeof(r->path), WSI_TOKEN_GET_URI) > 0)
		r->req.path = r->path;
	ws_read_args(wsi, &r->args);
	r->req.args = r->args.argv;
	r->req.nargs = r->args.argc;
	r->req.args_overflow = r->args.overflow;
	r->req.authorization = ws_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
					 r->authorization,
					 sizeof(r->authorization));
	r->req.protocols = ws_header(wsi, WSI_TOKEN_PROTOCOL, r->protocols,
				     sizeof(r->protocols));
	r->req.origin = ws_header(wsi, WSI_TOKEN_ORIGIN, r->origin,
				  sizeof(r->origin));
	r->req.now = time(NULL);
}


/* Copies span into buf as a string; -1 when it does not fit. */
static int ws_copy_span(char *buf, size_t cap, struct ws_wire_span s)
{
	if (s.len >= cap)
		return -1;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	return 0;
}

/* A target lws would read the same way: no escapes, dot segments or
 * empty arguments. */
static int ws_plain_target(struct ws_wire_span t)
{
	for (size_t i = 0; i < t.len; i++) {
		char c = t.p[i];

		if (c <= ' ' || c >= 0x7f || c == '%' || c == '+' ||
		    c == '#' || c == '\\')
			return 0;
	}
	return 1;
}

int ws_request_from_head(struct ws_request *r, const struct ws_http_head *h)
{
	struct ws_wire_span t = h->target, path = t, query = { NULL, 0 };
	const char *q = memchr(t.p, '?', t.len);
	const char *id;
	size_t used = 0;

	if (!ws_plain_target(t))
		return -1;
	if (q) {
		path.len = (size_t)(q - t.p);
		query = (struct ws_wire_span){ q + 1, t.len - path.len - 1 };
	}
	if (path.len <= 4 || strncmp(path.p, "/ws/", 4) ||
	    memchr(path.p + 4, '/', path.len - 4))
		return -1;
	id = path.p + 4;
	if ((path.len == 5 && id[0] == '.') ||
	    (path.len == 6 && id[0] == '.' && id[1] == '.'))
		return -1; /* a dot segment lws would remove */
	memset(&r->req, 0, sizeof(r->req));
	r->args.argc = 0;
	r->args.overflow = 0;
	if (ws_copy_span(r->path, sizeof(r->path), path))
		return -1;
	r->req.path = r->path;
	if (query.len > HANDSHAKE_MAX_QUERY || (q && !query.len))
		return -1; /* lws's answer to an over-long or empty query */
	while (query.len) {
		const char *amp = memchr(query.p, '&', query.len);
		size_t n = amp ? (size_t)(amp - query.p) : query.len;

		if (!n || r->args.argc == WS_MAX_ARGS ||
		    used + n + 1 > sizeof(r->args.buf))
			return -1;
		memcpy(r->args.buf + used, query.p, n);
		r->args.buf[used + n] = '\0';
		r->args.argv[r->args.argc++] = r->args.buf + used;
		used += n + 1;
		if (!amp)
			break;
		if (amp + 1 == query.p + query.len)
			return -1; /* a trailing '&' */
		query.len -= n + 1;
		query.p = amp + 1;
	}
	r->req.args = r->args.argv;
	r->req.nargs = r->args.argc;
	if ((h->authorization.p &&
	     ws_copy_span(r->authorization, sizeof(r->authorization),
			  h->authorization)) ||
	    (h->protocol.p &&
	     ws_copy_span(r->protocols, sizeof(r->protocols), h->protocol)) ||
	    (h->origin.p &&
	     ws_copy_span(r->origin, sizeof(r->origin), h->origin)))
		return -1;
	r->req.authorization = h->authorization.p ? r->authorization : NULL;
	r->req.protocols = h->protocol.p ? r->protocols : NULL;
	r->req.origin = h->origin.p ? r->origin : NULL;
	r->req.now = time(NULL);
	return 0;
}
