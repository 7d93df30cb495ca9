/*
 * service_notify — tells the service manager how herald is doing: READY=1
 * once the listener and the Redis bridge are set up, STOPPING=1 when the
 * drain starts (systemd's Type=notify, dist/herald.service).
 *
 * A thin wrapper over libsystemd's sd_notify(): without NOTIFY_SOCKET in the
 * environment (herald not started by systemd) each call does nothing, so
 * herald runs the same anywhere. Main thread; no state of its own.
 */
#ifndef HERALD_SERVICE_NOTIFY_H
#define HERALD_SERVICE_NOTIFY_H

/* herald accepts connections: READY=1. */
void service_notify_ready(void);

/* herald has begun its graceful drain: STOPPING=1. */
void service_notify_stopping(void);

#endif
