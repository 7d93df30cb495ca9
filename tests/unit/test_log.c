/*
 * Unit tests for server/log.c (docs/design.md, "Logging"; issue 11: 25
 * million "accept: errno 24" lines in a minute):
 *  - a line repeated within a second is written once, then "… repeated
 *    N times" when its second is over; distinct lines are not collapsed;
 *  - a log write never blocks: with a pipe nobody reads, log_msg()
 *    returns at once, drops and counts lines, and says so once the pipe
 *    is read again;
 *  - log_budget_take() lets per_second lines through and counts the rest.
 *
 * fd 2 is replaced by a pipe for each test (check.h's own reports go to
 * the saved stderr in between) and the clock is synthetic.
 */
#include "check.h"
#include "log.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t fake_ms = 1000000;
static uint64_t fake_clock(void) { return fake_ms; }

static int saved_stderr = -1;
static int pipe_r = -1;

/* fd 2 becomes the write end of a fresh pipe; log output goes there. */
static void capture_begin(void)
{
	int p[2];

	if (pipe(p))
		abort();
	saved_stderr = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	pipe_r = p[0];
	fcntl(pipe_r, F_SETFL, O_NONBLOCK);
	log_set_clock(fake_clock);
	log_configure(LOG_INFO, LOG_FORMAT_TEXT);
}

static char cap_buf[1 << 20];
static size_t cap_len;

/* Everything written to the pipe since capture_reset() (NUL-terminated). */
static const char *captured(void)
{
	char *buf = cap_buf;
	size_t len = cap_len;
	ssize_t n;

	while ((n = read(pipe_r, buf + len, sizeof(cap_buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	cap_len = len;
	return buf;
}

static void capture_reset(void)
{
	(void)captured();
	cap_len = 0;
	cap_buf[0] = '\0';
}

static void capture_end(void)
{
	log_flush(1);
	/* check.h reported into the pipe meanwhile: show what it holds */
	if (check_failed_in_test)
		dprintf(saved_stderr, "--- captured:\n%s---\n", captured());
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	log_configure(LOG_INFO, LOG_FORMAT_TEXT); /* drop the pipe's fd */
	close(pipe_r);
	log_set_clock(NULL);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_repeats_collapse_within_a_second(void)
{
	const char *out;

	capture_begin();
	capture_reset();
	fake_ms = 5000000;
	for (int i = 0; i < 24313; i++)
		log_msg(LOG_ERROR, "main", "accept: errno %d", 24);
	fake_ms += 999; /* still the same second */
	log_msg(LOG_ERROR, "main", "accept: errno %d", 24);
	out = captured();
	CHECK_INT_EQ(count_lines(out, "accept: errno 24"), 1);
	CHECK_NOT_CONTAINS(out, "repeated");
	/* the window is over: the next call writes the count, and the line
	 * itself opens a new window */
	fake_ms += 1;
	log_msg(LOG_INFO, "ws", "something else");
	out = captured();
	CHECK_CONTAINS(out, "error [main] accept: errno 24 \xe2\x80\xa6 "
			    "repeated 24,313 times\n");
	CHECK_CONTAINS(out, "[ws] something else\n");
	log_msg(LOG_ERROR, "main", "accept: errno %d", 24);
	CHECK_INT_EQ(count_lines(captured(), "accept: errno 24\n"), 2);
	capture_end();
}

static void test_distinct_lines_are_kept(void)
{
	const char *out;

	capture_begin();
	capture_reset();
	fake_ms = 7000000;
	/* interleaved, and differing in level, module or text */
	for (int i = 0; i < 100; i++) {
		log_msg(LOG_WARN, "a", "x");
		log_msg(LOG_INFO, "a", "x");
		log_msg(LOG_WARN, "b", "x");
		log_msg(LOG_WARN, "a", "y");
	}
	out = captured();
	CHECK_INT_EQ(count_lines(out, "\n"), 4);
	/* lines under the threshold are not counted either */
	log_msg(LOG_DEBUG, "a", "hidden");
	log_flush(1);
	out = captured();
	CHECK_NOT_CONTAINS(out, "hidden");
	CHECK_INT_EQ(count_lines(out, "repeated 99 times"), 4);
	/* a single line is never summarised */
	log_msg(LOG_WARN, "c", "once");
	fake_ms += 5000;
	log_flush(0);
	CHECK_NOT_CONTAINS(captured(), "once \xe2\x80\xa6");
	capture_end();
}

static void test_json_summary(void)
{
	capture_begin();
	capture_reset();
	log_configure(LOG_INFO, LOG_FORMAT_JSON);
	fake_ms = 9000000;
	for (int i = 0; i < 3; i++)
		log_msg(LOG_INFO, "ws", "refused");
	log_flush(1);
	CHECK_CONTAINS(captured(), "\"msg\":\"refused … repeated 2 times\"");
	log_configure(LOG_INFO, LOG_FORMAT_TEXT);
	capture_end();
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "test_log: a log write blocked\n";

	write(saved_stderr, m, sizeof(m) - 1);
	_exit(1);
}

static void test_a_full_pipe_never_blocks(void)
{
	unsigned long before;
	char big[1200];

	capture_begin();
	capture_reset();
	signal(SIGALRM, on_alarm);
	alarm(10);
	before = log_dropped();
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* nobody reads: the 64 KiB pipe fills after ~55 lines; the rest must
	 * be dropped at once, not wait (distinct texts, so nothing collapses) */
	for (int i = 0; i < 2000; i++)
		log_msg(LOG_INFO, "flood", "%d %s", i, big);
	alarm(0);
	CHECK(log_dropped() - before > 1000);
	/* read it all: the next line first says how many were dropped */
	(void)captured();
	capture_reset();
	log_msg(LOG_INFO, "flood", "after");
	CHECK_CONTAINS(captured(), "log lines dropped: stderr was not writable");
	CHECK_CONTAINS(captured(), "[flood] after\n");
	capture_end();
}

static void test_budget(void)
{
	struct log_budget b = { 0 };
	unsigned long missed;
	int let = 0;

	log_set_clock(fake_clock);
	fake_ms = 11000000;
	for (int i = 0; i < 1000; i++)
		let += log_budget_take(&b, 10, &missed);
	CHECK_INT_EQ(let, 10);
	fake_ms += 1000;
	CHECK_INT_EQ(log_budget_take(&b, 10, &missed), 1);
	CHECK_INT_EQ(missed, 990);
	CHECK_INT_EQ(log_budget_take(&b, 10, &missed), 1);
	CHECK_INT_EQ(missed, 0);
	log_set_clock(NULL);
}

int main(void)
{
	RUN(test_repeats_collapse_within_a_second);
	RUN(test_distinct_lines_are_kept);
	RUN(test_json_summary);
	RUN(test_a_full_pipe_never_blocks);
	RUN(test_budget);
	return check_exit_code();
}
