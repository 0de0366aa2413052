/* test_plan: the planner's objective, offer table, holdout draw and budget
 * allocation.  The Lagrangian is checked against the exact optimum (a
 * dynamic programme, itself checked against brute force) on thousands of
 * small random problems: it never exceeds the budget, never sends an offer
 * of non-positive profit or to a held-out user, and falls short of the
 * optimum by at most the largest single profit (the a-priori bound of the
 * multiple-choice knapsack's relaxation) and by at most its own dual bound
 * (the a-posteriori bound promo-plan reports). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plan.h"
#include "rng.h"

/* ---- the objective -------------------------------------------------------- */

static void test_objective(void)
{
    struct plan_offer pct = {"pct20", PLAN_PERCENT, 0.20, 0.05}, fix = {"ship5", PLAN_FIXED, 5, 0.10};
    double pr, sp;
    /* 0.1 x 40 x 0.25 - (0.3 + 0.1) x 8 - 0.05 */
    plan_objective(&pct, 0.1, 0.3, 40, 0.25, &pr, &sp);
    CHECK_NEAR(pr, 1.0 - 3.2 - 0.05, 1e-12, "objective: percent offer profit");
    CHECK_NEAR(sp, 0.05 + 3.2, 1e-12, "objective: percent offer spend");
    /* A fixed offer takes at most the order: min(5, 4) = 4 off. */
    plan_objective(&fix, 0.2, 0.5, 4, 0.5, &pr, &sp);
    CHECK_NEAR(pr, 0.2 * 4 * 0.5 - 0.7 * 4 - 0.10, 1e-12, "objective: fixed offer capped by the order");
    CHECK_NEAR(sp, 0.10 + 0.7 * 4, 1e-12, "objective: fixed offer spend");
    /* A do-not-disturb user: negative uplift, negative profit. */
    plan_objective(&pct, -0.2, 0.3, 40, 0.25, &pr, &sp);
    CHECK_TRUE(pr < 0, "objective: negative uplift gives a negative profit");
    /* Uplift below minus the base purchases: no purchases, no discount. */
    plan_objective(&pct, -0.5, 0.3, 40, 0.25, &pr, &sp);
    CHECK_NEAR(sp, 0.05, 1e-12, "objective: no purchases left, the send cost only");

    /* The truth of a user with 0.5 orders a week of value 30 (margin 10)
     * that a 20% offer raises to 0.8: discount 0.8 x 6 = 4.8. */
    struct plan_truth t = {.base_purchases = 0.5, .base_revenue = 15, .base_profit = 5,
                           .uplift_purchases = 0.3, .uplift_revenue = 0.8 * 24 - 15};
    plan_truth_objective(&pct, &t, &pr, &sp);
    CHECK_NEAR(pr, 0.8 * (10 - 6) - 0.05 - 5, 1e-12, "truth: profit is the treated minus the base profit");
    CHECK_NEAR(sp, 0.05 + 4.8, 1e-12, "truth: spend is the send cost plus the discount");
}

static void test_offers(void)
{
    struct plan_offers t;
    plan_offers_load(&t, "data/offers.csv");
    CHECK_EQ_INT(t.n, 4, "offers: data/offers.csv has 4 offers");
    CHECK_EQ_STR(t.o[0].id, "pct10", "offers: first id");
    CHECK_TRUE(t.o[0].type == PLAN_PERCENT && t.o[0].value == 0.10 && t.o[0].cost == 0.05,
               "offers: pct10 is 10% off at 0.05 a send");
    CHECK_TRUE(t.o[3].type == PLAN_FIXED && t.o[3].value == 5, "offers: ship5 is 5 off");
    CHECK_EQ_INT(plan_offer_find(&t, "ship5", 5), 3, "offers: find by id");
    CHECK_EQ_INT(plan_offer_find(&t, "ship", 4), -1, "offers: no prefix match");
}

/* ---- the holdout ----------------------------------------------------------- */

static void test_holdout(void)
{
    const int n = 200000;
    const double share = 0.1;
    int held = 0, again = 0, other = 0, both = 0;
    char id[32];
    for (int i = 0; i < n; i++) {
        int len = snprintf(id, sizeof id, "%d", i + 1);
        bool h = plan_holdout_u(7, id, (size_t)len) < share;
        held += h;
        again += h == (plan_holdout_u(7, id, (size_t)len) < share);
        bool h2 = plan_holdout_u(8, id, (size_t)len) < share;
        other += h2;
        both += h && h2;
    }
    double sd = sqrt(n * share * (1 - share));
    printf("# holdout: %d of %d held out (expected %.0f, sd %.0f)\n", held, n, n * share, sd);
    CHECK_TRUE(fabs(held - n * share) < 4 * sd, "holdout: share within 4 binomial sd");
    CHECK_EQ_INT(again, n, "holdout: the same seed draws the same group");
    CHECK_TRUE(fabs(other - n * share) < 4 * sd, "holdout: another seed, the same share");
    /* Independent groups overlap in share^2 of the users. */
    double sd2 = sqrt(n * share * share * (1 - share * share));
    CHECK_TRUE(fabs(both - n * share * share) < 4 * sd2, "holdout: another seed draws an independent group");
}

/* ---- random problems -------------------------------------------------------- */

/* n users, m offers; integer spends 1..30 (so the exact DP in units of 1 is
 * the true optimum), profits in [-5, 10) (a third not worth sending). */
static void random_problem(struct plan_problem *p, struct rng *r, size_t n, int m, int k, double hold)
{
    plan_problem_init(p, n, m);
    p->max_per_user = k;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        p->flags[i] = rng_uniform(r) < hold ? PLAN_F_HOLDOUT : 0;
        for (int o = 0; o < m; o++) {
            p->spend[i * m + o] = (double)(1 + rng_below(r, 30));
            p->profit[i * m + o] = -5 + 15 * rng_uniform(r);
            if (p->profit[i * m + o] > 0)
                total += p->spend[i * m + o];
        }
    }
    p->budget = floor(total * (0.03 + 0.5 * rng_uniform(r)));
}

/* Brute force: every combination of every user's sets (any offers, profit
 * of any sign) within the budget and the caps. */
static void brute(const struct plan_problem *p, size_t i, double spend, double value, size_t *count,
                  double *best)
{
    if (spend > p->budget)
        return;
    if (i == p->n) {
        if (value > *best)
            *best = value;
        return;
    }
    brute(p, i + 1, spend, value, count, best);
    if (p->flags[i] & (PLAN_F_HOLDOUT | PLAN_F_EXCLUDED))
        return;
    uint32_t g = p->group ? p->group[i] : PLAN_NOGROUP;
    if (g != PLAN_NOGROUP && (int64_t)count[g] >= p->cap[g])
        return;
    if (g != PLAN_NOGROUP)
        count[g]++;
    for (uint64_t c = 1; c < 1ULL << p->m; c++)
        if (__builtin_popcountll(c) <= p->max_per_user)
            brute(p, i + 1, spend + plan_choice_spend(p, i, c), value + plan_choice_profit(p, i, c),
                  count, best);
    if (g != PLAN_NOGROUP)
        count[g]--;
}

/* Every chosen offer has a positive profit, no held-out or excluded user is
 * sent anything, no user gets more than K, caps hold, spend within budget. */
static bool valid(const struct plan_problem *p, const struct plan_solution *s)
{
    double spend = 0;
    size_t count[64] = {0};
    for (size_t i = 0; i < p->n; i++) {
        uint64_t c = s->choice[i];
        if (!c)
            continue;
        if ((p->flags[i] & (PLAN_F_HOLDOUT | PLAN_F_EXCLUDED)) || __builtin_popcountll(c) > p->max_per_user)
            return false;
        for (int o = 0; o < p->m; o++)
            if ((c >> o & 1) && !(p->profit[i * p->m + o] > 0))
                return false;
        if (p->group && p->group[i] != PLAN_NOGROUP && (int64_t)++count[p->group[i]] > p->cap[p->group[i]])
            return false;
        spend += plan_choice_spend(p, i, c);
    }
    return spend <= p->budget && fabs(spend - s->spend) <= 1e-9 * (1 + spend);
}

static void test_exact_vs_brute(void)
{
    struct rng r;
    rng_init(&r, 1);
    int agree = 0, cases = 300;
    for (int t = 0; t < cases; t++) {
        struct plan_problem p;
        random_problem(&p, &r, 1 + rng_below(&r, 6), 1 + (int)rng_below(&r, 3), 1 + (int)rng_below(&r, 2), 0.1);
        struct plan_solution s = {0};
        bool ok = plan_exact(&p, 1, 1 << 24, &s);
        double best = 0;
        brute(&p, 0, 0, 0, NULL, &best);
        agree += ok && valid(&p, &s) && fabs(s.value - best) <= 1e-9 * (1 + best);
        plan_solution_release(&s);
        plan_problem_release(&p);
    }
    CHECK_EQ_INT(agree, cases, "exact: the dynamic programme finds the brute-force optimum");
}

static void test_lagrange_vs_exact(int k, int cases)
{
    struct rng r;
    rng_init(&r, 100 + (uint64_t)k);
    int feasible = 0, below = 0, bounded = 0, apriori = 0, n_opt = 0, exact = 0;
    char worst[160] = "";
    double sum_gap = 0, max_gap = 0, sum_rel = 0, max_rel = 0, sum_bound = 0;
    for (int t = 0; t < cases; t++) {
        struct plan_problem p;
        random_problem(&p, &r, 5 + rng_below(&r, 36), 1 + (int)rng_below(&r, 4), k, 0.1);
        struct plan_solution lag, ex = {0};
        plan_lagrange(&p, &lag);
        exact += plan_exact(&p, 1, 1 << 26, &ex);
        double pmax = 0;
        for (size_t j = 0; j < p.n * (size_t)p.m; j++)
            if (!(p.flags[j / p.m] & PLAN_F_HOLDOUT) && p.profit[j] > pmax)
                pmax = p.profit[j];
        double gap = ex.value - lag.value, tol = 1e-9 * (1 + ex.value);
        feasible += valid(&p, &lag);
        below += gap >= -tol;
        bounded += ex.value <= lag.bound + tol;
        apriori += gap <= pmax * k + tol;
        n_opt += gap <= tol;
        sum_gap += gap;
        if (gap > max_gap)
            max_gap = gap;
        double rel = ex.value > 0 ? gap / ex.value : 0;
        sum_rel += rel;
        if (rel > max_rel) {
            max_rel = rel;
            snprintf(worst, sizeof worst, "%zu users, %d offers, budget %g, optimum %.3f, %zu sends",
                     p.n, p.m, p.budget, ex.value, ex.sends);
        }
        sum_bound += lag.bound - lag.value;
        plan_solution_release(&lag);
        plan_solution_release(&ex);
        plan_problem_release(&p);
    }
    char what[160];
    printf("# lagrange K=%d, %d problems of 5-40 users: optimal in %d; gap to the optimum mean %.4f, "
           "max %.4f; relative mean %.4f%%, max %.2f%%; dual bound gap mean %.4f\n",
           k, cases, n_opt, sum_gap / cases, max_gap, 100 * sum_rel / cases, 100 * max_rel, sum_bound / cases);
    printf("# largest relative gap: %s\n", worst);
    snprintf(what, sizeof what, "exact K=%d: solved every problem", k);
    CHECK_EQ_INT(exact, cases, what);
    snprintf(what, sizeof what, "lagrange K=%d: every plan valid (budget, positive profits, holdout)", k);
    CHECK_EQ_INT(feasible, cases, what);
    snprintf(what, sizeof what, "lagrange K=%d: never above the exact optimum", k);
    CHECK_EQ_INT(below, cases, what);
    snprintf(what, sizeof what, "lagrange K=%d: the optimum is within the reported dual bound", k);
    CHECK_EQ_INT(bounded, cases, what);
    snprintf(what, sizeof what, "lagrange K=%d: gap at most K x the largest single profit", k);
    CHECK_EQ_INT(apriori, cases, what);
    snprintf(what, sizeof what, "lagrange K=%d: mean relative gap below 1%%", k);
    CHECK_TRUE(sum_rel / cases < 0.01, what);
}

static void test_caps(void)
{
    struct rng r;
    rng_init(&r, 5);
    int cases = 300, ok = 0, bounded = 0;
    for (int t = 0; t < cases; t++) {
        struct plan_problem p;
        random_problem(&p, &r, 2 + rng_below(&r, 6), 1 + (int)rng_below(&r, 3), 1, 0.1);
        p.ngroups = 2;
        p.cap = malloc(2 * sizeof *p.cap);
        p.cap[0] = (int64_t)rng_below(&r, 3);
        p.cap[1] = (int64_t)rng_below(&r, 3);
        p.group = malloc(p.n * sizeof *p.group);
        for (size_t i = 0; i < p.n; i++) {
            uint64_t g = rng_below(&r, 3);
            p.group[i] = g == 2 ? PLAN_NOGROUP : (uint32_t)g;
        }
        if (t % 3 == 0)
            p.budget = INFINITY;
        struct plan_solution s;
        plan_lagrange(&p, &s);
        double best = 0;
        size_t count[2] = {0, 0};
        brute(&p, 0, 0, 0, count, &best);
        ok += valid(&p, &s) && s.value <= best + 1e-9;
        bounded += best <= s.bound + 1e-9 * (1 + best);
        plan_solution_release(&s);
        plan_problem_release(&p);
    }
    CHECK_EQ_INT(ok, cases, "caps: plans keep the caps and the budget");
    CHECK_EQ_INT(bounded, cases, "caps: the optimum with caps is within the dual bound");
}

static void test_special(void)
{
    struct rng r;
    rng_init(&r, 9);
    struct plan_problem p;
    random_problem(&p, &r, 200, 3, 1, 0.1);
    p.budget = INFINITY;
    struct plan_solution s;
    plan_lagrange(&p, &s);
    double want = 0;
    for (size_t i = 0; i < p.n; i++) {
        double b = 0;
        for (int o = 0; o < p.m && !(p.flags[i] & PLAN_F_HOLDOUT); o++)
            if (p.profit[i * p.m + o] > b)
                b = p.profit[i * p.m + o];
        want += b;
    }
    CHECK_NEAR(s.value, want, 1e-12, "no budget: every user gets its most profitable offer");
    CHECK_NEAR(s.bound, s.value, 1e-12, "no budget: the plan is optimal");
    CHECK_TRUE(s.lambda == 0, "no budget: lambda 0");
    plan_solution_release(&s);

    p.budget = 0;
    plan_lagrange(&p, &s);
    CHECK_EQ_INT(s.sends, 0, "budget 0: nothing sent");
    plan_solution_release(&s);

    /* Twice the same answer. */
    p.budget = 500;
    struct plan_solution a, b;
    plan_lagrange(&p, &a);
    plan_lagrange(&p, &b);
    CHECK_TRUE(memcmp(a.choice, b.choice, p.n * sizeof *a.choice) == 0 && a.value == b.value,
               "deterministic: the same problem gives the same plan");
    CHECK_TRUE(a.lambda > 0 && a.spend <= 500 && a.spend > 500 - 30, "budget binds: lambda > 0, spent to within one send");
    plan_solution_release(&a);
    plan_solution_release(&b);
    plan_problem_release(&p);
}

/* A held-out twin of each user gets, by plan_would, what the user got
 * (apart from the moves of the greedy fill). */
static void test_would(void)
{
    struct rng r;
    rng_init(&r, 11);
    struct plan_problem p;
    size_t half = 3000;
    random_problem(&p, &r, 2 * half, 4, 1, 0);
    for (size_t i = 0; i < half; i++) {
        memcpy(p.profit + (half + i) * 4, p.profit + i * 4, 4 * sizeof *p.profit);
        memcpy(p.spend + (half + i) * 4, p.spend + i * 4, 4 * sizeof *p.spend);
        p.flags[i] = 0;
        p.flags[half + i] = PLAN_F_HOLDOUT;
    }
    p.budget = 2000;
    struct plan_solution s;
    plan_lagrange(&p, &s);
    size_t differ = 0, sent = 0;
    for (size_t i = 0; i < half; i++) {
        differ += plan_would(&p, &s, half + i, NULL) != s.choice[i];
        sent += s.choice[i] != 0;
    }
    printf("# would: %zu of %zu twins differ, %zu moves by the fill, %zu sent\n", differ, half, s.fill, sent);
    CHECK_TRUE(differ <= s.fill, "would: held-out twins get the treated users' offers but for the fill");
    CHECK_TRUE(sent > 100, "would: the budget sends offers");
    plan_solution_release(&s);
    plan_problem_release(&p);
}

/* Random targeting: within budget, never a held-out user, offers of any
 * sign; held-out users are reached at the rate treated ones are sent. */
static void test_random(void)
{
    struct rng r;
    rng_init(&r, 17);
    struct plan_problem p;
    random_problem(&p, &r, 20000, 4, 1, 0.3);
    for (size_t i = 0; i < p.n; i += 7)
        p.profit[i * 4 + 2] = -INFINITY;   /* not available to these users */
    p.budget = 20000;
    struct plan_solution a, b, c;
    plan_random(&p, 1, &a);
    plan_random(&p, 1, &b);
    plan_random(&p, 2, &c);
    size_t held = 0, reached = 0, treated = 0, negative = 0, bad = 0;
    double spend = 0;
    for (size_t i = 0; i < p.n; i++) {
        uint64_t x = a.choice[i], w = a.would[i];
        bool h = p.flags[i] & PLAN_F_HOLDOUT;
        held += h;
        reached += w != 0;
        treated += !h;
        bad += (h && x) || (!h && w) || __builtin_popcountll(x | w) > 1;
        for (int o = 0; o < 4; o++)
            if ((x | w) >> o & 1) {
                bad += !isfinite(p.profit[i * 4 + o]);
                negative += p.profit[i * 4 + o] <= 0;
            }
        spend += plan_choice_spend(&p, i, x);
    }
    double rs = (double)a.sends / (double)treated, rh = (double)reached / (double)held;
    printf("# random: %zu sends of %zu treated users (%.3f), %zu of %zu held out reached (%.3f), "
           "%zu offers at a loss, spend %.2f\n", a.sends, treated, rs, reached, held, rh, negative, spend);
    CHECK_EQ_INT(bad, 0, "random: no held-out user sent, one offer each, only available offers");
    CHECK_TRUE(spend <= p.budget && spend > p.budget - 30, "random: spends the budget, not more");
    CHECK_TRUE(negative > 0, "random: offers are drawn whatever their profit");
    CHECK_TRUE(fabs(rs - rh) < 4 * sqrt(rs * (1 - rs) / (double)held), "random: held-out users reached at the treated rate");
    CHECK_TRUE(memcmp(a.choice, b.choice, p.n * sizeof *a.choice) == 0, "random: the same seed, the same plan");
    CHECK_TRUE(memcmp(a.choice, c.choice, p.n * sizeof *a.choice) != 0, "random: another seed, another plan");
    CHECK_EQ_INT(plan_would(&p, &a, 0, NULL), a.would[0], "random: plan_would gives the drawn would-be set");
    plan_solution_release(&a);
    plan_solution_release(&b);
    plan_solution_release(&c);
    plan_problem_release(&p);
}

/* A large problem: the dual bound says how far from the optimum it is. */
static void test_large(void)
{
    struct rng r;
    rng_init(&r, 13);
    struct plan_problem p;
    random_problem(&p, &r, 200000, 4, 1, 0.1);
    struct plan_solution s;
    plan_lagrange(&p, &s);
    printf("# large: %zu users, value %.2f, bound gap %.4f (%.2e relative), %d bisection steps, %zu fill moves\n",
           p.n, s.value, s.bound - s.value, (s.bound - s.value) / s.value, s.iters, s.fill);
    CHECK_TRUE(valid(&p, &s), "large: the plan is valid");
    CHECK_TRUE(s.bound - s.value <= 1e-4 * s.value, "large: within 1e-4 of the optimum by the dual bound");
    plan_solution_release(&s);
    plan_problem_release(&p);
}

int main(void)
{
    test_objective();
    test_offers();
    test_holdout();
    test_exact_vs_brute();
    test_lagrange_vs_exact(1, 3000);
    test_lagrange_vs_exact(2, 1000);
    test_caps();
    test_special();
    test_would();
    test_random();
    test_large();
    return check_done();
}
