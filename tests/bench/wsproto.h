/*
 * wsproto — the client side of RFC 6455, without I/O: the upgrade request,
 * the check of the 101 answer, masked frame encoding and in-place frame
 * parsing; plus the two server-side pieces the floor reference server
 * needs (the Sec-WebSocket-Accept of a client's key, an unmasked header).
 *
 * Thread: single-threaded (ws_proto_init() caches the SHA-1 method once).
 * Ownership: every function writes into caller-provided buffers; nothing
 * allocates after ws_proto_init().
 */
#ifndef HB_WSPROTO_H
#define HB_WSPROTO_H

#include <stddef.h>
#include <stdint.h>

enum {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* Largest header of a client frame: 2 + 8 (length) + 4 (mask). */
#define WS_MAX_CLIENT_HDR 14
#define WS_KEY_LEN 24    /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* Largest Sec-WebSocket-Key ws_accept_for() takes (a valid one is 24). */
#define WS_MAX_KEY_LEN 64
/* Largest header of a server (unmasked) frame: 2 + 8 (length). */
#define WS_MAX_SERVER_HDR 10

/* Loads the SHA-1 implementation; 0 or -1. */
int ws_proto_init(void);

/* Makes a random Sec-WebSocket-Key (key, NUL-terminated) and the
 * Sec-WebSocket-Accept the server must answer (accept, NUL-terminated). */
int ws_key_make(char key[WS_KEY_LEN + 1], char accept[WS_ACCEPT_LEN + 1]);

/* Computes the Sec-WebSocket-Accept for the key[0..len) a client sent
 * (base64 of SHA-1(key + GUID)); 0, or -1 if len > WS_MAX_KEY_LEN. */
int ws_accept_for(const char *key, size_t len, char accept[WS_ACCEPT_LEN + 1]);

/* Writes the upgrade request for path (already holding /ws/<id> and any
 * query) into dst; returns its length, or 0 if cap is too small. */
size_t ws_request_write(char *dst, size_t cap, const char *host,
			const char *path, const char *key);

/* Checks a server's answer in buf[0..len). Returns 1 when the header is
 * complete and valid (*hdr_len = bytes up to and including the blank line;
 * later bytes are frames), 0 when more bytes are needed, -1 when invalid
 * (reason in err). */
int ws_response_check(const char *buf, size_t len, const char *accept,
		      size_t *hdr_len, char *err, size_t errcap);

/* Encodes one masked client frame (FIN set) into dst, which must hold
 * len + WS_MAX_CLIENT_HDR bytes; returns the frame's length. */
size_t ws_frame_write(unsigned char *dst, int op, const void *payload,
		      size_t len, uint32_t mask);

/* Writes the header of an unmasked (server) frame with FIN set for a
 * len-byte payload into dst (WS_MAX_SERVER_HDR bytes); returns its length. */
size_t ws_frame_header_unmasked(unsigned char *dst, int op, size_t len);

struct ws_frame {
	int fin;
	int op;
	uint64_t len;         /* payload length */
	size_t hdr;           /* header length, mask included */
	unsigned char *payload;
};

/* Parses the frame at buf[0..avail). Returns 1 when complete (payload
 * unmasked in place if the server masked it), 0 when more bytes are needed
 * (f->hdr and f->len are set once the header is complete, else f->hdr is 0),
 * -1 on a protocol error (reserved bits, oversized length, fragmented
 * control frame). */
int ws_frame_parse(unsigned char *buf, size_t avail, struct ws_frame *f);

/* XORs len bytes with the 4-byte mask, starting at mask offset 0. */
void ws_mask(unsigned char *p, size_t len, uint32_t mask);

#endif
