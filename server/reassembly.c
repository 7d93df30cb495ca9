/*
 * reassembly — see reassembly.h. The buffer grows by doubling from 1 KiB,
 * at once to what the current frame announces, and never past max.
 */
#include "reassembly.h"

#include <stdlib.h>
#include <string.h>

#define REASSEMBLY_FIRST_CAP 1024
#define REASSEMBLY_KEEP_CAP 4096

enum reassembly_result reassembly_add(struct reassembly *r,
				      const unsigned char *in, size_t len,
				      size_t remaining, int final, int binary,
				      size_t max, const unsigned char **msg,
				      size_t *msg_len)
{
	if (r->len + len + remaining > max)
		return REASSEMBLY_TOO_BIG;
	if (!r->len)
		r->binary = binary ? 1 : 0;
	if (!r->len && final) {
		/* the whole message arrived at once: no copy */
		*msg = in ? in : (const unsigned char *)"";
		*msg_len = len;
		return REASSEMBLY_DONE;
	}
	if (r->len + len > r->cap) {
		size_t cap = r->cap ? r->cap : REASSEMBLY_FIRST_CAP;
		unsigned char *grown;

		while (cap < r->len + len + remaining)
			cap *= 2;
		if (cap > max)
			cap = max;
		grown = realloc(r->buf, cap);
		if (!grown)
			return REASSEMBLY_NO_MEMORY;
		r->buf = grown;
		r->cap = cap;
	}
	if (len) /* an empty fragment comes with in == NULL */
		memcpy(r->buf + r->len, in, len);
	r->len += len;
	if (!final)
		return REASSEMBLY_MORE;
	*msg = r->buf ? r->buf : (const unsigned char *)"";
	*msg_len = r->len;
	return REASSEMBLY_DONE;
}

void reassembly_reset(struct reassembly *r)
{
	r->len = 0;
	if (r->cap > REASSEMBLY_KEEP_CAP)
		reassembly_free(r);
}

void reassembly_free(struct reassembly *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}
