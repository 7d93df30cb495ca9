/*
 * echo — closed-loop echo scenario: C connections each keep `pipeline`
 * requests of S bytes in flight and send one more per reply; replies are
 * checked byte for byte, latency is send-to-reply.
 *
 * Thread: the main thread (one epoll loop). Ownership: allocates its
 * per-connection rings once, before the run.
 */
#ifndef HB_ECHO_H
#define HB_ECHO_H

/* `herald-bench echo [flags]`; returns the process exit status. */
int echo_main(int argc, char **argv);

#endif
