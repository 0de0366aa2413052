/* scaling: per-feature centre and scale learned on training rows
 * (promo-featurize --fit-stats) and applied to any rows (--stats), so
 * training and scoring see the same transform: x' = (x - centre) / scale.
 *
 * standard: centre the mean, scale the standard deviation (population,
 * divided by n), both exact and streaming (Welford).  robust: centre the
 * median, scale the interquartile range (quartiles by linear interpolation
 * between order statistics, numpy's default), over the rows when there are
 * at most SC_SAMPLE of them, else over a uniform random sample of SC_SAMPLE
 * rows (reservoir sampling, seeded), so memory stays bounded.  A scale of
 * 0 (a constant feature) is stored as 1.
 *
 * The stats stream: kind "stats", header options view, method, rows; one
 * record per feature: feature, centre, scale, mean, sd, median, iqr (the
 * method's two are centre and scale). */
#ifndef PROMO_SCALING_H
#define PROMO_SCALING_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "stream.h"

#define SC_SAMPLE 100000

enum sc_method { SC_STANDARD, SC_ROBUST };
extern const char *const sc_method_names[2];

typedef struct sc_fit sc_fit;

/* names: nfeat feature names (copied). */
sc_fit *sc_fit_new(int nfeat, const char *const *names, enum sc_method method, uint64_t seed);
void sc_fit_add(sc_fit *f, const double *x);
/* Write the stats to w (opened by the caller, before the work, so that a
 * bad path fails early) and close it; view names the rows' view. */
void sc_fit_write(sc_fit *f, ws *w, const char *view);
void sc_fit_free(sc_fit *f);

/* Stats read back. */
struct sc_stats {
    int n;
    char **names;
    double *centre, *scale;
    char *view, *method;
};
/* Read a stats stream; dies naming the file on any error. */
void sc_load(struct sc_stats *s, const char *path);
void sc_release(struct sc_stats *s);
/* Reorder to the given feature names (every one must be there, and no
 * other): dies with a message naming the first that is not. */
void sc_match(struct sc_stats *s, const char *path, int nfeat, const char *const *names);
/* x[i] = (x[i] - centre[i]) / scale[i]. */
void sc_apply(const struct sc_stats *s, double *x);

/* The q-quantile of sorted v[0..n) by linear interpolation (n > 0). */
double sc_quantile(const double *v, size_t n, double q);

#endif
