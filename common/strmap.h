/* strmap: byte strings -> dense ids 0, 1, 2 ... in order of first sight.
 * For vocabularies, category levels and user or item ids.  Keys are copied
 * into one growing arena; the table is open addressing with FNV-1a. */
#ifndef PROMO_STRMAP_H
#define PROMO_STRMAP_H

#include <stddef.h>
#include <stdint.h>

struct strmap {
    uint32_t *slots;      /* id + 1, or 0 for empty */
    size_t nslots;
    char *arena;          /* the keys, back to back */
    size_t arena_len, arena_cap;
    size_t *off;          /* id -> offset in arena */
    uint32_t *len;        /* id -> key length */
    size_t n, cap;        /* ids in use */
};

void sm_init(struct strmap *m);
void sm_release(struct strmap *m);
/* The id of key, adding it if new. */
uint32_t sm_intern(struct strmap *m, const char *key, size_t n);
/* The id of key, or -1 if absent. */
int64_t sm_find(const struct strmap *m, const char *key, size_t n);
/* The key of an id (not NUL-terminated; see sm_len). */
const char *sm_key(const struct strmap *m, uint32_t id);
uint32_t sm_len(const struct strmap *m, uint32_t id);
static inline size_t sm_count(const struct strmap *m) { return m->n; }

#endif
