/* cf_mf: biased matrix factorisation of explicit ratings by stochastic
 * gradient descent (Funk 2006; Koren, Bell and Volinsky 2009), the model
 * behind the Netflix-prize "SVD".
 *
 *     r^_ui = mu + b_u + b_i + p_u . q_i
 *     min sum_(u,i) (r_ui - r^_ui)^2 + reg (|p_u|^2 + |q_i|^2) + reg_bias (b_u^2 + b_i^2)
 *
 * mu is the mean training rating.  Each epoch visits every rating once in a
 * seeded random order and steps each touched parameter against its
 * gradient; p_u and q_i are updated from each other's old values.  One
 * thread, so the model is the same for any --threads. */
#include <math.h>
#include <stdlib.h>

#include "cf.h"
#include "cf_vec.h"
#include "diag.h"
#include "rng.h"
#include "xalloc.h"

float cf_mf_step(float *p, float *q, float *bu, float *bi, float r, int f, float lr, float reg,
                 float regb, float *scratch)
{
    float err = r - (*bu + *bi + cf_dot(p, q, f));
    *bu += lr * (err - regb * *bu);
    *bi += lr * (err - regb * *bi);
    for (int k = 0; k < f; k++)
        scratch[k] = p[k];
    for (int k = 0; k < f; k++) {
        p[k] += lr * (err * q[k] - reg * p[k]);
        q[k] += lr * (err * scratch[k] - reg * q[k]);
    }
    return err;
}

void cf_mf_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o,
                 cf_iter_fn report, void *ctx)
{
    int f = m->f;
    struct rng root, r;
    cf_init_factors(m, o, &root);
    m->mu = d->vmean;
    m->rmin = d->vmin;
    m->rmax = d->vmax;
    if (d->nnz == 0)
        return;
    if (d->nnz >= UINT32_MAX)
        die("mf: %llu ratings is more than %u (the epoch order is 32-bit)",
            (unsigned long long)d->nnz, UINT32_MAX - 1);
    /* The entries' users, so that a shuffled order finds them. */
    uint32_t *user = xreallocarray(NULL, d->nnz, sizeof *user);
    for (uint32_t u = 0; u < d->nusers; u++)
        for (uint64_t e = d->rowp[u]; e < d->rowp[u + 1]; e++)
            user[e] = u;
    uint32_t *order = xreallocarray(NULL, d->nnz, sizeof *order);
    for (uint64_t e = 0; e < d->nnz; e++)
        order[e] = (uint32_t)e;
    float lr = (float)o->lr, reg = (float)o->reg, regb = (float)o->reg_bias, mu = (float)m->mu;
    float *pu = xmalloc((size_t)f * sizeof *pu);
    for (int it = 1; it <= o->iters; it++) {
        rng_split(&r, &root, 100 + (uint64_t)it);
        rng_shuffle(&r, order, d->nnz);
        double sse = 0;
        for (uint64_t s = 0; s < d->nnz; s++) {
            uint32_t e = order[s], u = user[e], i = d->rowi[e];
            float err = cf_mf_step(m->U + (size_t)u * f, m->V + (size_t)i * f, &m->ubias[u],
                                   &m->ibias[i], d->rowv[e] - mu, f, lr, reg, regb, pu);
            sse += (double)err * err;
        }
        if (report)
            report(ctx, it, sqrt(sse / (double)d->nnz));
    }
    free(pu);
    free(order);
    free(user);
}

double cf_mf_predict(const struct cf_model *m, int64_t u, int64_t i)
{
    double r = m->mu;
    if (u >= 0)
        r += m->ubias[u];
    if (i >= 0)
        r += m->ibias[i];
    if (u >= 0 && i >= 0)
        r += cf_dot(m->U + (size_t)u * m->f, m->V + (size_t)i * m->f, m->f);
    return r < m->rmin ? m->rmin : r > m->rmax ? m->rmax : r;
}
