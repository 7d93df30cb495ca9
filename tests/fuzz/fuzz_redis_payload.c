/*
 * fuzz_redis_payload — what comes back from Redis: router_redis_message()
 * (server/router.c) with a channel and payload from the input, and
 * message_payload_value() (server/message.c).
 *
 * Input: "<channel>\n<payload>" (the channel is what follows the prefix,
 * e.g. "news", "broadcast", "client:alice", "$channel:news",
 * "$client:bob", "$broadcast", "$keepalive:x"); without a newline the
 * whole input is a payload on "news". Both go in as exact-size
 * unterminated heap copies, like hiredis's reply strings.
 *
 * The hub has four sessions: alice (news, room.1, $sys), bob (news), a
 * second alice (nothing) and carol (room.1). One Redis message gives each
 * session at most one frame; when anything is delivered, exactly the
 * sessions the channel names get one (all-or-nothing), and each frame is
 * a notification, message or broadcast whose "channel" is the one
 * addressed. max-message-size is 2048 so the size limit is reachable.
 * Then the same payload and channel through router_publish() when the
 * channel is one POST /api/publish would accept.
 */
#include "fuzz_world.h"
#include "message.h"
#include "names.h"

#include <stdint.h>

#define MAX_MESSAGE 2048

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	return 0;
}

/* Pops s's frames: returns how many there were; checks their type and,
 * when want_channel is set, their "channel". */
static int take_frames(struct fuzz_world *fw, struct hub_session *s,
		       const char *want_channel)
{
	struct frame *f;
	int n = 0;

	while ((f = frame_queue_peek(&s->queue))) {
		json_t *v, *type, *ch;

		fuzz_check_frame(f);
		v = json_loadb((const char *)frame_payload(f), f->len,
			       JSON_ALLOW_NUL, NULL);
		if (v) { /* NULL only past jansson's depth limit */
			type = json_object_get(v, "type");
			FUZZ_ASSERT(!strcmp(json_string_value(type),
					    "notification") ||
				    !strcmp(json_string_value(type), "message") ||
				    !strcmp(json_string_value(type), "broadcast"));
			ch = json_object_get(v, "channel");
			if (ch && want_channel)
				FUZZ_ASSERT(!strcmp(json_string_value(ch),
						    want_channel));
			json_decref(v);
		}
		frame_queue_pop(&s->queue);
		n++;
	}
	(void)fw;
	return n;
}

/* Which of the four sessions a message on channel may reach, as a bit set
 * (bit i: fw->s[i]); *shown gets the "channel" its frames must carry
 * (NULL: no check). */
static unsigned recipients(const char *ch, size_t len, const char **shown,
			   char *buf)
{
	static const struct {
		const char *channel;
		unsigned who;
	} subs[] = { { "news", 0x3 }, { "room.1", 0x9 }, { "$sys", 0x1 } };
	const char *name = ch;

	*shown = NULL;
	memcpy(buf, ch, len);
	buf[len] = '\0';
	if (!strcmp(buf, "broadcast") || !strcmp(buf, "$broadcast"))
		return 0xf;
	if (!strcmp(buf, "client:alice") || !strcmp(buf, "$client:alice")) {
		if (buf[0] != '$')
			*shown = buf;
		return 0x5;
	}
	if (!strcmp(buf, "client:bob") || !strcmp(buf, "$client:bob")) {
		if (buf[0] != '$')
			*shown = buf;
		return 0x2;
	}
	if (!strcmp(buf, "client:carol") || !strcmp(buf, "$client:carol")) {
		if (buf[0] != '$')
			*shown = buf;
		return 0x8;
	}
	if (!strncmp(buf, "$channel:", 9))
		name = buf + 9;
	else if (buf[0] == '$')
		return 0;
	else
		name = buf;
	*shown = name;
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(name, subs[i].channel))
			return subs[i].who;
	return 0;
}

static void check_payload_value(const char *payload, size_t len)
{
	json_t *v = message_payload_value(payload, len);
	json_t *j;
	char *text;

	if (!v)
		return; /* neither JSON nor UTF-8 */
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	FUZZ_ASSERT(text != NULL);
	free(text);
	j = json_loadb(payload, len,
		       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
		       NULL);
	if (j) {
		FUZZ_ASSERT(json_equal(j, v));
		json_decref(j);
	} else {
		FUZZ_ASSERT(json_is_string(v));
		FUZZ_ASSERT(json_string_length(v) == len);
		FUZZ_ASSERT(!len || !memcmp(json_string_value(v), payload, len));
	}
	json_decref(v);
}

/* What POST /api/publish accepts as a channel (protocols/http_api.c). */
static int publishable(const char *name)
{
	if (!strcmp(name, "broadcast"))
		return 1;
	if (!strncmp(name, "client:", 7))
		return names_valid_client_id(name + 7, strlen(name + 7));
	return names_valid_channel(name, strlen(name));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *nl = memchr(in, '\n', size);
	const char *shown;
	size_t clen = nl ? (size_t)(nl - in) : 4;
	size_t plen = nl ? size - clen - 1 : size;
	char *channel = malloc(clen ? clen : 1);
	char *payload = malloc(plen ? plen : 1);
	char *name = malloc(clen + 1);
	struct route_target target;
	struct fuzz_world fw;
	unsigned who, got = 0;
	int n;

	if (!channel || !payload || !name)
		goto done;
	memcpy(channel, nl ? in : "news", clen);
	memcpy(payload, nl ? nl + 1 : in, plen);

	check_payload_value(payload, plen);

	if (world_init(&fw, MAX_MESSAGE, 64 * 1024))
		goto done;
	if (!world_open(&fw, "alice", NULL) || !world_open(&fw, "bob", NULL) ||
	    !world_open(&fw, "alice", NULL) || !world_open(&fw, "carol", NULL))
		goto out;
	FUZZ_ASSERT(!hub_subscribe(fw.w.hub, &fw.s[0], "news"));
	FUZZ_ASSERT(!hub_subscribe(fw.w.hub, &fw.s[0], "room.1"));
	FUZZ_ASSERT(!hub_subscribe(fw.w.hub, &fw.s[0], "$sys"));
	FUZZ_ASSERT(!hub_subscribe(fw.w.hub, &fw.s[1], "news"));
	FUZZ_ASSERT(!hub_subscribe(fw.w.hub, &fw.s[3], "room.1"));

	router_redis_message(&fw.w, channel, clen, payload, plen);
	who = recipients(channel, clen, &shown, name);
	for (int i = 0; i < fw.nsessions; i++) {
		n = take_frames(&fw, &fw.s[i], shown);
		FUZZ_ASSERT(n <= 1);
		FUZZ_ASSERT(!n || (who & (1u << i)));
		got |= (unsigned)n << i;
	}
	FUZZ_ASSERT(!got || got == who);
	if (plen > MAX_MESSAGE)
		FUZZ_ASSERT(!got);

	/* the same as an HTTP publish */
	/* route.c's parser agrees with this file's reference rules */
	FUZZ_ASSERT(!route_parse(name, strlen(name), &target) ==
		    publishable(name));
	if (publishable(name) && !memchr(channel, '\0', clen)) {
		json_t *v = message_payload_value(payload, plen);

		if (v) {
			router_publish(&fw.w, &target, v, NULL);
			json_decref(v);
		}
		got = 0;
		for (int i = 0; i < fw.nsessions; i++) {
			n = take_frames(&fw, &fw.s[i], shown);
			FUZZ_ASSERT(n <= 1);
			got |= (unsigned)n << i;
		}
		FUZZ_ASSERT(!got || got == who);
	}
out:
	world_destroy(&fw);
done:
	free(name);
	free(channel);
	free(payload);
	return 0;
}
