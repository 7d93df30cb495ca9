/*
 * log — herald's one logger.
 *
 * One line per event on stderr, as text or as one JSON object per line.
 * Every line carries a module prefix ("ws", "http", "redis", ...).
 * Thread: any; each line is written with a single write(2) so lines from
 * several workers never interleave. Never pass tokens or secrets.
 */
#ifndef HERALD_LOG_H
#define HERALD_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON };

/* Sets the threshold and the output format; call once at start. */
void log_configure(enum log_level level, enum log_format format);

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
