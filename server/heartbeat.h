/*
 * heartbeat — herald's own liveness checks and close deadlines, on a
 * one-second timing wheel (docs/design.md, "Heartbeat").
 *
 * Every open session has a heartbeat_watch. A session that sends nothing
 * for --heartbeat seconds is pinged; one from which nothing arrives for
 * twice that is dropped; a session that herald is closing is dropped when
 * its close deadline passes. Any input (a message, a pong) counts as alive.
 *
 * Why a wheel: libwebsockets 4.1.6 keeps its per-connection timers in one
 * sorted list per thread, so each ping and each pong re-inserted a timer
 * among one entry per connected session: idle sessions cost CPU with the
 * square of their number. Here, noting input is two stores and no
 * re-filing; a watch is re-filed lazily when its slot comes round, so an
 * idle or busy session costs O(1) per period, and each one-second tick
 * visits only the watches filed in that second's slot.
 *
 * Pings are spread: each watch pings up to a quarter period early, by an
 * amount drawn from its key (the session id), so sessions that connected
 * in the same second are not all pinged in the same tick. (Pings may also
 * be half a tick early; drops are never early and at most a tick late.)
 *
 * Thread: the owning worker's loop thread. Times are milliseconds of one
 * monotonic clock supplied by the caller (a pure module, unit-tested with
 * a fake clock). The caller owns the watches' storage; the wheel only
 * links them.
 */
#ifndef HERALD_HEARTBEAT_H
#define HERALD_HEARTBEAT_H

#include <libwebsockets.h>
#include <stdint.h>

enum heartbeat_state {
	HEARTBEAT_OFF,      /* not on the wheel */
	HEARTBEAT_WATCH,    /* alive; pinged once silent for a period */
	HEARTBEAT_PINGED,   /* pinged; dropped if silent for two periods */
	HEARTBEAT_CLOSING,  /* herald is closing it; dropped at the deadline */
	HEARTBEAT_EXPIRED,  /* dropped; waiting for the transport to close */
};

/* Why a watch expired. */
enum heartbeat_expiry {
	HEARTBEAT_SILENT,         /* nothing for two periods */
	HEARTBEAT_CLOSE_DEADLINE, /* a close herald started did not finish */
};

/* Per-session state. Zeroed is HEARTBEAT_OFF. Private to heartbeat.c but
 * for heartbeat_heard(), which is inline because it runs per message. */
struct heartbeat_watch {
	struct lws_dll2 _in_slot;
	uint64_t _at_ms;    /* last input; the deadline while closing */
	uint32_t _lead_ms;  /* how early this watch's pings go */
	uint8_t _state;     /* enum heartbeat_state */
};

struct heartbeat_ops {
	/* The watch has been silent for a period: send a ping. */
	void (*ping)(struct heartbeat_watch *w, void *arg);
	/* Drop the connection now (no close handshake). The watch is off
	 * the wheel already; heartbeat_unwatch() is still safe. */
	void (*expire)(struct heartbeat_watch *w, enum heartbeat_expiry why,
		       void *arg);
};

struct heartbeat;

/* A wheel for pings every period_s seconds (>= 1); NULL on OOM. now_ms
 * is the clock's current value: the first tick visits the second after. */
struct heartbeat *heartbeat_create(unsigned period_s,
				   const struct heartbeat_ops *ops, void *arg,
				   uint64_t now_ms);

/* Frees the wheel; the watches on it are simply forgotten. */
void heartbeat_destroy(struct heartbeat *hb);

/* Starts watching w (zeroed or unwatched) as alive at now_ms. key spreads
 * the pings (any per-session number, e.g. a sequential id). */
void heartbeat_watch(struct heartbeat *hb, struct heartbeat_watch *w,
		     uint64_t now_ms, uint64_t key);

/* Input arrived at now_ms: the session is alive. O(1), no re-filing.
 * Ignored while closing or expired. */
static inline void heartbeat_heard(struct heartbeat_watch *w, uint64_t now_ms)
{
	if (w->_state == HEARTBEAT_WATCH || w->_state == HEARTBEAT_PINGED) {
		w->_at_ms = now_ms;
		w->_state = HEARTBEAT_WATCH;
	}
}

/* herald started closing the session: expire it at now_ms + grace_ms
 * unless it is unwatched first. A second call keeps the first deadline. */
void heartbeat_closing(struct heartbeat *hb, struct heartbeat_watch *w,
		       uint64_t now_ms, uint32_t grace_ms);

/* Takes w off the wheel (the session is gone). Idempotent. */
void heartbeat_unwatch(struct heartbeat_watch *w);

/* Visits every second's slot up to now_ms: pings, drops and re-files the
 * watches due there. Call about once a second; a late call catches up. */
void heartbeat_tick(struct heartbeat *hb, uint64_t now_ms);

/* Watches visited by ticks so far: the wheel's whole cost, for tests. */
uint64_t heartbeat_visits(const struct heartbeat *hb);

/* State of w, for tests and logs. */
static inline enum heartbeat_state heartbeat_state_of(
	const struct heartbeat_watch *w)
{
	return (enum heartbeat_state)w->_state;
}

#endif
