/* The CNN scorer of promo-score: each sequences record gets "p_buy", the
 * model's probability that the user buys in the label window.  One record
 * at a time through the same forward pass as training (dropout off);
 * memory is the model and one sequence's activations.
 *
 * Token ids at or above the model's vocabulary become 1 (unknown), as in
 * training.  Numeric features are read from the record and scaled as in
 * training; nil or NaN is the training mean; a feature the record lacks is an
 * error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnn.h"
#include "rec.h"
#include "xalloc.h"

struct cnn_scorer {
    struct cnn_model m;
    struct cnn_acts a;
    uint32_t *tok;            /* [ntok][L] */
    float *num;               /* [nnum] */
    int len;
    double p;
};

static void *cnn_score_load(rs *r, const struct score_opts *o)
{
    (void)o;
    struct cnn_scorer *s = xcalloc(1, sizeof *s);
    cnn_load(&s->m, r);
    cnn_acts_init(&s->a, &s->m, 1, 1, false);
    const struct cnn_config *c = &s->m.cfg;
    s->tok = xcalloc((size_t)c->ntok * c->L, sizeof *s->tok);
    s->num = xcalloc((size_t)c->nnum + 1, sizeof *s->num);
    return s;
}

static const char *cnn_score_out_kind(void *state, const char *in_kind)
{
    (void)state;
    return in_kind;
}

static void read_tokens(struct cnn_scorer *s, rs *in, int t)
{
    const struct cnn_config *c = &s->m.cfg;
    const char *name = c->tok_name[t];
    const msgpack_object *o = rec_field(in, name);
    if (!o)
        rs_die(in, "field \"%s\": missing (the model needs it)", name);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != (uint32_t)c->L)
        rs_die(in, "field \"%s\": expected an array of %d token ids, got %s", name, c->L,
               o->type == MSGPACK_OBJECT_ARRAY ? "one of another length" : mp_type_name(o));
    uint32_t *row = s->tok + (size_t)t * c->L;
    for (int i = 0; i < c->L; i++) {
        const msgpack_object *e = &o->via.array.ptr[i];
        double v;
        if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = e->via.u64 > UINT32_MAX ? (double)UINT32_MAX : (double)e->via.u64;
        else if ((e->type == MSGPACK_OBJECT_FLOAT32 || e->type == MSGPACK_OBJECT_FLOAT64) &&
                 e->via.f64 >= 0 && e->via.f64 == floor(e->via.f64))
            v = e->via.f64;
        else
            rs_die(in, "field \"%s\": element %d: expected a token id (an integer >= 0), got %s",
                   name, i, mp_type_name(e));
        row[i] = v < c->vocab[t] ? (uint32_t)v : 1;   /* unknown */
    }
}

static void read_record(struct cnn_scorer *s, rs *in)
{
    const struct cnn_model *m = &s->m;
    const struct cnn_config *c = &m->cfg;
    for (int t = 0; t < c->ntok; t++)
        read_tokens(s, in, t);
    int64_t len;
    if (rec_opt_i64(in, "len", &len)) {
        if (len < 0 || len > c->L)
            rs_die(in, "field \"len\": %lld is outside 0 to %d (the sequence length)",
                   (long long)len, c->L);
        s->len = (int)len;
    } else {
        int first = 0;
        while (first < c->L && s->tok[first] == 0)
            first++;
        s->len = c->L - first;
    }
    for (int k = 0; k < c->nnum; k++) {
        const char *name = m->num_names[k];
        const msgpack_object *o = mp_map_get(rs_rec(in), name);
        if (!o)
            rs_die(in, "field \"%s\": missing (a numeric feature of the model; records need "
                   "the users view's features)", name);
        double v;
        if (o->type == MSGPACK_OBJECT_NIL) {
            s->num[k] = 0;   /* the training mean */
            continue;
        }
        if (o->type == MSGPACK_OBJECT_BOOLEAN)
            v = o->via.boolean;
        else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            v = (double)o->via.u64;
        else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            v = (double)o->via.i64;
        else if (o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64)
            v = o->via.f64;
        else
            rs_die(in, "field \"%s\": expected a number, got %s", name, mp_type_name(o));
        if (isnan(v)) {
            s->num[k] = 0;
            continue;
        }
        if (!isfinite(v))
            rs_die(in, "field \"%s\": not a finite number", name);
        s->num[k] = (float)((v - m->num_mean[k]) / m->num_sd[k]);
    }
}

static void pack_fields(void *state, msgpack_packer *pk)
{
    struct cnn_scorer *s = state;
    mp_pack_str(pk, "p_buy");
    msgpack_pack_double(pk, s->p);
}

static void cnn_score_record(void *state, rs *in, ws *w)
{
    static const char *const names[] = {"p_buy"};
    struct cnn_scorer *s = state;
    const struct cnn_config *c = &s->m.cfg;
    read_record(s, in);
    struct cnn_batch b = {.n = 1, .len = &s->len, .num = s->num, .y = NULL};
    for (int t = 0; t < c->ntok; t++)
        b.tok[t] = s->tok + (size_t)t * c->L;
    cnn_forward(&s->m, &s->a, &b, false, 1.0f, NULL);
    s->p = s->a.prob[0];
    score_emit(in, w, names, 1, pack_fields, s);
}

static void cnn_score_finish(void *state, ws *w)
{
    (void)state;
    (void)w;
}

static void cnn_score_free(void *state)
{
    struct cnn_scorer *s = state;
    if (!s)
        return;
    cnn_acts_release(&s->a);
    cnn_release(&s->m);
    free(s->tok);
    free(s->num);
    free(s);
}

const struct scorer cnn_scorer = {
    .kind = CNN_KIND,
    .load = cnn_score_load,
    .out_kind = cnn_score_out_kind,
    .record = cnn_score_record,
    .finish = cnn_score_finish,
    .free = cnn_score_free,
};
