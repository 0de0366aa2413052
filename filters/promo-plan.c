/* promo-plan: scored users -> a campaign plan under a budget.
 *
 * The budget couples the users, so the planner sees them all before it
 * decides: the first reading keeps a few numbers per user (never the
 * records), the allocation runs on them (common/plan_solve.c), and the
 * second reading writes one plan record per user, in input order.  Input
 * that cannot be read twice (stdin, a pipe) is spooled to a temporary
 * stream in $TMPDIR during the first reading.  docs/plan.md has the
 * objective and the algorithm; docs/promo-plan.md the interface. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "metricstream.h"
#include "plan.h"
#include "progress.h"
#include "rec.h"
#include "siphash.h"
#include "stream.h"
#include "strmap.h"
#include "xalloc.h"

static const char help[] =
"promo-plan: choose who gets which offer under a budget, for the most expected incremental profit\n"
"\n"
"Usage: promo-plan --offers FILE [OPTIONS] [FILE...]\n"
"\n"
"Reads users scored by promo-score (user; p_buy, segment, uplift_OFFER, aov, items\n"
"when present) and writes a plan: one record per user with the offer to send.\n"
"\n"
"Options:\n"
"  --offers FILE           the offer table: id,type,value,cost  [required]\n"
"  --budget B              total expected spend: send costs plus discounts  [default: no limit]\n"
"  --margin M              profit as a share of revenue  [default: the margin field, else 0.3]\n"
"  --aov X                 order value of users without one  [default: the field's mean]\n"
"  --aov-field F           the expected order value field  [default: aov]\n"
"  --p-base P              purchases without an offer, for users without one  [default: the field's mean]\n"
"  --p-field F             the expected purchases (or purchase probability) field  [default: p_buy]\n"
"  --max-per-user K        offers per user at most  [default: 1]\n"
"  --holdout H             share of users held out as a control group, 0 to 0.9  [default: 0.1]\n"
"  --seed N                seed of the holdout draw  [default: 0]\n"
"  --exclude-segment S,..  send nothing to users of these segments\n"
"  --cap-segment S=N,..    send to at most N users of segment S\n"
"  --method M              auto, uplift or segment-effects  [default: auto]\n"
"  --effects FILE          segment-level effects of past campaigns (for segment-effects)\n"
"  --truth FILE            evaluation only: the true effects from promo-synth truth (method oracle)\n"
"  --solver S              lagrange, or exact for small problems (dynamic programming)  [default: lagrange]\n"
"  --summary FILE          write the plan's figures as a metrics stream\n"
"  --random                evaluation only: random users and offers, spending the budget\n"
"  -o, --output FILE       write to FILE, atomically  [default: stdout]\n"
"  --level N               gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet             print nothing but errors\n"
"  --progress              report progress on stderr\n"
"  --help                  show this help\n"
"  --version               show the version\n"
"\n"
"--method auto uses the uplift_OFFER fields when the input has any, else the\n"
"segment-level effects of --effects FILE.  A held-out user's record names the\n"
"offer it would have been sent; it is sent nothing.  --truth and --random make\n"
"the oracle and the random plans a plan is measured against.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-plan --offers data/offers.csv --budget 500 --summary summary.mpz -o plan.mpz scored.mpz\n";

enum { O_OFFERS = CLI_FIRST_FREE, O_BUDGET, O_MARGIN, O_AOV, O_AOV_FIELD, O_P_BASE, O_P_FIELD,
       O_MAX_PER_USER, O_HOLDOUT, O_EXCLUDE, O_CAP, O_METHOD, O_EFFECTS, O_TRUTH, O_SOLVER,
       O_SUMMARY, O_RANDOM };

enum method { M_AUTO, M_UPLIFT, M_EFFECTS, M_ORACLE };
static const char *const method_names[] = {"auto", "uplift", "segment-effects", "oracle"};
enum solver { S_LAGRANGE, S_EXACT, S_RANDOM };
static const char *const solver_names[] = {"lagrange", "exact", "random"};

#define EXACT_STEPS 1000000      /* --solver exact: budget steps at most */
#define EXACT_MIN_STEPS 1000     /* ... and at least */
#define EXACT_MAX_CELLS 100000000   /* users x steps: bytes of the choice table */

struct planner {
    /* options */
    struct plan_offers offers;
    const char *offers_path, *effects_path, *truth_path, *summary_path;
    const char *aov_field, *p_field, *exclude_arg, *cap_arg;
    double budget, margin, aov, p_base, holdout_share;
    bool margin_given, aov_given, p_base_given;
    bool aov_used, p_base_used;  /* the default was applied to some user */
    int max_per_user;
    enum method method;
    enum solver solver;
    struct plan_rules rules;
    struct cli *cli;
    char **uplift_key;           /* "uplift_ID" per offer */

    /* per user, from the first reading */
    size_t n, cap;
    uint64_t *hash;              /* the id's hash: duplicates, the truth, the second reading */
    uint32_t *seg;               /* segment id in segs, or PLAN_NOGROUP */
    double *p, *aov_u, *margin_u;   /* NAN when absent */
    uint8_t *holdout;            /* drawn from the seed and the id */
    double *uplift;              /* n x m, NAN when absent; then the profit */
    uint32_t *slots;             /* open addressing on hash: user index + 1 */
    size_t nslots;
    struct strmap segs;
    size_t n_uplift[PLAN_MAX_OFFERS], n_p, n_aov, n_seg, n_holdout;
    double sum_p, sum_aov;
    /* input files, to name the first of two records of one user */
    char **file_name;
    size_t *file_start;
    int nfiles;

    struct plan_problem prob;
    struct plan_solution sol;
};

/* ---- reading the users ----------------------------------------------------- */

/* The text of the user id (an integer or a string). */
static const char *user_text(rs *r, char *buf, size_t cap, size_t *len)
{
    const msgpack_object *v = rec_field(r, "user");
    if (!v)
        rs_die(r, "field \"user\": missing");
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *len = (size_t)snprintf(buf, cap, "%llu", (unsigned long long)v->via.u64);
        return buf;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *len = (size_t)snprintf(buf, cap, "%lld", (long long)v->via.i64);
        return buf;
    case MSGPACK_OBJECT_STR:
        *len = v->via.str.size;
        return v->via.str.ptr;
    default:
        rs_die(r, "field \"user\": expected an integer or a string, got %s", mp_type_name(v));
    }
}

static const char *segment_text(rs *r, char *buf, size_t cap, size_t *len)
{
    const msgpack_object *v = rec_field(r, "segment");
    if (!v)
        return NULL;
    switch (v->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *len = (size_t)snprintf(buf, cap, "%llu", (unsigned long long)v->via.u64);
        return buf;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *len = (size_t)snprintf(buf, cap, "%lld", (long long)v->via.i64);
        return buf;
    case MSGPACK_OBJECT_STR:
        *len = v->via.str.size;
        return v->via.str.ptr;
    default:
        rs_die(r, "field \"segment\": expected an integer or a string, got %s", mp_type_name(v));
    }
}

static uint64_t id_hash(const char *s, size_t len)
{
    return sip_hash(&sip_public_key, s, len);
}

/* The index of the user with this hash, or -1. */
static int64_t user_find(const struct planner *pl, uint64_t h)
{
    if (!pl->nslots)
        return -1;
    for (size_t k = h & (pl->nslots - 1);; k = (k + 1) & (pl->nslots - 1)) {
        uint32_t s = pl->slots[k];
        if (!s)
            return -1;
        if (pl->hash[s - 1] == h)
            return (int64_t)s - 1;
    }
}

static void slots_put(struct planner *pl, size_t i)
{
    for (size_t k = pl->hash[i] & (pl->nslots - 1);; k = (k + 1) & (pl->nslots - 1))
        if (!pl->slots[k]) {
            pl->slots[k] = (uint32_t)(i + 1);
            return;
        }
}

static void slots_grow(struct planner *pl)
{
    free(pl->slots);
    pl->nslots = pl->nslots ? pl->nslots * 2 : 1024;
    pl->slots = xcalloc(pl->nslots, sizeof *pl->slots);
    for (size_t i = 0; i < pl->n; i++)
        slots_put(pl, i);
}

/* Where user i was read, for messages: "FILE: record N". */
static void user_where(const struct planner *pl, size_t i, char *buf, size_t cap)
{
    int f = pl->nfiles - 1;
    while (f > 0 && pl->file_start[f] > i)
        f--;
    snprintf(buf, cap, "%s: record %zu", pl->file_name[f], i - pl->file_start[f] + 1);
}

static double opt_number(rs *r, const char *key, double lo, const char *what)
{
    double v;
    if (!rec_opt_f64(r, key, &v))
        return NAN;
    if (!isfinite(v) || v < lo)
        rs_die(r, "field \"%s\": expected %s, got %g", key, what, v);
    return v;
}

/* Keep what the plan needs of one user: id hash, segment, expected
 * purchases, order value, margin and the uplift of each offer. */
static void read_user(struct planner *pl, rs *r)
{
    if (rs_recno(r) == 1) {
        pl->file_name = xreallocarray(pl->file_name, (size_t)pl->nfiles + 1, sizeof *pl->file_name);
        pl->file_start = xreallocarray(pl->file_start, (size_t)pl->nfiles + 1, sizeof *pl->file_start);
        pl->file_name[pl->nfiles] = xstrdup(rs_file(r));
        pl->file_start[pl->nfiles++] = pl->n;
    }
    if (pl->n == UINT32_MAX - 1)
        rs_die(r, "more than %u users", UINT32_MAX - 2);
    size_t i = pl->n, m = (size_t)pl->offers.n;
    if (i == pl->cap) {
        pl->cap = pl->cap ? 2 * pl->cap : 1024;
        pl->hash = xreallocarray(pl->hash, pl->cap, sizeof *pl->hash);
        pl->seg = xreallocarray(pl->seg, pl->cap, sizeof *pl->seg);
        pl->p = xreallocarray(pl->p, pl->cap, sizeof *pl->p);
        pl->aov_u = xreallocarray(pl->aov_u, pl->cap, sizeof *pl->aov_u);
        pl->margin_u = xreallocarray(pl->margin_u, pl->cap, sizeof *pl->margin_u);
        pl->holdout = xreallocarray(pl->holdout, pl->cap, sizeof *pl->holdout);
        pl->uplift = xreallocarray(pl->uplift, pl->cap, m * sizeof *pl->uplift);
    }
    char buf[32];
    size_t len;
    const char *id = user_text(r, buf, sizeof buf, &len);
    uint64_t h = id_hash(id, len);
    int64_t first = user_find(pl, h);
    if (first >= 0) {
        char where[4200];
        user_where(pl, (size_t)first, where, sizeof where);
        rs_die(r, "field \"user\": user \"%.*s\" is in the input twice (first at %s)", (int)(len > 64 ? 64 : len),
               id, where);
    }
    pl->hash[i] = h;
    pl->holdout[i] = plan_holdout_u(pl->cli->seed, id, len) < pl->holdout_share;
    pl->n_holdout += pl->holdout[i];
    pl->n++;
    if (2 * pl->n > pl->nslots)
        slots_grow(pl);
    else
        slots_put(pl, i);

    const char *seg = segment_text(r, buf, sizeof buf, &len);
    pl->seg[i] = seg ? sm_intern(&pl->segs, seg, len) : PLAN_NOGROUP;
    pl->n_seg += seg != NULL;

    double *u = pl->uplift + i * m;
    for (size_t o = 0; o < m; o++) {
        u[o] = NAN;
        if (rec_opt_f64(r, pl->uplift_key[o], &u[o])) {
            if (!isfinite(u[o]))
                rs_die(r, "field \"%s\": expected a finite number, got %g", pl->uplift_key[o], u[o]);
            pl->n_uplift[o]++;
        }
    }
    pl->p[i] = opt_number(r, pl->p_field, 0, "a number >= 0");
    if (!isnan(pl->p[i])) {
        pl->n_p++;
        pl->sum_p += pl->p[i];
    }
    double a = opt_number(r, pl->aov_field, 0, "a number >= 0");
    pl->aov_u[i] = a > 0 ? a : NAN;   /* 0: no orders to go by */
    if (a > 0) {
        pl->n_aov++;
        pl->sum_aov += a;
    }
    double mg = opt_number(r, "margin", 0, "a share of revenue, 0 to 1");
    if (mg > 1)
        rs_die(r, "field \"margin\": expected a share of revenue, 0 to 1, got %g", mg);
    pl->margin_u[i] = mg;
}

/* ---- from the first reading to the problem --------------------------------- */

static bool any_uplift(const struct planner *pl)
{
    for (int o = 0; o < pl->offers.n; o++)
        if (pl->n_uplift[o])
            return true;
    return false;
}

/* The expected purchases without an offer and the order value of users
 * who lack them: the option, else the mean over the users who have them. */
static void defaults(struct planner *pl)
{
    if (pl->n_p < pl->n) {
        if (!pl->p_base_given) {
            if (!pl->n_p)
                die("no record has a \"%s\" field: give --p-base P (the expected purchases without an offer)",
                    pl->p_field);
            pl->p_base = pl->sum_p / (double)pl->n_p;
        }
        pl->p_base_used = true;
        info("%zu users without \"%s\": used %g", pl->n - pl->n_p, pl->p_field, pl->p_base);
    }
    if (pl->n_aov < pl->n) {
        if (!pl->aov_given) {
            if (!pl->n_aov)
                die("no record has an \"%s\" field: give --aov X (the expected value of an order)",
                    pl->aov_field);
            pl->aov = pl->sum_aov / (double)pl->n_aov;
        }
        pl->aov_used = true;
        info("%zu users without \"%s\": used %g", pl->n - pl->n_aov, pl->aov_field, pl->aov);
    }
}

/* Turn each user's uplift (from the input, in the profit array, or from the
 * effects) into the expected profit and spend of each offer. */
static void objective_from_uplift(struct planner *pl, const struct plan_effects *eff)
{
    size_t m = (size_t)pl->offers.n;
    struct plan_problem *p = &pl->prob;
    for (size_t i = 0; i < pl->n; i++) {
        double pb = isnan(pl->p[i]) ? pl->p_base : pl->p[i];
        double aov = isnan(pl->aov_u[i]) ? pl->aov : pl->aov_u[i];
        double mg = pl->margin_given || isnan(pl->margin_u[i]) ? pl->margin : pl->margin_u[i];
        for (size_t o = 0; o < m; o++) {
            double u = p->profit[i * m + o];   /* the uplift, until replaced */
            if (eff) {
                const char *s = NULL;
                uint32_t len = 0;
                if (pl->seg[i] != PLAN_NOGROUP) {
                    s = sm_key(&pl->segs, pl->seg[i]);
                    len = sm_len(&pl->segs, pl->seg[i]);
                }
                u = plan_effects_get(eff, s, len, (int)o);
            }
            if (isnan(u)) {
                p->profit[i * m + o] = -INFINITY;
                p->spend[i * m + o] = 0;
            } else {
                plan_objective(&pl->offers.o[o], u, pb, aov, mg, &p->profit[i * m + o], &p->spend[i * m + o]);
            }
        }
    }
}

/* Oracle: the true effects of promo-synth truth, joined on the user id. */
static void objective_from_truth(struct planner *pl)
{
    size_t m = (size_t)pl->offers.n;
    struct plan_problem *p = &pl->prob;
    for (size_t k = 0; k < pl->n * m; k++) {
        p->profit[k] = -INFINITY;
        p->spend[k] = 0;
    }
    const char *paths[] = {pl->truth_path};
    rs *r = rs_open(paths, 1, "truth");
    size_t used = 0, unknown = 0;
    uint8_t *seen = xcalloc(pl->n ? pl->n : 1, 1);
    while (rs_next(r)) {
        char buf[32];
        size_t len;
        const char *id = user_text(r, buf, sizeof buf, &len);
        int64_t i = user_find(pl, id_hash(id, len));
        if (i < 0) {
            unknown++;
            continue;
        }
        const char *off;
        size_t offlen = rec_str(r, "offer", &off);
        int o = plan_offer_find(&pl->offers, off, offlen);
        if (o < 0)
            rs_die(r, "field \"offer\": offer \"%.*s\" is not in the offer table (%s)", (int)offlen, off,
                   pl->offers_path);
        struct plan_truth t = {
            .base_purchases = rec_f64(r, "base_purchases"),
            .base_revenue = rec_f64(r, "base_revenue"),
            .base_profit = rec_f64(r, "base_profit"),
            .uplift_purchases = rec_f64(r, "uplift_purchases"),
            .uplift_revenue = rec_f64(r, "uplift_revenue"),
        };
        size_t k = (size_t)i * m + (size_t)o;
        plan_truth_objective(&pl->offers.o[o], &t, &p->profit[k], &p->spend[k]);
        if (!isfinite(p->profit[k]) || !isfinite(p->spend[k]))
            rs_die(r, "not finite expectations for user \"%.*s\", offer \"%s\"", (int)len, id, pl->offers.o[o].id);
        used++;
        seen[i] = 1;
    }
    size_t missing = 0;
    for (size_t i = 0; i < pl->n; i++)
        missing += !seen[i];
    free(seen);
    rs_free(r);
    if (!used)
        die("%s: no record is about a user of the input", pl->truth_path);
    if (missing)
        warning("%s: no truth for %zu of the %zu users: they are sent nothing", pl->truth_path, missing, pl->n);
    if (unknown)
        info("%s: %zu records are about users not in the input", pl->truth_path, unknown);
}

/* Holdout, excluded segments and caps. */
static void apply_rules(struct planner *pl)
{
    struct plan_problem *p = &pl->prob;
    const struct plan_rules *ru = &pl->rules;
    if (plan_rules_any(ru) && !pl->n_seg)
        die("%s: no record has a \"segment\" field", pl->exclude_arg ? "--exclude-segment" : "--cap-segment");
    for (uint32_t k = 0; k < sm_count(&ru->exclude); k++)
        if (sm_find(&pl->segs, sm_key(&ru->exclude, k), sm_len(&ru->exclude, k)) < 0)
            warning("--exclude-segment: no user is in segment \"%.*s\"", (int)sm_len(&ru->exclude, k),
                    sm_key(&ru->exclude, k));
    for (uint32_t k = 0; k < sm_count(&ru->capped); k++)
        if (sm_find(&pl->segs, sm_key(&ru->capped, k), sm_len(&ru->capped, k)) < 0)
            warning("--cap-segment: no user is in segment \"%.*s\"", (int)sm_len(&ru->capped, k),
                    sm_key(&ru->capped, k));
    /* Per seen segment: excluded, and its cap group. */
    size_t ns = sm_count(&pl->segs);
    uint8_t *excl = xcalloc(ns + 1, 1);
    uint32_t *grp = xreallocarray(NULL, ns + 1, sizeof *grp);
    for (uint32_t s = 0; s < ns; s++) {
        excl[s] = sm_find(&ru->exclude, sm_key(&pl->segs, s), sm_len(&pl->segs, s)) >= 0;
        int64_t g = sm_find(&ru->capped, sm_key(&pl->segs, s), sm_len(&pl->segs, s));
        grp[s] = g < 0 ? PLAN_NOGROUP : (uint32_t)g;
    }
    if (sm_count(&ru->capped)) {
        p->ngroups = (uint32_t)sm_count(&ru->capped);
        p->cap = xreallocarray(NULL, p->ngroups, sizeof *p->cap);
        memcpy(p->cap, ru->cap, p->ngroups * sizeof *p->cap);
        p->group = xreallocarray(NULL, pl->n ? pl->n : 1, sizeof *p->group);
    }
    for (size_t i = 0; i < pl->n; i++) {
        uint32_t s = pl->seg[i];
        p->flags[i] = 0;
        if (s != PLAN_NOGROUP && excl[s])
            p->flags[i] |= PLAN_F_EXCLUDED;
        if (p->group)
            p->group[i] = s == PLAN_NOGROUP ? PLAN_NOGROUP : grp[s];
    }
    free(excl);
    free(grp);
}

static void build_problem(struct planner *pl)
{
    size_t m = (size_t)pl->offers.n;
    struct plan_problem *p = &pl->prob;
    memset(p, 0, sizeof *p);
    p->n = pl->n;
    p->m = (int)m;
    p->max_per_user = pl->max_per_user;
    p->budget = pl->budget;
    size_t cells = (pl->n ? pl->n : 1) * m;
    /* The uplift array becomes the profit array (same shape). */
    p->profit = pl->uplift ? pl->uplift : xreallocarray(NULL, cells, sizeof *p->profit);
    pl->uplift = NULL;
    p->spend = xreallocarray(NULL, cells, sizeof *p->spend);
    p->flags = xcalloc(pl->n ? pl->n : 1, 1);

    if (pl->method == M_ORACLE) {
        objective_from_truth(pl);
    } else if (pl->method == M_EFFECTS) {
        struct plan_effects eff;
        plan_effects_load(&eff, pl->effects_path, &pl->offers);
        defaults(pl);
        objective_from_uplift(pl, &eff);
        plan_effects_release(&eff);
    } else {
        for (int o = 0; o < pl->offers.n; o++)
            if (!pl->n_uplift[o] && pl->n > 0)
                warning("no record has \"%s\": offer \"%s\" is never sent", pl->uplift_key[o],
                        pl->offers.o[o].id);
        defaults(pl);
        objective_from_uplift(pl, NULL);
    }
    apply_rules(pl);
    for (size_t i = 0; i < pl->n; i++)
        if (pl->holdout[i])
            p->flags[i] |= PLAN_F_HOLDOUT;
}

/* ---- the spool ------------------------------------------------------------- */

static char *spool_path;
static void spool_remove(void)
{
    if (spool_path)
        unlink(spool_path);
}

/* Whether every input is a regular file, so it can be read twice. */
static bool rereadable(char **paths, int n)
{
    if (n == 0)
        return false;
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (strcmp(paths[i], "-") == 0 || stat(paths[i], &st) != 0 || !S_ISREG(st.st_mode))
            return false;
    }
    return true;
}

static ws *spool_open(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    size_t n = strlen(dir) + 32;
    spool_path = xmalloc(n);
    snprintf(spool_path, n, "%s/promo-plan.XXXXXX", dir);
    int fd = mkstemp(spool_path);
    if (fd < 0) {
        free(spool_path);
        spool_path = NULL;
        die_errno("%s: cannot create the spool file", dir);
    }
    close(fd);
    diag_on_exit(spool_remove);
    return ws_open(spool_path, 0);
}

/* ---- writing the plan ------------------------------------------------------ */

static void pack_offers(msgpack_packer *pk, const struct plan_offers *t, uint64_t set)
{
    if (!set) {
        msgpack_pack_nil(pk);
        return;
    }
    mp_pack_str(pk, t->o[__builtin_ctzll(set)].id);
}

/* One plan record: user, offer, holdout, expected, spend (offers when more
 * than one per user; segment and items passed through). */
static void write_user(struct planner *pl, rs *r, size_t i, bool holdout, ws *w)
{
    char buf[32];
    size_t len;
    const char *id = user_text(r, buf, sizeof buf, &len);
    if (id_hash(id, len) != pl->hash[i])
        rs_die(r, "the input changed between its two readings");
    const msgpack_object *user = rec_field(r, "user"), *seg = rec_field(r, "segment"),
                         *items = rec_field(r, "items");
    uint64_t set = holdout ? plan_would(&pl->prob, &pl->sol, i, NULL) : pl->sol.choice[i];
    double ex = holdout ? 0 : plan_choice_profit(&pl->prob, i, set),
           sp = holdout ? 0 : plan_choice_spend(&pl->prob, i, set);
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, 5 + (pl->max_per_user > 1) + (seg != NULL) + (items != NULL));
    mp_pack_str(pk, "user");
    msgpack_pack_object(pk, *user);
    mp_pack_str(pk, "offer");
    pack_offers(pk, &pl->offers, set);
    mp_pack_str(pk, "holdout");
    if (holdout)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    mp_pack_str(pk, "expected");
    msgpack_pack_double(pk, ex);
    mp_pack_str(pk, "spend");
    msgpack_pack_double(pk, sp);
    if (pl->max_per_user > 1) {
        mp_pack_str(pk, "offers");
        msgpack_pack_array(pk, (size_t)__builtin_popcountll(set));
        for (int o = 0; o < pl->offers.n; o++)
            if (set >> o & 1)
                mp_pack_str(pk, pl->offers.o[o].id);
    }
    if (seg) {
        mp_pack_str(pk, "segment");
        msgpack_pack_object(pk, *seg);
    }
    if (items) {
        mp_pack_str(pk, "items");
        msgpack_pack_object(pk, *items);
    }
    ws_end(w);
}

/* The header of the plan, or of the summary (kind metrics): the options. */
static void write_header(struct planner *pl, ws *w, const char *kind)
{
    ws_opt_str(w, "method", method_names[pl->method]);
    ws_opt_str(w, "offers", pl->offers_path);
    if (isfinite(pl->budget))
        ws_opt_f64(w, "budget", pl->budget);
    if (pl->method != M_ORACLE) {
        ws_opt_f64(w, "margin", pl->margin);
        if (pl->aov_used || pl->aov_given)
            ws_opt_f64(w, "aov", pl->aov);
        if (pl->p_base_used || pl->p_base_given)
            ws_opt_f64(w, "p_base", pl->p_base);
        ws_opt_str(w, "aov_field", pl->aov_field);
        ws_opt_str(w, "p_field", pl->p_field);
    }
    ws_opt_int(w, "max_per_user", pl->max_per_user);
    ws_opt_f64(w, "holdout", pl->holdout_share);
    ws_opt_int(w, "seed", (int64_t)pl->cli->seed);
    ws_opt_str(w, "solver", solver_names[pl->solver]);
    if (pl->exclude_arg)
        ws_opt_str(w, "exclude_segment", pl->exclude_arg);
    if (pl->cap_arg)
        ws_opt_str(w, "cap_segment", pl->cap_arg);
    if (pl->effects_path)
        ws_opt_str(w, "effects", pl->effects_path);
    if (pl->truth_path)
        ws_opt_str(w, "truth", pl->truth_path);
    if (pl->solver != S_RANDOM)
        ws_opt_f64(w, "lambda", pl->sol.lambda);
    ws_header(w, kind);
}

/* ---- the summary ----------------------------------------------------------- */

struct tally {
    size_t users, sends;
    double spend, expected;
};

static void summarise(struct planner *pl)
{
    const struct plan_problem *p = &pl->prob;
    size_t m = (size_t)pl->offers.n, ns = sm_count(&pl->segs);
    struct tally *by_offer = xcalloc(m, sizeof *by_offer), *by_seg = xcalloc(ns + 1, sizeof *by_seg);
    size_t eligible = 0, excluded = 0, would = 0;
    for (size_t i = 0; i < pl->n; i++) {
        if (p->flags[i] & PLAN_F_EXCLUDED)
            excluded++;
        if (pl->holdout[i]) {
            would += plan_would(p, &pl->sol, i, NULL) != 0;
        } else if (!(p->flags[i] & PLAN_F_EXCLUDED)) {
            for (size_t o = 0; o < m; o++)
                if (p->profit[i * m + o] > 0) {
                    eligible++;
                    break;
                }
        }
        struct tally *t = pl->seg[i] == PLAN_NOGROUP ? NULL : &by_seg[pl->seg[i]];
        if (t)
            t->users++;
        uint64_t c = pl->sol.choice[i];
        if (!c)
            continue;
        for (size_t o = 0; o < m; o++)
            if (c >> o & 1) {
                by_offer[o].sends++;
                by_offer[o].spend += p->spend[i * m + o];
                by_offer[o].expected += p->profit[i * m + o];
                if (t) {
                    t->sends++;
                    t->spend += p->spend[i * m + o];
                    t->expected += p->profit[i * m + o];
                }
            }
    }
    const struct plan_solution *s = &pl->sol;
    double gap = s->bound - s->value;
    info("method %s: %zu users, %zu held out, %zu excluded; %zu could be sent an offer with a positive "
         "expected increment", method_names[pl->method], pl->n, pl->n_holdout, excluded, eligible);
    if (pl->solver == S_RANDOM)
        info("random targeting: %zu sends to %zu users, spend %.2f of %.2f, expected increment %.2f",
             s->sends, s->users, s->spend, pl->budget, s->value);
    else if (isfinite(pl->budget))
        info("%zu sends to %zu users, spend %.2f of %.2f, expected increment %.2f (lambda %.4g, "
             "at most %.2f below the optimum)", s->sends, s->users, s->spend, pl->budget, s->value,
             s->lambda, gap > 0 ? gap : 0);
    else
        info("%zu sends to %zu users, spend %.2f (no budget), expected increment %.2f", s->sends,
             s->users, s->spend, s->value);
    info("%-12s %8s %12s %12s", "offer", "sends", "spend", "expected");
    for (size_t o = 0; o < m; o++)
        info("%-12s %8zu %12.2f %12.2f", pl->offers.o[o].id, by_offer[o].sends, by_offer[o].spend,
             by_offer[o].expected);
    if (ns) {
        info("%-12s %8s %8s %12s %12s", "segment", "users", "sends", "spend", "expected");
        for (uint32_t g = 0; g < ns; g++)
            info("%-12.*s %8zu %8zu %12.2f %12.2f", (int)sm_len(&pl->segs, g), sm_key(&pl->segs, g),
                 by_seg[g].users, by_seg[g].sends, by_seg[g].spend, by_seg[g].expected);
    }
    if (pl->n_holdout)
        info("held out: %zu of the %zu would have been sent an offer", would, pl->n_holdout);

    if (pl->summary_path) {
        struct ms_list l;
        ms_list_init(&l);
        const char *T = "plan";
        ms_set_n(ms_add(&l, T, "users", NULL, (double)pl->n), pl->n);
        ms_set_n(ms_add(&l, T, "holdout", NULL, (double)pl->n_holdout), pl->n);
        ms_set_n(ms_add(&l, T, "holdout_would_send", NULL, (double)would), pl->n_holdout);
        ms_set_n(ms_add(&l, T, "excluded", NULL, (double)excluded), pl->n);
        ms_set_n(ms_add(&l, T, "eligible", NULL, (double)eligible), pl->n);
        ms_set_n(ms_add(&l, T, "sends", NULL, (double)s->sends), s->users);
        ms_add(&l, T, "spend", NULL, s->spend);
        ms_add(&l, T, "expected", NULL, s->value);
        if (isfinite(pl->budget))
            ms_add(&l, T, "budget", NULL, pl->budget);
        if (isfinite(pl->budget) && pl->solver != S_RANDOM) {
            ms_add(&l, T, "lambda", NULL, s->lambda);
            ms_add(&l, T, "gap_bound", NULL, gap > 0 ? gap : 0);
            ms_add(&l, T, "fill", NULL, (double)s->fill);
        }
        char g[PLAN_ID_MAX + 16];
        for (size_t o = 0; o < m; o++) {
            snprintf(g, sizeof g, "offer=%s", pl->offers.o[o].id);
            ms_add(&l, T, "sends", g, (double)by_offer[o].sends);
            ms_add(&l, T, "spend", g, by_offer[o].spend);
            ms_add(&l, T, "expected", g, by_offer[o].expected);
        }
        for (uint32_t k = 0; k < ns; k++) {
            char *sg = xmalloc(sm_len(&pl->segs, k) + 16);
            sprintf(sg, "segment=%.*s", (int)sm_len(&pl->segs, k), sm_key(&pl->segs, k));
            ms_add(&l, T, "users", sg, (double)by_seg[k].users);
            ms_add(&l, T, "sends", sg, (double)by_seg[k].sends);
            ms_add(&l, T, "spend", sg, by_seg[k].spend);
            ms_add(&l, T, "expected", sg, by_seg[k].expected);
            free(sg);
        }
        ms_note(&l, "plan: method %s, solver %s; expected = expected incremental profit of the "
                "sends, spend = send costs plus expected discounts", method_names[pl->method],
                solver_names[pl->solver]);
        if (isfinite(pl->budget) && pl->solver != S_RANDOM)
            ms_note(&l, "plan: gap_bound = Lagrangian dual bound - expected, an upper bound on the "
                    "expected profit a better plan could add");
        ws *w = ws_open(pl->summary_path, pl->cli->level);
        write_header(pl, w, "metrics");
        ms_write(w, &l);
        ws_close(w);
        ms_list_release(&l);
    }
    free(by_offer);
    free(by_seg);
}

/* ---- options --------------------------------------------------------------- */

static void parse_args(struct planner *pl, int argc, char **argv)
{
    bool random = false;
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"offers", required_argument, 0, O_OFFERS},
        {"budget", required_argument, 0, O_BUDGET},
        {"margin", required_argument, 0, O_MARGIN},
        {"aov", required_argument, 0, O_AOV},
        {"aov-field", required_argument, 0, O_AOV_FIELD},
        {"p-base", required_argument, 0, O_P_BASE},
        {"p-field", required_argument, 0, O_P_FIELD},
        {"max-per-user", required_argument, 0, O_MAX_PER_USER},
        {"holdout", required_argument, 0, O_HOLDOUT},
        {"exclude-segment", required_argument, 0, O_EXCLUDE},
        {"cap-segment", required_argument, 0, O_CAP},
        {"method", required_argument, 0, O_METHOD},
        {"effects", required_argument, 0, O_EFFECTS},
        {"truth", required_argument, 0, O_TRUTH},
        {"solver", required_argument, 0, O_SOLVER},
        {"summary", required_argument, 0, O_SUMMARY},
        {"random", no_argument, 0, O_RANDOM},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        switch (opt) {
        case O_OFFERS: pl->offers_path = optarg; break;
        case O_BUDGET: pl->budget = cli_f64("--budget", optarg, 0, 1e300); break;
        case O_MARGIN:
            pl->margin = cli_f64("--margin", optarg, 0, 1);
            pl->margin_given = true;
            break;
        case O_AOV:
            pl->aov = cli_f64("--aov", optarg, 0, 1e300);
            if (!(pl->aov > 0))
                die_usage("--aov: expected a positive order value, got %s", optarg);
            pl->aov_given = true;
            break;
        case O_AOV_FIELD: pl->aov_field = optarg; break;
        case O_P_BASE:
            pl->p_base = cli_f64("--p-base", optarg, 0, 1e300);
            pl->p_base_given = true;
            break;
        case O_P_FIELD: pl->p_field = optarg; break;
        case O_MAX_PER_USER:
            pl->max_per_user = (int)cli_int("--max-per-user", optarg, 1, PLAN_MAX_OFFERS);
            break;
        case O_HOLDOUT: pl->holdout_share = cli_f64("--holdout", optarg, 0, 0.9); break;
        case O_EXCLUDE:
            plan_rules_exclude(&pl->rules, optarg);
            pl->exclude_arg = optarg;
            break;
        case O_CAP:
            plan_rules_cap(&pl->rules, optarg);
            pl->cap_arg = optarg;
            break;
        case O_METHOD: {
            static const char *const methods[] = {"auto", "uplift", "segment-effects", NULL};
            static const int map[] = {M_AUTO, M_UPLIFT, M_EFFECTS};
            pl->method = map[cli_choice("--method", optarg, methods)];
            break;
        }
        case O_EFFECTS: pl->effects_path = optarg; break;
        case O_TRUTH: pl->truth_path = optarg; break;
        case O_SOLVER:
            if (strcmp(optarg, "lagrange") == 0)
                pl->solver = S_LAGRANGE;
            else if (strcmp(optarg, "exact") == 0)
                pl->solver = S_EXACT;
            else
                die_usage("--solver: expected lagrange or exact, got \"%s\"", optarg);
            break;
        case O_SUMMARY: pl->summary_path = optarg; break;
        case O_RANDOM: random = true; break;
        default:
            if (!cli_common(pl->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (!pl->offers_path)
        die_usage("--offers: required (an id,type,value,cost table such as data/offers.csv)");
    if (pl->truth_path && (pl->method != M_AUTO || pl->effects_path))
        die_usage("--truth: plans with the true effects; it excludes --method and --effects");
    if (pl->truth_path)
        pl->method = M_ORACLE;
    if (pl->method == M_EFFECTS && !pl->effects_path)
        die_usage("--method segment-effects: needs --effects FILE");
    if (pl->method == M_UPLIFT && pl->effects_path)
        die_usage("--effects: not used by --method uplift");
    if (random) {
        if (pl->solver == S_EXACT)
            die_usage("--random: excludes --solver");
        if (pl->cap_arg)
            die_usage("--random: does not take --cap-segment");
        if (!isfinite(pl->budget))
            die_usage("--random: needs --budget B (the spend to match)");
        pl->solver = S_RANDOM;
    }
    if (pl->solver == S_EXACT && pl->cap_arg)
        die_usage("--solver exact: does not take --cap-segment; use --solver lagrange");
    if (!*pl->aov_field || !*pl->p_field)
        die_usage("%s: expected a field name", !*pl->aov_field ? "--aov-field" : "--p-field");
}

/* ---- main ------------------------------------------------------------------ */

/* The Lagrangian; with --solver exact, then the dynamic programme over the
 * budget in EXACT_STEPS steps (fewer when users x steps would pass
 * EXACT_MAX_CELLS), keeping the Lagrangian's plan if it does better (the
 * programme rounds each spend up to a whole step). */
static void solve(struct planner *pl)
{
    if (pl->solver == S_RANDOM) {
        plan_random(&pl->prob, pl->cli->seed, &pl->sol);
        return;
    }
    plan_lagrange(&pl->prob, &pl->sol);
    if (pl->solver != S_EXACT || !isfinite(pl->budget) || pl->budget == 0)
        return;
    size_t steps = EXACT_MAX_CELLS / (pl->n + 1);
    if (steps > EXACT_STEPS)
        steps = EXACT_STEPS;
    if (steps < EXACT_MIN_STEPS)
        die("--solver exact: %zu users is too many (at most %d); use --solver lagrange", pl->n,
            EXACT_MAX_CELLS / EXACT_MIN_STEPS - 1);
    size_t n = pl->n ? pl->n : 1;
    uint64_t *lag = xreallocarray(NULL, n, sizeof *lag);
    memcpy(lag, pl->sol.choice, n * sizeof *lag);
    double lag_value = pl->sol.value;
    if (!plan_exact(&pl->prob, pl->budget / (double)steps, EXACT_MAX_CELLS, &pl->sol))
        die("--solver exact: a user has more than 255 sets of offers to choose from; use --solver lagrange");
    if (lag_value > pl->sol.value) {
        memcpy(pl->sol.choice, lag, n * sizeof *lag);
        pl->sol.value = lag_value;
        double spend = 0;
        size_t sends = 0, users = 0;
        for (size_t i = 0; i < pl->n; i++)
            if (lag[i]) {
                spend += plan_choice_spend(&pl->prob, i, lag[i]);
                sends += (size_t)__builtin_popcountll(lag[i]);
                users++;
            }
        pl->sol.spend = spend;
        pl->sol.sends = sends;
        pl->sol.users = users;
    }
    free(lag);
}

/* First reading: the numbers per user, and the spool when the input
 * cannot be read again (the second reading then reads the spool). */
static void first_reading(struct planner *pl, char **paths, int npaths)
{
    bool twice = rereadable(paths, npaths);
    rs *r = rs_open((const char *const *)paths, npaths, NULL);
    /* Users as featurized, scored, or with recommendations attached. */
    if (strcmp(rs_kind(r), "users") != 0 && strcmp(rs_kind(r), "scores") != 0 &&
        strcmp(rs_kind(r), "recommendations") != 0)
        die("%s: expected a stream of kind \"users\" (made by %s, scored by promo-score), got \"%s\"",
            rs_file(r), stream_kind_producer("users"), rs_kind(r));
    const msgpack_object *hm = mp_map_get(rs_header(r), "options");
    if (hm && (hm = mp_map_get(hm, "margin")) &&
        (hm->type == MSGPACK_OBJECT_FLOAT64 || hm->type == MSGPACK_OBJECT_FLOAT32) &&
        hm->via.f64 >= 0 && hm->via.f64 <= 1 && !pl->margin_given)
        pl->margin = hm->via.f64;
    ws *spool = twice ? NULL : spool_open();
    if (spool)
        ws_header_raw(spool, rs_header(r));
    struct progress prog;
    prog_init(&prog, "users", pl->cli->progress);
    while (rs_next(r)) {
        read_user(pl, r);
        if (spool) {
            size_t len;
            const char *raw = rs_raw(r, &len);
            ws_raw(spool, raw, len);
        }
        prog_tick(&prog, pl->n);
    }
    prog_done(&prog);
    rs_free(r);
    if (spool)
        ws_close(spool);
}

/* Which estimates say what an offer does. */
static void choose_method(struct planner *pl)
{
    if (pl->method == M_AUTO)
        pl->method = any_uplift(pl) || (pl->n == 0 && !pl->effects_path) ? M_UPLIFT : M_EFFECTS;
    if (pl->method == M_UPLIFT && !any_uplift(pl) && pl->n > 0)
        die("--method uplift: no record has an uplift field (%s, ...)", pl->uplift_key[0]);
    if (pl->method == M_EFFECTS && !pl->effects_path)
        die("no record has an uplift field (%s, ...) and no --effects FILE was given: nothing tells "
            "what an offer does", pl->uplift_key[0]);
}

/* Second reading: one plan record per user, in input order. */
static void second_reading(struct planner *pl, char **paths, int npaths)
{
    ws *w = ws_open(pl->cli->out, pl->cli->level);
    write_header(pl, w, "plan");
    rs *r = spool_path ? rs_open((const char *const *)&spool_path, 1, NULL)
                       : rs_open((const char *const *)paths, npaths, NULL);
    struct progress prog;
    prog_init(&prog, "plan records", pl->cli->progress);
    size_t i = 0;
    while (rs_next(r)) {
        if (i >= pl->n)
            rs_die(r, "the input changed between its two readings");
        write_user(pl, r, i, pl->holdout[i], w);
        prog_tick(&prog, ++i);
    }
    if (i != pl->n)
        die("%s: the input changed between its two readings", rs_file(r));
    prog_done(&prog);
    rs_free(r);
    ws_close(w);
}

/* What the first reading kept and the allocation no longer needs. */
static void free_inputs(struct planner *pl)
{
    free(pl->p);
    free(pl->aov_u);
    free(pl->margin_u);
    free(pl->slots);
    pl->p = pl->aov_u = pl->margin_u = NULL;
    pl->slots = NULL;
    pl->nslots = 0;
}

static void planner_release(struct planner *pl)
{
    free_inputs(pl);
    free(pl->holdout);
    plan_solution_release(&pl->sol);
    plan_problem_release(&pl->prob);
    for (int o = 0; o < pl->offers.n; o++)
        free(pl->uplift_key[o]);
    free(pl->uplift_key);
    for (int f = 0; f < pl->nfiles; f++)
        free(pl->file_name[f]);
    free(pl->file_name);
    free(pl->file_start);
    free(pl->hash);
    free(pl->seg);
    sm_release(&pl->segs);
    plan_rules_release(&pl->rules);
}

int main(int argc, char **argv)
{
    struct cli cli;
    cli_init(&cli, argv[0]);
    struct planner pl = {
        .cli = &cli, .budget = INFINITY, .margin = 0.3, .holdout_share = 0.1, .max_per_user = 1,
        .aov_field = "aov", .p_field = "p_buy",
    };
    plan_rules_init(&pl.rules);
    sm_init(&pl.segs);
    parse_args(&pl, argc, argv);
    plan_offers_load(&pl.offers, pl.offers_path);
    pl.uplift_key = xcalloc((size_t)pl.offers.n, sizeof *pl.uplift_key);
    for (int o = 0; o < pl.offers.n; o++) {
        pl.uplift_key[o] = xmalloc(strlen(pl.offers.o[o].id) + 8);
        sprintf(pl.uplift_key[o], "uplift_%s", pl.offers.o[o].id);
    }
    static char *stdin_path[] = {"-"};
    char **paths = optind < argc ? argv + optind : stdin_path;
    int npaths = optind < argc ? argc - optind : 1;

    first_reading(&pl, paths, npaths);
    choose_method(&pl);
    build_problem(&pl);
    free_inputs(&pl);
    solve(&pl);
    second_reading(&pl, paths, npaths);
    summarise(&pl);

    spool_remove();
    free(spool_path);
    planner_release(&pl);
    return EXIT_OK;
}
