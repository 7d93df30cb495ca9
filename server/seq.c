/*
 * seq — see seq.h.
 */
#include "seq.h"

#include <inttypes.h>
#include <stdio.h>

int seq_parse(const char *s, size_t len, struct seq *out)
{
	uint64_t part[2] = { 0, 0 };
	size_t i = 0;

	for (int k = 0; k < 2; k++) {
		size_t start = i;

		while (i < len && s[i] >= '0' && s[i] <= '9') {
			uint64_t d = (uint64_t)(s[i] - '0');

			if (part[k] > (UINT64_MAX - d) / 10)
				return -1;
			part[k] = part[k] * 10 + d;
			i++;
		}
		if (i == start || i - start > 20)
			return -1;
		if (k == 0) {
			if (i >= len || s[i] != '-')
				return -1;
			i++;
		}
	}
	if (i != len)
		return -1;
	out->ms = part[0];
	out->n = part[1];
	return 0;
}

char *seq_format(struct seq s, char *buf)
{
	snprintf(buf, SEQ_TEXT_MAX, "%" PRIu64 "-%" PRIu64, s.ms, s.n);
	return buf;
}

int seq_cmp(struct seq a, struct seq b)
{
	if (a.ms != b.ms)
		return a.ms < b.ms ? -1 : 1;
	if (a.n != b.n)
		return a.n < b.n ? -1 : 1;
	return 0;
}
