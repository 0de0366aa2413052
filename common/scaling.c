/* Feature scaling statistics: fitting, writing, reading, applying. */
#include "scaling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "rec.h"
#include "stream.h"
#include "xalloc.h"

const char *const sc_method_names[2] = {"standard", "robust"};

struct sc_fit {
    int nfeat;
    char **names;
    enum sc_method method;
    uint64_t rows;
    double *mean, *m2;         /* Welford, per feature */
    double *sample;            /* robust: [SC_SAMPLE x nfeat] rows */
    size_t nsample;
    struct rng rng;
};

sc_fit *sc_fit_new(int nfeat, const char *const *names, enum sc_method method, uint64_t seed)
{
    sc_fit *f = xcalloc(1, sizeof *f);
    f->nfeat = nfeat;
    f->method = method;
    f->names = xcalloc((size_t)nfeat + 1, sizeof *f->names);
    for (int i = 0; i < nfeat; i++)
        f->names[i] = xstrdup(names[i]);
    f->mean = xcalloc((size_t)nfeat + 1, sizeof *f->mean);
    f->m2 = xcalloc((size_t)nfeat + 1, sizeof *f->m2);
    rng_init(&f->rng, seed);
    return f;
}

void sc_fit_add(sc_fit *f, const double *x)
{
    f->rows++;
    double n = (double)f->rows;
    for (int i = 0; i < f->nfeat; i++) {
        double d = x[i] - f->mean[i];
        f->mean[i] += d / n;
        f->m2[i] += d * (x[i] - f->mean[i]);
    }
    if (f->method != SC_ROBUST)
        return;
    /* Reservoir sampling: row r (1-based) replaces a random slot with
     * probability SC_SAMPLE / r. */
    size_t slot;
    if (f->nsample < SC_SAMPLE) {
        if (!f->sample)
            f->sample = xreallocarray(NULL, (size_t)SC_SAMPLE * (size_t)f->nfeat + 1, sizeof *f->sample);
        slot = f->nsample++;
    } else {
        slot = (size_t)rng_below(&f->rng, f->rows);
        if (slot >= SC_SAMPLE)
            return;
    }
    memcpy(f->sample + slot * (size_t)f->nfeat, x, (size_t)f->nfeat * sizeof *x);
}

static int cmp_f64(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double sc_quantile(const double *v, size_t n, double q)
{
    double h = (double)(n - 1) * q;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

void sc_fit_write(sc_fit *f, ws *w, const char *view)
{
    ws_opt_str(w, "view", view);
    ws_opt_str(w, "method", sc_method_names[f->method]);
    ws_opt_int(w, "rows", (int64_t)f->rows);
    ws_opt_int(w, "sample", (int64_t)(f->method == SC_ROBUST ? f->nsample : f->rows));
    ws_header(w, "stats");
    double *col = f->method == SC_ROBUST ? xcalloc(f->nsample + 1, sizeof *col) : NULL;
    for (int i = 0; i < f->nfeat; i++) {
        double mean = f->rows ? f->mean[i] : 0;
        double sd = f->rows ? sqrt(f->m2[i] / (double)f->rows) : 0;
        double median = 0, iqr = 0;
        if (col && f->nsample > 0) {
            for (size_t r = 0; r < f->nsample; r++)
                col[r] = f->sample[r * (size_t)f->nfeat + (size_t)i];
            qsort(col, f->nsample, sizeof *col, cmp_f64);
            median = sc_quantile(col, f->nsample, 0.5);
            iqr = sc_quantile(col, f->nsample, 0.75) - sc_quantile(col, f->nsample, 0.25);
        }
        double centre = f->method == SC_ROBUST ? median : mean;
        double scale = f->method == SC_ROBUST ? iqr : sd;
        if (!(scale > 0))
            scale = 1;
        msgpack_packer *pk = ws_pk(w);
        msgpack_pack_map(pk, col ? 7 : 5);
        mp_pack_str(pk, "feature");
        mp_pack_str(pk, f->names[i]);
        mp_pack_str(pk, "centre");
        msgpack_pack_double(pk, centre);
        mp_pack_str(pk, "scale");
        msgpack_pack_double(pk, scale);
        mp_pack_str(pk, "mean");
        msgpack_pack_double(pk, mean);
        mp_pack_str(pk, "sd");
        msgpack_pack_double(pk, sd);
        if (col) {
            mp_pack_str(pk, "median");
            msgpack_pack_double(pk, median);
            mp_pack_str(pk, "iqr");
            msgpack_pack_double(pk, iqr);
        }
        ws_end(w);
    }
    free(col);
    ws_close(w);
}

void sc_fit_free(sc_fit *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nfeat; i++)
        free(f->names[i]);
    free(f->names);
    free(f->mean);
    free(f->m2);
    free(f->sample);
    free(f);
}

/* ---- reading and applying ------------------------------------------------ */

static char *opt_str(rs *r, const char *key)
{
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    const msgpack_object *v = opts ? mp_map_get(opts, key) : NULL;
    if (!v || v->type != MSGPACK_OBJECT_STR)
        die("%s: header: option \"%s\": expected a string (is it from promo-featurize --fit-stats?)",
            rs_file(r), key);
    return xstrndup(v->via.str.ptr, v->via.str.size);
}

void sc_load(struct sc_stats *s, const char *path)
{
    memset(s, 0, sizeof *s);
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, "stats");
    s->view = opt_str(r, "view");
    s->method = opt_str(r, "method");
    size_t cap = 0, cap2 = 0, cap3 = 0;
    while (rs_next(r)) {
        const char *name;
        size_t n = rec_str(r, "feature", &name);
        double c = rec_f64(r, "centre"), k = rec_f64(r, "scale");
        if (!isfinite(c) || !(k > 0) || !isfinite(k))
            rs_die(r, "feature \"%.*s\": expected a finite centre and a positive scale", (int)n, name);
        for (int i = 0; i < s->n; i++)
            if (strlen(s->names[i]) == n && memcmp(s->names[i], name, n) == 0)
                rs_die(r, "feature \"%.*s\": given twice", (int)n, name);
        XGROW(s->names, cap, (size_t)s->n + 1);
        XGROW(s->centre, cap2, (size_t)s->n + 1);
        XGROW(s->scale, cap3, (size_t)s->n + 1);
        s->names[s->n] = xstrndup(name, n);
        s->centre[s->n] = c;
        s->scale[s->n] = k;
        s->n++;
    }
    rs_free(r);
}

void sc_match(struct sc_stats *s, const char *path, int nfeat, const char *const *names)
{
    double *c = xcalloc((size_t)nfeat + 1, sizeof *c), *k = xcalloc((size_t)nfeat + 1, sizeof *k);
    for (int i = 0; i < nfeat; i++) {
        int j = 0;
        while (j < s->n && strcmp(s->names[j], names[i]) != 0)
            j++;
        if (j == s->n)
            die("%s: no statistics for feature \"%s\" (fitted on view %s; use the same view and "
                "--categories for --fit-stats and --stats)", path, names[i], s->view);
        c[i] = s->centre[j];
        k[i] = s->scale[j];
    }
    if (s->n != nfeat) {
        for (int j = 0; j < s->n; j++) {
            int i = 0;
            while (i < nfeat && strcmp(s->names[j], names[i]) != 0)
                i++;
            if (i == nfeat)
                die("%s: feature \"%s\" is not among this view's features (fitted on view %s)", path,
                    s->names[j], s->view);
        }
    }
    for (int j = 0; j < s->n; j++)
        free(s->names[j]);
    free(s->centre);
    free(s->scale);
    s->names = xreallocarray(s->names, (size_t)nfeat + 1, sizeof *s->names);
    for (int i = 0; i < nfeat; i++)
        s->names[i] = xstrdup(names[i]);
    s->centre = c;
    s->scale = k;
    s->n = nfeat;
}

void sc_apply(const struct sc_stats *s, double *x)
{
    for (int i = 0; i < s->n; i++)
        x[i] = (x[i] - s->centre[i]) / s->scale[i];
}

void sc_release(struct sc_stats *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    free(s->centre);
    free(s->scale);
    free(s->view);
    free(s->method);
    memset(s, 0, sizeof *s);
}
