/* cnn_pool: a fork-join pool of worker threads for the CNN's convolution
 * stage.  cnn_pool_run(p, fn, arg) calls fn(arg, w) once for each worker
 * w = 0 .. n-1 (worker 0 on the calling thread) and returns when all have
 * returned.  Which work a worker does is up to fn (the CNN gives worker w
 * the chunks w, w + n, w + 2n ...), so results never depend on scheduling.
 *
 * Ownership: the pool owns its threads; cnn_pool_free joins them.
 * cnn_pool_free(NULL) is safe. */
#ifndef PROMO_CNN_POOL_H
#define PROMO_CNN_POOL_H

struct cnn_pool;

/* A pool of n workers (n - 1 threads besides the caller), n >= 1. */
struct cnn_pool *cnn_pool_new(int n);
int cnn_pool_size(const struct cnn_pool *p);
void cnn_pool_run(struct cnn_pool *p, void (*fn)(void *arg, int worker), void *arg);
void cnn_pool_free(struct cnn_pool *p);

#endif
