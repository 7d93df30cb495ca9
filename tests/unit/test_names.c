/*
 * Unit tests for server/names.c: client ids, channel names, reserved "$"
 * names and which channels a client may subscribe to.
 */
#include "check.h"
#include "names.h"

#include <string.h>

/* Validators take an explicit length: these pass strlen(s). */
static int id_ok(const char *s)
{
	return names_valid_client_id(s, strlen(s));
}

static int channel_ok(const char *s)
{
	return names_valid_channel(s, strlen(s));
}

static int subscribable(const char *s)
{
	return names_subscribable(s, strlen(s));
}

/* A string of n copies of c in buf (which has room for n + 1). */
static const char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_client_id_accepts_the_alphabet(void)
{
	char buf[200];

	CHECK_INT_EQ(id_ok("alice"), 1);
	CHECK_INT_EQ(id_ok("a"), 1);
	CHECK_INT_EQ(id_ok("ABCXYZabcxyz0189"), 1);
	CHECK_INT_EQ(id_ok("user_1.eu:west@host-2"), 1);
	CHECK_INT_EQ(id_ok("_"), 1);
	CHECK_INT_EQ(id_ok("-"), 1);
	CHECK_INT_EQ(id_ok("."), 1);
	CHECK_INT_EQ(id_ok(":"), 1);
	CHECK_INT_EQ(id_ok("@"), 1);
	CHECK_INT_EQ(id_ok(repeat(buf, 'x', 64)), 1);
	CHECK_INT_EQ(NAMES_CLIENT_ID_MAX, 64);
}

static void test_client_id_rejects(void)
{
	char buf[200];

	CHECK_INT_EQ(id_ok(""), 0);
	CHECK_INT_EQ(names_valid_client_id(NULL, 0), 0);
	CHECK_INT_EQ(names_valid_client_id(NULL, 3), 0);
	CHECK_INT_EQ(id_ok(repeat(buf, 'x', 65)), 0);
	CHECK_INT_EQ(id_ok("a b"), 0);
	CHECK_INT_EQ(id_ok(" alice"), 0);
	CHECK_INT_EQ(id_ok("alice\n"), 0);
	CHECK_INT_EQ(id_ok("a/b"), 0);
	CHECK_INT_EQ(id_ok("$sys"), 0);
	CHECK_INT_EQ(id_ok("a$"), 0);
	CHECK_INT_EQ(id_ok("a,b"), 0);
	CHECK_INT_EQ(id_ok("a?b"), 0);
	CHECK_INT_EQ(id_ok("a*"), 0);
	CHECK_INT_EQ(id_ok("a%20"), 0);
	CHECK_INT_EQ(id_ok("caf\xc3\xa9"), 0);   /* UTF-8 e-acute */
	CHECK_INT_EQ(id_ok("\xff"), 0);
	CHECK_INT_EQ(id_ok("a\x7f"), 0);
	/* an embedded NUL, seen through the explicit length */
	CHECK_INT_EQ(names_valid_client_id("ab\0cd", 5), 0);
	/* the length is what counts, not a terminator */
	CHECK_INT_EQ(names_valid_client_id("ab cd", 2), 1);
}

static void test_channel_lengths_and_alphabet(void)
{
	char buf[200];

	CHECK_INT_EQ(NAMES_CHANNEL_MAX, 128);
	CHECK_INT_EQ(channel_ok("news"), 1);
	CHECK_INT_EQ(channel_ok("a"), 1);
	CHECK_INT_EQ(channel_ok("room:42@eu-west_1.x"), 1);
	CHECK_INT_EQ(channel_ok(repeat(buf, 'c', 64)), 1);
	CHECK_INT_EQ(channel_ok(repeat(buf, 'c', 65)), 1);
	CHECK_INT_EQ(channel_ok(repeat(buf, 'c', 128)), 1);
	CHECK_INT_EQ(channel_ok(repeat(buf, 'c', 129)), 0);
	CHECK_INT_EQ(channel_ok(""), 0);
	CHECK_INT_EQ(names_valid_channel(NULL, 0), 0);
	CHECK_INT_EQ(channel_ok("a b"), 0);
	CHECK_INT_EQ(channel_ok("a/b"), 0);
	CHECK_INT_EQ(channel_ok("a,b"), 0);
	CHECK_INT_EQ(channel_ok("caf\xc3\xa9"), 0);
	CHECK_INT_EQ(names_valid_channel("a\0b", 3), 0);
	/* "$" names are the server's, never valid client channels */
	CHECK_INT_EQ(channel_ok("$sys"), 0);
	CHECK_INT_EQ(channel_ok("$x"), 0);
}

static void test_reserved(void)
{
	CHECK_INT_EQ(names_is_reserved("$sys", 4), 1);
	CHECK_INT_EQ(names_is_reserved("$", 1), 1);
	CHECK_INT_EQ(names_is_reserved("$anything", 9), 1);
	CHECK_INT_EQ(names_is_reserved("sys", 3), 0);
	CHECK_INT_EQ(names_is_reserved("a$", 2), 0);
	CHECK_INT_EQ(names_is_reserved("", 0), 0);
	CHECK_INT_EQ(names_is_reserved(NULL, 0), 0);
	/* the length bounds what is looked at */
	CHECK_INT_EQ(names_is_reserved("$sys", 0), 0);
}

static void test_subscribable(void)
{
	char buf[200];

	CHECK_STR_EQ(NAMES_SYS_CHANNEL, "$sys");
	CHECK_INT_EQ(subscribable("$sys"), 1);
	CHECK_INT_EQ(subscribable("$other"), 0);
	CHECK_INT_EQ(subscribable("$"), 0);
	CHECK_INT_EQ(subscribable("$sy"), 0);
	CHECK_INT_EQ(subscribable("$sys2"), 0);
	CHECK_INT_EQ(subscribable("$SYS"), 0);
	/* a prefix of "$sysx" that is exactly "$sys" by length */
	CHECK_INT_EQ(names_subscribable("$sysx", 4), 1);
	CHECK_INT_EQ(names_subscribable("$sys\0", 5), 0);
	CHECK_INT_EQ(subscribable("news"), 1);
	CHECK_INT_EQ(subscribable(repeat(buf, 'n', 128)), 1);
	CHECK_INT_EQ(subscribable(repeat(buf, 'n', 129)), 0);
	CHECK_INT_EQ(subscribable(""), 0);
	CHECK_INT_EQ(subscribable("a b"), 0);
	CHECK_INT_EQ(names_subscribable(NULL, 0), 0);
}

int main(void)
{
	RUN(test_client_id_accepts_the_alphabet);
	RUN(test_client_id_rejects);
	RUN(test_channel_lengths_and_alphabet);
	RUN(test_reserved);
	RUN(test_subscribable);
	return check_exit_code();
}
