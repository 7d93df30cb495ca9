/*
 * connect — connection rate: -conc connectors each open a WebSocket, check
 * the 101 and its Sec-WebSocket-Accept, reset the TCP connection
 * (SO_LINGER 0, so no TIME_WAIT piles up) and start the next one.
 *
 * The connectors are a connect_loop over a range of an engine's slots, so
 * another scenario (idle -connect) can run them beside its own connections
 * on the same engine.
 *
 * Thread: the main thread. Ownership: the engine's slots only; a
 * connect_loop owns its slot bookkeeping and histogram.
 */
#ifndef HB_CONNECT_H
#define HB_CONNECT_H

#include <stdint.h>

#include "engine.h"
#include "procstat.h"
#include "report.h"

struct connect_loop;

/* Connectors on slots base..base+conc-1 of an engine; NULL on OOM. */
struct connect_loop *connect_loop_create(uint32_t base, uint32_t conc);
void connect_loop_destroy(struct connect_loop *x);

/* Whether c is one of the loop's slots (for a scenario's callbacks). */
int connect_loop_owns(const struct connect_loop *x, const struct conn *c);

/* The engine callbacks for the loop's slots. */
void connect_loop_on_open(struct connect_loop *x, struct engine *e,
			  struct conn *c, int64_t now);
void connect_loop_on_close(struct connect_loop *x, struct engine *e,
			   struct conn *c, const char *why);

/* Dials from every slot and polls e for dur ns, re-dialing after each 101;
 * then drops the dials still in flight, uncounted (as wsload does). The
 * meter (of pid; started and stopped here) covers exactly that time. */
void connect_loop_run(struct connect_loop *x, struct engine *e, int64_t dur,
		      int pid, struct cpu_meter *meter);

/* Adds the figures to r (duration_s, concurrency, server CPU, connections,
 * failed, conns_per_s, latency) and writes a summary into say. */
void connect_loop_report(const struct connect_loop *x,
			 const struct cpu_meter *meter, struct report *r,
			 char *say, size_t saylen);

/* Handshakes completed and failed. */
uint64_t connect_loop_ok(const struct connect_loop *x);
uint64_t connect_loop_failed(const struct connect_loop *x);

/* `herald-bench connect [flags]`; returns the process exit status. */
int connect_main(int argc, char **argv);

#endif
