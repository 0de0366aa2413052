/* table: the fields a trainer needs, copied from a stream into one
 * contiguous row-major array of doubles, so several passes over the data
 * cost no parsing and little memory (8 bytes per value).
 * Numeric fields hold their value; string fields are categorical and hold
 * the level's index (levels numbered in order of first sight); missing
 * values (absent or nil) are NaN.  A field named "vec[]" takes the numeric
 * array in field "vec" and spreads it over columns vec[0], vec[1], ... */
#ifndef PROMO_TABLE_H
#define PROMO_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"
#include "strmap.h"

enum tbl_type { TBL_UNSET, TBL_NUM, TBL_CAT };

struct tbl_col {
    char *name;
    enum tbl_type type;   /* from the first non-missing value seen */
    struct strmap levels; /* categorical levels */
};

struct tbl_field {        /* one requested field: a scalar or an array */
    char *name;
    bool array;
    size_t first, width;  /* its columns */
    uint32_t pos;         /* where it was in the last record: records of a
                           * stream mostly share one key order */
};

/* What the key at one position of the last record was: records of a
 * stream mostly share one key order, so the next record's key there is
 * compared with it instead of being looked up. */
struct tbl_seen_key {
    char key[32];
    uint8_t len;          /* 0: nothing cached */
    int field;            /* index in fields, or -1 (not requested) */
};

struct tbl {
    size_t nrows, ncols, caprows;
    double *x;            /* nrows x ncols */
    struct tbl_col *cols;
    struct tbl_field *fields;
    size_t nfields;
    bool any_array;       /* arrays take the general path */
    struct tbl_seen_key *seen;
    size_t nseen;
    uint64_t *stamp;      /* per field: the record that last set it */
    uint64_t nadded;      /* records added (a caller may drop rows) */
};

/* Columns for the named fields (each "name" or "name[]"). */
void tbl_init(struct tbl *t, char *const *names, size_t n);
void tbl_release(struct tbl *t);
/* Copy the current record's fields in as a new row.  Dies (via rs_die) on
 * a type that changes from the first record's, or an array of another
 * length. */
void tbl_add(struct tbl *t, rs *r);
/* Read every record of r. */
void tbl_load(struct tbl *t, rs *r);
static inline double *tbl_row(const struct tbl *t, size_t i) { return t->x + i * t->ncols; }
/* The column index of a name, or -1. */
long tbl_col_index(const struct tbl *t, const char *name);

#endif
