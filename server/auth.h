/*
 * auth — HS256 JSON Web Tokens for connections (docs/security.md, --token-secret).
 *
 * Only "alg":"HS256" is accepted (no "none", no other algorithm); the
 * signature is checked with OpenSSL HMAC-SHA256 and a constant-time compare
 * before any claim is trusted. Claims: "sub" must equal the client_id,
 * "exp" (required) and "nbf" (optional) are checked with a small leeway,
 * and an optional "channels" claim (a list of names, a trailing "*" makes a
 * prefix) limits what the session may subscribe to and publish on.
 *
 * Pure functions (OpenSSL, jansson), any thread. Tokens are never logged.
 */
#ifndef HERALD_AUTH_H
#define HERALD_AUTH_H

#include <stddef.h>
#include <time.h>

#define AUTH_LEEWAY_SECONDS 30
#define AUTH_MAX_TOKEN 4096

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING,       /* no token at all */
	AUTH_MALFORMED,     /* not three base64url parts of JSON objects */
	AUTH_BAD_ALGORITHM, /* alg is not HS256 */
	AUTH_BAD_SIGNATURE,
	AUTH_WRONG_SUBJECT, /* sub is not the client_id */
	AUTH_EXPIRED,       /* exp missing or in the past */
	AUTH_NOT_YET_VALID, /* nbf in the future */
	AUTH_BAD_CLAIMS,    /* a claim of the wrong type */
};

/* The channels a verified token allows; opaque, owned by the caller. */
struct auth_grant;

/*
 * Verifies token (len bytes) for client_id at time now with secret.
 * On AUTH_OK and when grant is not NULL, *grant receives the channel
 * restriction (NULL when the token has no "channels" claim: all allowed),
 * to be released with auth_grant_free(). Otherwise *grant is untouched and
 * nothing is allocated.
 */
enum auth_result auth_verify(const char *secret, const char *token, size_t len,
			     const char *client_id, time_t now,
			     struct auth_grant **grant);

/* A short reason for a refusal, for logs and the 401 body. */
const char *auth_result_text(enum auth_result r);

/* Whether the grant allows channel (a NULL grant allows every channel). */
int auth_grant_allows(const struct auth_grant *grant, const char *channel);

/* Frees a grant; NULL is ignored. */
void auth_grant_free(struct auth_grant *grant);

#endif
