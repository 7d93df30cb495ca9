/*
 * log — see log.h.
 *
 * The threshold and format are set once before any worker starts and only
 * read afterwards, so they need no lock. A line is formatted into a stack
 * buffer and emitted with one write(2): atomic for lines under PIPE_BUF on
 * pipes, and never interleaved mid-line in practice on terminals and files.
 *
 * Repeats: the last LOG_RECENT distinct lines are remembered (a hash of
 * level, module and text, and a copy of the text for the summary). A line
 * whose hash is remembered and whose window (one second from its first
 * write) is still open only bumps a counter; the summary is written when
 * the window is over. One mutex guards this table and the output.
 *
 * Output never blocks: log_configure() looks at what fd 2 is. A socket
 * (journald's stream) is written with send(MSG_DONTWAIT); a pipe or a
 * terminal is reopened through /proc/self/fd/2, which gives herald an open
 * file description of its own to make O_NONBLOCK without changing the one
 * it shares with its parent (a shell's terminal must stay blocking); a
 * regular file or /dev/null never waits for a reader and is written as is.
 * When the reopen fails (no /proc) herald falls back to plain writes.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LOG_RECENT 16
#define LOG_WINDOW_MS 1000
#define LOG_SUMMARY_TEXT 400

enum log_sink { SINK_WRITE = 0, SINK_SEND };

struct log_recent {
	uint64_t hash;           /* 0: free slot */
	uint64_t since_ms;       /* the window opened with the line's write */
	unsigned long repeats;   /* suppressed in this window */
	enum log_level level;
	char module[16];
	char text[LOG_SUMMARY_TEXT];
};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_recent log_recent[LOG_RECENT];
static int log_fd = STDERR_FILENO;    /* ours when != STDERR_FILENO */
static enum log_sink log_sink = SINK_WRITE;
static unsigned long log_dropped_total, log_dropped_unreported;
static uint64_t (*log_clock)(void);
static int log_atexit_set;

static enum log_level log_threshold = LOG_INFO;
static enum log_format log_output = LOG_FORMAT_TEXT;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	if (log_clock)
		return log_clock();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void log_set_clock(uint64_t (*now_ms)(void))
{
	log_clock = now_ms;
}

static void log_atexit(void)
{
	log_flush(1);
}

/* Chooses how to write fd 2 without blocking (see the top of the file). */
static void log_open_output(void)
{
	struct stat st;
	int fd;

	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_sink = SINK_WRITE;
	if (fstat(STDERR_FILENO, &st))
		return;
	if (S_ISSOCK(st.st_mode)) {
		log_sink = SINK_SEND;
	} else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC |
						     O_NOCTTY | O_APPEND);
		if (fd >= 0)
			log_fd = fd;
	}
}

void log_configure(enum log_level level, enum log_format format)
{
	log_threshold = level;
	log_output = format;
	pthread_mutex_lock(&log_lock);
	log_open_output();
	pthread_mutex_unlock(&log_lock);
	if (!log_atexit_set) {
		log_atexit_set = 1;
		atexit(log_atexit);
	}
}

unsigned long log_dropped(void)
{
	unsigned long n;

	pthread_mutex_lock(&log_lock);
	n = log_dropped_total;
	pthread_mutex_unlock(&log_lock);
	return n;
}

/* One whole line, or nothing: never waits. Returns 0 when written. */
static int log_put(const char *line, size_t n)
{
	ssize_t w;

	if (log_sink == SINK_SEND)
		w = send(log_fd, line, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(log_fd, line, n);
	if (w < 0 && errno == ENOTSOCK && log_sink == SINK_SEND) {
		log_sink = SINK_WRITE; /* fd 2 was replaced meanwhile */
		w = write(log_fd, line, n);
	}
	/* a partial write (a stream socket short of room) cuts the line */
	return w == (ssize_t)n ? 0 : -1;
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

/* Formats and writes one line; the caller holds log_lock. */
static int log_write_line(enum log_level level, const char *module,
			  const char *text)
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
			return 0;
		line[n++] = '\n';
	} else {
		n = snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", stamp,
			     level_names[level], module, text);
		if (n >= (int)sizeof(line)) {
			n = (int)sizeof(line);
			line[n - 1] = '\n';
		}
	}
	return log_put(line, (size_t)n);
}

/* Writes a line, first telling of lines dropped before it. Caller holds
 * log_lock. */
static void log_emit(enum log_level level, const char *module, const char *text)
{
	char note[96];

	if (log_dropped_unreported) {
		snprintf(note, sizeof(note),
			 "%lu log lines dropped: stderr was not writable",
			 log_dropped_unreported);
		if (log_write_line(LOG_WARN, "log", note))
			goto dropped;
		log_dropped_unreported = 0;
	}
	if (!log_write_line(level, module, text))
		return;
dropped:
	log_dropped_total++;
	log_dropped_unreported++;
}

/* 24312 -> "24,312" */
static void log_thousands(unsigned long v, char *out, size_t cap)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%lu", v), o = 0;

	for (int i = 0; i < n && o + 2 < (int)cap; i++) {
		if (i && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* Writes the summary of r's window and frees the slot. Caller holds
 * log_lock. */
static void log_close_window(struct log_recent *r)
{
	char count[40], text[LOG_SUMMARY_TEXT + 64];

	if (r->repeats) {
		log_thousands(r->repeats, count, sizeof(count));
		snprintf(text, sizeof(text), "%s \xe2\x80\xa6 repeated %s times",
			 r->text, count);
		log_emit(r->level, r->module, text);
	}
	r->hash = 0;
	r->repeats = 0;
}

static void log_flush_locked(uint64_t now, int all)
{
	for (int i = 0; i < LOG_RECENT; i++)
		if (log_recent[i].hash &&
		    (all || now - log_recent[i].since_ms >= LOG_WINDOW_MS))
			log_close_window(&log_recent[i]);
}

void log_flush(int all)
{
	pthread_mutex_lock(&log_lock);
	log_flush_locked(log_now_ms(), all);
	pthread_mutex_unlock(&log_lock);
}

static uint64_t log_hash(enum log_level level, const char *module,
			 const char *text)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)level;

	for (const char *p = module; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = text; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ? h : 1;
}

/* Collapses repeats, then writes. */
static void log_line(enum log_level level, const char *module, const char *text)
{
	uint64_t h = log_hash(level, module, text), now;
	struct log_recent *slot = NULL;

	pthread_mutex_lock(&log_lock);
	now = log_now_ms();
	log_flush_locked(now, 0);
	for (int i = 0; i < LOG_RECENT; i++) {
		struct log_recent *r = &log_recent[i];

		if (r->hash == h && r->level == level &&
		    !strcmp(r->module, module) &&
		    !strncmp(r->text, text, sizeof(r->text) - 1)) {
			r->repeats++;
			pthread_mutex_unlock(&log_lock);
			return;
		}
		if (!slot || (slot->hash && (!r->hash ||
					     r->since_ms < slot->since_ms)))
			slot = r;
	}
	/* remember it in a free slot, or in place of the oldest window */
	if (slot->hash)
		log_close_window(slot);
	slot->hash = h;
	slot->since_ms = now;
	slot->repeats = 0;
	slot->level = level;
	snprintf(slot->module, sizeof(slot->module), "%s", module);
	{
		size_t n = strnlen(text, sizeof(slot->text) - 1);

		memcpy(slot->text, text, n);
		slot->text[n] = '\0';
	}
	log_emit(level, module, text);
	pthread_mutex_unlock(&log_lock);
}

int log_budget_take(struct log_budget *b, unsigned per_second,
		    unsigned long *missed)
{
	uint64_t second = log_now_ms() / 1000;

	*missed = 0;
	if (second != b->second) {
		*missed = b->held;
		b->second = second;
		b->used = 0;
		b->held = 0;
	}
	if (b->used < per_second) {
		b->used++;
		return 1;
	}
	b->held++;
	return 0;
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
	log_line(level, module, text);
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
