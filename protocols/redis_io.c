/*
 * redis_io — see redis_io.h.
 *
 * Ownership: struct redis_io is allocated by redis_io_attach() and freed by
 * hiredis's cleanup hook (when the async context is freed), or after the
 * read/write dispatch that triggered that cleanup returns. The lws wsi is
 * closed by lws: we ask for an asynchronous kill, or return -1 from the
 * callback we are in. If lws closes the wsi first (hang-up, context
 * teardown), the async context is freed there, which reports the
 * disconnect to its owner.
 *
 * Thread: the worker's lws service thread.
 */
#include "redis_io.h"
#include "log.h"

#include <stdlib.h>
#include <unistd.h>

struct redis_io {
	struct lws *wsi;
	redisAsyncContext *ac;
	int in_dispatch; /* inside HandleRead/HandleWrite for this wsi */
	int dead;        /* cleaned up while in_dispatch: free after */
	void (*on_gone)(void *arg);
	void *arg;
};

static void redis_io_add_write(void *privdata)
{
	struct redis_io *io = privdata;

	if (io->wsi)
		lws_callback_on_writable(io->wsi);
}

static void redis_io_noop(void *privdata)
{
	(void)privdata; /* reading is always on; writes are one-shot in lws */
}

static void redis_io_cleanup(void *privdata)
{
	struct redis_io *io = privdata;

	io->ac = NULL;
	io->on_gone(io->arg);
	if (io->wsi) {
		lws_set_opaque_user_data(io->wsi, NULL);
		if (!io->in_dispatch)
			lws_set_timeout(io->wsi, PENDING_TIMEOUT_USER_OK,
					LWS_TO_KILL_ASYNC);
	}
	if (io->in_dispatch)
		io->dead = 1; /* the dispatcher frees it and closes the wsi */
	else
		free(io);
}

int redis_io_attach(struct lws_vhost *vhost, redisAsyncContext *ac,
		    void (*on_gone)(void *arg), void *arg)
{
	lws_sock_file_fd_type fd;
	struct redis_io *io = calloc(1, sizeof(*io));

	if (!io)
		return -1;
	fd.filefd = dup(ac->c.fd);
	if (fd.filefd < 0) {
		free(io);
		return -1;
	}
	io->ac = ac;
	io->on_gone = on_gone;
	io->arg = arg;
	io->wsi = lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, fd,
					     REDIS_IO_PROTOCOL_NAME, NULL);
	if (!io->wsi) {
		/* lws closed the dup on failure */
		free(io);
		return -1;
	}
	lws_set_opaque_user_data(io->wsi, io);
	ac->ev.data = io;
	ac->ev.addRead = redis_io_noop;
	ac->ev.delRead = redis_io_noop;
	ac->ev.addWrite = redis_io_add_write;
	ac->ev.delWrite = redis_io_noop;
	ac->ev.cleanup = redis_io_cleanup;
	/* hiredis connects non-blocking: wait for writability to finish it */
	lws_callback_on_writable(io->wsi);
	return 0;
}

/* Runs one hiredis handler; returns -1 when the link died under it. */
static int redis_io_dispatch(struct redis_io *io, int writable)
{
	io->in_dispatch = 1;
	if (writable)
		redisAsyncHandleWrite(io->ac);
	else
		redisAsyncHandleRead(io->ac);
	io->in_dispatch = 0;
	if (io->dead) {
		free(io);
		return -1;
	}
	return 0;
}

static int callback_redis_io(struct lws *wsi, enum lws_callback_reasons reason,
			     void *user, void *in, size_t len)
{
	struct redis_io *io = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return io && io->ac ? redis_io_dispatch(io, 0) : 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return io && io->ac ? redis_io_dispatch(io, 1) : 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (io && io->ac && !io->in_dispatch) {
			/* lws dropped the fd (hang-up, teardown): free the
			 * context so its owner hears of the disconnect */
			io->wsi = NULL;
			lws_set_opaque_user_data(wsi, NULL);
			redisAsyncFree(io->ac);
		}
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols redis_io_protocol = {
	.name = REDIS_IO_PROTOCOL_NAME,
	.callback = callback_redis_io,
};
