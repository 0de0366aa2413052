/* The record stream writer: packer -> buffer -> gzip -> atomic output. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "diag.h"
#include "outfile.h"
#include "stream.h"
#include "xalloc.h"

#define FLUSH_AT (128 * 1024)

struct opt { char *key; int type; char *s; int64_t i; double f; };
enum { OPT_STR, OPT_INT, OPT_F64, OPT_BOOL };

struct ws {
    ofile *of;
    int level;
    msgpack_packer pk;
    char *buf;               /* packed bytes not yet compressed */
    size_t len, cap;
    z_stream z;
    unsigned char *zout;
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

static void write_out(ws *w, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, of_fp(w->of)) != n)
        die_errno("%s: write error", of_name(w->of));
}

/* Compress (or copy) the buffered bytes; finish the gzip member at the end. */
static void flush_buf(ws *w, bool finish)
{
    if (w->level == 0) {
        write_out(w, w->buf, w->len);
        w->len = 0;
        return;
    }
    w->z.next_in = (unsigned char *)w->buf;
    w->z.avail_in = (uInt)w->len;
    int flush = finish ? Z_FINISH : Z_NO_FLUSH;
    for (;;) {
        w->z.next_out = w->zout;
        w->z.avail_out = FLUSH_AT;
        int rc = deflate(&w->z, flush);
        if (rc == Z_STREAM_ERROR)
            die("%s: gzip compression failed", of_name(w->of));
        write_out(w, w->zout, FLUSH_AT - w->z.avail_out);
        if (finish ? rc == Z_STREAM_END : w->z.avail_in == 0 && w->z.avail_out != 0)
            break;
    }
    w->len = 0;
}

ws *ws_open(const char *path, int level)
{
    if (level < 0 || level > 9)
        die_usage("--level: expected 0 to 9, got %d", level);
    ws *w = xcalloc(1, sizeof *w);
    w->of = of_open(path);
    of_refuse_tty(w->of);
    w->level = level;
    w->cap = FLUSH_AT * 2;
    w->buf = xmalloc(w->cap);
    if (level > 0) {
        /* windowBits 16+15: a gzip wrapper with mtime 0, so output is
         * byte-identical across runs. */
        if (deflateInit2(&w->z, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            die("cannot start gzip compression");
        w->zout = xmalloc(FLUSH_AT);
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
    if (w->len >= FLUSH_AT)
        flush_buf(w, false);
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
    flush_buf(w, true);
    if (w->level > 0)
        deflateEnd(&w->z);
    of_commit(w->of);
    for (size_t i = 0; i < w->nopts; i++) {
        free(w->opts[i].key);
        free(w->opts[i].s);
    }
    free(w->opts);
    free(w->zout);
    free(w->buf);
    free(w);
}
