/* shard: hash partitions of a record stream by a key field (promo-cat
 * --shard and --split; docs/scale.md is the specification).
 *
 * A record's shard is SipHash-2-4(key bytes) mod N under the fixed public
 * key 00 01 02 ... 0f (sip_public_key), where the key bytes are a string's
 * UTF-8 bytes and a number's decimal text: an integer's digits (with '-'
 * when negative), a float with an integral value as that integer, other
 * floats in their shortest round-trip text.  So "12", 12 and 12.0 fall in
 * the same shard, on every machine and in every version. */
#ifndef PROMO_SHARD_H
#define PROMO_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "stream.h"

/* The largest N of --shard I/N, and of shard_split_open (one spool file
 * stays open per shard). */
#define SHARD_MAX 1048576
#define SHARD_SPLIT_MAX 1024

/* The canonical key bytes of v into buf (NUM_BUF bytes for numbers; a
 * string points into v).  false when v is not a string or a number. */
bool shard_key_bytes(const msgpack_object *v, char *buf, const char **key, size_t *len);
/* SipHash-2-4 of the key bytes under the public key; false as above. */
bool shard_key_hash(const msgpack_object *v, uint64_t *hash);
/* The shard of a hash among n. */
static inline uint32_t shard_of(uint64_t hash, uint32_t n) { return (uint32_t)(hash % n); }

/* The shard of the current record of r by field among n; dies naming the
 * record when the field is missing or not a key, unless missing_to >= 0,
 * which is then the shard of such records. */
uint32_t shard_of_record(rs *r, const char *field, uint32_t n, int64_t missing_to);

/* ---- writing every shard in one pass ------------------------------------ */

/* A directory of n parts, DIR/part-00000.mpz ... each a stream with the
 * input's header.  Records are spooled per shard in a private directory
 * beside DIR (8 KiB of buffer each), then each part is written in turn by
 * one stream writer; shard_split_commit puts the whole directory in place
 * at once (an existing DIR of parts is swapped out and removed).  On die()
 * or a signal the private directory is removed and DIR is untouched. */
typedef struct shard_split shard_split;

/* Dies before anything is written when DIR exists and holds anything but
 * part-NNNNN.mpz files (it would be replaced). */
shard_split *shard_split_open(const char *dir, uint32_t n, int level, const msgpack_object *hdr);
/* Append one record's packed bytes to shard i. */
void shard_split_put(shard_split *s, uint32_t i, const char *raw, size_t len);
/* Write the parts, each with (a copy of) hdr, put DIR in place, free s. */
void shard_split_commit(shard_split *s);

#endif
