/* metrics: the numbers promo-evaluate reports, as plain functions over
 * arrays and small accumulators, so that each one can be tested by hand
 * and against scikit-learn and statsmodels (docs/evaluate.md defines every
 * figure).  Nothing here reads streams or prints.
 *
 * Distributions are our own: the normal CDF over libm's erfc, its quantile
 * by Acklam's approximation polished by one Halley step, Student's t
 * through the regularized incomplete beta function (a continued fraction).
 *
 * Accumulators are caller-owned structs with _init/_release; the arrays
 * they grow hold only what the metric needs (docs/promo-evaluate.md says
 * how much per row). */
#ifndef PROMO_METRICS_H
#define PROMO_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- distributions ------------------------------------------------------ */

double mt_norm_cdf(double x);
/* The x with mt_norm_cdf(x) = p, for 0 < p < 1 (+-inf at 0 and 1). */
double mt_norm_quantile(double p);
/* The regularized incomplete beta function I_x(a, b), a, b > 0, 0 <= x <= 1. */
double mt_betainc(double a, double b, double x);
/* Student's t with df > 0 degrees of freedom: CDF and quantile. */
double mt_t_cdf(double t, double df);
double mt_t_quantile(double p, double df);
/* Two-sided p-values of a z and a t statistic. */
double mt_p_norm(double z);
double mt_p_t(double t, double df);

/* Sort a[n] ascending (no NaN allowed): an introsort without callbacks. */
void mt_sort_f64(double *a, size_t n);

/* ---- binary classification ---------------------------------------------- */

#define MT_DECILES 10
#define MT_ROC_MAX 512        /* most points kept of the ROC curve */
#define MT_LOGLOSS_EPS 1e-15  /* probabilities are clipped to [eps, 1 - eps] */

/* Scores are held in two arrays by label, 8 bytes per row: that is all the
 * exact AUC, the deciles and the ROC curve need.  The rest is sums. */
struct mt_bin {
    double *pos, *neg;        /* scores of the positive and negative rows */
    size_t npos, nneg, cappos, capneg;
    double threshold;         /* predicted positive when score >= threshold */
    uint64_t tp, fp;          /* at the threshold */
    double logloss, brier;    /* sums; meaningful only when probs */
    bool probs;               /* every score was in [0, 1] */
};

struct mt_bin_result {
    uint64_t n, npos;
    uint64_t npred;           /* rows predicted positive at the threshold */
    double auc;
    double logloss, brier;    /* NAN unless every score is a probability */
    double accuracy, precision, recall, f1;   /* NAN when undefined (0/0) */
    /* Deciles by score, highest first (decile 1 = the top 10%); a group of
     * tied scores across a boundary is shared in proportion, which is the
     * expectation over random orderings of the ties. */
    double gains[MT_DECILES + 1];   /* share of positives in the top k/10 */
    double lift[MT_DECILES];        /* rate in decile k over the base rate */
    double cal_pred[MT_DECILES];    /* mean score in decile k */
    double cal_obs[MT_DECILES];     /* observed positive rate in decile k */
    double ece;                     /* mean |cal_pred - cal_obs| over deciles */
    double *roc_x, *roc_y;          /* false and true positive rates, malloc'd */
    size_t nroc;
};

void mt_bin_init(struct mt_bin *b, double threshold);
void mt_bin_release(struct mt_bin *b);
/* score finite; label 0 or 1. */
void mt_bin_add(struct mt_bin *b, double score, bool label);
/* Sorts the arrays.  Needs at least one positive and one negative row. */
void mt_bin_finish(struct mt_bin *b, struct mt_bin_result *res);
void mt_bin_result_release(struct mt_bin_result *res);
/* ROC AUC of sorted (ascending) score arrays, ties counted one half. */
double mt_auc_sorted(const double *pos, size_t npos, const double *neg, size_t nneg);

/* ---- ranking ------------------------------------------------------------ */

/* One user's list: rel[i] is 1 when the item at rank i + 1 is relevant,
 * len items, ntruth relevant items in all (>= 1), cut at k (the list may
 * be shorter).  Binary relevance; definitions in docs/evaluate.md. */
struct mt_rank_k {
    double hr, precision, recall, ndcg, ap;
};
void mt_rank_at(struct mt_rank_k *out, const uint8_t *rel, size_t len, size_t ntruth, size_t k);
/* 1 / rank of the first relevant item in the whole list, 0 if none. */
double mt_rr(const uint8_t *rel, size_t len);

/* ---- regression ---------------------------------------------------------- */

struct mt_reg {
    uint64_t n;
    double sse, sae;          /* sums of squared and absolute errors */
    double mean, m2;          /* Welford mean and squared deviations of y */
};
void mt_reg_init(struct mt_reg *r);
void mt_reg_add(struct mt_reg *r, double y, double pred);
/* rmse, mae, r2 (NAN when y is constant). */
void mt_reg_finish(const struct mt_reg *r, double *rmse, double *mae, double *r2);

/* ---- clustering ----------------------------------------------------------- */

/* X is n x d row-major, seg[i] in [0, k).  centroids (k x d) and sizes (k)
 * are outputs. */
void mt_centroids(double *centroids, uint64_t *sizes, const double *X, const uint32_t *seg,
                  size_t n, size_t d, size_t k);
/* Sum of squared distances to the own centroid. */
double mt_inertia(const double *X, const uint32_t *seg, const double *centroids, size_t n, size_t d);
/* Davies-Bouldin index (NAN with fewer than 2 non-empty segments). */
double mt_davies_bouldin(const double *X, const uint32_t *seg, const double *centroids,
                         const uint64_t *sizes, size_t n, size_t d, size_t k);
/* Mean silhouette over all n rows (a row alone in its segment scores 0,
 * as scikit-learn does); NAN with fewer than 2 segments present. */
double mt_silhouette(const double *X, const uint32_t *seg, size_t n, size_t d, size_t k);

/* ---- uplift ---------------------------------------------------------------- */

struct mt_up_row {
    double score, outcome;
    bool treated;
};

struct mt_uplift {
    uint64_t n, nt, nc;
    bool binary;              /* every outcome 0 or 1: perfect curves exist */
    /* Curves at distinct scores (highest first; thinned to about
     * MT_ROC_MAX points), x = share of rows targeted.  qini: (Y_t - Y_c N_t / N_c) / N; uplift: (Y_t / N_t -
     * Y_c / N_c) (N_t + N_c) / N.  Both start at (0, 0); malloc'd. */
    double *x, *qini, *uplift;
    size_t npts;
    double qini_area;         /* area between the Qini curve and the random line */
    double auuc;              /* area under the uplift curve */
    double auuc_random;       /* ... of the random line */
    double qini_coef;         /* (model - random) / (perfect - random), NAN unless binary */
    double auuc_coef;         /* the same for the uplift curve */
};
/* rows are sorted in place (by score, descending). */
void mt_uplift_eval(struct mt_uplift *u, struct mt_up_row *rows, size_t n);
void mt_uplift_release(struct mt_uplift *u);
/* Uplift in the top share (0, 1] of rows by score (rows sorted by
 * mt_uplift_eval): "overall" ranks all rows together and takes the top
 * ceil(share n); "by group" takes the top of each arm separately.  NAN when
 * an arm is empty there. */
double mt_uplift_top(const struct mt_up_row *rows, size_t n, double share, bool by_group);

/* ---- effects of a randomized campaign ----------------------------------- */

struct mt_interval {
    double est, lo, hi;
    double p;                 /* two-sided p-value, NAN when none */
};
/* Wilson score interval of a proportion x / n at confidence level conf. */
void mt_wilson(struct mt_interval *out, double x, double n, double conf);
/* p1 - p2 with Newcombe's hybrid score interval (his method 10) and the
 * pooled two-proportion z-test. */
void mt_newcombe(struct mt_interval *out, double x1, double n1, double x2, double n2, double conf);
/* p1 / p2 - 1 by the log risk ratio (Katz) interval; NAN without events. */
void mt_ratio_prop(struct mt_interval *out, double x1, double n1, double x2, double n2, double conf);
/* Means: Welch's interval for m1 - m2 and its t-test (v = sample variances). */
void mt_welch(struct mt_interval *out, double *df, double m1, double v1, double n1, double m2,
              double v2, double n2, double conf);
/* m1 / m2 - 1 by the delta method on the log ratio; NAN when a mean <= 0. */
void mt_ratio_mean(struct mt_interval *out, double m1, double v1, double n1, double m2,
                   double v2, double n2, double conf);

/* A running mean and variance (Welford). */
struct mt_moments {
    double n, mean, m2, sum;
};
void mt_moments_add(struct mt_moments *m, double v);
double mt_moments_var(const struct mt_moments *m);   /* sample variance */

/* ---- least squares --------------------------------------------------------- */

struct mt_ols {
    int p;                    /* coefficients */
    size_t n;
    double df;                /* n - p */
    double *beta, *se, *t, *pval, *lo, *hi;   /* [p] each, one allocation */
    double *cov;              /* [p x p] sigma^2 (X'X)^-1 */
    double r2, adj_r2, sigma, sse;
};
/* Fit y = X beta by QR (la_dgels); X is n x p row-major (include a column
 * of ones for an intercept), intercept says whether one is there (for R^2).
 * Returns nonzero when X is rank-deficient or n <= p.  conf: level of the
 * intervals. */
int mt_ols_fit(struct mt_ols *o, const double *X, const double *y, size_t n, int p,
               bool intercept, double conf);
void mt_ols_release(struct mt_ols *o);
/* The prediction at x0 [p] and the interval of the mean response. */
void mt_ols_predict(const struct mt_ols *o, const double *x0, double conf, struct mt_interval *out);

#endif
