/*
 * frame — refcounted outgoing WebSocket messages and per-session queues.
 *
 * A message going to many sessions is encoded once into one frame; every
 * recipient queue holds a reference. The payload sits after LWS_PRE bytes
 * of headroom so lws_write() can put the WebSocket header in front of it
 * without a copy.
 *
 * Thread: one worker's lws service thread. Refcounts are not atomic: a
 * frame never crosses workers (a cross-worker message is copied once per
 * worker, not per recipient).
 */
#ifndef HERALD_FRAME_H
#define HERALD_FRAME_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

struct frame {
	uint32_t refs;
	uint32_t len;      /* payload bytes */
	uint8_t binary;    /* 1: binary frame, 0: text */
	uint8_t ping;      /* 1: a WebSocket ping (the heartbeat) */
	unsigned char buf[]; /* LWS_PRE headroom, then len payload bytes */
};

/* Payload start (after the LWS_PRE headroom). */
static inline unsigned char *frame_payload(struct frame *f)
{
	return f->buf + LWS_PRE;
}

/* New frame with one reference and room for len payload bytes (uninitialised);
 * NULL on allocation failure. */
struct frame *frame_create(size_t len, int binary);

/* New ping frame with one reference (the heartbeat's); NULL on OOM. */
struct frame *frame_create_ping(void);

/* New frame holding a copy of data; NULL on failure. */
struct frame *frame_from(const void *data, size_t len, int binary);

/* Takes one more reference; returns f. */
struct frame *frame_ref(struct frame *f);

/* Drops one reference; frees on the last. NULL is ignored. */
void frame_unref(struct frame *f);

#define FRAME_QUEUE_INLINE 4

/* Frames and payload bytes summed over many queues (the hub's: every
 * session's queue), kept up to date by each queue that points at it. */
struct frame_totals {
	size_t bytes;   /* payload bytes queued */
	size_t count;   /* frame references queued */
};

/*
 * A FIFO of frame references that counts its payload bytes (the hub bounds
 * it: hub.c, the slow-consumer policy). The first FRAME_QUEUE_INLINE slots
 * live inside the struct, so the common case (a few frames in flight)
 * allocates nothing; past that the ring grows on the heap by doubling and
 * goes back inline when the queue empties out. Zero-initialised is a valid
 * empty queue.
 */
struct frame_queue {
	struct frame **ring; /* NULL (use inline_slots) or a heap ring */
	struct frame *inline_slots[FRAME_QUEUE_INLINE];
	uint32_t cap;   /* slots in use: 0 (never used), inline, or heap (2^n) */
	uint32_t head;  /* index of the oldest frame */
	uint32_t count; /* frames queued */
	size_t bytes;   /* payload bytes queued */
	struct frame_totals *totals; /* NULL, or sums this queue adds to */
};

/* Appends a reference to f (taking a new ref): 0, or -1 on OOM (nothing
 * queued). */
int frame_queue_push(struct frame_queue *q, struct frame *f);

/* Oldest frame, still queued; NULL when empty. */
struct frame *frame_queue_peek(const struct frame_queue *q);

/* The i-th oldest frame (0: the oldest), still queued; NULL past the end. */
struct frame *frame_queue_at(const struct frame_queue *q, uint32_t i);

/* Removes the oldest frame and drops the queue's reference to it. */
void frame_queue_pop(struct frame_queue *q);

/* Drops every queued frame and frees a heap ring. */
void frame_queue_clear(struct frame_queue *q);

#endif
