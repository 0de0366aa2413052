/* cf_als: implicit-feedback matrix factorisation by alternating least
 * squares (Hu, Koren and Volinsky 2008).
 *
 * Every pair (u, i) has a preference p = 1 when observed with weight w,
 * else 0, and a confidence c = 1 + alpha w (1 when unobserved).  The
 * objective over all pairs is
 *
 *     sum_ui c_ui (p_ui - x_u . y_i)^2 + reg (sum_u |x_u|^2 + sum_i |y_i|^2)
 *
 * Fixing Y, each x_u solves (Y'Y + reg I + sum_{i in u} (c_ui - 1) y_i y_i') x_u
 * = sum_{i in u} c_ui y_i; Y'Y is shared, so a row costs O(f^2 + n_u f) per
 * conjugate-gradient step (Takacs, Pilaszy and Tikk 2011), started from the
 * previous x_u; or the exact Cholesky solve, O(n_u f^2 + f^3), through
 * LAPACK (cg_steps == 0).
 *
 * Threads take rows in chunks; a row's update reads only Y and writes only
 * its own x_u, and Y'Y is summed in row order in one thread, so the model
 * is the same bits for any number of threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "cf_vec.h"
#include "diag.h"
#include "dist.h"
#include "linalg.h"
#include "rng.h"
#include "xalloc.h"

/* G[f][f] = Y'Y over n rows of Y, summed in double in row order. */
static void gram(double *G, const float *Y, size_t n, int f)
{
    memset(G, 0, (size_t)f * f * sizeof *G);
    double yd[CF_MAX_FACTORS];
    for (size_t r = 0; r < n; r++) {
        const float *y = Y + r * (size_t)f;
        for (int a = 0; a < f; a++)
            yd[a] = y[a];
        for (int a = 0; a < f; a++) {
            double ya = yd[a];
            if (ya == 0)
                continue;
            double *g = G + (size_t)a * f;
            for (int b = 0; b <= a; b++)
                g[b] += ya * yd[b];
        }
    }
    for (int a = 0; a < f; a++)
        for (int b = a + 1; b < f; b++)
            G[(size_t)a * f + b] = G[(size_t)b * f + a];
}

struct als_job {
    float *X;
    const float *Y;
    int f;
    const uint64_t *p;
    const uint32_t *idx;
    const float *val;
    const float *G;             /* [f][f] Y'Y + reg I, float (cg) */
    const double *Gd;           /* [f][f] the same in double (cholesky) */
    float alpha;
    int cg_steps;
    size_t first;               /* the first row solved */
    float *fscratch;            /* [workers][3 f] */
    double *dscratch;           /* [workers][f f + 2 f] */
};

/* One row by conjugate gradient, from its current value. */
static void solve_cg(const struct als_job *jb, size_t row, float *scratch)
{
    int f = jb->f;
    float *x = jb->X + row * (size_t)f;
    float *r = scratch, *pv = scratch + f, *Ap = scratch + 2 * f;
    uint64_t a = jb->p[row], b = jb->p[row + 1];
    /* r = b - A x = sum c y - (G x + sum (c - 1)(y.x) y) */
    cf_symv(r, jb->G, x, f);
    for (int k = 0; k < f; k++)
        r[k] = -r[k];
    for (uint64_t e = a; e < b; e++) {
        const float *y = jb->Y + (size_t)jb->idx[e] * f;
        float c = 1 + jb->alpha * jb->val[e];
        float s = cf_dot(y, x, f);
        cf_axpy(r, y, f, c - (c - 1) * s);
    }
    memcpy(pv, r, (size_t)f * sizeof *pv);
    float rsq = cf_dot(r, r, f);
    for (int step = 0; step < jb->cg_steps && rsq > 1e-20f; step++) {
        cf_symv(Ap, jb->G, pv, f);
        for (uint64_t e = a; e < b; e++) {
            const float *y = jb->Y + (size_t)jb->idx[e] * f;
            float c1 = jb->alpha * jb->val[e];
            cf_axpy(Ap, y, f, c1 * cf_dot(y, pv, f));
        }
        float pAp = cf_dot(pv, Ap, f);
        if (!(pAp > 0))
            break;
        float alpha = rsq / pAp;
        cf_axpy(x, pv, f, alpha);
        cf_axpy(r, Ap, f, -alpha);
        float rsn = cf_dot(r, r, f);
        float beta = rsn / rsq;
        for (int k = 0; k < f; k++)
            pv[k] = r[k] + beta * pv[k];
        rsq = rsn;
    }
}

/* One row exactly: A = G + sum (c - 1) y y', rhs = sum c y, by Cholesky. */
static void solve_chol(const struct als_job *jb, size_t row, double *scratch)
{
    int f = jb->f;
    double *A = scratch, *rhs = scratch + (size_t)f * f, *yd = rhs + f;
    memcpy(A, jb->Gd, (size_t)f * f * sizeof *A);
    memset(rhs, 0, (size_t)f * sizeof *rhs);
    for (uint64_t e = jb->p[row]; e < jb->p[row + 1]; e++) {
        const float *y = jb->Y + (size_t)jb->idx[e] * f;
        double c = 1 + (double)jb->alpha * jb->val[e];
        for (int k = 0; k < f; k++) {
            yd[k] = y[k];
            rhs[k] += c * yd[k];
        }
        for (int k = 0; k < f; k++) {
            double w = (c - 1) * yd[k];
            double *Ak = A + (size_t)k * f;
            for (int l = 0; l <= k; l++)
                Ak[l] += w * yd[l];
        }
    }
    if (la_naive_dposv(rhs, A, rhs, f, 1) != 0)
        die("als: a normal-equation matrix is not positive definite (try a larger --reg)");
    float *x = jb->X + row * (size_t)f;
    for (int k = 0; k < f; k++)
        x[k] = (float)rhs[k];
}

static void solve_rows(void *ctx, size_t lo, size_t hi, int worker)
{
    const struct als_job *jb = ctx;
    int f = jb->f;
    for (size_t row = jb->first + lo; row < jb->first + hi; row++) {
        if (jb->cg_steps > 0)
            solve_cg(jb, row, jb->fscratch + (size_t)worker * 3 * f);
        else
            solve_chol(jb, row, jb->dscratch + (size_t)worker * ((size_t)f * f + 2 * f));
    }
}

/* Rows [lo, hi) of X. */
static void solve_block(float *X, const float *Y, int f, size_t lo, size_t hi, uint32_t ny,
                        const uint64_t *p, const uint32_t *idx, const float *val,
                        const struct cf_opts *o)
{
    double *Gd = xmalloc((size_t)f * f * sizeof *Gd);
    float *G = xmalloc((size_t)f * f * sizeof *G);
    gram(Gd, Y, ny, f);
    for (int k = 0; k < f; k++)
        Gd[(size_t)k * f + k] += o->reg;
    for (size_t k = 0; k < (size_t)f * f; k++)
        G[k] = (float)Gd[k];
    int workers = o->threads < 1 ? 1 : o->threads;
    struct als_job jb = {
        .X = X, .Y = Y, .f = f, .p = p, .idx = idx, .val = val, .G = G, .Gd = Gd,
        .alpha = (float)o->alpha, .cg_steps = o->cg_steps, .first = lo,
    };
    if (o->cg_steps > 0)
        jb.fscratch = xreallocarray(NULL, (size_t)workers * 3 * f, sizeof *jb.fscratch);
    else
        jb.dscratch = xreallocarray(NULL, (size_t)workers * ((size_t)f * f + 2 * f),
                                    sizeof *jb.dscratch);
    cf_parallel(workers, hi - lo, 64, solve_rows, &jb);
    free(jb.fscratch);
    free(jb.dscratch);
    free(G);
    free(Gd);
}

void cf_als_solve(float *X, const float *Y, int f, size_t n, uint32_t ny, const uint64_t *p,
                  const uint32_t *idx, const float *val, const struct cf_opts *o)
{
    solve_block(X, Y, f, 0, n, ny, p, idx, val, o);
}

/* A half-step under a job of several ranks (cf_dist.c): this rank solves
 * its block of rows lo[rank] .. lo[rank + 1], and every rank gets all the
 * blocks.  One rank: the whole of cf_als_solve. */
static void solve_ranks(float *X, const float *Y, int f, size_t n, uint32_t ny, const uint64_t *p,
                        const uint32_t *idx, const float *val, const struct cf_opts *o,
                        const size_t *lo)
{
    (void)n;
    int r = dist_rank();
    solve_block(X, Y, f, lo[r], lo[r + 1], ny, p, idx, val, o);
    dist_share(X, (size_t)f * sizeof *X, lo);
}

/* ---- the objective ------------------------------------------------------------ */

struct loss_job {
    const struct cf_model *m;
    const struct cf_data *d;
    const double *G;            /* Y'Y without reg */
    float alpha;
    double *part;               /* [nchunks] */
    size_t chunk;
};

static void loss_rows(void *ctx, size_t lo, size_t hi, int worker)
{
    (void)worker;
    const struct loss_job *jb = ctx;
    const struct cf_model *m = jb->m;
    int f = m->f;
    double s = 0;
    for (size_t u = lo; u < hi; u++) {
        const float *x = m->U + u * (size_t)f;
        /* every pair as unobserved: x' G x */
        for (int a = 0; a < f; a++) {
            double t = 0;
            for (int b = 0; b < f; b++)
                t += jb->G[(size_t)a * f + b] * x[b];
            s += x[a] * t;
        }
        /* the observed pairs: c (1 - s)^2 instead of s^2 */
        for (uint64_t e = jb->d->rowp[u]; e < jb->d->rowp[u + 1]; e++) {
            double sc = cf_dot(x, m->V + (size_t)jb->d->rowi[e] * f, f);
            double c = 1 + jb->alpha * jb->d->rowv[e];
            s += c * (1 - sc) * (1 - sc) - sc * sc;
        }
    }
    jb->part[lo / jb->chunk] = s;
}

double cf_als_loss(const struct cf_model *m, const struct cf_data *d, const struct cf_opts *o)
{
    int f = m->f;
    double *G = xmalloc((size_t)f * f * sizeof *G);
    gram(G, m->V, m->nitems, f);
    size_t chunk = 256, nch = ((size_t)m->nusers + chunk - 1) / chunk;
    struct loss_job jb = {m, d, G, (float)o->alpha, xcalloc(nch + 1, sizeof(double)), chunk};
    cf_parallel(o->threads, m->nusers, chunk, loss_rows, &jb);
    double loss = 0, reg = 0;
    for (size_t c = 0; c < nch; c++)
        loss += jb.part[c];
    for (size_t k = 0; k < (size_t)m->nusers * f; k++)
        reg += (double)m->U[k] * m->U[k];
    for (size_t k = 0; k < (size_t)m->nitems * f; k++)
        reg += (double)m->V[k] * m->V[k];
    free(jb.part);
    free(G);
    return loss + o->reg * reg;
}

/* ---- training ------------------------------------------------------------------- */

void cf_als_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o,
                  cf_iter_fn report, void *ctx)
{
    int f = m->f;
    struct rng root;
    cf_init_factors(m, o, &root);
    /* the ranks' blocks of users and of items (one rank: all) */
    size_t *ub = cf_rank_blocks(d->rowp, d->nusers, dist_size());
    size_t *ib = cf_rank_blocks(d->colp, d->nitems, dist_size());
    for (int it = 1; it <= o->iters; it++) {
        solve_ranks(m->U, m->V, f, d->nusers, d->nitems, d->rowp, d->rowi, d->rowv, o, ub);
        solve_ranks(m->V, m->U, f, d->nitems, d->nusers, d->colp, d->colu, d->colv, o, ib);
        if (report)
            report(ctx, it, cf_als_loss(m, d, o));
    }
    free(ib);
    free(ub);
}
