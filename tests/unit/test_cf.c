/* Tests of the recommender library (common/cf*.c): the sparse rows and
 * columns, each algorithm against an independent computation (Cholesky
 * against conjugate gradient, SGD steps against finite differences, EASE
 * against its optimality condition, item-kNN against brute force), top-K
 * against a full sort, the model's save and load, determinism across
 * thread counts, and the ranker's fallbacks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cf.h"
#include "check.h"
#include "diag.h"
#include "linalg.h"
#include "rng.h"
#include "stream.h"
#include "xalloc.h"

/* A planted data set: nu users in ng groups, each group prefers its own
 * block of items; each user takes per items, mostly from its block. */
static void planted(struct cf_data *d, uint32_t nu, uint32_t ni, int ng, int per, uint64_t seed)
{
    cf_data_init(d);
    struct rng r;
    rng_init(&r, seed);
    char buf[32];
    for (uint32_t u = 0; u < nu; u++) {
        snprintf(buf, sizeof buf, "u%u", u);
        CHECK(sm_intern(&d->users.map, buf, strlen(buf)) == u);
    }
    for (uint32_t i = 0; i < ni; i++) {
        snprintf(buf, sizeof buf, "%u", i + 1);
        CHECK(sm_intern(&d->items.map, buf, strlen(buf)) == i);
    }
    d->users.all_int = false;
    uint32_t block = ni / (uint32_t)ng;
    for (uint32_t u = 0; u < nu; u++) {
        uint32_t g = u % (uint32_t)ng;
        for (int k = 0; k < per; k++) {
            uint32_t i = rng_uniform(&r) < 0.85 ? g * block + (uint32_t)rng_below(&r, block)
                                                : (uint32_t)rng_below(&r, ni);
            cf_data_push(d, u, i, (float)(1 + rng_below(&r, 3)));
        }
    }
    cf_data_build(d, nu, ni, false);
}

/* ---- sparse rows and columns --------------------------------------------------- */

static void test_build(void)
{
    struct cf_data d;
    cf_data_init(&d);
    /* (user, item, value) with repeats of (0, 2) and (1, 0) */
    cf_data_push(&d, 0, 2, 1);
    cf_data_push(&d, 1, 0, 2);
    cf_data_push(&d, 0, 1, 4);
    cf_data_push(&d, 0, 2, 3);
    cf_data_push(&d, 1, 0, 5);
    cf_data_push(&d, 2, 2, 1);
    cf_data_build(&d, 4, 3, false);
    CHECK_EQ_INT(d.nnz, 4, "build: repeats merged into 4 pairs");
    CHECK_EQ_INT(d.duplicates, 2, "build: 2 repeats counted");
    uint64_t rowp[] = {0, 2, 3, 4, 4};
    uint32_t rowi[] = {1, 2, 0, 2};
    float rowv[] = {4, 4, 7, 1};
    bool ok = true;
    for (int k = 0; k < 5; k++)
        ok &= d.rowp[k] == rowp[k];
    for (int k = 0; k < 4; k++)
        ok &= d.rowi[k] == rowi[k] && d.rowv[k] == rowv[k];
    CHECK_TRUE(ok, "build: rows sorted by item, repeats summed, an empty last user");
    uint64_t colp[] = {0, 1, 2, 4};
    uint32_t colu[] = {1, 0, 0, 2};
    float colv[] = {7, 4, 4, 1};
    ok = true;
    for (int k = 0; k < 4; k++)
        ok &= d.colp[k] == colp[k];
    for (int k = 0; k < 4; k++)
        ok &= d.colu[k] == colu[k] && d.colv[k] == colv[k];
    CHECK_TRUE(ok, "build: columns with users ascending");
    CHECK_NEAR(d.vmean, 4, 1e-12, "build: mean of the pair values");
    cf_data_release(&d);

    cf_data_init(&d);
    cf_data_push(&d, 0, 0, 4);
    cf_data_push(&d, 0, 0, 2);
    cf_data_build(&d, 1, 1, true);
    CHECK_TRUE(d.nnz == 1 && d.rowv[0] == 3, "build: ratings of a repeated pair averaged");
    cf_data_release(&d);

    /* A long row goes through the heap sort. */
    cf_data_init(&d);
    for (uint32_t i = 0; i < 100; i++)
        cf_data_push(&d, 0, (i * 37) % 100, (float)i);
    cf_data_build(&d, 1, 100, false);
    ok = d.nnz == 100;
    for (uint32_t i = 0; i < 100 && ok; i++)
        ok = d.rowi[i] == i && d.rowv[i] == (float)((i * 73) % 100);
    CHECK_TRUE(ok, "build: a row of 100 entries sorted with its values");
    cf_data_release(&d);
}

/* ---- als -------------------------------------------------------------------------- */

static void test_als(void)
{
    struct cf_data d;
    planted(&d, 60, 40, 4, 8, 3);
    int f = 6;
    struct cf_opts o;
    cf_opts_default(&o, CF_ALS);
    o.factors = f;
    o.reg = 0.5;
    o.alpha = 2;
    o.threads = 2;
    struct rng r;
    rng_init(&r, 9);
    float *Y = xmalloc((size_t)d.nitems * f * sizeof *Y);
    float *X0 = xmalloc((size_t)d.nusers * f * sizeof *X0);
    for (size_t k = 0; k < (size_t)d.nitems * f; k++)
        Y[k] = (float)rng_normal(&r);
    for (size_t k = 0; k < (size_t)d.nusers * f; k++)
        X0[k] = (float)(0.1 * rng_normal(&r));
    float *Xc = xmalloc((size_t)d.nusers * f * sizeof *Xc);
    float *Xg = xmalloc((size_t)d.nusers * f * sizeof *Xg);
    memcpy(Xc, X0, (size_t)d.nusers * f * sizeof *Xc);
    memcpy(Xg, X0, (size_t)d.nusers * f * sizeof *Xg);
    o.cg_steps = 0;
    cf_als_solve(Xc, Y, f, d.nusers, d.nitems, d.rowp, d.rowi, d.rowv, &o);
    o.cg_steps = 3 * f;
    cf_als_solve(Xg, Y, f, d.nusers, d.nitems, d.rowp, d.rowi, d.rowv, &o);
    double maxdiff = 0, maxx = 0;
    for (size_t k = 0; k < (size_t)d.nusers * f; k++) {
        maxdiff = fmax(maxdiff, fabs(Xc[k] - Xg[k]));
        maxx = fmax(maxx, fabs(Xc[k]));
    }
    CHECK_TRUE(maxdiff <= 2e-3 * maxx, "als: conjugate gradient converges to the Cholesky solution");

    /* The Cholesky solution satisfies the normal equations, checked in
     * double from the definition. */
    double worst = 0;
    for (uint32_t u = 0; u < d.nusers; u++) {
        for (int a = 0; a < f; a++) {
            double lhs = o.reg * Xc[(size_t)u * f + a], rhs = 0;
            for (uint32_t i = 0; i < d.nitems; i++) {
                double c = 1, p = 0;
                for (uint64_t e = d.rowp[u]; e < d.rowp[u + 1]; e++)
                    if (d.rowi[e] == i)
                        c = 1 + o.alpha * d.rowv[e], p = 1;
                double s = 0;
                for (int b = 0; b < f; b++)
                    s += (double)Y[(size_t)i * f + b] * Xc[(size_t)u * f + b];
                lhs += c * s * Y[(size_t)i * f + a];
                rhs += c * p * Y[(size_t)i * f + a];
            }
            worst = fmax(worst, fabs(lhs - rhs) / (1 + fabs(rhs)));
        }
    }
    CHECK_TRUE(worst < 1e-3, "als: (Y'CY + reg I) x = Y'Cp holds for every user");

    /* Exact alternating steps never raise the objective. */
    struct cf_model m;
    cf_model_init(&m);
    cf_model_alloc(&m, d.nusers, d.nitems, f);
    o.cg_steps = 0;
    o.iters = 1;
    o.init_std = 0.1;
    cf_als_train(&m, &d, &o, NULL, NULL);
    double prev = cf_als_loss(&m, &d, &o);
    bool down = true;
    for (int it = 0; it < 5; it++) {
        cf_als_solve(m.U, m.V, f, d.nusers, d.nitems, d.rowp, d.rowi, d.rowv, &o);
        cf_als_solve(m.V, m.U, f, d.nitems, d.nusers, d.colp, d.colu, d.colv, &o);
        double l = cf_als_loss(&m, &d, &o);
        down &= l <= prev * (1 + 1e-6);
        prev = l;
    }
    CHECK_TRUE(down, "als: the objective falls at every iteration (Cholesky)");
    cf_model_release(&m);
    free(Y);
    free(X0);
    free(Xc);
    free(Xg);
    cf_data_release(&d);
}

/* ---- SGD steps against finite differences -------------------------------------------- */

static double mf_objective(const float *p, const float *q, float bu, float bi, float r, int f,
                           double reg, double regb)
{
    double s = bu + bi, n2 = 0;
    for (int k = 0; k < f; k++) {
        s += (double)p[k] * q[k];
        n2 += (double)p[k] * p[k] + (double)q[k] * q[k];
    }
    double e = r - s;
    return e * e / 2 + reg / 2 * n2 + regb / 2 * ((double)bu * bu + (double)bi * bi);
}

static double bpr_objective(const float *x, const float *yi, const float *yj, float bi, float bj,
                            int f, double reg, double regb)
{
    double z = bi - bj, n2 = 0;
    for (int k = 0; k < f; k++) {
        z += (double)x[k] * (yi[k] - yj[k]);
        n2 += (double)x[k] * x[k] + (double)yi[k] * yi[k] + (double)yj[k] * yj[k];
    }
    return -log1p(exp(-z)) - reg / 2 * n2 - regb / 2 * ((double)bi * bi + (double)bj * bj);
}

static void test_sgd_steps(void)
{
    enum { F = 5 };
    struct rng r;
    rng_init(&r, 4);
    /* mf: theta = (p, q, bu, bi); the step is -lr * grad at the old values. */
    float th[2 * F + 2], old[2 * F + 2], scratch[F];
    for (int k = 0; k < 2 * F + 2; k++)
        th[k] = old[k] = (float)(0.5 * rng_normal(&r));
    float lr = 1e-3f, reg = 0.3f, regb = 0.2f, rating = 1.7f;
    cf_mf_step(th, th + F, th + 2 * F, th + 2 * F + 1, rating, F, lr, reg, regb, scratch);
    double worst = 0;
    for (int k = 0; k < 2 * F + 2; k++) {
        float a[2 * F + 2], b[2 * F + 2];
        memcpy(a, old, sizeof a);
        memcpy(b, old, sizeof b);
        double h = 1e-3;
        a[k] += (float)h;
        b[k] -= (float)h;
        double ga = mf_objective(a, a + F, a[2 * F], a[2 * F + 1], rating, F, reg, regb);
        double gb = mf_objective(b, b + F, b[2 * F], b[2 * F + 1], rating, F, reg, regb);
        double grad = (ga - gb) / ((double)a[k] - b[k]);
        double step = ((double)th[k] - old[k]) / lr;
        worst = fmax(worst, fabs(step + grad) / (1 + fabs(grad)));
    }
    CHECK_TRUE(worst < 5e-3, "mf: an SGD step is -lr times the finite-difference gradient");

    /* bpr: theta = (x, yi, yj, bi, bj); the step climbs the gradient. */
    float tb[3 * F + 2], ob[3 * F + 2];
    for (int k = 0; k < 3 * F + 2; k++)
        tb[k] = ob[k] = (float)(0.5 * rng_normal(&r));
    cf_bpr_step(tb, tb + F, tb + 2 * F, tb + 3 * F, tb + 3 * F + 1, F, lr, reg, regb, scratch);
    worst = 0;
    for (int k = 0; k < 3 * F + 2; k++) {
        float a[3 * F + 2], b[3 * F + 2];
        memcpy(a, ob, sizeof a);
        memcpy(b, ob, sizeof b);
        a[k] += 1e-3f;
        b[k] -= 1e-3f;
        double ga = bpr_objective(a, a + F, a + 2 * F, a[3 * F], a[3 * F + 1], F, reg, regb);
        double gb = bpr_objective(b, b + F, b + 2 * F, b[3 * F], b[3 * F + 1], F, reg, regb);
        double grad = (ga - gb) / ((double)a[k] - b[k]);
        double step = ((double)tb[k] - ob[k]) / lr;
        worst = fmax(worst, fabs(step - grad) / (1 + fabs(grad)));
    }
    CHECK_TRUE(worst < 5e-3, "bpr: an SGD step is +lr times the finite-difference gradient");
}

/* ---- ease ------------------------------------------------------------------------------- */

static void test_ease(void)
{
    struct cf_data d;
    planted(&d, 50, 12, 3, 5, 5);
    struct cf_opts o;
    cf_opts_default(&o, CF_EASE);
    o.lambda = 3;
    o.threads = 3;
    struct cf_model m;
    cf_model_init(&m);
    cf_model_alloc(&m, d.nusers, d.nitems, 0);
    cf_ease_train(&m, &d, &o);
    size_t n = d.nitems;
    /* G = X'X from the rows, in double */
    double *G = xcalloc(n * n, sizeof *G);
    for (uint32_t u = 0; u < d.nusers; u++)
        for (uint64_t a = d.rowp[u]; a < d.rowp[u + 1]; a++)
            for (uint64_t b = d.rowp[u]; b < d.rowp[u + 1]; b++)
                G[d.rowi[a] * n + d.rowi[b]] += (double)d.rowv[a] * d.rowv[b];
    /* Optimality: off the diagonal, ((G + lambda I) B - G)_ij = 0. */
    double worst = 0, diag = 0;
    for (size_t i = 0; i < n; i++) {
        diag = fmax(diag, fabs(m.B[i * n + i]));
        for (size_t j = 0; j < n; j++) {
            if (i == j)
                continue;
            double s = o.lambda * m.B[i * n + j] - G[i * n + j];
            for (size_t k = 0; k < n; k++)
                s += G[i * n + k] * m.B[k * n + j];
            worst = fmax(worst, fabs(s) / (1 + fabs(G[i * n + j])));
        }
    }
    CHECK_TRUE(diag == 0, "ease: the diagonal of B is zero");
    CHECK_TRUE(worst < 1e-3, "ease: the off-diagonal gradient of the objective vanishes");
    free(G);
    cf_model_release(&m);
    cf_data_release(&d);
}

/* ---- itemknn ------------------------------------------------------------------------------ */

static void test_knn(void)
{
    struct cf_data d;
    planted(&d, 40, 15, 3, 6, 6);
    struct cf_opts o;
    cf_opts_default(&o, CF_ITEMKNN);
    o.neighbours = 4;
    o.shrink = 2;
    o.threads = 2;
    struct cf_model m;
    cf_model_init(&m);
    cf_model_alloc(&m, d.nusers, d.nitems, 0);
    cf_knn_train(&m, &d, &o);
    size_t n = d.nitems;
    bool ok = true;
    for (size_t a = 0; a < n && ok; a++) {
        /* brute force: every other item's cosine, best first */
        double sim[64];
        for (size_t b = 0; b < n; b++) {
            double dot = 0, na = 0, nb = 0;
            for (uint32_t u = 0; u < d.nusers; u++) {
                double xa = 0, xb = 0;
                for (uint64_t e = d.rowp[u]; e < d.rowp[u + 1]; e++) {
                    xa += d.rowi[e] == a ? d.rowv[e] : 0;
                    xb += d.rowi[e] == b ? d.rowv[e] : 0;
                }
                dot += xa * xb;
                na += xa * xa;
                nb += xb * xb;
            }
            sim[b] = b == a || dot == 0 ? -1 : dot / (sqrt(na) * sqrt(nb) + o.shrink);
        }
        uint64_t lo = m.nbrp[a], hi = m.nbrp[a + 1];
        ok &= hi - lo <= 4;
        for (uint64_t q = lo; q < hi && ok; q++) {
            uint32_t b = m.nbri[q];
            ok &= fabs(m.nbrs[q] - sim[b]) < 1e-5;
            /* nothing left out is better (ties: lower index first) */
            for (size_t c = 0; c < n; c++) {
                bool kept = false;
                for (uint64_t t = lo; t < hi; t++)
                    kept |= m.nbri[t] == c;
                if (!kept && sim[c] >= 0)
                    ok &= sim[c] < sim[b] - 1e-9 || (fabs(sim[c] - sim[b]) < 1e-9 && c > b);
            }
        }
    }
    CHECK_TRUE(ok, "itemknn: each item keeps its best cosines, as computed by brute force");
    cf_model_release(&m);
    cf_data_release(&d);
}

/* ---- top-K -------------------------------------------------------------------------------- */

static void test_topk(void)
{
    struct rng r;
    rng_init(&r, 8);
    bool ok = true;
    for (int trial = 0; trial < 200 && ok; trial++) {
        uint32_t n = 1 + (uint32_t)rng_below(&r, 60);
        int k = 1 + (int)rng_below(&r, 12);
        float s[64];
        for (uint32_t i = 0; i < n; i++) {
            double u = rng_uniform(&r);
            s[i] = u < 0.1 ? -INFINITY : (float)rng_below(&r, 8);   /* many ties */
        }
        uint32_t idx[16];
        float val[16];
        int got = cf_topk(idx, val, s, n, k);
        /* reference: selection by repeated scans */
        uint8_t used[64] = {0};
        int want = 0;
        for (int t = 0; t < k; t++) {
            int best = -1;
            for (uint32_t i = 0; i < n; i++)
                if (!used[i] && s[i] != -INFINITY && (best < 0 || s[i] > s[best]))
                    best = (int)i;
            if (best < 0)
                break;
            used[best] = 1;
            ok &= t < got && idx[t] == (uint32_t)best && val[t] == s[best];
            want++;
        }
        ok &= got == want;
    }
    CHECK_TRUE(ok, "topk: the k best, ties by lower index, -inf skipped, as a full scan finds");
}

/* ---- content ------------------------------------------------------------------------------ */

/* Write records to a temporary stream file and open it for reading. */
static rs *stream_of(const char *path, const char *const *jsonish, int n,
                     void (*pack)(msgpack_packer *, int))
{
    (void)jsonish;
    ws *w = ws_open(path, 0);
    ws_header(w, "items");
    for (int i = 0; i < n; i++) {
        pack(ws_pk(w), i);
        ws_end(w);
    }
    ws_close(w);
    const char *paths[] = {path};
    return rs_open(paths, 1, NULL);
}

/* item i: category (i % 3), price i + 1, tags ["t", "t<i%2>"] */
static void pack_item(msgpack_packer *pk, int i)
{
    char buf[16];
    msgpack_pack_map(pk, 4);
    mp_pack_str(pk, "item");
    msgpack_pack_int(pk, i + 1);
    mp_pack_str(pk, "category");
    snprintf(buf, sizeof buf, "c%d", i % 3);
    mp_pack_str(pk, buf);
    mp_pack_str(pk, "price");
    msgpack_pack_double(pk, i + 1);
    mp_pack_str(pk, "title");
    mp_pack_str(pk, i % 2 ? "Red SHOES, red!" : "blue hat");
}

static void test_content(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/items.mpz", dir);
    rs *r = stream_of(path, NULL, 6, pack_item);
    int na;
    struct cf_attr *attrs = cf_attrs_parse("category,price:band,title:text", &na);
    CHECK_TRUE(na == 3 && attrs[1].type == CF_ATTR_BAND && attrs[2].type == CF_ATTR_TEXT,
               "content: attribute specs parsed");
    struct cf_ids items;
    cf_ids_init(&items);
    struct cf_content_src *src = cf_content_read(r, "item", attrs, na, &items);
    rs_free(r);
    CHECK_EQ_INT(cf_ids_count(&items), 6, "content: six items read");
    struct cf_opts o;
    cf_opts_default(&o, CF_CONTENT);
    o.bands = 2;
    struct cf_model m;
    cf_model_init(&m);
    cf_content_build(&m, src, 7, &o);   /* a seventh item without attributes */
    /* features: c0 c1 c2, red shoes blue hat, two price bands */
    CHECK_EQ_INT(m.d, 3 + 4 + 2, "content: 3 levels, 4 words, 2 bands");
    bool unit = true;
    for (int i = 0; i < 6; i++)
        unit &= fabs(sqrt(la_naive_sdot(m.C + (size_t)i * m.d, m.C + (size_t)i * m.d, m.d)) - 1) < 1e-6;
    CHECK_TRUE(unit, "content: item vectors have unit length");
    CHECK_TRUE(la_naive_sdot(m.C + 6 * (size_t)m.d, m.C + 6 * (size_t)m.d, m.d) == 0,
               "content: an item without attributes has a zero vector");
    /* item 0 (c0, blue hat, low band) shares words and a band with item 2,
     * words only with item 4, nothing with item 5 (c2, red shoes, high) */
    double c02 = la_naive_sdot(m.C, m.C + 2 * (size_t)m.d, m.d);
    double c04 = la_naive_sdot(m.C, m.C + 4 * (size_t)m.d, m.d);
    double c05 = la_naive_sdot(m.C, m.C + 5 * (size_t)m.d, m.d);
    CHECK_TRUE(c02 > c04 && c04 > 0 && c05 == 0, "content: cosines follow the shared attributes");
    /* idf = ln(7/3) + 1 for a category level held by 2 of 6 items */
    int col = -1;
    for (int k = 0; k < m.d; k++)
        if (strcmp(m.feat[k], "category=c0") == 0)
            col = k;
    double norm = 0;
    double w_cat = log(7.0 / 3) + 1, w_word = log(7.0 / 4) + 1, w_band = log(7.0 / 4) + 1;
    norm = sqrt(w_cat * w_cat + 2 * w_word * w_word + w_band * w_band);
    CHECK_TRUE(col >= 0 && fabs(m.C[col] - w_cat / norm) < 1e-6,
               "content: a level weighs ln((1+N)/(1+df)) + 1 before scaling");
    cf_content_src_free(src);
    cf_model_release(&m);
    cf_ids_release(&items);
    cf_attrs_free(attrs, na);
}

/* ---- models: training, save/load, determinism, ranking ----------------------------------------- */

static struct cf_model *train(const struct cf_data *d0, enum cf_algo algo, int threads)
{
    /* a private copy of the data, since the model takes its ids */
    struct cf_data d;
    planted(&d, d0->nusers, d0->nitems, 4, 10, 11);
    struct cf_opts o;
    cf_opts_default(&o, algo);
    o.factors = 8;
    o.iters = 4;
    o.threads = threads;
    o.reg = algo == CF_ALS ? 1 : o.reg;
    if (algo == CF_BPR) {
        o.iters = 300;
        o.lr = 0.1;
        o.init_std = 0.1;
        o.reg = 0.01;
    }
    o.neighbours = 10;
    o.lambda = 10;
    struct cf_model *m = xcalloc(1, sizeof *m);
    cf_model_init(m);
    cf_model_alloc(m, d.nusers, d.nitems, cf_algo_factored(algo) ? o.factors : 0);
    m->algo = algo;
    m->opts = o;
    m->user_field = xstrdup("user");
    m->item_field = xstrdup("item");
    cf_model_popularity(m, &d, false);
    switch (algo) {
    case CF_ALS: cf_als_train(m, &d, &o, NULL, NULL); break;
    case CF_BPR: cf_bpr_train(m, &d, &o, NULL, NULL); break;
    case CF_MF: cf_mf_train(m, &d, &o, NULL, NULL); break;
    case CF_EASE: cf_ease_train(m, &d, &o); break;
    case CF_ITEMKNN: cf_knn_train(m, &d, &o); break;
    default: break;
    }
    cf_model_take_ids(m, &d, true);
    cf_data_release(&d);
    return m;
}

static void free_model(struct cf_model *m)
{
    cf_model_release(m);
    free(m);
}

static bool same_floats(const float *a, const float *b, size_t n)
{
    return (!a && !b) || (a && b && memcmp(a, b, n * sizeof *a) == 0);
}

static void test_models(const char *dir)
{
    struct cf_data d;
    planted(&d, 80, 48, 4, 10, 11);
    for (int a = CF_ALS; a <= CF_ITEMKNN; a++) {
        char what[128];
        struct cf_model *m1 = train(&d, (enum cf_algo)a, 1), *m3 = train(&d, (enum cf_algo)a, 3);
        size_t nf = ((size_t)m1->nusers + m1->nitems) * m1->f + m1->nusers + 2 * m1->nitems;
        bool same = same_floats(m1->params, m3->params, nf) &&
                    same_floats(m1->B, m3->B, a == CF_EASE ? (size_t)m1->nitems * m1->nitems : 0) &&
                    (a != CF_ITEMKNN || same_floats(m1->nbrs, m3->nbrs, m1->nbrp[m1->nitems]));
        snprintf(what, sizeof what, "%s: the same model on 1 and 3 threads", cf_algo_names[a]);
        CHECK_TRUE(same, what);

        /* save and load */
        char path[512];
        snprintf(path, sizeof path, "%s/model-%s.mpz", dir, cf_algo_names[a]);
        ws *w = ws_open(path, 1);
        ws_header(w, CF_KIND);
        cf_save(m1, w);
        ws_close(w);
        const char *paths[] = {path};
        rs *r = rs_open(paths, 1, CF_KIND);
        struct cf_model back;
        cf_load(&back, r);
        rs_free(r);
        same = back.algo == m1->algo && back.nusers == m1->nusers && back.nitems == m1->nitems &&
               same_floats(back.params, m1->params, nf) && back.nnz == m1->nnz &&
               memcmp(back.seeni, m1->seeni, m1->nnz * sizeof *m1->seeni) == 0 &&
               same_floats(back.B, m1->B, a == CF_EASE ? (size_t)m1->nitems * m1->nitems : 0);
        snprintf(what, sizeof what, "%s: save and load give the same model", cf_algo_names[a]);
        CHECK_TRUE(same, what);

        /* ranking: seen items excluded, best first, a user of group g gets
         * mostly items of block g */
        struct cf_ranker rk;
        cf_ranker_init(&rk, &back, 5, false, 2);
        int64_t users[] = {0, 1, 2, 3, -1};
        cf_recommend_block(&rk, users, 5);
        bool ok = true;
        int inblock = 0;
        for (int j = 0; j < 4; j++) {
            ok &= rk.ntop[j] == 5 && !rk.cold[j];
            for (int t = 0; t < rk.ntop[j]; t++) {
                uint32_t it = rk.top[j * 5 + t];
                for (uint64_t e = back.seenp[j]; e < back.seenp[j + 1]; e++)
                    ok &= back.seeni[e] != it;
                if (t)
                    ok &= rk.topv[j * 5 + t] <= rk.topv[j * 5 + t - 1];
                inblock += it / 12 == (uint32_t)j;
            }
        }
        snprintf(what, sizeof what, "%s: lists skip seen items, best first", cf_algo_names[a]);
        CHECK_TRUE(ok, what);
        snprintf(what, sizeof what, "%s: most recommended items are the user's group's (%d of 20)",
                 cf_algo_names[a], inblock);
        CHECK_TRUE(a == CF_MF || inblock >= 14, what);
        /* the unknown user: popularity, cold */
        float best = -1;
        for (uint32_t i = 0; i < back.nitems; i++)
            best = fmaxf(best, back.pop[i]);
        snprintf(what, sizeof what, "%s: an unknown user gets the most popular item, cold",
                 cf_algo_names[a]);
        CHECK_TRUE(rk.cold[4] && back.pop[rk.top[4 * 5]] == best, what);
        cf_ranker_release(&rk);

        /* the block's scores are the one-pair scores */
        if (a != CF_MF) {
            cf_ranker_init(&rk, &back, 3, true, 1);
            int64_t u1[] = {7};
            cf_recommend_block(&rk, u1, 1);
            bool cold;
            double want = cf_predict(&back, 7, rk.top[0], &cold);
            snprintf(what, sizeof what, "%s: the top score is the pair's score", cf_algo_names[a]);
            CHECK_TRUE(fabs(want - rk.topv[0]) <= 1e-4 * (1 + fabs(want)) && !cold, what);
            cf_ranker_release(&rk);
        }
        cf_model_release(&back);
        free_model(m1);
        free_model(m3);
    }
    cf_data_release(&d);
}

int main(void)
{
    char dir[] = "/tmp/test_cf.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_build();
    test_als();
    test_sgd_steps();
    test_ease();
    test_knn();
    test_topk();
    test_content(dir);
    test_models(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return check_done();
}
