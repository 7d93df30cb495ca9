/*
 * Unit tests for server/frame.c: refcounted frames and the bounded per-session
 * queue. Run under `make test-unit ASAN=1` so a leak or a double free of a
 * frame or of the queue's heap ring fails the program.
 */
#include "check.h"
#include "frame.h"

#include <stdlib.h>
#include <string.h>


/* A text frame holding the given string. */
static struct frame *text(const char *s)
{
	return frame_from(s, strlen(s), 0);
}

static void test_create_and_refcount(void)
{
	struct frame *f = frame_create(10, 0);

	CHECK(f != NULL);
	CHECK_INT_EQ(f->refs, 1);
	CHECK_INT_EQ(f->len, 10);
	CHECK_INT_EQ(f->binary, 0);
	CHECK(frame_payload(f) == f->buf + LWS_PRE);
	memset(frame_payload(f), 'x', 10); /* the whole payload is writable */

	CHECK(frame_ref(f) == f);
	CHECK_INT_EQ(f->refs, 2);
	frame_ref(f);
	CHECK_INT_EQ(f->refs, 3);
	frame_unref(f);
	CHECK_INT_EQ(f->refs, 2);
	frame_unref(f);
	CHECK_INT_EQ(f->refs, 1);
	frame_unref(f); /* freed: ASan reports a leak or a double free */

	frame_unref(NULL); /* ignored */

	f = frame_create(0, 7); /* any non-zero binary flag is stored as 1 */
	CHECK(f != NULL);
	CHECK_INT_EQ(f->len, 0);
	CHECK_INT_EQ(f->binary, 1);
	frame_unref(f);

	/* a length that cannot fit the 32-bit len field is refused */
	CHECK(frame_create((size_t)UINT32_MAX, 0) == NULL);
}

static void test_frame_from_copies(void)
{
	char src[] = "hello";
	struct frame *f = frame_from(src, 5, 1);

	CHECK(f != NULL);
	CHECK_INT_EQ(f->refs, 1);
	CHECK_INT_EQ(f->len, 5);
	CHECK_INT_EQ(f->binary, 1);
	CHECK_MEM_EQ(frame_payload(f), f->len, "hello");
	CHECK(frame_payload(f) != (unsigned char *)src);
	src[0] = 'J'; /* the frame has its own copy */
	CHECK_MEM_EQ(frame_payload(f), f->len, "hello");
	frame_unref(f);

	f = frame_from(NULL, 0, 0); /* empty payload: nothing is read */
	CHECK(f != NULL);
	CHECK_INT_EQ(f->len, 0);
	CHECK_INT_EQ(f->binary, 0);
	frame_unref(f);
}

static void test_queue_empty(void)
{
	struct frame_queue q;

	memset(&q, 0, sizeof(q)); /* zeroed is a valid empty queue */
	CHECK(frame_queue_peek(&q) == NULL);
	frame_queue_pop(&q); /* popping an empty queue is harmless */
	frame_queue_clear(&q);
	CHECK_INT_EQ(q.count, 0);
	CHECK_INT_EQ(q.bytes, 0);
	CHECK(q.ring == NULL);
}

static void test_queue_fifo_and_refs(void)
{
	struct frame_queue q = { 0 };
	struct frame *a = text("a"), *bb = text("bb"), *ccc = text("ccc");

	CHECK_INT_EQ(frame_queue_push(&q, a), 0);
	CHECK_INT_EQ(frame_queue_push(&q, bb), 0);
	CHECK_INT_EQ(frame_queue_push(&q, ccc), 0);
	CHECK_INT_EQ(q.count, 3);
	CHECK_INT_EQ(q.bytes, 6);
	CHECK_INT_EQ(a->refs, 2); /* the queue holds its own reference */
	CHECK_INT_EQ(bb->refs, 2);
	CHECK_INT_EQ(ccc->refs, 2);

	/* the same frame may be queued twice: two references */
	CHECK_INT_EQ(frame_queue_push(&q, a), 0);
	CHECK_INT_EQ(a->refs, 3);
	CHECK_INT_EQ(q.bytes, 7);

	CHECK(frame_queue_peek(&q) == a);
	CHECK(frame_queue_peek(&q) == a); /* peek does not remove */
	frame_queue_pop(&q);
	CHECK_INT_EQ(a->refs, 2);
	CHECK_INT_EQ(q.bytes, 6);
	CHECK(frame_queue_peek(&q) == bb);
	frame_queue_pop(&q);
	CHECK_INT_EQ(bb->refs, 1);
	CHECK_INT_EQ(q.bytes, 4);
	CHECK(frame_queue_peek(&q) == ccc);
	frame_queue_pop(&q);
	CHECK(frame_queue_peek(&q) == a);
	frame_queue_pop(&q);
	CHECK(frame_queue_peek(&q) == NULL);
	CHECK_INT_EQ(q.count, 0);
	CHECK_INT_EQ(q.bytes, 0);
	CHECK_INT_EQ(a->refs, 1);
	CHECK_INT_EQ(ccc->refs, 1);

	frame_unref(a);
	frame_unref(bb);
	frame_unref(ccc);
}

/* Pushes n distinct frames of lengths 1..n on q, keeping them in fs. */
static void push_numbered(struct frame_queue *q, struct frame **fs, int n,
			  int base)
{
	for (int i = 0; i < n; i++) {
		fs[i] = frame_create((size_t)(base + i), 0);
		CHECK(fs[i] != NULL);
		CHECK_INT_EQ(frame_queue_push(q, fs[i]), 0);
	}
}

static void test_queue_grows_beyond_inline_slots(void)
{
	enum { N = 3 * FRAME_QUEUE_INLINE + 3 }; /* several doublings */
	struct frame_queue q = { 0 };
	struct frame *fs[N];
	size_t bytes = 0;

	push_numbered(&q, fs, FRAME_QUEUE_INLINE, 1);
	CHECK(q.ring == NULL); /* the first slots live in the struct */
	CHECK_INT_EQ(q.cap, FRAME_QUEUE_INLINE);

	for (int i = FRAME_QUEUE_INLINE; i < N; i++) {
		fs[i] = frame_create((size_t)(i + 1), 0);
		CHECK_INT_EQ(frame_queue_push(&q, fs[i]), 0);
	}
	CHECK(q.ring != NULL);
	CHECK(q.cap >= N);
	CHECK_INT_EQ(q.count, N);
	for (int i = 0; i < N; i++)
		bytes += (size_t)(i + 1);
	CHECK_INT_EQ(q.bytes, bytes);

	for (int i = 0; i < N; i++) {
		CHECK(frame_queue_peek(&q) == fs[i]);
		CHECK_INT_EQ(fs[i]->refs, 2);
		frame_queue_pop(&q);
		CHECK_INT_EQ(fs[i]->refs, 1);
		bytes -= (size_t)(i + 1);
		CHECK_INT_EQ(q.bytes, bytes);
	}
	CHECK_INT_EQ(q.count, 0);
	/* emptied: the heap ring is given back and the inline slots reused */
	CHECK(q.ring == NULL);
	CHECK_INT_EQ(q.cap, FRAME_QUEUE_INLINE);
	for (int i = 0; i < N; i++)
		frame_unref(fs[i]);
}

static void test_queue_wraps_around(void)
{
	struct frame_queue q = { 0 };
	struct frame *fs[64];
	int next_in = 0, next_out = 0;

	/* keep 3 frames in flight so head walks around the inline ring */
	for (int round = 0; round < 10; round++) {
		fs[next_in] = frame_create(1, 0);
		CHECK_INT_EQ(frame_queue_push(&q, fs[next_in++]), 0);
		if (q.count > 3) {
			CHECK(frame_queue_peek(&q) == fs[next_out]);
			frame_queue_pop(&q);
			next_out++;
		}
	}
	/* 10 pushed, 7 popped: head is at slot 7 % 4 = 3 and the three queued
	 * frames sit in slots 3, 0, 1 of the inline ring */
	CHECK(q.ring == NULL);
	CHECK_INT_EQ(q.head, 3);
	CHECK_INT_EQ(q.count, 3);

	/* now grow while head is in the middle of the ring: order is kept */
	for (int i = 0; i < 2 * FRAME_QUEUE_INLINE + 1; i++) {
		fs[next_in] = frame_create(1, 0);
		CHECK_INT_EQ(frame_queue_push(&q, fs[next_in++]), 0);
	}
	CHECK(q.ring != NULL);
	CHECK_INT_EQ(q.count, (uint32_t)(next_in - next_out));
	CHECK_INT_EQ(q.bytes, (size_t)(next_in - next_out));

	/* and wrap around the heap ring too */
	for (int round = 0; round < 20; round++) {
		CHECK(frame_queue_peek(&q) == fs[next_out]);
		frame_queue_pop(&q);
		next_out++;
		fs[next_in] = frame_create(1, 0);
		CHECK_INT_EQ(frame_queue_push(&q, fs[next_in++]), 0);
	}
	while (next_out < next_in) {
		CHECK(frame_queue_peek(&q) == fs[next_out]);
		frame_queue_pop(&q);
		next_out++;
	}
	CHECK(frame_queue_peek(&q) == NULL);
	CHECK_INT_EQ(q.bytes, 0);
	for (int i = 0; i < next_in; i++) {
		CHECK_INT_EQ(fs[i]->refs, 1);
		frame_unref(fs[i]);
	}
}

static void test_clear_drops_references_and_queue_is_reusable(void)
{
	enum { N = 2 * FRAME_QUEUE_INLINE + 1 };
	struct frame_queue q = { 0 };
	struct frame *fs[N], *shared = text("shared"), *again;

	push_numbered(&q, fs, N, 1);
	CHECK_INT_EQ(frame_queue_push(&q, shared), 0);
	CHECK_INT_EQ(frame_queue_push(&q, shared), 0);
	CHECK_INT_EQ(shared->refs, 3);
	CHECK(q.ring != NULL);

	frame_queue_clear(&q);
	CHECK_INT_EQ(q.count, 0);
	CHECK_INT_EQ(q.bytes, 0);
	CHECK(q.ring == NULL); /* the heap ring is freed (ASan: no leak) */
	CHECK(frame_queue_peek(&q) == NULL);
	CHECK_INT_EQ(shared->refs, 1);
	for (int i = 0; i < N; i++) {
		CHECK_INT_EQ(fs[i]->refs, 1);
		frame_unref(fs[i]);
	}

	frame_queue_clear(&q); /* clearing twice is harmless */

	/* usable again after clear, including growing once more */
	push_numbered(&q, fs, N, 100);
	CHECK_INT_EQ(q.count, N);
	CHECK(frame_queue_peek(&q) == fs[0]);
	again = text("x");
	CHECK_INT_EQ(frame_queue_push(&q, again), 0);
	for (int i = 0; i < N; i++) {
		CHECK(frame_queue_peek(&q) == fs[i]);
		frame_queue_pop(&q);
		frame_unref(fs[i]);
	}
	CHECK(frame_queue_peek(&q) == again);
	frame_queue_clear(&q);
	CHECK_INT_EQ(again->refs, 1);
	frame_unref(again);
	frame_unref(shared);
	CHECK_NO_LEAKS();
}

int main(void)
{
	RUN(test_create_and_refcount);
	RUN(test_frame_from_copies);
	RUN(test_queue_empty);
	RUN(test_queue_fifo_and_refs);
	RUN(test_queue_grows_beyond_inline_slots);
	RUN(test_queue_wraps_around);
	RUN(test_clear_drops_references_and_queue_is_reusable);
	return check_exit_code();
}
