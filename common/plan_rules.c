/* plan: per-segment rules and segment-level effects from past campaigns. */
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bsrc.h"
#include "cli.h"
#include "csv.h"
#include "diag.h"
#include "numfmt.h"
#include "rec.h"
#include "stream.h"
#include "xalloc.h"

/* ---- segment rules ------------------------------------------------------- */

void plan_rules_init(struct plan_rules *r)
{
    memset(r, 0, sizeof *r);
    sm_init(&r->exclude);
    sm_init(&r->capped);
}

void plan_rules_release(struct plan_rules *r)
{
    sm_release(&r->exclude);
    sm_release(&r->capped);
    free(r->cap);
    memset(r, 0, sizeof *r);
}

bool plan_rules_any(const struct plan_rules *r)
{
    return sm_count(&r->exclude) > 0 || sm_count(&r->capped) > 0;
}

void plan_rules_exclude(struct plan_rules *r, const char *arg)
{
    int n;
    char **v = cli_list(arg, &n);
    for (int i = 0; i < n; i++) {
        if (!*v[i])
            die_usage("--exclude-segment: empty segment name in \"%s\"", arg);
        sm_intern(&r->exclude, v[i], strlen(v[i]));
    }
    free(v);
}

void plan_rules_cap(struct plan_rules *r, const char *arg)
{
    int n;
    char **v = cli_list(arg, &n);
    for (int i = 0; i < n; i++) {
        char *eq = strchr(v[i], '=');
        if (!eq || eq == v[i])
            die_usage("--cap-segment: expected SEGMENT=USERS, got \"%s\"", v[i]);
        *eq = '\0';
        int64_t c = cli_int("--cap-segment", eq + 1, 0, INT64_MAX);
        if (sm_find(&r->capped, v[i], strlen(v[i])) >= 0)
            die_usage("--cap-segment: segment \"%s\" capped twice", v[i]);
        uint32_t id = sm_intern(&r->capped, v[i], strlen(v[i]));
        XGROW(r->cap, r->capcap, (size_t)id + 1);
        r->cap[id] = c;
    }
    free(v);
}

/* ---- segment-level effects ------------------------------------------------ */

static void effects_set(struct plan_effects *e, const char *seg, size_t seglen, int o,
                        const char *offer, double u, const char *where)
{
    double *slot;
    if (!seg) {
        slot = &e->all[o];
    } else {
        uint32_t s = sm_intern(&e->segs, seg, seglen);
        if ((size_t)(s + 1) * e->noffers > e->cap) {
            size_t old = e->cap;
            XGROW(e->seg_uplift, e->cap, (size_t)(s + 1) * e->noffers);
            for (size_t k = old; k < e->cap; k++)
                e->seg_uplift[k] = NAN;
        }
        slot = &e->seg_uplift[(size_t)s * e->noffers + o];
    }
    if (!isnan(*slot)) {
        if (seg)
            die("%s: the effect of offer \"%s\" in segment \"%.*s\" is given twice", where, offer,
                (int)seglen, seg);
        die("%s: the effect of offer \"%s\" (in no segment) is given twice", where, offer);
    }
    *slot = u;
    e->nrecords++;
}

static bool is_csv_name(const char *path)
{
    size_t n = strlen(path);
    return (n >= 4 && strcmp(path + n - 4, ".csv") == 0) ||
           (n >= 7 && strcmp(path + n - 7, ".csv.gz") == 0);
}

/* The text of a segment field (an integer or a string) into buf. */
static bool segment_text(rs *r, const char *key, char *buf, size_t cap, const char **s, size_t *len)
{
    const msgpack_object *v = rec_field(r, key);
    if (!v)
        return false;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *len = (size_t)snprintf(buf, cap, "%llu", (unsigned long long)v->via.u64);
        *s = buf;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *len = (size_t)snprintf(buf, cap, "%lld", (long long)v->via.i64);
        *s = buf;
        return true;
    case MSGPACK_OBJECT_STR:
        *s = v->via.str.ptr;
        *len = v->via.str.size;
        return true;
    default:
        rs_die(r, "field \"%s\": expected an integer or a string, got %s", key, mp_type_name(v));
    }
}

static void effects_stream(struct plan_effects *e, const char *path, const struct plan_offers *offers)
{
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, NULL);
    bool metrics = strcmp(rs_kind(r), "metrics") == 0;
    char buf[32];
    while (rs_next(r)) {
        const char *off, *seg = NULL;
        size_t offlen, seglen = 0;
        double u;
        if (metrics) {
            const char *task, *metric;
            size_t tl, ml;
            if (!rec_opt_str(r, "task", &task, &tl) || tl != 6 || memcmp(task, "effect", 6) != 0)
                continue;
            if (!rec_opt_str(r, "metric", &metric, &ml) || ml != 8 || memcmp(metric, "abs_lift", 8) != 0)
                continue;
            offlen = rec_str(r, "group", &off);
            u = rec_f64(r, "value");
        } else {
            offlen = rec_str(r, "offer", &off);
            u = rec_f64(r, "uplift");
        }
        segment_text(r, "segment", buf, sizeof buf, &seg, &seglen);
        int o = plan_offer_find(offers, off, offlen);
        if (o < 0)
            rs_die(r, "field \"%s\": offer \"%.*s\" is not in the offer table", metrics ? "group" : "offer",
                   (int)offlen, off);
        if (!isfinite(u))
            rs_die(r, "field \"%s\": expected a finite number, got %g", metrics ? "value" : "uplift", u);
        effects_set(e, seg, seglen, o, offers->o[o].id, u, rs_where(r));
    }
    rs_free(r);
}

static void effects_csv(struct plan_effects *e, const char *path, const struct plan_offers *offers)
{
    bsrc *bs = bs_open(path);
    struct csv c;
    csv_init(&c, bs, ',', true);
    int col_off = -1, col_up = -1, col_seg = -1;
    for (bool header = true;; header = false) {
        int n = csv_next(&c);
        if (n < 0)
            die("%s: line %llu: %s", path, (unsigned long long)c.err_line, c.err);
        if (n == 0) {
            if (header)
                die("%s: empty file (expected a header line: segment,offer,uplift)", path);
            break;
        }
        if (header) {
            for (int f = 0; f < n; f++) {
                const struct csv_field *fl = &c.fields[f];
                int *col = fl->len == 5 && memcmp(fl->ptr, "offer", 5) == 0 ? &col_off
                         : fl->len == 6 && memcmp(fl->ptr, "uplift", 6) == 0 ? &col_up
                         : fl->len == 7 && memcmp(fl->ptr, "segment", 7) == 0 ? &col_seg : NULL;
                if (!col)
                    die("%s: line 1, column %d: unknown column \"%.*s\" (expected segment, offer, uplift)",
                        path, f + 1, (int)(fl->len > 40 ? 40 : fl->len), fl->ptr);
                if (*col >= 0)
                    die("%s: line 1, column %d: column \"%.*s\" given twice", path, f + 1, (int)fl->len, fl->ptr);
                *col = f;
            }
            if (col_off < 0 || col_up < 0)
                die("%s: line 1: missing column \"%s\"", path, col_off < 0 ? "offer" : "uplift");
            continue;
        }
        int need = col_off > col_up ? col_off : col_up;
        if (col_seg > need)
            need = col_seg;
        if (n <= need)
            die("%s: line %llu: expected %d fields, got %d", path, (unsigned long long)c.line, need + 1, n);
        const struct csv_field *fo = &c.fields[col_off], *fu = &c.fields[col_up];
        int o = plan_offer_find(offers, fo->ptr, fo->len);
        if (o < 0)
            die("%s: line %llu, column %d: offer \"%.*s\" is not in the offer table", path,
                (unsigned long long)c.line, col_off + 1, (int)(fo->len > 40 ? 40 : fo->len), fo->ptr);
        double u;
        if (!num_parse_f64(fu->ptr, fu->len, &u))
            die("%s: line %llu, column %d: \"uplift\": expected a number, got \"%.*s\"", path,
                (unsigned long long)c.line, col_up + 1, (int)(fu->len > 40 ? 40 : fu->len), fu->ptr);
        const char *seg = NULL;
        size_t seglen = 0;
        if (col_seg >= 0 && c.fields[col_seg].len > 0) {
            seg = c.fields[col_seg].ptr;
            seglen = c.fields[col_seg].len;
        }
        char where[64 + 4096];
        snprintf(where, sizeof where, "%s: line %llu", path, (unsigned long long)c.line);
        effects_set(e, seg, seglen, o, offers->o[o].id, u, where);
    }
    csv_release(&c);
    bs_free(bs);
}

void plan_effects_load(struct plan_effects *e, const char *path, const struct plan_offers *offers)
{
    memset(e, 0, sizeof *e);
    sm_init(&e->segs);
    e->noffers = offers->n;
    for (int o = 0; o < PLAN_MAX_OFFERS; o++)
        e->all[o] = NAN;
    if (is_csv_name(path))
        effects_csv(e, path, offers);
    else
        effects_stream(e, path, offers);
    if (e->nrecords == 0)
        die("%s: no effects (expected abs_lift records of promo-evaluate --task effect, or "
            "offer,uplift rows)", path);
}

void plan_effects_release(struct plan_effects *e)
{
    sm_release(&e->segs);
    free(e->seg_uplift);
    memset(e, 0, sizeof *e);
}

double plan_effects_get(const struct plan_effects *e, const char *seg, size_t len, int o)
{
    if (seg) {
        int64_t s = sm_find(&e->segs, seg, len);
        if (s >= 0 && !isnan(e->seg_uplift[(size_t)s * e->noffers + o]))
            return e->seg_uplift[(size_t)s * e->noffers + o];
    }
    return e->all[o];
}
