/*
 * Unit tests for server/message.c: parsing client messages (docs/protocol.md
 * "Messages" and "Errors") and the exact bytes of every frame herald sends.
 *
 * Inputs are handed to message_parse() in a heap copy of exactly len bytes
 * with no terminator, so under ASan a read past the message fails the test.
 */
#include "check.h"
#include "message.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>

/* message_parse() over an unterminated heap copy of s. */
static void parse_n(const char *s, size_t len, struct client_msg *m)
{
	char *copy = malloc(len ? len : 1);

	memcpy(copy, s, len);
	message_parse(copy, len, m);
	free(copy);
}

static void parse(const char *s, struct client_msg *m)
{
	parse_n(s, strlen(s), m);
}

/* The message parses as type t with no error. */
#define CHECK_PARSES_AS(json, t)                          \
	do {                                              \
		struct client_msg m_;                     \
		parse((json), &m_);                       \
		CHECK_INT_EQ(m_.type, (t));               \
		CHECK(m_.error_code == NULL);             \
		message_release(&m_);                     \
	} while (0)

/* The message is refused with error code `code` and some message text. */
#define CHECK_INVALID(json, code)                                   \
	do {                                                        \
		struct client_msg m_;                               \
		parse((json), &m_);                                 \
		CHECK_INT_EQ(m_.type, MSG_INVALID);                 \
		CHECK_STR_EQ(m_.error_code, (code));                \
		CHECK(m_.error_message && m_.error_message[0]);     \
		message_release(&m_);                               \
	} while (0)

/* The frame exists, is a text frame with one reference, holds exactly want;
 * then it is released. */
#define CHECK_FRAME(expr, want)                                           \
	do {                                                              \
		struct frame *f_ = (expr);                                \
		CHECK(f_ != NULL);                                        \
		if (f_) {                                                 \
			CHECK_INT_EQ(f_->refs, 1);                        \
			CHECK_INT_EQ(f_->binary, 0);                      \
			CHECK_MEM_EQ(frame_payload(f_), f_->len, (want)); \
		}                                                         \
		frame_unref(f_);                                          \
	} while (0)

/* A JSON value from text (test input, known good). */
static json_t *J(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	CHECK(v != NULL);
	return v;
}

/* ---- parsing: what is echoed as text ---- */

static void test_plain_text_is_echoed(void)
{
	struct client_msg m;

	parse("hello", &m);
	CHECK_INT_EQ(m.type, MSG_TEXT_ECHO);
	CHECK(m.root == NULL);
	CHECK(m.id == NULL);
	CHECK(m.data == NULL);
	CHECK(m.target == NULL);
	CHECK(m.error_code == NULL);
	message_release(&m);

	CHECK_PARSES_AS("", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("   \t\r\n", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("type: echo", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("x{\"type\":\"ping\"}", MSG_TEXT_ECHO);
	/* vertical tab is not JSON whitespace */
	CHECK_PARSES_AS("\v{\"type\":\"ping\"}", MSG_TEXT_ECHO);
}

static void test_whitespace_before_json(void)
{
	struct client_msg m;

	parse(" \t\r\n{\"type\":\"ping\"}", &m);
	CHECK_INT_EQ(m.type, MSG_PING);
	CHECK(m.root != NULL);
	message_release(&m);
	CHECK(m.root == NULL);

	CHECK_PARSES_AS("{\"type\":\"ping\"} \n", MSG_PING);
}

static void test_json_that_is_not_an_object_is_echoed(void)
{
	struct client_msg m;

	parse("[1,2]", &m);
	CHECK_INT_EQ(m.type, MSG_TEXT_ECHO);
	CHECK(m.root == NULL);
	message_release(&m);

	CHECK_PARSES_AS("\"type\"", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("42", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("null", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("true", MSG_TEXT_ECHO);
	CHECK_PARSES_AS(" [{\"type\":\"ping\"}]", MSG_TEXT_ECHO);
}

static void test_broken_json_is_echoed(void)
{
	struct client_msg m;

	parse("{not json", &m);
	CHECK_INT_EQ(m.type, MSG_TEXT_ECHO);
	CHECK(m.root == NULL);
	message_release(&m);

	CHECK_PARSES_AS("{", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":\"ping\"", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":\"ping\"} x", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":\"ping\"}{}", MSG_TEXT_ECHO);
	/* invalid UTF-8 is not JSON (lws refuses it before us anyway) */
	CHECK_PARSES_AS("{\"type\":\"echo\",\"data\":\"\xff\"}", MSG_TEXT_ECHO);
	/* only len bytes count: the object is cut short */
	parse_n("{\"type\":\"ping\"}", 10, &m);
	CHECK_INT_EQ(m.type, MSG_TEXT_ECHO);
	message_release(&m);
}

static void test_objects_without_string_type_are_echoed(void)
{
	struct client_msg m;

	parse("{\"data\":1,\"id\":2}", &m);
	CHECK_INT_EQ(m.type, MSG_TEXT_ECHO);
	CHECK(m.error_code == NULL);
	message_release(&m); /* root was kept: released without a leak */

	CHECK_PARSES_AS("{}", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":5}", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":null}", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":true}", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":[\"echo\"]}", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"type\":{\"type\":\"echo\"}}", MSG_TEXT_ECHO);
	CHECK_PARSES_AS("{\"Type\":\"echo\"}", MSG_TEXT_ECHO);
}

/* ---- parsing: every known type ---- */

static void test_echo(void)
{
	struct client_msg m;

	parse("{\"type\":\"echo\",\"data\":{\"a\":1},\"id\":7}", &m);
	CHECK_INT_EQ(m.type, MSG_ECHO);
	CHECK(json_is_object(m.data));
	CHECK_INT_EQ(json_integer_value(json_object_get(m.data, "a")), 1);
	CHECK(json_is_integer(m.id));
	CHECK_INT_EQ(json_integer_value(m.id), 7);
	CHECK(m.target == NULL);
	CHECK(m.error_code == NULL);
	message_release(&m);

	parse("{\"type\":\"echo\"}", &m); /* data is optional */
	CHECK_INT_EQ(m.type, MSG_ECHO);
	CHECK(m.data == NULL);
	CHECK(m.id == NULL);
	message_release(&m);
}

static void test_broadcast(void)
{
	struct client_msg m;

	parse("{\"type\":\"broadcast\",\"data\":\"hi\"}", &m);
	CHECK_INT_EQ(m.type, MSG_BROADCAST);
	CHECK_STR_EQ(json_string_value(m.data), "hi");
	CHECK(m.target == NULL);
	message_release(&m);
}

static void test_send(void)
{
	struct client_msg m;

	parse("{\"type\":\"send\",\"to\":\"bob\",\"data\":[1],\"id\":\"s1\"}",
	      &m);
	CHECK_INT_EQ(m.type, MSG_SEND);
	CHECK_STR_EQ(m.target, "bob");
	CHECK_INT_EQ(m.target_len, 3);
	CHECK(json_is_array(m.data));
	CHECK_STR_EQ(json_string_value(m.id), "s1");
	message_release(&m);

	CHECK_PARSES_AS("{\"type\":\"send\",\"to\":\"user_1.eu:w@h-2\"}", MSG_SEND);
}

static void test_subscribe_unsubscribe_publish(void)
{
	struct client_msg m;

	parse("{\"type\":\"subscribe\",\"channel\":\"news\"}", &m);
	CHECK_INT_EQ(m.type, MSG_SUBSCRIBE);
	CHECK_STR_EQ(m.target, "news");
	CHECK_INT_EQ(m.target_len, 4);
	CHECK(m.since == NULL);
	message_release(&m);

	parse("{\"type\":\"unsubscribe\",\"channel\":\"news\",\"id\":1}", &m);
	CHECK_INT_EQ(m.type, MSG_UNSUBSCRIBE);
	CHECK_STR_EQ(m.target, "news");
	CHECK_INT_EQ(json_integer_value(m.id), 1);
	message_release(&m);

	parse("{\"type\":\"publish\",\"channel\":\"room:1\",\"data\":{\"x\":[1,2]}}",
	      &m);
	CHECK_INT_EQ(m.type, MSG_PUBLISH);
	CHECK_STR_EQ(m.target, "room:1");
	CHECK_INT_EQ(m.target_len, 6);
	CHECK(json_is_object(m.data));
	message_release(&m);

	parse("{\"type\":\"ping\",\"id\":\"p\"}", &m);
	CHECK_INT_EQ(m.type, MSG_PING);
	CHECK(m.target == NULL);
	CHECK_STR_EQ(json_string_value(m.id), "p");
	message_release(&m);
}

static void test_subscribe_since(void)
{
	struct client_msg m;

	parse("{\"type\":\"subscribe\",\"channel\":\"news\","
	      "\"since\":\"1700000000000-3\"}",
	      &m);
	CHECK_INT_EQ(m.type, MSG_SUBSCRIBE);
	CHECK_STR_EQ(m.since, "1700000000000-3");
	message_release(&m);

	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"news\",\"since\":3}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"news\","
		      "\"since\":null}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"news\","
		      "\"since\":[\"1-1\"]}",
		      "bad_request");
	/* "since" belongs to subscribe only: elsewhere it is not looked at */
	parse("{\"type\":\"unsubscribe\",\"channel\":\"news\",\"since\":3}", &m);
	CHECK_INT_EQ(m.type, MSG_UNSUBSCRIBE);
	CHECK(m.since == NULL);
	message_release(&m);
}

static void test_history_request(void)
{
	struct client_msg m;

	parse("{\"type\":\"history\",\"channel\":\"users\",\"limit\":20,"
	      "\"id\":4}",
	      &m);
	CHECK_INT_EQ(m.type, MSG_HISTORY);
	CHECK_STR_EQ(m.target, "users");
	CHECK_INT_EQ(m.limit, 20);
	CHECK_INT_EQ(json_integer_value(m.id), 4);
	message_release(&m);
	parse("{\"type\":\"history\",\"channel\":\"users\"}", &m);
	CHECK_INT_EQ(m.type, MSG_HISTORY);
	CHECK_INT_EQ(m.limit, 0); /* absent: herald's maximum */
	message_release(&m);

	CHECK_INVALID("{\"type\":\"history\",\"limit\":1}", "bad_request");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":7}", "bad_request");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":\"$sys\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":\"a b\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":\"c\",\"limit\":0}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":\"c\",\"limit\":-3}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":\"c\",\"limit\":2.5}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"history\",\"channel\":\"c\",\"limit\":\"2\"}",
		      "bad_request");
}

/* ---- parsing: refusals ---- */

static void test_missing_or_wrong_typed_fields(void)
{
	static const char *const kinds[] = { "subscribe", "unsubscribe",
					     "publish" };
	static const char *const bad_values[] = { "", ",\"channel\":5",
						   ",\"channel\":null",
						   ",\"channel\":true",
						   ",\"channel\":[\"a\"]",
						   ",\"channel\":{}" };
	char buf[200];

	CHECK_INVALID("{\"type\":\"send\"}", "bad_request");
	CHECK_INVALID("{\"type\":\"send\",\"to\":5}", "bad_request");
	CHECK_INVALID("{\"type\":\"send\",\"to\":null}", "bad_request");
	CHECK_INVALID("{\"type\":\"send\",\"to\":[\"bob\"]}", "bad_request");
	CHECK_INVALID("{\"type\":\"send\",\"channel\":\"bob\"}", "bad_request");

	for (size_t k = 0; k < 3; k++)
		for (size_t v = 0; v < sizeof(bad_values) / sizeof(*bad_values);
		     v++) {
			snprintf(buf, sizeof(buf), "{\"type\":\"%s\"%s}",
				 kinds[k], bad_values[v]);
			CHECK_INVALID(buf, "bad_request");
		}
	CHECK_INVALID("{\"type\":\"publish\",\"to\":\"news\"}", "bad_request");
}

static void test_an_error_keeps_the_id(void)
{
	struct client_msg m;

	parse("{\"type\":\"send\",\"id\":9}", &m);
	CHECK_INT_EQ(m.type, MSG_INVALID);
	CHECK_STR_EQ(m.error_code, "bad_request");
	CHECK_INT_EQ(json_integer_value(m.id), 9);
	CHECK(m.target == NULL);
	message_release(&m);
}

static void test_invalid_names(void)
{
	char buf[400], name[200];

	CHECK_INVALID("{\"type\":\"send\",\"to\":\"\"}", "bad_client_id");
	CHECK_INVALID("{\"type\":\"send\",\"to\":\"a b\"}", "bad_client_id");
	CHECK_INVALID("{\"type\":\"send\",\"to\":\"a/b\"}", "bad_client_id");
	CHECK_INVALID("{\"type\":\"send\",\"to\":\"$sys\"}", "bad_client_id");
	CHECK_INVALID("{\"type\":\"send\",\"to\":\"caf\xc3\xa9\"}",
		      "bad_client_id");
	memset(name, 'x', 65);
	name[65] = '\0';
	snprintf(buf, sizeof(buf), "{\"type\":\"send\",\"to\":\"%s\"}", name);
	CHECK_INVALID(buf, "bad_client_id");
	name[64] = '\0';
	snprintf(buf, sizeof(buf), "{\"type\":\"send\",\"to\":\"%s\"}", name);
	CHECK_PARSES_AS(buf, MSG_SEND);

	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"\"}", "bad_channel");
	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"a b\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"unsubscribe\",\"channel\":\"a,b\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"publish\",\"channel\":\"a/b\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"publish\",\"channel\":\"\"}", "bad_channel");
	memset(name, 'c', 129);
	name[129] = '\0';
	snprintf(buf, sizeof(buf), "{\"type\":\"publish\",\"channel\":\"%s\"}",
		 name);
	CHECK_INVALID(buf, "bad_channel");
	name[128] = '\0';
	snprintf(buf, sizeof(buf), "{\"type\":\"publish\",\"channel\":\"%s\"}",
		 name);
	CHECK_PARSES_AS(buf, MSG_PUBLISH);
}

static void test_reserved_channels(void)
{
	struct client_msg m;

	CHECK_INVALID("{\"type\":\"publish\",\"channel\":\"$x\"}", "forbidden");
	CHECK_INVALID("{\"type\":\"publish\",\"channel\":\"$sys\"}", "forbidden");
	CHECK_INVALID("{\"type\":\"publish\",\"channel\":\"$\"}", "forbidden");

	parse("{\"type\":\"subscribe\",\"channel\":\"$sys\"}", &m);
	CHECK_INT_EQ(m.type, MSG_SUBSCRIBE);
	CHECK_STR_EQ(m.target, "$sys");
	CHECK_INT_EQ(m.target_len, 4);
	message_release(&m);
	CHECK_PARSES_AS("{\"type\":\"unsubscribe\",\"channel\":\"$sys\"}",
			MSG_UNSUBSCRIBE);

	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"$x\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"subscribe\",\"channel\":\"$sys2\"}",
		      "bad_channel");
	CHECK_INVALID("{\"type\":\"unsubscribe\",\"channel\":\"$x\"}",
		      "bad_channel");
}

static void test_unknown_type(void)
{
	struct client_msg m;

	parse("{\"type\":\"nope\",\"id\":3}", &m);
	CHECK_INT_EQ(m.type, MSG_INVALID);
	CHECK_STR_EQ(m.error_code, "unknown_type");
	CHECK_INT_EQ(json_integer_value(m.id), 3);
	message_release(&m);

	CHECK_INVALID("{\"type\":\"\"}", "unknown_type");
	CHECK_INVALID("{\"type\":\"ECHO\"}", "unknown_type");
	CHECK_INVALID("{\"type\":\"echo \"}", "unknown_type");
	CHECK_INVALID("{\"type\":\"subscribed\"}", "unknown_type");
	CHECK_INVALID("{\"type\":\"pong\"}", "unknown_type");
}

static void test_duplicate_keys(void)
{
	struct client_msg m;

	parse("{\"type\":\"echo\",\"type\":\"ping\"}", &m);
	CHECK_INT_EQ(m.type, MSG_INVALID);
	CHECK_STR_EQ(m.error_code, "bad_request");
	CHECK(m.root == NULL);
	CHECK(m.id == NULL);
	message_release(&m);

	CHECK_INVALID("{\"type\":\"send\",\"to\":\"a\",\"to\":\"b\"}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"echo\",\"data\":{\"a\":1,\"a\":2}}",
		      "bad_request");
	/* the module's choice: a duplicate key is refused even in an object
	 * without a "type" (it cannot know which "type" was meant) */
	CHECK_INVALID("{\"a\":1,\"a\":2}", "bad_request");
}

static void test_id_of_any_json_type(void)
{
	static const struct {
		const char *text;
		json_type type;
	} ids[] = {
		{ "7", JSON_INTEGER },	{ "-1.5", JSON_REAL },
		{ "\"abc\"", JSON_STRING }, { "null", JSON_NULL },
		{ "true", JSON_TRUE },	{ "false", JSON_FALSE },
		{ "[1,\"x\"]", JSON_ARRAY }, { "{\"k\":{}}", JSON_OBJECT },
	};
	char buf[200];

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct client_msg m;
		json_t *want = J(ids[i].text);

		snprintf(buf, sizeof(buf), "{\"type\":\"ping\",\"id\":%s}",
			 ids[i].text);
		parse(buf, &m);
		CHECK_INT_EQ(m.type, MSG_PING);
		CHECK(m.id != NULL);
		if (m.id) {
			CHECK_INT_EQ(json_typeof(m.id), ids[i].type);
			CHECK(json_equal(m.id, want));
		}
		message_release(&m);
		json_decref(want);
	}
}

/*
 * A string holding U+0000 ("\u0000") is valid JSON, so such a message is
 * still a JSON object with a string "type". A channel or "to" holding one
 * must be refused as bad_request (message_string_field() checks for the NUL
 * byte for exactly this; names never contain one), a type holding one is
 * no known type, and a NUL inside "data" is just data.
 */
static void test_nul_in_strings(void)
{
	struct client_msg m;

	parse("{\"type\":\"subscribe\",\"channel\":\"a\\u0000b\",\"id\":1}", &m);
	CHECK_INT_EQ(m.type, MSG_INVALID);
	CHECK_STR_EQ(m.error_code, "bad_request");
	CHECK(m.target == NULL);
	CHECK_INT_EQ(json_integer_value(m.id), 1);
	message_release(&m);

	CHECK_INVALID("{\"type\":\"publish\",\"channel\":\"news\\u0000\"}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"send\",\"to\":\"bob\\u0000x\"}",
		      "bad_request");
	CHECK_INVALID("{\"type\":\"echo\\u0000x\"}", "unknown_type");
	CHECK_PARSES_AS("{\"type\":\"echo\",\"data\":\"a\\u0000b\"}", MSG_ECHO);
}

/* ---- encoders ---- */

static void test_frame_text_echo(void)
{
	struct frame *f;

	CHECK_FRAME(message_frame_text_echo("hi", 2), "Echo: hi");
	CHECK_FRAME(message_frame_text_echo("", 0), "Echo: ");
	CHECK_FRAME(message_frame_text_echo("hello world", 5), "Echo: hello");
	CHECK_FRAME(message_frame_text_echo("{\"type\":5}", 10),
		    "Echo: {\"type\":5}");

	f = message_frame_text_echo("a\0b", 3); /* bytes, not a C string */
	CHECK(f != NULL);
	if (f) {
		CHECK_INT_EQ(f->len, 9);
		CHECK(!memcmp(frame_payload(f), "Echo: a\0b", 9));
	}
	frame_unref(f);
}

static void test_frame_echo(void)
{
	json_t *data = J("{\"a\":1}"), *id = json_integer(7);

	CHECK_FRAME(message_frame_echo(data, id),
		    "{\"type\":\"echo\",\"data\":{\"a\":1},\"id\":7}");
	/* the encoder borrows: the caller's references are untouched */
	CHECK_INT_EQ(data->refcount, 1);
	CHECK_INT_EQ(id->refcount, 1);
	json_decref(data);
	json_decref(id);

	CHECK_FRAME(message_frame_echo(NULL, NULL),
		    "{\"type\":\"echo\",\"data\":null}");

	data = json_string("x \"q\"\n\xc3\xa9");
	id = json_string("abc");
	CHECK_FRAME(message_frame_echo(data, id),
		    "{\"type\":\"echo\",\"data\":\"x \\\"q\\\"\\n\xc3\xa9\","
		    "\"id\":\"abc\"}");
	json_decref(data);
	json_decref(id);

	id = json_null(); /* an id of null is still an id */
	CHECK_FRAME(message_frame_echo(NULL, id),
		    "{\"type\":\"echo\",\"data\":null,\"id\":null}");
	json_decref(id);
}

static void test_frame_error(void)
{
	json_t *id = json_integer(3);

	CHECK_FRAME(message_frame_error("bad_request", "\"to\" must be a string",
					NULL),
		    "{\"type\":\"error\",\"code\":\"bad_request\","
		    "\"message\":\"\\\"to\\\" must be a string\"}");
	CHECK_FRAME(message_frame_error("limit", "too many subscriptions", id),
		    "{\"type\":\"error\",\"code\":\"limit\","
		    "\"message\":\"too many subscriptions\",\"id\":3}");
	CHECK_INT_EQ(id->refcount, 1);
	json_decref(id);

	id = J("{\"n\":[1]}");
	CHECK_FRAME(message_frame_error("forbidden", "no", id),
		    "{\"type\":\"error\",\"code\":\"forbidden\","
		    "\"message\":\"no\",\"id\":{\"n\":[1]}}");
	json_decref(id);
}

static void test_frame_reply(void)
{
	json_t *id = json_integer(7), *sid = json_string("u");

	CHECK_FRAME(message_frame_reply("subscribed", "news", NULL),
		    "{\"type\":\"subscribed\",\"channel\":\"news\"}");
	CHECK_FRAME(message_frame_reply("unsubscribed", "$sys", sid),
		    "{\"type\":\"unsubscribed\",\"channel\":\"$sys\","
		    "\"id\":\"u\"}");
	CHECK_FRAME(message_frame_reply("pong", NULL, NULL), "{\"type\":\"pong\"}");
	CHECK_FRAME(message_frame_reply("ack", NULL, id),
		    "{\"type\":\"ack\",\"id\":7}");
	CHECK_INT_EQ(id->refcount, 1);
	CHECK_INT_EQ(sid->refcount, 1);
	json_decref(id);
	json_decref(sid);
}

static void test_frame_welcome(void)
{
	CHECK_FRAME(message_frame_welcome("alice", "1-7", "node-a", 25),
		    "{\"type\":\"welcome\",\"client_id\":\"alice\","
		    "\"session\":\"1-7\",\"node\":\"node-a\",\"heartbeat\":25}");
	/* the longest names fit the fast path's buffer */
	{
		char id[NAMES_CLIENT_ID_MAX + 1], want[512];

		memset(id, 'i', NAMES_CLIENT_ID_MAX);
		id[NAMES_CLIENT_ID_MAX] = '\0';
		snprintf(want, sizeof(want), "{\"type\":\"welcome\","
			 "\"client_id\":\"%s\",\"session\":\"%s\","
			 "\"node\":\"%s\",\"heartbeat\":%d}", id, id, id,
			 -2147483647 - 1);
		CHECK_FRAME(message_frame_welcome(id, id, id,
						  -2147483647 - 1), want);
	}
	/* anything outside names.h is escaped by jansson */
	CHECK_FRAME(message_frame_welcome("a\"b", "1-7", "n\\", 0),
		    "{\"type\":\"welcome\",\"client_id\":\"a\\\"b\","
		    "\"session\":\"1-7\",\"node\":\"n\\\\\",\"heartbeat\":0}");
}

static void test_frame_broadcast_and_direct(void)
{
	json_t *data = J("{\"x\":1}");

	CHECK_FRAME(message_frame_broadcast("alice", data),
		    "{\"type\":\"broadcast\",\"from\":\"alice\","
		    "\"data\":{\"x\":1}}");
	CHECK_FRAME(message_frame_broadcast("alice", NULL),
		    "{\"type\":\"broadcast\",\"from\":\"alice\",\"data\":null}");
	CHECK_FRAME(message_frame_direct("bob", data),
		    "{\"type\":\"message\",\"from\":\"bob\",\"data\":{\"x\":1}}");
	CHECK_FRAME(message_frame_direct("bob", NULL),
		    "{\"type\":\"message\",\"from\":\"bob\",\"data\":null}");
	CHECK_INT_EQ(data->refcount, 1);
	json_decref(data);
}

static void test_frame_channel_and_notification(void)
{
	json_t *data = J("[1,2]");

	CHECK_FRAME(message_frame_channel("news", "alice", data,
					  "1700000000000-1"),
		    "{\"type\":\"message\",\"channel\":\"news\","
		    "\"from\":\"alice\",\"data\":[1,2],"
		    "\"seq\":\"1700000000000-1\"}");
	CHECK_FRAME(message_frame_channel("news", "alice", NULL, "5-2"),
		    "{\"type\":\"message\",\"channel\":\"news\","
		    "\"from\":\"alice\",\"data\":null,\"seq\":\"5-2\"}");
	CHECK_FRAME(message_frame_notification("news", data, "5-3"),
		    "{\"type\":\"notification\",\"channel\":\"news\","
		    "\"data\":[1,2],\"seq\":\"5-3\"}");
	CHECK_FRAME(message_frame_notification("broadcast", data, NULL),
		    "{\"type\":\"notification\",\"channel\":\"broadcast\","
		    "\"data\":[1,2]}");
	CHECK_FRAME(message_frame_notification("client:bob", NULL, NULL),
		    "{\"type\":\"notification\",\"channel\":\"client:bob\","
		    "\"data\":null}");
	CHECK_INT_EQ(data->refcount, 1);
	json_decref(data);
}

static void test_frame_json(void)
{
	json_t *v;

	CHECK(message_frame_json(NULL) == NULL);
	v = json_integer(5);
	CHECK_FRAME(message_frame_json(v), "5");
	json_decref(v);
	v = json_string("x");
	CHECK_FRAME(message_frame_json(v), "\"x\"");
	json_decref(v);
	v = J("{\"b\": [1, {\"c\": null}], \"a\": \"\"}"); /* order is kept */
	CHECK_FRAME(message_frame_json(v), "{\"b\":[1,{\"c\":null}],\"a\":\"\"}");
	CHECK_INT_EQ(v->refcount, 1);
	json_decref(v);
}

/* ---- payloads from Redis / HTTP ---- */

/* message_payload_value() over an unterminated heap copy of len bytes. */
static json_t *payload_n(const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	json_t *v;

	memcpy(copy, s, len);
	v = message_payload_value(copy, len);
	free(copy);
	return v;
}

static json_t *payload(const char *s)
{
	return payload_n(s, strlen(s));
}

static void test_payload_value(void)
{
	json_t *v, *want;

	v = payload("{\"a\":1}");
	want = J("{\"a\":1}");
	CHECK(json_is_object(v) && json_equal(v, want));
	json_decref(v);
	json_decref(want);

	v = payload(" [1, 2] \n"); /* JSON with surrounding whitespace */
	CHECK(json_is_array(v));
	CHECK_INT_EQ(json_array_size(v), 2);
	json_decref(v);

	v = payload("42");
	CHECK(json_is_integer(v));
	CHECK_INT_EQ(json_integer_value(v), 42);
	json_decref(v);

	v = payload("\"quoted\"");
	CHECK_STR_EQ(json_string_value(v), "quoted");
	json_decref(v);

	v = payload("null");
	CHECK(v != NULL && json_is_null(v));
	json_decref(v);

	/* not JSON: the text itself, as a JSON string */
	v = payload("hello world");
	CHECK_STR_EQ(json_string_value(v), "hello world");
	json_decref(v);

	v = payload("{\"a\":");
	CHECK_STR_EQ(json_string_value(v), "{\"a\":");
	json_decref(v);

	v = payload("{\"a\":1,\"a\":2}"); /* duplicate keys: not taken as JSON */
	CHECK_STR_EQ(json_string_value(v), "{\"a\":1,\"a\":2}");
	json_decref(v);

	v = payload("");
	CHECK(json_is_string(v));
	CHECK_STR_EQ(json_string_value(v), "");
	json_decref(v);

	v = payload_n("123456", 3); /* only len bytes */
	CHECK_INT_EQ(json_integer_value(v), 123);
	json_decref(v);

	v = payload_n("a\0b", 3); /* a NUL byte is kept in the string */
	CHECK(json_is_string(v));
	CHECK_INT_EQ(json_string_length(v), 3);
	json_decref(v);

	/* Invalid UTF-8 is neither JSON nor a JSON string: the code returns
	 * NULL (json_stringn refuses it), which the header allows ("or
	 * NULL"); callers must treat it as a payload they cannot deliver. */
	CHECK(payload("\xff\xfe") == NULL);
	CHECK(payload("caf\xc3") == NULL);
}

int main(void)
{
	RUN(test_plain_text_is_echoed);
	RUN(test_whitespace_before_json);
	RUN(test_json_that_is_not_an_object_is_echoed);
	RUN(test_broken_json_is_echoed);
	RUN(test_objects_without_string_type_are_echoed);
	RUN(test_echo);
	RUN(test_broadcast);
	RUN(test_send);
	RUN(test_subscribe_unsubscribe_publish);
	RUN(test_subscribe_since);
	RUN(test_history_request);
	RUN(test_missing_or_wrong_typed_fields);
	RUN(test_an_error_keeps_the_id);
	RUN(test_invalid_names);
	RUN(test_reserved_channels);
	RUN(test_unknown_type);
	RUN(test_duplicate_keys);
	RUN(test_id_of_any_json_type);
	RUN(test_nul_in_strings);
	RUN(test_frame_text_echo);
	RUN(test_frame_echo);
	RUN(test_frame_error);
	RUN(test_frame_reply);
	RUN(test_frame_welcome);
	RUN(test_frame_broadcast_and_direct);
	RUN(test_frame_channel_and_notification);
	RUN(test_frame_json);
	RUN(test_payload_value);
	return check_exit_code();
}
