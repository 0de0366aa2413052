#include "rec.h"

#include <math.h>

#include "xalloc.h"

const char *mp_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "a boolean";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "an integer";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "a number";
    case MSGPACK_OBJECT_STR: return "a string";
    case MSGPACK_OBJECT_ARRAY: return "an array";
    case MSGPACK_OBJECT_MAP: return "a map";
    case MSGPACK_OBJECT_BIN: return "binary data";
    default: return "an extension value";
    }
}

const msgpack_object *rec_field(rs *r, const char *key)
{
    const msgpack_object *o = mp_map_get(rs_rec(r), key);
    return o && o->type != MSGPACK_OBJECT_NIL ? o : NULL;
}

static const msgpack_object *need(rs *r, const char *key)
{
    const msgpack_object *o = rec_field(r, key);
    if (!o)
        rs_die(r, "field \"%s\": missing", key);
    return o;
}

static bool as_f64(const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: *out = (double)o->via.u64; return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: *out = (double)o->via.i64; return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: *out = o->via.f64; return true;
    default: return false;
    }
}

static double get_f64(rs *r, const char *key, const msgpack_object *o)
{
    double v;
    if (!as_f64(o, &v))
        rs_die(r, "field \"%s\": expected a number, got %s", key, mp_type_name(o));
    return v;
}

double rec_f64(rs *r, const char *key) { return get_f64(r, key, need(r, key)); }

bool rec_opt_f64(rs *r, const char *key, double *out)
{
    const msgpack_object *o = rec_field(r, key);
    if (!o)
        return false;
    *out = get_f64(r, key, o);
    return true;
}

static int64_t get_i64(rs *r, const char *key, const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            rs_die(r, "field \"%s\": integer %llu is out of range", key,
                   (unsigned long long)o->via.u64);
        return (int64_t)o->via.u64;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    if ((o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64) &&
        o->via.f64 == floor(o->via.f64) && fabs(o->via.f64) < 9.2e18)
        return (int64_t)o->via.f64;
    rs_die(r, "field \"%s\": expected an integer, got %s", key, mp_type_name(o));
}

int64_t rec_i64(rs *r, const char *key) { return get_i64(r, key, need(r, key)); }

bool rec_opt_i64(rs *r, const char *key, int64_t *out)
{
    const msgpack_object *o = rec_field(r, key);
    if (!o)
        return false;
    *out = get_i64(r, key, o);
    return true;
}

size_t rec_str(rs *r, const char *key, const char **ptr)
{
    const msgpack_object *o = need(r, key);
    if (o->type != MSGPACK_OBJECT_STR)
        rs_die(r, "field \"%s\": expected a string, got %s", key, mp_type_name(o));
    *ptr = o->via.str.ptr;
    return o->via.str.size;
}

bool rec_opt_str(rs *r, const char *key, const char **ptr, size_t *len)
{
    const msgpack_object *o = rec_field(r, key);
    if (!o)
        return false;
    if (o->type != MSGPACK_OBJECT_STR)
        rs_die(r, "field \"%s\": expected a string, got %s", key, mp_type_name(o));
    *ptr = o->via.str.ptr;
    *len = o->via.str.size;
    return true;
}

static const msgpack_object *need_array(rs *r, const char *key)
{
    const msgpack_object *o = need(r, key);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        rs_die(r, "field \"%s\": expected an array of numbers, got %s", key, mp_type_name(o));
    return o;
}

static void copy_f32(rs *r, const char *key, const msgpack_object *a, float *out)
{
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        double v;
        if (!as_f64(&a->via.array.ptr[i], &v))
            rs_die(r, "field \"%s\": element %u: expected a number, got %s", key, i,
                   mp_type_name(&a->via.array.ptr[i]));
        out[i] = (float)v;
    }
}

void rec_f32s(rs *r, const char *key, float *out, size_t n)
{
    const msgpack_object *a = need_array(r, key);
    if (a->via.array.size != n)
        rs_die(r, "field \"%s\": expected %zu numbers, got %u", key, n, a->via.array.size);
    copy_f32(r, key, a, out);
}

void rec_obj_f32s(rs *r, const msgpack_object *o, const char *name, float *out, size_t n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n)
        rs_die(r, "field \"%s\": expected an array of %zu numbers", name, n);
    copy_f32(r, name, o, out);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            rs_die(r, "field \"%s\": element %zu: not a finite number", name, i);
}

size_t rec_f32v(rs *r, const char *key, float **out, size_t *cap)
{
    const msgpack_object *a = need_array(r, key);
    XGROW(*out, *cap, a->via.array.size);
    copy_f32(r, key, a, *out);
    return a->via.array.size;
}
