/* test_metrics: every metric of metrics.c on small cases worked by hand
 * (the arithmetic is in the comments), the distributions against published
 * table values, and the coverage of the effect intervals over 1,000 seeded
 * simulated A/B tests with a known lift. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "rng.h"
#include "xalloc.h"

/* ---- distributions ------------------------------------------------------- */

static void test_distributions(void)
{
    /* Normal: Abramowitz and Stegun table 26.1 and the usual quantiles. */
    CHECK_NEAR(mt_norm_cdf(1.96), 0.9750021048517795, 1e-15, "normal cdf(1.96)");
    CHECK_NEAR(mt_norm_cdf(0), 0.5, 1e-16, "normal cdf(0) = 1/2");
    CHECK_NEAR(mt_norm_cdf(-3), 0.0013498980316301, 1e-13, "normal cdf(-3)");
    CHECK_NEAR(mt_norm_quantile(0.975), 1.959963984540054, 1e-14, "normal quantile 0.975");
    CHECK_NEAR(mt_norm_quantile(0.995), 2.5758293035489004, 1e-14, "normal quantile 0.995");
    CHECK_NEAR(mt_norm_quantile(1e-10), -6.361340902404056, 1e-12, "normal quantile 1e-10 (tail)");
    CHECK_NEAR(mt_norm_quantile(0.3), -0.5244005127080407, 1e-14, "normal quantile 0.3");
    double worst = 0;
    for (double p = 0.001; p < 1; p += 0.001)
        worst = fmax(worst, fabs(mt_norm_cdf(mt_norm_quantile(p)) - p));
    CHECK_TRUE(worst < 1e-15, "normal cdf(quantile(p)) = p over a grid");
    CHECK_TRUE(isinf(mt_norm_quantile(0)) && isinf(mt_norm_quantile(1)), "quantile 0 and 1 are infinite");

    /* Incomplete beta: closed forms. */
    CHECK_NEAR(mt_betainc(1, 1, 0.37), 0.37, 1e-15, "I_x(1,1) = x");
    double x = 0.3, want = 6 * x * x * (1 - x) * (1 - x) + 4 * x * x * x * (1 - x) + x * x * x * x;
    CHECK_NEAR(mt_betainc(2, 3, x), want, 1e-14, "I_x(2,3) = sum_{j=2}^{4} C(4,j) x^j (1-x)^(4-j)");
    CHECK_NEAR(mt_betainc(7.3, 7.3, 0.5), 0.5, 1e-14, "I_1/2(a,a) = 1/2");
    CHECK_NEAR(mt_betainc(2.5, 3.7, 0.42), 0.5537866565145149, 1e-13, "I_0.42(2.5,3.7) (scipy value)");
    CHECK_NEAR(mt_betainc(0.5, 3, 0.2) + mt_betainc(3, 0.5, 0.8), 1, 1e-14, "I_x(a,b) + I_1-x(b,a) = 1");

    /* Student's t: df 1 is Cauchy, df 2 has a closed form; table quantiles. */
    CHECK_NEAR(mt_t_cdf(1, 1), 0.75, 1e-15, "t1 cdf(1) = 3/4 (Cauchy)");
    CHECK_NEAR(mt_t_cdf(-2, 1), 0.5 + atan(-2) / M_PI, 1e-15, "t1 cdf(-2) = 1/2 + atan(-2)/pi");
    CHECK_NEAR(mt_t_cdf(1.5, 2), 0.5 + 1.5 / (2 * sqrt(2 + 2.25)), 1e-15, "t2 cdf closed form");
    CHECK_NEAR(mt_t_quantile(0.975, 1), tan(0.475 * M_PI), 1e-13, "t quantile 0.975, df 1 = tan(0.475 pi)");
    CHECK_NEAR(mt_t_quantile(0.975, 2), 0.95 / sqrt(2 * 0.975 * 0.025), 1e-14,
               "t quantile 0.975, df 2 = (2p - 1) / sqrt(2p(1 - p))");
    CHECK_NEAR(mt_t_quantile(0.975, 10), 2.228138852, 5e-10, "t quantile 0.975, df 10 (table: 2.228138852)");
    CHECK_NEAR(mt_t_quantile(0.975, 30), 2.042272456, 5e-10, "t quantile 0.975, df 30 (table: 2.042272456)");
    CHECK_NEAR(mt_t_quantile(0.025, 30), -mt_t_quantile(0.975, 30), 1e-14, "t quantile is symmetric");
    worst = 0;
    for (double df = 0.5; df < 200; df *= 1.7)
        for (double p = 0.0005; p < 1; p += 0.0125)
            worst = fmax(worst, fabs(mt_t_cdf(mt_t_quantile(p, df), df) - p) / fmin(p, 1 - p));
    CHECK_TRUE(worst < 1e-12, "t cdf(quantile(p)) = p over a grid of p and df (relative to the tail)");
    CHECK_NEAR(mt_t_quantile(0.975, 1e7), 1.959963984540054, 1e-6, "t quantile tends to the normal's");
    CHECK_NEAR(mt_p_t(2.0, 10), 0.07338803477074039, 1e-13, "two-sided p of t = 2, df 10");
    CHECK_NEAR(mt_p_norm(1.959963984540054), 0.05, 1e-14, "two-sided p of z = 1.96");
}

/* ---- classification --------------------------------------------------------- */

static void test_classify(void)
{
    /* Positives 0.9 0.8 0.4, negatives 0.8 0.3 0.1: of the 9 pairs the
     * positive is higher in 7 and tied in 1 (0.8 / 0.8): AUC = 7.5 / 9. */
    struct mt_bin b;
    mt_bin_init(&b, 0.5);
    double ps[] = {0.9, 0.8, 0.4}, ns[] = {0.8, 0.3, 0.1};
    for (int i = 0; i < 3; i++) {
        mt_bin_add(&b, ps[i], true);
        mt_bin_add(&b, ns[i], false);
    }
    struct mt_bin_result r;
    mt_bin_finish(&b, &r);
    CHECK_NEAR(r.auc, 7.5 / 9, 1e-15, "AUC with a tie counted one half");
    /* At 0.5: TP 2 (0.9, 0.8), FP 1 (0.8), FN 1, TN 2. */
    CHECK_NEAR(r.accuracy, 4.0 / 6, 1e-15, "accuracy at 0.5");
    CHECK_NEAR(r.precision, 2.0 / 3, 1e-15, "precision at 0.5");
    CHECK_NEAR(r.recall, 2.0 / 3, 1e-15, "recall at 0.5");
    CHECK_NEAR(r.f1, 2.0 / 3, 1e-15, "F1 at 0.5");
    double ll = -(log(0.9) + log(0.8) + log(0.4) + log(0.2) + log(0.7) + log(0.9)) / 6;
    CHECK_NEAR(r.logloss, ll, 1e-14, "log loss");
    double br = (0.01 + 0.04 + 0.36 + 0.64 + 0.09 + 0.01) / 6;
    CHECK_NEAR(r.brier, br, 1e-14, "Brier score");
    /* ROC ends at (1, 1), trapezoid area equals the AUC. */
    double area = 0;
    for (size_t i = 1; i < r.nroc; i++)
        area += (r.roc_x[i] - r.roc_x[i - 1]) * (r.roc_y[i] + r.roc_y[i - 1]) / 2;
    CHECK_NEAR(area, r.auc, 1e-15, "ROC trapezoid area = AUC");
    CHECK_TRUE(r.roc_x[r.nroc - 1] == 1 && r.roc_y[r.nroc - 1] == 1, "ROC ends at (1, 1)");
    mt_bin_result_release(&r);
    mt_bin_release(&b);

    /* All scores tied: gains are the diagonal, every lift is 1. */
    mt_bin_init(&b, 0.5);
    for (int i = 0; i < 37; i++)
        mt_bin_add(&b, 0.3, i % 3 == 0);
    mt_bin_finish(&b, &r);
    double worst = 0;
    for (int k = 0; k <= MT_DECILES; k++)
        worst = fmax(worst, fabs(r.gains[k] - k / 10.0));
    for (int k = 0; k < MT_DECILES; k++)
        worst = fmax(worst, fabs(r.lift[k] - 1));
    CHECK_TRUE(worst < 1e-12, "one tie group: gains diagonal, lift 1 in every decile");
    CHECK_NEAR(r.auc, 0.5, 1e-15, "one tie group: AUC 1/2");
    mt_bin_result_release(&r);
    mt_bin_release(&b);

    /* 20 rows, scores 20..1, positives the top 4: the top decile (2 rows)
     * holds 2 of 4 positives, the second the other 2. */
    mt_bin_init(&b, 0.5);
    for (int i = 0; i < 20; i++)
        mt_bin_add(&b, 20 - i, i < 4);
    mt_bin_finish(&b, &r);
    CHECK_NEAR(r.gains[1], 0.5, 1e-15, "gains at 10%");
    CHECK_NEAR(r.gains[2], 1.0, 1e-15, "gains at 20%");
    CHECK_NEAR(r.lift[0], 5.0, 1e-15, "lift of decile 1 = (2/2) / (4/20)");
    CHECK_NEAR(r.lift[5], 0.0, 1e-15, "lift of decile 6 = 0");
    CHECK_NEAR(r.auc, 1.0, 1e-15, "perfect ranking: AUC 1");
    CHECK_TRUE(isnan(r.logloss), "scores outside [0,1]: no log loss");
    mt_bin_result_release(&r);
    mt_bin_release(&b);

    /* The sort against qsort on random data with many ties. */
    struct rng R;
    rng_init(&R, 7);
    size_t n = 100000;
    double *a = xmalloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++)
        a[i] = (double)rng_below(&R, 5000) / 7;
    mt_sort_f64(a, n);
    int sorted = 1;
    for (size_t i = 1; i < n; i++)
        sorted &= a[i - 1] <= a[i];
    CHECK_TRUE(sorted, "mt_sort_f64 sorts 100,000 values with ties");
    free(a);
}

/* ---- ranking ------------------------------------------------------------------ */

static void test_rank(void)
{
    /* List: miss, hit, miss, hit, miss; 3 relevant items in all; k = 5. */
    uint8_t rel[] = {0, 1, 0, 1, 0};
    struct mt_rank_k m;
    mt_rank_at(&m, rel, 5, 3, 5);
    CHECK_NEAR(m.hr, 1, 0, "HR@5");
    CHECK_NEAR(m.precision, 0.4, 1e-15, "precision@5 = 2/5");
    CHECK_NEAR(m.recall, 2.0 / 3, 1e-15, "recall@5 = 2/3");
    double dcg = 1 / log2(3) + 1 / log2(5), idcg = 1 + 1 / log2(3) + 0.5;
    CHECK_NEAR(m.ndcg, dcg / idcg, 1e-15, "NDCG@5 = (1/log2 3 + 1/log2 5) / (1 + 1/log2 3 + 1/2)");
    CHECK_NEAR(m.ap, (0.5 + 0.5) / 3, 1e-15, "AP@5 = (1/2 + 2/4) / min(3, 5)");
    CHECK_NEAR(mt_rr(rel, 5), 0.5, 0, "reciprocal rank 1/2");
    /* k = 1 cuts the list before the first hit. */
    mt_rank_at(&m, rel, 5, 3, 1);
    CHECK_TRUE(m.hr == 0 && m.ndcg == 0 && m.ap == 0 && m.precision == 0, "@1: no hit");
    /* A list shorter than k: precision still divides by k. */
    uint8_t one[] = {1};
    mt_rank_at(&m, one, 1, 1, 10);
    CHECK_NEAR(m.precision, 0.1, 1e-15, "precision@10 of a 1-item hit list = 1/10");
    CHECK_NEAR(m.ndcg, 1, 1e-15, "NDCG of a perfect list = 1");
}

/* ---- regression and clustering ------------------------------------------------------ */

static void test_regress_cluster(void)
{
    struct mt_reg r;
    mt_reg_init(&r);
    double y[] = {1, 2, 3}, p[] = {1, 2, 4};
    for (int i = 0; i < 3; i++)
        mt_reg_add(&r, y[i], p[i]);
    double rmse, mae, r2;
    mt_reg_finish(&r, &rmse, &mae, &r2);
    CHECK_NEAR(rmse, sqrt(1.0 / 3), 1e-15, "RMSE = sqrt(1/3)");
    CHECK_NEAR(mae, 1.0 / 3, 1e-15, "MAE = 1/3");
    CHECK_NEAR(r2, 0.5, 1e-15, "R^2 = 1 - 1/2");

    /* Points 0, 1 | 10, 11 on a line: centroids 0.5 and 10.5. */
    double X[] = {0, 1, 10, 11};
    uint32_t seg[] = {0, 0, 1, 1};
    double C[2];
    uint64_t sizes[2];
    mt_centroids(C, sizes, X, seg, 4, 1, 2);
    CHECK_NEAR(C[1], 10.5, 0, "centroid");
    CHECK_NEAR(mt_inertia(X, seg, C, 4, 1), 1, 1e-15, "inertia = 4 x 0.5^2");
    /* S = 0.5 in both, centroids 10 apart: DB = 1/10. */
    CHECK_NEAR(mt_davies_bouldin(X, seg, C, sizes, 4, 1, 2), 0.1, 1e-15, "Davies-Bouldin = 0.1");
    /* s(0) = (10.5 - 1) / 10.5, s(1) = (9.5 - 1) / 9.5, symmetric. */
    double sil = (2 * 9.5 / 10.5 + 2 * 8.5 / 9.5) / 4;
    CHECK_NEAR(mt_silhouette(X, seg, 4, 1, 2), sil, 1e-15, "silhouette by hand");
    uint32_t one[] = {0, 0, 0, 1};
    /* {0, 1, 10} | {11}: the singleton scores 0; the others have a = mean
     * distance within their segment, b = distance to 11. */
    double a0 = (1 + 10) / 2.0, b0 = 11, a1 = (1 + 9) / 2.0, b1 = 10, a2 = (10 + 9) / 2.0, b2 = 1;
    double want = ((b0 - a0) / fmax(a0, b0) + (b1 - a1) / fmax(a1, b1) + (b2 - a2) / fmax(a2, b2)) / 4;
    CHECK_NEAR(mt_silhouette(X, one, 4, 1, 2), want, 1e-15, "silhouette with a singleton segment");
}

/* ---- uplift --------------------------------------------------------------------------- */

static void test_uplift(void)
{
    /* Six rows by score: T1 C0 T1 C1 T0 C0 (arm, outcome).  After each row
     * the Qini value (Y_t - Y_c N_t / N_c) / 6 is 1/6, 1/6, 2/6, 1/6, 1/12,
     * 1/6: trapezoids over steps of 1/6 give 1/6; random 1/12. */
    struct mt_up_row rows[] = {
        {0.9, 1, true}, {0.8, 0, false}, {0.7, 1, true},
        {0.6, 1, false}, {0.5, 0, true}, {0.4, 0, false},
    };
    struct mt_uplift u;
    mt_uplift_eval(&u, rows, 6);
    CHECK_EQ_INT(u.npts, 7, "one curve point per distinct score, plus the origin");
    CHECK_NEAR(u.qini[3], 2.0 / 6, 1e-15, "Qini after 3 rows");
    CHECK_NEAR(u.qini[5], 1.0 / 12, 1e-15, "Qini after 5 rows");
    CHECK_NEAR(u.qini_area, 1.0 / 12, 1e-15, "Qini area above random = 1/6 - 1/12");
    /* Uplift curve (r_t - r_c)(n_t + n_c) / 6: 1/6, 1/3, 1/2, 1/3, 5/36, 1/3. */
    CHECK_NEAR(u.uplift[5], 5.0 / 36, 1e-15, "uplift curve after 5 rows");
    double auuc = (1.0 / 6) * (1.0 / 6 + 1.0 / 3 + 1.0 / 2 + 1.0 / 3 + 5.0 / 36 + (0 + 1.0 / 3) / 2);
    CHECK_NEAR(u.auuc, auuc, 1e-15, "AUUC by trapezoids");
    /* Perfect Qini: T1 T1 | C0 T0 C0 | C1: points (2/6, 2/6), (5/6, 2/6),
     * (1, 1/6); area 9.5/36, minus random 3/36: coefficient 3 / 6.5. */
    CHECK_NEAR(u.qini_coef, 3 / 6.5, 1e-14, "Qini coefficient against the perfect model");
    /* Top half overall: T1 C0 T1 -> 1 - 0. */
    CHECK_NEAR(mt_uplift_top(rows, 6, 0.5, false), 1, 0, "uplift@50% overall");
    /* Top half of each arm: 1 treated (y 1), 1 control (y 0). */
    CHECK_NEAR(mt_uplift_top(rows, 6, 0.5, true), 1, 0, "uplift@50% by group");
    mt_uplift_release(&u);
}

/* ---- effects ------------------------------------------------------------------------------- */

static void test_effect_intervals(void)
{
    /* Newcombe (1998), Statistics in Medicine 17: 81/263, Wilson 0.2553 to
     * 0.3662; 56/70 - 48/80, method 10, 0.0524 to 0.3339. */
    struct mt_interval iv;
    mt_wilson(&iv, 81, 263, 0.95);
    CHECK_NEAR(iv.lo, 0.2552885198782742, 1e-12, "Wilson 81/263 lower (Newcombe 1998: 0.2553)");
    CHECK_NEAR(iv.hi, 0.36620957698280004, 1e-12, "Wilson 81/263 upper (0.3662)");
    mt_newcombe(&iv, 56, 70, 48, 80, 0.95);
    CHECK_NEAR(iv.lo, 0.05243147240236498, 1e-12, "Newcombe 56/70 - 48/80 lower (0.0524)");
    CHECK_NEAR(iv.hi, 0.33387265403690614, 1e-12, "Newcombe 56/70 - 48/80 upper (0.3339)");
    /* Welch with equal n and variance: df = 2(n - 1). */
    double df;
    mt_welch(&iv, &df, 5, 4, 20, 3, 4, 20, 0.95);
    CHECK_NEAR(df, 38, 1e-12, "Welch df with equal groups = 2(n-1)");
    double se = sqrt(4.0 / 20 + 4.0 / 20);
    CHECK_NEAR(iv.hi - iv.est, mt_t_quantile(0.975, 38) * se, 1e-12, "Welch half-width = t se");
    CHECK_NEAR(iv.p, mt_p_t(2 / se, 38), 1e-15, "Welch p-value");
}

/* Must show 4: 1,000 seeded A/B tests with a known lift; the 95% intervals
 * must cover it 93-97% of the time. */
static void test_coverage(void)
{
    const int tests = 1000;
    const double pc = 0.10, pt = 0.12, n = 3000, value = 40;
    struct rng R;
    rng_init(&R, 20240501);
    int cover_abs = 0, cover_rel = 0, cover_rev = 0;
    for (int t = 0; t < tests; t++) {
        struct mt_moments mc = {0}, mt = {0};
        double xc = 0, xt = 0;
        for (int i = 0; i < (int)n; i++) {
            /* Revenue: a purchase of exponential value (mean 40) or nothing. */
            double yc = rng_uniform(&R) < pc, yt = rng_uniform(&R) < pt;
            xc += yc;
            xt += yt;
            mt_moments_add(&mc, yc ? rng_exponential(&R, 1 / value) : 0);
            mt_moments_add(&mt, yt ? rng_exponential(&R, 1 / value) : 0);
        }
        struct mt_interval iv;
        mt_newcombe(&iv, xt, n, xc, n, 0.95);
        cover_abs += iv.lo <= pt - pc && pt - pc <= iv.hi;
        mt_ratio_prop(&iv, xt, n, xc, n, 0.95);
        cover_rel += iv.lo <= pt / pc - 1 && pt / pc - 1 <= iv.hi;
        double df;
        mt_welch(&iv, &df, mt.mean, mt_moments_var(&mt), n, mc.mean, mt_moments_var(&mc), n, 0.95);
        double truth = (pt - pc) * value;
        cover_rev += iv.lo <= truth && truth <= iv.hi;
    }
    printf("# coverage over %d simulated A/B tests (p 0.10 -> 0.12, n 3000 per arm): "
           "abs_lift %.1f%%, rel_lift %.1f%%, rev_lift %.1f%%\n", tests, cover_abs / 10.0,
           cover_rel / 10.0, cover_rev / 10.0);
    CHECK_TRUE(cover_abs >= 930 && cover_abs <= 970, "Newcombe interval covers the lift 93-97%");
    CHECK_TRUE(cover_rel >= 930 && cover_rel <= 970, "log risk ratio interval covers 93-97%");
    CHECK_TRUE(cover_rev >= 930 && cover_rev <= 970, "Welch interval covers the revenue lift 93-97%");
}

/* ---- least squares ----------------------------------------------------------------------------- */

static void test_ols(void)
{
    /* The seed's table: y = 500 + 50 x exactly; at x = 20, 1500. */
    double X[] = {1, 10, 1, 20, 1, 30, 1, 40}, y[] = {1000, 1500, 2000, 2500};
    struct mt_ols o;
    CHECK_TRUE(mt_ols_fit(&o, X, y, 4, 2, true, 0.95) == 0, "seed table fits");
    CHECK_NEAR(o.beta[0], 500, 1e-12, "seed table: intercept 500");
    CHECK_NEAR(o.beta[1], 50, 1e-12, "seed table: slope 50");
    struct mt_interval iv;
    double x0[] = {1, 20};
    mt_ols_predict(&o, x0, 0.95, &iv);
    CHECK_NEAR(iv.est, 1500, 1e-12, "seed table: prediction 1500 at x = 20");
    CHECK_TRUE(fabs(iv.est - (50 + 30 * 20)) > 800 && fabs(o.beta[1] - 30) > 1,
               "not the seed's printed 50 + 30x (650 at x = 20) nor 700");
    mt_ols_release(&o);

    /* y = 1 3 2 5 4 on x = 1..5: b = 0.8, a = 0.6, SSE = 3.6, s^2 = 1.2,
     * Sxx = 10, se(b) = sqrt(0.12), se(a) = sqrt(1.2 (1/5 + 9/10)). */
    double X2[] = {1, 1, 1, 2, 1, 3, 1, 4, 1, 5}, y2[] = {1, 3, 2, 5, 4};
    CHECK_TRUE(mt_ols_fit(&o, X2, y2, 5, 2, true, 0.95) == 0, "small fit");
    CHECK_NEAR(o.beta[1], 0.8, 1e-14, "slope 0.8");
    CHECK_NEAR(o.beta[0], 0.6, 1e-14, "intercept 0.6");
    CHECK_NEAR(o.se[1], sqrt(0.12), 1e-14, "se(slope)");
    CHECK_NEAR(o.se[0], sqrt(1.32), 1e-14, "se(intercept)");
    CHECK_NEAR(o.t[1], 0.8 / sqrt(0.12), 1e-13, "t of the slope");
    CHECK_NEAR(o.pval[1], 0.10408803866182813, 1e-12, "p of the slope (t 2.309, df 3)");
    CHECK_NEAR(o.r2, 1 - 3.6 / 10, 1e-14, "R^2 = 1 - SSE / SST");
    CHECK_NEAR(o.adj_r2, 1 - (4.0 / 3) * 0.36, 1e-14, "adjusted R^2");
    CHECK_NEAR(o.hi[1] - o.beta[1], mt_t_quantile(0.975, 3) * sqrt(0.12), 1e-13, "interval half-width");
    mt_ols_release(&o);

    double Xc[] = {1, 2, 1, 2, 1, 2};
    CHECK_TRUE(mt_ols_fit(&o, Xc, y2, 3, 2, true, 0.95) != 0, "collinear columns are refused");
}

int main(void)
{
    test_distributions();
    test_classify();
    test_rank();
    test_regress_cluster();
    test_uplift();
    test_effect_intervals();
    test_coverage();
    test_ols();
    return check_done();
}
