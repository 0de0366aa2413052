/* Finite-difference gradient checks of every layer of the CNN (common/cnn.c):
 * embedding, im2col, convolution, pooling (max, mean, both), dense, ReLU,
 * dropout (off, and on with a fixed mask), the loss, and the whole network.
 *
 * Each layer is checked on a scalar objective S = sum(out * R) with R
 * random, so the gradient of S with respect to the outputs is R: the
 * layer's backward kernel given R must match central differences of S.
 * The kernels are float32; S is summed in double, and the step h is chosen
 * so that rounding is far below the tolerance. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cnn.h"
#include "rng.h"

static struct rng R;

static void fill(float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * rng_normal(&R));
}

static double dot(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

/* Largest relative error between analytic and numeric gradients:
 * |a - n| / max(|a|, |n|, floor). */
static double relerr(double a, double n, double floor)
{
    double d = fabs(a - n), s = fmax(fmax(fabs(a), fabs(n)), floor);
    return d / s;
}

/* ---- a generic check: S(x) = objective(), gradient g at x ---------------------- */

typedef double (*objective_fn)(void *ctx);

/* Central differences of f over the n values at x (perturbed in place and
 * restored) against g; returns the largest relative error. */
static double fd_check(objective_fn f, void *ctx, float *x, const float *g, size_t n, float h,
                       double floor)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = x[i];
        x[i] = keep + h;
        double up = f(ctx);
        x[i] = keep - h;
        double down = f(ctx);
        x[i] = keep;
        /* the step actually taken, after rounding to float */
        double num = (up - down) / ((double)(keep + h) - (double)(keep - h));
        double e = relerr(g[i], num, floor);
        if (e > worst)
            worst = e;
    }
    return worst;
}

/* ---- embedding ----------------------------------------------------------------- */

struct emb_ctx {
    float *x, *table, *r;
    uint32_t *tok;
    int n, vocab, dim, E, off;
};

static double emb_obj(void *p)
{
    struct emb_ctx *c = p;
    cnn_embed_forward(c->x, c->tok, c->table, c->n, c->vocab, c->dim, c->E, c->off);
    double s = 0;
    for (int i = 0; i < c->n; i++)
        s += dot(c->x + (size_t)i * c->E + c->off, c->r + (size_t)i * c->E + c->off, (size_t)c->dim);
    return s;
}

static void test_embedding(void)
{
    struct emb_ctx c = {.n = 30, .vocab = 7, .dim = 3, .E = 8, .off = 2};
    c.x = calloc((size_t)c.n * c.E, sizeof(float));
    c.r = calloc((size_t)c.n * c.E, sizeof(float));
    c.table = calloc((size_t)c.vocab * c.dim, sizeof(float));
    float *g = calloc((size_t)c.vocab * c.dim, sizeof(float));
    c.tok = calloc((size_t)c.n, sizeof(uint32_t));
    fill(c.table + c.dim, (size_t)(c.vocab - 1) * c.dim, 1);   /* row 0 zero */
    fill(c.r, (size_t)c.n * c.E, 1);
    for (int i = 0; i < c.n; i++)
        c.tok[i] = (uint32_t)rng_below(&R, (uint64_t)c.vocab);
    c.tok[0] = 0;
    c.tok[1] = 3;
    c.tok[2] = 3;   /* a repeated id accumulates */
    cnn_embed_backward(g, c.r, c.tok, c.n, c.dim, c.E, c.off);
    double e = fd_check(emb_obj, &c, c.table + c.dim, g + c.dim, (size_t)(c.vocab - 1) * c.dim,
                        0.25f, 1e-3);
    CHECK_TRUE(e < 1e-3, "embedding: gradient of the table matches finite differences");
    if (e >= 1e-3)
        printf("#   worst relative error %g\n", e);
    bool zero = true;
    for (int d = 0; d < c.dim; d++)
        zero = zero && g[d] == 0;
    CHECK_TRUE(zero, "embedding: padding (id 0) gets no gradient");
    /* accumulation: a second backward doubles the gradient */
    float before = g[3 * c.dim];
    cnn_embed_backward(g, c.r, c.tok, c.n, c.dim, c.E, c.off);
    CHECK_NEAR(g[3 * c.dim], 2 * before, 1e-6, "embedding: backward accumulates with +=");
    free(c.x);
    free(c.r);
    free(c.table);
    free(g);
    free(c.tok);
}

/* ---- im2col and convolution ------------------------------------------------------ */

static void test_im2col(void)
{
    int B = 2, L = 6, E = 3, w = 3, K = w * E;
    float *x = calloc((size_t)B * L * E, sizeof(float));
    float *col = calloc((size_t)B * L * K, sizeof(float));
    float *r = calloc((size_t)B * L * K, sizeof(float));
    float *dx = calloc((size_t)B * L * E, sizeof(float));
    fill(x, (size_t)B * L * E, 1);
    fill(r, (size_t)B * L * K, 1);
    cnn_im2col(col, x, B, L, E, w);
    /* position 0 of row 1: two zero rows, then x[1][0] */
    bool ok = col[(size_t)L * K + 0] == 0 && col[(size_t)L * K + 2 * E - 1] == 0 &&
              col[(size_t)L * K + 2 * E] == x[(size_t)L * E];
    /* position 4 of row 0 covers x[0][2..4] */
    ok = ok && memcmp(col + (size_t)4 * K, x + 2 * E, (size_t)K * sizeof(float)) == 0;
    CHECK_TRUE(ok, "im2col: causal windows with zeros before the start");
    /* col2im is the adjoint: <im2col(x), r> = <x, col2im(r)> */
    cnn_col2im(dx, r, B, L, E, w);
    CHECK_NEAR(dot(col, r, (size_t)B * L * K), dot(x, dx, (size_t)B * L * E), 1e-5,
               "col2im is the adjoint of im2col");
    free(x);
    free(col);
    free(r);
    free(dx);
}

struct conv_ctx {
    float *z, *col, *w, *b, *r;
    int M, F, K;
};

static double conv_obj(void *p)
{
    struct conv_ctx *c = p;
    cnn_conv_forward(c->z, c->col, c->w, c->b, c->M, c->F, c->K);
    return dot(c->z, c->r, (size_t)c->M * c->F);
}

static void test_conv(void)
{
    struct conv_ctx c = {.M = 14, .F = 5, .K = 9};
    size_t nz = (size_t)c.M * c.F, ncol = (size_t)c.M * c.K, nw = (size_t)c.F * c.K;
    c.z = calloc(nz, sizeof(float));
    c.r = calloc(nz, sizeof(float));
    c.col = calloc(ncol, sizeof(float));
    c.w = calloc(nw, sizeof(float));
    c.b = calloc((size_t)c.F, sizeof(float));
    float *dw = calloc(nw, sizeof(float)), *db = calloc((size_t)c.F, sizeof(float));
    float *dcol = calloc(ncol, sizeof(float));
    fill(c.col, ncol, 1);
    fill(c.w, nw, 0.5);
    fill(c.b, (size_t)c.F, 0.5);
    fill(c.r, nz, 1);
    cnn_conv_backward(dcol, dw, db, c.r, c.col, c.w, c.M, c.F, c.K);
    /* S is linear in each value: a large step loses nothing and keeps
     * float rounding small against it */
    double ew = fd_check(conv_obj, &c, c.w, dw, nw, 0.25f, 1e-3);
    double eb = fd_check(conv_obj, &c, c.b, db, (size_t)c.F, 0.25f, 1e-3);
    double ec = fd_check(conv_obj, &c, c.col, dcol, ncol, 0.25f, 1e-3);
    CHECK_TRUE(ew < 1e-3, "conv: gradient of the filters matches finite differences");
    CHECK_TRUE(eb < 1e-3, "conv: gradient of the biases matches finite differences");
    CHECK_TRUE(ec < 1e-3, "conv: gradient of the input columns matches finite differences");
    if (ew >= 1e-3 || eb >= 1e-3 || ec >= 1e-3)
        printf("#   worst relative errors %g %g %g\n", ew, eb, ec);
    /* dw and db accumulate; dcol is written */
    float w0 = dw[0], b0 = db[0], c0 = dcol[0];
    cnn_conv_backward(dcol, dw, db, c.r, c.col, c.w, c.M, c.F, c.K);
    CHECK_TRUE(fabsf(dw[0] - 2 * w0) < 1e-5f * (1 + fabsf(w0)) &&
               fabsf(db[0] - 2 * b0) < 1e-5f * (1 + fabsf(b0)) && dcol[0] == c0,
               "conv: dw and dbias accumulate, dcol is written");
    free(c.z);
    free(c.r);
    free(c.col);
    free(c.w);
    free(c.b);
    free(dw);
    free(db);
    free(dcol);
}

/* ---- pooling ------------------------------------------------------------------------- */

struct pool_ctx {
    float *out, *z, *r;
    int *arg, *len;
    int B, L, F, pool, ostride;
};

static double pool_obj(void *p)
{
    struct pool_ctx *c = p;
    cnn_pool_forward(c->out, c->ostride, c->arg, c->z, c->len, c->B, c->L, c->F, c->pool);
    return dot(c->out, c->r, (size_t)c->B * c->ostride);
}

static void test_pool(int pool, const char *name)
{
    struct pool_ctx c = {.B = 4, .L = 7, .F = 3, .pool = pool};
    int npool = pool == 3 ? 2 : 1;
    c.ostride = npool * c.F + 2;   /* room after, as in h0 */
    int len[4] = {7, 3, 1, 0};
    c.len = len;
    size_t nz = (size_t)c.B * c.L * c.F;
    c.z = calloc(nz, sizeof(float));
    c.out = calloc((size_t)c.B * c.ostride, sizeof(float));
    c.r = calloc((size_t)c.B * c.ostride, sizeof(float));
    c.arg = calloc((size_t)c.B * c.F, sizeof(int));
    float *dz = calloc(nz, sizeof(float));
    /* distinct values, spaced far more than h, so the argmax never moves */
    uint32_t perm[84];
    for (uint32_t i = 0; i < nz; i++)
        perm[i] = i;
    rng_shuffle(&R, perm, nz);
    for (size_t i = 0; i < nz; i++)
        c.z[i] = (float)perm[i] * 0.1f;
    fill(c.r, (size_t)c.B * c.ostride, 1);
    pool_obj(&c);
    cnn_pool_backward(dz, c.r, c.ostride, c.arg, c.len, c.B, c.L, c.F, c.pool);
    char what[96];
    double e = fd_check(pool_obj, &c, c.z, dz, nz, 0.01f, 1e-3);
    snprintf(what, sizeof what, "pooling (%s): gradient matches finite differences", name);
    CHECK_TRUE(e < 1e-3, what);
    if (e >= 1e-3)
        printf("#   worst relative error %g\n", e);
    /* padding positions (t < L - len) get nothing, and a row with len 0
     * pools to zeros */
    bool masked = true;
    for (int b = 0; b < c.B; b++)
        for (int t = 0; t < c.L - len[b]; t++)
            for (int f = 0; f < c.F; f++)
                masked = masked && dz[((size_t)b * c.L + t) * c.F + f] == 0;
    bool empty = true;
    for (int k = 0; k < npool * c.F; k++)
        empty = empty && c.out[(size_t)3 * c.ostride + k] == 0;
    snprintf(what, sizeof what, "pooling (%s): padding positions are masked", name);
    CHECK_TRUE(masked && empty, what);
    if (pool & CNN_POOL_MAX) {
        /* row 1 (len 3): the max is over t = 4..6 only */
        float m = -1;
        for (int t = 4; t < 7; t++)
            m = fmaxf(m, c.z[((size_t)1 * c.L + t) * c.F]);
        CHECK_TRUE(c.out[c.ostride] == m, "pooling: the max is over the valid positions");
    }
    if (pool & CNN_POOL_MEAN) {
        int off = pool & CNN_POOL_MAX ? c.F : 0;
        double s = 0;
        for (int t = 4; t < 7; t++)
            s += c.z[((size_t)1 * c.L + t) * c.F];
        CHECK_NEAR(c.out[c.ostride + off], s / 3, 1e-6,
                   "pooling: the mean divides by the real length");
    }
    free(c.z);
    free(c.out);
    free(c.r);
    free(c.arg);
    free(dz);
}

/* ---- dense, ReLU, dropout --------------------------------------------------------------- */

struct dense_ctx {
    float *y, *x, *w, *b, *r;
    int B, in, out;
};

static double dense_obj(void *p)
{
    struct dense_ctx *c = p;
    cnn_dense_forward(c->y, c->x, c->w, c->b, c->B, c->in, c->out);
    return dot(c->y, c->r, (size_t)c->B * c->out);
}

static void test_dense(void)
{
    struct dense_ctx c = {.B = 5, .in = 7, .out = 4};
    size_t nx = (size_t)c.B * c.in, nw = (size_t)c.out * c.in, ny = (size_t)c.B * c.out;
    c.y = calloc(ny, sizeof(float));
    c.r = calloc(ny, sizeof(float));
    c.x = calloc(nx, sizeof(float));
    c.w = calloc(nw, sizeof(float));
    c.b = calloc((size_t)c.out, sizeof(float));
    float *dx = calloc(nx, sizeof(float)), *dw = calloc(nw, sizeof(float));
    float *db = calloc((size_t)c.out, sizeof(float));
    fill(c.x, nx, 1);
    fill(c.w, nw, 0.5);
    fill(c.b, (size_t)c.out, 0.5);
    fill(c.r, ny, 1);
    cnn_dense_backward(dx, dw, db, c.r, c.x, c.w, c.B, c.in, c.out);
    double ex = fd_check(dense_obj, &c, c.x, dx, nx, 0.25f, 1e-3);
    double ew = fd_check(dense_obj, &c, c.w, dw, nw, 0.25f, 1e-3);
    double eb = fd_check(dense_obj, &c, c.b, db, (size_t)c.out, 0.25f, 1e-3);
    CHECK_TRUE(ex < 1e-3 && ew < 1e-3 && eb < 1e-3,
               "dense: gradients of input, weights and biases match finite differences");
    if (ex >= 1e-3 || ew >= 1e-3 || eb >= 1e-3)
        printf("#   worst relative errors %g %g %g\n", ex, ew, eb);
    free(c.y);
    free(c.r);
    free(c.x);
    free(c.w);
    free(c.b);
    free(dx);
    free(dw);
    free(db);
}

struct act_ctx {
    float *pre, *y, *mask, *r;
    size_t n;
    float p;
    uint64_t seed;
    int kind;   /* 0 ReLU, 1 dropout */
};

static double act_obj(void *p)
{
    struct act_ctx *c = p;
    memcpy(c->y, c->pre, c->n * sizeof(float));
    if (c->kind == 0) {
        cnn_relu_forward(c->y, c->n);
    } else {
        struct rng r;
        rng_init(&r, c->seed);   /* the same mask every time */
        cnn_dropout_forward(c->y, c->mask, c->n, c->p, &r);
    }
    return dot(c->y, c->r, c->n);
}

static void test_relu_dropout(void)
{
    struct act_ctx c = {.n = 40, .p = 0.3f, .seed = 9};
    c.pre = calloc(c.n, sizeof(float));
    c.y = calloc(c.n, sizeof(float));
    c.mask = calloc(c.n, sizeof(float));
    c.r = calloc(c.n, sizeof(float));
    float *g = calloc(c.n, sizeof(float));
    fill(c.r, c.n, 1);
    for (size_t i = 0; i < c.n; i++) {   /* away from the kink at 0 */
        float v = (float)rng_normal(&R);
        c.pre[i] = v + (v >= 0 ? 0.1f : -0.1f);
    }
    act_obj(&c);
    memcpy(g, c.r, c.n * sizeof(float));
    cnn_relu_backward(g, c.y, c.n);
    double e = fd_check(act_obj, &c, c.pre, g, c.n, 0.01f, 1e-3);
    CHECK_TRUE(e < 1e-3, "ReLU: gradient matches finite differences");

    c.kind = 1;
    act_obj(&c);
    memcpy(g, c.r, c.n * sizeof(float));
    cnn_dropout_backward(g, c.mask, c.n);
    e = fd_check(act_obj, &c, c.pre, g, c.n, 0.01f, 1e-3);
    CHECK_TRUE(e < 1e-3, "dropout (a fixed mask): gradient matches finite differences");
    size_t dropped = 0;
    for (size_t i = 0; i < c.n; i++)
        dropped += c.mask[i] == 0;
    CHECK_TRUE(dropped > 0 && dropped < c.n, "dropout: some units dropped, some kept");
    c.p = 0;
    act_obj(&c);
    CHECK_TRUE(memcmp(c.y, c.pre, c.n * sizeof(float)) == 0, "dropout off (p = 0) is the identity");
    free(c.pre);
    free(c.y);
    free(c.mask);
    free(c.r);
    free(g);
}

/* ---- the loss -------------------------------------------------------------------------------- */

struct loss_ctx {
    float *logit, *prob, *y;
    int n;
    float pw;
};

static double loss_obj(void *p)
{
    struct loss_ctx *c = p;
    return cnn_bce_forward(c->prob, c->logit, c->y, c->n, c->pw);
}

static void test_loss(void)
{
    struct loss_ctx c = {.n = 12, .pw = 2.5f};
    c.logit = calloc((size_t)c.n, sizeof(float));
    c.prob = calloc((size_t)c.n, sizeof(float));
    c.y = calloc((size_t)c.n, sizeof(float));
    float *g = calloc((size_t)c.n, sizeof(float));
    fill(c.logit, (size_t)c.n, 2);
    for (int i = 0; i < c.n; i++)
        c.y[i] = (float)(i % 3 == 0);
    double loss = loss_obj(&c);
    double want = 0;
    for (int i = 0; i < c.n; i++) {
        double p = 1 / (1 + exp(-(double)c.logit[i]));
        want += c.y[i] ? -c.pw * log(p) : -log(1 - p);
    }
    CHECK_NEAR(loss, want, 1e-6, "loss: weighted binary cross-entropy");
    cnn_bce_backward(g, c.prob, c.y, c.n, c.pw, 1.0f);
    double e = fd_check(loss_obj, &c, c.logit, g, (size_t)c.n, 0.01f, 1e-3);
    CHECK_TRUE(e < 1e-3, "loss: gradient of the logits matches finite differences");
    if (e >= 1e-3)
        printf("#   worst relative error %g\n", e);
    float big[2] = {80, -80}, pb[2], yb[2] = {0, 1};
    double lb = cnn_bce_forward(pb, big, yb, 2, 1);
    CHECK_NEAR(lb, 160, 1e-6, "loss: no overflow for large logits");
    free(c.logit);
    free(c.prob);
    free(c.y);
    free(g);
}

/* ---- the whole network ----------------------------------------------------------------------------- */

struct net_ctx {
    struct cnn_model *m;
    struct cnn_acts *a;
    struct cnn_batch *b;
    uint64_t seed;
};

static double net_obj(void *p)
{
    struct net_ctx *c = p;
    struct rng r;
    rng_init(&r, c->seed);
    return cnn_forward(c->m, c->a, c->b, true, 1.7f, &r) / c->b->n;
}

/* threads workers over chunks of chunk examples */
static void test_network(float dropout, int threads, int chunk, const char *what)
{
    struct cnn_config cfg = {.L = 9, .ntok = 2, .nwidths = 2, .filters = 4,
                             .pool = CNN_POOL_MAX | CNN_POOL_MEAN, .nnum = 2, .nhidden = 2,
                             .dropout = dropout};
    strcpy(cfg.tok_name[0], "ev");
    strcpy(cfg.tok_name[1], "cat");
    cfg.vocab[0] = 5;
    cfg.dim[0] = 2;
    cfg.vocab[1] = 8;
    cfg.dim[1] = 3;
    cfg.width[0] = 2;
    cfg.width[1] = 3;
    cfg.hidden[0] = 6;
    cfg.hidden[1] = 5;
    char *names[] = {"a", "b"};
    struct cnn_model m;
    cnn_init(&m, &cfg, names);
    cnn_init_weights(&m, 3);
    cnn_train_alloc(&m);
    int B = 5;
    struct cnn_acts a;
    cnn_acts_init_chunk(&a, &m, B, threads, chunk, true);
    uint32_t tok[2][5 * 9];
    int len[5] = {9, 4, 1, 6, 0};
    float num[5 * 2], y[5] = {1, 0, 1, 0, 0};
    fill(num, 10, 1);
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < B; b++)
            for (int l = 0; l < 9; l++)
                tok[t][b * 9 + l] = l < 9 - len[b] ? 0 : 1 + (uint32_t)rng_below(&R, (uint64_t)cfg.vocab[t] - 1);
    struct cnn_batch b = {.n = B, .len = len, .num = num, .y = y};
    b.tok[0] = tok[0];
    b.tok[1] = tok[1];
    struct net_ctx c = {.m = &m, .a = &a, .b = &b, .seed = 77};
    net_obj(&c);
    cnn_backward(&m, &a, &b, 1.7f, 1.0f / B);
    /* Every parameter but the padding rows.  The network is only piecewise
     * smooth (ReLU, max pooling): a coordinate within h of a kink gets a
     * wrong central difference, but one of its one-sided differences does
     * not cross the kink and must match; so each coordinate must match its
     * central difference or one of the one-sided ones. */
    double f0 = net_obj(&c);
    size_t total = 0, central = 0, bad = 0;
    double worst = 0;
    for (int k = 0; k < m.ntensors; k++) {
        const struct cnn_tensor *t = &m.tensors[k];
        size_t start = strncmp(t->name, "emb.", 4) == 0 ? (size_t)t->shape[1] : 0;
        for (size_t i = start; i < t->size; i++) {
            float *x = m.params + t->off + i;
            float keep = *x, h = 1e-3f;
            *x = keep + h;
            double up = net_obj(&c);
            float hu = *x - keep;
            *x = keep - h;
            double down = net_obj(&c);
            float hd = keep - *x;
            *x = keep;
            double g = m.grads[t->off + i];
            double ec = relerr(g, (up - down) / ((double)hu + hd), 1e-2);
            double ef = relerr(g, (up - f0) / hu, 1e-2);
            double eb = relerr(g, (f0 - down) / hd, 1e-2);
            double e = fmin(ec, fmin(ef, eb));
            total++;
            central += ec < 1e-2;
            if (e >= 2e-2) {
                bad++;
                printf("#   %s[%zu]: analytic %g, central %g\n", t->name, i, g,
                       (up - down) / ((double)hu + hd));
            }
            if (e > worst)
                worst = e;
        }
    }
    char msg[160];
    snprintf(msg, sizeof msg, "network (%s): all %zu parameter gradients within 2%% (%zu by "
             "central differences, the rest one-sided at a kink)", what, total, central);
    CHECK_TRUE(bad == 0, msg);
    if (bad)
        printf("#   %zu bad, worst relative error %g\n", bad, worst);
    cnn_acts_release(&a);
    cnn_release(&m);
}

int main(void)
{
    rng_init(&R, 2024);
    test_embedding();
    test_im2col();
    test_conv();
    test_pool(CNN_POOL_MAX, "max");
    test_pool(CNN_POOL_MEAN, "mean");
    test_pool(CNN_POOL_MAX | CNN_POOL_MEAN, "max and mean");
    test_dense();
    test_relu_dropout();
    test_loss();
    test_network(0, 1, 5, "dropout off");
    test_network(0.3f, 1, 5, "dropout on, a fixed mask");
    test_network(0.3f, 2, 2, "dropout on, 2 threads over 3 chunks");
    return check_done();
}
