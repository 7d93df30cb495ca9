/*
 * keyed_hash — SipHash-2-4 (Aumasson and Bernstein) with a key drawn once
 * per process from getrandom(): the hash of herald's uthash tables, whose
 * keys (client ids, channel names) are chosen by clients. With a known,
 * unkeyed hash a client could pick names that all land in one bucket and
 * turn every lookup into a walk of that chain; with a secret key per
 * process it cannot predict the buckets (docs/security.md).
 *
 * Any thread: the key is set once (pthread_once) and only read afterwards.
 */
#ifndef HERALD_KEYED_HASH_H
#define HERALD_KEYED_HASH_H

#include <stddef.h>
#include <stdint.h>

/* SipHash-2-4 of the n bytes at p under the process's key. */
uint64_t keyed_hash(const void *p, size_t n);

/* SipHash-2-4 of the n bytes at p under key (16 bytes): for tests against
 * the reference vectors. */
uint64_t keyed_hash_with(const uint8_t key[16], const void *p, size_t n);

/* uthash's hash (unsigned) for a key, used through HASH_FUNCTION. */
#define KEYED_HASH_UT(keyptr, keylen, hashv) \
	((hashv) = (unsigned)keyed_hash((keyptr), (size_t)(keylen)))

#endif
