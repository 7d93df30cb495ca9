/*
 * redis_io — drives a hiredis async context from the worker's lws loop.
 *
 * The Redis socket is adopted into lws as a raw file descriptor (a dup of
 * hiredis's fd, so that each side closes its own), and hiredis's event hooks
 * are filled the way hiredis's own adapters/ do: readable -> HandleRead,
 * writable -> HandleWrite, addWrite -> lws_callback_on_writable.
 */
#ifndef HERALD_REDIS_IO_H
#define HERALD_REDIS_IO_H

#include <hiredis/async.h>
#include <libwebsockets.h>

#define REDIS_IO_PROTOCOL_NAME "herald-redis"

extern const struct lws_protocols redis_io_protocol;

/*
 * Hooks ac into vhost's event loop. Returns 0, or -1 (nothing attached; the
 * caller still owns ac and should redisAsyncFree() it). Once attached,
 * hiredis's cleanup hook detaches it again whenever ac is freed, for any
 * reason, and then calls on_gone(arg) exactly once: the one place the owner
 * learns that ac no longer exists.
 */
int redis_io_attach(struct lws_vhost *vhost, redisAsyncContext *ac,
		    void (*on_gone)(void *arg), void *arg);

#endif
