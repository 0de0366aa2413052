#include "rng.h"

#include <math.h>

#include "diag.h"

/* ---- The generators: splitmix64 for seeding, xoshiro256** for streams,
 * both as published at https://prng.di.unimi.it/. */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *x)
{
    return mix64(*x += 0x9e3779b97f4a7c15u);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void rng_init(struct rng *r, uint64_t seed)
{
    /* splitmix64 is a bijection of its counter, so at most one of four
     * outputs can be zero and the state is never all zero. */
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

void rng_split(struct rng *dst, const struct rng *src, uint64_t stream_id)
{
    uint64_t h = mix64(stream_id + 0x9e3779b97f4a7c15u);
    for (int i = 0; i < 4; i++)
        h = mix64(h ^ src->s[i]) + 0x9e3779b97f4a7c15u;
    rng_init(dst, h);
}

uint64_t rng_u64(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double rng_uniform(struct rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

/* The high and low halves of x * n, without relying on __int128. */
static uint64_t mul128(uint64_t x, uint64_t n, uint64_t *lo)
{
    uint64_t x0 = (uint32_t)x, x1 = x >> 32, n0 = (uint32_t)n, n1 = n >> 32;
    uint64_t p00 = x0 * n0, p01 = x0 * n1, p10 = x1 * n0, p11 = x1 * n1;
    uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
    *lo = (mid << 32) | (uint32_t)p00;
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* Lemire, "Fast random integer generation in an interval" (2019): the high
 * word of x * n, rejecting the few low words that would bias it. */
uint64_t rng_below(struct rng *r, uint64_t n)
{
    CHECK(n > 0);
    uint64_t lo, hi = mul128(rng_u64(r), n, &lo);
    if (lo < n) {
        uint64_t threshold = -n % n;   /* 2^64 mod n */
        while (lo < threshold)
            hi = mul128(rng_u64(r), n, &lo);
    }
    return hi;
}

/* ---- Continuous distributions. */

double rng_normal(struct rng *r)
{
    /* The polar method's second variate is dropped: the state is only the
     * four words, and a cached spare would make copies of it diverge. */
    for (;;) {
        double u = 2 * rng_uniform(r) - 1, v = 2 * rng_uniform(r) - 1;
        double s = u * u + v * v;
        if (s > 0 && s < 1)
            return u * sqrt(-2 * log(s) / s);
    }
}

double rng_exponential(struct rng *r, double rate)
{
    CHECK(rate > 0);
    return -log1p(-rng_uniform(r)) / rate;   /* log of (0, 1]: finite */
}

/* Marsaglia and Tsang, "A simple method for generating gamma variables"
 * (2000); shape < 1 boosts to shape + 1 and multiplies by U^(1/shape). */
double rng_gamma(struct rng *r, double shape)
{
    CHECK(shape > 0);
    if (shape < 1)
        return rng_gamma(r, shape + 1) * pow(1 - rng_uniform(r), 1 / shape);
    double d = shape - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double x, v;
        do {
            x = rng_normal(r);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        double u = rng_uniform(r);
        if (u < 1 - 0.0331 * (x * x) * (x * x))
            return d * v;
        if (log(u) < 0.5 * x * x + d * (1 - v + log(v)))
            return d * v;
    }
}

double rng_beta(struct rng *r, double a, double b)
{
    double x = rng_gamma(r, a), y = rng_gamma(r, b);
    /* Tiny shapes can underflow both to 0; the limit is Bernoulli(a/(a+b)). */
    if (x + y == 0)
        return rng_uniform(r) < a / (a + b) ? 1 : 0;
    return x / (x + y);
}

/* ---- Discrete distributions. */

/* log(k!) = (k+1/2) log(k+1) - (k+1) + log(2 pi)/2 + tail(k): the tail is
 * tabulated below 10 and a three-term Stirling series above (error < 1e-10). */
static double stirling_tail(double k)
{
    static const double small[10] = {
        0.08106146679532733, 0.04134069595540946, 0.027677925684997717,
        0.02079067210376584, 0.01664469118982126, 0.013876128823072875,
        0.011896709945893313, 0.010411265261973668, 0.00925546218270945,
        0.008330563433359472,
    };
    if (k < 10)
        return small[(int)k];
    double n = k + 1, n2 = n * n;
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / n2) / n2) / n;
}

static double log_factorial(double k)
{
    return (k + 0.5) * log(k + 1) - (k + 1) + 0.91893853320467274 + stirling_tail(k);
}

/* Hormann, "The transformed rejection method for generating Poisson random
 * variables" (1993), algorithm PTRS, for lambda >= 10. */
static uint64_t poisson_ptrs(struct rng *r, double lambda)
{
    double slam = sqrt(lambda), loglam = log(lambda);
    double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
        double u = rng_uniform(r) - 0.5, v = rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + lambda + 0.43);
        if (k < 0)
            continue;
        if (us >= 0.07 && v <= vr)
            return (uint64_t)k;
        if (us < 0.013 && v > us)
            continue;
        if (log(v * inv_alpha / (a / (us * us) + b)) <= -lambda + k * loglam - log_factorial(k))
            return (uint64_t)k;
    }
}

uint64_t rng_poisson(struct rng *r, double lambda)
{
    CHECK(lambda >= 0 && lambda < 1e18);
    if (lambda >= 10)
        return poisson_ptrs(r, lambda);
    if (lambda == 0)
        return 0;
    /* Inversion by sequential search; restart in the (rounding-only) case
     * where u outlives the pmf. */
    for (;;) {
        double u = rng_uniform(r), p = exp(-lambda);
        uint64_t k = 0;
        while (u > p && k < 200) {
            u -= p;
            k++;
            p *= lambda / k;
        }
        if (k < 200)
            return k;
    }
}

/* Inversion for n * p < 10 with p <= 1/2, so q^n >= e^-14 cannot underflow. */
static uint64_t binomial_inversion(struct rng *r, uint64_t n, double p)
{
    double q = 1 - p, s = p / q, a = (n + 1.0) * s, q_n = exp(n * log1p(-p));
    for (;;) {
        double u = rng_uniform(r), f = q_n;
        uint64_t x = 0;
        while (u > f && x <= n) {
            u -= f;
            x++;
            f *= a / x - s;
        }
        if (x <= n)
            return x;
    }
}

/* Hormann, "The generation of binomial random variates" (1993), algorithm
 * BTRS, for n * p >= 10 with p <= 1/2. */
static uint64_t binomial_btrs(struct rng *r, uint64_t n, double p)
{
    double nd = (double)n, spq = sqrt(nd * p * (1 - p));
    double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p;
    double c = nd * p + 0.5, vr = 0.92 - 4.2 / b, rr = p / (1 - p);
    double alpha = (2.83 + 5.1 / b) * spq, m = floor((nd + 1) * p);
    for (;;) {
        double u = rng_uniform(r) - 0.5, v = rng_uniform(r);
        double us = 0.5 - fabs(u);
        double k = floor((2 * a / us + b) * u + c);
        if (k < 0 || k > nd)
            continue;
        if (us >= 0.07 && v <= vr)
            return (uint64_t)k;
        /* log f(k)/f(m), with the factorials' Stirling tails. */
        v = log(v * alpha / (a / (us * us) + b));
        double bound = (m + 0.5) * log((m + 1) / (rr * (nd - m + 1)))
            + (nd + 1) * log((nd - m + 1) / (nd - k + 1))
            + (k + 0.5) * log(rr * (nd - k + 1) / (k + 1))
            + stirling_tail(m) + stirling_tail(nd - m)
            - stirling_tail(k) - stirling_tail(nd - k);
        if (v <= bound)
            return (uint64_t)k;
    }
}

uint64_t rng_binomial(struct rng *r, uint64_t n, double p)
{
    CHECK(p >= 0 && p <= 1);
    if (p > 0.5)
        return n - rng_binomial(r, n, 1 - p);
    if (n == 0 || p == 0)
        return 0;
    return n * p < 10 ? binomial_inversion(r, n, p) : binomial_btrs(r, n, p);
}

void rng_dirichlet(struct rng *r, double *out, const double *alpha, size_t k)
{
    double sum = 0;
    for (size_t i = 0; i < k; i++)
        sum += out[i] = rng_gamma(r, alpha[i]);
    if (sum > 0) {
        for (size_t i = 0; i < k; i++)
            out[i] /= sum;
        return;
    }
    /* All underflowed (tiny alphas): the limit is a vertex chosen ~ alpha. */
    size_t hit = rng_categorical(r, alpha, k);
    for (size_t i = 0; i < k; i++)
        out[i] = i == hit;
}

void rng_shuffle(struct rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

size_t rng_categorical(struct rng *r, const double *weights, size_t k)
{
    double total = 0;
    for (size_t i = 0; i < k; i++) {
        CHECK(weights[i] >= 0);
        total += weights[i];
    }
    CHECK(total > 0 && isfinite(total));
    double u = rng_uniform(r) * total;
    size_t last = 0;
    for (size_t i = 0; i < k; i++) {
        if (weights[i] > 0) {
            if (u < weights[i])
                return i;
            last = i;
        }
        u -= weights[i];
    }
    return last;   /* rounding left u just above the last weight */
}
