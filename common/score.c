#include "score.h"

#include <string.h>

static bool is_added(const msgpack_object *key, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mp_str_eq(key, names[i]))
            return true;
    return false;
}

void score_emit(rs *in, ws *w, const char *const *names, size_t n,
                void (*pack_fields)(void *state, msgpack_packer *pk), void *state)
{
    const msgpack_object *rec = rs_rec(in);
    uint32_t keep = 0;
    for (uint32_t i = 0; i < rec->via.map.size; i++)
        keep += !is_added(&rec->via.map.ptr[i].key, names, n);
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, keep + (uint32_t)n);
    for (uint32_t i = 0; i < rec->via.map.size; i++) {
        const msgpack_object_kv *kv = &rec->via.map.ptr[i];
        if (is_added(&kv->key, names, n))
            continue;
        msgpack_pack_object(pk, kv->key);
        msgpack_pack_object(pk, kv->val);
    }
    pack_fields(state, pk);
    ws_end(w);
}
