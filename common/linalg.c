#include "linalg.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

/* LAPACK's Fortran entry points in libopenblas (Debian ships no lapacke).
 * Everything is passed by reference; each character argument adds a hidden
 * length at the end (size_t with gfortran >= 8), which we pass explicitly.
 * Fortran matrices are column-major, so callers below transpose or rely on
 * symmetry: the row-major lower triangle is the column-major upper one. */
extern void dposv_(const char *uplo, const blasint *n, const blasint *nrhs,
                   double *a, const blasint *lda, double *b, const blasint *ldb,
                   blasint *info, size_t uplo_len);
extern void dgels_(const char *trans, const blasint *m, const blasint *n,
                   const blasint *nrhs, double *a, const blasint *lda,
                   double *b, const blasint *ldb, double *work,
                   const blasint *lwork, blasint *info, size_t trans_len);
extern void dpotrf_(const char *uplo, const blasint *n, double *a,
                    const blasint *lda, blasint *info, size_t uplo_len);
extern void dpotri_(const char *uplo, const blasint *n, double *a,
                    const blasint *lda, blasint *info, size_t uplo_len);

static enum la_backend backend = LA_BLAS;

void la_set_backend(enum la_backend b) { backend = b; }
enum la_backend la_get_backend(void) { return backend; }

static int imax(int a, int b) { return a > b ? a : b; }

/* Scratch arrays of doubles; xreallocarray checks the byte count overflow. */
static double *dalloc(size_t count) { return xreallocarray(NULL, count, sizeof(double)); }

static double *dup_doubles(const double *src, size_t count)
{
    double *p = dalloc(count);
    if (count)
        memcpy(p, src, count * sizeof *p);
    return p;
}

/* ---- BLAS: thin calls; leading dimensions are the stored column counts,
 * at least 1 because cblas rejects 0 even for empty matrices. */

static enum CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

void la_sgemm(float *C, const float *A, const float *B, int m, int n, int k,
              bool transA, bool transB, float alpha, float beta)
{
    CHECK(m >= 0 && n >= 0 && k >= 0);
    if (backend == LA_NAIVE) {
        la_naive_sgemm(C, A, B, m, n, k, transA, transB, alpha, beta);
        return;
    }
    if (m == 0 || n == 0)
        return;
    if (beta == 0)   /* not read, even if NaN, whatever the OpenBLAS version */
        memset(C, 0, (size_t)m * n * sizeof *C);
    cblas_sgemm(CblasRowMajor, tr(transA), tr(transB), m, n, k, alpha,
                A, imax(1, transA ? m : k), B, imax(1, transB ? k : n),
                beta, C, n);
}

void la_dgemm(double *C, const double *A, const double *B, int m, int n, int k,
              bool transA, bool transB, double alpha, double beta)
{
    CHECK(m >= 0 && n >= 0 && k >= 0);
    if (backend == LA_NAIVE) {
        la_naive_dgemm(C, A, B, m, n, k, transA, transB, alpha, beta);
        return;
    }
    if (m == 0 || n == 0)
        return;
    if (beta == 0)   /* not read, even if NaN, whatever the OpenBLAS version */
        memset(C, 0, (size_t)m * n * sizeof *C);
    cblas_dgemm(CblasRowMajor, tr(transA), tr(transB), m, n, k, alpha,
                A, imax(1, transA ? m : k), B, imax(1, transB ? k : n),
                beta, C, n);
}

void la_sgemv(float *y, const float *A, const float *x, int m, int n,
              bool trans, float alpha, float beta)
{
    CHECK(m >= 0 && n >= 0);
    if (backend == LA_NAIVE) {
        la_naive_sgemv(y, A, x, m, n, trans, alpha, beta);
        return;
    }
    if ((trans ? n : m) == 0)
        return;
    if ((trans ? m : n) == 0) {   /* BLAS would leave y unscaled; we want beta*y */
        la_naive_sgemv(y, A, x, m, n, trans, alpha, beta);
        return;
    }
    if (beta == 0)   /* not read, even if NaN, whatever the OpenBLAS version */
        memset(y, 0, (size_t)(trans ? n : m) * sizeof *y);
    cblas_sgemv(CblasRowMajor, tr(trans), m, n, alpha, A, imax(1, n), x, 1, beta, y, 1);
}

void la_dgemv(double *y, const double *A, const double *x, int m, int n,
              bool trans, double alpha, double beta)
{
    CHECK(m >= 0 && n >= 0);
    if (backend == LA_NAIVE) {
        la_naive_dgemv(y, A, x, m, n, trans, alpha, beta);
        return;
    }
    if ((trans ? n : m) == 0)
        return;
    if ((trans ? m : n) == 0) {   /* BLAS would leave y unscaled; we want beta*y */
        la_naive_dgemv(y, A, x, m, n, trans, alpha, beta);
        return;
    }
    if (beta == 0)   /* not read, even if NaN, whatever the OpenBLAS version */
        memset(y, 0, (size_t)(trans ? n : m) * sizeof *y);
    cblas_dgemv(CblasRowMajor, tr(trans), m, n, alpha, A, imax(1, n), x, 1, beta, y, 1);
}

float la_sdot(const float *x, const float *y, int n)
{
    return backend == LA_NAIVE ? la_naive_sdot(x, y, n) : cblas_sdot(n, x, 1, y, 1);
}

double la_ddot(const double *x, const double *y, int n)
{
    return backend == LA_NAIVE ? la_naive_ddot(x, y, n) : cblas_ddot(n, x, 1, y, 1);
}

void la_saxpy(float *y, const float *x, int n, float alpha)
{
    if (backend == LA_NAIVE)
        la_naive_saxpy(y, x, n, alpha);
    else
        cblas_saxpy(n, alpha, x, 1, y, 1);
}

void la_daxpy(double *y, const double *x, int n, double alpha)
{
    if (backend == LA_NAIVE)
        la_naive_daxpy(y, x, n, alpha);
    else
        cblas_daxpy(n, alpha, x, 1, y, 1);
}

void la_sscal(float *x, int n, float alpha)
{
    if (backend == LA_NAIVE)
        la_naive_sscal(x, n, alpha);
    else
        cblas_sscal(n, alpha, x, 1);
}

/* ---- LAPACK: copy inputs (LAPACK overwrites them), transposing the
 * right-hand sides into column-major and the results back. */

/* dst[c x r] = src[r x c] transposed. */
static void transpose(double *dst, const double *src, int r, int c)
{
    for (int i = 0; i < r; i++)
        for (int j = 0; j < c; j++)
            dst[(size_t)j * r + i] = src[(size_t)i * c + j];
}

int la_dposv(double *X, const double *A, const double *B, int n, int nrhs)
{
    CHECK(n >= 0 && nrhs >= 0);
    if (backend == LA_NAIVE)
        return la_naive_dposv(X, A, B, n, nrhs);
    if (n == 0 || nrhs == 0)
        return 0;
    /* A symmetric needs no transpose; "U" reads our lower triangle. */
    double *a = dup_doubles(A, (size_t)n * n);
    double *b = dalloc((size_t)n * nrhs);
    transpose(b, B, n, nrhs);
    blasint bn = n, bnrhs = nrhs, info = 0;
    dposv_("U", &bn, &bnrhs, a, &bn, b, &bn, &info, 1);
    CHECK(info >= 0);
    if (info == 0)
        transpose(X, b, nrhs, n);
    free(a);
    free(b);
    return info != 0;
}

/* The rank test shared by both dgels paths, so they agree on what is
 * rank-deficient (LAPACK itself only rejects an exactly zero R_jj).  R_jj is
 * at R[j * dstride]: dstride is n + 1 row-major, m + 1 column-major. */
static int rank_deficient(const double *R, size_t dstride, int m, int n)
{
    double rmax = 0;
    for (int j = 0; j < n; j++)
        rmax = fmax(rmax, fabs(R[j * dstride]));
    double tol = imax(m, n) * DBL_EPSILON * rmax;
    for (int j = 0; j < n; j++)
        if (!(fabs(R[j * dstride]) > tol))
            return 1;
    return 0;
}

int la_dgels(double *X, const double *A, const double *B, int m, int n, int nrhs)
{
    CHECK(n >= 0 && m >= n && nrhs >= 0);
    if (backend == LA_NAIVE)
        return la_naive_dgels(X, A, B, m, n, nrhs);
    if (n == 0 || nrhs == 0)
        return 0;
    double *a = dalloc((size_t)m * n);
    double *b = dalloc((size_t)m * nrhs);
    transpose(a, A, m, n);
    transpose(b, B, m, nrhs);
    blasint bm = m, bn = n, bnrhs = nrhs, lwork = -1, info = 0;
    double wq;
    dgels_("N", &bm, &bn, &bnrhs, a, &bm, b, &bm, &wq, &lwork, &info, 1);
    CHECK(info == 0);
    lwork = (blasint)wq;
    double *work = dalloc((size_t)imax(1, lwork));
    dgels_("N", &bm, &bn, &bnrhs, a, &bm, b, &bm, work, &lwork, &info, 1);
    CHECK(info >= 0);
    /* a now holds R in its (column-major) upper triangle. */
    int bad = info != 0 || rank_deficient(a, (size_t)m + 1, m, n);
    if (!bad)
        for (int i = 0; i < n; i++)
            for (int r = 0; r < nrhs; r++)
                X[(size_t)i * nrhs + r] = b[(size_t)r * m + i];
    free(work);
    free(a);
    free(b);
    return bad;
}

/* Copy the row-major lower triangle onto the upper one. */
static void symmetrize_from_lower(double *M, int n)
{
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            M[(size_t)i * n + j] = M[(size_t)j * n + i];
}

int la_dinv_spd(double *Ainv, const double *A, int n)
{
    CHECK(n >= 0);
    if (backend == LA_NAIVE)
        return la_naive_dinv_spd(Ainv, A, n);
    if (n == 0)
        return 0;
    double *a = dup_doubles(A, (size_t)n * n);
    blasint bn = n, info = 0;
    dpotrf_("U", &bn, a, &bn, &info, 1);
    CHECK(info >= 0);
    if (info == 0) {
        dpotri_("U", &bn, a, &bn, &info, 1);
        CHECK(info >= 0);
    }
    if (info == 0) {
        symmetrize_from_lower(a, n);
        memcpy(Ainv, a, (size_t)n * n * sizeof *a);
    }
    free(a);
    return info != 0;
}

/* ---- The naive twins: plain loops, written for clarity, not speed. */

#define AT(M, tr_, i, j, rows, cols) ((tr_) ? (M)[(size_t)(j) * (rows) + (i)] : (M)[(size_t)(i) * (cols) + (j)])

void la_naive_sgemm(float *C, const float *A, const float *B, int m, int n, int k,
                    bool transA, bool transB, float alpha, float beta)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            float s = 0;
            if (alpha != 0)
                for (int l = 0; l < k; l++)
                    s += AT(A, transA, i, l, m, k) * AT(B, transB, l, j, k, n);
            float *c = &C[(size_t)i * n + j];
            *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
        }
}

void la_naive_dgemm(double *C, const double *A, const double *B, int m, int n, int k,
                    bool transA, bool transB, double alpha, double beta)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            if (alpha != 0)
                for (int l = 0; l < k; l++)
                    s += AT(A, transA, i, l, m, k) * AT(B, transB, l, j, k, n);
            double *c = &C[(size_t)i * n + j];
            *c = beta == 0 ? alpha * s : alpha * s + beta * *c;
        }
}

void la_naive_sgemv(float *y, const float *A, const float *x, int m, int n,
                    bool trans, float alpha, float beta)
{
    int rows = trans ? n : m, cols = trans ? m : n;
    for (int i = 0; i < rows; i++) {
        float s = 0;
        if (alpha != 0)
            for (int j = 0; j < cols; j++)
                s += AT(A, trans, i, j, rows, cols) * x[j];
        y[i] = beta == 0 ? alpha * s : alpha * s + beta * y[i];
    }
}

void la_naive_dgemv(double *y, const double *A, const double *x, int m, int n,
                    bool trans, double alpha, double beta)
{
    int rows = trans ? n : m, cols = trans ? m : n;
    for (int i = 0; i < rows; i++) {
        double s = 0;
        if (alpha != 0)
            for (int j = 0; j < cols; j++)
                s += AT(A, trans, i, j, rows, cols) * x[j];
        y[i] = beta == 0 ? alpha * s : alpha * s + beta * y[i];
    }
}

float la_naive_sdot(const float *x, const float *y, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

double la_naive_ddot(const double *x, const double *y, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

void la_naive_saxpy(float *y, const float *x, int n, float alpha)
{
    for (int i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void la_naive_daxpy(double *y, const double *x, int n, double alpha)
{
    for (int i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void la_naive_sscal(float *x, int n, float alpha)
{
    for (int i = 0; i < n; i++)
        x[i] *= alpha;
}

/* L[n x n] = lower Cholesky factor of A (lower triangle read), upper part
 * zeroed.  Fails like dpotrf: a pivot that is not > 0 (or is NaN). */
static int cholesky(double *L, const double *A, int n)
{
    memset(L, 0, (size_t)n * n * sizeof *L);
    for (int j = 0; j < n; j++) {
        double d = A[(size_t)j * n + j];
        for (int k = 0; k < j; k++)
            d -= L[(size_t)j * n + k] * L[(size_t)j * n + k];
        if (!(d > 0))
            return 1;
        double ljj = sqrt(d);
        L[(size_t)j * n + j] = ljj;
        for (int i = j + 1; i < n; i++) {
            double s = A[(size_t)i * n + j];
            for (int k = 0; k < j; k++)
                s -= L[(size_t)i * n + k] * L[(size_t)j * n + k];
            L[(size_t)i * n + j] = s / ljj;
        }
    }
    return 0;
}

int la_naive_dposv(double *X, const double *A, const double *B, int n, int nrhs)
{
    double *L = dalloc((size_t)n * n);
    if (cholesky(L, A, n)) {
        free(L);
        return 1;
    }
    if (X != B)
        memcpy(X, B, (size_t)n * nrhs * sizeof *X);
    for (int r = 0; r < nrhs; r++) {
        /* L y = b forward, then L' x = y backward, in place in column r. */
        for (int i = 0; i < n; i++) {
            double s = X[(size_t)i * nrhs + r];
            for (int k = 0; k < i; k++)
                s -= L[(size_t)i * n + k] * X[(size_t)k * nrhs + r];
            X[(size_t)i * nrhs + r] = s / L[(size_t)i * n + i];
        }
        for (int i = n - 1; i >= 0; i--) {
            double s = X[(size_t)i * nrhs + r];
            for (int k = i + 1; k < n; k++)
                s -= L[(size_t)k * n + i] * X[(size_t)k * nrhs + r];
            X[(size_t)i * nrhs + r] = s / L[(size_t)i * n + i];
        }
    }
    free(L);
    return 0;
}

/* Householder QR of a copy of A applied to a copy of B, then R X = Q'B. */
int la_naive_dgels(double *X, const double *A, const double *B, int m, int n, int nrhs)
{
    double *a = dup_doubles(A, (size_t)m * n);
    double *b = dup_doubles(B, (size_t)m * nrhs);
    double *v = dalloc((size_t)m);
    for (int j = 0; j < n; j++) {
        double norm = 0;
        for (int i = j; i < m; i++)
            norm = hypot(norm, a[(size_t)i * n + j]);
        if (norm == 0)
            continue;   /* R_jj = 0: caught by the rank test below */
        /* Reflect column j onto -sign(a_jj) * norm * e_j, avoiding cancellation. */
        double alpha = a[(size_t)j * n + j] > 0 ? -norm : norm;
        double vv = 0;
        for (int i = j; i < m; i++) {
            v[i] = a[(size_t)i * n + j] - (i == j ? alpha : 0);
            vv += v[i] * v[i];
        }
        for (int c = j; c < n + nrhs; c++) {
            double *M = c < n ? a : b;
            int cols = c < n ? n : nrhs, cc = c < n ? c : c - n;
            double s = 0;
            for (int i = j; i < m; i++)
                s += v[i] * M[(size_t)i * cols + cc];
            s = 2 * s / vv;
            for (int i = j; i < m; i++)
                M[(size_t)i * cols + cc] -= s * v[i];
        }
    }
    int bad = rank_deficient(a, (size_t)n + 1, m, n);
    for (int r = 0; r < nrhs && !bad; r++)
        for (int i = n - 1; i >= 0; i--) {
            double s = b[(size_t)i * nrhs + r];
            for (int k = i + 1; k < n; k++)
                s -= a[(size_t)i * n + k] * b[(size_t)k * nrhs + r];
            b[(size_t)i * nrhs + r] = s / a[(size_t)i * n + i];
        }
    if (!bad)
        memmove(X, b, (size_t)n * nrhs * sizeof *X);
    free(v);
    free(a);
    free(b);
    return bad;
}

/* A^-1 = L'^-1 L^-1: invert L by forward substitution, then multiply. */
int la_naive_dinv_spd(double *Ainv, const double *A, int n)
{
    double *L = dalloc((size_t)n * n);
    if (cholesky(L, A, n)) {
        free(L);
        return 1;
    }
    double *Y = xcalloc((size_t)n * n, sizeof *Y);   /* Y = L^-1, lower */
    for (int c = 0; c < n; c++)
        for (int i = c; i < n; i++) {
            double s = i == c ? 1 : 0;
            for (int k = c; k < i; k++)
                s -= L[(size_t)i * n + k] * Y[(size_t)k * n + c];
            Y[(size_t)i * n + c] = s / L[(size_t)i * n + i];
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = i; k < n; k++)
                s += Y[(size_t)k * n + i] * Y[(size_t)k * n + j];
            Ainv[(size_t)i * n + j] = Ainv[(size_t)j * n + i] = s;
        }
    free(Y);
    free(L);
    return 0;
}
