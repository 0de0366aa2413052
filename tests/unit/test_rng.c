/* test_rng: the generator against the published reference algorithm, then
 * every distribution's mean and variance (within 5 standard errors over
 * 200k draws) and, for the exact discrete samplers, a chi-square fit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"
#include "xalloc.h"

#define N 200000

/* ---- The reference xoshiro256** and splitmix64, written out again here
 * so the test does not trust rng.c. */

static uint64_t ref_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t ref_next(uint64_t s[4])
{
    const uint64_t result = ref_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ref_rotl(s[3], 45);
    return result;
}

static void test_reference(void)
{
    /* Published: state {1, 2, 3, 4} starts 11520, 0, 1509978240, ... */
    static const uint64_t want[4] = { 11520u, 0u, 1509978240u, 1215971899390074240u };
    struct rng r = { { 1, 2, 3, 4 } };
    uint64_t s[4] = { 1, 2, 3, 4 };
    int same = 1;
    for (int i = 0; i < 4; i++)
        same &= rng_u64(&r) == want[i] && ref_next(s) == want[i];
    CHECK_TRUE(same, "xoshiro256** from {1,2,3,4} gives 11520, 0, 1509978240, 1215971899390074240");
    for (int i = 0; i < 1000; i++)
        same &= rng_u64(&r) == ref_next(s);
    CHECK_TRUE(same, "the next 1000 outputs match the reference algorithm");

    /* splitmix64 from 1234567 starts 6457827717110365317, ... */
    rng_init(&r, 1234567);
    CHECK_TRUE(r.s[0] == 6457827717110365317u && r.s[1] == 3203168211198807973u &&
               r.s[2] == 9817491932198370423u, "rng_init fills the state from splitmix64(seed)");
    rng_init(&r, 0);
    CHECK_TRUE(r.s[0] | r.s[1] | r.s[2] | r.s[3], "seed 0 gives a nonzero state");
}

static void test_seeding(void)
{
    struct rng a, b, c;
    rng_init(&a, 42);
    rng_init(&b, 42);
    rng_init(&c, 43);
    int same = 1, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(&a);
        same &= x == rng_u64(&b);
        differ += x != rng_u64(&c);
    }
    CHECK_TRUE(same, "the same seed gives the same sequence");
    CHECK_TRUE(differ == 1000, "seeds 42 and 43 give different sequences");

    struct rng saved = a;
    uint64_t top = rng_u64(&a) >> 11;
    double u = rng_uniform(&saved);
    CHECK_TRUE(u == (double)top / 9007199254740992.0, "rng_uniform is the top 53 bits / 2^53");
    double lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        u = rng_uniform(&a);
        lo = fmin(lo, u);
        hi = fmax(hi, u);
    }
    CHECK_TRUE(lo >= 0 && hi < 1 && lo < 1e-4 && hi > 1 - 1e-4, "rng_uniform covers [0, 1)");
}

static void test_split(void)
{
    struct rng parent, kept, c1, c1b, c2, alias;
    rng_init(&parent, 7);
    kept = parent;
    rng_split(&c1, &parent, 1);
    rng_split(&c1b, &parent, 1);
    rng_split(&c2, &parent, 2);
    alias = parent;
    rng_split(&alias, &alias, 1);
    CHECK_TRUE(memcmp(&parent, &kept, sizeof parent) == 0, "rng_split leaves the parent as it was");
    CHECK_TRUE(memcmp(&c1, &c1b, sizeof c1) == 0 && memcmp(&c1, &alias, sizeof c1) == 0,
               "rng_split is deterministic, also in place");
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = rng_u64(&c1), y = rng_u64(&c2), z = rng_u64(&parent);
        differ += x != y && x != z && y != z;
    }
    CHECK_EQ_INT(differ, 100, "children of different ids differ from each other and the parent");
}

/* ---- Moments. */

struct dist {
    const char *name;
    double (*draw)(struct rng *r, const double *par);
    double par[2];
    double mean, var;
};

static double d_normal(struct rng *r, const double *p) { (void)p; return rng_normal(r); }
static double d_exp(struct rng *r, const double *p) { return rng_exponential(r, p[0]); }
static double d_gamma(struct rng *r, const double *p) { return rng_gamma(r, p[0]); }
static double d_beta(struct rng *r, const double *p) { return rng_beta(r, p[0], p[1]); }
static double d_poisson(struct rng *r, const double *p) { return (double)rng_poisson(r, p[0]); }
static double d_binom(struct rng *r, const double *p) { return (double)rng_binomial(r, (uint64_t)p[0], p[1]); }

static void check_moments(struct rng *r, const struct dist *d)
{
    double *x = xmalloc(N * sizeof *x), mean = 0;
    for (int i = 0; i < N; i++)
        mean += x[i] = d->draw(r, d->par);
    mean /= N;
    double m2 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        double e = (x[i] - mean) * (x[i] - mean);
        m2 += e;
        m4 += e * e;
    }
    m2 /= N - 1;
    m4 /= N;
    double se_mean = sqrt(d->var / N), se_var = sqrt((m4 - m2 * m2) / N);
    char what[96];
    snprintf(what, sizeof what, "%s: mean within 5 standard errors", d->name);
    if (!CHECK_TRUE(fabs(mean - d->mean) <= 5 * se_mean, what))
        printf("#   mean %g, want %g (se %g)\n", mean, d->mean, se_mean);
    snprintf(what, sizeof what, "%s: variance within 5 standard errors", d->name);
    if (!CHECK_TRUE(fabs(m2 - d->var) <= 5 * se_var, what))
        printf("#   variance %g, want %g (se %g)\n", m2, d->var, se_var);
    free(x);
}

static void test_moments(void)
{
    static const struct dist dists[] = {
        { "normal", d_normal, {0, 0}, 0, 1 },
        { "exponential(2)", d_exp, {2, 0}, 0.5, 0.25 },
        { "gamma(0.5)", d_gamma, {0.5, 0}, 0.5, 0.5 },
        { "gamma(1)", d_gamma, {1, 0}, 1, 1 },
        { "gamma(3)", d_gamma, {3, 0}, 3, 3 },
        { "beta(2,5)", d_beta, {2, 5}, 2.0 / 7, 10.0 / (49 * 8) },
        { "beta(0.5,0.5)", d_beta, {0.5, 0.5}, 0.5, 0.125 },
        { "poisson(3)", d_poisson, {3, 0}, 3, 3 },
        { "poisson(10)", d_poisson, {10, 0}, 10, 10 },
        { "poisson(200)", d_poisson, {200, 0}, 200, 200 },
        { "binomial(10,0.3)", d_binom, {10, 0.3}, 3, 2.1 },
        { "binomial(10,0.9)", d_binom, {10, 0.9}, 9, 0.9 },
        { "binomial(1000,0.3)", d_binom, {1000, 0.3}, 300, 210 },
        { "binomial(1000,0.8)", d_binom, {1000, 0.8}, 800, 160 },
    };
    struct rng r;
    rng_init(&r, 2024);
    for (size_t i = 0; i < sizeof dists / sizeof *dists; i++)
        check_moments(&r, &dists[i]);
}

/* ---- Chi-square fits with fixed critical values. */

/* The Wilson-Hilferty chi-square quantile at z = 4 (upper tail ~3e-5). */
static double chi2_critical(int df)
{
    double h = 2.0 / (9 * df);
    return df * pow(1 - h + 4 * sqrt(h), 3);
}

static double pmf_poisson(int k, const double *p)
{
    return exp(k * log(p[0]) - p[0] - lgamma(k + 1.0));
}

static double pmf_binom(int k, const double *p)
{
    double n = p[0];
    if (k > n)
        return 0;
    return exp(lgamma(n + 1) - lgamma(k + 1.0) - lgamma(n - k + 1) + k * log(p[1]) + (n - k) * log1p(-p[1]));
}

/* Bins of consecutive k pooled until each expects >= 20 draws; the last
 * bin takes the rest of the tail. */
static void check_fit(struct rng *r, const struct dist *d, double (*pmf)(int, const double *))
{
    int kmax = (int)(d->mean + 12 * sqrt(d->var) + 20);
    long *hist = xcalloc((size_t)kmax + 1, sizeof *hist);
    for (int i = 0; i < N; i++) {
        double x = d->draw(r, d->par);
        hist[x < kmax ? (int)x : kmax]++;
    }
    double stat = 0, e = 0, cum = 0;
    long o = 0;
    int bins = 0;
    for (int k = 0; k <= kmax; k++) {
        double pk = k < kmax ? pmf(k, d->par) : 1 - cum;
        cum += pk;
        e += N * pk;
        o += hist[k];
        if (e >= 20 && N * (1 - cum) >= 20) {
            stat += (o - e) * (o - e) / e;
            bins++;
            e = 0;
            o = 0;
        }
    }
    stat += (o - e) * (o - e) / e;
    bins++;
    char what[96];
    snprintf(what, sizeof what, "%s: chi-square fit of the pmf (%d bins)", d->name, bins);
    if (!CHECK_TRUE(stat <= chi2_critical(bins - 1), what))
        printf("#   chi-square %g > %g\n", stat, chi2_critical(bins - 1));
    free(hist);
}

static void test_fits(void)
{
    struct rng r;
    rng_init(&r, 99);
    static const struct dist pois[] = {
        { "poisson(3)", d_poisson, {3, 0}, 3, 3 },
        { "poisson(9.9)", d_poisson, {9.9, 0}, 9.9, 9.9 },
        { "poisson(10)", d_poisson, {10, 0}, 10, 10 },
        { "poisson(200)", d_poisson, {200, 0}, 200, 200 },
    };
    static const struct dist bins[] = {
        { "binomial(10,0.3)", d_binom, {10, 0.3}, 3, 2.1 },
        { "binomial(40,0.3)", d_binom, {40, 0.3}, 12, 8.4 },
        { "binomial(1000,0.3)", d_binom, {1000, 0.3}, 300, 210 },
        { "binomial(1000,0.8)", d_binom, {1000, 0.8}, 800, 160 },
    };
    for (size_t i = 0; i < 4; i++)
        check_fit(&r, &pois[i], pmf_poisson);
    for (size_t i = 0; i < 4; i++)
        check_fit(&r, &bins[i], pmf_binom);
}

/* ---- Integers, permutations, categories, Dirichlet. */

static void test_below(void)
{
    struct rng r;
    rng_init(&r, 5);
    long count[10] = {0};
    int inside = 1;
    for (int i = 0; i < 100000; i++) {
        uint64_t x = rng_below(&r, 10);
        inside &= x < 10 && rng_below(&r, 1) == 0;
        count[x < 10 ? x : 0]++;
    }
    double stat = 0;
    for (int i = 0; i < 10; i++)
        stat += (count[i] - 10000.0) * (count[i] - 10000.0) / 10000.0;
    CHECK_TRUE(inside, "rng_below(10) < 10 and rng_below(1) == 0");
    if (!CHECK_TRUE(stat < 27.88, "rng_below(10) uniform: chi-square, 9 df, p = 0.001"))
        printf("#   chi-square %g\n", stat);

    /* A huge n exercises the 64x64 bit product: thirds of 3 * 2^62. */
    uint64_t n = 3ull << 62;
    long third[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint64_t x = rng_below(&r, n);
        inside &= x < n;
        third[x >> 62]++;
    }
    stat = 0;
    for (int i = 0; i < 3; i++)
        stat += (third[i] - 10000.0) * (third[i] - 10000.0) / 10000.0;
    CHECK_TRUE(inside && stat < 13.82, "rng_below(3 * 2^62) in bounds and uniform over thirds");

#ifdef __SIZEOF_INT128__
    /* Lemire's method with a native 128-bit product, on a copy of the state. */
    int same = 1;
    for (int i = 0; i < 10000; i++) {
        uint64_t m = i % 2 ? rng_u64(&r) | 1 : 1 + (uint64_t)i * 7919;
        struct rng c = r;
        unsigned __int128 p = (unsigned __int128)rng_u64(&c) * m;
        if ((uint64_t)p < m) {
            uint64_t t = -m % m;
            while ((uint64_t)p < t)
                p = (unsigned __int128)rng_u64(&c) * m;
        }
        same &= rng_below(&r, m) == (uint64_t)(p >> 64) && memcmp(&r, &c, sizeof r) == 0;
    }
    CHECK_TRUE(same, "rng_below matches Lemire's method with __int128");
#endif
}

static void test_shuffle(void)
{
    struct rng r;
    rng_init(&r, 11);
    uint32_t a[100];
    for (uint32_t i = 0; i < 100; i++)
        a[i] = i;
    rng_shuffle(&r, a, 100);
    int seen[100] = {0}, ok = 1, moved = 0;
    for (int i = 0; i < 100; i++) {
        ok &= a[i] < 100 && !seen[a[i]];
        seen[a[i] < 100 ? a[i] : 0] = 1;
        moved += a[i] != (uint32_t)i;
    }
    CHECK_TRUE(ok && moved > 80, "rng_shuffle permutes");

    /* All 24 orders of 4 elements equally likely. */
    long count[24] = {0};
    for (int t = 0; t < 24000; t++) {
        uint32_t b[4] = {0, 1, 2, 3};
        rng_shuffle(&r, b, 4);
        int code = 0, used = 0;   /* Lehmer code of the permutation */
        for (int i = 0; i < 4; i++) {
            int smaller = 0;
            for (uint32_t v = 0; v < b[i]; v++)
                smaller += !(used >> v & 1);
            used |= 1 << b[i];
            code = code * (4 - i) + smaller;
        }
        count[code]++;
    }
    double stat = 0;
    for (int i = 0; i < 24; i++)
        stat += (count[i] - 1000.0) * (count[i] - 1000.0) / 1000.0;
    if (!CHECK_TRUE(stat < 49.73, "rng_shuffle orders uniform: chi-square, 23 df, p = 0.001"))
        printf("#   chi-square %g\n", stat);
    rng_shuffle(&r, a, 0);
    rng_shuffle(&r, a, 1);
}

static void test_categorical(void)
{
    struct rng r;
    rng_init(&r, 13);
    const double w[4] = {1, 0, 3, 6};
    long count[4] = {0};
    for (int i = 0; i < 100000; i++)
        count[rng_categorical(&r, w, 4)]++;
    double stat = 0;
    for (int i = 0; i < 4; i++)
        if (w[i] > 0) {
            double e = 100000 * w[i] / 10;
            stat += (count[i] - e) * (count[i] - e) / e;
        }
    CHECK_TRUE(count[1] == 0, "rng_categorical never picks a zero weight");
    if (!CHECK_TRUE(stat < 13.82, "rng_categorical frequencies: chi-square, 2 df, p = 0.001"))
        printf("#   chi-square %g\n", stat);
}

static void test_dirichlet(void)
{
    struct rng r;
    rng_init(&r, 17);
    const double alpha[3] = {0.5, 1, 3}, a0 = 4.5;
    double out[3], sum[3] = {0};
    int ok = 1;
    for (int i = 0; i < N; i++) {
        rng_dirichlet(&r, out, alpha, 3);
        ok &= fabs(out[0] + out[1] + out[2] - 1) < 1e-12 && out[0] >= 0 && out[1] >= 0 && out[2] >= 0;
        for (int j = 0; j < 3; j++)
            sum[j] += out[j];
    }
    CHECK_TRUE(ok, "rng_dirichlet draws lie on the simplex");
    for (int j = 0; j < 3; j++) {
        double mean = alpha[j] / a0, var = alpha[j] * (a0 - alpha[j]) / (a0 * a0 * (a0 + 1));
        char what[64];
        snprintf(what, sizeof what, "dirichlet(0.5,1,3): mean of component %d", j);
        CHECK_TRUE(fabs(sum[j] / N - mean) <= 5 * sqrt(var / N), what);
    }
}

int main(void)
{
    test_reference();
    test_seeding();
    test_split();
    test_moments();
    test_fits();
    test_below();
    test_shuffle();
    test_categorical();
    test_dirichlet();
    return check_done();
}
