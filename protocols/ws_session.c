/*
 * ws_session — see ws_session.h.
 */
#include "ws_session.h"

#include "auth.h"
#include "close_code.h"
#include "handshake.h"
#include "history.h"
#include "log.h"
#include "message.h"
#include "names.h"
#include "router.h"
#include "transport.h"
#include "worker.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static struct admission_policy ws_policy(struct worker *w)
{
	struct admission_policy p = {
		.token_secret = w->cfg->token_secret,
		.allowed_origins = w->cfg->allowed_origins,
		.max_sessions = w->cfg->session_limit,
		.sessions = node_sessions(w->node), /* the node's limit */
		.draining = w->draining,
	};

	return p;
}

int ws_session_admit(struct worker *w, struct ws_session *s,
		     const struct admission_request *r,
		     struct admission_result *res)
{
	struct admission_policy policy = ws_policy(w);

	if (!admission_check(&policy, r, res)) {
		/* the seat itself: another worker may have taken the last one
		 * since the check (given back in ws_session_closed) */
		if (!node_session_reserve(w->node, w->cfg->session_limit)) {
			s->reserved = 1;
			return 0;
		}
		admission_refuse_full(res);
	}
	metric_add(&w->metrics.refused_total, 1);
	admission_log_refusal(res);
	return res->status;
}

struct ws_subscribe_ctx {
	struct worker *w;
	struct ws_session *s;
	const struct admission_request *r;
};

static void ws_subscribe_arg(const char *channel, size_t len, void *arg)
{
	struct ws_subscribe_ctx *ctx = arg;
	char name[NAMES_CHANNEL_MAX + 1];
	struct seq since;
	int has_since = !handshake_since(ctx->r->args, ctx->r->nargs,
					 channel, len, &since);

	memcpy(name, channel, len);
	name[len] = '\0';
	if (router_subscribe(ctx->w, &ctx->s->hub, name,
			     has_since ? &since : NULL))
		log_msg(LOG_WARN, "ws", "client_id=%s could not subscribe to %s",
			ctx->s->hub.client_id, name);
}

int ws_session_open(struct worker *w, struct ws_session *s,
		    const struct admission_request *r, void *transport)
{
	struct admission_policy policy = ws_policy(w);
	struct ws_subscribe_ctx ctx = { w, s, r };
	struct admission_result res;
	char session[32];
	struct frame *f;

	s->hub.transport = transport;
	if (admission_identify(&policy, r, &res, &s->hub.grant))
		return -1;
	if (hub_session_open(w->hub, &s->hub, res.client_id))
		return -1;
	s->opened = 1;
	worker_publish_gauges(w);
	metric_add(&w->metrics.connections_total, 1);
	handshake_foreach_channel(r->args, r->nargs, ws_subscribe_arg, &ctx);

	snprintf(session, sizeof(session), "%d-%" PRIu64, w->index, s->hub.id);
	f = message_frame_welcome(s->hub.client_id, session, w->cfg->node_id,
				  w->cfg->heartbeat);
	hub_deliver_session(w->hub, &s->hub, f);
	frame_unref(f);
	log_msg(LOG_INFO, "ws", "session open client_id=%s session=%s",
		s->hub.client_id, session);
	return 0;
}

int ws_session_receive(struct worker *w, struct ws_session *s,
		       const unsigned char *in, size_t len, size_t remaining,
		       int final, int binary)
{
	size_t max = (size_t)w->cfg->max_message_size;
	const unsigned char *msg;
	size_t msg_len;
	int code;

	if (s->hub.close_code || s->peer_closed)
		return 0; /* closing, or closed by the client: input is ignored */
	/* any input proves the peer alive, not only pongs (the heartbeat) */
	hub_session_heard(&s->hub, hub_now_ms());
	switch (reassembly_add(&s->rx, in, len, remaining, final, binary, max,
			       &msg, &msg_len)) {
	case REASSEMBLY_MORE:
		return 0;
	case REASSEMBLY_TOO_BIG:
		metric_add(&w->metrics.oversize_closes, 1);
		log_msg(LOG_INFO, "ws",
			"closing client_id=%s: message over %zu bytes (1009)",
			s->hub.client_id, max);
		return CLOSE_TOO_BIG;
	case REASSEMBLY_NO_MEMORY:
		return CLOSE_OUT_OF_MEMORY;
	case REASSEMBLY_DONE:
		break;
	}
	code = router_client_message(w, &s->hub, msg, msg_len, s->rx.binary);
	reassembly_reset(&s->rx);
	return code;
}

void ws_session_closed(struct worker *w, struct ws_session *s)
{
	if (s->opened) {
		log_msg(LOG_INFO, "ws", "session closed client_id=%s session=%d-%" PRIu64,
			s->hub.client_id, w->index, s->hub.id);
		router_session_closed(w, &s->hub);
		hub_session_close(w->hub, &s->hub);
		s->opened = 0;
		worker_publish_gauges(w);
	}
	if (s->reserved) {
		node_session_release(w->node);
		s->reserved = 0;
	}
	auth_grant_free(s->hub.grant);
	s->hub.grant = NULL;
	reassembly_free(&s->rx);
}

/* The hub's calls, each to the session's own connection. */
static struct ws_session *ws_session_of(struct hub_session *h)
{
	return (struct ws_session *)h; /* hub is the first member */
}

static void ws_session_wake(struct hub_session *h)
{
	ws_session_of(h)->ops->wake(h);
}

static void ws_session_close(struct hub_session *h)
{
	ws_session_of(h)->ops->close(h);
}

static void ws_session_drop(struct hub_session *h)
{
	ws_session_of(h)->ops->drop(h);
}

const struct hub_ops transport_hub_ops = {
	.wake = ws_session_wake,
	.close = ws_session_close,
	.drop = ws_session_drop,
};
