/* dist: the few collective operations the data-parallel trainers need,
 * with MPI hidden behind them.  Built with -DPROMO_MPI (make MPI=1) they
 * are Open MPI's; otherwise the job is one process and every operation is
 * the identity, so trainers call them unconditionally.
 *
 * A job of P processes ("ranks") runs the same program on the same
 * arguments; each rank reads its own block of the FILE arguments
 * (dist_inputs), the collectives combine what the ranks computed, and only
 * rank 0 writes outputs.  Messages name the rank (diag_set_rank) and a rank
 * that fails aborts the whole job, so no rank waits forever and no partial
 * output is left (rank 0's temporary files are removed by its signal hook).
 *
 * All collectives must be called by every rank in the same order. */
#ifndef PROMO_DIST_H
#define PROMO_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Start the job (MPI_Init) before the options are parsed; under more than
 * one rank, ranks above 0 write nothing to stdout (it goes to /dev/null).
 * dist_finish (also run at a normal exit) ends it. */
void dist_init(int *argc, char ***argv);
void dist_finish(void);
int dist_rank(void);
int dist_size(void);

/* Element-wise sums (or maxima) over the ranks, in place, on every rank.
 * The order of a float sum is MPI's: a decision every rank must take
 * alike is taken on gathered values (dist_share) or broadcast by rank 0. */
void dist_sum_f64(double *v, size_t n);
void dist_sum_f32(float *v, size_t n);
void dist_sum_i64(int64_t *v, size_t n);
void dist_max_i64(int64_t *v, size_t n);
/* Sums that every rank gets with the same bits, whatever MPI does: the
 * ranks' vectors are gathered and added in rank order on every rank (for
 * short vectors, whose sums steer decisions).  all, when not NULL, gets
 * every rank's vector: all[r][n]. */
void dist_sum_ordered_f64(double *v, size_t n, double *all);
/* Each rank holding n items (its own n): the ranks' first global indexes
 * in rank order, lo[dist_size() + 1] (malloc'd), lo[size] the total. */
size_t *dist_offsets(size_t n);
/* Rank root's bytes into every rank's buf. */
void dist_bcast(void *buf, size_t bytes, int root);
void dist_barrier(void);

/* Every rank r holds elements [lo[r], lo[r+1]) of the array base (elem
 * bytes each) and gets all of them: an allgather in place.  lo has
 * dist_size() + 1 entries, the same on every rank. */
void dist_share(void *base, size_t elem, const size_t *lo);
/* Concatenate the ranks' byte strings in rank order on every rank; returns
 * a malloc'd buffer of *total bytes, and each rank's length in len[size]. */
char *dist_gather_bytes(const void *mine, size_t n, size_t *len, size_t *total);

/* Rank r's share [lo, hi) of n items among P: [r n / P, (r + 1) n / P);
 * dist_block is this rank's. */
void dist_range(size_t n, int r, int P, size_t *lo, size_t *hi);
void dist_block(size_t n, size_t *lo, size_t *hi);
/* The FILE arguments this rank reads: its contiguous block of paths, so
 * that the ranks' inputs in rank order are the files in order.  Fewer files
 * than ranks (or stdin under several ranks) is a usage error. */
const char *const *dist_inputs(const char *const *paths, int npaths, int *n);

#endif
