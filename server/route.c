/*
 * route — see route.h. The name forms live only here, in one table;
 * no prefix length is ever written out.
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

/* Whether s (len bytes) starts with literal and has more after it. */
#define HAS_PREFIX(s, len, literal)            \
	((len) > sizeof(literal) - 1 &&        \
	 !memcmp((s), (literal), sizeof(literal) - 1))

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

/*
 * The names of each kind: public (backends, HTTP) and internal (herald's
 * "$" channels). A kind with a name (client, channel) is its prefix
 * followed by the name; the channel's public form has no prefix.
 */
static const struct route_form {
	enum route_kind kind;
	const char *public_prefix;
	const char *internal_prefix;
	int named;
} route_forms[] = {
	{ ROUTE_BROADCAST, PUBLIC_BROADCAST, INTERNAL_BROADCAST, 0 },
	{ ROUTE_CLIENT, PUBLIC_CLIENT, INTERNAL_CLIENT, 1 },
	{ ROUTE_CHANNEL, "", INTERNAL_CHANNEL, 1 },
};

#define ROUTE_FORMS (sizeof(route_forms) / sizeof(route_forms[0]))

static int route_name_valid(enum route_kind kind, const char *s, size_t len)
{
	return kind == ROUTE_CLIENT ? names_valid_client_id(s, len)
				    : names_valid_channel(s, len);
}

/* s (len bytes) in the form prefix[name] of f: 0 and t set, or -1. */
static int route_match(const struct route_form *f, const char *prefix,
		       const char *s, size_t len, int internal,
		       struct route_target *t)
{
	size_t n = strlen(prefix);

	if (len < n || memcmp(s, prefix, n))
		return -1;
	if (!f->named) {
		if (len != n)
			return -1;
	} else if (!route_name_valid(f->kind, s + n, len - n)) {
		return -1;
	}
	route_set(t, f->kind, s + n, len - n, internal);
	return 0;
}

int route_parse(const char *s, size_t len, struct route_target *t)
{
	for (size_t i = 0; i < ROUTE_FORMS; i++) {
		const struct route_form *f = &route_forms[i];
		size_t n = strlen(f->public_prefix);

		if (!route_match(f, f->public_prefix, s, len, 0, t))
			return 0;
		/* "client:..." is a client or nothing, never a channel */
		if (f->named && n && len >= n && !memcmp(s, f->public_prefix, n))
			return -1;
	}
	return -1;
}

int route_parse_redis(const char *s, size_t len, struct route_target *t)
{
	if (!len || s[0] != '$')
		return route_parse(s, len, t);
	for (size_t i = 0; i < ROUTE_FORMS; i++)
		if (!route_match(&route_forms[i], route_forms[i].internal_prefix,
				 s, len, 1, t))
			return 0;
	if (HAS_PREFIX(s, len, INTERNAL_HISTORY) &&
	    names_valid_channel(s + sizeof(INTERNAL_HISTORY) - 1,
				len - (sizeof(INTERNAL_HISTORY) - 1))) {
		/* herald_publish's live message: "<seq> <kind> <payload>" */
		route_set(t, ROUTE_CHANNEL, s + sizeof(INTERNAL_HISTORY) - 1,
			  len - (sizeof(INTERNAL_HISTORY) - 1), 0);
		t->history = 1;
		return 0;
	}
	if (HAS_PREFIX(s, len, ROUTE_KEEPALIVE_PREFIX)) {
		route_set(t, ROUTE_KEEPALIVE, "", 0, 1);
		return 0;
	}
	return -1;
}

static size_t route_format(const struct route_target *t, int internal,
			   char *buf)
{
	for (size_t i = 0; i < ROUTE_FORMS; i++) {
		const struct route_form *f = &route_forms[i];

		if (f->kind == t->kind)
			return (size_t)snprintf(
				buf, ROUTE_NAME_MAX, "%s%s",
				internal ? f->internal_prefix
					 : f->public_prefix,
				t->name);
	}
	buf[0] = '\0';
	return 0;
}

size_t route_public_name(const struct route_target *t, char *buf)
{
	return route_format(t, 0, buf);
}

size_t route_redis_name(const struct route_target *t, char *buf)
{
	return route_format(t, t->internal, buf);
}
