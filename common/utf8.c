#include "utf8.h"

#include <stdint.h>
#include <string.h>

/* The length of the valid sequence at s[0..n), 0 if invalid (s[0] >= 0x80). */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;   /* range of the second byte */
    if (b >= 0xc2 && b <= 0xdf)
        len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        if (b == 0xe0) lo = 0xa0;          /* overlong */
        if (b == 0xed) hi = 0x9f;          /* surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        if (b == 0xf0) lo = 0x90;          /* overlong */
        if (b == 0xf4) hi = 0x8f;          /* past U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

bool utf8_valid(const char *str, size_t n, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        /* Most text is ASCII: test eight bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = seq_len(s + i, n - i);
        if (!k) {
            if (bad_offset)
                *bad_offset = i;
            return false;
        }
        i += k;
    }
    return true;
}

size_t latin1_to_utf8(char *out, const char *in, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)in[i];
        if (b < 0x80) {
            out[o++] = (char)b;
        } else {
            out[o++] = (char)(0xc0 | (b >> 6));
            out[o++] = (char)(0x80 | (b & 0x3f));
        }
    }
    return o;
}
