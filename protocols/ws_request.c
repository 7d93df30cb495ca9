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

