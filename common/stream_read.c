/* The record stream reader: bytes -> one record's extent -> lazy unpack. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsrc.h"
#include "diag.h"
#include "mpscan.h"
#include "stream.h"
#include "xalloc.h"

#define READ_CHUNK (256 * 1024)

struct rs {
    const char *const *paths;
    int npaths, cur;          /* index of the open input */
    bsrc *src;
    bool src_eof;
    bool src_failed;          /* the source failed: report when we reach it */
    char *buf;                /* decompressed bytes; [pos, len) unread */
    size_t cap, pos, len;
    const char *raw;          /* the current record */
    size_t rawlen;
    bool unpacked;
    msgpack_zone zone;        /* holds the current record; cleared per record */
    msgpack_object rec;
    msgpack_zone hzone;       /* holds the first header for the whole run */
    msgpack_object hdr;
    char *kind;
    const char *want;
    uint64_t recno;           /* record number within the current input */
    uint64_t count;           /* records over all inputs */
    bool hdr_done;            /* the current input's header was read */
    bool reading;             /* between records: errors name the next one */
    rs_measure_fn *measure;   /* the caller's measure of records, or NULL */
    void *mctx;
    char where[512];
};

static const char *stdin_only[] = {"-"};

const char *rs_file(const rs *r) { return bs_name(r->src); }

void rs_set_measure(rs *r, rs_measure_fn *fn, void *ctx)
{
    r->measure = fn;
    r->mctx = ctx;
}
uint64_t rs_recno(const rs *r) { return r->recno; }
uint64_t rs_count(const rs *r) { return r->count; }
const msgpack_object *rs_header(const rs *r) { return &r->hdr; }
const char *rs_kind(const rs *r) { return r->kind; }

const char *rs_where(rs *r)
{
    uint64_t n = r->reading ? (r->hdr_done ? r->recno + 1 : 0) : r->recno;
    if (n == 0)
        snprintf(r->where, sizeof r->where, "%s: header", rs_file(r));
    else
        snprintf(r->where, sizeof r->where, "%s: record %llu", rs_file(r),
                 (unsigned long long)n);
    return r->where;
}

void rs_die(rs *r, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die("%s: %s", rs_where(r), msg);
}

/* Read more bytes so that at least want bytes are unread, or the input ends. */
static void fill(rs *r, size_t want)
{
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (want < READ_CHUNK)
        want = READ_CHUNK;
    XGROW(r->buf, r->cap, want);
    while (!r->src_eof && r->len < want) {
        long got = bs_read(r->src, r->buf + r->len, r->cap - r->len);
        if (got < 0) {
            /* Records decoded before the failure are still delivered, so
             * the message names the record where the good data ends. */
            r->src_failed = r->src_eof = true;
            break;
        }
        if (got == 0)
            r->src_eof = true;
        r->len += (size_t)got;
    }
}

/* Take the next object's bytes into r->raw.  false at the end of input. */
static bool next_object(rs *r)
{
    r->reading = true;
    for (;;) {
        if (r->pos == r->len) {
            fill(r, 1);
            if (r->pos == r->len) {
                if (r->src_failed)
                    rs_die(r, "%s", bs_error(r->src));
                return r->reading = false;
            }
        }
        const char *why = NULL;
        size_t n = r->measure && r->hdr_done ? r->measure(r->buf + r->pos, r->len - r->pos, r->mctx) : 0;
        enum mp_scan s = n ? MP_OK
                           : mp_scan((const unsigned char *)r->buf + r->pos, r->len - r->pos, &n, &why);
        if (s == MP_OK) {
            r->raw = r->buf + r->pos;
            r->rawlen = n;
            r->pos += n;
            r->reading = false;
            return true;
        }
        if (s == MP_BAD)
            rs_die(r, "corrupt MessagePack: %s", why);
        if (r->src_failed)
            rs_die(r, "%s", bs_error(r->src));
        if (r->src_eof)
            rs_die(r, "truncated: the input ends inside a record");
        /* Double what we hold, so rescanning costs O(record size) overall. */
        fill(r, 2 * (r->len - r->pos));
    }
}

static bool raw_is_map(const char *raw)
{
    unsigned char b = (unsigned char)raw[0];
    return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf;
}

/* A header is a map whose first key is the string "promoloop". */
static bool raw_is_header(const char *raw, size_t len)
{
    unsigned char b = (unsigned char)raw[0];
    size_t k = (b >= 0x80 && b <= 0x8f) ? 1 : b == 0xde ? 3 : b == 0xdf ? 5 : 0;
    if (!k || b == 0x80)
        return false;
    const size_t m = sizeof STREAM_MAGIC_KEY - 1;
    return len > k + 1 + m && (unsigned char)raw[k] == (0xa0 | m) &&
           memcmp(raw + k + 1, STREAM_MAGIC_KEY, m) == 0;
}

static const char *type_name(unsigned char b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) return "an integer";
    if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd) return "an array";
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return "a string";
    if (b == 0xc0) return "nil";
    if (b == 0xc2 || b == 0xc3) return "a boolean";
    if (b == 0xca || b == 0xcb) return "a float";
    if (b >= 0xc4 && b <= 0xc6) return "binary data";
    return "an extension value";
}

static void unpack(rs *r, msgpack_zone *zone, msgpack_object *out)
{
    size_t off = 0;
    msgpack_unpack_return rc = msgpack_unpack(r->raw, r->rawlen, &off, zone, out);
    if (rc != MSGPACK_UNPACK_SUCCESS && rc != MSGPACK_UNPACK_EXTRA_BYTES)
        rs_die(r, rc == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory unpacking the record"
                                                   : "corrupt MessagePack");
}

static char *copy_kind(rs *r, const msgpack_object *hdr)
{
    const msgpack_object *ver = mp_map_get(hdr, STREAM_MAGIC_KEY);
    if (!ver || ver->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        rs_die(r, "field \"%s\": expected a format version number", STREAM_MAGIC_KEY);
    if (ver->via.u64 > STREAM_FORMAT_VERSION)
        rs_die(r, "stream format version %llu is newer than this program reads (%d)",
               (unsigned long long)ver->via.u64, STREAM_FORMAT_VERSION);
    const msgpack_object *k = mp_map_get(hdr, "kind");
    if (!k || k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0)
        rs_die(r, "field \"kind\": expected a non-empty string");
    return xstrndup(k->via.str.ptr, k->via.str.size);
}

static bool kind_ok(const char *want, const char *kind)
{
    if (!want)
        return true;
    size_t n = strlen(want);
    if (n && want[n - 1] == '/')
        return strncmp(kind, want, n) == 0;
    return strcmp(kind, want) == 0;
}

/* Open input i and read its header; the first input's header is kept. */
static void open_input(rs *r, int i)
{
    r->cur = i;
    bs_free(r->src);
    r->src = NULL;
    r->src = bs_open(r->paths[i]);
    r->src_eof = r->src_failed = false;
    r->pos = r->len = 0;
    r->recno = 0;
    r->hdr_done = false;
    if (!next_object(r))
        die("%s: empty input (no stream header)", rs_file(r));
    if (!raw_is_header(r->raw, r->rawlen))
        die("%s: not a promoloop stream (no header); text is read by promo-import",
            rs_file(r));
    if (i == 0) {
        unpack(r, &r->hzone, &r->hdr);
        r->kind = copy_kind(r, &r->hdr);
        if (!kind_ok(r->want, r->kind)) {
            const char *maker = stream_kind_producer(r->want);
            die("%s: expected a stream of kind \"%s\"%s%s%s, got \"%s\"", rs_file(r), r->want,
                maker ? " (made by " : "", maker ? maker : "", maker ? ")" : "", r->kind);
        }
        r->hdr_done = true;
        return;
    }
    msgpack_zone_clear(&r->zone);
    msgpack_object h;
    unpack(r, &r->zone, &h);
    char *k = copy_kind(r, &h);
    if (strcmp(k, r->kind) != 0)
        die("%s: a stream of kind \"%s\" cannot follow one of kind \"%s\" (%s)", rs_file(r),
            k, r->kind, r->paths[0]);
    free(k);
    r->hdr_done = true;
}

rs *rs_new(const char *const *paths, int npaths, const char *want_kind)
{
    rs *r = xcalloc(1, sizeof *r);
    if (npaths == 0) {
        paths = stdin_only;
        npaths = 1;
    }
    r->paths = paths;
    r->npaths = npaths;
    r->want = want_kind;
    msgpack_zone_init(&r->zone, 8192);
    msgpack_zone_init(&r->hzone, 8192);
    return r;
}

void rs_start(rs *r) { open_input(r, 0); }

rs *rs_open(const char *const *paths, int npaths, const char *want_kind)
{
    rs *r = rs_new(paths, npaths, want_kind);
    rs_start(r);
    return r;
}

bool rs_next(rs *r)
{
    for (;;) {
        if (!next_object(r)) {
            if (r->cur + 1 >= r->npaths)
                return false;
            open_input(r, r->cur + 1);
            continue;
        }
        r->recno++;
        if (!raw_is_map(r->raw))
            rs_die(r, "expected a record (a map), got %s", type_name((unsigned char)r->raw[0]));
        if (raw_is_header(r->raw, r->rawlen)) {
            /* A header from concatenated streams: fine when kinds agree. */
            msgpack_zone_clear(&r->zone);
            msgpack_object h;
            unpack(r, &r->zone, &h);
            char *k = copy_kind(r, &h);
            if (strcmp(k, r->kind) != 0)
                rs_die(r, "a header of kind \"%s\" inside a stream of kind \"%s\"", k, r->kind);
            free(k);
            r->recno--;
            continue;
        }
        r->unpacked = false;
        r->count++;
        return true;
    }
}

const msgpack_object *rs_rec(rs *r)
{
    if (!r->unpacked) {
        msgpack_zone_clear(&r->zone);
        unpack(r, &r->zone, &r->rec);
        r->unpacked = true;
    }
    return &r->rec;
}

const char *rs_raw(const rs *r, size_t *len)
{
    *len = r->rawlen;
    return r->raw;
}

void rs_free(rs *r)
{
    if (!r)
        return;
    bs_free(r->src);
    msgpack_zone_destroy(&r->zone);
    msgpack_zone_destroy(&r->hzone);
    free(r->buf);
    free(r->kind);
    free(r);
}

/* ---- small helpers shared by readers ----------------------------------- */

bool mp_str_eq(const msgpack_object *o, const char *s)
{
    size_t n = strlen(s);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *mp_map_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t n = strlen(key);
    const msgpack_object_kv *kv = map->via.map.ptr;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (kv[i].key.type == MSGPACK_OBJECT_STR && kv[i].key.via.str.size == n &&
            memcmp(kv[i].key.via.str.ptr, key, n) == 0)
            return &kv[i].val;
    return NULL;
}

const char *stream_kind_producer(const char *kind)
{
    static const struct { const char *kind, *maker; } makers[] = {
        {"events", "promo-import, promo-synth or promo-clean"},
        {"world", "promo-synth world"},
        {"truth", "promo-synth truth"},
        {"dirt", "promo-synth events --dirt-log"},
        {"users", "promo-featurize --view users"},
        {"sequences", "promo-featurize --view sequences"},
        {"interactions", "promo-featurize --view interactions"},
        {"examples", "promo-featurize --view examples"},
        {"scores", "promo-score"},
        {"plan", "promo-plan"},
        {"metrics", "promo-evaluate, or the --report, --summary or --profile of another program"},
        {"stats", "promo-featurize --fit-stats"},
        {"rejects", "the --rejects of a program"},
        {"model/cnn", "promo-train-cnn"},
        {"model/cf", "promo-train-cf"},
        {"model/kmeans", "promo-kmeans"},
        {"model/dtree", "promo-dtree"},
        {"model/", "a trainer (promo-train-cnn, promo-train-cf, promo-kmeans, promo-dtree)"},
    };
    if (!kind)
        return NULL;
    for (size_t i = 0; i < sizeof makers / sizeof *makers; i++)
        if (strcmp(makers[i].kind, kind) == 0)
            return makers[i].maker;
    return NULL;
}
