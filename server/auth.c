/*
 * auth — see auth.h.
 *
 * Order of checks: shape (three non-empty canonical base64url parts), the
 * header's JSON and alg, then the signature over "<header>.<payload>"
 * exactly as received, and only then the payload's JSON and claims. The decoding is strict: characters outside the base64url
 * alphabet, padding, or non-zero bits after the last byte make the token
 * malformed, so a token has one spelling only.
 */
#include "auth.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

struct auth_grant {
	json_t *channels; /* array of strings */
};

static int b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : 63;
}

/* Whether in[0..len) is canonical unpadded base64url: only the alphabet,
 * a possible length, and zero bits after the last byte, so that every
 * value has exactly one spelling. */
static int b64url_canonical(const char *in, size_t len)
{
	static const int unused_mask[4] = { 0, 0, 0x0f, 0x03 };

	if (!len || len % 4 == 1)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!b64url_char((unsigned char)in[i]))
			return 0;
	return !(b64url_value((unsigned char)in[len - 1]) &
		 unused_mask[len % 4]);
}

/* Decodes len chars of canonical base64url into out (room for cap
 * bytes); returns the decoded length or -1. */
static int b64url_decode(const char *in, size_t len, char *out, size_t cap)
{
	size_t need = len / 4 * 3 + 3;

	if (!b64url_canonical(in, len) || need + 5 > cap)
		return -1;
	return lws_b64_decode_string_len(in, (int)len, out, (int)cap);
}

static json_t *decode_json_part(const char *in, size_t len)
{
	char buf[AUTH_MAX_TOKEN];
	int n = b64url_decode(in, len, buf, sizeof(buf));
	json_t *v;

	if (n <= 0)
		return NULL;
	v = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	if (v && !json_is_object(v)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

static int signature_valid(const char *secret, const char *signed_part,
			   size_t signed_len, const char *sig, size_t sig_len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	char given[64];
	int n = b64url_decode(sig, sig_len, given, sizeof(given));

	if (n != 32)
		return 0;
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret),
		  (const unsigned char *)signed_part, signed_len, mac, &mac_len) ||
	    mac_len != 32)
		return 0;
	return CRYPTO_memcmp(mac, given, 32) == 0;
}

/* A NumericDate claim: absent is ok (*present = 0), else must be a number. */
static int numeric_claim(json_t *payload, const char *name, double *out,
			 int *present)
{
	json_t *v = json_object_get(payload, name);

	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return 0;
}

static enum auth_result check_claims(json_t *payload, const char *client_id,
				     time_t now, json_t **channels)
{
	json_t *sub = json_object_get(payload, "sub"), *ch, *item;
	double exp = 0, nbf = 0;
	int has_exp, has_nbf;
	size_t i;

	if (!json_is_string(sub) || json_string_length(sub) != strlen(client_id) ||
	    strcmp(json_string_value(sub), client_id))
		return AUTH_WRONG_SUBJECT;
	if (numeric_claim(payload, "exp", &exp, &has_exp) ||
	    numeric_claim(payload, "nbf", &nbf, &has_nbf))
		return AUTH_BAD_CLAIMS;
	if (!has_exp || exp + AUTH_LEEWAY_SECONDS <= (double)now)
		return AUTH_EXPIRED;
	if (has_nbf && nbf - AUTH_LEEWAY_SECONDS > (double)now)
		return AUTH_NOT_YET_VALID;

	ch = json_object_get(payload, "channels");
	if (ch) {
		if (!json_is_array(ch))
			return AUTH_BAD_CLAIMS;
		json_array_foreach(ch, i, item)
			if (!json_is_string(item) ||
			    json_string_length(item) !=
				    strlen(json_string_value(item)))
				return AUTH_BAD_CLAIMS;
	}
	*channels = ch;
	return AUTH_OK;
}

enum auth_result auth_verify(const char *secret, const char *token, size_t len,
			     const char *client_id, time_t now,
			     struct auth_grant **grant)
{
	const char *dot1, *dot2, *payload_b64, *sig;
	json_t *header = NULL, *payload = NULL, *channels = NULL;
	enum auth_result r = AUTH_MALFORMED;
	json_t *alg;

	if (!token || !len)
		return AUTH_MISSING;
	if (len > AUTH_MAX_TOKEN || memchr(token, '\0', len))
		return AUTH_MALFORMED;
	dot1 = memchr(token, '.', len);
	if (!dot1)
		return AUTH_MALFORMED;
	payload_b64 = dot1 + 1;
	dot2 = memchr(payload_b64, '.', len - (size_t)(payload_b64 - token));
	if (!dot2)
		return AUTH_MALFORMED;
	sig = dot2 + 1;

	/* the shape first: three canonical base64url parts, two dots */
	if (memchr(sig, '.', len - (size_t)(sig - token)) ||
	    !b64url_canonical(payload_b64, (size_t)(dot2 - payload_b64)) ||
	    !b64url_canonical(sig, len - (size_t)(sig - token)))
		goto out;
	header = decode_json_part(token, (size_t)(dot1 - token));
	if (!header)
		goto out;
	alg = json_object_get(header, "alg");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") ||
	    json_string_length(alg) != 5) {
		r = AUTH_BAD_ALGORITHM;
		goto out;
	}
	/* the payload is parsed only once its signature is verified */
	if (!signature_valid(secret, token, (size_t)(dot2 - token), sig,
			     len - (size_t)(sig - token))) {
		r = AUTH_BAD_SIGNATURE;
		goto out;
	}
	payload = decode_json_part(payload_b64, (size_t)(dot2 - payload_b64));
	if (!payload)
		goto out;
	r = check_claims(payload, client_id, now, &channels);
	if (r == AUTH_OK && grant) {
		*grant = NULL;
		if (channels) {
			*grant = calloc(1, sizeof(**grant));
			if (!*grant) {
				r = AUTH_MALFORMED;
				goto out;
			}
			(*grant)->channels = json_incref(channels);
		}
	}
out:
	json_decref(header);
	json_decref(payload);
	return r;
}

const char *auth_result_text(enum auth_result r)
{
	switch (r) {
	case AUTH_OK: return "ok";
	case AUTH_MISSING: return "token required";
	case AUTH_MALFORMED: return "malformed token";
	case AUTH_BAD_ALGORITHM: return "token algorithm must be HS256";
	case AUTH_BAD_SIGNATURE: return "bad token signature";
	case AUTH_WRONG_SUBJECT: return "token subject is not the client_id";
	case AUTH_EXPIRED: return "token expired";
	case AUTH_NOT_YET_VALID: return "token not yet valid";
	case AUTH_BAD_CLAIMS: return "bad token claims";
	}
	return "bad token";
}

int auth_grant_allows(const struct auth_grant *grant, const char *channel)
{
	size_t i, n, clen = strlen(channel);
	json_t *item;

	if (!grant)
		return 1;
	json_array_foreach(grant->channels, i, item) {
		const char *p = json_string_value(item);

		n = strlen(p);
		if (n && p[n - 1] == '*') {
			if (clen >= n - 1 && !memcmp(channel, p, n - 1))
				return 1;
		} else if (n == clen && !memcmp(channel, p, n)) {
			return 1;
		}
	}
	return 0;
}

void auth_grant_free(struct auth_grant *grant)
{
	if (!grant)
		return;
	json_decref(grant->channels);
	free(grant);
}
