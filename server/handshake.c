/*
 * handshake — see handshake.h. Refusal texts are static so a refused
 * upgrade costs no allocation.
 */
#include "handshake.h"
#include "seq.h"

#include <string.h>

#define WS_PREFIX "/ws/"

static const char *handshake_channels_arg(const char *const *args,
					  size_t nargs)
{
	const char *found = NULL;

	for (size_t i = 0; i < nargs; i++)
		if (!strncmp(args[i], "channels=", 9))
			found = args[i] + 9; /* the last one wins, like most servers */
	return found;
}

static const char *handshake_since_arg(const char *const *args, size_t nargs)
{
	const char *found = NULL;

	for (size_t i = 0; i < nargs; i++)
		if (!strncmp(args[i], "since=", 6))
			found = args[i] + 6;
	return found;
}

/* One "<channel>:<seq>" item of since= (len bytes): the channel is what
 * comes before the last ':' (channel names may hold ':', seqs do not). */
static int since_item(const char *p, size_t len, size_t *chlen,
		      struct seq *seq)
{
	size_t colon = len;

	while (colon > 0 && p[colon - 1] != ':')
		colon--;
	if (!colon)
		return -1;
	*chlen = colon - 1;
	if (!names_valid_channel(p, *chlen))
		return -1;
	return seq_parse(p + colon, len - colon, seq);
}

int handshake_since(const char *const *args, size_t nargs,
		    const char *channel, size_t len, struct seq *out)
{
	const char *p = handshake_since_arg(args, nargs);
	int found = -1;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p), chlen;
		struct seq seq;

		if (n && !since_item(p, n, &chlen, &seq) && chlen == len &&
		    !memcmp(p, channel, len)) {
			*out = seq;
			found = 0; /* the last one wins */
		}
		p += n + (end ? 1 : 0);
	}
	return found;
}

static int handshake_refuse(struct handshake_result *res, int status,
			    const char *why)
{
	res->status = status;
	res->error = why;
	return status;
}

int handshake_check(const char *path, const char *const *args, size_t nargs,
		    struct handshake_result *res)
{
	const char *id, *channels, *p;
	size_t len, query = 0, count = 0;

	memset(res, 0, sizeof(*res));
	if (strncmp(path, WS_PREFIX, strlen(WS_PREFIX))) {
		if (!strcmp(path, "/ws"))
			return handshake_refuse(res, 400, "invalid client_id");
		return handshake_refuse(res, 404, "not found");
	}
	id = path + strlen(WS_PREFIX);
	len = strlen(id);
	if (!names_valid_client_id(id, len))
		return handshake_refuse(res, 400, "invalid client_id");
	memcpy(res->client_id, id, len + 1);

	/* the query's length: the arguments and the '&'s between them */
	for (size_t i = 0; i < nargs; i++)
		query += strlen(args[i]) + (i ? 1 : 0);
	if (query > HANDSHAKE_MAX_QUERY)
		return handshake_refuse(res, 400, "query string too long");

	channels = handshake_channels_arg(args, nargs);
	for (p = channels; p && *p;) {
		const char *end = strchr(p, ',');

		len = end ? (size_t)(end - p) : strlen(p);
		if (len) {
			if (!names_subscribable(p, len))
				return handshake_refuse(
					res, 400, "invalid channel in channels");
			if (++count > HANDSHAKE_MAX_CHANNELS)
				return handshake_refuse(res, 400,
							"too many channels");
		}
		p += len + (end ? 1 : 0);
	}
	for (p = handshake_since_arg(args, nargs); p && *p;) {
		const char *end = strchr(p, ',');
		size_t chlen;
		struct seq seq;

		len = end ? (size_t)(end - p) : strlen(p);
		if (len && since_item(p, len, &chlen, &seq))
			return handshake_refuse(res, 400, "invalid since");
		p += len + (end ? 1 : 0);
	}
	return 0;
}

void handshake_foreach_channel(const char *const *args, size_t nargs,
			       void (*fn)(const char *channel, size_t len,
					  void *arg),
			       void *arg)
{
	const char *p = handshake_channels_arg(args, nargs);

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len)
			fn(p, len, arg);
		p += len + (end ? 1 : 0);
	}
}
