/* siphash: SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit hash.
 * Without the key its outputs cannot be predicted or inverted, which is
 * what pseudonyms need (promo-clean --pseudonymize); with a fixed public
 * key it is a good fast hash of ids (promo-featurize's token buckets). */
#ifndef PROMO_SIPHASH_H
#define PROMO_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct sip_key {
    uint64_t k0, k1;
};

uint64_t sip_hash(const struct sip_key *key, const void *data, size_t n);
/* A key from secret bytes of any length (a key file): SipHash of them
 * under two fixed keys. */
void sip_key_from(struct sip_key *key, const void *secret, size_t n);
/* The fixed public key used for hashing ids into buckets. */
extern const struct sip_key sip_public_key;

#endif
