/* rec: typed access to the fields of the current record of a reader.
 * Required getters die with "FILE: record N: field "x": ..." naming what
 * was expected and what was found; optional getters return false when the
 * field is absent or nil and die only on a wrong type.  Both float widths
 * and both integer signs are accepted as numbers. */
#ifndef PROMO_REC_H
#define PROMO_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* The field's value, or NULL when absent or nil. */
const msgpack_object *rec_field(rs *r, const char *key);
/* "a string", "an integer", ... for messages. */
const char *mp_type_name(const msgpack_object *o);

double rec_f64(rs *r, const char *key);
bool rec_opt_f64(rs *r, const char *key, double *out);
/* Integers; a float with an integral value is accepted. */
int64_t rec_i64(rs *r, const char *key);
bool rec_opt_i64(rs *r, const char *key, int64_t *out);
/* Strings as (ptr, len) into the record: valid until the next rs_next. */
size_t rec_str(rs *r, const char *key, const char **ptr);
bool rec_opt_str(rs *r, const char *key, const char **ptr, size_t *len);
/* A numeric array of exactly n elements into out. */
void rec_f32s(rs *r, const char *key, float *out, size_t n);
/* The same for a value already found (a nested field of a model record):
 * o must be an array of exactly n finite numbers; name is for messages. */
void rec_obj_f32s(rs *r, const msgpack_object *o, const char *name, float *out, size_t n);
/* A numeric array of any length: returns its length, elements into *out
 * (grown as needed; *cap tracks its size). */
size_t rec_f32v(rs *r, const char *key, float **out, size_t *cap);

#endif
