/* kmeans: the k-means model shared by promo-kmeans (which fits it) and
 * promo-score (which applies it).
 *
 * Features are scaled first (x - center) / scale, per feature, and every
 * distance is the squared Euclidean distance in those scaled units.  A fit
 * is greedy k-means++ seeding then Lloyd iterations; distances of a block
 * of rows to the centroids come from the dot products of our kernel
 * (kmeans_dots.c; OpenBLAS's dgemm is its twin) through the norm expansion
 * ||x||^2 - 2 x.c + ||c||^2, and a row whose best two centroids are closer
 * than that expansion's rounding error is decided by exact differences, so
 * an assignment never depends on how the products rounded.  Sums, counts
 * and the inertia are taken in our own loops, cut into tasks by the data's
 * sizes and added in a fixed order: the same seed gives the same bits
 * whatever the number of our threads or of BLAS's.  docs/kmeans.md
 * describes it all.
 *
 * Ownership: a struct km_model owns its names and its one parameter block;
 * km_release frees both.  Row arrays passed in belong to the caller. */
#ifndef PROMO_KMEANS_H
#define PROMO_KMEANS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "score.h"
#include "stream.h"

#define KM_KIND "model/kmeans"
#define KM_MAX_K 1000
#define KM_BLOCK 4096        /* most rows per block of products */
#define KM_MAX_THREADS 64

enum km_scaling { KM_STANDARD, KM_ROBUST, KM_NONE };
extern const char *const km_scaling_names[];   /* "standard", "robust", "none" */

/* One row of the table a k range prints and stores. */
struct km_krow {
    int k;
    double inertia, silhouette;
    int iterations;
};

struct km_model {
    /* sizes: set once by km_init */
    int k, d;
    int nfields;              /* field specs: "name" or "name[]" (an array) */
    /* names: one allocation holding both arrays of pointers and the text */
    char **fields;            /* [nfields] the fields as given to --fields */
    char **features;          /* [d] column names: "x", or "vec[0]" ... */
    int *field_width;         /* [nfields] columns of each field (1 for a scalar) */
    bool *logged;             /* [nfields] the field enters as ln(1 + value) (--log) */
    /* parameters: one allocation carved into named arrays (km_init) */
    double *params;
    double *center;           /* [d] subtracted before scaling */
    double *scale;            /* [d] divisor after centering, > 0 */
    double *cent;             /* [k][d] centroids in scaled units */
    double *cent_orig;        /* [k][d] centroids in original units */
    double *cnorm;            /* [k] ||cent_j||^2 */
    uint64_t *size;           /* [k] training rows in each cluster */
    /* scalars */
    enum km_scaling scaling;
    double inertia;           /* sum of squared scaled distances to own centroid */
    double silhouette;        /* on the sample; NAN when not computed */
    int iterations;           /* Lloyd iterations (minibatch: passes) of the kept fit */
    uint64_t seed;
    uint64_t n;               /* training rows */
    uint64_t skipped;         /* rows skipped by --skip-invalid */
    struct km_krow *table;    /* the k range, or NULL */
    int ntable;
};

/* Allocate for k clusters over the columns of the given field specs
 * (widths[i] columns for field i, named features[] in order, d in all).
 * Everything numeric starts at zero; scale at one; no field logged. */
void km_init(struct km_model *m, int k, char *const *fields, const int *widths, int nfields,
             char *const *features, int d);
void km_release(struct km_model *m);
/* Change k, keeping names and scaling (for fitting a range of k). */
void km_resize(struct km_model *m, int k);

/* Threads for fitting (default 1).  The result is the same whatever the
 * number: work is cut by the data's sizes only, and partial sums are
 * added in a fixed order. */
void km_set_threads(int n);
int km_threads(void);

/* ---- scaling ------------------------------------------------------------ */

/* Per-feature center and scale from raw rows x[n][d]: standard is the mean
 * and population standard deviation, robust the median and interquartile
 * range (linear interpolation), none 0 and 1.  A zero spread scales by 1. */
void km_scaling_fit(struct km_model *m, enum km_scaling how, const double *x, size_t n);
/* The value a logged field's v enters as: ln(1 + v), which needs
 * v > -1; false (and *out untouched) otherwise. */
bool km_log_value(double v, double *out);

/* Rows in place: x = (x - center) / scale. */
void km_scale_rows(const struct km_model *m, double *x, size_t n);
/* centroids in original units and their norms, from cent. */
void km_finish_centroids(struct km_model *m);

/* Streaming mean and variance (Welford per value, combined by Chan's rule),
 * for scaling and profiles when the rows are not all in memory. */
struct km_moments {
    int d;
    double count;
    double *mean, *m2;        /* [d] */
};
void km_moments_init(struct km_moments *s, int d);
void km_moments_release(struct km_moments *s);
void km_moments_add(struct km_moments *s, const double *x);
/* Merge b into a (a = a + b). */
void km_moments_merge(struct km_moments *a, const struct km_moments *b);

/* ---- fitting ------------------------------------------------------------ */

struct km_opts {
    int n_init;               /* restarts, keeping the lowest inertia */
    int max_iter;             /* Lloyd iterations, or minibatch passes */
    double tol;               /* relative to the mean feature variance */
    uint64_t seed;
};

/* Scratch for fits over one set of scaled rows: row norms and labels. */
struct km_data {
    const double *x;          /* [n][d] scaled rows, borrowed */
    size_t n;
    int d;
    double *xnorm;            /* [n] ||x_i||^2 */
    int *label;               /* [n] cluster of each row after a fit */
    double *dist;             /* [n] squared distance to it */
    double mean_var;          /* mean per-feature variance, for tol */
};
void km_data_init(struct km_data *dt, const double *x, size_t n, int d);
void km_data_release(struct km_data *dt);

/* Fit m->k clusters to the scaled rows: o->n_init restarts of k-means++
 * then Lloyd, keeping the lowest inertia.  Fills cent, size, inertia,
 * iterations and seed, numbers clusters by size (largest first) and leaves
 * every row's cluster in dt->label.  Needs dt->n >= m->k.  Returns the
 * number of clusters with rows (less than k only when the data has fewer
 * distinct points than k). */
int km_fit(struct km_model *m, struct km_data *dt, const struct km_opts *o);

/* Greedy k-means++: k starting centroids cent[k][d] from x[n][d]. */
void km_seed_plusplus(double *cent, const double *x, const double *xnorm, size_t n, int d,
                      int k, uint64_t seed);

/* Nearest centroid of each scaled row: label[i] and squared distance
 * dist[i] (exact for the chosen centroid).  Returns the sum of dist in row
 * order.  xnorm may be NULL (computed on the way). */
double km_assign(int *label, double *dist, const double *x, const double *xnorm, size_t n,
                 int d, const double *cent, const double *cnorm, int k);
/* The nearest centroid of one scaled row, exactly; *dist gets the squared
 * distance.  What promo-score uses, and what km_assign agrees with. */
int km_nearest(const double *x, int d, const double *cent, int k, double *dist);
/* Squared distance between two d-vectors, in index order. */
double km_dist2(const double *a, const double *b, int d);

/* ---- the distance kernel (kmeans_dots.c) --------------------------------- */

/* What computes the dot products of rows with centroids: our own kernel
 * (the default; see kmeans_dots.c for why) or OpenBLAS's dgemm through
 * linalg.h (the reference twin, itself switchable to plain loops).  The
 * fit is the same either way up to the last bits of the k-means++
 * potentials; the assignments never depend on it (near ties are decided
 * exactly). */
enum km_kernel { KM_KERNEL_OWN, KM_KERNEL_BLAS };
void km_set_kernel(enum km_kernel k);
enum km_kernel km_get_kernel(void);

#define KM_PANEL 8           /* centroids per packed panel (the last may hold 4) */
/* Doubles for the packed centroids: k rounded up to whole panels, times d. */
size_t km_pack_size(int k, int d);
/* packed = cent[k][d] as panels of centroids, feature-major, zero-padded:
 * what km_dots's own kernel reads. */
void km_pack(double *packed, const double *cent, int k, int d);
/* The row stride of km_dots's output for k centroids with the current
 * kernel: k for BLAS, k rounded up to whole panels for ours. */
size_t km_dots_stride(int k);
/* g[n][stride] (columns 0..k) = X[n][d] . cent[k][d]^T, where row r of X
 * is x's row r, or with rows (not NULL) x's row rows[r]; returns the
 * stride.  Each element is summed over features in index order with
 * separate multiplies and adds (the same bits as la_naive_dgemm) by our
 * kernel from packed, or by la_dgemm from cent with KM_KERNEL_BLAS. */
size_t km_dots(double *g, const double *x, const uint32_t *rows, size_t n, int d,
               const double *cent, const double *packed, int k);

/* Mean silhouette of the scaled rows x[s][d] under nlab labelings
 * labels[t][s] (each with ks[t] clusters): out[t].  Euclidean distances in
 * our own loops (so the value does not depend on BLAS). */
void km_silhouette(double *out, const double *x, size_t s, int d, int *const *labels,
                   const int *ks, int nlab);

/* Mini-batch k-means (Sculley 2010): one batch of scaled rows moves each
 * centroid toward the mean of its rows with step 1/count (counts[k] carry
 * over batches). */
void km_minibatch_step(double *cent, double *counts, const double *x, size_t n, int d, int k,
                       int *label, double *dist);

/* Number clusters by size, largest first (ties: the centroid with the
 * smaller first differing coordinate first), and
 * relabel label[n] to match; order (may be NULL) gets order[new] = old. */
void km_renumber(struct km_model *m, int *label, size_t n, int *order);

/* ---- profile ------------------------------------------------------------ */

/* Per-cluster statistics in scaled units, to describe the segments. */
struct km_profile {
    int k, d;
    struct km_moments *cl;    /* [k] */
};
void km_profile_init(struct km_profile *p, int k, int d);
void km_profile_release(struct km_profile *p);
void km_profile_add(struct km_profile *p, const double *x, const int *label, size_t n);
/* Write the profile as records of a metrics stream (task "cluster",
 * metric "profile", one per segment, then "inertia" and, when finite,
 * "silhouette"), and print it as a table on stderr unless quiet. */
void km_profile_write(const struct km_profile *p, const struct km_model *m, ws *w, bool table);

/* ---- the model stream --------------------------------------------------- */

/* Pack the model's one record. */
void km_save(const struct km_model *m, ws *w);
/* Read the model from the next record of r (positioned before it); dies
 * naming the field on anything malformed. */
void km_load(struct km_model *m, rs *r);

/* promo-score's scorer for KM_KIND (kmeans_score.c). */
extern const struct scorer kmeans_scorer;

#endif
