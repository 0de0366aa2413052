/* utf8: checking and producing UTF-8, the only text encoding in streams. */
#ifndef PROMO_UTF8_H
#define PROMO_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..n) is valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF).  On false, *bad_offset (if not NULL) is the offset of the
 * first byte of the invalid sequence. */
bool utf8_valid(const char *s, size_t n, size_t *bad_offset);
/* Convert ISO-8859-1 bytes to UTF-8; out needs 2 * n bytes.  Returns the
 * length written. */
size_t latin1_to_utf8(char *out, const char *in, size_t n);

#endif
