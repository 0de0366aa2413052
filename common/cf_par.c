/* cf_par: a parallel loop over index ranges on plain pthreads.  Chunks are
 * handed out in order from a shared counter; a caller's work on an index
 * depends only on the index, so the result is the same whatever thread
 * takes a chunk and however many threads there are. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "cf.h"

struct par {
    size_t n, chunk;
    atomic_size_t next;
    void (*fn)(void *ctx, size_t lo, size_t hi, int worker);
    void *ctx;
};

struct par_worker {
    struct par *p;
    int id;
};

static void *par_main(void *arg)
{
    struct par_worker *w = arg;
    struct par *p = w->p;
    for (;;) {
        size_t lo = atomic_fetch_add(&p->next, p->chunk);
        if (lo >= p->n)
            break;
        size_t hi = lo + p->chunk < p->n ? lo + p->chunk : p->n;
        p->fn(p->ctx, lo, hi, w->id);
    }
    return NULL;
}

void cf_parallel(int nthreads, size_t n, size_t chunk,
                 void (*fn)(void *ctx, size_t lo, size_t hi, int worker), void *ctx)
{
    if (n == 0)
        return;
    if (chunk == 0)
        chunk = 1;
    struct par p = {.n = n, .chunk = chunk, .fn = fn, .ctx = ctx};
    atomic_init(&p.next, 0);
    size_t nchunks = (n + chunk - 1) / chunk;
    int nt = nthreads < 1 ? 1 : nthreads > CF_MAX_THREADS ? CF_MAX_THREADS : nthreads;
    if ((size_t)nt > nchunks)
        nt = (int)nchunks;
    pthread_t th[CF_MAX_THREADS];
    struct par_worker w[CF_MAX_THREADS];
    int started = 0;
    for (int t = 1; t < nt; t++) {
        w[t] = (struct par_worker){&p, t};
        if (pthread_create(&th[t], NULL, par_main, &w[t]) != 0)
            break;   /* fewer threads: the rest runs here */
        started = t;
    }
    w[0] = (struct par_worker){&p, 0};
    par_main(&w[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
}

int cf_default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > CF_MAX_THREADS ? CF_MAX_THREADS : (int)cpus;
}
