/* cf_knn: item-item cosine neighbours.
 *
 *     sim(a, b) = sum_u x_ua x_ub / (|x_a| |x_b| + shrink)
 *
 * over the columns of the user-item matrix of interaction values; each
 * item keeps its o->neighbours most similar items (ties by lower index).
 * A user's score for item j is sum_{i in u} x_ui sim(i, j) over the kept
 * lists.  Co-occurrences are accumulated per item a through its users'
 * rows, costing sum over users of n_u^2; one item per task, each summed in
 * user order, so the same for any number of threads.  Memory: a dense
 * accumulator per thread and neighbours * 8 bytes per item. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "diag.h"
#include "xalloc.h"

struct knn_job {
    const struct cf_data *d;
    const double *norm;         /* [nitems] |x_i| */
    int k;
    double shrink;
    double **acc;               /* [workers][nitems] zero between items */
    uint32_t **touched;         /* [workers][nitems] */
    uint32_t *nbi;              /* [nitems][k] */
    float *nbs;                 /* [nitems][k] */
    int *count;                 /* [nitems] */
};

static void knn_items(void *ctx, size_t lo, size_t hi, int worker)
{
    const struct knn_job *jb = ctx;
    const struct cf_data *d = jb->d;
    double *acc = jb->acc[worker];
    uint32_t *touched = jb->touched[worker];
    for (size_t a = lo; a < hi; a++) {
        size_t nt = 0;
        for (uint64_t e = d->colp[a]; e < d->colp[a + 1]; e++) {
            uint32_t u = d->colu[e];
            double xa = d->colv[e];
            for (uint64_t q = d->rowp[u]; q < d->rowp[u + 1]; q++) {
                uint32_t b = d->rowi[q];
                if (b == a)
                    continue;
                if (acc[b] == 0)
                    touched[nt++] = b;
                acc[b] += xa * d->rowv[q];
            }
        }
        uint32_t *idx = jb->nbi + a * (size_t)jb->k;
        float *val = jb->nbs + a * (size_t)jb->k;
        int n = 0;
        for (size_t t = 0; t < nt; t++) {
            uint32_t b = touched[t];
            float s = (float)(acc[b] / (jb->norm[a] * jb->norm[b] + jb->shrink));
            acc[b] = 0;
            if (n < jb->k) {
                idx[n] = b;
                val[n] = s;
                n++;
                if (n == jb->k)
                    for (int i = n / 2; i-- > 0;)
                        cf_heap_sift(idx, val, n, i);
            } else if (cf_better(s, b, val[0], idx[0])) {
                idx[0] = b;
                val[0] = s;
                cf_heap_sift(idx, val, n, 0);
            }
        }
        if (n < jb->k)
            for (int i = n / 2; i-- > 0;)
                cf_heap_sift(idx, val, n, i);
        /* Best first: pop the worst to the end. */
        for (int end = n; end-- > 1;) {
            uint32_t ti = idx[0];
            idx[0] = idx[end];
            idx[end] = ti;
            float tv = val[0];
            val[0] = val[end];
            val[end] = tv;
            cf_heap_sift(idx, val, end, 0);
        }
        jb->count[a] = n;
    }
}

void cf_knn_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o)
{
    size_t n = d->nitems;
    int k = o->neighbours;
    if ((size_t)k > n)
        k = n ? (int)n : 1;
    double *norm = xcalloc(n + 1, sizeof *norm);
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (uint64_t e = d->colp[i]; e < d->colp[i + 1]; e++)
            s += (double)d->colv[e] * d->colv[e];
        norm[i] = sqrt(s);
    }
    int workers = o->threads < 1 ? 1 : o->threads;
    struct knn_job jb = {
        .d = d, .norm = norm, .k = k, .shrink = o->shrink,
        .acc = xcalloc((size_t)workers, sizeof(double *)),
        .touched = xcalloc((size_t)workers, sizeof(uint32_t *)),
        .nbi = xreallocarray(NULL, n * k + 1, sizeof(uint32_t)),
        .nbs = xreallocarray(NULL, n * k + 1, sizeof(float)),
        .count = xcalloc(n + 1, sizeof(int)),
    };
    for (int w = 0; w < workers; w++) {
        jb.acc[w] = xcalloc(n + 1, sizeof(double));
        jb.touched[w] = xreallocarray(NULL, n + 1, sizeof(uint32_t));
    }
    cf_parallel(workers, n, 16, knn_items, &jb);
    /* Compact into the model's lists. */
    m->nbrp = xcalloc(n + 1, sizeof *m->nbrp);
    for (size_t i = 0; i < n; i++)
        m->nbrp[i + 1] = m->nbrp[i] + (uint64_t)jb.count[i];
    uint64_t total = m->nbrp[n];
    m->nbri = xreallocarray(NULL, total ? total : 1, sizeof *m->nbri);
    m->nbrs = xreallocarray(NULL, total ? total : 1, sizeof *m->nbrs);
    for (size_t i = 0; i < n; i++) {
        memcpy(m->nbri + m->nbrp[i], jb.nbi + i * k, (size_t)jb.count[i] * sizeof *m->nbri);
        memcpy(m->nbrs + m->nbrp[i], jb.nbs + i * k, (size_t)jb.count[i] * sizeof *m->nbrs);
    }
    for (int w = 0; w < workers; w++) {
        free(jb.acc[w]);
        free(jb.touched[w]);
    }
    free(jb.acc);
    free(jb.touched);
    free(jb.nbi);
    free(jb.nbs);
    free(jb.count);
    free(norm);
}
