#include "table.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    }
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

void tbl_add(struct tbl *t, rs *r)
{
    if (t->nrows == 0 && t->ncols == 0)
        layout(t, r);
    XGROW(t->x, t->caprows, (t->nrows + 1) * t->ncols);
    double *row = t->x + t->nrows * t->ncols;
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
