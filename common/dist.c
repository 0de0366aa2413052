/* dist: MPI behind a handful of functions; the 1-process identity without
 * PROMO_MPI.  Large arrays go in pieces: MPI counts are ints. */
#include "dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "xalloc.h"

#ifdef PROMO_MPI
#include <mpi.h>
#endif

static int rank_, size_ = 1;

int dist_rank(void) { return rank_; }
int dist_size(void) { return size_; }

void dist_range(size_t n, int r, int P, size_t *lo, size_t *hi)
{
    /* in 128 bits: n * P overflows 64 only for absurd n, but costs nothing */
    *lo = (size_t)((unsigned __int128)n * (unsigned)r / (unsigned)P);
    *hi = (size_t)((unsigned __int128)n * (unsigned)(r + 1) / (unsigned)P);
}

void dist_block(size_t n, size_t *lo, size_t *hi) { dist_range(n, rank_, size_, lo, hi); }

size_t *dist_offsets(size_t n)
{
    int64_t *c = xcalloc((size_t)size_, sizeof *c);
    c[rank_] = (int64_t)n;
    dist_sum_i64(c, (size_t)size_);
    size_t *lo = xcalloc((size_t)size_ + 1, sizeof *lo);
    for (int r = 0; r < size_; r++)
        lo[r + 1] = lo[r] + (size_t)c[r];
    free(c);
    return lo;
}

const char *const *dist_inputs(const char *const *paths, int npaths, int *n)
{
    if (size_ == 1) {
        *n = npaths;
        return paths;
    }
    if (npaths < size_)
        die_usage("%d ranks need at least %d input files (one block of files per rank), got %d",
                  size_, size_, npaths);
    size_t lo, hi;
    dist_block((size_t)npaths, &lo, &hi);
    *n = (int)(hi - lo);
    return paths + lo;
}

#ifdef PROMO_MPI

/* Elements per MPI call: well inside an int, and of any element size. */
#define PIECE ((size_t)1 << 26)

static void check(int rc, const char *what)
{
    if (rc != MPI_SUCCESS)
        die("MPI: %s failed (error %d)", what, rc);
}

/* diag's end of a failed run: the whole job ends with the status. */
static void abort_job(int status)
{
    MPI_Abort(MPI_COMM_WORLD, status);
}

static int finished;

void dist_finish(void)
{
    int up = 0;
    MPI_Initialized(&up);
    if (!up || finished)
        return;
    finished = 1;
    fflush(stdout);
    MPI_Finalize();
}

void dist_init(int *argc, char ***argv)
{
    check(MPI_Init(argc, argv), "MPI_Init");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    /* errors come back to us, and die through diag */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    atexit(dist_finish);
    if (size_ > 1) {
        diag_set_rank(rank_, abort_job);
        if (rank_ > 0 && !freopen("/dev/null", "w", stdout))
            die_errno("/dev/null");
    }
}

/* Wait for a collective without spinning on a core: a rank that arrives
 * first polls, then sleeps between polls, so on a machine with more ranks
 * (or other work) than cores the rank still computing gets the CPU.
 * Open MPI's blocking collectives busy-wait instead. */
static void await(MPI_Request *req, const char *what)
{
    int done = 0;
    for (long spins = 0;; spins++) {
        check(MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
        if (done)
            return;
        if (spins >= 100) {
            struct timespec ts = {0, spins < 1000 ? 20000 : 200000};
            nanosleep(&ts, NULL);
        }
    }
}

/* One rank (or MPI not started: a unit test) needs no MPI call. */
static void allreduce(void *v, size_t n, size_t elem, MPI_Datatype t, MPI_Op op)
{
    if (size_ == 1)
        return;
    for (size_t k = 0; k < n; k += PIECE) {
        size_t m = n - k < PIECE ? n - k : PIECE;
        MPI_Request req;
        check(MPI_Iallreduce(MPI_IN_PLACE, (char *)v + k * elem, (int)m, t, op, MPI_COMM_WORLD,
                             &req),
              "allreduce");
        await(&req, "allreduce");
    }
}

void dist_sum_f64(double *v, size_t n) { allreduce(v, n, sizeof *v, MPI_DOUBLE, MPI_SUM); }
void dist_sum_f32(float *v, size_t n) { allreduce(v, n, sizeof *v, MPI_FLOAT, MPI_SUM); }
void dist_sum_i64(int64_t *v, size_t n) { allreduce(v, n, sizeof *v, MPI_INT64_T, MPI_SUM); }
void dist_max_i64(int64_t *v, size_t n) { allreduce(v, n, sizeof *v, MPI_INT64_T, MPI_MAX); }

void dist_bcast(void *buf, size_t bytes, int root)
{
    if (size_ == 1)
        return;
    for (size_t k = 0; k < bytes; k += PIECE) {
        MPI_Request req;
        check(MPI_Ibcast((char *)buf + k, (int)(bytes - k < PIECE ? bytes - k : PIECE), MPI_BYTE,
                         root, MPI_COMM_WORLD, &req),
              "broadcast");
        await(&req, "broadcast");
    }
}

void dist_barrier(void)
{
    if (size_ == 1)
        return;
    MPI_Request req;
    check(MPI_Ibarrier(MPI_COMM_WORLD, &req), "barrier");
    await(&req, "barrier");
}

void dist_share(void *base, size_t elem, const size_t *lo)
{
    if (size_ == 1)
        return;
    /* one broadcast per rank's block; the bytes moved are those of an
     * allgather, without its int displacements */
    for (int r = 0; r < size_; r++)
        dist_bcast((char *)base + lo[r] * elem, (lo[r + 1] - lo[r]) * elem, r);
}

char *dist_gather_bytes(const void *mine, size_t n, size_t *len, size_t *total)
{
    int64_t *l = xcalloc((size_t)size_, sizeof *l);
    l[rank_] = (int64_t)n;
    dist_sum_i64(l, (size_t)size_);
    size_t *lo = xcalloc((size_t)size_ + 1, sizeof *lo);
    for (int r = 0; r < size_; r++) {
        len[r] = (size_t)l[r];
        lo[r + 1] = lo[r] + len[r];
    }
    *total = lo[size_];
    char *all = xmalloc(*total + 1);
    if (n)
        memcpy(all + lo[rank_], mine, n);
    dist_share(all, 1, lo);
    free(lo);
    free(l);
    return all;
}

void dist_sum_ordered_f64(double *v, size_t n, double *all)
{
    if (size_ == 1) {
        if (all)
            memcpy(all, v, n * sizeof *v);
        return;
    }
    double *a = all ? all : xreallocarray(NULL, (size_t)size_ * n + 1, sizeof *a);
    size_t *lo = xcalloc((size_t)size_ + 1, sizeof *lo);
    for (int r = 0; r <= size_; r++)
        lo[r] = (size_t)r;
    memcpy(a + (size_t)rank_ * n, v, n * sizeof *v);
    dist_share(a, n * sizeof *v, lo);
    for (size_t j = 0; j < n; j++) {
        double s = a[j];
        for (int r = 1; r < size_; r++)
            s += a[(size_t)r * n + j];
        v[j] = s;
    }
    free(lo);
    if (!all)
        free(a);
}

#else   /* one process */

void dist_sum_ordered_f64(double *v, size_t n, double *all)
{
    if (all)
        memcpy(all, v, n * sizeof *v);
}

void dist_init(int *argc, char ***argv) { (void)argc, (void)argv; }
void dist_finish(void) {}
void dist_sum_f64(double *v, size_t n) { (void)v, (void)n; }
void dist_sum_f32(float *v, size_t n) { (void)v, (void)n; }
void dist_sum_i64(int64_t *v, size_t n) { (void)v, (void)n; }
void dist_max_i64(int64_t *v, size_t n) { (void)v, (void)n; }
void dist_bcast(void *buf, size_t bytes, int root) { (void)buf, (void)bytes, (void)root; }
void dist_barrier(void) {}
void dist_share(void *base, size_t elem, const size_t *lo) { (void)base, (void)elem, (void)lo; }

char *dist_gather_bytes(const void *mine, size_t n, size_t *len, size_t *total)
{
    char *all = xmalloc(n + 1);
    if (n)
        memcpy(all, mine, n);
    len[0] = n;
    *total = n;
    return all;
}

#endif
