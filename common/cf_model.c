/* cf_model: the recommender model struct, its options, and its one record
 * in a stream of kind model/cf (fields in docs/promo-train-cf.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "diag.h"
#include "rec.h"
#include "xalloc.h"

const char *const cf_algo_names[CF_NALGO] = {"als", "bpr", "mf", "ease", "itemknn", "content",
                                             "pop"};

int cf_algo_of(const char *name)
{
    for (int a = 0; a < CF_NALGO; a++)
        if (strcmp(name, cf_algo_names[a]) == 0)
            return a;
    return -1;
}

/* The defaults, chosen on MovieLens 100K (docs/train-cf.md). */
void cf_opts_default(struct cf_opts *o, enum cf_algo algo)
{
    memset(o, 0, sizeof *o);
    o->algo = algo;
    o->factors = algo == CF_MF ? 100 : 64;
    o->iters = algo == CF_ALS ? 15 : algo == CF_MF ? 60 : algo == CF_BPR ? 100 : 0;
    o->reg = algo == CF_ALS ? 30 : algo == CF_MF ? 0.1 : 0.001;
    o->alpha = 3;
    o->cg_steps = 3;
    o->lr = algo == CF_MF ? 0.007 : 0.01;
    o->reg_bias = algo == CF_MF ? 0.02 : 0.001;
    o->init_std = algo == CF_MF ? 0.1 : 0.01;
    o->lambda = 500;
    o->neighbours = 200;
    o->shrink = 50;
    o->content_weight = 0.1;
    o->content_boost = 1.5;
    o->cold_users = 3;
    o->bands = 5;
    o->max_terms = 1000;
    o->seed = 1;
    o->threads = 1;
}

void cf_opts_write(const struct cf_opts *o, ws *w)
{
    ws_opt_str(w, "algo", cf_algo_names[o->algo]);
    if (cf_algo_factored(o->algo)) {
        ws_opt_int(w, "factors", o->factors);
        ws_opt_int(w, "iters", o->iters);
        ws_opt_f64(w, "reg", o->reg);
        ws_opt_f64(w, "init_std", o->init_std);
    }
    if (o->algo == CF_ALS) {
        ws_opt_f64(w, "alpha", o->alpha);
        ws_opt_int(w, "cg_steps", o->cg_steps);
    }
    if (o->algo == CF_BPR || o->algo == CF_MF) {
        ws_opt_f64(w, "lr", o->lr);
        ws_opt_f64(w, "reg_bias", o->reg_bias);
    }
    if (o->algo == CF_EASE)
        ws_opt_f64(w, "lambda", o->lambda);
    if (o->algo == CF_ITEMKNN) {
        ws_opt_int(w, "neighbours", o->neighbours);
        ws_opt_f64(w, "shrink", o->shrink);
    }
    if (o->hybrid || o->algo == CF_CONTENT) {
        ws_opt_int(w, "bands", o->bands);
        ws_opt_int(w, "max_terms", o->max_terms);
    }
    ws_opt_bool(w, "hybrid", o->hybrid);
    if (o->hybrid) {
        ws_opt_f64(w, "content_weight", o->content_weight);
        ws_opt_f64(w, "content_boost", o->content_boost);
        ws_opt_int(w, "cold_users", o->cold_users);
    }
    ws_opt_int(w, "seed", (int64_t)o->seed);
}

/* ---- lifecycle -------------------------------------------------------------- */

void cf_model_init(struct cf_model *m)
{
    memset(m, 0, sizeof *m);
    cf_ids_init(&m->users);
    cf_ids_init(&m->items);
}

void cf_model_release(struct cf_model *m)
{
    cf_ids_release(&m->users);
    cf_ids_release(&m->items);
    free(m->user_field);
    free(m->item_field);
    free(m->params);
    free(m->seenp);
    free(m->seeni);
    free(m->seenv);
    free(m->B);
    free(m->nbrp);
    free(m->nbri);
    free(m->nbrs);
    if (m->feat)
        for (int k = 0; k < m->d; k++)
            free(m->feat[k]);
    free(m->feat);
    free(m->C);
    cf_attrs_free(m->attrs, m->nattrs);
    memset(m, 0, sizeof *m);
}

void cf_model_alloc(struct cf_model *m, uint32_t nusers, uint32_t nitems, int f)
{
    CHECK(!m->params && f >= 0 && f <= CF_MAX_FACTORS);
    m->nusers = nusers;
    m->nitems = nitems;
    m->f = f;
    size_t nu = nusers, ni = nitems;
    size_t total = nu * f + ni * f + nu + ni + ni;
    m->params = xcalloc(total ? total : 1, sizeof *m->params);
    float *p = m->params;
    m->U = p;         p += nu * f;     /* [nusers][f] */
    m->V = p;         p += ni * f;     /* [nitems][f] */
    m->ubias = p;     p += nu;         /* [nusers] */
    m->ibias = p;     p += ni;         /* [nitems] */
    m->pop = p;       p += ni;         /* [nitems] */
    CHECK((size_t)(p - m->params) == total);
}

/* Move the id maps out of the data (the data keeps empty maps). */
void cf_init_factors(struct cf_model *m, const struct cf_opts *o, struct rng *root)
{
    struct rng r;
    size_t f = (size_t)m->f;
    rng_init(root, o->seed);
    rng_split(&r, root, 1);
    for (size_t k = 0; k < (size_t)m->nusers * f; k++)
        m->U[k] = (float)(o->init_std * rng_normal(&r));
    rng_split(&r, root, 2);
    for (size_t k = 0; k < (size_t)m->nitems * f; k++)
        m->V[k] = (float)(o->init_std * rng_normal(&r));
}

void cf_model_take_ids(struct cf_model *m, struct cf_data *d, bool keep_values)
{
    cf_ids_release(&m->users);
    cf_ids_release(&m->items);
    m->users = d->users;
    m->items = d->items;
    cf_ids_init(&d->users);
    cf_ids_init(&d->items);
    m->nnz = d->nnz;
    size_t nu = d->nusers;
    m->seenp = xmalloc((nu + 1) * sizeof *m->seenp);
    memcpy(m->seenp, d->rowp, (nu + 1) * sizeof *m->seenp);
    m->seeni = xreallocarray(NULL, d->nnz ? d->nnz : 1, sizeof *m->seeni);
    memcpy(m->seeni, d->rowi, d->nnz * sizeof *m->seeni);
    if (keep_values) {
        m->seenv = xreallocarray(NULL, d->nnz ? d->nnz : 1, sizeof *m->seenv);
        memcpy(m->seenv, d->rowv, d->nnz * sizeof *m->seenv);
    }
}

void cf_model_popularity(struct cf_model *m, const struct cf_data *d, bool weighted)
{
    for (uint32_t i = 0; i < d->nitems; i++) {
        double s = 0;
        if (weighted)
            for (uint64_t e = d->colp[i]; e < d->colp[i + 1]; e++)
                s += d->colv[e];
        else
            s = (double)(d->colp[i + 1] - d->colp[i]);
        m->pop[i] = (float)s;
    }
}

size_t cf_model_bytes(const struct cf_model *m)
{
    size_t nu = m->nusers, ni = m->nitems, f = (size_t)m->f;
    size_t b = (nu * f + ni * f + nu + 2 * ni) * sizeof(float);
    b += (nu + 1) * 8 + m->nnz * (4 + (m->seenv ? 4 : 0));
    if (m->B)
        b += ni * ni * sizeof(float);
    if (m->nbrp)
        b += (ni + 1) * 8 + m->nbrp[ni] * 8;
    if (m->C)
        b += ni * (size_t)m->d * sizeof(float);
    return b;
}

/* ---- saving ------------------------------------------------------------------- */

static void pack_ids(msgpack_packer *pk, const struct cf_ids *ids)
{
    uint32_t n = cf_ids_count(ids);
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        cf_ids_pack(ids, pk, i);
}

static void pack_u64s(msgpack_packer *pk, const uint64_t *v, size_t n)
{
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_uint64(pk, v[i]);
}

static void pack_u32s(msgpack_packer *pk, const uint32_t *v, size_t n)
{
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_uint32(pk, v[i]);
}

static void key(msgpack_packer *pk, const char *k) { mp_pack_str(pk, k); }

void cf_save(const struct cf_model *m, ws *w)
{
    size_t nu = m->nusers, ni = m->nitems, f = (size_t)m->f;
    bool fac = cf_algo_factored(m->algo);
    bool content = m->algo == CF_CONTENT || m->hybrid;
    uint32_t nfields = 12 + (fac ? 3 : 0) + (m->algo == CF_MF ? 4 : 0) +
                       (m->algo == CF_EASE) + (m->algo == CF_ITEMKNN ? 3 : 0) +
                       (content ? 4 : 0) + (m->hybrid ? 3 : 0);
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, nfields);
    key(pk, "algo");
    mp_pack_str(pk, cf_algo_names[m->algo]);
    key(pk, "hybrid");
    if (m->hybrid) msgpack_pack_true(pk); else msgpack_pack_false(pk);
    key(pk, "factors");
    msgpack_pack_int(pk, m->f);
    key(pk, "user_field");
    mp_pack_str(pk, m->user_field);
    key(pk, "item_field");
    mp_pack_str(pk, m->item_field);
    key(pk, "users");
    pack_ids(pk, &m->users);
    key(pk, "items");
    pack_ids(pk, &m->items);
    key(pk, "interactions");
    msgpack_pack_uint64(pk, m->nnz);
    key(pk, "popularity");
    mp_pack_f32s(pk, m->pop, ni);
    key(pk, "seen_offsets");
    pack_u64s(pk, m->seenp, nu + 1);
    key(pk, "seen_items");
    pack_u32s(pk, m->seeni, m->nnz);
    key(pk, "seen_values");
    if (m->seenv)
        mp_pack_f32s(pk, m->seenv, m->nnz);
    else
        msgpack_pack_nil(pk);
    if (fac) {
        key(pk, "user_factors");
        mp_pack_f32s(pk, m->U, nu * f);
        key(pk, "item_factors");
        mp_pack_f32s(pk, m->V, ni * f);
        key(pk, "item_bias");
        mp_pack_f32s(pk, m->ibias, ni);
    }
    if (m->algo == CF_MF) {
        key(pk, "user_bias");
        mp_pack_f32s(pk, m->ubias, nu);
        key(pk, "global_mean");
        msgpack_pack_double(pk, m->mu);
        key(pk, "rating_min");
        msgpack_pack_double(pk, m->rmin);
        key(pk, "rating_max");
        msgpack_pack_double(pk, m->rmax);
    }
    if (m->algo == CF_EASE) {
        key(pk, "ease_weights");
        mp_pack_f32s(pk, m->B, ni * ni);
    }
    if (m->algo == CF_ITEMKNN) {
        key(pk, "neighbour_offsets");
        pack_u64s(pk, m->nbrp, ni + 1);
        key(pk, "neighbour_items");
        pack_u32s(pk, m->nbri, m->nbrp[ni]);
        key(pk, "neighbour_scores");
        mp_pack_f32s(pk, m->nbrs, m->nbrp[ni]);
    }
    if (content) {
        key(pk, "attributes");
        msgpack_pack_array(pk, (uint32_t)m->nattrs);
        for (int a = 0; a < m->nattrs; a++) {
            char spec[600];
            snprintf(spec, sizeof spec, "%s%s%s", m->attrs[a].name,
                     m->attrs[a].type == CF_ATTR_CAT ? "" : ":",
                     cf_attr_type_names[m->attrs[a].type]);
            mp_pack_str(pk, spec);
        }
        key(pk, "content_dim");
        msgpack_pack_int(pk, m->d);
        key(pk, "features");
        msgpack_pack_array(pk, (uint32_t)m->d);
        for (int k = 0; k < m->d; k++)
            mp_pack_str(pk, m->feat[k]);
        key(pk, "item_content");
        mp_pack_f32s(pk, m->C, ni * (size_t)m->d);
    }
    if (m->hybrid) {
        key(pk, "content_weight");
        msgpack_pack_double(pk, m->opts.content_weight);
        key(pk, "content_boost");
        msgpack_pack_double(pk, m->opts.content_boost);
        key(pk, "cold_users");
        msgpack_pack_int(pk, m->opts.cold_users);
    }
    ws_end(w);
}

/* ---- loading ------------------------------------------------------------------ */

static const msgpack_object *need(rs *r, const msgpack_object *rec, const char *k,
                                  msgpack_object_type type, const char *what)
{
    const msgpack_object *o = mp_map_get(rec, k);
    if (!o)
        rs_die(r, "field \"%s\": missing (is this a model from promo-train-cf?)", k);
    bool ok = o->type == type ||
              (type == MSGPACK_OBJECT_FLOAT64 && (o->type == MSGPACK_OBJECT_FLOAT32 ||
                                                  o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                                                  o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER));
    if (!ok)
        rs_die(r, "field \"%s\": expected %s, got %s", k, what, mp_type_name(o));
    return o;
}

static double num(rs *r, const msgpack_object *rec, const char *k)
{
    const msgpack_object *o = need(r, rec, k, MSGPACK_OBJECT_FLOAT64, "a number");
    double v = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)o->via.u64
             : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (double)o->via.i64 : o->via.f64;
    if (!isfinite(v))
        rs_die(r, "field \"%s\": not a finite number", k);
    return v;
}

static uint64_t count(rs *r, const msgpack_object *rec, const char *k, uint64_t max)
{
    const msgpack_object *o = mp_map_get(rec, k);
    if (!o || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        rs_die(r, "field \"%s\": expected an integer from 0 to %llu", k, (unsigned long long)max);
    return o->via.u64;
}

static const msgpack_object *array_of(rs *r, const msgpack_object *rec, const char *k, size_t n)
{
    const msgpack_object *a = need(r, rec, k, MSGPACK_OBJECT_ARRAY, "an array");
    if (a->via.array.size != n)
        rs_die(r, "field \"%s\": expected %zu elements, got %u", k, n, a->via.array.size);
    return a;
}

static void f32s(rs *r, const msgpack_object *rec, const char *k, float *out, size_t n)
{
    rec_obj_f32s(r, array_of(r, rec, k, n), k, out, n);
}

/* Offsets [n + 1]: from 0, never decreasing; returns the last. */
static uint64_t *offsets(rs *r, const msgpack_object *rec, const char *k, size_t n)
{
    const msgpack_object *a = array_of(r, rec, k, n + 1);
    uint64_t *p = xmalloc((n + 1) * sizeof *p);
    for (size_t i = 0; i <= n; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            (i == 0 ? e->via.u64 != 0 : e->via.u64 < p[i - 1]))
            rs_die(r, "field \"%s\": element %zu: expected offsets from 0 that never decrease",
                   k, i);
        p[i] = e->via.u64;
    }
    return p;
}

static uint32_t *indices(rs *r, const msgpack_object *rec, const char *k, size_t n, uint32_t bound)
{
    const msgpack_object *a = array_of(r, rec, k, n);
    uint32_t *v = xreallocarray(NULL, n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 >= bound)
            rs_die(r, "field \"%s\": element %zu: expected an index below %u", k, i, bound);
        v[i] = (uint32_t)e->via.u64;
    }
    return v;
}

static void load_ids(rs *r, const msgpack_object *rec, const char *k, struct cf_ids *ids)
{
    const msgpack_object *a = need(r, rec, k, MSGPACK_OBJECT_ARRAY, "an array of ids");
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        uint32_t got = cf_ids_intern(ids, r, k, &a->via.array.ptr[i]);
        if (got != i)
            rs_die(r, "field \"%s\": element %u: a repeated id", k, i);
    }
}

static char *str_of(rs *r, const msgpack_object *rec, const char *k)
{
    const msgpack_object *o = need(r, rec, k, MSGPACK_OBJECT_STR, "a string");
    return xstrndup(o->via.str.ptr, o->via.str.size);
}

void cf_load(struct cf_model *m, rs *r)
{
    if (!rs_next(r))
        die("%s: the model has no record", rs_file(r));
    const msgpack_object *rec = rs_rec(r);
    cf_model_init(m);
    const msgpack_object *ao = need(r, rec, "algo", MSGPACK_OBJECT_STR, "an algorithm name");
    int algo = -1;
    for (int a = 0; a < CF_NALGO; a++)
        if (mp_str_eq(ao, cf_algo_names[a]))
            algo = a;
    if (algo < 0)
        rs_die(r, "field \"algo\": unknown algorithm \"%.*s\"", (int)ao->via.str.size,
               ao->via.str.ptr);
    m->algo = (enum cf_algo)algo;
    m->hybrid = need(r, rec, "hybrid", MSGPACK_OBJECT_BOOLEAN, "a boolean")->via.boolean;
    int f = (int)count(r, rec, "factors", CF_MAX_FACTORS);
    bool fac = cf_algo_factored(m->algo);
    if (fac && f == 0)
        rs_die(r, "field \"factors\": expected at least 1 for %s", cf_algo_names[algo]);
    m->user_field = str_of(r, rec, "user_field");
    m->item_field = str_of(r, rec, "item_field");
    load_ids(r, rec, "users", &m->users);
    load_ids(r, rec, "items", &m->items);
    uint32_t nu = cf_ids_count(&m->users), ni = cf_ids_count(&m->items);
    cf_model_alloc(m, nu, ni, fac ? f : 0);
    cf_opts_default(&m->opts, m->algo);
    m->nnz = count(r, rec, "interactions", UINT64_MAX);
    f32s(r, rec, "popularity", m->pop, ni);
    m->seenp = offsets(r, rec, "seen_offsets", nu);
    if (m->seenp[nu] != m->nnz)
        rs_die(r, "field \"seen_offsets\": the last offset is not the number of interactions");
    m->seeni = indices(r, rec, "seen_items", m->nnz, ni);
    const msgpack_object *sv = mp_map_get(rec, "seen_values");
    if (sv && sv->type != MSGPACK_OBJECT_NIL) {
        m->seenv = xreallocarray(NULL, m->nnz ? m->nnz : 1, sizeof *m->seenv);
        f32s(r, rec, "seen_values", m->seenv, m->nnz);
    }
    bool content = m->algo == CF_CONTENT || m->hybrid;
    if ((m->algo == CF_EASE || m->algo == CF_ITEMKNN || content) && !m->seenv)
        rs_die(r, "field \"seen_values\": missing (%s scores from them)", cf_algo_names[algo]);
    if (fac) {
        f32s(r, rec, "user_factors", m->U, (size_t)nu * f);
        f32s(r, rec, "item_factors", m->V, (size_t)ni * f);
        f32s(r, rec, "item_bias", m->ibias, ni);
    }
    if (m->algo == CF_MF) {
        f32s(r, rec, "user_bias", m->ubias, nu);
        m->mu = num(r, rec, "global_mean");
        m->rmin = num(r, rec, "rating_min");
        m->rmax = num(r, rec, "rating_max");
        if (m->rmin > m->rmax)
            rs_die(r, "field \"rating_min\": larger than rating_max");
    }
    if (m->algo == CF_EASE) {
        m->B = xreallocarray(NULL, ni ? (size_t)ni * ni : 1, sizeof *m->B);
        f32s(r, rec, "ease_weights", m->B, (size_t)ni * ni);
    }
    if (m->algo == CF_ITEMKNN) {
        m->nbrp = offsets(r, rec, "neighbour_offsets", ni);
        m->nbri = indices(r, rec, "neighbour_items", m->nbrp[ni], ni);
        m->nbrs = xreallocarray(NULL, m->nbrp[ni] ? m->nbrp[ni] : 1, sizeof *m->nbrs);
        f32s(r, rec, "neighbour_scores", m->nbrs, m->nbrp[ni]);
    }
    if (content) {
        const msgpack_object *at = need(r, rec, "attributes", MSGPACK_OBJECT_ARRAY, "an array");
        m->d = (int)count(r, rec, "content_dim", 1u << 24);
        if (m->d == 0)
            rs_die(r, "field \"content_dim\": expected at least 1");
        m->nattrs = (int)at->via.array.size;
        m->attrs = xcalloc((size_t)m->nattrs + 1, sizeof *m->attrs);
        for (int a = 0; a < m->nattrs; a++) {
            const msgpack_object *e = &at->via.array.ptr[a];
            if (e->type != MSGPACK_OBJECT_STR)
                rs_die(r, "field \"attributes\": element %d: expected a string", a);
            m->attrs[a].name = xstrndup(e->via.str.ptr, e->via.str.size);
        }
        const msgpack_object *fe = array_of(r, rec, "features", (size_t)m->d);
        m->feat = xcalloc((size_t)m->d, sizeof *m->feat);
        for (int k = 0; k < m->d; k++) {
            const msgpack_object *e = &fe->via.array.ptr[k];
            if (e->type != MSGPACK_OBJECT_STR)
                rs_die(r, "field \"features\": element %d: expected a string", k);
            m->feat[k] = xstrndup(e->via.str.ptr, e->via.str.size);
        }
        m->C = xreallocarray(NULL, ni ? (size_t)ni * m->d : 1, sizeof *m->C);
        f32s(r, rec, "item_content", m->C, (size_t)ni * m->d);
    }
    if (m->hybrid) {
        if (!fac && m->algo != CF_EASE && m->algo != CF_ITEMKNN)
            rs_die(r, "field \"hybrid\": a hybrid of %s is not a model promo-train-cf makes",
                   cf_algo_names[algo]);
        m->opts.content_weight = num(r, rec, "content_weight");
        m->opts.content_boost = num(r, rec, "content_boost");
        m->opts.cold_users = (int)count(r, rec, "cold_users", 1000000);
        if (m->opts.content_weight < 0 || m->opts.content_weight > 1)
            rs_die(r, "field \"content_weight\": expected a number from 0 to 1");
    }
    m->opts.algo = m->algo;
    m->opts.hybrid = m->hybrid;
    m->opts.factors = f;
}
