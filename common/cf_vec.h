/* cf_vec: the small float kernels the recommenders run per interaction
 * (dot products and updates of factor vectors of a few dozen elements).
 * BLAS calls cost more than the work at these sizes, so they are plain
 * loops over 4-wide GCC vectors, with a fixed order of additions: the same
 * inputs give the same bits on any thread.  Internal to the cf_ files. */
#ifndef PROMO_CF_VEC_H
#define PROMO_CF_VEC_H

#include <string.h>

typedef float cf_v4 __attribute__((vector_size(16)));

static inline cf_v4 cf_v4_load(const float *p)
{
    cf_v4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void cf_v4_store(float *p, cf_v4 v) { memcpy(p, &v, sizeof v); }

/* a . b over n elements: four 4-wide partial sums, added pairwise. */
static inline float cf_dot(const float *a, const float *b, int n)
{
    cf_v4 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += cf_v4_load(a + i) * cf_v4_load(b + i);
        s1 += cf_v4_load(a + i + 4) * cf_v4_load(b + i + 4);
        s2 += cf_v4_load(a + i + 8) * cf_v4_load(b + i + 8);
        s3 += cf_v4_load(a + i + 12) * cf_v4_load(b + i + 12);
    }
    for (; i + 4 <= n; i += 4)
        s0 += cf_v4_load(a + i) * cf_v4_load(b + i);
    cf_v4 t = (s0 + s1) + (s2 + s3);
    float s = (t[0] + t[2]) + (t[1] + t[3]);
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* y += alpha x over n elements. */
static inline void cf_axpy(float *y, const float *x, int n, float alpha)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        cf_v4_store(y + i, cf_v4_load(y + i) + alpha * cf_v4_load(x + i));
    for (; i < n; i++)
        y[i] += alpha * x[i];
}

/* y = A x for a row-major n x n matrix A. */
static inline void cf_symv(float *y, const float *A, const float *x, int n)
{
    for (int r = 0; r < n; r++)
        y[r] = cf_dot(A + (size_t)r * n, x, n);
}

#endif
