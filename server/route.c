/*
 * route — see route.h. The name forms live only here: every prefix is a
 * #define used with sizeof, never a literal length.
 */
#include "route.h"

#include <stdio.h>
#include <string.h>

#define PUBLIC_BROADCAST "broadcast"
#define PUBLIC_CLIENT "client:"
#define INTERNAL_BROADCAST "$broadcast"
#define INTERNAL_CLIENT "$client:"
#define INTERNAL_CHANNEL "$channel:"
#define INTERNAL_HISTORY "$history:"

#define LEN(literal) (sizeof(literal) - 1)

/* Whether s (len bytes) starts with literal and has more after it. */
#define HAS_PREFIX(s, len, literal) \
	((len) > LEN(literal) && !memcmp((s), (literal), LEN(literal)))

static void route_set(struct route_target *t, enum route_kind kind,
		      const char *name, size_t len, int internal)
{
	t->kind = kind;
	t->internal = internal;
	t->history = 0;
	memcpy(t->name, name, len);
	t->name[len] = '\0';
}

void route_broadcast(struct route_target *t, int internal)
{
	route_set(t, ROUTE_BROADCAST, "", 0, internal);
}

void route_client(struct route_target *t, const char *client_id, int internal)
{
	route_set(t, ROUTE_CLIENT, client_id, strlen(client_id), internal);
}

void route_channel(struct route_target *t, const char *channel, int internal)
{
	route_set(t, ROUTE_CHANNEL, channel, strlen(channel), internal);
}

int route_parse(const char *s, size_t len, struct route_target *t)
{
	if (len == LEN(PUBLIC_BROADCAST) && !memcmp(s, PUBLIC_BROADCAST, len)) {
		route_set(t, ROUTE_BROADCAST, "", 0, 0);
		return 0;
	}
	if (len >= LEN(PUBLIC_CLIENT) && !memcmp(s, PUBLIC_CLIENT,
						 LEN(PUBLIC_CLIENT))) {
		s += LEN(PUBLIC_CLIENT);
		len -= LEN(PUBLIC_CLIENT);
		if (!names_valid_client_id(s, len))
			return -1;
		route_set(t, ROUTE_CLIENT, s, len, 0);
		return 0;
	}
	if (!names_valid_channel(s, len))
		return -1;
	route_set(t, ROUTE_CHANNEL, s, len, 0);
	return 0;
}

int route_parse_redis(const char *s, size_t len, struct route_target *t)
{
	if (!len || s[0] != '$')
		return route_parse(s, len, t);
	if (len == LEN(INTERNAL_BROADCAST) &&
	    !memcmp(s, INTERNAL_BROADCAST, len)) {
		route_set(t, ROUTE_BROADCAST, "", 0, 1);
		return 0;
	}
	if (HAS_PREFIX(s, len, INTERNAL_CLIENT) &&
	    names_valid_client_id(s + LEN(INTERNAL_CLIENT),
				  len - LEN(INTERNAL_CLIENT))) {
		route_set(t, ROUTE_CLIENT, s + LEN(INTERNAL_CLIENT),
			  len - LEN(INTERNAL_CLIENT), 1);
		return 0;
	}
	if (HAS_PREFIX(s, len, INTERNAL_CHANNEL) &&
	    names_valid_channel(s + LEN(INTERNAL_CHANNEL),
				len - LEN(INTERNAL_CHANNEL))) {
		route_set(t, ROUTE_CHANNEL, s + LEN(INTERNAL_CHANNEL),
			  len - LEN(INTERNAL_CHANNEL), 1);
		return 0;
	}
	if (HAS_PREFIX(s, len, INTERNAL_HISTORY) &&
	    names_valid_channel(s + LEN(INTERNAL_HISTORY),
				len - LEN(INTERNAL_HISTORY))) {
		/* herald_publish's live message: "<seq> <kind> <payload>" */
		route_set(t, ROUTE_CHANNEL, s + LEN(INTERNAL_HISTORY),
			  len - LEN(INTERNAL_HISTORY), 0);
		t->history = 1;
		return 0;
	}
	if (HAS_PREFIX(s, len, ROUTE_KEEPALIVE_PREFIX)) {
		route_set(t, ROUTE_KEEPALIVE, "", 0, 1);
		return 0;
	}
	return -1;
}

size_t route_public_name(const struct route_target *t, char *buf)
{
	int n;

	switch (t->kind) {
	case ROUTE_BROADCAST:
		n = snprintf(buf, ROUTE_NAME_MAX, PUBLIC_BROADCAST);
		break;
	case ROUTE_CLIENT:
		n = snprintf(buf, ROUTE_NAME_MAX, PUBLIC_CLIENT "%s", t->name);
		break;
	case ROUTE_CHANNEL:
		n = snprintf(buf, ROUTE_NAME_MAX, "%s", t->name);
		break;
	default:
		n = 0;
		buf[0] = '\0';
		break;
	}
	return (size_t)n;
}

size_t route_redis_name(const struct route_target *t, char *buf)
{
	int n;

	if (!t->internal)
		return route_public_name(t, buf);
	switch (t->kind) {
	case ROUTE_BROADCAST:
		n = snprintf(buf, ROUTE_NAME_MAX, INTERNAL_BROADCAST);
		break;
	case ROUTE_CLIENT:
		n = snprintf(buf, ROUTE_NAME_MAX, INTERNAL_CLIENT "%s",
			     t->name);
		break;
	case ROUTE_CHANNEL:
		n = snprintf(buf, ROUTE_NAME_MAX, INTERNAL_CHANNEL "%s",
			     t->name);
		break;
	default:
		n = 0;
		buf[0] = '\0';
		break;
	}
	return (size_t)n;
}
