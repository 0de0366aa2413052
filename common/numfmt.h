/* numfmt: strict number parsing and shortest round-trip printing, so text
 * that goes through a stream comes back with the same values. */
#ifndef PROMO_NUMFMT_H
#define PROMO_NUMFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The whole of s[0..n) is a canonical decimal integer in int64 range:
 * optional '-', no '+', no leading zeros (so "007" stays text). */
bool num_parse_i64(const char *s, size_t n, int64_t *out);
/* The whole of s[0..n) is a finite decimal number (strtod syntax without
 * hex, inf, nan, or surrounding space). */
bool num_parse_f64(const char *s, size_t n, double *out);
/* Shortest text that reads back as the same double (or float); returns the
 * length.  buf needs NUM_BUF bytes.  Integral values print without ".0". */
#define NUM_BUF 32
int num_fmt_f64(char *buf, double v);
int num_fmt_f32(char *buf, float v);

#endif
