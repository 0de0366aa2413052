#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

void sm_init(struct strmap *m)
{
    memset(m, 0, sizeof *m);
    m->nslots = 64;
    m->slots = xcalloc(m->nslots, sizeof *m->slots);
}

void sm_release(struct strmap *m)
{
    free(m->slots);
    free(m->arena);
    free(m->off);
    free(m->len);
    memset(m, 0, sizeof *m);
}

const char *sm_key(const struct strmap *m, uint32_t id) { return m->arena + m->off[id]; }
uint32_t sm_len(const struct strmap *m, uint32_t id) { return m->len[id]; }

static size_t slot_of(const struct strmap *m, const char *key, size_t n)
{
    size_t mask = m->nslots - 1, i = hash(key, n) & mask;
    for (;;) {
        uint32_t v = m->slots[i];
        if (v == 0)
            return i;
        if (m->len[v - 1] == n && memcmp(sm_key(m, v - 1), key, n) == 0)
            return i;
        i = (i + 1) & mask;
    }
}

int64_t sm_find(const struct strmap *m, const char *key, size_t n)
{
    uint32_t v = m->slots[slot_of(m, key, n)];
    return v ? (int64_t)v - 1 : -1;
}

static void rehash(struct strmap *m)
{
    free(m->slots);
    m->nslots *= 2;
    m->slots = xcalloc(m->nslots, sizeof *m->slots);
    for (uint32_t id = 0; id < m->n; id++)
        m->slots[slot_of(m, sm_key(m, id), m->len[id])] = id + 1;
}

uint32_t sm_intern(struct strmap *m, const char *key, size_t n)
{
    size_t s = slot_of(m, key, n);
    if (m->slots[s])
        return m->slots[s] - 1;
    if (m->n >= UINT32_MAX - 1 || n > UINT32_MAX)
        die("too many distinct strings (over 4 billion)");
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 64;
        m->off = xreallocarray(m->off, m->cap, sizeof *m->off);
        m->len = xreallocarray(m->len, m->cap, sizeof *m->len);
    }
    XGROW(m->arena, m->arena_cap, m->arena_len + n + 1);
    memcpy(m->arena + m->arena_len, key, n);
    m->arena[m->arena_len + n] = '\0';   /* so single keys print as C strings */
    uint32_t id = (uint32_t)m->n++;
    m->off[id] = m->arena_len;
    m->len[id] = (uint32_t)n;
    m->arena_len += n + 1;
    m->slots[s] = id + 1;
    if (m->n * 2 > m->nslots)
        rehash(m);
    return id;
}
