/*
 * message — the wire protocol of docs/protocol.md: parsing what a client sends and
 * encoding what herald sends, each into one frame.
 *
 * Pure functions (jansson only), any thread. Parsing never trusts the input:
 * explicit length, duplicate keys rejected, every field type-checked.
 */
#ifndef HERALD_MESSAGE_H
#define HERALD_MESSAGE_H

#include <jansson.h>
#include <stddef.h>

#include "frame.h"

enum msg_type {
	MSG_TEXT_ECHO,   /* not a JSON object with a string "type": Echo: */
	MSG_ECHO,
	MSG_BROADCAST,
	MSG_SEND,
	MSG_SUBSCRIBE,
	MSG_UNSUBSCRIBE,
	MSG_PUBLISH,
	MSG_PING,
	MSG_HISTORY,     /* the last "limit" messages of "channel" */
	MSG_INVALID      /* a typed object that is wrong: reply with error */
};

/* A parsed client message. Pointers borrow from root. */
struct client_msg {
	enum msg_type type;
	json_t *root;        /* owned; released by message_release() */
	json_t *id;          /* "id" or NULL */
	json_t *data;        /* "data" or NULL */
	const char *target;  /* "channel" or "to", NUL-terminated, or NULL */
	size_t target_len;
	const char *since;   /* "since" of subscribe (a valid seq), or NULL */
	json_int_t limit;    /* "limit" of history (>= 1), 0 when absent */
	const char *error_code;    /* MSG_INVALID: bad_request, unknown_type, ... */
	const char *error_message;
};

/*
 * Parses one complete text message of len bytes (not NUL-terminated).
 * Always fills out (MSG_TEXT_ECHO when it is not a typed JSON object).
 * Validates names: bad channel -> bad_channel, bad "to" -> bad_client_id,
 * publish to a "$" channel -> forbidden.
 */
void message_parse(const char *buf, size_t len, struct client_msg *out);

/* Frees what message_parse() kept. */
void message_release(struct client_msg *m);

/* Each encoder returns a new frame with one reference, or NULL on OOM. */

/* "Echo: <text>" */
struct frame *message_frame_text_echo(const char *text, size_t len);

/* {"type":"error","code":C,"message":M[,"id":I]} */
struct frame *message_frame_error(const char *code, const char *text,
				  json_t *id);

/* {"type":T[,"channel":C][,"id":I]}: subscribed, unsubscribed, pong, ack. */
struct frame *message_frame_reply(const char *type, const char *channel,
				  json_t *id);

/* {"type":"subscribed","channel":C[,"seq":S][,"recovered":B][,"id":I]};
 * recovered < 0: none (a subscribe without since). */
struct frame *message_frame_subscribed(const char *channel, json_t *id,
				       const char *seq, int recovered);

/* {"type":"resync","channel":C,"reason":R,"seq":S} */
struct frame *message_frame_resync(const char *channel, const char *reason,
				   const char *seq);

/* {"type":"ack"[,"id":I][,"seq":S]} */
struct frame *message_frame_ack(json_t *id, const char *seq);

/* {"type":"echo","data":X[,"id":I]} */
struct frame *message_frame_echo(json_t *data, json_t *id);

/* {"type":"welcome","client_id":..,"session":..,"node":..,"heartbeat":N} */
struct frame *message_frame_welcome(const char *client_id,
				    const char *session, const char *node,
				    int heartbeat);

/* {"type":"broadcast","from":F,"data":X} */
struct frame *message_frame_broadcast(const char *from, json_t *data);

/* {"type":"message","from":F,"data":X} (a direct message) */
struct frame *message_frame_direct(const char *from, json_t *data);

/* {"type":"message","channel":C,"from":F,"data":X,"seq":S} */
struct frame *message_frame_channel(const char *channel, const char *from,
				    json_t *data, const char *seq);

/* {"type":"notification","channel":C,"data":X[,"seq":S]} */
struct frame *message_frame_notification(const char *channel, json_t *data,
					 const char *seq);

/* Serialises any JSON value compactly into a new text frame. */
struct frame *message_frame_json(json_t *value);

/* A payload from Redis or HTTP as JSON when it parses as JSON, else as a
 * JSON string; new reference or NULL. */
json_t *message_payload_value(const char *buf, size_t len);

/* A client message's Redis envelope {"from":from,"data":data} as compact
 * JSON text (malloc'd, the caller frees it); NULL on OOM. */
char *message_envelope_text(const char *from, json_t *data);

/*
 * Reads a client message's Redis envelope {"from":F,"data":X} (len
 * bytes): 0 with *sender (a valid client_id) and *data pointing into *env,
 * which the caller frees with json_decref (also on failure: -1, the
 * envelope is malformed).
 */
int message_parse_envelope(const char *payload, size_t len, json_t **env,
			   const char **sender, json_t **data);

#endif
