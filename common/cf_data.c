/* cf_data: user and item ids, and the interactions as compressed sparse
 * rows and columns.
 *
 * Records are read into triplets (user, item, value: 12 bytes each), then
 * cf_data_build sorts them into rows by a counting sort, merges repeats of
 * a pair, frees the triplets and derives the columns from the rows.  Peak
 * memory is 20 bytes per record while the rows are built, then 16 bytes per
 * distinct pair (8 in the rows, 8 in the columns) plus the offsets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "diag.h"
#include "rec.h"
#include "xalloc.h"

/* ---- ids ------------------------------------------------------------------ */

void cf_ids_init(struct cf_ids *ids)
{
    sm_init(&ids->map);
    ids->all_int = true;
}

void cf_ids_release(struct cf_ids *ids)
{
    sm_release(&ids->map);
}

/* The decimal text of v into the end of buf[cap]; returns its start.
 * (snprintf's format parsing was a tenth of reading 5 million records.) */
static char *u64_text(char *buf, size_t cap, uint64_t v, bool neg)
{
    char *p = buf + cap;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (neg)
        *--p = '-';
    return p;
}

/* The text of an id value: a string's bytes or an integer's decimal text
 * (into buf).  false for another type. */
static bool id_text(const msgpack_object *o, char *buf, size_t cap, const char **s, size_t *n,
                    bool *is_int)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        *s = o->via.str.ptr;
        *n = o->via.str.size;
        *is_int = false;
        return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *s = u64_text(buf, cap, o->via.u64, false);
        *n = (size_t)(buf + cap - *s);
        *is_int = true;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *s = u64_text(buf, cap, 0 - (uint64_t)o->via.i64, true);
        *n = (size_t)(buf + cap - *s);
        *is_int = true;
        return true;
    default:
        return false;
    }
}

uint32_t cf_ids_intern(struct cf_ids *ids, rs *r, const char *field, const msgpack_object *o)
{
    char buf[32];
    const char *s;
    size_t n;
    bool is_int;
    if (!id_text(o, buf, sizeof buf, &s, &n, &is_int))
        rs_die(r, "field \"%s\": expected a string or an integer id, got %s", field,
               mp_type_name(o));
    if (!is_int)
        ids->all_int = false;
    return sm_intern(&ids->map, s, n);
}

int64_t cf_ids_find(const struct cf_ids *ids, const msgpack_object *o)
{
    char buf[32];
    const char *s;
    size_t n;
    bool is_int;
    if (!id_text(o, buf, sizeof buf, &s, &n, &is_int))
        return -1;
    return sm_find(&ids->map, s, n);
}

void cf_ids_pack(const struct cf_ids *ids, msgpack_packer *pk, uint32_t i)
{
    const char *s = sm_key(&ids->map, i);
    uint32_t n = sm_len(&ids->map, i);
    if (ids->all_int) {
        char buf[32];
        CHECK(n > 0 && n < sizeof buf);
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (buf[0] == '-')
            msgpack_pack_int64(pk, strtoll(buf, NULL, 10));
        else
            msgpack_pack_uint64(pk, strtoull(buf, NULL, 10));
        return;
    }
    mp_pack_strn(pk, s, n);
}

/* ---- reading ---------------------------------------------------------------- */

void cf_data_init(struct cf_data *d)
{
    memset(d, 0, sizeof *d);
    cf_ids_init(&d->users);
    cf_ids_init(&d->items);
}

void cf_data_release(struct cf_data *d)
{
    cf_ids_release(&d->users);
    cf_ids_release(&d->items);
    free(d->rowp);
    free(d->rowi);
    free(d->rowv);
    free(d->colp);
    free(d->colu);
    free(d->colv);
    free(d->tu);
    free(d->ti);
    free(d->tv);
    memset(d, 0, sizeof *d);
}

void cf_data_push(struct cf_data *d, uint32_t u, uint32_t i, float v)
{
    if (d->nt == d->capt) {
        size_t cap = d->capt;
        XGROW(d->tu, cap, d->nt + 1);
        d->ti = xreallocarray(d->ti, cap, sizeof *d->ti);
        d->tv = xreallocarray(d->tv, cap, sizeof *d->tv);
        d->capt = cap;
    }
    d->tu[d->nt] = u;
    d->ti[d->nt] = i;
    d->tv[d->nt] = v;
    d->nt++;
}

void cf_data_add(struct cf_data *d, rs *r, const struct cf_fields *f)
{
    const msgpack_object *uo = rec_field(r, f->user), *io = rec_field(r, f->item);
    if (!uo)
        rs_die(r, "field \"%s\": missing (the user id)", f->user);
    if (!io)
        rs_die(r, "field \"%s\": missing (the item id)", f->item);
    double v = 1;
    if (f->rating) {
        v = rec_f64(r, f->rating);
        if (!isfinite(v))
            rs_die(r, "field \"%s\": not a finite number", f->rating);
    } else if (f->weight) {
        bool have = f->weight_required ? (v = rec_f64(r, f->weight), true)
                                       : rec_opt_f64(r, f->weight, &v);
        if (!have)
            v = 1;
        if (!(v > 0) || !isfinite(v))
            rs_die(r, "field \"%s\": expected a positive weight, got %g", f->weight, v);
    }
    if (fabs(v) > 1e30)
        rs_die(r, "field \"%s\": %g is out of range", f->rating ? f->rating : f->weight, v);
    if (d->nt >= (size_t)UINT32_MAX * 4)
        rs_die(r, "more than %llu interactions", (unsigned long long)UINT32_MAX * 4);
    uint32_t u = cf_ids_intern(&d->users, r, f->user, uo);
    uint32_t i = cf_ids_intern(&d->items, r, f->item, io);
    d->records++;
    cf_data_push(d, u, i, (float)v);
}

/* ---- building ---------------------------------------------------------------- */

/* Sort one row's entries by item (insertion sort for short rows). */
static void sort_row(uint32_t *idx, float *val, size_t n);

static void sort_row_heap_sift(uint32_t *idx, float *val, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && idx[l] > idx[m])
            m = l;
        if (l + 1 < n && idx[l + 1] > idx[m])
            m = l + 1;
        if (m == i)
            return;
        uint32_t t = idx[i];
        idx[i] = idx[m];
        idx[m] = t;
        float tv = val[i];
        val[i] = val[m];
        val[m] = tv;
        i = m;
    }
}

static void sort_row(uint32_t *idx, float *val, size_t n)
{
    if (n < 32) {
        for (size_t a = 1; a < n; a++) {
            uint32_t x = idx[a];
            float v = val[a];
            size_t b = a;
            for (; b > 0 && idx[b - 1] > x; b--) {
                idx[b] = idx[b - 1];
                val[b] = val[b - 1];
            }
            idx[b] = x;
            val[b] = v;
        }
        return;
    }
    /* Heap sort: stable order is not needed, repeats are merged after. */
    for (size_t i = n / 2; i-- > 0;)
        sort_row_heap_sift(idx, val, n, i);
    for (size_t end = n; end-- > 1;) {
        uint32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        float tv = val[0];
        val[0] = val[end];
        val[end] = tv;
        sort_row_heap_sift(idx, val, end, 0);
    }
}

void cf_data_build(struct cf_data *d, uint32_t nusers, uint32_t nitems, bool mean)
{
    CHECK(nusers >= cf_ids_count(&d->users) && nitems >= cf_ids_count(&d->items));
    size_t nt = d->nt;
    d->nusers = nusers;
    d->nitems = nitems;
    /* Rows by a counting sort of the triplets, in record order. */
    uint64_t *rowp = xcalloc((size_t)nusers + 1, sizeof *rowp);
    for (size_t t = 0; t < nt; t++) {
        CHECK(d->tu[t] < nusers && d->ti[t] < nitems);
        rowp[d->tu[t] + 1]++;
    }
    for (uint32_t u = 0; u < nusers; u++)
        rowp[u + 1] += rowp[u];
    uint32_t *rowi = xreallocarray(NULL, nt ? nt : 1, sizeof *rowi);
    float *rowv = xreallocarray(NULL, nt ? nt : 1, sizeof *rowv);
    uint64_t *cur = xreallocarray(NULL, (size_t)nusers + 1, sizeof *cur);
    memcpy(cur, rowp, ((size_t)nusers + 1) * sizeof *cur);
    for (size_t t = 0; t < nt; t++) {
        uint64_t at = cur[d->tu[t]]++;
        rowi[at] = d->ti[t];
        rowv[at] = d->tv[t];
    }
    free(d->tu);
    free(d->ti);
    free(d->tv);
    d->tu = d->ti = NULL;
    d->tv = NULL;
    d->nt = d->capt = 0;

    /* Sort each row, merge repeats of an item (sum, or mean), compact. */
    uint64_t w = 0, dups = 0;
    double vsum = 0, vmin = INFINITY, vmax = -INFINITY;
    for (uint32_t u = 0; u < nusers; u++) {
        uint64_t a = rowp[u], b = rowp[u + 1];
        sort_row(rowi + a, rowv + a, (size_t)(b - a));
        rowp[u] = w;
        for (uint64_t e = a; e < b;) {
            uint32_t it = rowi[e];
            double s = 0;
            uint64_t c = 0;
            for (; e < b && rowi[e] == it; e++, c++)
                s += rowv[e];
            dups += c - 1;
            float v = (float)(mean ? s / (double)c : s);
            rowi[w] = it;
            rowv[w] = v;
            w++;
            vsum += v;
            vmin = v < vmin ? v : vmin;
            vmax = v > vmax ? v : vmax;
        }
    }
    rowp[nusers] = w;
    d->nnz = w;
    d->duplicates = dups;
    d->vmin = w ? vmin : 0;
    d->vmax = w ? vmax : 0;
    d->vmean = w ? vsum / (double)w : 0;
    d->rowp = rowp;
    d->rowi = xreallocarray(rowi, w ? w : 1, sizeof *rowi);
    d->rowv = xreallocarray(rowv, w ? w : 1, sizeof *rowv);
    free(cur);

    /* Columns from the rows: users come in ascending order. */
    uint64_t *colp = xcalloc((size_t)nitems + 1, sizeof *colp);
    for (uint64_t e = 0; e < w; e++)
        colp[d->rowi[e] + 1]++;
    for (uint32_t i = 0; i < nitems; i++)
        colp[i + 1] += colp[i];
    uint32_t *colu = xreallocarray(NULL, w ? w : 1, sizeof *colu);
    float *colv = xreallocarray(NULL, w ? w : 1, sizeof *colv);
    cur = xreallocarray(NULL, (size_t)nitems + 1, sizeof *cur);
    memcpy(cur, colp, ((size_t)nitems + 1) * sizeof *cur);
    for (uint32_t u = 0; u < nusers; u++)
        for (uint64_t e = d->rowp[u]; e < d->rowp[u + 1]; e++) {
            uint64_t at = cur[d->rowi[e]]++;
            colu[at] = u;
            colv[at] = d->rowv[e];
        }
    free(cur);
    d->colp = colp;
    d->colu = colu;
    d->colv = colv;
}

size_t cf_data_bytes(const struct cf_data *d)
{
    return ((size_t)d->nusers + 1 + (size_t)d->nitems + 1) * sizeof(uint64_t) +
           (size_t)d->nnz * 2 * (sizeof(uint32_t) + sizeof(float));
}
