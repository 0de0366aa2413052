#include "report_html.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char *const palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define NPAL (sizeof palette / sizeof *palette)

/* ---- text --------------------------------------------------------------- */

static void esc(FILE *fp, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&#39;", fp); break;
        default: putc(*s, fp);
        }
    }
}

/* Labels longer than max characters are cut with an ellipsis (UTF-8 safe). */
static void esc_cut(FILE *fp, const char *s, int max)
{
    int chars = 0;
    const char *p = s;
    for (; *p; p++) {
        if (((unsigned char)*p & 0xc0) != 0x80 && ++chars > max)
            break;
    }
    if (!*p) {
        esc(fp, s);
        return;
    }
    char *t = xstrndup(s, (size_t)(p - s));
    esc(fp, t);
    fputs("\xe2\x80\xa6", fp);
    free(t);
}

static const char *num(char *buf, size_t len, double v) { return ms_fmt(buf, len, v); }

/* ---- scales and axes ------------------------------------------------------ */

struct scale {
    double d0, d1;    /* domain */
    double r0, r1;    /* range in pixels */
};

static double sc(const struct scale *s, double v)
{
    if (s->d1 == s->d0)
        return (s->r0 + s->r1) / 2;
    return s->r0 + (v - s->d0) / (s->d1 - s->d0) * (s->r1 - s->r0);
}

static double nice_step(double span, int want)
{
    double raw = span / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

/* Widen [lo, hi] to tick multiples; a zero-width domain gets some room. */
static void nice_domain(double *lo, double *hi)
{
    if (!(isfinite(*lo) && isfinite(*hi))) {
        *lo = 0;
        *hi = 1;
    }
    if (*hi == *lo) {
        double pad = *lo == 0 ? 1 : fabs(*lo) * 0.1;
        *lo -= pad;
        *hi += pad;
    }
    double st = nice_step(*hi - *lo, 5);
    *lo = floor(*lo / st) * st;
    *hi = ceil(*hi / st) * st;
}

static void axis_x(FILE *fp, const struct scale *x, double ybase, const char *label)
{
    double st = nice_step(x->d1 - x->d0, 5);
    char b[32];
    fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x->r0,
            ybase, x->r1, ybase);
    for (double t = ceil(x->d0 / st - 1e-9) * st; t <= x->d1 + st * 1e-9; t += st) {
        double px = sc(x, t);
        fprintf(fp, "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                px, ybase, px, ybase + 4, px, ybase + 15, num(b, sizeof b, fabs(t) < st * 1e-9 ? 0 : t));
    }
    if (label) {
        fprintf(fp, "<text class=\"al\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                (x->r0 + x->r1) / 2, ybase + 30);
        esc(fp, label);
        fputs("</text>\n", fp);
    }
}

static void axis_y(FILE *fp, const struct scale *y, double xbase, double xend, const char *label)
{
    double st = nice_step(y->d1 - y->d0, 5);
    char b[32];
    for (double t = ceil(y->d0 / st - 1e-9) * st; t <= y->d1 + st * 1e-9; t += st) {
        double py = sc(y, t);
        fprintf(fp, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"tl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                xbase, py, xend, py, xbase - 4, py + 3, num(b, sizeof b, fabs(t) < st * 1e-9 ? 0 : t));
    }
    fprintf(fp, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", xbase,
            y->r0, xbase, y->r1);
    if (label) {
        double cy = (y->r0 + y->r1) / 2;
        fprintf(fp, "<text class=\"al\" x=\"12\" y=\"%.1f\" text-anchor=\"middle\" "
                "transform=\"rotate(-90 12 %.1f)\">", cy, cy);
        esc(fp, label);
        fputs("</text>\n", fp);
    }
}

static void svg_open(FILE *fp, const char *kind, const char *metric, int w, int h, const char *title)
{
    fprintf(fp, "<figure><svg class=\"chart\" data-chart=\"%s\" data-metric=\"", kind);
    esc(fp, metric);
    fprintf(fp, "\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">\n<title>", w, h, w, h);
    esc(fp, title);
    fputs("</title>\n", fp);
}

static void svg_close(FILE *fp, const char *caption)
{
    fputs("</svg><figcaption>", fp);
    esc(fp, caption);
    fputs("</figcaption></figure>\n", fp);
}

/* ---- line charts: curves and history ---------------------------------------- */

struct series {
    const char *name;
    const double *x, *y;
    size_t n;
};

enum refline { REF_NONE, REF_DIAGONAL, REF_RANDOM };

#define CW 360
#define CH 280
#define ML 58
#define MR 14
#define MT 14
#define MB 44

static void line_chart(FILE *fp, const char *kind, const char *metric, const char *title,
                       const struct series *s, size_t ns, enum refline ref, const char *xl,
                       const char *yl, const char *const *xticks)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (size_t k = 0; k < ns; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            if (isfinite(s[k].x[i])) {
                x0 = fmin(x0, s[k].x[i]);
                x1 = fmax(x1, s[k].x[i]);
            }
            if (isfinite(s[k].y[i])) {
                y0 = fmin(y0, s[k].y[i]);
                y1 = fmax(y1, s[k].y[i]);
            }
        }
    if (ref == REF_DIAGONAL) {
        x0 = fmin(x0, 0), x1 = fmax(x1, 1), y0 = fmin(y0, 0), y1 = fmax(y1, 1);
    }
    if (!xticks)
        nice_domain(&x0, &x1);
    nice_domain(&y0, &y1);
    int legend = ns > 1 ? (int)ns * 16 + 4 : 0;
    int h = CH + legend;
    struct scale X = {x0, x1, ML, CW - MR}, Y = {y0, y1, CH - MB, MT};
    if (xticks) {   /* categorical x: cycles 0 .. n-1 */
        X.d0 = 0;
        X.d1 = s[0].n > 1 ? (double)s[0].n - 1 : 1;
        X.r0 = ML + 20;
        X.r1 = CW - MR - 20;
    }
    svg_open(fp, kind, metric, CW, h, title);
    axis_y(fp, &Y, ML, CW - MR, yl);
    if (xticks) {
        fprintf(fp, "<line class=\"axis\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", ML,
                Y.r0, CW - MR, Y.r0);
        for (size_t i = 0; i < s[0].n; i++) {
            fprintf(fp, "<text class=\"tl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                    sc(&X, (double)i), Y.r0 + 15);
            esc_cut(fp, xticks[i], 12);
            fputs("</text>\n", fp);
        }
    } else {
        axis_x(fp, &X, Y.r0, xl);
    }
    for (size_t k = 0; k < ns; k++) {
        const char *col = palette[k % NPAL];
        if (ref == REF_RANDOM && s[k].n > 0)
            fprintf(fp, "<line class=\"ref\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\"/>\n", sc(&X, s[k].x[0]), sc(&Y, s[k].y[0]),
                    sc(&X, s[k].x[s[k].n - 1]), sc(&Y, s[k].y[s[k].n - 1]), col);
    }
    if (ref == REF_DIAGONAL)
        fprintf(fp, "<line class=\"ref\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                sc(&X, 0), sc(&Y, 0), sc(&X, 1), sc(&Y, 1));
    for (size_t k = 0; k < ns; k++) {
        const char *col = palette[k % NPAL];
        fprintf(fp, "<path class=\"series\" fill=\"none\" stroke=\"%s\" d=\"", col);
        bool pen = false;
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) {
                pen = false;
                continue;
            }
            fprintf(fp, "%c%.1f %.1f", pen ? 'L' : 'M', sc(&X, s[k].x[i]), sc(&Y, s[k].y[i]));
            pen = true;
        }
        fputs("\"/>\n", fp);
        if (s[k].n <= 24)   /* few points: mark them */
            for (size_t i = 0; i < s[k].n; i++)
                if (isfinite(s[k].x[i]) && isfinite(s[k].y[i]))
                    fprintf(fp, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                            sc(&X, s[k].x[i]), sc(&Y, s[k].y[i]), col);
        if (ns > 1) {
            double ly = CH + 4 + 16 * (double)k;
            fprintf(fp, "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"10\" fill=\"%s\"/>"
                    "<text class=\"tl\" x=\"%d\" y=\"%.1f\">", ML, ly, col, ML + 16, ly + 9);
            esc_cut(fp, s[k].name ? s[k].name : "", 40);
            fputs("</text>\n", fp);
        }
    }
    char cap[160];
    snprintf(cap, sizeof cap, "%s", title);
    svg_close(fp, cap);
}

/* ---- bars and intervals ----------------------------------------------------------- */

struct bar {
    const char *label;
    double v, lo, hi;
    bool ci;
};

/* Horizontal bars from zero (dots when dots is set, as in a forest plot),
 * with interval whiskers. */
static void bar_chart(FILE *fp, const char *kind, const char *metric, const char *title,
                      const struct bar *b, size_t n, bool dots, const char *xl)
{
    const int lm = 150, rowh = 22;
    double x0 = 0, x1 = 0;
    for (size_t i = 0; i < n; i++) {
        double lo = b[i].ci ? b[i].lo : b[i].v, hi = b[i].ci ? b[i].hi : b[i].v;
        if (isfinite(lo))
            x0 = fmin(x0, fmin(lo, b[i].v));
        if (isfinite(hi))
            x1 = fmax(x1, fmax(hi, b[i].v));
    }
    nice_domain(&x0, &x1);
    int h = MT + (int)n * rowh + MB;
    struct scale X = {x0, x1, lm, CW - MR};
    svg_open(fp, kind, metric, CW, h, title);
    double ybase = MT + (double)n * rowh;
    double st = nice_step(x1 - x0, 5);
    for (double t = ceil(x0 / st - 1e-9) * st; t <= x1 + st * 1e-9; t += st)
        fprintf(fp, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                sc(&X, t), MT, sc(&X, t), ybase);
    axis_x(fp, &X, ybase, xl);
    double zx = sc(&X, 0);
    for (size_t i = 0; i < n; i++) {
        double cy = MT + rowh * ((double)i + 0.5);
        const char *col = palette[0];
        fprintf(fp, "<text class=\"tl\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", lm - 6, cy + 4);
        esc_cut(fp, b[i].label, 22);
        fputs("</text>\n", fp);
        if (!isfinite(b[i].v))
            continue;
        double vx = sc(&X, b[i].v);
        if (dots)
            fprintf(fp, "<circle class=\"dot\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", vx,
                    cy, col);
        else
            fprintf(fp, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
                    "fill=\"%s\"/>\n", fmin(zx, vx), cy - rowh * 0.35, fabs(vx - zx),
                    (int)(rowh * 0.7), col);
        if (b[i].ci && isfinite(b[i].lo) && isfinite(b[i].hi)) {
            double a = sc(&X, b[i].lo), c = sc(&X, b[i].hi);
            fprintf(fp, "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                    "<line class=\"ci\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
                    a, cy, c, cy, a, cy - 5, a, cy + 5, c, cy - 5, c, cy + 5);
        }
    }
    fprintf(fp, "<line class=\"zero\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\"/>\n", zx, MT,
            zx, ybase);
    svg_close(fp, title);
}

/* ---- segment profiles as a heat map ---------------------------------------------- */

static void heat_colour(char *buf, size_t len, double z)
{
    /* Diverging: blue below the mean, white at it, red above; |z| >= 2 full. */
    double t = fmax(-1, fmin(1, isfinite(z) ? z / 2 : 0));
    int r, g, b;
    if (t >= 0) {
        r = 255;
        g = (int)(255 - 170 * t);
        b = (int)(255 - 200 * t);
    } else {
        r = (int)(255 + 200 * t);
        g = (int)(255 + 130 * t);
        b = 255;
    }
    snprintf(buf, len, "rgb(%d,%d,%d)", r, g, b);
}

static void profile_chart(FILE *fp, const char *task, const struct ms_rec *const *p, size_t n)
{
    size_t nf = p[0]->nfeat;
    const int lm = 120, cw = 86, rh = 26, top = 64;
    int w = lm + (int)nf * cw + 80, h = top + (int)n * rh + 16;
    char title[160];
    snprintf(title, sizeof title, "%s: segment profiles (colour: standardised difference from the overall mean)", task);
    svg_open(fp, "profile", "profile", w, h, title);
    for (size_t j = 0; j < nf; j++) {
        fprintf(fp, "<text class=\"tl\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", lm + (int)j * cw + cw / 2, top - 8);
        esc_cut(fp, p[0]->names[j], 12);
        fputs("</text>\n", fp);
    }
    fprintf(fp, "<text class=\"tl\" x=\"%d\" y=\"%d\" text-anchor=\"start\">share</text>\n",
            lm + (int)nf * cw + 6, top - 8);
    /* Without z, standardise each feature over the segments' means. */
    double *zf = xcalloc(nf + 1, sizeof *zf), *mu = xcalloc(nf + 1, sizeof *mu);
    for (size_t j = 0; j < nf; j++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++)
            s += p[i]->means[j];
        mu[j] = s / (double)n;
        for (size_t i = 0; i < n; i++)
            s2 += (p[i]->means[j] - mu[j]) * (p[i]->means[j] - mu[j]);
        zf[j] = sqrt(s2 / (double)n);
    }
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * rh;
        fprintf(fp, "<text class=\"tl\" x=\"%d\" y=\"%d\" text-anchor=\"end\">", lm - 6, y + rh / 2 + 4);
        esc_cut(fp, p[i]->group ? p[i]->group : "?", 16);
        fputs("</text>\n", fp);
        for (size_t j = 0; j < nf && j < p[i]->nfeat; j++) {
            double z = p[i]->z ? p[i]->z[j] : (zf[j] > 0 ? (p[i]->means[j] - mu[j]) / zf[j] : 0);
            char col[32], b[32];
            heat_colour(col, sizeof col, z);
            fprintf(fp, "<rect class=\"cell\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                    "<text class=\"cv\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                    lm + (int)j * cw, y, cw - 2, rh - 2, col, lm + (int)j * cw + cw / 2,
                    y + rh / 2 + 3, num(b, sizeof b, p[i]->means[j]));
        }
        char b[32];
        double share = isfinite(p[i]->share) ? p[i]->share : 0;
        fprintf(fp, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                "<text class=\"tl\" x=\"%.1f\" y=\"%d\">%s</text>\n",
                lm + (int)nf * cw + 6, y + 5, 40 * share, rh - 12, palette[0],
                lm + (double)nf * cw + 10 + 40 * share, y + rh / 2 + 4, num(b, sizeof b, share));
    }
    free(zf);
    free(mu);
    svg_close(fp, title);
}

/* ---- the metrics table --------------------------------------------------------------- */

static void metrics_table(FILE *fp, const struct ms_list *l, const char *task)
{
    /* Long tables fold away (a native <details>, no script needed). */
    size_t rows = 0;
    for (size_t i = 0; i < l->n; i++)
        rows += strcmp(l->r[i].task, task) == 0 && !l->r[i].npts && !l->r[i].has_profile;
    fprintf(fp, "<details%s><summary>all figures (%zu)</summary>\n", rows <= 12 ? " open" : "", rows);
    fputs("<table class=\"metrics\"><thead><tr><th>metric</th><th>group</th><th>value</th>"
          "<th>interval</th><th>p</th><th>n</th></tr></thead><tbody>\n", fp);
    for (size_t i = 0; i < l->n; i++) {
        const struct ms_rec *r = &l->r[i];
        if (strcmp(r->task, task) != 0 || r->npts || r->has_profile)
            continue;
        char a[32], b[32];
        fputs("<tr><td class=\"l\">", fp);
        esc(fp, r->metric);
        fputs("</td><td class=\"l\">", fp);
        if (r->group)
            esc(fp, r->group);
        fprintf(fp, "</td><td>%s</td><td>", num(a, sizeof a, r->value));
        if (r->has_ci)
            fprintf(fp, "%s to %s", num(a, sizeof a, r->lo), num(b, sizeof b, r->hi));
        fputs("</td><td>", fp);
        if (r->has_p)
            fputs(num(a, sizeof a, r->p), fp);
        fputs("</td><td>", fp);
        if (r->has_n)
            fprintf(fp, "%llu", (unsigned long long)r->n);
        fputs("</td></tr>\n", fp);
    }
    fputs("</tbody></table></details>\n", fp);
}

/* ---- one task's charts ---------------------------------------------------------------- */

static bool same_str(const char *a, const char *b) { return a && b ? strcmp(a, b) == 0 : a == b; }

static const char *curve_label(const char *m, const char **xl, const char **yl, enum refline *ref)
{
    *ref = REF_NONE;
    if (strcmp(m, "roc") == 0) {
        *xl = "false positive rate", *yl = "true positive rate", *ref = REF_DIAGONAL;
        return "ROC curve";
    }
    if (strcmp(m, "gains") == 0) {
        *xl = "share targeted (by score)", *yl = "share of positives", *ref = REF_DIAGONAL;
        return "cumulative gains";
    }
    if (strcmp(m, "calibration") == 0) {
        *xl = "mean score (decile)", *yl = "observed rate", *ref = REF_DIAGONAL;
        return "calibration by decile";
    }
    if (strcmp(m, "qini") == 0) {
        *xl = "share targeted (by score)", *yl = "incremental outcome per record", *ref = REF_RANDOM;
        return "Qini curve";
    }
    if (strcmp(m, "uplift") == 0) {
        *xl = "share targeted (by score)", *yl = "uplift x targeted / all", *ref = REF_RANDOM;
        return "uplift curve";
    }
    *xl = "x", *yl = "y";
    return m;
}

/* Per-group figures left to the table, to keep the page readable. */
static bool table_only(const char *metric)
{
    static const char *const skip[] = {"incr_conversions", "incr_outcome", "incr_revenue",
                                       "rev_rel_lift", "cost", "qini_area", "auuc", "qini_coef",
                                       "auuc_coef", "skipped", "sigma", "r2", "adj_r2"};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (strcmp(metric, skip[i]) == 0)
            return true;
    return strncmp(metric, "uplift@", 7) == 0 || strncmp(metric, "uplift_by_group@", 16) == 0;
}

static void task_charts(FILE *fp, const struct ms_list *l, const char *task)
{
    size_t n = l->n;
    bool *done = xcalloc(n + 1, sizeof *done);
    struct series *s = xcalloc(n + 1, sizeof *s);
    struct bar *b = xcalloc(n + 1, sizeof *b);
    const struct ms_rec **pr = xcalloc(n + 1, sizeof *pr);
    char title[300];
    for (size_t i = 0; i < n; i++) {
        const struct ms_rec *r = &l->r[i];
        if (done[i] || strcmp(r->task, task) != 0)
            continue;
        if (r->npts) {
            /* Every curve of this metric: one chart, one series per group. */
            size_t ns = 0;
            for (size_t j = i; j < n; j++)
                if (!done[j] && l->r[j].npts && strcmp(l->r[j].task, task) == 0 &&
                    strcmp(l->r[j].metric, r->metric) == 0) {
                    s[ns++] = (struct series){l->r[j].group, l->r[j].x, l->r[j].y, l->r[j].npts};
                    done[j] = true;
                }
            const char *xl, *yl;
            enum refline ref;
            const char *name = curve_label(r->metric, &xl, &yl, &ref);
            char a[32];
            if (ns == 1)
                snprintf(title, sizeof title, "%s (%s %s)", name,
                         strcmp(r->metric, "calibration") == 0 ? "ECE" : "area",
                         num(a, sizeof a, r->value));
            else
                snprintf(title, sizeof title, "%s", name);
            line_chart(fp, r->metric, r->metric, title, s, ns, ref, xl, yl, NULL);
        } else if (r->has_profile) {
            size_t np = 0;
            for (size_t j = i; j < n; j++)
                if (!done[j] && l->r[j].has_profile && strcmp(l->r[j].task, task) == 0 &&
                    l->r[j].nfeat == r->nfeat) {
                    pr[np++] = &l->r[j];
                    done[j] = true;
                }
            profile_chart(fp, task, pr, np);
        } else if (strncmp(r->metric, "coef:", 5) == 0) {
            /* A forest plot of the coefficients of one fit (one group). */
            size_t nb = 0;
            for (size_t j = i; j < n; j++) {
                const struct ms_rec *q = &l->r[j];
                if (!done[j] && strcmp(q->task, task) == 0 && strncmp(q->metric, "coef:", 5) == 0 &&
                    same_str(q->group, r->group)) {
                    done[j] = true;
                    if (strcmp(q->metric, "coef:intercept") != 0)
                        b[nb++] = (struct bar){q->metric + 5, q->value, q->lo, q->hi, q->has_ci};
                }
            }
            if (nb) {
                snprintf(title, sizeof title, "coefficients%s%s%s (intercept in the table)",
                         r->group ? " for " : "", r->group ? r->group : "", "");
                bar_chart(fp, "forest", "coef", title, b, nb, true, "coefficient with interval");
            }
        } else if (r->group) {
            /* Per-group figures of one metric: bars with their intervals. */
            size_t nb = 0;
            bool anyci = false;
            for (size_t j = i; j < n; j++) {
                const struct ms_rec *q = &l->r[j];
                if (!done[j] && !q->npts && !q->has_profile && q->group &&
                    strcmp(q->task, task) == 0 && strcmp(q->metric, r->metric) == 0) {
                    done[j] = true;
                    b[nb++] = (struct bar){q->group, q->value, q->lo, q->hi, q->has_ci};
                    anyci |= q->has_ci;
                }
            }
            if ((nb >= 2 || anyci) && !table_only(r->metric)) {
                if (strcmp(r->metric, "lift") == 0)
                    snprintf(title, sizeof title, "lift by decile (1: the top 10%% by score)");
                else if (strcmp(r->metric, "size") == 0)
                    snprintf(title, sizeof title, "segment sizes");
                else
                    snprintf(title, sizeof title, "%s by %s%s", r->metric,
                             strcmp(task, "effect") == 0 ? "arm" : "group",
                             anyci ? " (with intervals)" : "");
                bar_chart(fp, "bars", r->metric, title, b, nb, false, r->metric);
            }
        }
    }
    /* Ranking metrics in [0, 1] side by side, one chart per protocol. */
    if (strcmp(task, "rank") == 0) {
        for (int sampled = 0; sampled < 2; sampled++) {
            size_t nb = 0;
            const char *g = NULL;
            for (size_t i = 0; i < n; i++) {
                const struct ms_rec *r = &l->r[i];
                if (strcmp(r->task, task) != 0 || r->npts || !strchr(r->metric, '@') ||
                    strncmp(r->metric, "arp", 3) == 0 || (r->group != NULL) != sampled)
                    continue;
                g = r->group;
                b[nb++] = (struct bar){r->metric, r->value, 0, 0, false};
            }
            if (nb) {
                snprintf(title, sizeof title, "ranking metrics (%s)", sampled ? g : "full ranking");
                bar_chart(fp, "bars", "rank", title, b, nb, false, "value");
            }
        }
    }
    free(done);
    free(s);
    free(b);
    free(pr);
}

/* ---- history and comparison ------------------------------------------------------------ */

static const struct ms_rec *find_same(const struct ms_list *l, const struct ms_rec *r)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct ms_rec *q = &l->r[i];
        if (!q->npts && !q->has_profile && strcmp(q->task, r->task) == 0 &&
            strcmp(q->metric, r->metric) == 0 && same_str(q->group, r->group))
            return q;
    }
    return NULL;
}

#define HIST_MAX 60

static void history_charts(FILE *fp, const struct rh_report *rep)
{
    size_t nc = rep->nhist + 1, drawn = 0;
    double *x = xmalloc(nc * sizeof *x), *y = xmalloc(nc * sizeof *y);
    const char **names = xmalloc(nc * sizeof *names);
    for (size_t c = 0; c < rep->nhist; c++) {
        const char *slash = strrchr(rep->hist_names[c], '/');
        names[c] = slash ? slash + 1 : rep->hist_names[c];
    }
    names[rep->nhist] = "this run";
    fputs("<section id=\"history\"><h2>across cycles</h2><div class=\"charts\">\n", fp);
    for (size_t i = 0; i < rep->cur->n && drawn < HIST_MAX; i++) {
        const struct ms_rec *r = &rep->cur->r[i];
        if (r->npts || r->has_profile || ms_direction(r->metric) == 0)
            continue;
        size_t found = 0;
        for (size_t c = 0; c < rep->nhist; c++) {
            const struct ms_rec *q = find_same(&rep->hist[c], r);
            x[c] = (double)c;
            y[c] = q ? q->value : NAN;
            found += q != NULL;
        }
        x[rep->nhist] = (double)rep->nhist;
        y[rep->nhist] = r->value;
        if (!found)
            continue;
        char key[256], title[300];
        snprintf(title, sizeof title, "%s: %s (%s is better)", r->task, ms_key(r, key, sizeof key),
                 ms_direction(r->metric) > 0 ? "higher" : "lower");
        struct series s = {key, x, y, nc};
        line_chart(fp, "history", r->metric, title, &s, 1, REF_NONE, NULL, r->metric, names);
        drawn++;
    }
    fputs("</div></section>\n", fp);
    free(x);
    free(y);
    free(names);
}

static void compare_table(FILE *fp, const struct rh_report *rep)
{
    fputs("<section id=\"compare\"><h2>compared with the earlier run</h2>\n"
          "<table class=\"metrics\"><thead><tr><th>task</th><th>metric</th><th>before</th>"
          "<th>now</th><th>change</th><th></th></tr></thead><tbody>\n", fp);
    for (size_t i = 0; i < rep->nchanges; i++) {
        const struct ms_change *c = &rep->changes[i];
        const struct ms_rec *r = c->cur ? c->cur : c->old;
        char key[256], a[32], b[32];
        const char *cls = !c->old ? "new" : !c->cur ? "gone" : c->dir == 0 || c->delta == 0 ? ""
                        : c->worse ? "worse" : "better";
        fprintf(fp, "<tr class=\"%s\"><td class=\"l\">", cls);
        esc(fp, r->task);
        fputs("</td><td class=\"l\">", fp);
        esc(fp, ms_key(r, key, sizeof key));
        fprintf(fp, "</td><td>%s</td><td>%s</td><td>%s</td><td class=\"l\">%s</td></tr>\n",
                c->old ? num(a, sizeof a, c->old->value) : "",
                c->cur ? num(b, sizeof b, c->cur->value) : "",
                c->old && c->cur ? num(key, sizeof key, c->delta) : "", cls);
    }
    fputs("</tbody></table></section>\n", fp);
}

/* ---- the page ----------------------------------------------------------------------------- */

static const char css[] =
"body{font:14px/1.4 'Liberation Sans',Arial,Helvetica,sans-serif;color:#222;margin:24px auto;"
"max-width:1180px;padding:0 16px;background:#fff}\n"
"h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #1f77b4}\n"
".sub{color:#555;margin:0 0 16px}\n"
".charts{display:flex;flex-wrap:wrap;gap:12px}\n"
"figure{margin:0;border:1px solid #ddd;border-radius:4px;padding:6px;background:#fcfcfc}\n"
"figcaption{font-size:12px;color:#444;text-align:center;max-width:360px}\n"
"svg text{font:11px 'Liberation Sans',Arial,sans-serif;fill:#333}\n"
"svg .al{font-size:12px;fill:#222}svg .cv{font-size:10px;fill:#111}\n"
"svg .axis{stroke:#333;stroke-width:1}svg .tick{stroke:#333}svg .grid{stroke:#e3e3e3}\n"
"svg .ref{stroke:#999;stroke-dasharray:4 3;stroke-width:1}svg .zero{stroke:#555;stroke-width:1}\n"
"svg .series{stroke-width:2}svg .ci{stroke:#222;stroke-width:1.5}\n"
"table.metrics{border-collapse:collapse;margin:12px 0;font-size:13px}\n"
"table.metrics th,table.metrics td{padding:3px 10px;border-bottom:1px solid #e5e5e5;text-align:right}\n"
"table.metrics td.l,table.metrics th{text-align:left}\n"
"tr.worse td{background:#fde2e1}tr.better td{background:#e2f5e1}\n"
"ul.notes{color:#444;font-size:13px}\n"
"details{margin:10px 0}summary{cursor:pointer;color:#1f77b4;font-size:13px}\n";

void rh_write(FILE *fp, const struct rh_report *rep)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", fp);
    esc(fp, rep->title);
    fprintf(fp, "</title>\n<style>\n%s</style>\n</head><body>\n<h1>", css);
    esc(fp, rep->title);
    fputs("</h1>\n<p class=\"sub\">", fp);
    esc(fp, rep->subtitle ? rep->subtitle : "");
    fputs("</p>\n", fp);
    const struct ms_list *l = rep->cur;
    for (size_t i = 0; i < l->n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(l->r[j].task, l->r[i].task) == 0;
        if (seen)
            continue;
        const char *task = l->r[i].task;
        fputs("<section class=\"task\" id=\"task-", fp);
        esc(fp, task);
        fputs("\"><h2>", fp);
        esc(fp, task);
        fputs("</h2>\n<div class=\"charts\">\n", fp);
        task_charts(fp, l, task);
        fputs("</div>\n", fp);
        metrics_table(fp, l, task);
        fputs("</section>\n", fp);
    }
    if (rep->nhist)
        history_charts(fp, rep);
    if (rep->changes)
        compare_table(fp, rep);
    if (l->nnotes) {
        fputs("<section id=\"notes\"><h2>notes</h2><ul class=\"notes\">\n", fp);
        for (size_t i = 0; i < l->nnotes; i++) {
            fputs("<li>", fp);
            esc(fp, l->notes[i]);
            fputs("</li>\n", fp);
        }
        fputs("</ul></section>\n", fp);
    }
    fputs("<p class=\"sub\">made by promo-evaluate " PROMO_VERSION "; self-contained: no scripts, "
          "no external files.</p>\n</body></html>\n", fp);
}
