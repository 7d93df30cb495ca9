/*
 * Unit tests for server/route.c: the public and Redis names of a route
 * target, parsed and formatted, and the names that are none.
 */
#include "check.h"
#include "route.h"

#include <string.h>

static struct route_target t;
static char buf[ROUTE_NAME_MAX];

static int parse(const char *s)
{
	return route_parse(s, strlen(s), &t);
}

static int parse_redis(const char *s)
{
	return route_parse_redis(s, strlen(s), &t);
}

static void test_public_names(void)
{
	CHECK_INT_EQ(parse("broadcast"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_BROADCAST);
	CHECK_INT_EQ(t.internal, 0);
	CHECK_INT_EQ(parse("client:bob"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_CLIENT);
	CHECK_STR_EQ(t.name, "bob");
	CHECK_INT_EQ(parse("users"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_CHANNEL);
	CHECK_STR_EQ(t.name, "users");
	CHECK_INT_EQ(parse("a:b@c.d-e_f"), 0); /* ':' is a channel character */
	CHECK_INT_EQ(t.kind, ROUTE_CHANNEL);
	CHECK_INT_EQ(parse("broadcasts"), 0);  /* only "broadcast" is */
	CHECK_INT_EQ(t.kind, ROUTE_CHANNEL);
	CHECK_INT_EQ(parse("clients"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_CHANNEL);
	CHECK_INT_EQ(t.kind, ROUTE_CHANNEL);
	/* not targets */
	CHECK_INT_EQ(parse(""), -1);
	CHECK_INT_EQ(parse("client:"), -1);
	CHECK_INT_EQ(parse("client:bad id"), -1);
	CHECK_INT_EQ(parse("bad channel"), -1);
	CHECK_INT_EQ(parse("$sys"), -1);
	CHECK_INT_EQ(parse("$broadcast"), -1); /* internal names are not public */
	CHECK_INT_EQ(route_parse("broadcastX", 9, &t), 0); /* len bounds it */
	CHECK_INT_EQ(t.kind, ROUTE_BROADCAST);
}

static void test_redis_names(void)
{
	CHECK_INT_EQ(parse_redis("users"), 0);
	CHECK_INT_EQ(t.internal, 0);
	CHECK_INT_EQ(parse_redis("$broadcast"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_BROADCAST);
	CHECK_INT_EQ(t.internal, 1);
	CHECK_INT_EQ(parse_redis("$client:bob"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_CLIENT);
	CHECK_STR_EQ(t.name, "bob");
	CHECK_INT_EQ(parse_redis("$channel:room"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_CHANNEL);
	CHECK_STR_EQ(t.name, "room");
	CHECK_INT_EQ(parse_redis("$keepalive:node-1"), 0);
	CHECK_INT_EQ(t.kind, ROUTE_KEEPALIVE);
	const char *bad[] = { "$", "$unknown", "$client:", "$client:bad id",
			      "$channel:", "$channel:bad room", "$keepalive:",
			      "$sys", "$broadcastx" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT_EQ(parse_redis(bad[i]), -1);
}

static void test_names_round_trip(void)
{
	const char *pub[] = { "broadcast", "client:bob", "users" };
	const char *internal[] = { "$broadcast", "$client:bob", "$channel:users" };

	for (int i = 0; i < 3; i++) {
		CHECK_INT_EQ(parse(pub[i]), 0);
		CHECK_INT_EQ(route_public_name(&t, buf), strlen(pub[i]));
		CHECK_STR_EQ(buf, pub[i]);
		route_redis_name(&t, buf);
		CHECK_STR_EQ(buf, pub[i]);
		t.internal = 1;
		CHECK_INT_EQ(route_redis_name(&t, buf), strlen(internal[i]));
		CHECK_STR_EQ(buf, internal[i]);
		/* a notification names the public form even when internal */
		route_public_name(&t, buf);
		CHECK_STR_EQ(buf, pub[i]);
		CHECK_INT_EQ(parse_redis(internal[i]), 0);
		CHECK_INT_EQ(t.internal, 1);
	}
	route_client(&t, "alice", 1);
	route_redis_name(&t, buf);
	CHECK_STR_EQ(buf, "$client:alice");
	route_channel(&t, "$sys", 0);
	route_public_name(&t, buf);
	CHECK_STR_EQ(buf, "$sys");
	route_broadcast(&t, 0);
	CHECK_STR_EQ(t.name, "");
}

static void test_longest_names_fit(void)
{
	char id[NAMES_CLIENT_ID_MAX + 1], ch[NAMES_CHANNEL_MAX + 1];
	char in[ROUTE_NAME_MAX + 8];

	memset(id, 'i', NAMES_CLIENT_ID_MAX);
	id[NAMES_CLIENT_ID_MAX] = '\0';
	memset(ch, 'c', NAMES_CHANNEL_MAX);
	ch[NAMES_CHANNEL_MAX] = '\0';
	snprintf(in, sizeof(in), "$channel:%s", ch);
	CHECK_INT_EQ(parse_redis(in), 0);
	CHECK_INT_EQ(route_redis_name(&t, buf), strlen(in));
	CHECK_STR_EQ(buf, in);
	snprintf(in, sizeof(in), "client:%s", id);
	CHECK_INT_EQ(parse(in), 0);
	CHECK_INT_EQ(route_public_name(&t, buf), strlen(in));
	snprintf(in, sizeof(in), "%sc", ch); /* 129 characters */
	CHECK_INT_EQ(parse(in), -1);
}

int main(void)
{
	RUN(test_public_names);
	RUN(test_redis_names);
	RUN(test_names_round_trip);
	RUN(test_longest_names_fit);
	return check_exit_code();
}
