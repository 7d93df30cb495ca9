/*
 * Unit tests for server/reassembly.c: messages in one piece (no copy),
 * in pieces and fragments (empty ones too), the size bound, and what is
 * kept between messages.
 */
#include "check.h"
#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char *msg;
static size_t msg_len;

static enum reassembly_result add(struct reassembly *r, const char *piece,
				  size_t remaining, int final, size_t max)
{
	return reassembly_add(r, (const unsigned char *)piece,
			      piece ? strlen(piece) : 0, remaining, final, 0,
			      max, &msg, &msg_len);
}

static void test_one_piece_is_not_copied(void)
{
	struct reassembly r = { 0 };
	const unsigned char bin[] = { 0, 1, 2 };

	CHECK_INT_EQ(add(&r, "hello", 0, 1, 100), REASSEMBLY_DONE);
	CHECK_MEM_EQ(msg, msg_len, "hello");
	CHECK(r.buf == NULL);
	reassembly_reset(&r);
	CHECK_INT_EQ(reassembly_add(&r, bin, 3, 0, 1, 1, 100, &msg, &msg_len),
		     REASSEMBLY_DONE);
	CHECK(msg == bin);
	CHECK_INT_EQ(r.binary, 1);
	reassembly_free(&r);
}

static void test_pieces_and_empty_fragments(void)
{
	struct reassembly r = { 0 };

	CHECK_INT_EQ(add(&r, NULL, 0, 0, 100), REASSEMBLY_MORE); /* empty first */
	CHECK_INT_EQ(add(&r, "ab", 3, 0, 100), REASSEMBLY_MORE);
	CHECK_INT_EQ(add(&r, "cde", 0, 0, 100), REASSEMBLY_MORE);
	CHECK_INT_EQ(add(&r, NULL, 0, 0, 100), REASSEMBLY_MORE); /* empty middle */
	CHECK_INT_EQ(add(&r, "f", 0, 1, 100), REASSEMBLY_DONE);
	CHECK_MEM_EQ(msg, msg_len, "abcdef");
	reassembly_reset(&r);
	CHECK_INT_EQ(r.len, 0);
	CHECK(r.buf != NULL); /* a small buffer is kept for the next one */
	CHECK_INT_EQ(add(&r, "xy", 0, 0, 100), REASSEMBLY_MORE);
	CHECK_INT_EQ(add(&r, NULL, 0, 1, 100), REASSEMBLY_DONE); /* empty last */
	CHECK_MEM_EQ(msg, msg_len, "xy");
	reassembly_reset(&r);
	/* every fragment empty: an empty message */
	CHECK_INT_EQ(add(&r, NULL, 0, 0, 100), REASSEMBLY_MORE);
	CHECK_INT_EQ(add(&r, NULL, 0, 1, 100), REASSEMBLY_DONE);
	CHECK_INT_EQ(msg_len, 0);
	CHECK(msg != NULL);
	reassembly_free(&r);
}

static void test_size_bound(void)
{
	struct reassembly r = { 0 };

	/* exactly max is fine, announced bytes count before they arrive */
	CHECK_INT_EQ(add(&r, "12345", 5, 0, 10), REASSEMBLY_MORE);
	CHECK_INT_EQ(add(&r, "67890", 0, 1, 10), REASSEMBLY_DONE);
	reassembly_reset(&r);
	CHECK_INT_EQ(add(&r, "12345", 6, 0, 10), REASSEMBLY_TOO_BIG);
	reassembly_reset(&r);
	CHECK_INT_EQ(add(&r, "12345", 0, 0, 10), REASSEMBLY_MORE);
	CHECK_INT_EQ(add(&r, "123456", 0, 1, 10), REASSEMBLY_TOO_BIG);
	CHECK(r.cap <= 10);
	reassembly_free(&r);
}

static void test_large_buffer_not_kept(void)
{
	struct reassembly r = { 0 };
	char *big = malloc(9001);

	memset(big, 'x', 9000);
	big[9000] = '\0';
	CHECK_INT_EQ(add(&r, "a", 9000, 0, 1 << 20), REASSEMBLY_MORE);
	CHECK(r.cap >= 9001);
	CHECK_INT_EQ(add(&r, big, 0, 1, 1 << 20), REASSEMBLY_DONE);
	CHECK_INT_EQ(msg_len, 9001);
	reassembly_reset(&r);
	CHECK(r.buf == NULL);
	free(big);
	CHECK_NO_LEAKS();
}

int main(void)
{
	RUN(test_one_piece_is_not_copied);
	RUN(test_pieces_and_empty_fragments);
	RUN(test_size_bound);
	RUN(test_large_buffer_not_kept);
	return check_exit_code();
}
