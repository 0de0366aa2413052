/* mpput: MessagePack written straight into a caller's buffer, in the
 * smallest forms (the bytes msgpack-c's packer writes).  For hot loops that
 * pack millions of small records: no callback and no library call per
 * value.  The caller makes room first: at most 9 bytes per number, 5 plus
 * the length per string, 5 per map header. */
#ifndef PROMO_MPPUT_H
#define PROMO_MPPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline char *mpp_be(char *o, uint64_t v, int k)
{
    for (int i = k - 1; i >= 0; i--)
        *o++ = (char)(v >> (8 * i));
    return o;
}

static inline char *mpp_int(char *o, int64_t v)
{
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u < 128) { *o++ = (char)u; return o; }
        if (u < 256) { *o++ = (char)0xcc; return mpp_be(o, u, 1); }
        if (u < 65536) { *o++ = (char)0xcd; return mpp_be(o, u, 2); }
        if (u < (UINT64_C(1) << 32)) { *o++ = (char)0xce; return mpp_be(o, u, 4); }
        *o++ = (char)0xcf;
        return mpp_be(o, u, 8);
    }
    if (v >= -32) { *o++ = (char)(uint8_t)v; return o; }
    if (v >= -128) { *o++ = (char)0xd0; return mpp_be(o, (uint64_t)v, 1); }
    if (v >= -32768) { *o++ = (char)0xd1; return mpp_be(o, (uint64_t)v, 2); }
    if (v >= INT32_MIN) { *o++ = (char)0xd2; return mpp_be(o, (uint64_t)v, 4); }
    *o++ = (char)0xd3;
    return mpp_be(o, (uint64_t)v, 8);
}

static inline char *mpp_f64(char *o, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, 8);
    *o++ = (char)0xcb;
    return mpp_be(o, bits, 8);
}

static inline char *mpp_nil(char *o)
{
    *o++ = (char)0xc0;
    return o;
}

static inline char *mpp_bool(char *o, bool b)
{
    *o++ = (char)(b ? 0xc3 : 0xc2);
    return o;
}

/* Bytes as they are (an already packed key, say).  Up to 16 bytes are
 * copied as one fixed 16-byte move, so the caller needs 16 bytes of room
 * at o, and 16 readable bytes at s, whatever n is. */
static inline char *mpp_raw16(char *o, const char *s, size_t n)
{
    if (n <= 16)
        memcpy(o, s, 16);
    else
        memcpy(o, s, n);
    return o + n;
}

static inline char *mpp_str(char *o, const char *s, size_t n)
{
    if (n < 32) *o++ = (char)(0xa0 | n);
    else if (n < 256) { *o++ = (char)0xd9; o = mpp_be(o, n, 1); }
    else if (n < 65536) { *o++ = (char)0xda; o = mpp_be(o, n, 2); }
    else { *o++ = (char)0xdb; o = mpp_be(o, n, 4); }
    memcpy(o, s, n);
    return o + n;
}

static inline char *mpp_map(char *o, uint32_t n)
{
    if (n < 16) { *o++ = (char)(0x80 | n); return o; }
    if (n < 65536) { *o++ = (char)0xde; return mpp_be(o, n, 2); }
    *o++ = (char)0xdf;
    return mpp_be(o, n, 4);
}

#endif
