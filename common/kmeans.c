#include "kmeans.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dist.h"
#include "linalg.h"
#include "rec.h"
#include "rng.h"
#include "xalloc.h"

const char *const km_scaling_names[] = {"standard", "robust", "none"};

/* ---- the model struct --------------------------------------------------- */

/* The parameter block: every size computed here, nowhere else. */
static void carve(struct km_model *m)
{
    size_t k = (size_t)m->k, d = (size_t)m->d;
    size_t ndouble = 2 * d      /* center, scale */
                   + 2 * k * d  /* cent, cent_orig */
                   + k;         /* cnorm */
    /* size is uint64_t, as wide as a double, so it follows the doubles */
    m->params = xcalloc(ndouble + k, sizeof(double));
    double *p = m->params;
    m->center = p;    p += d;
    m->scale = p;     p += d;
    m->cent = p;      p += k * d;
    m->cent_orig = p; p += k * d;
    m->cnorm = p;     p += k;
    m->size = (uint64_t *)p;
    for (size_t j = 0; j < d; j++)
        m->scale[j] = 1;
}

void km_init(struct km_model *m, int k, char *const *fields, const int *widths, int nfields,
             char *const *features, int d)
{
    CHECK(k >= 1 && d >= 1 && nfields >= 1);
    memset(m, 0, sizeof *m);
    m->k = k;
    m->d = d;
    m->nfields = nfields;
    m->silhouette = NAN;
    /* names: pointers, widths, then the text, in one allocation */
    size_t text = 0;
    for (int i = 0; i < nfields; i++)
        text += strlen(fields[i]) + 1;
    for (int j = 0; j < d; j++)
        text += strlen(features[j]) + 1;
    size_t ptrs = (size_t)(nfields + d) * sizeof(char *);
    size_t ints = (size_t)nfields * sizeof(int);
    size_t flags = (size_t)nfields * sizeof(bool);
    char *block = xmalloc(ptrs + ints + flags + text);
    m->fields = (char **)block;
    m->features = m->fields + nfields;
    m->field_width = (int *)(block + ptrs);
    m->logged = (bool *)(block + ptrs + ints);
    char *t = block + ptrs + ints + flags;
    for (int i = 0; i < nfields; i++) {
        m->logged[i] = false;
        m->field_width[i] = widths[i];
        m->fields[i] = strcpy(t, fields[i]);
        t += strlen(t) + 1;
    }
    for (int j = 0; j < d; j++) {
        m->features[j] = strcpy(t, features[j]);
        t += strlen(t) + 1;
    }
    carve(m);
}

void km_release(struct km_model *m)
{
    free(m->fields);
    free(m->params);
    free(m->table);
    memset(m, 0, sizeof *m);
}

void km_resize(struct km_model *m, int k)
{
    CHECK(k >= 1);
    size_t d = (size_t)m->d;
    double *old = m->params, *center = m->center, *scale = m->scale;
    m->k = k;
    carve(m);
    memcpy(m->center, center, d * sizeof *center);
    memcpy(m->scale, scale, d * sizeof *scale);
    free(old);
}

/* ---- threads ---------------------------------------------------------------- */

/* Work is cut into tasks whose boundaries depend only on the sizes (rows,
 * k, d), never on the number of threads; each task writes its own slots,
 * and partial sums are added in task order.  So any number of threads
 * gives the same bits. */
static int nthreads = 1;

void km_set_threads(int n) { nthreads = n < 1 ? 1 : n > KM_MAX_THREADS ? KM_MAX_THREADS : n; }
int km_threads(void) { return nthreads; }

typedef void task_fn(void *arg, size_t task, int worker);

struct par {
    task_fn *fn;
    void *arg;
    size_t ntasks;
    atomic_size_t next;
};

struct par_worker {
    struct par *q;
    int id;
};

static void par_run(struct par *q, int id)
{
    for (;;) {
        size_t t = atomic_fetch_add(&q->next, 1);
        if (t >= q->ntasks)
            return;
        q->fn(q->arg, t, id);
    }
}

static void *par_main(void *arg)
{
    struct par_worker *w = arg;
    par_run(w->q, w->id);
    return NULL;
}

/* fn(arg, t, worker) for every t in [0, ntasks); worker (below nthreads)
 * names the scratch space the task may use. */
static void par_for(size_t ntasks, task_fn *fn, void *arg)
{
    struct par q = {.fn = fn, .arg = arg, .ntasks = ntasks};
    atomic_init(&q.next, 0);
    int nt = (size_t)nthreads < ntasks ? nthreads : (int)ntasks;
    pthread_t th[KM_MAX_THREADS];
    struct par_worker w[KM_MAX_THREADS];
    int started = 1;
    for (; started < nt; started++) {
        w[started] = (struct par_worker){.q = &q, .id = started};
        if (pthread_create(&th[started], NULL, par_main, &w[started]) != 0)
            break;   /* fewer threads: the rest runs here */
    }
    par_run(&q, 0);
    for (int i = 1; i < started; i++)
        pthread_join(th[i], NULL);
}

/* Rows per task for a product of rows x d by d x cols: small enough that
 * OpenBLAS computes it on one thread (its threshold is 2^18 multiply-adds),
 * so our threads never queue for BLAS's. */
static size_t block_rows(int cols, int d)
{
    size_t nb = ((size_t)1 << 18) / ((size_t)cols * d);
    return nb < 64 ? 64 : nb > KM_BLOCK ? KM_BLOCK : nb;
}

static size_t ntasks_of(size_t n, size_t nb) { return (n + nb - 1) / nb; }

/* Features [j0, j1) of slice t of nslices. */
static void slice_of(size_t t, int nslices, int d, int *j0, int *j1)
{
    *j0 = (int)(t * d / nslices);
    *j1 = (int)((t + 1) * d / nslices);
}

/* ---- scaling ------------------------------------------------------------ */

void km_moments_init(struct km_moments *s, int d)
{
    s->d = d;
    s->count = 0;
    s->mean = xcalloc(2 * (size_t)d, sizeof(double));
    s->m2 = s->mean + d;
}

void km_moments_release(struct km_moments *s)
{
    free(s->mean);
    memset(s, 0, sizeof *s);
}

void km_moments_add(struct km_moments *s, const double *x)
{
    s->count += 1;
    double inv = 1 / s->count;
    for (int j = 0; j < s->d; j++) {
        double delta = x[j] - s->mean[j];
        s->mean[j] += delta * inv;
        s->m2[j] += delta * (x[j] - s->mean[j]);
    }
}

void km_moments_merge(struct km_moments *a, const struct km_moments *b)
{
    if (b->count == 0)
        return;
    double n = a->count + b->count;
    for (int j = 0; j < a->d; j++) {
        double delta = b->mean[j] - a->mean[j];
        a->mean[j] += delta * (b->count / n);
        a->m2[j] += b->m2[j] + delta * delta * (a->count * b->count / n);
    }
    a->count = n;
}

/* Column means and population variances of x[n][d], two passes per
 * feature slice, rows in order. */
struct colstat_job {
    const double *x;
    size_t n;
    int d, nslices;
    double *mean, *var;
};

static void colstat_task(void *arg, size_t t, int worker)
{
    (void)worker;
    struct colstat_job *jb = arg;
    int j0, j1, d = jb->d;
    slice_of(t, jb->nslices, d, &j0, &j1);
    for (int j = j0; j < j1; j++)
        jb->mean[j] = jb->var[j] = 0;
    for (size_t i = 0; i < jb->n; i++)
        for (int j = j0; j < j1; j++)
            jb->mean[j] += jb->x[i * d + j];
    for (int j = j0; j < j1; j++)
        jb->mean[j] /= (double)jb->n;
    for (size_t i = 0; i < jb->n; i++)
        for (int j = j0; j < j1; j++) {
            double t2 = jb->x[i * d + j] - jb->mean[j];
            jb->var[j] += t2 * t2;
        }
    for (int j = j0; j < j1; j++)
        jb->var[j] /= (double)jb->n;
}

static void column_stats(double *mean, double *var, const double *x, size_t n, int d)
{
    struct colstat_job jb = {.x = x, .n = n, .d = d, .mean = mean, .var = var};
    jb.nslices = d < nthreads ? d : nthreads;   /* any slicing gives the same bits */
    par_for((size_t)jb.nslices, colstat_task, &jb);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted v[n], interpolated linearly (numpy's default). */
static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * (pos - (double)lo);
}

struct robust_job {
    struct km_model *m;
    const double *x;
    size_t n;
    double *col;              /* [workers][n] */
};

static void robust_task(void *arg, size_t t, int worker)
{
    struct robust_job *jb = arg;
    int j = (int)t, d = jb->m->d;
    size_t n = jb->n;
    double *col = jb->col + (size_t)worker * n;
    for (size_t i = 0; i < n; i++)
        col[i] = jb->x[i * d + j];
    qsort(col, n, sizeof *col, cmp_double);
    double iqr = quantile(col, n, 0.75) - quantile(col, n, 0.25);
    jb->m->center[j] = quantile(col, n, 0.5);
    jb->m->scale[j] = iqr > 0 ? iqr : 1;
}

void km_scaling_fit(struct km_model *m, enum km_scaling how, const double *x, size_t n)
{
    int d = m->d;
    m->scaling = how;
    for (int j = 0; j < d; j++) {
        m->center[j] = 0;
        m->scale[j] = 1;
    }
    if (how == KM_NONE || n == 0)
        return;
    if (how == KM_STANDARD) {
        column_stats(m->center, m->scale, x, n, d);   /* scale gets the variance */
        for (int j = 0; j < d; j++) {
            double sd = sqrt(m->scale[j]);
            m->scale[j] = sd > 0 ? sd : 1;
        }
        return;
    }
    /* robust: each column copied and sorted, a column per task */
    struct robust_job jb = {.m = m, .x = x, .n = n};
    int nt = nthreads < d ? nthreads : d;
    jb.col = xreallocarray(NULL, (size_t)nt * n, sizeof *jb.col);
    par_for((size_t)d, robust_task, &jb);
    free(jb.col);
}

bool km_log_value(double v, double *out)
{
    if (!(v > -1))
        return false;
    *out = log1p(v);
    return true;
}

struct scale_job {
    const struct km_model *m;
    double *x;
    size_t n;
};

static void scale_task(void *arg, size_t t, int worker)
{
    (void)worker;
    struct scale_job *jb = arg;
    int d = jb->m->d;
    size_t i0 = t * KM_BLOCK, i1 = i0 + KM_BLOCK < jb->n ? i0 + KM_BLOCK : jb->n;
    for (size_t i = i0; i < i1; i++)
        for (int j = 0; j < d; j++)
            jb->x[i * d + j] = (jb->x[i * d + j] - jb->m->center[j]) / jb->m->scale[j];
}

void km_scale_rows(const struct km_model *m, double *x, size_t n)
{
    if (m->scaling == KM_NONE)
        return;   /* (x - 0) / 1 is x, bit for bit */
    struct scale_job jb = {.m = m, .x = x, .n = n};
    if (n <= KM_BLOCK)
        scale_task(&jb, 0, 0);
    else
        par_for(ntasks_of(n, KM_BLOCK), scale_task, &jb);
}

static double sqnorm(const double *x, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++)
        s += x[j] * x[j];
    return s;
}

void km_finish_centroids(struct km_model *m)
{
    int d = m->d;
    for (int c = 0; c < m->k; c++) {
        const double *src = m->cent + (size_t)c * d;
        double *dst = m->cent_orig + (size_t)c * d;
        for (int j = 0; j < d; j++)
            dst[j] = m->center[j] + m->scale[j] * src[j];
        m->cnorm[c] = sqnorm(src, d);
    }
}

/* ---- distances and assignment -------------------------------------------- */

double km_dist2(const double *a, const double *b, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++) {
        double t = a[j] - b[j];
        s += t * t;
    }
    return s;
}

int km_nearest(const double *x, int d, const double *cent, int k, double *dist)
{
    int best = 0;
    double bd = km_dist2(x, cent, d);
    for (int c = 1; c < k; c++) {
        double v = km_dist2(x, cent + (size_t)c * d, d);
        if (v < bd) {
            bd = v;
            best = c;
        }
    }
    *dist = bd;
    return best;
}

/* Rounding of the expansion ||x||^2 - 2 x.c + ||c||^2 is below a few
 * (d + 2) * eps * (||x||^2 + ||c||^2); twice that, with margin, is the
 * window inside which two centroids are compared exactly. */
static double tie_window(int d, double xx, double cmax)
{
    return 8.0 * (d + 4) * DBL_EPSILON * (xx + cmax);
}

/* One block of rows: g[nb][ldg] holds x.c from km_dots.  With moved, label
 * holds the previous labels and *moved counts the rows that change; with
 * sums ([k][d] then [k] counts), each row is added to its cluster's. */
static double assign_block(int *label, double *dist, size_t *moved, double *sums,
                           const double *x, const double *xnorm, size_t nb, int d,
                           const double *cent, const double *cnorm, int k, double cmax,
                           const double *g, size_t ldg)
{
    double sum = 0;
    for (size_t i = 0; i < nb; i++) {
        const double *xi = x + i * d, *gi = g + i * ldg;
        double xx = xnorm ? xnorm[i] : sqnorm(xi, d);
        int best = 0;
        double b1 = cnorm[0] - 2 * gi[0], b2 = INFINITY;
        for (int c = 1; c < k; c++) {
            double v = cnorm[c] - 2 * gi[c];
            if (v < b1) {
                b2 = b1;
                b1 = v;
                best = c;
            } else if (v < b2) {
                b2 = v;
            }
        }
        double e;
        double w = tie_window(d, xx, cmax);
        if (b2 - b1 <= w) {
            /* a near tie: exact differences decide, lowest number first */
            e = INFINITY;
            for (int c = 0; c < k; c++) {
                if (cnorm[c] - 2 * gi[c] > b1 + w)
                    continue;
                double v = km_dist2(xi, cent + (size_t)c * d, d);
                if (v < e) {
                    e = v;
                    best = c;
                }
            }
        } else {
            e = km_dist2(xi, cent + (size_t)best * d, d);
        }
        if (moved)
            *moved += label[i] != best;
        if (sums) {
            double *s = sums + (size_t)best * d;
            for (int j = 0; j < d; j++)
                s[j] += xi[j];
            sums[(size_t)k * d + best] += 1;
        }
        label[i] = best;
        dist[i] = e;
        sum += e;
    }
    return sum;
}

/* Rows per task of a pass over the data: a whole number of blocks, fixed
 * by the sizes alone.  A task holds its own partial sums (k x d for the
 * centroid sums), so tasks are large: the partials stay small beside the
 * rows. */
#define KM_TASK_ROWS 16384

static size_t task_rows(size_t nb)
{
    size_t g = KM_TASK_ROWS / nb;
    return (g ? g : 1) * nb;
}

struct assign_job {
    int *label;
    double *dist;
    const double *x, *xnorm, *cent, *packed, *cnorm;
    size_t n, nb, tr;         /* rows, rows per block, rows per task */
    int d, k;
    double cmax;
    bool count_moved;
    double *g;                /* [nthreads][nb][km_dots_stride(k)] */
    double *part;             /* [ntasks] inertia */
    size_t *moved;            /* [ntasks] */
    double *sums;             /* [ntasks][k * d + k], or NULL */
};

static void assign_task(void *arg, size_t t, int worker)
{
    struct assign_job *jb = arg;
    size_t i0 = t * jb->tr, i1 = jb->n - i0 < jb->tr ? jb->n : i0 + jb->tr;
    int d = jb->d, k = jb->k;
    double *g = jb->g + (size_t)worker * jb->nb * km_dots_stride(k), part = 0;
    size_t moved = 0, ns = (size_t)k * d + k;
    double *sums = jb->sums ? jb->sums + t * ns : NULL;
    if (sums)
        memset(sums, 0, ns * sizeof *sums);
    for (size_t b = i0; b < i1; b += jb->nb) {
        size_t nb = i1 - b < jb->nb ? i1 - b : jb->nb;
        size_t ldg = km_dots(g, jb->x + b * d, NULL, nb, d, jb->cent, jb->packed, k);
        part += assign_block(jb->label + b, jb->dist + b, jb->count_moved ? &moved : NULL, sums,
                             jb->x + b * d, jb->xnorm ? jb->xnorm + b : NULL, nb, d, jb->cent,
                             jb->cnorm, k, jb->cmax, g, ldg);
    }
    jb->part[t] = part;
    jb->moved[t] = moved;
}

/* km_assign, and with moved (label then holds the previous labels) the
 * number of rows that change cluster, and with sums[k][d] and counts[k]
 * each cluster's sum of rows and count: one pass over the rows, the task
 * partials added in task order. */
static double assign_pass(int *label, double *dist, size_t *moved, double *sums,
                          double *counts, const double *x, const double *xnorm, size_t n,
                          int d, const double *cent, const double *cnorm, int k)
{
    if (sums) {
        memset(sums, 0, (size_t)k * d * sizeof *sums);
        memset(counts, 0, (size_t)k * sizeof *counts);
    }
    if (moved)
        *moved = 0;
    if (n == 0)
        return 0;
    size_t nb = block_rows(k, d);
    struct assign_job jb = {.label = label, .dist = dist, .x = x, .xnorm = xnorm, .cent = cent,
                            .cnorm = cnorm, .n = n, .nb = nb, .tr = task_rows(nb), .d = d,
                            .k = k, .count_moved = moved != NULL};
    for (int c = 0; c < k; c++)
        jb.cmax = fmax(jb.cmax, cnorm[c]);
    size_t ntasks = ntasks_of(n, jb.tr), ns = (size_t)k * d + k;
    double *packed = xreallocarray(NULL, km_pack_size(k, d), sizeof *packed);
    km_pack(packed, cent, k, d);
    jb.packed = packed;
    jb.g = xreallocarray(NULL, (size_t)nthreads * nb * km_dots_stride(k), sizeof *jb.g);
    jb.part = xreallocarray(NULL, ntasks, sizeof *jb.part);
    jb.moved = xreallocarray(NULL, ntasks, sizeof *jb.moved);
    if (sums)
        jb.sums = xreallocarray(NULL, ntasks * ns, sizeof *jb.sums);
    par_for(ntasks, assign_task, &jb);
    double sum = 0;
    for (size_t t = 0; t < ntasks; t++) {
        sum += jb.part[t];
        if (moved)
            *moved += jb.moved[t];
        if (!sums)
            continue;
        const double *ps = jb.sums + t * ns;
        for (size_t e = 0; e < (size_t)k * d; e++)
            sums[e] += ps[e];
        for (int c = 0; c < k; c++)
            counts[c] += ps[(size_t)k * d + c];
    }
    free(packed);
    free(jb.g);
    free(jb.part);
    free(jb.moved);
    free(jb.sums);
    return sum;
}

double km_assign(int *label, double *dist, const double *x, const double *xnorm, size_t n,
                 int d, const double *cent, const double *cnorm, int k)
{
    return assign_pass(label, dist, NULL, NULL, NULL, x, xnorm, n, d, cent, cnorm, k);
}

/* ---- several ranks ---------------------------------------------------------- */

/* Under a job of several ranks (common/dist.h) each rank holds a block of
 * the rows; rows are numbered across the ranks in rank order, as one
 * process reading the ranks' files in order numbers them.  Sums that steer
 * a decision are gathered and added in rank order (dist_sum_ordered_f64),
 * so every rank takes the same decision; one rank is the plain fit. */

/* Global row g into out[d] and its norm into *norm on every rank: the
 * rank holding it broadcasts it. */
static void fetch_row(double *out, double *norm, const double *x, const double *xnorm, int d,
                      size_t g, const size_t *lo)
{
    int owner = 0;
    while (owner + 1 < dist_size() && g >= lo[owner + 1])
        owner++;
    if (owner == dist_rank()) {
        size_t i = g - lo[owner];
        memcpy(out, x + i * d, (size_t)d * sizeof *out);
        *norm = xnorm[i];
    }
    if (dist_size() > 1) {
        dist_bcast(out, (size_t)d * sizeof *out, owner);
        dist_bcast(norm, sizeof *norm, owner);
    }
}

/* ---- k-means++ ------------------------------------------------------------ */

/* Distances of every row to ncand candidate centroids, each capped by the
 * row's closest distance so far: out[n][ncand], with per-task sums.
 *
 * Most rows cannot get closer to a candidate: by the triangle inequality,
 * a row x whose nearest centroid so far is a, with candidate c at
 * ||a - c|| >= 2 ||x - a||, has ||x - c|| >= ||x - a||.  Such a (row,
 * candidate) keeps its distance without reading the row (the test allows
 * for the expansion's rounding of ||x - a||^2); only the rows with some
 * candidate left are multiplied.  The rule depends on the
 * data alone, so the result does not depend on the threads or the kernel;
 * it can differ from computing every pair only by rounding. */
struct cand_job {
    const double *x, *xnorm, *cand, *packed, *cnorm, *closest;
    const int *near;          /* [n] nearest centroid so far, or NULL: no pruning */
    const double *cdist;      /* [ncentroids][ncand] ||centroid - candidate||^2 */
    double xmax;              /* the largest ||x||^2: bounds every centroid's */
    size_t n, nb, tr;
    int d, ncand;
    double *out;              /* [n][ncand], written where computed */
    uint8_t *computed;        /* [n] with near: 1 where out was written */
    double *g;                /* [nthreads][nb][km_dots_stride(ncand)] */
    uint32_t *rows;           /* [nthreads][nb] the rows to multiply, offsets in the block */
    double *part;             /* [ntasks][ncand] */
};

#define KM_MAX_TRIALS 16      /* 2 + ln k for k up to KM_MAX_K */

static void cand_task(void *arg, size_t t, int worker)
{
    struct cand_job *jb = arg;
    size_t i0 = t * jb->tr, i1 = jb->n - i0 < jb->tr ? jb->n : i0 + jb->tr;
    int d = jb->d, nc = jb->ncand;
    double *g = jb->g + (size_t)worker * jb->nb * km_dots_stride(nc), *part = jb->part + t * nc;
    uint32_t *rows = jb->rows + (size_t)worker * jb->nb;
    double kept = 0, comp[KM_MAX_TRIALS] = {0};
    for (size_t b = i0; b < i1; b += jb->nb) {
        size_t nb = i1 - b < jb->nb ? i1 - b : jb->nb, ng = 0;
        /* which rows need a product (all of them without pruning); the
         * others keep their distance for every candidate, and out is not
         * written for them (computed[i] says which) */
        for (size_t i = 0; i < nb; i++) {
            if (!jb->near) {
                rows[ng++] = (uint32_t)i;
                continue;
            }
            double cl = jb->closest[b + i];
            double lim = 4 * (cl + tie_window(d, jb->xnorm[b + i], jb->xmax));
            const double *cd = jb->cdist + (size_t)jb->near[b + i] * nc;
            bool any = false;
            for (int c = 0; c < nc; c++)
                any |= cd[c] < lim;
            jb->computed[b + i] = any;
            if (any)
                rows[ng++] = (uint32_t)i;
            else
                kept += cl;
        }
        size_t ldg = km_dots(g, jb->x + b * d, jb->near ? rows : NULL, ng, d, jb->cand,
                             jb->packed, nc);
        for (size_t r = 0; r < ng; r++) {
            size_t i = b + rows[r];
            double xx = jb->xnorm[i], cl = jb->closest ? jb->closest[i] : INFINITY, lim = 0;
            const double *cd = NULL;
            if (jb->near) {
                lim = 4 * (cl + tie_window(d, xx, jb->xmax));
                cd = jb->cdist + (size_t)jb->near[i] * nc;
            }
            double *out = jb->out + i * nc;
            for (int c = 0; c < nc; c++) {
                double v = cl;
                if (!cd || cd[c] < lim) {
                    v = xx - 2 * g[r * ldg + c] + jb->cnorm[c];
                    v = v > 0 ? v : 0;   /* the expansion can round below zero */
                    v = v < cl ? v : cl;
                }
                out[c] = v;
                comp[c] += v;
            }
        }
    }
    /* the kept distances first, then the computed ones, in row order */
    for (int c = 0; c < nc; c++)
        part[c] = kept + comp[c];
}

/* pot[c]: the sum over rows of out[.][c], task partials added in order;
 * the partials stay in jb->part. */
static void cand_distances(struct cand_job *jb, double *pot)
{
    size_t ntasks = ntasks_of(jb->n, jb->tr);
    double *packed = xreallocarray(NULL, km_pack_size(jb->ncand, jb->d), sizeof *packed);
    km_pack(packed, jb->cand, jb->ncand, jb->d);
    jb->packed = packed;
    par_for(ntasks, cand_task, jb);
    jb->packed = NULL;
    free(packed);
    for (int c = 0; c < jb->ncand; c++) {
        pot[c] = 0;
        for (size_t t = 0; t < ntasks; t++)
            pot[c] += jb->part[t * jb->ncand + c];
    }
}

/* closest[i] = out[i][best] where computed, task by task; near[i] = c
 * where that is closer. */
struct keep_job {
    double *closest;
    int *near;
    const double *out;
    const uint8_t *computed;
    size_t n, tr;
    int ncand, best, c;
};

static void keep_task(void *arg, size_t t, int worker)
{
    (void)worker;
    struct keep_job *jb = arg;
    size_t i0 = t * jb->tr, i1 = jb->n - i0 < jb->tr ? jb->n : i0 + jb->tr;
    for (size_t i = i0; i < i1; i++) {
        if (!jb->computed[i])
            continue;
        double v = jb->out[i * jb->ncand + jb->best];
        if (v < jb->closest[i]) {
            jb->near[i] = jb->c;
            jb->closest[i] = v;
        }
    }
}

/* The rows where the running sum of closest first reaches each of the
 * draws rv[t] (t in order[], increasing): the task sums tsum[ntasks]
 * (tasks of tr rows) find the task, then its rows are added up. */
static void draw_rows(size_t *idx, const double *rv, const int *order, int ndraw,
                      const double *closest, size_t n, const double *tsum, size_t ntasks,
                      size_t tr)
{
    size_t t = 0;
    double base = 0;
    for (int a = 0; a < ndraw; a++) {
        double want = rv[order[a]];
        while (t < ntasks && base + tsum[t] < want) {
            base += tsum[t];
            t++;
        }
        size_t at = n - 1;
        double run = base;
        for (size_t i = t * tr; i < n; i++) {
            run += closest[i];
            if (run >= want) {
                at = i;
                break;
            }
        }
        idx[order[a]] = at;
    }
}

/* draw_rows over the ranks: draw a falls in the rank whose share of the
 * total (tot[P], in rank order) holds it; that rank finds its row, and
 * grow[a] gets its global number on every rank. */
static void draw_ranks(size_t *grow, const double *rv, const int *order, int ndraw,
                       const double *closest, size_t n, const double *tsum, size_t ntasks,
                       size_t tr, const double *tot, const size_t *lo)
{
    int P = dist_size(), me = dist_rank();
    double lrv[KM_MAX_TRIALS], base[KM_MAX_TRIALS];
    int owner[KM_MAX_TRIALS], lorder[KM_MAX_TRIALS], nl = 0;
    size_t lidx[KM_MAX_TRIALS];
    for (int t = 0; t < ndraw; t++) {
        /* the last rank with rows takes what rounding leaves past the end */
        double cum = 0;
        int o = -1;
        for (int r = 0; r < P; r++) {
            if (tot[r] > 0 && (o < 0 || rv[t] >= cum))
                o = r, base[t] = cum;
            cum += tot[r];
            if (rv[t] < cum && tot[r] > 0)
                break;
        }
        owner[t] = o < 0 ? 0 : o;
        if (o < 0)
            base[t] = 0;
    }
    for (int a = 0; a < ndraw; a++) {
        int t = order[a];
        if (owner[t] == me) {
            lrv[t] = rv[t] - base[t];
            lorder[nl++] = t;
        }
    }
    if (nl)
        draw_rows(lidx, lrv, lorder, nl, closest, n, tsum, ntasks, tr);
    double g[KM_MAX_TRIALS];
    for (int t = 0; t < ndraw; t++)
        g[t] = 0;
    for (int a = 0; a < nl; a++)
        g[lorder[a]] = (double)(lo[me] + lidx[lorder[a]]);
    dist_sum_ordered_f64(g, (size_t)ndraw, NULL);   /* exact: one rank's number plus zeros */
    for (int t = 0; t < ndraw; t++)
        grow[t] = (size_t)g[t];
}

/* Greedy k-means++ (Arthur and Vassilvitskii; the greedy variant as in
 * scikit-learn): each new centroid is the best of 2 + ln k candidates drawn
 * with probability proportional to the squared distance to the nearest
 * centroid so far, best meaning the lowest total of those distances after
 * adding it.  Under several ranks the draws and the candidates' totals
 * are over every rank's rows. */
void km_seed_plusplus(double *cent, const double *x, const double *xnorm, size_t n, int d,
                      int k, uint64_t seed)
{
    struct rng r;
    rng_init(&r, seed);
    int trials = 2 + (int)log((double)k);
    CHECK(trials <= KM_MAX_TRIALS);
    size_t nb = block_rows(trials, d), tr = task_rows(nb), ntasks = ntasks_of(n, tr);
    double *closest = xreallocarray(NULL, n, sizeof *closest);
    double *cand_d = xreallocarray(NULL, n * (size_t)trials, sizeof *cand_d);
    double *cand = xreallocarray(NULL, (size_t)trials * d, sizeof *cand);
    double *tsum = xreallocarray(NULL, ntasks, sizeof *tsum);
    double *cdist = xreallocarray(NULL, (size_t)k * trials, sizeof *cdist);
    int *near = xcalloc(n, sizeof *near);
    uint8_t *computed = xcalloc(n, sizeof *computed);
    double cnorm[trials], rv[trials], pot[trials];
    int kept_best = 0;
    size_t idx[trials];
    int order[trials];
    int P = dist_size();
    size_t *lo = dist_offsets(n);
    double *tot = xcalloc((size_t)P * trials, sizeof *tot);   /* [P][trials] */

    size_t first = rng_below(&r, lo[P]);
    double c0, total;
    fetch_row(cent, &c0, x, xnorm, d, first, lo);
    struct cand_job jb = {.x = x, .xnorm = xnorm, .cand = cent, .cnorm = &c0, .n = n,
                          .nb = nb, .tr = tr, .d = d, .ncand = 1, .out = closest};
    for (size_t i = 0; i < n; i++)
        jb.xmax = fmax(jb.xmax, xnorm[i]);
    jb.g = xreallocarray(NULL, (size_t)nthreads * nb * km_dots_stride(trials), sizeof *jb.g);
    jb.rows = xreallocarray(NULL, (size_t)nthreads * nb, sizeof *jb.rows);
    jb.part = xreallocarray(NULL, ntasks * (size_t)trials, sizeof *jb.part);
    cand_distances(&jb, &total);
    dist_sum_ordered_f64(&total, 1, tot);
    memcpy(tsum, jb.part, ntasks * sizeof *tsum);

    for (int c = 1; c < k; c++) {
        /* candidates: the rows where the running sum of closest first
         * reaches each uniform draw times the total (draws in increasing
         * order) */
        for (int t = 0; t < trials; t++) {
            rv[t] = rng_uniform(&r) * total;
            order[t] = t;
        }
        for (int a = 1; a < trials; a++)
            for (int b = a; b > 0 && rv[order[b]] < rv[order[b - 1]]; b--) {
                int tmp = order[b];
                order[b] = order[b - 1];
                order[b - 1] = tmp;
            }
        if (P == 1) {
            draw_rows(idx, rv, order, trials, closest, n, tsum, ntasks, tr);
        } else {
            double rt[P];   /* each rank's total: its column best of the last round */
            for (int q = 0; q < P; q++)
                rt[q] = tot[(size_t)q * (c == 1 ? 1 : trials) + (c == 1 ? 0 : kept_best)];
            draw_ranks(idx, rv, order, trials, closest, n, tsum, ntasks, tr, rt, lo);
        }
        for (int t = 0; t < trials; t++)
            fetch_row(cand + (size_t)t * d, &cnorm[t], x, xnorm, d, idx[t], lo);
        for (int a = 0; a < c; a++)
            for (int t = 0; t < trials; t++)
                cdist[(size_t)a * trials + t] = km_dist2(cent + (size_t)a * d,
                                                         cand + (size_t)t * d, d);
        jb.cand = cand;
        jb.cnorm = cnorm;
        jb.ncand = trials;
        jb.closest = closest;
        jb.near = near;
        jb.computed = computed;
        jb.cdist = cdist;
        jb.out = cand_d;
        cand_distances(&jb, pot);
        dist_sum_ordered_f64(pot, (size_t)trials, tot);
        int best = 0;
        for (int t = 1; t < trials; t++)
            if (pot[t] < pot[best])
                best = t;
        kept_best = best;
        total = pot[best];
        for (size_t t = 0; t < ntasks; t++)
            tsum[t] = jb.part[t * trials + best];
        struct keep_job kj = {.closest = closest, .near = near, .out = cand_d,
                              .computed = computed, .n = n, .tr = tr, .ncand = trials,
                              .best = best, .c = c};
        par_for(ntasks, keep_task, &kj);
        memcpy(cent + (size_t)c * d, cand + (size_t)best * d, (size_t)d * sizeof *cent);
    }
    free(closest);
    free(cand_d);
    free(cand);
    free(tsum);
    free(cdist);
    free(near);
    free(computed);
    free(jb.g);
    free(jb.rows);
    free(jb.part);
    free(tot);
    free(lo);
}

/* ---- Lloyd ---------------------------------------------------------------- */

/* Row norms, and per block the sums of x - x[0] and of its squares (the
 * shift by the first row keeps the variance accurate when the mean is far
 * from zero): one pass. */
struct norm_job {
    const double *x;
    double *xnorm;
    size_t n;
    int d;
    double *part;             /* [ntasks][2][d] */
};

static void norm_task(void *arg, size_t t, int worker)
{
    (void)worker;
    struct norm_job *jb = arg;
    int d = jb->d;
    size_t i0 = t * KM_BLOCK, i1 = i0 + KM_BLOCK < jb->n ? i0 + KM_BLOCK : jb->n;
    double *s1 = jb->part + t * 2 * d, *s2 = s1 + d;
    for (int j = 0; j < d; j++)
        s1[j] = s2[j] = 0;
    for (size_t i = i0; i < i1; i++) {
        const double *xi = jb->x + i * d;
        jb->xnorm[i] = sqnorm(xi, d);
        for (int j = 0; j < d; j++) {
            double v = xi[j] - jb->x[j];
            s1[j] += v;
            s2[j] += v * v;
        }
    }
}

void km_data_init(struct km_data *dt, const double *x, size_t n, int d)
{
    dt->x = x;
    dt->n = n;
    dt->d = d;
    dt->xnorm = xreallocarray(NULL, n ? n : 1, sizeof *dt->xnorm);
    dt->label = xreallocarray(NULL, n ? n : 1, sizeof *dt->label);
    dt->dist = xreallocarray(NULL, n ? n : 1, sizeof *dt->dist);
    dt->mean_var = 0;
    if (n == 0)
        return;
    size_t ntasks = ntasks_of(n, KM_BLOCK);
    struct norm_job nj = {.x = x, .xnorm = dt->xnorm, .n = n, .d = d};
    nj.part = xreallocarray(NULL, ntasks * 2 * (size_t)d, sizeof *nj.part);
    par_for(ntasks, norm_task, &nj);
    double v = 0;
    for (int j = 0; j < d; j++) {
        double s1 = 0, s2 = 0;
        for (size_t t = 0; t < ntasks; t++) {
            s1 += nj.part[t * 2 * d + j];
            s2 += nj.part[t * 2 * d + d + j];
        }
        double mean = s1 / (double)n, var = s2 / (double)n - mean * mean;
        v += var > 0 ? var : 0;
    }
    dt->mean_var = v / d;
    free(nj.part);
}

void km_data_release(struct km_data *dt)
{
    free(dt->xnorm);
    free(dt->label);
    free(dt->dist);
    memset(dt, 0, sizeof *dt);
}

/* Give each empty cluster the row farthest from its centroid, taken from a
 * cluster that keeps at least one row: the farthest of all ranks' rows,
 * the first in global order among equals (sums and counts are the global
 * ones).  One rank is the plain case: its farthest row, the first among
 * equals. */
static void reseed_empty(double *sums, double *counts, int *label, double *dist,
                         const double *x, size_t n, int d, int k)
{
    int P = dist_size(), me = dist_rank();
    double *best = NULL, *row = NULL;
    for (int c = 0; c < k; c++) {
        if (counts[c] > 0)
            continue;
        if (!best) {
            best = xreallocarray(NULL, (size_t)P, sizeof *best);
            row = xreallocarray(NULL, (size_t)d + 1, sizeof *row);
        }
        size_t far = n;
        for (size_t i = 0; i < n; i++)
            if (counts[label[i]] > 1 && (far == n || dist[i] > dist[far]))
                far = i;
        double mine = far == n ? -1 : dist[far];
        dist_sum_ordered_f64(&mine, 1, best);   /* best[r]: rank r's farthest, -1 for none */
        int owner = -1;
        for (int r = 0; r < P; r++)
            if (best[r] >= 0 && (owner < 0 || best[r] > best[owner]))
                owner = r;
        if (owner < 0)
            break;   /* fewer distinct rows than clusters */
        if (owner == me) {
            memcpy(row, x + far * d, (size_t)d * sizeof *row);
            row[d] = label[far];
            label[far] = c;
            dist[far] = 0;
        }
        dist_bcast(row, ((size_t)d + 1) * sizeof *row, owner);
        int from = (int)row[d];
        for (int j = 0; j < d; j++) {
            sums[(size_t)from * d + j] -= row[j];
            sums[(size_t)c * d + j] = row[j];
        }
        counts[from] -= 1;
        counts[c] = 1;
    }
    free(row);
    free(best);
}

/* The ranks' sums, counts, inertia and moved rows added up, on every
 * rank alike. */
static void combine_ranks(double *sums, double *counts, int k, int d, double *inertia,
                          size_t *moved)
{
    size_t kd = (size_t)k * d, m = kd + (size_t)k + 2;
    double *v = xreallocarray(NULL, m, sizeof *v);
    memcpy(v, sums, kd * sizeof *v);
    memcpy(v + kd, counts, (size_t)k * sizeof *v);
    v[m - 2] = *inertia;
    v[m - 1] = moved ? (double)*moved : 0;
    dist_sum_ordered_f64(v, m, NULL);
    memcpy(sums, v, kd * sizeof *v);
    memcpy(counts, v + kd, (size_t)k * sizeof *v);
    *inertia = v[m - 2];
    if (moved)
        *moved = (size_t)v[m - 1];
    free(v);
}

/* Lloyd iterations from the centroids in cent[k][d] until the labels stop
 * changing, the centroids move less than tol_abs (squared, summed), or
 * max_iter updates.  Each pass over the rows assigns them and adds up the
 * clusters' sums for the next update.  On return label, dist and the
 * returned inertia belong to the final cent. */
static double lloyd(double *cent, int k, struct km_data *dt, int max_iter, double tol_abs,
                    int *iters)
{
    size_t n = dt->n;
    int d = dt->d;
    double *sums = xcalloc((size_t)k * d + 2 * (size_t)k, sizeof *sums);
    double *counts = sums + (size_t)k * d, *cnorm = counts + k;
    for (int c = 0; c < k; c++)
        cnorm[c] = sqnorm(cent + (size_t)c * d, d);
    double inertia = assign_pass(dt->label, dt->dist, NULL, sums, counts, dt->x, dt->xnorm, n,
                                 d, cent, cnorm, k);
    bool ranks = dist_size() > 1;
    if (ranks)
        combine_ranks(sums, counts, k, d, &inertia, NULL);
    int it = 0;
    while (it < max_iter) {
        reseed_empty(sums, counts, dt->label, dt->dist, dt->x, n, d, k);
        double shift = 0;
        for (int c = 0; c < k; c++) {
            if (counts[c] == 0)
                continue;
            double *cc = cent + (size_t)c * d;
            for (int j = 0; j < d; j++) {
                double v = sums[(size_t)c * d + j] / counts[c];
                shift += (v - cc[j]) * (v - cc[j]);
                cc[j] = v;
            }
            cnorm[c] = sqnorm(cc, d);
        }
        it++;
        size_t moved;
        inertia = assign_pass(dt->label, dt->dist, &moved, sums, counts, dt->x, dt->xnorm, n, d,
                              cent, cnorm, k);
        if (ranks)
            combine_ranks(sums, counts, k, d, &inertia, &moved);
        if (moved == 0 || shift <= tol_abs)
            break;
    }
    free(sums);
    *iters = it;
    return inertia;
}

/* Cluster a comes before b: larger, or as large with smaller coordinates. */
static bool before(const struct km_model *m, int a, int b)
{
    if (m->size[a] != m->size[b])
        return m->size[a] > m->size[b];
    const double *ca = m->cent + (size_t)a * m->d, *cb = m->cent + (size_t)b * m->d;
    for (int j = 0; j < m->d; j++)
        if (ca[j] != cb[j])
            return ca[j] < cb[j];
    return false;
}

void km_renumber(struct km_model *m, int *label, size_t n, int *order_out)
{
    int k = m->k, d = m->d;
    int order[k], inv[k];
    for (int c = 0; c < k; c++)
        order[c] = c;
    /* insertion sort by size, equal sizes by their centroids' coordinates
     * (so the numbers do not depend on the order seeding found them) */
    for (int a = 1; a < k; a++)
        for (int b = a; b > 0 && before(m, order[b], order[b - 1]); b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    double *cent = xreallocarray(NULL, (size_t)k * d, sizeof *cent);
    uint64_t size[k];
    for (int c = 0; c < k; c++) {
        memcpy(cent + (size_t)c * d, m->cent + (size_t)order[c] * d, (size_t)d * sizeof *cent);
        size[c] = m->size[order[c]];
        inv[order[c]] = c;
    }
    memcpy(m->cent, cent, (size_t)k * d * sizeof *cent);
    memcpy(m->size, size, sizeof size);
    free(cent);
    for (size_t i = 0; i < n; i++)
        label[i] = inv[label[i]];
    if (order_out)
        memcpy(order_out, order, sizeof order);
}

static int nonempty_clusters(const struct km_model *m)
{
    int used = 0;
    for (int c = 0; c < m->k; c++)
        used += m->size[c] > 0;
    return used;
}

int km_fit(struct km_model *m, struct km_data *dt, const struct km_opts *o)
{
    int k = m->k, d = m->d;
    /* under several ranks, the rows of all (common/dist.h) */
    int64_t ntotal = (int64_t)dt->n;
    dist_sum_i64(&ntotal, 1);
    CHECK(ntotal >= k && dt->d == d);
    struct rng base;
    rng_init(&base, o->seed);
    double *cent = xreallocarray(NULL, (size_t)k * d, sizeof *cent);
    double best = INFINITY;
    int kept = -1;
    for (int run = 0; run < o->n_init; run++) {
        struct rng r;
        rng_split(&r, &base, (uint64_t)run);
        km_seed_plusplus(cent, dt->x, dt->xnorm, dt->n, d, k, rng_u64(&r));
        int iters;
        double inertia = lloyd(cent, k, dt, o->max_iter, o->tol * dt->mean_var, &iters);
        if (inertia < best) {
            best = inertia;
            kept = run;
            memcpy(m->cent, cent, (size_t)k * d * sizeof *cent);
            m->iterations = iters;
        }
    }
    free(cent);
    for (int c = 0; c < k; c++)
        m->cnorm[c] = sqnorm(m->cent + (size_t)c * d, d);
    /* the labels left are the last run's; another kept run's are computed
     * again (the same centroids give the same labels and inertia) */
    m->inertia = best;
    if (kept != o->n_init - 1) {
        m->inertia = km_assign(dt->label, dt->dist, dt->x, dt->xnorm, dt->n, d, m->cent,
                               m->cnorm, k);
        dist_sum_ordered_f64(&m->inertia, 1, NULL);
    }
    memset(m->size, 0, (size_t)k * sizeof *m->size);
    for (size_t i = 0; i < dt->n; i++)
        m->size[dt->label[i]]++;
    if (dist_size() > 1) {
        int64_t sz[k];
        for (int c = 0; c < k; c++)
            sz[c] = (int64_t)m->size[c];
        dist_sum_i64(sz, (size_t)k);
        for (int c = 0; c < k; c++)
            m->size[c] = (uint64_t)sz[c];
    }
    m->seed = o->seed;
    m->n = (uint64_t)ntotal;
    km_renumber(m, dt->label, dt->n, NULL);
    km_finish_centroids(m);
    return nonempty_clusters(m);
}

/* ---- mini-batch ------------------------------------------------------------ */

void km_minibatch_step(double *cent, double *counts, const double *x, size_t n, int d, int k,
                       int *label, double *dist)
{
    double *sums = xcalloc((size_t)k * d + 2 * (size_t)k, sizeof *sums);
    double *got = sums + (size_t)k * d, *cnorm = got + k;
    for (int c = 0; c < k; c++)
        cnorm[c] = sqnorm(cent + (size_t)c * d, d);
    assign_pass(label, dist, NULL, sums, got, x, NULL, n, d, cent, cnorm, k);
    for (int c = 0; c < k; c++) {
        if (got[c] == 0)
            continue;
        double old = counts[c];
        counts[c] += got[c];
        double *cc = cent + (size_t)c * d;
        for (int j = 0; j < d; j++)
            cc[j] = (cc[j] * old + sums[(size_t)c * d + j]) / counts[c];
    }
    free(sums);
}

/* ---- silhouette ------------------------------------------------------------ */

#define SIL_ROWS 8   /* sample rows per task */

struct sil_job {
    const double *x;
    size_t s;
    int d, nlab, kmax;
    int *const *labels;
    const int *ks;
    const double *cnt;        /* [nlab][kmax] sample rows per cluster */
    double *row, *sums;       /* [nthreads][s], [nthreads][kmax] */
    double *part;             /* [ntasks][nlab] */
};

static void sil_task(void *arg, size_t t, int worker)
{
    struct sil_job *jb = arg;
    size_t s = jb->s;
    int d = jb->d, kmax = jb->kmax;
    double *row = jb->row + (size_t)worker * s, *sums = jb->sums + (size_t)worker * kmax;
    double *part = jb->part + t * jb->nlab;
    for (int l = 0; l < jb->nlab; l++)
        part[l] = 0;
    size_t i1 = (t + 1) * SIL_ROWS < s ? (t + 1) * SIL_ROWS : s;
    for (size_t i = t * SIL_ROWS; i < i1; i++) {
        const double *xi = jb->x + i * d;
        for (size_t j = 0; j < s; j++)
            row[j] = sqrt(km_dist2(xi, jb->x + j * d, d));
        for (int l = 0; l < jb->nlab; l++) {
            const int *lab = jb->labels[l];
            const double *ct = jb->cnt + (size_t)l * kmax;
            int k = jb->ks[l], own = lab[i];
            memset(sums, 0, (size_t)k * sizeof *sums);
            for (size_t j = 0; j < s; j++)
                sums[lab[j]] += row[j];
            if (ct[own] <= 1)
                continue;   /* a singleton scores 0 */
            double a = sums[own] / (ct[own] - 1), b = INFINITY;
            for (int c = 0; c < k; c++)
                if (c != own && ct[c] > 0 && sums[c] / ct[c] < b)
                    b = sums[c] / ct[c];
            double den = fmax(a, b);
            if (isfinite(b) && den > 0)
                part[l] += (b - a) / den;
        }
    }
}

void km_silhouette(double *out, const double *x, size_t s, int d, int *const *labels,
                   const int *ks, int nlab)
{
    struct sil_job jb = {.x = x, .s = s, .d = d, .nlab = nlab, .labels = labels, .ks = ks};
    for (int l = 0; l < nlab; l++)
        jb.kmax = ks[l] > jb.kmax ? ks[l] : jb.kmax;
    double *cnt = xcalloc((size_t)nlab * jb.kmax, sizeof *cnt);
    for (int l = 0; l < nlab; l++)
        for (size_t i = 0; i < s; i++)
            cnt[(size_t)l * jb.kmax + labels[l][i]] += 1;
    jb.cnt = cnt;
    size_t ntasks = ntasks_of(s, SIL_ROWS);
    jb.row = xreallocarray(NULL, (size_t)nthreads * (s ? s : 1), sizeof *jb.row);
    jb.sums = xreallocarray(NULL, (size_t)nthreads * jb.kmax, sizeof *jb.sums);
    jb.part = xcalloc(ntasks ? ntasks * nlab : 1, sizeof *jb.part);
    par_for(ntasks, sil_task, &jb);
    for (int l = 0; l < nlab; l++) {
        double total = 0;
        for (size_t t = 0; t < ntasks; t++)
            total += jb.part[t * nlab + l];
        out[l] = s ? total / (double)s : NAN;
    }
    free(cnt);
    free(jb.row);
    free(jb.sums);
    free(jb.part);
}

/* ---- profile ---------------------------------------------------------------- */

void km_profile_init(struct km_profile *p, int k, int d)
{
    p->k = k;
    p->d = d;
    p->cl = xcalloc((size_t)k, sizeof *p->cl);
    for (int c = 0; c < k; c++)
        km_moments_init(&p->cl[c], d);
}

void km_profile_release(struct km_profile *p)
{
    for (int c = 0; c < p->k; c++)
        km_moments_release(&p->cl[c]);
    free(p->cl);
    memset(p, 0, sizeof *p);
}

void km_profile_add(struct km_profile *p, const double *x, const int *label, size_t n)
{
    for (size_t i = 0; i < n; i++)
        km_moments_add(&p->cl[label[i]], x + i * p->d);
}

#define KM_DISTINCT 3   /* features named as setting a segment apart */

/* The features of segment c in decreasing |z|, ties by feature order. */
static void top_features(int *top, int ntop, const double *z, int d)
{
    for (int t = 0; t < ntop; t++) {
        int best = -1;
        for (int j = 0; j < d; j++) {
            bool used = false;
            for (int u = 0; u < t; u++)
                used |= top[u] == j;
            /* differences below 1e-9 are rounding: the earlier feature wins */
            if (!used && (best < 0 || fabs(z[j]) > fabs(z[best]) + 1e-9))
                best = j;
        }
        top[t] = best;
    }
}

static void pack_metric(ws *w, const char *metric, double value)
{
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, 3);
    mp_pack_str(pk, "task");
    mp_pack_str(pk, "cluster");
    mp_pack_str(pk, "metric");
    mp_pack_str(pk, metric);
    mp_pack_str(pk, "value");
    msgpack_pack_double(pk, value);
    ws_end(w);
}

void km_profile_write(const struct km_profile *p, const struct km_model *m, ws *w, bool table)
{
    int k = p->k, d = p->d, ntop = d < KM_DISTINCT ? d : KM_DISTINCT;
    struct km_moments all;
    km_moments_init(&all, d);
    for (int c = 0; c < k; c++)
        km_moments_merge(&all, &p->cl[c]);
    double *sd = xcalloc((size_t)d + (size_t)k * d, sizeof *sd);   /* sd[d], z[k][d] */
    double *z = sd + d;
    int *top = xcalloc((size_t)k * ntop + (size_t)d, sizeof *top);  /* top[k][ntop], width[d] */
    int *width = top + (size_t)k * ntop;
    for (int j = 0; j < d; j++)
        sd[j] = all.count > 0 ? sqrt(all.m2[j] / all.count) : 0;
    /* standardised difference: scaling is affine per feature, so z is the
     * same in scaled and in original units */
    for (int c = 0; c < k; c++) {
        for (int j = 0; j < d; j++) {
            double diff = p->cl[c].mean[j] - all.mean[j];
            z[(size_t)c * d + j] = sd[j] > 0 && p->cl[c].count > 0 ? diff / sd[j] : 0;
        }
        top_features(top + (size_t)c * ntop, ntop, z + (size_t)c * d, d);
    }
    for (int c = 0; c < k && w; c++) {
        const struct km_moments *s = &p->cl[c];
        msgpack_packer *pk = ws_pk(w);
        char group[16];
        snprintf(group, sizeof group, "%d", c);
        msgpack_pack_map(pk, 9);
        mp_pack_str(pk, "task");
        mp_pack_str(pk, "cluster");
        mp_pack_str(pk, "metric");
        mp_pack_str(pk, "profile");
        mp_pack_str(pk, "group");
        mp_pack_str(pk, group);
        mp_pack_str(pk, "value");   /* every metrics record has one: the size */
        msgpack_pack_uint64(pk, (uint64_t)s->count);
        mp_pack_str(pk, "size");
        msgpack_pack_uint64(pk, (uint64_t)s->count);
        mp_pack_str(pk, "share");
        msgpack_pack_double(pk, all.count > 0 ? s->count / all.count : 0);
        mp_pack_str(pk, "means");
        msgpack_pack_map(pk, (uint32_t)d);
        for (int j = 0; j < d; j++) {
            mp_pack_str(pk, m->features[j]);
            if (s->count > 0)
                msgpack_pack_double(pk, m->center[j] + m->scale[j] * s->mean[j]);
            else
                msgpack_pack_nil(pk);
        }
        mp_pack_str(pk, "distinct");
        msgpack_pack_array(pk, (uint32_t)ntop);
        for (int t = 0; t < ntop; t++)
            mp_pack_str(pk, m->features[top[(size_t)c * ntop + t]]);
        mp_pack_str(pk, "z");
        msgpack_pack_map(pk, (uint32_t)d);
        for (int j = 0; j < d; j++) {
            mp_pack_str(pk, m->features[j]);
            msgpack_pack_double(pk, z[(size_t)c * d + j]);
        }
        ws_end(w);
    }
    if (w) {
        pack_metric(w, "inertia", m->inertia);
        if (isfinite(m->silhouette))
            pack_metric(w, "silhouette", m->silhouette);
    }
    if (table && !diag_quiet()) {
        /* Columns: segment, size, share, each feature's mean, then the
         * features that set the segment apart, signed by direction. */
        for (int j = 0; j < d; j++) {
            size_t len = strlen(m->features[j]);
            width[j] = len > 10 ? (int)len : 10;
        }
        fprintf(stderr, "%-7s  %9s  %6s", "segment", "size", "share");
        for (int j = 0; j < d; j++)
            fprintf(stderr, "  %*s", width[j], m->features[j]);
        fprintf(stderr, "  %s\n", "distinct (z)");
        for (int c = 0; c < k; c++) {
            const struct km_moments *s = &p->cl[c];
            fprintf(stderr, "%-7d  %9.0f  %5.1f%%", c, s->count,
                    all.count > 0 ? 100 * s->count / all.count : 0.0);
            for (int j = 0; j < d; j++)
                fprintf(stderr, "  %*.4g", width[j], m->center[j] + m->scale[j] * s->mean[j]);
            fprintf(stderr, " ");
            for (int t = 0; t < ntop; t++) {
                int j = top[(size_t)c * ntop + t];
                fprintf(stderr, " %s %+.2f", m->features[j], z[(size_t)c * d + j]);
            }
            fprintf(stderr, "\n");
        }
        fprintf(stderr, "%-7s  %9.0f  %5.1f%%", "overall", all.count, 100.0);
        for (int j = 0; j < d; j++)
            fprintf(stderr, "  %*.4g", width[j], m->center[j] + m->scale[j] * all.mean[j]);
        fprintf(stderr, "\n");
    }
    km_moments_release(&all);
    free(sd);
    free(top);
}

/* ---- the model record ---------------------------------------------------- */

static void pack_strs(msgpack_packer *pk, char *const *s, int n)
{
    msgpack_pack_array(pk, (uint32_t)n);
    for (int i = 0; i < n; i++)
        mp_pack_str(pk, s[i]);
}

static void pack_doubles(msgpack_packer *pk, const double *v, int n)
{
    msgpack_pack_array(pk, (uint32_t)n);
    for (int i = 0; i < n; i++)
        msgpack_pack_double(pk, v[i]);
}

static void pack_rows(msgpack_packer *pk, const double *v, int rows, int cols)
{
    msgpack_pack_array(pk, (uint32_t)rows);
    for (int r = 0; r < rows; r++)
        pack_doubles(pk, v + (size_t)r * cols, cols);
}

void km_save(const struct km_model *m, ws *w)
{
    msgpack_packer *pk = ws_pk(w);
    int nlog = 0;
    for (int i = 0; i < m->nfields; i++)
        nlog += m->logged[i];
    msgpack_pack_map(pk, 14 + (m->table != NULL) + (nlog > 0));
    mp_pack_str(pk, "k");
    msgpack_pack_int(pk, m->k);
    mp_pack_str(pk, "fields");
    pack_strs(pk, m->fields, m->nfields);
    mp_pack_str(pk, "widths");
    msgpack_pack_array(pk, (uint32_t)m->nfields);
    for (int i = 0; i < m->nfields; i++)
        msgpack_pack_int(pk, m->field_width[i]);
    if (nlog > 0) {   /* only then, so models without --log keep their bytes */
        mp_pack_str(pk, "log");
        msgpack_pack_array(pk, (uint32_t)nlog);
        for (int i = 0; i < m->nfields; i++)
            if (m->logged[i])
                mp_pack_str(pk, m->fields[i]);
    }
    mp_pack_str(pk, "features");
    pack_strs(pk, m->features, m->d);
    mp_pack_str(pk, "scaling");
    msgpack_pack_map(pk, 3);
    mp_pack_str(pk, "method");
    mp_pack_str(pk, km_scaling_names[m->scaling]);
    mp_pack_str(pk, "center");
    pack_doubles(pk, m->center, m->d);
    mp_pack_str(pk, "scale");
    pack_doubles(pk, m->scale, m->d);
    mp_pack_str(pk, "centroids");
    pack_rows(pk, m->cent, m->k, m->d);
    mp_pack_str(pk, "centroids_original");
    pack_rows(pk, m->cent_orig, m->k, m->d);
    mp_pack_str(pk, "sizes");
    msgpack_pack_array(pk, (uint32_t)m->k);
    for (int c = 0; c < m->k; c++)
        msgpack_pack_uint64(pk, m->size[c]);
    mp_pack_str(pk, "inertia");
    msgpack_pack_double(pk, m->inertia);
    mp_pack_str(pk, "silhouette");
    if (isfinite(m->silhouette))
        msgpack_pack_double(pk, m->silhouette);
    else
        msgpack_pack_nil(pk);
    mp_pack_str(pk, "iterations");
    msgpack_pack_int(pk, m->iterations);
    mp_pack_str(pk, "seed");
    msgpack_pack_uint64(pk, m->seed);
    mp_pack_str(pk, "n");
    msgpack_pack_uint64(pk, m->n);
    mp_pack_str(pk, "skipped");
    msgpack_pack_uint64(pk, m->skipped);
    if (m->table) {
        mp_pack_str(pk, "k_table");
        msgpack_pack_array(pk, (uint32_t)m->ntable);
        for (int t = 0; t < m->ntable; t++) {
            const struct km_krow *row = &m->table[t];
            msgpack_pack_map(pk, 4);
            mp_pack_str(pk, "k");
            msgpack_pack_int(pk, row->k);
            mp_pack_str(pk, "inertia");
            msgpack_pack_double(pk, row->inertia);
            mp_pack_str(pk, "silhouette");
            if (isfinite(row->silhouette))
                msgpack_pack_double(pk, row->silhouette);
            else
                msgpack_pack_nil(pk);
            mp_pack_str(pk, "iterations");
            msgpack_pack_int(pk, row->iterations);
        }
    }
    ws_end(w);
}

/* Readers of the model record: each dies naming the field. */

static const msgpack_object *need_field(rs *r, const msgpack_object *map, const char *key,
                                        msgpack_object_type type, const char *what)
{
    const msgpack_object *o = mp_map_get(map, key);
    if (!o)
        rs_die(r, "field \"%s\": missing", key);
    if (o->type != type)
        rs_die(r, "field \"%s\": expected %s, got %s", key, what, mp_type_name(o));
    return o;
}

static bool num_of(const msgpack_object *o, double *v)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return true;
    default: return false;
    }
}

static int64_t int_field(rs *r, const msgpack_object *map, const char *key, int64_t lo, int64_t hi)
{
    const msgpack_object *o = mp_map_get(map, key);
    if (!o)
        rs_die(r, "field \"%s\": missing", key);
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX)
        v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = o->via.i64;
    else
        rs_die(r, "field \"%s\": expected an integer, got %s", key, mp_type_name(o));
    if (v < lo || v > hi)
        rs_die(r, "field \"%s\": expected %lld to %lld, got %lld", key, (long long)lo,
               (long long)hi, (long long)v);
    return v;
}

/* n finite numbers from an array into out. */
static void doubles_of(rs *r, const msgpack_object *a, const char *key, double *out, int n)
{
    if (a->type != MSGPACK_OBJECT_ARRAY)
        rs_die(r, "field \"%s\": expected an array of %d numbers, got %s", key, n, mp_type_name(a));
    if (a->via.array.size != (uint32_t)n)
        rs_die(r, "field \"%s\": expected an array of %d numbers, got %u", key, n,
               a->via.array.size);
    for (int i = 0; i < n; i++)
        if (!num_of(&a->via.array.ptr[i], &out[i]) || !isfinite(out[i]))
            rs_die(r, "field \"%s\": element %d: expected a finite number", key, i);
}

/* An array of n non-empty strings, copied. */
static char **strings_of(rs *r, const msgpack_object *map, const char *key, int *n)
{
    const msgpack_object *a = need_field(r, map, key, MSGPACK_OBJECT_ARRAY, "an array of names");
    if (a->via.array.size == 0 || a->via.array.size > 100000)
        rs_die(r, "field \"%s\": expected 1 to 100000 names, got %u", key, a->via.array.size);
    *n = (int)a->via.array.size;
    char **s = xcalloc((size_t)*n, sizeof *s);
    for (int i = 0; i < *n; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0 ||
            memchr(e->via.str.ptr, 0, e->via.str.size))
            rs_die(r, "field \"%s\": element %d: expected a name", key, i);
        s[i] = xstrndup(e->via.str.ptr, e->via.str.size);
    }
    return s;
}

static void free_strings(char **s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

void km_load(struct km_model *m, rs *r)
{
    if (!rs_next(r))
        die("%s: the model has no record", rs_file(r));
    const msgpack_object *rec = rs_rec(r);
    int k = (int)int_field(r, rec, "k", 1, KM_MAX_K);
    int nfields, d;
    char **fields = strings_of(r, rec, "fields", &nfields);
    char **features = strings_of(r, rec, "features", &d);
    const msgpack_object *wa = need_field(r, rec, "widths", MSGPACK_OBJECT_ARRAY, "an array");
    if (wa->via.array.size != (uint32_t)nfields)
        rs_die(r, "field \"widths\": expected %d widths (one per field), got %u", nfields,
               wa->via.array.size);
    int *widths = xcalloc((size_t)nfields, sizeof *widths);
    int64_t total = 0;
    for (int i = 0; i < nfields; i++) {
        const msgpack_object *e = &wa->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 == 0 || e->via.u64 > 100000)
            rs_die(r, "field \"widths\": element %d: expected a positive integer", i);
        widths[i] = (int)e->via.u64;
        total += widths[i];
    }
    if (total != d)
        rs_die(r, "field \"widths\": the widths add up to %lld, but there are %d features",
               (long long)total, d);
    km_init(m, k, fields, widths, nfields, features, d);
    free(widths);
    free_strings(fields, nfields);
    free_strings(features, d);
    const msgpack_object *lg = mp_map_get(rec, "log");   /* absent: nothing logged */
    if (lg && lg->type != MSGPACK_OBJECT_ARRAY)
        rs_die(r, "field \"log\": expected an array of field names, got %s", mp_type_name(lg));
    for (uint32_t e = 0; lg && e < lg->via.array.size; e++) {
        int f = 0;
        while (f < nfields && !mp_str_eq(&lg->via.array.ptr[e], m->fields[f]))
            f++;
        if (f == nfields)
            rs_die(r, "field \"log\": element %u: expected one of the fields", e);
        m->logged[f] = true;
    }

    const msgpack_object *sc = need_field(r, rec, "scaling", MSGPACK_OBJECT_MAP, "a map");
    const msgpack_object *method = mp_map_get(sc, "method");
    int how = -1;
    for (int i = 0; i < 3 && method; i++)
        if (mp_str_eq(method, km_scaling_names[i]))
            how = i;
    if (how < 0)
        rs_die(r, "field \"scaling.method\": expected standard, robust or none");
    m->scaling = (enum km_scaling)how;
    const msgpack_object *center = mp_map_get(sc, "center"), *scale = mp_map_get(sc, "scale");
    if (!center || !scale)
        rs_die(r, "field \"scaling\": expected \"center\" and \"scale\"");
    doubles_of(r, center, "scaling.center", m->center, d);
    doubles_of(r, scale, "scaling.scale", m->scale, d);
    for (int j = 0; j < d; j++)
        if (!(m->scale[j] > 0))
            rs_die(r, "field \"scaling.scale\": element %d: expected a positive number", j);

    const msgpack_object *ca = need_field(r, rec, "centroids", MSGPACK_OBJECT_ARRAY,
                                          "an array of centroids");
    if (ca->via.array.size != (uint32_t)k)
        rs_die(r, "field \"centroids\": expected %d centroids, got %u", k, ca->via.array.size);
    for (int c = 0; c < k; c++)
        doubles_of(r, &ca->via.array.ptr[c], "centroids", m->cent + (size_t)c * d, d);
    const msgpack_object *sz = need_field(r, rec, "sizes", MSGPACK_OBJECT_ARRAY, "an array");
    if (sz->via.array.size != (uint32_t)k)
        rs_die(r, "field \"sizes\": expected %d sizes, got %u", k, sz->via.array.size);
    for (int c = 0; c < k; c++) {
        const msgpack_object *e = &sz->via.array.ptr[c];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            rs_die(r, "field \"sizes\": element %d: expected a count", c);
        m->size[c] = e->via.u64;
    }
    double v;
    const msgpack_object *o = mp_map_get(rec, "inertia");
    m->inertia = o && num_of(o, &v) ? v : NAN;
    o = mp_map_get(rec, "silhouette");
    m->silhouette = o && num_of(o, &v) ? v : NAN;
    m->iterations = (int)int_field(r, rec, "iterations", 0, INT32_MAX);
    m->seed = (uint64_t)int_field(r, rec, "seed", 0, INT64_MAX);
    m->n = (uint64_t)int_field(r, rec, "n", 0, INT64_MAX);
    /* centroids_original and k_table are for people; centroids decide */
    km_finish_centroids(m);
}
