/*
 * fuzz_auth — server/auth.c: HS256 token verification and channel grants.
 *
 * Input: "<token>[\n<client_id>[\n<channel>]]" (a token never holds a
 * newline). Three verifications per input, all at a fixed time NOW with
 * the secret FUZZ_SECRET:
 *   A. the whole input as the token, for client "alice";
 *   B. the token line for the client_id line;
 *   C. the token line re-signed: everything up to its second '.' (or the
 *      whole line) is signed here with FUZZ_SECRET, so the fuzzer reaches
 *      the claims checks with a valid signature.
 * An input whose first byte is '{' is instead JSON: the token line is
 * "<payload JSON>" or "<header JSON>\t<payload JSON>" (header by default
 * {"alg":"HS256"}), base64url-encoded and signed here (D), so mutations
 * act on the claims directly rather than through base64.
 * Checks: a refusal leaves *grant untouched (and allocates nothing: the
 * leak checker runs after every input); every AUTH_OK is confirmed by an
 * independent reading of the token (reference_verify: alg HS256, sub,
 * exp/nbf with leeway, channels an array of strings), and for C, where the
 * signature is right by construction, the reference and auth_verify must
 * agree both ways; auth_grant_allows() must agree with the reference
 * reading of "channels" for the channel line and a few fixed names.
 */
#include "auth.h"
#include "fuzz_token.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW ((time_t)1700000000)

#include "fuzz_assert.h"

static int sentinel;
#define UNTOUCHED ((struct auth_grant *)&sentinel)

/* ---- an independent reading of a token (no signature check) ---- */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Canonical base64url without padding into a new buffer (*outlen bytes):
 * strict alphabet, and the unused trailing bits must be zero (auth.c gives
 * every token one spelling). NULL when not canonical base64url. */
static unsigned char *ref_b64url(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out;
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	if (!len || len % 4 == 1)
		return NULL;
	out = malloc(len);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (bits && (acc & ((1u << bits) - 1))) {
		free(out);
		return NULL;
	}
	*outlen = n;
	return out;
}

static json_t *ref_part(const char *in, size_t len)
{
	size_t n = 0;
	unsigned char *raw = ref_b64url(in, len, &n);
	json_t *v;

	if (!raw)
		return NULL;
	v = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* Whether a token with a right signature is acceptable for client_id at
 * now; *channels gets a new reference to the claim (or NULL). */
static int reference_verify(const char *tok, size_t len, const char *client_id,
			    json_t **channels)
{
	const char *d1, *d2;
	json_t *h = NULL, *p = NULL, *alg, *sub, *exp, *nbf, *ch, *item;
	int ok = 0;
	size_t i;

	*channels = NULL;
	if (!len || len > AUTH_MAX_TOKEN || memchr(tok, '\0', len))
		return 0;
	d1 = memchr(tok, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
		return 0;
	h = ref_part(tok, (size_t)(d1 - tok));
	p = ref_part(d1 + 1, (size_t)(d2 - d1 - 1));
	if (!h || !p)
		goto out;
	alg = json_object_get(h, "alg");
	if (!json_is_string(alg) || json_string_length(alg) != 5 ||
	    memcmp(json_string_value(alg), "HS256", 5))
		goto out;
	sub = json_object_get(p, "sub");
	if (!json_is_string(sub) ||
	    json_string_length(sub) != strlen(client_id) ||
	    memcmp(json_string_value(sub), client_id, strlen(client_id)))
		goto out;
	exp = json_object_get(p, "exp");
	nbf = json_object_get(p, "nbf");
	if (!json_is_number(exp) || (nbf && !json_is_number(nbf)))
		goto out;
	if (!(json_number_value(exp) + AUTH_LEEWAY_SECONDS > (double)NOW))
		goto out;
	if (nbf && json_number_value(nbf) - AUTH_LEEWAY_SECONDS > (double)NOW)
		goto out;
	ch = json_object_get(p, "channels");
	if (ch) {
		if (!json_is_array(ch))
			goto out;
		json_array_foreach(ch, i, item)
			if (!json_is_string(item) ||
			    memchr(json_string_value(item), '\0',
				   json_string_length(item)))
				goto out;
		*channels = json_incref(ch);
	}
	ok = 1;
out:
	json_decref(h);
	json_decref(p);
	return ok;
}

static int reference_allows(json_t *channels, const char *channel)
{
	size_t i, clen = strlen(channel);
	json_t *item;

	if (!channels)
		return 1;
	json_array_foreach(channels, i, item) {
		const char *p = json_string_value(item);
		size_t n = json_string_length(item);

		if (n && p[n - 1] == '*'
			    ? clen >= n - 1 && !memcmp(channel, p, n - 1)
			    : n == clen && !memcmp(channel, p, n))
			return 1;
	}
	return 0;
}

/* ---- the target ---- */

/* Verifies len bytes of tok (an exact-size copy) for client_id; checks the
 * result against the reference (both ways when signed is set) and the
 * grant against the reference for channel. */
static void verify(const char *tok, size_t len, const char *client_id,
		   const char *channel, int signed_here)
{
	static const char *const fixed[] = { "news", "room.1", "$sys", "",
					     "a", "*" };
	struct auth_grant *grant = UNTOUCHED;
	char *copy = malloc(len ? len : 1);
	json_t *channels = NULL;
	enum auth_result r;
	int ref;

	if (!copy)
		return;
	memcpy(copy, tok, len);
	r = auth_verify(FUZZ_SECRET, copy, len, client_id, NOW, &grant);
	FUZZ_ASSERT(r >= AUTH_OK && r <= AUTH_BAD_CLAIMS);
	FUZZ_ASSERT(auth_result_text(r) && auth_result_text(r)[0]);
	if (r != AUTH_OK) {
		FUZZ_ASSERT(grant == UNTOUCHED);
		/* verifying without wanting the grant gives the same answer */
		FUZZ_ASSERT(auth_verify(FUZZ_SECRET, copy, len, client_id, NOW,
					NULL) == r);
	}
	ref = reference_verify(tok, len, client_id, &channels);
	if (r == AUTH_OK) {
		if (!ref)
			fprintf(stderr, "auth_verify accepted a token the "
					"reference refuses\n");
		FUZZ_ASSERT(ref);
		FUZZ_ASSERT(grant != UNTOUCHED);
		FUZZ_ASSERT((grant == NULL) == (channels == NULL));
		FUZZ_ASSERT(auth_grant_allows(grant, channel) ==
			    reference_allows(channels, channel));
		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
			FUZZ_ASSERT(auth_grant_allows(grant, fixed[i]) ==
				    reference_allows(channels, fixed[i]));
		auth_grant_free(grant);
	} else if (signed_here && ref) {
		fprintf(stderr, "auth_verify refused (%s) a signed token the "
				"reference accepts\n",
			auth_result_text(r));
		FUZZ_ASSERT(!ref);
	}
	json_decref(channels);
	free(copy);
}

/* Splits "<token line>[\n<client_id>[\n<channel>]]": returns the token
 * line's length and fills client_id and channel (NUL-terminated copies, cut
 * at a NUL byte as a C string would be) when the lines are there. */
static size_t split_lines(const char *in, size_t size, char *client_id,
			  size_t id_cap, char *channel, size_t ch_cap)
{
	const char *nl = memchr(in, '\n', size), *nl2;
	size_t n;

	if (!nl)
		return size;
	nl2 = memchr(nl + 1, '\n', size - (size_t)(nl + 1 - in));
	n = (size_t)((nl2 ? nl2 : in + size) - (nl + 1));
	if (n >= id_cap)
		n = id_cap - 1;
	memcpy(client_id, nl + 1, n);
	client_id[n] = '\0';
	if (nl2) {
		n = size - (size_t)(nl2 + 1 - in);
		if (n >= ch_cap)
			n = ch_cap - 1;
		memcpy(channel, nl2 + 1, n);
		channel[n] = '\0';
	}
	return (size_t)(nl - in);
}

/* D: header and payload JSON from the input, encoded and signed here. */
static void json_mode(const char *in, size_t size)
{
	static const char def_header[] = "{\"alg\":\"HS256\"}";
	char client_id[128] = "alice", channel[256] = "news";
	size_t line = split_lines(in, size, client_id, sizeof(client_id),
				  channel, sizeof(channel));
	const char *tab = memchr(in, '\t', line);
	const char *header = tab ? in : def_header;
	size_t hlen = tab ? (size_t)(tab - in) : strlen(def_header);
	const char *payload = tab ? tab + 1 : in;
	size_t plen = tab ? line - hlen - 1 : line;
	char *tok = malloc(4 * (hlen + plen) / 3 + 64);
	size_t n;

	if (!tok)
		return;
	n = fuzz_b64url(header, hlen, tok);
	tok[n++] = '.';
	n += fuzz_b64url(payload, plen, tok + n);
	n = fuzz_sign(FUZZ_SECRET, tok, n);
	verify(tok, n, client_id, channel, 1);
	free(tok);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	json_object_seed(1); /* replays see the same hash table layout */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char client_id[128] = "alice", channel[256] = "news";
	size_t tok_len = size, n;
	char *signed_tok;

	if (size && in[0] == '{') {
		json_mode(in, size);
		return 0;
	}

	/* A: everything is the token */
	verify(in, size, "alice", "news", 0);

	/* B: token / client_id / channel lines */
	tok_len = split_lines(in, size, client_id, sizeof(client_id), channel,
			      sizeof(channel));
	if (tok_len < size)
		verify(in, tok_len, client_id, channel, 0);

	/* C: the signing input of the token line, signed here */
	{
		const char *d1 = memchr(in, '.', tok_len);
		const char *d2 = d1 ? memchr(d1 + 1, '.',
					     tok_len - (size_t)(d1 + 1 - in))
				    : NULL;
		size_t sign_len = d2 ? (size_t)(d2 - in) : tok_len;

		signed_tok = malloc(sign_len + 64);
		if (!signed_tok)
			return 0;
		memcpy(signed_tok, in, sign_len);
		n = fuzz_sign(FUZZ_SECRET, signed_tok, sign_len);
		verify(signed_tok, n, client_id, channel, 1);
		free(signed_tok);
	}
	return 0;
}
