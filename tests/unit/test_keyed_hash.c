/*
 * Unit tests for server/keyed_hash.c: SipHash-2-4 against the reference
 * vectors (key 00..0f, messages 00, 00 01, ... of 0 to 63 bytes; the
 * first and the 15-byte example of the SipHash paper), and a key that is
 * secret per process: a child process hashes the same name differently,
 * so a client cannot precompute names that collide in herald's tables
 * (issue 11: uthash's default hash is unkeyed).
 */
#include "check.h"
#include "keyed_hash.h"

#include <sys/wait.h>
#include <unistd.h>

static const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7,
				 8, 9, 10, 11, 12, 13, 14, 15 };

static void test_reference_vectors(void)
{
	uint8_t msg[64];

	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	/* vectors_sip64[0], [7], [8], [15] and [63] of the reference code */
	CHECK_INT_EQ(keyed_hash_with(key, msg, 0), 0x726fdb47dd0e0e31ULL);
	CHECK_INT_EQ(keyed_hash_with(key, msg, 15), 0xa129ca6149be45e5ULL);
	CHECK_INT_EQ(keyed_hash_with(key, msg, 1), 0x74f839c593dc67fdULL);
	CHECK_INT_EQ(keyed_hash_with(key, msg, 8), 0x93f5f5799a932462ULL);
	CHECK_INT_EQ(keyed_hash_with(key, msg, 63), 0x958a324ceb064572ULL);
}

static void test_key_matters(void)
{
	uint8_t other[16] = { 1 };

	CHECK(keyed_hash_with(key, "alice", 5) !=
	      keyed_hash_with(other, "alice", 5));
	/* the process key is stable within the process */
	CHECK_INT_EQ(keyed_hash("alice", 5), keyed_hash("alice", 5));
	CHECK(keyed_hash("alice", 5) != keyed_hash("alicf", 5));
}

static void test_key_differs_per_process(void)
{
	int p[2];
	uint64_t mine = keyed_hash("users", 5), theirs = 0;
	pid_t pid;
	int differ = 0;

	/* three children: one equal 64-bit hash by chance is 2^-64 */
	for (int i = 0; i < 3; i++) {
		if (pipe(p))
			return;
		pid = fork();
		if (pid == 0) {
			/* a fresh exec would draw a fresh key; a forked child
			 * shares the parent's, so re-exec ourselves to get one */
			close(p[0]);
			dup2(p[1], 3);
			execl("/proc/self/exe", "test_keyed_hash", "--child",
			      (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		CHECK_INT_EQ(read(p[0], &theirs, sizeof(theirs)),
			     (long)sizeof(theirs));
		close(p[0]);
		waitpid(pid, NULL, 0);
		differ += theirs != mine;
	}
	CHECK_INT_EQ(differ, 3);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--child")) {
		uint64_t h = keyed_hash("users", 5);

		return write(3, &h, sizeof(h)) == sizeof(h) ? 0 : 1;
	}
	RUN(test_reference_vectors);
	RUN(test_key_matters);
	RUN(test_key_differs_per_process);
	return check_exit_code();
}
