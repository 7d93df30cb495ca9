/*
 * connect — connection rate: -conc connectors each open a WebSocket, check
 * the 101 and its Sec-WebSocket-Accept, reset the TCP connection
 * (SO_LINGER 0, so no TIME_WAIT piles up) and start the next one.
 *
 * Thread: the main thread. Ownership: the engine's slots only.
 */
#ifndef HB_CONNECT_H
#define HB_CONNECT_H

/* `herald-bench connect [flags]`; returns the process exit status. */
int connect_main(int argc, char **argv);

#endif
