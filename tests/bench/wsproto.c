/*
 * wsproto — see wsproto.h.
 *
 * Role: byte-level WebSocket client protocol for the engine. The SHA-1 of
 * the handshake comes from OpenSSL (EVP_Digest with a method fetched once),
 * base64 from EVP_EncodeBlock.
 */
#include "wsproto.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static EVP_MD *ws_sha1;

int ws_proto_init(void)
{
	if (!ws_sha1)
		ws_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	return ws_sha1 ? 0 : -1;
}

int ws_accept_for(const char *key, size_t len, char accept[WS_ACCEPT_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char cat[WS_MAX_KEY_LEN + sizeof(WS_GUID)];
	unsigned int mdlen = 0;

	if (len > WS_MAX_KEY_LEN)
		return -1;
	memcpy(cat, key, len);
	memcpy(cat + len, WS_GUID, sizeof(WS_GUID) - 1);
	if (!ws_sha1 || !EVP_Digest(cat, len + sizeof(WS_GUID) - 1, md, &mdlen,
				    ws_sha1, NULL) ||
	    mdlen != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)accept, md, 20);
	return 0;
}

int ws_key_make(char key[WS_KEY_LEN + 1], char accept[WS_ACCEPT_LEN + 1])
{
	unsigned char raw[16];
	uint64_t a = util_rand64(), b = util_rand64();

	memcpy(raw, &a, 8);
	memcpy(raw + 8, &b, 8);
	EVP_EncodeBlock((unsigned char *)key, raw, 16);
	return ws_accept_for(key, WS_KEY_LEN, accept);
}

size_t ws_request_write(char *dst, size_t cap, const char *host,
			const char *path, const char *key)
{
	int n = snprintf(dst, cap,
			 "GET %s HTTP/1.1\r\n"
			 "Host: %s\r\n"
			 "Upgrade: websocket\r\n"
			 "Connection: Upgrade\r\n"
			 "Sec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n"
			 "\r\n",
			 path, host, key);

	return (n < 0 || (size_t)n >= cap) ? 0 : (size_t)n;
}

/* Copies the first line of buf (at most 60 chars) into err for a message. */
static void ws_first_line(const char *buf, size_t len, const char *what,
			  char *err, size_t errcap)
{
	size_t n = 0;

	while (n < len && n < 60 && buf[n] != '\r' && buf[n] != '\n')
		n++;
	snprintf(err, errcap, "%s: \"%.*s\"", what, (int)n, buf);
}

int ws_response_check(const char *buf, size_t len, const char *accept,
		      size_t *hdr_len, char *err, size_t errcap)
{
	const char *end = NULL, *line, *eol;
	int found = 0;

	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r') {
			end = buf + i + 1;
			break;
		}
	if (!end)
		return 0;
	*hdr_len = (size_t)(end - buf);
	if (len < 12 || strncmp(buf, "HTTP/1.1 101", 12)) {
		ws_first_line(buf, len, "bad handshake", err, errcap);
		return -1;
	}
	line = memchr(buf, '\n', *hdr_len);
	for (line = line + 1; line < end - 2; line = eol + 2) {
		eol = memchr(line, '\r', (size_t)(end - line));
		if (!eol)
			break;
		if ((size_t)(eol - line) > 21 &&
		    !strncasecmp(line, "Sec-WebSocket-Accept:", 21)) {
			const char *v = line + 21;

			while (v < eol && (*v == ' ' || *v == '\t'))
				v++;
			while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
				eol--;
			found = (size_t)(eol - v) == WS_ACCEPT_LEN &&
				!memcmp(v, accept, WS_ACCEPT_LEN);
			eol = memchr(line, '\r', (size_t)(end - line));
			if (!found)
				break;
		}
	}
	if (!found) {
		snprintf(err, errcap, "bad Sec-WebSocket-Accept");
		return -1;
	}
	return 1;
}

void ws_mask(unsigned char *p, size_t len, uint32_t mask)
{
	unsigned char k[4];
	size_t i = 0;

	memcpy(k, &mask, 4);
	if (len >= 8) {
		uint64_t m64 = (uint64_t)mask | ((uint64_t)mask << 32);

		for (; i + 8 <= len; i += 8) {
			uint64_t v;

			memcpy(&v, p + i, 8);
			v ^= m64;
			memcpy(p + i, &v, 8);
		}
	}
	for (; i < len; i++)
		p[i] ^= k[i & 3];
}

size_t ws_frame_write(unsigned char *dst, int op, const void *payload,
		      size_t len, uint32_t mask)
{
	size_t h = 0;

	dst[h++] = (unsigned char)(0x80 | op);
	if (len < 126) {
		dst[h++] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		dst[h++] = 0x80 | 126;
		dst[h++] = (unsigned char)(len >> 8);
		dst[h++] = (unsigned char)len;
	} else {
		dst[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			dst[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(dst + h, &mask, 4);
	h += 4;
	if (len)
		memcpy(dst + h, payload, len);
	ws_mask(dst + h, len, mask);
	return h + len;
}

size_t ws_frame_header_unmasked(unsigned char *dst, int op, size_t len)
{
	size_t h = 0;

	dst[h++] = (unsigned char)(0x80 | op);
	if (len < 126) {
		dst[h++] = (unsigned char)len;
	} else if (len < 65536) {
		dst[h++] = 126;
		dst[h++] = (unsigned char)(len >> 8);
		dst[h++] = (unsigned char)len;
	} else {
		dst[h++] = 127;
		for (int i = 7; i >= 0; i--)
			dst[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	return h;
}

int ws_frame_parse(unsigned char *buf, size_t avail, struct ws_frame *f)
{
	size_t h = 2;
	uint64_t len;
	int masked;

	f->hdr = 0;
	if (avail < 2)
		return 0;
	if (buf[0] & 0x70)
		return -1; /* no extension was negotiated */
	f->fin = !!(buf[0] & 0x80);
	f->op = buf[0] & 0x0f;
	masked = !!(buf[1] & 0x80);
	len = buf[1] & 0x7f;
	if (len == 126) {
		if (avail < 4)
			return 0;
		len = (uint64_t)buf[2] << 8 | buf[3];
		h = 4;
	} else if (len == 127) {
		if (avail < 10)
			return 0;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | buf[i];
		h = 10;
		if (len >> 62)
			return -1;
	}
	if (f->op >= 0x8 && (!f->fin || len > 125))
		return -1;
	if (masked)
		h += 4;
	f->hdr = h;
	f->len = len;
	if (avail < h || avail - h < len)
		return 0;
	f->payload = buf + h;
	if (masked) {
		uint32_t m;

		memcpy(&m, buf + h - 4, 4);
		ws_mask(f->payload, (size_t)len, m);
	}
	return 1;
}
