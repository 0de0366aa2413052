/* promo-evaluate: measure scored streams and campaigns; write every figure
 * as a metrics stream, a table, JSON and a self-contained HTML report.
 *
 * It reads fields by name and depends on no model.  Each task keeps only
 * what its metrics need (docs/promo-evaluate.md says how much per row);
 * all figures go into one list (metricstream.h), and every output is drawn
 * from that list after the input was read whole, so bad input writes
 * nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "metrics.h"
#include "metricstream.h"
#include "outfile.h"
#include "progress.h"
#include "rec.h"
#include "report_html.h"
#include "rng.h"
#include "stream.h"
#include "xalloc.h"

static const char help[] =
"promo-evaluate: metrics of scored streams and campaign effects, as a table, a stream, JSON or HTML\n"
"\n"
"Usage: promo-evaluate --task T [OPTIONS] [FILE...]\n"
"\n"
"Tasks and their fields:\n"
"  classify   --label F --score F [--threshold X]\n"
"  rank       --truth FILE [--user F --items F --item F --k K,... --sampled N]\n"
"  regress    --label F --score F\n"
"  cluster    --fields A,B,... --segment F [--sample N]\n"
"  uplift     --treatment F --outcome F --score F [--control V --top P,...]\n"
"  effect     --arm F --outcome F [--revenue F --cost C --margin M --control V]\n"
"  ols        --y F --x A,B,... [--by F --predict A=V,... --no-intercept]\n"
"  report     FILEs are metrics streams: show, compare or draw them\n"
"\n"
"Options:\n"
"  --task T            classify, rank, regress, cluster, uplift, effect, ols or report\n"
"  --label F           the 0/1 (classify) or numeric (regress) truth field\n"
"  --score F           the score or prediction field\n"
"  --threshold X       classify: predicted positive when score >= X  [default: 0.5]\n"
"  --truth FILE        rank: the holdout stream (user, item records)\n"
"  --user F            rank: the user field of both streams  [default: user]\n"
"  --items F           rank: the array of recommended items  [default: items]\n"
"  --item F            rank: the item field of the holdout  [default: item]\n"
"  --k K,...           rank: cut-offs  [default: 10]\n"
"  --sampled N         rank: also the sampled protocol, N negatives per held-out item\n"
"  --popularity FILE   rank: count item popularity here (item records)  [default: the holdout]\n"
"  --catalog-size N    rank: the catalogue size for coverage  [default: items seen]\n"
"  --fields A,B,...    cluster: the feature fields\n"
"  --segment F         cluster: the segment field\n"
"  --sample N          cluster: rows the silhouette is computed on  [default: 5000]\n"
"  --treatment F       uplift: the arm field\n"
"  --outcome F         uplift, effect: the outcome field (0/1 or a number)\n"
"  --control V         uplift, effect: the control arm's value  [default: control]\n"
"  --top P,...         uplift: percentages for uplift at the top  [default: 10,20,30]\n"
"  --arm F             effect: the arm field\n"
"  --revenue F         effect: the revenue field\n"
"  --cost C            effect: cost per treated user, or ARM=C,...  [default: 0]\n"
"  --margin M          effect: share of revenue that is profit  [default: 1]\n"
"  --y F               ols: the outcome field\n"
"  --x A,B,...         ols: the regressor fields (numbers or booleans)\n"
"  --by F              ols: one fit per value of F\n"
"  --predict A=V,...   ols: the prediction at these regressor values\n"
"  --no-intercept      ols: fit without an intercept\n"
"  --skip-missing      skip (and count) records with a needed field missing\n"
"  --conf L            confidence level of the intervals  [default: 0.95]\n"
"  --json              print JSON on stdout instead of the table\n"
"  --html FILE         write a self-contained HTML report\n"
"  --history A,B,...   metrics streams of earlier cycles, oldest first (for --html)\n"
"  --compare OLD       show the change of every metric against OLD (a metrics stream)\n"
"  --fail-on-regression M=TOL,...\n"
"                      exit 1 when a metric is worse than in OLD by more than TOL\n"
"  --seed N            seed of the samples  [default: 0]\n"
"  -o, --output FILE   write the metrics stream to FILE  [default: none]\n"
"  --level N           gzip level of the stream, 0 for none  [default: 1]\n"
"  -q, --quiet         print nothing but errors\n"
"  --progress          report progress on stderr\n"
"  --help              show this help\n"
"  --version           show the version\n"
"\n"
"The table goes to stdout on a terminal, and off a terminal unless -o or --html\n"
"is given; -o - puts the stream on stdout instead.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-evaluate --task classify --label bought --score p --html report.html scores.mpz\n";

enum task { T_CLASSIFY, T_RANK, T_REGRESS, T_CLUSTER, T_UPLIFT, T_EFFECT, T_OLS, T_REPORT, T_N };
static const char *const task_names[T_N] = {"classify", "rank", "regress", "cluster",
                                            "uplift", "effect", "ols", "report"};
#define TM(t) (1u << (t))

enum {
    O_TASK = CLI_FIRST_FREE, O_LABEL, O_SCORE, O_THRESHOLD, O_TRUTH, O_USER, O_ITEMS, O_ITEM,
    O_K, O_SAMPLED, O_POPULARITY, O_CATALOG, O_FIELDS, O_SEGMENT, O_SAMPLE, O_TREATMENT,
    O_OUTCOME, O_CONTROL, O_TOP, O_ARM, O_REVENUE, O_COST, O_MARGIN, O_Y, O_X, O_BY, O_PREDICT,
    O_NOINTERCEPT, O_SKIP, O_CONF, O_JSON, O_HTML, O_HISTORY, O_COMPARE, O_FAIL, O_END
};

/* Which tasks take each task option (0: every task). */
static const unsigned opt_tasks[O_END - O_TASK] = {
    [O_LABEL - O_TASK] = TM(T_CLASSIFY) | TM(T_REGRESS),
    [O_SCORE - O_TASK] = TM(T_CLASSIFY) | TM(T_REGRESS) | TM(T_UPLIFT),
    [O_THRESHOLD - O_TASK] = TM(T_CLASSIFY),
    [O_TRUTH - O_TASK] = TM(T_RANK), [O_USER - O_TASK] = TM(T_RANK),
    [O_ITEMS - O_TASK] = TM(T_RANK), [O_ITEM - O_TASK] = TM(T_RANK),
    [O_K - O_TASK] = TM(T_RANK), [O_SAMPLED - O_TASK] = TM(T_RANK),
    [O_POPULARITY - O_TASK] = TM(T_RANK), [O_CATALOG - O_TASK] = TM(T_RANK),
    [O_FIELDS - O_TASK] = TM(T_CLUSTER), [O_SEGMENT - O_TASK] = TM(T_CLUSTER),
    [O_SAMPLE - O_TASK] = TM(T_CLUSTER),
    [O_TREATMENT - O_TASK] = TM(T_UPLIFT), [O_OUTCOME - O_TASK] = TM(T_UPLIFT) | TM(T_EFFECT),
    [O_CONTROL - O_TASK] = TM(T_UPLIFT) | TM(T_EFFECT), [O_TOP - O_TASK] = TM(T_UPLIFT),
    [O_ARM - O_TASK] = TM(T_EFFECT), [O_REVENUE - O_TASK] = TM(T_EFFECT),
    [O_COST - O_TASK] = TM(T_EFFECT), [O_MARGIN - O_TASK] = TM(T_EFFECT),
    [O_Y - O_TASK] = TM(T_OLS), [O_X - O_TASK] = TM(T_OLS), [O_BY - O_TASK] = TM(T_OLS),
    [O_PREDICT - O_TASK] = TM(T_OLS), [O_NOINTERCEPT - O_TASK] = TM(T_OLS),
    [O_SKIP - O_TASK] = ~TM(T_REPORT) & (TM(T_N) - 1),
    [O_CONF - O_TASK] = TM(T_EFFECT) | TM(T_OLS),
};

/* ---- interned strings: ids of users, items, segments, arms --------------- */

/* An open-addressing hash table of byte strings to dense indices 0, 1, ...
 * The strings live in one growing arena. */
struct strtab {
    uint32_t *slot;           /* index + 1, 0 empty */
    size_t nslot;
    size_t *off;              /* [n] offsets into arena */
    uint32_t *len;
    size_t n, capn;
    char *arena;
    size_t used, capa;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static const char *st_str(const struct strtab *t, uint32_t i) { return t->arena + t->off[i]; }

static void st_release(struct strtab *t)
{
    free(t->slot);
    free(t->off);
    free(t->len);
    free(t->arena);
    memset(t, 0, sizeof *t);
}

static bool st_eq(const struct strtab *t, uint32_t i, const char *s, size_t n)
{
    return t->len[i] == n && memcmp(t->arena + t->off[i], s, n) == 0;
}

/* The index of s, or -1. */
static int64_t st_find(const struct strtab *t, const char *s, size_t n)
{
    if (!t->nslot)
        return -1;
    for (size_t h = hash_bytes(s, n) & (t->nslot - 1);; h = (h + 1) & (t->nslot - 1)) {
        uint32_t v = t->slot[h];
        if (!v)
            return -1;
        if (st_eq(t, v - 1, s, n))
            return v - 1;
    }
}

static void st_rehash(struct strtab *t)
{
    size_t ns = t->nslot ? t->nslot * 2 : 1024;
    free(t->slot);
    t->slot = xcalloc(ns, sizeof *t->slot);
    t->nslot = ns;
    for (uint32_t i = 0; i < t->n; i++) {
        size_t h = hash_bytes(st_str(t, i), t->len[i]) & (ns - 1);
        while (t->slot[h])
            h = (h + 1) & (ns - 1);
        t->slot[h] = i + 1;
    }
}

static uint32_t st_intern(struct strtab *t, const char *s, size_t n)
{
    int64_t f = st_find(t, s, n);
    if (f >= 0)
        return (uint32_t)f;
    if (t->n >= UINT32_MAX - 1)
        die("more than %u distinct ids", UINT32_MAX - 1);
    if (2 * (t->n + 1) > t->nslot)
        st_rehash(t);
    XGROW(t->off, t->capn, t->n + 1);
    size_t c = t->capn;
    t->len = xreallocarray(t->len, c, sizeof *t->len);
    XGROW(t->arena, t->capa, t->used + n + 1);
    memcpy(t->arena + t->used, s, n);
    t->arena[t->used + n] = '\0';
    t->off[t->n] = t->used;
    t->len[t->n] = (uint32_t)n;
    t->used += n + 1;
    size_t h = hash_bytes(s, n) & (t->nslot - 1);
    while (t->slot[h])
        h = (h + 1) & (t->nslot - 1);
    t->slot[h] = (uint32_t)t->n + 1;
    return (uint32_t)t->n++;
}

/* ---- the evaluation ---------------------------------------------------------- */

struct ols_row_store {
    double *v;                /* rows of p + 1 values: x..., y */
    uint32_t *grp;
    size_t n, capv, capg;
};

struct eval {
    struct cli cli;
    enum task task;
    bool task_given;
    const char *out_arg;      /* -o as given ("-" kept) */
    /* fields */
    const char *label, *score, *user, *items, *item, *truth, *popularity, *segment, *treatment,
        *outcome, *control, *arm, *revenue, *y, *by, *predict_arg, *cost_arg;
    char **fields;            /* cluster --fields, ols --x */
    int nfields;
    double threshold, conf, margin;
    size_t *ks;
    int nk;
    double *tops;
    int ntop;
    uint64_t sampled, catalog_size, sample;
    bool intercept, skip_missing, json;
    const char *html, *compare;
    char **history;
    int nhistory;
    char **fail;
    int nfail;
    /* header options: the task options as given */
    const char *optkey[64], *optval[64];
    int nopt;

    /* state */
    rs *in;
    struct progress prog;
    uint64_t rows, skipped;
    struct ms_list res;
    struct mt_bin bin;
    struct mt_reg reg;
    /* rank */
    struct strtab users, itemtab;
    uint32_t *truth_start, *truth_items;   /* CSR by user index */
    uint64_t *pop;                         /* popularity count by item index */
    size_t npop;
    uint32_t catalog_n;                    /* items known before the lists */
    uint8_t *user_seen, *covered;          /* covered: bit k per cut-off */
    size_t capcovered;
    double *sum_at;                        /* [nk x 6]: hr, precision, recall, ndcg, ap, arp */
    double sum_rr, *samp_sum;              /* samp_sum [nk x 2]: hr, ndcg */
    uint64_t rank_users, samp_pairs, no_truth_users;
    uint8_t *rel;
    size_t caprel;
    uint32_t *posof;                       /* rank of an item in the current list */
    uint32_t *stamp, stampv;               /* negatives drawn for the current item */
    size_t capposof;
    struct rng root;
    /* cluster */
    double *X;
    uint32_t *seg;
    size_t capX, capseg;
    struct strtab segs;
    /* uplift and effect */
    struct strtab arms;
    struct mt_up_row *uprows;
    uint32_t *uparm;
    size_t capup, capuparm;
    struct mt_moments *mo, *mrev;          /* per arm */
    bool *nonbinary;
    size_t caparm;
    /* ols */
    struct ols_row_store ols;
    struct strtab groups;
};

static void remember(struct eval *e, const char *key, const char *val)
{
    if (e->nopt < 64) {
        e->optkey[e->nopt] = key;
        e->optval[e->nopt++] = val;
    }
}

/* ---- field access ------------------------------------------------------------ */

/* A number (booleans count as 0 and 1).  false when missing and
 * --skip-missing is on; dies when missing otherwise, or on another type. */
static bool get_num(struct eval *e, const char *key, double *out)
{
    const msgpack_object *o = rec_field(e->in, key);
    if (!o) {
        if (e->skip_missing)
            return false;
        rs_die(e->in, "field \"%s\": missing%s", key,
               e->task == T_OLS ? " (--skip-missing skips such records)" : "");
    }
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: *out = o->via.boolean; break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; break;
    default:
        rs_die(e->in, "field \"%s\": expected a number, got %s", key, mp_type_name(o));
    }
    if (!isfinite(*out))
        rs_die(e->in, "field \"%s\": expected a finite number, got %s", key,
               isnan(*out) ? "nan" : "inf");
    return true;
}

static bool get_label01(struct eval *e, const char *key, bool *out)
{
    double v;
    if (!get_num(e, key, &v))
        return false;
    if (v != 0 && v != 1)
        rs_die(e->in, "field \"%s\": expected 0 or 1 (or a boolean), got %.17g", key, v);
    *out = v == 1;
    return true;
}

/* An id as text: strings as they are, integers in decimal, booleans as
 * true/false.  buf holds the text of a number. */
static bool id_of(rs *r, const msgpack_object *o, const char *key, char *buf, const char **s,
                  size_t *n)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR: *s = o->via.str.ptr; *n = o->via.str.size; return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *n = (size_t)snprintf(buf, 32, "%llu", (unsigned long long)o->via.u64);
        *s = buf;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *n = (size_t)snprintf(buf, 32, "%lld", (long long)o->via.i64);
        *s = buf;
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        *s = o->via.boolean ? "true" : "false";
        *n = strlen(*s);
        return true;
    default:
        if (key)
            rs_die(r, "field \"%s\": expected a string or an integer id, got %s", key,
                   mp_type_name(o));
        return false;
    }
}

static bool get_id(struct eval *e, rs *r, const char *key, char *buf, const char **s, size_t *n)
{
    const msgpack_object *o = rec_field(r, key);
    if (!o) {
        if (e->skip_missing && r == e->in)
            return false;
        rs_die(r, "field \"%s\": missing", key);
    }
    return id_of(r, o, key, buf, s, n);
}

/* ==== classify ================================================================ */

static void classify_row(struct eval *e)
{
    double s;
    bool y;
    if (!get_label01(e, e->label, &y) || !get_num(e, e->score, &s)) {
        e->skipped++;
        return;
    }
    mt_bin_add(&e->bin, s, y);
}

static void classify_finish(struct eval *e)
{
    const char *T = "classify";
    if (e->bin.npos == 0 || e->bin.nneg == 0)
        die("%s: classify needs both labels, got %zu positive and %zu negative records",
            rs_file(e->in), e->bin.npos, e->bin.nneg);
    struct mt_bin_result b;
    mt_bin_finish(&e->bin, &b);
    ms_set_n(ms_add(&e->res, T, "auc", NULL, b.auc), b.n);
    if (!isnan(b.logloss)) {
        ms_set_n(ms_add(&e->res, T, "logloss", NULL, b.logloss), b.n);
        ms_set_n(ms_add(&e->res, T, "brier", NULL, b.brier), b.n);
        ms_set_n(ms_add(&e->res, T, "ece", NULL, b.ece), b.n);
    } else {
        ms_note(&e->res, "scores outside [0, 1]: log loss, Brier score and calibration are not computed");
    }
    ms_set_n(ms_add(&e->res, T, "accuracy", NULL, b.accuracy), b.n);
    if (!isnan(b.precision))
        ms_set_n(ms_add(&e->res, T, "precision", NULL, b.precision), b.npred);
    ms_set_n(ms_add(&e->res, T, "recall", NULL, b.recall), b.npos);
    if (!isnan(b.f1))
        ms_add(&e->res, T, "f1", NULL, b.f1);
    ms_set_n(ms_add(&e->res, T, "base_rate", NULL, (double)b.npos / (double)b.n), b.n);
    ms_add(&e->res, T, "roc", NULL, b.auc);
    ms_set_curve(&e->res.r[e->res.n - 1], b.roc_x, b.roc_y, b.nroc);
    double x[MT_DECILES + 1], area = 0;
    for (int k = 0; k <= MT_DECILES; k++) {
        x[k] = (double)k / MT_DECILES;
        if (k)
            area += (b.gains[k] + b.gains[k - 1]) / 2 / MT_DECILES;
    }
    ms_set_curve(ms_add(&e->res, T, "gains", NULL, area), x, b.gains, MT_DECILES + 1);
    for (int k = 0; k < MT_DECILES; k++) {
        char g[8];
        snprintf(g, sizeof g, "%d", k + 1);
        ms_add(&e->res, T, "lift", g, b.lift[k]);
    }
    if (!isnan(b.logloss))
        ms_set_curve(ms_add(&e->res, T, "calibration", NULL, b.ece), b.cal_pred, b.cal_obs,
                     MT_DECILES);
    ms_note(&e->res, "classify: %llu records, %llu positive; threshold %g; deciles by score, highest first",
            (unsigned long long)b.n, (unsigned long long)b.npos, e->threshold);
    mt_bin_result_release(&b);
}

/* ==== rank ======================================================================= */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The holdout as CSR: each user's distinct items, sorted; 4 bytes per pair
 * plus the ids. */
static void rank_load_truth(struct eval *e)
{
    const char *paths[] = {e->truth};
    rs *r = rs_open(paths, 1, NULL);
    uint32_t *pu = NULL, *pi = NULL;
    size_t n = 0, capu = 0, capi = 0;
    char b1[32], b2[32];
    while (rs_next(r)) {
        const char *s;
        size_t len;
        get_id(e, r, e->user, b1, &s, &len);
        uint32_t u = st_intern(&e->users, s, len);
        get_id(e, r, e->item, b2, &s, &len);
        uint32_t it = st_intern(&e->itemtab, s, len);
        XGROW(pu, capu, n + 1);
        XGROW(pi, capi, n + 1);
        pu[n] = u;
        pi[n++] = it;
    }
    if (n == 0)
        die("%s: the holdout has no records", e->truth);
    rs_free(r);
    size_t nu = e->users.n;
    uint32_t *start = xcalloc(nu + 1, sizeof *start), *items = xmalloc(n * sizeof *items);
    for (size_t i = 0; i < n; i++)
        start[pu[i] + 1]++;
    for (size_t u = 0; u < nu; u++)
        start[u + 1] += start[u];
    uint32_t *cur = xmalloc((nu + 1) * sizeof *cur);
    memcpy(cur, start, (nu + 1) * sizeof *cur);
    for (size_t i = 0; i < n; i++)
        items[cur[pu[i]]++] = pi[i];
    /* Sort each user's items and drop repeats, compacting in place. */
    size_t w = 0;
    for (size_t u = 0; u < nu; u++) {
        uint32_t a = start[u], b = start[u + 1];
        qsort(items + a, b - a, sizeof *items, cmp_u32);
        start[u] = (uint32_t)w;
        for (uint32_t i = a; i < b; i++)
            if (i == a || items[i] != items[i - 1])
                items[w++] = items[i];
    }
    start[nu] = (uint32_t)w;
    e->truth_start = start;
    e->truth_items = items;
    free(cur);
    free(pu);
    free(pi);

    /* Popularity: records of --popularity, else the holdout's pairs. */
    if (e->popularity) {
        const char *pp[] = {e->popularity};
        rs *q = rs_open(pp, 1, NULL);
        while (rs_next(q)) {
            const char *s;
            size_t len;
            get_id(e, q, e->item, b1, &s, &len);
            uint32_t it = st_intern(&e->itemtab, s, len);
            if (it >= e->npop) {
                size_t old = e->npop;
                XGROW(e->pop, e->npop, it + 1);
                memset(e->pop + old, 0, (e->npop - old) * sizeof *e->pop);
            }
            e->pop[it]++;
        }
        rs_free(q);
    } else {
        e->npop = e->itemtab.n;
        e->pop = xcalloc(e->npop + 1, sizeof *e->pop);
        for (size_t i = 0; i < w; i++)
            e->pop[items[i]]++;
    }
    e->catalog_n = (uint32_t)e->itemtab.n;
    e->user_seen = xcalloc(nu + 1, 1);
    e->sum_at = xcalloc((size_t)e->nk * 6, sizeof *e->sum_at);
    e->samp_sum = xcalloc((size_t)e->nk * 2, sizeof *e->samp_sum);
    rng_init(&e->root, e->cli.seed);
}

static bool in_truth(const struct eval *e, uint32_t u, uint32_t it)
{
    const uint32_t *a = e->truth_items + e->truth_start[u];
    size_t lo = 0, hi = e->truth_start[u + 1] - e->truth_start[u];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < it)
            lo = mid + 1;
        else if (a[mid] > it)
            hi = mid;
        else
            return true;
    }
    return false;
}

/* Grow the per-item arrays to the size of the item table. */
static void rank_grow_items(struct eval *e)
{
    size_t need = e->itemtab.n;
    if (need > e->capcovered) {
        size_t old = e->capcovered;
        XGROW(e->covered, e->capcovered, need);
        memset(e->covered + old, 0, e->capcovered - old);
    }
    if (e->sampled && need > e->capposof) {
        size_t old = e->capposof;
        XGROW(e->posof, e->capposof, need);
        for (size_t i = old; i < e->capposof; i++)
            e->posof[i] = UINT32_MAX;
    }
}

/* The sampled protocol for user u: each held-out item ranked against N
 * negatives drawn from the catalogue (items of the holdout and of
 * --popularity) that the user did not hold out.  A negative missing from the
 * list ties with a missing held-out item, and the tie counts against it. */
static void rank_sampled_user(struct eval *e, uint32_t u)
{
    if (!e->stamp)
        e->stamp = xcalloc((size_t)e->catalog_n + 1, sizeof *e->stamp);
    struct rng r;
    rng_split(&r, &e->root, u);
    uint32_t a = e->truth_start[u], b = e->truth_start[u + 1];
    uint64_t cand = e->catalog_n - (b - a);
    for (uint32_t t = a; t < b; t++) {
        uint32_t it = e->truth_items[t];
        uint32_t pt = it < e->capposof ? e->posof[it] : UINT32_MAX;
        uint64_t above = 0;
        if (e->sampled >= cand) {
            for (uint32_t c = 0; c < e->catalog_n; c++) {
                if (in_truth(e, u, c))
                    continue;
                uint32_t pn = c < e->capposof ? e->posof[c] : UINT32_MAX;
                above += pn < pt || pt == UINT32_MAX;
            }
        } else {
            if (++e->stampv == 0) {
                memset(e->stamp, 0, e->catalog_n * sizeof *e->stamp);
                e->stampv = 1;
            }
            for (uint64_t k = 0; k < e->sampled;) {
                uint32_t c = (uint32_t)rng_below(&r, e->catalog_n);
                if (e->stamp[c] == e->stampv || in_truth(e, u, c))
                    continue;
                e->stamp[c] = e->stampv;
                k++;
                uint32_t pn = c < e->capposof ? e->posof[c] : UINT32_MAX;
                above += pn < pt || pt == UINT32_MAX;
            }
        }
        double rank = (double)above + 1;
        for (int j = 0; j < e->nk; j++)
            if (rank <= (double)e->ks[j]) {
                e->samp_sum[j * 2] += 1;
                e->samp_sum[j * 2 + 1] += 1 / log2(rank + 1);
            }
        e->samp_pairs++;
    }
}

static void rank_row(struct eval *e)
{
    char buf[32];
    const char *s;
    size_t len;
    if (!get_id(e, e->in, e->user, buf, &s, &len)) {
        e->skipped++;
        return;
    }
    const msgpack_object *arr = rec_field(e->in, e->items);
    if (!arr) {
        if (e->skip_missing) {
            e->skipped++;
            return;
        }
        rs_die(e->in, "field \"%s\": missing", e->items);
    }
    if (arr->type != MSGPACK_OBJECT_ARRAY)
        rs_die(e->in, "field \"%s\": expected an array of item ids, got %s", e->items,
               mp_type_name(arr));
    int64_t uu = st_find(&e->users, s, len);
    if (uu < 0) {
        e->no_truth_users++;
        return;
    }
    uint32_t u = (uint32_t)uu;
    if (e->user_seen[u])
        rs_die(e->in, "user \"%.*s\" has a second list", (int)len, s);
    e->user_seen[u] = 1;
    size_t L = arr->via.array.size, maxk = 0;
    for (int j = 0; j < e->nk; j++)
        if (e->ks[j] > maxk)
            maxk = e->ks[j];
    XGROW(e->rel, e->caprel, L + 1);
    double popsum[8] = {0};   /* --k takes at most 8 cut-offs */
    uint32_t *listed = e->sampled ? xmalloc((L + 1) * sizeof *listed) : NULL;
    size_t nlisted = 0;
    for (size_t i = 0; i < L; i++) {
        const msgpack_object *o = &arr->via.array.ptr[i];
        char ib[32];
        if (!id_of(e->in, o, NULL, ib, &s, &len))
            rs_die(e->in, "field \"%s\": element %zu: expected a string or an integer id, got %s",
                   e->items, i + 1, mp_type_name(o));
        int64_t it = i < maxk ? (int64_t)st_intern(&e->itemtab, s, len)
                              : st_find(&e->itemtab, s, len);
        if (i < maxk)
            rank_grow_items(e);
        e->rel[i] = it >= 0 && (uint32_t)it < e->catalog_n && in_truth(e, u, (uint32_t)it);
        if (it < 0)
            continue;
        for (int j = 0; j < e->nk; j++)
            if (i < e->ks[j]) {
                e->covered[it] |= (uint8_t)(1u << j);
                popsum[j] += (size_t)it < e->npop ? (double)e->pop[it] : 0;
            }
        if (e->sampled && (uint32_t)it < e->catalog_n && e->posof[it] == UINT32_MAX) {
            e->posof[it] = (uint32_t)i;
            listed[nlisted++] = (uint32_t)it;
        }
    }
    size_t ntruth = e->truth_start[u + 1] - e->truth_start[u];
    for (int j = 0; j < e->nk; j++) {
        struct mt_rank_k m;
        mt_rank_at(&m, e->rel, L, ntruth, e->ks[j]);
        double *sum = e->sum_at + j * 6;
        sum[0] += m.hr;
        sum[1] += m.precision;
        sum[2] += m.recall;
        sum[3] += m.ndcg;
        sum[4] += m.ap;
        size_t top = L < e->ks[j] ? L : e->ks[j];
        sum[5] += top ? popsum[j] / (double)top : 0;
    }
    e->sum_rr += mt_rr(e->rel, L);
    e->rank_users++;
    if (e->sampled) {
        rank_sampled_user(e, u);
        for (size_t i = 0; i < nlisted; i++)
            e->posof[listed[i]] = UINT32_MAX;
    }
    free(listed);
}

static void rank_finish(struct eval *e)
{
    const char *T = "rank";
    size_t nu = e->users.n;
    /* Users of the holdout without a list count as misses. */
    uint64_t missing = nu - e->rank_users;
    if (e->sampled && missing) {
        for (size_t u = 0; u < nu; u++)
            if (!e->user_seen[u])
                rank_sampled_user(e, (uint32_t)u);
    }
    double n = (double)nu;
    uint64_t catalog = e->catalog_size ? e->catalog_size : e->itemtab.n;
    static const char *const names[6] = {"hr", "precision", "recall", "ndcg", "map", "arp"};
    for (int j = 0; j < e->nk; j++) {
        char m[48];
        for (int q = 0; q < 5; q++) {
            snprintf(m, sizeof m, "%s@%zu", names[q], e->ks[j]);
            ms_set_n(ms_add(&e->res, T, m, NULL, e->sum_at[j * 6 + q] / n), nu);
        }
        /* Popularity describes the lists: over the users that have one. */
        if (e->rank_users) {
            snprintf(m, sizeof m, "%s@%zu", names[5], e->ks[j]);
            ms_set_n(ms_add(&e->res, T, m, NULL, e->sum_at[j * 6 + 5] / (double)e->rank_users),
                     e->rank_users);
        }
        size_t cov = 0;
        for (size_t i = 0; i < e->itemtab.n && i < e->capcovered; i++)
            cov += (e->covered[i] >> j) & 1;
        snprintf(m, sizeof m, "coverage@%zu", e->ks[j]);
        ms_set_n(ms_add(&e->res, T, m, NULL, (double)cov / (double)catalog), catalog);
    }
    ms_set_n(ms_add(&e->res, T, "mrr", NULL, e->sum_rr / n), nu);
    if (e->sampled) {
        char g[40];
        snprintf(g, sizeof g, "sampled:%llu", (unsigned long long)e->sampled);
        for (int j = 0; j < e->nk; j++) {
            char m[48];
            snprintf(m, sizeof m, "hr@%zu", e->ks[j]);
            ms_set_n(ms_add(&e->res, T, m, g, e->samp_sum[j * 2] / (double)e->samp_pairs),
                     e->samp_pairs);
            snprintf(m, sizeof m, "ndcg@%zu", e->ks[j]);
            ms_set_n(ms_add(&e->res, T, m, g, e->samp_sum[j * 2 + 1] / (double)e->samp_pairs),
                     e->samp_pairs);
        }
        ms_note(&e->res, "rank: group sampled:%llu is the sampled protocol: each held-out item "
                "ranked against %llu negatives drawn from %u catalogue items (seed %llu)",
                (unsigned long long)e->sampled, (unsigned long long)e->sampled, e->catalog_n,
                (unsigned long long)e->cli.seed);
    }
    ms_note(&e->res, "rank: full ranking over %zu users of the holdout; %llu had no list (counted "
            "as misses); %llu lists for users not in the holdout were ignored",
            nu, (unsigned long long)missing, (unsigned long long)e->no_truth_users);
}

/* ==== regress ====================================================================== */

static void regress_row(struct eval *e)
{
    double y, p;
    if (!get_num(e, e->label, &y) || !get_num(e, e->score, &p)) {
        e->skipped++;
        return;
    }
    mt_reg_add(&e->reg, y, p);
}

static void regress_finish(struct eval *e)
{
    if (e->reg.n == 0)
        die("%s: no records to evaluate", rs_file(e->in));
    double rmse, mae, r2;
    mt_reg_finish(&e->reg, &rmse, &mae, &r2);
    ms_set_n(ms_add(&e->res, "regress", "rmse", NULL, rmse), e->reg.n);
    ms_set_n(ms_add(&e->res, "regress", "mae", NULL, mae), e->reg.n);
    if (!isnan(r2))
        ms_set_n(ms_add(&e->res, "regress", "r2", NULL, r2), e->reg.n);
    else
        ms_note(&e->res, "regress: the label is constant, so R^2 is undefined");
}

/* ==== cluster ======================================================================== */

static void cluster_row(struct eval *e)
{
    size_t d = (size_t)e->nfields;
    double v[d + 1];
    char buf[32];
    const char *s;
    size_t len;
    for (size_t j = 0; j < d; j++)
        if (!get_num(e, e->fields[j], &v[j])) {
            e->skipped++;
            return;
        }
    if (!get_id(e, e->in, e->segment, buf, &s, &len)) {
        e->skipped++;
        return;
    }
    uint32_t g = st_intern(&e->segs, s, len);
    XGROW(e->X, e->capX, (e->rows + 1) * d);
    XGROW(e->seg, e->capseg, e->rows + 1);
    memcpy(e->X + e->rows * d, v, d * sizeof *v);
    e->seg[e->rows++] = g;
}

static void cluster_finish(struct eval *e)
{
    const char *T = "cluster";
    size_t n = e->rows, d = (size_t)e->nfields, k = e->segs.n;
    if (n == 0)
        die("%s: no records to evaluate", rs_file(e->in));
    double *C = xmalloc(k * d * sizeof *C);
    uint64_t *sizes = xmalloc(k * sizeof *sizes);
    mt_centroids(C, sizes, e->X, e->seg, n, d, k);
    ms_set_n(ms_add(&e->res, T, "segments", NULL, (double)k), n);
    ms_set_n(ms_add(&e->res, T, "inertia", NULL, mt_inertia(e->X, e->seg, C, n, d)), n);
    double db = mt_davies_bouldin(e->X, e->seg, C, sizes, n, d, k);
    if (!isnan(db))
        ms_set_n(ms_add(&e->res, T, "davies_bouldin", NULL, db), n);
    /* Silhouette on a seeded uniform sample (reservoir) of --sample rows. */
    size_t m = n < e->sample ? n : e->sample;
    double *Xs = e->X;
    uint32_t *ss = e->seg;
    if (m < n) {
        struct rng r;
        rng_init(&r, e->cli.seed);
        size_t *pick = xmalloc(m * sizeof *pick);
        for (size_t i = 0; i < n; i++) {
            if (i < m)
                pick[i] = i;
            else {
                uint64_t j = rng_below(&r, i + 1);
                if (j < m)
                    pick[j] = i;
            }
        }
        Xs = xmalloc(m * d * sizeof *Xs);
        ss = xmalloc(m * sizeof *ss);
        for (size_t i = 0; i < m; i++) {
            memcpy(Xs + i * d, e->X + pick[i] * d, d * sizeof *Xs);
            ss[i] = e->seg[pick[i]];
        }
        free(pick);
        ms_note(&e->res, "cluster: silhouette on a seeded sample of %zu of %zu records (seed %llu)",
                m, n, (unsigned long long)e->cli.seed);
    }
    double sil = mt_silhouette(Xs, ss, m, d, k);
    if (!isnan(sil))
        ms_set_n(ms_add(&e->res, T, "silhouette", NULL, sil), m);
    if (Xs != e->X) {
        free(Xs);
        free(ss);
    }
    /* Sizes and profiles: means in the fields' units, and z = the segment
     * mean's distance from the overall mean in overall standard deviations. */
    double *mean = xcalloc(d, sizeof *mean), *sd = xcalloc(d, sizeof *sd);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += e->X[i * d + j] / (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            sd[j] += (e->X[i * d + j] - mean[j]) * (e->X[i * d + j] - mean[j]) / (double)n;
    double *z = xmalloc(d * sizeof *z);
    for (size_t c = 0; c < k; c++) {
        const char *g = st_str(&e->segs, (uint32_t)c);
        ms_set_n(ms_add(&e->res, T, "size", g, (double)sizes[c]), n);
        for (size_t j = 0; j < d; j++)
            z[j] = sd[j] > 0 ? (C[c * d + j] - mean[j]) / sqrt(sd[j]) : 0;
        struct ms_rec *p = ms_add(&e->res, T, "profile", g, (double)sizes[c]);
        ms_set_profile(p, (double)sizes[c], (double)sizes[c] / (double)n,
                       (const char *const *)e->fields, C + c * d, z, d);
    }
    free(z);
    free(mean);
    free(sd);
    free(C);
    free(sizes);
}

/* ==== uplift =============================================================================== */

static void uplift_row(struct eval *e)
{
    char buf[32];
    const char *s;
    size_t len;
    double y, sc;
    if (!get_id(e, e->in, e->treatment, buf, &s, &len) || !get_num(e, e->outcome, &y) ||
        !get_num(e, e->score, &sc)) {
        e->skipped++;
        return;
    }
    uint32_t a = st_intern(&e->arms, s, len);
    XGROW(e->uprows, e->capup, e->rows + 1);
    XGROW(e->uparm, e->capuparm, e->rows + 1);
    e->uprows[e->rows] = (struct mt_up_row){.score = sc, .outcome = y};
    e->uparm[e->rows++] = a;
}

static int64_t control_arm(struct eval *e)
{
    int64_t c = st_find(&e->arms, e->control, strlen(e->control));
    if (c < 0)
        die("%s: no record has the control value \"%s\" in field \"%s\" (set it with --control)",
            rs_file(e->in), e->control, e->task == T_UPLIFT ? e->treatment : e->arm);
    if (e->arms.n < 2)
        die("%s: only the control arm \"%s\" is present", rs_file(e->in), e->control);
    return c;
}

static void uplift_finish(struct eval *e)
{
    const char *T = "uplift";
    uint32_t ctl = (uint32_t)control_arm(e);
    struct mt_up_row *rows = xmalloc((e->rows + 1) * sizeof *rows);
    bool any_binary = false;
    for (uint32_t a = 0; a < e->arms.n; a++) {
        if (a == ctl)
            continue;
        const char *g = st_str(&e->arms, a);
        size_t n = 0;
        for (size_t i = 0; i < e->rows; i++)
            if (e->uparm[i] == a || e->uparm[i] == ctl) {
                rows[n] = e->uprows[i];
                rows[n++].treated = e->uparm[i] == a;
            }
        struct mt_uplift u;
        mt_uplift_eval(&u, rows, n);
        ms_set_curve(ms_add(&e->res, T, "qini", g, u.qini_area), u.x, u.qini, u.npts);
        ms_set_curve(ms_add(&e->res, T, "uplift", g, u.auuc), u.x, u.uplift, u.npts);
        ms_set_n(ms_add(&e->res, T, "qini_area", g, u.qini_area), n);
        ms_set_n(ms_add(&e->res, T, "auuc", g, u.auuc), n);
        if (!isnan(u.qini_coef))
            ms_set_n(ms_add(&e->res, T, "qini_coef", g, u.qini_coef), n);
        if (!isnan(u.auuc_coef))
            ms_set_n(ms_add(&e->res, T, "auuc_coef", g, u.auuc_coef), n);
        any_binary |= u.binary;
        for (int j = 0; j < e->ntop; j++) {
            char m[48];
            snprintf(m, sizeof m, "uplift@%g%%", e->tops[j]);
            ms_set_n(ms_add(&e->res, T, m, g, mt_uplift_top(rows, n, e->tops[j] / 100, false)), n);
            snprintf(m, sizeof m, "uplift_by_group@%g%%", e->tops[j]);
            ms_set_n(ms_add(&e->res, T, m, g, mt_uplift_top(rows, n, e->tops[j] / 100, true)), n);
        }
        mt_uplift_release(&u);
    }
    free(rows);
    ms_note(&e->res, "uplift: curves per capita: x the share of records targeted by score, y the "
            "incremental outcome divided by all records; qini_area is the area between the Qini "
            "curve and the random line, auuc the area under the uplift curve");
    if (any_binary)
        ms_note(&e->res, "uplift: qini_coef and auuc_coef are normalised by the perfect model "
                "(model - random) / (perfect - random), as scikit-uplift does");
    ms_note(&e->res, "uplift: uplift@P%% ranks all records together; uplift_by_group@P%% takes "
            "the top P%% of each arm separately");
}

/* ==== effect ================================================================================ */

static void effect_row(struct eval *e)
{
    char buf[32];
    const char *s;
    size_t len;
    double y, rev = 0;
    if (!get_id(e, e->in, e->arm, buf, &s, &len) || !get_num(e, e->outcome, &y) ||
        (e->revenue && !get_num(e, e->revenue, &rev))) {
        e->skipped++;
        return;
    }
    uint32_t a = st_intern(&e->arms, s, len);
    if (a >= e->caparm) {
        size_t c1 = e->caparm, c2 = e->caparm, old = e->caparm;
        XGROW(e->mo, e->caparm, a + 1);
        XGROW(e->mrev, c1, a + 1);
        XGROW(e->nonbinary, c2, a + 1);
        memset(e->mo + old, 0, (e->caparm - old) * sizeof *e->mo);
        memset(e->mrev + old, 0, (e->caparm - old) * sizeof *e->mrev);
        memset(e->nonbinary + old, 0, (e->caparm - old) * sizeof *e->nonbinary);
    }
    mt_moments_add(&e->mo[a], y);
    if (y != 0 && y != 1)
        e->nonbinary[a] = true;
    if (e->revenue)
        mt_moments_add(&e->mrev[a], rev);
    e->rows++;
}

/* Cost per treated user of arm a, from --cost C or --cost ARM=C,... */
static double arm_cost(struct eval *e, const char *arm)
{
    if (!e->cost_arg)
        return 0;
    if (!strchr(e->cost_arg, '='))
        return cli_f64("--cost", e->cost_arg, 0, 1e300);
    int n;
    char **kv = cli_list(e->cost_arg, &n);
    double c = 0;
    for (int i = 0; i < n; i++) {
        char *eq = strchr(kv[i], '=');
        *eq = '\0';
        if (strcmp(kv[i], arm) == 0)
            c = cli_f64("--cost", eq + 1, 0, 1e300);
    }
    free(kv);
    return c;
}

static void add_interval(struct eval *e, const char *metric, const char *g,
                         const struct mt_interval *iv, uint64_t n)
{
    struct ms_rec *r = ms_add(&e->res, "effect", metric, g, iv->est);
    ms_set_ci(r, iv->lo, iv->hi);
    ms_set_p(r, iv->p);
    ms_set_n(r, n);
}

/* Mean with a t interval. */
static void mean_interval(struct mt_interval *iv, const struct mt_moments *m, double conf)
{
    double v = mt_moments_var(m), h = m->n > 1 ? mt_t_quantile(1 - (1 - conf) / 2, m->n - 1) *
                                                 sqrt(v / m->n) : NAN;
    iv->est = m->mean;
    iv->lo = m->mean - h;
    iv->hi = m->mean + h;
    iv->p = NAN;
}

static void effect_finish(struct eval *e)
{
    uint32_t ctl = (uint32_t)control_arm(e);
    bool binary = true;
    for (uint32_t a = 0; a < e->arms.n; a++)
        binary &= !e->nonbinary[a];
    /* Every arm named by --cost ARM=C must exist. */
    if (e->cost_arg && strchr(e->cost_arg, '=')) {
        int n;
        char **kv = cli_list(e->cost_arg, &n);
        for (int i = 0; i < n; i++) {
            *strchr(kv[i], '=') = '\0';
            if (st_find(&e->arms, kv[i], strlen(kv[i])) < 0)
                die("--cost: no record has arm \"%s\"", kv[i]);
        }
        free(kv);
    }
    const struct mt_moments *mc = &e->mo[ctl], *rc = &e->mrev[ctl];
    for (uint32_t k = 0; k < e->arms.n; k++) {
        uint32_t a = k == 0 ? ctl : (k <= ctl ? k - 1 : k);   /* control first */
        const char *g = st_str(&e->arms, a);
        const struct mt_moments *m = &e->mo[a];
        struct mt_interval iv;
        if (binary)
            mt_wilson(&iv, m->sum, m->n, e->conf);
        else
            mean_interval(&iv, m, e->conf);
        add_interval(e, binary ? "rate" : "mean", g, &iv, (uint64_t)m->n);
        if (e->revenue) {
            mean_interval(&iv, &e->mrev[a], e->conf);
            add_interval(e, "revenue_per_user", g, &iv, (uint64_t)m->n);
        }
    }
    for (uint32_t a = 0; a < e->arms.n; a++) {
        if (a == ctl)
            continue;
        const char *g = st_str(&e->arms, a);
        const struct mt_moments *m = &e->mo[a];
        struct mt_interval iv, rel;
        double df;
        if (binary) {
            mt_newcombe(&iv, m->sum, m->n, mc->sum, mc->n, e->conf);
            mt_ratio_prop(&rel, m->sum, m->n, mc->sum, mc->n, e->conf);
        } else {
            mt_welch(&iv, &df, m->mean, mt_moments_var(m), m->n, mc->mean, mt_moments_var(mc),
                     mc->n, e->conf);
            mt_ratio_mean(&rel, m->mean, mt_moments_var(m), m->n, mc->mean, mt_moments_var(mc),
                          mc->n, e->conf);
        }
        uint64_t nt = (uint64_t)m->n;
        add_interval(e, "abs_lift", g, &iv, nt);
        if (!isnan(rel.est))
            add_interval(e, "rel_lift", g, &rel, nt);
        struct mt_interval inc = {iv.est * m->n, iv.lo * m->n, iv.hi * m->n, iv.p};
        add_interval(e, binary ? "incr_conversions" : "incr_outcome", g, &inc, nt);
        double cost = arm_cost(e, g) * m->n;
        if (e->cost_arg)
            ms_set_n(ms_add(&e->res, "effect", "cost", g, cost), nt);
        if (!e->revenue)
            continue;
        const struct mt_moments *r = &e->mrev[a];
        mt_welch(&iv, &df, r->mean, mt_moments_var(r), r->n, rc->mean, mt_moments_var(rc), rc->n,
                 e->conf);
        add_interval(e, "rev_lift", g, &iv, nt);
        mt_ratio_mean(&rel, r->mean, mt_moments_var(r), r->n, rc->mean, mt_moments_var(rc), rc->n,
                      e->conf);
        if (!isnan(rel.est))
            add_interval(e, "rev_rel_lift", g, &rel, nt);
        struct mt_interval rv = {iv.est * r->n, iv.lo * r->n, iv.hi * r->n, iv.p};
        add_interval(e, "incr_revenue", g, &rv, nt);
        struct mt_interval pr = {e->margin * rv.est - cost, e->margin * rv.lo - cost,
                                 e->margin * rv.hi - cost, iv.p};
        add_interval(e, "incr_profit", g, &pr, nt);
        if (cost > 0) {
            struct mt_interval roi = {pr.est / cost, pr.lo / cost, pr.hi / cost, iv.p};
            add_interval(e, "roi", g, &roi, nt);
        }
    }
    char conf[16];
    snprintf(conf, sizeof conf, "%g%%", e->conf * 100);
    if (binary)
        ms_note(&e->res, "effect: %s intervals: Wilson for rates, Newcombe's hybrid score for "
                "abs_lift (two-proportion z-test p), log risk ratio for rel_lift", conf);
    else
        ms_note(&e->res, "effect: %s intervals: t for means, Welch for abs_lift (Welch t-test p), "
                "delta method on the log ratio for rel_lift", conf);
    if (e->revenue)
        ms_note(&e->res, "effect: revenue: Welch interval for rev_lift; incr_revenue = rev_lift x "
                "treated users; incr_profit = margin %g x incr_revenue - cost; roi = incr_profit / cost",
                e->margin);
}

/* ==== ols =================================================================================== */

static void ols_row(struct eval *e)
{
    size_t p = (size_t)e->nfields;
    double v[p + 2];
    for (size_t j = 0; j < p; j++)
        if (!get_num(e, e->fields[j], &v[j])) {
            e->skipped++;
            return;
        }
    if (!get_num(e, e->y, &v[p])) {
        e->skipped++;
        return;
    }
    uint32_t g = 0;
    if (e->by) {
        char buf[32];
        const char *s;
        size_t len;
        if (!get_id(e, e->in, e->by, buf, &s, &len)) {
            e->skipped++;
            return;
        }
        g = st_intern(&e->groups, s, len);
    }
    struct ols_row_store *o = &e->ols;
    XGROW(o->v, o->capv, (o->n + 1) * (p + 1));
    XGROW(o->grp, o->capg, o->n + 1);
    memcpy(o->v + o->n * (p + 1), v, (p + 1) * sizeof *v);
    o->grp[o->n++] = g;
    e->rows++;
}

/* --predict A=V,...: the regressor values in --x order. */
static void parse_predict(struct eval *e, double *x0)
{
    int n;
    char **kv = cli_list(e->predict_arg, &n);
    bool *set = xcalloc((size_t)e->nfields + 1, sizeof *set);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(kv[i], '=');
        if (!eq)
            die_usage("--predict: expected NAME=VALUE, got \"%s\"", kv[i]);
        *eq = '\0';
        int j = 0;
        while (j < e->nfields && strcmp(e->fields[j], kv[i]) != 0)
            j++;
        if (j == e->nfields)
            die_usage("--predict: \"%s\" is not among the --x fields", kv[i]);
        x0[j] = cli_f64("--predict", eq + 1, -1e300, 1e300);
        set[j] = true;
    }
    for (int j = 0; j < e->nfields; j++)
        if (!set[j])
            die_usage("--predict: give a value for every --x field; \"%s\" is missing", e->fields[j]);
    free(set);
    free(kv);
}

static void ols_finish(struct eval *e)
{
    const char *T = "ols";
    size_t p = (size_t)e->nfields, q = p + (e->intercept ? 1 : 0);
    size_t ng = e->by ? e->groups.n : 1;
    double *x0 = xcalloc(q + 1, sizeof *x0);
    if (e->predict_arg) {
        if (e->intercept)
            x0[0] = 1;
        parse_predict(e, x0 + (e->intercept ? 1 : 0));
    }
    if (e->ols.n == 0)
        die("%s: no records to fit", rs_file(e->in));
    double *X = xmalloc(e->ols.n * q * sizeof *X), *y = xmalloc(e->ols.n * sizeof *y);
    for (uint32_t g = 0; g < ng; g++) {
        const char *gname = e->by ? st_str(&e->groups, g) : NULL;
        size_t n = 0;
        for (size_t i = 0; i < e->ols.n; i++) {
            if (e->ols.grp[i] != g)
                continue;
            const double *v = e->ols.v + i * (p + 1);
            double *row = X + n * q;
            if (e->intercept)
                *row++ = 1;
            memcpy(row, v, p * sizeof *v);
            y[n++] = v[p];
        }
        struct mt_ols o;
        if (mt_ols_fit(&o, X, y, n, (int)q, e->intercept, e->conf) != 0) {
            if (!e->by)
                die("%s: cannot fit: %s", rs_file(e->in), n <= q ? "fewer records than coefficients"
                    : "the regressors are collinear (or one is constant)");
            ms_note(&e->res, "ols: group \"%s\" (%zu records) not fitted: %s", gname, n,
                    n <= q ? "fewer records than coefficients" : "the regressors are collinear "
                    "(or one is constant)");
            continue;
        }
        for (size_t j = 0; j < q; j++) {
            char m[300];
            snprintf(m, sizeof m, "coef:%s", e->intercept && j == 0 ? "intercept"
                     : e->fields[j - (e->intercept ? 1 : 0)]);
            struct ms_rec *r = ms_add(&e->res, T, m, gname, o.beta[j]);
            ms_set_ci(r, o.lo[j], o.hi[j]);
            ms_set_p(r, o.pval[j]);
            ms_set_n(r, n);
            r->se = o.se[j];
            r->has_se = true;
            r->stat = o.t[j];
            r->has_stat = true;
        }
        if (!isnan(o.r2)) {
            ms_set_n(ms_add(&e->res, T, "r2", gname, o.r2), n);
            ms_set_n(ms_add(&e->res, T, "adj_r2", gname, o.adj_r2), n);
        }
        ms_set_n(ms_add(&e->res, T, "sigma", gname, o.sigma), n);
        if (e->predict_arg) {
            struct mt_interval iv;
            mt_ols_predict(&o, x0, e->conf, &iv);
            struct ms_rec *r = ms_add(&e->res, T, "predict", gname, iv.est);
            ms_set_ci(r, iv.lo, iv.hi);
            ms_set_n(r, n);
        }
        mt_ols_release(&o);
    }
    char xs[512] = "";
    for (int j = 0; j < e->nfields; j++)
        snprintf(xs + strlen(xs), sizeof xs - strlen(xs), "%s%s", j ? ", " : "", e->fields[j]);
    ms_note(&e->res, "ols: %s on %s%s; %g%% intervals and two-sided p-values from t with n - %zu "
            "degrees of freedom", e->y, e->intercept ? "an intercept, " : "", xs, e->conf * 100, q);
    if (e->predict_arg)
        ms_note(&e->res, "ols: predict is the fitted mean at %s, with its confidence interval",
                e->predict_arg);
    free(X);
    free(y);
    free(x0);
}

/* ==== options ================================================================================ */

static enum task parse_task(const char *s)
{
    for (int t = 0; t < T_N; t++)
        if (strcmp(s, task_names[t]) == 0)
            return (enum task)t;
    die_usage("--task: expected classify, rank, regress, cluster, uplift, effect, ols or report, "
              "got \"%s\"", s);
}

static char **name_list(const char *opt, const char *s, int *n)
{
    char **v = cli_list(s, n);
    for (int i = 0; i < *n; i++)
        if (!*v[i])
            die_usage("%s: empty name in \"%s\"", opt, s);
    return v;
}

static void parse_ks(struct eval *e, const char *s)
{
    int n;
    char **v = cli_list(s, &n);
    if (n > 8)
        die_usage("--k: at most 8 cut-offs, got %d", n);
    free(e->ks);
    e->ks = xmalloc((size_t)n * sizeof *e->ks);
    for (int i = 0; i < n; i++)
        e->ks[i] = (size_t)cli_int("--k", v[i], 1, 100000);
    e->nk = n;
    free(v);
}

static void parse_tops(struct eval *e, const char *s)
{
    int n;
    char **v = cli_list(s, &n);
    free(e->tops);
    e->tops = xmalloc((size_t)n * sizeof *e->tops);
    for (int i = 0; i < n; i++)
        e->tops[i] = cli_f64("--top", v[i], 1e-9, 100);
    e->ntop = n;
    free(v);
}

/* --fail-on-regression M=TOL,...: checked here, applied after the run. */
static void check_fail_list(struct eval *e)
{
    for (int i = 0; i < e->nfail; i++) {
        char *eq = strrchr(e->fail[i], '=');
        if (!eq || eq == e->fail[i])
            die_usage("--fail-on-regression: expected METRIC=TOL, got \"%s\"", e->fail[i]);
        *eq = '\0';
        cli_f64("--fail-on-regression", eq + 1, 0, 1e300);
        if (ms_direction(e->fail[i]) == 0)
            die_usage("--fail-on-regression: \"%s\" is not a metric with a better direction",
                      e->fail[i]);
        *eq = '=';
    }
}

static const char *need(const char *v, const char *opt, enum task t)
{
    if (!v)
        die_usage("--task %s needs %s", task_names[t], opt);
    return v;
}

static void parse_options(struct eval *e, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"task", required_argument, 0, O_TASK},
        {"label", required_argument, 0, O_LABEL},
        {"score", required_argument, 0, O_SCORE},
        {"threshold", required_argument, 0, O_THRESHOLD},
        {"truth", required_argument, 0, O_TRUTH},
        {"user", required_argument, 0, O_USER},
        {"items", required_argument, 0, O_ITEMS},
        {"item", required_argument, 0, O_ITEM},
        {"k", required_argument, 0, O_K},
        {"sampled", required_argument, 0, O_SAMPLED},
        {"popularity", required_argument, 0, O_POPULARITY},
        {"catalog-size", required_argument, 0, O_CATALOG},
        {"fields", required_argument, 0, O_FIELDS},
        {"segment", required_argument, 0, O_SEGMENT},
        {"sample", required_argument, 0, O_SAMPLE},
        {"treatment", required_argument, 0, O_TREATMENT},
        {"outcome", required_argument, 0, O_OUTCOME},
        {"control", required_argument, 0, O_CONTROL},
        {"top", required_argument, 0, O_TOP},
        {"arm", required_argument, 0, O_ARM},
        {"revenue", required_argument, 0, O_REVENUE},
        {"cost", required_argument, 0, O_COST},
        {"margin", required_argument, 0, O_MARGIN},
        {"y", required_argument, 0, O_Y},
        {"x", required_argument, 0, O_X},
        {"by", required_argument, 0, O_BY},
        {"predict", required_argument, 0, O_PREDICT},
        {"no-intercept", no_argument, 0, O_NOINTERCEPT},
        {"skip-missing", no_argument, 0, O_SKIP},
        {"conf", required_argument, 0, O_CONF},
        {"json", no_argument, 0, O_JSON},
        {"html", required_argument, 0, O_HTML},
        {"history", required_argument, 0, O_HISTORY},
        {"compare", required_argument, 0, O_COMPARE},
        {"fail-on-regression", required_argument, 0, O_FAIL},
        {0, 0, 0, 0},
    };
    memset(e, 0, sizeof *e);
    cli_init(&e->cli, argv[0]);
    e->threshold = 0.5;
    e->conf = 0.95;
    e->margin = 1;
    e->user = "user";
    e->items = "items";
    e->item = "item";
    e->control = "control";
    e->sample = 5000;
    e->intercept = true;
    parse_ks(e, "10");
    parse_tops(e, "10,20,30");
    unsigned given[O_END - O_TASK + 1] = {0};
    const char *given_name[O_END - O_TASK + 1] = {0};
    int opt, longidx = 0;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, &longidx)) != -1) {
        if (opt >= O_TASK && opt < O_END) {
            given[opt - O_TASK] = 1;
            given_name[opt - O_TASK] = longopts[longidx].name;
            if (opt != O_TASK && opt != O_JSON && opt != O_HTML && opt != O_HISTORY &&
                opt != O_COMPARE && opt != O_FAIL)
                remember(e, longopts[longidx].name, optarg ? optarg : "true");
        }
        switch (opt) {
        case O_TASK: e->task = parse_task(optarg); e->task_given = true; break;
        case O_LABEL: e->label = optarg; break;
        case O_SCORE: e->score = optarg; break;
        case O_THRESHOLD: e->threshold = cli_f64("--threshold", optarg, -1e300, 1e300); break;
        case O_TRUTH: e->truth = optarg; break;
        case O_USER: e->user = optarg; break;
        case O_ITEMS: e->items = optarg; break;
        case O_ITEM: e->item = optarg; break;
        case O_K: parse_ks(e, optarg); break;
        case O_SAMPLED: e->sampled = (uint64_t)cli_int("--sampled", optarg, 1, 100000000); break;
        case O_POPULARITY: e->popularity = optarg; break;
        case O_CATALOG: e->catalog_size = (uint64_t)cli_int("--catalog-size", optarg, 1, INT64_MAX); break;
        case O_FIELDS:
        case O_X:
            free(e->fields);
            e->fields = name_list(opt == O_X ? "--x" : "--fields", optarg, &e->nfields);
            break;
        case O_SEGMENT: e->segment = optarg; break;
        case O_SAMPLE: e->sample = (uint64_t)cli_int("--sample", optarg, 2, 1000000); break;
        case O_TREATMENT: e->treatment = optarg; break;
        case O_OUTCOME: e->outcome = optarg; break;
        case O_CONTROL: e->control = optarg; break;
        case O_TOP: parse_tops(e, optarg); break;
        case O_ARM: e->arm = optarg; break;
        case O_REVENUE: e->revenue = optarg; break;
        case O_COST:
            e->cost_arg = optarg;
            if (!strchr(optarg, '=')) {
                cli_f64("--cost", optarg, 0, 1e300);
            } else {
                int n;
                char **kv = cli_list(optarg, &n);
                for (int i = 0; i < n; i++) {
                    char *eq = strchr(kv[i], '=');
                    if (!eq || eq == kv[i])
                        die_usage("--cost: expected C or ARM=C,..., got \"%s\"", optarg);
                    cli_f64("--cost", eq + 1, 0, 1e300);
                }
                free(kv);
            }
            break;
        case O_MARGIN: e->margin = cli_f64("--margin", optarg, 0, 1e300); break;
        case O_Y: e->y = optarg; break;
        case O_BY: e->by = optarg; break;
        case O_PREDICT: e->predict_arg = optarg; break;
        case O_NOINTERCEPT: e->intercept = false; break;
        case O_SKIP: e->skip_missing = true; break;
        case O_CONF: e->conf = cli_f64("--conf", optarg, 0.5, 0.9999); break;
        case O_JSON: e->json = true; break;
        case O_HTML: e->html = optarg; break;
        case O_HISTORY:
            free(e->history);
            e->history = name_list("--history", optarg, &e->nhistory);
            break;
        case O_COMPARE: e->compare = optarg; break;
        case O_FAIL:
            free(e->fail);
            e->fail = name_list("--fail-on-regression", optarg, &e->nfail);
            break;
        case 'o':
            e->out_arg = optarg;
            cli_common(&e->cli, opt, optarg, help, argv);
            break;
        default:
            if (!cli_common(&e->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (!e->task_given)
        die_usage("--task is required (classify, rank, regress, cluster, uplift, effect, ols or report)");
    for (int o = O_TASK + 1; o < O_END; o++) {
        unsigned mask = opt_tasks[o - O_TASK];
        if (given[o - O_TASK] && mask && !(mask & TM(e->task)))
            die_usage("--%s is not an option of --task %s", given_name[o - O_TASK],
                      task_names[e->task]);
    }
    enum task t = e->task;
    switch (t) {
    case T_CLASSIFY:
    case T_REGRESS:
        need(e->label, "--label", t);
        need(e->score, "--score", t);
        break;
    case T_RANK: need(e->truth, "--truth", t); break;
    case T_CLUSTER:
        need(e->fields ? "" : NULL, "--fields", t);
        need(e->segment, "--segment", t);
        break;
    case T_UPLIFT:
        need(e->treatment, "--treatment", t);
        need(e->outcome, "--outcome", t);
        need(e->score, "--score", t);
        break;
    case T_EFFECT:
        need(e->arm, "--arm", t);
        need(e->outcome, "--outcome", t);
        break;
    case T_OLS:
        need(e->y, "--y", t);
        need(e->fields ? "" : NULL, "--x", t);
        if (e->predict_arg) {   /* check the names and values now */
            double *x0 = xcalloc((size_t)e->nfields + 1, sizeof *x0);
            parse_predict(e, x0);
            free(x0);
        }
        break;
    default:
        break;
    }
    if (e->nfail && !e->compare)
        die_usage("--fail-on-regression needs --compare OLD");
    check_fail_list(e);
    if (e->history && !e->html)
        die_usage("--history draws in the HTML report: give --html FILE too");
    if (e->json && e->out_arg && strcmp(e->out_arg, "-") == 0)
        die_usage("--json and -o - both want stdout; write the stream to a file");
}

/* ==== the run ================================================================================= */

static void start(struct eval *e, int nin, char **in)
{
    if (e->task == T_REPORT) {   /* each file on its own, for its notes */
        if (nin == 0)
            ms_read(&e->res, NULL, 0);
        for (int i = 0; i < nin; i++)
            ms_read(&e->res, (const char *const *)in + i, 1);
        return;
    }
    if (e->task == T_RANK)
        rank_load_truth(e);
    if (e->task == T_CLASSIFY)
        mt_bin_init(&e->bin, e->threshold);
    if (e->task == T_REGRESS)
        mt_reg_init(&e->reg);
    e->in = rs_open((const char *const *)in, nin, NULL);
    prog_init(&e->prog, "records", e->cli.progress);
}

static void add_record(struct eval *e)
{
    switch (e->task) {
    case T_CLASSIFY: classify_row(e); break;
    case T_RANK: rank_row(e); break;
    case T_REGRESS: regress_row(e); break;
    case T_CLUSTER: cluster_row(e); break;
    case T_UPLIFT: uplift_row(e); break;
    case T_EFFECT: effect_row(e); break;
    case T_OLS: ols_row(e); break;
    default: break;
    }
    prog_tick(&e->prog, rs_count(e->in));
}

static void finish(struct eval *e)
{
    if (e->task == T_REPORT) {
        if (e->res.n == 0)
            die("the metrics streams have no records");
        return;
    }
    prog_done(&e->prog);
    switch (e->task) {
    case T_CLASSIFY: classify_finish(e); break;
    case T_RANK: rank_finish(e); break;
    case T_REGRESS: regress_finish(e); break;
    case T_CLUSTER: cluster_finish(e); break;
    case T_UPLIFT: uplift_finish(e); break;
    case T_EFFECT: effect_finish(e); break;
    case T_OLS: ols_finish(e); break;
    default: break;
    }
    if (e->skip_missing) {
        ms_set_n(ms_add(&e->res, task_names[e->task], "skipped", "missing field", (double)e->skipped),
                 rs_count(e->in));
        ms_note(&e->res, "%llu of %llu records skipped for a missing field (--skip-missing)",
                (unsigned long long)e->skipped, (unsigned long long)rs_count(e->in));
    }
}

/* The regressions --fail-on-regression asks about, on stderr; true if any. */
static bool regressions(struct eval *e, const struct ms_change *c, size_t nc)
{
    bool bad = false;
    for (int i = 0; i < e->nfail; i++) {
        char *eq = strrchr(e->fail[i], '=');
        *eq = '\0';
        double tol = strtod(eq + 1, NULL);
        int matched = 0;
        for (size_t k = 0; k < nc; k++) {
            if (!c[k].cur || !c[k].old || !ms_matches(c[k].cur, e->fail[i]))
                continue;
            matched++;
            if (c[k].worse && fabs(c[k].delta) > tol) {
                char key[256], a[32], b[32], d[32];
                warning("%s: %s is worse by %s (%s -> %s), more than %g", c[k].cur->task,
                        ms_key(c[k].cur, key, sizeof key), ms_fmt(d, sizeof d, fabs(c[k].delta)),
                        ms_fmt(a, sizeof a, c[k].old->value), ms_fmt(b, sizeof b, c[k].cur->value),
                        tol);
                bad = true;
            }
        }
        if (!matched)
            die("--fail-on-regression: no metric \"%s\" in both this run and %s", e->fail[i],
                e->compare);
        *eq = '=';
    }
    return bad;
}

static void write_stream(struct eval *e)
{
    ws *w = ws_open(e->cli.out, e->cli.level);
    ws_opt_str(w, "task", task_names[e->task]);
    for (int i = 0; i < e->nopt; i++)
        ws_opt_str(w, e->optkey[i], e->optval[i]);
    ws_opt_f64(w, "conf", e->conf);
    ws_opt_int(w, "seed", (int64_t)e->cli.seed);
    if (e->res.nnotes) {
        size_t len = 0;
        for (size_t i = 0; i < e->res.nnotes; i++)
            len += strlen(e->res.notes[i]) + 1;
        char *all = xmalloc(len + 1), *p = all;
        for (size_t i = 0; i < e->res.nnotes; i++)
            p += sprintf(p, "%s%s", i ? "\n" : "", e->res.notes[i]);
        ws_opt_str(w, "notes", all);
        free(all);
    }
    ws_header(w, "metrics");
    ms_write(w, &e->res);
    ws_close(w);
}

static int outputs(struct eval *e, int nin, char **in)
{
    struct ms_list old;
    ms_list_init(&old);
    struct ms_change *changes = NULL;
    size_t nchanges = 0;
    bool bad = false;
    if (e->compare) {
        const char *p[] = {e->compare};
        ms_read(&old, p, 1);
        changes = ms_compare(&old, &e->res, &nchanges);
        bad = regressions(e, changes, nchanges);
    }
    struct ms_list *hist = xcalloc((size_t)e->nhistory + 1, sizeof *hist);
    for (int i = 0; i < e->nhistory; i++) {
        ms_list_init(&hist[i]);
        const char *p[] = {e->history[i]};
        ms_read(&hist[i], p, 1);
    }
    bool to_stdout_stream = e->out_arg && strcmp(e->out_arg, "-") == 0;
    if (e->cli.out || to_stdout_stream)
        write_stream(e);
    if (e->html) {
        ofile *of = of_open(e->html);
        char sub[512];
        snprintf(sub, sizeof sub, "%s of %s", task_names[e->task], nin ? in[0] : "stdin");
        if (nin > 1)
            snprintf(sub + strlen(sub), sizeof sub - strlen(sub), " and %d more", nin - 1);
        struct rh_report rep = {
            .title = "promoloop evaluation", .subtitle = sub, .cur = &e->res,
            .hist = hist, .hist_names = (const char *const *)e->history,
            .nhist = (size_t)e->nhistory, .changes = changes, .nchanges = nchanges,
        };
        rh_write(of_fp(of), &rep);
        of_commit(of);
    }
    if (!to_stdout_stream) {
        bool table = isatty(STDOUT_FILENO) || (!e->cli.out && !e->html);
        if (e->json || table) {
            if (e->json)
                ms_print_json(stdout, &e->res, changes, nchanges);
            else {
                ms_print_table(stdout, &e->res);
                if (changes)
                    ms_print_changes(stdout, changes, nchanges);
            }
            if (fflush(stdout) != 0 || ferror(stdout))
                die_errno("stdout: write error");
        }
    }
    for (int i = 0; i < e->nhistory; i++)
        ms_list_release(&hist[i]);
    free(hist);
    free(changes);
    ms_list_release(&old);
    return bad ? EXIT_DATA : EXIT_OK;
}

static void cleanup(struct eval *e)
{
    rs_free(e->in);
    ms_list_release(&e->res);
    mt_bin_release(&e->bin);
    st_release(&e->users);
    st_release(&e->itemtab);
    st_release(&e->segs);
    st_release(&e->arms);
    st_release(&e->groups);
    free(e->truth_start);
    free(e->truth_items);
    free(e->pop);
    free(e->user_seen);
    free(e->covered);
    free(e->sum_at);
    free(e->samp_sum);
    free(e->rel);
    free(e->posof);
    free(e->stamp);
    free(e->X);
    free(e->seg);
    free(e->uprows);
    free(e->uparm);
    free(e->mo);
    free(e->mrev);
    free(e->nonbinary);
    free(e->ols.v);
    free(e->ols.grp);
    free(e->fields);
    free(e->ks);
    free(e->tops);
    free(e->history);
    free(e->fail);
}

int main(int argc, char **argv)
{
    struct eval e;
    parse_options(&e, argc, argv);
    start(&e, argc - optind, argv + optind);
    while (e.in && rs_next(e.in))
        add_record(&e);
    finish(&e);
    int status = outputs(&e, argc - optind, argv + optind);
    cleanup(&e);
    return status;
}
