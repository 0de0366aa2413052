/* promo-dtree: train classification, regression and uplift trees and
 * forests; print a model as rules, SQL or Graphviz.
 *
 * Training holds the input: its fields are copied into one table (8 bytes
 * a value), binned into one byte a value, and the table is freed before the
 * trees grow (exact mode keeps the numeric values).  The model math lives
 * in common/dtree*.c, shared with promo-score.
 *
 * Under mpirun (make MPI=1) each rank loads its block of the FILEs, the
 * columns and their types are agreed on, and the bins, levels, classes,
 * node totals and histograms are combined across the ranks
 * (common/dtree_bin.c, common/dtree_fit.c): every rank grows the same
 * trees, those of one process on the concatenated FILEs, and rank 0 writes
 * the model (docs/scale.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "dist.h"
#include "dtree.h"
#include "outfile.h"
#include "progress.h"
#include "rec.h"
#include "rng.h"
#include "stream.h"
#include "table.h"
#include "xalloc.h"

static const char help[] =
"promo-dtree: train decision trees, uplift trees and forests; print them as rules\n"
"\n"
"Usage: promo-dtree --label F [OPTIONS] [FILE...]\n"
"       promo-dtree --treatment F --outcome F [OPTIONS] [FILE...]\n"
"       promo-dtree -m MODEL --rules | --export sql|dot\n"
"\n"
"Options:\n"
"  --label F          the field to predict\n"
"  --task T           classification or regression  [default: classification for\n"
"                     strings, booleans and 0/1 labels, else regression]\n"
"  --treatment F      uplift: the field naming each row's arm (an offer or the control)\n"
"  --control V        uplift: the treatment value of the control arm  [default: control]\n"
"  --stratum F        uplift: compare each offer with the control within each value of F\n"
"                     (a campaign, say) and average the differences\n"
"  --outcome F        uplift: the response, 0/1 or a number such as revenue\n"
"  --fields A,B       the features  [default: every number, boolean and string field\n"
"                     of the first record but the label, treatment, outcome, weight, stratum]\n"
"  --exclude A,B      leave these fields out of the default features\n"
"  --criterion C      gini, entropy; mse (regression); kl, ed, chi (uplift)\n"
"                     [default: gini, mse, kl (ed for a numeric outcome)]\n"
"  --alpha A          uplift, several offers: weight of offer-vs-control against\n"
"                     offer-vs-offer divergence  [default: 0.5]\n"
"  --max-depth N      levels of splits below the root  [default: 8]\n"
"  --min-leaf N       rows in each child; uplift: in each arm of each child\n"
"                     [default: 1; uplift 10]\n"
"  --min-gain G       smallest gain of a split, as a share of the root's weight  [default: 0]\n"
"  --bins N           quantile bins per numeric feature, 2 to 255  [default: 255]\n"
"  --exact            numeric splits between any two distinct values (slower)\n"
"  --cat-split S      ordered: levels grouped in the order of their label rate (or\n"
"                     mean, or uplift); single: one level against the rest\n"
"                     [default: ordered]\n"
"  --class-weight W   balanced: weight classes inversely to their frequency  [default: none]\n"
"  --weight F         row weights from field F  [default: none]\n"
"  --valid FILE       prune by cost complexity against this validation set\n"
"  --valid-frac F     prune against this share of the input, held out  [default: none]\n"
"  --honest           estimate leaf values on a random half of the rows the\n"
"                     splits were not chosen on\n"
"  --trees N          a forest of N trees, averaged when scoring  [default: 1]\n"
"  --sample-frac F    forests: bootstrap draws per tree, a share of the rows  [default: 1]\n"
"  --max-features K   features tried per split: a number, sqrt or all\n"
"                     [default: sqrt for forests, all for one tree]\n"
"  --threads N        threads growing a forest's trees  [default: the CPUs]\n"
"  -m, --model F      read this model instead of training one\n"
"  --rules            print the tree as if / else-if rules with counts, and the\n"
"                     feature importance\n"
"  --export FMT       print the model as sql (a CASE expression per output) or dot\n"
"  --seed S           random seed  [default: 1]\n"
"  -o, --output F     write the model to F, atomically  [default: stdout, but\n"
"                     not written with --rules or --export]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors\n"
"  --progress         report progress on stderr\n"
"  --help             show this help\n"
"  --version          show the version\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-dtree --label converted --max-depth 4 --rules examples.mpz\n";

enum {
    O_LABEL = CLI_FIRST_FREE, O_TASK, O_TREATMENT, O_CONTROL, O_OUTCOME, O_FIELDS, O_EXCLUDE,
    O_CRITERION, O_ALPHA, O_MAXDEPTH, O_MINLEAF, O_MINGAIN, O_BINS, O_EXACT, O_CLASSWEIGHT,
    O_WEIGHT, O_VALID, O_VALIDFRAC, O_HONEST, O_TREES, O_SAMPLEFRAC, O_MAXFEAT, O_THREADS,
    O_RULES, O_EXPORT, O_CATSPLIT, O_STRATUM
};

struct run {
    struct cli cli;
    struct dt_params p;
    const char *label, *treatment, *control, *outcome, *weight, *stratum, *model, *valid;
    const char *task_arg, *crit_arg, *maxfeat_arg, *fields_arg, *exclude_arg;
    char **fields, **exclude;
    int nfields, nexclude;
    bool min_leaf_given, rules;
    const char *export;
    double valid_frac;
    const char *const *inputs;
    int ninputs;
};

/* ---- options ------------------------------------------------------------ */

static int parse_crit(const char *s)
{
    for (int c = 0; c < 6; c++)
        if (strcmp(s, dt_crit_names[c]) == 0)
            return c;
    die_usage("--criterion: expected gini, entropy, mse, kl, ed or chi, got \"%s\"", s);
}

static void parse_options(struct run *u, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"label", required_argument, 0, O_LABEL},
        {"task", required_argument, 0, O_TASK},
        {"treatment", required_argument, 0, O_TREATMENT},
        {"stratum", required_argument, 0, O_STRATUM},
        {"control", required_argument, 0, O_CONTROL},
        {"outcome", required_argument, 0, O_OUTCOME},
        {"fields", required_argument, 0, O_FIELDS},
        {"exclude", required_argument, 0, O_EXCLUDE},
        {"criterion", required_argument, 0, O_CRITERION},
        {"alpha", required_argument, 0, O_ALPHA},
        {"max-depth", required_argument, 0, O_MAXDEPTH},
        {"min-leaf", required_argument, 0, O_MINLEAF},
        {"min-gain", required_argument, 0, O_MINGAIN},
        {"bins", required_argument, 0, O_BINS},
        {"exact", no_argument, 0, O_EXACT},
        {"cat-split", required_argument, 0, O_CATSPLIT},
        {"class-weight", required_argument, 0, O_CLASSWEIGHT},
        {"weight", required_argument, 0, O_WEIGHT},
        {"valid", required_argument, 0, O_VALID},
        {"valid-frac", required_argument, 0, O_VALIDFRAC},
        {"honest", no_argument, 0, O_HONEST},
        {"trees", required_argument, 0, O_TREES},
        {"sample-frac", required_argument, 0, O_SAMPLEFRAC},
        {"max-features", required_argument, 0, O_MAXFEAT},
        {"threads", required_argument, 0, O_THREADS},
        {"model", required_argument, 0, 'm'},
        {"rules", no_argument, 0, O_RULES},
        {"export", required_argument, 0, O_EXPORT},
        {0, 0, 0, 0},
    };
    struct dt_params *p = &u->p;
    dt_params_init(p);
    u->cli.seed = 1;
    u->control = "control";
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    p->threads = cpus > 0 ? (int)(cpus < 256 ? cpus : 256) : 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:qm:", longopts, NULL)) != -1) {
        switch (opt) {
        case O_LABEL: u->label = optarg; break;
        case O_TASK:
            if (strcmp(optarg, "classification") && strcmp(optarg, "regression"))
                die_usage("--task: expected classification or regression, got \"%s\"", optarg);
            u->task_arg = optarg;
            break;
        case O_TREATMENT: u->treatment = optarg; break;
        case O_STRATUM: u->stratum = optarg; break;
        case O_CONTROL: u->control = optarg; break;
        case O_OUTCOME: u->outcome = optarg; break;
        case O_FIELDS: u->fields_arg = optarg; u->fields = cli_list(optarg, &u->nfields); break;
        case O_EXCLUDE: u->exclude_arg = optarg; u->exclude = cli_list(optarg, &u->nexclude); break;
        case O_CRITERION: u->crit_arg = optarg; p->crit = (enum dt_crit)parse_crit(optarg); break;
        case O_ALPHA: p->alpha = cli_f64("--alpha", optarg, 0, 1); break;
        case O_MAXDEPTH: p->max_depth = (int)cli_int("--max-depth", optarg, 1, 64); break;
        case O_MINLEAF:
            p->min_leaf = (double)cli_int("--min-leaf", optarg, 1, 1000000000);
            u->min_leaf_given = true;
            break;
        case O_MINGAIN: p->min_gain = cli_f64("--min-gain", optarg, 0, 1e300); break;
        case O_BINS: p->bins = (int)cli_int("--bins", optarg, 2, DT_MAX_BINS); break;
        case O_EXACT: p->exact = true; break;
        case O_CATSPLIT:
            if (strcmp(optarg, "ordered") && strcmp(optarg, "single"))
                die_usage("--cat-split: expected ordered or single, got \"%s\"", optarg);
            p->cat_single = strcmp(optarg, "single") == 0;
            break;
        case O_CLASSWEIGHT:
            if (strcmp(optarg, "balanced") != 0)
                die_usage("--class-weight: expected balanced, got \"%s\"", optarg);
            p->balanced = true;
            break;
        case O_WEIGHT: u->weight = optarg; break;
        case O_VALID: u->valid = optarg; break;
        case O_VALIDFRAC: u->valid_frac = cli_f64("--valid-frac", optarg, 0.01, 0.9); break;
        case O_HONEST: p->honest = true; break;
        case O_TREES: p->trees = (int)cli_int("--trees", optarg, 1, 100000); break;
        case O_SAMPLEFRAC: p->sample_frac = cli_f64("--sample-frac", optarg, 0.01, 10); break;
        case O_MAXFEAT:
            if (strcmp(optarg, "sqrt") != 0 && strcmp(optarg, "all") != 0)
                cli_int("--max-features", optarg, 1, 1000000);   /* checked now, used later */
            u->maxfeat_arg = optarg;
            break;
        case O_THREADS: p->threads = (int)cli_int("--threads", optarg, 1, 256); break;
        case 'm': u->model = optarg; break;
        case O_RULES: u->rules = true; break;
        case O_EXPORT:
            if (strcmp(optarg, "sql") && strcmp(optarg, "dot"))
                die_usage("--export: expected sql or dot, got \"%s\"", optarg);
            u->export = optarg;
            break;
        default:
            if (!cli_common(&u->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    p->seed = u->cli.seed;
    u->inputs = (const char *const *)argv + optind;
    u->ninputs = argc - optind;
}

/* What a job of several ranks does not do: the options that draw per row
 * of one process's input, exact splits (every node's values sorted), and
 * the model to stdout. */
static void check_ranks_options(const struct run *u)
{
    const char *why = u->p.exact ? "--exact"
                    : u->p.honest ? "--honest"
                    : u->valid_frac > 0 ? "--valid-frac (use --valid FILE)" : NULL;
    if (why)
        die_usage("%s does not train across ranks: run it without mpirun", why);
    /* mpirun hands the ranks' stdout to a terminal of its own */
    if ((!u->rules && !u->export && !u->cli.out) || (u->cli.out && strcmp(u->cli.out, "-") == 0))
        die_usage("under mpirun the model is written with -o FILE, not to stdout");
}

static void validate(struct run *u)
{
    struct dt_params *p = &u->p;
    if (u->rules && u->export)
        die_usage("--rules and --export: choose one");
    if (u->model) {
        if (!u->rules && !u->export)
            die_usage("-m MODEL needs --rules or --export");
        if (u->label || u->treatment || u->outcome || u->ninputs)
            die_usage("-m MODEL prints a model; it takes no training options or FILEs");
        if (u->cli.out)
            die_usage("-m MODEL prints to stdout; -o names the model a training writes");
        return;
    }
    bool uplift = u->treatment || u->outcome;
    if (uplift && (!u->treatment || !u->outcome))
        die_usage("an uplift tree needs both --treatment and --outcome");
    if (uplift && u->label)
        die_usage("--label or --treatment/--outcome: "
                  "a tree predicts a label or an uplift, not both");
    if (!uplift && !u->label)
        die_usage("nothing to learn: give --label F, or --treatment F --outcome F");
    if (uplift && u->task_arg)
        die_usage("--task applies to --label (an uplift tree is its own task)");
    if (u->stratum && !uplift)
        die_usage("--stratum applies to uplift trees (--treatment, --outcome)");
    if (u->crit_arg) {
        bool upcrit = p->crit == DT_KL || p->crit == DT_ED || p->crit == DT_CHI;
        if (uplift != upcrit)
            die_usage("--criterion %s: %s", u->crit_arg,
                      uplift ? "an uplift tree takes kl, ed or chi"
                             : "a tree with --label takes gini, entropy or mse");
    }
    if (p->balanced && uplift)
        die_usage("--class-weight applies to classification");
    if ((u->valid || u->valid_frac > 0) && p->trees > 1)
        die_usage("--valid and --valid-frac prune a single tree, not a forest");
    if (u->valid && u->valid_frac > 0)
        die_usage("--valid or --valid-frac: choose one");
    if (uplift && !u->min_leaf_given)
        p->min_leaf = 10;
    if (u->fields && u->exclude)
        die_usage("--fields or --exclude: choose one");
    for (int i = 0; i < u->nfields; i++)
        if (!*u->fields[i])
            die_usage("--fields: empty field name in \"%s\"", u->fields_arg);
    if (dist_size() > 1)
        check_ranks_options(u);
    u->inputs = dist_inputs(u->inputs, u->ninputs, &u->ninputs);
}

/* ---- loading ------------------------------------------------------------ */

static bool listed(char *const *list, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* The fields that are targets, not features, and what each is. */
enum { NTARGETS = 5 };
static const char *const target_what[NTARGETS] = {
    "the label", "the treatment", "the outcome", "the weight", "the stratum",
};
static void targets(const struct run *u, const char *t[NTARGETS])
{
    t[0] = u->label;
    t[1] = u->treatment;
    t[2] = u->outcome;
    t[3] = u->weight;
    t[4] = u->stratum;
}

static bool is_target(const struct run *u, const char *s)
{
    const char *t[NTARGETS];
    targets(u, t);
    for (size_t i = 0; i < NTARGETS; i++)
        if (t[i] && strcmp(s, t[i]) == 0)
            return true;
    return false;
}

/* The columns to load: targets first, then the features. */
static char **columns(const struct run *u, rs *r, size_t *ncols, size_t *ntargets)
{
    size_t cap = 8 + (size_t)u->nfields;
    const msgpack_object *rec = rs_rec(r);
    cap += rec->via.map.size;
    char **names = xcalloc(cap, sizeof *names);
    size_t n = 0;
    const char *t[NTARGETS];
    targets(u, t);
    for (size_t i = 0; i < NTARGETS; i++)
        if (t[i])
            names[n++] = xstrdup(t[i]);
    *ntargets = n;
    if (u->fields) {
        for (int i = 0; i < u->nfields; i++) {
            if (is_target(u, u->fields[i]))
                die_usage("--fields: \"%s\" is the label, treatment, outcome, weight or stratum",
                          u->fields[i]);
            for (size_t k = *ntargets; k < n; k++)
                if (strcmp(names[k], u->fields[i]) == 0)
                    die_usage("--fields: \"%s\" is given twice", u->fields[i]);
            names[n++] = xstrdup(u->fields[i]);
        }
    } else {
        for (uint32_t i = 0; i < rec->via.map.size; i++) {
            const msgpack_object *k = &rec->via.map.ptr[i].key, *v = &rec->via.map.ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
            bool scalar = v->type == MSGPACK_OBJECT_NIL || v->type == MSGPACK_OBJECT_BOOLEAN ||
                          v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
                          v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
                          v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64 ||
                          v->type == MSGPACK_OBJECT_STR;
            char *name = xstrndup(k->via.str.ptr, k->via.str.size);
            if (!scalar || is_target(u, name) || listed(u->exclude, u->nexclude, name)) {
                free(name);
                continue;
            }
            names[n++] = name;
        }
        for (int i = 0; i < u->nexclude; i++)
            if (!mp_map_get(rec, u->exclude[i]))
                die("%s: --exclude: no field \"%s\" in the first record", rs_file(r),
                    u->exclude[i]);
    }
    if (n == *ntargets)
        die("%s: no features: the first record has no number or string fields but the targets",
            rs_file(r));
    *ncols = n;
    return names;
}

/* Every record must carry the targets. */
static void check_targets(const struct run *u, rs *r)
{
    const char *t[NTARGETS];
    targets(u, t);
    for (size_t i = 0; i < NTARGETS; i++)
        if (t[i] && !rec_field(r, t[i]))
            rs_die(r, "field \"%s\": missing (%s)", t[i], target_what[i]);
}

/* Several ranks: the columns come from the first record of the first rank
 * that has one (the first record of the concatenated FILEs), sent to every
 * rank as NUL-terminated names; a rank may have no records. */
static char **columns_ranks(const struct run *u, rs *r, bool have, size_t *ncols,
                            size_t *ntargets)
{
    int P = dist_size(), root = -1;
    int64_t *has = xcalloc((size_t)P, sizeof *has);
    has[dist_rank()] = have;
    dist_sum_i64(has, (size_t)P);
    for (int k = 0; k < P && root < 0; k++)
        if (has[k])
            root = k;
    free(has);
    if (root < 0)
        die("%s: no records to learn from (on any rank)", rs_file(r));
    char **names = NULL;
    int64_t hdr[2] = {0, 0};   /* bytes, then the target columns */
    char *buf = NULL;
    if (dist_rank() == root) {
        names = columns(u, r, ncols, ntargets);
        for (size_t i = 0; i < *ncols; i++)
            hdr[0] += (int64_t)strlen(names[i]) + 1;
        hdr[1] = (int64_t)*ntargets;
        buf = xmalloc((size_t)hdr[0]);
        for (size_t i = 0, o = 0; i < *ncols; i++) {
            memcpy(buf + o, names[i], strlen(names[i]) + 1);
            o += strlen(names[i]) + 1;
        }
    }
    dist_bcast(hdr, sizeof hdr, root);
    if (dist_rank() != root)
        buf = xmalloc((size_t)hdr[0]);
    dist_bcast(buf, (size_t)hdr[0], root);
    if (dist_rank() != root) {
        size_t n = 0;
        for (int64_t i = 0; i < hdr[0]; i++)
            n += buf[i] == 0;
        names = xcalloc(n + 1, sizeof *names);
        for (size_t i = 0, o = 0; i < n; i++) {
            names[i] = xstrdup(buf + o);
            o += strlen(buf + o) + 1;
        }
        *ncols = n;
        *ntargets = (size_t)hdr[1];
    }
    free(buf);
    return names;
}

/* A rank without records: the table's columns as the names give them,
 * with no values (tbl_add lays them out from a first record). */
static void empty_columns(struct tbl *t)
{
    t->cols = xcalloc(t->nfields + 1, sizeof *t->cols);
    for (size_t i = 0; i < t->nfields; i++) {
        t->cols[i].name = xstrdup(t->fields[i].name);
        t->fields[i].first = i;
    }
    t->ncols = t->nfields;
}

/* Several ranks: a column's type is the one any rank saw (numbers or
 * strings); a column with no values on this rank takes it. */
static void agree_types(struct tbl *t, const char *where)
{
    size_t n = t->ncols;
    int64_t width[2] = {(int64_t)n, -(int64_t)n};   /* the most and the fewest columns */
    dist_max_i64(width, 2);
    if (width[0] != -width[1])
        die("%s: the fields make %zu columns here and %lld on another rank (arrays of "
            "another length?)", where, n, (long long)(width[0] == (int64_t)n ? -width[1] : width[0]));
    int64_t *seen = xcalloc(2 * n + 1, sizeof *seen);   /* [numbers, strings] per column */
    for (size_t c = 0; c < n; c++) {
        seen[2 * c] = t->cols[c].type == TBL_NUM;
        seen[2 * c + 1] = t->cols[c].type == TBL_CAT;
    }
    dist_max_i64(seen, 2 * n);
    for (size_t c = 0; c < n; c++) {
        struct tbl_col *col = &t->cols[c];
        if (seen[2 * c] && seen[2 * c + 1])
            die("%s: field \"%s\": numbers in some ranks' files and strings in others'", where,
                col->name);
        if (col->type == TBL_UNSET && seen[2 * c + 1]) {
            col->type = TBL_CAT;
            sm_init(&col->levels);
        } else if (col->type == TBL_UNSET && seen[2 * c]) {
            col->type = TBL_NUM;
        }
    }
    free(seen);
}

/* Read a stream of examples into t with the given columns (from its first
 * record when names is NULL). */
static char **load(const struct run *u, const char *const *paths, int npaths, struct tbl *t,
                   char **names, size_t *ncols, size_t *ntargets)
{
    rs *r = rs_open(paths, npaths, NULL);
    bool have = rs_next(r);
    if (!names && dist_size() > 1)
        names = columns_ranks(u, r, have, ncols, ntargets);
    else if (!have)
        die("%s: no records to learn from", rs_file(r));
    if (!names)
        names = columns(u, r, ncols, ntargets);
    tbl_init(t, names, *ncols);
    if (!have) {
        empty_columns(t);
        rs_free(r);
        return names;
    }
    struct progress prog;
    prog_init(&prog, "records", u->cli.progress);
    do {
        check_targets(u, r);
        tbl_add(t, r);
        prog_tick(&prog, t->nrows);
    } while (rs_next(r));
    prog_done(&prog);
    rs_free(r);
    return names;
}

/* ---- training ----------------------------------------------------------- */

static void decide_task(struct run *u, struct dt_model *m, const struct tbl *t, const char *where)
{
    struct dt_params *p = &u->p;
    if (u->treatment) {
        m->task = DT_UPLIFT;
        const struct tbl_col *o = &t->cols[tbl_col_index(t, u->outcome)];
        bool binary = o->type == TBL_NUM;
        for (size_t i = 0; binary && i < t->nrows; i++) {
            double y = t->x[i * t->ncols + tbl_col_index(t, u->outcome)];
            binary = y == 0 || y == 1;
        }
        int64_t other = !binary;   /* on any rank */
        dist_max_i64(&other, 1);
        binary = !other;
        if (!u->crit_arg)
            p->crit = binary ? DT_KL : DT_ED;
        else if (!binary && p->crit != DT_ED)
            die("%s: --criterion %s needs a 0/1 outcome; \"%s\" has other values (use ed)",
                where, u->crit_arg, u->outcome);
    } else {
        long lc = tbl_col_index(t, u->label);
        const struct tbl_col *c = &t->cols[lc];
        if (u->task_arg)
            m->task = strcmp(u->task_arg, "regression") == 0 ? DT_REGRESS : DT_CLASSIFY;
        else if (c->type == TBL_CAT)
            m->task = DT_CLASSIFY;
        else {
            int64_t other = 0;   /* a label other than 0 and 1, on any rank */
            for (size_t i = 0; i < t->nrows && !other; i++) {
                double y = t->x[i * t->ncols + lc];
                other = y != 0 && y != 1;
            }
            dist_max_i64(&other, 1);
            m->task = other ? DT_REGRESS : DT_CLASSIFY;
        }
        if (m->task == DT_REGRESS && c->type == TBL_CAT)
            die("%s: --task regression: the label \"%s\" holds strings", where, u->label);
        if (!u->crit_arg)
            p->crit = m->task == DT_REGRESS ? DT_MSE : DT_GINI;
        else if ((m->task == DT_REGRESS) != (p->crit == DT_MSE))
            die_usage("--criterion %s: a %s tree takes %s", u->crit_arg, dt_task_names[m->task],
                      m->task == DT_REGRESS ? "mse" : "gini or entropy");
    }
    if (p->balanced && m->task != DT_CLASSIFY)
        die_usage("--class-weight applies to classification");
    m->crit = p->crit;
    m->label = xstrdup(u->label ? u->label : u->outcome);
    m->treatment = u->treatment ? xstrdup(u->treatment) : NULL;
}

static struct dt_target_spec target_spec(const struct run *u, const struct tbl *t,
                                         const char *where)
{
    struct dt_target_spec s = {.label = -1, .treatment = -1, .outcome = -1, .weight = -1,
                              .stratum = -1, .control = u->control,
                              .balanced = u->p.balanced, .where = where};
    if (u->label)
        s.label = tbl_col_index(t, u->label);
    if (u->treatment) {
        s.treatment = tbl_col_index(t, u->treatment);
        s.outcome = tbl_col_index(t, u->outcome);
    }
    if (u->weight)
        s.weight = tbl_col_index(t, u->weight);
    if (u->stratum)
        s.stratum = tbl_col_index(t, u->stratum);
    return s;
}

static int max_features(const struct run *u, size_t nfeat)
{
    const char *a = u->maxfeat_arg;
    if (!a)
        a = u->p.trees > 1 ? "sqrt" : "all";
    if (strcmp(a, "all") == 0)
        return 0;
    if (strcmp(a, "sqrt") == 0) {
        int k = (int)floor(sqrt((double)nfeat));
        return k < 1 ? 1 : k;
    }
    long k = strtol(a, NULL, 10);
    return (size_t)k >= nfeat ? 0 : (int)k;
}

static void write_model(const struct run *u, const struct dt_model *m, char *const *names,
                        size_t ncols, size_t ntargets)
{
    const struct dt_params *p = &u->p;
    ws *w = ws_open(u->cli.out, u->cli.level);
    ws_opt_int(w, "model_version", DT_MODEL_VERSION);
    ws_opt_str(w, "task", dt_task_names[m->task]);
    ws_opt_str(w, "criterion", dt_crit_names[m->crit]);
    if (u->label)
        ws_opt_str(w, "label", u->label);
    if (u->treatment) {
        ws_opt_str(w, "treatment", u->treatment);
        ws_opt_str(w, "control", u->control);
        ws_opt_str(w, "outcome", u->outcome);
        ws_opt_f64(w, "alpha", p->alpha);
        ws_opt_str(w, "stratum", u->stratum ? u->stratum : "");
    }
    /* The features, as a list. */
    size_t len = 1;
    for (size_t i = ntargets; i < ncols; i++)
        len += strlen(names[i]) + 1;
    char *list = xcalloc(len, 1);
    for (size_t i = ntargets; i < ncols; i++) {
        if (i > ntargets)
            strcat(list, ",");
        strcat(list, names[i]);
    }
    ws_opt_str(w, "fields", list);
    free(list);
    ws_opt_int(w, "max_depth", p->max_depth);
    ws_opt_f64(w, "min_leaf", p->min_leaf);
    ws_opt_f64(w, "min_gain", p->min_gain);
    ws_opt_int(w, "bins", p->bins);
    ws_opt_bool(w, "exact", p->exact);
    ws_opt_str(w, "cat_split", p->cat_single ? "single" : "ordered");
    ws_opt_str(w, "class_weight", p->balanced ? "balanced" : "none");
    ws_opt_str(w, "weight", u->weight ? u->weight : "");
    ws_opt_str(w, "valid", u->valid ? u->valid : "");
    ws_opt_f64(w, "valid_frac", u->valid_frac);
    ws_opt_bool(w, "honest", p->honest);
    ws_opt_int(w, "trees", p->trees);
    ws_opt_f64(w, "sample_frac", p->sample_frac);
    ws_opt_int(w, "max_features", p->max_features);
    ws_opt_int(w, "seed", (int64_t)p->seed);
    ws_header(w, "model/dtree");
    dt_write(m, w);
    ws_close(w);
}

/* Split rows 0..n-1 at random into training and validation, both sorted. */
static void holdout(uint64_t seed, size_t n, double frac, uint32_t **train, size_t *ntrain,
                    uint32_t **valid, size_t *nvalid)
{
    uint32_t *perm = xmalloc((n ? n : 1) * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    struct rng base, r;
    rng_init(&base, seed);
    rng_split(&r, &base, 0x76616c69u);   /* "vali" */
    rng_shuffle(&r, perm, n);
    size_t k = (size_t)llround(frac * (double)n);
    bool *in_valid = xcalloc(n ? n : 1, sizeof *in_valid);
    for (size_t i = 0; i < k; i++)
        in_valid[perm[i]] = true;
    *train = xmalloc((n ? n : 1) * sizeof **train);
    *valid = xmalloc((k ? k : 1) * sizeof **valid);
    *ntrain = *nvalid = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_valid[i])
            (*valid)[(*nvalid)++] = (uint32_t)i;
        else
            (*train)[(*ntrain)++] = (uint32_t)i;
    }
    free(in_valid);
    free(perm);
}

static void train(struct run *u, struct dt_model *m)
{
    struct tbl t;
    size_t ncols = 0, ntargets = 0;
    char **names = load(u, u->inputs, u->ninputs, &t, NULL, &ncols, &ntargets);
    const char *where = u->ninputs ? u->inputs[0] : "stdin";
    if (dist_size() > 1)
        agree_types(&t, where);
    decide_task(u, m, &t, where);
    size_t nfeat = ncols - ntargets;
    size_t *cols = xmalloc(nfeat * sizeof *cols);
    for (size_t j = 0; j < nfeat; j++) {
        cols[j] = ntargets + j;
        if (u->fields && t.cols[cols[j]].type == TBL_UNSET)   /* on every rank */
            die("%s: --fields: field \"%s\" has no values", where, t.cols[cols[j]].name);
    }
    u->p.max_features = max_features(u, nfeat);
    struct dt_data d = {0}, v = {0};
    struct dt_target_spec spec = target_spec(u, &t, where);
    dt_targets(m, &d, &t, &spec, true);
    dt_features_from_tbl(m, &d, &t, cols, nfeat, &u->p, where);
    size_t nrows = t.nrows;
    tbl_release(&t);
    if (u->valid) {
        const char *vp[] = {u->valid};
        struct tbl vt;
        load(u, vp, 1, &vt, names, &ncols, &ntargets);
        struct dt_target_spec vs = target_spec(u, &vt, u->valid);
        dt_targets(m, &v, &vt, &vs, false);
        dt_encode(m, &v, &vt, cols, &d, u->valid);
        tbl_release(&vt);
    }
    uint32_t *rows = NULL, *vrows = NULL;
    size_t ntrain = nrows, nvalid = 0;
    if (u->valid_frac > 0) {
        holdout(u->p.seed, nrows, u->valid_frac, &rows, &ntrain, &vrows, &nvalid);
        dt_data_subset(&v, &d, vrows, nvalid);
    }
    dt_fit(m, &d, rows, ntrain, u->valid || u->valid_frac > 0 ? &v : NULL, &u->p,
           u->cli.progress);
    int64_t shown = (int64_t)ntrain;   /* every rank's rows */
    dist_sum_i64(&shown, 1);
    size_t leaves = 0;
    int depth = 0;
    for (size_t k = 0; k < m->ntree; k++) {
        leaves += dt_tree_leaves(&m->trees[k]);
        if (dt_tree_depth(&m->trees[k]) > depth)
            depth = dt_tree_depth(&m->trees[k]);
    }
    if (m->ntree == 1)
        info("%s tree on %zu rows x %zu features: %zu leaves, depth %d%s",
             dt_task_names[m->task], (size_t)shown, nfeat, leaves, depth,
             u->valid || u->valid_frac > 0 ? " (pruned on the validation set)" : "");
    else
        info("forest of %zu %s trees on %zu rows x %zu features: "
             "%.1f leaves a tree, depth up to %d",
             m->ntree, dt_task_names[m->task], (size_t)shown, nfeat, (double)leaves / (double)m->ntree,
             depth);
    if ((u->cli.out || (!u->rules && !u->export)) && dist_rank() == 0)
        write_model(u, m, names, ncols, ntargets);   /* only rank 0 writes */
    for (size_t i = 0; i < ncols; i++)
        free(names[i]);
    free(names);
    free(cols);
    free(rows);
    free(vrows);
    dt_data_release(&d);
    dt_data_release(&v);
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct run u = {0};
    dist_init(&argc, &argv);
    cli_init(&u.cli, argv[0]);
    parse_options(&u, argc, argv);
    validate(&u);

    struct dt_model m;
    dt_model_init(&m);
    if (u.model) {
        const char *paths[] = {u.model};
        rs *r = rs_open(paths, 1, "model/dtree");
        dt_read(&m, r);
        rs_free(r);
    } else {
        train(&u, &m);
    }
    if (u.rules || u.export) {
        ofile *of = of_open(NULL);
        FILE *f = of_fp(of);
        if (u.rules)
            dt_print_rules(f, &m);
        else if (strcmp(u.export, "sql") == 0)
            dt_print_sql(f, &m);
        else
            dt_print_dot(f, &m);
        of_commit(of);
    }
    dt_model_release(&m);
    free(u.fields);
    free(u.exclude);
    return EXIT_OK;
}
