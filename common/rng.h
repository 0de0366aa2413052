/* rng: a seeded, deterministic random number generator, xoshiro256**
 * (Blackman and Vigna) seeded through splitmix64, and the distributions the
 * simulators and trainers draw from.  The same seed gives the same numbers
 * on every platform (up to libm rounding in log/exp/sqrt for the
 * non-uniform draws).  struct rng is caller-owned and holds no pointers, so
 * it can be copied to save and restore a position; not thread-safe: give
 * each thread or user its own stream with rng_split. */
#ifndef PROMO_RNG_H
#define PROMO_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* Fill the state from splitmix64(seed); any seed is fine, 0 included. */
void rng_init(struct rng *r, uint64_t seed);
/* A child generator that depends only on the parent's state and stream_id
 * (the parent does not advance), for per-user or per-thread streams; dst
 * may be src. */
void rng_split(struct rng *dst, const struct rng *src, uint64_t stream_id);

uint64_t rng_u64(struct rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);
/* Uniform integer in [0, n), unbiased (Lemire); n must be > 0. */
uint64_t rng_below(struct rng *r, uint64_t n);

/* Standard normal (Marsaglia's polar method). */
double rng_normal(struct rng *r);
/* Exponential with the given rate > 0 (mean 1/rate). */
double rng_exponential(struct rng *r, double rate);
/* Gamma with the given shape > 0 and scale 1 (Marsaglia-Tsang). */
double rng_gamma(struct rng *r, double shape);
/* Beta(a, b), a > 0, b > 0, as G(a) / (G(a) + G(b)). */
double rng_beta(struct rng *r, double a, double b);
/* Poisson(lambda >= 0), exact: inversion below 10, Hormann's PTRS above. */
uint64_t rng_poisson(struct rng *r, double lambda);
/* Binomial(n, p), exact: inversion when n*min(p,1-p) < 10, else Hormann's
 * BTRS. */
uint64_t rng_binomial(struct rng *r, uint64_t n, double p);
/* out[k] ~ Dirichlet(alpha[k]), all alpha > 0; out sums to 1. */
void rng_dirichlet(struct rng *r, double *out, const double *alpha, size_t k);
/* Uniform random permutation of a[n] in place (Fisher-Yates). */
void rng_shuffle(struct rng *r, uint32_t *a, size_t n);
/* Index i with probability weights[i] / sum; weights >= 0 with a positive
 * sum.  A linear scan: fine for small k, use an alias table for many draws
 * from large k. */
size_t rng_categorical(struct rng *r, const double *weights, size_t k);

#endif
