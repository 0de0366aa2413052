/* dtree_crit: the split criteria.  CART's impurities (Breiman et al.
 * 1984) and the uplift divergences with their normalisation as defined by
 * Rzepakowski and Jaroszewicz, "Decision trees for uplift modeling with
 * single and multiple treatments", Knowl. Inf. Syst. 32 (2012).  Formulas
 * are written out in docs/dtree.md; logarithms are base 2 throughout. */
#include "dtree.h"

#include <math.h>

/* ---- CART --------------------------------------------------------------- */

/* x log2 x, with 0 log 0 = 0. */
static double xlogx(double x) { return x > 0 ? x * log2(x) : 0; }

double dt_impurity_mass(enum dt_crit c, const double *w, size_t k)
{
    double tot = 0;
    for (size_t i = 0; i < k; i++)
        tot += w[i];
    if (tot <= 0)
        return 0;
    if (c == DT_ENTROPY) {
        /* W H = W log W - sum w_k log w_k */
        double s = xlogx(tot);
        for (size_t i = 0; i < k; i++)
            s -= xlogx(w[i]);
        return s > 0 ? s : 0;
    }
    /* gini: W (1 - sum p_k^2) = W - sum w_k^2 / W */
    double sq = 0;
    for (size_t i = 0; i < k; i++)
        sq += w[i] * w[i];
    double g = tot - sq / tot;
    return g > 0 ? g : 0;
}

/* ---- uplift divergences ------------------------------------------------- */

/* D(P : Q) between two distributions over {1, 0} given by P(1) = p and
 * Q(1) = q, for a binary outcome; or between two means for a numeric one
 * (ed only: the squared difference). */
static double div_pair(enum dt_crit c, double p, double q, bool binary)
{
    double d = p - q;
    if (!binary)
        return d * d;
    switch (c) {
    case DT_KL: {
        double s = 0;
        if (p > 0)
            s += p * log2(p / q);
        if (p < 1)
            s += (1 - p) * log2((1 - p) / (1 - q));
        return s;
    }
    case DT_ED: return 2 * d * d;                    /* (p-q)^2 + ((1-p)-(1-q))^2 */
    case DT_CHI: return d * d / q + d * d / (1 - q); /* sum (P-Q)^2 / Q */
    default: return 0;
    }
}

#define DT_MAX_ARMS 64

double dt_arm_rate(double n, double s, bool binary)
{
    return binary ? (s + 1) / (n + 2) : n > 0 ? s / n : 0;
}

double dt_divergence_rates(enum dt_crit c, const double *r, size_t narm, double alpha,
                           bool binary)
{
    size_t k = narm - 1;
    if (k == 1)
        return div_pair(c, r[1], r[0], binary);
    double vs_control = 0, between = 0;
    for (size_t i = 1; i <= k; i++) {
        vs_control += div_pair(c, r[i], r[0], binary);
        for (size_t j = 1; j <= k; j++)
            if (j != i)
                between += div_pair(c, r[i], r[j], binary);
    }
    return alpha * vs_control / (double)k + (1 - alpha) * between / (double)(k * (k - 1));
}

/* ---- strata ------------------------------------------------------------- */

double dt_stratum_diff(const double *tot, size_t narm, size_t nstrata, size_t a, double *w)
{
    double wa = 0, h = 0, d = 0;
    for (size_t g = 0; g < nstrata; g++) {
        const double *t = tot + 2 * g * narm;
        double na = t[2 * a], nc = t[0];
        if (na > 0 && nc > 0) {
            double v = na * nc / (na + nc);
            wa += na;
            h += v;
            d += v * (t[2 * a + 1] / na - t[1] / nc);
        }
    }
    *w = wa;
    return h > 0 ? d / h : 0;
}

void dt_stratum_control(const double *tot, size_t narm, size_t nstrata, double *n, double *s)
{
    *n = *s = 0;
    for (size_t g = 0; g < nstrata; g++) {
        *n += tot[2 * g * narm];
        *s += tot[2 * g * narm + 1];
    }
}

void dt_uplift_arms(const double *tot, size_t narm, size_t nstrata, bool binary, double *n,
                    double *r)
{
    if (nstrata <= 1) {
        for (size_t a = 0; a < narm; a++) {
            n[a] = tot[2 * a];
            r[a] = dt_arm_rate(tot[2 * a], tot[2 * a + 1], binary);
        }
        return;
    }
    double sc;
    dt_stratum_control(tot, narm, nstrata, &n[0], &sc);
    r[0] = dt_arm_rate(n[0], sc, binary);
    for (size_t a = 1; a < narm; a++) {
        double x = r[0] + dt_stratum_diff(tot, narm, nstrata, a, &n[a]);
        r[a] = binary ? fmin(1, fmax(0, x)) : x;
    }
}

/* ---- normalisation ------------------------------------------------------ */

/* Entropy (bits) or Gini of the two-point distribution (x, 1 - x). */
static double h2(double x) { return -xlogx(x) - xlogx(1 - x); }
static double gini2(double x) { return 2 * x * (1 - x); }

/* The divergence of the split's branch distributions (x, 1-x) : (y, 1-y);
 * infinite when the control has no rows on a side the other has. */
static double branch_div(enum dt_crit c, double x, double y)
{
    if (c == DT_KL) {
        if ((y <= 0 && x > 0) || (y >= 1 && x < 1))
            return INFINITY;
        double s = 0;
        if (x > 0)
            s += x * log2(x / y);
        if (x < 1)
            s += (1 - x) * log2((1 - x) / (1 - y));
        return s;
    }
    double d = x - y;
    if (c == DT_ED)
        return 2 * d * d;
    if (y <= 0 || y >= 1)
        return d == 0 ? 0 : INFINITY;
    return d * d / y + d * d / (1 - y);
}

double dt_uplift_norm(enum dt_crit c, const double *nl, const double *nr, size_t narm,
                      double alpha)
{
    double (*h)(double) = c == DT_KL ? h2 : gini2;
    double ncl = nl[0], nc = nl[0] + nr[0], ntl = 0, nt = 0;
    for (size_t a = 1; a < narm; a++) {
        ntl += nl[a];
        nt += nl[a] + nr[a];
    }
    double n = nt + nc;
    if (n <= 0 || nc <= 0 || nt <= 0)
        return INFINITY;
    double pc = ncl / nc;
    /* alpha H(N^T/N, N^C/N) D(P^T(A) : P^C(A)) */
    double norm = alpha * h(nt / n) * branch_div(c, ntl / nt, pc);
    for (size_t a = 1; a < narm; a++) {
        double na = nl[a] + nr[a];
        if (na <= 0)
            continue;
        double pa = nl[a] / na;
        /* (1 - alpha) H(N^Ti/(N^Ti+N^C), ...) D(P^Ti(A) : P^C(A)) + N^Ti/N H(P^Ti(A)) */
        norm += (1 - alpha) * h(na / (na + nc)) * branch_div(c, pa, pc);
        norm += na / n * h(pa);
    }
    norm += nc / n * h(pc) + 0.5;
    return norm;
}
