/* cf_bpr: Bayesian personalised ranking (Rendle, Freudenthaler, Gantner and
 * Schmidt-Thieme 2009) by stochastic gradient ascent.
 *
 * For a user u, an item i it interacted with and an item j it did not,
 * x_uij = x_u . (y_i - y_j) + b_i - b_j; each step climbs
 *
 *     ln sigmoid(x_uij) - reg (|x_u|^2 + |y_i|^2 + |y_j|^2) - reg_bias (b_i^2 + b_j^2)
 *
 * An epoch draws nnz samples: a pair (u, i) uniformly among the
 * interactions, then j uniformly among the items until one is not u's.
 * One seeded stream drives every draw on one thread, so the model is the
 * same for any --threads. */
#include <math.h>
#include <stdlib.h>

#include "cf.h"
#include "cf_vec.h"
#include "diag.h"
#include "rng.h"
#include "xalloc.h"

/* Is item j in the sorted row idx[0 .. n)? */
static bool row_has(const uint32_t *idx, uint64_t n, uint32_t j)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (idx[mid] < j)
            lo = mid + 1;
        else if (idx[mid] > j)
            hi = mid;
        else
            return true;
    }
    return false;
}

/* The user of entry e: the row whose range holds it. */
static uint32_t row_of(const uint64_t *p, uint32_t nrows, uint64_t e)
{
    uint32_t lo = 0, hi = nrows;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p[mid] <= e)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

float cf_bpr_step(float *x, float *yi, float *yj, float *bi, float *bj, int f, float lr,
                  float reg, float regb, float *scratch)
{
    float z = cf_dot(x, yi, f) - cf_dot(x, yj, f) + *bi - *bj;
    float g = 1 / (1 + expf(z));   /* d ln sigmoid(z) / dz */
    for (int k = 0; k < f; k++)
        scratch[k] = x[k];
    for (int k = 0; k < f; k++) {
        x[k] += lr * (g * (yi[k] - yj[k]) - reg * x[k]);
        yi[k] += lr * (g * scratch[k] - reg * yi[k]);
        yj[k] += lr * (-g * scratch[k] - reg * yj[k]);
    }
    *bi += lr * (g - regb * *bi);
    *bj += lr * (-g - regb * *bj);
    return z;
}

void cf_bpr_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o,
                  cf_iter_fn report, void *ctx)
{
    int f = m->f;
    struct rng root, r;
    cf_init_factors(m, o, &root);
    if (d->nnz == 0)
        return;
    float lr = (float)o->lr, reg = (float)o->reg, regb = (float)o->reg_bias;
    float *xu = xmalloc((size_t)f * sizeof *xu);
    for (int it = 1; it <= o->iters; it++) {
        rng_split(&r, &root, 100 + (uint64_t)it);
        double lsum = 0;
        uint64_t nsamp = 0;
        for (uint64_t s = 0; s < d->nnz; s++) {
            uint64_t e = rng_below(&r, d->nnz);
            uint32_t u = row_of(d->rowp, d->nusers, e), i = d->rowi[e];
            uint64_t nu = d->rowp[u + 1] - d->rowp[u];
            if (nu >= d->nitems)
                continue;           /* the user has every item: no negative */
            uint32_t j;
            do
                j = (uint32_t)rng_below(&r, d->nitems);
            while (row_has(d->rowi + d->rowp[u], nu, j));
            float z = cf_bpr_step(m->U + (size_t)u * f, m->V + (size_t)i * f,
                                  m->V + (size_t)j * f, &m->ibias[i], &m->ibias[j], f, lr, reg,
                                  regb, xu);
            lsum += z > 0 ? log1p(exp(-(double)z)) : -(double)z + log1p(exp((double)z));
            nsamp++;
        }
        if (report)
            report(ctx, it, nsamp ? lsum / (double)nsamp : 0);
    }
    free(xu);
}
