/*
 * seq — a channel position: a Redis Stream entry id "<ms>-<n>", or
 * "<epoch>-<n>" in a node's own numbering without Redis (docs/protocol.md,
 * "History and resume"). Parsing, printing and ordering.
 *
 * Pure functions, any thread, no allocation.
 */
#ifndef HERALD_SEQ_H
#define HERALD_SEQ_H

#include <stddef.h>
#include <stdint.h>

/* A channel position: a Redis Stream id "<ms>-<n>", or "<epoch>-<n>" in
 * the node's own numbering. */
struct seq {
	uint64_t ms, n;
};

#define SEQ_TEXT_MAX 44 /* "<20 digits>-<20 digits>" and the NUL */

/* Parses "<digits>-<digits>" (len bytes); 0, or -1 when it is not one. */
int seq_parse(const char *s, size_t len, struct seq *out);
/* Writes the text form into buf (SEQ_TEXT_MAX bytes); returns buf. */
char *seq_format(struct seq s, char *buf);
/* <0, 0, >0 like strcmp. */
int seq_cmp(struct seq a, struct seq b);

#endif
