/*
 * sys_channel — the server's own "$sys" channel: this node's figures (the
 * /api/stats object plus "time" in ms) as a notification to the sessions
 * subscribed to "$sys". The worker calls it once a second; with no
 * subscriber it costs one hash lookup.
 *
 * Thread: the worker's loop thread.
 */
#ifndef HERALD_SYS_CHANNEL_H
#define HERALD_SYS_CHANNEL_H

#include "worker.h"

/* Publishes w's figures to its "$sys" subscribers, if any. */
void sys_channel_publish(struct worker *w);

#endif
