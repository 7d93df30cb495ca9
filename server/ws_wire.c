/*
 * ws_wire — see ws_wire.h.
 */
#include "ws_wire.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

int ws_wire_parse_head(const uint8_t *p, size_t n, struct ws_frame_head *h,
		       const char **why)
{
	size_t need = 2;
	uint64_t len;

	if (n < 2)
		return WS_HEAD_MORE;
	h->fin = p[0] >> 7;
	h->opcode = p[0] & 0x0f;
	len = p[1] & 0x7f;
	if (p[0] & 0x70) {
		*why = "reserved bits set";
		return WS_HEAD_ERROR;
	}
	switch (h->opcode) {
	case WS_OP_CONTINUATION: case WS_OP_TEXT: case WS_OP_BINARY:
		break;
	case WS_OP_CLOSE: case WS_OP_PING: case WS_OP_PONG:
		if (!h->fin || len > WS_CONTROL_MAX) {
			*why = "invalid control frame";
			return WS_HEAD_ERROR;
		}
		break;
	default:
		*why = "unknown opcode";
		return WS_HEAD_ERROR;
	}
	if (!(p[1] & 0x80)) {
		*why = "unmasked frame"; /* a client must mask (RFC 6455 5.1) */
		return WS_HEAD_ERROR;
	}
	need += len == 126 ? 2 : len == 127 ? 8 : 0;
	if (n < need + 4)
		return WS_HEAD_MORE;
	if (len == 126) {
		len = (uint64_t)p[2] << 8 | p[3];
	} else if (len == 127) {
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | p[2 + i];
		if (len >> 63) {
			*why = "invalid length";
			return WS_HEAD_ERROR;
		}
	}
	h->len = len;
	memcpy(h->mask, p + need, 4);
	return (int)(need + 4);
}

size_t ws_wire_write_head(uint8_t out[WS_OUT_HEAD_MAX], enum ws_opcode op,
			  uint64_t len)
{
	out[0] = 0x80 | (uint8_t)op;
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

void ws_wire_unmask(uint8_t *p, size_t n, const uint8_t mask[4],
		    uint64_t offset)
{
	uint8_t m[8];
	size_t i = 0;
	uint64_t m64;

	for (int k = 0; k < 8; k++)
		m[k] = mask[(offset + (uint64_t)k) & 3];
	memcpy(&m64, m, 8);
	/* eight bytes at a time: the mask's phase repeats every 4 */
	for (; i + 8 <= n; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		v ^= m64;
		memcpy(p + i, &v, 8);
	}
	for (; i < n; i++)
		p[i] ^= m[i & 7];
}

/*
 * SHA-1, fetched from OpenSSL's provider once per process. OpenSSL 3's
 * one-shot SHA1() fetches the algorithm again on every call (locks, a
 * property query), which was 5% of a handshake's CPU. The fetched method
 * is read-only and shared by every thread; it lives as long as the process.
 */
static EVP_MD *ws_sha1;
static pthread_once_t ws_sha1_once = PTHREAD_ONCE_INIT;

static void ws_sha1_fetch(void)
{
	ws_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int ws_wire_accept_key(const char *key, size_t key_len, char out[29])
{
	static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
	unsigned char digest[SHA_DIGEST_LENGTH];
	char joined[128];

	if (key_len + sizeof(guid) > sizeof(joined))
		return -1;
	memcpy(joined, key, key_len);
	memcpy(joined + key_len, guid, sizeof(guid) - 1);
	pthread_once(&ws_sha1_once, ws_sha1_fetch);
	if (!ws_sha1 || !EVP_Digest(joined, key_len + sizeof(guid) - 1, digest,
				    NULL, ws_sha1, NULL))
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, digest,
			       SHA_DIGEST_LENGTH) == 28 ? 0 : -1;
}

/*
 * state: 0 between characters; else bits 0-7 the continuation bytes still
 * due, bits 8-15 and 16-23 the range the next one must fall in (the first
 * continuation is narrower after E0, ED, F0 and F4: no overlong forms, no
 * surrogates, nothing past U+10FFFF). WS_UTF8_BAD once invalid.
 */
#define WS_UTF8_BAD 0xffffffffu
#define WS_UTF8_STATE(due, lo, hi) \
	((uint32_t)(due) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)

static uint32_t ws_utf8_lead(uint8_t c)
{
	if (c >= 0xc2 && c <= 0xdf)
		return WS_UTF8_STATE(1, 0x80, 0xbf);
	if (c == 0xe0)
		return WS_UTF8_STATE(2, 0xa0, 0xbf);
	if (c == 0xed)
		return WS_UTF8_STATE(2, 0x80, 0x9f);
	if (c >= 0xe1 && c <= 0xef)
		return WS_UTF8_STATE(2, 0x80, 0xbf);
	if (c == 0xf0)
		return WS_UTF8_STATE(3, 0x90, 0xbf);
	if (c >= 0xf1 && c <= 0xf3)
		return WS_UTF8_STATE(3, 0x80, 0xbf);
	if (c == 0xf4)
		return WS_UTF8_STATE(3, 0x80, 0x8f);
	return WS_UTF8_BAD;
}

int ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t n)
{
	uint32_t s = u->state;

	for (size_t i = 0; i < n && s != WS_UTF8_BAD; i++) {
		uint8_t c = p[i];

		if (!s) {
			if (c < 0x80)
				continue;
			s = ws_utf8_lead(c);
			continue;
		}
		if (c < ((s >> 8) & 0xff) || c > ((s >> 16) & 0xff)) {
			s = WS_UTF8_BAD;
			break;
		}
		s = (s & 0xff) == 1 ? 0 : WS_UTF8_STATE((s & 0xff) - 1, 0x80, 0xbf);
	}
	u->state = s;
	return s == WS_UTF8_BAD ? -1 : 0;
}

int ws_utf8_complete(const struct ws_utf8 *u)
{
	return u->state == 0;
}

/* ------------------------------------------------------ the HTTP head */

static int ws_span_is(struct ws_wire_span s, const char *lit)
{
	return s.len == strlen(lit) && !strncasecmp(s.p, lit, s.len);
}

static int ws_blank(char c)
{
	return c == ' ' || c == '\t';
}

int ws_wire_list_next(struct ws_wire_span *list, struct ws_wire_span *item)
{
	const char *p, *end;

	if (!list->p)
		return 0; /* a header not sent */
	p = list->p;
	end = p + list->len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end;

		while (p < e && ws_blank(*p))
			p++;
		while (e > p && ws_blank(e[-1]))
			e--;
		item->p = p;
		item->len = (size_t)(e - p);
		p = comma ? comma + 1 : end;
		if (item->len) {
			list->len = (size_t)(end - p);
			list->p = p;
			return 1;
		}
	}
	list->p = end;
	list->len = 0;
	return 0;
}

int ws_wire_list_has(struct ws_wire_span s, const char *token)
{
	struct ws_wire_span item;

	while (ws_wire_list_next(&s, &item))
		if (ws_span_is(item, token))
			return 1;
	return 0;
}

/* The header fields an upgrade reads; any other is skipped. */
static struct ws_wire_span *ws_http_field(struct ws_http_head *h,
					  struct ws_wire_span name)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "host", offsetof(struct ws_http_head, host) },
		{ "upgrade", offsetof(struct ws_http_head, upgrade) },
		{ "connection", offsetof(struct ws_http_head, connection) },
		{ "sec-websocket-key", offsetof(struct ws_http_head, key) },
		{ "sec-websocket-version",
		  offsetof(struct ws_http_head, ws_version) },
		{ "sec-websocket-protocol",
		  offsetof(struct ws_http_head, protocol) },
		{ "origin", offsetof(struct ws_http_head, origin) },
		{ "authorization",
		  offsetof(struct ws_http_head, authorization) },
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (ws_span_is(name, fields[i].name))
			return (struct ws_wire_span *)((char *)h +
						       fields[i].offset);
	return NULL;
}

/* A character of an HTTP token (RFC 9110 5.6.2): visible ASCII but the
 * separators. A switch, not strchr(): this runs for every header byte. */
static int ws_http_token_char(char c)
{
	switch (c) {
	case '(': case ')': case '<': case '>': case '@': case ',': case ';':
	case ':': case '\\': case '"': case '/': case '[': case ']': case '?':
	case '=': case '{': case '}':
		return 0;
	default:
		return c > ' ' && c < 0x7f;
	}
}

enum ws_http_result ws_wire_parse_http(const char *buf, size_t n,
				       struct ws_http_head *h)
{
	const char *end = NULL, *line, *eol, *sp1, *sp2;

	for (size_t i = 0; i + 3 < n; i++)
		if (buf[i] == '\r' && !memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i + 4;
			break;
		}
	if (!end)
		return memchr(buf, '\0', n) ? WS_HTTP_OTHER : WS_HTTP_MORE;
	memset(h, 0, sizeof(*h));
	h->head_len = (size_t)(end - buf);

	/* request line: METHOD SP target SP version */
	eol = memchr(buf, '\r', (size_t)(end - buf));
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (!sp1 || !sp2 || eol[1] != '\n')
		return WS_HTTP_OTHER;
	h->method = (struct ws_wire_span){ buf, (size_t)(sp1 - buf) };
	h->target = (struct ws_wire_span){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	h->version = (struct ws_wire_span){ sp2 + 1, (size_t)(eol - sp2 - 1) };

	for (line = eol + 2; line < end - 2; line = eol + 2) {
		const char *colon, *v, *ve;
		struct ws_wire_span name, *field;

		eol = memchr(line, '\r', (size_t)(end - line));
		if (eol[1] != '\n' || memchr(line, '\n', (size_t)(eol - line)) ||
		    memchr(line, '\0', (size_t)(eol - line)))
			return WS_HTTP_OTHER; /* bare LF or NUL: not ours */
		colon = memchr(line, ':', (size_t)(eol - line));
		if (!colon || colon == line)
			return WS_HTTP_OTHER;
		for (const char *c = line; c < colon; c++)
			if (!ws_http_token_char(*c))
				return WS_HTTP_OTHER; /* folded or odd name */
		name = (struct ws_wire_span){ line, (size_t)(colon - line) };
		for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--)
			;
		field = ws_http_field(h, name);
		if (!field)
			continue;
		if (field->p)
			return WS_HTTP_OTHER; /* repeated: the HTTP server's */
		field->p = v;
		field->len = (size_t)(ve - v);
	}
	return WS_HTTP_DONE;
}
