/*
 * admission — whether an upgrade to /ws/<client_id> is let in, and as whom:
 * path and client_id, query, origin, token (where it is found and whether
 * it verifies, and the channels it allows), draining and the connection
 * limit. Every refusal has its HTTP status and a short reason
 * (docs/protocol.md, "Connecting").
 *
 * Pure functions over a request the lws glue has gathered (its headers,
 * already copied out of lws), any thread; nothing is allocated for a
 * refused request. The caller owns the request's strings; a grant returned
 * by admission_identify() is the caller's to free (auth_grant_free).
 */
#ifndef HERALD_ADMISSION_H
#define HERALD_ADMISSION_H

#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "handshake.h"

/* What the node allows, and its state right now. */
struct admission_policy {
	const char *token_secret;     /* NULL: no token needed */
	const char *allowed_origins;  /* NULL: every origin */
	long max_sessions;            /* upgrades past it get 503 */
	unsigned sessions;            /* open now */
	int draining;                 /* shutting down: every upgrade 503 */
};

/* One upgrade request. Absent headers are NULL. */
struct admission_request {
	const char *path;             /* NULL: none (not a GET, or too long) */
	const char *const *args;      /* query arguments "k=v", URL-decoded */
	size_t nargs;
	int args_overflow;            /* the query did not fit: 400 */
	const char *authorization;    /* Authorization header */
	const char *protocols;        /* Sec-WebSocket-Protocol header */
	const char *origin;           /* Origin header (browsers) */
	time_t now;
};

struct admission_result {
	int status;                   /* 0: let in; else the HTTP status */
	const char *error;            /* why not (static text) */
	char client_id[NAMES_CLIENT_ID_MAX + 1]; /* "" when not known */
};

/*
 * Every check, in order: path and query (400/404), origin (403), token
 * (401) and the channels it allows against ?channels= (403), draining and
 * the connection limit (503). Returns res->status.
 */
int admission_check(const struct admission_policy *p,
		    const struct admission_request *r,
		    struct admission_result *res);

/*
 * For a request admission_check() let in: the client_id and, with a token
 * secret, the token's grant (*grant; NULL when the token limits no
 * channel). Returns 0, or the status of a check that now fails.
 */
int admission_identify(const struct admission_policy *p,
		       const struct admission_request *r,
		       struct admission_result *res, struct auth_grant **grant);

/* The refusal past the session limit: 503. For an upgrade whose seat
 * another worker took between admission_check() and its reservation. */
int admission_refuse_full(struct admission_result *res);

/*
 * The HTTP response refusing an upgrade: status line, a JSON body
 * {"error": ...} and "connection: close", into out. Returns its length,
 * or 0 when it does not fit in cap.
 */
size_t admission_format_refusal(char *out, size_t cap, int status,
				const char *error);

/* Logs a refusal (status, client_id, reason), at most 20 lines a second
 * per thread; the rest are summed up in one line. */
void admission_log_refusal(const struct admission_result *res);

#endif
