/*
 * Unit tests for server/service_notify.c: READY=1 and STOPPING=1 reach the
 * socket NOTIFY_SOCKET names (as systemd's Type=notify receives them), and
 * without NOTIFY_SOCKET the calls do nothing.
 *
 * The test binds its own AF_UNIX datagram socket in a temporary directory
 * and plays the service manager.
 */
#include "check.h"
#include "log.h"
#include "service_notify.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[] = "/tmp/herald-test-notify-XXXXXX";
static char path[100]; /* fits sun_path */
static int fd = -1;

static void manager_open(void)
{
	struct sockaddr_un sa;
	struct timeval tv = { .tv_sec = 2 };

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	CHECK_INT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_INT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
		     0);
}

/* The next datagram, NUL-terminated, or "" after the 2 s timeout. */
static const char *manager_receive(void)
{
	static char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_ready_and_stopping(void)
{
	CHECK_INT_EQ(setenv("NOTIFY_SOCKET", path, 1), 0);
	service_notify_ready();
	CHECK_STR_EQ(manager_receive(), "READY=1\nSTATUS=serving");
	service_notify_stopping();
	CHECK_STR_EQ(manager_receive(), "STOPPING=1\nSTATUS=draining");
}

static void test_without_systemd(void)
{
	struct timeval tv = { .tv_usec = 100000 };

	CHECK_INT_EQ(unsetenv("NOTIFY_SOCKET"), 0);
	service_notify_ready();
	service_notify_stopping();
	CHECK_INT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
		     0);
	CHECK_STR_EQ(manager_receive(), "");

	/* a socket that is gone: a warning, and herald goes on */
	CHECK_INT_EQ(setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1), 0);
	service_notify_ready();
	CHECK_INT_EQ(unsetenv("NOTIFY_SOCKET"), 0);
}

int main(void)
{
	log_configure(LOG_ERROR, LOG_FORMAT_TEXT);
	manager_open();
	RUN(test_ready_and_stopping);
	RUN(test_without_systemd);
	close(fd);
	unlink(path);
	rmdir(dir);
	return check_exit_code();
}
