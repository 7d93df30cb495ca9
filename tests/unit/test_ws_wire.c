/*
 * Unit tests for server/ws_wire.c: frame headers read (every protocol
 * error RFC 6455 names for a header) and written, unmasking at any phase,
 * the accept key of RFC 6455's own example, UTF-8 fed in pieces, and the
 * upgrade request's head.
 */
#include "check.h"
#include "ws_wire.h"

#include <string.h>

static int parse(const uint8_t *p, size_t n, struct ws_frame_head *h,
		 const char **why)
{
	*why = NULL;
	return ws_wire_parse_head(p, n, h, why);
}

static void test_heads(void)
{
	struct ws_frame_head h;
	const char *why;
	const uint8_t text[] = { 0x81, 0x85, 1, 2, 3, 4 };
	const uint8_t mid[] = { 0x01, 0xfe, 0x01, 0x00, 9, 9, 9, 9 };
	const uint8_t big[] = { 0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4 };

	CHECK_INT_EQ(parse(text, 1, &h, &why), WS_HEAD_MORE);
	CHECK_INT_EQ(parse(text, 5, &h, &why), WS_HEAD_MORE);
	CHECK_INT_EQ(parse(text, 6, &h, &why), 6);
	CHECK_INT_EQ(h.fin, 1);
	CHECK_INT_EQ(h.opcode, WS_OP_TEXT);
	CHECK_INT_EQ(h.len, 5);
	CHECK_MEM_EQ(h.mask, 4, "\x01\x02\x03\x04");
	CHECK_INT_EQ(parse(mid, 7, &h, &why), WS_HEAD_MORE);
	CHECK_INT_EQ(parse(mid, 8, &h, &why), 8);
	CHECK_INT_EQ(h.fin, 0);
	CHECK_INT_EQ(h.len, 256);
	CHECK_INT_EQ(parse(big, 13, &h, &why), WS_HEAD_MORE);
	CHECK_INT_EQ(parse(big, 14, &h, &why), 14);
	CHECK_INT_EQ(h.len, 1ull << 32);
}

static void test_head_errors(void)
{
	struct ws_frame_head h;
	const char *why;
	const uint8_t rsv[] = { 0xc1, 0x80, 0, 0, 0, 0 };
	const uint8_t opcode[] = { 0x83, 0x80, 0, 0, 0, 0 };
	const uint8_t unmasked[] = { 0x81, 0x00 };
	const uint8_t long_ping[] = { 0x89, 0xfe, 0, 126, 0, 0, 0, 0 };
	const uint8_t split_close[] = { 0x08, 0x80, 0, 0, 0, 0 };
	const uint8_t huge[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };

	CHECK_INT_EQ(parse(rsv, 6, &h, &why), WS_HEAD_ERROR);
	CHECK_STR_EQ(why, "reserved bits set");
	CHECK_INT_EQ(parse(opcode, 6, &h, &why), WS_HEAD_ERROR);
	CHECK_INT_EQ(parse(unmasked, 2, &h, &why), WS_HEAD_ERROR);
	CHECK_STR_EQ(why, "unmasked frame");
	CHECK_INT_EQ(parse(long_ping, 8, &h, &why), WS_HEAD_ERROR);
	CHECK_INT_EQ(parse(split_close, 6, &h, &why), WS_HEAD_ERROR);
	CHECK_INT_EQ(parse(huge, 14, &h, &why), WS_HEAD_ERROR);
}

static void test_write_head(void)
{
	uint8_t out[WS_OUT_HEAD_MAX];

	CHECK_INT_EQ(ws_wire_write_head(out, WS_OP_TEXT, 125), 2);
	CHECK_MEM_EQ(out, 2, "\x81\x7d");
	CHECK_INT_EQ(ws_wire_write_head(out, WS_OP_BINARY, 126), 4);
	CHECK(!memcmp(out, "\x82\x7e\x00\x7e", 4));
	CHECK_INT_EQ(ws_wire_write_head(out, WS_OP_PING, 0), 2);
	CHECK(!memcmp(out, "\x89\x00", 2));
	CHECK_INT_EQ(ws_wire_write_head(out, WS_OP_TEXT, 65536), 10);
	CHECK(!memcmp(out, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
}

static void test_unmask_any_phase(void)
{
	const uint8_t mask[4] = { 0x11, 0x22, 0x33, 0x44 };
	uint8_t plain[37], masked[37], piece[37];

	for (size_t i = 0; i < sizeof(plain); i++) {
		plain[i] = (uint8_t)(i * 7);
		masked[i] = plain[i] ^ mask[i & 3];
	}
	/* split at every point: the second piece starts mid-mask */
	for (size_t cut = 0; cut <= sizeof(plain); cut++) {
		memcpy(piece, masked, sizeof(piece));
		ws_wire_unmask(piece, cut, mask, 0);
		ws_wire_unmask(piece + cut, sizeof(piece) - cut, mask, cut);
		CHECK(!memcmp(piece, plain, sizeof(plain)));
	}
}

static void test_accept_key(void)
{
	char out[29];

	/* RFC 6455 section 1.3 */
	CHECK_INT_EQ(ws_wire_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
	CHECK_STR_EQ(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static int utf8_ok(const char *s, size_t cut)
{
	struct ws_utf8 u = { 0 };
	size_t n = strlen(s);

	if (ws_utf8_feed(&u, (const uint8_t *)s, cut) ||
	    ws_utf8_feed(&u, (const uint8_t *)s + cut, n - cut))
		return 0;
	return ws_utf8_complete(&u);
}

static void test_utf8(void)
{
	const char *good = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";
	struct ws_utf8 u = { 0 };

	for (size_t cut = 0; cut <= strlen(good); cut++)
		CHECK(utf8_ok(good, cut));
	CHECK(!utf8_ok("\xc0\xaf", 1));         /* overlong */
	CHECK(!utf8_ok("\xe0\x80\xaf", 2));     /* overlong */
	CHECK(!utf8_ok("\xed\xa0\x80", 1));     /* a surrogate */
	CHECK(!utf8_ok("\xf4\x90\x80\x80", 3)); /* past U+10FFFF */
	CHECK(!utf8_ok("\xff", 0));
	CHECK(!utf8_ok("\x80", 1));             /* a lone continuation */
	CHECK_INT_EQ(ws_utf8_feed(&u, (const uint8_t *)"\xe2\x82", 2), 0);
	CHECK(!ws_utf8_complete(&u));           /* cut mid-character */
}

static void test_list_items(void)
{
	const char text[] = " herald ,, bearer.x\t,";
	struct ws_wire_span list = { text, sizeof(text) - 1 }, item;

	CHECK_INT_EQ(ws_wire_list_next(&list, &item), 1);
	CHECK_MEM_EQ(item.p, item.len, "herald");
	CHECK_INT_EQ(ws_wire_list_next(&list, &item), 1);
	CHECK_MEM_EQ(item.p, item.len, "bearer.x");
	CHECK_INT_EQ(ws_wire_list_next(&list, &item), 0);
	CHECK_INT_EQ(list.len, 0);
}

static void test_http_head(void)
{
	static const char req[] =
		"GET /ws/a?channels=x HTTP/1.1\r\n"
		"Host: h\r\n"
		"Upgrade: websocket\r\n"
		"Connection: keep-alive, Upgrade\r\n"
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		"Sec-WebSocket-Version: 13\r\n"
		"X-Other: y\r\n"
		"\r\n";
	struct ws_http_head h;

	CHECK_INT_EQ(ws_wire_parse_http(req, sizeof(req) - 3, &h),
		     WS_HTTP_MORE);
	CHECK_INT_EQ(ws_wire_parse_http(req, sizeof(req) - 1, &h),
		     WS_HTTP_DONE);
	CHECK_INT_EQ(h.head_len, sizeof(req) - 1);
	CHECK_MEM_EQ(h.target.p, h.target.len, "/ws/a?channels=x");
	CHECK_MEM_EQ(h.key.p, h.key.len, "dGhlIHNhbXBsZSBub25jZQ==");
	CHECK(ws_wire_list_has(h.connection, "upgrade"));
	CHECK(!ws_wire_list_has(h.connection, "close"));
	CHECK(h.origin.p == NULL);
	CHECK_INT_EQ(ws_wire_parse_http("GET / HTTP/1.1\r\nHost: a\r\n"
					"Host: b\r\n\r\n", 37, &h),
		     WS_HTTP_OTHER);  /* a repeated header */
	CHECK_INT_EQ(ws_wire_parse_http("GET / HTTP/1.1\r\nHost: a\r\n"
					" folded\r\n\r\n", 37, &h),
		     WS_HTTP_OTHER);
	CHECK_INT_EQ(ws_wire_parse_http("GET / HTTP/1.1\r\nHost\n: a\r\n\r\n",
					 29, &h),
		     WS_HTTP_OTHER);  /* a bare LF */
}

int main(void)
{
	RUN(test_heads);
	RUN(test_head_errors);
	RUN(test_write_head);
	RUN(test_unmask_any_phase);
	RUN(test_accept_key);
	RUN(test_utf8);
	RUN(test_list_items);
	RUN(test_http_head);
	return check_exit_code();
}
