/* The simulated shop's hidden state: parameter tables, generation, the
 * world stream, and the response model with its expectations. */
#include "synth_world.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsrc.h"
#include "csv.h"
#include "diag.h"
#include "numfmt.h"
#include "rec.h"
#include "xalloc.h"

const char *const sw_group_names[SW_NGROUPS] = {
    "persuadable", "sure_thing", "lost_cause", "do_not_disturb",
};

/* Monday to Sunday: quieter early in the week, busiest at the weekend. */
const double sw_week[7] = {0.92, 0.94, 0.96, 0.98, 1.04, 1.10, 1.06};
/* Session starts by UTC hour: a night trough, a lunch bump, an evening peak. */
const double sw_hour[24] = {
    0.30, 0.18, 0.12, 0.08, 0.08, 0.12, 0.25, 0.45, 0.70, 0.90, 1.00, 1.10,
    1.25, 1.15, 1.05, 1.00, 1.05, 1.20, 1.45, 1.70, 1.85, 1.70, 1.20, 0.65,
};

/* Each uplift group's multiplier of the archetype's base propensity: sure
 * things buy a lot anyway, lost causes hardly at all. */
static const double group_propensity[SW_NGROUPS] = {0.6, 2.0, 0.2, 1.2};

/* ---- the default tables (data/archetypes.csv, data/offers.csv) --------- */

static const struct sw_archetype default_arch[] = {
    /* name, share, visit_rate, views_per_session, propensity, checkout, quantity,
     * price_sensitivity, favorite_rate, {P, S, L, D}, lift, drop */
    {"loyal", 0.10, 0.50, 6, 0.050, 0.45, 0.4, 0.5, 0.30, {0.15, 0.55, 0.10, 0.20}, 0.8, 0.35},
    {"bargain_hunter", 0.22, 0.20, 8, 0.020, 0.30, 0.3, 2.5, 0.05, {0.60, 0.10, 0.20, 0.10}, 2.0, 0.30},
    {"window_shopper", 0.26, 0.12, 8, 0.006, 0.20, 0.1, 1.0, 0.02, {0.20, 0.05, 0.65, 0.10}, 1.0, 0.30},
    {"new_visitor", 0.30, 0.04, 4, 0.012, 0.25, 0.1, 1.2, 0.00, {0.35, 0.10, 0.45, 0.10}, 1.2, 0.30},
    {"lapsing", 0.12, 0.04, 5, 0.030, 0.35, 0.2, 1.0, 0.15, {0.50, 0.15, 0.15, 0.20}, 1.5, 0.50},
};

static const struct sw_offer default_offers[] = {
    {"pct10", SW_PERCENT, 0.10, 0.05},
    {"pct20", SW_PERCENT, 0.20, 0.05},
    {"pct30", SW_PERCENT, 0.30, 0.05},
    {"ship5", SW_FIXED, 5.00, 0.05},
};

void sw_archetypes_default(struct sw_archetypes *t)
{
    memset(t, 0, sizeof *t);
    t->n = (int)(sizeof default_arch / sizeof default_arch[0]);
    memcpy(t->a, default_arch, sizeof default_arch);
}

void sw_offers_default(struct sw_offers *t)
{
    memset(t, 0, sizeof *t);
    t->n = (int)(sizeof default_offers / sizeof default_offers[0]);
    memcpy(t->o, default_offers, sizeof default_offers);
}

int sw_offer_find(const struct sw_offers *t, const char *id, size_t len)
{
    for (int i = 0; i < t->n; i++)
        if (strlen(t->o[i].id) == len && memcmp(t->o[i].id, id, len) == 0)
            return i;
    return -1;
}

/* ---- CSV tables ----------------------------------------------------------
 * The first row names the columns, in any order; every named column is
 * required and others are an error (a typo should not pass silently). */

struct table {
    const char *path;
    struct csv csv;
    bsrc *bs;
    const char *const *cols;   /* wanted column names */
    int ncols;
    int idx[32];               /* cols[k] is field idx[k] */
};

_Noreturn static void table_die(struct table *t, int field, const char *fmt, ...) PRINTF_LIKE(3, 4);
static void table_die(struct table *t, int field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    csv_vdie_row(&t->csv, t->path, field, fmt, ap);
}

/* The next row, 0 at the end; dies on a malformed one. */
static int table_row(struct table *t)
{
    int n = csv_next(&t->csv);
    if (n < 0)
        csv_die_error(&t->csv, t->path);
    return n;
}

static void table_open(struct table *t, const char *path, const char *const *cols, int ncols)
{
    CHECK(ncols <= 32);
    memset(t, 0, sizeof *t);
    t->path = path;
    t->cols = cols;
    t->ncols = ncols;
    t->bs = bs_open(path);
    csv_init(&t->csv, t->bs, ',', true);
    int n = table_row(t);
    if (n == 0)
        die("%s: empty file (expected a header line: %s, ...)", path, cols[0]);
    for (int k = 0; k < ncols; k++)
        t->idx[k] = -1;
    for (int f = 0; f < n; f++) {
        const struct csv_field *fl = &t->csv.fields[f];
        int k = 0;
        while (k < ncols && !(strlen(cols[k]) == fl->len && memcmp(cols[k], fl->ptr, fl->len) == 0))
            k++;
        if (k == ncols)
            table_die(t, f, "unknown column \"%.*s\"", (int)fl->len, fl->ptr);
        if (t->idx[k] >= 0)
            table_die(t, f, "column \"%s\" given twice", cols[k]);
        t->idx[k] = f;
    }
    for (int k = 0; k < ncols; k++)
        if (t->idx[k] < 0)
            table_die(t, -1, "missing column \"%s\"", cols[k]);
}

static void table_close(struct table *t)
{
    csv_release(&t->csv);
    bs_free(t->bs);
}

static const struct csv_field *table_field(struct table *t, int k)
{
    if (t->idx[k] >= t->csv.nfields)
        table_die(t, -1, "expected %d fields, got %d", t->ncols, t->csv.nfields);
    return &t->csv.fields[t->idx[k]];
}

static double table_num(struct table *t, int k, double lo, double hi)
{
    const struct csv_field *f = table_field(t, k);
    double v;
    if (!num_parse_f64(f->ptr, f->len, &v))
        table_die(t, t->idx[k], "\"%s\": expected a number, got \"%.*s\"", t->cols[k], (int)f->len, f->ptr);
    if (!(v >= lo && v <= hi))
        table_die(t, t->idx[k], "\"%s\": expected %g to %g, got %g", t->cols[k], lo, hi, v);
    return v;
}

static void table_name(struct table *t, int k, char *out)
{
    const struct csv_field *f = table_field(t, k);
    if (f->len == 0 || f->len >= SW_NAME_MAX)
        table_die(t, t->idx[k], "\"%s\": expected 1 to %d characters, got %zu", t->cols[k],
                  SW_NAME_MAX - 1, f->len);
    for (size_t i = 0; i < f->len; i++) {
        unsigned char ch = (unsigned char)f->ptr[i];
        if (ch <= ' ' || ch == ',' || ch == '"' || ch >= 0x7f)
            table_die(t, t->idx[k], "\"%s\": \"%.*s\": use letters, digits and _ . - only",
                      t->cols[k], (int)f->len, f->ptr);
    }
    memcpy(out, f->ptr, f->len);
    out[f->len] = '\0';
}

void sw_archetypes_load(struct sw_archetypes *out, const char *path)
{
    enum { NAME, SHARE, VISIT, VIEWS, PROP, CHECKOUT, QTY, SENS, FAV, PERS, SURE, LOST, DND, LIFT, DROP, NCOLS };
    static const char *const cols[NCOLS] = {
        "name", "share", "visit_rate", "views_per_session", "propensity", "checkout", "quantity",
        "price_sensitivity", "favorite_rate", "persuadable", "sure_thing", "lost_cause",
        "do_not_disturb", "lift", "drop",
    };
    struct table t;
    table_open(&t, path, cols, NCOLS);
    memset(out, 0, sizeof *out);
    while (table_row(&t) > 0) {
        if (out->n == SW_MAX_ARCH)
            table_die(&t, -1, "more than %d archetypes", SW_MAX_ARCH);
        struct sw_archetype *a = &out->a[out->n];
        table_name(&t, NAME, a->name);
        for (int i = 0; i < out->n; i++)
            if (strcmp(out->a[i].name, a->name) == 0)
                table_die(&t, t.idx[NAME], "archetype \"%s\" given twice", a->name);
        a->share = table_num(&t, SHARE, 0, 1);
        a->visit_rate = table_num(&t, VISIT, 0, 50);
        a->views_per_session = table_num(&t, VIEWS, 1, 1000);
        a->propensity = table_num(&t, PROP, 0, 0.5);
        a->checkout = table_num(&t, CHECKOUT, 0.01, 1);
        a->quantity = table_num(&t, QTY, 0, 20);
        a->price_sensitivity = table_num(&t, SENS, 0, 100);
        a->favorite_rate = table_num(&t, FAV, 0, 1);
        double gsum = 0;
        for (int g = 0; g < SW_NGROUPS; g++)
            gsum += a->group[g] = table_num(&t, PERS + g, 0, 1);
        if (fabs(gsum - 1) > 1e-6)
            table_die(&t, -1, "the four uplift group shares sum to %g, not 1", gsum);
        a->lift = table_num(&t, LIFT, 0, 100);
        a->drop = table_num(&t, DROP, 0, 0.9);
        out->n++;
    }
    if (out->n == 0)
        die("%s: no archetypes (only a header line)", path);
    double s = 0;
    for (int i = 0; i < out->n; i++)
        s += out->a[i].share;
    if (fabs(s - 1) > 1e-6)
        die("%s: the archetype shares sum to %g, not 1", path, s);
    table_close(&t);
}

void sw_offers_load(struct sw_offers *out, const char *path)
{
    enum { ID, TYPE, VALUE, COST, NCOLS };
    static const char *const cols[NCOLS] = {"id", "type", "value", "cost"};
    struct table t;
    table_open(&t, path, cols, NCOLS);
    memset(out, 0, sizeof *out);
    while (table_row(&t) > 0) {
        if (out->n == SW_MAX_OFFERS)
            table_die(&t, -1, "more than %d offers", SW_MAX_OFFERS);
        struct sw_offer *o = &out->o[out->n];
        table_name(&t, ID, o->id);
        if (sw_offer_find(out, o->id, strlen(o->id)) >= 0)
            table_die(&t, t.idx[ID], "offer \"%s\" given twice", o->id);
        const struct csv_field *f = table_field(&t, TYPE);
        if (f->len == 7 && memcmp(f->ptr, "percent", 7) == 0)
            o->type = SW_PERCENT;
        else if (f->len == 5 && memcmp(f->ptr, "fixed", 5) == 0)
            o->type = SW_FIXED;
        else
            table_die(&t, t.idx[TYPE], "\"type\": expected percent or fixed, got \"%.*s\"",
                      (int)f->len, f->ptr);
        o->value = o->type == SW_PERCENT ? table_num(&t, VALUE, 0.001, 0.99) : table_num(&t, VALUE, 0.01, 1e6);
        o->cost = table_num(&t, COST, 0, 1e6);
        out->n++;
    }
    if (out->n == 0)
        die("%s: no offers (only a header line)", path);
    table_close(&t);
}

/* ---- allocation ---------------------------------------------------------- */

sw_world *sw_new(int nusers, int nitems, int ncats, int rank, const struct sw_archetypes *arch)
{
    CHECK(nusers >= 1 && nusers <= SW_MAX_USERS && nitems >= 1 && nitems <= SW_MAX_ITEMS);
    CHECK(ncats >= 1 && ncats <= SW_MAX_CATS && ncats <= nitems && rank >= 1 && rank <= SW_MAX_RANK);
    CHECK(arch->n >= 1 && arch->n <= SW_MAX_ARCH);
    sw_world *w = xcalloc(1, sizeof *w);
    w->nusers = nusers;
    w->nitems = nitems;
    w->ncats = ncats;
    w->rank = rank;
    w->arch = *arch;
    w->cats = xcalloc((size_t)ncats, sizeof *w->cats);
    w->catvec = xcalloc((size_t)ncats * rank, sizeof *w->catvec);
    w->items = xcalloc((size_t)nitems, sizeof *w->items);
    w->users = xcalloc((size_t)nusers, sizeof *w->users);
    w->pref = xcalloc((size_t)nusers * rank, sizeof *w->pref);
    w->wish_base = SW_WISH_BASE;
    w->deal_signal = SW_DEAL_SIGNAL;
    return w;
}

void sw_free(sw_world *w)
{
    if (!w)
        return;
    free(w->cats);
    free(w->catvec);
    free(w->items);
    free(w->users);
    free(w->pref);
    free(w->cat_items);
    free(w->cat_start);
    free(w->cat_cum);
    free(w->cat_price);
    free(w->cat_pm);
    free(w);
}

void sw_prepare(sw_world *w)
{
    int C = w->ncats;
    free(w->cat_items);
    free(w->cat_start);
    free(w->cat_cum);
    free(w->cat_price);
    free(w->cat_pm);
    w->cat_items = xmalloc((size_t)w->nitems * sizeof *w->cat_items);
    w->cat_start = xcalloc((size_t)C + 1, sizeof *w->cat_start);
    w->cat_cum = xmalloc((size_t)w->nitems * sizeof *w->cat_cum);
    w->cat_price = xcalloc((size_t)C, sizeof *w->cat_price);
    w->cat_pm = xcalloc((size_t)C, sizeof *w->cat_pm);

    /* Counting sort of the items by category, keeping id order inside. */
    for (int i = 0; i < w->nitems; i++)
        w->cat_start[w->items[i].category]++;
    for (int c = 1; c <= C; c++)
        w->cat_start[c] += w->cat_start[c - 1];
    uint32_t *fill = xmalloc((size_t)C * sizeof *fill);
    memcpy(fill, w->cat_start, (size_t)C * sizeof *fill);
    for (int i = 0; i < w->nitems; i++)
        w->cat_items[fill[w->items[i].category - 1]++] = (uint32_t)i + 1;
    free(fill);

    double logsum = 0;
    for (int c = 0; c < C; c++) {
        double cum = 0, price = 0, pm = 0;
        for (uint32_t k = w->cat_start[c]; k < w->cat_start[c + 1]; k++) {
            const struct sw_item *it = sw_item(w, w->cat_items[k]);
            cum += it->popularity;
            price += it->popularity * it->price;
            pm += it->popularity * it->price * it->margin;
            w->cat_cum[k] = cum;
        }
        CHECK(cum > 0);   /* every category has an item: sw_generate, sw_load */
        w->cat_price[c] = price / cum;
        w->cat_pm[c] = pm / cum;
        logsum += log(w->cats[c].price_level);
    }
    w->log_price_ref = logsum / C;
}

/* ---- generation ---------------------------------------------------------- */

/* Random-stream ids under the world seed, one per concern. */
enum { STREAM_CATS = 1, STREAM_ITEMS, STREAM_USERS, STREAM_FAVS, STREAM_WISH };

static double round_to(double x, double unit) { return round(x / unit) * unit; }

uint32_t sw_pick_item(const sw_world *w, uint32_t c, double u)
{
    /* The first k in the category with cum[k] > u * total. */
    uint32_t lo = w->cat_start[c - 1], hi = w->cat_start[c] - 1;
    double target = u * w->cat_cum[hi];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (w->cat_cum[mid] > target)
            hi = mid;
        else
            lo = mid + 1;
    }
    return w->cat_items[lo];
}

void sw_generate(sw_world *w, uint64_t seed)
{
    struct rng root, r;
    rng_init(&root, seed);
    w->seed = seed;
    int R = w->rank, C = w->ncats;
    float scale = (float)sqrt(2.0 / R);

    rng_split(&r, &root, STREAM_CATS);
    for (int c = 0; c < C; c++) {
        w->cats[c].price_level = round_to(exp(log(20.0) + 0.7 * rng_normal(&r)), 0.01);
        w->cats[c].bias = 0.5 * rng_normal(&r);
        for (int k = 0; k < R; k++)
            w->catvec[(size_t)c * R + k] = (float)rng_normal(&r) * scale;
    }

    rng_split(&r, &root, STREAM_ITEMS);
    for (int i = 0; i < w->nitems; i++) {
        struct sw_item *it = &w->items[i];
        /* The first C items cover every category once. */
        it->category = i < C ? (uint32_t)i + 1 : (uint32_t)rng_below(&r, (uint64_t)C) + 1;
        double p = w->cats[it->category - 1].price_level * exp(0.4 * rng_normal(&r));
        it->price = fmax(0.99, round(p) - 0.01);
        it->margin = fmin(0.9, fmax(0.02, round_to(rng_beta(&r, 6, 12), 0.01)));
        it->popularity = exp(1.5 * rng_normal(&r));
    }
    sw_prepare(w);

    double shares[SW_MAX_ARCH];
    for (int a = 0; a < w->arch.n; a++)
        shares[a] = w->arch.a[a].share;
    struct rng users;
    rng_split(&users, &root, STREAM_USERS);
    for (int u = 1; u <= w->nusers; u++) {
        struct sw_user *us = &w->users[u - 1];
        rng_split(&r, &users, (uint64_t)u);
        us->arch = (uint16_t)rng_categorical(&r, shares, (size_t)w->arch.n);
        const struct sw_archetype *a = &w->arch.a[us->arch];
        us->group = (uint8_t)rng_categorical(&r, a->group, SW_NGROUPS);
        double noise = exp(0.5 * rng_normal(&r) - 0.125);   /* log-normal, mean 1 */
        us->propensity = fmin(0.5, a->propensity * group_propensity[us->group] * noise);
        us->visit_rate = a->visit_rate * rng_exponential(&r, 1);
        us->price_sensitivity = a->price_sensitivity * rng_gamma(&r, 4) / 4;
        double lp = a->lift * rng_gamma(&r, 2) / 2, lf = a->lift * rng_gamma(&r, 2) / 2;
        double drop = a->drop > 0 ? rng_beta(&r, 10 * a->drop, 10 * (1 - a->drop)) : 0;
        us->lift_percent = us->group == SW_PERSUADABLE ? lp : 0;
        us->lift_fixed = us->group == SW_PERSUADABLE ? lf : 0;
        us->drop = us->group == SW_DO_NOT_DISTURB ? fmin(0.9, drop) : 0;
        for (int k = 0; k < R; k++)
            w->pref[(size_t)(u - 1) * R + k] = (float)rng_normal(&r);
    }

    /* Favourites come from the user's own category preferences. */
    double *cat_p = xmalloc((size_t)C * sizeof *cat_p);
    struct rng favs;
    rng_split(&favs, &root, STREAM_FAVS);
    for (int u = 1; u <= w->nusers; u++) {
        rng_split(&r, &favs, (uint64_t)u);
        sw_cat_probs(w, (uint32_t)u, cat_p);
        for (int f = 0; f < SW_NFAV; f++) {
            uint32_t c = (uint32_t)rng_categorical(&r, cat_p, (size_t)C) + 1;
            w->users[u - 1].fav[f] = sw_pick_item(w, c, rng_uniform(&r));
        }
    }
    free(cat_p);

    /* Deal-prone customers show it: they wish-list items, waiting for a
     * better price, in proportion to how much a discount moves them. */
    struct rng wish;
    rng_split(&wish, &root, STREAM_WISH);
    for (int u = 1; u <= w->nusers; u++) {
        struct sw_user *us = &w->users[u - 1];
        rng_split(&r, &wish, (uint64_t)u);
        double noise = exp(0.5 * rng_normal(&r) - 0.125);
        us->wish_rate = fmin(SW_WISH_MAX, w->wish_base * noise * (1 + w->deal_signal * sw_deal_proneness(us)));
    }
}

double sw_deal_proneness(const struct sw_user *us)
{
    if (us->group != SW_PERSUADABLE)
        return 0;
    return us->lift_percent * -expm1(-SW_RESPONSE_K * us->price_sensitivity * 0.2);
}

/* ---- the world stream ---------------------------------------------------- */

static void pack_kv_f64(msgpack_packer *pk, const char *k, double v)
{
    mp_pack_str(pk, k);
    msgpack_pack_double(pk, v);
}

static void pack_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    mp_pack_str(pk, k);
    msgpack_pack_int64(pk, v);
}

static void pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    mp_pack_str(pk, k);
    mp_pack_str(pk, v);
}

void sw_write(const sw_world *w, ws *out, const char *archetypes_src)
{
    ws_opt_int(out, "users", w->nusers);
    ws_opt_int(out, "items", w->nitems);
    ws_opt_int(out, "categories", w->ncats);
    ws_opt_int(out, "rank", w->rank);
    ws_opt_int(out, "seed", (int64_t)w->seed);
    ws_opt_str(out, "archetypes", archetypes_src);
    ws_opt_f64(out, "wish_rate", w->wish_base);
    ws_opt_f64(out, "deal_signal", w->deal_signal);
    ws_header(out, "world");
    msgpack_packer *pk;

    for (int i = 0; i < w->arch.n; i++) {
        const struct sw_archetype *a = &w->arch.a[i];
        pk = ws_pk(out);
        msgpack_pack_map(pk, 16);
        pack_kv_str(pk, "type", "archetype");
        pack_kv_str(pk, "name", a->name);
        pack_kv_f64(pk, "share", a->share);
        pack_kv_f64(pk, "visit_rate", a->visit_rate);
        pack_kv_f64(pk, "views_per_session", a->views_per_session);
        pack_kv_f64(pk, "propensity", a->propensity);
        pack_kv_f64(pk, "checkout", a->checkout);
        pack_kv_f64(pk, "quantity", a->quantity);
        pack_kv_f64(pk, "price_sensitivity", a->price_sensitivity);
        pack_kv_f64(pk, "favorite_rate", a->favorite_rate);
        for (int g = 0; g < SW_NGROUPS; g++)
            pack_kv_f64(pk, sw_group_names[g], a->group[g]);
        pack_kv_f64(pk, "lift", a->lift);
        pack_kv_f64(pk, "drop", a->drop);
        ws_end(out);
    }
    for (int c = 0; c < w->ncats; c++) {
        pk = ws_pk(out);
        msgpack_pack_map(pk, 5);
        pack_kv_str(pk, "type", "category");
        pack_kv_int(pk, "category", c + 1);
        pack_kv_f64(pk, "price_level", w->cats[c].price_level);
        pack_kv_f64(pk, "bias", w->cats[c].bias);
        mp_pack_str(pk, "vector");
        mp_pack_f32s(pk, w->catvec + (size_t)c * w->rank, (size_t)w->rank);
        ws_end(out);
    }
    for (int i = 0; i < w->nitems; i++) {
        const struct sw_item *it = &w->items[i];
        pk = ws_pk(out);
        msgpack_pack_map(pk, 6);
        pack_kv_str(pk, "type", "item");
        pack_kv_int(pk, "item", i + 1);
        pack_kv_int(pk, "category", it->category);
        pack_kv_f64(pk, "price", it->price);
        pack_kv_f64(pk, "margin", it->margin);
        pack_kv_f64(pk, "popularity", it->popularity);
        ws_end(out);
    }
    for (int u = 0; u < w->nusers; u++) {
        const struct sw_user *us = &w->users[u];
        pk = ws_pk(out);
        msgpack_pack_map(pk, 13);
        pack_kv_str(pk, "type", "user");
        pack_kv_int(pk, "user", u + 1);
        pack_kv_str(pk, "archetype", w->arch.a[us->arch].name);
        pack_kv_str(pk, "group", sw_group_names[us->group]);
        pack_kv_f64(pk, "propensity", us->propensity);
        pack_kv_f64(pk, "price_sensitivity", us->price_sensitivity);
        pack_kv_f64(pk, "visit_rate", us->visit_rate);
        pack_kv_f64(pk, "lift_percent", us->lift_percent);
        pack_kv_f64(pk, "lift_fixed", us->lift_fixed);
        pack_kv_f64(pk, "drop", us->drop);
        pack_kv_f64(pk, "wish_rate", us->wish_rate);
        mp_pack_str(pk, "favorites");
        msgpack_pack_array(pk, SW_NFAV);
        for (int f = 0; f < SW_NFAV; f++)
            msgpack_pack_uint32(pk, us->fav[f]);
        mp_pack_str(pk, "pref");
        mp_pack_f32s(pk, w->pref + (size_t)u * w->rank, (size_t)w->rank);
        ws_end(out);
    }
}

/* Loading: every value range-checked, every id present exactly once. */

static int64_t header_int(rs *r, const char *key, int64_t lo, int64_t hi)
{
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    const msgpack_object *v = opts && opts->type == MSGPACK_OBJECT_MAP ? mp_map_get(opts, key) : NULL;
    int64_t x;
    if (v && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)
        x = (int64_t)v->via.u64;
    else if (v && v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        x = v->via.i64;
    else
        die("%s: header: option \"%s\": expected an integer (is this a world from promo-synth world?)",
            rs_file(r), key);
    if (x < lo || x > hi)
        die("%s: header: option \"%s\": expected %lld to %lld, got %lld", rs_file(r), key,
            (long long)lo, (long long)hi, (long long)x);
    return x;
}

static double get_num(rs *r, const char *key, double lo, double hi)
{
    double v = rec_f64(r, key);
    if (!(v >= lo && v <= hi))
        rs_die(r, "field \"%s\": expected %g to %g, got %g", key, lo, hi, v);
    return v;
}

static int64_t get_id(rs *r, const char *key, int64_t max)
{
    int64_t v = rec_i64(r, key);
    if (v < 1 || v > max)
        rs_die(r, "field \"%s\": expected 1 to %lld, got %lld", key, (long long)max, (long long)v);
    return v;
}

static bool field_is(rs *r, const char *key, const char *s, size_t n)
{
    const char *p;
    size_t len = rec_str(r, key, &p);
    return len == n && memcmp(p, s, n) == 0;
}

static void load_archetype(rs *r, struct sw_archetypes *t)
{
    if (t->n == SW_MAX_ARCH)
        rs_die(r, "more than %d archetypes", SW_MAX_ARCH);
    struct sw_archetype *a = &t->a[t->n];
    const char *p;
    size_t n = rec_str(r, "name", &p);
    if (n == 0 || n >= SW_NAME_MAX)
        rs_die(r, "field \"name\": expected 1 to %d characters", SW_NAME_MAX - 1);
    memcpy(a->name, p, n);
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->a[i].name, a->name) == 0)
            rs_die(r, "field \"name\": archetype \"%s\" given twice", a->name);
    a->share = get_num(r, "share", 0, 1);
    a->visit_rate = get_num(r, "visit_rate", 0, 50);
    a->views_per_session = get_num(r, "views_per_session", 1, 1000);
    a->propensity = get_num(r, "propensity", 0, 0.5);
    a->checkout = get_num(r, "checkout", 0.01, 1);
    a->quantity = get_num(r, "quantity", 0, 20);
    a->price_sensitivity = get_num(r, "price_sensitivity", 0, 100);
    a->favorite_rate = get_num(r, "favorite_rate", 0, 1);
    for (int g = 0; g < SW_NGROUPS; g++)
        a->group[g] = get_num(r, sw_group_names[g], 0, 1);
    a->lift = get_num(r, "lift", 0, 100);
    a->drop = get_num(r, "drop", 0, 0.9);
    t->n++;
}

static void load_user(rs *r, sw_world *w, uint8_t *seen)
{
    int64_t u = get_id(r, "user", w->nusers);
    if (seen[u - 1])
        rs_die(r, "field \"user\": user %lld given twice", (long long)u);
    seen[u - 1] = 1;
    struct sw_user *us = &w->users[u - 1];
    const char *p;
    size_t n = rec_str(r, "archetype", &p);
    int a = 0;
    while (a < w->arch.n && !(strlen(w->arch.a[a].name) == n && memcmp(w->arch.a[a].name, p, n) == 0))
        a++;
    if (a == w->arch.n)
        rs_die(r, "field \"archetype\": unknown archetype \"%.*s\" (archetype records come first)",
               (int)n, p);
    us->arch = (uint16_t)a;
    int g = 0;
    while (g < SW_NGROUPS && !field_is(r, "group", sw_group_names[g], strlen(sw_group_names[g])))
        g++;
    if (g == SW_NGROUPS)
        rs_die(r, "field \"group\": expected persuadable, sure_thing, lost_cause or do_not_disturb");
    us->group = (uint8_t)g;
    us->propensity = get_num(r, "propensity", 0, SW_P_MAX);
    us->price_sensitivity = get_num(r, "price_sensitivity", 0, 1e4);
    us->visit_rate = get_num(r, "visit_rate", 0, 1e3);
    us->lift_percent = get_num(r, "lift_percent", 0, 1e4);
    us->lift_fixed = get_num(r, "lift_fixed", 0, 1e4);
    us->drop = get_num(r, "drop", 0, 1);
    us->wish_rate = get_num(r, "wish_rate", 0, SW_WISH_MAX);
    const msgpack_object *f = rec_field(r, "favorites");
    if (!f || f->type != MSGPACK_OBJECT_ARRAY || f->via.array.size != SW_NFAV)
        rs_die(r, "field \"favorites\": expected an array of %d item ids", SW_NFAV);
    for (int k = 0; k < SW_NFAV; k++) {
        const msgpack_object *e = &f->via.array.ptr[k];
        if (e->type != MSGPACK_OBJECT_POSITIVE_INTEGER || e->via.u64 < 1 || e->via.u64 > (uint64_t)w->nitems)
            rs_die(r, "field \"favorites\": expected item ids 1 to %d", w->nitems);
        us->fav[k] = (uint32_t)e->via.u64;
    }
    rec_f32s(r, "pref", w->pref + (size_t)(u - 1) * w->rank, (size_t)w->rank);
}

sw_world *sw_load(const char *path)
{
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, "world");
    int nusers = (int)header_int(r, "users", 1, SW_MAX_USERS);
    int nitems = (int)header_int(r, "items", 1, SW_MAX_ITEMS);
    int ncats = (int)header_int(r, "categories", 1, SW_MAX_CATS);
    int rank = (int)header_int(r, "rank", 1, SW_MAX_RANK);
    uint64_t seed = (uint64_t)header_int(r, "seed", 0, INT64_MAX);
    if (ncats > nitems)
        die("%s: header: more categories (%d) than items (%d)", rs_file(r), ncats, nitems);

    /* Archetype records come first; the world is sized after them. */
    struct sw_archetypes arch = {0};
    sw_world *w = NULL;
    uint8_t *seen_u = xcalloc((size_t)nusers, 1), *seen_i = xcalloc((size_t)nitems, 1);
    uint8_t *seen_c = xcalloc((size_t)ncats, 1);
    int64_t nu = 0, ni = 0, nc = 0;
    while (rs_next(r)) {
        const char *type;
        size_t tn = rec_str(r, "type", &type);
        if (tn == 9 && memcmp(type, "archetype", 9) == 0) {
            if (w)
                rs_die(r, "an archetype record after the categories, items or users");
            load_archetype(r, &arch);
            continue;
        }
        if (!w) {
            if (arch.n == 0)
                rs_die(r, "no archetype records before the first %.*s record", (int)tn, type);
            w = sw_new(nusers, nitems, ncats, rank, &arch);
            w->seed = seed;
        }
        if (tn == 8 && memcmp(type, "category", 8) == 0) {
            int64_t c = get_id(r, "category", ncats);
            if (seen_c[c - 1]++)
                rs_die(r, "field \"category\": category %lld given twice", (long long)c);
            w->cats[c - 1].price_level = get_num(r, "price_level", 0.01, 1e9);
            w->cats[c - 1].bias = get_num(r, "bias", -100, 100);
            rec_f32s(r, "vector", w->catvec + (size_t)(c - 1) * rank, (size_t)rank);
            nc++;
        } else if (tn == 4 && memcmp(type, "item", 4) == 0) {
            int64_t i = get_id(r, "item", nitems);
            if (seen_i[i - 1]++)
                rs_die(r, "field \"item\": item %lld given twice", (long long)i);
            struct sw_item *it = &w->items[i - 1];
            it->category = (uint32_t)get_id(r, "category", ncats);
            it->price = get_num(r, "price", 0.01, 1e9);
            it->margin = get_num(r, "margin", 0, 1);
            it->popularity = get_num(r, "popularity", 1e-300, 1e300);
            ni++;
        } else if (tn == 4 && memcmp(type, "user", 4) == 0) {
            load_user(r, w, seen_u);
            nu++;
        } else {
            rs_die(r, "field \"type\": unknown record type \"%.*s\" (expected archetype, category, item or user)",
                   (int)tn, type);
        }
    }
    if (!w)
        die("%s: no records (an empty world)", path);
    if (nc != ncats || ni != nitems || nu != nusers)
        die("%s: incomplete world: %lld of %d categories, %lld of %d items, %lld of %d users",
            path, (long long)nc, ncats, (long long)ni, nitems, (long long)nu, nusers);
    int *count = xcalloc((size_t)ncats, sizeof *count);
    for (int i = 0; i < nitems; i++)
        count[w->items[i].category - 1]++;
    for (int c = 0; c < ncats; c++)
        if (!count[c])
            die("%s: category %d has no items", path, c + 1);
    free(count);
    free(seen_u);
    free(seen_i);
    free(seen_c);
    rs_free(r);
    sw_prepare(w);
    return w;
}

/* ---- behaviour and response ---------------------------------------------- */

void sw_cat_probs(const sw_world *w, uint32_t user, double *p)
{
    const struct sw_user *us = sw_user(w, user);
    const float *x = w->pref + (size_t)(user - 1) * w->rank;
    double max = -INFINITY;
    for (int c = 0; c < w->ncats; c++) {
        const float *y = w->catvec + (size_t)c * w->rank;
        double s = w->cats[c].bias - us->price_sensitivity * (log(w->cats[c].price_level) - w->log_price_ref);
        for (int k = 0; k < w->rank; k++)
            s += (double)x[k] * (double)y[k];
        p[c] = s;
        if (s > max)
            max = s;
    }
    double sum = 0;
    for (int c = 0; c < w->ncats; c++)
        sum += p[c] = exp(p[c] - max);
    for (int c = 0; c < w->ncats; c++)
        p[c] /= sum;
}

void sw_item_means(const sw_world *w, uint32_t user, const double *cat_p, double *price, double *pm)
{
    const struct sw_user *us = sw_user(w, user);
    double f = sw_arch_of(w, user)->favorite_rate, fp = 0, fpm = 0, cp = 0, cpm = 0;
    for (int k = 0; k < SW_NFAV; k++) {
        const struct sw_item *it = sw_item(w, us->fav[k]);
        fp += it->price / SW_NFAV;
        fpm += it->price * it->margin / SW_NFAV;
    }
    for (int c = 0; c < w->ncats; c++) {
        cp += cat_p[c] * w->cat_price[c];
        cpm += cat_p[c] * w->cat_pm[c];
    }
    *price = f * fp + (1 - f) * cp;
    *pm = f * fpm + (1 - f) * cpm;
}

/* The multiplier given the user's expected order value (price * quantity). */
static double multiplier(const struct sw_user *us, const struct sw_offer *o, double order_value)
{
    switch (us->group) {
    case SW_PERSUADABLE: {
        double strength = o->type == SW_PERCENT ? o->value : fmin(1.0, o->value / order_value);
        double lift = o->type == SW_PERCENT ? us->lift_percent : us->lift_fixed;
        return 1 + lift * -expm1(-SW_RESPONSE_K * us->price_sensitivity * strength);
    }
    case SW_DO_NOT_DISTURB:
        return 1 - us->drop;
    default:
        return 1;   /* sure things and lost causes buy as they would have */
    }
}

double sw_multiplier(const sw_world *w, uint32_t user, const struct sw_offer *o)
{
    const struct sw_user *us = sw_user(w, user);
    if (us->group != SW_PERSUADABLE || o->type == SW_PERCENT)
        return multiplier(us, o, 1);
    double *cat_p = xmalloc((size_t)w->ncats * sizeof *cat_p), price, pm;
    sw_cat_probs(w, user, cat_p);
    sw_item_means(w, user, cat_p, &price, &pm);
    free(cat_p);
    return multiplier(us, o, price * (1 + sw_arch_of(w, user)->quantity));
}

/* E[min(value, price * (1 + K))], K ~ Poisson(mu). */
static double fixed_discount(double price, double value, double mu)
{
    double pk = exp(-mu), cdf = 0, e = 0;
    for (int k = 0; k < 10000; k++) {
        double order = price * (1 + k);
        if (order >= value)
            return e + value * (1 - cdf);
        e += pk * order;
        cdf += pk;
        pk *= mu / (k + 1);
    }
    return e;
}

double *sw_fixed_table(const sw_world *w, double value)
{
    double *tab = xcalloc((size_t)w->arch.n * w->ncats, sizeof *tab);
    for (int a = 0; a < w->arch.n; a++)
        for (int c = 0; c < w->ncats; c++) {
            double s = 0, tot = 0;
            for (uint32_t k = w->cat_start[c]; k < w->cat_start[c + 1]; k++) {
                const struct sw_item *it = sw_item(w, w->cat_items[k]);
                s += it->popularity * fixed_discount(it->price, value, w->arch.a[a].quantity);
                tot += it->popularity;
            }
            tab[(size_t)a * w->ncats + c] = s / tot;
        }
    return tab;
}

void sw_expect(const sw_world *w, uint32_t user, double days_weight,
               const struct sw_offer *o, const double *fixed_tab, struct sw_expect *e)
{
    const struct sw_user *us = sw_user(w, user);
    const struct sw_archetype *a = sw_arch_of(w, user);
    double *cat_p = xmalloc((size_t)w->ncats * sizeof *cat_p), price, pm;
    sw_cat_probs(w, user, cat_p);
    sw_item_means(w, user, cat_p, &price, &pm);
    double qty = 1 + a->quantity;
    double m = o ? multiplier(us, o, price * qty) : 1;
    double p = fmin(SW_P_MAX, us->propensity * m);

    /* Sessions are Poisson, views per session 1 + geometric with mean
     * views_per_session, each view a purchase with probability p: the
     * generating function of the views gives P(no purchase in a session). */
    double theta = 1 / a->views_per_session;
    double none = (1 - p) * theta / (1 - (1 - theta) * (1 - p));
    e->sessions = us->visit_rate * days_weight;
    e->views = e->sessions * a->views_per_session;
    e->purchases = e->views * p;
    e->conversion = -expm1(-e->sessions * (1 - none));

    double disc = 0;
    if (o && o->type == SW_PERCENT) {
        disc = o->value * price * qty;
    } else if (o) {
        CHECK(fixed_tab);
        double f = a->favorite_rate, fd = 0, cd = 0;
        for (int k = 0; k < SW_NFAV; k++)
            fd += fixed_discount(sw_item(w, us->fav[k])->price, o->value, a->quantity) / SW_NFAV;
        for (int c = 0; c < w->ncats; c++)
            cd += cat_p[c] * fixed_tab[(size_t)us->arch * w->ncats + c];
        disc = f * fd + (1 - f) * cd;
    }
    e->discount = e->purchases * disc;
    e->revenue = e->purchases * (price * qty - disc);
    e->profit = e->purchases * (pm * qty - disc) - (o ? o->cost : 0);
    free(cat_p);
}

double sw_events_per_day(const sw_world *w)
{
    double total = 0;
    for (int u = 0; u < w->nusers; u++) {
        const struct sw_user *us = &w->users[u];
        const struct sw_archetype *a = &w->arch.a[us->arch];
        double p = us->propensity, pc = fmin(SW_P_MAX, p / a->checkout);
        total += us->visit_rate * a->views_per_session * (1 + us->wish_rate + pc + p);
    }
    return total;
}
