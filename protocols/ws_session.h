/*
 * ws_session — what a /ws/<client_id> session does, whichever connection
 * carries it: lws's (protocols/ws_client.c, TLS) or herald's own
 * (protocols/ws_conn.c, plain TCP). Admission and its seat of the node's
 * session limit, the open (grant, hub, ?channels=, welcome), each message
 * through reassembly to the router, and the close. It also implements
 * transport_hub_ops (server/transport.h) by handing each call to the
 * session's own connection.
 *
 * Thread: the worker's loop thread. The struct is embedded first in the
 * connection's own state, which owns it.
 */
#ifndef HERALD_WS_SESSION_H
#define HERALD_WS_SESSION_H

#include "admission.h"
#include "hub.h"
#include "reassembly.h"

struct worker;

struct ws_session {
	struct hub_session hub;      /* first: the hub's view of it */
	struct reassembly rx;        /* the message being received */
	const struct hub_ops *ops;   /* its connection's wake/close/drop */
	uint8_t opened;              /* registered with the hub */
	uint8_t reserved;            /* holds a seat of the node's session
					limit (node_session_reserve) */
	uint8_t peer_closed;         /* the client sent its close frame */
};

/*
 * The admission checks for an upgrade (r) and, when it is let in, its seat
 * of the node's session limit. 0: let in; else the refusal's HTTP status
 * with res filled, counted and logged (the caller answers it).
 */
int ws_session_admit(struct worker *w, struct ws_session *s,
		     const struct admission_request *r,
		     struct admission_result *res);

/*
 * Opens an admitted session on transport (its connection): the token's
 * grant, the hub, the channels of ?channels=, and the welcome queued.
 * 0, or -1: close the connection (nothing to undo but ws_session_closed).
 */
int ws_session_open(struct worker *w, struct ws_session *s,
		    const struct admission_request *r, void *transport);

/*
 * A piece of a data frame: remaining bytes of the frame still to come,
 * final when the message ends with it, binary its type. Hands a whole
 * message to the router. Returns 0, or the close code to end the session
 * with (after what is queued; the caller ignores input from then on).
 */
int ws_session_receive(struct worker *w, struct ws_session *s,
		       const unsigned char *in, size_t len, size_t remaining,
		       int final, int binary);

/* Leaves the hub, gives the seat back, frees the grant and the message
 * being received. Safe to call more than once. */
void ws_session_closed(struct worker *w, struct ws_session *s);

#endif
