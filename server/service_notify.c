/*
 * service_notify — see service_notify.h. A failure to notify is logged and
 * otherwise ignored: systemd then times the start out, which is the signal
 * an operator sees, and herald itself keeps serving.
 */
#include "service_notify.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

/* Sends "<state>\nSTATUS=<status>" (the status shows in systemctl status). */
static void service_notify(const char *state, const char *status)
{
	char msg[64];
	int r;

	snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", state, status);
	r = sd_notify(0, msg);
	if (r < 0)
		log_msg(LOG_WARN, "service", "sd_notify %s failed: %s", state,
			strerror(-r));
	else if (r > 0)
		log_msg(LOG_DEBUG, "service", "told the service manager %s",
			state);
}

void service_notify_ready(void)
{
	service_notify("READY=1", "serving");
}

void service_notify_stopping(void)
{
	service_notify("STOPPING=1", "draining");
}
