/* dtree_bin: from a table to the binned training set.
 *
 * Numeric features get at most --bins bins cut at quantiles of a sample of
 * their values (every distinct value its own bin when there are few), each
 * bin edge halfway between the two values it separates; a value goes to
 * the first bin whose upper edge is >= it, so "bin <= b" in training is
 * "x <= edge[b]" for any later row.  Categorical features keep their most
 * frequent levels (all of them when they fit) and pool the rest in an
 * "other" bin.  Then the targets: classes, arms, outcomes and weights.
 *
 * Under several ranks (common/dist.h) each rank holds its block of the
 * rows, and everything decided here is decided on all of them, as one
 * process would on the concatenation: the quantile sample draws global row
 * numbers and the ranks' sampled values are gathered (at most BIN_SAMPLE
 * values a feature, as one process holds), categorical levels are
 * gathered in rank order and numbered in order of first sight, their
 * counts summed; classes and arms are the union of the ranks'. */
#include "dtree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dist.h"
#include "numfmt.h"
#include "rng.h"
#include "table.h"
#include "xalloc.h"

#define BIN_SAMPLE 200000   /* values the quantiles of a feature are taken from */

/* ---- sorting doubles (radix: the samples are large) ---------------------- */

static uint64_t sort_key(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return (u >> 63) ? ~u : u | (1ull << 63);
}

static double key_value(uint64_t k)
{
    uint64_t u = (k >> 63) ? k & ~(1ull << 63) : ~k;
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Sort v[0..n) ascending (no NaN); tmp holds n keys. */
static void sort_doubles(double *v, size_t n, uint64_t *tmp)
{
    uint64_t *a = (uint64_t *)v, *b = tmp;
    for (size_t i = 0; i < n; i++)
        a[i] = sort_key(v[i]);
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((a[i] >> shift) & 255) + 1]++;
        if (count[((a[0] >> shift) & 255) + 1] == n)
            continue;   /* this byte is the same everywhere */
        for (int c = 0; c < 256; c++)
            count[c + 1] += count[c];
        for (size_t i = 0; i < n; i++)
            b[count[(a[i] >> shift) & 255]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    if (a != (uint64_t *)v)
        memcpy(v, a, n * sizeof *a);
    uint64_t *k = (uint64_t *)v;
    for (size_t i = 0; i < n; i++)
        v[i] = key_value(k[i]);
}

/* Halfway between a < b, never equal to b. */
static double midpoint(double a, double b)
{
    double m = a / 2 + b / 2;
    return m >= a && m < b ? m : a;
}

/* Edges of at most bins bins over the sorted sample v[0..k); returns how many. */
static size_t quantile_edges(const double *v, size_t k, int bins, double *edges)
{
    size_t distinct = k > 0;
    for (size_t i = 1; i < k; i++)
        distinct += v[i] != v[i - 1];
    size_t ne = 0;
    if (distinct <= (size_t)bins) {
        for (size_t i = 1; i < k; i++)
            if (v[i] != v[i - 1])
                edges[ne++] = midpoint(v[i - 1], v[i]);
        return ne;
    }
    for (int q = 1; q < bins; q++) {
        size_t pos = (size_t)((double)q * (double)k / bins);
        while (pos < k && (pos == 0 || v[pos - 1] == v[pos]))
            pos++;
        if (pos >= k)
            break;
        double e = midpoint(v[pos - 1], v[pos]);
        if (ne == 0 || e > edges[ne - 1])
            edges[ne++] = e;
    }
    return ne;
}

/* The bin of x: how many edges are below it (a branchless lower bound). */
static inline uint8_t bin_of(const double *edges, size_t ne, double x)
{
    const double *b = edges;
    size_t n = ne;
    while (n > 1) {
        size_t half = n / 2;
        b += (size_t)(b[half - 1] < x) * half;   /* no branch to mispredict */
        n -= half;
    }
    return (uint8_t)((size_t)(b - edges) + (n == 1 && b[0] < x));
}

/* ---- several ranks -------------------------------------------------------- */

/* Every rank's rows n: their total, and this rank's first row's number. */
static void global_rows(size_t n, size_t *gn, size_t *glo)
{
    size_t *lo = dist_offsets(n);
    *gn = lo[dist_size()];
    *glo = lo[dist_rank()];
    free(lo);
}

/* Strings s[0..n) as (u32 length, bytes) records, gathered over the ranks
 * in rank order; *total bytes, each rank's in len[P] (caller frees both). */
static char *gather_strings(const char *const *s, const uint32_t *slen, size_t n, size_t **len,
                            size_t *total)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += 4 + slen[i];
    char *mine = xmalloc(bytes + 1), *o = mine;
    for (size_t i = 0; i < n; i++) {
        memcpy(o, &slen[i], 4);
        memcpy(o + 4, s[i], slen[i]);
        o += 4 + slen[i];
    }
    *len = xcalloc((size_t)dist_size(), sizeof **len);
    char *all = dist_gather_bytes(mine, bytes, *len, total);
    free(mine);
    return all;
}

/* The next gathered string at *pos: its bytes and length. */
static const char *next_string(const char *all, size_t *pos, uint32_t *n)
{
    memcpy(n, all + *pos, 4);
    const char *s = all + *pos + 4;
    *pos += 4 + *n;
    return s;
}

/* ---- features ----------------------------------------------------------- */

/* Quantile edges of numeric feature j from the sampled values v[0..k). */
static void numeric_feature(struct dt_data *d, double *v, size_t k, uint64_t *tmp, size_t j,
                            const struct dt_params *p)
{
    if (k)
        sort_doubles(v, k, tmp);
    d->edges[j] = xmalloc(DT_MAX_BINS * sizeof **d->edges);
    size_t ne = quantile_edges(v, k, p->bins, d->edges[j]);
    d->nbins[j] = (uint16_t)(ne + 1);
}

struct lc {
    uint32_t id;
    size_t count;
};

static int cmp_lc(const void *a, const void *b)
{
    const struct lc *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static void categorical_feature(struct dt_feature *f, struct dt_data *d, const struct tbl *t,
                                size_t col, size_t j, const struct dt_params *p)
{
    const struct strmap *lv = &t->cols[col].levels;
    size_t L = sm_count(lv), n = t->nrows, stride = t->ncols;
    struct lc *c = xcalloc(L + 1, sizeof *c);
    for (size_t l = 0; l < L; l++)
        c[l].id = (uint32_t)l;
    size_t keep = L;
    if (L > (size_t)p->bins - 1) {
        for (size_t i = 0; i < n; i++) {
            double x = t->x[i * stride + col];
            if (!isnan(x))
                c[(size_t)x].count++;
        }
        qsort(c, L, sizeof *c, cmp_lc);
        keep = (size_t)p->bins - 1;
        f->pooled = true;
    }
    sm_init(&f->levels);
    for (size_t l = 0; l < keep; l++)
        sm_intern(&f->levels, sm_key(lv, c[l].id), sm_len(lv, c[l].id));
    d->nbins[j] = (uint16_t)(keep + 1);
    free(c);
}

/* The same under several ranks: the ranks' levels gathered in rank order
 * and numbered in order of first sight (one process's table order), and
 * when they are too many, their counts summed over the ranks. */
static void categorical_feature_ranks(struct dt_feature *f, struct dt_data *d,
                                      const struct tbl *t, size_t col, size_t j,
                                      const struct dt_params *p)
{
    const struct strmap *lv = &t->cols[col].levels;
    size_t L = t->cols[col].type == TBL_CAT ? sm_count(lv) : 0, n = t->nrows;
    size_t stride = t->ncols;
    const char **key = xcalloc(L + 1, sizeof *key);
    uint32_t *klen = xcalloc(L + 1, sizeof *klen);
    for (size_t l = 0; l < L; l++) {
        key[l] = sm_key(lv, (uint32_t)l);
        klen[l] = sm_len(lv, (uint32_t)l);
    }
    size_t *len, total;
    char *all = gather_strings(key, klen, L, &len, &total);
    struct strmap g;
    sm_init(&g);
    uint32_t *loc = xcalloc(L + 1, sizeof *loc);   /* this rank's level id -> global */
    size_t pos = 0;
    for (int r = 0; r < dist_size(); r++) {
        size_t end = pos + len[r], l = 0;
        while (pos < end) {
            uint32_t kl;
            const char *k = next_string(all, &pos, &kl);
            uint32_t id = sm_intern(&g, k, kl);
            if (r == dist_rank())
                loc[l++] = id;
        }
    }
    size_t G = sm_count(&g), keep = G;
    struct lc *c = xcalloc(G + 1, sizeof *c);
    for (size_t l = 0; l < G; l++)
        c[l].id = (uint32_t)l;
    if (G > (size_t)p->bins - 1) {
        int64_t *cnt = xcalloc(G + 1, sizeof *cnt);
        for (size_t i = 0; i < n; i++) {
            double x = t->x[i * stride + col];
            if (!isnan(x))
                cnt[loc[(size_t)x]]++;
        }
        dist_sum_i64(cnt, G);
        for (size_t l = 0; l < G; l++)
            c[l].count = (size_t)cnt[l];
        free(cnt);
        qsort(c, G, sizeof *c, cmp_lc);
        keep = (size_t)p->bins - 1;
        f->pooled = true;
    }
    sm_init(&f->levels);
    for (size_t l = 0; l < keep; l++)
        sm_intern(&f->levels, sm_key(&g, c[l].id), sm_len(&g, c[l].id));
    d->nbins[j] = (uint16_t)(keep + 1);
    free(c);
    sm_release(&g);
    free(loc);
    free(all);
    free(len);
    free(key);
    free(klen);
}

void dt_features_from_tbl(struct dt_model *m, struct dt_data *d, const struct tbl *t,
                          const size_t *cols, size_t nfeat, const struct dt_params *p,
                          const char *where)
{
    size_t n = t->nrows, stride = t->ncols;
    m->nfeat = nfeat;
    m->feat = xcalloc(nfeat + 1, sizeof *m->feat);
    d->nfeat = nfeat;
    d->exact = p->exact;
    d->nbins = xcalloc(nfeat + 1, sizeof *d->nbins);
    d->edges = xcalloc(nfeat + 1, sizeof *d->edges);
    for (size_t j = 0; j < nfeat; j++) {
        const struct tbl_col *c = &t->cols[cols[j]];
        m->feat[j].name = xstrdup(c->name);
        m->feat[j].cat = c->type == TBL_CAT;
    }
    /* Missing values, in one pass over the rows. */
    for (size_t i = 0; i < n; i++) {
        const double *row = t->x + i * stride;
        for (size_t j = 0; j < nfeat; j++)
            if (isnan(row[cols[j]]))
                m->feat[j].had_missing = true;
    }
    if (dist_size() > 1) {
        int64_t *miss = xcalloc(nfeat + 1, sizeof *miss);
        for (size_t j = 0; j < nfeat; j++)
            miss[j] = m->feat[j].had_missing;
        dist_max_i64(miss, nfeat);
        for (size_t j = 0; j < nfeat; j++)
            m->feat[j].had_missing = miss[j] != 0;
        free(miss);
    }
    /* The rows the quantiles come from: all, or a sample drawn once for
     * every feature (the same rows, read row by row). */
    uint32_t *sample = NULL;
    size_t ns = n, gn, glo;
    global_rows(n, &gn, &glo);
    if (gn > BIN_SAMPLE) {
        /* global row numbers; a rank keeps the draws in its block */
        struct rng r;
        rng_init(&r, p->seed);
        rng_split(&r, &r, 0x62696e73u);   /* "bins" */
        sample = xmalloc(BIN_SAMPLE * sizeof *sample);
        ns = 0;
        for (size_t s = 0; s < BIN_SAMPLE; s++) {
            size_t g = (size_t)rng_below(&r, gn);
            if (g >= glo && g - glo < n)
                sample[ns++] = (uint32_t)(g - glo);
        }
    }
    size_t nnum = 0;
    for (size_t j = 0; j < nfeat; j++)
        nnum += !m->feat[j].cat;
    if (!p->exact && nnum) {
        /* The sampled values, one column per numeric feature. */
        double *v = xmalloc((ns ? ns : 1) * nnum * sizeof *v);
        size_t *k = xcalloc(nnum, sizeof *k);
        for (size_t s = 0; s < ns; s++) {
            const double *row = t->x + (sample ? sample[s] : s) * stride;
            for (size_t j = 0, q = 0; j < nfeat; j++) {
                if (m->feat[j].cat)
                    continue;
                double x = row[cols[j]];
                if (!isnan(x))
                    v[q * ns + k[q]++] = x;
                q++;
            }
        }
        uint64_t *tmp = xmalloc((ns ? ns : 1) * sizeof *tmp);
        for (size_t j = 0, q = 0; j < nfeat; j++)
            if (!m->feat[j].cat) {
                if (dist_size() > 1) {
                    /* every rank's sampled values (their order does not
                     * matter: they are sorted) */
                    size_t *len = xcalloc((size_t)dist_size(), sizeof *len), total;
                    char *all = dist_gather_bytes(v + q * ns, k[q] * sizeof *v, len, &total);
                    size_t kk = total / sizeof *v;
                    uint64_t *tk = xmalloc((kk ? kk : 1) * sizeof *tk);
                    numeric_feature(d, (double *)(void *)all, kk, tk, j, p);
                    free(tk);
                    free(all);
                    free(len);
                } else {
                    numeric_feature(d, v + q * ns, k[q], tmp, j, p);
                }
                q++;
            }
        free(tmp);
        free(k);
        free(v);
    }
    free(sample);
    for (size_t j = 0; j < nfeat; j++)
        if (m->feat[j].cat) {
            if (dist_size() > 1)
                categorical_feature_ranks(&m->feat[j], d, t, cols[j], j, p);
            else
                categorical_feature(&m->feat[j], d, t, cols[j], j, p);
        }
    dt_encode(m, d, t, cols, d, where);
}

/* How one column is encoded. */
struct enc {
    int kind;               /* 0 categorical (lut), 1 binned numeric, 2 exact, 3 all missing */
    uint8_t *lut;           /* table level id -> bin */
    size_t nlut;
    const double *edges;
    size_t ne;
};

void dt_encode(const struct dt_model *m, struct dt_data *d, const struct tbl *t,
               const size_t *cols, const struct dt_data *train, const char *where)
{
    size_t n = t->nrows, F = m->nfeat, stride = t->ncols;
    d->n = n;
    d->nfeat = F;
    d->exact = train->exact;
    d->code = xmalloc((n ? n : 1) * (F ? F : 1));
    if (d->exact)
        d->xnum = xcalloc((n ? n : 1) * (F ? F : 1), sizeof *d->xnum);
    struct enc *e = xcalloc(F + 1, sizeof *e);
    for (size_t j = 0; j < F; j++) {
        const struct dt_feature *f = &m->feat[j];
        const struct tbl_col *c = &t->cols[cols[j]];
        if (c->type != TBL_UNSET && (c->type == TBL_CAT) != f->cat)
            die("%s: field \"%s\": expected %s, as in the training data, got %s", where, f->name,
                f->cat ? "strings" : "numbers", f->cat ? "numbers" : "strings");
        if (c->type == TBL_UNSET) {
            e[j].kind = 3;
        } else if (f->cat) {
            /* The table's level ids -> our bins, by name. */
            e[j].kind = 0;
            e[j].nlut = sm_count(&c->levels);
            e[j].lut = xmalloc(e[j].nlut + 1);
            for (size_t l = 0; l < e[j].nlut; l++) {
                int64_t b = sm_find(&f->levels, sm_key(&c->levels, (uint32_t)l),
                                    sm_len(&c->levels, (uint32_t)l));
                e[j].lut[l] = (uint8_t)(b >= 0 ? b : dt_other_bin(f));
            }
        } else if (d->exact) {
            e[j].kind = 2;
        } else {
            e[j].kind = 1;
            e[j].edges = train->edges[j];
            e[j].ne = train->nbins[j] - 1u;
        }
    }
    /* Row by row: the table is row-major. */
    for (size_t i = 0; i < n; i++) {
        const double *row = t->x + i * stride;
        uint8_t *code = d->code + i * F;
        for (size_t j = 0; j < F; j++) {
            double v = row[cols[j]];
            switch (e[j].kind) {
            case 0: code[j] = isnan(v) ? DT_MISSING : e[j].lut[(size_t)v]; break;
            case 1: code[j] = isnan(v) ? DT_MISSING : bin_of(e[j].edges, e[j].ne, v); break;
            case 2: code[j] = 0; d->xnum[j * n + i] = v; break;
            default:
                code[j] = DT_MISSING;
                if (d->xnum)
                    d->xnum[j * n + i] = NAN;
            }
        }
    }
    for (size_t j = 0; j < F; j++)
        free(e[j].lut);
    free(e);
}

void dt_data_subset(struct dt_data *dst, const struct dt_data *src, const uint32_t *rows, size_t n)
{
    size_t F = src->nfeat, m = n ? n : 1;
    memset(dst, 0, sizeof *dst);
    dst->n = n;
    dst->nfeat = F;
    dst->exact = src->exact;
    dst->code = xmalloc(m * (F ? F : 1));
    for (size_t i = 0; i < n; i++)
        memcpy(dst->code + i * F, src->code + (size_t)rows[i] * F, F);
    if (src->xnum) {
        dst->xnum = xmalloc(m * (F ? F : 1) * sizeof *dst->xnum);
        for (size_t j = 0; j < F; j++)
            for (size_t i = 0; i < n; i++)
                dst->xnum[j * n + i] = src->xnum[j * src->n + rows[i]];
    }
#define COPY(field)                                                    \
    if (src->field) {                                                  \
        dst->field = xmalloc(m * sizeof *dst->field);                  \
        for (size_t i = 0; i < n; i++)                                 \
            dst->field[i] = src->field[rows[i]];                       \
    }
    COPY(cls)
    COPY(y)
    COPY(arm)
    COPY(strat)
    COPY(w)
#undef COPY
}

/* ---- targets ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct sref {
    const char *s;
    uint32_t len, id;
};

static int cmp_sref(const void *a, const void *b)
{
    const struct sref *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The distinct values of a column as sorted names (strings, or numbers
 * printed), with each row's index among them in ids[]. */
static char **distinct_names(const struct tbl *t, size_t col, size_t *count, double **values)
{
    const struct tbl_col *c = &t->cols[col];
    size_t n = t->nrows;
    char **names;
    if (c->type == TBL_CAT) {
        size_t L = sm_count(&c->levels);
        struct sref *r = xcalloc(L + 1, sizeof *r);
        for (size_t l = 0; l < L; l++)
            r[l] = (struct sref){sm_key(&c->levels, (uint32_t)l), sm_len(&c->levels, (uint32_t)l),
                                 (uint32_t)l};
        qsort(r, L, sizeof *r, cmp_sref);
        names = xcalloc(L + 1, sizeof *names);
        for (size_t l = 0; l < L; l++)
            names[l] = xstrndup(r[l].s, r[l].len);
        free(r);
        *count = L;
        *values = NULL;
        return names;
    }
    /* Few distinct values are expected (classes, arms): keep them sorted
     * as they come, and give up counting past MAX_DISTINCT. */
    enum { MAX_DISTINCT = 257 };
    double *v = xmalloc(MAX_DISTINCT * sizeof *v);
    size_t u = 0;
    for (size_t i = 0; i < n && u < MAX_DISTINCT; i++) {
        double x = t->x[i * t->ncols + col];
        if (isnan(x))
            continue;
        size_t lo = 0, hi = u;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (v[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < u && v[lo] == x)
            continue;
        memmove(v + lo + 1, v + lo, (u - lo) * sizeof *v);
        v[lo] = x;
        u++;
    }
    names = xcalloc(u + 1, sizeof *names);
    for (size_t i = 0; i < u; i++) {
        char buf[NUM_BUF];
        num_fmt_f64(buf, v[i]);
        names[i] = xstrdup(buf);
    }
    *count = u;
    *values = v;
    return names;
}

/* Several ranks: the union of every rank's distinct_names, in its order
 * (strings by their bytes, numbers by value); replaces names and values. */
static char **merge_names(char **names, size_t *count, double **values, bool numeric)
{
    if (dist_size() == 1)
        return names;
    size_t n = *count, *len, total, u = 0;
    if (numeric) {
        len = xcalloc((size_t)dist_size(), sizeof *len);
        char *all = dist_gather_bytes(*values, n * sizeof **values, len, &total);
        size_t k = total / sizeof **values;
        double *v = xmalloc((k ? k : 1) * sizeof *v);
        memcpy(v, all, k * sizeof *v);
        qsort(v, k, sizeof *v, cmp_double);
        for (size_t i = 0; i < k; i++)
            if (u == 0 || v[i] != v[u - 1])
                v[u++] = v[i];
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        free(*values);
        names = xcalloc(u + 1, sizeof *names);
        for (size_t i = 0; i < u; i++) {
            char buf[NUM_BUF];
            num_fmt_f64(buf, v[i]);
            names[i] = xstrdup(buf);
        }
        *values = v;
        free(all);
    } else {
        uint32_t *nl = xcalloc(n + 1, sizeof *nl);
        for (size_t i = 0; i < n; i++)
            nl[i] = (uint32_t)strlen(names[i]);
        char *all = gather_strings((const char *const *)names, nl, n, &len, &total);
        size_t k = 0;
        for (size_t pos = 0; pos < total; k++) {
            uint32_t kl;
            next_string(all, &pos, &kl);
        }
        struct sref *r = xcalloc(k + 1, sizeof *r);
        size_t pos = 0;
        for (size_t i = 0; i < k; i++)
            r[i].s = next_string(all, &pos, &r[i].len);
        qsort(r, k, sizeof *r, cmp_sref);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        names = xcalloc(k + 1, sizeof *names);
        for (size_t i = 0; i < k; i++)
            if (u == 0 || cmp_sref(&r[i], &r[i - 1]) != 0)
                names[u++] = xstrndup(r[i].s, r[i].len);
        free(r);
        free(nl);
        free(all);
    }
    free(len);
    *count = u;
    return names;
}

/* Index of the row's value among names (or values), -1 if absent. */
static long find_name(const struct tbl *t, size_t col, size_t i, char *const *names, size_t count,
                      const double *values, bool numeric)
{
    const struct tbl_col *c = &t->cols[col];
    double x = t->x[i * t->ncols + col];
    if (c->type == TBL_CAT) {
        if (numeric)
            return -1;
        const char *s = sm_key(&c->levels, (uint32_t)x);
        size_t len = sm_len(&c->levels, (uint32_t)x);
        size_t lo = 0, hi = count;
        while (lo < hi) {   /* names are sorted */
            size_t mid = (lo + hi) / 2;
            struct sref a = {names[mid], (uint32_t)strlen(names[mid]), 0};
            struct sref b = {s, (uint32_t)len, 0};
            int cmp = cmp_sref(&a, &b);
            if (cmp == 0)
                return (long)mid;
            if (cmp < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        return -1;
    }
    if (values) {
        const double *p = bsearch(&x, values, count, sizeof *values, cmp_double);
        return p ? (long)(p - values) : -1;
    }
    char buf[NUM_BUF];
    num_fmt_f64(buf, x);
    for (size_t k = 0; k < count; k++)
        if (strcmp(names[k], buf) == 0)
            return (long)k;
    return -1;
}

/* Per-row lookup tables keyed by a column's own level id, for speed. */
static long *row_index(const struct tbl *t, size_t col, char *const *names, size_t count,
                       const double *values, bool numeric, const char *what, const char *where)
{
    size_t n = t->nrows;
    long *idx = xmalloc((n ? n : 1) * sizeof *idx);
    const struct tbl_col *c = &t->cols[col];
    if (c->type == TBL_UNSET && n)
        die("%s: field \"%s\": no values", where, c->name);
    long *lut = NULL;
    if (c->type == TBL_CAT) {
        size_t L = sm_count(&c->levels);
        lut = xmalloc((L + 1) * sizeof *lut);
        for (size_t l = 0; l < L; l++)
            lut[l] = -2;
    }
    for (size_t i = 0; i < n; i++) {
        double x = t->x[i * t->ncols + col];
        if (isnan(x))
            die("%s: field \"%s\": missing in row %zu", where, c->name, i + 1);
        if (lut && lut[(size_t)x] != -2) {
            idx[i] = lut[(size_t)x];
        } else {
            idx[i] = find_name(t, col, i, names, count, values, numeric);
            if (lut)
                lut[(size_t)x] = idx[i];
        }
        if (idx[i] < 0) {
            char buf[NUM_BUF];
            const char *v = buf;
            if (c->type == TBL_CAT)
                v = xstrndup(sm_key(&c->levels, (uint32_t)x), sm_len(&c->levels, (uint32_t)x));
            else
                num_fmt_f64(buf, x);
            die("%s: field \"%s\": %s \"%s\" (row %zu) is not among the training data's",
                where, c->name,
                what, v, i + 1);
        }
    }
    free(lut);
    return idx;
}

static void numeric_target(const struct tbl *t, size_t col, double *y, const char *why,
                           const char *where)
{
    const struct tbl_col *c = &t->cols[col];
    if (c->type == TBL_CAT)
        die("%s: field \"%s\": expected numbers %s, got strings", where, c->name, why);
    for (size_t i = 0; i < t->nrows; i++) {
        y[i] = t->x[i * t->ncols + col];
        if (!isfinite(y[i]))
            die("%s: field \"%s\": missing in row %zu", where, c->name, i + 1);
    }
}

/* Uplift with --stratum: each row's stratum (the sorted distinct values of
 * the column, the same on every rank).  Fitting only: a model's values
 * are the strata's combined estimates, so applying it needs no strata. */
static void strata(struct dt_model *m, struct dt_data *d, const struct tbl *t, size_t col,
                   const char *where)
{
    double *values;
    size_t count;
    bool numeric = t->cols[col].type != TBL_CAT;
    char **names = distinct_names(t, col, &count, &values);
    names = merge_names(names, &count, &values, numeric);
    if (count > DT_MAX_STRATA)
        die("%s: field \"%s\": more than %d strata", where, t->cols[col].name, DT_MAX_STRATA);
    long *idx = row_index(t, col, names, count, values, numeric, "stratum", where);
    size_t n = t->nrows;
    d->strat = xmalloc((n ? n : 1) * sizeof *d->strat);
    for (size_t i = 0; i < n; i++)
        d->strat[i] = (uint16_t)idx[i];
    m->nstrata = count ? count : 1;
    free(idx);
    for (size_t k = 0; k < count; k++)
        free(names[k]);
    free(names);
    free(values);
}

void dt_targets(struct dt_model *m, struct dt_data *d, const struct tbl *t,
                const struct dt_target_spec *s, bool training)
{
    size_t n = t->nrows;
    const char *where = s->where ? s->where : "input";
    if (m->task == DT_CLASSIFY) {
        size_t col = (size_t)s->label;
        if (training) {
            double *values;
            m->class_names = distinct_names(t, col, &m->nclass, &values);
            m->class_numeric = t->cols[col].type != TBL_CAT;
            m->class_names = merge_names(m->class_names, &m->nclass, &values, m->class_numeric);
            m->class_values = values;
            if (m->nclass > 256)
                die("%s: label \"%s\": more than 256 classes (a numeric label can be "
                    "learnt with --task regression)", where, t->cols[col].name);
            if (m->nclass == 0)
                die("%s: label \"%s\": no values", where, t->cols[col].name);
        }
        long *idx = row_index(t, col, m->class_names, m->nclass, m->class_values,
                              m->class_numeric, "class", where);
        d->cls = xmalloc((n ? n : 1) * sizeof *d->cls);
        for (size_t i = 0; i < n; i++)
            d->cls[i] = (uint32_t)idx[i];
        free(idx);
    } else if (m->task == DT_REGRESS) {
        d->y = xmalloc((n ? n : 1) * sizeof *d->y);
        numeric_target(t, (size_t)s->label, d->y, "for a regression tree", where);
    } else {
        size_t col = (size_t)s->treatment;
        if (training) {
            double *values;
            size_t count;
            char **names = distinct_names(t, col, &count, &values);
            names = merge_names(names, &count, &values, t->cols[col].type != TBL_CAT);
            free(values);
            long control = -1;
            for (size_t k = 0; k < count; k++)
                if (strcmp(names[k], s->control) == 0)
                    control = (long)k;
            if (control < 0)
                die("%s: field \"%s\": no rows with the control value \"%s\" (see --control)",
                    where,
                    t->cols[col].name, s->control);
            if (count < 2)
                die("%s: field \"%s\": no rows with an offer, only the control \"%s\"", where,
                    t->cols[col].name, s->control);
            if (count > 64)
                die("%s: field \"%s\": more than 64 arms", where, t->cols[col].name);
            /* Arm 0 is the control, then the offers in sorted order. */
            m->narm = count;
            m->arm_names = xcalloc(count + 1, sizeof *m->arm_names);
            m->arm_names[0] = names[control];
            for (size_t k = 0, a = 1; k < count; k++)
                if ((long)k != control)
                    m->arm_names[a++] = names[k];
            free(names);
        }
        /* Arm names are not sorted (the control comes first): look up by name. */
        d->arm = xmalloc((n ? n : 1) * sizeof *d->arm);
        const struct tbl_col *c = &t->cols[col];
        for (size_t i = 0; i < n; i++) {
            double x = t->x[i * t->ncols + col];
            if (isnan(x))
                die("%s: field \"%s\": missing in row %zu", where, c->name, i + 1);
            char buf[NUM_BUF];
            const char *v = buf;
            size_t len;
            if (c->type == TBL_CAT) {
                v = sm_key(&c->levels, (uint32_t)x);
                len = sm_len(&c->levels, (uint32_t)x);
            } else {
                len = (size_t)num_fmt_f64(buf, x);
            }
            size_t a = 0;
            while (a < m->narm && !(strlen(m->arm_names[a]) == len &&
                                    memcmp(m->arm_names[a], v, len) == 0))
                a++;
            if (a == m->narm)
                die("%s: field \"%s\": arm \"%.*s\" (row %zu) is not among the training data's",
                    where,
                    c->name, (int)len, v, i + 1);
            d->arm[i] = (uint16_t)a;
        }
        d->y = xmalloc((n ? n : 1) * sizeof *d->y);
        numeric_target(t, (size_t)s->outcome, d->y, "as the outcome", where);
        if (training) {
            int64_t other = 0;   /* values other than 0 and 1, on any rank */
            for (size_t i = 0; i < n; i++)
                if (d->y[i] != 0 && d->y[i] != 1)
                    other = 1;
            dist_max_i64(&other, 1);
            m->binary_outcome = !other;
        }
        if (training && s->stratum >= 0)
            strata(m, d, t, (size_t)s->stratum, where);
    }
    if (s->weight >= 0) {
        d->w = xmalloc((n ? n : 1) * sizeof *d->w);
        numeric_target(t, (size_t)s->weight, d->w, "as weights", where);
        for (size_t i = 0; i < n; i++)
            if (d->w[i] < 0)
                die("%s: field \"%s\": a negative weight in row %zu", where,
                    t->cols[s->weight].name, i + 1);
    }
    if (training && s->balanced && m->task == DT_CLASSIFY) {
        /* every rank's class counts, and rows last */
        int64_t *cc = xcalloc(m->nclass + 1, sizeof *cc);
        for (size_t i = 0; i < n; i++)
            cc[d->cls[i]]++;
        cc[m->nclass] = (int64_t)n;
        dist_sum_i64(cc, m->nclass + 1);
        double *cw = xcalloc(m->nclass, sizeof *cw);
        for (size_t k = 0; k < m->nclass; k++)
            cw[k] = cc[k] > 0 ? (double)cc[m->nclass] / ((double)m->nclass * (double)cc[k]) : 0;
        free(cc);
        if (!d->w) {
            d->w = xmalloc((n ? n : 1) * sizeof *d->w);
            for (size_t i = 0; i < n; i++)
                d->w[i] = 1;
        }
        for (size_t i = 0; i < n; i++)
            d->w[i] *= cw[d->cls[i]];
        free(cw);
    }
}
