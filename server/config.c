/*
 * config — see config.h.
 *
 * One table lists every flag with its kind, default, range and help text;
 * --help, the environment lookup and validation are all driven by it, so a
 * new flag is one row plus one line in config_apply().
 */
#include "config.h"
#include "names.h"

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The one version string is the Makefile's VERSION; builds outside the
 * Makefile (the fuzz targets) say so instead. */
#ifndef HERALD_VERSION
#define HERALD_VERSION "unknown (not built by make)"
#endif

enum option_kind { OPT_TEXT, OPT_NUMBER, OPT_CHOICE };

struct option_def {
	const char *name;
	enum option_kind kind;
	const char *def;
	long min, max; /* OPT_NUMBER range */
	const char *help;
};

static const struct option_def options[] = {
	{ "host", OPT_TEXT, "0.0.0.0", 0, 0, "listen address" },
	{ "port", OPT_NUMBER, "8080", 1, 65535, "listen port" },
	{ "web-root", OPT_TEXT, "./web", 0, 0,
	  "dashboard files served at / (none disables)" },
	{ "redis-url", OPT_TEXT, "redis://127.0.0.1:6379", 0, 0,
	  "redis://[:password@]host:port[/db], unix:///path, or none" },
	{ "redis-prefix", OPT_TEXT, "herald:", 0, 0, "Redis channel prefix" },
	{ "node-id", OPT_TEXT, "", 0, 0,
	  "this node's id in messages and logs (default host name + pid)" },
	{ "api-key", OPT_TEXT, "", 0, 0,
	  "bearer key for POST /api/publish (unset: loopback callers only)" },
	{ "token-secret", OPT_TEXT, "", 0, 0,
	  "HS256 secret; when set, every connection needs a token" },
	{ "allowed-origins", OPT_TEXT, "", 0, 0,
	  "comma-separated exact origins browsers may connect from (unset: all)" },
	{ "tls-cert", OPT_TEXT, "", 0, 0,
	  "PEM certificate chain; with --tls-key, serve wss:// and https://" },
	{ "tls-key", OPT_TEXT, "", 0, 0, "PEM private key for --tls-cert" },
	{ "rate-limit", OPT_NUMBER, "100", 0, 1000000,
	  "messages per second per session, burst 2x (0 disables)" },
	{ "rate-limit-bytes", OPT_NUMBER, "262144", 0, 1L << 40,
	  "bytes per second per session of client messages, burst 2x "
	  "(0 disables)" },
	{ "fanout-limit", OPT_NUMBER, "67108864", 0, 1L << 50,
	  "bytes x recipients per second per sender of broadcast, send and "
	  "publish, burst 2x (0 disables)" },
	{ "max-message-size", OPT_NUMBER, "65536", 16, 64L * 1024 * 1024,
	  "largest client message in bytes, after reassembly" },
	{ "max-queue", OPT_NUMBER, "1048576", 1024, 1024L * 1024 * 1024,
	  "bytes of unsent frames per session before it is a slow consumer" },
	{ "max-connections", OPT_NUMBER, "100000", 1, 10000000,
	  "sessions per node (fewer when the open-files limit is lower)" },
	{ "memory-budget", OPT_TEXT, "auto", 0, 0,
	  "bytes of unsent frames of all sessions together; past it the "
	  "sessions holding the most are closed (1013), past 3/4 of it new "
	  "messages are refused (auto: 1/4 of physical memory, at most 4 GiB)" },
	{ "read-buffer", OPT_NUMBER, "128", 128, 65536,
	  "bytes read at a time and kept per session (memory vs large messages)" },
	{ "heartbeat", OPT_NUMBER, "25", 1, 3600,
	  "seconds between pings to an idle session" },
	{ "history-size", OPT_NUMBER, "100", 0, 100000,
	  "messages kept per channel for resume (0 disables history)" },
	{ "history-ttl", OPT_NUMBER, "300", 1, 30L * 24 * 3600,
	  "seconds a channel's history is kept after its last message" },
	{ "workers", OPT_TEXT, "", 0, 0,
	  "event loops (threads) sharing the port, 1 to 64" },
	{ "log-level", OPT_CHOICE, "info", 0, 0, "error, warn, info or debug" },
	{ "log-format", OPT_CHOICE, "text", 0, 0, "text or json" },
};

#define OPTION_COUNT (sizeof(options) / sizeof(options[0]))

/* The default as --help shows it. */
static const char *default_text(const struct option_def *o)
{
	if (!strcmp(o->name, "node-id"))
		return "host name + pid";
	if (!strcmp(o->name, "workers"))
		return "the number of cores";
	if (!strcmp(o->name, "web-root")) /* config_default_web_root() */
		return "./web, else <prefix>/share/herald/web when installed";
	return o->def[0] ? o->def : "unset";
}

static void config_usage(FILE *out)
{
	fprintf(out,
		"Usage: herald [--flag value | --flag=value]...\n"
		"herald is a real-time WebSocket server: clients connect to "
		"/ws/<client_id>.\n\nFlags (environment variable in brackets):\n");
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		char env[64], *p;

		snprintf(env, sizeof(env), "HERALD_%s", options[i].name);
		for (p = env; *p; p++)
			*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
		fprintf(out, "  --%-18s %s\n  %-20s [%s] default: %s\n",
			options[i].name, options[i].help, "", env,
			default_text(&options[i]));
	}
	fprintf(out, "  --%-18s show this help and exit\n", "help");
	fprintf(out, "  --%-18s print the version and exit\n", "version");
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int config_parse_redis_url(const char *url, struct redis_target *out,
			   char *err, size_t errlen)
{
	const char *p, *at, *host, *colon, *slash;
	long port = 6379, db = 0;
	char num[16];
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!strcmp(url, "none")) {
		out->kind = REDIS_NONE;
		return 0;
	}
	if (!strncmp(url, "unix://", 7)) {
		p = url + 7;
		n = strlen(p);
		if (p[0] != '/' || n >= sizeof(out->path)) {
			snprintf(err, errlen, "expected unix:///absolute/path");
			return -1;
		}
		out->kind = REDIS_UNIX;
		memcpy(out->path, p, n + 1);
		return 0;
	}
	if (strncmp(url, "redis://", 8)) {
		snprintf(err, errlen,
			 "expected redis://[:password@]host:port[/db], "
			 "unix:///path or none");
		return -1;
	}
	p = url + 8;
	at = strrchr(p, '@');
	if (at) {
		/* userinfo is ":password" (Redis 5 style) or "user:password"
		 * (a Redis 6 ACL user) */
		const char *pw = memchr(p, ':', (size_t)(at - p));
		size_t ulen = pw ? (size_t)(pw - p) : 0;

		pw = pw ? pw + 1 : p;
		n = (size_t)(at - pw);
		if (!n || n >= sizeof(out->password) ||
		    ulen >= sizeof(out->username)) {
			snprintf(err, errlen, "bad user or password in URL");
			return -1;
		}
		memcpy(out->username, p, ulen);
		out->username[ulen] = '\0';
		memcpy(out->password, pw, n);
		out->password[n] = '\0';
		p = at + 1;
	}
	host = p;
	slash = strchr(host, '/');
	colon = memchr(host, ':', slash ? (size_t)(slash - host) : strlen(host));
	n = colon ? (size_t)(colon - host)
		  : (slash ? (size_t)(slash - host) : strlen(host));
	if (!n || n >= sizeof(out->host)) {
		snprintf(err, errlen, "missing or too long host");
		return -1;
	}
	memcpy(out->host, host, n);
	out->host[n] = '\0';
	if (colon) {
		size_t len = slash ? (size_t)(slash - colon - 1)
				   : strlen(colon + 1);

		if (len >= sizeof(num)) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
		memcpy(num, colon + 1, len);
		num[len] = '\0';
		if (parse_long(num, 1, 65535, &port)) {
			snprintf(err, errlen, "bad port");
			return -1;
		}
	}
	if (slash && slash[1] && parse_long(slash + 1, 0, 15, &db)) {
		snprintf(err, errlen, "bad database number (0-15)");
		return -1;
	}
	out->kind = REDIS_TCP;
	out->port = (int)port;
	out->db = (int)db;
	return 0;
}

/* Validates one value and stores it; returns 0 or -1 with err filled. */
static int config_apply(struct config *cfg, const struct option_def *o,
			const char *v, char *err, size_t errlen)
{
	const char *name = o->name;
	char why[160] = "";
	long num = 0;

	if (o->kind == OPT_NUMBER && parse_long(v, o->min, o->max, &num)) {
		snprintf(why, sizeof(why), "expected an integer from %ld to %ld",
			 o->min, o->max);
		goto fail;
	}

	if (!strcmp(name, "host")) {
		if (!*v || strlen(v) > 255) {
			snprintf(why, sizeof(why), "expected an address");
			goto fail;
		}
		cfg->host = v;
	} else if (!strcmp(name, "port")) {
		cfg->port = (int)num;
	} else if (!strcmp(name, "web-root")) {
		if (!*v) {
			snprintf(why, sizeof(why), "expected a directory or none");
			goto fail;
		}
		cfg->web_root = strcmp(v, "none") ? v : NULL;
	} else if (!strcmp(name, "redis-url")) {
		if (config_parse_redis_url(v, &cfg->redis, why, sizeof(why)))
			goto fail_quiet_value;
		cfg->redis_url = v;
	} else if (!strcmp(name, "redis-prefix")) {
		size_t n = strlen(v);

		if (!n || n > 64 || strpbrk(v, " \t\r\n*?[]\\")) {
			snprintf(why, sizeof(why),
				 "expected 1-64 characters without spaces or "
				 "glob characters");
			goto fail;
		}
		cfg->redis_prefix = v;
	} else if (!strcmp(name, "node-id")) {
		if (*v && !names_valid_client_id(v, strlen(v))) {
			snprintf(why, sizeof(why),
				 "expected 1-64 characters of [A-Za-z0-9_.:@-]");
			goto fail;
		}
		snprintf(cfg->node_id, sizeof(cfg->node_id), "%s", v);
	} else if (!strcmp(name, "api-key")) {
		if (strlen(v) > 256) {
			snprintf(err, errlen, "invalid value for --api-key "
				 "(at most 256 characters)");
			return -1;
		}
		cfg->api_key = *v ? v : NULL;
	} else if (!strcmp(name, "token-secret")) {
		if (*v && strlen(v) < 16) {
			/* name the flag, never echo a secret */
			snprintf(err, errlen, "invalid value for --token-secret "
				 "(at least 16 characters)");
			return -1;
		}
		cfg->token_secret = *v ? v : NULL;
	} else if (!strcmp(name, "allowed-origins")) {
		if (strlen(v) > 4096 || strpbrk(v, " \t\r\n")) {
			snprintf(why, sizeof(why),
				 "expected comma-separated origins without "
				 "spaces, like https://app.example.com");
			goto fail;
		}
		cfg->allowed_origins = *v ? v : NULL;
	} else if (!strcmp(name, "tls-cert") || !strcmp(name, "tls-key")) {
		if (*v && access(v, R_OK)) {
			snprintf(why, sizeof(why), "cannot read the file");
			goto fail;
		}
		*(!strcmp(name, "tls-cert") ? &cfg->tls_cert : &cfg->tls_key) =
			*v ? v : NULL;
	} else if (!strcmp(name, "rate-limit")) {
		cfg->rate_limit = num;
	} else if (!strcmp(name, "rate-limit-bytes")) {
		cfg->rate_limit_bytes = num;
	} else if (!strcmp(name, "fanout-limit")) {
		cfg->fanout_limit = num;
	} else if (!strcmp(name, "memory-budget")) {
		if (strcmp(v, "auto") &&
		    parse_long(v, 1L << 20, 1L << 50, &cfg->memory_budget)) {
			snprintf(why, sizeof(why),
				 "expected auto or bytes from %ld to %ld",
				 1L << 20, 1L << 50);
			goto fail;
		}
	} else if (!strcmp(name, "max-message-size")) {
		cfg->max_message_size = num;
	} else if (!strcmp(name, "max-queue")) {
		cfg->max_queue = num;
	} else if (!strcmp(name, "max-connections")) {
		cfg->max_connections = num;
		cfg->session_limit = num;
	} else if (!strcmp(name, "read-buffer")) {
		cfg->read_buffer = num;
	} else if (!strcmp(name, "heartbeat")) {
		cfg->heartbeat = (int)num;
	} else if (!strcmp(name, "history-size")) {
		cfg->history_size = (unsigned)num;
	} else if (!strcmp(name, "history-ttl")) {
		cfg->history_ttl = (unsigned)num;
	} else if (!strcmp(name, "workers")) {
		long n = 0;

		if (*v && parse_long(v, 1, CONFIG_WORKERS_MAX, &n)) {
			snprintf(why, sizeof(why),
				 "expected a number of workers from 1 to %d",
				 CONFIG_WORKERS_MAX);
			goto fail;
		}
		cfg->workers = (unsigned)n;
	} else if (!strcmp(name, "log-level")) {
		if (log_level_parse(v, &cfg->log_level)) {
			snprintf(why, sizeof(why),
				 "expected error, warn, info or debug");
			goto fail;
		}
	} else if (!strcmp(name, "log-format")) {
		if (log_format_parse(v, &cfg->log_format)) {
			snprintf(why, sizeof(why), "expected text or json");
			goto fail;
		}
	}
	return 0;

fail:
	snprintf(err, errlen, "invalid value for --%s: '%.64s' (%s)", name, v,
		 why);
	return -1;
fail_quiet_value:
	/* the URL may hold a password: name the flag, not the value */
	snprintf(err, errlen, "invalid value for --%s (%s)", name, why);
	return -1;
}

int config_check_tls(const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const char *flag = NULL;

	if (!ctx) {
		snprintf(err, errlen, "cannot initialise TLS");
		return -1;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
		flag = "tls-cert";
	else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key,
					     SSL_FILETYPE_PEM) != 1 ||
		 SSL_CTX_check_private_key(ctx) != 1)
		flag = "tls-key";
	if (flag)
		snprintf(err, errlen, "invalid value for --%s: '%.128s' (%s)",
			 flag, !strcmp(flag, "tls-cert") ? cfg->tls_cert
							 : cfg->tls_key,
			 !strcmp(flag, "tls-cert")
				 ? "not a PEM certificate chain"
				 : "not the PEM private key of --tls-cert");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return flag ? -1 : 0;
}

int config_origin_allowed(const char *allowlist, const char *origin,
			  size_t len)
{
	const char *p = allowlist;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !memcmp(p, origin, len))
			return 1;
		p += n + (end ? 1 : 0);
	}
	return 0;
}

static const char *env_lookup(char **envp, const char *flag)
{
	char key[64], *p;
	size_t n;

	snprintf(key, sizeof(key), "HERALD_%s=", flag);
	for (p = key; *p; p++)
		*p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	n = strlen(key);
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, key, n))
			return *envp + n;
	return NULL;
}

/*
 * --web-root when neither the flag nor HERALD_WEB_ROOT is given: ./web when
 * that directory exists (a checkout: make run), else the dashboard of an
 * installed herald, share/herald/web under the prefix the binary runs from
 * (<prefix>/bin/herald, found through /proc/self/exe). Relative to the
 * binary rather than compiled in, so one build serves from /usr (the .deb),
 * /usr/local (make install) or a DESTDIR staging tree alike. When neither
 * exists, ./web stays and / answers 404.
 */
static void config_default_web_root(struct config *cfg)
{
	char exe[PATH_MAX], *slash;
	struct stat st;
	ssize_t n;

	if (!stat(cfg->web_root, &st) && S_ISDIR(st.st_mode))
		return;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) { /* <prefix>/bin/herald -> <prefix> */
		slash = strrchr(exe, '/');
		if (!slash)
			return;
		*slash = '\0';
	}
	if ((size_t)snprintf(cfg->installed_web_root,
			     sizeof(cfg->installed_web_root),
			     "%s/share/herald/web", exe) >=
	    sizeof(cfg->installed_web_root))
		return;
	if (!stat(cfg->installed_web_root, &st) && S_ISDIR(st.st_mode))
		cfg->web_root = cfg->installed_web_root;
}

enum config_result config_parse(struct config *cfg, int argc, char **argv,
				char **envp, FILE *out, char *err,
				size_t errlen)
{
	const char *values[OPTION_COUNT];
	const char *sources[OPTION_COUNT];
	char hostname[64];

	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < OPTION_COUNT; i++) {
		const char *env = env_lookup(envp, options[i].name);

		values[i] = env ? env : options[i].def;
		sources[i] = env ? "environment" : NULL;
	}

	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a], *eq, *val;
		size_t i, n;

		if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
			config_usage(out);
			return CONFIG_EXIT_OK;
		}
		if (!strcmp(arg, "--version")) {
			fprintf(out, "herald %s\n", HERALD_VERSION);
			return CONFIG_EXIT_OK;
		}
		if (strncmp(arg, "--", 2)) {
			snprintf(err, errlen, "unexpected argument '%.64s' "
				 "(see --help)", arg);
			return CONFIG_ERROR;
		}
		arg += 2;
		eq = strchr(arg, '=');
		n = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < OPTION_COUNT; i++)
			if (strlen(options[i].name) == n &&
			    !strncmp(options[i].name, arg, n))
				break;
		if (i == OPTION_COUNT) {
			snprintf(err, errlen, "unknown flag --%.*s (see --help)",
				 (int)(n > 64 ? 64 : n), arg);
			return CONFIG_ERROR;
		}
		if (eq) {
			val = eq + 1;
		} else {
			if (a + 1 >= argc) {
				snprintf(err, errlen, "flag --%s needs a value",
					 options[i].name);
				return CONFIG_ERROR;
			}
			val = argv[++a];
		}
		values[i] = val;
		sources[i] = NULL;
	}

	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (config_apply(cfg, &options[i], values[i], err, errlen)) {
			if (sources[i]) {
				size_t used = strlen(err);

				snprintf(err + used, errlen - used,
					 " from the environment");
			}
			return CONFIG_ERROR;
		}

	/* the default itself, not a flag or variable that says "./web" */
	for (size_t i = 0; i < OPTION_COUNT; i++)
		if (values[i] == options[i].def &&
		    !strcmp(options[i].name, "web-root"))
			config_default_web_root(cfg);

	if (!cfg->tls_cert != !cfg->tls_key) {
		snprintf(err, errlen, "invalid value for --%s: --tls-cert and "
			 "--tls-key go together", cfg->tls_cert ? "tls-key"
								: "tls-cert");
		return CONFIG_ERROR;
	}

	if (!cfg->node_id[0]) {
		if (gethostname(hostname, sizeof(hostname)))
			snprintf(hostname, sizeof(hostname), "herald");
		hostname[sizeof(hostname) - 1] = '\0';
		for (char *p = hostname; *p; p++)
			if (!isalnum((unsigned char)*p) && !strchr("_.:@-", *p))
				*p = '-';
		snprintf(cfg->node_id, sizeof(cfg->node_id), "%.40s-%d",
			 hostname, (int)getpid());
	}
	return CONFIG_OK;
}
