/* dtree: decision trees, uplift trees and forests of either (prefix dt_).
 *
 * One struct dt_model holds a forest (a single tree is a forest of one):
 * the features with their categorical levels, the classes or treatment
 * arms, and each tree as flat node arrays carved from one allocation.
 * The trainer (filters/promo-dtree.c) fits it from a table (dtree_fit.c,
 * dtree_prune.c), writes and reads it as a stream of kind "model/dtree"
 * (dtree_io.c), prints it as rules, SQL or Graphviz (dtree_rules.c,
 * dtree_export.c); promo-score applies it (dtree_score.c).
 *
 * Splits.  A numeric split sends a row left when x <= threshold; a
 * categorical split sends it left when its level's bin is in the node's
 * set.  A categorical feature lists at most DT_MAX_BINS - 1 levels (bin =
 * level id); any other level, rare in training or never seen, is the
 * "other" bin nlevels.  A missing value (absent, nil, NaN) goes the node's
 * default direction, learnt in training (towards the larger child when the
 * node saw no missing values).
 *
 * Node values (nval per node, row-major [nnodes x nval]):
 *   classification  nclass probabilities (weighted shares of the classes)
 *   regression      1: the weighted mean of the label
 *   uplift          2 x narm: the mean outcome of each arm (arm 0 is the
 *                   control), then the weight of each arm */
#ifndef PROMO_DTREE_H
#define PROMO_DTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "strmap.h"

#define DT_MODEL_VERSION 1   /* "model_version" in the header options */
#define DT_MAX_BINS 255      /* bins per feature; code 255 is "missing" */
#define DT_MAX_STRATA 64     /* uplift --stratum values */
#define DT_MISSING 255

enum dt_task { DT_CLASSIFY, DT_REGRESS, DT_UPLIFT };
enum dt_crit { DT_GINI, DT_ENTROPY, DT_MSE, DT_KL, DT_ED, DT_CHI };
extern const char *const dt_task_names[3];
extern const char *const dt_crit_names[6];

struct dt_feature {
    char *name;
    bool cat;                /* categorical (string levels), else numeric */
    bool had_missing;        /* training saw missing values */
    bool pooled;             /* categorical: rare training levels share the other bin */
    struct strmap levels;    /* categorical: the listed levels, id = bin */
};

struct dt_tree {
    size_t nnodes, ncats, nval;
    /* One allocation (base), carved into: */
    int32_t *feature;        /* [nnodes] feature index, -1 for a leaf */
    int32_t *left, *right;   /* [nnodes] children, always > the node; -1 for a leaf */
    uint8_t *miss_left;      /* [nnodes] 1: missing values go left */
    double *threshold;       /* [nnodes] numeric split: left iff x <= threshold */
    uint32_t *cat_off;       /* [nnodes + 1] categorical split: the bins going left are
                              * cats[cat_off[i] .. cat_off[i+1]) */
    uint8_t *cats;           /* [ncats] */
    uint64_t *catmask;       /* [nnodes x 4] the same left bins as a bit set (derived) */
    double *count;           /* [nnodes] training rows reaching the node */
    double *gain;            /* [nnodes] the split's gain, a share of the root's (0 at a leaf) */
    double *value;           /* [nnodes x nval] see above */
    void *base;
};

struct dt_model {
    enum dt_task task;
    enum dt_crit crit;
    char *label;             /* the label, or the outcome of an uplift model */
    char *treatment;         /* uplift: the treatment field */
    size_t nfeat;
    struct dt_feature *feat;
    size_t nclass;           /* classification: the classes, sorted */
    char **class_names;
    bool class_numeric;      /* the label was a number: classes are numbers */
    double *class_values;    /* [nclass] when class_numeric */
    size_t narm;             /* uplift: arm 0 the control, then the offers, sorted */
    char **arm_names;
    size_t nstrata;          /* uplift: strata of --stratum while fitting, else 1 */
    bool binary_outcome;     /* uplift: the outcome is 0/1 */
    size_t nval;
    size_t ntree;
    struct dt_tree *trees;
    double *importance;      /* [nfeat] total gain, averaged over trees */
};

/* ---- the model ---------------------------------------------------------- */

void dt_model_init(struct dt_model *m);
void dt_model_release(struct dt_model *m);
/* Values per node for the model's task and classes or arms. */
size_t dt_nval(const struct dt_model *m);
/* Allocate a tree's arrays in one block (zeroed); cat_off[nnodes] = ncats. */
void dt_tree_alloc(struct dt_tree *t, size_t nnodes, size_t ncats, size_t nval);
void dt_tree_release(struct dt_tree *t);
/* Fill catmask from cats and cat_off. */
void dt_tree_masks(struct dt_tree *t, const struct dt_model *m);
/* The "other" bin of a categorical feature: the number of listed levels. */
static inline uint32_t dt_other_bin(const struct dt_feature *f)
{
    return (uint32_t)sm_count(&f->levels);
}
/* Leaves, depth (a lone root has depth 0). */
size_t dt_tree_leaves(const struct dt_tree *t);
int dt_tree_depth(const struct dt_tree *t);

/* ---- applying it -------------------------------------------------------- */

/* A row x to apply a model to holds x[nfeat]: numeric features as their
 * values, categorical ones as their bin (the level's id, or the other
 * bin), NaN when missing. */
/* The leaf of tree t that row x reaches. */
size_t dt_tree_leaf(const struct dt_tree *t, const struct dt_model *m, const double *x);
/* out[nval]: the node values averaged over the trees (sum, then divide). */
void dt_predict(const struct dt_model *m, const double *x, double *out);
/* Classification: the predicted class of probabilities p (binary: the
 * second class iff p[1] > 0.5; else the most probable, first on ties). */
size_t dt_class_of(const struct dt_model *m, const double *p);
/* Uplift: the offer (1 .. narm-1) with the largest uplift over the control
 * in values v (first on ties), and that uplift. */
size_t dt_best_offer(const struct dt_model *m, const double *v, double *uplift);

/* ---- training ----------------------------------------------------------- */

struct dt_params {
    enum dt_task task;
    enum dt_crit crit;
    int max_depth;           /* root at depth 0 */
    double min_leaf;         /* rows per child (uplift: weight per arm per child) */
    double min_gain;         /* a split's gain as a share of the root's weight */
    int bins;                /* at most DT_MAX_BINS */
    bool exact;              /* numeric splits at every distinct value */
    bool cat_single;         /* categorical splits: one level against the rest */
    bool balanced;           /* --class-weight balanced */
    double alpha;            /* uplift, several offers: offer-vs-control weight */
    bool honest;             /* estimate node values on a held-apart half */
    int trees;
    double sample_frac;      /* forests: bootstrap size as a share of the rows */
    int max_features;        /* features tried per split (0: all) */
    int threads;
    uint64_t seed;
};
void dt_params_init(struct dt_params *p);

/* The training set, binned: built once, read by every tree. */
struct dt_data {
    size_t n, nfeat;
    bool exact;              /* numeric features kept as values (xnum) */
    uint8_t *code;           /* [n x nfeat] bins, DT_MISSING for missing */
    double *xnum;            /* exact mode: [nfeat x n] raw values (numeric features), else NULL */
    uint16_t *nbins;         /* [nfeat] bins in use (numeric: edges + 1; categorical: levels + 1) */
    double **edges;          /* [nfeat] numeric: nbins - 1 upper edges of bins, ascending */
    uint32_t *cls;           /* classification: class per row */
    double *y;               /* regression label, uplift outcome */
    uint16_t *arm;           /* uplift: arm per row */
    uint16_t *strat;         /* uplift: stratum per row, NULL without strata */
    double *w;               /* row weights, NULL when all 1 */
};
void dt_data_release(struct dt_data *d);

struct tbl;
/* The feature columns cols[nfeat] of t: decide the bins (numeric: quantile
 * edges from a sample; categorical: the most frequent levels), record the
 * features in m, and encode t's rows into d.  where: the input's name for
 * messages. */
void dt_features_from_tbl(struct dt_model *m, struct dt_data *d, const struct tbl *t,
                          const size_t *cols, size_t nfeat, const struct dt_params *p,
                          const char *where);
/* Encode the rows of t (a validation set) with m's features and train's
 * bins into d, mapping levels by name; dies when a feature's type is not
 * the training data's. */
void dt_encode(const struct dt_model *m, struct dt_data *d, const struct tbl *t,
               const size_t *cols, const struct dt_data *train, const char *where);

/* dst: a copy of rows[0..n) of src (codes, values, targets, weights). */
void dt_data_subset(struct dt_data *dst, const struct dt_data *src, const uint32_t *rows, size_t n);

/* Where the targets are in a table (column indices, -1 for none). */
struct dt_target_spec {
    long label;              /* classification, regression */
    long treatment, outcome; /* uplift */
    long weight;
    long stratum;            /* uplift */
    const char *control;     /* the treatment value of the control arm */
    bool balanced;           /* class weights n / (K n_k) */
    const char *where;       /* the input's name, for messages */
};
/* Fill d's targets and weights from t.  training: also decide m's classes
 * or arms; otherwise (a validation set) map onto m's by name.  Dies on
 * missing or mistyped targets and on unknown classes or arms. */
void dt_targets(struct dt_model *m, struct dt_data *d, const struct tbl *t,
                const struct dt_target_spec *s, bool training);

/* Fit m's trees on rows[0..nrows) of d (all rows when rows is NULL).  With
 * valid (and vrows), the single tree is pruned by cost complexity against
 * it.  m holds the features, task, classes or arms already. */
void dt_fit(struct dt_model *m, const struct dt_data *d, const uint32_t *rows, size_t nrows,
            const struct dt_data *valid, const struct dt_params *p, bool progress);

/* ---- split criteria (dtree_crit.c) -------------------------------------- */

/* Weighted impurity mass W * I of class weights w[k]: gini or entropy (bits). */
double dt_impurity_mass(enum dt_crit c, const double *w, size_t k);
/* Uplift: the divergence of the arms' outcome distributions, R&J (2012),
 * alpha * mean_i D(T_i : C) + (1 - alpha) * mean_{i != j} D(T_i : T_j),
 * from the arms' rates r[a] (r[0] the control's; dt_uplift_arms). */
double dt_divergence_rates(enum dt_crit c, const double *r, size_t narm, double alpha,
                           bool binary);
/* An arm's rate in the divergences: Laplace-corrected (s + 1) / (n + 2)
 * for a binary outcome, the plain mean s / n for a numeric one. */
double dt_arm_rate(double n, double s, bool binary);
/* Uplift statistics tot[2 slot + {0, 1}] (weight, weighted outcome sum),
 * slot = stratum * narm + arm: arm a's difference in mean outcome from the
 * control within the strata where both have rows, averaged over them with
 * weights n_a n_c / (n_a + n_c) (docs/dtree.md, "Strata"); *w gets arm a's
 * weight in those strata (0: no stratum has both, and the difference is 0). */
double dt_stratum_diff(const double *tot, size_t narm, size_t nstrata, size_t a, double *w);
/* The control's weight *n and outcome sum *s over all strata. */
void dt_stratum_control(const double *tot, size_t narm, size_t nstrata, double *n, double *s);
/* The arms' weights n[a] and rates r[a] that the divergences compare.
 * One stratum: each arm's own rows and rate.  Several: the control's pooled
 * rows and rate, and for an offer the rows of its strata that have
 * controls, and the control's rate plus its dt_stratum_diff. */
void dt_uplift_arms(const double *tot, size_t narm, size_t nstrata, bool binary, double *n,
                    double *r);
/* R&J's normalisation of a binary split with arm weights nl[a] left and
 * nr[a] right: I(A) for kl, J(A) for ed and chi. */
double dt_uplift_norm(enum dt_crit c, const double *nl, const double *nr, size_t narm,
                      double alpha);

/* ---- model streams (dtree_io.c) ----------------------------------------- */

struct ws;
struct rs;
/* Write m as one record; the caller has opened w and set header options. */
void dt_write(const struct dt_model *m, struct ws *w);
/* Read a model stream positioned before its record (kind model/dtree);
 * dies naming the field on anything malformed. */
void dt_read(struct dt_model *m, struct rs *r);

/* ---- reading the model (dtree_rules.c, dtree_export.c) ------------------ */

/* The trees as nested if / else-if rules, strongest branch first, then
 * the feature importance. */
void dt_print_rules(FILE *f, const struct dt_model *m);
/* A SQL select list: one CASE expression per output field. */
void dt_print_sql(FILE *f, const struct dt_model *m);
/* Graphviz dot. */
void dt_print_dot(FILE *f, const struct dt_model *m);

/* ---- promo-score (dtree_score.c) ---------------------------------------- */

struct scorer;
extern const struct scorer dtree_scorer;

#endif
