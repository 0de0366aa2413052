/* cnn: the model's sizes and parameter block, its kernels, and the forward
 * and backward passes over a batch (the model is drawn in cnn.h). */
#include "cnn.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnn_pool.h"
#include "diag.h"
#include "linalg.h"
#include "xalloc.h"

/* ---- vector loops ------------------------------------------------------------ */

/* The element-wise loops of the kernels, written as blocks of 8 that the
 * compiler turns into SIMD instructions at -O2 (SLP vectorization), with a
 * scalar tail.  Each keeps the element order of a plain loop. */
#define BLOCK 8

/* d[i] += s[i] */
static inline void vadd(float *restrict d, const float *restrict s, size_t n)
{
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int k = 0; k < BLOCK; k++)
            d[i + k] += s[i + k];
    for (; i < n; i++)
        d[i] += s[i];
}

/* d[i] = s[i] */
static inline void vcopy(float *restrict d, const float *restrict s, size_t n)
{
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int k = 0; k < BLOCK; k++)
            d[i + k] = s[i + k];
    for (; i < n; i++)
        d[i] = s[i];
}

/* y[i] = max(y[i] + b[i], 0), or without b (NULL) max(y[i], 0). */
static inline void vbias_relu(float *restrict y, const float *restrict b, size_t n)
{
    size_t i = 0;
    if (b) {
        for (; i + BLOCK <= n; i += BLOCK)
            for (int k = 0; k < BLOCK; k++) {
                float v = y[i + k] + b[i + k];
                y[i + k] = v > 0 ? v : 0;
            }
        for (; i < n; i++) {
            float v = y[i] + b[i];
            y[i] = v > 0 ? v : 0;
        }
        return;
    }
    for (; i + BLOCK <= n; i += BLOCK)
        for (int k = 0; k < BLOCK; k++)
            y[i + k] = y[i + k] > 0 ? y[i + k] : 0;
    for (; i < n; i++)
        y[i] = y[i] > 0 ? y[i] : 0;
}

/* dy[i] = 0 where y[i] <= 0 */
static inline void vrelu_mask(float *restrict dy, const float *restrict y, size_t n)
{
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int k = 0; k < BLOCK; k++)
            dy[i + k] = y[i + k] > 0 ? dy[i + k] : 0;
    for (; i < n; i++)
        dy[i] = y[i] > 0 ? dy[i] : 0;
}

/* Running maxima o[f] of rows, with the position t of the first maximum
 * in arg[f] (branch-free, so it vectorizes). */
static inline void vmaxarg(float *restrict o, int32_t *restrict arg, const float *restrict row,
                           int32_t t, size_t n)
{
    size_t i = 0;
    for (; i + BLOCK <= n; i += BLOCK)
        for (int k = 0; k < BLOCK; k++) {
            int32_t gt = -(int32_t)(row[i + k] > o[i + k]);
            arg[i + k] = (arg[i + k] & ~gt) | (t & gt);
            o[i + k] = row[i + k] > o[i + k] ? row[i + k] : o[i + k];
        }
    for (; i < n; i++)
        if (row[i] > o[i]) {
            o[i] = row[i];
            arg[i] = t;
        }
}

/* ---- sizes and the parameter block ---------------------------------------- */

static void check_config(const struct cnn_config *c)
{
    if (c->L < 1 || c->L > 4096)
        die("cnn: sequence length %d is out of range (1 to 4096)", c->L);
    if (c->ntok < 1 || c->ntok > CNN_MAX_TOK)
        die("cnn: %d token fields; expected 1 to %d", c->ntok, CNN_MAX_TOK);
    for (int t = 0; t < c->ntok; t++) {
        if (c->vocab[t] < 2)
            die("cnn: token field \"%s\": vocabulary of %d; expected at least 2", c->tok_name[t],
                c->vocab[t]);
        if (c->dim[t] < 1 || c->dim[t] > 1024)
            die("cnn: token field \"%s\": embedding width %d; expected 1 to 1024",
                c->tok_name[t], c->dim[t]);
    }
    if (c->nwidths < 1 || c->nwidths > CNN_MAX_WIDTHS)
        die("cnn: %d kernel widths; expected 1 to %d", c->nwidths, CNN_MAX_WIDTHS);
    for (int i = 0; i < c->nwidths; i++) {
        if (c->width[i] < 1 || c->width[i] > CNN_MAX_WIDTH)
            die("cnn: kernel width %d; expected 1 to %d", c->width[i], CNN_MAX_WIDTH);
        for (int j = 0; j < i; j++)
            if (c->width[i] == c->width[j])
                die("cnn: kernel width %d is given twice", c->width[i]);
    }
    if (c->filters < 1 || c->filters > 4096)
        die("cnn: %d filters; expected 1 to 4096", c->filters);
    if (c->pool < 1 || c->pool > 3)
        die("cnn: pooling must be max, mean or both");
    if (c->nnum < 0 || c->nnum > 4096)
        die("cnn: %d numeric features; expected at most 4096", c->nnum);
    if (c->nhidden < 0 || c->nhidden > CNN_MAX_HIDDEN)
        die("cnn: %d hidden layers; expected 0 to %d", c->nhidden, CNN_MAX_HIDDEN);
    for (int l = 0; l < c->nhidden; l++)
        if (c->hidden[l] < 1 || c->hidden[l] > 65536)
            die("cnn: hidden layer of %d units; expected 1 to 65536", c->hidden[l]);
    if (!(c->dropout >= 0 && c->dropout < 1))
        die("cnn: dropout %g; expected at least 0 and below 1", c->dropout);
}

static void add_tensor(struct cnn_model *m, int rank, int rows, int cols, bool decay,
                       const char *fmt, ...) PRINTF_LIKE(6, 7);

static void add_tensor(struct cnn_model *m, int rank, int rows, int cols, bool decay,
                       const char *fmt, ...)
{
    CHECK(m->ntensors < CNN_MAX_TENSORS);
    struct cnn_tensor *t = &m->tensors[m->ntensors++];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof t->name)
        die("cnn: tensor name too long (%d bytes)", n);
    t->rank = rank;
    t->shape[0] = rows;
    t->shape[1] = rank == 2 ? cols : 1;
    t->size = (size_t)rows * (size_t)t->shape[1];
    if (t->size > INT32_MAX)
        die("cnn: tensor \"%s\" of %zu values is too large", t->name, t->size);
    t->off = m->nparams;
    t->decay = decay;
    m->nparams += t->size;
}

/* Point the named arrays of t at their places in block (the tensor order
 * of cnn_init); with prefix, only the embeddings and convolutions (block
 * holds only them). */
static void carve_part(const struct cnn_model *m, struct cnn_tensors *t, float *block, bool prefix)
{
    const struct cnn_config *c = &m->cfg;
    int k = 0;
    memset(t, 0, sizeof *t);
    for (int i = 0; i < c->ntok; i++)
        t->emb[i] = block + m->tensors[k++].off;
    for (int i = 0; i < c->nwidths; i++) {
        t->conv_w[i] = block + m->tensors[k++].off;
        t->conv_b[i] = block + m->tensors[k++].off;
    }
    if (prefix)
        return;
    for (int l = 0; l < m->ndense; l++) {
        t->dense_w[l] = block + m->tensors[k++].off;
        t->dense_b[l] = block + m->tensors[k++].off;
    }
    CHECK(k == m->ntensors);
}

static void carve(const struct cnn_model *m, struct cnn_tensors *t, float *block)
{
    carve_part(m, t, block, false);
}

void cnn_plan(struct cnn_model *m, const struct cnn_config *cfg)
{
    check_config(cfg);
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    const struct cnn_config *c = &m->cfg;
    for (int t = 0; t < c->ntok; t++)
        m->E += c->dim[t];
    m->npool = (c->pool & CNN_POOL_MAX ? 1 : 0) + (c->pool & CNN_POOL_MEAN ? 1 : 0);
    m->D0 = c->nwidths * m->npool * c->filters + c->nnum;
    m->ndense = c->nhidden + 1;
    for (int l = 0; l < m->ndense; l++) {
        m->dense_in[l] = l == 0 ? m->D0 : c->hidden[l - 1];
        m->dense_out[l] = l < c->nhidden ? c->hidden[l] : 1;
    }
    for (int i = 0; i < c->nwidths; i++)
        if ((int64_t)c->L * c->width[i] * m->E > INT32_MAX / 4)
            die("cnn: sequences of %d positions with embeddings of %d are too large", c->L, m->E);

    /* The tensors, in the order of the model record and of carve(). */
    for (int t = 0; t < c->ntok; t++)
        add_tensor(m, 2, c->vocab[t], c->dim[t], true, "emb.%s", c->tok_name[t]);
    for (int i = 0; i < c->nwidths; i++) {
        add_tensor(m, 2, c->filters, c->width[i] * m->E, true, "conv%d.weight", c->width[i]);
        add_tensor(m, 1, c->filters, 0, false, "conv%d.bias", c->width[i]);
    }
    for (int l = 0; l < m->ndense; l++) {
        bool out = l == c->nhidden;
        char name[16];
        if (out)
            snprintf(name, sizeof name, "out");
        else
            snprintf(name, sizeof name, "dense%d", l + 1);
        add_tensor(m, 2, m->dense_out[l], m->dense_in[l], true, "%s.weight", name);
        add_tensor(m, 1, m->dense_out[l], 0, false, "%s.bias", name);
    }
    if (m->nparams > (size_t)1 << 31)
        die("cnn: %zu parameters is too many", m->nparams);
}

void cnn_init(struct cnn_model *m, const struct cnn_config *cfg, char *const *num_names)
{
    cnn_plan(m, cfg);
    const struct cnn_config *c = &m->cfg;
    m->params = xcalloc(m->nparams, sizeof *m->params);
    carve(m, &m->p, m->params);

    /* numeric feature names and scaling */
    size_t text = 0;
    for (int j = 0; j < c->nnum; j++)
        text += strlen(num_names[j]) + 1;
    m->num_names = xmalloc((size_t)c->nnum * sizeof(char *) + text + 1);
    char *s = (char *)(m->num_names + c->nnum);
    for (int j = 0; j < c->nnum; j++) {
        size_t n = strlen(num_names[j]) + 1;
        memcpy(s, num_names[j], n);
        m->num_names[j] = s;
        s += n;
    }
    m->num_mean = xcalloc((size_t)c->nnum * 2 + 1, sizeof(float));
    m->num_sd = m->num_mean + c->nnum;
    for (int j = 0; j < c->nnum; j++)
        m->num_sd[j] = 1;
}

void cnn_release(struct cnn_model *m)
{
    free(m->params);
    free(m->grads);
    free(m->adam);
    free(m->num_names);
    free(m->num_mean);
    memset(m, 0, sizeof *m);
}

void cnn_train_alloc(struct cnn_model *m)
{
    CHECK(!m->grads);
    m->grads = xcalloc(m->nparams, sizeof *m->grads);
    carve(m, &m->g, m->grads);
    m->adam = xcalloc(2 * m->nparams, sizeof *m->adam);
}

/* A float of U(-b, b) from 24 random bits (exactly representable). */
static float uniform_pm(struct rng *r, float b)
{
    float u = (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f);
    return (2 * u - 1) * b;
}

void cnn_init_weights(struct cnn_model *m, uint64_t seed)
{
    const struct cnn_config *c = &m->cfg;
    struct rng base, r;
    rng_init(&base, seed);
    int k = 0;
    /* Each tensor draws from its own stream, so one size does not move
     * another tensor's values. */
    for (int t = 0; t < c->ntok; t++, k++) {
        rng_split(&r, &base, (uint64_t)k);
        float *e = m->params + m->tensors[k].off;
        size_t dim = (size_t)c->dim[t];
        memset(e, 0, dim * sizeof *e);  /* row 0: padding */
        for (size_t i = dim; i < m->tensors[k].size; i++)
            e[i] = (float)rng_normal(&r);
    }
    for (; k < m->ntensors; k++) {
        rng_split(&r, &base, (uint64_t)k);
        const struct cnn_tensor *t = &m->tensors[k];
        /* a bias shares its weight's fan-in: the weight is the tensor before */
        int fan_in = t->rank == 2 ? t->shape[1] : m->tensors[k - 1].shape[1];
        float b = 1.0f / sqrtf((float)fan_in);
        float *p = m->params + t->off;
        for (size_t i = 0; i < t->size; i++)
            p[i] = uniform_pm(&r, b);
    }
}

double cnn_flops_per_example(const struct cnn_model *m, bool backward)
{
    const struct cnn_config *c = &m->cfg;
    double f = 0;
    for (int i = 0; i < c->nwidths; i++)
        f += 2.0 * c->L * c->width[i] * m->E * c->filters;
    for (int l = 0; l < m->ndense; l++)
        f += 2.0 * m->dense_in[l] * m->dense_out[l];
    /* backward: the weights' gradients and the inputs' gradients, each a
     * product of the forward's size */
    return backward ? 3 * f : f;
}

/* ---- kernels: embedding ----------------------------------------------------- */

void cnn_embed_forward(float *x, const uint32_t *tok, const float *table, int n, int vocab,
                       int dim, int E, int off)
{
    for (int i = 0; i < n; i++) {
        uint32_t id = tok[i];
        CHECK(id < (uint32_t)vocab);
        vcopy(x + (size_t)i * E + off, table + (size_t)id * dim, (size_t)dim);
    }
}

void cnn_embed_backward(float *dtable, const float *dx, const uint32_t *tok, int n, int dim,
                        int E, int off)
{
    for (int i = 0; i < n; i++) {
        uint32_t id = tok[i];
        if (id == 0)
            continue;
        vadd(dtable + (size_t)id * dim, dx + (size_t)i * E + off, (size_t)dim);
    }
}

/* ---- kernels: convolution ----------------------------------------------------- */

/* The window of position t covers rows t - w + 1 .. t, which are contiguous
 * in x: each col row is one copy, after zeros for the rows before 0. */
void cnn_im2col(float *col, const float *x, int B, int L, int E, int w)
{
    size_t K = (size_t)w * E;
    for (int b = 0; b < B; b++) {
        const float *xb = x + (size_t)b * L * E;
        for (int t = 0; t < L; t++) {
            float *row = col + ((size_t)b * L + t) * K;
            int s = t - w + 1;
            if (s >= 0) {
                memcpy(row, xb + (size_t)s * E, K * sizeof *row);
            } else {
                size_t z = (size_t)(-s) * E;
                memset(row, 0, z * sizeof *row);
                memcpy(row + z, xb, (K - z) * sizeof *row);
            }
        }
    }
}

void cnn_col2im(float *dx, const float *dcol, int B, int L, int E, int w)
{
    size_t K = (size_t)w * E;
    for (int b = 0; b < B; b++) {
        float *db = dx + (size_t)b * L * E;
        for (int t = 0; t < L; t++) {
            const float *row = dcol + ((size_t)b * L + t) * K;
            int s = t - w + 1;
            size_t z = s < 0 ? (size_t)(-s) * E : 0;
            float *d = db + (s < 0 ? 0 : (size_t)s * E);
            vadd(d, row + z, K - z);
        }
    }
}

/* Column sums of a[M][F] added to out[F], rows in order. */
static void add_colsums(float *out, const float *a, int M, int F)
{
    for (int i = 0; i < M; i++)
        vadd(out, a + (size_t)i * F, (size_t)F);
}

static void add_bias(float *y, const float *bias, int M, int F)
{
    for (int i = 0; i < M; i++)
        vadd(y + (size_t)i * F, bias, (size_t)F);
}

void cnn_conv_forward(float *z, const float *col, const float *w, const float *bias, int M, int F,
                      int K)
{
    la_sgemm(z, col, w, M, F, K, false, true, 1, 0);
    add_bias(z, bias, M, F);
}

void cnn_conv_backward(float *dcol, float *dw, float *dbias, const float *dz, const float *col,
                       const float *w, int M, int F, int K)
{
    la_sgemm(dw, dz, col, F, K, M, true, false, 1, 1);
    add_colsums(dbias, dz, M, F);
    la_sgemm(dcol, dz, w, M, K, F, false, false, 1, 0);
}

/* ---- kernels: pooling ------------------------------------------------------------ */

static int clamp_len(int len, int L)
{
    return len < 0 ? 0 : len > L ? L : len;
}

void cnn_pool_forward(float *out, int ostride, int *arg, const float *z, const int *len, int B,
                      int L, int F, int pool)
{
    for (int b = 0; b < B; b++) {
        float *o = out + (size_t)b * ostride;
        int *ab = arg + (size_t)b * F;
        int n = clamp_len(len[b], L), t0 = L - n;
        const float *zb = z + (size_t)b * L * F;
        if (pool & CNN_POOL_MAX) {
            if (n == 0) {
                for (int f = 0; f < F; f++) {
                    o[f] = 0;
                    ab[f] = -1;
                }
            } else {
                const float *r0 = zb + (size_t)t0 * F;
                for (int f = 0; f < F; f++) {
                    o[f] = r0[f];
                    ab[f] = t0;
                }
                for (int t = t0 + 1; t < L; t++)
                    vmaxarg(o, ab, zb + (size_t)t * F, t, (size_t)F);
            }
            o += F;
        }
        if (pool & CNN_POOL_MEAN) {
            for (int f = 0; f < F; f++)
                o[f] = 0;
            for (int t = t0; t < L; t++)
                vadd(o, zb + (size_t)t * F, (size_t)F);
            if (n > 0) {
                float inv = 1.0f / (float)n;
                for (int f = 0; f < F; f++)
                    o[f] *= inv;
            }
        }
    }
}

void cnn_pool_backward(float *dz, const float *dout, int ostride, const int *arg, const int *len,
                       int B, int L, int F, int pool)
{
    for (int b = 0; b < B; b++) {
        const float *d = dout + (size_t)b * ostride;
        float *dzb = dz + (size_t)b * L * F;
        int n = clamp_len(len[b], L), t0 = L - n;
        if (pool & CNN_POOL_MAX) {
            const int *ab = arg + (size_t)b * F;
            for (int f = 0; f < F; f++)
                if (ab[f] >= 0)
                    dzb[(size_t)ab[f] * F + f] += d[f];
            d += F;
        }
        if ((pool & CNN_POOL_MEAN) && n > 0) {
            float inv = 1.0f / (float)n;
            float g[F];
            for (int f = 0; f < F; f++)
                g[f] = d[f] * inv;
            for (int t = t0; t < L; t++)
                vadd(dzb + (size_t)t * F, g, (size_t)F);
        }
    }
}

/* ---- kernels: dense, ReLU, dropout, loss --------------------------------------------- */

void cnn_dense_forward(float *y, const float *x, const float *w, const float *bias, int B, int in,
                       int out)
{
    la_sgemm(y, x, w, B, out, in, false, true, 1, 0);
    add_bias(y, bias, B, out);
}

void cnn_dense_backward(float *dx, float *dw, float *dbias, const float *dy, const float *x,
                        const float *w, int B, int in, int out)
{
    la_sgemm(dx, dy, w, B, in, out, false, false, 1, 1);
    la_sgemm(dw, dy, x, out, in, B, true, false, 1, 1);
    add_colsums(dbias, dy, B, out);
}

void cnn_relu_forward(float *y, size_t n)
{
    vbias_relu(y, NULL, n);
}

void cnn_relu_backward(float *dy, const float *y, size_t n)
{
    vrelu_mask(dy, y, n);
}

void cnn_dropout_forward(float *y, float *mask, size_t n, float p, struct rng *r)
{
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = rng_uniform(r) < p ? 0.0f : keep;
        y[i] *= mask[i];
    }
}

void cnn_dropout_backward(float *dy, const float *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dy[i] *= mask[i];
}

/* log(1 + e^x) without overflow. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

double cnn_bce_forward(float *prob, const float *logit, const float *y, int n, float pos_weight)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        double z = logit[i];
        prob[i] = (float)(z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)));
        if (y)
            loss += pos_weight * y[i] * softplus(-z) + (1 - y[i]) * softplus(z);
    }
    return loss;
}

void cnn_bce_backward(float *dlogit, const float *prob, const float *y, int n, float pos_weight,
                      float scale)
{
    for (int i = 0; i < n; i++)
        dlogit[i] += scale * (pos_weight * y[i] * (prob[i] - 1) + (1 - y[i]) * prob[i]);
}

/* ---- activations ---------------------------------------------------------------------- */

/* Arrays carved from one block, each start rounded up to 64 bytes. */
static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

static float *take(float **cursor, size_t n)
{
    float *p = *cursor;
    *cursor += round16(n);
    return p;
}

/* Examples per chunk of the convolution stage: the im2col buffer of the
 * widest kernel and the chunk's outputs stay near 128 KiB, well inside a
 * core's L2 cache, so the im2col copies, the products and col2im run from
 * cache rather than memory (measured: 256 KiB and more is slower, and so
 * is 64 KiB).  A function of the shapes only. */
static int chunk_of(const struct cnn_model *m, int cap)
{
    const struct cnn_config *c = &m->cfg;
    int wmax = 1;
    for (int i = 0; i < c->nwidths; i++)
        wmax = c->width[i] > wmax ? c->width[i] : wmax;
    size_t per = (size_t)c->L * ((size_t)wmax * m->E + c->filters);
    size_t n = ((size_t)32 << 10) / (per ? per : 1);
    n = n < 1 ? 1 : n;
    return n < (size_t)cap ? (int)n : cap;
}

/* The parameters the convolution stage writes gradients to: the
 * embeddings and the convolutions, a prefix of the block (cnn_init's
 * order). */
static size_t conv_prefix(const struct cnn_model *m)
{
    return m->tensors[m->cfg.ntok + 2 * m->cfg.nwidths].off;
}

void cnn_acts_init(struct cnn_acts *a, const struct cnn_model *m, int cap, int threads,
                   bool train)
{
    cnn_acts_init_chunk(a, m, cap, threads, chunk_of(m, cap), train);
}

void cnn_acts_init_chunk(struct cnn_acts *a, const struct cnn_model *m, int cap, int threads,
                         int chunk, bool train)
{
    const struct cnn_config *c = &m->cfg;
    memset(a, 0, sizeof *a);
    CHECK(cap >= 1 && threads >= 1 && threads <= CNN_MAX_THREADS && chunk >= 1);
    a->cap = cap;
    a->chunk = chunk < cap ? chunk : cap;
    /* no more workers than chunks */
    int nchunks = (cap + a->chunk - 1) / a->chunk;
    a->nworkers = threads < nchunks ? threads : nchunks;
    a->train = train;
    size_t B = (size_t)cap, C = (size_t)a->chunk, L = (size_t)c->L, E = (size_t)m->E;
    size_t F = (size_t)c->filters, T = (size_t)a->nworkers;
    size_t kmax = 0;
    for (int i = 0; i < c->nwidths; i++)
        kmax = (size_t)c->width[i] * E > kmax ? (size_t)c->width[i] * E : kmax;
    size_t sizes[64 + 6 * CNN_MAX_THREADS], ns = 0;
    for (size_t w = 0; w < T; w++) {
        sizes[ns++] = C * L * E;                           /* x */
        sizes[ns++] = C * L * kmax;                        /* col */
        if (train) {
            sizes[ns++] = C * L * E;                       /* dx */
            sizes[ns++] = C * L * F;                       /* dz */
            sizes[ns++] = w ? conv_prefix(m) : 0;          /* grads */
        }
    }
    for (int i = 0; i < c->nwidths; i++)
        sizes[ns++] = B * L * F;                           /* z */
    sizes[ns++] = B * m->D0;                               /* h0 */
    for (int l = 0; l < m->ndense; l++)
        sizes[ns++] = B * m->dense_out[l];                 /* a */
    for (int l = 0; l < c->nhidden; l++)
        sizes[ns++] = B * m->dense_out[l];                 /* mask */
    sizes[ns++] = B;                                       /* prob */
    if (train) {
        sizes[ns++] = B * m->D0;                           /* dh0 */
        for (int l = 0; l < m->ndense; l++)
            sizes[ns++] = B * m->dense_out[l];             /* da */
    }
    size_t total = 16;
    for (size_t i = 0; i < ns; i++)
        total += round16(sizes[i]);
    a->block = xreallocarray(NULL, total, sizeof(float));
    float *cur = (float *)(((uintptr_t)a->block + 63) & ~(uintptr_t)63);
    ns = 0;
    for (size_t w = 0; w < T; w++) {
        struct cnn_scratch *s = &a->w[w];
        s->x = take(&cur, sizes[ns++]);
        s->col = take(&cur, sizes[ns++]);
        if (train) {
            s->dx = take(&cur, sizes[ns++]);
            s->dz = take(&cur, sizes[ns++]);
            s->grads = w ? take(&cur, sizes[ns++]) : (ns++, NULL);
            if (s->grads)
                carve_part(m, &s->g, s->grads, true);
        }
    }
    for (int i = 0; i < c->nwidths; i++)
        a->z[i] = take(&cur, sizes[ns++]);
    a->h0 = take(&cur, sizes[ns++]);
    for (int l = 0; l < m->ndense; l++)
        a->a[l] = take(&cur, sizes[ns++]);
    for (int l = 0; l < c->nhidden; l++)
        a->mask[l] = take(&cur, sizes[ns++]);
    a->prob = take(&cur, sizes[ns++]);
    if (train) {
        a->dh0 = take(&cur, sizes[ns++]);
        for (int l = 0; l < m->ndense; l++)
            a->da[l] = take(&cur, sizes[ns++]);
    }
    a->iblock = xreallocarray(NULL, (size_t)c->nwidths * B * F, sizeof(int));
    for (int i = 0; i < c->nwidths; i++)
        a->arg[i] = a->iblock + (size_t)i * B * F;
    a->pool = a->nworkers > 1 ? cnn_pool_new(a->nworkers) : NULL;
}

void cnn_acts_release(struct cnn_acts *a)
{
    cnn_pool_free(a->pool);
    free(a->block);
    free(a->iblock);
    memset(a, 0, sizeof *a);
}

/* ---- the passes -------------------------------------------------------------------------- */

/* The convolution stage of one batch, run by every worker on its chunks. */
struct conv_job {
    struct cnn_model *m;
    struct cnn_acts *a;
    const struct cnn_batch *b;
};

/* Embeddings of examples e0 .. e0 + n of the batch into s->x. */
static void embed_chunk(const struct cnn_model *m, struct cnn_scratch *s,
                        const struct cnn_batch *b, int e0, int n)
{
    const struct cnn_config *c = &m->cfg;
    size_t at = (size_t)e0 * c->L;
    for (int t = 0, off = 0; t < c->ntok; off += c->dim[t], t++)
        cnn_embed_forward(s->x, b->tok[t] + at, m->p.emb[t], n * c->L, c->vocab[t], c->dim[t],
                          m->E, off);
}

static void forward_chunk(const struct cnn_model *m, struct cnn_acts *a, struct cnn_scratch *s,
                          const struct cnn_batch *b, int e0, int n)
{
    const struct cnn_config *c = &m->cfg;
    int L = c->L, E = m->E, F = c->filters;
    embed_chunk(m, s, b, e0, n);
    for (int i = 0; i < c->nwidths; i++) {
        int K = c->width[i] * E;
        float *z = a->z[i] + (size_t)e0 * L * F;
        cnn_im2col(s->col, s->x, n, L, E, c->width[i]);
        cnn_conv_forward(z, s->col, m->p.conv_w[i], m->p.conv_b[i], n * L, F, K);
        cnn_relu_forward(z, (size_t)n * L * F);
        cnn_pool_forward(a->h0 + (size_t)e0 * m->D0 + (size_t)i * m->npool * F, m->D0,
                         a->arg[i] + (size_t)e0 * F, z, b->len + e0, n, L, F, c->pool);
    }
}

/* The embeddings and im2col are recomputed (cheap, and they stay in
 * cache) rather than kept from the forward pass. */
static void backward_chunk(const struct cnn_model *m, struct cnn_acts *a, struct cnn_scratch *s,
                           const struct cnn_tensors *g, const struct cnn_batch *b, int e0, int n)
{
    const struct cnn_config *c = &m->cfg;
    int L = c->L, E = m->E, F = c->filters;
    embed_chunk(m, s, b, e0, n);
    memset(s->dx, 0, (size_t)n * L * E * sizeof(float));
    for (int i = 0; i < c->nwidths; i++) {
        int K = c->width[i] * E;
        const float *z = a->z[i] + (size_t)e0 * L * F;
        memset(s->dz, 0, (size_t)n * L * F * sizeof(float));
        cnn_pool_backward(s->dz, a->dh0 + (size_t)e0 * m->D0 + (size_t)i * m->npool * F, m->D0,
                          a->arg[i] + (size_t)e0 * F, b->len + e0, n, L, F, c->pool);
        cnn_relu_backward(s->dz, z, (size_t)n * L * F);
        cnn_im2col(s->col, s->x, n, L, E, c->width[i]);
        /* col is not needed after dw: it becomes dcol */
        cnn_conv_backward(s->col, g->conv_w[i], g->conv_b[i], s->dz, s->col, m->p.conv_w[i],
                          n * L, F, K);
        cnn_col2im(s->dx, s->col, n, L, E, c->width[i]);
    }
    size_t at = (size_t)e0 * L;
    for (int t = 0, off = 0; t < c->ntok; off += c->dim[t], t++)
        cnn_embed_backward(g->emb[t], s->dx, b->tok[t] + at, n * L, c->dim[t], E, off);
}

/* Worker w takes chunks w, w + T, w + 2T ... : a fixed assignment, so the
 * sums each worker forms do not depend on timing. */
static void forward_work(void *arg, int w)
{
    struct conv_job *j = arg;
    int C = j->a->chunk, step = C * j->a->nworkers, B = j->b->n;
    for (int e0 = w * C; e0 < B; e0 += step)
        forward_chunk(j->m, j->a, &j->a->w[w], j->b, e0, B - e0 < C ? B - e0 : C);
}

static void backward_work(void *arg, int w)
{
    struct conv_job *j = arg;
    struct cnn_scratch *s = &j->a->w[w];
    int C = j->a->chunk, step = C * j->a->nworkers, B = j->b->n;
    /* worker 0 adds into the model's gradients, the others into their own */
    const struct cnn_tensors *g = w ? &s->g : &j->m->g;
    if (w && w * C < B)
        memset(s->grads, 0, conv_prefix(j->m) * sizeof(float));
    for (int e0 = w * C; e0 < B; e0 += step)
        backward_chunk(j->m, j->a, s, g, j->b, e0, B - e0 < C ? B - e0 : C);
}

static void run_workers(struct cnn_acts *a, void (*fn)(void *, int), struct conv_job *j)
{
    if (a->pool)
        cnn_pool_run(a->pool, fn, j);
    else
        fn(j, 0);
}

double cnn_forward(struct cnn_model *m, struct cnn_acts *a, const struct cnn_batch *b, bool train,
                   float pos_weight, struct rng *r)
{
    const struct cnn_config *c = &m->cfg;
    int B = b->n, F = c->filters;
    CHECK(B >= 1 && B <= a->cap);
    CHECK(!train || a->train);
    struct conv_job j = {.m = m, .a = a, .b = b};
    run_workers(a, forward_work, &j);
    int numoff = c->nwidths * m->npool * F;
    for (int e = 0; e < B && c->nnum; e++)
        memcpy(a->h0 + (size_t)e * m->D0 + numoff, b->num + (size_t)e * c->nnum,
               (size_t)c->nnum * sizeof(float));
    const float *in = a->h0;
    for (int l = 0; l < m->ndense; l++) {
        int out = m->dense_out[l];
        cnn_dense_forward(a->a[l], in, m->p.dense_w[l], m->p.dense_b[l], B, m->dense_in[l], out);
        if (l < c->nhidden) {
            cnn_relu_forward(a->a[l], (size_t)B * out);
            if (train && c->dropout > 0)
                cnn_dropout_forward(a->a[l], a->mask[l], (size_t)B * out, c->dropout, r);
        }
        in = a->a[l];
    }
    return cnn_bce_forward(a->prob, a->a[m->ndense - 1], b->y, B, pos_weight);
}

void cnn_backward(struct cnn_model *m, struct cnn_acts *a, const struct cnn_batch *b,
                  float pos_weight, float scale)
{
    const struct cnn_config *c = &m->cfg;
    int B = b->n;
    CHECK(a->train && m->grads && b->y);
    for (int l = 0; l < m->ndense; l++)
        memset(a->da[l], 0, (size_t)B * m->dense_out[l] * sizeof(float));
    memset(a->dh0, 0, (size_t)B * m->D0 * sizeof(float));

    cnn_bce_backward(a->da[m->ndense - 1], a->prob, b->y, B, pos_weight, scale);
    for (int l = m->ndense - 1; l >= 0; l--) {
        int out = m->dense_out[l];
        if (l < c->nhidden) {
            if (c->dropout > 0)
                cnn_dropout_backward(a->da[l], a->mask[l], (size_t)B * out);
            cnn_relu_backward(a->da[l], a->a[l], (size_t)B * out);
        }
        const float *in = l ? a->a[l - 1] : a->h0;
        float *din = l ? a->da[l - 1] : a->dh0;
        cnn_dense_backward(din, m->g.dense_w[l], m->g.dense_b[l], a->da[l], in, m->p.dense_w[l], B,
                           m->dense_in[l], out);
    }
    struct conv_job j = {.m = m, .a = a, .b = b};
    run_workers(a, backward_work, &j);
    /* the workers' gradients, added in worker order */
    for (int w = 1; w < a->nworkers; w++)
        if (w * a->chunk < B)
            vadd(m->grads, a->w[w].grads, conv_prefix(m));
}

/* ---- the learner ---------------------------------------------------------------------------- */

static double learner_batch(void *state, const struct cnn_batch *b, bool train, float pos_weight,
                            float *prob, struct rng *r)
{
    struct cnn_acts *a = state;
    struct cnn_model *m = a->model;
    double loss = cnn_forward(m, a, b, train, pos_weight, r);
    memcpy(prob, a->prob, (size_t)b->n * sizeof *prob);
    if (train)
        cnn_backward(m, a, b, pos_weight, 1.0f / (float)b->n);
    return loss;
}

void cnn_learner(struct cnn_learner *L, struct cnn_model *m, struct cnn_acts *a)
{
    CHECK(m->grads && a->train);
    a->model = m;
    *L = (struct cnn_learner){
        .model = a,
        .params = m->params,
        .grads = m->grads,
        .adam_m = m->adam,
        .adam_v = m->adam + m->nparams,
        .nparams = m->nparams,
        .tensors = m->tensors,
        .ntensors = m->ntensors,
        .batch = learner_batch,
    };
}
