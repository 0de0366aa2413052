/* logreg: the baseline's parameter block, its batch pass (the CNN's dense
 * and loss kernels), and its model stream:
 *
 *   format    LR_FORMAT
 *   numeric   [name, ...]    num_mean, num_sd: float32 arrays (the scaling)
 *   weight    float32 [nnum] bias: float32 [1]
 *   training  as in the CNN's record (cnn_fit_pack)
 */
#include "logreg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "diag.h"
#include "rec.h"
#include "xalloc.h"

void lr_init(struct lr_model *m, int nnum, char *const *num_names)
{
    if (nnum < 1 || nnum > 4096)
        die("logreg: %d numeric features; expected 1 to 4096 (--numeric)", nnum);
    memset(m, 0, sizeof *m);
    m->nnum = nnum;
    size_t text = 0;
    for (int j = 0; j < nnum; j++)
        text += strlen(num_names[j]) + 1;
    m->num_names = xmalloc((size_t)nnum * sizeof(char *) + text);
    char *s = (char *)(m->num_names + nnum);
    for (int j = 0; j < nnum; j++) {
        size_t n = strlen(num_names[j]) + 1;
        memcpy(s, num_names[j], n);
        m->num_names[j] = s;
        s += n;
    }
    m->num_mean = xcalloc((size_t)nnum * 2, sizeof(float));
    m->num_sd = m->num_mean + nnum;
    for (int j = 0; j < nnum; j++)
        m->num_sd[j] = 1;
    m->tensors[0] = (struct cnn_tensor){.name = "weight", .rank = 2, .shape = {1, nnum},
                                        .off = 0, .size = (size_t)nnum, .decay = true};
    m->tensors[1] = (struct cnn_tensor){.name = "bias", .rank = 1, .shape = {1, 1},
                                        .off = (size_t)nnum, .size = 1, .decay = false};
    m->nparams = (size_t)nnum + 1;
    m->params = xcalloc(m->nparams, sizeof *m->params);
    m->w = m->params;
    m->b = m->params + nnum;
}

void lr_release(struct lr_model *m)
{
    free(m->num_names);
    free(m->num_mean);
    free(m->params);
    free(m->grads);
    free(m->adam);
    free(m->logit);
    memset(m, 0, sizeof *m);
}

void lr_init_weights(struct lr_model *m, uint64_t seed)
{
    struct rng base, r;
    rng_init(&base, seed);
    float bound = 1.0f / sqrtf((float)m->nnum);
    for (int k = 0; k < 2; k++) {
        rng_split(&r, &base, (uint64_t)k);
        float *p = m->params + m->tensors[k].off;
        for (size_t i = 0; i < m->tensors[k].size; i++)
            p[i] = (2 * (float)(rng_u64(&r) >> 40) * (1.0f / 16777216.0f) - 1) * bound;
    }
}

void lr_train_alloc(struct lr_model *m, int cap)
{
    CHECK(!m->grads && cap >= 1);
    m->grads = xcalloc(m->nparams, sizeof *m->grads);
    m->gw = m->grads;
    m->gb = m->grads + m->nnum;
    m->adam = xcalloc(2 * m->nparams, sizeof *m->adam);
    m->cap = cap;
    m->logit = xcalloc((size_t)cap * (2 + (size_t)m->nnum), sizeof *m->logit);
    m->dlogit = m->logit + cap;
    m->dx = m->dlogit + cap;
}

static double lr_batch(void *state, const struct cnn_batch *b, bool train, float pos_weight,
                       float *prob, struct rng *r)
{
    (void)r;
    struct lr_model *m = state;
    CHECK(b->n <= m->cap);
    cnn_dense_forward(m->logit, b->num, m->w, m->b, b->n, m->nnum, 1);
    double loss = cnn_bce_forward(prob, m->logit, b->y, b->n, pos_weight);
    if (train) {
        memset(m->dlogit, 0, (size_t)b->n * sizeof *m->dlogit);
        cnn_bce_backward(m->dlogit, prob, b->y, b->n, pos_weight, 1.0f / (float)b->n);
        cnn_dense_backward(m->dx, m->gw, m->gb, m->dlogit, b->num, m->w, b->n, m->nnum, 1);
    }
    return loss;
}

void lr_learner(struct cnn_learner *L, struct lr_model *m)
{
    CHECK(m->grads);
    *L = (struct cnn_learner){
        .model = m,
        .params = m->params,
        .grads = m->grads,
        .adam_m = m->adam,
        .adam_v = m->adam + m->nparams,
        .nparams = m->nparams,
        .tensors = m->tensors,
        .ntensors = 2,
        .batch = lr_batch,
    };
}

double lr_predict(const struct lr_model *m, const float *x)
{
    double z = m->b[0];
    for (int k = 0; k < m->nnum; k++)
        z += (double)m->w[k] * x[k];
    return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z));
}

/* ---- the model stream ---------------------------------------------------------- */

void lr_write_options(const struct lr_model *m, ws *w)
{
    ws_opt_int(w, "parameters", (int64_t)m->nparams);
}

void lr_save(const struct lr_model *m, ws *w, const struct cnn_fit_result *fit)
{
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, 6 + (fit != NULL));
    mp_pack_str(pk, "format");
    msgpack_pack_int(pk, LR_FORMAT);
    mp_pack_str(pk, "numeric");
    msgpack_pack_array(pk, (uint32_t)m->nnum);
    for (int k = 0; k < m->nnum; k++)
        mp_pack_str(pk, m->num_names[k]);
    mp_pack_str(pk, "num_mean");
    mp_pack_f32s(pk, m->num_mean, (size_t)m->nnum);
    mp_pack_str(pk, "num_sd");
    mp_pack_f32s(pk, m->num_sd, (size_t)m->nnum);
    mp_pack_str(pk, "weight");
    mp_pack_f32s(pk, m->w, (size_t)m->nnum);
    mp_pack_str(pk, "bias");
    mp_pack_f32s(pk, m->b, 1);
    if (fit) {
        mp_pack_str(pk, "training");
        cnn_fit_pack(pk, fit);
    }
    ws_end(w);
}

static const msgpack_object *need(rs *r, const msgpack_object *rec, const char *key,
                                  msgpack_object_type type, const char *what)
{
    const msgpack_object *o = mp_map_get(rec, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        rs_die(r, "field \"%s\": missing", key);
    if (o->type != type)
        rs_die(r, "field \"%s\": expected %s, got %s", key, what, mp_type_name(o));
    return o;
}

static void floats_of(rs *r, const msgpack_object *rec, const char *key, float *out, size_t n)
{
    const msgpack_object *o = need(r, rec, key, MSGPACK_OBJECT_ARRAY, "an array");
    if (o->via.array.size != n)
        rs_die(r, "field \"%s\": expected %zu numbers, got %u", key, n, o->via.array.size);
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_FLOAT32 && e->type != MSGPACK_OBJECT_FLOAT64)
            rs_die(r, "field \"%s\": element %zu: expected a number, got %s", key, i,
                   mp_type_name(e));
        if (!isfinite(e->via.f64))
            rs_die(r, "field \"%s\": element %zu: not a finite number", key, i);
        out[i] = (float)e->via.f64;
    }
}

void lr_load(struct lr_model *m, rs *r)
{
    if (!rs_next(r))
        die("%s: the model has no record", rs_file(r));
    const msgpack_object *rec = rs_rec(r);
    const msgpack_object *f = need(r, rec, "format", MSGPACK_OBJECT_POSITIVE_INTEGER,
                                   "an integer");
    if (f->via.u64 > LR_FORMAT)
        rs_die(r, "field \"format\": model layout %llu is newer than this program reads (%d)",
               (unsigned long long)f->via.u64, LR_FORMAT);
    const msgpack_object *num = need(r, rec, "numeric", MSGPACK_OBJECT_ARRAY, "an array");
    uint32_t n = num->via.array.size;
    if (n < 1 || n > 4096)
        rs_die(r, "field \"numeric\": expected 1 to 4096 feature names, got %u", n);
    char **names = xcalloc(n, sizeof *names);
    for (uint32_t k = 0; k < n; k++) {
        const msgpack_object *e = &num->via.array.ptr[k];
        if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0)
            rs_die(r, "field \"numeric\": element %u: expected a name", k);
        names[k] = xstrndup(e->via.str.ptr, e->via.str.size);
    }
    lr_init(m, (int)n, names);
    for (uint32_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    floats_of(r, rec, "num_mean", m->num_mean, n);
    floats_of(r, rec, "num_sd", m->num_sd, n);
    for (uint32_t k = 0; k < n; k++)
        if (!(m->num_sd[k] > 0))
            rs_die(r, "field \"num_sd\": element %u: expected a positive number", k);
    floats_of(r, rec, "weight", m->w, n);
    floats_of(r, rec, "bias", m->b, 1);
}
