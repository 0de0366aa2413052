/* cf_dist: the interactions and the ALS half-steps of promo-train-cf
 * across the ranks of a job (common/dist.h).
 *
 * Each rank reads its block of the input files into triplets with ids of
 * its own.  cf_data_merge_ranks makes every rank's data the whole input:
 * the ranks' id lists are gathered and interned in rank order, which gives
 * each id the index it has when one process reads the files in order, and
 * the triplets, renumbered, are gathered in rank order too.  cf_data_build
 * then makes the same rows and columns on every rank as one process does.
 *
 * What is partitioned is the work of ALS: each half-step a rank solves its
 * block of users (or items), cut so that the blocks hold about the same
 * number of interactions, and the blocks are exchanged (dist_share); a
 * row's solve reads only the other side's factors, so the factors are the
 * same bits as one process computes.  Memory is not partitioned: every rank
 * holds the interactions (16 bytes a pair) and both factor matrices. */
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "diag.h"
#include "dist.h"
#include "xalloc.h"

/* The ids of ids as bytes: a flag (every id an integer), then each id as
 * a 4-byte length and its bytes. */
static char *ids_bytes(const struct cf_ids *ids, size_t *n)
{
    uint32_t c = cf_ids_count(ids);
    size_t total = 1;
    for (uint32_t i = 0; i < c; i++)
        total += 4 + sm_len(&ids->map, i);
    char *b = xmalloc(total), *q = b;
    *q++ = ids->all_int;
    for (uint32_t i = 0; i < c; i++) {
        uint32_t len = sm_len(&ids->map, i);
        memcpy(q, &len, 4);
        memcpy(q + 4, sm_key(&ids->map, i), len);
        q += 4 + len;
    }
    *n = total;
    return b;
}

/* Replace ids by the union of every rank's, in rank order; returns this
 * rank's old index -> new index (malloc'd). */
static uint32_t *merge_ids(struct cf_ids *ids)
{
    int P = dist_size(), me = dist_rank();
    size_t n, total, *len = xcalloc((size_t)P, sizeof *len);
    char *mine = ids_bytes(ids, &n);
    char *all = dist_gather_bytes(mine, n, len, &total);
    free(mine);
    struct cf_ids g;
    cf_ids_init(&g);
    uint32_t *remap = xreallocarray(NULL, (size_t)cf_ids_count(ids) + 1, sizeof *remap);
    const char *q = all;
    for (int r = 0; r < P; r++) {
        const char *end = q + len[r];
        g.all_int &= *q++ != 0;
        for (uint32_t i = 0; q < end; i++) {
            uint32_t l;
            memcpy(&l, q, 4);
            uint32_t id = sm_intern(&g.map, q + 4, l);
            if (r == me)
                remap[i] = id;
            q += 4 + l;
        }
    }
    free(all);
    free(len);
    cf_ids_release(ids);
    *ids = g;
    return remap;
}

void cf_data_merge_ranks(struct cf_data *d)
{
    int P = dist_size(), me = dist_rank();
    if (P == 1)
        return;
    uint32_t *ru = merge_ids(&d->users), *ri = merge_ids(&d->items);
    size_t *lo = dist_offsets(d->nt);
    int64_t records = (int64_t)d->records;
    dist_sum_i64(&records, 1);
    size_t nt = lo[P];
    if (nt >= (size_t)UINT32_MAX * 4)
        die("more than %llu interactions over all ranks", (unsigned long long)UINT32_MAX * 4);
    uint32_t *tu = xreallocarray(NULL, nt + 1, sizeof *tu);
    uint32_t *ti = xreallocarray(NULL, nt + 1, sizeof *ti);
    float *tv = xreallocarray(NULL, nt + 1, sizeof *tv);
    for (size_t k = 0; k < d->nt; k++) {
        tu[lo[me] + k] = ru[d->tu[k]];
        ti[lo[me] + k] = ri[d->ti[k]];
        tv[lo[me] + k] = d->tv[k];
    }
    dist_share(tu, sizeof *tu, lo);
    dist_share(ti, sizeof *ti, lo);
    dist_share(tv, sizeof *tv, lo);
    free(d->tu);
    free(d->ti);
    free(d->tv);
    d->tu = tu;
    d->ti = ti;
    d->tv = tv;
    d->nt = d->capt = nt;
    d->records = (uint64_t)records;
    free(lo);
    free(ri);
    free(ru);
}

size_t *cf_rank_blocks(const uint64_t *p, size_t n, int P)
{
    size_t *lo = xcalloc((size_t)P + 1, sizeof *lo);
    /* a row costs about its entries plus one; cut at equal shares of that */
    unsigned __int128 total = (unsigned __int128)p[n] + n;
    size_t row = 0;
    for (int r = 1; r < P; r++) {
        unsigned __int128 want = total * (unsigned)r / (unsigned)P;
        while (row < n && (unsigned __int128)p[row] + row < want)
            row++;
        lo[r] = row;
    }
    lo[P] = n;
    return lo;
}
