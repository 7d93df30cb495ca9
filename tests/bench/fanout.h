/*
 * fanout — K subscriber connections, one publisher at a fixed rate
 * (WebSocket broadcast, Redis PUBLISH or HTTP POST); every message carries
 * {"seq":N,"ts":<CLOCK_MONOTONIC ns>} and subscribers measure publish-to-
 * receipt latency from it and count what arrived against what was expected.
 *
 * Thread: the main thread (one epoll loop; the publisher is paced by a
 * timerfd on the same loop). Ownership: allocates a per-sequence counter
 * array once, before the run.
 */
#ifndef HB_FANOUT_H
#define HB_FANOUT_H

/* `herald-bench fanout [flags]`; returns the process exit status. */
int fanout_main(int argc, char **argv);

#endif
