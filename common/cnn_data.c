/* cnn_data: sequences (and users) records copied into contiguous arrays. */
#include "cnn_data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "dist.h"
#include "rec.h"
#include "xalloc.h"

void cnn_data_init(struct cnn_data *d, char *const *tok, int ntok, char **num, int nnum,
                   const char *label)
{
    memset(d, 0, sizeof *d);
    CHECK(ntok >= 0 && ntok <= CNN_MAX_TOK && nnum >= 0 && nnum <= CNN_MAX_NUM);
    d->ntok = ntok;
    d->nnum = nnum;
    d->num_names = num;
    d->label = label;
    for (int t = 0; t < ntok; t++) {
        if (strlen(tok[t]) >= CNN_NAME_MAX)
            die("token field name \"%s\" is longer than %d bytes", tok[t], CNN_NAME_MAX - 1);
        strcpy(d->tok[t].name, tok[t]);
    }
}

void cnn_data_release(struct cnn_data *d)
{
    for (int t = 0; t < d->ntok; t++) {
        free(d->tok[t].u16);
        free(d->tok[t].u32);
    }
    free(d->len);
    free(d->num);
    free(d->y);
    memset(d, 0, sizeof *d);
}

/* ---- the header's vocabularies ---------------------------------------------- */

/* A vocabulary size from an option value: a count, or a list of the names
 * of ids 2, 3, ... (so its length plus padding and unknown; a list that
 * includes those two only makes the table two rows larger than needed). */
static uint32_t vocab_of(const msgpack_object *o)
{
    if (!o)
        return 0;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= UINT32_MAX - 2)
        return (uint32_t)o->via.u64;
    if (o->type == MSGPACK_OBJECT_ARRAY)
        return o->via.array.size + 2;
    if (o->type == MSGPACK_OBJECT_MAP)
        return o->via.map.size + 2;
    return 0;
}

void cnn_data_header(struct cnn_data *d, rs *r)
{
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    if (!opts || opts->type != MSGPACK_OBJECT_MAP)
        return;
    const msgpack_object *maps[] = {mp_map_get(opts, "vocab"), mp_map_get(opts, "vocabs"),
                                    mp_map_get(opts, "vocabularies")};
    for (int t = 0; t < d->ntok; t++) {
        struct cnn_tokcol *c = &d->tok[t];
        char key[CNN_NAME_MAX + 16];
        uint32_t v = 0;
        for (size_t k = 0; k < sizeof maps / sizeof *maps; k++)
            if (maps[k] && maps[k]->type == MSGPACK_OBJECT_MAP && !v)
                v = vocab_of(mp_map_get(maps[k], c->name));
        snprintf(key, sizeof key, "%s_vocab", c->name);
        if (!v)
            v = vocab_of(mp_map_get(opts, key));
        snprintf(key, sizeof key, "vocab_%s", c->name);
        if (!v)
            v = vocab_of(mp_map_get(opts, key));
        snprintf(key, sizeof key, "%s_size", c->name);   /* promo-featurize's */
        if (!v)
            v = vocab_of(mp_map_get(opts, key));
        if (v > c->hdr_vocab)
            c->hdr_vocab = v;
    }
}

/* ---- rows -------------------------------------------------------------------- */

static void grow(struct cnn_data *d)
{
    if (d->n < d->cap)
        return;
    size_t cap = d->cap ? 2 * d->cap : 1024;
    size_t L = (size_t)d->L;
    for (int t = 0; t < d->ntok; t++) {
        struct cnn_tokcol *c = &d->tok[t];
        if (c->u32)
            c->u32 = xreallocarray(c->u32, cap * L, sizeof *c->u32);
        else
            c->u16 = xreallocarray(c->u16, cap * L, sizeof *c->u16);
    }
    d->len = xreallocarray(d->len, cap, sizeof *d->len);
    d->num = xreallocarray(d->num, cap * (size_t)(d->nnum ? d->nnum : 1), sizeof *d->num);
    d->y = xreallocarray(d->y, cap, sizeof *d->y);
    d->cap = cap;
}

/* Field t holds 4-byte ids from now on. */
static void widen(struct cnn_data *d, int t)
{
    struct cnn_tokcol *c = &d->tok[t];
    size_t n = d->cap * (size_t)d->L;
    c->u32 = xreallocarray(NULL, n ? n : 1, sizeof *c->u32);
    for (size_t i = 0; i < d->n * (size_t)d->L; i++)
        c->u32[i] = c->u16[i];
    free(c->u16);
    c->u16 = NULL;
}

static uint32_t token_id(rs *r, const char *field, uint32_t i, const msgpack_object *e)
{
    if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER && e->via.u64 < UINT32_MAX)
        return (uint32_t)e->via.u64;
    if ((e->type == MSGPACK_OBJECT_FLOAT32 || e->type == MSGPACK_OBJECT_FLOAT64) &&
        e->via.f64 >= 0 && e->via.f64 < UINT32_MAX && e->via.f64 == floor(e->via.f64))
        return (uint32_t)e->via.f64;
    if (e->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        rs_die(r, "field \"%s\": element %u: id %llu is too large", field, i,
               (unsigned long long)e->via.u64);
    rs_die(r, "field \"%s\": element %u: expected a token id (an integer >= 0), got %s", field, i,
           e->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? "a negative integer" : mp_type_name(e));
}

static void read_tokens(struct cnn_data *d, rs *r, int t, size_t row)
{
    struct cnn_tokcol *c = &d->tok[t];
    const msgpack_object *o = rec_field(r, c->name);
    if (!o)
        rs_die(r, "field \"%s\": missing (a token array of promo-featurize --view sequences)",
               c->name);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        rs_die(r, "field \"%s\": expected an array of token ids, got %s", c->name,
               mp_type_name(o));
    uint32_t n = o->via.array.size;
    if (n != (uint32_t)d->L)
        rs_die(r, "field \"%s\": expected an array of %d ids, as in the first record, got %u",
               c->name, d->L, n);
    size_t base = row * (size_t)d->L;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t id = token_id(r, c->name, i, &o->via.array.ptr[i]);
        if (id > c->max)
            c->max = id;
        if (id > UINT16_MAX && !c->u32)
            widen(d, t);
        if (c->u32)
            c->u32[base + i] = id;
        else
            c->u16[base + i] = (uint16_t)id;
    }
}

/* The first record's length becomes the data's. */
static void set_length(struct cnn_data *d, rs *r)
{
    const char *name = d->tok[0].name;
    const msgpack_object *o = rec_field(r, name);
    if (!o || o->type != MSGPACK_OBJECT_ARRAY)
        return;   /* read_tokens says what is wrong */
    if (o->via.array.size < 1 || o->via.array.size > CNN_MAX_L)
        rs_die(r, "field \"%s\": sequences of %u tokens; expected 1 to %d", name,
               o->via.array.size, CNN_MAX_L);
    d->L = (int)o->via.array.size;
}

/* "len", or the tokens after the left padding of the first field. */
static int read_len(struct cnn_data *d, rs *r, size_t row)
{
    int64_t len;
    if (rec_opt_i64(r, "len", &len)) {
        if (len < 0 || len > d->L)
            rs_die(r, "field \"len\": %lld is outside 0 to %d (the sequence length)",
                   (long long)len, d->L);
        return (int)len;
    }
    const struct cnn_tokcol *c = &d->tok[0];
    size_t base = row * (size_t)d->L;
    int first = 0;
    while (first < d->L && (c->u32 ? c->u32[base + first] : c->u16[base + first]) == 0)
        first++;
    return d->L - first;
}

static uint8_t read_label(rs *r, const char *field)
{
    const msgpack_object *o = rec_field(r, field);
    if (!o)
        rs_die(r, "field \"%s\": missing (the label; --label names another field)", field);
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN: return o->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    default: rs_die(r, "field \"%s\": expected 0 or 1, got %s", field, mp_type_name(o));
    }
    if (v != 0 && v != 1)
        rs_die(r, "field \"%s\": expected 0 or 1, got %g", field, v);
    return v == 1;
}

/* A numeric value: NaN (missing) when nil or NaN; dies on another type or
 * an infinite one. */
static float read_number(rs *r, const char *field, const msgpack_object *o)
{
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return NAN;
    case MSGPACK_OBJECT_BOOLEAN: return o->via.boolean;
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    default: rs_die(r, "field \"%s\": expected a number, got %s", field, mp_type_name(o));
    }
    if (isnan(v))
        return NAN;
    if (!isfinite(v) || fabs(v) > 3e38)
        rs_die(r, "field \"%s\": %g is not a finite float", field, v);
    return (float)v;
}

static void read_numeric(struct cnn_data *d, rs *r, const struct cnn_join *j, size_t row)
{
    float *x = d->num + row * (size_t)d->nnum;
    const float *jrow = NULL;
    bool looked = false;
    for (int k = 0; k < d->nnum; k++) {
        const msgpack_object *o = mp_map_get(rs_rec(r), d->num_names[k]);
        if (o) {
            x[k] = read_number(r, d->num_names[k], o);
            continue;
        }
        if (j && !looked) {
            char buf[32];
            size_t n;
            const char *key = cnn_user_key(r, buf, &n);
            int64_t id = sm_find(&j->ids, key, n);
            jrow = id >= 0 ? j->num + (size_t)id * j->nnum : NULL;
            d->join_missing += id < 0;
            looked = true;
        }
        x[k] = jrow ? jrow[k] : NAN;
    }
}

void cnn_data_add(struct cnn_data *d, rs *r, const struct cnn_join *j)
{
    if (d->ntok && d->L == 0)
        set_length(d, r);
    grow(d);
    size_t row = d->n;
    for (int t = 0; t < d->ntok; t++)
        read_tokens(d, r, t, row);
    d->len[row] = d->ntok ? read_len(d, r, row) : 0;
    d->y[row] = d->label ? read_label(r, d->label) : 0;
    read_numeric(d, r, j, row);
    d->n++;
}

void cnn_data_load(struct cnn_data *d, rs *r, const struct cnn_join *j)
{
    cnn_data_header(d, r);
    while (rs_next(r))
        cnn_data_add(d, r, j);
}

uint32_t cnn_data_vocab(const struct cnn_data *d, int t)
{
    const struct cnn_tokcol *c = &d->tok[t];
    uint32_t v = c->max + 1;
    if (c->hdr_vocab > v)
        v = c->hdr_vocab;
    return v < 2 ? 2 : v;
}

void cnn_data_cap_vocab(struct cnn_data *d, int t, uint32_t vocab)
{
    struct cnn_tokcol *c = &d->tok[t];
    size_t n = d->n * (size_t)d->L;
    for (size_t i = 0; i < n; i++) {
        if (c->u32 && c->u32[i] >= vocab)
            c->u32[i] = 1;
        else if (c->u16 && c->u16[i] >= vocab)
            c->u16[i] = 1;
    }
}

void cnn_data_fit_scale(const struct cnn_data *d, const uint32_t *idx, size_t n, float *mean,
                        float *sd)
{
    for (int k = 0; k < d->nnum; k++) {
        double cnt = 0, mu = 0, m2 = 0;
        for (size_t i = 0; i < n; i++) {
            double v = d->num[(size_t)idx[i] * d->nnum + k];
            if (isnan(v))
                continue;
            cnt++;
            double delta = v - mu;
            mu += delta / cnt;
            m2 += delta * (v - mu);
        }
        double s = cnt > 0 ? sqrt(m2 / cnt) : 0;
        mean[k] = (float)mu;
        sd[k] = s > 1e-12 && isfinite(s) ? (float)s : 1.0f;
    }
}

void cnn_data_fit_scale_dist(const struct cnn_data *d, const uint32_t *idx, size_t n,
                             float *mean, float *sd)
{
    int nn = d->nnum;
    if (nn == 0)
        return;
    double *acc = xcalloc(2 * (size_t)nn, sizeof *acc);   /* [cnt..., sum...] */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < nn; k++) {
            double v = d->num[(size_t)idx[i] * nn + k];
            if (!isnan(v)) {
                acc[k]++;
                acc[nn + k] += v;
            }
        }
    dist_sum_f64(acc, 2 * (size_t)nn);
    double *m2 = xcalloc((size_t)nn, sizeof *m2);
    for (int k = 0; k < nn; k++)
        acc[nn + k] = acc[k] > 0 ? acc[nn + k] / acc[k] : 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < nn; k++) {
            double v = d->num[(size_t)idx[i] * nn + k];
            if (!isnan(v))
                m2[k] += (v - acc[nn + k]) * (v - acc[nn + k]);
        }
    dist_sum_f64(m2, (size_t)nn);
    for (int k = 0; k < nn; k++) {
        double s = acc[k] > 0 ? sqrt(m2[k] / acc[k]) : 0;
        mean[k] = (float)acc[nn + k];
        sd[k] = s > 1e-12 && isfinite(s) ? (float)s : 1.0f;
    }
    free(m2);
    free(acc);
}

void cnn_data_scale(struct cnn_data *d, const float *mean, const float *sd)
{
    for (size_t i = 0; i < d->n; i++) {
        float *x = d->num + i * (size_t)d->nnum;
        for (int k = 0; k < d->nnum; k++)
            x[k] = isnan(x[k]) ? 0.0f : (x[k] - mean[k]) / sd[k];
    }
}

size_t cnn_data_positives(const struct cnn_data *d, const uint32_t *idx, size_t n)
{
    size_t p = 0;
    for (size_t i = 0; i < n; i++)
        p += d->y[idx[i]];
    return p;
}

/* ---- minibatches ----------------------------------------------------------------- */

void cnn_batchbuf_init(struct cnn_batchbuf *bb, const struct cnn_data *d, int cap)
{
    memset(bb, 0, sizeof *bb);
    bb->cap = cap;
    bb->L = d->L;
    bb->ntok = d->ntok;
    bb->nnum = d->nnum;
    size_t c = (size_t)cap;
    bb->tok = xreallocarray(NULL, (size_t)d->ntok * c * (size_t)d->L + 1, sizeof *bb->tok);
    bb->len = xreallocarray(NULL, c, sizeof *bb->len);
    bb->num = xreallocarray(NULL, c * (size_t)d->nnum + 1, sizeof *bb->num);
    bb->y = xreallocarray(NULL, c, sizeof *bb->y);
}

void cnn_batchbuf_release(struct cnn_batchbuf *bb)
{
    free(bb->tok);
    free(bb->len);
    free(bb->num);
    free(bb->y);
    memset(bb, 0, sizeof *bb);
}

void cnn_data_gather(struct cnn_batch *b, struct cnn_batchbuf *bb, const struct cnn_data *d,
                     const uint32_t *idx, int n)
{
    CHECK(n >= 1 && n <= bb->cap && bb->L == d->L && bb->ntok == d->ntok && bb->nnum == d->nnum);
    memset(b, 0, sizeof *b);
    b->n = n;
    size_t L = (size_t)d->L, cap = (size_t)bb->cap;
    for (int t = 0; t < d->ntok; t++) {
        const struct cnn_tokcol *c = &d->tok[t];
        uint32_t *dst = bb->tok + (size_t)t * cap * L;
        for (int i = 0; i < n; i++) {
            size_t src = (size_t)idx[i] * L;
            uint32_t *row = dst + (size_t)i * L;
            if (c->u32)
                memcpy(row, c->u32 + src, L * sizeof *row);
            else
                for (size_t k = 0; k < L; k++)
                    row[k] = c->u16[src + k];
        }
        b->tok[t] = dst;
    }
    for (int i = 0; i < n; i++) {
        bb->len[i] = d->len[idx[i]];
        bb->y[i] = d->y[idx[i]];
        if (d->nnum)
            memcpy(bb->num + (size_t)i * d->nnum, d->num + (size_t)idx[i] * d->nnum,
                   (size_t)d->nnum * sizeof *bb->num);
    }
    b->len = bb->len;
    b->num = bb->num;
    b->y = d->label ? bb->y : NULL;
}

/* ---- the users join ----------------------------------------------------------------- */

const char *cnn_user_key(rs *r, char *buf, size_t *n)
{
    const msgpack_object *o = rec_field(r, "user");
    if (!o)
        rs_die(r, "field \"user\": missing");
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *n = (size_t)snprintf(buf, 24, "%llu", (unsigned long long)o->via.u64);
        return buf;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *n = (size_t)snprintf(buf, 24, "%lld", (long long)o->via.i64);
        return buf;
    case MSGPACK_OBJECT_STR:
        *n = o->via.str.size;
        return o->via.str.ptr;
    default:
        rs_die(r, "field \"user\": expected an integer or a string, got %s", mp_type_name(o));
    }
}

void cnn_join_load(struct cnn_join *j, rs *r, char *const *num, int nnum)
{
    memset(j, 0, sizeof *j);
    sm_init(&j->ids);
    j->nnum = nnum;
    size_t cap = 0;
    while (rs_next(r)) {
        char buf[32];
        size_t n;
        const char *key = cnn_user_key(r, buf, &n);
        size_t before = sm_count(&j->ids);
        uint32_t id = sm_intern(&j->ids, key, n);
        if (id < before)
            rs_die(r, "field \"user\": user \"%.*s\" appears twice in the users view", (int)n,
                   key);
        if ((size_t)id + 1 > cap) {
            cap = cap ? 2 * cap : 1024;
            j->num = xreallocarray(j->num, cap * (size_t)(nnum ? nnum : 1), sizeof *j->num);
        }
        for (int k = 0; k < nnum; k++) {
            const msgpack_object *o = mp_map_get(rs_rec(r), num[k]);
            if (!o)
                rs_die(r, "field \"%s\": missing (a --numeric feature)", num[k]);
            j->num[(size_t)id * nnum + k] = read_number(r, num[k], o);
        }
    }
}

void cnn_join_release(struct cnn_join *j)
{
    sm_release(&j->ids);
    free(j->num);
    memset(j, 0, sizeof *j);
}
