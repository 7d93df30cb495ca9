/*
 * sys_channel — the server's own "$sys" channel: once a second, this
 * node's figures (the /api/stats object plus "time" in ms) go to the
 * sessions subscribed to "$sys" as a notification. With no subscriber the
 * tick costs one hash lookup.
 *
 * Thread: the worker's lws service thread (an lws_sul timer).
 */
#ifndef HERALD_SYS_CHANNEL_H
#define HERALD_SYS_CHANNEL_H

#include "worker.h"

/* Starts the once-a-second publication for w. */
void sys_channel_start(struct worker *w);

/* Stops it; call before the lws context is destroyed. */
void sys_channel_stop(struct worker *w);

#endif
