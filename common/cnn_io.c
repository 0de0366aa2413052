/* cnn_io: the model stream of kind "model/cnn".  The header's options say
 * the architecture and how it was trained; the one record holds everything
 * the scorer needs:
 *
 *   format      CNN_FORMAT (the layout of this record)
 *   length      L
 *   tokens      [{name, vocab, dim}, ...]   in the order of the embeddings
 *   widths      [w, ...]    filters F    pool "max", "mean" or "max,mean"
 *   hidden      [H, ...]    dropout p
 *   numeric     [name, ...] num_mean, num_sd: float32 arrays (the scaling)
 *   shapes      {tensor: [rows, cols] or [n], ...}
 *   tensors     {tensor: float32 array, ...}   (cnn_init's order)
 *   training    {epochs, best_epoch, train_rows, valid_rows, valid_auc,
 *                valid_loss, train_loss, history: [{epoch, lr, train_loss,
 *                valid_loss, valid_auc}, ...]}   (when trained)
 *
 * No time or other run-dependent value is stored, so the same seed and
 * thread count give the same bytes. */
#include "cnn.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "rec.h"
#include "xalloc.h"

static const char *pool_name(int pool)
{
    return pool == CNN_POOL_MAX ? "max" : pool == CNN_POOL_MEAN ? "mean" : "max,mean";
}

static void join_ints(char *buf, size_t n, const int *v, int k)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < k && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%d", i ? "," : "", v[i]);
}

void cnn_write_options(const struct cnn_model *m, ws *w)
{
    const struct cnn_config *c = &m->cfg;
    char buf[512];
    size_t used = 0;
    buf[0] = '\0';
    for (int t = 0; t < c->ntok && used < sizeof buf; t++)
        used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s:%d", t ? "," : "",
                                 c->tok_name[t], c->dim[t]);
    ws_opt_str(w, "tokens", buf);
    ws_opt_int(w, "length", c->L);
    join_ints(buf, sizeof buf, c->width, c->nwidths);
    ws_opt_str(w, "widths", buf);
    ws_opt_int(w, "filters", c->filters);
    ws_opt_str(w, "pool", pool_name(c->pool));
    join_ints(buf, sizeof buf, c->hidden, c->nhidden);
    ws_opt_str(w, "hidden", buf);
    ws_opt_f64(w, "dropout", c->dropout);
    ws_opt_int(w, "parameters", (int64_t)m->nparams);
}

static void pack_ints(msgpack_packer *pk, const int *v, int n)
{
    msgpack_pack_array(pk, (uint32_t)n);
    for (int i = 0; i < n; i++)
        msgpack_pack_int(pk, v[i]);
}

void cnn_save(const struct cnn_model *m, ws *w, const struct cnn_fit_result *fit)
{
    const struct cnn_config *c = &m->cfg;
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, 13 + (fit != NULL));
    mp_pack_str(pk, "format");
    msgpack_pack_int(pk, CNN_FORMAT);
    mp_pack_str(pk, "length");
    msgpack_pack_int(pk, c->L);
    mp_pack_str(pk, "tokens");
    msgpack_pack_array(pk, (uint32_t)c->ntok);
    for (int t = 0; t < c->ntok; t++) {
        msgpack_pack_map(pk, 3);
        mp_pack_str(pk, "name");
        mp_pack_str(pk, c->tok_name[t]);
        mp_pack_str(pk, "vocab");
        msgpack_pack_int(pk, c->vocab[t]);
        mp_pack_str(pk, "dim");
        msgpack_pack_int(pk, c->dim[t]);
    }
    mp_pack_str(pk, "widths");
    pack_ints(pk, c->width, c->nwidths);
    mp_pack_str(pk, "filters");
    msgpack_pack_int(pk, c->filters);
    mp_pack_str(pk, "pool");
    mp_pack_str(pk, pool_name(c->pool));
    mp_pack_str(pk, "hidden");
    pack_ints(pk, c->hidden, c->nhidden);
    mp_pack_str(pk, "dropout");
    msgpack_pack_float(pk, c->dropout);
    mp_pack_str(pk, "numeric");
    msgpack_pack_array(pk, (uint32_t)c->nnum);
    for (int k = 0; k < c->nnum; k++)
        mp_pack_str(pk, m->num_names[k]);
    mp_pack_str(pk, "num_mean");
    mp_pack_f32s(pk, m->num_mean, (size_t)c->nnum);
    mp_pack_str(pk, "num_sd");
    mp_pack_f32s(pk, m->num_sd, (size_t)c->nnum);
    mp_pack_str(pk, "shapes");
    msgpack_pack_map(pk, (uint32_t)m->ntensors);
    for (int k = 0; k < m->ntensors; k++) {
        const struct cnn_tensor *t = &m->tensors[k];
        mp_pack_str(pk, t->name);
        pack_ints(pk, t->shape, t->rank);
    }
    mp_pack_str(pk, "tensors");
    msgpack_pack_map(pk, (uint32_t)m->ntensors);
    for (int k = 0; k < m->ntensors; k++) {
        const struct cnn_tensor *t = &m->tensors[k];
        mp_pack_str(pk, t->name);
        mp_pack_f32s(pk, m->params + t->off, t->size);
    }
    if (fit) {
        mp_pack_str(pk, "training");
        cnn_fit_pack(pk, fit);
    }
    ws_end(w);
}

/* ---- loading ---------------------------------------------------------------- */

static const msgpack_object *need(rs *r, const msgpack_object *map, const char *key,
                                  msgpack_object_type type, const char *what)
{
    const msgpack_object *o = mp_map_get(map, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        rs_die(r, "field \"%s\": missing", key);
    if (o->type != type)
        rs_die(r, "field \"%s\": expected %s, got %s", key, what, mp_type_name(o));
    return o;
}

static int int_in(rs *r, const msgpack_object *o, const char *key, int lo, int hi)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < (uint64_t)lo ||
        o->via.u64 > (uint64_t)hi)
        rs_die(r, "field \"%s\": expected an integer from %d to %d", key, lo, hi);
    return (int)o->via.u64;
}

static int ints_of(rs *r, const msgpack_object *rec, const char *key, int *out, int max, int lo,
                   int hi)
{
    const msgpack_object *a = need(r, rec, key, MSGPACK_OBJECT_ARRAY, "an array");
    if (a->via.array.size > (uint32_t)max)
        rs_die(r, "field \"%s\": more than %d values", key, max);
    for (uint32_t i = 0; i < a->via.array.size; i++)
        out[i] = int_in(r, &a->via.array.ptr[i], key, lo, hi);
    return (int)a->via.array.size;
}

static void floats_of(rs *r, const msgpack_object *o, const char *key, float *out, size_t n)
{
    rec_obj_f32s(r, o, key, out, n);
}

static void str_into(rs *r, const msgpack_object *o, const char *key, char *out, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size >= cap)
        rs_die(r, "field \"%s\": expected a name of 1 to %zu bytes", key, cap - 1);
    memcpy(out, o->via.str.ptr, o->via.str.size);
    out[o->via.str.size] = '\0';
}

void cnn_load(struct cnn_model *m, rs *r)
{
    if (!rs_next(r))
        die("%s: the model has no record", rs_file(r));
    const msgpack_object *rec = rs_rec(r);
    int format = int_in(r, need(r, rec, "format", MSGPACK_OBJECT_POSITIVE_INTEGER, "an integer"),
                        "format", 1, 1000000);
    if (format > CNN_FORMAT)
        rs_die(r, "field \"format\": model layout %d is newer than this program reads (%d)",
               format, CNN_FORMAT);
    struct cnn_config c;
    memset(&c, 0, sizeof c);
    c.L = int_in(r, need(r, rec, "length", MSGPACK_OBJECT_POSITIVE_INTEGER, "an integer"),
                 "length", 1, 4096);
    const msgpack_object *toks = need(r, rec, "tokens", MSGPACK_OBJECT_ARRAY, "an array");
    if (toks->via.array.size < 1 || toks->via.array.size > CNN_MAX_TOK)
        rs_die(r, "field \"tokens\": expected 1 to %d token fields", CNN_MAX_TOK);
    c.ntok = (int)toks->via.array.size;
    for (int t = 0; t < c.ntok; t++) {
        const msgpack_object *e = &toks->via.array.ptr[t];
        if (e->type != MSGPACK_OBJECT_MAP)
            rs_die(r, "field \"tokens\": element %d: expected a map", t);
        str_into(r, need(r, e, "name", MSGPACK_OBJECT_STR, "a string"), "tokens.name",
                 c.tok_name[t], CNN_NAME_MAX);
        c.vocab[t] = int_in(r, need(r, e, "vocab", MSGPACK_OBJECT_POSITIVE_INTEGER, "an integer"),
                            "tokens.vocab", 2, INT32_MAX);
        c.dim[t] = int_in(r, need(r, e, "dim", MSGPACK_OBJECT_POSITIVE_INTEGER, "an integer"),
                          "tokens.dim", 1, 1024);
    }
    c.nwidths = ints_of(r, rec, "widths", c.width, CNN_MAX_WIDTHS, 1, CNN_MAX_WIDTH);
    c.filters = int_in(r, need(r, rec, "filters", MSGPACK_OBJECT_POSITIVE_INTEGER, "an integer"),
                       "filters", 1, 4096);
    const msgpack_object *pool = need(r, rec, "pool", MSGPACK_OBJECT_STR, "a string");
    c.pool = mp_str_eq(pool, "max") ? CNN_POOL_MAX : mp_str_eq(pool, "mean") ? CNN_POOL_MEAN
           : mp_str_eq(pool, "max,mean") ? CNN_POOL_MAX | CNN_POOL_MEAN : 0;
    if (!c.pool)
        rs_die(r, "field \"pool\": expected max, mean or max,mean");
    c.nhidden = ints_of(r, rec, "hidden", c.hidden, CNN_MAX_HIDDEN, 1, 65536);
    const msgpack_object *drop = mp_map_get(rec, "dropout");
    if (!drop || (drop->type != MSGPACK_OBJECT_FLOAT32 && drop->type != MSGPACK_OBJECT_FLOAT64 &&
                  drop->type != MSGPACK_OBJECT_POSITIVE_INTEGER))
        rs_die(r, "field \"dropout\": expected a number");
    c.dropout = drop->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (float)drop->via.u64
                                                              : (float)drop->via.f64;
    if (!(c.dropout >= 0 && c.dropout < 1))
        rs_die(r, "field \"dropout\": expected at least 0 and below 1");
    const msgpack_object *num = need(r, rec, "numeric", MSGPACK_OBJECT_ARRAY, "an array");
    if (num->via.array.size > 4096)
        rs_die(r, "field \"numeric\": more than 4096 features");
    c.nnum = (int)num->via.array.size;
    char **names = xcalloc((size_t)c.nnum + 1, sizeof *names);
    for (int k = 0; k < c.nnum; k++) {
        char buf[256];
        str_into(r, &num->via.array.ptr[k], "numeric", buf, sizeof buf);
        names[k] = xstrdup(buf);
    }
    /* every tensor must be in the record at its size before the block is
     * allocated: a hostile configuration cannot ask for more memory than
     * the record itself holds */
    const msgpack_object *shapes = need(r, rec, "shapes", MSGPACK_OBJECT_MAP, "a map");
    const msgpack_object *tensors = need(r, rec, "tensors", MSGPACK_OBJECT_MAP, "a map");
    struct cnn_model plan;
    cnn_plan(&plan, &c);
    for (int k = 0; k < plan.ntensors; k++) {
        const struct cnn_tensor *t = &plan.tensors[k];
        const msgpack_object *data = mp_map_get(tensors, t->name);
        if (!data)
            rs_die(r, "field \"tensors\": \"%s\": missing", t->name);
        if (data->type != MSGPACK_OBJECT_ARRAY || data->via.array.size != t->size)
            rs_die(r, "field \"tensors\": \"%s\": expected an array of %zu numbers", t->name,
                   t->size);
    }
    cnn_init(m, &c, names);
    for (int k = 0; k < c.nnum; k++)
        free(names[k]);
    free(names);
    floats_of(r, need(r, rec, "num_mean", MSGPACK_OBJECT_ARRAY, "an array"), "num_mean",
              m->num_mean, (size_t)c.nnum);
    floats_of(r, need(r, rec, "num_sd", MSGPACK_OBJECT_ARRAY, "an array"), "num_sd", m->num_sd,
              (size_t)c.nnum);
    for (int k = 0; k < c.nnum; k++)
        if (!(m->num_sd[k] > 0))
            rs_die(r, "field \"num_sd\": element %d: expected a positive number", k);
    for (int k = 0; k < m->ntensors; k++) {
        const struct cnn_tensor *t = &m->tensors[k];
        const msgpack_object *s = mp_map_get(shapes, t->name);
        bool ok = s && s->type == MSGPACK_OBJECT_ARRAY && s->via.array.size == (uint32_t)t->rank;
        for (int d = 0; ok && d < t->rank; d++) {
            const msgpack_object *e = &s->via.array.ptr[d];
            ok = e->type == MSGPACK_OBJECT_POSITIVE_INTEGER && e->via.u64 == (uint64_t)t->shape[d];
        }
        if (!ok) {
            if (t->rank == 2)
                rs_die(r, "field \"shapes\": \"%s\": expected [%d, %d]", t->name, t->shape[0],
                       t->shape[1]);
            rs_die(r, "field \"shapes\": \"%s\": expected [%d]", t->name, t->shape[0]);
        }
        const msgpack_object *data = mp_map_get(tensors, t->name);
        char key[CNN_NAME_MAX + 16];
        snprintf(key, sizeof key, "tensors.%s", t->name);
        floats_of(r, data, key, m->params + t->off, t->size);
    }
    for (int t = 0; t < c.ntok; t++)
        memset(m->p.emb[t], 0, (size_t)c.dim[t] * sizeof(float));   /* padding */
}
