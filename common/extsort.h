/* extsort: an external merge sort of records (their MessagePack bytes)
 * in bounded memory.
 *
 * Records are copied into a run of at most half of `mem` (their bytes plus
 * 64 bytes of sort entries each): a full run is sorted and written on a
 * second thread while the next one fills the other half.  A run is sorted
 * in memory by a
 * radix sort on two 64-bit keys and written to a temporary file in a
 * private directory under tmpdir, each record framed with its length and
 * keys (so the merge reads them back without parsing).  xs_finish then
 * merges the runs with a heap (k-way); when there are more runs than the
 * memory allows open at once (each open run holds about 512 KiB of read
 * buffers), groups of runs are merged into longer runs first.  Records
 * with equal keys keep the order they were added in (the sort is stable),
 * so the output depends only on the input.
 *
 * Temporary files are removed as soon as they are merged, by xs_free, and
 * by die() or a fatal signal (a diag_on_exit hook). */
#ifndef PROMO_EXTSORT_H
#define PROMO_EXTSORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The order of a record: by cls, then k1, then (for cls 1, the class of
 * string keys, at equal k1) the string s bytewise, then k2.  For a string,
 * k1 is its first 8 bytes big-endian, so comparing k1 first gives the
 * string order; xs_key_int and xs_key_str fill cls, k1 and s. */
struct xs_key {
    uint8_t cls;
    uint64_t k1, k2;
    const char *s;             /* or NULL; points into the record */
    uint32_t slen;
};
/* Compute the key of a record's bytes (called on every add and merge). */
typedef void xs_key_fn(const char *rec, size_t len, struct xs_key *key);

typedef struct xs xs;

/* mem: the memory for records and entries; tmpdir: where runs go. */
xs *xs_new(uint64_t mem, const char *tmpdir, xs_key_fn *key);
/* Add a record (copied).  May sort and spill a full run.  xs_add_key:
 * with its key already known (key->s is not used). */
void xs_add(xs *s, const char *rec, size_t len);
void xs_add_key(xs *s, const char *rec, size_t len, const struct xs_key *key);
/* No more records: sort what is left and prepare the merge. */
void xs_finish(xs *s);
/* The next record in order, valid until the next call.  false at the end. */
bool xs_next(xs *s, const char **rec, size_t *len);
/* Runs written to disk (0: everything was sorted in memory). */
uint64_t xs_runs(const xs *s);
/* A fresh path in the private temporary directory, for a caller's own
 * spill file; removed with the directory.  Free it with free(). */
char *xs_temp_path(xs *s);
void xs_free(xs *s);

/* The key of an integer or string id (for users): integers first. */
void xs_key_int(struct xs_key *k, int64_t v);
void xs_key_str(struct xs_key *k, const char *s, size_t n);
static inline uint64_t xs_i64_order(int64_t v) { return (uint64_t)v ^ (UINT64_C(1) << 63); }

/* Sort entries in memory; exposed for the unit test, which compares it
 * against qsort.  Each entry: keys and an index; stable. */
struct xs_ent {
    uint64_t k1, k2;
    uint64_t off;              /* the record's offset in the run's arena */
    uint32_t len;
    uint8_t cls;
};
void xs_radix_sort(struct xs_ent *e, struct xs_ent *tmp, size_t n);

#endif
