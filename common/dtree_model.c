/* dtree_model: the model struct, its trees' storage, and applying it. */
#include "dtree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

const char *const dt_task_names[3] = {"classification", "regression", "uplift"};
const char *const dt_crit_names[6] = {"gini", "entropy", "mse", "kl", "ed", "chi"};

void dt_model_init(struct dt_model *m)
{
    memset(m, 0, sizeof *m);
    m->nstrata = 1;
}

void dt_model_release(struct dt_model *m)
{
    for (size_t j = 0; j < m->nfeat; j++) {
        free(m->feat[j].name);
        if (m->feat[j].cat)
            sm_release(&m->feat[j].levels);
    }
    free(m->feat);
    for (size_t k = 0; k < m->nclass; k++)
        free(m->class_names[k]);
    free(m->class_names);
    free(m->class_values);
    for (size_t a = 0; a < m->narm; a++)
        free(m->arm_names[a]);
    free(m->arm_names);
    for (size_t t = 0; t < m->ntree; t++)
        dt_tree_release(&m->trees[t]);
    free(m->trees);
    free(m->importance);
    free(m->label);
    free(m->treatment);
    memset(m, 0, sizeof *m);
}

size_t dt_nval(const struct dt_model *m)
{
    switch (m->task) {
    case DT_CLASSIFY: return m->nclass;
    case DT_REGRESS: return 1;
    case DT_UPLIFT: return 2 * m->narm;
    }
    return 0;
}

void dt_params_init(struct dt_params *p)
{
    memset(p, 0, sizeof *p);
    p->task = DT_CLASSIFY;
    p->crit = DT_GINI;
    p->max_depth = 8;
    p->min_leaf = 1;
    p->bins = DT_MAX_BINS;
    p->alpha = 0.5;
    p->trees = 1;
    p->sample_frac = 1;
    p->threads = 1;
}

void dt_data_release(struct dt_data *d)
{
    if (d->edges)
        for (size_t j = 0; j < d->nfeat; j++)
            free(d->edges[j]);
    free(d->edges);
    free(d->code);
    free(d->xnum);
    free(d->nbins);
    free(d->cls);
    free(d->y);
    free(d->arm);
    free(d->strat);
    free(d->w);
    memset(d, 0, sizeof *d);
}

/* ---- a tree's arrays ---------------------------------------------------- */

/* Carve the next n elements of size sz, aligned to 8 bytes, from *p. */
static void *carve(char **p, size_t n, size_t sz)
{
    void *r = *p;
    *p += (n * sz + 7) & ~(size_t)7;
    return r;
}

void dt_tree_alloc(struct dt_tree *t, size_t nnodes, size_t ncats, size_t nval)
{
    memset(t, 0, sizeof *t);
    t->nnodes = nnodes;
    t->ncats = ncats;
    t->nval = nval;
    /* Sizes in one place: the order here is the order of carving below. */
    size_t bytes = 0;
    size_t sizes[][2] = {
        {nnodes, sizeof *t->feature}, {nnodes, sizeof *t->left}, {nnodes, sizeof *t->right},
        {nnodes, sizeof *t->miss_left}, {nnodes, sizeof *t->threshold},
        {nnodes + 1, sizeof *t->cat_off}, {ncats, sizeof *t->cats},
        {nnodes * 4, sizeof *t->catmask}, {nnodes, sizeof *t->count},
        {nnodes, sizeof *t->gain}, {nnodes * nval, sizeof *t->value},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        bytes += (sizes[i][0] * sizes[i][1] + 7) & ~(size_t)7;
    char *p = xcalloc(1, bytes ? bytes : 1);
    t->base = p;
    t->feature = carve(&p, nnodes, sizeof *t->feature);
    t->left = carve(&p, nnodes, sizeof *t->left);
    t->right = carve(&p, nnodes, sizeof *t->right);
    t->miss_left = carve(&p, nnodes, sizeof *t->miss_left);
    t->threshold = carve(&p, nnodes, sizeof *t->threshold);
    t->cat_off = carve(&p, nnodes + 1, sizeof *t->cat_off);
    t->cats = carve(&p, ncats, sizeof *t->cats);
    t->catmask = carve(&p, nnodes * 4, sizeof *t->catmask);
    t->count = carve(&p, nnodes, sizeof *t->count);
    t->gain = carve(&p, nnodes, sizeof *t->gain);
    t->value = carve(&p, nnodes * nval, sizeof *t->value);
    t->cat_off[nnodes] = (uint32_t)ncats;
}

void dt_tree_release(struct dt_tree *t)
{
    free(t->base);
    memset(t, 0, sizeof *t);
}

void dt_tree_masks(struct dt_tree *t, const struct dt_model *m)
{
    memset(t->catmask, 0, t->nnodes * 4 * sizeof *t->catmask);
    for (size_t i = 0; i < t->nnodes; i++) {
        if (t->feature[i] < 0 || !m->feat[t->feature[i]].cat)
            continue;
        uint64_t *mask = t->catmask + 4 * i;
        for (uint32_t k = t->cat_off[i]; k < t->cat_off[i + 1]; k++)
            mask[t->cats[k] >> 6] |= 1ull << (t->cats[k] & 63);
    }
}

size_t dt_tree_leaves(const struct dt_tree *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nnodes; i++)
        n += t->feature[i] < 0;
    return n;
}

int dt_tree_depth(const struct dt_tree *t)
{
    /* Children come after their parent, so one forward pass suffices. */
    int *depth = xcalloc(t->nnodes ? t->nnodes : 1, sizeof *depth);
    int max = 0;
    for (size_t i = 0; i < t->nnodes; i++) {
        if (depth[i] > max)
            max = depth[i];
        if (t->feature[i] >= 0) {
            depth[t->left[i]] = depth[i] + 1;
            depth[t->right[i]] = depth[i] + 1;
        }
    }
    free(depth);
    return max;
}

/* ---- applying ----------------------------------------------------------- */

size_t dt_tree_leaf(const struct dt_tree *t, const struct dt_model *m, const double *x)
{
    size_t i = 0;
    while (t->feature[i] >= 0) {
        int32_t j = t->feature[i];
        double v = x[j];
        bool left;
        if (isnan(v))
            left = t->miss_left[i];
        else if (m->feat[j].cat) {
            uint32_t b = (uint32_t)v;
            left = b < 256 && (t->catmask[4 * i + (b >> 6)] >> (b & 63)) & 1;
        } else
            left = v <= t->threshold[i];
        i = (size_t)(left ? t->left[i] : t->right[i]);
    }
    return i;
}

void dt_predict(const struct dt_model *m, const double *x, double *out)
{
    size_t nv = m->nval;
    memset(out, 0, nv * sizeof *out);
    for (size_t k = 0; k < m->ntree; k++) {
        const struct dt_tree *t = &m->trees[k];
        const double *v = t->value + dt_tree_leaf(t, m, x) * nv;
        for (size_t i = 0; i < nv; i++)
            out[i] += v[i];
    }
    if (m->ntree > 1)
        for (size_t i = 0; i < nv; i++)
            out[i] /= (double)m->ntree;
}

size_t dt_class_of(const struct dt_model *m, const double *p)
{
    if (m->nclass == 2)
        return p[1] > 0.5;
    size_t best = 0;
    for (size_t k = 1; k < m->nclass; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

size_t dt_best_offer(const struct dt_model *m, const double *v, double *uplift)
{
    size_t best = 1;
    for (size_t a = 2; a < m->narm; a++)
        if (v[a] - v[0] > v[best] - v[0])
            best = a;
    *uplift = v[best] - v[0];
    return best;
}
