/* dtree_prune: minimal cost-complexity pruning (Breiman et al. 1984,
 * ch. 3) with the subtree chosen on a validation set.
 *
 * The training cost R(t) of a node is its impurity mass (classification:
 * W times gini or entropy; regression: the weighted squared error; uplift:
 * minus W times the node's divergence).  Collapsing the internal node with
 * the smallest g(t) = (R(t) - R(T_t)) / (|leaves(T_t)| - 1) again and again
 * gives the nested sequence of subtrees of increasing alpha.  Each is scored
 * by its squared error on the validation rows (classification: the Brier
 * score of the class probabilities; uplift: of each row's own arm's mean);
 * the best wins, the smaller on a tie.  A heap keyed on g, with ancestors
 * updated as their subtrees shrink, keeps this O(N depth log N). */
#include "dtree_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct hent {
    double g;
    uint32_t node, version;
};

static bool hless(const struct hent *a, const struct hent *b)
{
    return a->g < b->g || (a->g == b->g && a->node < b->node);
}

static void heap_push(struct hent **h, size_t *n, size_t *cap, struct hent e)
{
    XGROW(*h, *cap, *n + 1);
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hless(&e, &(*h)[p]))
            break;
        (*h)[i] = (*h)[p];
        i = p;
    }
    (*h)[i] = e;
}

static struct hent heap_pop(struct hent *h, size_t *n)
{
    struct hent top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && hless(&h[c + 1], &h[c]))
            c++;
        if (!hless(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = last;
    return top;
}

/* The training cost of a node from its totals. */
static double cost(const struct dt_model *m, const struct dt_layout *l,
                   const struct dt_params *p, const double *tot)
{
    switch (m->task) {
    case DT_CLASSIFY: return dt_impurity_mass(p->crit, tot, m->nclass);
    case DT_REGRESS: return tot[0] > 0 ? tot[l->S] - tot[1] * tot[1] / tot[0] : 0;
    case DT_UPLIFT: {
        double n[64], r[64], w = 0;
        dt_uplift_arms(tot, m->narm, m->nstrata, m->binary_outcome, n, r);
        for (size_t a = 0; a < m->narm; a++)
            w += n[a];
        return -w * dt_divergence_rates(p->crit, r, m->narm, p->alpha, m->binary_outcome);
    }
    }
    return 0;
}

/* Row r's weighted squared error under node values v. */
static double row_error(const struct dt_model *m, const struct dt_data *d, size_t r,
                        const double *v)
{
    double w = d->w ? d->w[r] : 1, e = 0;
    switch (m->task) {
    case DT_CLASSIFY:
        for (size_t k = 0; k < m->nclass; k++) {
            double t = v[k] - (d->cls[r] == k);
            e += t * t;
        }
        break;
    case DT_REGRESS: e = (d->y[r] - v[0]) * (d->y[r] - v[0]); break;
    case DT_UPLIFT: e = (d->y[r] - v[d->arm[r]]) * (d->y[r] - v[d->arm[r]]); break;
    }
    return w * e;
}

void dt_prune(struct btree *b, const struct dt_model *m, const struct dt_layout *l,
              const struct dt_params *p, const struct dt_data *valid)
{
    size_t n = b->n, nv = m->nval;
    double *R = xmalloc((n ? n : 1) * 5 * sizeof *R);
    double *RT = R + n, *E = RT + n, *ET = E + n, *NL = ET + n;
    double *vals = xmalloc(n * nv * sizeof *vals);
    uint32_t *version = xcalloc(n, sizeof *version);
    bool *dead = xcalloc(n, sizeof *dead), *leaf = xcalloc(n, sizeof *leaf);
    for (size_t i = 0; i < n; i++) {
        const double *tot = b->tot + i * b->TS;
        const struct bnode *nd = &b->nodes[i];
        R[i] = cost(m, l, p, tot);
        dt_node_values(m, l, tot, nd->parent >= 0 ? vals + (size_t)nd->parent * nv : NULL,
                       vals + i * nv);
        leaf[i] = nd->feature < 0;
        E[i] = 0;
    }
    /* Validation error at every node on each row's path. */
    for (size_t r = 0; r < valid->n; r++) {
        size_t k = 0;
        for (;;) {
            E[k] += row_error(m, valid, r, vals + k * nv);
            if (leaf[k])
                break;
            k = (size_t)(dt_goes_left(m, valid, &b->nodes[k], r) ? b->nodes[k].left
                                                                  : b->nodes[k].right);
        }
    }
    /* Subtree sums, children before parents. */
    for (size_t i = n; i-- > 0;) {
        if (leaf[i]) {
            RT[i] = R[i];
            ET[i] = E[i];
            NL[i] = 1;
        } else {
            const struct bnode *nd = &b->nodes[i];
            RT[i] = RT[nd->left] + RT[nd->right];
            ET[i] = ET[nd->left] + ET[nd->right];
            NL[i] = NL[nd->left] + NL[nd->right];
        }
    }
    struct hent *heap = NULL;
    size_t nh = 0, caph = 0;
    for (size_t i = 0; i < n; i++)
        if (!leaf[i])
            heap_push(&heap, &nh, &caph,
                      (struct hent){(R[i] - RT[i]) / (NL[i] - 1), (uint32_t)i, 0});
    /* The sequence: collapse order[0..k) gives subtree k. */
    uint32_t *order = xmalloc((n ? n : 1) * sizeof *order);
    size_t norder = 0, best_k = 0;
    double best_err = ET[0];
    uint32_t *stack = xmalloc((n ? n : 1) * sizeof *stack);
    while (nh) {
        struct hent e = heap_pop(heap, &nh);
        if (dead[e.node] || leaf[e.node] || e.version != version[e.node])
            continue;
        size_t k = e.node;
        double dR = R[k] - RT[k], dE = E[k] - ET[k], dN = 1 - NL[k];
        leaf[k] = true;
        RT[k] = R[k];
        ET[k] = E[k];
        NL[k] = 1;
        order[norder++] = (uint32_t)k;
        /* Its descendants leave the tree. */
        size_t ns = 0;
        stack[ns++] = (uint32_t)b->nodes[k].left;
        stack[ns++] = (uint32_t)b->nodes[k].right;
        while (ns) {
            uint32_t c = stack[--ns];
            dead[c] = true;
            if (!leaf[c]) {
                stack[ns++] = (uint32_t)b->nodes[c].left;
                stack[ns++] = (uint32_t)b->nodes[c].right;
            }
        }
        for (int32_t a = b->nodes[k].parent; a >= 0; a = b->nodes[a].parent) {
            RT[a] += dR;
            ET[a] += dE;
            NL[a] += dN;
            version[a]++;
            heap_push(&heap, &nh, &caph,
                      (struct hent){(R[a] - RT[a]) / (NL[a] - 1), (uint32_t)a, version[a]});
        }
        /* Later subtrees are smaller: they win ties. */
        if (ET[0] <= best_err + 1e-12 * fabs(best_err)) {
            best_err = ET[0];
            best_k = norder;
        }
    }
    for (size_t i = 0; i < best_k; i++)
        b->nodes[order[i]].feature = -1;
    free(stack);
    free(order);
    free(heap);
    free(R);
    free(vals);
    free(version);
    free(dead);
    free(leaf);
}
