/* plan: choosing who gets which offer under a budget (promo-plan).
 *
 * The objective and the algorithm are written down in docs/plan.md; this
 * header is their one implementation:
 *   - the offer table (plan_offers_*), the same CSV as promo-synth's;
 *   - the objective: expected incremental profit and expected spend of
 *     sending offer o to a user (plan_objective, plan_truth_objective);
 *   - the holdout: a seeded hash of the user id (plan_holdout);
 *   - segment rules: excluded segments and caps (plan_rules_*);
 *   - segment-level effects from past campaigns (plan_effects_*), the
 *     fallback when the input has no uplift estimates;
 *   - the problem, a multiple-choice knapsack over users, and its solvers:
 *     the Lagrangian relaxation with a greedy fill (plan_lagrange), the
 *     exact dynamic programme for small problems (plan_exact), the
 *     decision rule applied to held-out users (plan_would), and random
 *     targeting to compare plans with (plan_random).
 * The problem holds two doubles per (user, offer) and a few bytes per
 * user: never the records. */
#ifndef PROMO_PLAN_H
#define PROMO_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strmap.h"

/* ---- the offer table ----------------------------------------------------- */

#define PLAN_MAX_OFFERS 64   /* a user's choice is a 64-bit set of offers */
#define PLAN_ID_MAX 64       /* offer ids, NUL included */

enum plan_offer_type { PLAN_PERCENT, PLAN_FIXED };

struct plan_offer {
    char id[PLAN_ID_MAX];
    enum plan_offer_type type;
    double value;     /* PERCENT: the fraction off; FIXED: money off an order */
    double cost;      /* cost of one send */
};

struct plan_offers {
    struct plan_offer o[PLAN_MAX_OFFERS];
    int n;
};

/* Read an id,type,value,cost CSV (data/offers.csv); dies with
 * "FILE: line N, column M: ..." on a bad one. */
void plan_offers_load(struct plan_offers *t, const char *path);
/* The offer's index by id, or -1. */
int plan_offer_find(const struct plan_offers *t, const char *id, size_t len);

/* ---- the objective ------------------------------------------------------- */

/* Money off one order of value aov: value * aov, or min(value, aov). */
double plan_discount(const struct plan_offer *o, double aov);
/* Expected incremental profit and expected spend of sending o to a user
 * whose expected purchases are p_base without the offer and p_base + uplift
 * with it, with order value aov and margin (a share of revenue):
 *   profit = uplift * aov * margin - (p_base + uplift) * discount - cost
 *   spend  = cost + max(0, p_base + uplift) * discount */
void plan_objective(const struct plan_offer *o, double uplift, double p_base, double aov,
                    double margin, double *profit, double *spend);

/* A user's true expectations for one offer (promo-synth truth). */
struct plan_truth {
    double base_purchases, base_revenue, base_profit;
    double uplift_purchases, uplift_revenue;
};
/* The same objective from the truth: the discount given is
 *   D = uplift_purchases * base_revenue / base_purchases - uplift_revenue
 * (revenue per order times the treated orders, minus the treated revenue),
 * and profit = uplift_purchases * base_profit / base_purchases - D - cost,
 * spend = cost + D.  With the same offer table, profit is the truth's
 * uplift_profit. */
void plan_truth_objective(const struct plan_offer *o, const struct plan_truth *t,
                          double *profit, double *spend);

/* ---- the holdout --------------------------------------------------------- */

/* A number in [0, 1) drawn from the seed and the user id's text; the user is
 * held out when it is below the holdout share.  Independent of the order of
 * the users and of everything else in the input. */
double plan_holdout_u(uint64_t seed, const char *id, size_t len);

/* ---- segment rules ------------------------------------------------------- */

/* Segments are named by their text (an integer segment 3 is "3"). */
struct plan_rules {
    struct strmap exclude;    /* excluded segments */
    struct strmap capped;     /* capped segments; cap[id] users at most */
    int64_t *cap;
    size_t capcap;
};

void plan_rules_init(struct plan_rules *r);
void plan_rules_release(struct plan_rules *r);
/* Parse an --exclude-segment value: "S" or "S,T,...".  Usage errors exit 2. */
void plan_rules_exclude(struct plan_rules *r, const char *arg);
/* Parse a --cap-segment value: "S=N" or "S=N,T=M,...". */
void plan_rules_cap(struct plan_rules *r, const char *arg);
bool plan_rules_any(const struct plan_rules *r);

/* ---- segment-level effects ----------------------------------------------- */

/* The uplift of each offer in each segment, and in no particular segment,
 * from past campaigns. */
struct plan_effects {
    struct strmap segs;       /* segment text -> id */
    double *seg_uplift;       /* nsegs x noffers, NAN where not given */
    size_t cap;
    double all[PLAN_MAX_OFFERS];   /* per offer, any segment; NAN if not given */
    int noffers;
    size_t nrecords;
};

/* Read effects: a metrics stream from promo-evaluate --task effect (records
 * with task "effect", metric "abs_lift", group the offer, value the lift,
 * and an optional "segment" field); any other stream, or a CSV file (name
 * ending in .csv or .csv.gz), with fields offer, uplift and an optional
 * segment.  Offers must be in the table.  Dies naming the record on a bad
 * one, or when a (segment, offer) is given twice. */
void plan_effects_load(struct plan_effects *e, const char *path, const struct plan_offers *offers);
void plan_effects_release(struct plan_effects *e);
/* The uplift of offer o for a user of segment seg (NULL: none): the
 * segment's when given, else the overall one, else NAN. */
double plan_effects_get(const struct plan_effects *e, const char *seg, size_t len, int o);

/* ---- the problem ---------------------------------------------------------- */

#define PLAN_NOGROUP UINT32_MAX

enum {
    PLAN_F_HOLDOUT = 1,    /* in the control group: may not be sent anything */
    PLAN_F_EXCLUDED = 2,   /* in an excluded segment */
};

/* n users, m offers.  profit[i*m + o] and spend[i*m + o] are user i's
 * expected incremental profit and expected spend for offer o (profit
 * -INFINITY: the offer is not available to the user).  Only offers with
 * profit > 0 are ever chosen.  A user gets at most max_per_user offers; the
 * chosen offers' profits and spends add up.  Users of cap group g
 * (group[i] == g) get offers in at most cap[g] users.  The total spend of
 * the chosen offers is at most budget (INFINITY: no budget). */
struct plan_problem {
    size_t n;
    int m;
    double *profit, *spend;   /* n x m */
    uint8_t *flags;           /* n: PLAN_F_* */
    uint32_t *group;          /* n: cap group or PLAN_NOGROUP; NULL: no caps */
    int64_t *cap;             /* ngroups */
    uint32_t ngroups;
    int max_per_user;
    double budget;
};

/* Allocates profit, spend and flags (zeroed) for n users and m offers;
 * group and cap are the caller's to set (plan_problem_release frees them). */
void plan_problem_init(struct plan_problem *p, size_t n, int m);
void plan_problem_release(struct plan_problem *p);

struct plan_solution {
    uint64_t *choice;    /* n: the set of offers sent to each user */
    double value;        /* total expected incremental profit */
    double spend;        /* total expected spend, <= budget */
    size_t sends, users; /* offers sent, users sent any */
    double lambda;       /* the budget's multiplier: value per unit of spend */
    double bound;        /* an upper bound on the optimum (Lagrangian dual) */
    int iters;           /* bisection steps */
    size_t fill;         /* offers added or changed by the greedy fill */
    int start;           /* the fill's start kept: 0 the choices at lambda,
                          * 1 those just below it less the users of lowest
                          * profit per spend, 2 the best single send */
    double *thresh;      /* per cap group: the lowest kept value when the cap
                          * binds, else -INFINITY (for plan_would) */
    uint64_t *would;     /* plan_random: held-out users' would-be sets */
};

void plan_solution_release(struct plan_solution *s);

/* The Lagrangian relaxation: bisect on lambda >= 0 for the smallest lambda
 * whose choices (each user taking the offers that maximise profit - lambda
 * spend, and within a capped group the users of the highest such values)
 * fit the budget, then spend what is left greedily by profit per unit of
 * spend.  The fill also starts from two other plans (see start) and the
 * best of the three is kept.  Deterministic (ties go to the lower offer and
 * user index). */
void plan_lagrange(const struct plan_problem *p, struct plan_solution *s);

/* The exact optimum by dynamic programming over the budget in steps of
 * unit (spends are rounded up to whole units, so the answer is feasible,
 * and optimal when spends are multiples of unit).  No caps.  Returns false,
 * leaving s untouched, when users x budget steps exceeds max_cells or a
 * user has more than 255 possible choices. */
bool plan_exact(const struct plan_problem *p, double unit, size_t max_cells,
                struct plan_solution *s);

/* Random targeting, for evaluation: users in a random order (from seed),
 * each drawn min(K, available) of its offers at random (those with a
 * finite profit, whatever its sign), sent while the spend fits the budget
 * (a send that does not fit is skipped); no caps.  A held-out user met in
 * the walk before the budget is spent gets its draw as its would-be set
 * (s->would), so the held-out users with an offer are a random sample of
 * the same population as the treated ones. */
void plan_random(const struct plan_problem *p, uint64_t seed, struct plan_solution *s);

/* What the decision rule of s gives user i, ignoring its holdout flag:
 * the offers a held-out user would have been sent (without the greedy fill).
 * Its expected profit in *value when value is not NULL. */
uint64_t plan_would(const struct plan_problem *p, const struct plan_solution *s, size_t i,
                    double *value);

/* Sum of profit (or spend) over the offers in set c of user i. */
double plan_choice_profit(const struct plan_problem *p, size_t i, uint64_t c);
double plan_choice_spend(const struct plan_problem *p, size_t i, uint64_t c);

#endif
