/*
 * reassembly — one session's incoming message, put together from the
 * pieces lws hands over (fragments, and parts of frames longer than the
 * read buffer), up to --max-message-size. A message that arrives in one
 * piece is not copied.
 *
 * Pure (no lws), one session's, on its worker's thread. The struct owns
 * its buffer; zeroed is empty.
 */
#ifndef HERALD_REASSEMBLY_H
#define HERALD_REASSEMBLY_H

#include <stddef.h>
#include <stdint.h>

struct reassembly {
	unsigned char *buf;
	size_t len, cap;
	uint8_t binary;      /* the message's type, from its first piece */
};

enum reassembly_result {
	REASSEMBLY_MORE,      /* not complete yet */
	REASSEMBLY_DONE,      /* *msg, *msg_len hold the whole message */
	REASSEMBLY_TOO_BIG,   /* it would pass max: close with 1009 */
	REASSEMBLY_NO_MEMORY, /* close with 1011 */
};

/*
 * Adds a piece (in, len; in may be NULL when len is 0). remaining: bytes
 * of the current frame still to come; final: the message ends with this
 * piece; binary: its type (read on the first piece). On DONE the message
 * is valid until reassembly_reset().
 */
enum reassembly_result reassembly_add(struct reassembly *r,
				      const unsigned char *in, size_t len,
				      size_t remaining, int final, int binary,
				      size_t max, const unsigned char **msg,
				      size_t *msg_len);

/* Forgets the message just handled; a buffer grown past 4 KiB is freed
 * so that one large message does not pin memory. */
void reassembly_reset(struct reassembly *r);

/* Frees the buffer. */
void reassembly_free(struct reassembly *r);

#endif
