/* dtree_fit: growing trees and forests on binned data.
 *
 * Split finding is histogram-based: a node's rows add their statistics
 * into one histogram of 256 bins per feature (the feature's bins, with bin
 * 255 for missing values), and every split of a feature is then a scan of
 * its bins in order (numeric) or in the order of their target statistic
 * (categorical: the ordering trick of Breiman et al., one ordering per
 * class or offer when there are several).  Of a node's two children only
 * the one with fewer rows is histogrammed; the other's histogram is its
 * parent's minus its sibling's.  A node's rows are a range of one index
 * array, partitioned in place (stably, so rows are visited in increasing
 * order and the byte matrix is read forwards).  Exact mode sorts the node's
 * values of each numeric feature instead.
 *
 * Forests: each tree draws a bootstrap sample (a multiplicity per row) and
 * a random subset of features at every split, from its own random stream
 * split from --seed by the tree's number, so the forest is the same for
 * any number of threads.
 *
 * Under several ranks (common/dist.h) every rank holds its block of the
 * rows and grows the same tree: a node's totals and histograms are summed
 * over the ranks in rank order (the bins in use only), so every rank sees
 * the same numbers and takes the same split, then partitions its own rows.
 * Which child is histogrammed (the other one by subtraction) follows the
 * global row counts.  A forest's bootstrap draws global row numbers, each
 * rank keeping the draws that fall in its block, so the sample is one
 * process's; trees are then grown one at a time (each node is a
 * collective).  docs/scale.md has the cost. */
#include "dtree_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dist.h"
#include "progress.h"
#include "rng.h"
#include "xalloc.h"

#define HB 256   /* histogram bins per feature */

void dt_layout_init(struct dt_layout *l, const struct dt_model *m, const struct dt_data *d)
{
    switch (m->task) {
    case DT_CLASSIFY: l->nslot = m->nclass; l->P = 1; break;
    case DT_REGRESS: l->nslot = 1; l->P = 2; break;
    case DT_UPLIFT: l->nslot = m->narm * (m->nstrata ? m->nstrata : 1); l->P = 2; break;
    }
    l->has_cnt = d->w != NULL;
    l->S = l->nslot * l->P + l->has_cnt;
    l->TS = l->S + l->nslot;
}

/* ---- build nodes -------------------------------------------------------- */

void bt_release(struct btree *b)
{
    free(b->nodes);
    free(b->tot);
    memset(b, 0, sizeof *b);
}

size_t bt_add(struct btree *b, int32_t parent)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->nodes = xreallocarray(b->nodes, b->cap, sizeof *b->nodes);
        b->tot = xreallocarray(b->tot, b->cap, b->TS * sizeof *b->tot);
    }
    struct bnode *nd = &b->nodes[b->n];
    memset(nd, 0, sizeof *nd);
    nd->feature = nd->left = nd->right = -1;
    nd->parent = parent;
    memset(b->tot + b->n * b->TS, 0, b->TS * sizeof *b->tot);
    return b->n++;
}

static inline size_t slot_of(const struct dt_model *m, const struct dt_data *d, size_t r)
{
    if (m->task == DT_UPLIFT)
        return d->arm[r] + (d->strat ? (size_t)d->strat[r] * m->narm : 0);
    return m->task == DT_CLASSIFY ? d->cls[r] : 0;
}

void dt_add_row(const struct dt_model *m, const struct dt_layout *l, const struct dt_data *d,
                size_t r, double mult, double *tot)
{
    double w = mult * (d->w ? d->w[r] : 1);
    size_t s = slot_of(m, d, r);
    tot[s * l->P] += w;
    if (l->P == 2) {
        tot[s * l->P + 1] += w * d->y[r];
        tot[l->S + s] += w * d->y[r] * d->y[r];
    }
    if (l->has_cnt)
        tot[l->S - 1] += mult;
}

bool dt_goes_left(const struct dt_model *m, const struct dt_data *d, const struct bnode *nd,
                  size_t r)
{
    size_t j = (size_t)nd->feature;
    if (!m->feat[j].cat && d->xnum) {
        double x = d->xnum[j * d->n + r];
        return isnan(x) ? nd->miss_left : x <= nd->threshold;
    }
    unsigned c = d->code[r * d->nfeat + j];
    if (c == DT_MISSING)
        return nd->miss_left;
    if (m->feat[j].cat)
        return (nd->mask[c >> 6] >> (c & 63)) & 1;
    return (int)c <= nd->bin;
}

void dt_node_values(const struct dt_model *m, const struct dt_layout *l, const double *tot,
                    const double *parent, double *out)
{
    switch (m->task) {
    case DT_CLASSIFY: {
        double w = 0;
        for (size_t k = 0; k < m->nclass; k++)
            w += tot[k];
        for (size_t k = 0; k < m->nclass; k++)
            out[k] = w > 0 ? tot[k] / w : parent ? parent[k] : 1.0 / (double)m->nclass;
        break;
    }
    case DT_REGRESS:
        out[0] = tot[0] > 0 ? tot[1] / tot[0] : parent ? parent[0] : 0;
        break;
    case DT_UPLIFT:
        if (m->nstrata > 1) {
            /* The control's pooled rate, and each offer's as that plus its
             * difference within the strata (docs/dtree.md, "Strata"). */
            double nc, sc;
            dt_stratum_control(tot, m->narm, m->nstrata, &nc, &sc);
            out[0] = nc > 0 ? sc / nc : parent ? parent[0] : 0;
            out[m->narm] = nc;
            for (size_t a = 1; a < m->narm; a++) {
                double w, d = dt_stratum_diff(tot, m->narm, m->nstrata, a, &w);
                out[a] = w > 0 ? out[0] + d : parent ? parent[a] : out[0];
                out[m->narm + a] = w;
            }
            break;
        }
        for (size_t a = 0; a < m->narm; a++) {
            double n = tot[a * l->P], s = tot[a * l->P + 1];
            out[a] = n > 0 ? s / n : parent ? parent[a] : 0;
            out[m->narm + a] = n;
        }
        break;
    }
}

/* ---- one tree's fitting context ------------------------------------------ */

struct split {
    bool ok;
    double score, gain;
    int feature, bin;
    double threshold;
    uint64_t mask[4];
    bool miss_left;
};

struct pend {
    uint32_t node, b, e;
    int depth;
    double *hist;           /* NULL when the node will not be split */
    int *feats;             /* the features tried at this node */
    size_t nfeats;
};

struct fit {
    const struct dt_model *m;
    const struct dt_data *d;
    const struct dt_params *p;
    struct dt_layout l;
    size_t F, n;
    const uint16_t *off;    /* [n] slot * P of each row (shared) */
    const double *base;     /* [n x P] row statistics at multiplicity 1 (shared) */
    double *rv;             /* [n x P] this tree's: base times multiplicity */
    double *rc;             /* [n] this tree's multiplicities */
    uint32_t *mult;         /* [n] bootstrap draws */
    uint32_t *idx, *tmp;    /* [n] the tree's rows, partitioned by node */
    uint32_t *est;          /* [n] honest: the estimation rows */
    size_t nest;
    int *hfeat;             /* features that have histograms */
    size_t nhfeat;
    bool *has_hist;         /* [F] */
    int *perm;              /* [F] for drawing features */
    int *flist;             /* [F] scratch: a node's histogrammed features */
    size_t ntry;            /* features tried per split */
    bool subtract;          /* full histograms, sibling subtraction */
    size_t hsize;           /* doubles per histogram */
    double **pool;          /* free histograms */
    size_t npool, cappool;
    struct pend *stack;
    size_t nstack, capstack;
    struct rng rng;
    struct btree bt;
    double wroot;
    /* split search scratch */
    double *sL, *sR, *sLm, *sRm, *smiss;  /* [S] */
    double *un, *ur, *unl, *unr, *url, *urr;   /* [narm] uplift arm weights and rates */
    const double **ptr;                  /* [n + HB] ordered bins */
    uint32_t *ids;                       /* [HB] */
    double *keys;                        /* [HB] */
    struct xr { double x; uint32_t r; } *xr;   /* exact mode: [n] */
    double *ebins;                       /* exact mode: [n x S] */
    double *evals;                       /* exact mode: [n] distinct values */
};

static double *hist_get(struct fit *f)
{
    if (f->npool)
        return f->pool[--f->npool];
    return xmalloc(f->hsize * sizeof(double));
}

static void hist_put(struct fit *f, double *h)
{
    if (!h)
        return;
    XGROW(f->pool, f->cappool, f->npool + 1);
    f->pool[f->npool++] = h;
}

/* Add the rows idx[b..e) into histogram h for features fs[0..nf). */
static void hist_build(struct fit *f, double *h, uint32_t b, uint32_t e, const int *fs, size_t nf)
{
    const size_t S = f->l.S, P = f->l.P, F = f->F;
    const uint8_t *code = f->d->code;
    for (size_t q = 0; q < nf; q++)
        memset(h + (size_t)fs[q] * HB * S, 0, HB * S * sizeof *h);
    if (P == 1 && !f->l.has_cnt) {
        /* Classification by counts: one add per row and feature. */
        if (nf == F) {
            for (uint32_t i = b; i < e; i++) {
                uint32_t r = f->idx[i];
                const uint8_t *c = code + (size_t)r * F;
                double v = f->rv[r], *hr = h + f->off[r];
                for (size_t j = 0; j < F; j++)
                    hr[(j * HB + c[j]) * S] += v;
            }
        } else {
            for (uint32_t i = b; i < e; i++) {
                uint32_t r = f->idx[i];
                const uint8_t *c = code + (size_t)r * F;
                double v = f->rv[r], *hr = h + f->off[r];
                for (size_t q = 0; q < nf; q++) {
                    size_t j = (size_t)fs[q];
                    hr[(j * HB + c[j]) * S] += v;
                }
            }
        }
        return;
    }
    if (P == 2 && !f->l.has_cnt) {
        /* Regression and uplift by counts: weight and weighted label. */
        for (uint32_t i = b; i < e; i++) {
            uint32_t r = f->idx[i];
            const uint8_t *c = code + (size_t)r * F;
            double v0 = f->rv[2 * (size_t)r], v1 = f->rv[2 * (size_t)r + 1], *hr = h + f->off[r];
            for (size_t q = 0; q < nf; q++) {
                size_t j = (size_t)fs[q];
                double *hb = hr + (j * HB + c[j]) * S;
                hb[0] += v0;
                hb[1] += v1;
            }
        }
        return;
    }
    for (uint32_t i = b; i < e; i++) {
        uint32_t r = f->idx[i];
        const uint8_t *c = code + (size_t)r * F;
        const double *v = f->rv + (size_t)r * P;
        size_t o = f->off[r];
        for (size_t q = 0; q < nf; q++) {
            size_t j = (size_t)fs[q];
            double *hb = h + (j * HB + c[j]) * S;
            for (size_t k = 0; k < P; k++)
                hb[o + k] += v[k];
            if (f->l.has_cnt)
                hb[S - 1] += f->rc[r];
        }
    }
}

static void add_tot(struct fit *f, double *tot, uint32_t r)
{
    const size_t P = f->l.P, o = f->off[r];
    const double *v = f->rv + (size_t)r * P;
    for (size_t k = 0; k < P; k++)
        tot[o + k] += v[k];
    if (P == 2)
        tot[f->l.S + o / P] += v[1] * f->d->y[r];
    if (f->l.has_cnt)
        tot[f->l.S - 1] += f->rc[r];
}

/* ---- evaluating a split ------------------------------------------------- */

/* The node-level term the children are compared with: CART's impurity mass
 * (regression: minus (sum wy)^2 / W, dropping the constant sum w y^2), or
 * the uplift divergence of the node. */
static double parent_term(struct fit *f, const double *tot)
{
    const struct dt_model *m = f->m;
    switch (m->task) {
    case DT_CLASSIFY: return dt_impurity_mass(f->p->crit, tot, m->nclass);
    case DT_REGRESS: return tot[0] > 0 ? -tot[1] * tot[1] / tot[0] : 0;
    case DT_UPLIFT:
        dt_uplift_arms(tot, m->narm, m->nstrata, m->binary_outcome, f->un, f->ur);
        return dt_divergence_rates(f->p->crit, f->ur, m->narm, f->p->alpha, m->binary_outcome);
    }
    return 0;
}

/* Score and gain of children with statistics L and R; false when a child
 * is too small. */
static bool eval(struct fit *f, const double *L, const double *R, double parent,
                 double *score, double *gain)
{
    const struct dt_model *m = f->m;
    double ml = f->p->min_leaf;
    if (m->task == DT_UPLIFT) {
        dt_uplift_arms(L, m->narm, m->nstrata, m->binary_outcome, f->unl, f->url);
        dt_uplift_arms(R, m->narm, m->nstrata, m->binary_outcome, f->unr, f->urr);
        double nl = 0, nr = 0;
        for (size_t a = 0; a < m->narm; a++) {
            if (f->unl[a] < ml || f->unr[a] < ml || f->unl[a] <= 0 || f->unr[a] <= 0)
                return false;
            nl += f->unl[a];
            nr += f->unr[a];
        }
        double dl = dt_divergence_rates(f->p->crit, f->url, m->narm, f->p->alpha,
                                        m->binary_outcome);
        double dr = dt_divergence_rates(f->p->crit, f->urr, m->narm, f->p->alpha,
                                        m->binary_outcome);
        double raw = (nl * dl + nr * dr) / (nl + nr) - parent;
        double norm = dt_uplift_norm(f->p->crit, f->unl, f->unr, m->narm, f->p->alpha);
        *score = raw / norm;
        *gain = raw * (nl + nr);
        return true;
    }
    if (dt_cnt(&f->l, L) < ml || dt_cnt(&f->l, R) < ml)
        return false;
    if (m->task == DT_CLASSIFY && f->p->crit == DT_GINI) {
        /* gini mass W - sum w_k^2 / W, inline: this is the inner loop */
        double wl = 0, wr = 0, ql = 0, qr = 0;
        for (size_t k = 0; k < m->nclass; k++) {
            wl += L[k];
            wr += R[k];
            ql += L[k] * L[k];
            qr += R[k] * R[k];
        }
        if (wl <= 0 || wr <= 0)
            return false;
        double gl = wl - ql / wl, gr = wr - qr / wr;
        *gain = parent - (gl > 0 ? gl : 0) - (gr > 0 ? gr : 0);
    } else if (m->task == DT_CLASSIFY) {
        *gain = parent - dt_impurity_mass(f->p->crit, L, m->nclass) -
                dt_impurity_mass(f->p->crit, R, m->nclass);
    } else {
        if (L[0] <= 0 || R[0] <= 0)
            return false;
        *gain = parent + L[1] * L[1] / L[0] + R[1] * R[1] / R[0];
    }
    *score = *gain;
    return true;
}

struct cand {
    bool ok, miss_left;
    double score, gain;
    size_t pos;             /* the first pos + 1 ordered bins go left */
};

/* Scan the m ordered bins: every prefix left, the missing rows on either
 * side (or, when the node has none, with the larger child). */
static void scan(struct fit *f, const double *const *bins, size_t m, const double *miss,
                 const double *tot, double parent, struct cand *best)
{
    const size_t S = f->l.S;
    double *L = f->sL, *R = f->sR, *Lm = f->sLm, *Rm = f->sRm;
    bool has_miss = dt_cnt(&f->l, miss) > 0.5;
    memset(L, 0, S * sizeof *L);
    best->ok = false;
    for (size_t k = 0; k + 1 < m; k++) {
        const double *bk = bins[k];
        for (size_t s = 0; s < S; s++) {
            L[s] += bk[s];
            R[s] = tot[s] - L[s];
        }
        double score, gain;
        if (has_miss) {
            if (eval(f, L, R, parent, &score, &gain) && (!best->ok || score > best->score))
                *best = (struct cand){true, false, score, gain, k};
            for (size_t s = 0; s < S; s++) {
                Lm[s] = L[s] + miss[s];
                Rm[s] = R[s] - miss[s];
            }
            if (eval(f, Lm, Rm, parent, &score, &gain) && (!best->ok || score > best->score))
                *best = (struct cand){true, true, score, gain, k};
        } else if (eval(f, L, R, parent, &score, &gain) && (!best->ok || score > best->score)) {
            *best = (struct cand){true, dt_cnt(&f->l, L) > dt_cnt(&f->l, R), score, gain, k};
        }
    }
}

/* Is candidate c better than the best split so far?  Ties keep the first. */
static bool better(const struct split *best, const struct cand *c)
{
    return c->ok && (!best->ok || c->score > best->score);
}

static void take(struct split *best, const struct cand *c, int j)
{
    best->ok = true;
    best->score = c->score;
    best->gain = c->gain;
    best->feature = j;
    best->miss_left = c->miss_left;
}

/* A binned numeric feature: bins in their order. */
static void split_numeric(struct fit *f, const double *hj, int j, const double *tot,
                          double parent, struct split *best)
{
    const size_t S = f->l.S;
    size_t m = 0;
    for (size_t b = 0; b < f->d->nbins[j]; b++)
        if (dt_cnt(&f->l, hj + b * S) > 0.5) {
            f->ptr[m] = hj + b * S;
            f->ids[m++] = (uint32_t)b;
        }
    if (m < 2)
        return;
    struct cand c;
    scan(f, f->ptr, m, hj + DT_MISSING * S, tot, parent, &c);
    if (!better(best, &c))
        return;
    take(best, &c, j);
    best->bin = (int)f->ids[c.pos];
    best->threshold = f->d->edges[j][best->bin];
}

/* Sort ids[0..m) by keys[id] ascending, ties by id (insertion sort: m <= 256). */
static void sort_by_key(uint32_t *ids, size_t m, const double *keys)
{
    for (size_t i = 1; i < m; i++) {
        uint32_t v = ids[i];
        size_t k = i;
        while (k > 0 && (keys[ids[k - 1]] > keys[v] ||
                         (keys[ids[k - 1]] == keys[v] && ids[k - 1] > v))) {
            ids[k] = ids[k - 1];
            k--;
        }
        ids[k] = v;
    }
}

/* A categorical feature, one level against the rest (as one-hot columns
 * would be split): each non-empty bin alone on the left. */
static void split_single(struct fit *f, const double *hj, int j, const double *tot,
                         double parent, const uint32_t *nonempty, size_t nb, struct split *best)
{
    const size_t S = f->l.S;
    const double *miss = hj + DT_MISSING * S;
    bool has_miss = dt_cnt(&f->l, miss) > 0.5;
    double *L = f->sLm, *R = f->sRm;
    for (size_t i = 0; i < nb; i++) {
        const double *hb = hj + nonempty[i] * S;
        for (int ml = 0; ml <= has_miss; ml++) {
            for (size_t q = 0; q < S; q++) {
                L[q] = hb[q] + (ml ? miss[q] : 0);
                R[q] = tot[q] - L[q];
            }
            struct cand c = {false, ml == 1, 0, 0, 0};
            c.ok = eval(f, L, R, parent, &c.score, &c.gain);
            if (!has_miss)
                c.miss_left = dt_cnt(&f->l, L) > dt_cnt(&f->l, R);
            if (!better(best, &c))
                continue;
            take(best, &c, j);
            memset(best->mask, 0, sizeof best->mask);
            best->mask[nonempty[i] >> 6] |= 1ull << (nonempty[i] & 63);
        }
    }
}

/* A categorical feature: bins ordered by their target statistic, once per
 * class (several classes) or offer (several offers), every prefix of the
 * order a candidate left side; or, with --cat-split single, one level
 * against the rest. */
static void split_categorical(struct fit *f, const double *hj, int j, const double *tot,
                              double parent, struct split *best)
{
    const struct dt_model *m = f->m;
    const size_t S = f->l.S;
    uint32_t nonempty[HB];
    size_t nb = 0;
    for (size_t b = 0; b < f->d->nbins[j]; b++)
        if (dt_cnt(&f->l, hj + b * S) > 0.5)
            nonempty[nb++] = (uint32_t)b;
    if (nb < 2)
        return;
    if (f->p->cat_single) {
        split_single(f, hj, j, tot, parent, nonempty, nb, best);
        return;
    }
    size_t norders = m->task == DT_CLASSIFY ? (m->nclass == 2 ? 1 : m->nclass)
                   : m->task == DT_UPLIFT ? m->narm - 1 : 1;
    for (size_t o = 0; o < norders; o++) {
        for (size_t i = 0; i < nb; i++) {
            const double *h = hj + nonempty[i] * S;
            double key = 0;
            if (m->task == DT_CLASSIFY) {
                size_t k = m->nclass == 2 ? 1 : o;
                double w = 0;
                for (size_t c = 0; c < m->nclass; c++)
                    w += h[c];
                key = w > 0 ? h[k] / w : 0;
            } else if (m->task == DT_REGRESS) {
                key = h[0] > 0 ? h[1] / h[0] : 0;
            } else {
                dt_uplift_arms(h, m->narm, m->nstrata, m->binary_outcome, f->un, f->ur);
                key = f->ur[o + 1] - f->ur[0];
            }
            f->keys[nonempty[i]] = key;
            f->ids[i] = nonempty[i];
        }
        sort_by_key(f->ids, nb, f->keys);
        for (size_t i = 0; i < nb; i++)
            f->ptr[i] = hj + f->ids[i] * S;
        struct cand c;
        scan(f, f->ptr, nb, hj + DT_MISSING * S, tot, parent, &c);
        if (!better(best, &c))
            continue;
        take(best, &c, j);
        memset(best->mask, 0, sizeof best->mask);
        for (size_t i = 0; i <= c.pos; i++)
            best->mask[f->ids[i] >> 6] |= 1ull << (f->ids[i] & 63);
    }
}

static int cmp_xr(const void *a, const void *b)
{
    const struct xr *x = a, *y = b;
    if (x->x != y->x)
        return x->x < y->x ? -1 : 1;
    return (x->r > y->r) - (x->r < y->r);
}

/* A numeric feature in exact mode: the node's distinct values in order. */
static void split_exact(struct fit *f, const struct pend *pd, int j, const double *tot,
                        double parent, struct split *best)
{
    const size_t S = f->l.S, P = f->l.P;
    const double *x = f->d->xnum + (size_t)j * f->n;
    double *mb = f->smiss;
    memset(mb, 0, S * sizeof *mb);
    size_t k = 0;
    for (uint32_t i = pd->b; i < pd->e; i++) {
        uint32_t r = f->idx[i];
        if (isnan(x[r])) {
            const double *v = f->rv + (size_t)r * P;
            for (size_t q = 0; q < P; q++)
                mb[f->off[r] + q] += v[q];
            if (f->l.has_cnt)
                mb[S - 1] += f->rc[r];
        } else {
            f->xr[k++] = (struct xr){x[r], r};
        }
    }
    qsort(f->xr, k, sizeof *f->xr, cmp_xr);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (i == 0 || f->xr[i].x != f->xr[i - 1].x) {
            memset(f->ebins + m * S, 0, S * sizeof(double));
            f->evals[m++] = f->xr[i].x;
        }
        uint32_t r = f->xr[i].r;
        double *hb = f->ebins + (m - 1) * S;
        const double *v = f->rv + (size_t)r * P;
        for (size_t q = 0; q < P; q++)
            hb[f->off[r] + q] += v[q];
        if (f->l.has_cnt)
            hb[S - 1] += f->rc[r];
    }
    if (m >= 2) {
        for (size_t i = 0; i < m; i++)
            f->ptr[i] = f->ebins + i * S;
        struct cand c;
        scan(f, f->ptr, m, mb, tot, parent, &c);
        if (better(best, &c)) {
            take(best, &c, j);
            /* Halfway between the two values, never equal to the upper. */
            double a = f->evals[c.pos], b = f->evals[c.pos + 1];
            double mid = a / 2 + b / 2;
            best->threshold = mid >= a && mid < b ? mid : a;
        }
    }
}

/* The best split of a node, over its features. */
static void find_split(struct fit *f, const struct pend *pd, const double *tot, struct split *best)
{
    const size_t S = f->l.S;
    best->ok = false;
    double parent = parent_term(f, tot);
    for (size_t q = 0; q < pd->nfeats; q++) {
        int j = pd->feats[q];
        if (!f->has_hist[j]) {
            split_exact(f, pd, j, tot, parent, best);
            continue;
        }
        const double *hj = pd->hist + (size_t)j * HB * S;
        if (f->m->feat[j].cat)
            split_categorical(f, hj, j, tot, parent, best);
        else
            split_numeric(f, hj, j, tot, parent, best);
    }
}

/* ---- growing ------------------------------------------------------------ */

static bool splittable(struct fit *f, const double *tot, int depth)
{
    const struct dt_model *m = f->m;
    double ml = f->p->min_leaf;
    if (depth >= f->p->max_depth || dt_cnt(&f->l, tot) < 2 * ml || dt_cnt(&f->l, tot) < 2)
        return false;
    if (m->task == DT_CLASSIFY) {
        int present = 0;
        for (size_t k = 0; k < m->nclass; k++)
            present += tot[k] > 0;
        return present > 1;
    }
    if (m->task == DT_UPLIFT) {
        dt_uplift_arms(tot, m->narm, m->nstrata, m->binary_outcome, f->un, f->ur);
        for (size_t a = 0; a < m->narm; a++)
            if (f->un[a] < 2 * ml || f->un[a] <= 0)
                return false;
    }
    return true;
}

/* Draw the features a node tries (all of them without sampling). */
static void node_features(struct fit *f, struct pend *pd)
{
    pd->nfeats = f->ntry;
    pd->feats = xmalloc(f->ntry * sizeof *pd->feats);
    if (f->ntry == f->F) {
        for (size_t j = 0; j < f->F; j++)
            pd->feats[j] = (int)j;
        return;
    }
    for (size_t i = 0; i < f->ntry; i++) {
        size_t k = i + (size_t)rng_below(&f->rng, f->F - i);
        int t = f->perm[i];
        f->perm[i] = f->perm[k];
        f->perm[k] = t;
        pd->feats[i] = f->perm[i];
    }
    /* Ascending, so ties between features go to the lower index. */
    for (size_t i = 1; i < f->ntry; i++)
        for (size_t k = i; k > 0 && pd->feats[k - 1] > pd->feats[k]; k--) {
            int t = pd->feats[k];
            pd->feats[k] = pd->feats[k - 1];
            pd->feats[k - 1] = t;
        }
}

/* Several ranks: sum histogram h of features fs[0..nf) over the ranks, in
 * rank order.  Only the bins in use travel: a feature's nbins bins and its
 * missing bin (the rest are zero on every rank). */
static void hist_reduce(struct fit *f, double *h, const int *fs, size_t nf)
{
    if (dist_size() == 1)
        return;
    const size_t S = f->l.S;
    size_t len = 0;
    for (size_t q = 0; q < nf; q++)
        len += ((size_t)f->d->nbins[fs[q]] + 1) * S;
    double *buf = xmalloc((len ? len : 1) * sizeof *buf), *o = buf;
    for (size_t q = 0; q < nf; q++) {
        const double *hj = h + (size_t)fs[q] * HB * S;
        size_t nb = f->d->nbins[fs[q]];
        memcpy(o, hj, nb * S * sizeof *o);
        memcpy(o + nb * S, hj + DT_MISSING * S, S * sizeof *o);
        o += (nb + 1) * S;
    }
    dist_sum_ordered_f64(buf, len, NULL);
    o = buf;
    for (size_t q = 0; q < nf; q++) {
        double *hj = h + (size_t)fs[q] * HB * S;
        size_t nb = f->d->nbins[fs[q]];
        memcpy(hj, o, nb * S * sizeof *o);
        memcpy(hj + DT_MISSING * S, o + nb * S, S * sizeof *o);
        o += (nb + 1) * S;
    }
    free(buf);
}

/* Histogram of the node's rows over its histogrammed features (all
 * ranks' rows under several ranks). */
static double *node_hist(struct fit *f, struct pend *pd)
{
    double *h = hist_get(f);
    if (f->subtract) {
        hist_build(f, h, pd->b, pd->e, f->hfeat, f->nhfeat);
        hist_reduce(f, h, f->hfeat, f->nhfeat);
    } else {
        size_t nf = 0;
        for (size_t q = 0; q < pd->nfeats; q++)
            if (f->has_hist[pd->feats[q]])
                f->flist[nf++] = pd->feats[q];
        hist_build(f, h, pd->b, pd->e, f->flist, nf);
        hist_reduce(f, h, f->flist, nf);
    }
    return h;
}

static void push(struct fit *f, struct pend pd)
{
    XGROW(f->stack, f->capstack, f->nstack + 1);
    f->stack[f->nstack++] = pd;
}

static double node_scale(struct fit *f, const double *tot)
{
    const struct dt_model *m = f->m;
    double w = 0;
    for (size_t k = 0; k < f->l.nslot; k++)
        w += tot[k * f->l.P];
    if (m->task == DT_REGRESS || (m->task == DT_UPLIFT && !m->binary_outcome)) {
        double sq = 0;
        for (size_t k = 0; k < f->l.nslot; k++)
            sq += tot[f->l.S + k];
        return sq > 0 ? sq : w;
    }
    return w;
}

/* Does row r go left at node nd?  One loop per kind of split. */
#define PARTITION_LOOP(GOES_LEFT)                                        \
    for (uint32_t i = b; i < e; i++) {                                   \
        uint32_t r = f->idx[i];                                          \
        if (GOES_LEFT) {                                                 \
            f->idx[nl++] = r;                                            \
            add_tot(f, tl, r);                                           \
        } else {                                                         \
            f->tmp[nr++] = r;                                            \
            add_tot(f, tr, r);                                           \
        }                                                                \
    }

/* Partition the node's rows idx[b..e) stably, left ones in place and right
 * ones through tmp, adding up each side's totals; returns where the right
 * side starts. */
static uint32_t partition(struct fit *f, const struct bnode *nd, uint32_t b, uint32_t e,
                          double *tl, double *tr)
{
    const size_t TS = f->l.TS, F = f->F, j = (size_t)nd->feature;
    memset(tl, 0, TS * sizeof *tl);
    memset(tr, 0, TS * sizeof *tr);
    uint32_t nl = b, nr = 0;
    const uint8_t *code = f->d->code + j;
    const bool ml = nd->miss_left;
    if (f->m->feat[j].cat) {
        const uint64_t *mask = nd->mask;
        PARTITION_LOOP(code[(size_t)r * F] == DT_MISSING ? ml
                       : (mask[code[(size_t)r * F] >> 6] >> (code[(size_t)r * F] & 63)) & 1)
    } else if (f->d->xnum) {
        const double *x = f->d->xnum + j * f->n, t = nd->threshold;
        PARTITION_LOOP(isnan(x[r]) ? ml : x[r] <= t)
    } else {
        const int bin = nd->bin;
        PARTITION_LOOP(code[(size_t)r * F] == DT_MISSING ? ml : (int)code[(size_t)r * F] <= bin)
    }
    memcpy(f->idx + nl, f->tmp, nr * sizeof *f->idx);
    return nl;
}

/* Grow the tree over idx[0..nrows) into f->bt. */
static void grow(struct fit *f, uint32_t nrows)
{
    const size_t TS = f->l.TS;
    struct btree *bt = &f->bt;
    bt->TS = TS;
    size_t root = bt_add(bt, -1);
    for (uint32_t i = 0; i < nrows; i++)
        add_tot(f, bt->tot + root * TS, f->idx[i]);
    dist_sum_ordered_f64(bt->tot + root * TS, TS, NULL);   /* every rank's rows */
    f->wroot = 0;
    for (size_t k = 0; k < f->l.nslot; k++)
        f->wroot += bt->tot[k * f->l.P];
    struct pend rp = {(uint32_t)root, 0, nrows, 0, NULL, NULL, 0};
    node_features(f, &rp);
    if (splittable(f, bt->tot, 0))
        rp.hist = node_hist(f, &rp);
    push(f, rp);
    /* tl, tr, then the children's rows: summed over the ranks at once */
    double *tl = xmalloc((2 * TS + 2) * sizeof *tl), *tr = tl + TS, *rows = tr + TS;
    while (f->nstack) {
        struct pend pd = f->stack[--f->nstack];
        if (!pd.hist) {
            free(pd.feats);
            continue;
        }
        const double *tot = bt->tot + pd.node * TS;
        struct split sp = {0};
        find_split(f, &pd, tot, &sp);
        if (!sp.ok || !(sp.gain > 1e-10 * node_scale(f, tot)) ||
            sp.gain / f->wroot < f->p->min_gain) {
            hist_put(f, pd.hist);
            free(pd.feats);
            continue;
        }
        struct bnode *nd = &bt->nodes[pd.node];
        nd->feature = sp.feature;
        nd->bin = sp.bin;
        nd->threshold = sp.threshold;
        memcpy(nd->mask, sp.mask, sizeof nd->mask);
        nd->miss_left = sp.miss_left;
        nd->gain = sp.gain;
        uint32_t nl = partition(f, nd, pd.b, pd.e, tl, tr);
        rows[0] = nl - pd.b;
        rows[1] = pd.e - nl;
        dist_sum_ordered_f64(tl, 2 * TS + 2, NULL);
        size_t li = bt_add(bt, (int32_t)pd.node), ri = bt_add(bt, (int32_t)pd.node);
        nd = &bt->nodes[pd.node];   /* bt_add may have moved the array */
        nd->left = (int32_t)li;
        nd->right = (int32_t)ri;
        memcpy(bt->tot + li * TS, tl, TS * sizeof *tl);
        memcpy(bt->tot + ri * TS, tr, TS * sizeof *tr);
        struct pend L = {(uint32_t)li, pd.b, nl, pd.depth + 1, NULL, NULL, 0};
        struct pend R = {(uint32_t)ri, nl, pd.e, pd.depth + 1, NULL, NULL, 0};
        node_features(f, &L);
        node_features(f, &R);
        bool needl = splittable(f, tl, L.depth), needr = splittable(f, tr, R.depth);
        struct pend *small = rows[0] <= rows[1] ? &L : &R;
        struct pend *large = small == &L ? &R : &L;
        bool needs = small == &L ? needl : needr, needg = small == &L ? needr : needl;
        if (f->subtract) {
            if (needg) {
                /* large = parent - small, in the parent's buffer */
                double *hs = node_hist(f, small);
                double *hp = pd.hist;
                const size_t S = f->l.S;
                for (size_t q = 0; q < f->nhfeat; q++) {
                    size_t o = (size_t)f->hfeat[q] * HB * S;
                    for (size_t k = 0; k < HB * S; k++)
                        hp[o + k] -= hs[o + k];
                }
                large->hist = hp;
                if (needs)
                    small->hist = hs;
                else
                    hist_put(f, hs);
            } else {
                hist_put(f, pd.hist);
                if (needs)
                    small->hist = node_hist(f, small);
            }
        } else {
            hist_put(f, pd.hist);
            if (needs)
                small->hist = node_hist(f, small);
            if (needg)
                large->hist = node_hist(f, large);
        }
        free(pd.feats);
        push(f, *large);
        push(f, *small);
    }
    free(tl);
}

/* Re-estimate every node's totals on the estimation rows (honest trees). */
static void honest(struct fit *f)
{
    struct btree *bt = &f->bt;
    memset(bt->tot, 0, bt->n * bt->TS * sizeof *bt->tot);
    for (size_t i = 0; i < f->nest; i++) {
        uint32_t r = f->est[i];
        size_t k = 0;
        for (;;) {
            add_tot(f, bt->tot + k * bt->TS, r);
            const struct bnode *nd = &bt->nodes[k];
            if (nd->feature < 0)
                break;
            k = (size_t)(dt_goes_left(f->m, f->d, nd, r) ? nd->left : nd->right);
        }
    }
}

/* Copy the reachable build nodes into t, and add the gains to imp[]. */
static void finish_tree(const struct dt_model *m, const struct dt_layout *l,
                        const struct btree *bt, struct dt_tree *t, double *imp)
{
    int32_t *newid = xmalloc(bt->n * sizeof *newid);
    size_t nn = 0, ncats = 0;
    for (size_t i = 0; i < bt->n; i++)
        newid[i] = -1;
    newid[0] = 0;
    for (size_t i = 0; i < bt->n; i++) {
        if (newid[i] < 0)
            continue;
        newid[i] = (int32_t)nn++;
        const struct bnode *nd = &bt->nodes[i];
        if (nd->feature < 0)
            continue;
        newid[nd->left] = newid[nd->right] = 0;   /* reachable; numbered when met */
        if (m->feat[nd->feature].cat)
            for (int w = 0; w < 4; w++)
                ncats += (size_t)__builtin_popcountll(nd->mask[w]);
    }
    dt_tree_alloc(t, nn, ncats, m->nval);
    const double *root = bt->tot;
    double wroot = 0;
    for (size_t k = 0; k < l->nslot; k++)
        wroot += root[k * l->P];
    size_t c = 0;
    for (size_t i = 0; i < bt->n; i++) {
        if (newid[i] < 0)
            continue;
        size_t k = (size_t)newid[i];
        const struct bnode *nd = &bt->nodes[i];
        const double *tot = bt->tot + i * bt->TS;
        t->cat_off[k] = (uint32_t)c;
        t->count[k] = dt_cnt(l, tot);
        const double *pv = nd->parent >= 0 ? t->value + (size_t)newid[nd->parent] * m->nval : NULL;
        dt_node_values(m, l, tot, pv, t->value + k * m->nval);
        t->feature[k] = -1;
        t->left[k] = t->right[k] = -1;
        if (nd->feature < 0)
            continue;
        t->feature[k] = nd->feature;
        t->left[k] = newid[nd->left];
        t->right[k] = newid[nd->right];
        t->miss_left[k] = nd->miss_left;
        t->gain[k] = wroot > 0 ? nd->gain / wroot : 0;
        imp[nd->feature] += t->gain[k];
        if (m->feat[nd->feature].cat) {
            for (unsigned b = 0; b < 256; b++)
                if ((nd->mask[b >> 6] >> (b & 63)) & 1)
                    t->cats[c++] = (uint8_t)b;
        } else {
            t->threshold[k] = nd->threshold;
        }
    }
    t->cat_off[nn] = (uint32_t)c;
    CHECK(c == ncats);
    dt_tree_masks(t, m);
    free(newid);
}

/* ---- forests and threads ------------------------------------------------- */

struct job {
    struct dt_model *m;
    const struct dt_data *d;
    const struct dt_data *valid;
    const struct dt_params *p;
    const uint32_t *rows;
    size_t nrows;
    size_t gn, glo;         /* rows of all ranks, and this rank's first (global numbers) */
    const uint16_t *off;
    const double *base;
    struct rng root;
    double *imp;            /* [ntree x nfeat] */
    pthread_mutex_t lock;
    size_t next;            /* the next tree to fit */
    struct progress prog;
    size_t done;
};

static void fit_init(struct fit *f, struct job *jb)
{
    memset(f, 0, sizeof *f);
    f->m = jb->m;
    f->d = jb->d;
    f->p = jb->p;
    dt_layout_init(&f->l, jb->m, jb->d);
    f->F = jb->d->nfeat;
    f->n = jb->d->n;
    f->off = jb->off;
    f->base = jb->base;
    size_t n = f->n ? f->n : 1, S = f->l.S;
    f->rv = xmalloc(n * f->l.P * sizeof *f->rv);
    f->rc = xmalloc(n * sizeof *f->rc);
    f->mult = xmalloc(n * sizeof *f->mult);
    f->idx = xmalloc(n * sizeof *f->idx);
    f->tmp = xmalloc(n * sizeof *f->tmp);
    f->est = jb->p->honest ? xmalloc(n * sizeof *f->est) : NULL;
    f->has_hist = xcalloc(f->F + 1, sizeof *f->has_hist);
    f->hfeat = xmalloc((f->F + 1) * sizeof *f->hfeat);
    f->perm = xmalloc((f->F + 1) * sizeof *f->perm);
    f->flist = xmalloc((f->F + 1) * sizeof *f->flist);
    for (size_t j = 0; j < f->F; j++) {
        f->perm[j] = (int)j;
        if (jb->m->feat[j].cat || !jb->d->xnum) {
            f->has_hist[j] = true;
            f->hfeat[f->nhfeat++] = (int)j;
        }
    }
    f->ntry = jb->p->max_features > 0 && (size_t)jb->p->max_features < f->F
            ? (size_t)jb->p->max_features : f->F;
    f->subtract = f->ntry == f->F;
    f->hsize = f->F * HB * S;
    f->sL = xmalloc(5 * S * sizeof *f->sL);
    f->sR = f->sL + S;
    f->sLm = f->sR + S;
    f->sRm = f->sLm + S;
    f->smiss = f->sRm + S;
    size_t A = jb->m->narm ? jb->m->narm : 1;
    f->un = xmalloc(6 * A * sizeof *f->un);
    f->ur = f->un + A;
    f->unl = f->ur + A;
    f->unr = f->unl + A;
    f->url = f->unr + A;
    f->urr = f->url + A;
    f->ptr = xmalloc((n + HB) * sizeof *f->ptr);
    f->ids = xmalloc(HB * sizeof *f->ids);
    f->keys = xmalloc(HB * sizeof *f->keys);
    if (jb->d->xnum) {
        f->xr = xmalloc(n * sizeof *f->xr);
        f->ebins = xmalloc(n * S * sizeof *f->ebins);
        f->evals = xmalloc(n * sizeof *f->evals);
    }
}

static void fit_release(struct fit *f)
{
    for (size_t i = 0; i < f->npool; i++)
        free(f->pool[i]);
    free(f->pool);
    free(f->stack);
    free(f->rv);
    free(f->rc);
    free(f->mult);
    free(f->idx);
    free(f->tmp);
    free(f->est);
    free(f->has_hist);
    free(f->hfeat);
    free(f->perm);
    free(f->flist);
    free(f->sL);
    free(f->un);
    free(f->ptr);
    free(f->ids);
    free(f->keys);
    free(f->xr);
    free(f->ebins);
    free(f->evals);
    bt_release(&f->bt);
}

/* Fit tree number k of the job. */
static void fit_tree(struct fit *f, struct job *jb, size_t k)
{
    const struct dt_params *p = jb->p;
    const size_t P = f->l.P;
    rng_split(&f->rng, &jb->root, k);
    for (size_t j = 0; j < f->F; j++)   /* feature draws start afresh in every tree */
        f->perm[j] = (int)j;
    /* Multiplicities: 1 for a single tree, bootstrap draws in a forest. */
    if (p->trees > 1) {
        for (size_t i = 0; i < jb->nrows; i++)
            f->mult[jb->rows[i]] = 0;
        /* draws over every rank's rows; this rank keeps those in its block */
        size_t draws = (size_t)llround(p->sample_frac * (double)jb->gn);
        for (size_t i = 0; i < draws; i++) {
            size_t g = (size_t)rng_below(&f->rng, jb->gn);
            if (g >= jb->glo && g - jb->glo < jb->nrows)
                f->mult[jb->rows[g - jb->glo]]++;
        }
    } else {
        for (size_t i = 0; i < jb->nrows; i++)
            f->mult[jb->rows[i]] = 1;
    }
    uint32_t nrows = 0;
    f->nest = 0;
    for (size_t i = 0; i < jb->nrows; i++) {
        uint32_t r = jb->rows[i];
        if (!f->mult[r])
            continue;
        f->rc[r] = f->mult[r];
        for (size_t q = 0; q < P; q++)
            f->rv[(size_t)r * P + q] = jb->base[(size_t)r * P + q] * f->mult[r];
        if (p->honest && rng_uniform(&f->rng) < 0.5)
            f->est[f->nest++] = r;
        else
            f->idx[nrows++] = r;
    }
    memset(&f->bt, 0, sizeof f->bt);
    grow(f, nrows);
    if (jb->valid)
        dt_prune(&f->bt, f->m, &f->l, p, jb->valid);
    if (p->honest)
        honest(f);
    finish_tree(f->m, &f->l, &f->bt, &f->m->trees[k], jb->imp + k * f->F);
    bt_release(&f->bt);
}

static void *worker(void *arg)
{
    struct job *jb = arg;
    struct fit f;
    fit_init(&f, jb);
    for (;;) {
        pthread_mutex_lock(&jb->lock);
        size_t k = jb->next++;
        pthread_mutex_unlock(&jb->lock);
        if (k >= (size_t)jb->p->trees)
            break;
        fit_tree(&f, jb, k);
        pthread_mutex_lock(&jb->lock);
        prog_tick(&jb->prog, ++jb->done);
        pthread_mutex_unlock(&jb->lock);
    }
    fit_release(&f);
    return NULL;
}

void dt_fit(struct dt_model *m, const struct dt_data *d, const uint32_t *rows, size_t nrows,
            const struct dt_data *valid, const struct dt_params *p, bool progress)
{
    struct dt_layout l;
    m->nval = dt_nval(m);
    dt_layout_init(&l, m, d);
    uint32_t *all = NULL;
    if (!rows) {
        all = xmalloc((d->n ? d->n : 1) * sizeof *all);
        for (size_t i = 0; i < d->n; i++)
            all[i] = (uint32_t)i;
        rows = all;
        nrows = d->n;
    }
    /* Per-row statistics shared by every tree. */
    size_t n = d->n ? d->n : 1;
    uint16_t *off = xmalloc(n * sizeof *off);
    double *base = xmalloc(n * l.P * sizeof *base);
    for (size_t r = 0; r < d->n; r++) {
        double w = d->w ? d->w[r] : 1;
        off[r] = (uint16_t)(slot_of(m, d, r) * l.P);
        base[r * l.P] = w;
        if (l.P == 2)
            base[r * l.P + 1] = w * d->y[r];
    }
    m->ntree = (size_t)p->trees;
    m->trees = xcalloc(m->ntree, sizeof *m->trees);
    struct job jb = {.m = m, .d = d, .valid = valid, .p = p, .rows = rows, .nrows = nrows,
                     .off = off, .base = base};
    rng_init(&jb.root, p->seed);
    jb.gn = nrows;
    if (dist_size() > 1) {
        /* the honest half and a held-out share draw per local row: the
         * program refuses them under several ranks */
        CHECK(!p->honest && !d->exact && nrows == d->n);
        size_t *lo = dist_offsets(nrows);
        jb.gn = lo[dist_size()];
        jb.glo = lo[dist_rank()];
        free(lo);
    }
    jb.imp = xcalloc(m->ntree * d->nfeat + 1, sizeof *jb.imp);
    pthread_mutex_init(&jb.lock, NULL);
    prog_init(&jb.prog, "trees", progress);
    int nt = p->threads < 1 ? 1 : p->threads;
    if ((size_t)nt > m->ntree)
        nt = (int)m->ntree;
    if (dist_size() > 1)
        nt = 1;   /* every node is a collective: one tree at a time */
    if (nt == 1) {
        worker(&jb);
    } else {
        pthread_t *th = xmalloc((size_t)nt * sizeof *th);
        for (int i = 0; i < nt; i++)
            if (pthread_create(&th[i], NULL, worker, &jb) != 0)
                die("cannot start a thread");
        for (int i = 0; i < nt; i++)
            pthread_join(th[i], NULL);
        free(th);
    }
    if (m->ntree > 1)
        prog_done(&jb.prog);
    pthread_mutex_destroy(&jb.lock);
    /* Importance: each tree's total gain, averaged (summed in tree order). */
    free(m->importance);
    m->importance = xcalloc(d->nfeat + 1, sizeof *m->importance);
    for (size_t k = 0; k < m->ntree; k++)
        for (size_t j = 0; j < d->nfeat; j++)
            m->importance[j] += jb.imp[k * d->nfeat + j];
    for (size_t j = 0; j < d->nfeat; j++)
        m->importance[j] /= (double)m->ntree;
    free(jb.imp);
    free(off);
    free(base);
    free(all);
}
