/* dtree_score: promo-score's scorer for "model/dtree" models.
 *
 * Each record passes through with the model's fields added:
 *   classification  p: the probability of the second class (two classes),
 *                   or a map class -> probability (more); pred: the class
 *   regression      pred: the predicted value
 *   uplift          uplift_OFFER for each offer (its mean outcome minus the
 *                   control's), uplift: the largest, best_offer: its offer
 * Features are found by name; a missing or nil field is a missing value,
 * and a level the model does not list goes where its pooled "other" levels
 * went.  One record in, one out: memory is the model's. */
#include "dtree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "score.h"
#include "stream.h"
#include "xalloc.h"

struct dts {
    struct dt_model m;
    struct strmap names;     /* feature name -> index */
    double *x;               /* [nfeat] the record's features */
    double *out;             /* [nval] the prediction */
    char **fields;           /* the names of the added fields */
    size_t nfields;
};

static char *cat_name(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = xmalloc(n);
    snprintf(s, n, "%s%s", a, b);
    return s;
}

static void *dts_load(rs *r, const struct score_opts *o)
{
    (void)o;
    struct dts *s = xcalloc(1, sizeof *s);
    dt_read(&s->m, r);
    const struct dt_model *m = &s->m;
    sm_init(&s->names);
    for (size_t j = 0; j < m->nfeat; j++)
        sm_intern(&s->names, m->feat[j].name, strlen(m->feat[j].name));
    s->x = xcalloc(m->nfeat + 1, sizeof *s->x);
    s->out = xcalloc(m->nval + 1, sizeof *s->out);
    s->fields = xcalloc(m->narm + 3, sizeof *s->fields);
    switch (m->task) {
    case DT_CLASSIFY:
        s->fields[s->nfields++] = xstrdup("p");
        s->fields[s->nfields++] = xstrdup("pred");
        break;
    case DT_REGRESS:
        s->fields[s->nfields++] = xstrdup("pred");
        break;
    case DT_UPLIFT:
        for (size_t a = 1; a < m->narm; a++)
            s->fields[s->nfields++] = cat_name("uplift_", m->arm_names[a]);
        s->fields[s->nfields++] = xstrdup("uplift");
        s->fields[s->nfields++] = xstrdup("best_offer");
        break;
    }
    return s;
}

static const char *dts_out_kind(void *state, const char *in_kind)
{
    (void)state;
    return in_kind;
}

/* The record's features into s->x. */
static void read_features(struct dts *s, rs *in)
{
    const struct dt_model *m = &s->m;
    for (size_t j = 0; j < m->nfeat; j++)
        s->x[j] = NAN;
    const msgpack_object *rec = rs_rec(in);
    for (uint32_t i = 0; i < rec->via.map.size; i++) {
        const msgpack_object *k = &rec->via.map.ptr[i].key, *v = &rec->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            continue;
        int64_t j = sm_find(&s->names, k->via.str.ptr, k->via.str.size);
        if (j < 0 || v->type == MSGPACK_OBJECT_NIL)
            continue;
        const struct dt_feature *f = &m->feat[j];
        if (f->cat) {
            if (v->type != MSGPACK_OBJECT_STR)
                rs_die(in, "field \"%s\": expected a string (a categorical feature of the model), "
                           "got %s", f->name, mp_type_name(v));
            int64_t b = sm_find(&f->levels, v->via.str.ptr, v->via.str.size);
            s->x[j] = b >= 0 ? (double)b : (double)dt_other_bin(f);
            continue;
        }
        switch (v->type) {
        case MSGPACK_OBJECT_POSITIVE_INTEGER: s->x[j] = (double)v->via.u64; break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: s->x[j] = (double)v->via.i64; break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: s->x[j] = v->via.f64; break;
        case MSGPACK_OBJECT_BOOLEAN: s->x[j] = v->via.boolean; break;
        default:
            rs_die(in, "field \"%s\": expected a number (a numeric feature of the model), got %s",
                   f->name, mp_type_name(v));
        }
    }
}

static void pack_class(msgpack_packer *pk, const struct dt_model *m, size_t c)
{
    if (!m->class_numeric) {
        mp_pack_str(pk, m->class_names[c]);
        return;
    }
    double v = m->class_values[c];
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        msgpack_pack_int64(pk, (int64_t)v);
    else
        msgpack_pack_double(pk, v);
}

static void pack_fields(void *state, msgpack_packer *pk)
{
    struct dts *s = state;
    const struct dt_model *m = &s->m;
    const double *v = s->out;
    switch (m->task) {
    case DT_CLASSIFY:
        mp_pack_str(pk, "p");
        if (m->nclass == 2) {
            msgpack_pack_double(pk, v[1]);
        } else {
            msgpack_pack_map(pk, m->nclass);
            for (size_t c = 0; c < m->nclass; c++) {
                mp_pack_str(pk, m->class_names[c]);
                msgpack_pack_double(pk, v[c]);
            }
        }
        mp_pack_str(pk, "pred");
        pack_class(pk, m, dt_class_of(m, v));
        break;
    case DT_REGRESS:
        mp_pack_str(pk, "pred");
        msgpack_pack_double(pk, v[0]);
        break;
    case DT_UPLIFT: {
        for (size_t a = 1; a < m->narm; a++) {
            mp_pack_str(pk, s->fields[a - 1]);
            msgpack_pack_double(pk, v[a] - v[0]);
        }
        double u;
        size_t b = dt_best_offer(m, v, &u);
        mp_pack_str(pk, "uplift");
        msgpack_pack_double(pk, u);
        mp_pack_str(pk, "best_offer");
        mp_pack_str(pk, m->arm_names[b]);
        break;
    }
    }
}

static void dts_record(void *state, rs *in, ws *w)
{
    struct dts *s = state;
    read_features(s, in);
    dt_predict(&s->m, s->x, s->out);
    score_emit(in, w, (const char *const *)s->fields, s->nfields, pack_fields, s);
}

static void dts_finish(void *state, ws *w)
{
    (void)state;
    (void)w;
}

static void dts_free(void *state)
{
    struct dts *s = state;
    if (!s)
        return;
    dt_model_release(&s->m);
    sm_release(&s->names);
    for (size_t i = 0; i < s->nfields; i++)
        free(s->fields[i]);
    free(s->fields);
    free(s->x);
    free(s->out);
    free(s);
}

const struct scorer dtree_scorer = {
    .kind = "model/dtree",
    .load = dts_load,
    .out_kind = dts_out_kind,
    .record = dts_record,
    .finish = dts_finish,
    .free = dts_free,
};
