#include "metricstream.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "json.h"
#include "numfmt.h"
#include "rec.h"
#include "xalloc.h"

/* ---- the list ------------------------------------------------------------ */

void ms_list_init(struct ms_list *l) { memset(l, 0, sizeof *l); }

static void rec_release(struct ms_rec *r)
{
    free(r->task);
    free(r->metric);
    free(r->group);
    free(r->x);
    free(r->names);
    free(r->means);
}

void ms_list_release(struct ms_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        rec_release(&l->r[i]);
    free(l->r);
    for (size_t i = 0; i < l->nnotes; i++)
        free(l->notes[i]);
    free(l->notes);
    memset(l, 0, sizeof *l);
}

struct ms_rec *ms_add(struct ms_list *l, const char *task, const char *metric,
                      const char *group, double value)
{
    XGROW(l->r, l->cap, l->n + 1);
    struct ms_rec *r = &l->r[l->n++];
    memset(r, 0, sizeof *r);
    r->task = xstrdup(task);
    r->metric = xstrdup(metric);
    r->group = group ? xstrdup(group) : NULL;
    r->value = value;
    return r;
}

void ms_set_ci(struct ms_rec *r, double lo, double hi)
{
    r->lo = lo;
    r->hi = hi;
    r->has_ci = !isnan(lo) && !isnan(hi);
}

void ms_set_p(struct ms_rec *r, double p)
{
    r->p = p;
    r->has_p = !isnan(p);
}

void ms_set_n(struct ms_rec *r, uint64_t n)
{
    r->n = n;
    r->has_n = true;
}

void ms_set_curve(struct ms_rec *r, const double *x, const double *y, size_t npts)
{
    free(r->x);
    r->x = xmalloc(2 * (npts ? npts : 1) * sizeof *r->x);   /* x and y in one block */
    r->y = r->x + npts;
    memcpy(r->x, x, npts * sizeof *x);
    memcpy(r->y, y, npts * sizeof *y);
    r->npts = npts;
}

void ms_set_profile(struct ms_rec *r, double size, double share, const char *const *names,
                    const double *means, const double *z, size_t nfeat)
{
    r->has_profile = true;
    r->size = size;
    r->share = share;
    size_t bytes = 0;
    for (size_t i = 0; i < nfeat; i++)
        bytes += strlen(names[i]) + 1;
    /* names: the pointers, then the strings; means and z: one block. */
    r->names = xmalloc(nfeat * sizeof *r->names + bytes + 1);
    char *s = (char *)(r->names + nfeat);
    for (size_t i = 0; i < nfeat; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(s, names[i], len);
        r->names[i] = s;
        s += len;
    }
    r->means = xmalloc(2 * (nfeat ? nfeat : 1) * sizeof *r->means);
    memcpy(r->means, means, nfeat * sizeof *means);
    r->z = NULL;
    if (z) {
        r->z = r->means + nfeat;
        memcpy(r->z, z, nfeat * sizeof *z);
    }
    r->nfeat = nfeat;
}

void ms_note(struct ms_list *l, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    XGROW(l->notes, l->capnotes, l->nnotes + 1);
    l->notes[l->nnotes++] = xstrdup(buf);
}

/* ---- writing and reading ----------------------------------------------- */

static void pack_f64(msgpack_packer *pk, const char *key, double v)
{
    mp_pack_str(pk, key);
    msgpack_pack_double(pk, v);
}

static void pack_curve(msgpack_packer *pk, const char *key, const double *v, size_t n)
{
    mp_pack_str(pk, key);
    msgpack_pack_array(pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_float(pk, (float)v[i]);
}

void ms_write(ws *w, const struct ms_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct ms_rec *r = &l->r[i];
        uint32_t k = 3 + (r->group != NULL) + 2 * r->has_ci + r->has_p + r->has_n + r->has_se +
                     r->has_stat + 2 * (r->npts > 0) + (r->has_profile ? 3 + (r->z != NULL) : 0);
        msgpack_packer *pk = ws_pk(w);
        msgpack_pack_map(pk, k);
        mp_pack_str(pk, "task");
        mp_pack_str(pk, r->task);
        mp_pack_str(pk, "metric");
        mp_pack_str(pk, r->metric);
        if (r->group) {
            mp_pack_str(pk, "group");
            mp_pack_str(pk, r->group);
        }
        pack_f64(pk, "value", r->value);
        if (r->has_ci) {
            pack_f64(pk, "lo", r->lo);
            pack_f64(pk, "hi", r->hi);
        }
        if (r->has_p)
            pack_f64(pk, "p", r->p);
        if (r->has_n) {
            mp_pack_str(pk, "n");
            msgpack_pack_uint64(pk, r->n);
        }
        if (r->has_se)
            pack_f64(pk, "se", r->se);
        if (r->has_stat)
            pack_f64(pk, "stat", r->stat);
        if (r->npts) {
            pack_curve(pk, "x", r->x, r->npts);
            pack_curve(pk, "y", r->y, r->npts);
        }
        if (r->has_profile) {
            pack_f64(pk, "size", r->size);
            pack_f64(pk, "share", r->share);
            for (int m = 0; m < 1 + (r->z != NULL); m++) {
                mp_pack_str(pk, m ? "z" : "means");
                msgpack_pack_map(pk, (uint32_t)r->nfeat);
                for (size_t j = 0; j < r->nfeat; j++) {
                    mp_pack_str(pk, r->names[j]);
                    msgpack_pack_double(pk, m ? r->z[j] : r->means[j]);
                }
            }
        }
        ws_end(w);
    }
}

static char *str_field(rs *r, const char *key, bool required)
{
    const char *p;
    size_t n;
    if (required) {
        n = rec_str(r, key, &p);
        return xstrndup(p, n);
    }
    return rec_opt_str(r, key, &p, &n) ? xstrndup(p, n) : NULL;
}

/* A map of numbers by feature name; names must match *names when set. */
static void read_map(rs *r, const char *key, struct ms_rec *m, double *out, bool first)
{
    const msgpack_object *o = rec_field(r, key);
    if (o->type != MSGPACK_OBJECT_MAP)
        rs_die(r, "field \"%s\": expected a map of numbers, got %s", key, mp_type_name(o));
    if (!first && o->via.map.size != m->nfeat)
        rs_die(r, "field \"%s\": expected %zu features as in \"means\", got %u", key, m->nfeat,
               o->via.map.size);
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            rs_die(r, "field \"%s\": a feature name is %s, not a string", key, mp_type_name(k));
        if (!first && !(k->via.str.size == strlen(m->names[i]) &&
                        memcmp(k->via.str.ptr, m->names[i], k->via.str.size) == 0))
            rs_die(r, "field \"%s\": feature %u is \"%.*s\", \"means\" has \"%s\"", key, i + 1,
                   (int)k->via.str.size, k->via.str.ptr, m->names[i]);
        if (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64)
            out[i] = v->via.f64;
        else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            out[i] = (double)v->via.u64;
        else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            out[i] = (double)v->via.i64;
        else if (v->type == MSGPACK_OBJECT_NIL)
            out[i] = NAN;
        else
            rs_die(r, "field \"%s\": feature \"%.*s\": expected a number, got %s", key,
                   (int)k->via.str.size, k->via.str.ptr, mp_type_name(v));
    }
}

static void read_profile(rs *r, struct ms_rec *m)
{
    const msgpack_object *o = rec_field(r, "means");
    if (!o)
        rs_die(r, "field \"means\": missing (a profile record needs it)");
    if (o->type != MSGPACK_OBJECT_MAP)
        rs_die(r, "field \"means\": expected a map of numbers, got %s", mp_type_name(o));
    size_t nf = o->via.map.size;
    const char **names = xcalloc(nf + 1, sizeof *names);
    char **owned = xcalloc(nf + 1, sizeof *owned);
    for (size_t i = 0; i < nf; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            rs_die(r, "field \"means\": a feature name is %s, not a string", mp_type_name(k));
        names[i] = owned[i] = xstrndup(k->via.str.ptr, k->via.str.size);
    }
    double *means = xcalloc(nf + 1, sizeof *means), *z = xcalloc(nf + 1, sizeof *z);
    struct ms_rec tmp = {.nfeat = nf, .names = (char **)names};
    read_map(r, "means", &tmp, means, true);
    bool hz = rec_field(r, "z") != NULL;
    if (hz)
        read_map(r, "z", &tmp, z, false);
    double size = m->value, share = NAN;
    rec_opt_f64(r, "size", &size);
    rec_opt_f64(r, "share", &share);
    ms_set_profile(m, size, share, names, means, hz ? z : NULL, nf);
    for (size_t i = 0; i < nf; i++)
        free(owned[i]);
    free(owned);
    free(names);
    free(means);
    free(z);
}

static void read_notes(struct ms_list *l, rs *r)
{
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    const msgpack_object *notes = opts && opts->type == MSGPACK_OBJECT_MAP ? mp_map_get(opts, "notes") : NULL;
    if (!notes || notes->type != MSGPACK_OBJECT_STR)
        return;
    const char *s = notes->via.str.ptr, *end = s + notes->via.str.size;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        if (e > s)
            ms_note(l, "%.*s", (int)(e - s), s);
        s = e + 1;
    }
}

void ms_read(struct ms_list *l, const char *const *paths, int npaths)
{
    rs *r = rs_open(paths, npaths, "metrics");
    read_notes(l, r);
    float *f = NULL;
    size_t fcap = 0;
    double *x = NULL, *y = NULL;
    while (rs_next(r)) {
        char *task = str_field(r, "task", true), *metric = str_field(r, "metric", true);
        char *group = str_field(r, "group", false);
        struct ms_rec *m = ms_add(l, task, metric, group, rec_f64(r, "value"));
        free(task);
        free(metric);
        free(group);
        double lo, hi, v;
        int64_t n;
        bool hlo = rec_opt_f64(r, "lo", &lo), hhi = rec_opt_f64(r, "hi", &hi);
        if (hlo != hhi)
            rs_die(r, "field \"%s\": missing (\"lo\" and \"hi\" come together)", hlo ? "hi" : "lo");
        if (hlo)
            ms_set_ci(m, lo, hi);
        if (rec_opt_f64(r, "p", &v))
            ms_set_p(m, v);
        if (rec_opt_i64(r, "n", &n)) {
            if (n < 0)
                rs_die(r, "field \"n\": expected a count, got %lld", (long long)n);
            ms_set_n(m, (uint64_t)n);
        }
        if ((m->has_se = rec_opt_f64(r, "se", &v)))
            m->se = v;
        if ((m->has_stat = rec_opt_f64(r, "stat", &v)))
            m->stat = v;
        bool hx = rec_field(r, "x") != NULL, hy = rec_field(r, "y") != NULL;
        if (hx != hy)
            rs_die(r, "field \"%s\": missing (a curve has \"x\" and \"y\")", hx ? "y" : "x");
        if (hx) {
            size_t nx = rec_f32v(r, "x", &f, &fcap);
            x = xreallocarray(x, nx + 1, sizeof *x);
            for (size_t i = 0; i < nx; i++)
                x[i] = f[i];
            size_t ny = rec_f32v(r, "y", &f, &fcap);
            if (ny != nx)
                rs_die(r, "field \"y\": expected %zu numbers as in \"x\", got %zu", nx, ny);
            y = xreallocarray(y, ny + 1, sizeof *y);
            for (size_t i = 0; i < ny; i++)
                y[i] = f[i];
            ms_set_curve(m, x, y, nx);
        }
        if (strcmp(m->metric, "profile") == 0)
            read_profile(r, m);
    }
    free(f);
    free(x);
    free(y);
    rs_free(r);
}

/* ---- directions and keys ------------------------------------------------- */

int ms_direction(const char *metric)
{
    static const char *const higher[] = {
        "auc", "accuracy", "precision", "recall", "f1", "hr", "ndcg", "map", "mrr", "coverage",
        "r2", "adj_r2", "silhouette", "qini_area", "qini_coef", "auuc", "auuc_coef", "uplift",
        "uplift_by_group", "rate", "mean", "revenue_per_user", "abs_lift", "rel_lift",
        "rev_lift", "rev_rel_lift", "incr_conversions", "incr_revenue", "incr_profit", "roi",
    };
    static const char *const lower[] = {
        "logloss", "brier", "ece", "rmse", "mae", "inertia", "davies_bouldin", "rejected",
        "skipped",
    };
    size_t len = strcspn(metric, "@:");
    for (size_t i = 0; i < sizeof higher / sizeof *higher; i++)
        if (strlen(higher[i]) == len && memcmp(metric, higher[i], len) == 0)
            return 1;
    for (size_t i = 0; i < sizeof lower / sizeof *lower; i++)
        if (strlen(lower[i]) == len && memcmp(metric, lower[i], len) == 0)
            return -1;
    return 0;
}

const char *ms_key(const struct ms_rec *r, char *buf, size_t len)
{
    if (r->group)
        snprintf(buf, len, "%s[%s]", r->metric, r->group);
    else
        snprintf(buf, len, "%s", r->metric);
    return buf;
}

bool ms_matches(const struct ms_rec *r, const char *name)
{
    const char *br = strchr(name, '[');
    if (!br)
        return strcmp(r->metric, name) == 0;
    size_t ml = (size_t)(br - name), nl = strlen(name);
    if (nl < ml + 2 || name[nl - 1] != ']' || !r->group)
        return false;
    return strlen(r->metric) == ml && memcmp(r->metric, name, ml) == 0 &&
           strlen(r->group) == nl - ml - 2 && memcmp(r->group, br + 1, nl - ml - 2) == 0;
}

static bool same_key(const struct ms_rec *a, const struct ms_rec *b)
{
    return strcmp(a->task, b->task) == 0 && strcmp(a->metric, b->metric) == 0 &&
           (a->group ? b->group && strcmp(a->group, b->group) == 0 : !b->group);
}

static bool scalar(const struct ms_rec *r) { return r->npts == 0 && !r->has_profile; }

struct ms_change *ms_compare(const struct ms_list *old, const struct ms_list *cur, size_t *n)
{
    struct ms_change *c = xcalloc(old->n + cur->n + 1, sizeof *c);
    size_t k = 0;
    for (size_t i = 0; i < cur->n; i++) {
        const struct ms_rec *r = &cur->r[i];
        if (!scalar(r))
            continue;
        const struct ms_rec *o = NULL;
        for (size_t j = 0; j < old->n && !o; j++)
            if (scalar(&old->r[j]) && same_key(r, &old->r[j]))
                o = &old->r[j];
        struct ms_change *ch = &c[k++];
        ch->cur = r;
        ch->old = o;
        ch->dir = ms_direction(r->metric);
        ch->delta = o ? r->value - o->value : NAN;
        ch->worse = o && ch->dir != 0 && ch->dir * ch->delta < 0;
    }
    for (size_t j = 0; j < old->n; j++) {
        const struct ms_rec *o = &old->r[j];
        if (!scalar(o))
            continue;
        bool found = false;
        for (size_t i = 0; i < cur->n && !found; i++)
            found = scalar(&cur->r[i]) && same_key(o, &cur->r[i]);
        if (!found) {
            struct ms_change *ch = &c[k++];
            ch->old = o;
            ch->dir = ms_direction(o->metric);
            ch->delta = NAN;
        }
    }
    *n = k;
    return c;
}

/* ---- text ------------------------------------------------------------------ */

const char *ms_fmt(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "nan");
    else if (isinf(v))
        snprintf(buf, len, v > 0 ? "inf" : "-inf");
    else if (v != 0 && fabs(v) < 1e-4)
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.6g", v);
    return buf;
}

/* A table of rows x cols cells, columns padded to their widest cell. */
struct table {
    char **cell;
    size_t rows, cols, cap;
};

static void tab_row(struct table *t, const char *const *cells)
{
    XGROW(t->cell, t->cap, (t->rows + 1) * t->cols);
    for (size_t j = 0; j < t->cols; j++)
        t->cell[t->rows * t->cols + j] = xstrdup(cells[j] ? cells[j] : "");
    t->rows++;
}

static void tab_free(struct table *t)
{
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cell[i]);
    free(t->cell);
    memset(t, 0, sizeof *t);
}

static void tab_print(FILE *fp, struct table *t, const char *indent)
{
    size_t w[16] = {0};
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < t->cols; j++) {
            size_t len = strlen(t->cell[i * t->cols + j]);
            if (len > w[j])
                w[j] = len;
        }
    for (size_t i = 0; i < t->rows; i++) {
        /* Trailing empty cells print nothing, so lines carry no padding. */
        size_t last = t->cols;
        while (last > 0 && !*t->cell[i * t->cols + last - 1])
            last--;
        fputs(indent, fp);
        for (size_t j = 0; j < last; j++)
            if (j + 1 < last)
                fprintf(fp, "%-*s  ", (int)w[j], t->cell[i * t->cols + j]);
            else
                fputs(t->cell[i * t->cols + j], fp);
        fputc('\n', fp);
    }
    tab_free(t);
}

#define CURVE_SHOWN 20

void ms_print_table(FILE *fp, const struct ms_list *l)
{
    /* Tasks in order of first appearance. */
    for (size_t i = 0; i < l->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(l->r[j].task, l->r[i].task) == 0;
        if (seen)
            continue;
        const char *task = l->r[i].task;
        fprintf(fp, "%s%s\n", i ? "\n" : "", task);
        struct table t = {.cols = 7};
        const char *head[] = {"metric", "group", "value", "interval", "p", "n", NULL};
        tab_row(&t, head);
        for (size_t k = i; k < l->n; k++) {
            const struct ms_rec *r = &l->r[k];
            if (strcmp(r->task, task) != 0 || r->npts || r->has_profile)
                continue;
            char v[32], lo[32], hi[32], ci[80] = "", p[32] = "", n[32] = "";
            ms_fmt(v, sizeof v, r->value);
            if (r->has_ci)
                snprintf(ci, sizeof ci, "%s to %s", ms_fmt(lo, sizeof lo, r->lo),
                         ms_fmt(hi, sizeof hi, r->hi));
            if (r->has_p)
                ms_fmt(p, sizeof p, r->p);
            if (r->has_n)
                snprintf(n, sizeof n, "%llu", (unsigned long long)r->n);
            const char *row[] = {r->metric, r->group, v, ci, p, n, NULL};
            tab_row(&t, row);
        }
        if (t.rows > 1)
            tab_print(fp, &t, "  ");
        else
            tab_free(&t);
        /* Curves and profiles. */
        for (size_t k = i; k < l->n; k++) {
            const struct ms_rec *r = &l->r[k];
            if (strcmp(r->task, task) != 0)
                continue;
            char a[32], b[32];
            if (r->npts) {
                fprintf(fp, "  %s%s%s%s: %zu points, area %s", r->metric, r->group ? " (" : "",
                        r->group ? r->group : "", r->group ? ")" : "", r->npts,
                        ms_fmt(a, sizeof a, r->value));
                if (r->npts > CURVE_SHOWN) {
                    fputs(" (drawn by --html)\n", fp);
                    continue;
                }
                fputc('\n', fp);
                struct table c = {.cols = 2};
                const char *h[] = {"x", "y"};
                tab_row(&c, h);
                for (size_t q = 0; q < r->npts; q++) {
                    const char *row[] = {ms_fmt(a, sizeof a, r->x[q]), ms_fmt(b, sizeof b, r->y[q])};
                    tab_row(&c, row);
                }
                tab_print(fp, &c, "    ");
            }
            if (r->has_profile) {
                fprintf(fp, "  profile of segment %s: %s rows (share %s)\n", r->group ? r->group : "?",
                        ms_fmt(a, sizeof a, r->size), ms_fmt(b, sizeof b, r->share));
                struct table c = {.cols = 3};
                const char *h[] = {"feature", "mean", r->z ? "z" : NULL};
                tab_row(&c, h);
                for (size_t q = 0; q < r->nfeat; q++) {
                    char zz[32] = "";
                    if (r->z)
                        ms_fmt(zz, sizeof zz, r->z[q]);
                    const char *row[] = {r->names[q], ms_fmt(a, sizeof a, r->means[q]), zz};
                    tab_row(&c, row);
                }
                tab_print(fp, &c, "    ");
            }
        }
    }
    for (size_t i = 0; i < l->nnotes; i++)
        fprintf(fp, "%snote: %s\n", i ? "" : "\n", l->notes[i]);
}

void ms_print_changes(FILE *fp, const struct ms_change *c, size_t n)
{
    fprintf(fp, "\ncompared with the earlier run\n");
    struct table t = {.cols = 6};
    const char *head[] = {"task", "metric", "before", "now", "change", ""};
    tab_row(&t, head);
    for (size_t i = 0; i < n; i++) {
        const struct ms_rec *r = c[i].cur ? c[i].cur : c[i].old;
        char key[256], a[32] = "", b[32] = "", d[40] = "";
        if (c[i].old)
            ms_fmt(a, sizeof a, c[i].old->value);
        if (c[i].cur)
            ms_fmt(b, sizeof b, c[i].cur->value);
        const char *what = "";
        if (!c[i].old)
            what = "new";
        else if (!c[i].cur)
            what = "gone";
        else {
            char dd[32];
            snprintf(d, sizeof d, "%s%s", c[i].delta > 0 ? "+" : "", ms_fmt(dd, sizeof dd, c[i].delta));
            what = c[i].dir == 0 || c[i].delta == 0 ? "" : c[i].worse ? "worse" : "better";
        }
        const char *row[] = {r->task, ms_key(r, key, sizeof key), a, b, d, what};
        tab_row(&t, row);
    }
    tab_print(fp, &t, "  ");
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_num(FILE *fp, double v)
{
    char buf[NUM_BUF];
    if (!isfinite(v)) {
        fputs("null", fp);
        return;
    }
    num_fmt_f64(buf, v);
    fputs(buf, fp);
}

static void json_key(FILE *fp, const char *k, bool *first)
{
    if (!*first)
        putc(',', fp);
    *first = false;
    json_put_string(fp, k, strlen(k));
    putc(':', fp);
}

static void json_str(FILE *fp, const char *s) { json_put_string(fp, s, strlen(s)); }

/* The keys that name a metric: task, metric and group (when it has one). */
static void json_ident(FILE *fp, const struct ms_rec *r, bool *first)
{
    json_key(fp, "task", first);
    json_str(fp, r->task);
    json_key(fp, "metric", first);
    json_str(fp, r->metric);
    if (r->group) {
        json_key(fp, "group", first);
        json_str(fp, r->group);
    }
}

static void json_rec(FILE *fp, const struct ms_rec *r)
{
    bool first = true;
    putc('{', fp);
    json_ident(fp, r, &first);
    json_key(fp, "value", &first);
    json_num(fp, r->value);
    if (r->has_ci) {
        json_key(fp, "lo", &first);
        json_num(fp, r->lo);
        json_key(fp, "hi", &first);
        json_num(fp, r->hi);
    }
    if (r->has_p) {
        json_key(fp, "p", &first);
        json_num(fp, r->p);
    }
    if (r->has_n) {
        json_key(fp, "n", &first);
        fprintf(fp, "%llu", (unsigned long long)r->n);
    }
    if (r->has_se) {
        json_key(fp, "se", &first);
        json_num(fp, r->se);
    }
    if (r->has_stat) {
        json_key(fp, "stat", &first);
        json_num(fp, r->stat);
    }
    if (r->npts) {
        for (int a = 0; a < 2; a++) {
            json_key(fp, a ? "y" : "x", &first);
            putc('[', fp);
            for (size_t i = 0; i < r->npts; i++) {
                if (i)
                    putc(',', fp);
                json_num(fp, a ? r->y[i] : r->x[i]);
            }
            putc(']', fp);
        }
    }
    if (r->has_profile) {
        json_key(fp, "size", &first);
        json_num(fp, r->size);
        json_key(fp, "share", &first);
        json_num(fp, r->share);
        for (int m = 0; m < 1 + (r->z != NULL); m++) {
            json_key(fp, m ? "z" : "means", &first);
            putc('{', fp);
            for (size_t i = 0; i < r->nfeat; i++) {
                if (i)
                    putc(',', fp);
                json_str(fp, r->names[i]);
                putc(':', fp);
                json_num(fp, m ? r->z[i] : r->means[i]);
            }
            putc('}', fp);
        }
    }
    putc('}', fp);
}

void ms_print_json(FILE *fp, const struct ms_list *l, const struct ms_change *c, size_t nc)
{
    fputs("{\"metrics\":[", fp);
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            putc(',', fp);
        json_rec(fp, &l->r[i]);
    }
    fputs("],\"notes\":[", fp);
    for (size_t i = 0; i < l->nnotes; i++) {
        if (i)
            putc(',', fp);
        json_str(fp, l->notes[i]);
    }
    putc(']', fp);
    if (c) {
        fputs(",\"compare\":[", fp);
        for (size_t i = 0; i < nc; i++) {
            const struct ms_rec *r = c[i].cur ? c[i].cur : c[i].old;
            bool first = true;
            if (i)
                putc(',', fp);
            putc('{', fp);
            json_ident(fp, r, &first);
            json_key(fp, "before", &first);
            json_num(fp, c[i].old ? c[i].old->value : NAN);
            json_key(fp, "now", &first);
            json_num(fp, c[i].cur ? c[i].cur->value : NAN);
            json_key(fp, "change", &first);
            json_num(fp, c[i].delta);
            json_key(fp, "better", &first);
            fputs(c[i].dir > 0 ? "\"higher\"" : c[i].dir < 0 ? "\"lower\"" : "null", fp);
            json_key(fp, "worse", &first);
            fputs(c[i].worse ? "true" : "false", fp);
            putc('}', fp);
        }
        putc(']', fp);
    }
    fputs("}\n", fp);
}
