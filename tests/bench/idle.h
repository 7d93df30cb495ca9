/*
 * idle — opens C connections and holds them (answering pings), then
 * reports the server's resident memory per connection: (VmRSS after -
 * VmRSS before) / C, summed over the server PID and its descendants.
 *
 * Thread: the main thread. Ownership: the engine's slots only.
 */
#ifndef HB_IDLE_H
#define HB_IDLE_H

/* `herald-bench idle [flags]`; returns the process exit status. */
int idle_main(int argc, char **argv);

#endif
