/* The record stream writer: packer -> 1 MiB chunks -> gzip members ->
 * atomic output.  Each chunk becomes one gzip member compressed by
 * libdeflate (several times faster than zlib at the same ratio) on a
 * second thread while the caller packs the next chunk.  Chunks are cut
 * at record ends once 1 MiB is reached, so the bytes depend only on the
 * records: output stays deterministic whatever the thread timing. */
#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "outfile.h"
#include "stream.h"
#include "xalloc.h"

#define CHUNK (1024 * 1024)

struct opt { char *key; int type; char *s; int64_t i; double f; };
enum { OPT_STR, OPT_INT, OPT_F64, OPT_BOOL };

/* The compressor thread's side: one chunk in flight at a time. */
struct zjob {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct libdeflate_compressor *dc;
    char *in;                /* the chunk to compress, owned while busy */
    size_t inlen;
    char *spare;             /* a free buffer to swap with the caller's */
    size_t sparecap;
    unsigned char *out;
    size_t outcap;
    bool busy, finish;
    int err;                 /* errno of a failed write, 0 if none */
};

struct ws {
    ofile *of;
    int level;
    msgpack_packer pk;
    char *buf;               /* packed bytes not yet compressed */
    size_t len, cap;
    struct zjob *z;          /* NULL at level 0 */
    struct opt *opts;
    size_t nopts, capopts;
    bool header_done;
    uint64_t count;
};

static int append(void *data, const char *p, size_t n)
{
    ws *w = data;
    if (w->len + n > w->cap) {
        size_t need = w->len + n;
        XGROW(w->buf, w->cap, need);
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

static void put_le32(unsigned char *o, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        o[i] = (unsigned char)(v >> (8 * i));
}

static bool write_all(FILE *fp, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, fp) == n;
}

/* One gzip member (RFC 1952) whose header carries, in an extra field
 * "PL", the member's whole length: a reader can then hand whole members
 * to several threads without decoding first (docs/FORMAT.md).  No time or
 * name: the same bytes every run.  Returns the length, 0 on failure. */
#define GZ_HEAD 20
#define GZ_TAIL 8
static size_t gzip_member(struct libdeflate_compressor *dc, const void *in, size_t inlen,
                          unsigned char *out, size_t cap)
{
    size_t n = libdeflate_deflate_compress(dc, in, inlen, out + GZ_HEAD, cap - GZ_HEAD - GZ_TAIL);
    if (n == 0 || GZ_HEAD + n + GZ_TAIL > UINT32_MAX)
        return 0;
    uint32_t total = (uint32_t)(GZ_HEAD + n + GZ_TAIL);
    static const unsigned char head[16] = {
        0x1f, 0x8b, 8, 4 /* FEXTRA */, 0, 0, 0, 0 /* no time */, 0, 255 /* OS unknown */,
        8, 0 /* XLEN */, 'P', 'L', 4, 0 /* the subfield's length */,
    };
    memcpy(out, head, 16);
    put_le32(out + 16, total);
    put_le32(out + GZ_HEAD + n, libdeflate_crc32(0, in, inlen));
    put_le32(out + GZ_HEAD + n + 4, (uint32_t)inlen);
    return total;
}

static void *compressor(void *arg)
{
    ws *w = arg;
    struct zjob *z = w->z;
    pthread_mutex_lock(&z->mu);
    for (;;) {
        while (!z->busy && !z->finish)
            pthread_cond_wait(&z->cv, &z->mu);
        if (!z->busy)
            break;
        pthread_mutex_unlock(&z->mu);
        size_t bound = GZ_HEAD + libdeflate_deflate_compress_bound(z->dc, z->inlen) + GZ_TAIL;
        if (bound > z->outcap) {
            free(z->out);
            z->out = malloc(bound);
            z->outcap = z->out ? bound : 0;
        }
        int err = 0;
        size_t n = z->out ? gzip_member(z->dc, z->in, z->inlen, z->out, bound) : 0;
        if (!z->out || n == 0)
            err = ENOMEM;
        else if (!write_all(of_fp(w->of), z->out, n))
            err = errno ? errno : EIO;
        pthread_mutex_lock(&z->mu);
        if (err && !z->err)
            z->err = err;
        z->busy = false;
        pthread_cond_broadcast(&z->cv);
    }
    pthread_mutex_unlock(&z->mu);
    return NULL;
}

static void check_zerr(ws *w, int err)
{
    if (err == ENOMEM)
        die("out of memory compressing %s", of_name(w->of));
    if (err) {
        errno = err;
        die_errno("%s: write error", of_name(w->of));
    }
}

/* Hand the buffered bytes to the compressor (or write them at level 0). */
static void flush_buf(ws *w)
{
    if (w->len == 0)
        return;
    if (!w->z) {
        if (!write_all(of_fp(w->of), w->buf, w->len))
            die_errno("%s: write error", of_name(w->of));
        w->len = 0;
        return;
    }
    struct zjob *z = w->z;
    pthread_mutex_lock(&z->mu);
    while (z->busy)
        pthread_cond_wait(&z->cv, &z->mu);
    int err = z->err;
    if (!err) {
        /* Swap buffers: the thread takes ours, we fill its spare. */
        char *spare = z->spare;
        size_t sparecap = z->sparecap;
        z->spare = z->in = w->buf;
        z->sparecap = w->cap;
        z->inlen = w->len;
        z->busy = true;
        w->buf = spare;
        w->cap = sparecap;
        w->len = 0;
        pthread_cond_broadcast(&z->cv);
    }
    pthread_mutex_unlock(&z->mu);
    check_zerr(w, err);
}

/* Wait for the last chunk and stop the thread. */
static void finish_z(ws *w)
{
    struct zjob *z = w->z;
    pthread_mutex_lock(&z->mu);
    z->finish = true;
    pthread_cond_broadcast(&z->cv);
    pthread_mutex_unlock(&z->mu);
    pthread_join(z->thread, NULL);
    int err = z->err;
    libdeflate_free_compressor(z->dc);
    pthread_mutex_destroy(&z->mu);
    pthread_cond_destroy(&z->cv);
    free(z->spare);
    free(z->out);
    free(z);
    w->z = NULL;
    check_zerr(w, err);
}

ws *ws_open(const char *path, int level)
{
    if (level < 0 || level > 9)
        die_usage("--level: expected 0 to 9, got %d", level);
    ws *w = xcalloc(1, sizeof *w);
    w->of = of_open(path);
    of_refuse_tty(w->of);
    w->level = level;
    w->cap = CHUNK + CHUNK / 4;
    w->buf = xmalloc(w->cap);
    if (level > 0) {
        struct zjob *z = xcalloc(1, sizeof *z);
        z->dc = libdeflate_alloc_compressor(level);
        if (!z->dc)
            die("out of memory starting gzip compression");
        z->sparecap = w->cap;
        z->spare = xmalloc(z->sparecap);
        pthread_mutex_init(&z->mu, NULL);
        pthread_cond_init(&z->cv, NULL);
        w->z = z;
        if (pthread_create(&z->thread, NULL, compressor, w) != 0)
            die("cannot start the compression thread");
    }
    msgpack_packer_init(&w->pk, w, append);
    return w;
}

static struct opt *new_opt(ws *w, const char *key, int type)
{
    CHECK(!w->header_done);
    XGROW(w->opts, w->capopts, w->nopts + 1);
    struct opt *o = &w->opts[w->nopts++];
    memset(o, 0, sizeof *o);
    o->key = xstrdup(key);
    o->type = type;
    return o;
}

void ws_opt_str(ws *w, const char *key, const char *val)
{
    new_opt(w, key, OPT_STR)->s = xstrdup(val ? val : "");
}
void ws_opt_int(ws *w, const char *key, int64_t val) { new_opt(w, key, OPT_INT)->i = val; }
void ws_opt_f64(ws *w, const char *key, double val) { new_opt(w, key, OPT_F64)->f = val; }
void ws_opt_bool(ws *w, const char *key, bool val) { new_opt(w, key, OPT_BOOL)->i = val; }

void mp_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void mp_pack_str(msgpack_packer *pk, const char *s) { mp_pack_strn(pk, s, strlen(s)); }

void mp_pack_f32s(msgpack_packer *pk, const float *v, size_t n)
{
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_float(pk, v[i]);
}

void ws_header(ws *w, const char *kind)
{
    CHECK(!w->header_done);
    msgpack_packer *pk = &w->pk;
    msgpack_pack_map(pk, 5);
    mp_pack_str(pk, STREAM_MAGIC_KEY);
    msgpack_pack_uint32(pk, STREAM_FORMAT_VERSION);
    mp_pack_str(pk, "kind");
    mp_pack_str(pk, kind);
    mp_pack_str(pk, "producer");
    mp_pack_str(pk, diag_prog());
    mp_pack_str(pk, "version");
    mp_pack_str(pk, PROMO_VERSION);
    mp_pack_str(pk, "options");
    msgpack_pack_map(pk, w->nopts);
    for (size_t i = 0; i < w->nopts; i++) {
        struct opt *o = &w->opts[i];
        mp_pack_str(pk, o->key);
        switch (o->type) {
        case OPT_STR: mp_pack_str(pk, o->s); break;
        case OPT_INT: msgpack_pack_int64(pk, o->i); break;
        case OPT_F64: msgpack_pack_double(pk, o->f); break;
        default: o->i ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
        }
    }
    w->header_done = true;
}

void ws_header_raw(ws *w, const msgpack_object *hdr)
{
    CHECK(!w->header_done);
    msgpack_pack_object(&w->pk, *hdr);
    w->header_done = true;
}

msgpack_packer *ws_pk(ws *w)
{
    CHECK(w->header_done);
    return &w->pk;
}

void ws_end(ws *w)
{
    w->count++;
    if (w->len >= CHUNK)
        flush_buf(w);
}

void ws_raw(ws *w, const char *p, size_t n)
{
    CHECK(w->header_done);
    append(w, p, n);
    ws_end(w);
}

uint64_t ws_count(const ws *w) { return w->count; }

void ws_close(ws *w)
{
    if (!w)
        return;
    CHECK(w->header_done);
    flush_buf(w);
    if (w->z)
        finish_z(w);
    of_commit(w->of);
    for (size_t i = 0; i < w->nopts; i++) {
        free(w->opts[i].key);
        free(w->opts[i].s);
    }
    free(w->opts);
    free(w->buf);
    free(w);
}
