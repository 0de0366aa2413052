/* The k-means scorer of promo-score: each record gets "segment" (the
 * number of its nearest centroid, 0 the largest segment) and "distance"
 * (the Euclidean distance to it, in scaled units).  One record at a time,
 * exact distances (the same choice as training's assignment); memory is
 * the model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kmeans.h"
#include "rec.h"
#include "xalloc.h"

struct km_scorer {
    struct km_model m;
    double *x;                /* [d] the current record, scaled */
    int segment;
    double distance;
};

static void *km_score_load(rs *r, const struct score_opts *o)
{
    (void)o;
    struct km_scorer *s = xcalloc(1, sizeof *s);
    km_load(&s->m, r);
    s->x = xcalloc((size_t)s->m.d, sizeof *s->x);
    return s;
}

static const char *km_score_out_kind(void *state, const char *in_kind)
{
    (void)state;
    return in_kind;
}

static double value_of(rs *in, const char *field, long element, const msgpack_object *o)
{
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    case MSGPACK_OBJECT_BOOLEAN: v = o->via.boolean; break;
    default:
        if (element < 0)
            rs_die(in, "field \"%s\": expected a number, got %s", field, mp_type_name(o));
        rs_die(in, "field \"%s\": element %ld: expected a number, got %s", field, element,
               mp_type_name(o));
    }
    if (!isfinite(v)) {
        if (element < 0)
            rs_die(in, "field \"%s\": not a finite number", field);
        rs_die(in, "field \"%s\": element %ld: not a finite number", field, element);
    }
    return v;
}

/* The record's features, in the model's column order. */
static void read_features(struct km_scorer *s, rs *in)
{
    const struct km_model *m = &s->m;
    int col = 0;
    for (int f = 0; f < m->nfields; f++) {
        const char *spec = m->fields[f];
        size_t len = strlen(spec);
        bool array = len > 2 && strcmp(spec + len - 2, "[]") == 0;
        char name[len + 1];
        memcpy(name, spec, len + 1);
        if (array)
            name[len - 2] = '\0';
        const msgpack_object *o = rec_field(in, name);
        if (!o)
            rs_die(in, "field \"%s\": missing (the model needs it)", name);
        if (!array) {
            s->x[col] = value_of(in, name, -1, o);
            if (m->logged[f] && !km_log_value(s->x[col], &s->x[col]))
                rs_die(in, "field \"%s\": %g is not above -1, so ln(1 + x) is undefined "
                       "(the model logs it)", name, s->x[col]);
            col++;
            continue;
        }
        int w = m->field_width[f];
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != (uint32_t)w)
            rs_die(in, "field \"%s\": expected an array of %d numbers, got %s", name, w,
                   o->type == MSGPACK_OBJECT_ARRAY ? "one of another length" : mp_type_name(o));
        for (int e = 0; e < w; e++, col++) {
            s->x[col] = value_of(in, name, e, &o->via.array.ptr[e]);
            if (m->logged[f] && !km_log_value(s->x[col], &s->x[col]))
                rs_die(in, "field \"%s\": element %d: %g is not above -1, so ln(1 + x) is "
                       "undefined (the model logs it)", name, e, s->x[col]);
        }
    }
    km_scale_rows(m, s->x, 1);
}

static void pack_fields(void *state, msgpack_packer *pk)
{
    struct km_scorer *s = state;
    mp_pack_str(pk, "segment");
    msgpack_pack_int(pk, s->segment);
    mp_pack_str(pk, "distance");
    msgpack_pack_double(pk, s->distance);
}

static void km_score_record(void *state, rs *in, ws *w)
{
    static const char *const names[] = {"segment", "distance"};
    struct km_scorer *s = state;
    read_features(s, in);
    double d2;
    s->segment = km_nearest(s->x, s->m.d, s->m.cent, s->m.k, &d2);
    s->distance = sqrt(d2);
    score_emit(in, w, names, 2, pack_fields, s);
}

static void km_score_finish(void *state, ws *w)
{
    (void)state;
    (void)w;
}

static void km_score_free(void *state)
{
    struct km_scorer *s = state;
    if (!s)
        return;
    km_release(&s->m);
    free(s->x);
    free(s);
}

const struct scorer kmeans_scorer = {
    .kind = KM_KIND,
    .load = km_score_load,
    .out_kind = km_score_out_kind,
    .record = km_score_record,
    .finish = km_score_finish,
    .free = km_score_free,
};
