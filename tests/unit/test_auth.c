/*
 * Unit tests for server/auth.c: HS256 JWT verification (docs/security.md
 * "Tokens") and the channels grant.
 *
 * Tokens are built here with OpenSSL: base64url (no padding) of the header
 * and payload JSON exactly as written in the test, signed with
 * HMAC-SHA256. Every token is handed to auth_verify() in a heap copy of
 * exactly its length with no terminator, so under ASan a read past the
 * token fails the test. Every refusal is checked to leave *grant untouched,
 * and the refusal tests end with CHECK_NO_LEAKS(): a refused token
 * allocates nothing.
 *
 * KNOWN_BUG(cond, why) marks a documented behaviour the code does not have
 * yet: it prints "known bug: ..." without failing the run while cond is
 * false, and fails with "fixed: turn KNOWN_BUG into CHECK" once it holds,
 * so the suite stays green and the marker cannot outlive the bug.
 */
#include "auth.h"
#include "check.h"
/* the same base64url and HS256 helpers the fuzz targets use */
#include "../fuzz/fuzz_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "0123456789abcdef-test-secret"
#define CLIENT "alice"
#define NOW ((time_t)1700000000)
#define HS256 "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

#define KNOWN_BUG(cond, why)                                                 \
	do {                                                                 \
		if (cond)                                                    \
			check_fail(__FILE__, __LINE__,                       \
				   "fixed: turn KNOWN_BUG into CHECK: %s",   \
				   #cond);                                   \
		else                                                         \
			fprintf(stderr, "%s:%d: known bug: %s\n", __FILE__,  \
				__LINE__, (why));                            \
	} while (0)

/* ---- building tokens ---- */

/* The base64url HMAC-SHA256 of len bytes of msg with secret into out. */
static void sign(const char *secret, const char *msg, size_t len, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	     (const unsigned char *)msg, len, mac, &mac_len);
	fuzz_b64url(mac, mac_len, out);
}

#define TOKEN_MAX 16384

/* "<fuzz_b64url(header)>.<fuzz_b64url(payload)>.<sig>" signed with secret, in a
 * static buffer (valid until the next call). */
static char *token_with(const char *secret, const char *header,
			const char *payload)
{
	static char tok[TOKEN_MAX];
	size_t n = fuzz_b64url(header, strlen(header), tok);

	tok[n++] = '.';
	n += fuzz_b64url(payload, strlen(payload), tok + n);
	tok[n] = '.';
	sign(secret, tok, n, tok + n + 1);
	return tok;
}

static char *token(const char *payload)
{
	return token_with(SECRET, HS256, payload);
}

/* printf into a static buffer: the claims of a test token. */
static const char *claims(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static const char *claims(const char *fmt, ...)
{
	static char buf[TOKEN_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}

/* Claims valid for CLIENT at NOW, with extra members appended. */
static const char *valid_claims(const char *extra)
{
	return claims("{\"sub\":\"" CLIENT "\",\"exp\":%lld%s}",
		      (long long)NOW + 3600, extra);
}

/* ---- verifying ---- */

#define UNTOUCHED ((struct auth_grant *)&sentinel)
static int sentinel;

/* auth_verify() over an unterminated heap copy of len bytes of tok. */
static enum auth_result verify_n(const char *secret, const char *tok,
				 size_t len, const char *client, time_t now,
				 struct auth_grant **grant)
{
	char *copy = malloc(len ? len : 1);
	enum auth_result r;

	memcpy(copy, tok, len);
	r = auth_verify(secret, copy, len, client, now, grant);
	free(copy);
	return r;
}

/* The result of verifying tok for CLIENT at NOW; on anything but AUTH_OK
 * the grant must be left untouched. Any grant is freed. */
static enum auth_result verify_at(const char *tok, const char *client,
				  time_t now)
{
	struct auth_grant *grant = UNTOUCHED;
	enum auth_result r =
		verify_n(SECRET, tok, strlen(tok), client, now, &grant);

	if (r != AUTH_OK)
		CHECK(grant == UNTOUCHED);
	else if (grant != UNTOUCHED)
		auth_grant_free(grant);
	else
		CHECK(!"AUTH_OK left *grant unset");
	return r;
}

static enum auth_result verify(const char *tok)
{
	return verify_at(tok, CLIENT, NOW);
}

/* A copy of tok with the character at index i replaced by c. */
static char *with_char(const char *tok, size_t i, char c)
{
	static char buf[TOKEN_MAX];

	snprintf(buf, sizeof(buf), "%s", tok);
	buf[i] = c;
	return buf;
}

/* Index of the n-th '.' (1 or 2) of tok. */
static size_t dot(const char *tok, int n)
{
	const char *p = strchr(tok, '.');

	if (n == 2)
		p = strchr(p + 1, '.');
	return (size_t)(p - tok);
}

/* "<h>.<p>.<s>" from three literal parts. */
static char *join3(const char *h, const char *p, const char *s)
{
	static char buf[TOKEN_MAX];

	snprintf(buf, sizeof(buf), "%s.%s.%s", h, p, s);
	return buf;
}

/* The base64url of a literal string (static, valid until the next call). */
static char *b64s(const char *s)
{
	static char bufs[4][TOKEN_MAX];
	static int next;
	char *out = bufs[next++ % 4];

	fuzz_b64url(s, strlen(s), out);
	return out;
}

/* A token whose header and payload parts are given already encoded, with a
 * valid signature over them. */
static char *signed_parts(const char *h64, const char *p64)
{
	static char buf[TOKEN_MAX];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "%s.%s", h64, p64);

	buf[n] = '.';
	sign(SECRET, buf, n, buf + n + 1);
	return buf;
}

/* ---- the tests ---- */

static void test_ok(void)
{
	struct auth_grant *grant = UNTOUCHED;
	const char *tok = token(valid_claims(""));

	CHECK_INT_EQ(verify_n(SECRET, tok, strlen(tok), CLIENT, NOW, &grant),
		     AUTH_OK);
	CHECK(grant == NULL); /* no channels claim: everything allowed */
	CHECK(auth_grant_allows(grant, "news"));
	CHECK(auth_grant_allows(grant, "$sys"));

	/* grant may be NULL when the caller does not want it */
	CHECK_INT_EQ(auth_verify(SECRET, tok, strlen(tok), CLIENT, NOW, NULL),
		     AUTH_OK);
	tok = token(valid_claims(",\"channels\":[\"a\"]"));
	CHECK_INT_EQ(auth_verify(SECRET, tok, strlen(tok), CLIENT, NOW, NULL),
		     AUTH_OK);

	/* the header may carry more members; claims may be in any order,
	 * with other claims, and exp/nbf may be fractional */
	CHECK_INT_EQ(verify(token_with(SECRET,
				       "{\"typ\":\"JWT\",\"kid\":\"k1\","
				       "\"alg\":\"HS256\"}",
				       valid_claims(",\"iss\":\"me\","
						    "\"iat\":1,\"x\":{}"))),
		     AUTH_OK);
	CHECK_INT_EQ(verify(token_with(SECRET, "{\"alg\":\"HS256\"}",
				       claims("{\"exp\":%lld.5,\"nbf\":%lld.5,"
					      "\"sub\":\"alice\"}",
					      (long long)NOW + 1,
					      (long long)NOW - 1))),
		     AUTH_OK);
	/* client ids use the whole alphabet */
	CHECK_INT_EQ(verify_at(token(claims("{\"sub\":\"u_1.eu:w@h-2\","
					    "\"exp\":%lld}",
					    (long long)NOW + 60)),
			       "u_1.eu:w@h-2", NOW),
		     AUTH_OK);
	/* a secret of any bytes, and a token of exactly AUTH_MAX_TOKEN */
	tok = token_with("\x01\xff secret with spaces", HS256,
			 valid_claims(""));
	CHECK_INT_EQ(auth_verify("\x01\xff secret with spaces", tok,
				 strlen(tok), CLIENT, NOW, NULL),
		     AUTH_OK);
	CHECK_NO_LEAKS();
}

static void test_ok_at_max_length(void)
{
	char pad[AUTH_MAX_TOKEN + 16];
	const char *tok;
	size_t len;
	int n = 0;

	/* grow a "pad" claim until the token is exactly AUTH_MAX_TOKEN */
	for (size_t want = 2900; want < 3200; want++) {
		memcpy(pad, ",\"pad\":\"", 8);
		memset(pad + 8, 'p', want);
		memcpy(pad + 8 + want, "\"", 2);
		tok = token(valid_claims(pad));
		len = strlen(tok);
		if (len == AUTH_MAX_TOKEN) {
			n++;
			CHECK_INT_EQ(verify(tok), AUTH_OK);
		} else if (len == AUTH_MAX_TOKEN + 1) {
			n++;
			CHECK_INT_EQ(verify(tok), AUTH_MALFORMED);
		}
	}
	CHECK(n >= 2); /* both lengths were reached */
}

static void test_grant(void)
{
	struct auth_grant *grant = UNTOUCHED;
	const char *tok = token(valid_claims(
		",\"channels\":[\"news\",\"room.*\",\"$sys\",\"a*b\"]"));

	CHECK_INT_EQ(verify_n(SECRET, tok, strlen(tok), CLIENT, NOW, &grant),
		     AUTH_OK);
	CHECK(grant != NULL && grant != UNTOUCHED);
	if (!grant || grant == UNTOUCHED)
		return;
	/* exact names */
	CHECK(auth_grant_allows(grant, "news"));
	CHECK(!auth_grant_allows(grant, "news2"));
	CHECK(!auth_grant_allows(grant, "new"));
	CHECK(!auth_grant_allows(grant, "News"));
	CHECK(!auth_grant_allows(grant, ""));
	CHECK(auth_grant_allows(grant, "$sys"));
	/* a trailing "*" is a prefix; "*" elsewhere is a plain character */
	CHECK(auth_grant_allows(grant, "room.1"));
	CHECK(auth_grant_allows(grant, "room.a.b:c"));
	CHECK(auth_grant_allows(grant, "room."));
	CHECK(!auth_grant_allows(grant, "room"));
	CHECK(!auth_grant_allows(grant, "roomx1"));
	CHECK(!auth_grant_allows(grant, "xroom.1"));
	CHECK(auth_grant_allows(grant, "a*b"));
	CHECK(!auth_grant_allows(grant, "axb"));
	CHECK(!auth_grant_allows(grant, "other"));
	auth_grant_free(grant);

	/* "*" alone allows everything */
	grant = UNTOUCHED;
	tok = token(valid_claims(",\"channels\":[\"*\"]"));
	CHECK_INT_EQ(verify_n(SECRET, tok, strlen(tok), CLIENT, NOW, &grant),
		     AUTH_OK);
	CHECK(grant != NULL && grant != UNTOUCHED);
	if (grant && grant != UNTOUCHED) {
		CHECK(auth_grant_allows(grant, "news"));
		CHECK(auth_grant_allows(grant, "$sys"));
		CHECK(auth_grant_allows(grant, "x"));
		auth_grant_free(grant);
	}

	/* an empty list allows nothing; an empty name allows no channel */
	grant = UNTOUCHED;
	tok = token(valid_claims(",\"channels\":[]"));
	CHECK_INT_EQ(verify_n(SECRET, tok, strlen(tok), CLIENT, NOW, &grant),
		     AUTH_OK);
	CHECK(grant != NULL && grant != UNTOUCHED);
	if (grant && grant != UNTOUCHED) {
		CHECK(!auth_grant_allows(grant, "news"));
		CHECK(!auth_grant_allows(grant, "$sys"));
		CHECK(!auth_grant_allows(grant, "*"));
		auth_grant_free(grant);
	}
	grant = UNTOUCHED;
	tok = token(valid_claims(",\"channels\":[\"\"]"));
	CHECK_INT_EQ(verify_n(SECRET, tok, strlen(tok), CLIENT, NOW, &grant),
		     AUTH_OK);
	if (grant && grant != UNTOUCHED) {
		CHECK(!auth_grant_allows(grant, "news"));
		auth_grant_free(grant);
	}

	/* a NULL grant allows all; freeing NULL is fine */
	CHECK(auth_grant_allows(NULL, "anything"));
	CHECK(auth_grant_allows(NULL, "$sys"));
	auth_grant_free(NULL);
	CHECK_NO_LEAKS();
}

static void test_missing(void)
{
	struct auth_grant *grant = UNTOUCHED;

	CHECK_INT_EQ(auth_verify(SECRET, NULL, 0, CLIENT, NOW, &grant),
		     AUTH_MISSING);
	CHECK_INT_EQ(auth_verify(SECRET, NULL, 10, CLIENT, NOW, &grant),
		     AUTH_MISSING);
	CHECK_INT_EQ(auth_verify(SECRET, "", 0, CLIENT, NOW, &grant),
		     AUTH_MISSING);
	CHECK_INT_EQ(auth_verify(SECRET, "abc", 0, CLIENT, NOW, &grant),
		     AUTH_MISSING);
	CHECK(grant == UNTOUCHED);
}

static void test_malformed(void)
{
	char big[AUTH_MAX_TOKEN + 2];
	char *tok, *good;
	size_t d1, d2;

	good = strdup(token(valid_claims("")));
	d1 = dot(good, 1);
	d2 = dot(good, 2);

	/* one or two parts */
	CHECK_INT_EQ(verify("abc"), AUTH_MALFORMED);
	CHECK_INT_EQ(verify("."), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(b64s(HS256)), AUTH_MALFORMED);
	tok = strdup(good);
	tok[d2] = '\0'; /* header.payload */
	CHECK_INT_EQ(verify(tok), AUTH_MALFORMED);
	free(tok);
	/* an empty header */
	CHECK_INT_EQ(verify(good + d1), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(".."), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(signed_parts("", b64s(valid_claims("")))),
		     AUTH_MALFORMED);

	/* characters outside base64url, in the header or (signed) payload */
	CHECK_INT_EQ(verify(with_char(good, 2, '+')), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(with_char(good, 2, '/')), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(with_char(good, 2, ' ')), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(with_char(good, 2, '\x80')), AUTH_MALFORMED);
	{
		char p64[TOKEN_MAX];

		fuzz_b64url(valid_claims(""), strlen(valid_claims("")), p64);
		p64[3] = '+';
		CHECK_INT_EQ(verify(signed_parts(b64s(HS256), p64)),
			     AUTH_MALFORMED);
		fuzz_b64url(valid_claims(""), strlen(valid_claims("")), p64);
		p64[3] = '*';
		CHECK_INT_EQ(verify(signed_parts(b64s(HS256), p64)),
			     AUTH_MALFORMED);
	}

	/* '=' padding: {"alg":"HS256"} is 15 bytes, 20 chars + "=" */
	CHECK_INT_EQ(verify(join3("eyJhbGciOiJIUzI1NiJ9=", "e30", "AAAA")),
		     AUTH_MALFORMED);
	{
		/* a 16-byte header: 22 chars + "==" */
		const char *h = "{\"alg\":\"HS256\" }";
		char padded[64], p64[TOKEN_MAX];

		CHECK_INT_EQ(strlen(h), 16);
		snprintf(padded, sizeof(padded), "%s==", b64s(h));
		CHECK_INT_EQ(verify(signed_parts(padded,
						 b64s(valid_claims("")))),
			     AUTH_MALFORMED);
		CHECK_INT_EQ(verify(signed_parts(b64s(h),
						 b64s(valid_claims("")))),
			     AUTH_OK);
		/* a padded payload (its length 3n+2, so one "=" belongs),
		 * signed as it is */
		char payload[128];
		size_t plen = (size_t)snprintf(payload, sizeof(payload),
					       "{\"sub\":\"alice\",\"exp\":%lld",
					       (long long)NOW + 60);

		while (plen % 3 != 1)
			payload[plen++] = ' ';
		memcpy(payload + plen, "}", 2);
		snprintf(p64, sizeof(p64), "%s=", b64s(payload));
		CHECK_INT_EQ(strlen(p64) % 4, 0);
		CHECK_INT_EQ(verify(signed_parts(b64s(HS256), p64)),
			     AUTH_MALFORMED);
	}
	/* a length no base64 has (4n+1) */
	CHECK_INT_EQ(verify(join3("eyJhbGciOiJIUzI1NiJ9A", "e30", "AAAA")),
		     AUTH_MALFORMED);

	/* header or payload not a JSON object */
	CHECK_INT_EQ(verify(token_with(SECRET, "[\"HS256\"]", valid_claims(""))),
		     AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token_with(SECRET, "\"HS256\"", valid_claims(""))),
		     AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token_with(SECRET, "HS256", valid_claims(""))),
		     AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token_with(SECRET, "{\"alg\":\"HS256\"",
				       valid_claims(""))),
		     AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token_with(SECRET,
				       "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
				       valid_claims(""))),
		     AUTH_MALFORMED); /* duplicate key */
	CHECK_INT_EQ(verify(token("[1,2]")), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token("\"alice\"")), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token("42")), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token("null")), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token("not json")), AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice\",\"exp\":%lld",
					 (long long)NOW + 60))),
		     AUTH_MALFORMED);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice\",\"sub\":\"alice\","
					 "\"exp\":%lld}",
					 (long long)NOW + 60))),
		     AUTH_MALFORMED); /* duplicate claim */
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice\",\"exp\":%lld} x",
					 (long long)NOW + 60))),
		     AUTH_MALFORMED); /* trailing garbage */

	/* over AUTH_MAX_TOKEN, whatever it holds */
	memset(big, 'A', sizeof(big));
	big[100] = '.';
	big[200] = '.';
	big[AUTH_MAX_TOKEN + 1] = '\0';
	CHECK_INT_EQ(verify(big), AUTH_MALFORMED);
	CHECK_INT_EQ(verify_n(SECRET, big, AUTH_MAX_TOKEN + 1, CLIENT, NOW,
			      NULL),
		     AUTH_MALFORMED);

	/* a NUL byte anywhere in the len bytes */
	{
		struct auth_grant *grant = UNTOUCHED;
		size_t len = strlen(good);

		tok = strdup(good);
		tok[len - 1] = '\0';
		CHECK_INT_EQ(verify_n(SECRET, tok, len, CLIENT, NOW, &grant),
			     AUTH_MALFORMED);
		memcpy(tok, good, len);
		tok[d1] = '\0';
		CHECK_INT_EQ(verify_n(SECRET, tok, len, CLIENT, NOW, &grant),
			     AUTH_MALFORMED);
		memcpy(tok, good, len);
		tok[0] = '\0';
		CHECK_INT_EQ(verify_n(SECRET, tok, len, CLIENT, NOW, &grant),
			     AUTH_MALFORMED);
		CHECK(grant == UNTOUCHED);
		free(tok);
	}
	free(good);
	CHECK_NO_LEAKS();
}

/* Documented (auth.c, docs/security.md) but not what the code does: the
 * shape check (three non-empty base64url parts) comes after the signature
 * for the payload and signature parts, and the decoder accepts non-zero
 * trailing bits, so a token has more than one spelling. */
static void test_malformed_known_bugs(void)
{
	char *good = strdup(token(valid_claims(""))), *tok;
	size_t len = strlen(good), d2 = dot(good, 2);
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *pos;
	enum auth_result r;

	/* header..sig and header.payload. : empty parts */
	tok = strdup(good);
	tok[d2 + 1] = '\0';
	r = verify(tok);
	CHECK(r == AUTH_MALFORMED);
	CHECK(r != AUTH_OK);
	free(tok);
	r = verify(join3(b64s(HS256), "", "AAAA"));
	CHECK(r == AUTH_MALFORMED);
	CHECK(r != AUTH_OK);
	/* a '+' / '=' in the signature part, or a fourth part */
	r = verify(with_char(good, d2 + 3, '+'));
	CHECK(r == AUTH_MALFORMED);
	CHECK(r != AUTH_OK);
	tok = malloc(len + 8);
	snprintf(tok, len + 8, "%s.AAAA", good);
	r = verify(tok);
	CHECK(r == AUTH_MALFORMED);
	CHECK(r != AUTH_OK);
	snprintf(tok, len + 8, "%s=", good);
	r = verify(tok);
	CHECK(r == AUTH_MALFORMED);
	CHECK(r != AUTH_OK);
	free(tok);

	/* the 43rd signature character carries 4 bits of the MAC and 2
	 * unused bits: setting an unused bit must not give another valid
	 * spelling of the same token */
	tok = strdup(good);
	pos = strchr(b64, tok[len - 1]);
	CHECK(pos && (pos - b64) % 4 == 0); /* unused bits are 0 as signed */
	tok[len - 1] = b64[(pos - b64) + 1];
	r = verify(tok);
	CHECK(r != AUTH_OK);
	free(tok);
	free(good);
	CHECK_NO_LEAKS();
}

static void test_bad_algorithm(void)
{
	/* headers refused for their alg even with a valid HS256 signature:
	 * another alg, near misses of "HS256", a missing alg, alg not a
	 * string */
	static const char *const refused[] = {
		"{\"alg\":\"none\"}",
		"{\"alg\":\"HS512\"}",
		"{\"alg\":\"RS256\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"HS25\"}",
		"{\"alg\":\"\"}",
		"{}",
		"{\"typ\":\"JWT\"}",
		"{\"ALG\":\"HS256\"}",
		"{\"alg\":256}",
		"{\"alg\":null}",
		"{\"alg\":[\"HS256\"]}",
		"{\"alg\":{\"HS256\":1}}",
	};
	const char *payload = valid_claims("");
	char *tok;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK_INT_EQ(verify(token_with(SECRET, refused[i], payload)),
			     AUTH_BAD_ALGORITHM);

	/* alg none with the empty signature of unsecured JWTs: an empty part
	 * fails the shape check, which comes first */
	tok = strdup(token_with(SECRET, "{\"alg\":\"none\",\"typ\":\"JWT\"}",
				payload));
	tok[dot(tok, 2) + 1] = '\0';
	CHECK_INT_EQ(verify(tok), AUTH_MALFORMED);
	free(tok);
	/* alg is refused before the signature is looked at (a well-formed
	 * but wrong one here; a malformed one fails the shape check first) */
	CHECK_INT_EQ(verify(join3(b64s("{\"alg\":\"none\"}"), b64s(payload),
				  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
		     AUTH_BAD_ALGORITHM);
	CHECK_INT_EQ(verify(join3(b64s("{\"alg\":\"none\"}"), b64s(payload),
				  "garbage!")),
		     AUTH_MALFORMED);
	CHECK_NO_LEAKS();
}

static void test_bad_signature(void)
{
	const char *payload = valid_claims("");
	char *good = strdup(token(payload)), *tok, sig[128];
	size_t len = strlen(good), d2 = dot(good, 2);

	/* wrong secret, including a prefix and an extension of the right one */
	CHECK_INT_EQ(verify(token_with("another-secret-0123456789", HS256,
				       payload)),
		     AUTH_BAD_SIGNATURE);
	CHECK_INT_EQ(verify(token_with("0123456789abcdef-test-secre", HS256,
				       payload)),
		     AUTH_BAD_SIGNATURE);
	CHECK_INT_EQ(verify(token_with(SECRET "x", HS256, payload)),
		     AUTH_BAD_SIGNATURE);
	CHECK_INT_EQ(verify_n("", good, len, CLIENT, NOW, NULL),
		     AUTH_BAD_SIGNATURE);

	/* a flipped bit in the MAC (re-encoded so the token stays base64url) */
	{
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int mac_len = 0;

		HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET),
		     (const unsigned char *)good, d2, mac, &mac_len);
		for (unsigned bit = 0; bit < 256; bit += 37) {
			mac[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			fuzz_b64url(mac, mac_len, sig);
			mac[bit / 8] ^= (unsigned char)(1u << (bit % 8));
			tok = malloc(len + 1);
			memcpy(tok, good, d2 + 1);
			strcpy(tok + d2 + 1, sig);
			CHECK_INT_EQ(verify(tok), AUTH_BAD_SIGNATURE);
			free(tok);
		}
	}
	/* a changed header or payload byte under the old signature */
	tok = strdup(good);
	tok[d2 - 2] = tok[d2 - 2] == 'A' ? 'B' : 'A';
	CHECK_INT_EQ(verify(tok), AUTH_BAD_SIGNATURE);
	free(tok);

	/* truncated signature: 42 chars (its last one now carries bits past
	 * the end: not canonical, so malformed) and 40 chars (well formed,
	 * 30 bytes: not the MAC) */
	tok = strdup(good);
	tok[len - 1] = '\0';
	CHECK(verify(tok) == AUTH_MALFORMED || verify(tok) == AUTH_BAD_SIGNATURE);
	CHECK(verify(tok) != AUTH_OK);
	tok[len - 3] = '\0';
	CHECK_INT_EQ(verify(tok), AUTH_BAD_SIGNATURE);
	free(tok);
	tok = malloc(len + 2);
	snprintf(tok, len + 2, "%sA", good);
	CHECK_INT_EQ(verify(tok), AUTH_BAD_SIGNATURE);
	free(tok);
	/* a signature 64 bytes long (the HS512 size) */
	{
		unsigned char zero[64] = { 0 };

		fuzz_b64url(zero, sizeof(zero), sig);
		CHECK_INT_EQ(verify(join3(b64s(HS256), b64s(payload), sig)),
			     AUTH_BAD_SIGNATURE);
	}

	/* the signature of another payload (another subject's token) */
	{
		char *other = strdup(token(claims("{\"sub\":\"mallory\","
						  "\"exp\":%lld}",
						  (long long)NOW + 3600)));
		size_t od2 = dot(other, 2);

		tok = malloc(len + 64);
		memcpy(tok, good, d2 + 1);
		strcpy(tok + d2 + 1, other + od2 + 1);
		CHECK_INT_EQ(verify(tok), AUTH_BAD_SIGNATURE);
		free(tok);
		free(other);
	}
	/* the signature is over the parts as received: an equivalent header
	 * spelled differently does not carry the old signature */
	tok = malloc(len + 64);
	snprintf(tok, len + 64, "%s.%s", b64s("{\"typ\":\"JWT\",\"alg\":\"HS256\"}"),
		 good + dot(good, 1) + 1);
	CHECK_INT_EQ(verify(tok), AUTH_BAD_SIGNATURE);
	free(tok);
	free(good);
	CHECK_NO_LEAKS();
}

static void test_wrong_subject(void)
{
	long long exp = (long long)NOW + 60;

	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"bob\",\"exp\":%lld}", exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"exp\":%lld}", exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":null,\"exp\":%lld}", exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":42,\"exp\":%lld}", exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":[\"alice\"],\"exp\":%lld}",
					 exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":{\"id\":\"alice\"},"
					 "\"exp\":%lld}",
					 exp))),
		     AUTH_WRONG_SUBJECT);
	/* the client id as a prefix of sub, sub as a prefix of the client id,
	 * another case */
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice2\",\"exp\":%lld}",
					 exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alic\",\"exp\":%lld}", exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"Alice\",\"exp\":%lld}",
					 exp))),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"\",\"exp\":%lld}", exp))),
		     AUTH_WRONG_SUBJECT);
	/* a token for alice is not a token for alice2 */
	CHECK_INT_EQ(verify_at(token(valid_claims("")), "alice2", NOW),
		     AUTH_WRONG_SUBJECT);
	/* sub with an escaped NUL after the client id is never accepted */
	CHECK(verify(token(claims("{\"sub\":\"alice\\u0000x\",\"exp\":%lld}",
				  exp))) != AUTH_OK);
	/* the subject is checked before the times */
	CHECK_INT_EQ(verify(token("{\"sub\":\"bob\",\"exp\":1}")),
		     AUTH_WRONG_SUBJECT);
	CHECK_NO_LEAKS();
}

static void test_expired(void)
{
#define fmt "{\"sub\":\"alice\",\"exp\":%lld}"
	long long now = (long long)NOW;

	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\"}")), AUTH_EXPIRED);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice\",\"nbf\":%lld}",
					 now))),
		     AUTH_EXPIRED);
	CHECK_INT_EQ(verify(token(claims(fmt, now - AUTH_LEEWAY_SECONDS))),
		     AUTH_EXPIRED);
	CHECK_INT_EQ(verify(token(claims(fmt, now - AUTH_LEEWAY_SECONDS - 1))),
		     AUTH_EXPIRED);
	CHECK_INT_EQ(verify(token(claims(fmt, now - 86400))), AUTH_EXPIRED);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":0}")),
		     AUTH_EXPIRED);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":-1e300}")),
		     AUTH_EXPIRED);
	/* within the leeway, and in the future */
	CHECK_INT_EQ(verify(token(claims(fmt, now - AUTH_LEEWAY_SECONDS + 1))),
		     AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, now - 1))), AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, now))), AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, now + 1))), AUTH_OK);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":1e300}")),
		     AUTH_OK);
	/* the same token, verified later */
	CHECK_INT_EQ(verify_at(token(claims(fmt, now)), CLIENT,
			       NOW + AUTH_LEEWAY_SECONDS - 1),
		     AUTH_OK);
	CHECK_INT_EQ(verify_at(token(claims(fmt, now)), CLIENT,
			       NOW + AUTH_LEEWAY_SECONDS),
		     AUTH_EXPIRED);
	CHECK_NO_LEAKS();
#undef fmt
}

static void test_not_yet_valid(void)
{
#define fmt "{\"sub\":\"alice\",\"exp\":%lld,\"nbf\":%lld}"
	long long now = (long long)NOW, exp = now + 3600;

	CHECK_INT_EQ(verify(token(claims(fmt, exp, now + AUTH_LEEWAY_SECONDS + 1))),
		     AUTH_NOT_YET_VALID);
	CHECK_INT_EQ(verify(token(claims(fmt, exp, now + 3000))),
		     AUTH_NOT_YET_VALID);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":1e300,"
				  "\"nbf\":1e299}")),
		     AUTH_NOT_YET_VALID);
	/* within the leeway, now, and in the past */
	CHECK_INT_EQ(verify(token(claims(fmt, exp, now + AUTH_LEEWAY_SECONDS))),
		     AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, exp, now + 1))), AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, exp, now))), AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, exp, now - 3600))), AUTH_OK);
	CHECK_INT_EQ(verify(token(claims(fmt, exp, 0LL))), AUTH_OK);
	/* expiry is reported before nbf */
	CHECK_INT_EQ(verify(token(claims(fmt, now - 3600, now + 3600))),
		     AUTH_EXPIRED);
	CHECK_NO_LEAKS();
#undef fmt
}

static void test_bad_claims(void)
{
	long long exp = (long long)NOW + 60;

	/* exp / nbf not numbers */
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice\",\"exp\":\"%lld\"}",
					 exp))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":null}")),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":true}")),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":[1]}")),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(claims("{\"sub\":\"alice\",\"exp\":%lld,"
					 "\"nbf\":\"0\"}",
					 exp))),
		     AUTH_BAD_CLAIMS);
	/* channels not an array of strings */
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":\"news\""))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":{\"a\":1}"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":null"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":1"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":[\"a\",1]"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":[null]"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":[[\"a\"]]"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":[\"a\",{}]"))),
		     AUTH_BAD_CLAIMS);
	CHECK_NO_LEAKS();
}

/* Every refusal leaves *grant alone and allocates nothing (the individual
 * tests check the grant; this one runs a mix under the leak checker). */
static void test_refusals_allocate_nothing(void)
{
	const char *toks[] = {
		"abc",
		"a.b",
		"a.b.c",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
	};
	struct auth_grant *grant = UNTOUCHED;

	for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		CHECK(auth_verify(SECRET, toks[i], strlen(toks[i]), CLIENT,
				  NOW, &grant) != AUTH_OK);
	CHECK_INT_EQ(verify(token("{\"sub\":\"bob\",\"exp\":1e300}")),
		     AUTH_WRONG_SUBJECT);
	CHECK_INT_EQ(verify(token(valid_claims(",\"channels\":[1]"))),
		     AUTH_BAD_CLAIMS);
	CHECK_INT_EQ(verify(token("{\"sub\":\"alice\",\"exp\":1}")),
		     AUTH_EXPIRED);
	CHECK(grant == UNTOUCHED);
	CHECK_NO_LEAKS();
}

static void test_result_text(void)
{
	const char *seen[AUTH_BAD_CLAIMS + 1];

	for (int r = AUTH_OK; r <= AUTH_BAD_CLAIMS; r++) {
		seen[r] = auth_result_text((enum auth_result)r);
		CHECK(seen[r] && seen[r][0]);
		for (int j = AUTH_OK; j < r; j++)
			CHECK(strcmp(seen[j], seen[r]));
	}
	CHECK_STR_EQ(auth_result_text(AUTH_OK), "ok");
	CHECK_STR_EQ(auth_result_text(AUTH_EXPIRED), "token expired");
	CHECK(auth_result_text((enum auth_result)99) != NULL);
}

int main(void)
{
	RUN(test_ok);
	RUN(test_ok_at_max_length);
	RUN(test_grant);
	RUN(test_missing);
	RUN(test_malformed);
	RUN(test_malformed_known_bugs);
	RUN(test_bad_algorithm);
	RUN(test_bad_signature);
	RUN(test_wrong_subject);
	RUN(test_expired);
	RUN(test_not_yet_valid);
	RUN(test_bad_claims);
	RUN(test_refusals_allocate_nothing);
	RUN(test_result_text);
	return check_exit_code();
}
