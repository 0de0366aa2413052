/* metricstream: the "metrics" stream, one record per figure, as an
 * in-memory list that is written as a stream, read back, printed as a table
 * or JSON, and compared with an earlier run.  docs/evaluate.md is the
 * specification of the record shape; this is its one implementation.
 *
 *   task    string   what was evaluated: classify, rank, regress, cluster,
 *                    uplift, effect, ols (and clean, ... from other programs)
 *   metric  string   the figure: auc, ndcg@10, abs_lift, coef:depth, ...
 *   value   number   the figure's value (for a curve: the area under it)
 *   group   string   optional: an arm, segment, decile, by-value ...
 *   lo, hi  number   optional: the confidence interval (level in the header)
 *   p       number   optional: a two-sided p-value
 *   n       integer  optional: the count the figure is over
 *   se      number   optional: a standard error;  stat: a t or z statistic
 *   x, y    arrays   a curve (roc, gains, calibration, qini, uplift): floats
 *   size, share, means, z   a segment profile (metric "profile"): rows,
 *                    share of rows, {feature: mean}, optional {feature:
 *                    standardised difference from the overall mean} */
#ifndef PROMO_METRICSTREAM_H
#define PROMO_METRICSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stream.h"

struct ms_rec {
    char *task, *metric, *group;   /* owned; group NULL when absent */
    double value;
    double lo, hi, p, se, stat;
    uint64_t n;
    bool has_ci, has_p, has_n, has_se, has_stat;
    double *x, *y;                 /* a curve of npts points when npts > 0 */
    size_t npts;
    /* A segment profile (has_profile): names[nfeat], means[nfeat], z[nfeat]
     * (z NULL when absent); one allocation each. */
    bool has_profile;
    double size, share;
    char **names;
    double *means, *z;
    size_t nfeat;
};

struct ms_list {
    struct ms_rec *r;
    size_t n, cap;
    char **notes;                  /* lines said with the figures */
    size_t nnotes, capnotes;
};

void ms_list_init(struct ms_list *l);
void ms_list_release(struct ms_list *l);
/* Append a record (strings copied; group may be NULL) and return it for the
 * optional fields; the pointer is valid until the next ms_add. */
struct ms_rec *ms_add(struct ms_list *l, const char *task, const char *metric,
                      const char *group, double value);
void ms_set_ci(struct ms_rec *r, double lo, double hi);
void ms_set_p(struct ms_rec *r, double p);
void ms_set_n(struct ms_rec *r, uint64_t n);
/* Copy a curve of npts points. */
void ms_set_curve(struct ms_rec *r, const double *x, const double *y, size_t npts);
/* Copy a profile of nfeat features (z may be NULL). */
void ms_set_profile(struct ms_rec *r, double size, double share, const char *const *names,
                    const double *means, const double *z, size_t nfeat);
void ms_note(struct ms_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Pack every record of l into w (whose header is written by the caller). */
void ms_write(ws *w, const struct ms_list *l);
/* Append the records of metrics streams (kind "metrics") to l; dies naming
 * the file and record on a bad one.  Header option "notes" (lines joined by
 * newlines) becomes notes. */
void ms_read(struct ms_list *l, const char *const *paths, int npaths);

/* Which way is better: +1 higher, -1 lower, 0 neither (counts, coefficients). */
int ms_direction(const char *metric);
/* "metric" or "metric[group]", into buf of size len. */
const char *ms_key(const struct ms_rec *r, char *buf, size_t len);
/* Whether name (as given to --fail-on-regression) selects r: "metric"
 * selects every group, "metric[group]" one. */
bool ms_matches(const struct ms_rec *r, const char *name);

/* The change of one figure against an earlier run. */
struct ms_change {
    const struct ms_rec *old, *cur;   /* either may be NULL (gone, new) */
    double delta;                     /* cur - old */
    int dir;                          /* ms_direction */
    bool worse;                       /* delta goes the wrong way */
};
/* Pair the scalar records of cur and old by (task, metric, group); curves
 * and profiles are not compared.  Returns a malloc'd array, *n entries. */
struct ms_change *ms_compare(const struct ms_list *old, const struct ms_list *cur, size_t *n);

/* A table for people: one block per task, curves of up to 20 points as
 * their points, notes at the end. */
void ms_print_table(FILE *fp, const struct ms_list *l);
void ms_print_changes(FILE *fp, const struct ms_change *c, size_t n);
/* One JSON object: {"metrics":[...],"notes":[...]} plus "compare" when c. */
void ms_print_json(FILE *fp, const struct ms_list *l, const struct ms_change *c, size_t nc);
/* A number for people: up to 6 significant digits, "nan" and "inf" as such. */
const char *ms_fmt(char *buf, size_t len, double v);

#endif
