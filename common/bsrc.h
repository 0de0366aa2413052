/* bsrc: a byte source over a file or stdin that undoes gzip transparently.
 * Input may be plain bytes, one gzip member, or several members one after
 * another (`cat a.gz b.gz`), with plain bytes allowed after a member.  Errors
 * are returned, not printed, so the caller can say where in its own terms
 * (record N, line N). */
#ifndef PROMO_BSRC_H
#define PROMO_BSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bsrc bsrc;

/* Open path ("-" is stdin); dies with "PATH: strerror" if it cannot. */
bsrc *bs_open(const char *path);
/* The name for messages: the path, or "stdin". */
const char *bs_name(const bsrc *bs);
/* Read up to n bytes.  Returns the count, 0 at the clean end, -1 on error
 * with the reason in bs_error() (truncated or corrupt gzip, read error). */
long bs_read(bsrc *bs, void *buf, size_t n);
const char *bs_error(const bsrc *bs);
void bs_free(bsrc *bs);

#endif
