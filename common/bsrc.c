#include "bsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <unistd.h>
#include <zlib.h>

#include "diag.h"
#include "pipesize.h"
#include "xalloc.h"

#define IN_CHUNK (256 * 1024)
/* Members up to FAST_IN compressed and FAST_OUT decompressed (what the
 * stream writer makes) are decoded whole by libdeflate, about twice as
 * fast as zlib; any other member streams through zlib, which also gives
 * the precise message for a truncated or corrupt one. */
#define FAST_IN (2 * 1024 * 1024)
#define FAST_OUT (4 * 1024 * 1024)
/* A gzip input is decoded one step ahead on a second thread, into a ring
 * of blocks, so decompression overlaps the caller's parsing: decoding is
 * most of a reader's time at level 1.  Plain input needs no thread. */
#define AHEAD_SLOTS 4
#define AHEAD_BLOCK (256 * 1024)

struct ahead {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char *buf[AHEAD_SLOTS];
    long len[AHEAD_SLOTS];      /* bytes in a filled slot; 0 the end, -1 an error */
    uint64_t filled, taken;     /* slots filled by the decoder, taken by the reader */
    size_t pos;                 /* the reader's position in its slot */
    bool stop;
};

struct bsrc {
    int fd;
    char *name;
    unsigned char *in;      /* compressed (or plain) bytes read from fd */
    size_t in_pos, in_len, in_cap;
    struct libdeflate_decompressor *dc;
    unsigned char *fast;    /* a member decoded whole; [fast_pos, fast_len) unread */
    size_t fast_pos, fast_len;
    bool eof;               /* fd returned 0 */
    bool in_gzip;           /* inside a gzip member */
    bool z_ready;
    z_stream z;
    bool failed;            /* err is set; reported at the next read */
    char err[160];
    bool started;           /* the first read chose the thread or not */
    struct ahead *ahead;    /* the decoding thread, for gzip input */
};

bsrc *bs_open(const char *path)
{
    bsrc *bs = xcalloc(1, sizeof *bs);
    if (strcmp(path, "-") == 0) {
        bs->fd = 0;
        bs->name = xstrdup("stdin");
        pipe_grow(0);
    } else {
        bs->fd = open(path, O_RDONLY);
        if (bs->fd < 0)
            die_errno("%s", path);
        bs->name = xstrdup(path);
    }
    bs->in_cap = IN_CHUNK;
    bs->in = xmalloc(bs->in_cap);
    return bs;
}

const char *bs_name(const bsrc *bs) { return bs->name; }
const char *bs_error(const bsrc *bs) { return bs->err; }

/* Read until want bytes are unread or the input ends, keeping unread
 * bytes.  Returns -1 on error. */
static int fill_to(bsrc *bs, size_t want)
{
    if (bs->in_pos > 0) {
        memmove(bs->in, bs->in + bs->in_pos, bs->in_len - bs->in_pos);
        bs->in_len -= bs->in_pos;
        bs->in_pos = 0;
    }
    if (want > bs->in_cap) {
        bs->in = xrealloc(bs->in, want);
        bs->in_cap = want;
    }
    while (!bs->eof && bs->in_len < want) {
        /* The decoding thread may be cancelled only while it waits here. */
        if (bs->ahead)
            pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
        ssize_t r = read(bs->fd, bs->in + bs->in_len, bs->in_cap - bs->in_len);
        if (bs->ahead)
            pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(bs->err, sizeof bs->err, "read error: %s", strerror(errno));
            return -1;
        }
        if (r == 0)
            bs->eof = true;
        bs->in_len += (size_t)r;
    }
    return 0;
}

/* Refill with whatever one read brings (at least one byte unless at the end). */
static int fill(bsrc *bs)
{
    return fill_to(bs, bs->in_len - bs->in_pos + 1);
}

/* Decode the member starting here whole, if it is small enough.
 * Returns 1 when done (bytes in bs->fast), 0 to use zlib, -1 on error. */
static int try_fast(bsrc *bs)
{
    if (fill_to(bs, FAST_IN) < 0)
        return -1;
    if (!bs->dc) {
        bs->dc = libdeflate_alloc_decompressor();
        bs->fast = xmalloc(FAST_OUT);
        if (!bs->dc)
            die("out of memory starting gzip decoding");
    }
    size_t used_in = 0, used_out = 0;
    enum libdeflate_result rc = libdeflate_gzip_decompress_ex(
        bs->dc, bs->in + bs->in_pos, bs->in_len - bs->in_pos, bs->fast, FAST_OUT, &used_in,
        &used_out);
    if (rc != LIBDEFLATE_SUCCESS)
        return 0;
    bs->in_pos += used_in;
    bs->fast_pos = 0;
    bs->fast_len = used_out;
    return 1;
}

/* At a member boundary: does a gzip member start here? */
static int starts_gzip(bsrc *bs)
{
    if (bs->in_len - bs->in_pos < 2 && fill(bs) < 0)
        return -1;
    return bs->in_len - bs->in_pos >= 2 && bs->in[bs->in_pos] == 0x1f &&
           bs->in[bs->in_pos + 1] == 0x8b;
}

static int begin_member(bsrc *bs)
{
    int rc = bs->z_ready ? inflateReset(&bs->z)
                         : inflateInit2(&bs->z, 16 + MAX_WBITS);
    if (rc != Z_OK) {
        snprintf(bs->err, sizeof bs->err, "cannot start gzip decoding (zlib error %d)", rc);
        return -1;
    }
    bs->z_ready = true;
    bs->in_gzip = true;
    return 0;
}

static long read_gzip(bsrc *bs, unsigned char *out, size_t n)
{
    bs->z.next_out = out;
    bs->z.avail_out = (uInt)n;
    while (bs->z.avail_out > 0) {
        if (bs->in_pos == bs->in_len) {
            if (fill(bs) < 0)
                return -1;
            if (bs->in_pos == bs->in_len) {
                snprintf(bs->err, sizeof bs->err, "truncated gzip stream");
                bs->failed = true;
                break;
            }
        }
        bs->z.next_in = bs->in + bs->in_pos;
        bs->z.avail_in = (uInt)(bs->in_len - bs->in_pos);
        int rc = inflate(&bs->z, Z_NO_FLUSH);
        bs->in_pos = bs->in_len - bs->z.avail_in;
        if (rc == Z_STREAM_END) {
            bs->in_gzip = false;
            break;
        }
        if (rc == Z_BUF_ERROR)
            continue;   /* needs more input: the loop refills */
        if (rc != Z_OK) {
            snprintf(bs->err, sizeof bs->err, "corrupt gzip stream: %s",
                     bs->z.msg ? bs->z.msg : "inflate failed");
            bs->failed = true;
            break;   /* hand over what was decoded; fail at the next read */
        }
    }
    size_t got = n - bs->z.avail_out;
    return got || !bs->failed ? (long)got : -1;
}

/* Decode up to n bytes: bs_read's work, on whichever thread does it. */
static long decode(bsrc *bs, unsigned char *out, size_t n)
{
    size_t got = 0;
    if (bs->failed)
        return -1;
    while (got < n) {
        if (bs->fast_pos < bs->fast_len) {
            /* The rest of a member decoded whole. */
            size_t k = bs->fast_len - bs->fast_pos;
            if (k > n - got)
                k = n - got;
            memcpy(out + got, bs->fast + bs->fast_pos, k);
            bs->fast_pos += k;
            got += k;
            continue;
        }
        if (!bs->in_gzip) {
            int g = starts_gzip(bs);
            if (g < 0)
                return got ? (long)got : -1;
            if (!g) {
                /* Plain bytes: copy what is buffered straight through. */
                if (bs->in_pos == bs->in_len)
                    break;   /* clean end */
                size_t k = bs->in_len - bs->in_pos;
                if (k > n - got)
                    k = n - got;
                memcpy(out + got, bs->in + bs->in_pos, k);
                bs->in_pos += k;
                got += k;
                break;
            }
            int f = try_fast(bs);
            if (f < 0)
                return got ? (long)got : -1;
            if (f > 0)
                continue;
            if (begin_member(bs) < 0)
                return got ? (long)got : -1;
        }
        long r = read_gzip(bs, out + got, n - got);
        if (r < 0)
            return got ? (long)got : -1;
        got += (size_t)r;
        if (bs->failed || bs->in_gzip)
            break;
    }
    return (long)got;
}

static void *ahead_main(void *arg)
{
    bsrc *bs = arg;
    struct ahead *a = bs->ahead;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    for (;;) {
        pthread_mutex_lock(&a->mu);
        while (!a->stop && a->filled - a->taken == AHEAD_SLOTS)
            pthread_cond_wait(&a->cv, &a->mu);
        bool stop = a->stop;
        pthread_mutex_unlock(&a->mu);
        if (stop)
            return NULL;
        int s = (int)(a->filled % AHEAD_SLOTS);
        long r = decode(bs, a->buf[s], AHEAD_BLOCK);
        pthread_mutex_lock(&a->mu);
        a->len[s] = r;
        a->filled++;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
        if (r <= 0)
            return NULL;   /* the end or an error: both stay in the last slot */
    }
}

/* Start decoding ahead; without a thread, bs_read decodes in place. */
static void ahead_start(bsrc *bs)
{
    struct ahead *a = xcalloc(1, sizeof *a);
    for (int i = 0; i < AHEAD_SLOTS; i++)
        a->buf[i] = xmalloc(AHEAD_BLOCK);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    bs->ahead = a;
    if (pthread_create(&a->thread, NULL, ahead_main, bs) == 0)
        return;
    bs->ahead = NULL;
    for (int i = 0; i < AHEAD_SLOTS; i++)
        free(a->buf[i]);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

static void ahead_stop(struct ahead *a)
{
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_cancel(a->thread);   /* it may be blocked reading an idle pipe */
    pthread_join(a->thread, NULL);
    for (int i = 0; i < AHEAD_SLOTS; i++)
        free(a->buf[i]);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

/* Copy from the oldest filled slot (one slot per call: callers loop). */
static long ahead_read(struct ahead *a, unsigned char *out, size_t n)
{
    pthread_mutex_lock(&a->mu);
    while (a->filled == a->taken)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    int s = (int)(a->taken % AHEAD_SLOTS);
    if (a->len[s] <= 0)
        return a->len[s];   /* kept, so later reads say the same */
    size_t k = (size_t)a->len[s] - a->pos;
    if (k > n)
        k = n;
    memcpy(out, a->buf[s] + a->pos, k);
    a->pos += k;
    if (a->pos == (size_t)a->len[s]) {
        a->pos = 0;
        pthread_mutex_lock(&a->mu);
        a->taken++;
        pthread_cond_broadcast(&a->cv);
        pthread_mutex_unlock(&a->mu);
    }
    return (long)k;
}

long bs_read(bsrc *bs, void *buf, size_t n)
{
    if (n > (1u << 30))
        n = 1u << 30;
    if (!bs->started) {
        bs->started = true;
        int g = starts_gzip(bs);
        if (g < 0) {
            bs->failed = true;
            return -1;
        }
        if (g)
            ahead_start(bs);
    }
    if (bs->ahead)
        return ahead_read(bs->ahead, buf, n);
    return decode(bs, buf, n);
}

void bs_free(bsrc *bs)
{
    if (!bs)
        return;
    if (bs->ahead)
        ahead_stop(bs->ahead);
    if (bs->z_ready)
        inflateEnd(&bs->z);
    libdeflate_free_decompressor(bs->dc);
    free(bs->fast);
    if (bs->fd > 0)
        close(bs->fd);
    free(bs->in);
    free(bs->name);
    free(bs);
}
