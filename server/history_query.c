/*
 * history_query — see history_query.h.
 */
#include "history_query.h"
#include "history.h"
#include "message.h"
#include "names.h"
#include "redis.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

struct query {
	struct worker *w;
	history_query_cb cb;
	void *arg;
	char channel[];
};

unsigned history_query_max(const struct worker *w)
{
	return w->cfg->history_size;
}

/* {"type":"history","channel":C,"messages":[],"seq":P,"complete":B}
 * with messages filled by the caller. */
static json_t *answer_new(const char *channel, const char *pos, int complete,
			  json_t **messages)
{
	json_t *o = json_pack("{s:s, s:s, s:[], s:s, s:b}", "type", "history",
			      "channel", channel, "messages", "seq", pos,
			      "complete", complete);

	*messages = json_object_get(o, "messages");
	return o;
}

static int push_entry(json_t *messages, const char *seq, json_t *data,
		      const char *from)
{
	json_t *e = json_pack("{s:s, s:O}", "seq", seq, "data",
			      data ? data : json_null());

	if (e && from)
		json_object_set_new(e, "from", json_string(from));
	return json_array_append_new(messages, e);
}

/* One stored entry: kind 'm' a client's {"from","data"} envelope, 'n' a
 * notification payload (JSON, else a string). */
static int push_stored(json_t *messages, const struct redis_history_entry *e)
{
	char seq[SEQ_TEXT_MAX];
	json_t *v = NULL;
	int rc;

	if (e->id_len >= SEQ_TEXT_MAX)
		return 0;
	memcpy(seq, e->id, e->id_len);
	seq[e->id_len] = '\0';
	if (e->kind == 'm') {
		const char *sender;
		json_t *env, *data;

		if (!message_parse_envelope(e->data, e->data_len, &env,
					    &sender, &data)) {
			rc = push_entry(messages, seq, data, sender);
			json_decref(env);
			return rc;
		}
		json_decref(env);
		v = json_stringn(e->data, e->data_len); /* malformed: raw */
	} else {
		v = message_payload_value(e->data, e->data_len);
	}
	rc = v ? push_entry(messages, seq, v, NULL) : 0;
	json_decref(v);
	return rc;
}

static void on_redis_read(void *arg, const struct redis_history_reply *rep)
{
	struct query *q = arg;
	json_t *o = NULL, *messages;
	char pos[SEQ_TEXT_MAX] = "0-0";
	const struct redis_history_entry *last;
	int complete;

	if (!rep)
		goto done;
	last = rep->count ? &rep->entries[rep->count - 1] : NULL;
	if (rep->last && rep->last_len < SEQ_TEXT_MAX) {
		memcpy(pos, rep->last, rep->last_len);
		pos[rep->last_len] = '\0';
	} else if (last && last->id_len < SEQ_TEXT_MAX) {
		memcpy(pos, last->id, last->id_len);
		pos[last->id_len] = '\0';
	}
	complete = rep->count
			   ? rep->first && rep->first_len == rep->entries[0].id_len &&
				     !memcmp(rep->first, rep->entries[0].id,
					     rep->first_len)
			   : !rep->last;
	o = answer_new(q->channel, pos, complete, &messages);
	for (size_t i = 0; o && i < rep->count; i++)
		if (push_stored(messages, &rep->entries[i])) {
			json_decref(o);
			o = NULL;
		}
done:
	q->cb(q->arg, o);
	free(q);
}

/* An entry of the ring: the frame herald delivered, read back. */
static int push_frame(json_t *messages, const struct history_entry *e)
{
	char seq[SEQ_TEXT_MAX];
	json_t *m = json_loadb((const char *)frame_payload(e->f), e->f->len, 0,
			       NULL);
	int rc = m ? push_entry(messages, seq_format(e->seq, seq),
				json_object_get(m, "data"),
				json_string_value(json_object_get(m, "from")))
		   : -1;

	json_decref(m);
	return rc;
}

static void read_ring(struct worker *w, const char *channel, unsigned limit,
		      history_query_cb cb, void *arg)
{
	struct history_page page;
	char pos[SEQ_TEXT_MAX];
	json_t *o, *messages;
	size_t from;
	int complete;

	/* the ring holds at most --history-size entries: read them all */
	history_local_read(w->history, channel, history_local_origin(w->history),
			   history_query_max(w), hub_now_ms(), &page);
	from = page.count > limit ? page.count - limit : 0;
	complete = page.count ? page.has_first &&
					!seq_cmp(page.entries[from].seq, page.first)
			      : !page.has_last;
	o = answer_new(channel,
		       seq_format(page.has_last ? page.last : page.origin, pos),
		       complete, &messages);
	for (size_t i = from; o && i < page.count; i++)
		if (push_frame(messages, &page.entries[i])) {
			json_decref(o);
			o = NULL;
		}
	cb(arg, o);
}

int history_query_run(struct worker *w, const char *channel, unsigned limit,
		      history_query_cb cb, void *arg)
{
	size_t len = strlen(channel);
	struct query *q;

	if (!w->history || !history_query_max(w) || !limit ||
	    limit > history_query_max(w))
		return -1;
	if (redis_bridge_history_ok(w->redis)) {
		q = malloc(sizeof(*q) + len + 1);
		if (!q)
			return -1;
		q->w = w;
		q->cb = cb;
		q->arg = arg;
		memcpy(q->channel, channel, len + 1);
		if (!redis_bridge_history_read(w->redis, channel, "+", limit,
					       on_redis_read, q))
			return 0;
		free(q);
	}
	read_ring(w, channel, limit, cb, arg);
	return 0;
}
