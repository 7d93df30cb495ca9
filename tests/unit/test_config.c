/*
 * Unit tests for server/config.c: defaults, flags (--x v and --x=v), the
 * HERALD_* environment, precedence, every numeric range bound, refusals and
 * their one-line reasons, --help, and --redis-url parsing.
 */
#include "check.h"
#include "config.h"
#include "names.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct config cfg;
static char err[512];

/*
 * config_parse() over "herald" + args and the given environment (both
 * NULL-terminated lists of string literals, which outlive cfg). Output goes
 * to a memory stream; anything written there is returned in *outp when
 * outp is given (caller frees), else it must be empty.
 */
static enum config_result run(const char *const *args, const char *const *env,
			      char **outp)
{
	char *argv[64], *out_text = NULL;
	size_t out_len = 0;
	int argc = 0;
	FILE *out = open_memstream(&out_text, &out_len);
	enum config_result r;

	argv[argc++] = "herald";
	for (; args && *args; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	err[0] = '\0';
	r = config_parse(&cfg, argc, argv, (char **)env, out, err, sizeof(err));
	fclose(out);
	if (outp) {
		*outp = out_text;
	} else {
		CHECK_INT_EQ(out_len, 0);
		free(out_text);
	}
	return r;
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_ARGS ((const char *const *)NULL)
#define NO_ENV ((const char *const[]){ NULL })

/* Parses, expects CONFIG_ERROR with err containing needle. */
#define CHECK_REFUSED(args, env, needle)                    \
	do {                                                \
		CHECK_INT_EQ(run((args), (env), NULL), CONFIG_ERROR); \
		CHECK_CONTAINS(err, (needle));              \
		CHECK(strchr(err, '\n') == NULL);           \
	} while (0)

static void test_defaults(void)
{
	CHECK_INT_EQ(run(NO_ARGS, NO_ENV, NULL), CONFIG_OK);
	CHECK_STR_EQ(cfg.host, "0.0.0.0");
	CHECK_INT_EQ(cfg.port, 8080);
	CHECK_STR_EQ(cfg.web_root, "./web");
	CHECK_STR_EQ(cfg.redis_url, "redis://127.0.0.1:6379");
	CHECK_INT_EQ(cfg.redis.kind, REDIS_TCP);
	CHECK_STR_EQ(cfg.redis.host, "127.0.0.1");
	CHECK_INT_EQ(cfg.redis.port, 6379);
	CHECK_INT_EQ(cfg.redis.db, 0);
	CHECK_STR_EQ(cfg.redis.password, "");
	CHECK_STR_EQ(cfg.redis_prefix, "herald:");
	CHECK(cfg.api_key == NULL);
	CHECK_INT_EQ(cfg.max_message_size, 65536);
	CHECK_INT_EQ(cfg.max_queue, 1048576);
	CHECK_INT_EQ(cfg.max_connections, 100000);
	CHECK_INT_EQ(cfg.read_buffer, 128);
	CHECK_INT_EQ(cfg.heartbeat, 25);
	CHECK_INT_EQ(cfg.log_level, LOG_INFO);
	CHECK_INT_EQ(cfg.log_format, LOG_FORMAT_TEXT);

	/* a NULL environment is an empty one */
	CHECK_INT_EQ(run(NO_ARGS, NULL, NULL), CONFIG_OK);
	CHECK_INT_EQ(cfg.port, 8080);
}

static void test_default_node_id(void)
{
	char suffix[32];
	size_t n, sn;

	CHECK_INT_EQ(run(NO_ARGS, NO_ENV, NULL), CONFIG_OK);
	n = strlen(cfg.node_id);
	CHECK(n > 0);
	CHECK(names_valid_client_id(cfg.node_id, n));
	/* host name + pid */
	snprintf(suffix, sizeof(suffix), "-%d", (int)getpid());
	sn = strlen(suffix);
	CHECK(n > sn && !strcmp(cfg.node_id + n - sn, suffix));

	CHECK_INT_EQ(run(ARGS("--node-id", "node-a"), NO_ENV, NULL), CONFIG_OK);
	CHECK_STR_EQ(cfg.node_id, "node-a");
	/* an empty value means "compute it" */
	CHECK_INT_EQ(run(ARGS("--node-id="), NO_ENV, NULL), CONFIG_OK);
	CHECK(cfg.node_id[0] != '\0');
	CHECK(names_valid_client_id(cfg.node_id, strlen(cfg.node_id)));
	CHECK_REFUSED(ARGS("--node-id=a b"), NO_ENV, "--node-id");
	CHECK_REFUSED(ARGS("--node-id=a/b"), NO_ENV, "--node-id");
}

static void test_flags_both_forms(void)
{
	CHECK_INT_EQ(run(ARGS("--host", "127.0.0.1", "--port", "9001",
			      "--web-root", "/srv/www", "--redis-url", "none",
			      "--redis-prefix", "hx:", "--node-id", "n1",
			      "--api-key", "k3y", "--max-message-size", "1000",
			      "--max-queue", "4096", "--max-connections", "10",
			      "--heartbeat", "5", "--log-level", "debug",
			      "--log-format", "json"),
		     NO_ENV, NULL),
		     CONFIG_OK);
	CHECK_STR_EQ(cfg.host, "127.0.0.1");
	CHECK_INT_EQ(cfg.port, 9001);
	CHECK_STR_EQ(cfg.web_root, "/srv/www");
	CHECK_STR_EQ(cfg.redis_url, "none");
	CHECK_INT_EQ(cfg.redis.kind, REDIS_NONE);
	CHECK_STR_EQ(cfg.redis_prefix, "hx:");
	CHECK_STR_EQ(cfg.node_id, "n1");
	CHECK_STR_EQ(cfg.api_key, "k3y");
	CHECK_INT_EQ(cfg.max_message_size, 1000);
	CHECK_INT_EQ(cfg.max_queue, 4096);
	CHECK_INT_EQ(cfg.max_connections, 10);
	CHECK_INT_EQ(cfg.heartbeat, 5);
	CHECK_INT_EQ(cfg.log_level, LOG_DEBUG);
	CHECK_INT_EQ(cfg.log_format, LOG_FORMAT_JSON);

	CHECK_INT_EQ(run(ARGS("--host=::1", "--port=9002", "--web-root=none",
			      "--redis-url=redis://r:7000/2",
			      "--heartbeat=60", "--log-level=error",
			      "--api-key=a=b"),
		     NO_ENV, NULL),
		     CONFIG_OK);
	CHECK_STR_EQ(cfg.host, "::1");
	CHECK_INT_EQ(cfg.port, 9002);
	CHECK(cfg.web_root == NULL); /* "none" disables the dashboard */
	CHECK_INT_EQ(cfg.redis.kind, REDIS_TCP);
	CHECK_STR_EQ(cfg.redis.host, "r");
	CHECK_INT_EQ(cfg.redis.port, 7000);
	CHECK_INT_EQ(cfg.redis.db, 2);
	CHECK_INT_EQ(cfg.heartbeat, 60);
	CHECK_INT_EQ(cfg.log_level, LOG_ERROR);
	CHECK_STR_EQ(cfg.api_key, "a=b"); /* split at the first '=' only */

	/* the last of a repeated flag wins */
	CHECK_INT_EQ(run(ARGS("--port", "1", "--port=2"), NO_ENV, NULL),
		     CONFIG_OK);
	CHECK_INT_EQ(cfg.port, 2);
	/* an empty api key is no api key */
	CHECK_INT_EQ(run(ARGS("--api-key="), NO_ENV, NULL), CONFIG_OK);
	CHECK(cfg.api_key == NULL);
}

static void test_environment(void)
{
	CHECK_INT_EQ(run(NO_ARGS,
			 ARGS("PATH=/bin", "HERALD_PORT=9000",
			      "HERALD_MAX_QUEUE=2048", "HERALD_WEB_ROOT=none",
			      "HERALD_REDIS_URL=unix:///tmp/r.sock",
			      "HERALD_LOG_LEVEL=warn", "HERALD_NODE_ID=env-node",
			      "HERALD_API_KEY=sekrit",
			      "HERALD_MAX_MESSAGE_SIZE=100"),
			 NULL),
		     CONFIG_OK);
	CHECK_INT_EQ(cfg.port, 9000);
	CHECK_INT_EQ(cfg.max_queue, 2048);
	CHECK(cfg.web_root == NULL);
	CHECK_INT_EQ(cfg.redis.kind, REDIS_UNIX);
	CHECK_STR_EQ(cfg.redis.path, "/tmp/r.sock");
	CHECK_INT_EQ(cfg.log_level, LOG_WARN);
	CHECK_STR_EQ(cfg.node_id, "env-node");
	CHECK_STR_EQ(cfg.api_key, "sekrit");
	CHECK_INT_EQ(cfg.max_message_size, 100);

	/* only the exact variable counts */
	CHECK_INT_EQ(run(NO_ARGS,
			 ARGS("HERALD_PORTX=1", "XHERALD_PORT=2",
			      "herald_port=3", "HERALD_PORT"),
			 NULL),
		     CONFIG_OK);
	CHECK_INT_EQ(cfg.port, 8080);
}

static void test_flag_beats_environment(void)
{
	CHECK_INT_EQ(run(ARGS("--port", "9001"), ARGS("HERALD_PORT=9000"), NULL),
		     CONFIG_OK);
	CHECK_INT_EQ(cfg.port, 9001);
	CHECK_INT_EQ(run(ARGS("--log-level=debug"),
			 ARGS("HERALD_LOG_LEVEL=error"), NULL),
		     CONFIG_OK);
	CHECK_INT_EQ(cfg.log_level, LOG_DEBUG);
	/* a bad environment value a flag replaces is never looked at */
	CHECK_INT_EQ(run(ARGS("--heartbeat=7"), ARGS("HERALD_HEARTBEAT=oops"),
			 NULL),
		     CONFIG_OK);
	CHECK_INT_EQ(cfg.heartbeat, 7);
	/* and a bad flag over a good environment value is the flag's fault */
	CHECK_REFUSED(ARGS("--port=0"), ARGS("HERALD_PORT=9000"), "--port");
	CHECK_NOT_CONTAINS(err, "environment");
}

/* The numeric field of cfg a flag sets. */
static long numeric(const char *flag)
{
	if (!strcmp(flag, "port"))
		return cfg.port;
	if (!strcmp(flag, "max-message-size"))
		return cfg.max_message_size;
	if (!strcmp(flag, "max-queue"))
		return cfg.max_queue;
	if (!strcmp(flag, "max-connections"))
		return cfg.max_connections;
	if (!strcmp(flag, "read-buffer"))
		return cfg.read_buffer;
	if (!strcmp(flag, "heartbeat"))
		return cfg.heartbeat;
	return -12345;
}

static void test_numeric_ranges(void)
{
	static const struct {
		const char *flag;
		long min, max;
	} ranges[] = {
		{ "port", 1, 65535 },
		{ "max-message-size", 16, 64L * 1024 * 1024 },
		{ "max-queue", 1024, 1024L * 1024 * 1024 },
		{ "max-connections", 1, 10000000 },
		{ "read-buffer", 128, 65536 },
		{ "heartbeat", 1, 3600 },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const char *flag = ranges[i].flag;
		long min = ranges[i].min, max = ranges[i].max;
		char arg[4][64], want[128];
		const long vals[4] = { min - 1, min, max, max + 1 };

		for (int k = 0; k < 4; k++)
			snprintf(arg[k], sizeof(arg[k]), "--%s=%ld", flag,
				 vals[k]);
		snprintf(want, sizeof(want), "expected an integer from %ld to %ld",
			 min, max);

		CHECK_INT_EQ(run(ARGS(arg[0]), NO_ENV, NULL), CONFIG_ERROR);
		CHECK_CONTAINS(err, flag);
		CHECK_CONTAINS(err, want);
		CHECK_INT_EQ(run(ARGS(arg[1]), NO_ENV, NULL), CONFIG_OK);
		CHECK_INT_EQ(numeric(flag), min);
		CHECK_INT_EQ(run(ARGS(arg[2]), NO_ENV, NULL), CONFIG_OK);
		CHECK_INT_EQ(numeric(flag), max);
		CHECK_INT_EQ(run(ARGS(arg[3]), NO_ENV, NULL), CONFIG_ERROR);
		CHECK_CONTAINS(err, flag);
		CHECK_CONTAINS(err, want);
	}
}

static void test_non_numeric(void)
{
	static const char *const bad[] = { "abc", "12x", "", " 5", "5 ",
					   "0x10", "1e3", "--1", "4.5",
					   "99999999999999999999999" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT_EQ(run(ARGS("--port", bad[i]), NO_ENV, NULL),
			     CONFIG_ERROR);
		CHECK_CONTAINS(err, "invalid value for --port");
		CHECK_INT_EQ(run(ARGS("--heartbeat", bad[i]), NO_ENV, NULL),
			     CONFIG_ERROR);
		CHECK_CONTAINS(err, "--heartbeat");
	}
	CHECK_INT_EQ(run(ARGS("--port=abc"), NO_ENV, NULL), CONFIG_ERROR);
	CHECK_STR_EQ(err, "invalid value for --port: 'abc' (expected an "
			  "integer from 1 to 65535)");
}

static void test_unknown_flags_and_arguments(void)
{
	CHECK_INT_EQ(run(ARGS("--nope"), NO_ENV, NULL), CONFIG_ERROR);
	CHECK_STR_EQ(err, "unknown flag --nope (see --help)");
	CHECK_REFUSED(ARGS("--nope=1"), NO_ENV, "unknown flag --nope ");
	CHECK_REFUSED(ARGS("--Port=1"), NO_ENV, "unknown flag --Port");
	CHECK_REFUSED(ARGS("--por=1"), NO_ENV, "unknown flag --por ");
	CHECK_REFUSED(ARGS("--ports=1"), NO_ENV, "unknown flag --ports");
	CHECK_REFUSED(ARGS("--"), NO_ENV, "unknown flag");
	CHECK_REFUSED(ARGS("-p", "1"), NO_ENV, "unexpected argument '-p'");
	CHECK_REFUSED(ARGS("port"), NO_ENV, "unexpected argument 'port'");
	CHECK_REFUSED(ARGS("--port", "1", "extra"), NO_ENV,
		      "unexpected argument 'extra'");
}

static void test_missing_value(void)
{
	CHECK_INT_EQ(run(ARGS("--port"), NO_ENV, NULL), CONFIG_ERROR);
	CHECK_STR_EQ(err, "flag --port needs a value");
	CHECK_REFUSED(ARGS("--host", "x", "--heartbeat"), NO_ENV,
		      "flag --heartbeat needs a value");
	/* "--x=" is a value, the empty one */
	CHECK_REFUSED(ARGS("--port="), NO_ENV, "invalid value for --port: ''");
	CHECK_REFUSED(ARGS("--host="), NO_ENV, "invalid value for --host");
}

static void test_help(void)
{
	char *out = NULL;

	CHECK_INT_EQ(run(ARGS("--help"), NO_ENV, &out), CONFIG_EXIT_OK);
	CHECK_CONTAINS(out, "Usage: herald");
	CHECK_CONTAINS(out, "--port");
	CHECK_CONTAINS(out, "[HERALD_PORT]");
	CHECK_CONTAINS(out, "--max-message-size");
	CHECK_CONTAINS(out, "[HERALD_MAX_MESSAGE_SIZE]");
	CHECK_CONTAINS(out, "[HERALD_REDIS_URL]");
	CHECK_CONTAINS(out, "--help");
	CHECK_CONTAINS(out, "default: 8080");
	free(out);

	CHECK_INT_EQ(run(ARGS("-h"), NO_ENV, &out), CONFIG_EXIT_OK);
	CHECK_CONTAINS(out, "Usage: herald");
	free(out);

	CHECK_INT_EQ(run(ARGS("--port", "1", "--help"), NO_ENV, &out),
		     CONFIG_EXIT_OK);
	CHECK_CONTAINS(out, "Usage: herald");
	free(out);
}

/*
 * Without ./web the default is <prefix>/share/herald/web beside the binary
 * (tests/ops/install.sh runs an installed herald); this binary, build/tests/,
 * has none, so ./web stays. A given ./web is never replaced.
 */
static void test_default_web_root(void)
{
	char tmpl[] = "/tmp/herald-test-config-XXXXXX", cwd[4096];

	CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
	CHECK(mkdtemp(tmpl) != NULL);
	CHECK_INT_EQ(chdir(tmpl), 0);
	CHECK_INT_EQ(run(NO_ARGS, NO_ENV, NULL), CONFIG_OK);
	CHECK_STR_EQ(cfg.web_root, "./web");
	CHECK_INT_EQ(run(ARGS("--web-root", "./web"), NO_ENV, NULL), CONFIG_OK);
	CHECK_STR_EQ(cfg.web_root, "./web");
	CHECK_INT_EQ(chdir(cwd), 0);
	CHECK_INT_EQ(rmdir(tmpl), 0);

	CHECK_INT_EQ(run(NO_ARGS, ARGS("HERALD_WEB_ROOT=./web"), NULL),
		     CONFIG_OK);
	CHECK_STR_EQ(cfg.web_root, "./web");
}

static void test_version(void)
{
	char *out = NULL;

	CHECK_INT_EQ(run(ARGS("--version"), NO_ENV, &out), CONFIG_EXIT_OK);
	CHECK(!strncmp(out, "herald ", 7));
	CHECK(strchr(out, '\n') == out + strlen(out) - 1);
	free(out);

	CHECK_INT_EQ(run(ARGS("--help"), NO_ENV, &out), CONFIG_EXIT_OK);
	CHECK_CONTAINS(out, "--version");
	free(out);

	/* a version request answers before any value is checked */
	CHECK_INT_EQ(run(ARGS("--version"), ARGS("HERALD_PORT=0"), &out),
		     CONFIG_EXIT_OK);
	free(out);
}

static void test_environment_errors_say_so(void)
{
	CHECK_INT_EQ(run(NO_ARGS, ARGS("HERALD_PORT=0"), NULL), CONFIG_ERROR);
	CHECK_STR_EQ(err, "invalid value for --port: '0' (expected an integer "
			  "from 1 to 65535) from the environment");
	CHECK_REFUSED(NO_ARGS, ARGS("HERALD_LOG_FORMAT=xml"), "--log-format");
	CHECK_CONTAINS(err, "environment");
	CHECK_REFUSED(NO_ARGS, ARGS("HERALD_REDIS_URL=http://x"), "--redis-url");
	CHECK_CONTAINS(err, "environment");
	CHECK_REFUSED(NO_ARGS, ARGS("HERALD_MAX_QUEUE=1023"), "--max-queue");
	CHECK_CONTAINS(err, "environment");
}

static void test_text_values(void)
{
	static char long_key[300], long_prefix[80];

	CHECK_REFUSED(ARGS("--web-root="), NO_ENV, "--web-root");
	CHECK_REFUSED(ARGS("--log-level=verbose"), NO_ENV, "--log-level");
	CHECK_REFUSED(ARGS("--log-format=xml"), NO_ENV, "--log-format");
	CHECK_INT_EQ(run(ARGS("--log-level=warn"), NO_ENV, NULL), CONFIG_OK);
	CHECK_INT_EQ(cfg.log_level, LOG_WARN);

	memset(long_prefix, 'p', 64);
	CHECK_INT_EQ(run(ARGS("--redis-prefix", long_prefix), NO_ENV, NULL),
		     CONFIG_OK);
	CHECK_STR_EQ(cfg.redis_prefix, long_prefix);
	long_prefix[64] = 'p';
	CHECK_REFUSED(ARGS("--redis-prefix", long_prefix), NO_ENV,
		      "--redis-prefix");
	CHECK_REFUSED(ARGS("--redis-prefix="), NO_ENV, "--redis-prefix");
	CHECK_REFUSED(ARGS("--redis-prefix=a b"), NO_ENV, "--redis-prefix");
	CHECK_REFUSED(ARGS("--redis-prefix=a*"), NO_ENV, "--redis-prefix");
	CHECK_REFUSED(ARGS("--redis-prefix=a?"), NO_ENV, "--redis-prefix");
	CHECK_REFUSED(ARGS("--redis-prefix=a[b]"), NO_ENV, "--redis-prefix");

	/* the api key: at most 256 characters, never echoed back */
	memset(long_key, 'K', 256);
	CHECK_INT_EQ(run(ARGS("--api-key", long_key), NO_ENV, NULL), CONFIG_OK);
	CHECK_INT_EQ(strlen(cfg.api_key), 256);
	long_key[256] = 'K';
	CHECK_REFUSED(ARGS("--api-key", long_key), NO_ENV, "--api-key");
	CHECK_NOT_CONTAINS(err, "KKKK");
}

/* ---- --redis-url ---- */

static struct redis_target rt;
static char rerr[200];

static int url(const char *u)
{
	rerr[0] = '\0';
	return config_parse_redis_url(u, &rt, rerr, sizeof(rerr));
}

static void test_redis_url_forms(void)
{
	CHECK_INT_EQ(url("none"), 0);
	CHECK_INT_EQ(rt.kind, REDIS_NONE);

	CHECK_INT_EQ(url("redis://h:1/2"), 0);
	CHECK_INT_EQ(rt.kind, REDIS_TCP);
	CHECK_STR_EQ(rt.host, "h");
	CHECK_INT_EQ(rt.port, 1);
	CHECK_INT_EQ(rt.db, 2);
	CHECK_STR_EQ(rt.password, "");

	CHECK_INT_EQ(url("redis://:pw@h:6380/3"), 0);
	CHECK_INT_EQ(rt.kind, REDIS_TCP);
	CHECK_STR_EQ(rt.password, "pw");
	CHECK_STR_EQ(rt.host, "h");
	CHECK_INT_EQ(rt.port, 6380);
	CHECK_INT_EQ(rt.db, 3);

	CHECK_INT_EQ(url("redis://user:pw@h"), 0);
	CHECK_STR_EQ(rt.username, "user"); /* a Redis 6 ACL user: AUTH user pw */
	CHECK_STR_EQ(rt.password, "pw");
	CHECK_STR_EQ(rt.host, "h");
	CHECK_INT_EQ(rt.port, 6379); /* the default port */
	CHECK_INT_EQ(rt.db, 0);

	CHECK_INT_EQ(url("redis://:p@ss:w@h:7/15"), 0); /* last '@' splits */
	CHECK_STR_EQ(rt.password, "p@ss:w");
	CHECK_STR_EQ(rt.host, "h");
	CHECK_INT_EQ(rt.port, 7);
	CHECK_INT_EQ(rt.db, 15);

	CHECK_INT_EQ(url("redis://h:65535/0"), 0);
	CHECK_INT_EQ(rt.port, 65535);
	CHECK_INT_EQ(rt.db, 0);
	CHECK_INT_EQ(url("redis://h/"), 0); /* an empty db is db 0 */
	CHECK_INT_EQ(rt.db, 0);
	CHECK_INT_EQ(rt.port, 6379);

	CHECK_INT_EQ(url("unix:///tmp/r.sock"), 0);
	CHECK_INT_EQ(rt.kind, REDIS_UNIX);
	CHECK_STR_EQ(rt.path, "/tmp/r.sock");
	CHECK_STR_EQ(rt.host, ""); /* nothing left over from before */
}

static void test_redis_url_refusals(void)
{
	static const char *const bad[] = {
		"http://x",	  "redis://h:0",   "redis://h:99999",
		"redis://:@h",	  "redis://h/16",  "redis://h/-1",
		"redis://h/x",	  "redis://h:",	   "redis://h:x",
		"redis://:6379",  "redis://",	   "redis://@h",
		"unix://",	  "unix://tmp/s",  "",
		"REDIS://h",	  "redis://h:1:2", "redis://h:6379/1/2",
	};
	char longpath[200] = "unix:///";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT_EQ(url(bad[i]), -1);
		CHECK(rerr[0] != '\0');
	}
	CHECK_INT_EQ(url("redis://h:0"), -1);
	CHECK_STR_EQ(rerr, "bad port");
	CHECK_INT_EQ(url("redis://h/16"), -1);
	CHECK_STR_EQ(rerr, "bad database number (0-15)");
	CHECK_INT_EQ(url("redis://:@h"), -1);
	CHECK_STR_EQ(rerr, "bad user or password in URL");

	/* a socket path must fit sun_path (108 bytes with its NUL) */
	memset(longpath + 8, 's', 106); /* "/" + 106 = 107 characters */
	CHECK_INT_EQ(url(longpath), 0);
	CHECK_INT_EQ(strlen(rt.path), 107);
	longpath[8 + 106] = 's';
	CHECK_INT_EQ(url(longpath), -1);
}

static void test_redis_url_error_hides_the_password(void)
{
	CHECK_INT_EQ(run(ARGS("--redis-url=redis://:hunter2@h:0"), NO_ENV, NULL),
		     CONFIG_ERROR);
	CHECK_CONTAINS(err, "--redis-url");
	CHECK_CONTAINS(err, "bad port");
	CHECK_NOT_CONTAINS(err, "hunter2");

	CHECK_INT_EQ(run(ARGS("--redis-url", "redis://admin:hunter2@h/16"),
			 NO_ENV, NULL),
		     CONFIG_ERROR);
	CHECK_CONTAINS(err, "--redis-url");
	CHECK_NOT_CONTAINS(err, "hunter2");

	CHECK_INT_EQ(run(NO_ARGS, ARGS("HERALD_REDIS_URL=redis://:hunter2@:1"),
			 NULL),
		     CONFIG_ERROR);
	CHECK_CONTAINS(err, "--redis-url");
	CHECK_CONTAINS(err, "environment");
	CHECK_NOT_CONTAINS(err, "hunter2");

	/* a good URL with a password parses into the struct */
	CHECK_INT_EQ(run(ARGS("--redis-url=redis://:hunter2@db.local:6390/4"),
			 NO_ENV, NULL),
		     CONFIG_OK);
	CHECK_STR_EQ(cfg.redis.password, "hunter2");
	CHECK_STR_EQ(cfg.redis.host, "db.local");
	CHECK_INT_EQ(cfg.redis.port, 6390);
	CHECK_INT_EQ(cfg.redis.db, 4);
}

int main(void)
{
	RUN(test_defaults);
	RUN(test_default_node_id);
	RUN(test_flags_both_forms);
	RUN(test_environment);
	RUN(test_flag_beats_environment);
	RUN(test_numeric_ranges);
	RUN(test_non_numeric);
	RUN(test_unknown_flags_and_arguments);
	RUN(test_missing_value);
	RUN(test_help);
	RUN(test_version);
	RUN(test_default_web_root);
	RUN(test_environment_errors_say_so);
	RUN(test_text_values);
	RUN(test_redis_url_forms);
	RUN(test_redis_url_refusals);
	RUN(test_redis_url_error_hides_the_password);
	return check_exit_code();
}
