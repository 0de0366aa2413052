/* dtree_export: the model as SQL a warehouse can run, or as Graphviz dot.
 *
 * SQL: a select list, one nested CASE expression per output field, named
 * like promo-score's fields (classification: p for two classes, else
 * p_CLASS for each, and pred; regression: pred; uplift: uplift_OFFER for
 * each offer, and for a single tree uplift and best_offer).  Missing
 * values are NULL; a level the model does not list takes the side of the
 * pooled "other" bin, exactly as promo-score does.  A forest is the sum of
 * its trees' expressions divided by their number, evaluated in the same
 * order as promo-score, so both give the same doubles.  Numbers are
 * written in the shortest form that reads back as the same double, always
 * with a decimal point or exponent so no database does integer division. */
#include "dtree_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "numfmt.h"
#include "xalloc.h"

/* ---- SQL ---------------------------------------------------------------- */

static void sql_ident(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void sql_strn(FILE *f, const char *s, size_t n)
{
    fputc('\'', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            fputc('\'', f);
        fputc(s[i], f);
    }
    fputc('\'', f);
}

static void sql_num(FILE *f, double v)
{
    char buf[NUM_BUF];
    num_fmt_f64(buf, v);
    fputs(buf, f);
    if (!strpbrk(buf, ".eE"))
        fputs(".0", f);
}

/* The literal of class c: its number, or its name as a string. */
static void sql_class(FILE *f, const struct dt_model *m, size_t c)
{
    if (m->class_numeric) {
        char buf[NUM_BUF];
        num_fmt_f64(buf, m->class_values[c]);
        fputs(buf, f);
    } else {
        sql_strn(f, m->class_names[c], strlen(m->class_names[c]));
    }
}

/* The levels of node i's categorical split on the given side, as an IN list. */
static void sql_levels(FILE *f, const struct dt_feature *ft, const uint64_t *mask, bool in_left)
{
    uint32_t other = dt_other_bin(ft);
    bool firstl = true;
    fputc('(', f);
    for (uint32_t b = 0; b < other; b++) {
        if ((bool)((mask[b >> 6] >> (b & 63)) & 1) != in_left)
            continue;
        if (!firstl)
            fputs(", ", f);
        firstl = false;
        sql_strn(f, sm_key(&ft->levels, b), sm_len(&ft->levels, b));
    }
    fputc(')', f);
}

/* The condition under which a row goes left at node i. */
static void sql_condition(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i)
{
    const struct dt_feature *ft = &m->feat[t->feature[i]];
    const uint64_t *mask = t->catmask + 4 * i;
    if (t->miss_left[i]) {
        fputc('(', f);
        sql_ident(f, ft->name);
        fputs(" IS NULL OR ", f);
    }
    sql_ident(f, ft->name);
    if (!ft->cat) {
        fputs(" <= ", f);
        sql_num(f, t->threshold[i]);
    } else {
        uint32_t other = dt_other_bin(ft);
        bool other_left = (mask[other >> 6] >> (other & 63)) & 1;
        size_t listed_right = 0;
        for (uint32_t b = 0; b < other; b++)
            listed_right += !((mask[b >> 6] >> (b & 63)) & 1);
        if (!other_left) {
            fputs(" IN ", f);
            sql_levels(f, ft, mask, true);
        } else if (listed_right == 0) {
            fputs(" IS NOT NULL", f);
        } else {
            fputs(" NOT IN ", f);
            sql_levels(f, ft, mask, false);
        }
    }
    if (t->miss_left[i])
        fputc(')', f);
}

/* What a leaf contributes to an output field. */
enum sql_out { SQL_P, SQL_PCLASS, SQL_PRED, SQL_MEAN, SQL_UPLIFT, SQL_BEST };

static void sql_leaf(FILE *f, const struct dt_model *m, const double *v, enum sql_out what,
                     size_t k)
{
    switch (what) {
    case SQL_P: sql_num(f, v[1]); break;
    case SQL_PCLASS: sql_num(f, v[k]); break;
    case SQL_PRED:
        if (m->task == DT_CLASSIFY)
            sql_class(f, m, dt_class_of(m, v));
        else
            sql_num(f, v[0]);
        break;
    case SQL_MEAN: sql_num(f, v[k]); break;   /* an arm's mean */
    case SQL_UPLIFT: sql_num(f, v[k] - v[0]); break;
    case SQL_BEST: {
        double u;
        if (k)
            sql_num(f, (dt_best_offer(m, v, &u), u));
        else {
            const char *a = m->arm_names[dt_best_offer(m, v, &u)];
            sql_strn(f, a, strlen(a));
        }
        break;
    }
    }
}

static void sql_indent(FILE *f, int n)
{
    for (int i = 0; i < n; i++)
        fputc(' ', f);
}

static void sql_tree(FILE *f, const struct dt_model *m, const struct dt_tree *t, size_t i,
                     int ind, enum sql_out what, size_t k)
{
    if (t->feature[i] < 0) {
        sql_leaf(f, m, t->value + i * m->nval, what, k);
        return;
    }
    fputs("CASE WHEN ", f);
    sql_condition(f, m, t, i);
    fputs(" THEN", f);
    size_t l = (size_t)t->left[i], r = (size_t)t->right[i];
    if (t->feature[l] >= 0) {
        fputc('\n', f);
        sql_indent(f, ind + 2);
    } else {
        fputc(' ', f);
    }
    sql_tree(f, m, t, l, ind + 2, what, k);
    fputc('\n', f);
    sql_indent(f, ind);
    fputs("ELSE ", f);
    sql_tree(f, m, t, r, ind + 2, what, k);
    fputs(" END", f);
}

/* The forest's average of one output: (tree1 + tree2 + ...) / N. */
static void sql_average(FILE *f, const struct dt_model *m, enum sql_out what, size_t k)
{
    if (m->ntree == 1) {
        sql_tree(f, m, &m->trees[0], 0, 2, what, k);
        return;
    }
    fputc('(', f);
    for (size_t t = 0; t < m->ntree; t++) {
        if (t)
            fputs("\n + ", f);
        sql_tree(f, m, &m->trees[t], 0, 2, what, k);
    }
    fprintf(f, ") / %zu.0", m->ntree);
}

/* Start the next field of the select list. */
static void sql_sep(FILE *f, bool *firstf)
{
    fputs(*firstf ? "" : ",\n", f);
    *firstf = false;
}

static void sql_as(FILE *f, const char *prefix, const char *name)
{
    size_t n = strlen(prefix) + strlen(name) + 1;
    char *s = xmalloc(n);
    snprintf(s, n, "%s%s", prefix, name);
    fputs(" AS ", f);
    sql_ident(f, s);
    free(s);
}

void dt_print_sql(FILE *f, const struct dt_model *m)
{
    fprintf(f, "-- promo-dtree: %s of \"%s\", %zu tree%s; a select list (missing is NULL)\n",
            dt_task_names[m->task], m->label, m->ntree, m->ntree == 1 ? "" : "s");
    bool firstf = true;
    switch (m->task) {
    case DT_CLASSIFY:
        if (m->nclass == 2) {
            sql_sep(f, &firstf);
            sql_average(f, m, SQL_P, 0);
            sql_as(f, "", "p");
        } else {
            for (size_t c = 0; c < m->nclass; c++) {
                sql_sep(f, &firstf);
                sql_average(f, m, SQL_PCLASS, c);
                sql_as(f, "p_", m->class_names[c]);
            }
        }
        if (m->ntree == 1) {
            sql_sep(f, &firstf);
            sql_tree(f, m, &m->trees[0], 0, 2, SQL_PRED, 0);
            sql_as(f, "", "pred");
        } else if (m->nclass == 2) {
            sql_sep(f, &firstf);
            fputs("CASE WHEN ", f);
            sql_average(f, m, SQL_P, 0);
            fputs(" > 0.5 THEN ", f);
            sql_class(f, m, 1);
            fputs(" ELSE ", f);
            sql_class(f, m, 0);
            fputs(" END", f);
            sql_as(f, "", "pred");
        } else {
            fputs("\n-- pred: the most probable of the p_ columns (not written for a forest)", f);
        }
        break;
    case DT_REGRESS:
        sql_sep(f, &firstf);
        sql_average(f, m, SQL_PRED, 0);
        sql_as(f, "", "pred");
        break;
    case DT_UPLIFT:
        for (size_t a = 1; a < m->narm; a++) {
            sql_sep(f, &firstf);
            if (m->ntree == 1) {
                sql_tree(f, m, &m->trees[0], 0, 2, SQL_UPLIFT, a);
            } else {
                sql_average(f, m, SQL_MEAN, a);
                fputs("\n - ", f);
                sql_average(f, m, SQL_MEAN, 0);
            }
            sql_as(f, "uplift_", m->arm_names[a]);
        }
        if (m->ntree == 1) {
            sql_sep(f, &firstf);
            sql_tree(f, m, &m->trees[0], 0, 2, SQL_BEST, 1);
            sql_as(f, "", "uplift");
            sql_sep(f, &firstf);
            sql_tree(f, m, &m->trees[0], 0, 2, SQL_BEST, 0);
            sql_as(f, "", "best_offer");
        } else {
            fputs("\n-- uplift, best_offer: the largest of the uplift_ columns"
                  " (not written for a forest)", f);
        }
        break;
    }
    fputc('\n', f);
}

/* ---- Graphviz ----------------------------------------------------------- */

/* Text escaped for a dot label (newlines as \n). */
static void dot_label(FILE *f, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            fputs("\\n", f);
            continue;
        }
        if (s[i] == '"' || s[i] == '\\')
            fputc('\\', f);
        fputc(s[i], f);
    }
}

void dt_print_dot(FILE *f, const struct dt_model *m)
{
    fputs("digraph dtree {\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=9];\n", f);
    char *buf = NULL;
    size_t len = 0;
    for (size_t k = 0; k < m->ntree; k++) {
        const struct dt_tree *t = &m->trees[k];
        if (m->ntree > 1)
            fprintf(f, "  subgraph cluster_%zu {\n  label=\"tree %zu\";\n", k, k + 1);
        for (size_t i = 0; i < t->nnodes; i++) {
            FILE *mem = open_memstream(&buf, &len);
            if (!mem)
                die_errno("open_memstream");
            if (t->feature[i] >= 0) {
                dt_put_condition(mem, m, t, i, true, NULL);
                fputs("?\n", mem);
            }
            dt_put_value(mem, m, t, i);
            if (fclose(mem) != 0)
                die_errno("open_memstream");
            fprintf(f, "  t%zun%zu [label=\"", k, i);
            dot_label(f, buf, len);
            fprintf(f, "\"%s];\n", t->feature[i] < 0 ? ", style=rounded" : "");
            if (t->feature[i] >= 0) {
                fprintf(f, "  t%zun%zu -> t%zun%d [label=\"yes\"];\n", k, i, k, t->left[i]);
                fprintf(f, "  t%zun%zu -> t%zun%d [label=\"no\"];\n", k, i, k, t->right[i]);
            }
            free(buf);
            buf = NULL;
        }
        if (m->ntree > 1)
            fputs("  }\n", f);
    }
    fputs("}\n", f);
}
