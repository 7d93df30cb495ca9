/*
 * Unit tests for server/admission.c: which upgrades are let in, with which
 * status and reason, in which order the checks run, where the token is
 * found, and the grant admission_identify() hands back.
 */
#include "admission.h"
#include "check.h"

#include "../fuzz/fuzz_token.h"

#include <stdio.h>

#define SECRET "admission-secret-0123456789"
#define NOW 1700000000

static struct admission_result res;
static char tok[1024];

/* A token for sub with an optional "channels" claim (JSON array text). */
static const char *token_for(const char *sub, const char *channels)
{
	char payload[512];

	snprintf(payload, sizeof(payload), "{\"sub\":\"%s\",\"exp\":%d%s%s}",
		 sub, NOW + 60, channels ? ",\"channels\":" : "",
		 channels ? channels : "");
	tok[fuzz_make_token(SECRET, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
			    payload, tok)] = '\0';
	return tok;
}

static struct admission_policy open_policy(void)
{
	struct admission_policy p = { NULL, NULL, 100, 0, 0 };

	return p;
}

static struct admission_request request(const char *path,
					const char *const *args, size_t n)
{
	struct admission_request r = { path, args, n, 0, NULL, NULL, NULL, NOW };

	return r;
}

#define CHECK_REFUSED(call, code, why)            \
	do {                                      \
		CHECK_INT_EQ((call), (code));     \
		CHECK_INT_EQ(res.status, (code)); \
		CHECK_STR_EQ(res.error, (why));   \
	} while (0)

static void test_path_and_query(void)
{
	struct admission_policy p = open_policy();
	struct admission_request r = request("/ws/alice", NULL, 0);
	const char *bad[] = { "channels=a,b c" };

	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	CHECK_STR_EQ(res.client_id, "alice");
	r.path = NULL; /* not a GET, or a path longer than any valid one */
	CHECK_REFUSED(admission_check(&p, &r, &res), 404, "not found");
	CHECK_STR_EQ(res.client_id, "");
	r = request("/ws/al ice", NULL, 0);
	CHECK_INT_EQ(admission_check(&p, &r, &res), 400);
	r = request("/ws/alice", bad, 1);
	CHECK_INT_EQ(admission_check(&p, &r, &res), 400);
	r = request("/ws/alice", NULL, 0);
	r.args_overflow = 1;
	CHECK_REFUSED(admission_check(&p, &r, &res), 400, "query string too long");
	CHECK_STR_EQ(res.client_id, "alice"); /* known, for the log line */
}

static void test_origin(void)
{
	struct admission_policy p = open_policy();
	struct admission_request r = request("/ws/alice", NULL, 0);

	p.allowed_origins = "https://a.example,https://b.example";
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0); /* not a browser */
	r.origin = "https://b.example";
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	r.origin = "https://evil.example";
	CHECK_REFUSED(admission_check(&p, &r, &res), 403, "origin not allowed");
	p.allowed_origins = NULL; /* no list: every origin */
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
}

static void test_token_locations(void)
{
	struct admission_policy p = open_policy();
	struct admission_request r = request("/ws/alice", NULL, 0);
	char arg[1100], header[1100];
	const char *args[1] = { arg };

	p.token_secret = SECRET;
	CHECK_REFUSED(admission_check(&p, &r, &res), 401,
		      auth_result_text(AUTH_MISSING));
	snprintf(arg, sizeof(arg), "token=%s", token_for("alice", NULL));
	r = request("/ws/alice", args, 1);
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	r = request("/ws/alice", NULL, 0);
	snprintf(header, sizeof(header), "Bearer %s", token_for("alice", NULL));
	r.authorization = header;
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	r.authorization = "Basic YWxpY2U6cHc=";
	CHECK_INT_EQ(admission_check(&p, &r, &res), 401);
	r.authorization = NULL;
	snprintf(header, sizeof(header), "herald, bearer.%s ",
		 token_for("alice", NULL));
	r.protocols = header;
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	/* someone else's token */
	snprintf(header, sizeof(header), "bearer.%s", token_for("bob", NULL));
	CHECK_REFUSED(admission_check(&p, &r, &res), 401,
		      auth_result_text(AUTH_WRONG_SUBJECT));
	/* the query argument wins over the headers */
	snprintf(arg, sizeof(arg), "token=%s", "x.y.z");
	r.args = args;
	r.nargs = 1;
	snprintf(header, sizeof(header), "bearer.%s", token_for("alice", NULL));
	CHECK_INT_EQ(admission_check(&p, &r, &res), 401);
}

static void test_token_channels(void)
{
	struct admission_policy p = open_policy();
	char arg[1100];
	const char *args[2] = { arg, "channels=news.1,news.2" };
	struct admission_request r = request("/ws/alice", args, 2);
	struct auth_grant *grant = NULL;

	p.token_secret = SECRET;
	snprintf(arg, sizeof(arg), "token=%s",
		 token_for("alice", "[\"news.*\"]"));
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	CHECK_INT_EQ(admission_identify(&p, &r, &res, &grant), 0);
	CHECK(grant != NULL);
	CHECK(auth_grant_allows(grant, "news.9"));
	CHECK(!auth_grant_allows(grant, "sports"));
	auth_grant_free(grant);
	args[1] = "channels=news.1,sports";
	CHECK_REFUSED(admission_check(&p, &r, &res), 403,
		      "the token does not allow a requested channel");
	/* without a channels claim: everything, and no grant */
	snprintf(arg, sizeof(arg), "token=%s", token_for("alice", NULL));
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	CHECK_INT_EQ(admission_identify(&p, &r, &res, &grant), 0);
	CHECK(grant == NULL);
	CHECK_NO_LEAKS();
}

static void test_drain_and_limit(void)
{
	struct admission_policy p = open_policy();
	struct admission_request r = request("/ws/alice", NULL, 0);
	struct auth_grant *grant;

	p.max_sessions = 2;
	p.sessions = 1;
	CHECK_INT_EQ(admission_check(&p, &r, &res), 0);
	p.sessions = 2;
	CHECK_REFUSED(admission_check(&p, &r, &res), 503,
		      "connection limit reached");
	p.draining = 1;
	CHECK_REFUSED(admission_check(&p, &r, &res), 503,
		      "server is shutting down");
	/* identify does not look at the node's state */
	CHECK_INT_EQ(admission_identify(&p, &r, &res, &grant), 0);
	CHECK_STR_EQ(res.client_id, "alice");
}

static void test_order_of_checks(void)
{
	struct admission_policy p = open_policy();
	struct admission_request r = request("/ws/a b", NULL, 0);

	/* a bad request is a 400 even at the limit, without a token, from a
	 * refused origin: the cheapest and most specific answer first */
	p.token_secret = SECRET;
	p.allowed_origins = "https://a.example";
	p.draining = 1;
	r.origin = "https://evil.example";
	CHECK_INT_EQ(admission_check(&p, &r, &res), 400);
	r.path = "/ws/alice";
	CHECK_INT_EQ(admission_check(&p, &r, &res), 403);
	r.origin = NULL;
	CHECK_INT_EQ(admission_check(&p, &r, &res), 401);
}

int main(void)
{
	RUN(test_path_and_query);
	RUN(test_origin);
	RUN(test_token_locations);
	RUN(test_token_channels);
	RUN(test_drain_and_limit);
	RUN(test_order_of_checks);
	return check_exit_code();
}
