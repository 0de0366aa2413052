/* kmeans_dots: the dot products of a block of rows with every centroid, the
 * inner loop of k-means, in our own kernel.
 *
 * Why not dgemm: k-means multiplies a tall, skinny block of rows (hundreds
 * of rows of d = 10..100) by a few centroids (k = 2..50), again and again
 * over the same rows.  OpenBLAS copies ("packs") the big operand on every
 * call, which for these shapes costs as much as the product; and Debian's
 * OpenBLAS 0.3.21 runs generic kernels on newer processors.  Here the small
 * operand, the centroids, is packed once per pass into panels of KM_PANEL
 * centroids, feature-major (panel[j][c]), and the rows are read in place:
 * each step of the inner loop multiplies one feature of four rows by one
 * feature of eight centroids, in vector registers.
 *
 * Bits: every dot product is summed over features in index order with a
 * separate multiply and add (ISO C: no contraction into fused
 * multiply-adds), exactly as la_naive_dgemm does; so the result is the same
 * bits on any processor and on either clone below.  The kernel is compiled
 * twice, for AVX2 and for the baseline, and the loader picks one (GCC's
 * function multiversioning). */
#include "kmeans.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "linalg.h"
#include "xalloc.h"

/* Four doubles; the aligned(8) variant loads and stores from any double. */
typedef double v4d __attribute__((vector_size(32)));
typedef double v4du __attribute__((vector_size(32), aligned(8)));

/* GCC on x86-64 (the clones need the loader's ifunc); elsewhere one
 * build for the baseline. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define KM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KM_CLONES
#endif

static enum km_kernel kernel = KM_KERNEL_OWN;

void km_set_kernel(enum km_kernel k) { kernel = k; }
enum km_kernel km_get_kernel(void) { return kernel; }

/* Panels are KM_PANEL centroids wide, except the last, which is 4 wide
 * when at most 4 remain; g's rows are as wide as the panels. */
static int panel_width(int k, int p)
{
    int left = k - p * KM_PANEL;
    return left > 4 ? KM_PANEL : 4;
}

size_t km_dots_stride(int k)
{
    if (kernel == KM_KERNEL_BLAS)
        return (size_t)k;
    int full = k / KM_PANEL, rest = k % KM_PANEL;
    return (size_t)full * KM_PANEL + (rest == 0 ? 0 : rest > 4 ? KM_PANEL : 4);
}

size_t km_pack_size(int k, int d)
{
    int full = k / KM_PANEL, rest = k % KM_PANEL;
    return ((size_t)full * KM_PANEL + (rest == 0 ? 0 : rest > 4 ? KM_PANEL : 4)) * (size_t)d;
}

void km_pack(double *pk, const double *cent, int k, int d)
{
    for (int p = 0; p * KM_PANEL < k; p++) {
        int w = panel_width(k, p);
        double *b = pk + (size_t)p * KM_PANEL * d;
        for (int j = 0; j < d; j++)
            for (int c = 0; c < w; c++) {
                int cc = p * KM_PANEL + c;
                b[(size_t)j * w + c] = cc < k ? cent[(size_t)cc * d + j] : 0;
            }
    }
}

/* Row r of the operand: x's r-th row, or its rows[r]-th. */
#define ROW(r) (x + (size_t)(rows ? rows[r] : (r)) * d)

/* One panel of 8 centroids: g[i][0..8) for n rows. */
KM_CLONES
static void dots_panel8(double *g, size_t ldg, const double *x, const uint32_t *rows, size_t n,
                        int d, const double *b)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double *x0 = ROW(i), *x1 = ROW(i + 1), *x2 = ROW(i + 2), *x3 = ROW(i + 3);
        v4d a00 = {0}, a01 = {0}, a10 = {0}, a11 = {0};
        v4d a20 = {0}, a21 = {0}, a30 = {0}, a31 = {0};
        for (int j = 0; j < d; j++) {
            v4d b0 = *(const v4du *)(b + (size_t)j * 8);
            v4d b1 = *(const v4du *)(b + (size_t)j * 8 + 4);
            a00 += b0 * x0[j];
            a01 += b1 * x0[j];
            a10 += b0 * x1[j];
            a11 += b1 * x1[j];
            a20 += b0 * x2[j];
            a21 += b1 * x2[j];
            a30 += b0 * x3[j];
            a31 += b1 * x3[j];
        }
        double *g0 = g + i * ldg;
        *(v4du *)(g0) = a00;
        *(v4du *)(g0 + 4) = a01;
        *(v4du *)(g0 + ldg) = a10;
        *(v4du *)(g0 + ldg + 4) = a11;
        *(v4du *)(g0 + 2 * ldg) = a20;
        *(v4du *)(g0 + 2 * ldg + 4) = a21;
        *(v4du *)(g0 + 3 * ldg) = a30;
        *(v4du *)(g0 + 3 * ldg + 4) = a31;
    }
    for (; i < n; i++) {
        const double *x0 = ROW(i);
        v4d a0 = {0}, a1 = {0};
        for (int j = 0; j < d; j++) {
            a0 += *(const v4du *)(b + (size_t)j * 8) * x0[j];
            a1 += *(const v4du *)(b + (size_t)j * 8 + 4) * x0[j];
        }
        *(v4du *)(g + i * ldg) = a0;
        *(v4du *)(g + i * ldg + 4) = a1;
    }
}

/* One panel of 4 centroids: g[i][0..4) for n rows. */
KM_CLONES
static void dots_panel4(double *g, size_t ldg, const double *x, const uint32_t *rows, size_t n,
                        int d, const double *b)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double *x0 = ROW(i), *x1 = ROW(i + 1), *x2 = ROW(i + 2), *x3 = ROW(i + 3);
        v4d a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (int j = 0; j < d; j++) {
            v4d b0 = *(const v4du *)(b + (size_t)j * 4);
            a0 += b0 * x0[j];
            a1 += b0 * x1[j];
            a2 += b0 * x2[j];
            a3 += b0 * x3[j];
        }
        double *g0 = g + i * ldg;
        *(v4du *)(g0) = a0;
        *(v4du *)(g0 + ldg) = a1;
        *(v4du *)(g0 + 2 * ldg) = a2;
        *(v4du *)(g0 + 3 * ldg) = a3;
    }
    for (; i < n; i++) {
        const double *x0 = ROW(i);
        v4d a0 = {0};
        for (int j = 0; j < d; j++)
            a0 += *(const v4du *)(b + (size_t)j * 4) * x0[j];
        *(v4du *)(g + i * ldg) = a0;
    }
}

size_t km_dots(double *g, const double *x, const uint32_t *rows, size_t n, int d,
               const double *cent, const double *packed, int k)
{
    size_t ldg = km_dots_stride(k);
    if (n == 0)
        return ldg;
    if (kernel == KM_KERNEL_BLAS) {
        CHECK(n <= (size_t)INT32_MAX);
        double *xs = NULL;
        if (rows) {   /* dgemm wants the rows together */
            xs = xreallocarray(NULL, n * d, sizeof *xs);
            for (size_t r = 0; r < n; r++)
                memcpy(xs + r * d, ROW(r), (size_t)d * sizeof *xs);
        }
        la_dgemm(g, rows ? xs : x, cent, (int)n, k, d, false, true, 1.0, 0.0);
        free(xs);
        return ldg;
    }
    for (int p = 0; p * KM_PANEL < k; p++) {
        const double *b = packed + (size_t)p * KM_PANEL * d;
        if (panel_width(k, p) == KM_PANEL)
            dots_panel8(g + (size_t)p * KM_PANEL, ldg, x, rows, n, d, b);
        else
            dots_panel4(g + (size_t)p * KM_PANEL, ldg, x, rows, n, d, b);
    }
    return ldg;
}
