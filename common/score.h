/* score: how promo-score applies a model.  Each model module (kmeans,
 * dtree, cf, cnn ...) defines one struct scorer for its model kind and
 * promo-score picks it by the kind in the model stream's header.
 * Ownership: the scorer's state belongs to it from load to free. */
#ifndef PROMO_SCORE_H
#define PROMO_SCORE_H

#include <stdbool.h>
#include <stddef.h>

#include "stream.h"

/* Options of promo-score that some scorers use. */
struct score_opts {
    long recommend;        /* --recommend K: top-K items per user (0: off) */
    long similar;          /* --similar K: K similar items per item (0: off) */
    bool include_seen;     /* --include-seen */
    int threads;           /* --threads N (0: the library default) */
};

struct scorer {
    const char *kind;      /* "model/kmeans" */
    /* Read the model: m is positioned before its one record.  Dies on a
     * malformed model, naming the field. */
    void *(*load)(rs *m, const struct score_opts *o);
    /* The kind of stream this writes, given the input's kind (usually the
     * same: records in, the same records with fields added out). */
    const char *(*out_kind)(void *state, const char *in_kind);
    /* Score the current record of in, writing to w (normally one record,
     * through score_emit).  May hold records back to work in blocks. */
    void (*record)(void *state, rs *in, ws *w);
    /* Write anything held back; called once after the last record. */
    void (*finish)(void *state, ws *w);
    void (*free)(void *state);
};

/* Write the current record of in with n fields added after its own (a
 * field of the record with one of these names is replaced).  pack_fields
 * packs exactly n key-value pairs, the keys being names, in that order. */
void score_emit(rs *in, ws *w, const char *const *names, size_t n,
                void (*pack_fields)(void *state, msgpack_packer *pk), void *state);

/* The scorers promo-score knows, NULL-terminated (score_table.c). */
extern const struct scorer *const score_table[];

#endif
