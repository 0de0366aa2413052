#include "mpscan.h"

/* Bytes that follow the type byte, for the fixed-size types (0 = special). */
static uint64_t be(const unsigned char *p, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | p[i];
    return v;
}

#define MAX_DEPTH 32   /* msgpack-c unpacks at most 32 nested containers */

enum mp_scan mp_scan(const unsigned char *p, size_t n, size_t *len, const char **why)
{
    /* pending[d]: objects still to read at nesting depth d. */
    uint64_t pending[MAX_DEPTH + 1];
    int depth = 0;
    size_t i = 0;
    pending[0] = 1;
    while (depth >= 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (i >= n)
            return MP_MORE;
        unsigned b = p[i];
        uint64_t body = 0;      /* payload bytes after the length field */
        uint64_t children = 0;  /* nested objects (map: 2 per entry) */
        int lenbytes = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            i += 1;
            continue;
        } else if (b >= 0x80 && b <= 0x8f) {
            children = 2 * (uint64_t)(b & 0x0f);
            i += 1;
        } else if (b >= 0x90 && b <= 0x9f) {
            children = b & 0x0f;
            i += 1;
        } else if (b >= 0xa0 && b <= 0xbf) {
            body = b & 0x1f;
            i += 1;
        } else {
            switch (b) {
            case 0xc4: case 0xd9: lenbytes = 1; break;   /* bin8, str8 */
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; body = 1; break;     /* ext8: +type */
            case 0xc8: lenbytes = 2; body = 1; break;
            case 0xc9: lenbytes = 4; body = 1; break;
            case 0xca: body = 4; break;
            case 0xcb: body = 8; break;
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;                   /* fixext */
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xdc: case 0xde: lenbytes = 2; break;    /* array16, map16 */
            case 0xdd: case 0xdf: lenbytes = 4; break;
            default:
                *why = "invalid type byte 0xc1";
                return MP_BAD;
            }
            i += 1;
            if (lenbytes) {
                if (n - i < (size_t)lenbytes)
                    return MP_MORE;
                uint64_t v = be(p + i, lenbytes);
                i += (size_t)lenbytes;
                if (b == 0xdc || b == 0xdd)
                    children = v;
                else if (b == 0xde || b == 0xdf)
                    children = 2 * v;
                else
                    body += v;
            }
        }
        if (body) {
            /* A length larger than what remains is resolved by reading
             * more: the caller reads real input, never allocates for it. */
            if (body > MP_MAX_RECORD)
                return *why = "length exceeds the 1 GiB record limit", MP_BAD;
            if (n - i < body)
                return MP_MORE;
            i += (size_t)body;
        }
        if (children) {
            if (depth == MAX_DEPTH)
                return *why = "nesting deeper than 32 levels", MP_BAD;
            pending[++depth] = children;
        }
        if (i > MP_MAX_RECORD)
            return *why = "record larger than 1 GiB", MP_BAD;
    }
    *len = i;
    return MP_OK;
}
