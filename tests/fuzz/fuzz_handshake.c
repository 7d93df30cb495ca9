/*
 * fuzz_handshake — server/handshake.c (upgrade path and query checks) and
 * config_origin_allowed() (server/config.c).
 *
 * Input: "<path>[SEP<arg>]..." where SEP is a NUL byte or '&' (lws hands
 * herald URL-decoded "k=v" strings, which never hold a NUL). At most 40
 * arguments, each an exact-size heap string. Then:
 *   - handshake_check(path, args): the status is 0, 400 or 404 with a
 *     reason exactly when refused; when accepted the client_id is the path
 *     after "/ws/" and valid, and handshake_foreach_channel() hands out
 *     1..64 subscribable names that lie inside the last "channels=" arg;
 *   - config_origin_allowed() with the first argument as the allowlist and
 *     the path as the Origin, and with a fixed allowlist, both checked
 *     against a plain reimplementation (exact match of a comma item).
 */
#include "config.h"
#include "handshake.h"
#include "names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 40

#include "fuzz_assert.h"

struct seen {
	const char *lo, *hi; /* the channels= value the names must lie in */
	int n;
};

static void on_channel(const char *channel, size_t len, void *arg)
{
	struct seen *s = arg;

	FUZZ_ASSERT(len > 0);
	FUZZ_ASSERT(channel >= s->lo && channel + len <= s->hi);
	FUZZ_ASSERT(names_subscribable(channel, len));
	FUZZ_ASSERT(!memchr(channel, ',', len));
	s->n++;
}

static int reference_origin(const char *allow, const char *origin, size_t len)
{
	size_t alen = strlen(allow), start = 0;

	for (size_t i = 0; i <= alen; i++)
		if (i == alen || allow[i] == ',') {
			if (i - start == len && !memcmp(allow + start, origin, len))
				return 1;
			start = i + 1;
		}
	return 0;
}

static void check_origin(const char *allow, const char *origin, size_t len)
{
	int got = config_origin_allowed(allow, origin, len);
	int want = reference_origin(allow, origin, len);

	/* an empty origin may or may not match an empty item: only the
	 * non-empty case is compared exactly */
	if (len)
		FUZZ_ASSERT(got == want);
	else
		FUZZ_ASSERT(got == 0 || got == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *pieces[MAX_ARGS + 1];
	const char *args[MAX_ARGS];
	const char *in = (const char *)data, *end = in + size, *p = in;
	struct handshake_result res;
	size_t nargs = 0, npieces = 0;
	int status;

	while (npieces < MAX_ARGS + 1) {
		const char *q = p;
		size_t n;

		while (q < end && *q != '\0' && *q != '&')
			q++;
		n = (size_t)(q - p);
		pieces[npieces] = malloc(n + 1);
		if (!pieces[npieces])
			goto out;
		memcpy(pieces[npieces], p, n);
		pieces[npieces][n] = '\0';
		npieces++;
		if (q >= end)
			break;
		p = q + 1;
	}
	for (size_t i = 1; i < npieces; i++)
		args[nargs++] = pieces[i];

	status = handshake_check(pieces[0], args, nargs, &res);
	FUZZ_ASSERT(status == res.status);
	FUZZ_ASSERT(status == 0 || status == 400 || status == 404);
	FUZZ_ASSERT((status == 0) == (res.error == NULL));
	if (status == 0) {
		const char *last = NULL;
		struct seen s = { 0 };

		FUZZ_ASSERT(!strncmp(pieces[0], "/ws/", 4));
		FUZZ_ASSERT(!strcmp(res.client_id, pieces[0] + 4));
		FUZZ_ASSERT(names_valid_client_id(res.client_id,
						  strlen(res.client_id)));
		for (size_t i = 0; i < nargs; i++)
			if (!strncmp(args[i], "channels=", 9))
				last = args[i];
		if (last) {
			s.lo = last + 9;
			s.hi = last + strlen(last);
		}
		handshake_foreach_channel(args, nargs, on_channel, &s);
		FUZZ_ASSERT(s.n <= HANDSHAKE_MAX_CHANNELS);
		FUZZ_ASSERT(last || s.n == 0);
	} else {
		FUZZ_ASSERT(res.error && res.error[0]);
		FUZZ_ASSERT(res.client_id[0] == '\0' || status == 400);
	}

	/* Origin checks: the path piece as the Origin header */
	check_origin("https://a.example,https://b.example:8443,"
		     "http://localhost:3000",
		     pieces[0], strlen(pieces[0]));
	if (nargs)
		check_origin(args[0], pieces[0], strlen(pieces[0]));
	if (nargs >= 2)
		check_origin(args[0], args[1], strlen(args[1]));
	FUZZ_ASSERT(!config_origin_allowed(NULL, pieces[0], strlen(pieces[0])));

out:
	for (size_t i = 0; i < npieces; i++)
		free(pieces[i]);
	return 0;
}
