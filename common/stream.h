/* stream: the record stream reader (rs_) and writer (ws_).
 *
 * A stream is a gzip stream (or plain bytes) whose payload is a sequence of
 * MessagePack objects: first a header map, then one map per record.  The
 * format is specified in docs/FORMAT.md.  The reader owns MessagePack's
 * traps: a record is unpacked into a zone that is cleared at the next
 * rs_next(), so an object from rs_rec() dies then; strings are (ptr, len). */
#ifndef PROMO_STREAM_H
#define PROMO_STREAM_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#define STREAM_FORMAT_VERSION 1
#define STREAM_MAGIC_KEY "promoloop"
#define PROMO_VERSION "0.1.0"

/* ---- reading ------------------------------------------------------------ */

typedef struct rs rs;

/* Open one or more inputs read one after another as a single stream
 * (paths "-" or none: stdin).  want_kind: the kind the caller accepts, NULL
 * for any, or a prefix ending in '/' ("model/") for a family.  Dies on a
 * missing or wrong header. */
rs *rs_open(const char *const *paths, int npaths, const char *want_kind);
/* rs_open in two steps, for a caller that traps die() (the fuzzer) and
 * must free the reader afterwards: rs_new allocates, rs_start reads. */
rs *rs_new(const char *const *paths, int npaths, const char *want_kind);
void rs_start(rs *r);
/* Advance to the next record.  false at the end of the last input. */
bool rs_next(rs *r);
/* The current record, unpacked on first use; valid until the next rs_next. */
const msgpack_object *rs_rec(rs *r);
/* The current record's bytes exactly as read. */
const char *rs_raw(const rs *r, size_t *len);
/* A caller that reads each record's bytes itself can measure them too,
 * sparing the reader its own scan: fn(p, avail, ctx) returns the length of
 * the record at p when it knows the record's shape and the record is whole
 * within avail bytes, else 0 (the reader then scans it as usual).  A length
 * it returns must be exact. */
typedef size_t rs_measure_fn(const char *p, size_t avail, void *ctx);
void rs_set_measure(rs *r, rs_measure_fn *fn, void *ctx);
/* The header of the first input (a map), and its kind. */
const msgpack_object *rs_header(const rs *r);
const char *rs_kind(const rs *r);
/* Where we are, for messages: "FILE: record N". */
const char *rs_where(rs *r);
const char *rs_file(const rs *r);
uint64_t rs_recno(const rs *r);
/* Records read so far over all inputs. */
uint64_t rs_count(const rs *r);
/* Die with "FILE: record N: MESSAGE". */
_Noreturn void rs_die(rs *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rs_free(rs *r);

/* Find an option or field in a map by key; NULL if absent. */
const msgpack_object *mp_map_get(const msgpack_object *map, const char *key);
/* A MessagePack string equals a C string. */
bool mp_str_eq(const msgpack_object *o, const char *s);
/* The program that writes a kind, for "wrong kind" messages. */
const char *stream_kind_producer(const char *kind);

/* ---- writing ------------------------------------------------------------ */

typedef struct ws ws;

#define WS_LEVEL_DEFAULT 1   /* fast: pipelines are I/O-bound on the other end */

/* Open an output: path NULL or "-" is stdout, anything else is written
 * atomically (a temporary beside it, renamed by ws_close).  level 0 writes
 * plain MessagePack, 1-9 gzip.  Refuses binary output to a terminal. */
ws *ws_open(const char *path, int level);
/* Header options, added before the first record (the header is written
 * then).  Values are copied. */
void ws_opt_str(ws *w, const char *key, const char *val);
void ws_opt_int(ws *w, const char *key, int64_t val);
void ws_opt_f64(ws *w, const char *key, double val);
void ws_opt_bool(ws *w, const char *key, bool val);
/* Write the header now: kind and producer (the calling program). */
void ws_header(ws *w, const char *kind);
/* Copy an existing header object verbatim (promo-cat re-emitting a stream). */
void ws_header_raw(ws *w, const msgpack_object *hdr);
/* The packer for the next record: pack exactly one map, then ws_end(). */
msgpack_packer *ws_pk(ws *w);
void ws_end(ws *w);
/* Append one record's packed bytes as they are. */
void ws_raw(ws *w, const char *buf, size_t len);
/* Finish: flush, close, rename into place.  Dies on any error (after which
 * the temporary file is gone and an existing output untouched). */
void ws_close(ws *w);
uint64_t ws_count(const ws *w);
/* Pack helpers for the common field shapes. */
void mp_pack_str(msgpack_packer *pk, const char *s);
void mp_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void mp_pack_f32s(msgpack_packer *pk, const float *v, size_t n);

#endif
