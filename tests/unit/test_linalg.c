/* test_linalg: every OpenBLAS-backed la_* call against its naive twin on
 * seeded random shapes, then small cases worked by hand. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "linalg.h"
#include "rng.h"
#include "xalloc.h"

#define FTOL 1e-4    /* float: sums of up to 70 products */
#define DTOL 1e-10

static struct rng R;

/* The worst error seen by one comparison over all shapes, and where. */
struct worst {
    double err;
    char where[96];
};

/* err = max |got - want| / max(1, |want|), as CHECK_NEAR measures it. */
static void note(struct worst *w, const double *got, const double *want, size_t count,
                 const char *where)
{
    for (size_t i = 0; i < count; i++) {
        double s = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
        double e = fabs(got[i] - want[i]) / s;
        if (!(e <= w->err)) {   /* NaN counts as the worst */
            w->err = isnan(e) ? INFINITY : e;
            snprintf(w->where, sizeof w->where, "%s", where);
        }
    }
}

static void report(const struct worst *w, double tol, const char *what)
{
    if (!CHECK_TRUE(w->err <= tol, what))
        printf("#   worst relative error %g at %s\n", w->err, w->where);
}

static double *drand_new(size_t count)
{
    double *p = xmalloc(count * sizeof *p);
    for (size_t i = 0; i < count; i++)
        p[i] = 2 * rng_uniform(&R) - 1;
    return p;
}

static double *widen(const float *f, size_t count)
{
    double *d = xmalloc(count * sizeof *d);
    for (size_t i = 0; i < count; i++)
        d[i] = f[i];
    return d;
}

static float *narrow(const double *d, size_t count)
{
    float *f = xmalloc(count * sizeof *f);
    for (size_t i = 0; i < count; i++)
        f[i] = (float)d[i];
    return f;
}

/* ---- Random shapes. */

struct shape { int m, n, k; };

#define NSHAPES 48
static struct shape shapes[NSHAPES] = {
    {1, 1, 1}, {70, 1, 1}, {1, 70, 1}, {1, 1, 70}, {70, 3, 2}, {2, 3, 70},
    {3, 4, 0}, {64, 65, 66},
};

static void make_shapes(void)
{
    for (int i = 8; i < NSHAPES; i++) {
        /* Half small (edge effects of blocked kernels), half up to 70. */
        int hi = i % 2 ? 8 : 70;
        shapes[i] = (struct shape){ 1 + (int)rng_below(&R, hi),
                                    1 + (int)rng_below(&R, hi),
                                    1 + (int)rng_below(&R, hi) };
    }
}

static const double alphas[] = { 1, 1, -0.7, 0, 2.5 };
static const double betas[]  = { 0, 1, 0.3, 2, 0 };

static void test_gemm_gemv(void)
{
    struct worst sg = {0, ""}, dg = {0, ""}, sv = {0, ""}, dv = {0, ""};
    char where[96];
    for (int s = 0; s < NSHAPES; s++)
        for (int t = 0; t < 4; t++) {
            int m = shapes[s].m, n = shapes[s].n, k = shapes[s].k;
            bool ta = t & 1, tb = t & 2;
            double alpha = alphas[(s + t) % 5], beta = betas[(s + t) % 5];
            size_t cn = (size_t)m * n;
            double *A = drand_new((size_t)m * k), *B = drand_new((size_t)k * n);
            double *C0 = drand_new(cn), *C1 = xmalloc(cn * sizeof *C1);
            float *fA = narrow(A, (size_t)m * k), *fB = narrow(B, (size_t)k * n);
            float *fC0 = narrow(C0, cn), *fC1 = xmalloc(cn * sizeof *fC1);
            snprintf(where, sizeof where, "m=%d n=%d k=%d transA=%d transB=%d alpha=%g beta=%g",
                     m, n, k, ta, tb, alpha, beta);
            memcpy(C1, C0, cn * sizeof *C1);
            memcpy(fC1, fC0, cn * sizeof *fC1);
            if (beta == 0)   /* C must not be read: poison the BLAS copy */
                for (size_t i = 0; i < cn; i++)
                    C1[i] = fC1[i] = NAN;
            la_dgemm(C1, A, B, m, n, k, ta, tb, alpha, beta);
            la_naive_dgemm(C0, A, B, m, n, k, ta, tb, alpha, beta);
            note(&dg, C1, C0, cn, where);
            la_sgemm(fC1, fA, fB, m, n, k, ta, tb, (float)alpha, (float)beta);
            la_naive_sgemm(fC0, fA, fB, m, n, k, ta, tb, (float)alpha, (float)beta);
            double *g = widen(fC1, cn), *w = widen(fC0, cn);
            note(&sg, g, w, cn, where);
            free(g);
            free(w);

            /* gemv with A read as m x k; transB's bit doubles as gemv's trans. */
            size_t xlen = (size_t)(tb ? m : k), ylen = (size_t)(tb ? k : m);
            double *x = drand_new(xlen), *y0 = drand_new(ylen), *y1 = xmalloc(ylen * sizeof *y1);
            float *fx = narrow(x, xlen), *fy0 = narrow(y0, ylen), *fy1 = narrow(y0, ylen);
            memcpy(y1, y0, ylen * sizeof *y1);
            if (beta == 0)
                for (size_t i = 0; i < ylen; i++)
                    y1[i] = fy1[i] = NAN;
            la_dgemv(y1, A, x, m, k, tb, alpha, beta);
            la_naive_dgemv(y0, A, x, m, k, tb, alpha, beta);
            note(&dv, y1, y0, ylen, where);
            la_sgemv(fy1, fA, fx, m, k, tb, (float)alpha, (float)beta);
            la_naive_sgemv(fy0, fA, fx, m, k, tb, (float)alpha, (float)beta);
            g = widen(fy1, ylen);
            w = widen(fy0, ylen);
            note(&sv, g, w, ylen, where);
            free(g);
            free(w);
            free(y0); free(y1); free(fy0); free(fy1);
            free(x);
            free(fx);
            free(A); free(B); free(C0); free(C1);
            free(fA); free(fB); free(fC0); free(fC1);
        }
    report(&sg, FTOL, "la_sgemm matches la_naive_sgemm on random shapes, all transposes");
    report(&dg, DTOL, "la_dgemm matches la_naive_dgemm on random shapes, all transposes");
    report(&sv, FTOL, "la_sgemv matches la_naive_sgemv, both transposes");
    report(&dv, DTOL, "la_dgemv matches la_naive_dgemv, both transposes");
}

static void test_vector(void)
{
    struct worst sd = {0, ""}, dd = {0, ""}, sa = {0, ""}, da = {0, ""}, ss = {0, ""};
    char where[32];
    for (int s = 0; s < NSHAPES; s++) {
        int n = s == 0 ? 0 : shapes[s].m * shapes[s].k;   /* 0 up to ~4600 */
        double *x = drand_new((size_t)n), *y0 = drand_new((size_t)n);
        double *y1 = xmalloc((size_t)n * sizeof *y1);
        float *fx = narrow(x, (size_t)n), *fy0 = narrow(y0, (size_t)n), *fy1 = narrow(y0, (size_t)n);
        snprintf(where, sizeof where, "n=%d", n);
        double got = la_ddot(x, y0, n), want = la_naive_ddot(x, y0, n);
        note(&dd, &got, &want, 1, where);
        got = la_sdot(fx, fy0, n);
        want = la_naive_sdot(fx, fy0, n);
        note(&sd, &got, &want, 1, where);

        memcpy(y1, y0, (size_t)n * sizeof *y1);
        la_daxpy(y1, x, n, -1.25);
        la_naive_daxpy(y0, x, n, -1.25);
        note(&da, y1, y0, (size_t)n, where);
        la_saxpy(fy1, fx, n, -1.25f);
        la_naive_saxpy(fy0, fx, n, -1.25f);
        double *g = widen(fy1, (size_t)n), *w = widen(fy0, (size_t)n);
        note(&sa, g, w, (size_t)n, where);
        free(g);
        free(w);
        la_sscal(fy1, n, 0.375f);
        la_naive_sscal(fy0, n, 0.375f);
        g = widen(fy1, (size_t)n);
        w = widen(fy0, (size_t)n);
        note(&ss, g, w, (size_t)n, where);
        free(g); free(w);
        free(x); free(y0); free(y1); free(fx); free(fy0); free(fy1);
    }
    report(&sd, FTOL * 10, "la_sdot matches la_naive_sdot (n up to ~4600)");
    report(&dd, DTOL, "la_ddot matches la_naive_ddot");
    report(&sa, FTOL, "la_saxpy matches la_naive_saxpy");
    report(&da, DTOL, "la_daxpy matches la_naive_daxpy");
    report(&ss, FTOL, "la_sscal matches la_naive_sscal");
}

/* ---- Solvers on random well-conditioned problems. */

/* A[n x n] = M M' + n I, then its upper triangle poisoned with NaN, which
 * both backends must never read. */
static double *spd_new(int n)
{
    double *M = drand_new((size_t)n * n), *A = xmalloc((size_t)n * n * sizeof *A);
    la_naive_dgemm(A, M, M, n, n, n, false, true, 1, 0);
    for (int i = 0; i < n; i++) {
        A[(size_t)i * n + i] += n;
        for (int j = i + 1; j < n; j++)
            A[(size_t)i * n + j] = NAN;
    }
    free(M);
    return A;
}

static void test_solvers(void)
{
    struct worst po = {0, ""}, gl = {0, ""}, inv = {0, ""}, res = {0, ""};
    int failures = 0;
    char where[64];
    for (int s = 0; s < NSHAPES; s++) {
        int n = shapes[s].n, m = n + shapes[s].m - 1, nrhs = 1 + s % 3;
        snprintf(where, sizeof where, "m=%d n=%d nrhs=%d", m, n, nrhs);
        double *A = spd_new(n), *B = drand_new((size_t)n * nrhs);
        double *X1 = xmalloc((size_t)n * nrhs * sizeof *X1), *X0 = xmalloc((size_t)n * nrhs * sizeof *X0);
        failures += la_dposv(X1, A, B, n, nrhs) != 0;
        failures += la_naive_dposv(X0, A, B, n, nrhs) != 0;
        note(&po, X1, X0, (size_t)n * nrhs, where);

        double *I1 = xmalloc((size_t)n * n * sizeof *I1), *I0 = xmalloc((size_t)n * n * sizeof *I0);
        failures += la_dinv_spd(I1, A, n) != 0;
        failures += la_naive_dinv_spd(I0, A, n) != 0;
        note(&inv, I1, I0, (size_t)n * n, where);
        /* Residual: A Ainv = I, with A made whole from its lower triangle. */
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                A[(size_t)i * n + j] = A[(size_t)j * n + i];
        double *P = xmalloc((size_t)n * n * sizeof *P), *E = xcalloc((size_t)n * n, sizeof *E);
        la_naive_dgemm(P, A, I1, n, n, n, false, false, 1, 0);
        for (int i = 0; i < n; i++)
            E[(size_t)i * n + i] = 1;
        note(&res, P, E, (size_t)n * n, where);

        double *T = drand_new((size_t)m * n), *TB = drand_new((size_t)m * nrhs);
        failures += la_dgels(X1, T, TB, m, n, nrhs) != 0;
        failures += la_naive_dgels(X0, T, TB, m, n, nrhs) != 0;
        note(&gl, X1, X0, (size_t)n * nrhs, where);
        free(A); free(B); free(X1); free(X0); free(I1); free(I0); free(P); free(E);
        free(T); free(TB);
    }
    CHECK_EQ_INT(failures, 0, "random SPD and full-rank problems are all accepted");
    report(&po, 1e-9, "la_dposv matches la_naive_dposv (upper triangle NaN, unread)");
    report(&inv, 1e-9, "la_dinv_spd matches la_naive_dinv_spd");
    report(&res, 1e-9, "A * la_dinv_spd(A) = I");
    report(&gl, 1e-9, "la_dgels matches la_naive_dgels on random tall problems");
}

/* ---- Hand-worked cases, run through both backends via la_set_backend. */

static void test_by_hand(enum la_backend be, const char *name)
{
    char what[128];
    la_set_backend(be);
    CHECK_EQ_INT(la_get_backend(), be, "la_set_backend sticks");

    /* [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50]; A'B = [26 30; 38 44]. */
    double a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4];
    la_dgemm(c, a, b, 2, 2, 2, false, false, 1, 0);
    snprintf(what, sizeof what, "%s: 2x2 product", name);
    CHECK_TRUE(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50, what);
    la_dgemm(c, a, b, 2, 2, 2, true, false, 1, 0);
    snprintf(what, sizeof what, "%s: 2x2 product with A transposed", name);
    CHECK_TRUE(c[0] == 26 && c[1] == 30 && c[2] == 38 && c[3] == 44, what);

    /* [4 2; 2 3] x = [6; 5] has x = [1; 1]. */
    double spd[4] = {4, 2, 2, 3}, rhs[2] = {6, 5}, x[2] = {0, 0};
    snprintf(what, sizeof what, "%s: 2x2 SPD solve", name);
    CHECK_TRUE(la_dposv(x, spd, rhs, 2, 1) == 0 && fabs(x[0] - 1) < 1e-14 && fabs(x[1] - 1) < 1e-14, what);

    /* [1 2; 2 1] has eigenvalues 3 and -1: rejected, output untouched. */
    double bad[4] = {1, 2, 2, 1}, keep[2] = {7, 7};
    snprintf(what, sizeof what, "%s: la_dposv rejects a non-SPD matrix", name);
    CHECK_TRUE(la_dposv(keep, bad, rhs, 2, 1) != 0 && keep[0] == 7 && keep[1] == 7, what);
    snprintf(what, sizeof what, "%s: la_dinv_spd rejects a non-SPD matrix", name);
    CHECK_TRUE(la_dinv_spd(c, bad, 2) != 0, what);

    /* OLS of y = 500 + 50 x on x = 10, 20, 30, 40. */
    double X[8] = {1, 10, 1, 20, 1, 30, 1, 40}, y[4] = {1000, 1500, 2000, 2500}, beta[2];
    snprintf(what, sizeof what, "%s: la_dgels accepts the OLS design", name);
    CHECK_TRUE(la_dgels(beta, X, y, 4, 2, 1) == 0, what);
    snprintf(what, sizeof what, "%s: OLS by la_dgels gives intercept 500", name);
    CHECK_NEAR(beta[0], 500, 1e-9, what);
    snprintf(what, sizeof what, "%s: OLS by la_dgels gives slope 50", name);
    CHECK_NEAR(beta[1], 50, 1e-9, what);

    /* The same through the normal equations: X'X = [4 100; 100 3000],
     * (X'X)^-1 = [1.5 -0.05; -0.05 0.002], X'y = [7000; 200000]. */
    double xtx[4], xty[2], xtxi[4];
    la_dgemm(xtx, X, X, 2, 2, 4, true, false, 1, 0);
    la_dgemv(xty, X, y, 4, 2, true, 1, 0);
    snprintf(what, sizeof what, "%s: X'X and X'y", name);
    CHECK_TRUE(xtx[0] == 4 && xtx[1] == 100 && xtx[2] == 100 && xtx[3] == 3000 &&
               xty[0] == 7000 && xty[1] == 200000, what);
    snprintf(what, sizeof what, "%s: OLS by la_dposv on the normal equations", name);
    CHECK_TRUE(la_dposv(beta, xtx, xty, 2, 1) == 0 &&
               fabs(beta[0] - 500) <= 1e-9 * 500 && fabs(beta[1] - 50) <= 1e-9 * 50, what);
    snprintf(what, sizeof what, "%s: (X'X)^-1 by la_dinv_spd", name);
    CHECK_TRUE(la_dinv_spd(xtxi, xtx, 2) == 0 && fabs(xtxi[0] - 1.5) < 1e-12 &&
               fabs(xtxi[1] + 0.05) < 1e-14 && fabs(xtxi[2] + 0.05) < 1e-14 &&
               fabs(xtxi[3] - 0.002) < 1e-15, what);
    snprintf(what, sizeof what, "%s: la_dinv_spd in place", name);
    CHECK_TRUE(la_dinv_spd(xtx, xtx, 2) == 0 && memcmp(xtx, xtxi, sizeof xtx) == 0, what);

    /* Columns 1, x, 2x are collinear: rejected, output untouched. */
    double col[12] = {1, 10, 20, 1, 20, 40, 1, 30, 60, 1, 40, 80}, out[3] = {7, 7, 7};
    snprintf(what, sizeof what, "%s: la_dgels rejects collinear columns", name);
    CHECK_TRUE(la_dgels(out, col, y, 4, 3, 1) != 0 && out[0] == 7 && out[2] == 7, what);
    la_set_backend(LA_BLAS);
}

/* LA_NAIVE routes la_* to the naive twins, bit for bit. */
static void test_switch(void)
{
    int m = 13, n = 11, k = 17;
    double *A = drand_new((size_t)m * k), *B = drand_new((size_t)k * n);
    double *C1 = xmalloc((size_t)m * n * sizeof *C1), *C0 = xmalloc((size_t)m * n * sizeof *C0);
    la_set_backend(LA_NAIVE);
    la_dgemm(C1, A, B, m, n, k, false, false, 1, 0);
    la_set_backend(LA_BLAS);
    la_naive_dgemm(C0, A, B, m, n, k, false, false, 1, 0);
    CHECK_TRUE(memcmp(C1, C0, (size_t)m * n * sizeof *C0) == 0, "LA_NAIVE routes la_dgemm to the naive loop");
    free(A); free(B); free(C1); free(C0);
}

int main(void)
{
    rng_init(&R, 20240601);
    make_shapes();
    test_gemm_gemv();
    test_vector();
    test_solvers();
    test_by_hand(LA_BLAS, "blas");
    test_by_hand(LA_NAIVE, "naive");
    test_switch();
    return check_done();
}
