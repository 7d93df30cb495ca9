/*
 * Unit tests for server/handshake.c: which upgrade requests are accepted
 * (docs/protocol.md "Connecting"), with which status and reason, and which
 * channels handshake_foreach_channel() hands out.
 */
#include "check.h"
#include "handshake.h"

#include <stdlib.h>
#include <string.h>

static struct handshake_result res;

#define NARGS(a) (sizeof(a) / sizeof((a)[0]))

/* handshake_check() with no query arguments. */
static int check_path(const char *path)
{
	return handshake_check(path, NULL, 0, &res);
}

/* handshake_check() of /ws/alice with one query argument. */
static int check_arg(const char *arg)
{
	const char *args[] = { arg };

	return handshake_check("/ws/alice", args, 1, &res);
}

#define CHECK_REFUSED(call, code, why)             \
	do {                                       \
		CHECK_INT_EQ((call), (code));      \
		CHECK_INT_EQ(res.status, (code));  \
		CHECK_STR_EQ(res.error, (why));    \
	} while (0)

#define CHECK_ACCEPTED(call, id)                \
	do {                                    \
		CHECK_INT_EQ((call), 0);        \
		CHECK_INT_EQ(res.status, 0);    \
		CHECK(res.error == NULL);       \
		CHECK_STR_EQ(res.client_id, (id)); \
	} while (0)

static void test_accepted_paths(void)
{
	char path[100] = "/ws/";

	CHECK_ACCEPTED(check_path("/ws/alice"), "alice");
	CHECK_ACCEPTED(check_path("/ws/a"), "a");
	CHECK_ACCEPTED(check_path("/ws/user_1.eu:west@h-2"), "user_1.eu:west@h-2");
	memset(path + 4, 'x', 64);
	CHECK_ACCEPTED(check_path(path), path + 4);
}

static void test_refused_paths(void)
{
	char path[100] = "/ws/";

	CHECK_REFUSED(check_path("/ws"), 400, "invalid client_id");
	CHECK_REFUSED(check_path("/ws/"), 400, "invalid client_id");
	CHECK_REFUSED(check_path("/ws/a/b"), 400, "invalid client_id");
	CHECK_REFUSED(check_path("/ws/alice/"), 400, "invalid client_id");
	CHECK_REFUSED(check_path("/ws/a b"), 400, "invalid client_id");
	CHECK_REFUSED(check_path("/ws/$sys"), 400, "invalid client_id");
	CHECK_REFUSED(check_path("/ws/caf\xc3\xa9"), 400, "invalid client_id");
	memset(path + 4, 'x', 65);
	CHECK_REFUSED(check_path(path), 400, "invalid client_id");
	CHECK_STR_EQ(res.client_id, ""); /* no invalid id is copied out */

	CHECK_REFUSED(check_path("/"), 404, "not found");
	CHECK_REFUSED(check_path(""), 404, "not found");
	CHECK_REFUSED(check_path("/api/publish"), 404, "not found");
	CHECK_REFUSED(check_path("/wsx"), 404, "not found");
	CHECK_REFUSED(check_path("/ws2/alice"), 404, "not found");
	CHECK_REFUSED(check_path("/WS/alice"), 404, "not found");
	CHECK_REFUSED(check_path("ws/alice"), 404, "not found");
	CHECK_REFUSED(check_path("//ws/alice"), 404, "not found");
}

static void test_channels_argument(void)
{
	CHECK_ACCEPTED(check_arg("channels=news"), "alice");
	CHECK_ACCEPTED(check_arg("channels=news,sport,room:1"), "alice");
	CHECK_ACCEPTED(check_arg("channels=$sys"), "alice");
	CHECK_ACCEPTED(check_arg("channels=news,$sys"), "alice");
	CHECK_ACCEPTED(check_arg("channels="), "alice");
	CHECK_ACCEPTED(check_arg("channels=,,,"), "alice");
	CHECK_ACCEPTED(check_arg("channels=,a,,b,"), "alice");
	/* other arguments are ignored */
	CHECK_ACCEPTED(check_arg("token=a b c"), "alice");
	CHECK_ACCEPTED(check_arg("channel=$x"), "alice");
	CHECK_ACCEPTED(check_arg("xchannels=$x"), "alice");

	CHECK_REFUSED(check_arg("channels=$x"), 400,
		      "invalid channel in channels");
	CHECK_REFUSED(check_arg("channels=news,$other"), 400,
		      "invalid channel in channels");
	CHECK_REFUSED(check_arg("channels=a b"), 400,
		      "invalid channel in channels");
	CHECK_REFUSED(check_arg("channels=a/b"), 400,
		      "invalid channel in channels");
	CHECK_REFUSED(check_arg("channels=a,,b c"), 400,
		      "invalid channel in channels");
	/* the client_id is kept for the refusal's log line */
	CHECK_STR_EQ(res.client_id, "alice");
}

static void test_channel_name_length(void)
{
	char arg[200] = "channels=";

	memset(arg + 9, 'c', 128);
	CHECK_ACCEPTED(check_arg(arg), "alice");
	arg[9 + 128] = 'c';
	CHECK_REFUSED(check_arg(arg), 400, "invalid channel in channels");
}

/* "channels=c0,c1,...,c<n-1>" in a new string. */
static char *channel_list(int n, const char *sep)
{
	char *s = malloc(16 + (size_t)n * 8);
	size_t used = (size_t)sprintf(s, "channels=");

	for (int i = 0; i < n; i++)
		used += (size_t)sprintf(s + used, "%sc%d", i ? sep : "", i);
	return s;
}

static void test_too_many_channels(void)
{
	char *arg = channel_list(HANDSHAKE_MAX_CHANNELS, ",");

	CHECK_INT_EQ(HANDSHAKE_MAX_CHANNELS, 64);
	CHECK_ACCEPTED(check_arg(arg), "alice");
	free(arg);

	arg = channel_list(HANDSHAKE_MAX_CHANNELS + 1, ",");
	CHECK_REFUSED(check_arg(arg), 400, "too many channels");
	free(arg);

	/* empty items do not count */
	arg = channel_list(HANDSHAKE_MAX_CHANNELS, ",,");
	CHECK_ACCEPTED(check_arg(arg), "alice");
	free(arg);
}

static void test_query_length(void)
{
	/* the query is the arguments and the '&'s between them */
	char *a = malloc(HANDSHAKE_MAX_QUERY + 2), *b = malloc(100);
	const char *args[2] = { a, b };

	CHECK_INT_EQ(HANDSHAKE_MAX_QUERY, 4096);
	memset(a, 'x', HANDSHAKE_MAX_QUERY + 1);
	a[HANDSHAKE_MAX_QUERY] = '\0'; /* exactly 4096: fits */
	CHECK_ACCEPTED(handshake_check("/ws/alice", args, 1, &res), "alice");
	a[HANDSHAKE_MAX_QUERY] = 'x';
	a[HANDSHAKE_MAX_QUERY + 1] = '\0'; /* 4097: too long */
	CHECK_REFUSED(handshake_check("/ws/alice", args, 1, &res), 400,
		      "query string too long");

	/* counted over all arguments: 4000 + '&' + 96 = 4097 */
	a[4000] = '\0';
	memset(b, 'y', 96);
	b[96] = '\0';
	CHECK_REFUSED(handshake_check("/ws/alice", args, 2, &res), 400,
		      "query string too long");
	b[95] = '\0'; /* 4000 + 1 + 95 = 4096 */
	CHECK_ACCEPTED(handshake_check("/ws/alice", args, 2, &res), "alice");
	free(a);
	free(b);
}

/* ---- handshake_foreach_channel ---- */

struct seen {
	int n;
	char names[80][NAMES_CHANNEL_MAX + 1];
};

static void collect(const char *channel, size_t len, void *arg)
{
	struct seen *s = arg;

	CHECK(len > 0 && len <= NAMES_CHANNEL_MAX);
	if (s->n < 80 && len <= NAMES_CHANNEL_MAX) {
		memcpy(s->names[s->n], channel, len);
		s->names[s->n][len] = '\0';
	}
	s->n++;
}

static void test_foreach_channel(void)
{
	const char *args[] = { "token=t", "channels=,news,,$sys,room:1,",
			       "x=y" };
	const char *none[] = { "token=t" };
	const char *empty[] = { "channels=" };
	const char *twice[] = { "channels=first", "channels=second,third" };
	struct seen s = { 0 };

	handshake_foreach_channel(args, NARGS(args), collect, &s);
	CHECK_INT_EQ(s.n, 3);
	CHECK_STR_EQ(s.names[0], "news");
	CHECK_STR_EQ(s.names[1], "$sys");
	CHECK_STR_EQ(s.names[2], "room:1");

	memset(&s, 0, sizeof(s));
	handshake_foreach_channel(none, NARGS(none), collect, &s);
	CHECK_INT_EQ(s.n, 0);
	handshake_foreach_channel(empty, NARGS(empty), collect, &s);
	CHECK_INT_EQ(s.n, 0);
	handshake_foreach_channel(NULL, 0, collect, &s);
	CHECK_INT_EQ(s.n, 0);

	/* the last "channels" argument wins, in check and foreach alike */
	CHECK_ACCEPTED(handshake_check("/ws/alice", twice, NARGS(twice), &res),
		       "alice");
	handshake_foreach_channel(twice, NARGS(twice), collect, &s);
	CHECK_INT_EQ(s.n, 2);
	CHECK_STR_EQ(s.names[0], "second");
	CHECK_STR_EQ(s.names[1], "third");
}

static void test_foreach_all_64(void)
{
	char *arg = channel_list(HANDSHAKE_MAX_CHANNELS, ",");
	const char *args[] = { arg };
	struct seen s = { 0 };
	char want[16];

	CHECK_ACCEPTED(handshake_check("/ws/bob", args, 1, &res), "bob");
	handshake_foreach_channel(args, 1, collect, &s);
	CHECK_INT_EQ(s.n, HANDSHAKE_MAX_CHANNELS);
	for (int i = 0; i < HANDSHAKE_MAX_CHANNELS && i < s.n; i++) {
		snprintf(want, sizeof(want), "c%d", i);
		CHECK_STR_EQ(s.names[i], want);
	}
	free(arg);
}

int main(void)
{
	RUN(test_accepted_paths);
	RUN(test_refused_paths);
	RUN(test_channels_argument);
	RUN(test_channel_name_length);
	RUN(test_too_many_channels);
	RUN(test_query_length);
	RUN(test_foreach_channel);
	RUN(test_foreach_all_64);
	return check_exit_code();
}
