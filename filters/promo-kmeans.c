/* promo-kmeans: customer segments by k-means, as a model stream.
 *
 * The named numeric fields of every record are copied into one table
 * (8 bytes a value), scaled, and clustered (common/kmeans.c).  With a range
 * of k each k is fitted and one is picked by the silhouette on a seeded
 * sample, or by the elbow of the inertia.  With --minibatch the input is
 * never held: it is read once for the scaling and a sample, once per
 * mini-batch pass, and once more for the exact final assignment.
 *
 * Under mpirun (make MPI=1) each rank holds the rows of its block of the
 * FILE arguments; the scaling's moments, the k-means++ draws and the Lloyd
 * sums and counts are combined across the ranks (common/kmeans.c), and
 * rank 0 writes the model (docs/scale.md).  One k, in memory, standard or
 * no scaling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "dist.h"
#include "kmeans.h"
#include "progress.h"
#include "rec.h"
#include "rng.h"
#include "stream.h"
#include "table.h"
#include "xalloc.h"

static const char help[] =
"promo-kmeans: find segments of records (customers) with k-means; writes a model\n"
"\n"
"Usage: promo-kmeans --fields A,B,... -k K [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --fields A,B,...   numeric features; NAME[] spreads an array field  [required]\n"
"  -k K | K1..K2      clusters, or a range to choose from (K1 >= 2)  [required]\n"
"  --pick P           silhouette or elbow: how a range picks k  [default: silhouette]\n"
"  --log A,B,...      of those fields, cluster on ln(1 + value)  [default: none]\n"
"  --scale S          standard, robust or none  [default: standard]\n"
"  --skip-invalid     skip records with missing or non-finite features  [default: error]\n"
"  --n-init N         restarts of seeding and Lloyd, the lowest inertia kept  [default: 3]\n"
"  --max-iter N       Lloyd iterations (minibatch: passes) per restart  [default: 300]\n"
"  --tol T            stop when centroids move less (relative to the variance)  [default: 1e-4]\n"
"  --sample N         records for the silhouette (and minibatch seeding)  [default: 5000]\n"
"  --minibatch SIZE   batches of SIZE records, FILE read once per pass  [default: off]\n"
"  --profile FILE     write each segment's profile (kind metrics) to FILE  [default: none]\n"
"  --threads N        threads; the model is the same for any N  [default: one per processor]\n"
"  --kernel K         own or blas: what computes the distances  [default: own]\n"
"  --seed S           random seed  [default: 1]\n"
"  -o, --output FILE  write the model to FILE, atomically  [default: stdout]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors (no tables)\n"
"  --progress         report progress on stderr\n"
"  --help             show this help\n"
"  --version          show the version\n"
"\n"
"Tables (the k range, the profile) go to stderr; stdout carries only the model.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-kmeans --fields recency,frequency,monetary -k 2..8 --profile p.mpz -o seg.mpz users.mpz\n";

enum {
    O_FIELDS = CLI_FIRST_FREE, O_PICK, O_SCALE, O_SKIP, O_NINIT, O_MAXITER, O_TOL, O_SAMPLE,
    O_MINIBATCH, O_PROFILE, O_THREADS, O_LOG, O_KERNEL
};
enum pick { PICK_SILHOUETTE, PICK_ELBOW };
static const char *const pick_names[] = {"silhouette", "elbow"};
static const char *const kernel_names[] = {"own", "blas"};

/* Random streams split off the seed, one per use. */
enum { STREAM_SAMPLE = 1000000, STREAM_RESERVOIR };

struct kmeans {
    struct cli cli;
    char **fields;            /* --fields, a cli_list array */
    int nfields;
    const char *log_arg;      /* --log */
    bool *logged;             /* [nfields] named by --log */
    const char *fields_arg, *k_arg;
    int kmin, kmax;
    enum pick pick;
    enum km_scaling scaling;
    bool skip_invalid;
    struct km_opts fit;
    size_t sample;            /* --sample */
    size_t minibatch;         /* --minibatch, 0 off */
    const char *profile;
    int threads;              /* --threads, 0: one per processor */
    const char *const *paths;
    int npaths;

    ws *out, *prof;
    struct tbl t;             /* the rows (minibatch: one batch) */
    uint64_t nrows, skipped;
    struct progress prog;
    struct km_model m;

    /* per k of the range: the fit, kept to restore the one picked */
    int nk;
    struct km_krow *rows;
    double **cents;           /* [nk] k x d centroids */
    uint64_t **sizes;         /* [nk] k sizes */
    int **labs;               /* [nk] labels of the sample rows */
    struct km_profile *profs; /* [nk] minibatch: profiles from the final pass */
    double *xs;               /* [s][d] the sample rows, scaled */
    size_t ns;
};

/* ---- options ------------------------------------------------------------ */

static void parse_k(struct kmeans *p, const char *s)
{
    const char *dots = strstr(s, "..");
    if (!dots) {
        p->kmin = p->kmax = (int)cli_int("-k", s, 1, KM_MAX_K);
        return;
    }
    char lo[32];
    size_t n = (size_t)(dots - s);
    if (n == 0 || n >= sizeof lo)
        die_usage("-k: expected a number of clusters or a range such as 2..12, got \"%s\"", s);
    memcpy(lo, s, n);
    lo[n] = '\0';
    p->kmin = (int)cli_int("-k", lo, 2, KM_MAX_K);
    p->kmax = (int)cli_int("-k", dots + 2, 2, KM_MAX_K);
    if (p->kmax <= p->kmin)
        die_usage("-k: a range must go up, got \"%s\"", s);
    if (p->kmax - p->kmin >= 100)
        die_usage("-k: a range may hold at most 100 values of k, got \"%s\"", s);
}

static int parse_name(const char *opt, const char *s, const char *const *names, int n,
                      const char *expected)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    die_usage("%s: expected %s, got \"%s\"", opt, expected, s);
}

/* --log names fields of --fields, as written there ("vec[]" for an array). */
static void parse_log(struct kmeans *p)
{
    p->logged = xcalloc((size_t)p->nfields, sizeof *p->logged);
    if (!p->log_arg)
        return;
    int n;
    char **names = cli_list(p->log_arg, &n);
    for (int i = 0; i < n; i++) {
        int f = 0;
        while (f < p->nfields && strcmp(names[i], p->fields[f]) != 0)
            f++;
        if (f == p->nfields)
            die_usage("--log: \"%s\" is not one of --fields", names[i]);
        p->logged[f] = true;
    }
    free(names);
}

/* What a job of several ranks does: one k, in memory, standard or no
 * scaling, the model to a file. */
static void check_ranks_options(const struct kmeans *p)
{
    const char *why = p->minibatch ? "--minibatch"
                    : p->kmin != p->kmax ? "a range of k (its silhouette sample)"
                    : p->profile ? "--profile"
                    : p->scaling == KM_ROBUST ? "--scale robust (its quantiles)" : NULL;
    if (why)
        die_usage("%s does not train across ranks: give one k without it, or run without mpirun",
                  why);
    /* mpirun hands the ranks' stdout to a terminal of its own */
    if (!p->cli.out || strcmp(p->cli.out, "-") == 0)
        die_usage("under mpirun the model is written with -o FILE, not to stdout");
}

static void parse_options(struct kmeans *p, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"fields", required_argument, 0, O_FIELDS},
        {"pick", required_argument, 0, O_PICK},
        {"scale", required_argument, 0, O_SCALE},
        {"skip-invalid", no_argument, 0, O_SKIP},
        {"n-init", required_argument, 0, O_NINIT},
        {"max-iter", required_argument, 0, O_MAXITER},
        {"tol", required_argument, 0, O_TOL},
        {"sample", required_argument, 0, O_SAMPLE},
        {"minibatch", required_argument, 0, O_MINIBATCH},
        {"profile", required_argument, 0, O_PROFILE},
        {"threads", required_argument, 0, O_THREADS},
        {"log", required_argument, 0, O_LOG},
        {"kernel", required_argument, 0, O_KERNEL},
        {0, 0, 0, 0},
    };
    memset(p, 0, sizeof *p);
    cli_init(&p->cli, argv[0]);
    p->cli.seed = 1;
    p->fit = (struct km_opts){.n_init = 3, .max_iter = 300, .tol = 1e-4};
    p->sample = 5000;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:qk:", longopts, NULL)) != -1) {
        switch (opt) {
        case O_FIELDS:
            free(p->fields);
            p->fields_arg = optarg;
            p->fields = cli_list(optarg, &p->nfields);
            for (int i = 0; i < p->nfields; i++) {
                if (!*p->fields[i] || strcmp(p->fields[i], "[]") == 0)
                    die_usage("--fields: empty field name in \"%s\"", optarg);
                for (int j = 0; j < i; j++)
                    if (strcmp(p->fields[i], p->fields[j]) == 0)
                        die_usage("--fields: \"%s\" is given twice", p->fields[i]);
            }
            break;
        case 'k': p->k_arg = optarg; parse_k(p, optarg); break;
        case O_PICK:
            p->pick = (enum pick)parse_name("--pick", optarg, pick_names, 2, "silhouette or elbow");
            break;
        case O_SCALE:
            p->scaling = (enum km_scaling)parse_name("--scale", optarg, km_scaling_names, 3,
                                                     "standard, robust or none");
            break;
        case O_SKIP: p->skip_invalid = true; break;
        case O_NINIT: p->fit.n_init = (int)cli_int("--n-init", optarg, 1, 1000); break;
        case O_MAXITER: p->fit.max_iter = (int)cli_int("--max-iter", optarg, 1, 1000000); break;
        case O_TOL: p->fit.tol = cli_f64("--tol", optarg, 0, 1); break;
        case O_SAMPLE: p->sample = (size_t)cli_int("--sample", optarg, 2, 100000); break;
        case O_MINIBATCH:
            p->minibatch = (size_t)cli_int("--minibatch", optarg, 16, 1 << 26);
            break;
        case O_PROFILE: p->profile = optarg; break;
        case O_THREADS: p->threads = (int)cli_int("--threads", optarg, 1, KM_MAX_THREADS); break;
        case O_LOG: p->log_arg = optarg; break;
        case O_KERNEL:
            km_set_kernel((enum km_kernel)parse_name("--kernel", optarg, kernel_names, 2,
                                                     "own or blas"));
            break;
        default:
            if (!cli_common(&p->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (!p->fields)
        die_usage("--fields is required: the numeric features to cluster on");
    if (!p->k_arg)
        die_usage("-k is required: a number of clusters, or a range such as 2..12");
    p->fit.seed = p->cli.seed;
    parse_log(p);
    if (!p->threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        p->threads = cpus < 1 ? 1 : cpus > KM_MAX_THREADS ? KM_MAX_THREADS : (int)cpus;
    }
    km_set_threads(p->threads);
    p->paths = dist_inputs((const char *const *)argv + optind, argc - optind, &p->npaths);
    if (dist_size() > 1)
        check_ranks_options(p);
    if (p->minibatch) {
        if (p->npaths == 0)
            die_usage("--minibatch reads the input once per pass: give a FILE, not stdin");
        for (int i = 0; i < p->npaths; i++)
            if (strcmp(p->paths[i], "-") == 0)
                die_usage("--minibatch reads the input once per pass: give a FILE, not stdin");
    }
    if (p->profile && p->cli.out && strcmp(p->profile, p->cli.out) == 0)
        die_usage("--profile and --output name the same file");
    if (p->profile && strcmp(p->profile, "-") == 0 && !p->cli.out)
        die_usage("--profile and the model cannot both be stdout");
}

/* ---- outputs ------------------------------------------------------------ */

static void open_outputs(struct kmeans *p)
{
    if (dist_rank() > 0)   /* only rank 0 writes; the others never create the file */
        return;
    p->out = ws_open(p->cli.out, p->cli.level);
    ws_opt_str(p->out, "fields", p->fields_arg);
    ws_opt_str(p->out, "k", p->k_arg);
    ws_opt_str(p->out, "pick", pick_names[p->pick]);
    if (p->log_arg)
        ws_opt_str(p->out, "log", p->log_arg);
    ws_opt_str(p->out, "scale", km_scaling_names[p->scaling]);
    ws_opt_bool(p->out, "skip_invalid", p->skip_invalid);
    ws_opt_str(p->out, "init", "k-means++");
    ws_opt_int(p->out, "n_init", p->fit.n_init);
    ws_opt_int(p->out, "max_iter", p->fit.max_iter);
    ws_opt_f64(p->out, "tol", p->fit.tol);
    ws_opt_int(p->out, "sample", (int64_t)p->sample);
    ws_opt_int(p->out, "minibatch", (int64_t)p->minibatch);
    ws_opt_int(p->out, "seed", (int64_t)p->cli.seed);
    ws_header(p->out, KM_KIND);
    if (p->profile) {
        p->prof = ws_open(p->profile, p->cli.level);
        ws_opt_str(p->prof, "fields", p->fields_arg);
        ws_opt_str(p->prof, "k", p->k_arg);
        ws_opt_int(p->prof, "seed", (int64_t)p->cli.seed);
        ws_header(p->prof, "metrics");
    }
}

/* ---- reading rows --------------------------------------------------------- */

/* Copy the current record's features in as a new row; a missing or
 * non-finite value is an error, or with --skip-invalid the row is dropped.
 * false when dropped. */
static bool add_row(struct kmeans *p, rs *r)
{
    struct tbl *t = &p->t;
    tbl_add(t, r);
    double *row = tbl_row(t, t->nrows - 1);
    for (size_t j = 0; j < t->ncols; j++)
        if (t->cols[j].type == TBL_CAT)
            rs_die(r, "field \"%s\": expected a number, got a string", t->cols[j].name);
    for (size_t j = 0; j < t->ncols; j++) {
        if (isfinite(row[j]))
            continue;
        if (p->skip_invalid) {
            t->nrows--;
            return false;
        }
        rs_die(r, "field \"%s\": %s (--skip-invalid skips such records)", t->cols[j].name,
               isnan(row[j]) ? "missing" : "not a finite number");
    }
    size_t j = 0;
    for (int f = 0; f < p->nfields; f++) {
        size_t j1 = j + t->fields[f].width;
        for (; j < j1; j++) {
            if (!p->logged[f] || km_log_value(row[j], &row[j]))
                continue;
            if (p->skip_invalid) {
                t->nrows--;
                return false;
            }
            rs_die(r, "field \"%s\": %g is not above -1, so --log cannot take ln(1 + x) "
                   "(--skip-invalid skips such records)", t->cols[j].name, row[j]);
        }
    }
    return true;
}

/* The model's names from the table's layout. */
static void model_init(struct kmeans *p, int k)
{
    struct tbl *t = &p->t;
    int d = (int)t->ncols;
    int *widths = xcalloc((size_t)p->nfields, sizeof *widths);
    char **features = xcalloc((size_t)d, sizeof *features);
    for (int i = 0; i < p->nfields; i++)
        widths[i] = (int)t->fields[i].width;
    /* a logged column is named for what it holds: "log1p(monetary)" */
    size_t j = 0;
    for (int f = 0; f < p->nfields; f++)
        for (size_t j1 = j + t->fields[f].width; j < j1; j++) {
            const char *name = t->cols[j].name;
            features[j] = xmalloc(strlen(name) + 8);
            sprintf(features[j], p->logged[f] ? "log1p(%s)" : "%s", name);
        }
    km_init(&p->m, k, p->fields, widths, p->nfields, features, d);
    memcpy(p->m.logged, p->logged, (size_t)p->nfields * sizeof *p->logged);
    for (j = 0; j < (size_t)d; j++)
        free(features[j]);
    free(widths);
    free(features);
}

static void check_rows(struct kmeans *p)
{
    if (p->nrows == 0)
        die("%s: no records to cluster%s", p->npaths ? p->paths[0] : "stdin",
            p->skipped ? " (all were skipped as invalid)" : "");
    if (p->nrows < (uint64_t)p->kmax)
        die("%s: k = %d needs at least %d records, got %llu", p->npaths ? p->paths[0] : "stdin",
            p->kmax, p->kmax, (unsigned long long)p->nrows);
}

/* ---- choosing k ----------------------------------------------------------- */

static void keep_fit(struct kmeans *p, int i)
{
    struct km_model *m = &p->m;
    size_t kd = (size_t)m->k * m->d;
    p->cents[i] = xreallocarray(NULL, kd, sizeof(double));
    memcpy(p->cents[i], m->cent, kd * sizeof(double));
    p->sizes[i] = xreallocarray(NULL, (size_t)m->k, sizeof(uint64_t));
    memcpy(p->sizes[i], m->size, (size_t)m->k * sizeof(uint64_t));
    p->rows[i] = (struct km_krow){.k = m->k, .inertia = m->inertia, .silhouette = NAN,
                                  .iterations = m->iterations};
}

static void restore_fit(struct kmeans *p, int i)
{
    struct km_model *m = &p->m;
    km_resize(m, p->rows[i].k);
    memcpy(m->cent, p->cents[i], (size_t)m->k * m->d * sizeof(double));
    memcpy(m->size, p->sizes[i], (size_t)m->k * sizeof(uint64_t));
    m->inertia = p->rows[i].inertia;
    m->iterations = p->rows[i].iterations;
    m->silhouette = p->rows[i].silhouette;
    km_finish_centroids(m);
}

/* The elbow: on the inertia curve scaled to the unit square, the k
 * farthest below the line from the first point to the last. */
static int pick_elbow(const struct km_krow *rows, int nk)
{
    double lo = rows[nk - 1].inertia, hi = rows[0].inertia;
    int best = 0;
    double bestv = -INFINITY;
    for (int i = 0; i < nk; i++) {
        double x = (double)i / (nk - 1);
        double y = hi > lo ? (rows[i].inertia - lo) / (hi - lo) : 0;
        double v = (1 - x) - y;
        if (v > bestv + 1e-12) {
            bestv = v;
            best = i;
        }
    }
    return best;
}

static int pick_k(struct kmeans *p)
{
    if (p->nk == 1)
        return 0;
    if (p->pick == PICK_ELBOW)
        return pick_elbow(p->rows, p->nk);
    int best = 0;
    for (int i = 1; i < p->nk; i++)
        if (p->rows[i].silhouette > p->rows[best].silhouette)
            best = i;
    return best;
}

static void print_table(const struct kmeans *p, int chosen)
{
    if (diag_quiet())
        return;
    info("k by %s (silhouette on %zu records):", pick_names[p->pick], p->ns);
    fprintf(stderr, "%4s  %14s  %10s  %10s\n", "k", "inertia", "silhouette", "iterations");
    for (int i = 0; i < p->nk; i++)
        fprintf(stderr, "%4d  %14.6g  %10.4f  %10d%s\n", p->rows[i].k, p->rows[i].inertia,
                p->rows[i].silhouette, p->rows[i].iterations, i == chosen ? "  <- picked" : "");
}

/* The silhouette of every k on the sample, pick one, restore its fit. */
static int choose(struct kmeans *p, bool need_silhouette)
{
    if (need_silhouette) {
        int ks[p->nk];
        double sil[p->nk];
        for (int i = 0; i < p->nk; i++)
            ks[i] = p->rows[i].k;
        km_silhouette(sil, p->xs, p->ns, p->m.d, p->labs, ks, p->nk);
        for (int i = 0; i < p->nk; i++)
            p->rows[i].silhouette = sil[i];
    }
    int chosen = pick_k(p);
    if (p->nk > 1)
        print_table(p, chosen);
    restore_fit(p, chosen);
    if (p->nk > 1) {
        p->m.table = xcalloc((size_t)p->nk, sizeof *p->m.table);
        memcpy(p->m.table, p->rows, (size_t)p->nk * sizeof *p->rows);
        p->m.ntable = p->nk;
    }
    return chosen;
}

static void alloc_range(struct kmeans *p)
{
    p->nk = p->kmax - p->kmin + 1;
    p->rows = xcalloc((size_t)p->nk, sizeof *p->rows);
    p->cents = xcalloc((size_t)p->nk, sizeof *p->cents);
    p->sizes = xcalloc((size_t)p->nk, sizeof *p->sizes);
    p->labs = xcalloc((size_t)p->nk, sizeof *p->labs);
}

/* ---- in memory -------------------------------------------------------------- */

static void load_all(struct kmeans *p)
{
    rs *r = rs_open(p->paths, p->npaths, NULL);
    prog_init(&p->prog, "records", p->cli.progress);
    while (rs_next(r)) {
        if (add_row(p, r))
            p->nrows++;
        else
            p->skipped++;
        prog_tick(&p->prog, p->nrows + p->skipped);
    }
    prog_done(&p->prog);
    rs_free(r);
}

/* Knuth's selection sampling: s of n row numbers, in order. */
static size_t *sample_rows(size_t n, size_t s, uint64_t seed)
{
    struct rng base, r;
    rng_init(&base, seed);
    rng_split(&r, &base, STREAM_SAMPLE);
    size_t *idx = xreallocarray(NULL, s ? s : 1, sizeof *idx);
    size_t got = 0;
    for (size_t i = 0; i < n && got < s; i++)
        if ((double)(n - i) * rng_uniform(&r) < (double)(s - got))
            idx[got++] = i;
    CHECK(got == s);
    return idx;
}

/* ---- several ranks ---------------------------------------------------------- */

/* Every rank has rows, the ranks' columns agree, and together they have
 * enough; p->nrows stays this rank's, *total and the skipped count are all
 * ranks'. */
static void check_ranks_rows(struct kmeans *p, uint64_t *total)
{
    if (p->nrows == 0)
        die("%s: no records to cluster on this rank%s", p->paths[0],
            p->skipped ? " (all were skipped as invalid)" : "");
    int nf = p->nfields;
    int64_t w[2 * nf + 2];
    for (int f = 0; f < nf; f++)
        w[f] = (int64_t)p->t.fields[f].width, w[nf + f] = -w[f];
    w[2 * nf] = (int64_t)p->nrows;
    w[2 * nf + 1] = (int64_t)p->skipped;
    int64_t c[2] = {w[2 * nf], w[2 * nf + 1]};
    dist_sum_i64(c, 2);
    dist_max_i64(w, 2 * (size_t)nf);
    for (int f = 0; f < nf; f++)
        if (w[f] != -w[nf + f])
            die("%s: field \"%s\" has %zu columns here and %lld on another rank", p->paths[0],
                p->fields[f], p->t.fields[f].width,
                (long long)(w[f] == (int64_t)p->t.fields[f].width ? -w[nf + f] : w[f]));
    *total = (uint64_t)c[0];
    p->skipped = (uint64_t)c[1];
    if (*total < (uint64_t)p->kmax)
        die("k = %d needs at least %d records, got %llu on all ranks", p->kmax, p->kmax,
            (unsigned long long)*total);
}

/* The scaling over every rank's rows: each rank's moments, merged in rank
 * order (Chan's rule); returns the mean variance of the scaled features
 * (for --tol). */
static double scaling_ranks(struct kmeans *p, const double *x, size_t n)
{
    struct km_model *m = &p->m;
    int d = m->d, P = dist_size();
    size_t w = 2 * (size_t)d + 1;
    struct km_moments mom, all;
    km_moments_init(&mom, d);
    km_moments_init(&all, d);
    for (size_t i = 0; i < n; i++)
        km_moments_add(&mom, x + i * d);
    double *v = xreallocarray(NULL, w, sizeof *v), *g = xreallocarray(NULL, P * w, sizeof *g);
    v[0] = mom.count;
    memcpy(v + 1, mom.mean, (size_t)d * sizeof *v);
    memcpy(v + 1 + d, mom.m2, (size_t)d * sizeof *v);
    dist_sum_ordered_f64(v, w, g);
    for (int r = 0; r < P; r++) {
        struct km_moments b = {.d = d, .count = g[r * w], .mean = g + r * w + 1,
                               .m2 = g + r * w + 1 + d};
        km_moments_merge(&all, &b);
    }
    km_scaling_fit(m, KM_NONE, NULL, 0);
    m->scaling = p->scaling;
    if (p->scaling == KM_STANDARD)
        for (int j = 0; j < d; j++) {
            double sd = sqrt(all.m2[j] / all.count);
            m->center[j] = all.mean[j];
            m->scale[j] = sd > 0 ? sd : 1;
        }
    double mean_var = 0;
    for (int j = 0; j < d; j++)
        mean_var += all.m2[j] / all.count / (m->scale[j] * m->scale[j]) / d;
    free(v);
    free(g);
    km_moments_release(&mom);
    km_moments_release(&all);
    return mean_var;
}

/* ---- in memory (continued) ---------------------------------------------------- */

static void fit_in_memory(struct kmeans *p, bool need_silhouette)
{
    load_all(p);
    bool ranks = dist_size() > 1;
    uint64_t total = p->nrows;
    if (ranks)
        check_ranks_rows(p, &total);
    else
        check_rows(p);
    size_t n = p->nrows;
    model_init(p, p->kmin);
    struct km_model *m = &p->m;
    int d = m->d;
    double mean_var = 0;
    if (ranks)
        mean_var = scaling_ranks(p, p->t.x, n);
    else
        km_scaling_fit(m, p->scaling, p->t.x, n);
    km_scale_rows(m, p->t.x, n);
    struct km_data dt;
    km_data_init(&dt, p->t.x, n, d);
    if (ranks)
        dt.mean_var = mean_var;
    size_t *idx = NULL;
    if (need_silhouette) {
        p->ns = n < p->sample ? n : p->sample;
        idx = sample_rows(n, p->ns, p->cli.seed);
        p->xs = xreallocarray(NULL, p->ns * d, sizeof *p->xs);
        for (size_t s = 0; s < p->ns; s++)
            memcpy(p->xs + s * d, p->t.x + idx[s] * d, (size_t)d * sizeof *p->xs);
    }
    for (int i = 0; i < p->nk; i++) {
        int k = p->kmin + i;
        km_resize(m, k);
        int used = km_fit(m, &dt, &p->fit);
        if (used < k)
            warning("k = %d: only %d clusters have records (the data has too few distinct points)",
                    k, used);
        keep_fit(p, i);
        if (need_silhouette) {
            p->labs[i] = xreallocarray(NULL, p->ns, sizeof(int));
            for (size_t s = 0; s < p->ns; s++)
                p->labs[i][s] = dt.label[idx[s]];
        }
    }
    choose(p, need_silhouette);
    m->n = total;
    m->seed = p->cli.seed;
    if (p->profile) {
        /* with a range, the chosen fit's labels again (the same centroids
         * give the same labels); with one k they are still there */
        if (p->nk > 1)
            km_assign(dt.label, dt.dist, dt.x, dt.xnorm, n, d, m->cent, m->cnorm, m->k);
        struct km_profile pr;
        km_profile_init(&pr, m->k, d);
        km_profile_add(&pr, p->t.x, dt.label, n);
        km_profile_write(&pr, m, p->prof, true);
        km_profile_release(&pr);
    }
    free(idx);
    km_data_release(&dt);
}

/* ---- mini-batch ------------------------------------------------------------- */

/* One pass over the input in batches of --minibatch rows: batch() gets
 * each batch (raw rows). */
static void each_batch(struct kmeans *p, void (*batch)(struct kmeans *, double *, size_t, void *),
                       void *arg)
{
    rs *r = rs_open(p->paths, p->npaths, NULL);
    p->t.nrows = 0;
    while (rs_next(r)) {
        add_row(p, r);
        if (p->t.nrows == p->minibatch) {
            batch(p, p->t.x, p->t.nrows, arg);
            p->t.nrows = 0;
        }
    }
    if (p->t.nrows)
        batch(p, p->t.x, p->t.nrows, arg);
    p->t.nrows = 0;
    rs_free(r);
}

/* Pass 1: count, moments for the scaling, and a reservoir sample. */
struct first_pass {
    struct km_moments mom;
    double *res;              /* [cap][d] raw rows */
    size_t cap, seen;
    struct rng r;
};

static void first_batch(struct kmeans *p, double *x, size_t n, void *arg)
{
    struct first_pass *f = arg;
    int d = (int)p->t.ncols;
    if (!f->res) {
        km_moments_init(&f->mom, d);
        f->res = xreallocarray(NULL, f->cap * d, sizeof *f->res);
    }
    for (size_t i = 0; i < n; i++) {
        const double *row = x + i * d;
        km_moments_add(&f->mom, row);
        size_t slot = f->seen < f->cap ? f->seen : rng_below(&f->r, f->seen + 1);
        if (slot < f->cap)
            memcpy(f->res + slot * d, row, (size_t)d * sizeof *row);
        f->seen++;
    }
    p->nrows += n;
}

struct mb_pass {
    int k;
    double *cent, *counts;
    int *label;
    double *dist;
    /* the final pass */
    uint64_t *size;
    double inertia;
    struct km_profile *prof;
};

static void mb_batch(struct kmeans *p, double *x, size_t n, void *arg)
{
    struct mb_pass *b = arg;
    km_scale_rows(&p->m, x, n);
    km_minibatch_step(b->cent, b->counts, x, n, p->m.d, b->k, b->label, b->dist);
}

static void final_batch(struct kmeans *p, double *x, size_t n, void *arg)
{
    struct mb_pass *b = arg;
    struct km_model *m = &p->m;
    km_scale_rows(m, x, n);
    b->inertia += km_assign(b->label, b->dist, x, NULL, n, m->d, m->cent, m->cnorm, m->k);
    for (size_t i = 0; i < n; i++)
        b->size[b->label[i]]++;
    if (b->prof)
        km_profile_add(b->prof, x, b->label, n);
}

static void fit_minibatch(struct kmeans *p, bool need_silhouette)
{
    /* pass 1: the scaling and a sample of 3 batches (at least --sample) */
    struct first_pass f = {.cap = 3 * p->minibatch > p->sample ? 3 * p->minibatch : p->sample};
    struct rng base;
    rng_init(&base, p->cli.seed);
    rng_split(&f.r, &base, STREAM_RESERVOIR);
    prog_init(&p->prog, "records", p->cli.progress);
    {
        rs *r = rs_open(p->paths, p->npaths, NULL);
        p->t.nrows = 0;
        while (rs_next(r)) {
            if (!add_row(p, r)) {
                p->skipped++;
            } else if (p->t.nrows == p->minibatch) {
                first_batch(p, p->t.x, p->t.nrows, &f);
                p->t.nrows = 0;
            }
            prog_tick(&p->prog, p->nrows + p->t.nrows + p->skipped);
        }
        if (p->t.nrows)
            first_batch(p, p->t.x, p->t.nrows, &f);
        p->t.nrows = 0;
        rs_free(r);
    }
    prog_done(&p->prog);
    check_rows(p);
    model_init(p, p->kmin);
    struct km_model *m = &p->m;
    int d = m->d;
    size_t nres = f.seen < f.cap ? f.seen : f.cap;
    if (p->scaling == KM_ROBUST) {
        km_scaling_fit(m, KM_ROBUST, f.res, nres);   /* quantiles of the sample */
    } else {
        km_scaling_fit(m, KM_NONE, NULL, 0);
        m->scaling = p->scaling;
        if (p->scaling == KM_STANDARD)
            for (int j = 0; j < d; j++) {
                double sd = sqrt(f.mom.m2[j] / f.mom.count);
                m->center[j] = f.mom.mean[j];
                m->scale[j] = sd > 0 ? sd : 1;
            }
    }
    double mean_var = 0;
    for (int j = 0; j < d; j++)
        mean_var += f.mom.m2[j] / f.mom.count / (m->scale[j] * m->scale[j]) / d;
    km_scale_rows(m, f.res, nres);
    struct km_data sample;
    km_data_init(&sample, f.res, nres, d);
    if (need_silhouette) {
        /* the reservoir is a uniform sample: its first rows are one too */
        p->ns = nres < p->sample ? nres : p->sample;
        p->xs = xreallocarray(NULL, p->ns * d, sizeof *p->xs);
        memcpy(p->xs, f.res, p->ns * d * sizeof *p->xs);
    }
    p->profs = p->profile ? xcalloc((size_t)p->nk, sizeof *p->profs) : NULL;
    size_t bn = p->minibatch;
    int *label = xreallocarray(NULL, bn, sizeof *label);
    double *dist = xreallocarray(NULL, bn, sizeof *dist);
    for (int i = 0; i < p->nk; i++) {
        int k = p->kmin + i;
        if (nres < (size_t)k)
            die("k = %d needs at least %d records in the sample, got %zu", k, k, nres);
        km_resize(m, k);
        /* start from a full k-means of the sample */
        km_fit(m, &sample, &p->fit);
        struct mb_pass b = {.k = k, .label = label, .dist = dist};
        b.cent = xreallocarray(NULL, (size_t)k * d, sizeof *b.cent);
        b.counts = xcalloc((size_t)k, sizeof *b.counts);
        double *prev = xreallocarray(NULL, (size_t)k * d, sizeof *prev);
        memcpy(b.cent, m->cent, (size_t)k * d * sizeof *b.cent);
        int pass = 0;
        while (pass < p->fit.max_iter) {
            memcpy(prev, b.cent, (size_t)k * d * sizeof *prev);
            each_batch(p, mb_batch, &b);
            pass++;
            double shift = 0;
            for (size_t e = 0; e < (size_t)k * d; e++)
                shift += (b.cent[e] - prev[e]) * (b.cent[e] - prev[e]);
            if (shift <= p->fit.tol * mean_var)
                break;
        }
        /* the final pass: exact assignment of every row */
        memcpy(m->cent, b.cent, (size_t)k * d * sizeof *b.cent);
        km_finish_centroids(m);
        b.size = xcalloc((size_t)k, sizeof *b.size);
        if (p->profs) {
            km_profile_init(&p->profs[i], k, d);
            b.prof = &p->profs[i];
        }
        each_batch(p, final_batch, &b);
        memcpy(m->size, b.size, (size_t)k * sizeof *b.size);
        int used = 0;
        for (int c = 0; c < k; c++)
            used += b.size[c] > 0;
        if (used < k)
            warning("k = %d: only %d clusters have records", k, used);
        m->inertia = b.inertia;
        m->iterations = pass;
        int order[k];
        km_renumber(m, NULL, 0, order);
        if (p->profs) {
            struct km_moments tmp[k];
            for (int c = 0; c < k; c++)
                tmp[c] = p->profs[i].cl[order[c]];
            memcpy(p->profs[i].cl, tmp, sizeof tmp);
        }
        km_finish_centroids(m);
        keep_fit(p, i);
        if (need_silhouette) {
            p->labs[i] = xreallocarray(NULL, p->ns, sizeof(int));
            double *dd = xreallocarray(NULL, p->ns, sizeof *dd);
            km_assign(p->labs[i], dd, p->xs, NULL, p->ns, d, m->cent, m->cnorm, k);
            free(dd);
        }
        free(b.cent);
        free(b.counts);
        free(b.size);
        free(prev);
    }
    int chosen = choose(p, need_silhouette);
    m->n = p->nrows;
    m->seed = p->cli.seed;
    if (p->profs)
        km_profile_write(&p->profs[chosen], m, p->prof, true);
    free(label);
    free(dist);
    km_data_release(&sample);
    km_moments_release(&f.mom);
    free(f.res);
}

/* ---- main ------------------------------------------------------------------- */

static void finish(struct kmeans *p)
{
    struct km_model *m = &p->m;
    m->skipped = p->skipped;
    if (p->out) {   /* rank 0 */
        km_save(m, p->out);
        ws_close(p->out);
    }
    if (p->prof)
        ws_close(p->prof);
    if (p->skipped)
        info("skipped %llu of %llu records (missing or non-finite features)",
             (unsigned long long)p->skipped, (unsigned long long)(p->skipped + m->n));
    info("k = %d, %llu records, inertia %.6g, %s %d", m->k, (unsigned long long)m->n,
         m->inertia, p->minibatch ? "passes" : "iterations", m->iterations);
}

static void cleanup(struct kmeans *p)
{
    for (int i = 0; i < p->nk; i++) {
        free(p->cents[i]);
        free(p->sizes[i]);
        free(p->labs[i]);
        if (p->profs)
            km_profile_release(&p->profs[i]);
    }
    free(p->cents);
    free(p->sizes);
    free(p->labs);
    free(p->profs);
    free(p->rows);
    free(p->xs);
    km_release(&p->m);
    tbl_release(&p->t);
    free(p->fields);
    free(p->logged);
}

int main(int argc, char **argv)
{
    struct kmeans p;
    dist_init(&argc, &argv);
    parse_options(&p, argc, argv);
    open_outputs(&p);
    tbl_init(&p.t, p.fields, (size_t)p.nfields);
    alloc_range(&p);
    bool need_silhouette = p.nk > 1 || p.profile;
    if (p.minibatch)
        fit_minibatch(&p, need_silhouette);
    else
        fit_in_memory(&p, need_silhouette);
    finish(&p);
    cleanup(&p);
    return EXIT_OK;
}
