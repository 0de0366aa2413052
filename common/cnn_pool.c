/* cnn_pool: n - 1 threads that wait for a generation number to change, run
 * the job with their worker number, and count themselves done. */
#include "cnn_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

struct worker {
    struct cnn_pool *pool;
    int id;
};

struct cnn_pool {
    int n;
    pthread_t *threads;        /* [n - 1] */
    struct worker *workers;    /* [n - 1] */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long generation;  /* bumped by each run */
    int pending;               /* helpers still running the current job */
    bool quit;
    void (*fn)(void *arg, int worker);
    void *arg;
};

static void *helper(void *p)
{
    struct worker *w = p;
    struct cnn_pool *pool = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (pool->generation == seen && !pool->quit)
            pthread_cond_wait(&pool->start, &pool->mu);
        if (pool->quit)
            break;
        seen = pool->generation;
        void (*fn)(void *, int) = pool->fn;
        void *arg = pool->arg;
        pthread_mutex_unlock(&pool->mu);
        fn(arg, w->id);
        pthread_mutex_lock(&pool->mu);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

struct cnn_pool *cnn_pool_new(int n)
{
    CHECK(n >= 1);
    struct cnn_pool *p = xcalloc(1, sizeof *p);
    p->n = n;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n > 1) {
        p->threads = xcalloc((size_t)n - 1, sizeof *p->threads);
        p->workers = xcalloc((size_t)n - 1, sizeof *p->workers);
    }
    for (int i = 0; i < n - 1; i++) {
        p->workers[i] = (struct worker){.pool = p, .id = i + 1};
        int err = pthread_create(&p->threads[i], NULL, helper, &p->workers[i]);
        if (err)
            die("cannot start a worker thread: %s", strerror(err));
    }
    return p;
}

int cnn_pool_size(const struct cnn_pool *p)
{
    return p->n;
}

void cnn_pool_run(struct cnn_pool *p, void (*fn)(void *arg, int worker), void *arg)
{
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        p->fn = fn;
        p->arg = arg;
        p->pending = p->n - 1;
        p->generation++;
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0);
    if (p->n > 1) {
        pthread_mutex_lock(&p->mu);
        while (p->pending > 0)
            pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void cnn_pool_free(struct cnn_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n - 1; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->threads);
    free(p->workers);
    free(p);
}
