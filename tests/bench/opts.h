/*
 * opts — Go-flag-style command-line parsing for the subcommands.
 *
 * Accepts "-name value", "-name=value", "--name value", "--name=value";
 * a bool flag takes no value ("-binary") or "=true"/"=false". Durations are
 * Go-style ("10s", "500ms", "1m30s", "250us"); a bare number is seconds.
 *
 * Thread: the main thread, before any scenario runs.
 * Ownership: string values point into argv (not copied).
 */
#ifndef HB_OPTS_H
#define HB_OPTS_H

#include <stdint.h>

enum opt_type {
	OPT_INT,   /* int */
	OPT_DUR,   /* int64_t nanoseconds */
	OPT_STR,   /* const char * */
	OPT_BOOL,  /* int, 0 or 1 */
};

struct opt {
	const char *name;
	enum opt_type type;
	void *dst;
	const char *help;
};

/* Parses argv[0..argc) against the table (terminated by a {NULL} entry).
 * Returns 0 on success, 1 if help was asked for (usage printed to stdout),
 * -1 on a bad flag or value (message and usage on stderr). */
int opts_parse(const char *cmd, const char *summary, const struct opt *opts,
	       int argc, char **argv);

/* Parses a Go-style duration into *ns; 0 or -1. */
int opts_parse_duration(const char *s, int64_t *ns);

/* Prints the flag table (with defaults) to f (a FILE *). */
void opts_usage(void *f, const char *cmd, const char *summary,
		const struct opt *opts);

#endif
