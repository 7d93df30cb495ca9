/*
 * fuzz_ws_wire — server/ws_wire.c, the bytes herald's own WebSocket
 * connection reads from clients (docs/design.md, "Herald's own WebSocket").
 *
 * The input is read three ways:
 *   - as a request head: ws_wire_parse_http() never reads past the input,
 *     and a head it returns lies inside it, ends with the blank line, and
 *     every span it fills lies inside the head;
 *   - as a stream of frame headers: ws_wire_parse_head() at each offset
 *     returns MORE, ERROR (with a reason) or a length of 2..14 within the
 *     input, and every header it accepts is masked, has no reserved bits,
 *     a known opcode, and a control frame at most 125 bytes and final;
 *   - as text: UTF-8 checked whole and cut at any point gives one answer,
 *     and unmasking twice at any phase restores the bytes.
 */
#include "ws_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_assert.h"

static void check_span(struct ws_wire_span s, const char *lo, const char *hi)
{
	if (!s.p)
		return;
	FUZZ_ASSERT(s.p >= lo && s.p + s.len <= hi);
}

static int utf8_valid(const uint8_t *p, size_t n, size_t cut)
{
	struct ws_utf8 u = { 0 };

	if (ws_utf8_feed(&u, p, cut) || ws_utf8_feed(&u, p + cut, n - cut))
		return 0;
	return ws_utf8_complete(&u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);
	struct ws_http_head h;
	uint8_t *bytes;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (ws_wire_parse_http(copy, size, &h) == WS_HTTP_DONE) {
		const char *end = copy + h.head_len;

		FUZZ_ASSERT(h.head_len >= 4 && h.head_len <= size);
		FUZZ_ASSERT(!memcmp(end - 4, "\r\n\r\n", 4));
		check_span(h.method, copy, end);
		check_span(h.target, copy, end);
		check_span(h.version, copy, end);
		check_span(h.host, copy, end);
		check_span(h.upgrade, copy, end);
		check_span(h.connection, copy, end);
		check_span(h.key, copy, end);
		check_span(h.ws_version, copy, end);
		check_span(h.protocol, copy, end);
		check_span(h.origin, copy, end);
		check_span(h.authorization, copy, end);
		(void)ws_wire_list_has(h.connection, "upgrade");
	}
	free(copy);

	for (size_t off = 0; off < size; off++) {
		struct ws_frame_head f;
		const char *why = NULL;
		int n = ws_wire_parse_head(data + off, size - off, &f, &why);

		if (n == WS_HEAD_ERROR) {
			FUZZ_ASSERT(why != NULL);
			continue;
		}
		if (n == WS_HEAD_MORE)
			continue;
		FUZZ_ASSERT(n >= 6 && n <= WS_HEAD_MAX && (size_t)n <= size - off);
		FUZZ_ASSERT(data[off + 1] & 0x80 && !(data[off] & 0x70));
		FUZZ_ASSERT(f.opcode <= WS_OP_BINARY ||
			    (f.opcode >= WS_OP_CLOSE && f.opcode <= WS_OP_PONG));
		if (f.opcode >= WS_OP_CLOSE)
			FUZZ_ASSERT(f.fin && f.len <= WS_CONTROL_MAX);
		FUZZ_ASSERT(!(f.len >> 63));
		FUZZ_ASSERT(n == 6 || n == 8 || n == 14); /* 7, 16, 64-bit */
	}

	{
		int whole = utf8_valid(data, size, 0);

		for (size_t cut = 1; cut <= size && cut < 64; cut++)
			FUZZ_ASSERT(utf8_valid(data, size, cut) == whole);
	}
	bytes = malloc(size ? size : 1);
	if (bytes && size >= 4) {
		size_t phase = data[0] & 3;

		memcpy(bytes, data, size);
		ws_wire_unmask(bytes, size, data, phase);
		ws_wire_unmask(bytes, size, data, phase);
		FUZZ_ASSERT(!memcmp(bytes, data, size));
	}
	free(bytes);
	return 0;
}
