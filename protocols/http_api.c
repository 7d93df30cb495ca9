/*
 * http_api — see http_api.h. Translates HTTP requests into reads of the
 * worker's figures and into router_notify() for publishes; no policy here
 * beyond request validation.
 *
 * Every response is small and written at once: headers and body in one
 * buffer, one lws_write(), then the transaction completes. A POST body is
 * collected in the per-request struct up to a bound and freed when the
 * request ends, whatever way it ends. A publish that will be refused
 * whatever its body says (an unauthorized caller, a body without a length,
 * a length over the bound) is answered from its headers, before any of
 * its body is read, and the connection is then closed (docs/protocol.md,
 * "HTTP").
 *
 * Thread: the worker's lws service thread.
 */
#include "http_api.h"
#include "admission.h"
#include "history.h"
#include "history_query.h"
#include "log.h"
#include "names.h"
#include "message.h"
#include "router.h"
#include "worker.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_RESPONSE_MAX 16384
#define HTTP_PUBLISH_MAX_EXTRA 1024

/* A publish waiting for its seq from Redis; the reply callback frees it
 * once the request is gone (wsi NULL). */
struct http_pending {
	struct lws *wsi;
	char seq[SEQ_TEXT_MAX];
	json_t *answer;       /* GET /api/history's, once done */
	uint8_t done, failed, history;
};

static void http_pending_free(struct http_pending *p)
{
	json_decref(p->answer);
	free(p);
}

struct http_request {
	struct http_pending *pending;
	char *body;
	size_t len;
	size_t cap;
	uint8_t too_big;
	uint8_t is_publish;
	uint8_t authorized;
	uint8_t answered;     /* refused from its headers: the body is ignored */
};

static int http_write(struct lws *wsi, unsigned int status, const char *type,
		      const char *body, size_t len, int close,
		      unsigned char *start, unsigned char *p,
		      unsigned char *end);

static int http_respond(struct lws *wsi, unsigned int status,
			const char *type, const char *body, size_t len,
			int close)
{
	unsigned char small[LWS_PRE + HTTP_RESPONSE_MAX];
	/* a large body (GET /api/history) gets a buffer of its size */
	size_t cap = len + 1024 > HTTP_RESPONSE_MAX ? LWS_PRE + len + 1024
						    : sizeof(small);
	unsigned char *buf = cap > sizeof(small) ? malloc(cap) : small;
	unsigned char *start, *p, *end;
	int rc;

	if (!buf)
		return -1;
	start = p = buf + LWS_PRE;
	end = buf + cap - 1;
	rc = http_write(wsi, status, type, body, len, close, start, p, end);
	if (buf != small)
		free(buf);
	return rc;
}

static int http_write(struct lws *wsi, unsigned int status, const char *type,
		      const char *body, size_t len, int close,
		      unsigned char *start, unsigned char *p,
		      unsigned char *end)
{
	if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_name(wsi,
					(const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p,
					end) ||
	    (close && lws_add_http_header_by_name(
			      wsi, (const unsigned char *)"connection:",
			      (const unsigned char *)"close", 5, &p, end)) ||
	    lws_finalize_http_header(wsi, &p, end))
		return -1;
	if (len > (size_t)(end - p))
		return -1;
	memcpy(p, body, len);
	p += len;
	if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL) !=
	    (int)(p - start))
		return -1;
	/* closing: lws shuts down our side and reads the caller's unread body
	 * away until it hangs up (or a timeout), so no reset overtakes the
	 * answer */
	if (close)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int http_respond_json_ex(struct lws *wsi, unsigned int status,
				json_t *o, int close)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc;

	json_decref(o);
	if (!text)
		return -1;
	rc = http_respond(wsi, status, "application/json", text, strlen(text),
			  close);
	free(text);
	return rc;
}

static int http_respond_json(struct lws *wsi, unsigned int status, json_t *o)
{
	return http_respond_json_ex(wsi, status, o, 0);
}

static int http_error(struct lws *wsi, unsigned int status, const char *error)
{
	return http_respond_json(wsi, status, json_pack("{s:s}", "error", error));
}

/* An error answered before the request's body was read: the connection is
 * closed after it, since the body that follows cannot be told apart from a
 * next request. */
static int http_error_early(struct lws *wsi, unsigned int status,
			    const char *error)
{
	return http_respond_json_ex(wsi, status,
				    json_pack("{s:s}", "error", error), 1);
}

static int http_health(struct lws *wsi, struct worker *w)
{
	return http_respond_json(
		wsi, w->draining ? 503 : 200,
		json_pack("{s:s, s:s, s:I}", "status",
			  w->draining ? "draining" : "healthy", "redis",
			  node_redis_state(w->node), "connections",
			  (json_int_t)node_sessions(w->node)));
}

static int http_metrics(struct lws *wsi, struct worker *w)
{
	char text[HTTP_RESPONSE_MAX - 512];
	struct metrics_view v;
	size_t n;

	node_metrics_view(w->node, w, &v);
	n = metrics_render_prometheus(&v, text, sizeof(text));
	return http_respond(wsi, 200, "text/plain; version=0.0.4", text, n, 0);
}

static int http_stats(struct lws *wsi, struct worker *w)
{
	struct metrics_view v;

	node_metrics_view(w->node, w, &v);
	return http_respond_json(wsi, 200, metrics_render_json(&v));
}

/* Loopback peers may publish without a key (docs/protocol.md, "HTTP"). */
static int http_peer_is_loopback(struct lws *wsi)
{
	char peer[64];

	if (!lws_get_peer_simple(wsi, peer, sizeof(peer)))
		return 0;
	return !strncmp(peer, "127.", 4) || !strcmp(peer, "::1") ||
	       !strncmp(peer, "::ffff:127.", 11);
}

static int http_publish_authorized(struct lws *wsi, struct worker *w)
{
	const char *key = w->cfg->api_key;
	char auth[512];
	size_t klen;
	int n;

	if (!key)
		return http_peer_is_loopback(wsi);
	n = lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION);
	klen = strlen(key);
	if (n <= 7 || strncasecmp(auth, "Bearer ", 7) || (size_t)n - 7 != klen)
		return 0;
	return !CRYPTO_memcmp(auth + 7, key, klen);
}

static const char *http_unauthorized_reason(const struct worker *w)
{
	return w->cfg->api_key ? "missing or wrong API key"
			       : "publishing needs an API key from "
				 "non-loopback callers";
}

/* The body bound of POST /api/publish. */
static size_t http_publish_max(const struct worker *w)
{
	return (size_t)w->cfg->max_message_size + HTTP_PUBLISH_MAX_EXTRA;
}

/*
 * Decides a publish from its headers alone: 0 to read its body, else the
 * answer was written (the return value for lws, -1: close). lws 4.1.6 does
 * not decode a chunked request body and, given a Content-Length, waits for
 * all of it, so these are answered before the body: an unauthorized caller
 * (401), a body without a Content-Length (Transfer-Encoding, 411), a
 * Content-Length over the bound (413).
 */
static int http_publish_headers(struct lws *wsi, struct worker *w,
				struct http_request *req)
{
	char cl[32];
	char *end;
	unsigned long long len;

	unsigned status = 0;
	const char *error = NULL;

	if (!req->authorized) {
		status = 401;
		error = http_unauthorized_reason(w);
	} else if (lws_hdr_total_length(wsi,
					WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
		status = 411;
		error = "a Content-Length is required (chunked bodies are not "
			"accepted)";
	} else if (lws_hdr_copy(wsi, cl, sizeof(cl),
				WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
		len = strtoull(cl, &end, 10);
		if (*end || len > http_publish_max(w)) {
			status = 413;
			error = "body too large";
		}
	}
	if (!status)
		return 0; /* read the body */
	req->answered = 1;
	return http_error_early(wsi, status, error);
}

static int http_publish_body(struct lws *wsi, struct http_request *req,
			     const void *in, size_t len)
{
	size_t max = http_publish_max(worker_of(wsi));

	if (!len)
		return 0;
	if (req->too_big || req->len + len > max) {
		req->too_big = 1;
		return 0; /* keep reading; answer 413 at completion */
	}
	if (req->len + len > req->cap) {
		size_t cap = req->cap ? req->cap : 1024;
		char *grown;

		while (cap < req->len + len)
			cap *= 2;
		grown = realloc(req->body, cap);
		if (!grown)
			return -1;
		req->body = grown;
		req->cap = cap;
	}
	memcpy(req->body + req->len, in, len);
	req->len += len;
	return 0;
}

static void http_on_stored(void *arg, const char *seq)
{
	struct http_pending *p = arg;

	if (!p->wsi) {
		http_pending_free(p); /* the request is gone */
		return;
	}
	p->done = 1;
	p->failed = !seq;
	if (seq)
		snprintf(p->seq, sizeof(p->seq), "%s", seq);
	lws_callback_on_writable(p->wsi);
}

/* The stored publish's answer, from WRITEABLE. */
static int http_publish_stored_reply(struct lws *wsi, struct http_request *req)
{
	struct http_pending *p = req->pending;
	int rc;

	if (!p || !p->done)
		return 0;
	req->pending = NULL;
	if (p->history) {
		json_t *answer = p->answer;

		p->answer = NULL;
		http_pending_free(p);
		return answer ? http_respond_json(wsi, 200, answer)
			      : http_error(wsi, 503,
					   "the history could not be read");
	}
	rc = p->failed ? http_error(wsi, 503, "the message could not be stored")
		       : http_respond_json(wsi, 202,
					   json_pack("{s:b, s:s}", "published",
						     1, "seq", p->seq));
	free(p);
	return rc;
}

static void http_request_free(struct http_request *req, int keep_pending);

/*
 * Answers a publish once its body is complete. The request struct is
 * emptied first: answering completes the transaction, and on a keep-alive
 * connection lws 4.1.6 then rebinds the protocol, which frees this user
 * data (req must not be touched after any http_respond()).
 */
static int http_publish_complete(struct lws *wsi, struct http_request *req)
{
	struct worker *w = worker_of(wsi);
	int authorized = req->authorized, too_big = req->too_big;
	char *body = req->body;
	size_t len = req->len;
	json_error_t error;
	json_t *o, *channel, *data;
	struct route_target target;
	const char *name;

	req->body = NULL;
	http_request_free(req, 1);
	if (!authorized) { /* answered from the headers already */
		free(body);
		return http_error(wsi, 401, http_unauthorized_reason(w));
	}
	if (too_big) {
		free(body);
		return http_error(wsi, 413, "body too large");
	}
	o = json_loadb(body ? body : "", len,
		       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &error);
	free(body);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return http_error(wsi, 400, "body must be a JSON object");
	}
	channel = json_object_get(o, "channel");
	data = json_object_get(o, "data");
	name = json_string_value(channel);
	if (!name || route_parse(name, json_string_length(channel), &target)) {
		json_decref(o);
		return http_error(wsi, 400,
				  "\"channel\" must be a channel name, "
				  "\"broadcast\" or \"client:<id>\"");
	}
	if (!data) {
		json_decref(o);
		return http_error(wsi, 400, "\"data\" is required");
	}
	/* the same bound a backend's PUBLISH payload has on the way back */
	if (json_dumpb(data, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) >
	    (size_t)w->cfg->max_message_size) {
		json_decref(o);
		return http_error(wsi, 413, "\"data\" is over max-message-size");
	}
	if (target.kind == ROUTE_CHANNEL) {
		struct http_pending *p = calloc(1, sizeof(*p));

		if (p) {
			p->wsi = wsi;
			if (!router_publish_stored(w, &target, data,
						   http_on_stored, p)) {
				/* the answer waits for the seq (WRITEABLE) */
				req->pending = p;
				json_decref(o);
				return 0;
			}
			free(p);
		}
	}
	{
		char seq[SEQ_TEXT_MAX];
		json_t *reply = json_pack("{s:b}", "published", 1);

		if (router_publish(w, &target, data, seq)) {
			json_decref(reply);
			json_decref(o);
			return http_error(wsi, 503, "overloaded");
		}
		if (reply && seq[0])
			json_object_set_new(reply, "seq", json_string(seq));
		json_decref(o);
		return http_respond_json(wsi, 202, reply);
	}
}

/* Frees the body; keep_pending: the request goes on (its answer waits). */
static void http_request_free(struct http_request *req, int keep_pending)
{
	struct http_pending *p;

	if (!req)
		return;
	p = req->pending;
	if (p && !keep_pending) {
		if (p->done)
			http_pending_free(p);
		else
			p->wsi = NULL; /* the reply callback frees it */
		p = NULL;
	}
	free(req->body);
	memset(req, 0, sizeof(*req));
	req->pending = p;
}

static void http_on_history(void *arg, json_t *answer)
{
	struct http_pending *p = arg;

	if (!p->wsi) {
		json_decref(answer);
		http_pending_free(p); /* the request is gone */
		return;
	}
	p->done = 1;
	p->answer = answer;
	lws_callback_on_writable(p->wsi);
}

/* The value of query argument name ("name="), or NULL; *bad set when it
 * is there twice or too long. */
static const char *http_query_arg(struct lws *wsi, const char *name,
				  char *buf, int cap, int *bad)
{
	size_t nlen = strlen(name);
	const char *found = NULL;
	char frag[256];

	for (int i = 0; i < 64; i++) {
		int n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag),
					      WSI_TOKEN_HTTP_URI_ARGS, i);

		if (n < 0)
			break;
		if ((size_t)n < nlen || strncmp(frag, name, nlen))
			continue;
		if (found || n - (int)nlen >= cap) {
			*bad = 1;
			return NULL;
		}
		memcpy(buf, frag + nlen, (size_t)n - nlen + 1);
		found = buf;
	}
	return found;
}

/* GET /api/history?channel=c&limit=n: the answer of a client's history
 * request, for backends (the same auth as POST /api/publish). */
static int http_history(struct lws *wsi, struct worker *w,
			struct http_request *req)
{
	char channel[160], limit_text[24];
	const char *name, *limit;
	unsigned max = history_query_max(w);
	unsigned long long n = max;
	struct http_pending *p;
	int bad = 0;

	if (!http_publish_authorized(wsi, w))
		return http_error(wsi, 401, http_unauthorized_reason(w));
	name = http_query_arg(wsi, "channel=", channel, sizeof(channel), &bad);
	limit = http_query_arg(wsi, "limit=", limit_text, sizeof(limit_text),
			       &bad);
	if (bad || !name || !names_valid_channel(name, strlen(name)))
		return http_error(wsi, 400, "\"channel\" must be a channel "
					    "name");
	if (!max)
		return http_error(wsi, 503, "history is off (--history-size 0)");
	if (limit) {
		char *end;

		n = strtoull(limit, &end, 10);
		if (!*limit || *end || limit[0] == '-' || !n || n > max) {
			char text[64];

			snprintf(text, sizeof(text),
				 "\"limit\" must be 1..%u", max);
			return http_error(wsi, 400, text);
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return http_error(wsi, 500, "out of memory");
	p->wsi = wsi;
	p->history = 1;
	req->pending = p;
	if (history_query_run(w, name, (unsigned)n, http_on_history, p)) {
		req->pending = NULL;
		free(p);
		return http_error(wsi, 500, "out of memory");
	}
	return 0; /* answered from WRITEABLE */
}

static int http_route(struct lws *wsi, struct http_request *req)
{
	struct worker *w = worker_of(wsi);
	char path[256];

	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_POST_URI) > 0) {
		if (strcmp(path, "/api/publish"))
			return http_error(wsi, 404, "not found");
		req->is_publish = 1;
		req->authorized = (uint8_t)http_publish_authorized(wsi, w);
		/* the body follows: HTTP_BODY, BODY_COMPLETION */
		return http_publish_headers(wsi, w, req);
	}
	if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) <= 0)
		return http_error(wsi, 405, "method not allowed");
	if (!strcmp(path, "/health"))
		return http_health(wsi, w);
	if (!strcmp(path, "/metrics"))
		return http_metrics(wsi, w);
	if (!strcmp(path, "/api/stats"))
		return http_stats(wsi, w);
	if (!strcmp(path, "/api/publish"))
		return http_error(wsi, 405, "use POST");
	if (!strcmp(path, "/api/history"))
		return http_history(wsi, w, req);
	if (!strncmp(path, "/ws/", 4) || !strcmp(path, "/ws"))
		return http_error(wsi, 426, "websocket upgrade required");
	return http_error(wsi, 404, "not found");
}

/*
 * Only WebSocket upgrades go on; "Upgrade: h2c" (lws 4.1.6's HTTP/2 code,
 * with later CVEs) and anything else hang up. Handling this callback is
 * risky in lws 4.1.6 because of CVE-2025-11677: lws calls it with `in` pointing into
 * header storage it may already have released (for an unknown upgrade it
 * has answered 403 and completed the transaction). So `in` is never read:
 * the header is copied afresh (absent once released), and every answer but
 * "websocket" returns -1, which also stops lws from reading that pointer
 * itself afterwards. See docs/security.md.
 */
int http_api_confirm_upgrade(struct lws *wsi)
{
	char up[16];
	int n = lws_hdr_copy(wsi, up, sizeof(up), WSI_TOKEN_UPGRADE);

	if (n > 0 && !strcasecmp(up, "websocket"))
		return 0;
	metric_add(&worker_of(wsi)->metrics.refused_total, 1);
	log_msg(LOG_INFO, "http", "refused upgrade to '%s'",
		n > 0 ? (strcasecmp(up, "h2c") ? "other" : "h2c") : "unknown");
	return -1;
}

static int callback_http_api(struct lws *wsi, enum lws_callback_reasons reason,
			     void *user, void *in, size_t len)
{
	struct http_request *req = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_route(wsi, req);
	case LWS_CALLBACK_HTTP_BODY:
		if (!req->is_publish || req->answered)
			return 0;
		return http_publish_body(wsi, req, in, len);
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!req->is_publish || req->answered)
			return 0;
		/* frees what req holds before answering (see there) */
		return http_publish_complete(wsi, req);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (req && req->pending)
			return http_publish_stored_reply(wsi, req);
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_CLOSED_HTTP:
		http_request_free(req, 0);
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		/* a client naming this protocol in Sec-WebSocket-Protocol */
		return -1;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return http_api_confirm_upgrade(wsi);
	case LWS_CALLBACK_RAW_ADOPT:
		/* lws turns a CONNECT request into a raw socket: refuse it */
		return -1;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

const struct lws_protocols http_api_protocol = {
	.name = HTTP_API_PROTOCOL_NAME,
	.callback = callback_http_api,
	.per_session_data_size = sizeof(struct http_request),
};

/* Writes "HTTP/1.1 <status>" with a JSON error body on a connection that has
 * not been upgraded; the caller then returns -1 so lws closes it. */
void http_api_refuse_upgrade(struct lws *wsi, int status, const char *error)
{
	unsigned char buf[LWS_PRE + 512];
	size_t n = admission_format_refusal((char *)buf + LWS_PRE,
					    sizeof(buf) - LWS_PRE, status,
					    error);

	if (n)
		lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP);
}
