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
/* A gzip input is decoded ahead of the caller, into a ring of slots, so
 * decompression (most of a reader's time at level 1) overlaps the caller's
 * parsing.  A dispatcher thread takes the input apart: a member whose
 * header gives its length (our writer's "PL" extra field) is read whole
 * into a slot and decoded by whichever of the two decoding threads (the
 * dispatcher and a helper) is free; any other input is decoded in order
 * by the dispatcher alone, a block at a time.  The caller takes slots in
 * order.  Plain input needs no thread. */
#define SLOTS 3
#define BLOCK (256 * 1024)
#define MAX_ISIZE ((size_t)64 << 20)   /* larger members take the zlib path */

enum { S_FREE, S_QUEUED, S_BUSY, S_READY };

struct slot {
    int state;
    unsigned char *in;          /* a whole member, S_QUEUED */
    size_t inlen, incap;
    unsigned char *out;
    size_t outcap;
    long len;                   /* S_READY: bytes; 0 the end; -1 an error */
    bool fail_after;            /* an error follows the bytes */
    char err[160];
};

struct ahead {
    pthread_t thread, helper;
    bool have_helper;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct slot slot[SLOTS];
    uint64_t filled, taken;     /* slots handed out by the dispatcher, taken by the reader */
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
    if (!bs->dc && !(bs->dc = libdeflate_alloc_decompressor()))
        die("out of memory starting gzip decoding");
    if (!bs->fast)
        bs->fast = xmalloc(FAST_OUT);
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

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* At a member boundary: the length of a gzip member whose header says it
 * (FEXTRA with the subfield "PL"), or 0.  The length is read whole into
 * memory, so a larger claim than our writer makes (a damaged or foreign
 * file) is not trusted: that member streams through zlib, which needs no
 * more memory for it and says what is wrong with it. */
static size_t member_length(bsrc *bs)
{
    if (fill_to(bs, 20) < 0)
        return 0;
    const unsigned char *p = bs->in + bs->in_pos;
    if (bs->in_len - bs->in_pos < 20 || p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 ||
        p[3] != 4 || p[10] != 8 || p[11] != 0 || p[12] != 'P' || p[13] != 'L' || p[14] != 4 ||
        p[15] != 0)
        return 0;
    size_t n = le32(p + 16);
    return n >= 28 && n <= MAX_ISIZE ? n : 0;
}

static void slot_room(struct slot *s, size_t n)
{
    if (n > s->outcap) {
        free(s->out);
        s->out = xmalloc(n);
        s->outcap = n;
    }
}

/* Decode a whole member with zlib: the slow path, for a member libdeflate
 * refused, which also gives zlib's precise message. */
static void zlib_member(struct slot *s)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        s->len = -1;
        snprintf(s->err, sizeof s->err, "cannot start gzip decoding");
        return;
    }
    size_t got = 0;
    z.next_in = s->in;
    z.avail_in = (uInt)s->inlen;
    int rc;
    do {
        if (got == s->outcap) {
            size_t cap = s->outcap ? 2 * s->outcap : BLOCK;
            s->out = xrealloc(s->out, cap);
            s->outcap = cap;
        }
        z.next_out = s->out + got;
        z.avail_out = (uInt)(s->outcap - got);
        rc = inflate(&z, Z_NO_FLUSH);
        got = s->outcap - z.avail_out;
    } while (rc == Z_OK);
    s->len = (long)got;
    if (rc != Z_STREAM_END) {
        if (rc == Z_BUF_ERROR)
            snprintf(s->err, sizeof s->err, "truncated gzip stream");
        else
            snprintf(s->err, sizeof s->err, "corrupt gzip stream: %s", z.msg ? z.msg : "inflate failed");
        s->fail_after = got > 0;
        if (!got)
            s->len = -1;
    }
    inflateEnd(&z);
}

/* Decode the whole member in s->in. */
static void decode_member(struct libdeflate_decompressor *dc, struct slot *s)
{
    size_t isize = le32(s->in + s->inlen - 4), got = 0;
    if (isize <= MAX_ISIZE) {
        slot_room(s, isize ? isize : 1);
        if (libdeflate_gzip_decompress(dc, s->in, s->inlen, s->out, isize, &got) ==
                LIBDEFLATE_SUCCESS &&
            got == isize) {
            s->len = (long)got;
            if (got == 0)
                s->len = -2;   /* an empty member: nothing for the reader */
            return;
        }
    }
    zlib_member(s);
}

/* Fill slot s from the input: a whole member to decode (S_QUEUED), or
 * decoded bytes, the end or an error (S_READY). */
static void dispatch(bsrc *bs, struct slot *s)
{
    s->fail_after = false;
    s->err[0] = 0;
    if (!bs->failed && !bs->in_gzip && bs->fast_pos == bs->fast_len) {
        size_t n = member_length(bs);
        if (n && fill_to(bs, n) == 0 && bs->in_len - bs->in_pos >= n) {
            if (n > s->incap) {
                free(s->in);
                s->in = xmalloc(n);
                s->incap = n;
            }
            memcpy(s->in, bs->in + bs->in_pos, n);
            s->inlen = n;
            bs->in_pos += n;
            s->state = S_QUEUED;
            return;
        }
        /* A truncated member (or a read error) takes the path below,
         * which says which. */
    }
    slot_room(s, BLOCK);
    s->len = decode(bs, s->out, BLOCK);
    if (s->len < 0)
        snprintf(s->err, sizeof s->err, "%s", bs->err);
    s->state = S_READY;
}

/* The oldest slot waiting to be decoded, or NULL.  Called locked. */
static struct slot *queued(struct ahead *a)
{
    for (uint64_t q = a->taken; q < a->filled; q++)
        if (a->slot[q % SLOTS].state == S_QUEUED)
            return &a->slot[q % SLOTS];
    return NULL;
}

/* Decode s unlocked, then mark it ready.  Called locked. */
static void work(struct ahead *a, struct libdeflate_decompressor *dc, struct slot *s)
{
    s->state = S_BUSY;
    pthread_mutex_unlock(&a->mu);
    decode_member(dc, s);
    pthread_mutex_lock(&a->mu);
    s->state = S_READY;
    pthread_cond_broadcast(&a->cv);
}

static void *helper_main(void *arg)
{
    struct ahead *a = arg;
    struct libdeflate_decompressor *dc = libdeflate_alloc_decompressor();
    if (!dc)
        die("out of memory starting gzip decoding");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        struct slot *s;
        while (!a->stop && !(s = queued(a)))
            pthread_cond_wait(&a->cv, &a->mu);
        if (a->stop)
            break;
        work(a, dc, s);
    }
    pthread_mutex_unlock(&a->mu);
    libdeflate_free_decompressor(dc);
    return NULL;
}

static void *ahead_main(void *arg)
{
    bsrc *bs = arg;
    struct ahead *a = bs->ahead;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    if (!bs->dc && !(bs->dc = libdeflate_alloc_decompressor()))
        die("out of memory starting gzip decoding");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        /* With every slot handed out, help decode; else read on. */
        struct slot *s;
        while (!a->stop && a->filled - a->taken == SLOTS) {
            if ((s = queued(a)))
                work(a, bs->dc, s);
            else
                pthread_cond_wait(&a->cv, &a->mu);
        }
        if (a->stop)
            break;
        s = &a->slot[a->filled % SLOTS];
        pthread_mutex_unlock(&a->mu);
        dispatch(bs, s);
        bool last = s->state == S_READY && s->len <= 0 && s->len != -2;
        pthread_mutex_lock(&a->mu);
        a->filled++;
        pthread_cond_broadcast(&a->cv);
        if (last)
            break;   /* the end or an error: it stays in its slot */
    }
    /* Queued members may still need decoding when the helper is gone. */
    struct slot *s;
    while (!a->stop && (s = queued(a)))
        work(a, bs->dc, s);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Start decoding ahead; without threads, bs_read decodes in place. */
static void ahead_start(bsrc *bs)
{
    struct ahead *a = xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    bs->ahead = a;
    if (pthread_create(&a->thread, NULL, ahead_main, bs) == 0) {
        a->have_helper = pthread_create(&a->helper, NULL, helper_main, a) == 0;
        return;
    }
    bs->ahead = NULL;
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
    if (a->have_helper)
        pthread_join(a->helper, NULL);
    for (int i = 0; i < SLOTS; i++) {
        free(a->slot[i].in);
        free(a->slot[i].out);
    }
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

/* Copy from the oldest slot (one slot per call: callers loop). */
static long ahead_read(bsrc *bs, unsigned char *out, size_t n)
{
    struct ahead *a = bs->ahead;
    for (;;) {
        pthread_mutex_lock(&a->mu);
        struct slot *s = &a->slot[a->taken % SLOTS];
        while (a->filled == a->taken || s->state != S_READY)
            pthread_cond_wait(&a->cv, &a->mu);
        pthread_mutex_unlock(&a->mu);
        if (s->len == -2) {
            /* An empty member: skip it. */
            pthread_mutex_lock(&a->mu);
            s->state = S_FREE;
            a->taken++;
            pthread_cond_broadcast(&a->cv);
            pthread_mutex_unlock(&a->mu);
            continue;
        }
        if (s->len <= 0) {
            if (s->len < 0)
                snprintf(bs->err, sizeof bs->err, "%s", s->err);
            return s->len;   /* kept, so later reads say the same */
        }
        size_t k = (size_t)s->len - a->pos;
        if (k > n)
            k = n;
        memcpy(out, s->out + a->pos, k);
        a->pos += k;
        if (a->pos == (size_t)s->len) {
            a->pos = 0;
            pthread_mutex_lock(&a->mu);
            if (s->fail_after) {
                s->len = -1;   /* the bytes are delivered; now the error */
            } else {
                s->state = S_FREE;
                a->taken++;
            }
            pthread_cond_broadcast(&a->cv);
            pthread_mutex_unlock(&a->mu);
        }
        return (long)k;
    }
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
        return ahead_read(bs, buf, n);
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
