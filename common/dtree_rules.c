/* dtree_rules: a tree as nested if / else-if text for people.
 *
 * At every split the stronger child is written first, as "if CONDITION
 * then ...", and the other follows as "else ..."; an else-branch that
 * splits again continues as "else if ...", so a tree that peels off one
 * group at a time reads as the decision list it is:
 *
 *     if A = "yes" then high  (8 rows, high 100%)
 *     else if B = "yes" then medium  (4 rows, medium 100%)
 *     else none  (4 rows, none 100%)
 *
 * Strength: binary classes, the second class's probability; several
 * classes, the largest probability; regression, the mean; uplift, the best
 * offer's uplift.  Ties go to the child with fewer rows (the more specific
 * rule), then to the lower predicted class, then to the left child. */
#include "dtree_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static double strength(const struct dt_model *m, const struct dt_tree *t, size_t i)
{
    const double *v = t->value + i * m->nval;
    switch (m->task) {
    case DT_CLASSIFY:
        if (m->nclass == 2)
            return v[1];
        return v[dt_class_of(m, v)];
    case DT_REGRESS: return v[0];
    case DT_UPLIFT: {
        double u;
        dt_best_offer(m, v, &u);
        return u;
    }
    }
    return 0;
}

/* Is child a to be written before child b? */
static bool first(const struct dt_model *m, const struct dt_tree *t, size_t a, size_t b)
{
    double sa = strength(m, t, a), sb = strength(m, t, b);
    if (sa != sb)
        return sa > sb;
    if (t->count[a] != t->count[b])
        return t->count[a] < t->count[b];
    if (m->task == DT_CLASSIFY) {
        size_t ca = dt_class_of(m, t->value + a * m->nval);
        size_t cb = dt_class_of(m, t->value + b * m->nval);
        if (ca != cb)
            return ca < cb;
    }
    return a < b;   /* the left child was made first */
}

static void put_count(FILE *f, double c)
{
    if (c == floor(c) && fabs(c) < 1e15)
        fprintf(f, "%.0f", c);
    else
        fprintf(f, "%.4g", c);
}

static void put_level(FILE *f, const struct dt_feature *ft, uint32_t b)
{
    if (b >= sm_count(&ft->levels)) {
        fputs("another level", f);
        return;
    }
    fputc('"', f);
    fwrite(sm_key(&ft->levels, b), 1, sm_len(&ft->levels, b), f);
    fputc('"', f);
}

/* The condition that sends a row from node i to its left (or right) child;
 * allowed: the bins of a categorical feature still possible at node i (the
 * ancestors' splits on it), NULL for all. */
void dt_put_condition(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i,
                      bool left, const uint64_t *allowed)
{
    const struct dt_feature *ft = &m->feat[t->feature[i]];
    const char *name = ft->name;
    if (ft->cat) {
        /* The bins on this side: listed levels, and "other" when pooled. */
        uint32_t other = dt_other_bin(ft), n = 0, bins[256];
        for (uint32_t b = 0; b <= other; b++) {
            bool in = (t->catmask[4 * i + (b >> 6)] >> (b & 63)) & 1;
            bool possible = !allowed || ((allowed[b >> 6] >> (b & 63)) & 1);
            if (in == left && possible && (b < other || ft->pooled))
                bins[n++] = b;
        }
        if (n == 1 && bins[0] < other) {
            fprintf(f, "%s = ", name);
            put_level(f, ft, bins[0]);
        } else {
            fprintf(f, "%s in {", name);
            for (uint32_t k = 0; k < n; k++) {
                if (k)
                    fputs(", ", f);
                put_level(f, ft, bins[k]);
            }
            fputc('}', f);
        }
    } else {
        fprintf(f, "%s %s %.6g", name, left ? "<=" : ">", t->threshold[i]);
    }
    if (ft->had_missing && (bool)t->miss_left[i] == left)
        fprintf(f, " or %s is missing", name);
}

/* What a node predicts, with its counts and rates. */
void dt_put_value(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i)
{
    const double *v = t->value + i * m->nval;
    switch (m->task) {
    case DT_CLASSIFY: {
        size_t c = dt_class_of(m, v);
        fprintf(f, "%s  (", m->class_names[c]);
        put_count(f, t->count[i]);
        fprintf(f, " rows, %s %.1f%%)", m->class_names[c], 100 * v[c]);
        break;
    }
    case DT_REGRESS:
        fprintf(f, "%.4g  (", v[0]);
        put_count(f, t->count[i]);
        fputs(" rows)", f);
        break;
    case DT_UPLIFT: {
        double u;
        size_t b = dt_best_offer(m, v, &u);
        fprintf(f, "%s %+.4g  (", m->arm_names[b], u);
        for (size_t a = 0; a < m->narm; a++) {
            if (a)
                fputs(", ", f);
            if (m->binary_outcome)
                fprintf(f, "%s %.1f%% of ", m->arm_names[a], 100 * v[a]);
            else
                fprintf(f, "%s %.4g of ", m->arm_names[a], v[a]);
            put_count(f, v[m->narm + a]);
        }
        fputc(')', f);
        break;
    }
    }
}

static void indent(FILE *f, int depth)
{
    for (int k = 0; k < depth; k++)
        fputs("  ", f);
}

/* Node i, split, written after prefix ("if " or "else if ") at depth.
 * allowed[4 * j ..]: the bins of categorical feature j still possible here. */
static void put_split(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i,
                      int depth, const char *prefix, uint64_t *allowed)
{
    size_t l = (size_t)t->left[i], r = (size_t)t->right[i], j = (size_t)t->feature[i];
    bool lfirst = first(m, t, l, r);
    size_t a = lfirst ? l : r, b = lfirst ? r : l;
    uint64_t *al = allowed + 4 * j, saved[4];
    memcpy(saved, al, sizeof saved);
    indent(f, depth);
    fputs(prefix, f);
    dt_put_condition(f, m, t, i, lfirst, m->feat[j].cat ? al : NULL);
    /* Each side's subtree sees only its side's levels. */
    for (int w = 0; w < 4; w++)
        al[w] = saved[w] & (lfirst ? t->catmask[4 * i + w] : ~t->catmask[4 * i + w]);
    if (t->feature[a] < 0) {
        fputs(" then ", f);
        dt_put_value(f, m, t, a);
        fputc('\n', f);
    } else {
        fputs(" then\n", f);
        put_split(f, m, t, a, depth + 1, "if ", allowed);
    }
    for (int w = 0; w < 4; w++)
        al[w] = saved[w] & (lfirst ? ~t->catmask[4 * i + w] : t->catmask[4 * i + w]);
    if (t->feature[b] < 0) {
        indent(f, depth);
        fputs("else ", f);
        dt_put_value(f, m, t, b);
        fputc('\n', f);
    } else {
        put_split(f, m, t, b, depth, "else if ", allowed);
    }
    memcpy(al, saved, sizeof saved);
}

struct imp {
    double gain;
    size_t j;
};

static int cmp_imp(const void *a, const void *b)
{
    const struct imp *x = a, *y = b;
    if (x->gain != y->gain)
        return x->gain > y->gain ? -1 : 1;
    return (x->j > y->j) - (x->j < y->j);
}

void dt_print_rules(FILE *f, const struct dt_model *m)
{
    for (size_t k = 0; k < m->ntree; k++) {
        const struct dt_tree *t = &m->trees[k];
        if (m->ntree > 1)
            fprintf(f, "%stree %zu of %zu:\n", k ? "\n" : "", k + 1, m->ntree);
        if (t->feature[0] < 0) {
            fputs("always ", f);
            dt_put_value(f, m, t, 0);
            fputc('\n', f);
        } else {
            uint64_t *allowed = xmalloc((m->nfeat + 1) * 4 * sizeof *allowed);
            memset(allowed, 0xff, (m->nfeat + 1) * 4 * sizeof *allowed);
            put_split(f, m, t, 0, 0, "if ", allowed);
            free(allowed);
        }
    }
    struct imp *im = xcalloc(m->nfeat + 1, sizeof *im);
    double total = 0;
    size_t width = 0;
    for (size_t j = 0; j < m->nfeat; j++) {
        im[j] = (struct imp){m->importance[j], j};
        total += m->importance[j];
        if (strlen(m->feat[j].name) > width)
            width = strlen(m->feat[j].name);
    }
    qsort(im, m->nfeat, sizeof *im, cmp_imp);
    fputs("\nimportance (total gain, share):\n", f);
    for (size_t q = 0; q < m->nfeat; q++)
        fprintf(f, "  %-*s  %-10.4g  %5.1f%%\n", (int)width, m->feat[im[q].j].name, im[q].gain,
                total > 0 ? 100 * im[q].gain / total : 0.0);
    free(im);
}
