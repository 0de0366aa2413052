/* The logistic-regression scorer of promo-score: each record (a users
 * view, or any record with the model's numeric fields) gets "p_buy".
 * Features are scaled as in training; nil or NaN is the training mean; a
 * feature the record lacks is an error.  Memory is the model. */
#include <math.h>
#include <stdlib.h>

#include "logreg.h"
#include "rec.h"
#include "xalloc.h"

struct lr_scorer {
    struct lr_model m;
    float *x;                 /* [nnum] */
    double p;
};

static void *lr_score_load(rs *r, const struct score_opts *o)
{
    (void)o;
    struct lr_scorer *s = xcalloc(1, sizeof *s);
    lr_load(&s->m, r);
    s->x = xcalloc((size_t)s->m.nnum, sizeof *s->x);
    return s;
}

static const char *lr_score_out_kind(void *state, const char *in_kind)
{
    (void)state;
    return in_kind;
}

static void read_features(struct lr_scorer *s, rs *in)
{
    const struct lr_model *m = &s->m;
    for (int k = 0; k < m->nnum; k++) {
        const char *name = m->num_names[k];
        const msgpack_object *o = mp_map_get(rs_rec(in), name);
        if (!o)
            rs_die(in, "field \"%s\": missing (a numeric feature of the model)", name);
        double v;
        switch (o->type) {
        case MSGPACK_OBJECT_NIL: s->x[k] = 0; continue;   /* the training mean */
        case MSGPACK_OBJECT_BOOLEAN: v = o->via.boolean; break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
        default: rs_die(in, "field \"%s\": expected a number, got %s", name, mp_type_name(o));
        }
        if (isnan(v)) {
            s->x[k] = 0;
            continue;
        }
        if (!isfinite(v))
            rs_die(in, "field \"%s\": not a finite number", name);
        s->x[k] = (float)((v - m->num_mean[k]) / m->num_sd[k]);
    }
}

static void pack_fields(void *state, msgpack_packer *pk)
{
    struct lr_scorer *s = state;
    mp_pack_str(pk, "p_buy");
    msgpack_pack_double(pk, s->p);
}

static void lr_score_record(void *state, rs *in, ws *w)
{
    static const char *const names[] = {"p_buy"};
    struct lr_scorer *s = state;
    read_features(s, in);
    s->p = lr_predict(&s->m, s->x);
    score_emit(in, w, names, 1, pack_fields, s);
}

static void lr_score_finish(void *state, ws *w)
{
    (void)state;
    (void)w;
}

static void lr_score_free(void *state)
{
    struct lr_scorer *s = state;
    if (!s)
        return;
    lr_release(&s->m);
    free(s->x);
    free(s);
}

const struct scorer logreg_scorer = {
    .kind = LR_KIND,
    .load = lr_score_load,
    .out_kind = lr_score_out_kind,
    .record = lr_score_record,
    .finish = lr_score_finish,
    .free = lr_score_free,
};
