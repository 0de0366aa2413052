/* dtree_io: a model as one record of a "model/dtree" stream.
 *
 * The record (docs/dtree.md has the full table):
 *   task, criterion, label, [treatment, arms, binary_outcome], [classes],
 *   features: [{name, type "num"|"cat", missing bool, pooled bool, levels [...]}],
 *   importance: [f64 per feature],
 *   trees: [{feature, left, right, missing_left, threshold, cat_off, cats,
 *            count, gain, value}]  -- flat arrays, one element per node
 *            (cat_off: nodes + 1; value: nodes x nval, row-major).
 * The header's options carry "model_version" (DT_MODEL_VERSION). */
#include "dtree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "numfmt.h"
#include "rec.h"
#include "stream.h"
#include "xalloc.h"

/* ---- writing ------------------------------------------------------------ */

/* Integral values as integers (shorter), others as float64. */
static void pack_num(msgpack_packer *pk, double v)
{
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        if (v >= 0)
            msgpack_pack_uint64(pk, (uint64_t)v);
        else
            msgpack_pack_int64(pk, (int64_t)v);
    } else {
        msgpack_pack_double(pk, v);
    }
}

static void pack_f64s(msgpack_packer *pk, const double *v, size_t n, bool as_num)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++) {
        if (as_num)
            pack_num(pk, v[i]);
        else
            msgpack_pack_double(pk, v[i]);
    }
}

static void pack_i32s(msgpack_packer *pk, const int32_t *v, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_int32(pk, v[i]);
}

static void pack_strs(msgpack_packer *pk, char *const *s, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        mp_pack_str(pk, s[i]);
}

static void pack_tree(msgpack_packer *pk, const struct dt_tree *t)
{
    size_t n = t->nnodes;
    msgpack_pack_map(pk, 10);
    mp_pack_str(pk, "feature");
    pack_i32s(pk, t->feature, n);
    mp_pack_str(pk, "left");
    pack_i32s(pk, t->left, n);
    mp_pack_str(pk, "right");
    pack_i32s(pk, t->right, n);
    mp_pack_str(pk, "missing_left");
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_uint8(pk, t->miss_left[i]);
    mp_pack_str(pk, "threshold");
    pack_f64s(pk, t->threshold, n, false);
    mp_pack_str(pk, "cat_off");
    msgpack_pack_array(pk, n + 1);
    for (size_t i = 0; i <= n; i++)
        msgpack_pack_uint32(pk, t->cat_off[i]);
    mp_pack_str(pk, "cats");
    msgpack_pack_array(pk, t->ncats);
    for (size_t i = 0; i < t->ncats; i++)
        msgpack_pack_uint8(pk, t->cats[i]);
    mp_pack_str(pk, "count");
    pack_f64s(pk, t->count, n, true);
    mp_pack_str(pk, "gain");
    pack_f64s(pk, t->gain, n, true);
    mp_pack_str(pk, "value");
    pack_f64s(pk, t->value, n * t->nval, false);
}

void dt_write(const struct dt_model *m, ws *w)
{
    msgpack_packer *pk = ws_pk(w);
    size_t nkeys = 6 + (m->task == DT_UPLIFT ? 3 : 0) + (m->task == DT_CLASSIFY);
    msgpack_pack_map(pk, nkeys);
    mp_pack_str(pk, "task");
    mp_pack_str(pk, dt_task_names[m->task]);
    mp_pack_str(pk, "criterion");
    mp_pack_str(pk, dt_crit_names[m->crit]);
    mp_pack_str(pk, "label");
    mp_pack_str(pk, m->label);
    if (m->task == DT_UPLIFT) {
        mp_pack_str(pk, "treatment");
        mp_pack_str(pk, m->treatment);
        mp_pack_str(pk, "arms");
        pack_strs(pk, m->arm_names, m->narm);
        mp_pack_str(pk, "binary_outcome");
        if (m->binary_outcome)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
    }
    if (m->task == DT_CLASSIFY) {
        mp_pack_str(pk, "classes");
        if (m->class_numeric)
            pack_f64s(pk, m->class_values, m->nclass, true);
        else
            pack_strs(pk, m->class_names, m->nclass);
    }
    mp_pack_str(pk, "features");
    msgpack_pack_array(pk, m->nfeat);
    for (size_t j = 0; j < m->nfeat; j++) {
        const struct dt_feature *f = &m->feat[j];
        msgpack_pack_map(pk, f->cat ? 5 : 3);
        mp_pack_str(pk, "name");
        mp_pack_str(pk, f->name);
        mp_pack_str(pk, "type");
        mp_pack_str(pk, f->cat ? "cat" : "num");
        mp_pack_str(pk, "missing");
        if (f->had_missing)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        if (f->cat) {
            mp_pack_str(pk, "pooled");
            if (f->pooled)
                msgpack_pack_true(pk);
            else
                msgpack_pack_false(pk);
            mp_pack_str(pk, "levels");
            size_t L = sm_count(&f->levels);
            msgpack_pack_array(pk, L);
            for (uint32_t l = 0; l < L; l++)
                mp_pack_strn(pk, sm_key(&f->levels, l), sm_len(&f->levels, l));
        }
    }
    mp_pack_str(pk, "importance");
    pack_f64s(pk, m->importance, m->nfeat, true);
    mp_pack_str(pk, "trees");
    msgpack_pack_array(pk, m->ntree);
    for (size_t k = 0; k < m->ntree; k++)
        pack_tree(pk, &m->trees[k]);
    ws_end(w);
}

/* ---- reading ------------------------------------------------------------ */

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

static char *need_str(rs *r, const msgpack_object *map, const char *key)
{
    const msgpack_object *o = need(r, map, key, MSGPACK_OBJECT_STR, "a string");
    return xstrndup(o->via.str.ptr, o->via.str.size);
}

static const msgpack_object *need_array(rs *r, const msgpack_object *map, const char *key,
                                        size_t len)
{
    const msgpack_object *o = need(r, map, key, MSGPACK_OBJECT_ARRAY, "an array");
    if (len != SIZE_MAX && o->via.array.size != len)
        rs_die(r, "field \"%s\": expected %zu elements, got %u", key, len, o->via.array.size);
    return o;
}

static bool as_num(const msgpack_object *o, double *v)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *v = (double)o->via.u64; return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *v = (double)o->via.i64; return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *v = o->via.f64; return true;
    default: return false;
    }
}

static double elem_num(rs *r, const msgpack_object *a, size_t i, const char *key)
{
    double v;
    if (!as_num(&a->via.array.ptr[i], &v))
        rs_die(r, "field \"%s\": element %zu: expected a number, got %s", key, i,
               mp_type_name(&a->via.array.ptr[i]));
    return v;
}

/* An integer element in [lo, hi]. */
static long elem_int(rs *r, const msgpack_object *a, size_t i, const char *key, long lo, long hi)
{
    double v = elem_num(r, a, i, key);
    if (v != floor(v) || v < (double)lo || v > (double)hi)
        rs_die(r, "field \"%s\": element %zu: expected a whole number from %ld to %ld, got %g",
               key, i, lo, hi, v);
    return (long)v;
}

static char **read_strs(rs *r, const msgpack_object *a, const char *key)
{
    char **s = xcalloc(a->via.array.size + 1, sizeof *s);
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *e = &a->via.array.ptr[i];
        if (e->type != MSGPACK_OBJECT_STR)
            rs_die(r, "field \"%s\": element %u: expected a string, got %s", key, i,
                   mp_type_name(e));
        s[i] = xstrndup(e->via.str.ptr, e->via.str.size);
    }
    return s;
}

static void read_tree(rs *r, const msgpack_object *o, struct dt_model *m, struct dt_tree *t)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        rs_die(r, "field \"trees\": expected maps, got %s", mp_type_name(o));
    const msgpack_object *feature = need_array(r, o, "feature", SIZE_MAX);
    size_t n = feature->via.array.size;
    if (n == 0)
        rs_die(r, "field \"feature\": a tree without nodes");
    const msgpack_object *left = need_array(r, o, "left", n), *right = need_array(r, o, "right", n),
                         *ml = need_array(r, o, "missing_left", n),
                         *thr = need_array(r, o, "threshold", n),
                         *coff = need_array(r, o, "cat_off", n + 1),
                         *cats = need_array(r, o, "cats", SIZE_MAX),
                         *count = need_array(r, o, "count", n), *gain = need_array(r, o, "gain", n),
                         *value = need_array(r, o, "value", n * m->nval);
    size_t ncats = cats->via.array.size;
    dt_tree_alloc(t, n, ncats, m->nval);
    for (size_t i = 0; i < n; i++) {
        t->feature[i] = (int32_t)elem_int(r, feature, i, "feature", -1, (long)m->nfeat - 1);
        long lo = t->feature[i] < 0 ? -1 : (long)i + 1, hi = t->feature[i] < 0 ? -1 : (long)n - 1;
        if (lo > hi)
            rs_die(r, "field \"feature\": element %zu: a split at the last node", i);
        t->left[i] = (int32_t)elem_int(r, left, i, "left", lo, hi);
        t->right[i] = (int32_t)elem_int(r, right, i, "right", lo, hi);
        t->miss_left[i] = (uint8_t)elem_int(r, ml, i, "missing_left", 0, 1);
        t->threshold[i] = elem_num(r, thr, i, "threshold");
        t->count[i] = elem_num(r, count, i, "count");
        t->gain[i] = elem_num(r, gain, i, "gain");
    }
    for (size_t i = 0; i <= n; i++) {
        t->cat_off[i] = (uint32_t)elem_int(r, coff, i, "cat_off", i ? (long)t->cat_off[i - 1] : 0,
                                           (long)ncats);
    }
    if (t->cat_off[n] != ncats)
        rs_die(r, "field \"cat_off\": the last offset is %u, not the %zu cats", t->cat_off[n],
               ncats);
    for (size_t i = 0; i < n; i++)
        if (t->cat_off[i + 1] != t->cat_off[i] &&
            (t->feature[i] < 0 || !m->feat[t->feature[i]].cat))
            rs_die(r, "field \"cat_off\": node %zu has categories but no categorical split", i);
    for (size_t i = 0; i < ncats; i++)
        t->cats[i] = (uint8_t)elem_int(r, cats, i, "cats", 0, DT_MAX_BINS - 1);
    for (size_t i = 0; i < n * m->nval; i++)
        t->value[i] = elem_num(r, value, i, "value");
    dt_tree_masks(t, m);
}

void dt_read(struct dt_model *m, rs *r)
{
    dt_model_init(m);
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    const msgpack_object *ver = opts && opts->type == MSGPACK_OBJECT_MAP
                              ? mp_map_get(opts, "model_version") : NULL;
    if (!ver || ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        die("%s: header: option \"model_version\": missing", rs_file(r));
    if (ver->via.u64 > DT_MODEL_VERSION)
        die("%s: header: model version %llu is newer than this program reads (%d)", rs_file(r),
            (unsigned long long)ver->via.u64, DT_MODEL_VERSION);
    if (!rs_next(r))
        die("%s: no model record", rs_file(r));
    const msgpack_object *rec = rs_rec(r);
    char *task = need_str(r, rec, "task"), *crit = need_str(r, rec, "criterion");
    size_t k;
    for (k = 0; k < 3 && strcmp(task, dt_task_names[k]) != 0; k++)
        ;
    if (k == 3)
        rs_die(r, "field \"task\": expected classification, regression or uplift, got \"%s\"",
               task);
    m->task = (enum dt_task)k;
    for (k = 0; k < 6 && strcmp(crit, dt_crit_names[k]) != 0; k++)
        ;
    if (k == 6)
        rs_die(r, "field \"criterion\": unknown criterion \"%s\"", crit);
    m->crit = (enum dt_crit)k;
    free(task);
    free(crit);
    m->label = need_str(r, rec, "label");
    if (m->task == DT_UPLIFT) {
        m->treatment = need_str(r, rec, "treatment");
        const msgpack_object *arms = need_array(r, rec, "arms", SIZE_MAX);
        if (arms->via.array.size < 2 || arms->via.array.size > 64)
            rs_die(r, "field \"arms\": expected 2 to 64 arms, got %u", arms->via.array.size);
        m->narm = arms->via.array.size;
        m->arm_names = read_strs(r, arms, "arms");
        m->binary_outcome = need(r, rec, "binary_outcome", MSGPACK_OBJECT_BOOLEAN, "a boolean")
                                ->via.boolean;
    }
    if (m->task == DT_CLASSIFY) {
        const msgpack_object *cl = need_array(r, rec, "classes", SIZE_MAX);
        m->nclass = cl->via.array.size;
        if (m->nclass < 1 || m->nclass > 256)
            rs_die(r, "field \"classes\": expected 1 to 256 classes, got %zu", m->nclass);
        double v;
        m->class_numeric = as_num(&cl->via.array.ptr[0], &v);
        if (m->class_numeric) {
            m->class_values = xcalloc(m->nclass, sizeof *m->class_values);
            m->class_names = xcalloc(m->nclass + 1, sizeof *m->class_names);
            for (size_t i = 0; i < m->nclass; i++) {
                m->class_values[i] = elem_num(r, cl, i, "classes");
                char buf[NUM_BUF];
                num_fmt_f64(buf, m->class_values[i]);
                m->class_names[i] = xstrdup(buf);
            }
        } else {
            m->class_names = read_strs(r, cl, "classes");
        }
    }
    const msgpack_object *feats = need_array(r, rec, "features", SIZE_MAX);
    m->nfeat = feats->via.array.size;
    m->feat = xcalloc(m->nfeat + 1, sizeof *m->feat);
    for (size_t j = 0; j < m->nfeat; j++) {
        const msgpack_object *fo = &feats->via.array.ptr[j];
        if (fo->type != MSGPACK_OBJECT_MAP)
            rs_die(r, "field \"features\": element %zu: expected a map, got %s", j,
                   mp_type_name(fo));
        struct dt_feature *f = &m->feat[j];
        f->name = need_str(r, fo, "name");
        const msgpack_object *ty = need(r, fo, "type", MSGPACK_OBJECT_STR, "a string");
        f->cat = mp_str_eq(ty, "cat");
        if (!f->cat && !mp_str_eq(ty, "num"))
            rs_die(r, "field \"type\": expected \"num\" or \"cat\" (feature \"%s\")", f->name);
        f->had_missing = need(r, fo, "missing", MSGPACK_OBJECT_BOOLEAN, "a boolean")->via.boolean;
        if (f->cat) {
            f->pooled = need(r, fo, "pooled", MSGPACK_OBJECT_BOOLEAN, "a boolean")->via.boolean;
            const msgpack_object *lv = need_array(r, fo, "levels", SIZE_MAX);
            if (lv->via.array.size > DT_MAX_BINS - 1)
                rs_die(r, "field \"levels\": at most %d levels, got %u (feature \"%s\")",
                       DT_MAX_BINS - 1, lv->via.array.size, f->name);
            sm_init(&f->levels);
            for (uint32_t l = 0; l < lv->via.array.size; l++) {
                const msgpack_object *e = &lv->via.array.ptr[l];
                if (e->type != MSGPACK_OBJECT_STR)
                    rs_die(r, "field \"levels\": element %u: expected a string, got %s", l,
                           mp_type_name(e));
                if (sm_intern(&f->levels, e->via.str.ptr, e->via.str.size) != l)
                    rs_die(r, "field \"levels\": level %u repeats an earlier one (feature \"%s\")",
                           l, f->name);
            }
        }
    }
    const msgpack_object *imp = need_array(r, rec, "importance", m->nfeat);
    m->importance = xcalloc(m->nfeat + 1, sizeof *m->importance);
    for (size_t j = 0; j < m->nfeat; j++)
        m->importance[j] = elem_num(r, imp, j, "importance");
    m->nval = dt_nval(m);
    const msgpack_object *trees = need_array(r, rec, "trees", SIZE_MAX);
    if (trees->via.array.size == 0)
        rs_die(r, "field \"trees\": no trees");
    m->ntree = trees->via.array.size;
    m->trees = xcalloc(m->ntree, sizeof *m->trees);
    for (size_t t = 0; t < m->ntree; t++)
        read_tree(r, &trees->via.array.ptr[t], m, &m->trees[t]);
    if (rs_next(r))
        rs_die(r, "a model stream holds one record, this one has more");
}
