/*
 * log — see log.h.
 *
 * The threshold and format are set once before any worker starts and only
 * read afterwards, so they need no lock. A line is formatted into a stack
 * buffer and emitted with one write(2): atomic for lines under PIPE_BUF on
 * pipes, and never interleaved mid-line in practice on terminals and files.
 */
#include "log.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_threshold = LOG_INFO;
static enum log_format log_output = LOG_FORMAT_TEXT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_configure(enum log_level level, enum log_format format)
{
	log_threshold = level;
	log_output = format;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	return -1;
}

int log_format_parse(const char *name, enum log_format *out)
{
	if (!strcmp(name, "text"))
		*out = LOG_FORMAT_TEXT;
	else if (!strcmp(name, "json"))
		*out = LOG_FORMAT_JSON;
	else
		return -1;
	return 0;
}

int log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

static void log_emit(enum log_level level, const char *module, const char *text)
{
	char line[2048], stamp[40];
	struct timeval tv;
	struct tm tm;
	int n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = (int)strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - (size_t)n, ".%03dZ",
		 (int)(tv.tv_usec / 1000));

	if (log_output == LOG_FORMAT_JSON) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", stamp,
				      "level", level_names[level], "module",
				      module, "msg", text);
		n = o ? (int)json_dumpb(o, line, sizeof(line) - 1, JSON_COMPACT)
		      : 0;
		json_decref(o);
		if (n <= 0 || n >= (int)sizeof(line) - 1)
			return;
		line[n++] = '\n';
	} else {
		n = snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", stamp,
			     level_names[level], module, text);
		if (n >= (int)sizeof(line)) {
			n = (int)sizeof(line);
			line[n - 1] = '\n';
		}
	}
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log_msg(enum log_level level, const char *module, const char *fmt, ...)
{
	char text[1536];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_emit(level, module, text);
}

static void log_from_lws(int lws_level, const char *line)
{
	char text[1024];
	size_t n = strlen(line);

	/* lws lines end in '\n' and may carry a "[date] W: " prefix */
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, line, n);
	text[n] = '\0';
	log_msg(lws_level == LLL_ERR ? LOG_ERROR : LOG_DEBUG, "lws", "%s", text);
}

void log_route_lws(void)
{
	/*
	 * lws warns about every refused upgrade and peer reset; herald logs
	 * its own policy decisions, so lws's warnings are debug-level noise.
	 */
	lws_set_log_level(LLL_ERR | (log_enabled(LOG_DEBUG) ? LLL_WARN : 0),
			  log_from_lws);
}
