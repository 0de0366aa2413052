/* dtree_int: what the dtree files share among themselves (fitting,
 * pruning, rules and export); not for programs.  A tree is grown as an
 * array of build nodes with each node's statistic totals beside it, pruned
 * there, then copied into the compact struct dt_tree. */
#ifndef PROMO_DTREE_INT_H
#define PROMO_DTREE_INT_H

#include "dtree.h"

/* How a task's statistics are laid out, per histogram bin and per node:
 * nslot slots (classes, or 1, or arms) of P values each (class: the
 * weight; regression and uplift: the weight and the weighted label sum),
 * then the row count when weights are not counts (has_cnt).  Node totals
 * add nslot sums of w y^2 after the S bin statistics. */
struct dt_layout {
    size_t nslot, P, S, TS;
    bool has_cnt;
};
void dt_layout_init(struct dt_layout *l, const struct dt_model *m, const struct dt_data *d);
/* Rows (with multiplicity) behind statistics s. */
static inline double dt_cnt(const struct dt_layout *l, const double *s)
{
    if (l->has_cnt)
        return s[l->S - 1];
    double c = 0;
    for (size_t k = 0; k < l->nslot; k++)
        c += s[k * l->P];
    return c;
}

struct bnode {
    int32_t feature;        /* -1: leaf */
    int32_t left, right;
    int32_t parent;
    int bin;                /* binned numeric split: left iff code <= bin */
    double threshold;       /* numeric split */
    uint64_t mask[4];       /* categorical split: bins that go left */
    uint8_t miss_left;
    double gain;            /* weighted gain (weight units, not yet a share) */
};

struct btree {
    struct bnode *nodes;
    double *tot;            /* [n x TS] node totals */
    size_t n, cap, TS;
};
void bt_release(struct btree *b);
size_t bt_add(struct btree *b, int32_t parent);

/* Does row r of d go left at node nd? */
bool dt_goes_left(const struct dt_model *m, const struct dt_data *d, const struct bnode *nd,
                  size_t r);
/* The node values (m->nval) of totals tot; parent values fill what tot
 * lacks (an arm without rows); parent may be NULL at the root. */
void dt_node_values(const struct dt_model *m, const struct dt_layout *l, const double *tot,
                    const double *parent, double *out);
/* Add row r's statistics (weight times multiplicity mult) to totals tot. */
void dt_add_row(const struct dt_model *m, const struct dt_layout *l, const struct dt_data *d,
                size_t r, double mult, double *tot);

/* Cost-complexity pruning of b against valid (dtree_prune.c). */
void dt_prune(struct btree *b, const struct dt_model *m, const struct dt_layout *l,
              const struct dt_params *p, const struct dt_data *valid);

/* Text of the condition sending a row from node i to its left (or right)
 * child, and of what node i predicts (dtree_rules.c; also used by the dot
 * export). */
void dt_put_condition(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i,
                      bool left, const uint64_t *allowed);
void dt_put_value(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i);

#endif
