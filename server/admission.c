/*
 * admission — see admission.h.
 *
 * The token may come from three places, tried in this order: the "token"
 * query argument, "Authorization: Bearer <t>", or a "bearer.<t>" entry of
 * Sec-WebSocket-Protocol (the only header a browser's WebSocket can set;
 * docs/security.md). Nothing here logs a token.
 */
#include "admission.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"

#define TOKEN_ARG "token="
#define BEARER_SCHEME "Bearer "
#define BEARER_PROTOCOL "bearer."

static int admission_refuse(struct admission_result *res, int status,
			    const char *why)
{
	res->status = status;
	res->error = why;
	return status;
}

/* Where the token is: its first byte and length (0: none). */
static const char *admission_find_token(const struct admission_request *r,
					size_t *len)
{
	const char *p, *end;
	size_t n;

	for (size_t i = 0; i < r->nargs; i++)
		if (!strncmp(r->args[i], TOKEN_ARG, strlen(TOKEN_ARG))) {
			*len = strlen(r->args[i] + strlen(TOKEN_ARG));
			return r->args[i] + strlen(TOKEN_ARG);
		}
	if (r->authorization &&
	    strlen(r->authorization) > strlen(BEARER_SCHEME) &&
	    !strncasecmp(r->authorization, BEARER_SCHEME,
			 strlen(BEARER_SCHEME))) {
		*len = strlen(r->authorization + strlen(BEARER_SCHEME));
		return r->authorization + strlen(BEARER_SCHEME);
	}
	for (p = r->protocols; p && *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		while (n && p[n - 1] == ' ')
			n--;
		if (n > strlen(BEARER_PROTOCOL) &&
		    !strncmp(p, BEARER_PROTOCOL, strlen(BEARER_PROTOCOL))) {
			*len = n - strlen(BEARER_PROTOCOL);
			return p + strlen(BEARER_PROTOCOL);
		}
		if (!end)
			break;
		p = end + 1;
	}
	*len = 0;
	return "";
}

/* Verifies the token for res->client_id: 0 and the grant, or 401. */
static int admission_verify_token(const struct admission_policy *p,
				  const struct admission_request *r,
				  struct admission_result *res,
				  struct auth_grant **grant)
{
	enum auth_result verdict;
	const char *token;
	size_t len;

	token = admission_find_token(r, &len);
	verdict = len > AUTH_MAX_TOKEN ? AUTH_MALFORMED
		: auth_verify(p->token_secret, token, len, res->client_id,
			      r->now, grant);
	if (verdict != AUTH_OK)
		return admission_refuse(res, 401, auth_result_text(verdict));
	return 0;
}

struct admission_channel_check {
	const struct auth_grant *grant;
	int refused;
};

static void admission_check_channel(const char *channel, size_t len, void *arg)
{
	struct admission_channel_check *c = arg;
	char name[NAMES_CHANNEL_MAX + 1];

	memcpy(name, channel, len);
	name[len] = '\0';
	if (!auth_grant_allows(c->grant, name))
		c->refused = 1;
}

/* Path, client_id and query: 0, or 400/404. */
static int admission_check_request(const struct admission_request *r,
				   struct admission_result *res)
{
	struct handshake_result h;

	res->client_id[0] = '\0';
	if (!r->path)
		return admission_refuse(res, 404, "not found");
	if (handshake_check(r->path, r->args, r->nargs, &h))
		return admission_refuse(res, h.status, h.error);
	memcpy(res->client_id, h.client_id, sizeof(res->client_id));
	if (r->args_overflow)
		return admission_refuse(res, 400, "query string too long");
	return 0;
}

int admission_check(const struct admission_policy *p,
		    const struct admission_request *r,
		    struct admission_result *res)
{
	res->status = 0;
	res->error = NULL;
	if (admission_check_request(r, res))
		return res->status;
	if (p->allowed_origins && r->origin &&
	    !config_origin_allowed(p->allowed_origins, r->origin,
				   strlen(r->origin)))
		return admission_refuse(res, 403, "origin not allowed");
	if (p->token_secret) {
		struct admission_channel_check check = { NULL, 0 };
		struct auth_grant *grant = NULL;

		if (admission_verify_token(p, r, res, &grant))
			return res->status;
		check.grant = grant;
		handshake_foreach_channel(r->args, r->nargs,
					  admission_check_channel, &check);
		auth_grant_free(grant);
		if (check.refused)
			return admission_refuse(res, 403, "the token does not "
						"allow a requested channel");
	}
	if (p->draining)
		return admission_refuse(res, 503, "server is shutting down");
	if ((long)p->sessions >= p->max_sessions)
		return admission_refuse_full(res);
	return 0;
}

int admission_refuse_full(struct admission_result *res)
{
	return admission_refuse(res, 503, "connection limit reached");
}

int admission_identify(const struct admission_policy *p,
		       const struct admission_request *r,
		       struct admission_result *res, struct auth_grant **grant)
{
	*grant = NULL;
	res->status = 0;
	res->error = NULL;
	if (admission_check_request(r, res))
		return res->status;
	if (p->token_secret && admission_verify_token(p, r, res, grant))
		return res->status;
	return 0;
}

/* Refused upgrades logged in full per second and worker thread; the rest
 * are counted in refused_total and summed up in one line. */
#define ADMISSION_REFUSALS_LOGGED 20

/*
 * Logs a refused upgrade with its client_id and reason, at most
 * ADMISSION_REFUSALS_LOGGED a second (each line differs by client_id, so log.c's
 * collapsing of repeats alone would not bound a flood of them, e.g. 503s
 * at the connection limit); the next second starts with a count of those
 * held back.
 */
void admission_log_refusal(const struct admission_result *res)
{
	static _Thread_local struct log_budget budget;
	unsigned long missed;
	int show = log_budget_take(&budget, ADMISSION_REFUSALS_LOGGED, &missed);

	if (missed)
		log_msg(LOG_INFO, "admission", "%lu more refused upgrades in the last "
			"second were not logged one by one", missed);
	if (show)
		log_msg(LOG_INFO, "admission",
			"refused upgrade status=%d client_id=%s reason=%s",
			res->status, res->client_id[0] ? res->client_id : "-",
			res->error);
}

size_t admission_format_refusal(char *out, size_t cap, int status,
				const char *error)
{
	char body[160];
	const char *reason;
	int blen, n;

	switch (status) {
	case 400: reason = "Bad Request"; break;
	case 401: reason = "Unauthorized"; break;
	case 403: reason = "Forbidden"; break;
	case 404: reason = "Not Found"; break;
	default: reason = "Service Unavailable"; break;
	}
	blen = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", error);
	n = snprintf(out, cap,
		     "HTTP/1.1 %d %s\r\n"
		     "content-type: application/json\r\n"
		     "content-length: %d\r\n"
		     "connection: close\r\n\r\n%s",
		     status, reason, blen, body);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}
