/*
 * close_code — the WebSocket close codes herald itself sends, each with
 * the reason text that goes in the close frame (docs/protocol.md, "Close
 * codes"). Every close herald starts names one of these and goes through
 * hub_session_end(), which gives it the same deadline; and which codes a
 * client may send.
 *
 * Header only, no state; any thread.
 */
#ifndef HERALD_CLOSE_CODE_H
#define HERALD_CLOSE_CODE_H

enum close_code {
	CLOSE_SHUTDOWN = 1001,       /* the node is draining (SIGTERM) */
	CLOSE_RATE_ABUSE = 1008,     /* sustained sending over --rate-limit */
	CLOSE_TOO_BIG = 1009,        /* a message over --max-message-size */
	CLOSE_OUT_OF_MEMORY = 1011,  /* herald could not hold the session's input */
	CLOSE_SLOW_CONSUMER = 1013,  /* its unsent queue passed --max-queue */
};

/* The reason sent with code (lws_close_reason). */
static inline const char *close_code_reason(enum close_code code)
{
	switch (code) {
	case CLOSE_SHUTDOWN: return "server shutting down";
	case CLOSE_RATE_ABUSE: return "rate limit exceeded";
	case CLOSE_TOO_BIG: return "message too big";
	case CLOSE_OUT_OF_MEMORY: return "out of memory";
	case CLOSE_SLOW_CONSUMER: return "slow consumer";
	}
	return "closing";
}

/* True for a close code a client may send (RFC 6455 section 7.4.1):
 * 1000-1003, 1007-1011 and 3000-4999. 1004-1006 and 1015 never go on the
 * wire, and herald treats the unassigned 1012-1014 and 1016-2999 as
 * invalid too. */
static inline int close_code_valid_from_peer(unsigned code)
{
	return (code >= 1000 && code <= 1003) ||
	       (code >= 1007 && code <= 1011) ||
	       (code >= 3000 && code <= 4999);
}

#endif
