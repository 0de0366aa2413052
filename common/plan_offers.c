/* plan: the offer table, the objective and the holdout draw. */
#include "plan.h"

#include <math.h>
#include <string.h>

#include "bsrc.h"
#include "csv.h"
#include "diag.h"
#include "numfmt.h"
#include "siphash.h"

/* ---- the offer table ----------------------------------------------------- */

enum { COL_ID, COL_TYPE, COL_VALUE, COL_COST, NCOLS };
static const char *const col_names[NCOLS] = {"id", "type", "value", "cost"};

struct offer_csv {
    const char *path;
    struct csv csv;
    int idx[NCOLS];     /* column of each name */
};

static _Noreturn void offer_die(struct offer_csv *t, int col, const char *fmt, ...)
    PRINTF_LIKE(3, 4);
static void offer_die(struct offer_csv *t, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csv_vdie_row(&t->csv, t->path, col, fmt, ap);
}

static int offer_row(struct offer_csv *t)
{
    int n = csv_next(&t->csv);
    if (n < 0)
        csv_die_error(&t->csv, t->path);
    return n;
}

static const struct csv_field *offer_field(struct offer_csv *t, int k)
{
    if (t->idx[k] >= t->csv.nfields)
        offer_die(t, -1, "expected %d fields, got %d", NCOLS, t->csv.nfields);
    return &t->csv.fields[t->idx[k]];
}

static double offer_num(struct offer_csv *t, int k, double lo, double hi)
{
    const struct csv_field *f = offer_field(t, k);
    double v;
    if (!num_parse_f64(f->ptr, f->len, &v))
        offer_die(t, t->idx[k], "\"%s\": expected a number, got \"%.*s\"", col_names[k],
                  (int)(f->len > 40 ? 40 : f->len), f->ptr);
    if (!(v >= lo && v <= hi))
        offer_die(t, t->idx[k], "\"%s\": expected %g to %g, got %g", col_names[k], lo, hi, v);
    return v;
}

void plan_offers_load(struct plan_offers *out, const char *path)
{
    struct offer_csv t = {.path = path};
    bsrc *bs = bs_open(path);
    csv_init(&t.csv, bs, ',', true);
    int n = offer_row(&t);
    if (n == 0)
        die("%s: empty file (expected a header line: id,type,value,cost)", path);
    for (int k = 0; k < NCOLS; k++)
        t.idx[k] = -1;
    for (int f = 0; f < n; f++) {
        const struct csv_field *fl = &t.csv.fields[f];
        int k = 0;
        while (k < NCOLS && !(strlen(col_names[k]) == fl->len && memcmp(col_names[k], fl->ptr, fl->len) == 0))
            k++;
        if (k == NCOLS)
            offer_die(&t, f, "unknown column \"%.*s\"", (int)(fl->len > 40 ? 40 : fl->len), fl->ptr);
        if (t.idx[k] >= 0)
            offer_die(&t, f, "column \"%s\" given twice", col_names[k]);
        t.idx[k] = f;
    }
    for (int k = 0; k < NCOLS; k++)
        if (t.idx[k] < 0)
            offer_die(&t, -1, "missing column \"%s\"", col_names[k]);
    memset(out, 0, sizeof *out);
    while (offer_row(&t) > 0) {
        if (out->n == PLAN_MAX_OFFERS)
            offer_die(&t, -1, "more than %d offers", PLAN_MAX_OFFERS);
        struct plan_offer *o = &out->o[out->n];
        const struct csv_field *f = offer_field(&t, COL_ID);
        if (f->len == 0 || f->len >= PLAN_ID_MAX)
            offer_die(&t, t.idx[COL_ID], "\"id\": expected 1 to %d characters, got %zu",
                      PLAN_ID_MAX - 1, f->len);
        for (size_t i = 0; i < f->len; i++) {
            unsigned char ch = (unsigned char)f->ptr[i];
            if (ch <= ' ' || ch == ',' || ch == '"' || ch == '=' || ch >= 0x7f)
                offer_die(&t, t.idx[COL_ID], "\"id\": \"%.*s\": use letters, digits and _ . - only",
                          (int)f->len, f->ptr);
        }
        memcpy(o->id, f->ptr, f->len);
        o->id[f->len] = '\0';
        if (plan_offer_find(out, o->id, f->len) >= 0)
            offer_die(&t, t.idx[COL_ID], "offer \"%s\" given twice", o->id);
        f = offer_field(&t, COL_TYPE);
        if (f->len == 7 && memcmp(f->ptr, "percent", 7) == 0) {
            o->type = PLAN_PERCENT;
        } else if (f->len == 5 && memcmp(f->ptr, "fixed", 5) == 0) {
            o->type = PLAN_FIXED;
        } else {
            offer_die(&t, t.idx[COL_TYPE], "\"type\": expected percent or fixed, got \"%.*s\"",
                      (int)(f->len > 40 ? 40 : f->len), f->ptr);
        }
        o->value = o->type == PLAN_PERCENT ? offer_num(&t, COL_VALUE, 0, 1) : offer_num(&t, COL_VALUE, 0, 1e9);
        o->cost = offer_num(&t, COL_COST, 0, 1e9);
        out->n++;
    }
    if (out->n == 0)
        die("%s: no offers (only a header line)", path);
    csv_release(&t.csv);
    bs_free(bs);
}

int plan_offer_find(const struct plan_offers *t, const char *id, size_t len)
{
    for (int i = 0; i < t->n; i++)
        if (strlen(t->o[i].id) == len && memcmp(t->o[i].id, id, len) == 0)
            return i;
    return -1;
}

/* ---- the objective ------------------------------------------------------- */

double plan_discount(const struct plan_offer *o, double aov)
{
    return o->type == PLAN_PERCENT ? o->value * aov : fmin(o->value, aov);
}

void plan_objective(const struct plan_offer *o, double uplift, double p_base, double aov,
                    double margin, double *profit, double *spend)
{
    double d = plan_discount(o, aov), buys = fmax(0, p_base + uplift);
    *profit = uplift * aov * margin - buys * d - o->cost;
    *spend = o->cost + buys * d;
}

void plan_truth_objective(const struct plan_offer *o, const struct plan_truth *t,
                          double *profit, double *spend)
{
    /* Revenue and margin per order are the same with and without the offer
     * (an offer changes how often a user buys, not what). */
    double rev = 0, mar = 0;
    if (t->base_purchases > 0) {
        rev = t->base_revenue / t->base_purchases;
        mar = t->base_profit / t->base_purchases;
    }
    double d = fmax(0, t->uplift_purchases * rev - t->uplift_revenue);
    *profit = t->uplift_purchases * mar - d - o->cost;
    *spend = o->cost + d;
}

/* ---- the holdout --------------------------------------------------------- */

double plan_holdout_u(uint64_t seed, const char *id, size_t len)
{
    /* A keyed hash: the key is the seed, so another seed gives another
     * group; the top 53 bits make a uniform double. */
    struct sip_key k = {seed ^ 0x706c616e686f6c64ULL /* "planhold" */, 0x9e3779b97f4a7c15ULL};
    return (double)(sip_hash(&k, id, len) >> 11) * 0x1p-53;
}
