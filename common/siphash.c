/* SipHash-2-4, after the reference implementation's description. */
#include "siphash.h"

#include <string.h>

const struct sip_key sip_public_key = {UINT64_C(0x0706050403020100), UINT64_C(0x0f0e0d0c0b0a0908)};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                   \
    do {                                                           \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);  \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                     \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                     \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);  \
    } while (0)

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint64_t sip_hash(const struct sip_key *key, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ key->k0;
    uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ key->k1;
    uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ key->k0;
    uint64_t v3 = UINT64_C(0x7465646279746573) ^ key->k1;
    size_t whole = n - n % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = le64(p + i);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < n % 8; i++)
        b |= (uint64_t)p[whole + i] << (8 * i);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void sip_key_from(struct sip_key *key, const void *secret, size_t n)
{
    static const struct sip_key a = {UINT64_C(0x9e3779b97f4a7c15), UINT64_C(0xbf58476d1ce4e5b9)};
    static const struct sip_key b = {UINT64_C(0x94d049bb133111eb), UINT64_C(0x2545f4914f6cdd1d)};
    key->k0 = sip_hash(&a, secret, n);
    key->k1 = sip_hash(&b, secret, n);
}
