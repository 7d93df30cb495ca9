/*
 * message — see message.h.
 *
 * Plain text (anything not starting with '{' after whitespace) is echoed
 * without touching jansson: it is the common case of wscat users and the
 * echo benchmark. Encoders build the reply object in insertion order, so the
 * fields appear on the wire in the order docs/protocol.md shows them.
 */
#include "message.h"
#include "history.h"
#include "names.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	enum msg_type type;
} msg_types[] = {
	{ "echo", MSG_ECHO },		{ "broadcast", MSG_BROADCAST },
	{ "send", MSG_SEND },		{ "subscribe", MSG_SUBSCRIBE },
	{ "unsubscribe", MSG_UNSUBSCRIBE }, { "publish", MSG_PUBLISH },
	{ "ping", MSG_PING },		{ "history", MSG_HISTORY },
};

static int message_invalid(struct client_msg *m, const char *code,
			   const char *text)
{
	m->type = MSG_INVALID;
	m->error_code = code;
	m->error_message = text;
	return -1;
}

/* Reads the string field key into *out; -1 (bad_request) when absent or not
 * a string, or when it holds a NUL byte. */
static int message_string_field(struct client_msg *m, const char *key,
				const char **out, size_t *len)
{
	json_t *v = json_object_get(m->root, key);

	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	*len = json_string_length(v);
	return strlen(*out) == *len ? 0 : -1;
}

static void message_check_fields(struct client_msg *m)
{
	const char *name;
	size_t len;

	switch (m->type) {
	case MSG_SEND:
		if (message_string_field(m, "to", &name, &len)) {
			message_invalid(m, "bad_request",
					"\"to\" must be a string");
			return;
		}
		if (!names_valid_client_id(name, len)) {
			message_invalid(m, "bad_client_id",
					"\"to\" is not a valid client_id");
			return;
		}
		break;
	case MSG_SUBSCRIBE:
	case MSG_UNSUBSCRIBE:
	case MSG_PUBLISH:
	case MSG_HISTORY:
		if (message_string_field(m, "channel", &name, &len)) {
			message_invalid(m, "bad_request",
					"\"channel\" must be a string");
			return;
		}
		if (m->type == MSG_PUBLISH && names_is_reserved(name, len)) {
			message_invalid(m, "forbidden",
					"channels starting with $ are the "
					"server's");
			return;
		}
		/* a history is read of a channel one could publish to */
		if (m->type == MSG_PUBLISH || m->type == MSG_HISTORY
			    ? !names_valid_channel(name, len)
			    : !names_subscribable(name, len)) {
			message_invalid(m, "bad_channel",
					"channel names are 1-128 characters "
					"of [A-Za-z0-9_.:@-]");
			return;
		}
		if (m->type == MSG_SUBSCRIBE) {
			json_t *since = json_object_get(m->root, "since");

			struct seq parsed;

			if (since && (!json_is_string(since) ||
				      seq_parse(json_string_value(since),
						json_string_length(since),
						&parsed))) {
				message_invalid(m, "bad_request",
						"\"since\" must be a seq "
						"string \"<n>-<n>\"");
				return;
			}
			m->since = since ? json_string_value(since) : NULL;
		}
		if (m->type == MSG_HISTORY) {
			json_t *limit = json_object_get(m->root, "limit");

			if (limit && (!json_is_integer(limit) ||
				      json_integer_value(limit) < 1)) {
				message_invalid(m, "bad_request",
						"\"limit\" must be a positive "
						"integer");
				return;
			}
			m->limit = limit ? json_integer_value(limit) : 0;
		}
		break;
	default:
		return;
	}
	m->target = name;
	m->target_len = len;
}

void message_parse(const char *buf, size_t len, struct client_msg *out)
{
	json_error_t error;
	json_t *type;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	out->type = MSG_TEXT_ECHO;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
			   buf[i] == '\n'))
		i++;
	if (i == len || buf[i] != '{')
		return;

	/* NULs are allowed in JSON strings and rejected where a name is read */
	out->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			       &error);
	if (!out->root) {
		if (json_error_code(&error) == json_error_duplicate_key)
			message_invalid(out, "bad_request",
					"duplicate key in message");
		return;
	}
	type = json_object_get(out->root, "type");
	if (!json_is_string(type))
		return; /* an object without a string type is echoed as text */

	out->id = json_object_get(out->root, "id");
	out->data = json_object_get(out->root, "data");
	for (i = 0; i < sizeof(msg_types) / sizeof(msg_types[0]); i++)
		if (json_string_length(type) == strlen(msg_types[i].name) &&
		    !strcmp(json_string_value(type), msg_types[i].name)) {
			out->type = msg_types[i].type;
			message_check_fields(out);
			return;
		}
	message_invalid(out, "unknown_type", "unknown message type");
}

void message_release(struct client_msg *m)
{
	json_decref(m->root);
	m->root = NULL;
}

struct frame *message_frame_json(json_t *value)
{
	struct frame *f = NULL;
	char *text;

	if (!value)
		return NULL;
	text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text) {
		f = frame_from(text, strlen(text), 0);
		free(text);
	}
	return f;
}

/* Encodes obj (stolen) and frees it. */
static struct frame *message_frame_take(json_t *obj)
{
	struct frame *f = message_frame_json(obj);

	json_decref(obj);
	return f;
}

static json_t *data_or_null(json_t *data)
{
	return data ? json_incref(data) : json_null();
}

struct frame *message_frame_text_echo(const char *text, size_t len)
{
	static const char prefix[] = "Echo: ";
	struct frame *f = frame_create(sizeof(prefix) - 1 + len, 0);

	if (!f)
		return NULL;
	memcpy(frame_payload(f), prefix, sizeof(prefix) - 1);
	memcpy(frame_payload(f) + sizeof(prefix) - 1, text, len);
	return f;
}

struct frame *message_frame_error(const char *code, const char *text,
				  json_t *id)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code,
			      "message", text);

	if (o && id)
		json_object_set(o, "id", id);
	return message_frame_take(o);
}

struct frame *message_frame_reply(const char *type, const char *channel,
				  json_t *id)
{
	json_t *o = json_pack("{s:s}", "type", type);

	if (o && channel)
		json_object_set_new(o, "channel", json_string(channel));
	if (o && id)
		json_object_set(o, "id", id);
	return message_frame_take(o);
}

struct frame *message_frame_subscribed(const char *channel, json_t *id,
				       const char *seq, int recovered)
{
	json_t *o = json_pack("{s:s, s:s}", "type", "subscribed", "channel",
			      channel);

	if (o && seq)
		json_object_set_new(o, "seq", json_string(seq));
	if (o && recovered >= 0)
		json_object_set_new(o, "recovered", json_boolean(recovered));
	if (o && id)
		json_object_set(o, "id", id);
	return message_frame_take(o);
}

struct frame *message_frame_resync(const char *channel, const char *reason,
				   const char *seq)
{
	return message_frame_take(json_pack("{s:s, s:s, s:s, s:s}", "type",
					    "resync", "channel", channel,
					    "reason", reason, "seq", seq));
}

struct frame *message_frame_ack(json_t *id, const char *seq)
{
	json_t *o = json_pack("{s:s}", "type", "ack");

	if (o && id)
		json_object_set(o, "id", id);
	if (o && seq)
		json_object_set_new(o, "seq", json_string(seq));
	return message_frame_take(o);
}

struct frame *message_frame_echo(json_t *data, json_t *id)
{
	json_t *o = json_pack("{s:s, s:o}", "type", "echo", "data",
			      data_or_null(data));

	if (o && id)
		json_object_set(o, "id", id);
	return message_frame_take(o);
}

struct frame *message_frame_welcome(const char *client_id,
				    const char *session, const char *node,
				    int heartbeat)
{
	char text[3 * NAMES_CLIENT_ID_MAX + 96];
	int n;

	/*
	 * Every session gets one, so it is printed directly when no field
	 * needs escaping (names.h characters; always so from ws_client):
	 * building it with jansson was 3% of a handshake's CPU.
	 */
	if (names_valid_client_id(client_id, strlen(client_id)) &&
	    names_valid_client_id(session, strlen(session)) &&
	    names_valid_client_id(node, strlen(node))) {
		n = snprintf(text, sizeof(text), "{\"type\":\"welcome\","
			     "\"client_id\":\"%s\",\"session\":\"%s\","
			     "\"node\":\"%s\",\"heartbeat\":%d}",
			     client_id, session, node, heartbeat);
		if (n > 0 && (size_t)n < sizeof(text))
			return frame_from(text, (size_t)n, 0);
	}
	return message_frame_take(json_pack(
		"{s:s, s:s, s:s, s:s, s:i}", "type", "welcome", "client_id",
		client_id, "session", session, "node", node, "heartbeat",
		heartbeat));
}

struct frame *message_frame_broadcast(const char *from, json_t *data)
{
	return message_frame_take(json_pack("{s:s, s:s, s:o}", "type",
					    "broadcast", "from", from, "data",
					    data_or_null(data)));
}

struct frame *message_frame_direct(const char *from, json_t *data)
{
	return message_frame_take(json_pack("{s:s, s:s, s:o}", "type",
					    "message", "from", from, "data",
					    data_or_null(data)));
}

struct frame *message_frame_channel(const char *channel, const char *from,
				    json_t *data, const char *seq)
{
	return message_frame_take(json_pack(
		"{s:s, s:s, s:s, s:o, s:s}", "type", "message", "channel",
		channel, "from", from, "data", data_or_null(data), "seq", seq));
}

struct frame *message_frame_notification(const char *channel, json_t *data,
					 const char *seq)
{
	json_t *o = json_pack("{s:s, s:s, s:o}", "type", "notification",
			      "channel", channel, "data", data_or_null(data));

	if (o && seq)
		json_object_set_new(o, "seq", json_string(seq));
	return message_frame_take(o);
}

json_t *message_payload_value(const char *buf, size_t len)
{
	json_t *v = json_loadb(buf, len,
			       JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
				       JSON_ALLOW_NUL,
			       NULL);

	return v ? v : json_stringn(buf, len);
}

char *message_envelope_text(const char *from, json_t *data)
{
	json_t *env = json_pack("{s:s, s:O}", "from", from, "data",
				data ? data : json_null());
	char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;

	json_decref(env);
	return text;
}

int message_parse_envelope(const char *payload, size_t len, json_t **env,
			   const char **sender, json_t **data)
{
	json_t *from;

	*env = json_loadb(payload, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			  NULL);
	from = json_object_get(*env, "from");
	*data = json_object_get(*env, "data");
	*sender = json_string_value(from);
	if (!*sender || !*data ||
	    !names_valid_client_id(*sender, json_string_length(from)))
		return -1;
	return 0;
}
