/* The simulated shop: parameter tables, the world stream, the analytic
 * expectations against many seeded simulations, and the dirt mixer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "synth_dirt.h"
#include "synth_sim.h"
#include "synth_world.h"

#ifndef REPS
#define REPS 6000
#endif

static char dir[] = "/tmp/test_synth.XXXXXX";

/* ---- tables --------------------------------------------------------------- */

static void test_tables(void)
{
    struct sw_archetypes def, file;
    sw_archetypes_default(&def);
    sw_archetypes_load(&file, "data/archetypes.csv");
    CHECK_EQ_INT(file.n, def.n, "data/archetypes.csv has the built-in archetypes");
    int same = file.n == def.n;
    double share = 0, groups = 0;
    for (int i = 0; same && i < def.n; i++) {
        const struct sw_archetype *a = &def.a[i], *b = &file.a[i];
        same = strcmp(a->name, b->name) == 0 && fabs(a->share - b->share) < 1e-12
            && a->visit_rate == b->visit_rate && a->views_per_session == b->views_per_session
            && a->propensity == b->propensity && a->checkout == b->checkout
            && a->quantity == b->quantity && a->price_sensitivity == b->price_sensitivity
            && a->favorite_rate == b->favorite_rate && a->lift == b->lift && a->drop == b->drop;
        for (int g = 0; g < SW_NGROUPS; g++) {
            same = same && fabs(a->group[g] - b->group[g]) < 1e-12;
            groups += a->group[g];
        }
        share += a->share;
    }
    CHECK_TRUE(same, "built-in archetypes equal data/archetypes.csv");
    CHECK_NEAR(share, 1, 1e-12, "built-in archetype shares sum to 1");
    CHECK_NEAR(groups, def.n, 1e-12, "each archetype's group shares sum to 1");

    struct sw_offers od, of;
    sw_offers_default(&od);
    sw_offers_load(&of, "data/offers.csv");
    same = od.n == of.n;
    for (int i = 0; same && i < od.n; i++)
        same = strcmp(od.o[i].id, of.o[i].id) == 0 && od.o[i].type == of.o[i].type
            && od.o[i].value == of.o[i].value && od.o[i].cost == of.o[i].cost;
    CHECK_TRUE(same, "built-in offers equal data/offers.csv");
    CHECK_EQ_INT(sw_offer_find(&od, "ship5", 5), 3, "offer found by id");
    CHECK_EQ_INT(sw_offer_find(&od, "ship", 4), -1, "a prefix is not an id");
}

/* ---- the world stream ----------------------------------------------------- */

static sw_world *small_world(int users, int items, uint64_t seed)
{
    struct sw_archetypes arch;
    sw_archetypes_default(&arch);
    sw_world *w = sw_new(users, items, 12, 5, &arch);
    sw_generate(w, seed);
    return w;
}

static void test_round_trip(void)
{
    char path[64];
    snprintf(path, sizeof path, "%s/world.mpz", dir);
    sw_world *w = small_world(300, 200, 42);
    ws *out = ws_open(path, 1);
    sw_write(w, out, "built-in");
    ws_close(out);
    sw_world *v = sw_load(path);
    CHECK_TRUE(v->nusers == 300 && v->nitems == 200 && v->ncats == 12 && v->rank == 5 && v->seed == 42,
               "sizes and seed read back");
    CHECK_TRUE(memcmp(w->arch.a, v->arch.a, sizeof(struct sw_archetype) * (size_t)w->arch.n) == 0,
               "archetypes read back exactly");
    CHECK_TRUE(memcmp(w->cats, v->cats, 12 * sizeof *w->cats) == 0
               && memcmp(w->catvec, v->catvec, 12 * 5 * sizeof *w->catvec) == 0,
               "categories read back exactly");
    CHECK_TRUE(memcmp(w->items, v->items, 200 * sizeof *w->items) == 0, "items read back exactly");
    int same = 1;
    for (int u = 0; u < 300; u++) {
        const struct sw_user *a = &w->users[u], *b = &v->users[u];
        same = same && a->arch == b->arch && a->group == b->group && a->propensity == b->propensity
            && a->price_sensitivity == b->price_sensitivity && a->visit_rate == b->visit_rate
            && a->lift_percent == b->lift_percent && a->lift_fixed == b->lift_fixed && a->drop == b->drop
            && memcmp(a->fav, b->fav, sizeof a->fav) == 0;
    }
    CHECK_TRUE(same && memcmp(w->pref, v->pref, 300 * 5 * sizeof *w->pref) == 0, "users read back exactly");

    sw_world *x = small_world(300, 200, 42), *y = small_world(300, 200, 43);
    CHECK_TRUE(memcmp(w->users, x->users, 300 * sizeof *w->users) == 0, "same seed, same users");
    CHECK_TRUE(memcmp(w->users, y->users, 300 * sizeof *w->users) != 0, "another seed, other users");
    sw_free(w);
    sw_free(v);
    sw_free(x);
    sw_free(y);
}

/* ---- the response model --------------------------------------------------- */

static uint32_t first_of_group(const sw_world *w, int g, int skip)
{
    for (int u = 1; u <= w->nusers; u++)
        if (w->users[u - 1].group == g && w->users[u - 1].visit_rate > 0.1 && skip-- == 0)
            return (uint32_t)u;
    return 0;
}

static void test_multiplier(void)
{
    sw_world *w = small_world(2000, 300, 3);
    struct sw_offers offers;
    sw_offers_default(&offers);
    uint32_t p = first_of_group(w, SW_PERSUADABLE, 0), s = first_of_group(w, SW_SURE_THING, 0);
    uint32_t l = first_of_group(w, SW_LOST_CAUSE, 0), d = first_of_group(w, SW_DO_NOT_DISTURB, 0);
    CHECK_TRUE(p && s && l && d, "every uplift group present");
    double m10 = sw_multiplier(w, p, &offers.o[0]), m30 = sw_multiplier(w, p, &offers.o[2]);
    CHECK_TRUE(m10 > 1 && m30 > m10, "persuadable: more discount, more lift");
    CHECK_TRUE(sw_multiplier(w, p, &offers.o[3]) > 1, "persuadable: the fixed offer lifts");
    CHECK_TRUE(sw_multiplier(w, s, &offers.o[2]) == 1 && sw_multiplier(w, l, &offers.o[2]) == 1,
               "sure thing and lost cause: unchanged");
    CHECK_TRUE(sw_multiplier(w, d, &offers.o[0]) < 1, "do-not-disturb: fewer purchases");

    double cp[12];
    sw_cat_probs(w, p, cp);
    double sum = 0;
    for (int c = 0; c < 12; c++)
        sum += cp[c];
    CHECK_NEAR(sum, 1, 1e-12, "category probabilities sum to 1");

    /* Items picked by popularity. */
    struct rng r;
    rng_init(&r, 9);
    uint32_t c = w->items[0].category;
    int n = w->cat_start[c] - w->cat_start[c - 1];
    int *hits = calloc((size_t)w->nitems + 1, sizeof *hits);
    for (int k = 0; k < 200000; k++)
        hits[sw_pick_item(w, c, rng_uniform(&r))]++;
    double tot = w->cat_cum[w->cat_start[c] - 1], worst = 0;
    int outside = 0;
    for (int i = 1; i <= w->nitems; i++) {
        if (w->items[i - 1].category != c) {
            outside += hits[i];
            continue;
        }
        double pr = w->items[i - 1].popularity / tot, want = 200000 * pr;
        double z = fabs(hits[i] - want) / sqrt(want * (1 - pr) + 1e-9);
        if (z > worst)
            worst = z;
    }
    CHECK_TRUE(outside == 0, "sw_pick_item stays in the category");
    if (!CHECK_TRUE(worst < 5, "sw_pick_item follows popularity (every item within 5 sd)"))
        printf("#   %d items, worst z %.2f\n", n, worst);
    free(hits);
    sw_free(w);
}

/* Simulate one user over many 7-day windows and compare with sw_expect. */
static void check_expectation(const sw_world *w, const struct sw_offers *offers, uint32_t user,
                              int offer, const double *tab, const char *what)
{
    const int reps = REPS;
    struct ss_sim sim;
    ss_init(&sim, w, offers, 77);
    struct ss_buf buf = {0};
    struct ss_treat t = {offer, 9, offer >= 0 ? sw_multiplier(w, user, &offers->o[offer]) : 1};
    double n = 0, n2 = 0, conv = 0, rev = 0, rev2 = 0, disc = 0, disc2 = 0, pro = 0, pro2 = 0;
    int64_t monday = 19723;   /* 2024-01-01 */
    for (int k = 0; k < reps; k++) {
        buf.n = 0;
        for (int d = 0; d < 7; d++)
            ss_user_day(&sim, user, monday + 7 * k + d, offer >= 0 ? &t : NULL, &buf);
        int p = 0;
        double rv = 0, ds = 0, pr = offer >= 0 ? -offers->o[offer].cost : 0;
        for (size_t i = 0; i < buf.n; i++)
            if (buf.ev[i].type == SS_PURCHASE) {
                p++;
                rv += buf.ev[i].price * buf.ev[i].qty - buf.ev[i].discount;
                ds += buf.ev[i].discount;
                pr += buf.ev[i].price * buf.ev[i].qty * sw_item(w, buf.ev[i].item)->margin - buf.ev[i].discount;
            }
        rev += rv;
        rev2 += rv * rv;
        disc += ds;
        disc2 += ds * ds;
        pro += pr;
        pro2 += pr * pr;
        n += p;
        n2 += (double)p * p;
        conv += p > 0;
    }
    struct sw_expect e;
    sw_expect(w, user, 7, offer >= 0 ? &offers->o[offer] : NULL, tab, &e);
    double mean = n / reps, se = sqrt(n2 / reps - mean * mean) / sqrt(reps);
    double rmean = rev / reps, rse = sqrt(rev2 / reps - rmean * rmean) / sqrt(reps);
    double dmean = disc / reps, dse = sqrt(disc2 / reps - dmean * dmean) / sqrt(reps);
    double pmean = pro / reps, pse = sqrt(pro2 / reps - pmean * pmean) / sqrt(reps);
    double cmean = conv / reps, csd = sqrt(cmean * (1 - cmean) / reps);
    char msg[160];
    snprintf(msg, sizeof msg, "%s: simulated purchases match the expectation (within 4 sd)", what);
    if (!CHECK_TRUE(fabs(mean - e.purchases) < 4 * se + 1e-3, msg))
        printf("#   simulated %.4f +- %.4f, expected %.4f\n", mean, se, e.purchases);
    snprintf(msg, sizeof msg, "%s: simulated conversion matches the expectation (within 4 sd)", what);
    if (!CHECK_TRUE(fabs(cmean - e.conversion) < 4 * csd + 1e-3, msg))
        printf("#   simulated %.4f +- %.4f, expected %.4f\n", cmean, csd, e.conversion);
    /* Discounts are rounded to cents: 0.005 per purchase at most. */
    snprintf(msg, sizeof msg, "%s: simulated revenue, discount, profit match (within 4 sd)", what);
    if (!CHECK_TRUE(fabs(rmean - e.revenue) < 4 * rse + 0.005 * mean + 1e-3
                    && fabs(dmean - e.discount) < 4 * dse + 0.005 * mean + 1e-3
                    && fabs(pmean - e.profit) < 4 * pse + 0.005 * mean + 1e-3, msg))
        printf("#   revenue %.4f +- %.4f vs %.4f, discount %.4f +- %.4f vs %.4f, profit %.4f +- %.4f vs %.4f\n",
               rmean, rse, e.revenue, dmean, dse, e.discount, pmean, pse, e.profit);
    ss_buf_release(&buf);
    ss_release(&sim);
}

static void test_expectations(void)
{
    sw_world *w = small_world(2000, 300, 5);
    struct sw_offers offers;
    sw_offers_default(&offers);
    double *tab = sw_fixed_table(w, offers.o[3].value);
    check_expectation(w, &offers, first_of_group(w, SW_PERSUADABLE, 0), -1, NULL, "persuadable, no offer");
    check_expectation(w, &offers, first_of_group(w, SW_PERSUADABLE, 0), 1, NULL, "persuadable, pct20");
    check_expectation(w, &offers, first_of_group(w, SW_PERSUADABLE, 1), 3, tab, "persuadable, ship5");
    check_expectation(w, &offers, first_of_group(w, SW_SURE_THING, 0), 2, NULL, "sure thing, pct30");
    check_expectation(w, &offers, first_of_group(w, SW_DO_NOT_DISTURB, 0), 0, NULL, "do-not-disturb, pct10");
    check_expectation(w, &offers, first_of_group(w, SW_LOST_CAUSE, 0), 3, tab, "lost cause, ship5");
    free(tab);
    sw_free(w);
}

/* ---- determinism of a user's day ------------------------------------------ */

static void test_user_day(void)
{
    sw_world *w = small_world(500, 100, 8);
    struct sw_offers offers;
    sw_offers_default(&offers);
    struct ss_sim a, b;
    ss_init(&a, w, &offers, 1);
    ss_init(&b, w, &offers, 1);
    struct ss_buf x = {0}, y = {0};
    uint32_t u = first_of_group(w, SW_PERSUADABLE, 0);
    /* Other users simulated in between change nothing. */
    for (int64_t day = 19723; day < 19753; day++) {
        ss_user_day(&a, u, day, NULL, &x);
        ss_user_day(&b, u + 1, day, NULL, &y);
        ss_user_day(&b, u, day, NULL, &y);
    }
    size_t n = 0;
    int same = 1;
    for (size_t i = 0; i < y.n; i++)
        if (y.ev[i].user == u)
            same = same && n < x.n && memcmp(&x.ev[n++], &y.ev[i], sizeof x.ev[0]) == 0;
    CHECK_TRUE(same && n == x.n && n > 0, "a user's days do not depend on other users");

    /* An offer changes carts and purchases only: the views are the same. */
    struct ss_treat t = {2, 1, sw_multiplier(w, u, &offers.o[2])};
    y.n = 0;
    for (int64_t day = 19723; day < 19753; day++)
        ss_user_day(&b, u, day, &t, &y);
    size_t vx = 0, vy = 0;
    same = 1;
    for (size_t i = 0, j = 0; i < x.n || j < y.n;) {
        while (i < x.n && x.ev[i].type != SS_VIEW)
            i++;
        while (j < y.n && y.ev[j].type != SS_VIEW)
            j++;
        if (i < x.n && j < y.n) {
            same = same && x.ev[i].item == y.ev[j].item && x.ev[i].session == y.ev[j].session;
            vx++, vy++, i++, j++;
        } else {
            vx += i < x.n;
            vy += j < y.n;
            i += i < x.n;
            j += j < y.n;
        }
    }
    CHECK_TRUE(same && vx == vy, "treated and untreated days view the same items");
    ss_buf_release(&x);
    ss_buf_release(&y);
    ss_release(&a);
    ss_release(&b);
    sw_free(w);
}

/* ---- dirt ------------------------------------------------------------------ */

struct sink {
    struct ss_buf out;
};

static void collect(void *ctx, const struct ss_ev *e)
{
    struct sink *s = ctx;
    *ss_push(&s->out) = *e;
}

static int cmp_clean(const void *pa, const void *pb)
{
    const struct ss_ev *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->user != b->user)
        return a->user < b->user ? -1 : 1;
    if (a->session != b->session)
        return a->session < b->session ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void test_dirt(void)
{
    sw_world *w = small_world(3000, 300, 11);
    struct sw_offers offers;
    sw_offers_default(&offers);
    struct ss_sim sim;
    ss_init(&sim, w, &offers, 1);
    int days = 10;
    double rate = 0.05;
    sd *d = sd_new(w, rate, 4, (19723 + days) * (int64_t)SS_DAY, sw_events_per_day(w) * days);
    struct ss_buf clean_all = {0}, day = {0};
    struct sink sink = {{0}};
    for (int k = 0; k < days; k++) {
        day.n = 0;
        for (uint32_t u = 1; u <= 3000; u++)
            ss_user_day(&sim, u, 19723 + k, NULL, &day);
        ss_sort(&day, 0, day.n);
        for (size_t i = 0; i < day.n; i++)
            *ss_push(&clean_all) = day.ev[i];
        sd_day(d, &day, 19723 + k, collect, &sink);
    }
    sd_finish(d, collect, &sink);

    size_t kinds[SD_NKINDS] = {0}, back = 0;
    struct ss_buf kept = {0};
    for (size_t i = 0; i < sink.out.n; i++) {
        struct ss_ev e = sink.out.ev[i];
        kinds[e.dirt]++;
        if (e.dirt == SD_CLEAN || e.dirt == SD_OUT_OF_ORDER) {
            e.dirt = 0;
            *ss_push(&kept) = e;
        }
        if (e.dirt == SD_OUT_OF_ORDER && i + 1 < sink.out.n && sink.out.ev[i + 1].ts > e.ts)
            back++;
    }
    double n = (double)sink.out.n, dirt = n - (double)kinds[SD_CLEAN];
    double sd_rate = sqrt(rate * (1 - rate) / n);
    if (!CHECK_TRUE(fabs(dirt / n - rate) < 4 * sd_rate, "dirt is the requested share of the output"))
        printf("#   %.0f of %.0f records: %.5f\n", dirt, n, dirt / n);
    int kinds_ok = 1;
    for (int k = 1; k < SD_NKINDS; k++) {
        double want = sd_weights[k], got = kinds[k] / dirt, s = sqrt(want * (1 - want) / dirt);
        if (fabs(got - want) > 4 * s + (k == SD_BAD_PRICE ? 0.01 : 0)) {
            kinds_ok = 0;
            printf("#   %s: %.4f of dirt, want %.4f\n", sd_kind_names[k], got, want);
        }
    }
    CHECK_TRUE(kinds_ok, "each kind is its share of the dirt");
    CHECK_EQ_INT(kept.n, clean_all.n, "removing added dirt leaves as many events as the clean log");
    qsort(kept.ev, kept.n, sizeof *kept.ev, cmp_clean);
    qsort(clean_all.ev, clean_all.n, sizeof *clean_all.ev, cmp_clean);
    CHECK_TRUE(kept.n == clean_all.n && memcmp(kept.ev, clean_all.ev, kept.n * sizeof *kept.ev) == 0,
               "... and, sorted by time, exactly the clean log");
    CHECK_TRUE(kinds[SD_BOT] > 0 && d->nbots >= 1, "bot views present");
    ss_buf_release(&clean_all);
    ss_buf_release(&day);
    ss_buf_release(&sink.out);
    ss_buf_release(&kept);
    sd_free(d);
    ss_release(&sim);
    sw_free(w);
}

int main(void)
{
    diag_init("test_synth");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_tables();
    test_round_trip();
    test_multiplier();
    test_expectations();
    test_user_day();
    test_dirt();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return check_done();
}
