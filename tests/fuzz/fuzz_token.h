/*
 * fuzz_token — HS256 signing for the fuzz targets: base64url (no padding)
 * and "<signing input>.<b64url(HMAC-SHA256)>" with OpenSSL, so a target
 * can hand auth_verify() tokens whose signature is valid and reach the
 * claims checks.
 */
#ifndef HERALD_FUZZ_TOKEN_H
#define HERALD_FUZZ_TOKEN_H

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <string.h>

#define FUZZ_SECRET "fuzz-secret-0123456789abcdef"

/* base64url of len bytes into out (room for 4 * (len + 2) / 3 + 1), no
 * padding; returns the length written. */
static inline size_t fuzz_b64url(const void *in, size_t len, char *out)
{
	int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);

	while (n > 0 && out[n - 1] == '=')
		n--;
	for (int i = 0; i < n; i++) {
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	}
	out[n] = '\0';
	return (size_t)n;
}

/* Appends ".<b64url(HMAC-SHA256(secret, buf[0..len)))>" at buf + len
 * (room for 45 more bytes); returns the new length. */
static inline size_t fuzz_sign(const char *secret, char *buf, size_t len)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	     (const unsigned char *)buf, len, mac, &mac_len);
	buf[len] = '.';
	return len + 1 + fuzz_b64url(mac, mac_len, buf + len + 1);
}

/* A signed token of header and payload JSON into out (room for
 * 4 * (strlen(header) + strlen(payload)) / 3 + 64); returns its length. */
static inline size_t fuzz_make_token(const char *secret, const char *header,
				     const char *payload, char *out)
{
	size_t n = fuzz_b64url(header, strlen(header), out);

	out[n++] = '.';
	n += fuzz_b64url(payload, strlen(payload), out + n);
	return fuzz_sign(secret, out, n);
}

#endif
