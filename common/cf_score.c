/* The recommender scorer of promo-score (models of kind model/cf).
 *
 * --recommend K: each input record names a user (the model's user field)
 * and gets "items" (the top K item ids, best first), "scores" (their
 * scores, float32) and "cold" (true when the fallback was used); the
 * output kind is "recommendations".  --similar K: each record names an item
 * (the model's item field) and gets "similar", "scores" and "cold"; kind
 * "similar".  Neither: each record names a user and an item and gets
 * "score" and "cold" (kind unchanged).
 *
 * Records are held back in blocks of CF_BLOCK (their raw bytes, copied,
 * since a record dies at the next rs_next) so that a block is scored with
 * one sgemm; memory is the model plus one block of scores. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "diag.h"
#include "rec.h"
#include "xalloc.h"

enum mode { M_RECOMMEND, M_SIMILAR, M_PREDICT };

struct cf_scorer_state {
    struct cf_model m;
    struct cf_ranker rk;
    enum mode mode;
    int k;
    /* the block held back: raw record bytes, back to back */
    char *raw;
    size_t rawlen, rawcap;
    size_t off[CF_BLOCK], len[CF_BLOCK];
    int64_t ids[CF_BLOCK];
    int n;
    /* predict: the current record's result */
    double score;
    bool cold;
    int cur;                   /* the row being packed */
};

static void *cf_score_load(rs *r, const struct score_opts *o)
{
    if (o->recommend && o->similar)
        die_usage("--recommend and --similar: give one of them");
    struct cf_scorer_state *s = xcalloc(1, sizeof *s);
    cf_load(&s->m, r);
    s->mode = o->recommend ? M_RECOMMEND : o->similar ? M_SIMILAR : M_PREDICT;
    s->k = (int)(o->recommend ? o->recommend : o->similar);
    if (s->mode != M_PREDICT)
        cf_ranker_init(&s->rk, &s->m, s->k, o->include_seen,
                       o->threads ? o->threads : cf_default_threads());
    return s;
}

static const char *cf_score_out_kind(void *state, const char *in_kind)
{
    struct cf_scorer_state *s = state;
    return s->mode == M_RECOMMEND ? "recommendations" : s->mode == M_SIMILAR ? "similar" : in_kind;
}

/* The model index of the id in field name of the current record (-1:
 * unknown); dies when the field is missing or not an id. */
static int64_t id_field(rs *in, const char *name, const struct cf_ids *ids)
{
    const msgpack_object *o = rec_field(in, name);
    if (!o)
        rs_die(in, "field \"%s\": missing (the model reads its ids there)", name);
    if (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_POSITIVE_INTEGER &&
        o->type != MSGPACK_OBJECT_NEGATIVE_INTEGER)
        rs_die(in, "field \"%s\": expected a string or an integer id, got %s", name,
               mp_type_name(o));
    return cf_ids_find(ids, o);
}

/* ---- the block ------------------------------------------------------------------- */

static const char *const rec_names[] = {"items", "scores", "cold"};
static const char *const sim_names[] = {"similar", "scores", "cold"};

static bool is_added(const msgpack_object *key, const char *const *names)
{
    for (int i = 0; i < 3; i++)
        if (mp_str_eq(key, names[i]))
            return true;
    return false;
}

static void emit_row(struct cf_scorer_state *s, ws *w, int j, msgpack_unpacked *up)
{
    const char *const *names = s->mode == M_RECOMMEND ? rec_names : sim_names;
    size_t pos = 0;
    if (msgpack_unpack_next(up, s->raw + s->off[j], s->len[j], &pos) != MSGPACK_UNPACK_SUCCESS)
        die("internal error: a held record does not unpack");
    const msgpack_object *rec = &up->data;
    CHECK(rec->type == MSGPACK_OBJECT_MAP);
    uint32_t keep = 0;
    for (uint32_t i = 0; i < rec->via.map.size; i++)
        keep += !is_added(&rec->via.map.ptr[i].key, names);
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, keep + 3);
    for (uint32_t i = 0; i < rec->via.map.size; i++) {
        const msgpack_object_kv *kv = &rec->via.map.ptr[i];
        if (is_added(&kv->key, names))
            continue;
        msgpack_pack_object(pk, kv->key);
        msgpack_pack_object(pk, kv->val);
    }
    int n = s->rk.ntop[j];
    const uint32_t *top = s->rk.top + (size_t)j * s->k;
    const float *val = s->rk.topv + (size_t)j * s->k;
    mp_pack_str(pk, names[0]);
    msgpack_pack_array(pk, (uint32_t)n);
    for (int t = 0; t < n; t++)
        cf_ids_pack(&s->m.items, pk, top[t]);
    mp_pack_str(pk, names[1]);
    msgpack_pack_array(pk, (uint32_t)n);
    for (int t = 0; t < n; t++)
        msgpack_pack_float(pk, val[t]);
    mp_pack_str(pk, names[2]);
    if (s->rk.cold[j])
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    ws_end(w);
}

static void flush(struct cf_scorer_state *s, ws *w)
{
    if (s->n == 0)
        return;
    if (s->mode == M_RECOMMEND)
        cf_recommend_block(&s->rk, s->ids, s->n);
    else
        cf_similar_block(&s->rk, s->ids, s->n);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    for (int j = 0; j < s->n; j++)
        emit_row(s, w, j, &up);
    msgpack_unpacked_destroy(&up);
    s->n = 0;
    s->rawlen = 0;
}

/* ---- records ---------------------------------------------------------------------- */

static void pack_predict(void *state, msgpack_packer *pk)
{
    struct cf_scorer_state *s = state;
    mp_pack_str(pk, "score");
    msgpack_pack_double(pk, s->score);
    mp_pack_str(pk, "cold");
    if (s->cold)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void cf_score_record(void *state, rs *in, ws *w)
{
    struct cf_scorer_state *s = state;
    const struct cf_model *m = &s->m;
    if (s->mode == M_PREDICT) {
        static const char *const names[] = {"score", "cold"};
        int64_t u = id_field(in, m->user_field, &m->users);
        int64_t i = id_field(in, m->item_field, &m->items);
        s->score = cf_predict(m, u, i, &s->cold);
        score_emit(in, w, names, 2, pack_predict, s);
        return;
    }
    (void)rs_rec(in);   /* a record that is not a map dies here, with its number */
    int64_t id = s->mode == M_RECOMMEND ? id_field(in, m->user_field, &m->users)
                                        : id_field(in, m->item_field, &m->items);
    size_t len;
    const char *raw = rs_raw(in, &len);
    XGROW(s->raw, s->rawcap, s->rawlen + len);
    memcpy(s->raw + s->rawlen, raw, len);
    s->off[s->n] = s->rawlen;
    s->len[s->n] = len;
    s->ids[s->n] = id;
    s->rawlen += len;
    if (++s->n == CF_BLOCK)
        flush(s, w);
}

static void cf_score_finish(void *state, ws *w)
{
    struct cf_scorer_state *s = state;
    if (s->mode != M_PREDICT)
        flush(s, w);
}

static void cf_score_free(void *state)
{
    struct cf_scorer_state *s = state;
    if (!s)
        return;
    if (s->mode != M_PREDICT)
        cf_ranker_release(&s->rk);
    cf_model_release(&s->m);
    free(s->raw);
    free(s);
}

const struct scorer cf_scorer = {
    .kind = CF_KIND,
    .load = cf_score_load,
    .out_kind = cf_score_out_kind,
    .record = cf_score_record,
    .finish = cf_score_finish,
    .free = cf_score_free,
};
