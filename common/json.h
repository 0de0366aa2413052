/* json: JSON text straight to MessagePack and MessagePack back to JSON.
 *
 * The reader makes two passes over one JSON text (one line of a JSON-lines
 * file) and builds no tree: the first checks everything and counts the
 * members of each object and array (MessagePack needs the counts first),
 * the second packs.  So an invalid text packs nothing, and a caller can
 * reject it and go on.  Objects become maps (key order kept), strings UTF-8
 * str, integers without fraction or exponent int64 (uint64 above its
 * range), other numbers float64.  Nesting is limited to JSON_MAX_DEPTH.
 *
 * The writer prints compact JSON that the reader reads back to the same
 * MessagePack, and for compact JSON with shortest numbers the round trip
 * json -> msgpack -> json gives the same bytes. */
#ifndef PROMO_JSON_H
#define PROMO_JSON_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* msgpack-c's unpacker (msgpack_unpack, used by the stream reader) stops at
 * MSGPACK_EMBED_STACK_SIZE (32) nested containers, so deeper JSON would
 * make records that no reader can unpack. */
#define JSON_MAX_DEPTH 32

/* Caller-owned; its buffers are reused from text to text. */
struct json {
    char err[96];              /* after false: what went wrong ... */
    size_t err_col;            /* ... and the 1-based byte column */

    uint32_t *counts;          /* member counts, in order of opening */
    size_t ncounts, capcounts, next;
    char *str;                 /* decoded string bytes */
    size_t capstr;
    const char *start, *p, *end;
    msgpack_packer *pk;        /* NULL during the checking pass */
    int depth;
};

void json_init(struct json *j);
void json_release(struct json *j);
/* Pack the JSON text s[0..n) (surrounding white space allowed) into pk.
 * object_only: the top level must be an object.  false on invalid JSON,
 * with j->err and j->err_col set and nothing packed. */
bool json_pack(struct json *j, const char *s, size_t n, bool object_only, msgpack_packer *pk);

/* Write o as compact JSON.  Maps with string keys are objects; any other key
 * is written as its JSON text in a string.  Non-finite floats are null, bin
 * (and ext data) a base64 string. */
void json_put_object(FILE *fp, const msgpack_object *o);
/* Write s[0..n) as a JSON string: escapes for '"', '\\' and control
 * characters, other bytes as they are. */
void json_put_string(FILE *fp, const char *s, size_t n);

#endif
