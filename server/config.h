/*
 * config — herald's settings from flags and HERALD_* environment (README.md, "Flags").
 *
 * Each flag --some-name has an environment variable HERALD_SOME_NAME; a flag
 * wins over the environment, which wins over the default. A bad value is
 * refused with a one-line message naming the flag. Parsed once on the main
 * thread before any worker starts; read-only afterwards. Strings point into
 * argv/environ or static storage, or into the struct itself.
 */
#ifndef HERALD_CONFIG_H
#define HERALD_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "log.h"

enum redis_kind { REDIS_NONE = 0, REDIS_TCP, REDIS_UNIX };

/* A parsed --redis-url. */
struct redis_target {
	enum redis_kind kind;
	char host[256];
	int port;
	char path[108];     /* unix socket path */
	char username[128]; /* Redis 6 ACL user; empty: AUTH <password> only */
	char password[256]; /* empty: no AUTH */
	int db;             /* SELECT when > 0 */
};

struct config {
	const char *host;
	int port;
	const char *web_root;   /* NULL when "none" */
	char installed_web_root[4096]; /* the default when ./web is absent */
	const char *redis_url;  /* as given; never logged with its password */
	struct redis_target redis;
	const char *redis_prefix;
	const char *api_key;    /* NULL: loopback callers may publish */
	const char *token_secret;    /* NULL: no token needed */
	const char *allowed_origins; /* NULL: every origin; else "a,b,c" */
	const char *tls_cert;        /* both NULL, or both set */
	const char *tls_key;
	long rate_limit;             /* messages/s per session; 0: off */
	long rate_limit_bytes;       /* bytes/s per session; 0: off */
	long fanout_limit;           /* bytes x recipients/s per sender; 0: off */
	long memory_budget;          /* bytes queued in all; 0: auto until
					main.c sets it (fit_memory_budget) */
	char node_id[128];
	long max_message_size;
	long max_queue;
	long max_connections;
	long session_limit;          /* what admission lets in: set by main.c
					from --max-connections and the
					open-files limit (fit_fd_limit) */
	long read_buffer;            /* lws rx buffer per session, >= 128 */
	int heartbeat;
	unsigned workers;            /* event loops; 0 until main.c sets the
					default (the number of cores) */
	unsigned history_size;       /* entries per channel; 0: no history */
	unsigned history_ttl;        /* seconds */
	enum log_level log_level;
	enum log_format log_format;
};

/* --workers at most */
#define CONFIG_WORKERS_MAX 64

enum config_result { CONFIG_OK = 0, CONFIG_EXIT_OK = 1, CONFIG_ERROR = 2 };

/*
 * Fills cfg from argv and envp. Returns CONFIG_OK; CONFIG_EXIT_OK after
 * printing --help or --version to out; CONFIG_ERROR with a one-line reason
 * in err.
 */
enum config_result config_parse(struct config *cfg, int argc, char **argv,
				char **envp, FILE *out, char *err,
				size_t errlen);

/* Loads --tls-cert and --tls-key with OpenSSL to refuse a bad pair at
 * start; returns 0 or -1 with a reason naming the flag in err. */
int config_check_tls(const struct config *cfg, char *err, size_t errlen);

/* Whether origin (len bytes) is in the comma-separated allowlist. */
int config_origin_allowed(const char *allowlist, const char *origin,
			  size_t len);

/* Parses a --redis-url value; returns 0 or -1 with a reason in err. */
int config_parse_redis_url(const char *url, struct redis_target *out,
			   char *err, size_t errlen);

#endif
