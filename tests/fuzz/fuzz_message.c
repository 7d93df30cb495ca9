/*
 * fuzz_message — client messages: server/message.c's parser and encoders,
 * and server/router.c's dispatcher over a real hub.
 *
 * Input: one WebSocket message (any bytes). It is
 *   1. parsed with message_parse(), the result checked for consistency, and
 *      every encoder a reply can go through run over what was parsed;
 *   2. handed to message_payload_value() as a Redis/HTTP payload would be;
 *   3. dispatched with router_client_text() from a session without a token
 *      grant and from one with a grant, and with router_client_binary();
 *   4. split at ASCII RS (0x1e, as in RFC 7464 JSON text sequences) into up
 *      to 64 messages sent in turn by three sessions (alice, bob with a
 *      grant, and a second alice; when the input ends in RS, alice2 holds
 *      255 subscriptions, one short of the limit), so a sequence like subscribe / publish / unsubscribe /
 *      send reaches the hub's subscription and delivery code.
 * Every queued frame must be "Echo: ..." or a JSON object with a known
 * "type" (fuzz_check_frame); at the end every session is closed and the hub
 * destroyed, leaving nothing allocated.
 */
#include "auth.h"
#include "fuzz_token.h"
#include "fuzz_world.h"
#include "message.h"
#include "names.h"

#include <stdint.h>

#define MAX_PIECES 64
#define RS 0x1e

/* bob's token grant: news, room.*, $sys (made once, never changed). */
static struct auth_grant *bob_grant;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tok[512];
	size_t n;

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	n = fuzz_make_token(FUZZ_SECRET, "{\"alg\":\"HS256\"}",
			    "{\"sub\":\"bob\",\"exp\":2000000000,"
			    "\"channels\":[\"news\",\"room.*\",\"$sys\"]}",
			    tok);
	if (auth_verify(FUZZ_SECRET, tok, n, "bob", 1700000000, &bob_grant) !=
		    AUTH_OK ||
	    !bob_grant)
		abort();
	return 0;
}

/* Checks an encoder's frame (which must exist) and drops it. */
static void take(struct frame *f)
{
	FUZZ_ASSERT(f != NULL);
	FUZZ_ASSERT(f->refs == 1);
	fuzz_check_frame(f);
	frame_unref(f);
}

/* What message_parse() promises about its result. */
static void check_parsed(const struct client_msg *m)
{
	switch (m->type) {
	case MSG_TEXT_ECHO:
		FUZZ_ASSERT(!m->error_code && !m->target);
		break;
	case MSG_INVALID:
		FUZZ_ASSERT(m->error_code && m->error_message);
		FUZZ_ASSERT(!strcmp(m->error_code, "bad_request") ||
			    !strcmp(m->error_code, "unknown_type") ||
			    !strcmp(m->error_code, "bad_channel") ||
			    !strcmp(m->error_code, "bad_client_id") ||
			    !strcmp(m->error_code, "forbidden"));
		break;
	case MSG_SEND:
		FUZZ_ASSERT(m->target && strlen(m->target) == m->target_len);
		FUZZ_ASSERT(names_valid_client_id(m->target, m->target_len));
		break;
	case MSG_SUBSCRIBE:
	case MSG_UNSUBSCRIBE:
		FUZZ_ASSERT(m->target && strlen(m->target) == m->target_len);
		FUZZ_ASSERT(names_subscribable(m->target, m->target_len));
		break;
	case MSG_PUBLISH:
		FUZZ_ASSERT(m->target && strlen(m->target) == m->target_len);
		FUZZ_ASSERT(names_valid_channel(m->target, m->target_len));
		break;
	case MSG_ECHO:
	case MSG_BROADCAST:
	case MSG_PING:
		FUZZ_ASSERT(!m->error_code);
		break;
	}
	if (m->type != MSG_TEXT_ECHO && m->type != MSG_INVALID)
		FUZZ_ASSERT(m->root && json_is_object(m->root));
}

static void parse_and_encode(const char *buf, size_t len)
{
	struct client_msg m;
	struct frame *f;
	json_t *v;

	message_parse(buf, len, &m);
	check_parsed(&m);

	f = message_frame_text_echo(buf, len);
	FUZZ_ASSERT(f && f->len == 6 + len && !f->binary);
	FUZZ_ASSERT(!memcmp(frame_payload(f) + 6, buf, len));
	frame_unref(f);
	if (m.error_code)
		take(message_frame_error(m.error_code, m.error_message, m.id));
	take(message_frame_error("limit", "too many subscriptions", m.id));
	take(message_frame_reply("pong", NULL, m.id));
	take(message_frame_reply("ack", NULL, m.id));
	take(message_frame_echo(m.data, m.id));
	take(message_frame_broadcast("alice", m.data));
	take(message_frame_direct("alice", m.data));
	if (m.target) {
		take(message_frame_reply("subscribed", m.target, m.id));
		take(message_frame_reply("unsubscribed", m.target, m.id));
		take(message_frame_channel(m.target, "alice", m.data,
					   "1700000000123-1"));
		take(message_frame_notification(m.target, m.data, NULL));
		take(message_frame_notification(m.target, m.data, "1-2"));
		take(message_frame_welcome(m.target, "1", "node", 30));
	}
	if (m.root) {
		f = message_frame_json(m.root);
		FUZZ_ASSERT(f != NULL);
		frame_unref(f);
	}
	message_release(&m);
	FUZZ_ASSERT(m.root == NULL);

	/* the same bytes as a Redis / HTTP payload */
	v = message_payload_value(buf, len);
	if (v) {
		take(message_frame_notification("news", v, NULL));
		take(message_frame_broadcast("alice", v));
		json_decref(v);
	}
}

static void dispatch(const char *buf, size_t len)
{
	struct fuzz_world fw;
	struct hub_session *alice, *bob, *alice2, *from[3];
	const char *p = buf, *end = buf + len;
	int pieces = 0;

	if (world_init(&fw, 64 * 1024, 1024))
		return;
	alice = world_open(&fw, "alice", NULL);
	bob = world_open(&fw, "bob", bob_grant);
	alice2 = world_open(&fw, "alice", NULL);
	if (!alice || !bob || !alice2)
		goto out;
	/* bob listens to news from the start, as with ?channels=news */
	FUZZ_ASSERT(router_subscribe(&fw.w, bob, "news", NULL) == 0);

	/* the whole input as one message */
	router_client_text(&fw.w, alice, buf, len);
	world_drain(&fw);
	router_client_text(&fw.w, bob, buf, len);
	world_drain(&fw);
	router_client_binary(&fw.w, alice, buf, len);
	if (!alice->close_code) {
		struct frame *f = frame_queue_peek(&alice->queue);

		/* the binary echo is byte for byte */
		FUZZ_ASSERT(f && f->binary && f->len == len);
		FUZZ_ASSERT(!len || !memcmp(frame_payload(f), buf, len));
	}
	world_drain(&fw);

	/* a sequence of messages; queues drained every eighth one so they
	 * can also grow past max_queue, 1 KiB (the slow-consumer path) */
	if (!memchr(buf, RS, len))
		goto out;
	from[0] = alice;
	from[1] = bob;
	from[2] = alice2;
	/* input ending in RS: alice2 is one subscription short of
	 * HUB_MAX_SUBSCRIPTIONS, so the sequence reaches the "limit" error
	 * (only then: 255 subscriptions cost as much as the rest) */
	for (int i = 0; buf[len - 1] == RS && i < HUB_MAX_SUBSCRIPTIONS - 1;
	     i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		FUZZ_ASSERT(router_subscribe(&fw.w, alice2, name, NULL) == 0);
	}
	while (p <= end && pieces < MAX_PIECES) {
		const char *rs = memchr(p, RS, (size_t)(end - p));
		size_t n = rs ? (size_t)(rs - p) : (size_t)(end - p);

		router_client_text(&fw.w, from[pieces % 3], p, n);
		if (++pieces % 8 == 0)
			world_drain(&fw);
		if (!rs)
			break;
		p = rs + 1;
	}
	FUZZ_ASSERT(hub_session_count(fw.w.hub) == 3);
	FUZZ_ASSERT(hub_client_count(fw.w.hub) == 2);
	world_drain(&fw);
out:
	world_destroy(&fw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: a read past the message is an ASan report */
	char *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	parse_and_encode(buf, size);
	dispatch(buf, size);
	free(buf);
	return 0;
}
