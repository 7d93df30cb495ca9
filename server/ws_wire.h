/*
 * ws_wire — the bytes of RFC 6455 that herald's own WebSocket connections
 * read and write (docs/design.md, "Herald's own WebSocket"): the upgrade
 * request's head, frame headers, unmasking, the accept key, and UTF-8
 * checked piece by piece.
 *
 * Pure functions and caller-owned structs: any thread, no allocation.
 */
#ifndef HERALD_WS_WIRE_H
#define HERALD_WS_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* A control frame's payload is at most this long (RFC 6455 5.5). */
#define WS_CONTROL_MAX 125
/* The longest frame header: 2 + 8 bytes of length + 4 of mask. */
#define WS_HEAD_MAX 14
/* The longest header herald writes (server frames are not masked). */
#define WS_OUT_HEAD_MAX 10

struct ws_frame_head {
	uint8_t fin;
	uint8_t opcode;
	uint8_t mask[4];
	uint64_t len;        /* payload bytes */
};

enum ws_head_result {
	WS_HEAD_MORE = 0,    /* fewer bytes than the header needs */
	WS_HEAD_ERROR = -1,  /* a protocol error: close with 1002 */
};

/*
 * Reads a client frame's header from p[0..n). Returns its length (> 0)
 * and fills *h, WS_HEAD_MORE, or WS_HEAD_ERROR with *why set: reserved
 * bits, an unknown opcode, an unmasked frame, a control frame that is
 * fragmented or longer than 125 bytes, or a length over 2^63.
 */
int ws_wire_parse_head(const uint8_t *p, size_t n, struct ws_frame_head *h,
		       const char **why);

/* Writes a final, unmasked frame header for len payload bytes into out;
 * returns its length (2, 4 or 10). */
size_t ws_wire_write_head(uint8_t out[WS_OUT_HEAD_MAX], enum ws_opcode op,
			  uint64_t len);

/* The length of that header for len payload bytes. */
static inline size_t ws_wire_head_len(uint64_t len)
{
	return len < 126 ? 2 : len <= 0xffff ? 4 : 10;
}

/* Unmasks n bytes in place; offset: how many of the frame's payload bytes
 * came before p (the mask's phase). */
void ws_wire_unmask(uint8_t *p, size_t n, const uint8_t mask[4],
		    uint64_t offset);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: 28 characters and a NUL
 * into out. 0, or -1 when SHA-1 is unavailable. */
int ws_wire_accept_key(const char *key, size_t key_len, char out[29]);

/* UTF-8 checked across pieces of one message: zeroed is the start. */
struct ws_utf8 {
	uint32_t state;
};

/* 0 while what was fed can still be valid UTF-8, -1 once it cannot. */
int ws_utf8_feed(struct ws_utf8 *u, const uint8_t *p, size_t n);

/* 1 when the text fed so far ends on a whole character. */
int ws_utf8_complete(const struct ws_utf8 *u);

/*
 * The head of an HTTP request, as far as an upgrade needs it. Pointers go
 * into the caller's buffer and are not NUL-terminated.
 */
struct ws_wire_span {
	const char *p;
	size_t len;
};

struct ws_http_head {
	struct ws_wire_span method, target, version;
	struct ws_wire_span host, upgrade, connection, key, ws_version,
		protocol, origin, authorization;
	size_t head_len;     /* bytes up to and including the blank line */
};

enum ws_http_result {
	WS_HTTP_MORE,        /* the head is not complete yet */
	WS_HTTP_DONE,        /* *h holds it */
	WS_HTTP_OTHER,       /* a form herald leaves to the HTTP server: a
				repeated header, a folded or bare-LF line... */
};

/* Reads a request head from buf[0..n). */
enum ws_http_result ws_wire_parse_http(const char *buf, size_t n,
				       struct ws_http_head *h);

/* The next item of the comma-separated list, blanks trimmed and empty
 * items skipped: 1 with *item set and *list moved past it, 0 at the end. */
int ws_wire_list_next(struct ws_wire_span *list, struct ws_wire_span *item);

/* 1 when the comma-separated list s holds token (case-insensitive). */
int ws_wire_list_has(struct ws_wire_span s, const char *token);

#endif
