/* dtree: the criteria against hand-computed values, binning, split finding
 * against a brute-force search, trees that must learn their data exactly,
 * missing values, exact mode, uplift, pruning, honest estimates, forests
 * that do not depend on the number of threads, and the model stream. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "dtree.h"
#include "rng.h"
#include "stream.h"
#include "table.h"
#include "xalloc.h"

/* ---- helpers ------------------------------------------------------------- */

static char tmpdir[] = "/tmp/test_dtree.XXXXXX";

static char *tmp_path(const char *name)
{
    size_t n = strlen(tmpdir) + strlen(name) + 2;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s", tmpdir, name);
    return p;
}

/* A table from text: the first line names the fields, then one line per
 * row with values separated by commas: a number, nothing for nil, anything
 * else a string. */
static void table_from_text(struct tbl *t, const char *text)
{
    char *copy = xstrdup(text), *save = NULL;
    char *line = strtok_r(copy, "\n", &save);
    char *names[64];
    size_t nf = 0;
    for (char *p = line, *c; p; p = c ? c + 1 : NULL) {
        c = strchr(p, ',');
        if (c)
            *c = '\0';
        names[nf++] = p;
    }
    char *path = tmp_path("table.mpz");
    ws *w = ws_open(path, 0);
    ws_header(w, "examples");
    while ((line = strtok_r(NULL, "\n", &save))) {
        msgpack_packer *pk = ws_pk(w);
        msgpack_pack_map(pk, nf);
        char *p = line;
        for (size_t k = 0; k < nf; k++) {
            char *c = strchr(p, ',');
            if (c)
                *c = '\0';
            mp_pack_str(pk, names[k]);
            char *end;
            double v = strtod(p, &end);
            if (!*p)
                msgpack_pack_nil(pk);
            else if (!*end)
                msgpack_pack_double(pk, v);
            else
                mp_pack_str(pk, p);
            p = c ? c + 1 : p + strlen(p);
        }
        ws_end(w);
    }
    ws_close(w);
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, NULL);
    tbl_init(t, names, nf);
    tbl_load(t, r);
    rs_free(r);
    unlink(path);
    free(path);
    free(copy);
}

/* Fit m on t: the label (or treatment and outcome) and every other column
 * a feature. */
static void fit(struct dt_model *m, struct dt_data *d, const struct tbl *t, enum dt_task task,
                const char *label, const char *treatment, struct dt_params *p)
{
    dt_model_init(m);
    memset(d, 0, sizeof *d);
    m->task = task;
    m->crit = p->crit;
    m->label = xstrdup(label);
    m->treatment = treatment ? xstrdup(treatment) : NULL;
    struct dt_target_spec s = {.label = -1, .treatment = -1, .outcome = -1, .weight = -1,
                              .stratum = -1, .control = "control",
                              .balanced = p->balanced, .where = "test"};
    if (treatment) {
        s.treatment = tbl_col_index(t, treatment);
        s.outcome = tbl_col_index(t, label);
    } else {
        s.label = tbl_col_index(t, label);
    }
    size_t cols[64], nf = 0;
    for (size_t j = 0; j < t->ncols; j++)
        if ((long)j != s.label && (long)j != s.treatment && (long)j != s.outcome)
            cols[nf++] = j;
    dt_targets(m, d, t, &s, true);
    dt_features_from_tbl(m, d, t, cols, nf, p, "test");
    dt_fit(m, d, NULL, 0, NULL, p, false);
}

/* Row i of t as a model input (categorical levels mapped by name). */
static void row_input(const struct dt_model *m, const struct tbl *t, size_t i, double *x)
{
    for (size_t j = 0; j < m->nfeat; j++) {
        long c = tbl_col_index(t, m->feat[j].name);
        double v = tbl_row(t, i)[c];
        if (m->feat[j].cat && !isnan(v)) {
            const struct strmap *lv = &t->cols[c].levels;
            int64_t b = sm_find(&m->feat[j].levels, sm_key(lv, (uint32_t)v),
                                sm_len(lv, (uint32_t)v));
            v = b >= 0 ? (double)b : (double)dt_other_bin(&m->feat[j]);
        }
        x[j] = v;
    }
}

/* How many rows the model predicts exactly (class, or value within 1e-12). */
static size_t correct(const struct dt_model *m, const struct dt_data *d, const struct tbl *t)
{
    size_t ok = 0;
    double x[64], v[64];
    for (size_t i = 0; i < t->nrows; i++) {
        row_input(m, t, i, x);
        dt_predict(m, x, v);
        if (m->task == DT_CLASSIFY)
            ok += dt_class_of(m, v) == d->cls[i];
        else
            ok += fabs(v[0] - d->y[i]) < 1e-12;
    }
    return ok;
}

/* ---- criteria ------------------------------------------------------------ */

/* The divergence of arms of weights n[a] and outcome sums s[a] in one
 * stratum, the way fitting computes it: rates, then the divergence. */
static double divergence(enum dt_crit c, const double *n, const double *s, size_t narm,
                         double alpha, bool binary)
{
    double tot[16], w[8], r[8];
    for (size_t a = 0; a < narm; a++) {
        tot[2 * a] = n[a];
        tot[2 * a + 1] = s[a];
    }
    dt_uplift_arms(tot, narm, 1, binary, w, r);
    return dt_divergence_rates(c, r, narm, alpha, binary);
}

static void test_criteria(void)
{
    double w[] = {3, 1}, e[] = {2, 2};
    CHECK_NEAR(dt_impurity_mass(DT_GINI, w, 2), 4 - 10.0 / 4, 1e-12, "gini mass of (3, 1) is 1.5");
    CHECK_NEAR(dt_impurity_mass(DT_ENTROPY, e, 2), 4, 1e-12, "entropy mass of (2, 2) is 4 bits");
    CHECK_NEAR(dt_impurity_mass(DT_ENTROPY, w, 2),
               -3 * log2(0.75) - 1 * log2(0.25), 1e-12, "entropy mass of (3, 1)");

    /* One offer: control 2 of 10, offer 5 of 10; Laplace rates 0.25, 0.5. */
    double n[] = {10, 10}, s[] = {2, 5};
    double kl = 0.5 * log2(0.5 / 0.25) + 0.5 * log2(0.5 / 0.75);
    CHECK_NEAR(divergence(DT_KL, n, s, 2, 0.5, true), kl, 1e-12, "KL(offer : control)");
    CHECK_NEAR(divergence(DT_ED, n, s, 2, 0.5, true), 2 * 0.25 * 0.25, 1e-12,
               "squared Euclidean distance");
    CHECK_NEAR(divergence(DT_CHI, n, s, 2, 0.5, true), 0.0625 / 0.25 + 0.0625 / 0.75, 1e-12,
               "chi-squared divergence");
    double ym[] = {4, 10};   /* numeric outcome: means 0.4 and 1.0 */
    CHECK_NEAR(divergence(DT_ED, n, ym, 2, 0.5, false), 0.36, 1e-12, "ED of means");

    /* Two offers: alpha-weighted mean against the control and between offers. */
    double n3[] = {10, 10, 10}, s3[] = {2, 5, 8};
    double r0 = 3.0 / 12, r1 = 6.0 / 12, r2 = 9.0 / 12;
#define KL2(p, q) ((p) * log2((p) / (q)) + (1 - (p)) * log2((1 - (p)) / (1 - (q))))
    double want = 0.3 * (KL2(r1, r0) + KL2(r2, r0)) / 2 + 0.7 * (KL2(r1, r2) + KL2(r2, r1)) / 2;
    CHECK_NEAR(divergence(DT_KL, n3, s3, 3, 0.3, true), want, 1e-12,
               "multiple treatments: R&J's weighted divergence");

    /* Strata (slot = stratum * narm + arm; weight, outcome sum): campaign A
     * control 20 of 200, offer 120 of 800 (+0.05); B control 400 of 800,
     * offer 130 of 200 (+0.15); C offers only, no controls.  Weights
     * n_a n_c / (n_a + n_c): 160 and 160, so the offer's difference is 0.10,
     * its weight the 1000 rows of A and B, and the control's pooled. */
    double st[] = {200, 20, 800, 120, 800, 400, 200, 130, 0, 0, 300, 0};
    double sw, sn[2], sr[2];
    CHECK_NEAR(dt_stratum_diff(st, 2, 3, 1, &sw), 0.10, 1e-12, "strata: the weighted difference");
    CHECK_NEAR(sw, 1000, 0, "strata: the offer's rows where there are controls");
    dt_uplift_arms(st, 2, 3, true, sn, sr);
    CHECK_NEAR(sn[0], 1000, 0, "strata: the control's rows, pooled");
    CHECK_NEAR(sr[0], 421.0 / 1002, 1e-12, "strata: the control's Laplace rate, pooled");
    CHECK_NEAR(sr[1], 421.0 / 1002 + 0.10, 1e-12, "strata: the offer's rate is the control's plus");
    dt_uplift_arms(st, 2, 1, true, sn, sr);
    CHECK_NEAR(sr[1], 121.0 / 802, 1e-12, "one stratum: the offer's own Laplace rate");

    /* Normalisation, one offer (R&J 2010): control 6 left 4 right, offer 2 / 8. */
    double nl[] = {6, 2}, nr[] = {4, 8};
#define H2(x) (-(x) * log2(x) - (1 - (x)) * log2(1 - (x)))
#define G2(x) (2 * (x) * (1 - (x)))
    double iw = H2(0.5) * KL2(0.2, 0.6) + 0.5 * H2(0.2) + 0.5 * H2(0.6) + 0.5;
    CHECK_NEAR(dt_uplift_norm(DT_KL, nl, nr, 2, 0.5), iw, 1e-12, "I(A) for kl");
    double jw = G2(0.5) * 2 * 0.4 * 0.4 + 0.5 * G2(0.2) + 0.5 * G2(0.6) + 0.5;
    CHECK_NEAR(dt_uplift_norm(DT_ED, nl, nr, 2, 0.5), jw, 1e-12, "J(A) for ed");
}

/* ---- binning ------------------------------------------------------------- */

static void test_binning(void)
{
    struct tbl t;
    table_from_text(&t, "x,c,y\n"
                        "1,a,0\n2,a,0\n4,a,1\n4,b,1\n,b,0\n2,c,1\n1,d,0\n2,a,1\n"
                        "1,b,0\n2,c,1\n1,a,0\n2,b,1\n4,e,0\n1,a,1\n2,f,0\n4,a,1\n");
    struct dt_params p;
    dt_params_init(&p);
    p.bins = 4;
    struct dt_model m;
    struct dt_data d;
    dt_model_init(&m);
    memset(&d, 0, sizeof d);
    size_t cols[] = {0, 1};
    dt_features_from_tbl(&m, &d, &t, cols, 2, &p, "test");
    CHECK_EQ_INT(d.nbins[0], 3, "three distinct values, three bins");
    CHECK_NEAR(d.edges[0][0], 1.5, 0, "edges halfway between values");
    CHECK_NEAR(d.edges[0][1], 3, 0, "edges halfway between values (2)");
    CHECK_TRUE(m.feat[0].had_missing && !m.feat[1].had_missing, "missing values noticed");
    CHECK_EQ_INT(d.code[4 * 2], DT_MISSING, "missing is bin 255");
    CHECK_EQ_INT(d.code[2 * 2], 2, "4 is in the third bin");
    /* Levels a(6) b(4) c(2) d e f(1 each): 3 listed, the rest pooled. */
    CHECK_TRUE(m.feat[1].cat && m.feat[1].pooled, "more levels than bins: pooled");
    CHECK_EQ_INT(sm_count(&m.feat[1].levels), 3, "bins - 1 levels listed");
    CHECK_EQ_INT(sm_find(&m.feat[1].levels, "a", 1), 0, "the most frequent level first");
    CHECK_EQ_INT(d.code[6 * 2 + 1], 3, "a rare level is in the other bin");
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);

    /* Quantile bins over many values: bin <= b exactly when x <= edge[b]. */
    struct rng r;
    rng_init(&r, 5);
    char *text = xmalloc(2000 * 32);
    size_t len = (size_t)sprintf(text, "x,y\n");
    for (int i = 0; i < 2000; i++)
        len += (size_t)sprintf(text + len, "%.6f,%d\n", rng_normal(&r), i % 2);
    table_from_text(&t, text);
    free(text);
    p.bins = 16;
    dt_model_init(&m);
    memset(&d, 0, sizeof d);
    size_t c0[] = {0};
    dt_features_from_tbl(&m, &d, &t, c0, 1, &p, "test");
    CHECK_TRUE(d.nbins[0] >= 14 && d.nbins[0] <= 16, "at most --bins quantile bins");
    size_t bad = 0, lo = SIZE_MAX, hi = 0;
    size_t count[16] = {0};
    for (size_t i = 0; i < t.nrows; i++) {
        double x = tbl_row(&t, i)[0];
        unsigned c = d.code[i];
        count[c]++;
        for (unsigned b = 0; b + 1 < d.nbins[0]; b++)
            bad += (c <= b) != (x <= d.edges[0][b]);
    }
    for (unsigned b = 0; b < d.nbins[0]; b++) {
        lo = count[b] < lo ? count[b] : lo;
        hi = count[b] > hi ? count[b] : hi;
    }
    CHECK_EQ_INT(bad, 0, "codes agree with the edges");
    CHECK_TRUE(lo > 2000 / 16 / 2 && hi < 2000 / 16 * 2, "quantile bins are roughly equal");
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);
}

/* ---- split finding against brute force ----------------------------------- */

static double gini_gain(double l0, double l1, double r0, double r1)
{
    double wl[] = {l0, l1}, wr[] = {r0, r1}, wp[] = {l0 + r0, l1 + r1};
    return dt_impurity_mass(DT_GINI, wp, 2) - dt_impurity_mass(DT_GINI, wl, 2) -
           dt_impurity_mass(DT_GINI, wr, 2);
}

static void test_brute_force(void)
{
    struct rng r;
    rng_init(&r, 11);
    int worse = 0, trials = 20;
    for (int trial = 0; trial < trials; trial++) {
        enum { N = 120, F = 3 };
        double x[N][F];
        int y[N];
        char *text = xmalloc(N * 64);
        size_t len = (size_t)sprintf(text, "a,b,c,y\n");
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < F; j++)
                x[i][j] = rng_uniform(&r) < 0.1 ? NAN : (double)rng_below(&r, 12);
            double p = 0.2 + 0.6 * (x[i][0] > 5) - 0.3 * (x[i][1] < 3 || isnan(x[i][1]));
            y[i] = rng_uniform(&r) < p;
            for (int j = 0; j < F; j++)
                len += isnan(x[i][j]) ? (size_t)sprintf(text + len, ",")
                                      : (size_t)sprintf(text + len, "%g,", x[i][j]);
            len += (size_t)sprintf(text + len, "%d\n", y[i]);
        }
        struct tbl t;
        table_from_text(&t, text);
        free(text);
        struct dt_params p;
        dt_params_init(&p);
        p.max_depth = 1;
        p.min_leaf = 5;
        struct dt_model m;
        struct dt_data d;
        fit(&m, &d, &t, DT_CLASSIFY, "y", NULL, &p);
        /* Every threshold between distinct values, missing on either side. */
        double best = 0;
        for (int j = 0; j < F; j++)
            for (double thr = 0.5; thr < 11; thr += 1)
                for (int ml = 0; ml < 2; ml++) {
                    double c[2][2] = {{0}};
                    for (int i = 0; i < N; i++) {
                        bool left = isnan(x[i][j]) ? ml : x[i][j] <= thr;
                        c[left][y[i]] += 1;
                    }
                    if (c[1][0] + c[1][1] < 5 || c[0][0] + c[0][1] < 5)
                        continue;
                    double g = gini_gain(c[1][0], c[1][1], c[0][0], c[0][1]);
                    if (g > best)
                        best = g;
                }
        double got = m.trees[0].feature[0] >= 0 ? m.trees[0].gain[0] * N : 0;
        worse += fabs(got - best) > 1e-9;
        dt_data_release(&d);
        dt_model_release(&m);
        tbl_release(&t);
    }
    CHECK_EQ_INT(worse, 0, "the root split's gain is the best of an exhaustive search");
}

/* ---- trees that learn their data exactly ---------------------------------- */

static void test_exact_learning(void)
{
    struct tbl t;
    struct dt_params p;
    struct dt_model m;
    struct dt_data d;
    /* AND of two conditions, with a useless third. */
    char text[4096];
    size_t len = (size_t)sprintf(text, "a,b,noise,label\n");
    for (int k = 0; k < 40; k++) {
        int a = k & 1, b = (k >> 1) & 1;
        len += (size_t)sprintf(text + len, "%s,%d,%d,%s\n", a ? "on" : "off", b, k % 7,
                               a && b ? "yes" : "no");
    }
    table_from_text(&t, text);
    dt_params_init(&p);
    fit(&m, &d, &t, DT_CLASSIFY, "label", NULL, &p);
    CHECK_EQ_INT(correct(&m, &d, &t), 40, "a AND b learnt exactly");
    CHECK_EQ_INT(dt_tree_leaves(&m.trees[0]), 3, "in three leaves");
    CHECK_NEAR(m.importance[2], 0, 0, "the noise feature is never used");
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);

    /* Regression: a step plus a level's offset, learnt exactly. */
    len = (size_t)sprintf(text, "x,c,y\n");
    for (int k = 0; k < 60; k++) {
        int x = k % 10;
        const char *c = k % 3 == 0 ? "b" : "a";
        len += (size_t)sprintf(text + len, "%d,%s,%g\n", x, c, (x < 5 ? 3.0 : 7.5) + (*c == 'b'));
    }
    table_from_text(&t, text);
    dt_params_init(&p);
    p.crit = DT_MSE;
    fit(&m, &d, &t, DT_REGRESS, "y", NULL, &p);
    CHECK_EQ_INT(correct(&m, &d, &t), 60, "a step plus a level learnt exactly");
    CHECK_EQ_INT(dt_tree_leaves(&m.trees[0]), 4, "in four leaves");
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);

    /* Missing values learn their direction: missing x behaves like large x. */
    len = (size_t)sprintf(text, "x,y\n");
    for (int k = 0; k < 50; k++) {
        if (k % 5 == 0)
            len += (size_t)sprintf(text + len, ",1\n");
        else
            len += (size_t)sprintf(text + len, "%d,%d\n", k % 10, k % 10 >= 6);
    }
    table_from_text(&t, text);
    dt_params_init(&p);
    fit(&m, &d, &t, DT_CLASSIFY, "y", NULL, &p);
    CHECK_EQ_INT(correct(&m, &d, &t), 50, "missing values sent the right way");
    const struct dt_tree *tr = &m.trees[0];
    CHECK_TRUE(tr->feature[0] == 0 && !tr->miss_left[0] && tr->threshold[0] == 5,
               "split x <= 5 (between 4 and 6), missing right");
    double xm[] = {NAN}, v[2];
    dt_predict(&m, xm, v);
    CHECK_EQ_INT(dt_class_of(&m, v), 1, "a missing value at scoring follows");
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);
}

/* Exact mode and binned mode agree when every value has its own bin. */
static void test_exact_mode(void)
{
    struct rng r;
    rng_init(&r, 3);
    char *text = xmalloc(400 * 48);
    size_t len = (size_t)sprintf(text, "u,v,y\n");
    for (int i = 0; i < 400; i++) {
        double u = (double)rng_below(&r, 60) / 4, v = (double)rng_below(&r, 30);
        len += (size_t)sprintf(text + len, "%g,%g,%d\n", u, v,
                               (u > 7 && v < 20) || rng_uniform(&r) < 0.1);
    }
    struct tbl t;
    table_from_text(&t, text);
    free(text);
    struct dt_params p;
    dt_params_init(&p);
    p.max_depth = 5;
    struct dt_model a, b;
    struct dt_data da, db;
    fit(&a, &da, &t, DT_CLASSIFY, "y", NULL, &p);
    p.exact = true;
    fit(&b, &db, &t, DT_CLASSIFY, "y", NULL, &p);
    /* Thresholds may differ (exact mode cuts between the node's values,
     * bins between the data's) but not the partition of the rows. */
    const struct dt_tree *ta = &a.trees[0], *tb = &b.trees[0];
    bool same = ta->nnodes == tb->nnodes;
    for (size_t i = 0; same && i < ta->nnodes; i++)
        same = ta->feature[i] == tb->feature[i] && ta->count[i] == tb->count[i] &&
               memcmp(ta->value + i * 2, tb->value + i * 2, 2 * sizeof(double)) == 0;
    CHECK_TRUE(same, "exact mode grows the same tree as 255 bins over 60 values");
    CHECK_TRUE(ta->nnodes > 7, "a tree of some size");
    dt_data_release(&da);
    dt_data_release(&db);
    dt_model_release(&a);
    dt_model_release(&b);
    tbl_release(&t);
}

/* ---- uplift -------------------------------------------------------------- */

static char *uplift_text(uint64_t seed, int n)
{
    struct rng r;
    rng_init(&r, seed);
    char *text = xmalloc((size_t)n * 64 + 32);
    size_t len = (size_t)sprintf(text, "x,z,u,v,arm,y\n");
    for (int i = 0; i < n; i++) {
        double x = rng_uniform(&r), z = rng_uniform(&r), u = rng_uniform(&r);
        int v = (int)rng_below(&r, 5);
        bool treated = rng_uniform(&r) < 0.5;
        double p = 0.1 + 0.5 * (z > 0.7) + (treated ? 0.3 * (x > 0.5) : 0);
        len += (size_t)sprintf(text + len, "%.4f,%.4f,%.3f,%d,%s,%d\n", x, z, u, v,
                               treated ? "offer" : "control", rng_uniform(&r) < p);
    }
    return text;
}

static void test_uplift(void)
{
    char *text = uplift_text(9, 6000);
    struct tbl t;
    table_from_text(&t, text);
    free(text);
    enum dt_crit crits[] = {DT_KL, DT_ED, DT_CHI};
    for (int c = 0; c < 3; c++) {
        struct dt_params p;
        dt_params_init(&p);
        p.crit = crits[c];
        p.max_depth = 1;
        p.min_leaf = 50;
        struct dt_model m;
        struct dt_data d;
        fit(&m, &d, &t, DT_UPLIFT, "y", "arm", &p);
        const struct dt_tree *tr = &m.trees[0];
        char what[80];
        snprintf(what, sizeof what, "%s: the root splits x near 0.5, not z",
                 dt_crit_names[crits[c]]);
        CHECK_TRUE(tr->feature[0] == 0 && fabs(tr->threshold[0] - 0.5) < 0.03, what);
        const double *hi = tr->value + (size_t)tr->right[0] * m.nval;
        const double *lo = tr->value + (size_t)tr->left[0] * m.nval;
        snprintf(what, sizeof what, "%s: leaf uplifts near 0.3 and 0", dt_crit_names[crits[c]]);
        CHECK_TRUE(fabs(hi[1] - hi[0] - 0.3) < 0.05 && fabs(lo[1] - lo[0]) < 0.05, what);
        CHECK_EQ_INT(m.narm, 2, "two arms");
        CHECK_EQ_STR(m.arm_names[0], "control", "arm 0 is the control");
        dt_data_release(&d);
        dt_model_release(&m);
    }
    /* Honest estimates come from the other half. */
    struct dt_params p;
    dt_params_init(&p);
    p.crit = DT_KL;
    p.max_depth = 2;
    p.min_leaf = 50;
    p.honest = true;
    struct dt_model m;
    struct dt_data d;
    fit(&m, &d, &t, DT_UPLIFT, "y", "arm", &p);
    CHECK_TRUE(fabs(m.trees[0].count[0] - 3000) < 200, "honest: half the rows estimate the values");
    double sum = 0;
    for (size_t i = 1; i < m.trees[0].nnodes; i++)
        if (m.trees[0].feature[i] < 0)
            sum += m.trees[0].count[i];
    CHECK_NEAR(sum, m.trees[0].count[0], 0, "honest: the leaves add up to the root");
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);
}

/* ---- pruning --------------------------------------------------------------- */

static void test_pruning(void)
{
    struct rng r;
    rng_init(&r, 21);
    char *text = xmalloc(3000 * 32);
    size_t len = (size_t)sprintf(text, "x,w,y\n");
    for (int i = 0; i < 3000; i++) {
        double x = rng_uniform(&r), w = rng_uniform(&r);
        int y = (x > 0.5) ^ (rng_uniform(&r) < 0.2);
        len += (size_t)sprintf(text + len, "%.5f,%.5f,%d\n", x, w, y);
    }
    struct tbl t;
    table_from_text(&t, text);
    free(text);
    struct dt_params p;
    dt_params_init(&p);
    p.max_depth = 10;
    struct dt_model m;
    struct dt_data d;
    fit(&m, &d, &t, DT_CLASSIFY, "y", NULL, &p);
    size_t full = dt_tree_leaves(&m.trees[0]);
    /* Refit on the first 2000 rows, pruned against the last 1000. */
    uint32_t rows[2000], vrows[1000];
    for (uint32_t i = 0; i < 3000; i++) {
        if (i < 2000)
            rows[i] = i;
        else
            vrows[i - 2000] = i;
    }
    struct dt_data v;
    dt_data_subset(&v, &d, vrows, 1000);
    struct dt_model pm;
    dt_model_init(&pm);
    pm.task = m.task;
    pm.crit = m.crit;
    pm.label = xstrdup("y");
    pm.nclass = m.nclass;
    pm.class_names = xcalloc(3, sizeof *pm.class_names);
    pm.class_names[0] = xstrdup(m.class_names[0]);
    pm.class_names[1] = xstrdup(m.class_names[1]);
    pm.nfeat = m.nfeat;
    pm.feat = xcalloc(m.nfeat, sizeof *pm.feat);
    for (size_t j = 0; j < m.nfeat; j++)
        pm.feat[j].name = xstrdup(m.feat[j].name);
    dt_fit(&pm, &d, rows, 2000, &v, &p, false);
    size_t pruned = dt_tree_leaves(&pm.trees[0]);
    CHECK_TRUE(full > 20, "unpruned, the noise is learnt");
    CHECK_TRUE(pruned >= 2 && pruned <= 8, "pruned against validation: a few leaves");
    CHECK_TRUE(pm.trees[0].feature[0] == 0 && fabs(pm.trees[0].threshold[0] - 0.5) < 0.03,
               "the pruned tree keeps the real split");
    dt_data_release(&v);
    dt_model_release(&pm);
    dt_data_release(&d);
    dt_model_release(&m);
    tbl_release(&t);
}

/* ---- forests and the model stream ----------------------------------------- */

static bool same_trees(const struct dt_model *a, const struct dt_model *b)
{
    if (a->ntree != b->ntree)
        return false;
    for (size_t k = 0; k < a->ntree; k++) {
        const struct dt_tree *x = &a->trees[k], *y = &b->trees[k];
        if (x->nnodes != y->nnodes || x->ncats != y->ncats ||
            memcmp(x->feature, y->feature, x->nnodes * sizeof *x->feature) ||
            memcmp(x->threshold, y->threshold, x->nnodes * sizeof *x->threshold) ||
            memcmp(x->value, y->value, x->nnodes * x->nval * sizeof *x->value) ||
            memcmp(x->cats, y->cats, x->ncats) ||
            memcmp(x->miss_left, y->miss_left, x->nnodes))
            return false;
    }
    return true;
}

static void test_forest_and_stream(void)
{
    char *text = uplift_text(4, 3000);
    struct tbl t;
    table_from_text(&t, text);
    free(text);
    struct dt_params p;
    dt_params_init(&p);
    p.crit = DT_ED;
    p.min_leaf = 10;
    p.trees = 7;
    p.max_features = 2;
    p.threads = 1;
    struct dt_model a, b;
    struct dt_data da, db;
    fit(&a, &da, &t, DT_UPLIFT, "y", "arm", &p);
    p.threads = 3;
    fit(&b, &db, &t, DT_UPLIFT, "y", "arm", &p);
    CHECK_TRUE(same_trees(&a, &b), "a forest is the same on 1 and 3 threads");
    CHECK_TRUE(a.trees[0].nnodes != a.trees[1].nnodes ||
               memcmp(a.trees[0].threshold, a.trees[1].threshold,
                      a.trees[0].nnodes * sizeof(double)) != 0,
               "the trees of a forest differ");

    /* Write and read back: the same trees and predictions. */
    char *path = tmp_path("model.mpz");
    ws *w = ws_open(path, 1);
    ws_opt_int(w, "model_version", DT_MODEL_VERSION);
    ws_header(w, "model/dtree");
    dt_write(&a, w);
    ws_close(w);
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, "model/dtree");
    struct dt_model c;
    dt_read(&c, r);
    rs_free(r);
    CHECK_TRUE(same_trees(&a, &c), "the model stream round-trips");
    double x[4], va[8], vc[8];
    size_t diff = 0;
    for (size_t i = 0; i < t.nrows; i++) {
        row_input(&a, &t, i, x);
        dt_predict(&a, x, va);
        dt_predict(&c, x, vc);
        diff += memcmp(va, vc, a.nval * sizeof *va) != 0;
    }
    CHECK_EQ_INT(diff, 0, "and predicts the same");
    CHECK_EQ_STR(c.arm_names[1], "offer", "arm names survive");
    unlink(path);
    free(path);
    dt_model_release(&c);
    dt_data_release(&da);
    dt_data_release(&db);
    dt_model_release(&a);
    dt_model_release(&b);
    tbl_release(&t);
}

int main(void)
{
    diag_init("test_dtree");
    if (!mkdtemp(tmpdir))
        return 1;
    test_criteria();
    test_binning();
    test_brute_force();
    test_exact_learning();
    test_exact_mode();
    test_uplift();
    test_pruning();
    test_forest_and_stream();
    rmdir(tmpdir);
    return check_done();
}
