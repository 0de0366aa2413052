#include "mpscan.h"

#include <pthread.h>

/* Bytes that follow the type byte, for the fixed-size types (0 = special). */
static uint64_t be(const unsigned char *p, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | p[i];
    return v;
}

#define MAX_DEPTH 32   /* msgpack-c unpacks at most 32 nested containers */

/* The whole size of a value given its type byte, for values whose size
 * the byte alone tells (fixints, nil, booleans, numbers, fixstrs); 0 for
 * containers and the types with a length field. */
static unsigned char fixed_size[256];

static void fixed_size_init(void)
{
    for (int b = 0; b < 256; b++) {
        unsigned s = 0;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            s = 1;
        else if (b >= 0xa0 && b <= 0xbf)
            s = 1 + (b & 0x1f);
        else if (b == 0xcc || b == 0xd0)
            s = 2;
        else if (b == 0xcd || b == 0xd1)
            s = 3;
        else if (b == 0xca || b == 0xce || b == 0xd2)
            s = 5;
        else if (b == 0xcb || b == 0xcf || b == 0xd3)
            s = 9;
        fixed_size[b] = (unsigned char)s;
    }
}

/* Most records are one small map of scalars: walk it in a tight loop.
 * Returns MP_BAD (meaning "not this shape") for anything else. */
static enum mp_scan scan_flat_map(const unsigned char *p, size_t n, size_t *len)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fixed_size_init);
    size_t i = 1;
    for (unsigned k = 2 * (p[0] & 0x0fu); k > 0; k--) {
        if (i >= n)
            return MP_MORE;
        unsigned b = p[i], s;
        /* Field names are fixstrs: their size needs no table load, which
         * keeps the chain of dependent loads short. */
        if ((b & 0xe0) == 0xa0)
            s = 1 + (b & 0x1f);
        else if (!(s = fixed_size[b]))
            return MP_BAD;
        i += s;
    }
    if (i > n)
        return MP_MORE;
    *len = i;
    return MP_OK;
}

enum mp_scan mp_scan(const unsigned char *p, size_t n, size_t *len, const char **why)
{
    if (n > 0 && (p[0] & 0xf0) == 0x80) {
        enum mp_scan s = scan_flat_map(p, n, len);
        if (s != MP_BAD)
            return s;
    }
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
