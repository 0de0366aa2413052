/* cf_content: items described by attribute fields, as unit vectors.
 *
 * Each attribute spec is "name" (categorical: a string, integer or boolean
 * is one level, an array of them is a set of tags), "name:band" (a number,
 * cut into o->bands quantile bands over the items), "name:text" (free text:
 * lowercase words of letters and digits, the o->max_terms most frequent
 * kept) or "name:vector" (an array of numbers used as it is, scaled to unit
 * length).  One-hot features are weighted by their smoothed inverse
 * document frequency, idf = ln((1 + N) / (1 + df)) + 1, N items with
 * attributes; an item's vector is then scaled to unit length, so a dot
 * product is a cosine.  A user's profile is the interaction-weighted sum
 * of its items' vectors; its content score for an item is the cosine.
 *
 * Memory: the attribute values as read (12 bytes a tag or word), then the
 * dense matrix C, 4 d bytes per item for d features. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "cli.h"
#include "diag.h"
#include "rec.h"
#include "xalloc.h"

const char *const cf_attr_type_names[] = {"", "band", "text", "vector"};

struct cf_attr *cf_attrs_parse(const char *spec, int *n)
{
    int cnt;
    char **parts = cli_list(spec, &cnt);
    struct cf_attr *a = xcalloc((size_t)cnt + 1, sizeof *a);
    for (int i = 0; i < cnt; i++) {
        char *colon = strchr(parts[i], ':');
        enum cf_attr_type t = CF_ATTR_CAT;
        if (colon) {
            *colon = '\0';
            int found = -1;
            for (int k = 1; k < 4; k++)
                if (strcmp(colon + 1, cf_attr_type_names[k]) == 0)
                    found = k;
            if (found < 0)
                die_usage("--attributes: \"%s:%s\": the type must be band, text or vector",
                          parts[i], colon + 1);
            t = (enum cf_attr_type)found;
        }
        if (!parts[i][0])
            die_usage("--attributes: an empty field name in \"%s\"", spec);
        for (int k = 0; k < i; k++)
            if (strcmp(a[k].name, parts[i]) == 0)
                die_usage("--attributes: \"%s\" is given twice", parts[i]);
        a[i].name = xstrdup(parts[i]);
        a[i].type = t;
    }
    free(parts);
    *n = cnt;
    return a;
}

void cf_attrs_free(struct cf_attr *a, int n)
{
    if (!a)
        return;
    for (int i = 0; i < n; i++)
        free(a[i].name);
    free(a);
}

/* ---- reading ------------------------------------------------------------------ */

struct cf_content_src {
    const struct cf_attr *attrs;
    int nattrs;
    struct strmap terms;        /* "name=level" and "name:word" */
    uint32_t *term_attr;        /* [terms] the attribute of a term */
    uint64_t *df;               /* [terms] items having it */
    size_t capterm;
    /* one-hot entries: (item, term) */
    uint32_t *ei, *et;
    size_t ne, cape;
    /* band values: (attr, item, value) */
    uint32_t *ba, *bi;
    double *bv;
    size_t nb, capb;
    /* vector attributes: width per attr, values (attr, item, offset) */
    int *width;                 /* [nattrs] 0 until the first value */
    uint32_t *va, *vi;
    size_t *voff;
    float *vals;
    size_t nv, capv, nvals, capvals;
    uint8_t *have;              /* [items] has a record */
    size_t caphave;
    size_t nitems_with;
    /* per-item distinct terms: the last item a term was counted for */
    uint32_t *last_item;
};

static uint32_t add_term(struct cf_content_src *s, int attr, const char *txt, size_t n,
                         uint32_t item)
{
    uint32_t t = sm_intern(&s->terms, txt, n);
    if (t >= s->capterm) {
        size_t cap = s->capterm;
        XGROW(s->term_attr, cap, (size_t)t + 1);
        s->df = xreallocarray(s->df, cap, sizeof *s->df);
        s->last_item = xreallocarray(s->last_item, cap, sizeof *s->last_item);
        for (size_t k = s->capterm; k < cap; k++) {
            s->df[k] = 0;
            s->last_item[k] = UINT32_MAX;
        }
        s->capterm = cap;
    }
    s->term_attr[t] = (uint32_t)attr;
    if (s->last_item[t] != item) {
        s->last_item[t] = item;
        s->df[t]++;
        if (s->ne == s->cape) {
            size_t cap = s->cape;
            XGROW(s->ei, cap, s->ne + 1);
            s->et = xreallocarray(s->et, cap, sizeof *s->et);
            s->cape = cap;
        }
        s->ei[s->ne] = item;
        s->et[s->ne] = t;
        s->ne++;
    }
    return t;
}

/* A scalar as a level's text into buf; false for a type that is not one. */
static bool level_text(const msgpack_object *o, char *buf, size_t cap, const char **p, size_t *n)
{
    switch (o->type) {
    case MSGPACK_OBJECT_STR: *p = o->via.str.ptr; *n = o->via.str.size; return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *n = (size_t)snprintf(buf, cap, "%llu", (unsigned long long)o->via.u64);
        *p = buf;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *n = (size_t)snprintf(buf, cap, "%lld", (long long)o->via.i64);
        *p = buf;
        return true;
    case MSGPACK_OBJECT_BOOLEAN:
        *p = o->via.boolean ? "true" : "false";
        *n = strlen(*p);
        return true;
    default: return false;
    }
}

static void add_level(struct cf_content_src *s, rs *r, int a, const msgpack_object *o,
                      uint32_t item, long element)
{
    char num[32];
    const char *p;
    size_t n;
    if (!level_text(o, num, sizeof num, &p, &n)) {
        if (element < 0)
            rs_die(r, "field \"%s\": expected a string, an integer, a boolean or an array of "
                   "them, got %s", s->attrs[a].name, mp_type_name(o));
        rs_die(r, "field \"%s\": element %ld: expected a string, an integer or a boolean, got %s",
               s->attrs[a].name, element, mp_type_name(o));
    }
    size_t nl = strlen(s->attrs[a].name);
    char *txt = xmalloc(nl + 1 + n);
    memcpy(txt, s->attrs[a].name, nl);
    txt[nl] = '=';
    memcpy(txt + nl + 1, p, n);
    add_term(s, a, txt, nl + 1 + n, item);
    free(txt);
}

static void add_words(struct cf_content_src *s, rs *r, int a, const msgpack_object *o,
                      uint32_t item)
{
    if (o->type != MSGPACK_OBJECT_STR)
        rs_die(r, "field \"%s\": expected text (a string), got %s", s->attrs[a].name,
               mp_type_name(o));
    const char *p = o->via.str.ptr, *end = p + o->via.str.size;
    size_t nl = strlen(s->attrs[a].name);
    char *w = xmalloc(nl + 1 + o->via.str.size + 1);
    memcpy(w, s->attrs[a].name, nl);
    w[nl] = ':';
    while (p < end) {
        while (p < end && !isalnum((unsigned char)*p) && !((unsigned char)*p & 0x80))
            p++;
        size_t n = nl + 1;
        while (p < end && (isalnum((unsigned char)*p) || ((unsigned char)*p & 0x80)))
            w[n++] = (char)tolower((unsigned char)*p++);
        if (n > nl + 1)
            add_term(s, a, w, n, item);
    }
    free(w);
}

static double number_of(rs *r, const char *name, const msgpack_object *o, long element)
{
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    default:
        if (element < 0)
            rs_die(r, "field \"%s\": expected a number, got %s", name, mp_type_name(o));
        rs_die(r, "field \"%s\": element %ld: expected a number, got %s", name, element,
               mp_type_name(o));
    }
    if (!isfinite(v))
        rs_die(r, "field \"%s\": not a finite number", name);
    return v;
}

static void add_band(struct cf_content_src *s, rs *r, int a, const msgpack_object *o,
                     uint32_t item)
{
    double v = number_of(r, s->attrs[a].name, o, -1);
    if (s->nb == s->capb) {
        size_t cap = s->capb;
        XGROW(s->ba, cap, s->nb + 1);
        s->bi = xreallocarray(s->bi, cap, sizeof *s->bi);
        s->bv = xreallocarray(s->bv, cap, sizeof *s->bv);
        s->capb = cap;
    }
    s->ba[s->nb] = (uint32_t)a;
    s->bi[s->nb] = item;
    s->bv[s->nb] = v;
    s->nb++;
}

static void add_vector(struct cf_content_src *s, rs *r, int a, const msgpack_object *o,
                       uint32_t item)
{
    const char *name = s->attrs[a].name;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        rs_die(r, "field \"%s\": expected an array of numbers, got %s", name, mp_type_name(o));
    uint32_t w = o->via.array.size;
    if (w == 0 || w > 100000)
        rs_die(r, "field \"%s\": expected 1 to 100000 numbers, got %u", name, w);
    if (s->width[a] == 0)
        s->width[a] = (int)w;
    else if ((uint32_t)s->width[a] != w)
        rs_die(r, "field \"%s\": expected %d numbers (as in the first item), got %u", name,
               s->width[a], w);
    if (s->nv == s->capv) {
        size_t cap = s->capv;
        XGROW(s->va, cap, s->nv + 1);
        s->vi = xreallocarray(s->vi, cap, sizeof *s->vi);
        s->voff = xreallocarray(s->voff, cap, sizeof *s->voff);
        s->capv = cap;
    }
    XGROW(s->vals, s->capvals, s->nvals + w);
    s->va[s->nv] = (uint32_t)a;
    s->vi[s->nv] = item;
    s->voff[s->nv] = s->nvals;
    s->nv++;
    for (uint32_t k = 0; k < w; k++)
        s->vals[s->nvals++] = (float)number_of(r, name, &o->via.array.ptr[k], (long)k);
}

struct cf_content_src *cf_content_read(rs *r, const char *item_field, const struct cf_attr *attrs,
                                       int nattrs, struct cf_ids *items)
{
    struct cf_content_src *s = xcalloc(1, sizeof *s);
    s->attrs = attrs;
    s->nattrs = nattrs;
    sm_init(&s->terms);
    s->width = xcalloc((size_t)nattrs + 1, sizeof *s->width);
    while (rs_next(r)) {
        const msgpack_object *io = rec_field(r, item_field);
        if (!io)
            rs_die(r, "field \"%s\": missing (the item id)", item_field);
        uint32_t item = cf_ids_intern(items, r, item_field, io);
        if (item >= s->caphave) {
            size_t old = s->caphave;
            XGROW(s->have, s->caphave, (size_t)item + 1);
            memset(s->have + old, 0, s->caphave - old);
        }
        if (s->have[item])
            rs_die(r, "item \"%.*s\" has a second attribute record",
                   (int)sm_len(&items->map, item), sm_key(&items->map, item));
        s->have[item] = 1;
        s->nitems_with++;
        for (int a = 0; a < nattrs; a++) {
            const msgpack_object *o = rec_field(r, attrs[a].name);
            if (!o)
                continue;       /* missing: no feature from this attribute */
            switch (attrs[a].type) {
            case CF_ATTR_CAT:
                if (o->type == MSGPACK_OBJECT_ARRAY)
                    for (uint32_t k = 0; k < o->via.array.size; k++)
                        add_level(s, r, a, &o->via.array.ptr[k], item, (long)k);
                else
                    add_level(s, r, a, o, item, -1);
                break;
            case CF_ATTR_TEXT: add_words(s, r, a, o, item); break;
            case CF_ATTR_BAND: add_band(s, r, a, o, item); break;
            case CF_ATTR_VECTOR: add_vector(s, r, a, o, item); break;
            }
        }
    }
    if (s->nitems_with == 0)
        die("%s: the item attributes stream has no records", rs_file(r));
    return s;
}

void cf_content_src_free(struct cf_content_src *s)
{
    if (!s)
        return;
    sm_release(&s->terms);
    free(s->term_attr);
    free(s->df);
    free(s->last_item);
    free(s->ei);
    free(s->et);
    free(s->ba);
    free(s->bi);
    free(s->bv);
    free(s->width);
    free(s->va);
    free(s->vi);
    free(s->voff);
    free(s->vals);
    free(s->have);
    free(s);
}

/* ---- building the vectors -------------------------------------------------------- */

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Text terms of one attribute beyond the max_terms most frequent are
 * dropped: keep[t] = 0.  Ties by first sight. */
struct term_rank {
    uint64_t df;
    size_t t;
};

static int cmp_rank(const void *a, const void *b)
{
    const struct term_rank *x = a, *y = b;
    if (x->df != y->df)
        return x->df > y->df ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

static void choose_terms(const struct cf_content_src *s, uint8_t *keep, int max_terms)
{
    size_t nterms = sm_count(&s->terms);
    for (size_t t = 0; t < nterms; t++)
        keep[t] = 1;
    struct term_rank *rk = xcalloc(nterms + 1, sizeof *rk);
    for (int a = 0; a < s->nattrs; a++) {
        if (s->attrs[a].type != CF_ATTR_TEXT)
            continue;
        size_t n = 0;
        for (size_t t = 0; t < nterms; t++)
            if (s->term_attr[t] == (uint32_t)a)
                rk[n++] = (struct term_rank){s->df[t], t};
        if (n <= (size_t)max_terms)
            continue;
        qsort(rk, n, sizeof *rk, cmp_rank);
        for (size_t k = (size_t)max_terms; k < n; k++)
            keep[rk[k].t] = 0;
    }
    free(rk);
}

void cf_content_build(struct cf_model *m, struct cf_content_src *s, uint32_t nitems,
                      const struct cf_opts *o)
{
    size_t nterms = sm_count(&s->terms);
    uint8_t *keep = xcalloc(nterms + 1, 1);
    choose_terms(s, keep, o->max_terms);
    /* Columns: kept terms, then bands per band attribute, then vectors. */
    size_t *col = xcalloc(nterms + 1, sizeof *col);
    size_t d = 0;
    for (size_t t = 0; t < nterms; t++)
        col[t] = keep[t] ? d++ : SIZE_MAX;
    size_t *first = xcalloc((size_t)s->nattrs + 1, sizeof *first);
    for (int a = 0; a < s->nattrs; a++) {
        first[a] = d;
        if (s->attrs[a].type == CF_ATTR_BAND)
            d += (size_t)o->bands;
        else if (s->attrs[a].type == CF_ATTR_VECTOR)
            d += (size_t)s->width[a];
    }
    if (d == 0)
        die("content: the item attributes give no features");
    if ((double)d * nitems > 1e9)
        die("content: %zu features x %u items is too large for the dense item matrix "
            "(lower --max-terms)", d, nitems);
    m->d = (int)d;
    m->C = xcalloc((size_t)nitems * d, sizeof *m->C);
    m->feat = xcalloc(d, sizeof *m->feat);
    double N = (double)s->nitems_with;
    for (size_t t = 0; t < nterms; t++)
        if (keep[t])
            m->feat[col[t]] = xstrndup(sm_key(&s->terms, (uint32_t)t), sm_len(&s->terms, (uint32_t)t));
    for (size_t e = 0; e < s->ne; e++) {
        uint32_t t = s->et[e];
        if (keep[t])
            m->C[(size_t)s->ei[e] * d + col[t]] = (float)(log((1 + N) / (1 + (double)s->df[t])) + 1);
    }
    /* Bands: edges at the quantiles k / bands of the attribute's values. */
    for (int a = 0; a < s->nattrs; a++) {
        if (s->attrs[a].type != CF_ATTR_BAND)
            continue;
        size_t n = 0;
        for (size_t e = 0; e < s->nb; e++)
            n += s->ba[e] == (uint32_t)a;
        double *v = xmalloc((n + 1) * sizeof *v);
        size_t k = 0;
        for (size_t e = 0; e < s->nb; e++)
            if (s->ba[e] == (uint32_t)a)
                v[k++] = s->bv[e];
        qsort(v, n, sizeof *v, cmp_f64);
        int nb = o->bands;
        double *edge = xmalloc((size_t)nb * sizeof *edge);
        for (int b = 1; b < nb; b++)
            edge[b] = n ? v[(size_t)((double)b * n / nb)] : 0;
        uint64_t *df = xcalloc((size_t)nb, sizeof *df);
        uint8_t *band = xmalloc(s->nb + 1);
        for (size_t e = 0; e < s->nb; e++) {
            if (s->ba[e] != (uint32_t)a)
                continue;
            int b = 0;
            while (b + 1 < nb && s->bv[e] >= edge[b + 1])
                b++;
            band[e] = (uint8_t)b;
            df[b]++;
        }
        for (size_t e = 0; e < s->nb; e++)
            if (s->ba[e] == (uint32_t)a)
                m->C[(size_t)s->bi[e] * d + first[a] + band[e]] =
                    (float)(log((1 + N) / (1 + (double)df[band[e]])) + 1);
        for (int b = 0; b < nb; b++) {
            char name[512];
            if (b == 0)
                snprintf(name, sizeof name, "%s<%g", s->attrs[a].name, nb > 1 ? edge[1] : INFINITY);
            else if (b == nb - 1)
                snprintf(name, sizeof name, "%s>=%g", s->attrs[a].name, edge[b]);
            else
                snprintf(name, sizeof name, "%s=[%g,%g)", s->attrs[a].name, edge[b], edge[b + 1]);
            m->feat[first[a] + b] = xstrdup(name);
        }
        free(band);
        free(df);
        free(edge);
        free(v);
    }
    /* Vectors: each scaled to unit length within its block. */
    for (int a = 0; a < s->nattrs; a++) {
        if (s->attrs[a].type != CF_ATTR_VECTOR)
            continue;
        for (int k = 0; k < s->width[a]; k++) {
            char name[512];
            snprintf(name, sizeof name, "%s[%d]", s->attrs[a].name, k);
            m->feat[first[a] + k] = xstrdup(name);
        }
    }
    for (size_t e = 0; e < s->nv; e++) {
        int a = (int)s->va[e], w = s->width[a];
        const float *x = s->vals + s->voff[e];
        double n2 = 0;
        for (int k = 0; k < w; k++)
            n2 += (double)x[k] * x[k];
        if (n2 == 0)
            continue;
        double sc = 1 / sqrt(n2);
        for (int k = 0; k < w; k++)
            m->C[(size_t)s->vi[e] * d + first[a] + k] = (float)(x[k] * sc);
    }
    /* Every item row to unit length. */
    for (size_t i = 0; i < nitems; i++) {
        float *c = m->C + i * d;
        double n2 = 0;
        for (size_t k = 0; k < d; k++)
            n2 += (double)c[k] * c[k];
        if (n2 > 0) {
            float sc = (float)(1 / sqrt(n2));
            for (size_t k = 0; k < d; k++)
                c[k] *= sc;
        }
    }
    free(first);
    free(col);
    free(keep);
}
