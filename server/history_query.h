/*
 * history_query — "the last n messages of a channel" (docs/protocol.md,
 * "History on request"): a client's {"type":"history"} and
 * GET /api/history answer the same object, built here.
 *
 * With Redis ready and herald's library loaded, one round trip:
 * FCALL_RO herald_history 1 <prefix>stream:<channel> + <n> (the "+" form
 * reads the stream's last n entries). Otherwise this node's ring
 * (history_local_read), at once.
 *
 * Thread: the worker's loop. Ownership: the answer is handed to the
 * callback, which owns it.
 */
#ifndef HERALD_HISTORY_QUERY_H
#define HERALD_HISTORY_QUERY_H

#include <jansson.h>

struct worker;

/* The default limit when a request names none: everything kept. */
unsigned history_query_max(const struct worker *w);

/* The answer {"type":"history","channel":C,"messages":[{"seq":S,
 * "data":X[,"from":F]},...],"seq":P,"complete":B} (oldest first; P the
 * channel's last seq, where a subscribe's since continues), a new
 * reference the callee owns; NULL when the history could not be read
 * (the Redis link went, OOM). */
typedef void (*history_query_cb)(void *arg, json_t *answer);

/*
 * Reads the last limit (1..history_query_max) messages of channel (a
 * valid, non-"$" name). 0: cb runs exactly once, maybe before this
 * returns; -1: history is off (--history-size 0) or OOM, cb never runs.
 */
int history_query_run(struct worker *w, const char *channel, unsigned limit,
		      history_query_cb cb, void *arg);

#endif
