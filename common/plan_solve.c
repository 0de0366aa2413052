/* plan: the budget allocation, a multiple-choice knapsack over users.
 *
 * Each user i picks a set of at most K offers (K = max_per_user); offer o
 * brings profit[i][o] and costs spend[i][o]; the total spend is at most
 * the budget B.  The Lagrangian relaxation moves the budget into the
 * objective with a multiplier lambda >= 0:
 *     L(lambda) = lambda B + sum_i max_set sum_{o in set} (profit - lambda spend)
 * For a fixed lambda each user is solved alone (the K offers of largest
 * positive value), and L(lambda) bounds the optimum from above for every
 * lambda (weak duality).  The spend of the users' choices falls as lambda
 * grows; bisection finds the smallest lambda whose choices fit the budget,
 * and a greedy fill spends what is left.  docs/plan.md has the details. */
#include "plan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "rng.h"
#include "xalloc.h"

/* ---- the problem ---------------------------------------------------------- */

void plan_problem_init(struct plan_problem *p, size_t n, int m)
{
    CHECK(m >= 1 && m <= PLAN_MAX_OFFERS);
    memset(p, 0, sizeof *p);
    p->n = n;
    p->m = m;
    size_t cells = n ? n : 1;
    p->profit = xreallocarray(NULL, cells, (size_t)m * sizeof *p->profit);
    p->spend = xreallocarray(NULL, cells, (size_t)m * sizeof *p->spend);
    memset(p->profit, 0, cells * (size_t)m * sizeof *p->profit);
    memset(p->spend, 0, cells * (size_t)m * sizeof *p->spend);
    p->flags = xcalloc(cells, 1);
    p->max_per_user = 1;
    p->budget = INFINITY;
}

void plan_problem_release(struct plan_problem *p)
{
    free(p->profit);
    free(p->spend);
    free(p->flags);
    free(p->group);
    free(p->cap);
    memset(p, 0, sizeof *p);
}

void plan_solution_release(struct plan_solution *s)
{
    free(s->choice);
    free(s->thresh);
    free(s->would);
    memset(s, 0, sizeof *s);
}

double plan_choice_profit(const struct plan_problem *p, size_t i, uint64_t c)
{
    double v = 0;
    for (int o = 0; c; o++, c >>= 1)
        if (c & 1)
            v += p->profit[i * p->m + o];
    return v;
}

double plan_choice_spend(const struct plan_problem *p, size_t i, uint64_t c)
{
    double v = 0;
    for (int o = 0; c; o++, c >>= 1)
        if (c & 1)
            v += p->spend[i * p->m + o];
    return v;
}

static int popcount64(uint64_t c) { return __builtin_popcountll(c); }

/* ---- one user at a given lambda ------------------------------------------- */

/* The offers user i takes at multiplier lam: the K of largest value
 * profit - lam * spend among those with profit > 0 and value > 0 (ties to
 * the lower offer).  *val is the sum of their values. */
static uint64_t best_set(const struct plan_problem *p, size_t i, double lam, double *val)
{
    const double *pr = p->profit + i * p->m, *sp = p->spend + i * p->m;
    if (p->max_per_user == 1) {
        int best = -1;
        double bv = 0;
        for (int o = 0; o < p->m; o++)
            if (pr[o] > 0) {
                double v = pr[o] - lam * sp[o];
                if (v > bv) {
                    bv = v;
                    best = o;
                }
            }
        *val = bv;
        return best < 0 ? 0 : 1ULL << best;
    }
    /* Keep the K best in descending order (insertion: m is small). */
    double tv[PLAN_MAX_OFFERS];
    int to[PLAN_MAX_OFFERS], nt = 0, k = p->max_per_user < p->m ? p->max_per_user : p->m;
    for (int o = 0; o < p->m; o++) {
        if (!(pr[o] > 0))
            continue;
        double v = pr[o] - lam * sp[o];
        if (!(v > 0) || (nt == k && !(v > tv[nt - 1])))
            continue;
        int j = nt < k ? nt++ : nt - 1;
        while (j > 0 && v > tv[j - 1]) {
            tv[j] = tv[j - 1];
            to[j] = to[j - 1];
            j--;
        }
        tv[j] = v;
        to[j] = o;
    }
    uint64_t set = 0;
    double sum = 0;
    for (int j = 0; j < nt; j++) {
        set |= 1ULL << to[j];
        sum += tv[j];
    }
    *val = sum;
    return set;
}

/* ---- every user at a given lambda ----------------------------------------- */

struct vi {
    double v;
    size_t i;
};

/* Higher value first, then lower index: a deterministic order. */
static int vi_cmp(const void *a, const void *b)
{
    const struct vi *x = a, *y = b;
    if (x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

struct work {
    uint64_t *set;        /* n */
    double *val;          /* n */
    size_t *gstart, *gusers;   /* capped groups' members, CSR */
    struct vi *tmp;       /* the largest group */
};

struct totals {
    double spend, profit, lagr;
    size_t sends, users;
};

static void work_init(struct work *w, const struct plan_problem *p)
{
    memset(w, 0, sizeof *w);
    size_t n = p->n ? p->n : 1;
    w->set = xreallocarray(NULL, n, sizeof *w->set);
    w->val = xreallocarray(NULL, n, sizeof *w->val);
    if (!p->group)
        return;
    w->gstart = xcalloc((size_t)p->ngroups + 1, sizeof *w->gstart);
    for (size_t i = 0; i < p->n; i++)
        if (p->group[i] != PLAN_NOGROUP) {
            CHECK(p->group[i] < p->ngroups);
            w->gstart[p->group[i] + 1]++;
        }
    size_t most = 1;
    for (uint32_t g = 0; g < p->ngroups; g++) {
        if (w->gstart[g + 1] > most)
            most = w->gstart[g + 1];
        w->gstart[g + 1] += w->gstart[g];
    }
    w->gusers = xreallocarray(NULL, w->gstart[p->ngroups] + 1, sizeof *w->gusers);
    size_t *fill = xcalloc((size_t)p->ngroups + 1, sizeof *fill);
    for (size_t i = 0; i < p->n; i++)
        if (p->group[i] != PLAN_NOGROUP) {
            uint32_t g = p->group[i];
            w->gusers[w->gstart[g] + fill[g]++] = i;
        }
    free(fill);
    w->tmp = xreallocarray(NULL, most, sizeof *w->tmp);
}

static void work_release(struct work *w)
{
    free(w->set);
    free(w->val);
    free(w->gstart);
    free(w->gusers);
    free(w->tmp);
}

/* Every user's choice at lam, within the caps, into w->set and w->val; the
 * lowest kept value of each binding cap into thresh (when not NULL). */
static struct totals eval_at(const struct plan_problem *p, struct work *w, double lam, double *thresh)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->flags[i] & (PLAN_F_HOLDOUT | PLAN_F_EXCLUDED)) {
            w->set[i] = 0;
            w->val[i] = 0;
        } else {
            w->set[i] = best_set(p, i, lam, &w->val[i]);
        }
    }
    for (uint32_t g = 0; p->group && g < p->ngroups; g++) {
        if (thresh)
            thresh[g] = -INFINITY;
        if (p->cap[g] < 0)
            continue;
        size_t k = 0;
        for (size_t j = w->gstart[g]; j < w->gstart[g + 1]; j++) {
            size_t i = w->gusers[j];
            if (w->set[i])
                w->tmp[k++] = (struct vi){w->val[i], i};
        }
        if (k <= (size_t)p->cap[g])
            continue;
        qsort(w->tmp, k, sizeof *w->tmp, vi_cmp);
        for (size_t j = (size_t)p->cap[g]; j < k; j++) {
            w->set[w->tmp[j].i] = 0;
            w->val[w->tmp[j].i] = 0;
        }
        if (thresh)
            thresh[g] = p->cap[g] > 0 ? w->tmp[p->cap[g] - 1].v : INFINITY;
    }
    struct totals t = {0};
    double vsum = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!w->set[i])
            continue;
        t.spend += plan_choice_spend(p, i, w->set[i]);
        t.profit += plan_choice_profit(p, i, w->set[i]);
        t.sends += (size_t)popcount64(w->set[i]);
        t.users++;
        vsum += w->val[i];
    }
    t.lagr = (lam > 0 ? lam * p->budget : 0) + vsum;
    return t;
}

/* ---- the greedy fill ------------------------------------------------------ */

struct cand {
    double ratio, dp, ds;
    size_t i;
    uint64_t base, to;
};

static int cand_cmp(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->ratio != y->ratio)
        return x->ratio > y->ratio ? -1 : 1;
    if (x->dp != y->dp)
        return x->dp > y->dp ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static bool cap_full(const struct plan_problem *p, const size_t *count, size_t i)
{
    return p->group && p->group[i] != PLAN_NOGROUP && p->cap[p->group[i]] >= 0 &&
           count[p->group[i]] >= (size_t)p->cap[p->group[i]];
}

/* User i's best move from its current set within room: the one of highest
 * profit gained per unit of spend (K = 1: change to another offer or take
 * one; K > 1: add an offer).  False when none gains. */
static bool best_move(const struct plan_problem *p, const uint64_t *set, const size_t *count,
                      size_t i, double room, struct cand *c)
{
    const double *pr = p->profit + i * p->m, *sp = p->spend + i * p->m;
    uint64_t cur = set[i];
    if (cur == 0 && cap_full(p, count, i))
        return false;
    if (p->max_per_user > 1 && popcount64(cur) >= p->max_per_user)
        return false;
    double pc = 0, sc = 0;
    if (p->max_per_user == 1 && cur) {
        int o = __builtin_ctzll(cur);
        pc = pr[o];
        sc = sp[o];
    }
    bool found = false;
    for (int o = 0; o < p->m; o++) {
        if (!(pr[o] > 0) || (cur >> o & 1))
            continue;
        double dp = pr[o] - pc, ds = sp[o] - sc;
        if (!(dp > 0) || ds > room)
            continue;
        double ratio = ds > 0 ? dp / ds : INFINITY;
        if (!found || ratio > c->ratio || (ratio == c->ratio && dp > c->dp)) {
            *c = (struct cand){ratio, dp, ds, i, cur, p->max_per_user == 1 ? 1ULL << o : cur | 1ULL << o};
            found = true;
        }
    }
    return found;
}

/* Spend what the budget has left on the moves of best ratio, pass after
 * pass until none fits.  Returns the number of moves made. */
static size_t greedy_fill(const struct plan_problem *p, uint64_t *set, double *spend)
{
    size_t *count = p->group ? xcalloc((size_t)p->ngroups + 1, sizeof *count) : NULL;
    for (size_t i = 0; p->group && i < p->n; i++)
        if (set[i] && p->group[i] != PLAN_NOGROUP)
            count[p->group[i]]++;
    struct cand *c = NULL, *done = NULL;
    size_t cap = 0, ndone = 0, capdone = 0;
    for (int pass = 0; pass < 64; pass++) {
        double room = p->budget - *spend;
        size_t nc = 0;
        for (size_t i = 0; i < p->n; i++) {
            if (p->flags[i] & (PLAN_F_HOLDOUT | PLAN_F_EXCLUDED))
                continue;
            XGROW(c, cap, nc + 1);
            if (best_move(p, set, count, i, room, &c[nc]))
                nc++;
        }
        if (nc == 0)
            break;
        qsort(c, nc, sizeof *c, cand_cmp);
        size_t applied = 0;
        for (size_t k = 0; k < nc; k++) {
            struct cand *m = &c[k];
            if (set[m->i] != m->base || *spend + m->ds > p->budget)
                continue;
            if (m->base == 0 && cap_full(p, count, m->i))
                continue;
            set[m->i] = m->to;
            *spend += m->ds;
            if (m->base == 0 && p->group && p->group[m->i] != PLAN_NOGROUP)
                count[p->group[m->i]]++;
            XGROW(done, capdone, ndone + 1);
            done[ndone++] = *m;
            applied++;
        }
        if (!applied)
            break;
    }
    /* The running sum may round differently from the sum in user order that
     * is reported: undo the last moves until that sum fits too. */
    for (;;) {
        double s = 0;
        for (size_t i = 0; i < p->n; i++)
            if (set[i])
                s += plan_choice_spend(p, i, set[i]);
        *spend = s;
        if (s <= p->budget || ndone == 0)
            break;
        ndone--;
        set[done[ndone].i] = done[ndone].base;
    }
    free(c);
    free(done);
    free(count);
    return ndone;
}

/* ---- other starts for the fill --------------------------------------------- */

static double sets_profit(const struct plan_problem *p, const uint64_t *set)
{
    double v = 0;
    for (size_t i = 0; i < p->n; i++)
        if (set[i])
            v += plan_choice_profit(p, i, set[i]);
    return v;
}

static double sets_spend(const struct plan_problem *p, const uint64_t *set)
{
    double v = 0;
    for (size_t i = 0; i < p->n; i++)
        if (set[i])
            v += plan_choice_spend(p, i, set[i]);
    return v;
}

/* Drop the users of lowest profit per unit of spend until the sets fit. */
static void repair(const struct plan_problem *p, uint64_t *set)
{
    struct vi *v = xreallocarray(NULL, p->n ? p->n : 1, sizeof *v);
    size_t k = 0;
    for (size_t i = 0; i < p->n; i++)
        if (set[i]) {
            double sp = plan_choice_spend(p, i, set[i]);
            v[k++] = (struct vi){sp > 0 ? plan_choice_profit(p, i, set[i]) / sp : INFINITY, i};
        }
    qsort(v, k, sizeof *v, vi_cmp);
    while (k > 0 && sets_spend(p, set) > p->budget)
        set[v[--k].i] = 0;
    free(v);
}

/* Only the most profitable single send that fits (the classic guard of
 * greedy knapsack heuristics against one large item). */
static void best_single(const struct plan_problem *p, uint64_t *set)
{
    memset(set, 0, (p->n ? p->n : 1) * sizeof *set);
    double best = 0;
    size_t bi = 0;
    int bo = -1;
    for (size_t i = 0; i < p->n; i++) {
        if (p->flags[i] & (PLAN_F_HOLDOUT | PLAN_F_EXCLUDED))
            continue;
        if (p->group && p->group[i] != PLAN_NOGROUP && p->cap[p->group[i]] < 1)
            continue;
        for (int o = 0; o < p->m; o++)
            if (p->profit[i * p->m + o] > best && p->spend[i * p->m + o] <= p->budget) {
                best = p->profit[i * p->m + o];
                bi = i;
                bo = o;
            }
    }
    if (bo >= 0)
        set[bi] = 1ULL << bo;
}

/* ---- the Lagrangian ------------------------------------------------------- */

static void finish(const struct plan_problem *p, struct plan_solution *s)
{
    s->value = s->spend = 0;
    s->sends = s->users = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (!s->choice[i])
            continue;
        s->value += plan_choice_profit(p, i, s->choice[i]);
        s->spend += plan_choice_spend(p, i, s->choice[i]);
        s->sends += (size_t)popcount64(s->choice[i]);
        s->users++;
    }
    CHECK(s->spend <= p->budget);
}

void plan_lagrange(const struct plan_problem *p, struct plan_solution *s)
{
    CHECK(p->max_per_user >= 1 && p->budget >= 0);
    memset(s, 0, sizeof *s);
    struct work w;
    work_init(&w, p);
    s->thresh = xcalloc((size_t)p->ngroups + 1, sizeof *s->thresh);

    struct totals t = eval_at(p, &w, 0, s->thresh);
    double lo_final = 0;
    s->bound = t.lagr;
    s->lambda = 0;
    if (t.spend > p->budget) {
        /* At lambda above every profit / spend ratio only free offers have
         * a positive value, so the choices fit any budget. */
        double hi = 0;
        for (size_t k = 0; k < p->n * (size_t)p->m; k++)
            if (p->profit[k] > 0 && p->spend[k] > 0 && p->profit[k] / p->spend[k] > hi)
                hi = p->profit[k] / p->spend[k];
        hi = hi * 2 + 1e-300;
        double lo = 0;
        for (s->iters = 0; s->iters < 200 && hi - lo > 1e-13 * hi; s->iters++) {
            double mid = lo + (hi - lo) / 2;
            if (!(mid > lo && mid < hi))
                break;
            t = eval_at(p, &w, mid, NULL);
            if (t.lagr < s->bound)
                s->bound = t.lagr;
            if (t.spend <= p->budget)
                hi = mid;
            else
                lo = mid;
        }
        s->lambda = hi;
        lo_final = lo;
        t = eval_at(p, &w, hi, s->thresh);
        if (t.lagr < s->bound)
            s->bound = t.lagr;
    }
    size_t n = p->n ? p->n : 1;
    s->choice = xreallocarray(NULL, n, sizeof *s->choice);
    memcpy(s->choice, w.set, n * sizeof *s->choice);
    double spend = t.spend;
    s->fill = isinf(p->budget) ? 0 : greedy_fill(p, s->choice, &spend);
    if (s->lambda > 0) {
        /* Two more starts for the fill, kept when they do better: the
         * choices just below lambda (over the budget) less the users of
         * lowest profit per spend, and the single most profitable send. */
        double best = sets_profit(p, s->choice);
        for (int start = 1; start <= 2; start++) {
            if (start == 1) {
                eval_at(p, &w, lo_final, NULL);
                repair(p, w.set);
            } else {
                best_single(p, w.set);
            }
            spend = sets_spend(p, w.set);
            size_t f = greedy_fill(p, w.set, &spend);
            double v = sets_profit(p, w.set);
            if (v > best) {
                memcpy(s->choice, w.set, n * sizeof *s->choice);
                best = v;
                s->fill = f;
                s->start = start;
            }
        }
    }
    finish(p, s);
    work_release(&w);
}

uint64_t plan_would(const struct plan_problem *p, const struct plan_solution *s, size_t i,
                    double *value)
{
    double v = 0;
    uint64_t set = 0;
    if (s->would) {
        set = s->would[i];
    } else if (!(p->flags[i] & PLAN_F_EXCLUDED)) {
        set = best_set(p, i, s->lambda, &v);
        if (set && p->group && p->group[i] != PLAN_NOGROUP && v < s->thresh[p->group[i]])
            set = 0;
    }
    if (value)
        *value = plan_choice_profit(p, i, set);
    return set;
}

/* ---- random targeting -------------------------------------------------------- */

void plan_random(const struct plan_problem *p, uint64_t seed, struct plan_solution *s)
{
    CHECK(p->max_per_user >= 1 && p->budget >= 0 && p->n < UINT32_MAX);
    memset(s, 0, sizeof *s);
    size_t n = p->n ? p->n : 1;
    s->choice = xcalloc(n, sizeof *s->choice);
    s->would = xcalloc(n, sizeof *s->would);
    s->thresh = xcalloc((size_t)p->ngroups + 1, sizeof *s->thresh);
    uint32_t *order = xreallocarray(NULL, n, sizeof *order);
    for (size_t i = 0; i < p->n; i++)
        order[i] = (uint32_t)i;
    struct rng r;
    rng_init(&r, seed ^ 0x72616e646f6d21ULL /* "random!" */);
    rng_shuffle(&r, order, p->n);
    double spend = 0, cheapest = INFINITY;
    for (size_t k = 0; k < p->n * (size_t)p->m; k++)
        if (isfinite(p->profit[k]) && p->spend[k] < cheapest)
            cheapest = p->spend[k];
    size_t k = 0;
    for (; k < p->n && spend + cheapest <= p->budget; k++) {
        size_t i = order[k];
        if (p->flags[i] & PLAN_F_EXCLUDED)
            continue;
        int avail[PLAN_MAX_OFFERS], na = 0;
        for (int o = 0; o < p->m; o++)
            if (isfinite(p->profit[i * p->m + o]))
                avail[na++] = o;
        /* Draw min(K, na) of them: a partial Fisher-Yates shuffle. */
        uint64_t set = 0;
        for (int j = 0; j < na && j < p->max_per_user; j++) {
            int t = j + (int)rng_below(&r, (uint64_t)(na - j)), tmp = avail[j];
            avail[j] = avail[t];
            avail[t] = tmp;
            set |= 1ULL << avail[j];
        }
        if (!set)
            continue;
        if (p->flags[i] & PLAN_F_HOLDOUT) {
            s->would[i] = set;
        } else if (spend + plan_choice_spend(p, i, set) <= p->budget) {
            s->choice[i] = set;
            spend += plan_choice_spend(p, i, set);
        }
    }
    /* The sum in user order (the one reported) may round above the running
     * sum: drop the last sends until it fits too. */
    while (k > 0 && sets_spend(p, s->choice) > p->budget)
        s->choice[order[--k]] = 0;
    free(order);
    finish(p, s);
    s->bound = NAN;
}

/* ---- the exact solution for small problems --------------------------------- */

/* Every set of at most K of user i's offers with profit > 0, the empty set
 * first; false if more than 255. */
static bool user_choices(const struct plan_problem *p, size_t i, uint64_t *sets, int *n)
{
    int elig[PLAN_MAX_OFFERS], ne = 0;
    for (int o = 0; o < p->m; o++)
        if (p->profit[i * p->m + o] > 0)
            elig[ne++] = o;
    *n = 1;
    sets[0] = 0;
    /* Breadth by size: extend each set by a higher eligible offer. */
    int from = 0;
    for (int size = 1; size <= p->max_per_user && size <= ne; size++) {
        int to = *n;
        for (int k = from; k < to; k++) {
            int last = sets[k] ? 63 - __builtin_clzll(sets[k]) : -1;
            for (int e = 0; e < ne; e++) {
                if (elig[e] <= last)
                    continue;
                if (*n == 255)
                    return false;
                sets[(*n)++] = sets[k] | 1ULL << elig[e];
            }
        }
        from = to;
    }
    return true;
}

/* Spend in whole units, rounded up: w * unit >= spend. */
static int64_t units_up(double spend, double unit)
{
    int64_t w = (int64_t)ceil(spend / unit);
    if (w > 0 && (double)(w - 1) * unit >= spend)
        w--;
    while ((double)w * unit < spend)
        w++;
    return w;
}

bool plan_exact(const struct plan_problem *p, double unit, size_t max_cells, struct plan_solution *s)
{
    CHECK(!p->group && unit > 0);
    uint64_t sets[256];
    int ns;
    for (size_t i = 0; i < p->n; i++)
        if (!user_choices(p, i, sets, &ns))
            return false;
    if (isinf(p->budget)) {
        /* No budget: each user's best set alone is optimal. */
        struct plan_solution t;
        plan_lagrange(p, &t);
        free(s->choice);
        s->choice = t.choice;
        t.choice = NULL;
        plan_solution_release(&t);
        finish(p, s);
        return true;
    }
    /* The most whole units within the budget, exactly. */
    double wf = floor(p->budget / unit);
    while (wf > 0 && wf * unit > p->budget)
        wf--;
    while ((wf + 1) * unit <= p->budget)
        wf++;
    if (wf > (double)(max_cells / (p->n + 1)))
        return false;
    size_t W = (size_t)wf;
    double *f = xreallocarray(NULL, W + 1, sizeof *f), *g = xreallocarray(NULL, W + 1, sizeof *g);
    uint8_t *pick = xreallocarray(NULL, (p->n ? p->n : 1), W + 1);
    for (size_t w = 0; w <= W; w++)
        f[w] = 0;
    int64_t wt[256];
    double val[256];
    for (size_t i = 0; i < p->n; i++) {
        uint8_t *pk = pick + i * (W + 1);
        memcpy(g, f, (W + 1) * sizeof *g);
        memset(pk, 0, W + 1);
        ns = 1;
        if (!(p->flags[i] & (PLAN_F_HOLDOUT | PLAN_F_EXCLUDED)))
            user_choices(p, i, sets, &ns);
        for (int c = 1; c < ns; c++) {
            wt[c] = units_up(plan_choice_spend(p, i, sets[c]), unit);
            val[c] = plan_choice_profit(p, i, sets[c]);
        }
        for (size_t w = 0; w <= W; w++)
            for (int c = 1; c < ns; c++)
                if (wt[c] <= (int64_t)w && f[w - (size_t)wt[c]] + val[c] > g[w]) {
                    g[w] = f[w - (size_t)wt[c]] + val[c];
                    pk[w] = (uint8_t)c;
                }
        double *tmp = f;
        f = g;
        g = tmp;
    }
    free(s->choice);
    s->choice = xcalloc(p->n ? p->n : 1, sizeof *s->choice);
    size_t w = W;
    for (size_t i = p->n; i-- > 0;) {
        int c = pick[i * (W + 1) + w];
        if (!c)
            continue;
        user_choices(p, i, sets, &ns);
        s->choice[i] = sets[c];
        w -= (size_t)units_up(plan_choice_spend(p, i, sets[c]), unit);
    }
    free(f);
    free(g);
    free(pick);
    s->fill = 0;
    s->start = 0;
    finish(p, s);
    return true;
}
