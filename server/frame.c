/*
 * frame — see frame.h.
 *
 * Ownership: the creator holds the first reference; each queue holding the
 * frame owns one more. Whoever drops the last reference frees it.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

struct frame *frame_create(size_t len, int binary)
{
	struct frame *f;

	if (len > UINT32_MAX - LWS_PRE)
		return NULL;
	f = malloc(sizeof(*f) + LWS_PRE + len);
	if (!f)
		return NULL;
	f->refs = 1;
	f->len = (uint32_t)len;
	f->binary = binary ? 1 : 0;
	f->ping = 0;
	return f;
}

/*
 * The payload is not empty because lws 4.1.6 hands an empty pong to
 * nobody: the answer to an empty ping would never reach the heartbeat.
 */
#define FRAME_PING_PAYLOAD "herald"

struct frame *frame_create_ping(void)
{
	struct frame *f = frame_from(FRAME_PING_PAYLOAD,
				     sizeof(FRAME_PING_PAYLOAD) - 1, 0);

	if (f)
		f->ping = 1;
	return f;
}

struct frame *frame_from(const void *data, size_t len, int binary)
{
	struct frame *f = frame_create(len, binary);

	if (f && len)
		memcpy(frame_payload(f), data, len);
	return f;
}

struct frame *frame_ref(struct frame *f)
{
	f->refs++;
	return f;
}

void frame_unref(struct frame *f)
{
	if (f && !--f->refs)
		free(f);
}

static struct frame **frame_queue_slots(const struct frame_queue *q)
{
	return q->ring ? q->ring : (struct frame **)q->inline_slots;
}

static int frame_queue_grow(struct frame_queue *q)
{
	struct frame **old = frame_queue_slots(q), **ring;
	uint32_t cap;

	if (!q->cap) {
		q->cap = FRAME_QUEUE_INLINE;
		return 0;
	}
	cap = q->cap * 2;
	ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -1;
	for (uint32_t i = 0; i < q->count; i++)
		ring[i] = old[(q->head + i) & (q->cap - 1)];
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
	return 0;
}

/* Back to the inline slots once empty, so a burst does not pin memory. */
static void frame_queue_shrink_if_empty(struct frame_queue *q)
{
	if (q->count || !q->ring)
		return;
	free(q->ring);
	q->ring = NULL;
	q->cap = FRAME_QUEUE_INLINE;
	q->head = 0;
}

int frame_queue_push(struct frame_queue *q, struct frame *f)
{
	if (q->count == q->cap && frame_queue_grow(q))
		return -1;
	frame_queue_slots(q)[(q->head + q->count) & (q->cap - 1)] = frame_ref(f);
	q->count++;
	q->bytes += f->len;
	if (q->totals) {
		q->totals->count++;
		q->totals->bytes += f->len;
	}
	return 0;
}

struct frame *frame_queue_peek(const struct frame_queue *q)
{
	return q->count ? frame_queue_slots(q)[q->head] : NULL;
}

struct frame *frame_queue_at(const struct frame_queue *q, uint32_t i)
{
	return i < q->count
		? frame_queue_slots(q)[(q->head + i) & (q->cap - 1)] : NULL;
}

void frame_queue_pop(struct frame_queue *q)
{
	struct frame *f;

	if (!q->count)
		return;
	f = frame_queue_slots(q)[q->head];
	q->head = (q->head + 1) & (q->cap - 1);
	q->count--;
	q->bytes -= f->len;
	if (q->totals) {
		q->totals->count--;
		q->totals->bytes -= f->len;
	}
	frame_unref(f);
	frame_queue_shrink_if_empty(q);
}

void frame_queue_clear(struct frame_queue *q)
{
	while (q->count)
		frame_queue_pop(q);
	frame_queue_shrink_if_empty(q);
}
