/*
 * herald-bench — a WebSocket load generator for servers speaking herald's
 * protocol (and the peers' protocol): echo, fanout, idle, connect; and
 * floor, the raw-epoll fan-out server those fan-out figures are held to.
 *
 * Role: dispatches the subcommand. One process, one thread, one epoll loop;
 * every subcommand prints one human line on stderr and one JSON line on
 * stdout per result.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "connect.h"
#include "echo.h"
#include "fanout.h"
#include "floor.h"
#include "idle.h"
#include "scenario.h"
#include "util.h"
#include "wsproto.h"

static void main_usage(FILE *f)
{
	fprintf(f,
		"usage: herald-bench <echo|fanout|idle|connect|floor> [flags]   (herald-bench <cmd> -h for flags)\n"
		"\n"
		"  echo     closed-loop echo: -c conns, -s size, -pipeline depth, -d, -warmup\n"
		"  fanout   K subscribers, a publisher at -r msgs/s via -trigger ws|redis|http\n"
		"  idle     C idle connections, server RSS per connection (-pid required)\n"
		"  connect  WebSocket handshakes per second (-conc connectors, RST after the 101)\n"
		"  floor    a server, not a generator: raw epoll fan-out (one send() per recipient)\n"
		"           on -listen host:port for -d, the reference for fanout's figures\n"
		"\n"
		"Target: -url ws://host:port[/prefix]; connections open <url>/ws/<id>.\n"
		"-pid PID adds the server's CPU%% (PID and its descendants) and work per server CPU-second.\n");
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		main_usage(stderr);
		return SCENARIO_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		main_usage(stdout);
		return SCENARIO_OK;
	}
	signal(SIGPIPE, SIG_IGN);
	util_raise_nofile();
	if (ws_proto_init() < 0) {
		fprintf(stderr, "herald-bench: OpenSSL SHA-1 unavailable\n");
		return SCENARIO_FAILED;
	}
	if (!strcmp(cmd, "echo"))
		return echo_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "fanout"))
		return fanout_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "idle"))
		return idle_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "connect"))
		return connect_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "floor"))
		return floor_main(argc - 2, argv + 2);
	fprintf(stderr, "herald-bench: unknown subcommand \"%s\"\n", cmd);
	main_usage(stderr);
	return SCENARIO_USAGE;
}
