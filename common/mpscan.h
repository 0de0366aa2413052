/* mpscan: find where one MessagePack object ends without building it.
 * The stream reader uses it to take exactly one record's bytes before
 * unpacking, so a declared length can never cause an allocation larger
 * than the input that is really there. */
#ifndef PROMO_MPSCAN_H
#define PROMO_MPSCAN_H

#include <stddef.h>
#include <stdint.h>

enum mp_scan { MP_OK, MP_MORE, MP_BAD };

/* Scan the object starting at p[0].  MP_OK: *len is its size in bytes.
 * MP_MORE: the object continues past n bytes (read more; at end of input it
 * is truncated).  MP_BAD: an invalid byte or nesting deeper than allowed,
 * with a reason in *why. */
enum mp_scan mp_scan(const unsigned char *p, size_t n, size_t *len, const char **why);

/* The largest record the reader accepts, in bytes. */
#define MP_MAX_RECORD ((size_t)1 << 30)

#endif
