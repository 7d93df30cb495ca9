/*
 * log — herald's one logger.
 *
 * One line per event on stderr, as text or as one JSON object per line.
 * Every line carries a module prefix ("ws", "http", "redis", ...).
 * Thread: any; each line is written with a single write(2) so lines from
 * several workers never interleave. Never pass tokens or secrets.
 *
 * Floods are bounded (docs/design.md, "Logging"):
 *  - a line repeated (same level, module and text) within a second of its
 *    first appearance is written once; when that second is over, the next
 *    log call (or log_flush()) writes "<text> … repeated 24,312 times";
 *  - a write never blocks the event loop: stderr is written without
 *    blocking (a socket with MSG_DONTWAIT, a pipe or terminal through an
 *    O_NONBLOCK description of its own); a line that does not fit is
 *    dropped and counted, and the count is written once stderr takes
 *    lines again.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

#include <stdint.h>

/* Sets the threshold and the output format and sets up non-blocking
 * output on the current stderr; call once at start (again after stderr
 * was replaced). Pending repeat counts are written at exit. */
void log_configure(enum log_level level, enum log_format format);

/* Writes the repeat counts of lines whose second is over (also done by
 * every log call); all of them when all is non-zero. */
void log_flush(int all);

/* Lines dropped so far because stderr was not writable. */
unsigned long log_dropped(void);

/* Tests: the clock the collapsing window reads, in ms (NULL: the real
 * monotonic clock). */
void log_set_clock(uint64_t (*now_ms)(void));

/*
 * A per-call-site budget for lines that vary in their text (and so are
 * not collapsed as repeats), such as one refused upgrade per request:
 * log_budget_take() returns 1 while fewer than per_second lines were let
 * through in the current second, else counts the line and returns 0. On
 * the first call of a new second it returns in *missed how many were held
 * back in the previous one (for a summary line). Zeroed is ready; not
 * locked: one budget per thread.
 */
struct log_budget {
	uint64_t second;
	unsigned used;
	unsigned long held;
};

int log_budget_take(struct log_budget *b, unsigned per_second,
		    unsigned long *missed);

/* Parses "error|warn|info|debug"; returns 0 or -1. */
int log_level_parse(const char *name, enum log_level *out);

/* Parses "text|json"; returns 0 or -1. */
int log_format_parse(const char *name, enum log_format *out);

/* True when a message at level would be written (skip costly formatting). */
int log_enabled(enum log_level level);

/* Writes one line: printf-style message from module at level. */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Routes libwebsockets' own warnings and errors through this logger. */
void log_route_lws(void);

#endif
