/* cf_ease: the closed-form item-item model EASE (Steck 2019).
 *
 *     min_B |X - X B|_F^2 + lambda |B|_F^2  subject to diag(B) = 0
 *
 * has the solution B = I - P diag(1 / diag P) with P = (X'X + lambda I)^-1:
 * B_ij = -P_ij / P_jj off the diagonal.  X is the user-item matrix of
 * interaction values.  X'X is summed from the columns in user order, one
 * item per task, so it is the same for any number of threads; the inverse
 * is one LAPACK Cholesky inversion (OpenBLAS's threads, which the
 * OPENBLAS_NUM_THREADS environment variable sets).
 *
 * Memory: 8 n^2 bytes for X'X (inverted in place) and 4 n^2 for B, n items:
 * 1.6 GB at 10,000 items, so at most CF_EASE_MAX_ITEMS. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "diag.h"
#include "linalg.h"
#include "xalloc.h"

struct gram_job {
    const struct cf_data *d;
    double *G;                  /* [n][n]: row a gets sum_u x_ua x_ub for b <= a */
};

static void gram_items(void *ctx, size_t lo, size_t hi, int worker)
{
    (void)worker;
    const struct gram_job *jb = ctx;
    const struct cf_data *d = jb->d;
    size_t n = d->nitems;
    for (size_t a = lo; a < hi; a++) {
        double *g = jb->G + a * n;
        for (uint64_t e = d->colp[a]; e < d->colp[a + 1]; e++) {
            uint32_t u = d->colu[e];
            double xa = d->colv[e];
            for (uint64_t k = d->rowp[u]; k < d->rowp[u + 1] && d->rowi[k] <= a; k++)
                g[d->rowi[k]] += xa * d->rowv[k];
        }
    }
}

void cf_ease_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o)
{
    size_t n = d->nitems;
    if (n > CF_EASE_MAX_ITEMS)
        die("ease: %zu items is more than %d (the item-item matrix would take %.1f GB); "
            "use als or itemknn", n, CF_EASE_MAX_ITEMS, 12.0 * n * n / 1e9);
    double *G = xcalloc(n ? n * n : 1, sizeof *G);
    struct gram_job jb = {d, G};
    cf_parallel(o->threads, n, 16, gram_items, &jb);
    for (size_t a = 0; a < n; a++)
        G[a * n + a] += o->lambda;
    if (n && la_dinv_spd(G, G, (int)n) != 0)
        die("ease: X'X + lambda I is not positive definite (try a larger --lambda)");
    m->B = xreallocarray(NULL, n ? n * n : 1, sizeof *m->B);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            m->B[i * n + j] = i == j ? 0.0f : (float)(-G[i * n + j] / G[j * n + j]);
    free(G);
}
