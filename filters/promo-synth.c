/* promo-synth: a simulated shop with known ground truth.
 * world: draw the hidden state; events: its behaviour log with past
 * randomized campaigns and dirt; respond: the events while a campaign plan
 * runs; truth: the expected effect of every offer on every user.  The
 * model lives in common/synth_world.c, a user's day in synth_sim.c, the
 * dirt in synth_dirt.c; this file is options and record loops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "diag.h"
#include "progress.h"
#include "rec.h"
#include "stream.h"
#include "synth_dirt.h"
#include "synth_sim.h"
#include "synth_world.h"
#include "xalloc.h"

static const char help_main[] =
"promo-synth: a simulated shop with known ground truth, and its answer to a campaign\n"
"\n"
"Usage: promo-synth COMMAND [OPTIONS]\n"
"\n"
"Commands:\n"
"  world           draw a world: archetypes, categories, items, users (kind world)\n"
"  events          the world's behaviour log with past campaigns and dirt (kind events)\n"
"  respond         the events while a campaign plan runs (kind events)\n"
"  truth           each user's expected response to each offer (kind truth)\n"
"\n"
"Options:\n"
"  --help          show this help (or a command's, after the command)\n"
"  --version       show the version\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-synth world -o world.mpz && promo-synth events --world world.mpz -o events.mpz\n";

static const char help_world[] =
"promo-synth world: draw the hidden state of a shop: archetypes, categories, items, users\n"
"\n"
"Usage: promo-synth world [OPTIONS]\n"
"\n"
"Options:\n"
"  --users N          customers  [default: 5000]\n"
"  --items M          items  [default: 1000]\n"
"  --categories C     item categories, at most M  [default: 20]\n"
"  --rank R           dimensions of the preference factors  [default: 8]\n"
"  --archetypes FILE  archetype table (CSV)  [default: built in, as data/archetypes.csv]\n"
"  --wish-rate R      a typical user's wish-list adds per view  [default: 0.02]\n"
"  --deal-signal S    how much more a deal-prone user wish-lists: the rate times\n"
"                     1 + S * (extra purchases under 20% off); 0 hides it  [default: 2]\n"
"  --seed S           random seed  [default: 1]\n"
"  -o, --output FILE  write to FILE, atomically  [default: stdout]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors\n"
"  --progress         report progress on stderr\n"
"  --help             show this help\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-synth world --users 5000 --items 1000 --seed 7 -o world.mpz\n";

static const char help_events[] =
"promo-synth events: the world's behaviour log, with past randomized campaigns and dirt\n"
"\n"
"Usage: promo-synth events --world FILE [OPTIONS]\n"
"\n"
"Options:\n"
"  --world FILE          the world (from promo-synth world)  [required]\n"
"  --days D              days of history  [default: 28]\n"
"  --start T             first day: unix seconds at a UTC midnight, or YYYY-MM-DD  [default: 2024-01-01]\n"
"  --campaigns K         past randomized campaigns, ids 1 to K  [default: 2]\n"
"  --campaign-days W     days a past campaign's offer stays valid  [default: 7]\n"
"  --offers FILE         offer table (CSV)  [default: built in, as data/offers.csv]\n"
"  --dirt RATE           share of output records that are dirt, 0 to 0.5  [default: 0.02]\n"
"  --dirt-log FILE       list each dirt record, its kind and position (kind dirt)  [default: none]\n"
"  --seed S              random seed of the behaviour  [default: 1]\n"
"  -o, --output FILE     write to FILE, atomically  [default: stdout]\n"
"  --level N             gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet           print nothing but errors\n"
"  --progress            report progress on stderr\n"
"  --help                show this help\n"
"\n"
"The clean events are the same whatever --dirt is: --dirt 0 gives the clean log.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-synth events --world world.mpz --days 28 --start 2024-01-01 -o events.mpz\n";

static const char help_respond[] =
"promo-synth respond: the events that happen while a campaign plan runs\n"
"\n"
"Usage: promo-synth respond --world FILE --plan FILE --start T --campaign ID [OPTIONS]\n"
"\n"
"Options:\n"
"  --world FILE       the world (from promo-synth world)  [required]\n"
"  --plan FILE        the plan: user, offer, holdout (kind plan)  [required]\n"
"  --start T          first day: unix seconds at a UTC midnight, or YYYY-MM-DD  [required]\n"
"  --campaign ID      the campaign's id, on its treat, control and discounted events  [required]\n"
"  --days D           days the campaign runs and its offers are valid  [default: 7]\n"
"  --offers FILE      offer table (CSV)  [default: built in, as data/offers.csv]\n"
"  --seed S           random seed of the behaviour  [default: 1]\n"
"  -o, --output FILE  write to FILE, atomically  [default: stdout]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors\n"
"  --progress         report progress on stderr\n"
"  --help             show this help\n"
"\n"
"Treated users (an offer, holdout false) get a treat event and respond as the\n"
"world says; holdout users get a control event; everyone else behaves as usual.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-synth respond --world world.mpz --plan plan.mpz --start 2024-01-29 --campaign 3 -o new.mpz\n";

static const char help_truth[] =
"promo-synth truth: each user's expected response to each offer, from the hidden model\n"
"\n"
"Usage: promo-synth truth --world FILE [OPTIONS]\n"
"\n"
"Options:\n"
"  --world FILE       the world (from promo-synth world)  [required]\n"
"  --offers FILE      offer table (CSV)  [default: built in, as data/offers.csv]\n"
"  --days D           days the offer is valid  [default: 7]\n"
"  --start T          first day, for the weekly rhythm  [default: none: D/7 average weeks]\n"
"  -o, --output FILE  write to FILE, atomically  [default: stdout]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors\n"
"  --progress         report progress on stderr\n"
"  --help             show this help\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-synth truth --world world.mpz --days 7 -o truth.mpz\n";

enum {
    O_USERS = CLI_FIRST_FREE, O_ITEMS, O_CATEGORIES, O_RANK, O_ARCHETYPES, O_WISH_RATE, O_DEAL_SIGNAL, O_WORLD, O_DAYS,
    O_START, O_DIRT, O_DIRT_LOG, O_CAMPAIGNS, O_CAMPAIGN_DAYS, O_OFFERS, O_PLAN, O_CAMPAIGN,
};

#define DEFAULT_START 1704067200   /* 2024-01-01 */
#define MAX_DAYS 100000

/* ---- shared option handling ---------------------------------------------- */

/* Parse the options of one command; handle the shared ones in cli. */
static int next_opt(struct cli *cli, int argc, char **argv, const struct option *longopts, const char *help)
{
    for (;;) {
        int opt = getopt_long(argc, argv, ":o:q", longopts, NULL);
        if (opt == -1) {
            if (optind < argc)
                die_usage("unexpected argument \"%s\"", argv[optind]);
            return -1;
        }
        if (opt >= CLI_FIRST_FREE)
            return opt;
        if (!cli_common(cli, opt, optarg, help, argv))
            die_usage("unhandled option");
    }
}

/* Unix seconds at a UTC midnight, or YYYY-MM-DD. */
static int64_t parse_start(const char *opt, const char *s)
{
    int y, m, d, n = 0;
    int64_t t;
    if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10) {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
        t = (int64_t)timegm(&tm);
        if (y < 1970 || m < 1 || m > 12 || d < 1 || tm.tm_mday != d || tm.tm_mon != m - 1)
            die_usage("%s: no such date \"%s\"", opt, s);
        return t;
    }
    t = (int64_t)cli_int(opt, s, 0, INT64_C(253402214400));   /* to 9999-12-31 */
    if (t % SS_DAY != 0)
        die_usage("%s: expected a UTC midnight (unix seconds divisible by 86400) or YYYY-MM-DD, got \"%s\"",
                  opt, s);
    return t;
}

static void load_offers(struct sw_offers *offers, const char *path)
{
    if (path)
        sw_offers_load(offers, path);
    else
        sw_offers_default(offers);
}

static void opt_offers(ws *w, const struct sw_offers *offers)
{
    char buf[SW_MAX_OFFERS * SW_NAME_MAX] = "";
    for (int i = 0; i < offers->n; i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, offers->o[i].id);
    }
    ws_opt_str(w, "offers", buf);
}

/* ---- world ---------------------------------------------------------------- */

/* The header options of an events stream that say which world and which
 * days [start, end) it covers (events and respond). */
static void opt_window(ws *out, const sw_world *w, int64_t start, int days)
{
    ws_opt_int(out, "world_seed", (int64_t)w->seed);
    ws_opt_int(out, "users", w->nusers);
    ws_opt_int(out, "items", w->nitems);
    ws_opt_int(out, "start", start);
    ws_opt_int(out, "days", days);
    ws_opt_int(out, "end", start + (int64_t)days * SS_DAY);
}

static int cmd_world(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"users", required_argument, 0, O_USERS},
        {"items", required_argument, 0, O_ITEMS},
        {"categories", required_argument, 0, O_CATEGORIES},
        {"rank", required_argument, 0, O_RANK},
        {"archetypes", required_argument, 0, O_ARCHETYPES},
        {"wish-rate", required_argument, 0, O_WISH_RATE},
        {"deal-signal", required_argument, 0, O_DEAL_SIGNAL},
        {0, 0, 0, 0},
    };
    struct cli cli;
    cli_init(&cli, "promo-synth");
    cli.seed = 1;
    int users = 5000, items = 1000, cats = 20, rank = 8;
    double wish_rate = SW_WISH_BASE, deal_signal = SW_DEAL_SIGNAL;
    const char *arch_path = NULL;
    int opt;
    while ((opt = next_opt(&cli, argc, argv, longopts, help_world)) != -1) {
        switch (opt) {
        case O_USERS: users = (int)cli_int("--users", optarg, 1, SW_MAX_USERS); break;
        case O_ITEMS: items = (int)cli_int("--items", optarg, 1, SW_MAX_ITEMS); break;
        case O_CATEGORIES: cats = (int)cli_int("--categories", optarg, 1, SW_MAX_CATS); break;
        case O_RANK: rank = (int)cli_int("--rank", optarg, 1, SW_MAX_RANK); break;
        case O_ARCHETYPES: arch_path = optarg; break;
        case O_WISH_RATE: wish_rate = cli_f64("--wish-rate", optarg, 0, SW_WISH_MAX); break;
        case O_DEAL_SIGNAL: deal_signal = cli_f64("--deal-signal", optarg, 0, 1000); break;
        default: die_usage("unhandled option");
        }
    }
    if (cats > items)
        die_usage("--categories: expected at most --items (%d), got %d", items, cats);

    struct sw_archetypes arch;
    if (arch_path)
        sw_archetypes_load(&arch, arch_path);
    else
        sw_archetypes_default(&arch);
    ws *out = ws_open(cli.out, cli.level);
    sw_world *w = sw_new(users, items, cats, rank, &arch);
    w->wish_base = wish_rate;
    w->deal_signal = deal_signal;
    sw_generate(w, cli.seed);
    sw_write(w, out, arch_path ? arch_path : "built-in");
    ws_close(out);
    sw_free(w);
    return EXIT_OK;
}

/* ---- writing events (events and respond) ---------------------------------- */

struct writer {
    ws *out, *dlog;
    const struct sw_offers *offers;
    uint64_t pos;              /* records written */
    struct progress prog;
};

static void emit_event(void *ctx, const struct ss_ev *e)
{
    struct writer *wr = ctx;
    ss_write(wr->out, e, wr->offers);
    wr->pos++;
    prog_tick(&wr->prog, wr->pos);
    if (!e->dirt || !wr->dlog)
        return;
    static const char *const field_names[] = {NULL, "user", "item", "event", "ts"};
    msgpack_packer *pk = ws_pk(wr->dlog);
    msgpack_pack_map(pk, 7);
    mp_pack_str(pk, "kind");
    mp_pack_str(pk, sd_kind_names[e->dirt]);
    mp_pack_str(pk, "position");
    msgpack_pack_uint64(pk, wr->pos);
    mp_pack_str(pk, "user");
    msgpack_pack_uint32(pk, e->user);
    mp_pack_str(pk, "item");
    if (e->item)
        msgpack_pack_uint32(pk, e->item);
    else
        msgpack_pack_nil(pk);
    mp_pack_str(pk, "event");
    mp_pack_str(pk, ss_type_names[e->type]);
    mp_pack_str(pk, "ts");
    msgpack_pack_int64(pk, e->ts);
    mp_pack_str(pk, "field");
    if (e->nil_field)
        mp_pack_str(pk, field_names[e->nil_field]);
    else
        msgpack_pack_nil(pk);
    ws_end(wr->dlog);
}

/* What each user holds: an offer of a campaign until a day, or nothing. */
struct holding {
    int16_t *offer;            /* [nusers], -1: none */
    int32_t *campaign;         /* [nusers] */
    int64_t *until;            /* [nusers] first unix day it is no longer valid */
    double *mult;              /* [nusers] */
};

static void holding_init(struct holding *h, int n)
{
    h->offer = xmalloc((size_t)n * sizeof *h->offer);
    for (int i = 0; i < n; i++)
        h->offer[i] = -1;
    h->campaign = xcalloc((size_t)n, sizeof *h->campaign);
    h->until = xcalloc((size_t)n, sizeof *h->until);
    h->mult = xcalloc((size_t)n, sizeof *h->mult);
}

static void holding_release(struct holding *h)
{
    free(h->offer);
    free(h->campaign);
    free(h->until);
    free(h->mult);
}

/* Simulate every user on one day: buf gets the events carried over from
 * the day before (sessions that ran past midnight) and the day's, sorted by
 * time, up to midnight; the events after midnight go to carry. */
static void simulate_day(struct ss_sim *sim, const struct holding *h, int64_t day, struct ss_buf *buf,
                         struct ss_buf *carry)
{
    for (size_t i = 0; i < carry->n; i++)
        *ss_push(buf) = carry->ev[i];
    carry->n = 0;
    for (int u = 1; u <= sim->w->nusers; u++) {
        struct ss_treat t, *tp = NULL;
        if (h->offer[u - 1] >= 0 && day < h->until[u - 1]) {
            t.offer = h->offer[u - 1];
            t.campaign = h->campaign[u - 1];
            t.mult = h->mult[u - 1];
            tp = &t;
        }
        ss_user_day(sim, (uint32_t)u, day, tp, buf);
    }
    ss_sort(buf, 0, buf->n);
    int64_t midnight = (day + 1) * SS_DAY;
    size_t k = buf->n;
    while (k > 0 && buf->ev[k - 1].ts >= midnight)
        k--;
    for (size_t i = k; i < buf->n; i++)
        *ss_push(carry) = buf->ev[i];
    buf->n = k;
}

/* ---- events --------------------------------------------------------------- */

struct campaign {
    int32_t id;
    int64_t day;               /* unix day it starts */
    double treat, control;     /* shares of users */
};

/* Draw the past campaigns: one per slot of days / K days, each starting
 * at a random day of its slot so that it ends inside the slot. */
static struct campaign *plan_campaigns(uint64_t seed, uint64_t world_seed, int k, int days, int window,
                                       int64_t day0)
{
    struct campaign *c = xcalloc((size_t)k + 1, sizeof *c);
    struct rng root, r;
    rng_init(&root, seed);
    rng_split(&root, &root, world_seed ^ UINT64_C(0x6a09e667f3bcc909));
    int slot = k ? days / k : 0;
    for (int i = 0; i < k; i++) {
        rng_split(&r, &root, (uint64_t)i + 1);
        c[i].id = i + 1;
        c[i].day = day0 + (int64_t)i * slot + (int64_t)rng_below(&r, (uint64_t)(slot - window + 1));
        c[i].treat = 0.2 + 0.3 * rng_uniform(&r);
        c[i].control = 0.1 + 0.2 * rng_uniform(&r);
    }
    return c;
}

/* Assign users to a campaign: treat with a random offer, control, or
 * neither; the treat and control events go into buf. */
static void start_campaign(const sw_world *w, const struct sw_offers *offers, uint64_t seed,
                           const struct campaign *c, int window, struct holding *h, struct ss_buf *buf)
{
    struct rng r;
    rng_init(&r, seed);
    rng_split(&r, &r, w->seed ^ UINT64_C(0xbb67ae8584caa73b));
    rng_split(&r, &r, (uint64_t)c->id);
    for (int u = 1; u <= w->nusers; u++) {
        double x = rng_uniform(&r);
        int o = (int)rng_below(&r, (uint64_t)offers->n);
        if (x < c->treat) {
            h->offer[u - 1] = (int16_t)o;
            h->campaign[u - 1] = c->id;
            h->until[u - 1] = c->day + window;
            h->mult[u - 1] = sw_multiplier(w, (uint32_t)u, &offers->o[o]);
            ss_campaign_event(buf, (uint32_t)u, c->day, SS_TREAT, c->id, o);
        } else if (x < c->treat + c->control) {
            ss_campaign_event(buf, (uint32_t)u, c->day, SS_CONTROL, c->id, -1);
        }
    }
}

static int cmd_events(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"world", required_argument, 0, O_WORLD},
        {"days", required_argument, 0, O_DAYS},
        {"start", required_argument, 0, O_START},
        {"dirt", required_argument, 0, O_DIRT},
        {"dirt-log", required_argument, 0, O_DIRT_LOG},
        {"campaigns", required_argument, 0, O_CAMPAIGNS},
        {"campaign-days", required_argument, 0, O_CAMPAIGN_DAYS},
        {"offers", required_argument, 0, O_OFFERS},
        {0, 0, 0, 0},
    };
    struct cli cli;
    cli_init(&cli, "promo-synth");
    cli.seed = 1;
    const char *world_path = NULL, *dirt_log = NULL, *offers_path = NULL;
    int days = 28, ncamp = 2, window = 7;
    int64_t start = DEFAULT_START;
    double rate = 0.02;
    int opt;
    while ((opt = next_opt(&cli, argc, argv, longopts, help_events)) != -1) {
        switch (opt) {
        case O_WORLD: world_path = optarg; break;
        case O_DAYS: days = (int)cli_int("--days", optarg, 1, MAX_DAYS); break;
        case O_START: start = parse_start("--start", optarg); break;
        case O_DIRT: rate = cli_f64("--dirt", optarg, 0, 0.5); break;
        case O_DIRT_LOG: dirt_log = optarg; break;
        case O_CAMPAIGNS: ncamp = (int)cli_int("--campaigns", optarg, 0, 1000); break;
        case O_CAMPAIGN_DAYS: window = (int)cli_int("--campaign-days", optarg, 1, MAX_DAYS); break;
        case O_OFFERS: offers_path = optarg; break;
        default: die_usage("unhandled option");
        }
    }
    if (!world_path)
        die_usage("--world: required (make one with promo-synth world)");
    if (ncamp > 0 && days / ncamp < window)
        die_usage("--campaigns: %d campaigns of %d days need --days of at least %d, got %d",
                  ncamp, window, ncamp * window, days);

    struct sw_offers offers;
    load_offers(&offers, offers_path);
    sw_world *w = sw_load(world_path);
    int64_t day0 = start / SS_DAY, end = start + (int64_t)days * SS_DAY;

    struct writer wr = {.offers = &offers};
    wr.out = ws_open(cli.out, cli.level);
    opt_window(wr.out, w, start, days);
    ws_opt_int(wr.out, "campaigns", ncamp);
    ws_opt_int(wr.out, "campaign_days", window);
    opt_offers(wr.out, &offers);
    ws_opt_f64(wr.out, "dirt", rate);
    ws_opt_int(wr.out, "seed", (int64_t)cli.seed);
    ws_header(wr.out, "events");
    if (dirt_log) {
        wr.dlog = ws_open(dirt_log, cli.level);
        ws_opt_f64(wr.dlog, "dirt", rate);
        ws_opt_int(wr.dlog, "seed", (int64_t)cli.seed);
        ws_header(wr.dlog, "dirt");
    }
    prog_init(&wr.prog, "events", cli.progress);

    struct ss_sim sim;
    ss_init(&sim, w, &offers, cli.seed);
    struct holding h;
    holding_init(&h, w->nusers);
    struct campaign *camp = plan_campaigns(cli.seed, w->seed, ncamp, days, window, day0);
    sd *dirt = rate > 0 ? sd_new(w, rate, cli.seed, end, sw_events_per_day(w) * days) : NULL;
    struct ss_buf buf = {0}, carry = {0};
    int next_camp = 0;

    for (int d = 0; d < days; d++) {
        int64_t day = day0 + d;
        buf.n = 0;
        while (next_camp < ncamp && camp[next_camp].day == day)
            start_campaign(w, &offers, cli.seed, &camp[next_camp++], window, &h, &buf);
        simulate_day(&sim, &h, day, &buf, &carry);
        if (dirt) {
            sd_day(dirt, &buf, day, emit_event, &wr);
        } else {
            for (size_t i = 0; i < buf.n; i++)
                emit_event(&wr, &buf.ev[i]);
        }
    }
    if (dirt)
        sd_finish(dirt, emit_event, &wr);
    ws_close(wr.out);
    ws_close(wr.dlog);
    prog_done(&wr.prog);

    ss_buf_release(&buf);
    ss_buf_release(&carry);
    sd_free(dirt);
    free(camp);
    holding_release(&h);
    ss_release(&sim);
    sw_free(w);
    return EXIT_OK;
}

/* ---- respond -------------------------------------------------------------- */

enum { PLAN_NONE, PLAN_TREAT, PLAN_HOLDOUT, PLAN_LISTED /* in the plan, neither */ };

/* Read the plan into per-user arrays: status and offer (-1 none). */
static void read_plan(const char *path, const sw_world *w, const struct sw_offers *offers,
                      uint8_t *status, int16_t *offer, int *ntreat, int *nhold)
{
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, "plan");
    *ntreat = *nhold = 0;
    uint64_t outside = 0;
    while (rs_next(r)) {
        int64_t u = rec_i64(r, "user");
        if (u < 1)
            rs_die(r, "field \"user\": no user %lld in the world (users are 1 to %d)", (long long)u, w->nusers);
        if (u > w->nusers) {
            /* The log's bots (dirt) have ids past the world's users: they
             * are no customers, so an offer to them changes nothing. */
            outside++;
            continue;
        }
        if (status[u - 1] != PLAN_NONE)
            rs_die(r, "field \"user\": user %lld is in the plan twice", (long long)u);
        const char *id;
        size_t len;
        int o = -1;
        if (rec_opt_str(r, "offer", &id, &len) && (o = sw_offer_find(offers, id, len)) < 0)
            rs_die(r, "field \"offer\": unknown offer \"%.*s\" (not in the offer table)", (int)len, id);
        const msgpack_object *hv = rec_field(r, "holdout");
        if (hv && hv->type != MSGPACK_OBJECT_BOOLEAN)
            rs_die(r, "field \"holdout\": expected a boolean, got %s", mp_type_name(hv));
        bool holdout = hv && hv->via.boolean;
        offer[u - 1] = (int16_t)o;
        if (holdout) {
            status[u - 1] = PLAN_HOLDOUT;
            ++*nhold;
        } else if (o >= 0) {
            status[u - 1] = PLAN_TREAT;
            ++*ntreat;
        } else {
            status[u - 1] = PLAN_LISTED;
        }
    }
    if (outside)
        warning("%s: %llu users of the plan are not in the world (bots of the log's dirt): "
                "they make no events", path, (unsigned long long)outside);
    rs_free(r);
}

static int cmd_respond(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"world", required_argument, 0, O_WORLD},
        {"plan", required_argument, 0, O_PLAN},
        {"start", required_argument, 0, O_START},
        {"days", required_argument, 0, O_DAYS},
        {"campaign", required_argument, 0, O_CAMPAIGN},
        {"offers", required_argument, 0, O_OFFERS},
        {0, 0, 0, 0},
    };
    struct cli cli;
    cli_init(&cli, "promo-synth");
    cli.seed = 1;
    const char *world_path = NULL, *plan_path = NULL, *offers_path = NULL;
    int days = 7;
    int64_t start = -1, campaign = 0;
    int opt;
    while ((opt = next_opt(&cli, argc, argv, longopts, help_respond)) != -1) {
        switch (opt) {
        case O_WORLD: world_path = optarg; break;
        case O_PLAN: plan_path = optarg; break;
        case O_START: start = parse_start("--start", optarg); break;
        case O_DAYS: days = (int)cli_int("--days", optarg, 1, MAX_DAYS); break;
        case O_CAMPAIGN: campaign = cli_int("--campaign", optarg, 1, INT32_MAX); break;
        case O_OFFERS: offers_path = optarg; break;
        default: die_usage("unhandled option");
        }
    }
    if (!world_path)
        die_usage("--world: required (make one with promo-synth world)");
    if (!plan_path)
        die_usage("--plan: required (a stream of kind plan, as promo-plan writes)");
    if (start < 0)
        die_usage("--start: required (the day after the log ends)");
    if (!campaign)
        die_usage("--campaign: required (an id not used by the log's campaigns)");

    struct sw_offers offers;
    load_offers(&offers, offers_path);
    sw_world *w = sw_load(world_path);
    uint8_t *status = xcalloc((size_t)w->nusers, 1);
    struct holding h;
    holding_init(&h, w->nusers);
    int ntreat, nhold;
    read_plan(plan_path, w, &offers, status, h.offer, &ntreat, &nhold);

    int64_t day0 = start / SS_DAY;
    struct writer wr = {.offers = &offers};
    wr.out = ws_open(cli.out, cli.level);
    opt_window(wr.out, w, start, days);
    ws_opt_int(wr.out, "campaign", campaign);
    ws_opt_int(wr.out, "treated", ntreat);
    ws_opt_int(wr.out, "holdout", nhold);
    opt_offers(wr.out, &offers);
    ws_opt_int(wr.out, "seed", (int64_t)cli.seed);
    ws_header(wr.out, "events");
    prog_init(&wr.prog, "events", cli.progress);

    struct ss_buf buf = {0};
    for (int u = 1; u <= w->nusers; u++) {
        int o = h.offer[u - 1];
        if (status[u - 1] == PLAN_TREAT) {
            h.campaign[u - 1] = (int32_t)campaign;
            h.until[u - 1] = day0 + days;
            h.mult[u - 1] = sw_multiplier(w, (uint32_t)u, &offers.o[o]);
            ss_campaign_event(&buf, (uint32_t)u, day0, SS_TREAT, (int32_t)campaign, o);
        } else {
            if (status[u - 1] == PLAN_HOLDOUT)
                ss_campaign_event(&buf, (uint32_t)u, day0, SS_CONTROL, (int32_t)campaign, o);
            h.offer[u - 1] = -1;   /* holds nothing */
        }
    }
    struct ss_sim sim;
    ss_init(&sim, w, &offers, cli.seed);
    struct ss_buf carry = {0};
    for (int d = 0; d < days; d++) {
        if (d > 0)
            buf.n = 0;
        simulate_day(&sim, &h, day0 + d, &buf, &carry);
        for (size_t i = 0; i < buf.n; i++)
            emit_event(&wr, &buf.ev[i]);
    }
    ws_close(wr.out);
    prog_done(&wr.prog);

    ss_buf_release(&buf);
    ss_buf_release(&carry);
    ss_release(&sim);
    holding_release(&h);
    free(status);
    sw_free(w);
    return EXIT_OK;
}

/* ---- truth ---------------------------------------------------------------- */

static int cmd_truth(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION,
        {"world", required_argument, 0, O_WORLD},
        {"offers", required_argument, 0, O_OFFERS},
        {"days", required_argument, 0, O_DAYS},
        {"start", required_argument, 0, O_START},
        {0, 0, 0, 0},
    };
    struct cli cli;
    cli_init(&cli, "promo-synth");
    const char *world_path = NULL, *offers_path = NULL;
    int days = 7;
    int64_t start = -1;
    int opt;
    while ((opt = next_opt(&cli, argc, argv, longopts, help_truth)) != -1) {
        switch (opt) {
        case O_WORLD: world_path = optarg; break;
        case O_OFFERS: offers_path = optarg; break;
        case O_DAYS: days = (int)cli_int("--days", optarg, 1, MAX_DAYS); break;
        case O_START: start = parse_start("--start", optarg); break;
        default: die_usage("unhandled option");
        }
    }
    if (!world_path)
        die_usage("--world: required (make one with promo-synth world)");

    struct sw_offers offers;
    load_offers(&offers, offers_path);
    sw_world *w = sw_load(world_path);
    /* The weekly rhythm has mean 1, so whole weeks weigh their days. */
    double weight = days;
    if (start >= 0) {
        weight = 0;
        for (int d = 0; d < days; d++)
            weight += sw_week[sw_dow(start / SS_DAY + d)];
    }
    double *tab[SW_MAX_OFFERS] = {0};
    for (int o = 0; o < offers.n; o++)
        if (offers.o[o].type == SW_FIXED)
            tab[o] = sw_fixed_table(w, offers.o[o].value);

    ws *out = ws_open(cli.out, cli.level);
    ws_opt_int(out, "world_seed", (int64_t)w->seed);
    ws_opt_int(out, "users", w->nusers);
    ws_opt_int(out, "days", days);
    ws_opt_int(out, "start", start);
    opt_offers(out, &offers);
    ws_opt_str(out, "method", "analytic");
    ws_header(out, "truth");
    struct progress prog;
    prog_init(&prog, "records", cli.progress);
    for (int u = 1; u <= w->nusers; u++) {
        struct sw_expect base, treat;
        sw_expect(w, (uint32_t)u, weight, NULL, NULL, &base);
        for (int o = 0; o < offers.n; o++) {
            sw_expect(w, (uint32_t)u, weight, &offers.o[o], tab[o], &treat);
            msgpack_packer *pk = ws_pk(out);
            msgpack_pack_map(pk, 10);
            mp_pack_str(pk, "user");
            msgpack_pack_int32(pk, u);
            mp_pack_str(pk, "offer");
            mp_pack_str(pk, offers.o[o].id);
            mp_pack_str(pk, "base_purchases");
            msgpack_pack_double(pk, base.purchases);
            mp_pack_str(pk, "base_conversion");
            msgpack_pack_double(pk, base.conversion);
            mp_pack_str(pk, "base_revenue");
            msgpack_pack_double(pk, base.revenue);
            mp_pack_str(pk, "base_profit");
            msgpack_pack_double(pk, base.profit);
            mp_pack_str(pk, "uplift_purchases");
            msgpack_pack_double(pk, treat.purchases - base.purchases);
            mp_pack_str(pk, "uplift_conversion");
            msgpack_pack_double(pk, treat.conversion - base.conversion);
            mp_pack_str(pk, "uplift_revenue");
            msgpack_pack_double(pk, treat.revenue - base.revenue);
            mp_pack_str(pk, "uplift_profit");
            msgpack_pack_double(pk, treat.profit - base.profit);
            ws_end(out);
            prog_tick(&prog, ws_count(out));
        }
    }
    ws_close(out);
    prog_done(&prog);
    for (int o = 0; o < offers.n; o++)
        free(tab[o]);
    sw_free(w);
    return EXIT_OK;
}

/* ---- main ----------------------------------------------------------------- */

int main(int argc, char **argv)
{
    diag_init(argv[0]);
    if (argc < 2)
        die_usage("expected a command: world, events, respond or truth");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(help_main, stdout);
        if (fflush(stdout) != 0 || ferror(stdout))
            die_errno("stdout: write error");
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("%s %s\n", diag_prog(), PROMO_VERSION);
        return EXIT_OK;
    }
    static const struct { const char *name; int (*fn)(int, char **); } cmds[] = {
        {"world", cmd_world}, {"events", cmd_events}, {"respond", cmd_respond}, {"truth", cmd_truth},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    die_usage("unknown command \"%s\" (expected world, events, respond or truth)", cmd);
}
