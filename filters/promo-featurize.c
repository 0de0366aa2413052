/* promo-featurize: model inputs from a cleaned event log, one user at a
 * time.  The input must be sorted by user and time (promo-clean writes it
 * so and says so in its header); each user's events are held (memory: the
 * longest history, not the number of users), then one view's records are
 * computed by common/userfeat.c, scaled by common/scaling.c if asked, and
 * written.  Features only ever look at events before --asof. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diag.h"
#include "events.h"
#include "numfmt.h"
#include "userfeat.h"
#include "progress.h"
#include "scaling.h"
#include "stream.h"
#include "xalloc.h"

static const char help[] =
"promo-featurize: per-user features, sequences, interactions or uplift examples from a cleaned log\n"
"\n"
"Usage: promo-featurize --view V --asof T [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --view V             users, sequences, interactions or examples  [required]\n"
"  --asof T             features use events before T (unix seconds or ISO-8601)  [required]\n"
"  --label-days D       labels use the window [T, T + D days)  [default: 7]\n"
"  --labels WHEN        auto (if the log reaches T), yes or no  [default: auto]\n"
"  --categories A,B     users, examples: also the share of events in each of these  [default: none]\n"
"  --offer-days D       an offer is held D days after its treat event  [default: 7]\n"
"  --length L           sequences: the last L events  [default: 50]\n"
"  --item-buckets N     sequences: item tokens hashed into N  [default: 65536]\n"
"  --category-buckets N sequences: category tokens hashed into N  [default: 1024]\n"
"  --weights E=W,...    interactions: weight of each event  [default: view=1,wish=2,cart=3,purchase=10]\n"
"  --half-life D        interactions: weights halve every D days before T, 0 for none  [default: 0]\n"
"  --holdout H          interactions: last (each user's last purchased item) or time (the label window)\n"
"  --holdout-out FILE   interactions: where --holdout writes its pairs (kind interactions)\n"
"  --campaign ID        examples: only this campaign  [default: all]\n"
"  --campaign-days D    examples: the outcome window after a customer's campaign start  [default: 7]\n"
"  --fit-stats FILE     users, examples: learn the features' scaling on these rows (kind stats)\n"
"  --scaling S          standard (mean, sd) or robust (median, IQR) for --fit-stats  [default: standard]\n"
"  --stats FILE         users, examples: scale the features with FILE (from --fit-stats)\n"
"  --seed N             the row sample of --scaling robust  [default: 1]\n"
"  -o, --output FILE    write to FILE, atomically  [default: stdout]\n"
"  --level N            gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet          print nothing but errors\n"
"  --progress           report progress on stderr\n"
"  --help               show this help\n"
"  --version            show the version\n"
"\n"
"Input: kind events sorted by user and time, as promo-clean writes it.  Users\n"
"without a behaviour event before T get no row.  docs/featurize.md defines\n"
"every field.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-featurize --view users --asof 2024-01-22 -o users.mpz clean.mpz\n";

enum {
    O_VIEW = CLI_FIRST_FREE, O_ASOF, O_LABEL_DAYS, O_LABELS, O_CATEGORIES, O_OFFER_DAYS, O_LENGTH,
    O_ITEM_BUCKETS, O_CAT_BUCKETS, O_WEIGHTS, O_HALF_LIFE, O_HOLDOUT, O_HOLDOUT_OUT, O_CAMPAIGN,
    O_CAMPAIGN_DAYS, O_FIT_STATS, O_SCALING, O_STATS,
};
enum view { V_USERS, V_SEQUENCES, V_INTERACTIONS, V_EXAMPLES };
static const char *const view_names[] = {"users", "sequences", "interactions", "examples", NULL};
enum { H_NONE, H_LAST, H_TIME };
static const char *const holdout_names[] = {"none", "last", "time"};
enum { L_AUTO, L_YES, L_NO };

#define MAX_CAMPAIGNS_PER_USER 1024

struct feat {
    struct cli cli;
    enum view view;
    int64_t asof;
    bool asof_given;
    double label_days, offer_days, half_life_days, campaign_days;
    int labels_mode;
    bool labels;
    char **cats;
    int ncats;
    uint64_t *cat_h;
    struct ft_params fp;
    int L, item_buckets, cat_buckets;
    double w[EV_NTYPES];
    const char *weights_text;
    int holdout;
    const char *holdout_out;
    bool one_campaign;
    int64_t campaign;
    const char *fit_path, *stats_path;
    enum sc_method method;
    const char *const *paths;
    int npaths;

    rs *in;
    ws *out, *hold, *fitw;
    struct progress prog;
    struct ft_user u;
    bool have_user;
    struct ev_walk walk;          /* the record's fields, read once */
    struct ev_norm e;
    int64_t prev_ts;

    int nfeat;
    char **names;               /* the features' field names */
    double *x;
    sc_fit *fit;
    struct sc_stats stats;
    bool scale;
    struct ft_seq seq;
    int32_t *seqbuf;
    struct ft_pair *pairs;
    size_t pcap;
    int64_t *seen;              /* examples: campaigns seen for the user */

    uint64_t users, rows, cold, held_rows, members, incomplete, repeats;
};

/* ---- options ------------------------------------------------------------ */

/* A number of days, or a duration with a unit ("12h"); positive: above 0. */
static double days_opt(const char *opt, const char *s, bool positive)
{
    int64_t secs;
    char *end;
    double d = strtod(s, &end);
    if (end != s && !*end && isfinite(d) && d >= 0)
        secs = (int64_t)llround(d * 86400);
    else if (!ev_parse_duration(s, &secs))
        die_usage("%s: expected a number of days or a duration such as 12h, got \"%s\"", opt, s);
    double days = (double)secs / 86400;
    if ((positive && secs < 1) || days > 36500)
        die_usage("%s: expected %s to 36500 days, got \"%s\"", opt, positive ? "1 second" : "0", s);
    return days;
}

static void parse_weights(struct feat *f, const char *text)
{
    int n;
    char **list = cli_list(text, &n);
    for (int t = 0; t < EV_NTYPES; t++)
        f->w[t] = 0;
    for (int i = 0; i < n; i++) {
        char *eq = strchr(list[i], '=');
        if (!eq || eq == list[i])
            die_usage("--weights: expected EVENT=WEIGHT, got \"%s\"", list[i]);
        *eq = '\0';
        int t = ev_type_find(list[i], strlen(list[i]));
        if (t < 0 || !EV_BEHAVIOUR(t))
            die_usage("--weights: expected view, wish, cart or purchase, got \"%s\"", list[i]);
        f->w[t] = cli_f64("--weights", eq + 1, 0, 1e9);
    }
    free(list);
}

static void parse_options(struct feat *f, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"view", required_argument, 0, O_VIEW},
        {"asof", required_argument, 0, O_ASOF},
        {"label-days", required_argument, 0, O_LABEL_DAYS},
        {"labels", required_argument, 0, O_LABELS},
        {"categories", required_argument, 0, O_CATEGORIES},
        {"offer-days", required_argument, 0, O_OFFER_DAYS},
        {"length", required_argument, 0, O_LENGTH},
        {"item-buckets", required_argument, 0, O_ITEM_BUCKETS},
        {"category-buckets", required_argument, 0, O_CAT_BUCKETS},
        {"weights", required_argument, 0, O_WEIGHTS},
        {"half-life", required_argument, 0, O_HALF_LIFE},
        {"holdout", required_argument, 0, O_HOLDOUT},
        {"holdout-out", required_argument, 0, O_HOLDOUT_OUT},
        {"campaign", required_argument, 0, O_CAMPAIGN},
        {"campaign-days", required_argument, 0, O_CAMPAIGN_DAYS},
        {"fit-stats", required_argument, 0, O_FIT_STATS},
        {"scaling", required_argument, 0, O_SCALING},
        {"stats", required_argument, 0, O_STATS},
        {0, 0, 0, 0},
    };
    memset(f, 0, sizeof *f);
    cli_init(&f->cli, argv[0]);
    f->cli.seed = 1;
    f->view = (enum view)-1;
    f->label_days = 7;
    f->offer_days = 7;
    f->campaign_days = 7;
    f->L = 50;
    f->item_buckets = 65536;
    f->cat_buckets = 1024;
    f->weights_text = "view=1,wish=2,cart=3,purchase=10";
    bool scaling_given = false, seq_opt = false, int_opt = false, ex_opt = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        switch (opt) {
        case O_VIEW:
            f->view = (enum view)cli_choice("--view", optarg, view_names);
            break;
        case O_ASOF:
            if (!ev_parse_time(optarg, &f->asof))
                die_usage("--asof: expected unix seconds or an ISO-8601 time such as 2024-01-22, got \"%s\"",
                          optarg);
            f->asof_given = true;
            break;
        case O_LABEL_DAYS: f->label_days = days_opt("--label-days", optarg, true); break;
        case O_LABELS: {
            static const char *const modes[] = {"auto", "yes", "no", NULL};
            static const int map[] = {L_AUTO, L_YES, L_NO};
            f->labels_mode = map[cli_choice("--labels", optarg, modes)];
            break;
        }
        case O_CATEGORIES:
            free(f->cats);
            f->cats = cli_list(optarg, &f->ncats);
            for (int i = 0; i < f->ncats; i++)
                if (!*f->cats[i])
                    die_usage("--categories: empty category in \"%s\"", optarg);
            break;
        case O_OFFER_DAYS: f->offer_days = days_opt("--offer-days", optarg, false); break;
        case O_LENGTH: f->L = (int)cli_int("--length", optarg, 1, 10000); seq_opt = true; break;
        case O_ITEM_BUCKETS:
            f->item_buckets = (int)cli_int("--item-buckets", optarg, 3, 1 << 30);
            seq_opt = true;
            break;
        case O_CAT_BUCKETS:
            f->cat_buckets = (int)cli_int("--category-buckets", optarg, 3, 1 << 30);
            seq_opt = true;
            break;
        case O_WEIGHTS: f->weights_text = optarg; int_opt = true; break;
        case O_HALF_LIFE: f->half_life_days = days_opt("--half-life", optarg, false); int_opt = true; break;
        case O_HOLDOUT:
            if (strcmp(optarg, "last") == 0)
                f->holdout = H_LAST;
            else if (strcmp(optarg, "time") == 0)
                f->holdout = H_TIME;
            else
                die_usage("--holdout: expected last or time, got \"%s\"", optarg);
            int_opt = true;
            break;
        case O_HOLDOUT_OUT: f->holdout_out = optarg; int_opt = true; break;
        case O_CAMPAIGN:
            f->campaign = cli_int("--campaign", optarg, INT64_MIN, INT64_MAX);
            f->one_campaign = ex_opt = true;
            break;
        case O_CAMPAIGN_DAYS:
            f->campaign_days = days_opt("--campaign-days", optarg, true);
            ex_opt = true;
            break;
        case O_FIT_STATS: f->fit_path = optarg; break;
        case O_SCALING:
            if (strcmp(optarg, "standard") == 0)
                f->method = SC_STANDARD;
            else if (strcmp(optarg, "robust") == 0)
                f->method = SC_ROBUST;
            else
                die_usage("--scaling: expected standard or robust, got \"%s\"", optarg);
            scaling_given = true;
            break;
        case O_STATS: f->stats_path = optarg; break;
        default:
            if (!cli_common(&f->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if ((int)f->view < 0)
        die_usage("--view is required (users, sequences, interactions or examples)");
    if (!f->asof_given)
        die_usage("--asof is required: features use the events before it");
    const char *v = view_names[f->view];
    if (seq_opt && f->view != V_SEQUENCES)
        die_usage("--length, --item-buckets and --category-buckets apply to --view sequences, not %s", v);
    if (int_opt && f->view != V_INTERACTIONS)
        die_usage("--weights, --half-life, --holdout and --holdout-out apply to --view interactions, not %s", v);
    if (ex_opt && f->view != V_EXAMPLES)
        die_usage("--campaign and --campaign-days apply to --view examples, not %s", v);
    bool tabular = f->view == V_USERS || f->view == V_EXAMPLES;
    if (f->ncats && !tabular)
        die_usage("--categories applies to --view users and examples, not %s", v);
    if ((f->fit_path || f->stats_path) && !tabular)
        die_usage("--fit-stats and --stats apply to --view users and examples, not %s", v);
    if (f->fit_path && f->stats_path)
        die_usage("--fit-stats and --stats cannot be used together: fit on training rows, then apply");
    if (scaling_given && !f->fit_path)
        die_usage("--scaling is used only with --fit-stats");
    if (f->holdout != H_NONE && !f->holdout_out)
        die_usage("--holdout needs --holdout-out FILE");
    if (f->holdout_out && f->holdout == H_NONE)
        die_usage("--holdout-out is used only with --holdout");
    if (f->holdout_out && f->cli.out && strcmp(f->holdout_out, f->cli.out) == 0)
        die_usage("--holdout-out and --output name the same file");
    if (f->holdout_out && strcmp(f->holdout_out, "-") == 0 && !f->cli.out)
        die_usage("--holdout-out and the output cannot both be stdout");
    if (f->view == V_INTERACTIONS)
        parse_weights(f, f->weights_text);
    f->paths = (const char *const *)argv + optind;
    f->npaths = argc - optind;
}

/* ---- output -------------------------------------------------------------- */

static void pack_id(msgpack_packer *pk, const struct ev_id *id)
{
    if (id->t == EV_INT)
        msgpack_pack_int64(pk, id->i);
    else
        mp_pack_strn(pk, id->s, id->n);
}

static void pack_i32s(msgpack_packer *pk, const int32_t *v, int n)
{
    msgpack_pack_array(pk, (size_t)n);
    for (int i = 0; i < n; i++)
        msgpack_pack_int32(pk, v[i]);
}

/* The features of the user as of t into f->x, scaled or fitted; false if cold. */
static bool user_features(struct feat *f, int64_t t)
{
    if (!ft_features(&f->u, t, &f->fp, f->x))
        return false;
    if (f->fit)
        sc_fit_add(f->fit, f->x);
    if (f->scale)
        sc_apply(&f->stats, f->x);
    return true;
}

static void pack_features(struct feat *f, msgpack_packer *pk)
{
    for (int i = 0; i < f->nfeat; i++) {
        mp_pack_str(pk, f->names[i]);
        msgpack_pack_double(pk, f->x[i]);
    }
}

/* The label window's outcome: "label" (purchased in [asof, asof +
 * --label-days)) and "revenue". */
static void pack_labels(struct feat *f, msgpack_packer *pk)
{
    int label;
    double revenue;
    ft_outcome(&f->u, f->asof, f->asof + (int64_t)llround(f->label_days * 86400), &label, &revenue);
    mp_pack_str(pk, "label");
    msgpack_pack_int32(pk, label);
    mp_pack_str(pk, "revenue");
    msgpack_pack_double(pk, revenue);
}

static void write_users(struct feat *f)
{
    if (!user_features(f, f->asof)) {
        f->cold++;
        return;
    }
    struct ev_id id;
    ft_user_id(&f->u, &id);
    msgpack_packer *pk = ws_pk(f->out);
    msgpack_pack_map(pk, 1 + (size_t)f->nfeat + (f->labels ? 2 : 0));
    mp_pack_str(pk, "user");
    pack_id(pk, &id);
    pack_features(f, pk);
    if (f->labels)
        pack_labels(f, pk);
    ws_end(f->out);
    f->rows++;
}

static void write_sequences(struct feat *f)
{
    if (!ft_sequence(&f->u, f->asof, f->L, f->item_buckets, f->cat_buckets, &f->seq)) {
        f->cold++;
        return;
    }
    struct ev_id id;
    ft_user_id(&f->u, &id);
    msgpack_packer *pk = ws_pk(f->out);
    msgpack_pack_map(pk, 7 + (f->labels ? 2 : 0));
    mp_pack_str(pk, "user");
    pack_id(pk, &id);
    mp_pack_str(pk, "ev");
    pack_i32s(pk, f->seq.ev, f->L);
    mp_pack_str(pk, "cat");
    pack_i32s(pk, f->seq.cat, f->L);
    mp_pack_str(pk, "price_b");
    pack_i32s(pk, f->seq.price_b, f->L);
    mp_pack_str(pk, "gap_b");
    pack_i32s(pk, f->seq.gap_b, f->L);
    mp_pack_str(pk, "item");
    pack_i32s(pk, f->seq.item, f->L);
    mp_pack_str(pk, "len");
    msgpack_pack_int32(pk, f->seq.len);
    if (f->labels)
        pack_labels(f, pk);
    ws_end(f->out);
    f->rows++;
}

static void write_pair(struct feat *f, ws *w, const struct ft_pair *p)
{
    struct ev_id id, item;
    ft_user_id(&f->u, &id);
    ft_item_id(&f->u, &f->u.ev[p->first], &item);
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, 3);
    mp_pack_str(pk, "user");
    pack_id(pk, &id);
    mp_pack_str(pk, "item");
    pack_id(pk, &item);
    mp_pack_str(pk, "weight");
    msgpack_pack_double(pk, p->weight);
    ws_end(w);
}

static void write_interactions(struct feat *f)
{
    size_t nb = ft_before(&f->u, f->asof);
    bool warm = false;
    for (size_t i = 0; i < nb && !warm; i++)
        warm = EV_BEHAVIOUR(f->u.ev[i].type);
    if (!warm) {
        f->cold++;
        return;
    }
    size_t n = ft_pairs(&f->u, INT64_MIN, f->asof, f->asof, f->w, f->half_life_days * 86400, &f->pairs,
                        &f->pcap);
    /* --holdout last: the item of the last purchase before T. */
    struct ev_id last;
    bool has_last = false;
    if (f->holdout == H_LAST)
        for (size_t i = nb; i-- > 0 && !has_last;)
            if (f->u.ev[i].type == EV_PURCHASE) {
                ft_item_id(&f->u, &f->u.ev[i], &last);
                has_last = true;
            }
    for (size_t i = 0; i < n; i++) {
        struct ev_id item;
        ft_item_id(&f->u, &f->u.ev[f->pairs[i].first], &item);
        if (has_last && ev_id_eq(&item, &last)) {
            write_pair(f, f->hold, &f->pairs[i]);
            f->held_rows++;
        } else {
            write_pair(f, f->out, &f->pairs[i]);
            f->rows++;
        }
    }
    if (f->holdout == H_TIME) {
        int64_t end = f->asof + (int64_t)llround(f->label_days * 86400);
        n = ft_pairs(&f->u, f->asof, end, f->asof, f->w, 0, &f->pairs, &f->pcap);
        for (size_t i = 0; i < n; i++)
            write_pair(f, f->hold, &f->pairs[i]);
        f->held_rows += n;
    }
}

static void write_examples(struct feat *f)
{
    size_t nb = ft_before(&f->u, f->asof);
    size_t nseen = 0;
    int64_t secs = (int64_t)llround(f->campaign_days * 86400);
    for (size_t i = 0; i < nb; i++) {
        const struct ft_ev *e = &f->u.ev[i];
        if ((e->type != EV_TREAT && e->type != EV_CONTROL) || !e->has_campaign)
            continue;
        if (f->one_campaign && e->campaign != f->campaign)
            continue;
        bool seen = false;
        for (size_t k = 0; k < nseen && !seen; k++)
            seen = f->seen[k] == e->campaign;
        if (seen) {
            f->repeats++;
            continue;
        }
        if (nseen < MAX_CAMPAIGNS_PER_USER)
            f->seen[nseen++] = e->campaign;
        f->members++;
        int64_t t0 = e->ts, end = t0 + secs;
        if (end > f->asof) {
            f->incomplete++;
            continue;
        }
        /* Copies: the event array is not changed by computing features. */
        int64_t campaign = e->campaign;
        char treatment[64];
        if (e->type == EV_TREAT)
            snprintf(treatment, sizeof treatment, "%.*s", (int)e->offer_n, f->u.arena + e->offer_off);
        else
            snprintf(treatment, sizeof treatment, "control");
        if (!user_features(f, t0)) {
            f->cold++;
            continue;
        }
        int converted;
        double revenue;
        ft_outcome(&f->u, t0, end, &converted, &revenue);
        struct ev_id id;
        ft_user_id(&f->u, &id);
        msgpack_packer *pk = ws_pk(f->out);
        msgpack_pack_map(pk, 5 + (size_t)f->nfeat);
        mp_pack_str(pk, "user");
        pack_id(pk, &id);
        mp_pack_str(pk, "campaign");
        msgpack_pack_int64(pk, campaign);
        mp_pack_str(pk, "treatment");
        mp_pack_str(pk, treatment);
        pack_features(f, pk);
        mp_pack_str(pk, "converted");
        msgpack_pack_int32(pk, converted);
        mp_pack_str(pk, "revenue");
        msgpack_pack_double(pk, revenue);
        ws_end(f->out);
        f->rows++;
    }
}

static void end_user(struct feat *f)
{
    if (!f->have_user)
        return;
    f->users++;
    switch (f->view) {
    case V_USERS: write_users(f); break;
    case V_SEQUENCES: write_sequences(f); break;
    case V_INTERACTIONS: write_interactions(f); break;
    case V_EXAMPLES: write_examples(f); break;
    }
    f->have_user = false;
}

/* ---- reading -------------------------------------------------------------- */

static _Noreturn void unsorted(struct feat *f, const char *what)
{
    rs_die(f->in, "%s: the input is not sorted by user and time; run promo-clean first", what);
}

static void featurize_record(struct feat *f)
{
    size_t len;
    const char *raw = rs_raw(f->in, &len);
    const char *why;
    char msg[512];
    if (!ev_walk_fields(&f->walk, raw, len, &why))
        rs_die(f->in, "%s", why);
    if (!ev_read(&f->walk.raw, &f->e, msg, sizeof msg))
        rs_die(f->in, "%s", msg);
    prog_tick(&f->prog, rs_count(f->in));
    if (f->have_user) {
        struct ev_id cur;
        ft_user_id(&f->u, &cur);
        int c = ev_id_cmp(&cur, &f->e.user);
        if (c > 0)
            unsorted(f, "field \"user\"");
        if (c == 0 && f->e.ts < f->prev_ts)
            unsorted(f, "field \"ts\"");
        if (c < 0)
            end_user(f);
    }
    if (!f->have_user) {
        ft_user_start(&f->u, &f->e.user);
        f->have_user = true;
    }
    ft_user_add(&f->u, &f->e);
    f->prev_ts = f->e.ts;
}

/* ---- main ------------------------------------------------------------------ */

static const msgpack_object *header_opt(rs *r, const char *key)
{
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    return opts ? mp_map_get(opts, key) : NULL;
}

static void check_input(struct feat *f)
{
    const msgpack_object *s = header_opt(f->in, "sorted");
    if (!s || !mp_str_eq(s, "user,ts"))
        die("%s: header: the input is not sorted by user and time (its header has no \"sorted\": "
            "\"user,ts\"); run promo-clean first", rs_file(f->in));
    if (f->labels_mode != L_AUTO) {
        f->labels = f->labels_mode == L_YES;
        return;
    }
    /* auto: the log reaches T when it was cut at or after T, or has events there. */
    const msgpack_object *until = header_opt(f->in, "until"), *max = header_opt(f->in, "ts_max");
    int64_t end = INT64_MIN;
    if (until && (until->type == MSGPACK_OBJECT_POSITIVE_INTEGER || until->type == MSGPACK_OBJECT_NEGATIVE_INTEGER))
        end = until->via.i64;
    else if (max && (max->type == MSGPACK_OBJECT_POSITIVE_INTEGER || max->type == MSGPACK_OBJECT_NEGATIVE_INTEGER))
        end = max->via.i64 + 1;
    f->labels = end > f->asof;
}

static void setup_features(struct feat *f)
{
    f->nfeat = FT_NFIXED + f->ncats;
    f->names = xcalloc((size_t)f->nfeat + 1, sizeof *f->names);
    for (int i = 0; i < FT_NFIXED; i++)
        f->names[i] = xstrdup(ft_feature_names[i]);
    f->cat_h = xcalloc((size_t)f->ncats + 1, sizeof *f->cat_h);
    for (int i = 0; i < f->ncats; i++) {
        size_t n = strlen(f->cats[i]) + 16;
        f->names[FT_NFIXED + i] = xmalloc(n);
        snprintf(f->names[FT_NFIXED + i], n, "cat_%s_share", f->cats[i]);
        /* A category given as a canonical integer matches integer ids. */
        struct ev_id id = {.t = EV_STR, .s = f->cats[i], .n = (uint32_t)strlen(f->cats[i])};
        if (num_parse_i64(f->cats[i], strlen(f->cats[i]), &id.i))
            id.t = EV_INT;
        f->cat_h[i] = ft_id_hash(&id);
        for (int k = 0; k < i; k++)
            if (f->cat_h[k] == f->cat_h[i])
                die_usage("--categories: \"%s\" is given twice", f->cats[i]);
    }
    f->fp.offer_secs = (int64_t)llround(f->offer_days * 86400);
    f->fp.ncats = f->ncats;
    f->fp.cat_h = f->cat_h;
    f->x = xcalloc((size_t)f->nfeat + 1, sizeof *f->x);
    if (f->fit_path)
        f->fit = sc_fit_new(f->nfeat, (const char *const *)f->names, f->method, f->cli.seed);
    if (f->stats_path) {
        sc_load(&f->stats, f->stats_path);
        sc_match(&f->stats, f->stats_path, f->nfeat, (const char *const *)f->names);
        f->scale = true;
    }
}

static char *join(char **v, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *s = xmalloc(len), *p = s;
    *p = '\0';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s", i ? "," : "", v[i]);
    return s;
}

static void write_header(struct feat *f, ws *w, bool holdout)
{
    ws_opt_str(w, "view", view_names[f->view]);
    ws_opt_int(w, "asof", f->asof);
    ws_opt_bool(w, "labels", f->labels);
    ws_opt_f64(w, "label_days", f->label_days);
    switch (f->view) {
    case V_USERS:
    case V_EXAMPLES: {
        char *names = join(f->names, f->nfeat);
        ws_opt_str(w, "features", names);
        free(names);
        ws_opt_f64(w, "offer_days", f->offer_days);
        ws_opt_str(w, "scaled", f->stats_path ? f->stats_path : "");
        if (f->view == V_EXAMPLES) {
            ws_opt_f64(w, "campaign_days", f->campaign_days);
            if (f->one_campaign)
                ws_opt_int(w, "campaign", f->campaign);
        }
        break;
    }
    case V_SEQUENCES: {
        ws_opt_int(w, "length", f->L);
        ws_opt_str(w, "ev_vocab", FT_EV_VOCAB);
        ws_opt_int(w, "ev_size", 6);
        ws_opt_str(w, "price_b_bounds", "1,2,4,8,16,32,64,128,256,512,1024,2048,4096,8192");
        ws_opt_int(w, "price_b_size", 2 + FT_NPRICE_BOUNDS + 1);
        ws_opt_str(w, "gap_b_bounds", "60,300,1800,7200,86400,259200,604800,2592000");
        ws_opt_int(w, "gap_b_size", 2 + FT_NGAP_BOUNDS + 1);
        ws_opt_str(w, "id_hash", "siphash-2-4 of the id's text, public key 00..0f; token 2 + hash mod (size - 2)");
        ws_opt_int(w, "item_size", f->item_buckets);
        ws_opt_int(w, "cat_size", f->cat_buckets);
        break;
    }
    case V_INTERACTIONS: {
        char wt[200];
        snprintf(wt, sizeof wt, "view=%g,wish=%g,cart=%g,purchase=%g", f->w[EV_VIEW], f->w[EV_WISH],
                 f->w[EV_CART], f->w[EV_PURCHASE]);
        ws_opt_str(w, "weights", wt);
        ws_opt_f64(w, "half_life", f->half_life_days);
        ws_opt_str(w, "holdout", holdout_names[f->holdout]);
        ws_opt_str(w, "part", holdout ? "holdout" : "train");
        break;
    }
    }
    ws_header(w, view_names[f->view]);
}

static void summary(const struct feat *f)
{
    char t[32];
    ev_fmt_time(f->asof, t);
    if (f->view == V_EXAMPLES) {
        info("%llu user%s, %llu campaign memberships: %llu examples; %llu cold (no behaviour before the "
             "campaign), %llu whose window ends after %s", (unsigned long long)f->users, f->users == 1 ? "" : "s",
             (unsigned long long)f->members, (unsigned long long)f->rows, (unsigned long long)f->cold,
             (unsigned long long)f->incomplete, t);
        return;
    }
    info("%llu user%s: %llu %s, %llu cold (no behaviour before %s)%s", (unsigned long long)f->users,
         f->users == 1 ? "" : "s", (unsigned long long)f->rows,
         f->view == V_INTERACTIONS ? (f->rows == 1 ? "pair" : "pairs") : (f->rows == 1 ? "row" : "rows"),
         (unsigned long long)f->cold, t, f->labels ? "" : "; no labels");
    if (f->hold)
        info("holdout: %llu pairs in %s", (unsigned long long)f->held_rows, f->holdout_out);
}

int main(int argc, char **argv)
{
    struct feat f;
    parse_options(&f, argc, argv);
    if (f.view == V_USERS || f.view == V_EXAMPLES)
        setup_features(&f);
    f.in = rs_open(f.paths, f.npaths, "events");
    rs_set_measure(f.in, ev_measure_next, &f.walk);
    check_input(&f);
    f.out = ws_open(f.cli.out, f.cli.level);
    write_header(&f, f.out, false);
    if (f.holdout_out) {
        f.hold = ws_open(f.holdout_out, f.cli.level);
        write_header(&f, f.hold, true);
    }
    if (f.fit_path)
        f.fitw = ws_open(f.fit_path, f.cli.level);
    ft_user_init(&f.u);
    f.seqbuf = xcalloc(5 * (size_t)f.L + 1, sizeof *f.seqbuf);
    f.seq.ev = f.seqbuf;
    f.seq.cat = f.seqbuf + f.L;
    f.seq.price_b = f.seqbuf + 2 * f.L;
    f.seq.gap_b = f.seqbuf + 3 * f.L;
    f.seq.item = f.seqbuf + 4 * f.L;
    f.seen = xcalloc(MAX_CAMPAIGNS_PER_USER, sizeof *f.seen);
    prog_init(&f.prog, "events", f.cli.progress);

    while (rs_next(f.in))
        featurize_record(&f);
    end_user(&f);

    prog_done(&f.prog);
    ws_close(f.out);
    if (f.hold)
        ws_close(f.hold);
    if (f.fit)
        sc_fit_write(f.fit, f.fitw, view_names[f.view]);
    summary(&f);

    rs_free(f.in);
    ft_user_release(&f.u);
    sc_fit_free(f.fit);
    sc_release(&f.stats);
    for (int i = 0; i < f.nfeat; i++)
        free(f.names[i]);
    free(f.names);
    free(f.x);
    free(f.cat_h);
    free(f.cats);
    free(f.seqbuf);
    free(f.pairs);
    free(f.seen);
    return EXIT_OK;
}
