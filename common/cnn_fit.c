/* cnn_fit: Adam, the learning-rate schedule, minibatch epochs and early
 * stopping on the validation AUC, for any struct cnn_learner. */
#include "cnn_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnn_data.h"
#include "diag.h"
#include "dist.h"
#include "metrics.h"
#include "progress.h"
#include "xalloc.h"

const char *const cnn_schedule_names[4] = {"constant", "exp", "cosine", NULL};

/* Random streams split off the seed, one per use, epoch and rank (rank 0
 * draws the streams of a single process). */
enum { STREAM_SHUFFLE = 1u << 20, STREAM_DROPOUT = 2u << 20 };
#define STREAM_RANK(r) ((uint64_t)(r) << 40)

void cnn_fit_opts_default(struct cnn_fit_opts *o)
{
    *o = (struct cnn_fit_opts){
        .epochs = 10, .batch = 256, .patience = 3, .lr = 1e-3, .schedule = CNN_SCHED_CONSTANT,
        .lr_decay = 0.9, .l2 = 0, .pos_weight = 1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
        .seed = 1, .progress = false, .verbose = true,
    };
}

void cnn_fit_result_release(struct cnn_fit_result *r)
{
    free(r->hist);
    memset(r, 0, sizeof *r);
}

void cnn_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
              float beta2, float eps, float l2, int t)
{
    float c1 = 1.0f - powf(beta1, (float)t), c2 = 1.0f - powf(beta2, (float)t);
    float step = lr / c1, rc2 = 1.0f / sqrtf(c2);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + l2 * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * gi;
        v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) * rc2 + eps);
    }
}

double cnn_auc(const float *score, const uint8_t *label, size_t n)
{
    size_t npos = 0;
    for (size_t i = 0; i < n; i++)
        npos += label[i] != 0;
    size_t nneg = n - npos;
    if (npos == 0 || nneg == 0)
        return NAN;
    double *pos = xreallocarray(NULL, npos, sizeof *pos);
    double *neg = xreallocarray(NULL, nneg, sizeof *neg);
    size_t ip = 0, in = 0;
    for (size_t i = 0; i < n; i++) {
        if (label[i])
            pos[ip++] = score[i];
        else
            neg[in++] = score[i];
    }
    mt_sort_f64(pos, npos);
    mt_sort_f64(neg, nneg);
    double auc = mt_auc_sorted(pos, npos, neg, nneg);
    free(pos);
    free(neg);
    return auc;
}

double cnn_predict(float *prob, const struct cnn_learner *L, const struct cnn_data *d,
                   const uint32_t *idx, size_t n, int batch)
{
    struct cnn_batchbuf bb;
    cnn_batchbuf_init(&bb, d, batch);
    struct cnn_batch b;
    double loss = 0;
    for (size_t s = 0; s < n; s += (size_t)batch) {
        int nb = n - s < (size_t)batch ? (int)(n - s) : batch;
        cnn_data_gather(&b, &bb, d, idx + s, nb);
        loss += L->batch(L->model, &b, false, 1.0f, prob + s, NULL);
    }
    cnn_batchbuf_release(&bb);
    return loss;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static double epoch_lr(const struct cnn_fit_opts *o, int e)
{
    switch (o->schedule) {
    case CNN_SCHED_EXP: return o->lr * pow(o->lr_decay, e);
    case CNN_SCHED_COSINE: return o->lr * 0.5 * (1 + cos(M_PI * e / o->epochs));
    default: return o->lr;
    }
}

/* One pass over the training rows in a shuffled order; returns the summed
 * loss.  *step counts Adam steps over the whole fit.
 *
 * Under several ranks (common/dist.h) the step is synchronous data-parallel
 * SGD: step s takes rows [s B, (s + 1) B) of every rank's shuffled rows, the
 * ranks' mean gradients are summed weighted by their row counts and divided
 * by the step's total rows (the gradient of one batch of up to P B rows),
 * and every rank applies the same Adam step.  The epoch has as many steps
 * as the rank with the most rows needs; a rank out of rows adds nothing.
 * lo[P + 1] are the ranks' first global training rows (dist_offsets). */
static double train_epoch(const struct cnn_learner *L, const struct cnn_data *d, uint32_t *order,
                          size_t n, const struct cnn_fit_opts *o, struct cnn_batchbuf *bb,
                          float *prob, float lr, int e, int *step, const size_t *lo)
{
    int P = dist_size();
    size_t B = (size_t)o->batch, nsteps = 0;
    for (int r = 0; r < P; r++)
        if ((lo[r + 1] - lo[r] + B - 1) / B > nsteps)
            nsteps = (lo[r + 1] - lo[r] + B - 1) / B;
    struct rng base, shuffle, drop;
    rng_init(&base, o->seed);
    rng_split(&shuffle, &base, STREAM_SHUFFLE + (uint64_t)e + STREAM_RANK(dist_rank()));
    rng_split(&drop, &base, STREAM_DROPOUT + (uint64_t)e + STREAM_RANK(dist_rank()));
    rng_shuffle(&shuffle, order, n);
    struct progress prog;
    prog_init(&prog, "examples", o->progress);
    struct cnn_batch b;
    double loss = 0;
    for (size_t k = 0; k < nsteps; k++) {
        size_t s = k * B;
        int nb = s >= n ? 0 : n - s < B ? (int)(n - s) : o->batch;
        memset(L->grads, 0, L->nparams * sizeof *L->grads);
        if (nb > 0) {
            cnn_data_gather(&b, bb, d, order + s, nb);
            loss += L->batch(L->model, &b, true, (float)o->pos_weight, prob, &drop);
        }
        if (P > 1) {
            size_t total = 0;
            for (int r = 0; r < P; r++) {
                size_t nr = lo[r + 1] - lo[r];
                total += s >= nr ? 0 : nr - s < B ? nr - s : B;
            }
            for (size_t i = 0; i < L->nparams; i++)
                L->grads[i] *= (float)nb;
            dist_sum_f32(L->grads, L->nparams);
            float inv = 1.0f / (float)total;
            for (size_t i = 0; i < L->nparams; i++)
                L->grads[i] *= inv;
        }
        ++*step;
        for (int t = 0; t < L->ntensors; t++) {
            const struct cnn_tensor *ts = &L->tensors[t];
            cnn_adam(L->params + ts->off, L->grads + ts->off, L->adam_m + ts->off,
                     L->adam_v + ts->off, ts->size, lr, (float)o->beta1, (float)o->beta2,
                     (float)o->eps, ts->decay ? (float)o->l2 : 0.0f, *step);
        }
        prog_tick(&prog, s < n ? s + (size_t)nb : n);   /* a rank out of rows stays at n */
    }
    prog_done(&prog);
    return loss;
}

void cnn_fit(struct cnn_fit_result *res, const struct cnn_learner *L, const struct cnn_data *train,
             const uint32_t *tidx, size_t ntrain, const struct cnn_data *valid,
             const uint32_t *vidx, size_t nvalid, const struct cnn_fit_opts *o)
{
    /* Under several ranks each holds its own rows (a rank may have no
     * validation rows); figures are over all ranks' rows, and the
     * validation scores are gathered so that every rank computes the same
     * AUC and takes the same early-stopping decisions. */
    int P = dist_size();
    size_t *tlo = dist_offsets(ntrain), *vlo = dist_offsets(nvalid);
    size_t gtrain = tlo[P], gvalid = vlo[P];
    CHECK(o->epochs >= 1 && o->batch >= 1 && ntrain >= 1 && gvalid >= 1);
    memset(res, 0, sizeof *res);
    res->hist = xcalloc((size_t)o->epochs, sizeof *res->hist);
    res->ntrain = gtrain;
    res->nvalid = gvalid;
    res->best = -1;

    size_t mine = vlo[dist_rank()];
    uint8_t *vlab = xmalloc(gvalid);
    for (size_t i = 0; i < nvalid; i++)
        vlab[mine + i] = valid->y[vidx[i]];
    dist_share(vlab, 1, vlo);
    size_t vpos = 0;
    for (size_t i = 0; i < gvalid; i++)
        vpos += vlab[i];
    if (vpos == 0 || vpos == gvalid)
        die("the validation rows are all %s: the AUC needs both labels (more rows, or another "
            "--valid-frac)", vpos ? "positive" : "negative");

    uint32_t *order = xreallocarray(NULL, ntrain, sizeof *order);
    memcpy(order, tidx, ntrain * sizeof *order);
    float *prob = xreallocarray(NULL, (size_t)o->batch, sizeof *prob);
    float *vprob = xreallocarray(NULL, gvalid, sizeof *vprob);
    float *best = xreallocarray(NULL, L->nparams, sizeof *best);
    struct cnn_batchbuf bb;
    cnn_batchbuf_init(&bb, train, o->batch);

    int step = 0, since = 0;
    for (int e = 0; e < o->epochs; e++) {
        struct cnn_epoch *h = &res->hist[res->nhist++];
        h->epoch = e + 1;
        h->lr = epoch_lr(o, e);
        double t0 = now();
        double tl = train_epoch(L, train, order, ntrain, o, &bb, prob, (float)h->lr, e, &step,
                                tlo);
        double t1 = now();
        double vl = cnn_predict(vprob + mine, L, valid, vidx, nvalid, o->batch);
        double sums[2] = {tl, vl};
        dist_sum_f64(sums, 2);
        dist_share(vprob, sizeof *vprob, vlo);
        h->train_loss = sums[0] / (double)gtrain;
        h->valid_loss = sums[1] / (double)gvalid;
        h->valid_auc = cnn_auc(vprob, vlab, gvalid);
        h->train_seconds = t1 - t0;
        h->seconds = now() - t0;
        if (!isfinite(h->train_loss))
            die("epoch %d: the training loss is not finite (try a smaller --lr)", h->epoch);
        bool better = res->best < 0 || h->valid_auc > res->hist[res->best].valid_auc;
        if (better) {
            res->best = e;
            memcpy(best, L->params, L->nparams * sizeof *best);
            since = 0;
        } else {
            since++;
        }
        if (o->verbose)
            info("epoch %d/%d: train loss %.4f, valid loss %.4f, valid AUC %.4f, %.0f examples/s%s",
                 h->epoch, o->epochs, h->train_loss, h->valid_loss, h->valid_auc,
                 (double)gtrain / (h->train_seconds > 0 ? h->train_seconds : 1e-9),
                 better ? " *" : "");
        if (since >= o->patience && e + 1 < o->epochs) {
            if (o->verbose)
                info("stopping early: no better validation AUC in %d epochs", o->patience);
            break;
        }
    }
    memcpy(L->params, best, L->nparams * sizeof *best);
    cnn_batchbuf_release(&bb);
    free(best);
    free(vprob);
    free(prob);
    free(order);
    free(vlab);
    free(vlo);
    free(tlo);
}

/* ---- the training summary of a model record ---------------------------------- */

void cnn_fit_pack(msgpack_packer *pk, const struct cnn_fit_result *fit)
{
    const struct cnn_epoch *b = &fit->hist[fit->best];
    msgpack_pack_map(pk, 8);
    mp_pack_str(pk, "epochs");
    msgpack_pack_int(pk, fit->nhist);
    mp_pack_str(pk, "best_epoch");
    msgpack_pack_int(pk, b->epoch);
    mp_pack_str(pk, "train_rows");
    msgpack_pack_uint64(pk, fit->ntrain);
    mp_pack_str(pk, "valid_rows");
    msgpack_pack_uint64(pk, fit->nvalid);
    mp_pack_str(pk, "valid_auc");
    msgpack_pack_double(pk, b->valid_auc);
    mp_pack_str(pk, "valid_loss");
    msgpack_pack_double(pk, b->valid_loss);
    mp_pack_str(pk, "train_loss");
    msgpack_pack_double(pk, b->train_loss);
    mp_pack_str(pk, "history");
    msgpack_pack_array(pk, (uint32_t)fit->nhist);
    for (int e = 0; e < fit->nhist; e++) {
        const struct cnn_epoch *h = &fit->hist[e];
        msgpack_pack_map(pk, 5);
        mp_pack_str(pk, "epoch");
        msgpack_pack_int(pk, h->epoch);
        mp_pack_str(pk, "lr");
        msgpack_pack_double(pk, h->lr);
        mp_pack_str(pk, "train_loss");
        msgpack_pack_double(pk, h->train_loss);
        mp_pack_str(pk, "valid_loss");
        msgpack_pack_double(pk, h->valid_loss);
        mp_pack_str(pk, "valid_auc");
        msgpack_pack_double(pk, h->valid_auc);
    }
}
