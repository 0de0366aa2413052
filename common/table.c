#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpscan.h"
#include "rec.h"
#include "xalloc.h"

void tbl_init(struct tbl *t, char *const *names, size_t n)
{
    memset(t, 0, sizeof *t);
    t->fields = xcalloc(n, sizeof *t->fields);
    t->nfields = n;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        struct tbl_field *f = &t->fields[i];
        f->array = len > 2 && strcmp(names[i] + len - 2, "[]") == 0;
        f->name = xstrndup(names[i], f->array ? len - 2 : len);
        f->width = f->array ? 0 : 1;   /* an array's width comes with its first value */
        t->any_array |= f->array;
    }
    t->stamp = xcalloc(n ? n : 1, sizeof *t->stamp);
}

void tbl_release(struct tbl *t)
{
    for (size_t i = 0; i < t->nfields; i++)
        free(t->fields[i].name);
    for (size_t j = 0; j < t->ncols; j++) {
        free(t->cols[j].name);
        if (t->cols[j].type == TBL_CAT)
            sm_release(&t->cols[j].levels);
    }
    free(t->fields);
    free(t->cols);
    free(t->x);
    free(t->seen);
    free(t->stamp);
    memset(t, 0, sizeof *t);
}

long tbl_col_index(const struct tbl *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->cols[j].name, name) == 0)
            return (long)j;
    return -1;
}

static void add_col(struct tbl *t, const char *name)
{
    t->cols = xreallocarray(t->cols, t->ncols + 1, sizeof *t->cols);
    struct tbl_col *c = &t->cols[t->ncols++];
    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
}

/* Columns are laid out on the first row, when array widths are known. */
static void layout(struct tbl *t, rs *r)
{
    for (size_t i = 0; i < t->nfields; i++) {
        struct tbl_field *f = &t->fields[i];
        f->first = t->ncols;
        if (!f->array) {
            add_col(t, f->name);
            continue;
        }
        const msgpack_object *a = rec_field(r, f->name);
        if (!a || a->type != MSGPACK_OBJECT_ARRAY)
            rs_die(r, "field \"%s\": expected an array of numbers, got %s", f->name,
                   a ? mp_type_name(a) : "nothing");
        f->width = a->via.array.size;
        char name[256];
        for (size_t k = 0; k < f->width; k++) {
            snprintf(name, sizeof name, "%s[%zu]", f->name, k);
            add_col(t, name);
        }
    }
}

static double value_of(struct tbl *t, rs *r, size_t j, const msgpack_object *o)
{
    struct tbl_col *c = &t->cols[j];
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return NAN;
    bool num = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
               o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
               o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64 ||
               o->type == MSGPACK_OBJECT_BOOLEAN;
    if (!num && o->type != MSGPACK_OBJECT_STR)
        rs_die(r, "field \"%s\": expected a number or a string, got %s", c->name, mp_type_name(o));
    if (c->type == TBL_UNSET) {
        c->type = num ? TBL_NUM : TBL_CAT;
        if (!num)
            sm_init(&c->levels);
    }
    if (num != (c->type == TBL_NUM))
        rs_die(r, "field \"%s\": expected %s (as in the first record that has it), got %s",
               c->name, c->type == TBL_NUM ? "a number" : "a string", mp_type_name(o));
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)o->via.i64;
    case MSGPACK_OBJECT_BOOLEAN: return o->via.boolean;
    case MSGPACK_OBJECT_STR: return sm_intern(&c->levels, o->via.str.ptr, o->via.str.size);
    default: return o->via.f64;
    }
}

/* The field's value in the record, trying its last position first. */
static const msgpack_object *find(struct tbl_field *f, const msgpack_object *rec)
{
    const msgpack_object_kv *kv = rec->via.map.ptr;
    uint32_t n = rec->via.map.size;
    if (f->pos < n && mp_str_eq(&kv[f->pos].key, f->name))
        return &kv[f->pos].val;
    for (uint32_t i = 0; i < n; i++)
        if (mp_str_eq(&kv[i].key, f->name)) {
            f->pos = i;
            return &kv[i].val;
        }
    return NULL;
}

/* ---- the fast path: a flat record read from its bytes --------------------- */

static uint64_t be(const unsigned char *p, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | p[i];
    return v;
}

/* The requested field a key names, or -1: the cached key at this position
 * first, else a search (which updates the cache). */
static int field_at(struct tbl *t, size_t i, const char *key, size_t len)
{
    if (i >= t->nseen) {
        size_t n = i + 8;
        t->seen = xreallocarray(t->seen, n, sizeof *t->seen);
        memset(t->seen + t->nseen, 0, (n - t->nseen) * sizeof *t->seen);
        t->nseen = n;
    }
    struct tbl_seen_key *c = &t->seen[i];
    if (c->len == len && memcmp(c->key, key, len) == 0)
        return c->field;
    int f = -1;
    for (size_t j = 0; j < t->nfields && f < 0; j++)
        if (strlen(t->fields[j].name) == len && memcmp(t->fields[j].name, key, len) == 0)
            f = (int)j;
    if (len > 0 && len <= sizeof c->key) {
        memcpy(c->key, key, len);
        c->len = (uint8_t)len;
        c->field = f;
    }
    return f;
}

/* One scalar value: 1 a number in *v, 2 a string (*s, *n), 0 nil, -1
 * anything else (left to the general path).  *used: its size. */
static int scalar(const unsigned char *p, size_t avail, double *v, const char **s, size_t *n,
                  size_t *used)
{
    unsigned b = p[0];
    size_t k;
    if (b <= 0x7f) { *v = b; *used = 1; return 1; }
    if (b >= 0xe0) { *v = (int8_t)b; *used = 1; return 1; }
    if ((b & 0xe0) == 0xa0) { k = b & 0x1f; *s = (const char *)p + 1; *n = k; *used = 1 + k; return 2; }
    switch (b) {
    case 0xc0: *used = 1; return 0;
    case 0xc2: case 0xc3: *v = b == 0xc3; *used = 1; return 1;
    case 0xca: {
        uint32_t bits = (uint32_t)be(p + 1, 4);
        float f;
        memcpy(&f, &bits, 4);
        *v = f;
        *used = 5;
        return 1;
    }
    case 0xcb: {
        uint64_t bits = be(p + 1, 8);
        memcpy(v, &bits, 8);
        *used = 9;
        return 1;
    }
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        k = (size_t)1 << (b - 0xcc);
        *v = (double)be(p + 1, (int)k);
        *used = 1 + k;
        return 1;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        k = (size_t)1 << (b - 0xd0);
        uint64_t u = be(p + 1, (int)k);
        *v = (double)(k == 1 ? (int8_t)u : k == 2 ? (int16_t)u : k == 4 ? (int32_t)u : (int64_t)u);
        *used = 1 + k;
        return 1;
    }
    case 0xd9: case 0xda: case 0xdb: {
        int lb = b == 0xd9 ? 1 : b == 0xda ? 2 : 4;
        k = (size_t)be(p + 1, lb);
        *s = (const char *)p + 1 + lb;
        *n = k;
        *used = 1 + (size_t)lb + k;
        return 2;
    }
    }
    (void)avail;
    return -1;
}

/* Fill row from the record's bytes without unpacking it.  false when the
 * record is not a flat map of string keys and scalar values of the
 * columns' types: the general path then reads it (and words any error).
 * The stream reader has checked the bytes are whole MessagePack. */
static bool add_flat(struct tbl *t, rs *r, double *row)
{
    size_t len;
    const unsigned char *p = (const unsigned char *)rs_raw(r, &len);
    size_t n, pos;
    if ((p[0] & 0xf0) == 0x80)
        n = p[0] & 0x0f, pos = 1;
    else if (p[0] == 0xde)
        n = (size_t)be(p + 1, 2), pos = 3;
    else
        return false;
    uint64_t stamp = ++t->nadded;
    for (size_t i = 0; i < t->nfields; i++)
        row[t->fields[i].first] = NAN;
    for (size_t i = 0; i < n; i++) {
        const char *key;
        size_t klen;
        if ((p[pos] & 0xe0) == 0xa0) {
            klen = p[pos] & 0x1f;
            key = (const char *)p + pos + 1;
            pos += 1 + klen;
        } else if (p[pos] == 0xd9) {
            klen = p[pos + 1];
            key = (const char *)p + pos + 2;
            pos += 2 + klen;
        } else {
            return false;
        }
        int f = field_at(t, i, key, klen);
        double v = 0;
        const char *s = NULL;
        size_t sn = 0, used;
        int kind = scalar(p + pos, len - pos, &v, &s, &sn, &used);
        if (kind < 0) {
            if (f >= 0)
                return false;
            const char *why;
            if (mp_scan(p + pos, len - pos, &used, &why) != MP_OK)
                return false;
        }
        pos += used;
        if (f < 0 || t->stamp[f] == stamp)
            continue;   /* not requested, or a repeated key: the first counts */
        t->stamp[f] = stamp;
        if (kind == 0)
            continue;
        struct tbl_col *c = &t->cols[t->fields[f].first];
        if (c->type == TBL_UNSET) {
            c->type = kind == 1 ? TBL_NUM : TBL_CAT;
            if (kind == 2)
                sm_init(&c->levels);
        }
        if ((kind == 1) != (c->type == TBL_NUM))
            return false;
        row[t->fields[f].first] = kind == 1 ? v : sm_intern(&c->levels, s, sn);
    }
    return true;
}

void tbl_add(struct tbl *t, rs *r)
{
    if (t->nrows == 0 && t->ncols == 0)
        layout(t, r);
    XGROW(t->x, t->caprows, (t->nrows + 1) * t->ncols);
    double *row = t->x + t->nrows * t->ncols;
    if (!t->any_array && add_flat(t, r, row)) {
        t->nrows++;
        return;
    }
    for (size_t i = 0; i < t->nfields; i++) {
        struct tbl_field *f = &t->fields[i];
        const msgpack_object *o = find(f, rs_rec(r));
        if (o && o->type == MSGPACK_OBJECT_NIL)
            o = NULL;
        if (!f->array) {
            row[f->first] = value_of(t, r, f->first, o);
            continue;
        }
        if (!o) {
            for (size_t k = 0; k < f->width; k++)
                row[f->first + k] = NAN;
            continue;
        }
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != f->width)
            rs_die(r, "field \"%s\": expected an array of %zu numbers, got %s%s", f->name,
                   f->width, o->type == MSGPACK_OBJECT_ARRAY ? "one of another length" : "",
                   o->type == MSGPACK_OBJECT_ARRAY ? "" : mp_type_name(o));
        for (size_t k = 0; k < f->width; k++) {
            const msgpack_object *e = &o->via.array.ptr[k];
            if (e->type == MSGPACK_OBJECT_STR)
                rs_die(r, "field \"%s\": element %zu: expected a number, got a string", f->name, k);
            row[f->first + k] = value_of(t, r, f->first + k, e);
        }
    }
    t->nrows++;
}

void tbl_load(struct tbl *t, rs *r)
{
    while (rs_next(r))
        tbl_add(t, r);
}
