/* promo-train-cf: train a recommender on interactions; writes a model/cf
 * stream that promo-score ranks the catalogue with.
 *
 * The interactions are read once into compressed sparse rows and columns
 * (common/cf_data.c); each algorithm trains from those (common/cf_*.c).
 * Memory: 20 bytes per input record while the rows are built, then 16 per
 * distinct (user, item) pair, plus the model (docs/train-cf.md).
 *
 * Under mpirun (make MPI=1) each rank reads its block of the FILE
 * arguments, the ranks' interactions are merged on every rank, and ALS
 * solves each half-step's users or items in blocks across the ranks
 * (common/cf_dist.c); rank 0 writes the model (docs/scale.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cf.h"
#include "cli.h"
#include "diag.h"
#include "dist.h"
#include "progress.h"
#include "rec.h"
#include "stream.h"
#include "xalloc.h"

static const char help[] =
"promo-train-cf: train a recommender (collaborative filtering, content or hybrid); writes a model\n"
"\n"
"Usage: promo-train-cf --algo A [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --algo A            als, bpr, mf, ease, itemknn, content or pop  [required]\n"
"  --user F            the user id field  [default: user]\n"
"  --item F            the item id field  [default: item]\n"
"  --weight F          a positive weight per record, summed over repeats  [default: weight, 1 if absent]\n"
"  --rating F          explicit ratings (mf needs them), averaged over repeats  [default: none]\n"
"  --factors N         als, bpr, mf: latent factors  [default: 64, mf 100]\n"
"  --iters N           als: iterations; bpr, mf: epochs  [default: als 15, bpr 100, mf 40]\n"
"  --reg X             als, bpr, mf: L2 on the factors  [default: als 0.01, bpr 0.001, mf 0.05]\n"
"  --alpha X           als: confidence 1 + X * weight  [default: 10]\n"
"  --cg-steps N        als: conjugate-gradient steps per solve  [default: 3]\n"
"  --cholesky          als: exact solves by Cholesky (LAPACK) instead\n"
"  --lr X              bpr, mf: SGD step size  [default: bpr 0.01, mf 0.007]\n"
"  --reg-bias X        bpr, mf: L2 on the biases  [default: bpr 0.001, mf 0.02]\n"
"  --init-std X        als, bpr, mf: initial factors N(0, X)  [default: 0.01, mf 0.1]\n"
"  --lambda X          ease: L2 of the item-item weights  [default: 500]\n"
"  --neighbours N      itemknn: neighbours kept per item  [default: 100]\n"
"  --shrink X          itemknn: cosine = dot / (norms + X)  [default: 10]\n"
"  --items FILE        content, --hybrid: the item attributes (records with the item field)\n"
"  --attributes A,...  content, --hybrid: attribute fields, NAME[:band|:text|:vector]\n"
"  --bands N           quantile bands of a NAME:band attribute  [default: 5]\n"
"  --max-terms N       NAME:text words kept, most frequent first  [default: 1000]\n"
"  --hybrid            blend a collaborative algorithm with content, with a cold-start fallback\n"
"  --content-weight X  hybrid: content's share for users with history  [default: 0.1]\n"
"  --content-boost X   hybrid: users with little history get ln(1 + popularity) + X cosine  [default: 1.5]\n"
"  --cold-users N      hybrid: users with fewer interactions get content and popularity  [default: 3]\n"
"  --threads N         threads; the model is the same for any N  [default: one per processor]\n"
"  --seed S            random seed  [default: 1]\n"
"  -o, --output FILE   write the model to FILE, atomically  [default: stdout]\n"
"  --level N           gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet         print nothing but errors\n"
"  --progress          report progress and each iteration's loss on stderr\n"
"  --help              show this help\n"
"  --version           show the version\n"
"\n"
"Rank with: promo-score -m MODEL --recommend K users.mpz (see docs/train-cf.md).\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-train-cf --algo als --factors 64 -o cf.mpz interactions.mpz\n";

enum {
    O_ALGO = CLI_FIRST_FREE, O_USER, O_ITEM, O_WEIGHT, O_RATING, O_FACTORS, O_ITERS, O_REG,
    O_ALPHA, O_CGSTEPS, O_CHOLESKY, O_LR, O_REGBIAS, O_INITSTD, O_LAMBDA, O_NEIGHBOURS, O_SHRINK,
    O_ITEMS, O_ATTRIBUTES, O_BANDS, O_MAXTERMS, O_HYBRID, O_CONTENTW, O_BOOST, O_COLDUSERS,
    O_THREADS, O_END
};

#define AM(a) (1u << (a))
#define FACTORED (AM(CF_ALS) | AM(CF_BPR) | AM(CF_MF))
#define HYBRIDABLE (FACTORED | AM(CF_EASE) | AM(CF_ITEMKNN))

/* The option names, and which algorithms take each (0: all). */
static const char *const opt_names[O_END - O_ALGO] = {
    "--algo", "--user", "--item", "--weight", "--rating", "--factors", "--iters", "--reg",
    "--alpha", "--cg-steps", "--cholesky", "--lr", "--reg-bias", "--init-std", "--lambda",
    "--neighbours", "--shrink", "--items", "--attributes", "--bands", "--max-terms", "--hybrid",
    "--content-weight", "--content-boost", "--cold-users", "--threads",
};
static const unsigned opt_algos[O_END - O_ALGO] = {
    [O_FACTORS - O_ALGO] = FACTORED, [O_ITERS - O_ALGO] = FACTORED, [O_REG - O_ALGO] = FACTORED,
    [O_ALPHA - O_ALGO] = AM(CF_ALS), [O_CGSTEPS - O_ALGO] = AM(CF_ALS),
    [O_CHOLESKY - O_ALGO] = AM(CF_ALS), [O_LR - O_ALGO] = AM(CF_BPR) | AM(CF_MF),
    [O_REGBIAS - O_ALGO] = AM(CF_BPR) | AM(CF_MF), [O_INITSTD - O_ALGO] = FACTORED,
    [O_LAMBDA - O_ALGO] = AM(CF_EASE), [O_NEIGHBOURS - O_ALGO] = AM(CF_ITEMKNN),
    [O_SHRINK - O_ALGO] = AM(CF_ITEMKNN), [O_HYBRID - O_ALGO] = HYBRIDABLE,
};

struct train {
    struct cli cli;
    struct cf_opts o;
    const char *algo_arg, *user, *item, *weight, *rating, *items, *attributes;
    bool given[O_END - O_ALGO];
    double v[O_END - O_ALGO];       /* numeric option values, applied after the defaults */
    struct cf_attr *attrs;
    int nattrs;
    const char *const *paths;
    int npaths;
    struct timespec t0;
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- options ----------------------------------------------------------------------- */

static void parse(struct train *p, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"algo", required_argument, 0, O_ALGO},
        {"user", required_argument, 0, O_USER},
        {"item", required_argument, 0, O_ITEM},
        {"weight", required_argument, 0, O_WEIGHT},
        {"rating", required_argument, 0, O_RATING},
        {"factors", required_argument, 0, O_FACTORS},
        {"iters", required_argument, 0, O_ITERS},
        {"reg", required_argument, 0, O_REG},
        {"alpha", required_argument, 0, O_ALPHA},
        {"cg-steps", required_argument, 0, O_CGSTEPS},
        {"cholesky", no_argument, 0, O_CHOLESKY},
        {"lr", required_argument, 0, O_LR},
        {"reg-bias", required_argument, 0, O_REGBIAS},
        {"init-std", required_argument, 0, O_INITSTD},
        {"lambda", required_argument, 0, O_LAMBDA},
        {"neighbours", required_argument, 0, O_NEIGHBOURS},
        {"shrink", required_argument, 0, O_SHRINK},
        {"items", required_argument, 0, O_ITEMS},
        {"attributes", required_argument, 0, O_ATTRIBUTES},
        {"bands", required_argument, 0, O_BANDS},
        {"max-terms", required_argument, 0, O_MAXTERMS},
        {"hybrid", no_argument, 0, O_HYBRID},
        {"content-weight", required_argument, 0, O_CONTENTW},
        {"content-boost", required_argument, 0, O_BOOST},
        {"cold-users", required_argument, 0, O_COLDUSERS},
        {"threads", required_argument, 0, O_THREADS},
        {0, 0, 0, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        if (opt >= O_ALGO && opt < O_END)
            p->given[opt - O_ALGO] = true;
        double *v = opt >= O_ALGO && opt < O_END ? &p->v[opt - O_ALGO] : NULL;
        switch (opt) {
        case O_ALGO: p->algo_arg = optarg; break;
        case O_USER: p->user = optarg; break;
        case O_ITEM: p->item = optarg; break;
        case O_WEIGHT: p->weight = optarg; break;
        case O_RATING: p->rating = optarg; break;
        case O_FACTORS: *v = (double)cli_int("--factors", optarg, 1, CF_MAX_FACTORS); break;
        case O_ITERS: *v = (double)cli_int("--iters", optarg, 1, 100000); break;
        case O_REG: *v = cli_f64("--reg", optarg, 0, 1e9); break;
        case O_ALPHA: *v = cli_f64("--alpha", optarg, 0, 1e9); break;
        case O_CGSTEPS: *v = (double)cli_int("--cg-steps", optarg, 1, 1000); break;
        case O_CHOLESKY: break;
        case O_LR: *v = cli_f64("--lr", optarg, 1e-9, 10); break;
        case O_REGBIAS: *v = cli_f64("--reg-bias", optarg, 0, 1e9); break;
        case O_INITSTD: *v = cli_f64("--init-std", optarg, 0, 10); break;
        case O_LAMBDA: *v = cli_f64("--lambda", optarg, 1e-9, 1e12); break;
        case O_NEIGHBOURS: *v = (double)cli_int("--neighbours", optarg, 1, 100000); break;
        case O_SHRINK: *v = cli_f64("--shrink", optarg, 0, 1e12); break;
        case O_ITEMS: p->items = optarg; break;
        case O_ATTRIBUTES: p->attributes = optarg; break;
        case O_BANDS: *v = (double)cli_int("--bands", optarg, 1, 100); break;
        case O_MAXTERMS: *v = (double)cli_int("--max-terms", optarg, 1, 1000000); break;
        case O_HYBRID: break;
        case O_CONTENTW: *v = cli_f64("--content-weight", optarg, 0, 1); break;
        case O_BOOST: *v = cli_f64("--content-boost", optarg, 0, 1e6); break;
        case O_COLDUSERS: *v = (double)cli_int("--cold-users", optarg, 0, 1000000); break;
        case O_THREADS: *v = (double)cli_int("--threads", optarg, 1, CF_MAX_THREADS); break;
        default:
            if (!cli_common(&p->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    p->paths = dist_inputs((const char *const *)argv + optind, argc - optind, &p->npaths);
}

/* Defaults for the algorithm, then the options given; usage errors for
 * options that do not apply. */
static void validate(struct train *p)
{
    if (!p->algo_arg)
        die_usage("--algo is required (als, bpr, mf, ease, itemknn, content or pop)");
    int a = cf_algo_of(p->algo_arg);
    if (a < 0)
        die_usage("--algo: expected als, bpr, mf, ease, itemknn, content or pop, got \"%s\"",
                  p->algo_arg);
    struct cf_opts *o = &p->o;
    cf_opts_default(o, (enum cf_algo)a);
    for (int k = 0; k < O_END - O_ALGO; k++)
        if (p->given[k] && opt_algos[k] && !(opt_algos[k] & AM(a)))
            die_usage("%s does not apply to --algo %s", opt_names[k], p->algo_arg);
#define SET(opt, field) if (p->given[opt - O_ALGO]) o->field = p->v[opt - O_ALGO]
    SET(O_FACTORS, factors);
    SET(O_ITERS, iters);
    SET(O_REG, reg);
    SET(O_ALPHA, alpha);
    SET(O_CGSTEPS, cg_steps);
    SET(O_LR, lr);
    SET(O_REGBIAS, reg_bias);
    SET(O_INITSTD, init_std);
    SET(O_LAMBDA, lambda);
    SET(O_NEIGHBOURS, neighbours);
    SET(O_SHRINK, shrink);
    SET(O_BANDS, bands);
    SET(O_MAXTERMS, max_terms);
    SET(O_CONTENTW, content_weight);
    SET(O_BOOST, content_boost);
    SET(O_COLDUSERS, cold_users);
    SET(O_THREADS, threads);
#undef SET
    if (!p->given[O_THREADS - O_ALGO])
        o->threads = cf_default_threads();
    o->seed = p->cli.seed;
    o->hybrid = p->given[O_HYBRID - O_ALGO];
    if (p->given[O_CHOLESKY - O_ALGO]) {
        if (p->given[O_CGSTEPS - O_ALGO])
            die_usage("--cholesky and --cg-steps: give one of them");
        o->cg_steps = 0;
    }
    if (o->algo == CF_MF && !p->rating)
        die_usage("--algo mf learns explicit ratings: give --rating F");
    if (o->algo == CF_MF && p->weight)
        die_usage("--weight does not apply to --algo mf (it learns --rating)");
    bool content = o->algo == CF_CONTENT || o->hybrid;
    if (content && (!p->items || !p->attributes))
        die_usage("--algo %s%s needs the item attributes: --items FILE --attributes A,...",
                  p->algo_arg, o->hybrid ? " --hybrid" : "");
    if (!content && (p->items || p->attributes))
        die_usage("--items and --attributes apply to --algo content and to --hybrid");
    static const int content_opts[] = {O_BANDS, O_MAXTERMS};
    for (size_t k = 0; k < sizeof content_opts / sizeof *content_opts; k++)
        if (!content && p->given[content_opts[k] - O_ALGO])
            die_usage("%s applies to --algo content and to --hybrid",
                      opt_names[content_opts[k] - O_ALGO]);
    static const int hybrid_opts[] = {O_CONTENTW, O_BOOST, O_COLDUSERS};
    for (size_t k = 0; k < sizeof hybrid_opts / sizeof *hybrid_opts; k++)
        if (!o->hybrid && p->given[hybrid_opts[k] - O_ALGO])
            die_usage("%s applies to --hybrid", opt_names[hybrid_opts[k] - O_ALGO]);
    /* mpirun hands the ranks' stdout to a terminal of its own */
    if (dist_size() > 1 && (!p->cli.out || strcmp(p->cli.out, "-") == 0))
        die_usage("under mpirun the model is written with -o FILE, not to stdout");
    if (dist_size() > 1 && (o->algo != CF_ALS || o->hybrid))
        die_usage("--algo %s%s does not train across ranks (only --algo als does): run it "
                  "without mpirun", p->algo_arg, o->hybrid ? " --hybrid" : "");
    if (content)
        p->attrs = cf_attrs_parse(p->attributes, &p->nattrs);
    if (p->items)
        for (int i = 0; i < p->npaths; i++)
            if (strcmp(p->paths[i], p->items) == 0)
                die_usage("--items \"%s\" is also an interactions input", p->items);
}

/* ---- training ----------------------------------------------------------------------- */

static void report_iter(void *ctx, int iter, double loss)
{
    struct train *p = ctx;
    const char *what = p->o.algo == CF_MF ? "training rmse" : "loss";
    info("%s: iteration %d: %s %.6g (%.2f s)", cf_algo_names[p->o.algo], iter, what, loss,
         seconds_since(&p->t0));
}

static void read_interactions(struct train *p, struct cf_data *d)
{
    rs *r = rs_open(p->paths, p->npaths, NULL);
    if (strncmp(rs_kind(r), "model/", 6) == 0)
        die("%s: expected interactions (user and item records), got a model of kind \"%s\"",
            rs_file(r), rs_kind(r));
    struct cf_fields f = {.user = p->user, .item = p->item};
    if (p->o.algo == CF_MF) {
        f.rating = p->rating;
    } else {
        /* Implicit algorithms: a rating is an interaction of weight 1
         * unless --weight names a field. */
        f.weight = p->weight ? p->weight : p->rating ? NULL : "weight";
        f.weight_required = p->weight != NULL;
    }
    struct progress prog;
    prog_init(&prog, "records", p->cli.progress);
    while (rs_next(r)) {
        cf_data_add(d, r, &f);
        prog_tick(&prog, rs_count(r));
    }
    prog_done(&prog);
    /* under several ranks a rank may have no records; the job needs some */
    if (d->records == 0 && dist_size() == 1) {
        char *name = xstrdup(rs_file(r));
        rs_free(r);
        die("%s: no interactions (the input has no records)", name);
    }
    rs_free(r);
}

static void check_finite(const struct cf_model *m)
{
    size_t n = (size_t)(m->nusers + m->nitems) * m->f + m->nusers + m->nitems;
    for (size_t k = 0; k < n; k++)
        if (!isfinite(m->params[k]))
            die("%s: the model diverged (a parameter is not finite); lower --lr or raise --reg",
                cf_algo_names[m->algo]);
}

static void train(struct train *p, struct cf_model *m, struct cf_data *d,
                  struct cf_content_src *src)
{
    const struct cf_opts *o = &p->o;
    bool fac = cf_algo_factored(o->algo);
    cf_model_alloc(m, d->nusers, d->nitems, fac ? o->factors : 0);
    m->algo = o->algo;
    m->hybrid = o->hybrid;
    m->opts = *o;
    m->user_field = xstrdup(p->user);
    m->item_field = xstrdup(p->item);
    cf_model_popularity(m, d, o->algo != CF_MF);
    cf_iter_fn rep = p->cli.progress && !p->cli.quiet ? report_iter : NULL;
    switch (o->algo) {
    case CF_ALS: cf_als_train(m, d, o, rep, p); break;
    case CF_BPR: cf_bpr_train(m, d, o, rep, p); break;
    case CF_MF: cf_mf_train(m, d, o, rep, p); break;
    case CF_EASE: cf_ease_train(m, d, o); break;
    case CF_ITEMKNN: cf_knn_train(m, d, o); break;
    case CF_CONTENT:
    case CF_POP: break;
    case CF_NALGO: CHECK(0);
    }
    check_finite(m);
    if (src) {
        cf_content_build(m, src, d->nitems, o);
        m->attrs = p->attrs;
        m->nattrs = p->nattrs;
        p->attrs = NULL;
    }
    bool values = o->algo == CF_EASE || o->algo == CF_ITEMKNN || o->algo == CF_CONTENT || o->hybrid;
    cf_model_take_ids(m, d, values);
}

static void write_model(struct train *p, const struct cf_model *m)
{
    ws *w = ws_open(p->cli.out, p->cli.level);
    cf_opts_write(&p->o, w);
    ws_opt_str(w, "user", p->user);
    ws_opt_str(w, "item", p->item);
    if (p->weight)
        ws_opt_str(w, "weight", p->weight);
    if (p->rating)
        ws_opt_str(w, "rating", p->rating);
    if (p->items) {
        ws_opt_str(w, "items", p->items);
        ws_opt_str(w, "attributes", p->attributes);
    }
    ws_header(w, CF_KIND);
    cf_save(m, w);
    ws_close(w);
}

int main(int argc, char **argv)
{
    struct train p = {.user = "user", .item = "item"};
    dist_init(&argc, &argv);
    cli_init(&p.cli, argv[0]);
    p.cli.seed = 1;
    parse(&p, argc, argv);
    validate(&p);
    clock_gettime(CLOCK_MONOTONIC, &p.t0);

    struct cf_data d;
    cf_data_init(&d);
    read_interactions(&p, &d);
    cf_data_merge_ranks(&d);
    if (d.records == 0)
        die("no interactions: no rank's input has records");
    struct cf_content_src *src = NULL;
    if (p.items) {
        const char *ip[] = {p.items};
        rs *r = rs_open(ip, 1, NULL);
        src = cf_content_read(r, p.item, p.attrs, p.nattrs, &d.items);
        rs_free(r);
    }
    cf_data_build(&d, cf_ids_count(&d.users), cf_ids_count(&d.items), p.o.algo == CF_MF);
    double t_read = seconds_since(&p.t0);
    size_t data_bytes = cf_data_bytes(&d);
    uint32_t nu = d.nusers, ni = d.nitems;
    uint64_t nnz = d.nnz, dups = d.duplicates;

    struct cf_model m;
    cf_model_init(&m);
    train(&p, &m, &d, src);
    cf_content_src_free(src);
    cf_data_release(&d);
    info("%s%s: %u users, %u items, %llu interactions (%llu repeats merged); read in %.2f s, "
         "trained in %.2f s; interactions %.1f MiB, model %.1f MiB",
         p.algo_arg, p.o.hybrid ? " --hybrid" : "", nu, ni, (unsigned long long)nnz,
         (unsigned long long)dups, t_read, seconds_since(&p.t0) - t_read,
         (double)data_bytes / 1048576.0, (double)cf_model_bytes(&m) / 1048576.0);
    if (dist_rank() == 0)   /* the other ranks never create the output */
        write_model(&p, &m);
    cf_model_release(&m);
    cf_attrs_free(p.attrs, p.nattrs);
    return EXIT_OK;
}
