#include "metrics.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "linalg.h"
#include "xalloc.h"

/* ==== distributions ======================================================= */

double mt_norm_cdf(double x) { return 0.5 * erfc(-x / M_SQRT2); }

double mt_norm_quantile(double p)
{
    /* Acklam's rational approximation (relative error 1.2e-9), then one
     * Halley step on erfc, which brings it to full double precision. */
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    const double plow = 0.02425;
    if (isnan(p) || p < 0 || p > 1)
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    double x;
    if (p < plow) {
        double q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - plow) {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        double q = sqrt(-2 * log1p(-p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    /* Halley: work on the smaller tail so that e keeps its precision. */
    double e = x < 0 ? 0.5 * erfc(-x / M_SQRT2) - p : -(0.5 * erfc(x / M_SQRT2) - (1 - p));
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

/* The continued fraction of I_x(a, b) (modified Lentz), good for
 * x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny)
        d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny)
            d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny)
            c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps)
            break;
    }
    return h;
}

/* I_x(a, b) given both x and y = 1 - x, each computed without
 * cancellation by the caller. */
static double betainc_xy(double a, double b, double x, double y)
{
    if (x <= 0)
        return 0;
    if (y <= 0)
        return 1;
    double lfront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(y);
    if (x < (a + 1) / (a + b + 2))
        return exp(lfront) * betacf(a, b, x) / a;
    return 1 - exp(lfront) * betacf(b, a, y) / b;
}

double mt_betainc(double a, double b, double x)
{
    if (isnan(x) || isnan(a) || isnan(b) || a <= 0 || b <= 0 || x < 0 || x > 1)
        return NAN;
    return betainc_xy(a, b, x, 1 - x);
}

/* P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2). */
double mt_p_t(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    if (isinf(t))
        return 0;
    double t2 = t * t;
    return betainc_xy(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

double mt_t_cdf(double t, double df)
{
    if (isnan(t) || !(df > 0))
        return NAN;
    double tail = mt_p_t(t, df) / 2;
    return t < 0 ? tail : 1 - tail;
}

static double t_pdf(double t, double df)
{
    return exp(lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI) -
               (df + 1) / 2 * log1p(t * t / df));
}

double mt_t_quantile(double p, double df)
{
    if (isnan(p) || p < 0 || p > 1 || !(df > 0))
        return NAN;
    if (p == 0)
        return -INFINITY;
    if (p == 1)
        return INFINITY;
    if (p == 0.5)
        return 0;
    /* Work on the upper tail q = min(p, 1 - p) and mirror. */
    bool lower = p < 0.5;
    double q = lower ? p : 1 - p;           /* the tail probability */
    /* Bracket [lo, hi] on t >= 0 where P(T > t) = q, then Newton steps kept
     * inside the bracket (bisection when a step leaves it). */
    double lo = 0, hi = 1;
    while (mt_p_t(hi, df) / 2 > q && hi < 1e300)
        hi *= 2;
    double t = fmax(lo, fmin(hi, -mt_norm_quantile(q)));
    for (int it = 0; it < 200; it++) {
        double f = mt_p_t(t, df) / 2 - q;   /* decreasing in t */
        if (f > 0)
            lo = t;
        else
            hi = t;
        double step = f / t_pdf(t, df);
        double next = t + step;
        if (!(next > lo && next < hi))
            next = (lo + hi) / 2;
        if (fabs(next - t) <= 1e-15 * fmax(1, fabs(t))) {
            t = next;
            break;
        }
        t = next;
    }
    return lower ? -t : t;
}

double mt_p_norm(double z)
{
    if (isnan(z))
        return NAN;
    return erfc(fabs(z) / M_SQRT2);
}

/* ==== sorting ============================================================== */

static void insertion_f64(double *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static void sift_f64(double *a, size_t root, size_t n)
{
    for (;;) {
        size_t c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && a[c + 1] > a[c])
            c++;
        if (!(a[c] > a[root]))
            return;
        double t = a[c];
        a[c] = a[root];
        a[root] = t;
        root = c;
    }
}

static void heapsort_f64(double *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_f64(a, i, n);
    for (size_t end = n; end-- > 1;) {
        double t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_f64(a, 0, end);
    }
}

static void introsort_f64(double *a, size_t n, int depth)
{
    while (n > 24) {
        if (depth-- == 0) {
            heapsort_f64(a, n);
            return;
        }
        /* Median of three as the pivot, then Hoare partition. */
        double x = a[0], y = a[n / 2], z = a[n - 1];
        double piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < piv)
                i++;
            while (a[j] > piv)
                j--;
            if (i >= j)
                break;
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* a[0..j] <= piv <= a[j+1..n): recurse on the smaller side. */
        size_t left = j + 1;
        if (left < n - left) {
            introsort_f64(a, left, depth);
            a += left;
            n -= left;
        } else {
            introsort_f64(a + left, n - left, depth);
            n = left;
        }
    }
    insertion_f64(a, n);
}

void mt_sort_f64(double *a, size_t n)
{
    int depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    introsort_f64(a, n, depth);
}

/* ==== binary classification =============================================== */

void mt_bin_init(struct mt_bin *b, double threshold)
{
    memset(b, 0, sizeof *b);
    b->threshold = threshold;
    b->probs = true;
}

void mt_bin_release(struct mt_bin *b)
{
    free(b->pos);
    free(b->neg);
    memset(b, 0, sizeof *b);
}

void mt_bin_add(struct mt_bin *b, double s, bool label)
{
    if (label) {
        if (b->npos == b->cappos)
            XGROW(b->pos, b->cappos, b->npos + 1);
        b->pos[b->npos++] = s;
    } else {
        if (b->nneg == b->capneg)
            XGROW(b->neg, b->capneg, b->nneg + 1);
        b->neg[b->nneg++] = s;
    }
    if (s >= b->threshold) {
        b->tp += label;
        b->fp += !label;
    }
    if (s < 0 || s > 1) {
        b->probs = false;
        return;
    }
    double pc = fmin(fmax(s, MT_LOGLOSS_EPS), 1 - MT_LOGLOSS_EPS);
    b->logloss -= label ? log(pc) : log1p(-pc);
    b->brier += (s - label) * (s - label);
}

double mt_auc_sorted(const double *pos, size_t npos, const double *neg, size_t nneg)
{
    /* Walk both arrays from the top; each negative scores the positives
     * above it, plus half of those tied with it.  Twice the pair count is an
     * integer below 2^64 for fewer than 2^32 rows. */
    size_t i = npos, j = nneg;
    uint64_t above = 0, twice = 0;
    while (j > 0) {
        double s = neg[j - 1];
        while (i > 0 && pos[i - 1] > s)
            i--, above++;
        size_t tie = 0;
        while (i > tie && pos[i - 1 - tie] == s)
            tie++;
        size_t m = 0;
        while (j > 0 && neg[j - 1] == s)
            j--, m++;
        twice += (uint64_t)m * (2 * above + tie);
    }
    return (double)twice / 2 / ((double)npos * (double)nneg);
}

/* Add the part of [from, to) of the ranking that falls in each decile:
 * count, positives and score sums in proportion to the overlap. */
static void decile_share(double *cnt, double *pos, double *ssum, double from, double to,
                         double npos_grp, double score, double total)
{
    double width = total / MT_DECILES, len = to - from;
    int k0 = (int)(from / width);
    for (int k = k0 < 0 ? 0 : k0; k < MT_DECILES; k++) {
        double lo = k * width, hi = k == MT_DECILES - 1 ? total : (k + 1) * width;
        double ov = fmin(hi, to) - fmax(lo, from);
        if (ov > 0) {
            cnt[k] += ov;
            pos[k] += npos_grp * ov / len;
            ssum[k] += score * ov;
        }
        if (hi >= to)
            break;
    }
}

void mt_bin_finish(struct mt_bin *b, struct mt_bin_result *res)
{
    CHECK(b->npos > 0 && b->nneg > 0);
    memset(res, 0, sizeof *res);
    mt_sort_f64(b->pos, b->npos);
    mt_sort_f64(b->neg, b->nneg);
    size_t P = b->npos, N = b->nneg;
    double n = (double)(P + N);
    res->n = P + N;
    res->npos = P;
    res->npred = b->tp + b->fp;
    res->auc = mt_auc_sorted(b->pos, P, b->neg, N);

    /* Threshold metrics. */
    double tp = (double)b->tp, fp = (double)b->fp, fn = P - tp, tn = N - fp;
    res->accuracy = (tp + tn) / n;
    res->precision = tp + fp > 0 ? tp / (tp + fp) : NAN;
    res->recall = tp / P;
    res->f1 = 2 * tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : NAN;
    res->logloss = b->probs ? b->logloss / n : NAN;
    res->brier = b->probs ? b->brier / n : NAN;

    /* One pass over the tie groups from the highest score: ROC points and
     * decile sums. */
    double cnt[MT_DECILES] = {0}, dpos[MT_DECILES] = {0}, ssum[MT_DECILES] = {0};
    size_t cap = MT_ROC_MAX + 2;
    res->roc_x = xmalloc(cap * sizeof *res->roc_x);
    res->roc_y = xmalloc(cap * sizeof *res->roc_y);
    res->roc_x[0] = res->roc_y[0] = 0;
    res->nroc = 1;
    size_t i = P, j = N;
    double rank = 0, lastx = 0, lasty = 0;
    while (i > 0 || j > 0) {
        double s = i == 0 ? b->neg[j - 1] : j == 0 ? b->pos[i - 1]
                 : fmax(b->pos[i - 1], b->neg[j - 1]);
        size_t q = 0, m = 0;
        while (i > 0 && b->pos[i - 1] == s)
            i--, q++;
        while (j > 0 && b->neg[j - 1] == s)
            j--, m++;
        decile_share(cnt, dpos, ssum, rank, rank + q + m, (double)q, s, n);
        rank += q + m;
        double x = (double)(N - j) / N, y = (double)(P - i) / P;
        bool last = i == 0 && j == 0;
        if (last || (x - lastx) + (y - lasty) >= 2.0 / MT_ROC_MAX) {
            res->roc_x[res->nroc] = x;
            res->roc_y[res->nroc] = y;
            res->nroc++;
            lastx = x;
            lasty = y;
        }
    }
    double base = P / n, cum = 0, ece = 0;
    res->gains[0] = 0;
    for (int k = 0; k < MT_DECILES; k++) {
        cum += dpos[k];
        res->gains[k + 1] = cum / P;
        res->lift[k] = cnt[k] > 0 ? dpos[k] / cnt[k] / base : NAN;
        res->cal_pred[k] = cnt[k] > 0 ? ssum[k] / cnt[k] : NAN;
        res->cal_obs[k] = cnt[k] > 0 ? dpos[k] / cnt[k] : NAN;
        ece += cnt[k] / n * fabs(res->cal_pred[k] - res->cal_obs[k]);
    }
    res->gains[MT_DECILES] = 1;
    res->ece = b->probs ? ece : NAN;
}

void mt_bin_result_release(struct mt_bin_result *res)
{
    free(res->roc_x);
    free(res->roc_y);
    res->roc_x = res->roc_y = NULL;
}

/* ==== ranking ================================================================ */

void mt_rank_at(struct mt_rank_k *out, const uint8_t *rel, size_t len, size_t ntruth, size_t k)
{
    size_t top = len < k ? len : k, hits = 0;
    double dcg = 0, ap = 0;
    for (size_t i = 0; i < top; i++) {
        if (!rel[i])
            continue;
        hits++;
        dcg += 1 / log2((double)i + 2);
        ap += (double)hits / (double)(i + 1);
    }
    size_t ideal = ntruth < k ? ntruth : k;
    double idcg = 0;
    for (size_t i = 0; i < ideal; i++)
        idcg += 1 / log2((double)i + 2);
    out->hr = hits > 0;
    out->precision = (double)hits / (double)k;
    out->recall = (double)hits / (double)ntruth;
    out->ndcg = dcg / idcg;
    out->ap = ap / (double)ideal;
}

double mt_rr(const uint8_t *rel, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (rel[i])
            return 1 / (double)(i + 1);
    return 0;
}

/* ==== regression ============================================================= */

void mt_reg_init(struct mt_reg *r) { memset(r, 0, sizeof *r); }

void mt_reg_add(struct mt_reg *r, double y, double pred)
{
    double e = y - pred;
    r->n++;
    r->sse += e * e;
    r->sae += fabs(e);
    double d = y - r->mean;
    r->mean += d / (double)r->n;
    r->m2 += d * (y - r->mean);
}

void mt_reg_finish(const struct mt_reg *r, double *rmse, double *mae, double *r2)
{
    double n = (double)r->n;
    *rmse = sqrt(r->sse / n);
    *mae = r->sae / n;
    *r2 = r->m2 > 0 ? 1 - r->sse / r->m2 : NAN;
}

/* ==== clustering ============================================================= */

static double dist2(const double *a, const double *b, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++)
        s += (a[j] - b[j]) * (a[j] - b[j]);
    return s;
}

void mt_centroids(double *C, uint64_t *sizes, const double *X, const uint32_t *seg, size_t n,
                  size_t d, size_t k)
{
    memset(C, 0, k * d * sizeof *C);
    memset(sizes, 0, k * sizeof *sizes);
    for (size_t i = 0; i < n; i++) {
        sizes[seg[i]]++;
        for (size_t j = 0; j < d; j++)
            C[seg[i] * d + j] += X[i * d + j];
    }
    for (size_t c = 0; c < k; c++)
        for (size_t j = 0; j < d; j++)
            C[c * d + j] = sizes[c] ? C[c * d + j] / (double)sizes[c] : NAN;
}

double mt_inertia(const double *X, const uint32_t *seg, const double *C, size_t n, size_t d)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += dist2(X + i * d, C + seg[i] * d, d);
    return s;
}

double mt_davies_bouldin(const double *X, const uint32_t *seg, const double *C,
                         const uint64_t *sizes, size_t n, size_t d, size_t k)
{
    double *S = xcalloc(k, sizeof *S);
    for (size_t i = 0; i < n; i++)
        S[seg[i]] += sqrt(dist2(X + i * d, C + seg[i] * d, d));
    size_t present = 0;
    for (size_t c = 0; c < k; c++)
        if (sizes[c]) {
            S[c] /= (double)sizes[c];
            present++;
        }
    double db = NAN;
    if (present >= 2) {
        double sum = 0;
        for (size_t a = 0; a < k; a++) {
            if (!sizes[a])
                continue;
            double worst = 0;
            for (size_t b = 0; b < k; b++) {
                if (b == a || !sizes[b])
                    continue;
                double m = sqrt(dist2(C + a * d, C + b * d, d));
                /* Coincident centroids: scikit-learn counts the pair as 0. */
                double r = m > 0 ? (S[a] + S[b]) / m : 0;
                if (r > worst)
                    worst = r;
            }
            sum += worst;
        }
        db = sum / (double)present;
    }
    free(S);
    return db;
}

double mt_silhouette(const double *X, const uint32_t *seg, size_t n, size_t d, size_t k)
{
    /* Sum of distances from each row to each segment, using symmetry. */
    double *S = xcalloc(n * k, sizeof *S);
    uint64_t *size = xcalloc(k, sizeof *size);
    for (size_t i = 0; i < n; i++) {
        size[seg[i]]++;
        for (size_t j = i + 1; j < n; j++) {
            double dd = sqrt(dist2(X + i * d, X + j * d, d));
            S[i * k + seg[j]] += dd;
            S[j * k + seg[i]] += dd;
        }
    }
    size_t present = 0;
    for (size_t c = 0; c < k; c++)
        present += size[c] > 0;
    double total = 0;
    if (present >= 2) {
        for (size_t i = 0; i < n; i++) {
            uint32_t own = seg[i];
            if (size[own] < 2)
                continue;   /* s(i) = 0 */
            double a = S[i * k + own] / (double)(size[own] - 1), b = INFINITY;
            for (size_t c = 0; c < k; c++)
                if (c != own && size[c])
                    b = fmin(b, S[i * k + c] / (double)size[c]);
            double m = fmax(a, b);
            total += m > 0 ? (b - a) / m : 0;
        }
    }
    free(S);
    free(size);
    return present >= 2 ? total / (double)n : NAN;
}

/* ==== uplift ================================================================== */

static int up_cmp(const void *pa, const void *pb)
{
    const struct mt_up_row *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->treated != b->treated)
        return a->treated ? -1 : 1;
    return (a->outcome > b->outcome) - (a->outcome < b->outcome);
}

/* One curve at each distinct key (rows already in key order, groups of
 * equal keys given by same()): x, qini and uplift values after each group. */
struct curve_acc {
    double nt, nc, yt, yc, n;
};

static double qini_of(const struct curve_acc *a)
{
    return (a->yt - (a->nc > 0 ? a->yc * a->nt / a->nc : 0)) / a->n;
}

static double uplift_of(const struct curve_acc *a)
{
    double rt = a->nt > 0 ? a->yt / a->nt : 0, rc = a->nc > 0 ? a->yc / a->nc : 0;
    return (rt - rc) * (a->nt + a->nc) / a->n;
}

/* Areas under the Qini and uplift curves of rows ranked by key[] (equal keys
 * form one group), by the trapezoid rule over x in [0, 1]. */
static void curve_areas(const struct mt_up_row *rows, const double *key, size_t n,
                        double *qarea, double *uarea, double *qlast, double *ulast)
{
    struct curve_acc a = {.n = (double)n};
    double px = 0, pq = 0, pu = 0;
    *qarea = *uarea = 0;
    for (size_t i = 0; i < n;) {
        double k = key[i];
        for (; i < n && key[i] == k; i++) {
            if (rows[i].treated) {
                a.nt++;
                a.yt += rows[i].outcome;
            } else {
                a.nc++;
                a.yc += rows[i].outcome;
            }
        }
        double x = (a.nt + a.nc) / a.n, q = qini_of(&a), u = uplift_of(&a);
        *qarea += (x - px) * (q + pq) / 2;
        *uarea += (x - px) * (u + pu) / 2;
        px = x, pq = q, pu = u;
    }
    *qlast = pq;
    *ulast = pu;
}

/* The rows ordered by a perfect model's score key (descending). */
struct keyed {
    double key;
    struct mt_up_row row;
};

static int keyed_cmp(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    return (a->key < b->key) - (a->key > b->key);
}

static void perfect_areas(const struct mt_up_row *rows, size_t n, bool for_qini, double *qarea,
                          double *uarea)
{
    /* scikit-uplift's perfect curves: for the Qini curve, treated responders
     * first and control responders last; for the uplift curve, its
     * 2 [y == t] + (y or t) ordering. */
    double cr = 0, tn = 0;
    for (size_t i = 0; i < n; i++) {
        cr += !rows[i].treated && rows[i].outcome == 1;
        tn += rows[i].treated && rows[i].outcome == 0;
    }
    struct keyed *kr = xmalloc(n * sizeof *kr);
    for (size_t i = 0; i < n; i++) {
        double y = rows[i].outcome, t = rows[i].treated;
        kr[i].row = rows[i];
        kr[i].key = for_qini ? y * t - y * (1 - t) : 2 * (y == t) + (cr > tn ? y : t);
    }
    qsort(kr, n, sizeof *kr, keyed_cmp);
    struct mt_up_row *r = xmalloc(n * sizeof *r);
    double *key = xmalloc(n * sizeof *key);
    for (size_t i = 0; i < n; i++) {
        r[i] = kr[i].row;
        key[i] = kr[i].key;
    }
    double ql, ul;
    curve_areas(r, key, n, qarea, uarea, &ql, &ul);
    free(kr);
    free(r);
    free(key);
}

void mt_uplift_eval(struct mt_uplift *u, struct mt_up_row *rows, size_t n)
{
    memset(u, 0, sizeof *u);
    qsort(rows, n, sizeof *rows, up_cmp);
    u->n = n;
    u->binary = true;
    for (size_t i = 0; i < n; i++) {
        u->nt += rows[i].treated;
        if (rows[i].outcome != 0 && rows[i].outcome != 1)
            u->binary = false;
    }
    u->nc = n - u->nt;
    size_t cap = 16;
    u->x = xmalloc(cap * sizeof *u->x);
    u->qini = xmalloc(cap * sizeof *u->qini);
    u->uplift = xmalloc(cap * sizeof *u->uplift);
    u->x[0] = u->qini[0] = u->uplift[0] = 0;
    u->npts = 1;
    struct curve_acc a = {.n = (double)n};
    for (size_t i = 0; i < n;) {
        double s = rows[i].score;
        for (; i < n && rows[i].score == s; i++) {
            if (rows[i].treated) {
                a.nt++;
                a.yt += rows[i].outcome;
            } else {
                a.nc++;
                a.yc += rows[i].outcome;
            }
        }
        /* Thin the curve to about MT_ROC_MAX points; the areas below are
         * computed on every group. */
        double x = (a.nt + a.nc) / a.n;
        if (i < n && x - u->x[u->npts - 1] < 1.0 / MT_ROC_MAX)
            continue;
        if (u->npts == cap) {
            size_t c1 = cap, c2 = cap;
            XGROW(u->x, cap, u->npts + 1);
            XGROW(u->qini, c1, u->npts + 1);
            XGROW(u->uplift, c2, u->npts + 1);
        }
        u->x[u->npts] = x;
        u->qini[u->npts] = qini_of(&a);
        u->uplift[u->npts] = uplift_of(&a);
        u->npts++;
    }
    double *key = xmalloc(n * sizeof *key);
    for (size_t i = 0; i < n; i++)
        key[i] = -rows[i].score;   /* curve_areas groups equal keys */
    double qa, ua, ql, ul;
    curve_areas(rows, key, n, &qa, &ua, &ql, &ul);
    free(key);
    u->qini_area = qa - ql / 2;
    u->auuc = ua;
    u->auuc_random = ul / 2;
    u->qini_coef = u->auuc_coef = NAN;
    if (u->binary && u->nt > 0 && u->nc > 0) {
        double pq, pu, dummy;
        perfect_areas(rows, n, true, &pq, &dummy);
        perfect_areas(rows, n, false, &dummy, &pu);
        if (pq - ql / 2 != 0)
            u->qini_coef = (qa - ql / 2) / (pq - ql / 2);
        if (pu - ul / 2 != 0)
            u->auuc_coef = (ua - ul / 2) / (pu - ul / 2);
    }
}

void mt_uplift_release(struct mt_uplift *u)
{
    free(u->x);
    free(u->qini);
    free(u->uplift);
    u->x = u->qini = u->uplift = NULL;
}

double mt_uplift_top(const struct mt_up_row *rows, size_t n, double share, bool by_group)
{
    double yt = 0, yc = 0, nt = 0, nc = 0;
    if (!by_group) {
        size_t top = (size_t)floor(share * (double)n + 1e-9);
        for (size_t i = 0; i < top && i < n; i++) {
            if (rows[i].treated)
                nt++, yt += rows[i].outcome;
            else
                nc++, yc += rows[i].outcome;
        }
    } else {
        size_t NT = 0, NC = 0;
        for (size_t i = 0; i < n; i++)
            NT += rows[i].treated;
        NC = n - NT;
        size_t topt = (size_t)floor(share * (double)NT + 1e-9);
        size_t topc = (size_t)floor(share * (double)NC + 1e-9);
        for (size_t i = 0; i < n; i++) {
            if (rows[i].treated && nt < topt)
                nt++, yt += rows[i].outcome;
            else if (!rows[i].treated && nc < topc)
                nc++, yc += rows[i].outcome;
        }
    }
    if (nt == 0 || nc == 0)
        return NAN;
    return yt / nt - yc / nc;
}

/* ==== effects ================================================================= */

static double z_of(double conf) { return mt_norm_quantile(1 - (1 - conf) / 2); }

void mt_wilson(struct mt_interval *out, double x, double n, double conf)
{
    double z = z_of(conf), z2 = z * z, p = x / n;
    double centre = (x + z2 / 2) / (n + z2);
    double half = z / (n + z2) * sqrt(x * (n - x) / n + z2 / 4);
    out->est = p;
    out->lo = fmax(0, centre - half);
    out->hi = fmin(1, centre + half);
    out->p = NAN;
}

void mt_newcombe(struct mt_interval *out, double x1, double n1, double x2, double n2, double conf)
{
    struct mt_interval a, b;
    mt_wilson(&a, x1, n1, conf);
    mt_wilson(&b, x2, n2, conf);
    double d = a.est - b.est;
    out->est = d;
    out->lo = d - sqrt((a.est - a.lo) * (a.est - a.lo) + (b.hi - b.est) * (b.hi - b.est));
    out->hi = d + sqrt((a.hi - a.est) * (a.hi - a.est) + (b.est - b.lo) * (b.est - b.lo));
    double pp = (x1 + x2) / (n1 + n2);
    double se = sqrt(pp * (1 - pp) * (1 / n1 + 1 / n2));
    out->p = se > 0 ? mt_p_norm(d / se) : (d == 0 ? 1 : 0);
}

void mt_ratio_prop(struct mt_interval *out, double x1, double n1, double x2, double n2, double conf)
{
    out->est = out->lo = out->hi = out->p = NAN;
    if (x2 <= 0)
        return;
    double rr = (x1 / n1) / (x2 / n2);
    out->est = rr - 1;
    struct mt_interval diff;
    mt_newcombe(&diff, x1, n1, x2, n2, conf);
    out->p = diff.p;
    if (x1 <= 0)
        return;
    double se = sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2), z = z_of(conf);
    out->lo = rr * exp(-z * se) - 1;
    out->hi = rr * exp(z * se) - 1;
}

void mt_welch(struct mt_interval *out, double *df, double m1, double v1, double n1, double m2,
              double v2, double n2, double conf)
{
    double a = v1 / n1, b = v2 / n2, se = sqrt(a + b);
    double d = m1 - m2;
    out->est = d;
    if (!(se > 0)) {
        *df = NAN;
        out->lo = out->hi = d;
        out->p = d == 0 ? 1 : 0;
        return;
    }
    *df = (a + b) * (a + b) / (a * a / (n1 - 1) + b * b / (n2 - 1));
    double t = mt_t_quantile(1 - (1 - conf) / 2, *df);
    out->lo = d - t * se;
    out->hi = d + t * se;
    out->p = mt_p_t(d / se, *df);
}

void mt_ratio_mean(struct mt_interval *out, double m1, double v1, double n1, double m2,
                   double v2, double n2, double conf)
{
    out->est = out->lo = out->hi = out->p = NAN;
    if (!(m2 > 0))
        return;
    out->est = m1 / m2 - 1;
    struct mt_interval w;
    double df;
    mt_welch(&w, &df, m1, v1, n1, m2, v2, n2, conf);
    out->p = w.p;
    if (!(m1 > 0))
        return;
    double sd = sqrt(v1 / (n1 * m1 * m1) + v2 / (n2 * m2 * m2)), z = z_of(conf);
    out->lo = m1 / m2 * exp(-z * sd) - 1;
    out->hi = m1 / m2 * exp(z * sd) - 1;
}

void mt_moments_add(struct mt_moments *m, double v)
{
    m->n++;
    m->sum += v;
    double d = v - m->mean;
    m->mean += d / m->n;
    m->m2 += d * (v - m->mean);
}

double mt_moments_var(const struct mt_moments *m) { return m->n > 1 ? m->m2 / (m->n - 1) : NAN; }

/* ==== least squares =========================================================== */

int mt_ols_fit(struct mt_ols *o, const double *X, const double *y, size_t n, int p,
               bool intercept, double conf)
{
    memset(o, 0, sizeof *o);
    if (n <= (size_t)p || n > INT32_MAX)
        return 1;
    int m = (int)n;
    double *beta = xmalloc((size_t)p * sizeof *beta);
    if (la_dgels(beta, X, y, m, p, 1) != 0) {
        free(beta);
        return 1;
    }
    double *cov = xmalloc((size_t)p * p * sizeof *cov);
    la_dgemm(cov, X, X, p, p, m, true, false, 1, 0);   /* X'X */
    if (la_dinv_spd(cov, cov, p) != 0) {
        free(beta);
        free(cov);
        return 1;
    }
    o->p = p;
    o->n = n;
    o->df = (double)(n - (size_t)p);
    o->beta = xmalloc(6 * (size_t)p * sizeof *o->beta);
    o->se = o->beta + p;
    o->t = o->se + p;
    o->pval = o->t + p;
    o->lo = o->pval + p;
    o->hi = o->lo + p;
    memcpy(o->beta, beta, (size_t)p * sizeof *beta);
    free(beta);
    o->cov = cov;

    double ymean = 0, sse = 0, sst = 0;
    for (size_t i = 0; i < n; i++)
        ymean += y[i];
    ymean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double f = 0;
        for (int j = 0; j < p; j++)
            f += X[i * p + j] * o->beta[j];
        double e = y[i] - f, c = intercept ? y[i] - ymean : y[i];
        sse += e * e;
        sst += c * c;
    }
    o->sse = sse;
    double s2 = sse / o->df;
    o->sigma = sqrt(s2);
    for (int j = 0; j < p * p; j++)
        cov[j] *= s2;
    double tq = mt_t_quantile(1 - (1 - conf) / 2, o->df);
    for (int j = 0; j < p; j++) {
        o->se[j] = sqrt(cov[j * p + j]);
        if (o->se[j] > 0)
            o->t[j] = o->beta[j] / o->se[j];
        else
            o->t[j] = o->beta[j] == 0 ? NAN : copysign(INFINITY, o->beta[j]);
        o->pval[j] = mt_p_t(o->t[j], o->df);
        o->lo[j] = o->beta[j] - tq * o->se[j];
        o->hi[j] = o->beta[j] + tq * o->se[j];
    }
    o->r2 = sst > 0 ? 1 - sse / sst : NAN;
    o->adj_r2 = 1 - ((double)n - (intercept ? 1 : 0)) / o->df * (1 - o->r2);
    return 0;
}

void mt_ols_release(struct mt_ols *o)
{
    free(o->beta);
    free(o->cov);
    memset(o, 0, sizeof *o);
}

void mt_ols_predict(const struct mt_ols *o, const double *x0, double conf, struct mt_interval *out)
{
    int p = o->p;
    double f = 0, v = 0;
    for (int j = 0; j < p; j++) {
        f += x0[j] * o->beta[j];
        for (int k = 0; k < p; k++)
            v += x0[j] * o->cov[j * p + k] * x0[k];
    }
    double h = mt_t_quantile(1 - (1 - conf) / 2, o->df) * sqrt(fmax(v, 0));
    out->est = f;
    out->lo = f - h;
    out->hi = f + h;
    out->p = NAN;
}
