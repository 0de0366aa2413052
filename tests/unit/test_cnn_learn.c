/* The CNN learns: a planted token bigram that decides the label is found
 * to a validation AUC above 0.95, while a model of token counts cannot do
 * better than chance (the negatives hold the same two tokens in the other
 * order or apart).  Also: the same seed gives the same parameters, the
 * model survives a save and load, the BLAS and naive backends agree, and
 * the logistic baseline learns a linear rule. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cnn.h"
#include "cnn_data.h"
#include "linalg.h"
#include "logreg.h"
#include "rng.h"
#include "xalloc.h"

enum { L = 20, VOCAB = 12, A = 3, B = 7 };

/* n rows of one token field "ev": ids 2..11 at random after a left
 * padding of L - len; half the rows hold the bigram A B (label 1), the
 * other half hold A and B but never A right before B (label 0). */
static void make_data(struct cnn_data *d, size_t n, uint64_t seed)
{
    static char *tok[] = {"ev"};
    cnn_data_init(d, tok, 1, NULL, 0, "label");
    d->L = L;
    d->n = d->cap = n;
    d->tok[0].u16 = xcalloc(n * L, sizeof(uint16_t));
    d->len = xcalloc(n, sizeof(int));
    d->num = xcalloc(1, sizeof(float));
    d->y = xcalloc(n, 1);
    struct rng r;
    rng_init(&r, seed);
    for (size_t i = 0; i < n; i++) {
        uint16_t *row = d->tok[0].u16 + i * L;
        int len = 6 + (int)rng_below(&r, L - 5), t0 = L - len;
        bool pos = rng_below(&r, 2);
        for (;;) {
            for (int t = t0; t < L; t++)
                row[t] = (uint16_t)(2 + rng_below(&r, VOCAB - 2));
            int p = t0 + (int)rng_below(&r, (uint64_t)len - 1);
            if (pos) {
                row[p] = A;
                row[p + 1] = B;
            } else {
                row[p] = B;   /* the same tokens, the other order */
                row[p + 1] = A;
            }
            bool has = false;
            for (int t = t0; t + 1 < L; t++)
                has = has || (row[t] == A && row[t + 1] == B);
            if (has == pos)
                break;
        }
        d->len[i] = len;
        d->y[i] = pos;
    }
    d->tok[0].max = VOCAB - 1;
}

static void config(struct cnn_config *c)
{
    memset(c, 0, sizeof *c);
    c->L = L;
    c->ntok = 1;
    strcpy(c->tok_name[0], "ev");
    c->vocab[0] = VOCAB;
    c->dim[0] = 8;
    c->nwidths = 2;
    c->width[0] = 2;
    c->width[1] = 3;
    c->filters = 16;
    c->pool = CNN_POOL_MAX | CNN_POOL_MEAN;
    c->nhidden = 1;
    c->hidden[0] = 16;
    c->dropout = 0.1f;
}

static uint32_t *iota(size_t n, size_t from)
{
    uint32_t *v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (uint32_t)(from + i);
    return v;
}

struct trained {
    struct cnn_model m;
    struct cnn_fit_result res;
};

/* threads workers over chunks of 16 examples (4 per batch) */
static void train(struct trained *t, struct cnn_data *d, size_t ntrain, size_t nvalid,
                  uint64_t seed, int threads)
{
    struct cnn_config c;
    config(&c);
    cnn_init(&t->m, &c, NULL);
    cnn_init_weights(&t->m, seed);
    cnn_train_alloc(&t->m);
    struct cnn_fit_opts o;
    cnn_fit_opts_default(&o);
    o.epochs = 6;
    o.batch = 64;
    o.lr = 3e-3;
    o.seed = seed;
    o.verbose = false;
    struct cnn_acts a;
    cnn_acts_init_chunk(&a, &t->m, o.batch, threads, 16, true);
    struct cnn_learner lrn;
    cnn_learner(&lrn, &t->m, &a);
    uint32_t *ti = iota(ntrain, 0), *vi = iota(nvalid, ntrain);
    cnn_fit(&t->res, &lrn, d, ti, ntrain, d, vi, nvalid, &o);
    free(ti);
    free(vi);
    cnn_acts_release(&a);
}

/* The validation AUC of a score that counts the tokens A and B: what a
 * model without order would see. */
static double count_auc(const struct cnn_data *d, size_t from, size_t n)
{
    float *s = xcalloc(n, sizeof *s);
    uint8_t *y = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        const uint16_t *row = d->tok[0].u16 + (from + i) * L;
        for (int t = 0; t < L; t++)
            s[i] += (row[t] == A) + (row[t] == B);
        y[i] = d->y[from + i];
    }
    double auc = cnn_auc(s, y, n);
    free(s);
    free(y);
    return auc;
}

static void test_bigram(void)
{
    struct cnn_data d;
    size_t ntrain = 3000, nvalid = 1000;
    make_data(&d, ntrain + nvalid, 11);
    struct trained t1, t2, t3, t4;
    train(&t1, &d, ntrain, nvalid, 5, 1);
    double auc = t1.res.hist[t1.res.best].valid_auc;
    char msg[128];
    snprintf(msg, sizeof msg, "planted bigram: validation AUC %.4f > 0.95", auc);
    CHECK_TRUE(auc > 0.95, msg);
    double cauc = count_auc(&d, ntrain, nvalid);
    snprintf(msg, sizeof msg, "planted bigram: token counts alone give AUC %.4f (near 0.5)", cauc);
    CHECK_TRUE(fabs(cauc - 0.5) < 0.1, msg);

    train(&t2, &d, ntrain, nvalid, 5, 1);
    CHECK_TRUE(t1.m.nparams == t2.m.nparams &&
               memcmp(t1.m.params, t2.m.params, t1.m.nparams * sizeof(float)) == 0,
               "the same seed gives the same parameters, bit for bit");
    train(&t3, &d, ntrain, nvalid, 5, 3);
    train(&t4, &d, ntrain, nvalid, 5, 3);
    CHECK_TRUE(memcmp(t3.m.params, t4.m.params, t3.m.nparams * sizeof(float)) == 0,
               "the same seed and 3 threads give the same parameters, bit for bit");
    double worst = 0;
    for (size_t i = 0; i < t1.m.nparams; i++)
        worst = fmax(worst, fabs(t1.m.params[i] - t3.m.params[i]));
    snprintf(msg, sizeof msg, "3 threads train the same model as 1 up to rounding (%.2g)", worst);
    CHECK_TRUE(worst < 1e-2 && t3.res.hist[t3.res.best].valid_auc > 0.95, msg);

    /* save and load: the same probabilities */
    char path[] = "/tmp/test_cnn_learn_XXXXXX";
    int fd = mkstemp(path);
    CHECK_TRUE(fd >= 0, "a temporary file");
    close(fd);
    ws *w = ws_open(path, 1);
    cnn_write_options(&t1.m, w);
    ws_header(w, CNN_KIND);
    cnn_save(&t1.m, w, &t1.res);
    ws_close(w);
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, CNN_KIND);
    struct cnn_model back;
    cnn_load(&back, r);
    rs_free(r);
    unlink(path);
    CHECK_TRUE(back.nparams == t1.m.nparams &&
               memcmp(back.params, t1.m.params, back.nparams * sizeof(float)) == 0,
               "save and load keep every parameter");

    /* the naive backend gives the same probabilities within rounding */
    struct cnn_acts a;
    cnn_acts_init(&a, &back, 64, 1, false);
    struct cnn_batchbuf bb;
    cnn_batchbuf_init(&bb, &d, 64);
    struct cnn_batch b;
    uint32_t *idx = iota(64, ntrain);
    cnn_data_gather(&b, &bb, &d, idx, 64);
    float p1[64], p2[64];
    cnn_forward(&back, &a, &b, false, 1, NULL);
    memcpy(p1, a.prob, sizeof p1);
    la_set_backend(LA_NAIVE);
    cnn_forward(&back, &a, &b, false, 1, NULL);
    memcpy(p2, a.prob, sizeof p2);
    la_set_backend(LA_BLAS);
    worst = 0;
    for (int i = 0; i < 64; i++)
        worst = fmax(worst, fabs(p1[i] - p2[i]));
    CHECK_TRUE(worst < 1e-4, "OpenBLAS and the naive loops give the same probabilities");
    free(idx);
    cnn_batchbuf_release(&bb);
    cnn_acts_release(&a);
    cnn_release(&back);
    cnn_fit_result_release(&t1.res);
    cnn_fit_result_release(&t2.res);
    cnn_fit_result_release(&t3.res);
    cnn_fit_result_release(&t4.res);
    cnn_release(&t1.m);
    cnn_release(&t2.m);
    cnn_release(&t3.m);
    cnn_release(&t4.m);
    cnn_data_release(&d);
}

/* The baseline on two numeric features with a known linear rule. */
static void test_logreg(void)
{
    static char *num[] = {"x1", "x2"};
    struct cnn_data d;
    cnn_data_init(&d, NULL, 0, num, 2, "label");
    size_t n = 4000;
    d.n = d.cap = n;
    d.len = xcalloc(n, sizeof(int));
    d.num = xcalloc(2 * n, sizeof(float));
    d.y = xcalloc(n, 1);
    struct rng r;
    rng_init(&r, 3);
    for (size_t i = 0; i < n; i++) {
        double x1 = 5 + 2 * rng_normal(&r), x2 = rng_normal(&r);
        d.num[2 * i] = (float)x1;
        d.num[2 * i + 1] = (float)x2;
        double z = 1.5 * (x1 - 5) / 2 - 1.0 * x2;
        d.y[i] = rng_uniform(&r) < 1 / (1 + exp(-z));
    }
    uint32_t *ti = iota(3000, 0), *vi = iota(1000, 3000);
    struct lr_model m;
    lr_init(&m, 2, num);
    cnn_data_fit_scale(&d, ti, 3000, m.num_mean, m.num_sd);
    CHECK_NEAR(m.num_mean[0], 5, 0.1, "logreg: the scaling's mean");
    CHECK_NEAR(m.num_sd[0], 2, 0.1, "logreg: the scaling's standard deviation");
    cnn_data_scale(&d, m.num_mean, m.num_sd);
    lr_init_weights(&m, 1);
    struct cnn_fit_opts o;
    cnn_fit_opts_default(&o);
    o.epochs = 20;
    o.batch = 64;
    o.lr = 0.05;
    o.patience = 20;
    o.verbose = false;
    lr_train_alloc(&m, o.batch);
    struct cnn_learner lrn;
    lr_learner(&lrn, &m);
    struct cnn_fit_result res;
    cnn_fit(&res, &lrn, &d, ti, 3000, &d, vi, 1000, &o);
    CHECK_NEAR(m.w[0], 1.5, 0.25, "logreg: the first coefficient (scaled units)");
    CHECK_NEAR(m.w[1], -1.0, 0.25, "logreg: the second coefficient");
    /* the true model's AUC on the validation rows is the ceiling */
    float *s = xcalloc(1000, sizeof *s);
    for (size_t i = 0; i < 1000; i++) {
        const float *x = d.num + 2 * (3000 + i);
        s[i] = (float)(1.5 * x[0] - 1.0 * x[1]);   /* x1 scaled by its own sd, near 2 */
    }
    uint8_t *y = xcalloc(1000, 1);
    memcpy(y, d.y + 3000, 1000);
    double ceiling = cnn_auc(s, y, 1000);
    CHECK_TRUE(res.hist[res.best].valid_auc > ceiling - 0.01,
               "logreg: validation AUC within 0.01 of the true model's");
    free(s);
    free(y);
    free(ti);
    free(vi);
    cnn_fit_result_release(&res);
    lr_release(&m);
    cnn_data_release(&d);
}

int main(void)
{
    test_bigram();
    test_logreg();
    return check_done();
}
