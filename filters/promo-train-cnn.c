/* promo-train-cnn: a convolutional purchase-intent model over behaviour
 * sequences, or its logistic-regression baseline; writes a model stream.
 *
 * The sequences view (promo-featurize --view sequences) is read once into
 * contiguous arrays (common/cnn_data.c), split into training and
 * validation rows, and trained by common/cnn_fit.c: Adam over minibatches,
 * early stopping on the validation AUC, the best epoch kept.  The network
 * is common/cnn.c; the baseline common/logreg.c.  docs/train-cnn.md draws
 * the architecture and explains every option and the output.
 *
 * Under mpirun (make MPI=1) each rank reads its block of the FILE
 * arguments and the ranks train one model by synchronous data-parallel SGD
 * (common/cnn_fit.c); rank 0 writes it (docs/scale.md). */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "cnn.h"
#include "cnn_data.h"
#include "cnn_fit.h"
#include "diag.h"
#include "dist.h"
#include "linalg.h"
#include "logreg.h"
#include "rng.h"
#include "stream.h"
#include "xalloc.h"

static const char help[] =
"promo-train-cnn: train a convolutional purchase-intent model on behaviour sequences; writes a model\n"
"\n"
"Usage: promo-train-cnn [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --model M          cnn, or logreg: the baseline on --numeric alone  [default: cnn]\n"
"  --tokens F:D,...   token fields and their embedding widths  [default: ev:4,cat:16,price_b:4,gap_b:4]\n"
"  --widths W,...     convolution kernel widths  [default: 2,3,5]\n"
"  --filters F        filters per width  [default: 32]\n"
"  --pool P           max, mean or max,mean  [default: max,mean]\n"
"  --hidden H[,H2]    sizes of one or two dense hidden layers  [default: 64]\n"
"  --dropout P        dropout after each hidden layer  [default: 0.2]\n"
"  --numeric A,B,...  numeric features beside the sequences  [default: none]\n"
"  --users FILE       read --numeric from this users view, by \"user\"  [default: the records]\n"
"  --label NAME       the 0/1 label field  [default: label]\n"
"  --valid FILE       validation records  [default: --valid-frac of the input]\n"
"  --valid-frac F     share of the input held out for validation  [default: 0.2]\n"
"  --epochs N         most passes over the training rows  [default: 10]\n"
"  --batch N          examples per minibatch  [default: 256]\n"
"  --lr R             Adam's learning rate  [default: 0.001]\n"
"  --schedule S       constant, exp or cosine  [default: constant]\n"
"  --lr-decay G       exp: the learning rate's factor per epoch  [default: 0.9]\n"
"  --l2 L             L2 penalty on weights and embeddings  [default: 0]\n"
"  --class-weight W   weight of a positive: none, balanced or a number  [default: none]\n"
"  --patience N       stop after N epochs without a better validation AUC  [default: 3]\n"
"  --threads N        threads over each batch; part of the seed's promise  [default: 1]\n"
"  --bench-gemm N     print the GFLOP/s of an N x N x N sgemm (and the OpenBLAS core) and exit\n"
"  --seed S           random seed (weights, split, order, dropout)  [default: 1]\n"
"  -o, --output FILE  write the model to FILE, atomically  [default: stdout]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors (no epoch lines)\n"
"  --progress         show progress within each epoch even off a terminal\n"
"  --help             show this help\n"
"  --version          show the version\n"
"\n"
"Each epoch prints the training loss, the validation loss and AUC and the\n"
"examples per second on stderr; the best epoch's model is written.  The same\n"
"seed and --threads give the same model bytes.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-train-cnn --numeric recency,frequency --users users.mpz -o cnn.mpz seq.mpz\n";

enum {
    O_MODEL = CLI_FIRST_FREE, O_TOKENS, O_WIDTHS, O_FILTERS, O_POOL, O_HIDDEN, O_DROPOUT,
    O_NUMERIC, O_USERS, O_LABEL, O_VALID, O_VALID_FRAC, O_EPOCHS, O_BATCH, O_LR, O_SCHEDULE,
    O_LR_DECAY, O_L2, O_CLASS_WEIGHT, O_PATIENCE, O_THREADS, O_BENCH_GEMM
};

/* Random streams split off the seed. */
enum { STREAM_SPLIT = 1, STREAM_WEIGHTS = 2 };

static const char *const model_names[] = {"cnn", "logreg", NULL};
static const char *const pool_names[] = {"max", "mean", "max,mean", NULL};

struct train {
    struct cli cli;
    bool logreg;
    struct cnn_config cfg;      /* sizes from the options; vocabularies from the data */
    const char *tokens_arg, *widths_arg, *hidden_arg, *numeric_arg, *class_weight_arg;
    char *tok_names[CNN_MAX_TOK];
    char **num;                 /* --numeric, a cli_list array */
    int nnum;
    const char *users, *label, *valid;
    double valid_frac;
    struct cnn_fit_opts fit;
    bool balanced;              /* --class-weight balanced */
    int threads;
    int bench_gemm;
    const char *const *paths;
    int npaths;

    ws *out;
    struct cnn_join join;
    bool have_join;
    struct cnn_data data, vdata;
    uint32_t *tidx, *vidx;
    size_t ntrain, nvalid;
    struct cnn_model cnn;
    struct cnn_acts acts;
    struct lr_model lr;
    struct cnn_fit_result res;
};

/* ---- options ------------------------------------------------------------ */

static int parse_ints(const char *opt, const char *s, int *out, int max, long long lo,
                      long long hi)
{
    int n;
    char **v = cli_list(s, &n);
    if (n > max)
        die_usage("%s: at most %d values, got \"%s\"", opt, max, s);
    for (int i = 0; i < n; i++)
        out[i] = (int)cli_int(opt, v[i], lo, hi);
    free(v);
    return n;
}

/* "name:dim,..." into the configuration's token fields. */
static void parse_tokens(struct train *p, const char *s)
{
    int n;
    char **v = cli_list(s, &n);
    if (n > CNN_MAX_TOK)
        die_usage("--tokens: at most %d fields, got \"%s\"", CNN_MAX_TOK, s);
    for (int i = 0; i < n; i++) {
        char *colon = strchr(v[i], ':');
        if (!colon || colon == v[i])
            die_usage("--tokens: expected FIELD:WIDTH, got \"%s\"", v[i]);
        *colon = '\0';
        if (strlen(v[i]) >= CNN_NAME_MAX)
            die_usage("--tokens: field name \"%s\" is longer than %d bytes", v[i],
                      CNN_NAME_MAX - 1);
        for (int j = 0; j < i; j++)
            if (strcmp(p->cfg.tok_name[j], v[i]) == 0)
                die_usage("--tokens: \"%s\" is given twice", v[i]);
        strcpy(p->cfg.tok_name[i], v[i]);
        p->cfg.dim[i] = (int)cli_int("--tokens", colon + 1, 1, 1024);
        p->tok_names[i] = p->cfg.tok_name[i];
    }
    p->cfg.ntok = n;
    free(v);
}

static void parse_options(struct train *p, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION, CLI_SEED_OPTION,
        {"model", required_argument, 0, O_MODEL},
        {"tokens", required_argument, 0, O_TOKENS},
        {"widths", required_argument, 0, O_WIDTHS},
        {"filters", required_argument, 0, O_FILTERS},
        {"pool", required_argument, 0, O_POOL},
        {"hidden", required_argument, 0, O_HIDDEN},
        {"dropout", required_argument, 0, O_DROPOUT},
        {"numeric", required_argument, 0, O_NUMERIC},
        {"users", required_argument, 0, O_USERS},
        {"label", required_argument, 0, O_LABEL},
        {"valid", required_argument, 0, O_VALID},
        {"valid-frac", required_argument, 0, O_VALID_FRAC},
        {"epochs", required_argument, 0, O_EPOCHS},
        {"batch", required_argument, 0, O_BATCH},
        {"lr", required_argument, 0, O_LR},
        {"schedule", required_argument, 0, O_SCHEDULE},
        {"lr-decay", required_argument, 0, O_LR_DECAY},
        {"l2", required_argument, 0, O_L2},
        {"class-weight", required_argument, 0, O_CLASS_WEIGHT},
        {"patience", required_argument, 0, O_PATIENCE},
        {"threads", required_argument, 0, O_THREADS},
        {"bench-gemm", required_argument, 0, O_BENCH_GEMM},
        {0, 0, 0, 0},
    };
    memset(p, 0, sizeof *p);
    cli_init(&p->cli, argv[0]);
    p->cli.seed = 1;
    cnn_fit_opts_default(&p->fit);
    p->tokens_arg = "ev:4,cat:16,price_b:4,gap_b:4";
    p->widths_arg = "2,3,5";
    p->hidden_arg = "64";
    p->class_weight_arg = "none";
    p->cfg.filters = 32;
    p->cfg.pool = CNN_POOL_MAX | CNN_POOL_MEAN;
    p->cfg.dropout = 0.2f;
    p->label = "label";
    p->valid_frac = 0.2;
    p->threads = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        switch (opt) {
        case O_MODEL: p->logreg = cli_choice("--model", optarg, model_names) == 1; break;
        case O_TOKENS: p->tokens_arg = optarg; break;
        case O_WIDTHS: p->widths_arg = optarg; break;
        case O_FILTERS: p->cfg.filters = (int)cli_int("--filters", optarg, 1, 4096); break;
        /* the choices' indexes are the CNN_POOL_ bits less one */
        case O_POOL: p->cfg.pool = 1 + cli_choice("--pool", optarg, pool_names); break;
        case O_HIDDEN: p->hidden_arg = optarg; break;
        case O_DROPOUT: p->cfg.dropout = (float)cli_f64("--dropout", optarg, 0, 0.95); break;
        case O_NUMERIC:
            free(p->num);
            p->numeric_arg = optarg;
            p->num = cli_list(optarg, &p->nnum);
            for (int i = 0; i < p->nnum; i++) {
                if (!*p->num[i])
                    die_usage("--numeric: empty field name in \"%s\"", optarg);
                for (int j = 0; j < i; j++)
                    if (strcmp(p->num[i], p->num[j]) == 0)
                        die_usage("--numeric: \"%s\" is given twice", p->num[i]);
            }
            if (p->nnum > CNN_MAX_NUM)
                die_usage("--numeric: at most %d features", CNN_MAX_NUM);
            break;
        case O_USERS: p->users = optarg; break;
        case O_LABEL:
            if (!*optarg)
                die_usage("--label: expected a field name");
            p->label = optarg;
            break;
        case O_VALID: p->valid = optarg; break;
        case O_VALID_FRAC:
            p->valid_frac = cli_f64("--valid-frac", optarg, 0.001, 0.9);
            break;
        case O_EPOCHS: p->fit.epochs = (int)cli_int("--epochs", optarg, 1, 100000); break;
        case O_BATCH: p->fit.batch = (int)cli_int("--batch", optarg, 1, 65536); break;
        case O_LR: p->fit.lr = cli_f64("--lr", optarg, 1e-9, 10); break;
        case O_SCHEDULE:
            p->fit.schedule = (enum cnn_schedule)cli_choice("--schedule", optarg, cnn_schedule_names);
            break;
        case O_LR_DECAY: p->fit.lr_decay = cli_f64("--lr-decay", optarg, 0.001, 1); break;
        case O_L2: p->fit.l2 = cli_f64("--l2", optarg, 0, 100); break;
        case O_CLASS_WEIGHT:
            p->class_weight_arg = optarg;
            p->balanced = strcmp(optarg, "balanced") == 0;
            if (strcmp(optarg, "none") == 0)
                p->fit.pos_weight = 1;
            else if (!p->balanced)
                p->fit.pos_weight = cli_f64("--class-weight", optarg, 1e-6, 1e6);
            break;
        case O_PATIENCE: p->fit.patience = (int)cli_int("--patience", optarg, 1, 100000); break;
        case O_THREADS: p->threads = (int)cli_int("--threads", optarg, 1, CNN_MAX_THREADS); break;
        case O_BENCH_GEMM: p->bench_gemm = (int)cli_int("--bench-gemm", optarg, 16, 16384); break;
        default:
            if (!cli_common(&p->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    p->paths = dist_inputs((const char *const *)argv + optind, argc - optind, &p->npaths);
    p->fit.seed = p->cli.seed;
    p->fit.progress = p->cli.progress;
    p->fit.verbose = !p->cli.quiet;
    if (p->bench_gemm)
        return;
    /* mpirun hands the ranks' stdout to a terminal of its own */
    if (dist_size() > 1 && (!p->cli.out || strcmp(p->cli.out, "-") == 0))
        die_usage("under mpirun the model is written with -o FILE, not to stdout");
    if (!p->logreg) {
        parse_tokens(p, p->tokens_arg);
        p->cfg.nwidths = parse_ints("--widths", p->widths_arg, p->cfg.width, CNN_MAX_WIDTHS, 1,
                                    CNN_MAX_WIDTH);
        for (int i = 0; i < p->cfg.nwidths; i++)
            for (int j = 0; j < i; j++)
                if (p->cfg.width[i] == p->cfg.width[j])
                    die_usage("--widths: %d is given twice", p->cfg.width[i]);
        p->cfg.nhidden = parse_ints("--hidden", p->hidden_arg, p->cfg.hidden, CNN_MAX_HIDDEN, 1,
                                    65536);
    } else if (p->nnum == 0) {
        die_usage("--model logreg needs --numeric: the features of the baseline");
    }
    p->cfg.nnum = p->nnum;
    if (p->users && !p->nnum)
        die_usage("--users gives numeric features: name them with --numeric");
    for (int i = 0; i < p->npaths; i++)
        if ((p->users && strcmp(p->paths[i], p->users) == 0) ||
            (p->valid && strcmp(p->paths[i], p->valid) == 0))
            die_usage("\"%s\" is both an input and --users or --valid", p->paths[i]);
    if (p->cli.out && p->valid && strcmp(p->cli.out, p->valid) == 0)
        die_usage("--valid and --output name the same file");
}

/* ---- the sgemm peak ----------------------------------------------------- */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

/* GFLOP/s of C = A B with n x n matrices: the best of several runs, after
 * a warm-up (what the machine's sgemm can do, for the bench's ratio). */
static void bench_gemm(int n)
{
    size_t nn = (size_t)n * n;
    float *a = xcalloc(3 * nn, sizeof *a), *b = a + nn, *c = b + nn;
    struct rng r;
    rng_init(&r, 1);
    for (size_t i = 0; i < 2 * nn; i++)
        a[i] = (float)rng_uniform(&r) - 0.5f;
    la_sgemm(c, a, b, n, n, n, false, false, 1, 0);
    double best = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = seconds();
        la_sgemm(c, a, b, n, n, n, false, false, 1, 0);
        double t = seconds() - t0;
        double g = 2.0 * n * (double)n * n / t / 1e9;
        if (g > best)
            best = g;
    }
    printf("%.1f %s\n", best, openblas_get_corename());
    if (fflush(stdout) != 0 || ferror(stdout))
        die_errno("stdout");
    free(a);
}

/* OpenBLAS chooses its kernels by the CPU's model number, and a build older
 * than the CPU falls back to its slowest ones (Prescott, SSE3), several
 * times slower than the AVX2 or AVX-512 kernels the CPU can run.  The
 * choice is made when the library loads, so all we can do is say how to
 * make it (docs/train-cnn.md, "Speed"). */
static void check_blas_core(void)
{
    const char *core = openblas_get_corename();
    if (!core || strcasecmp(core, "Prescott") != 0 || getenv("OPENBLAS_CORETYPE"))
        return;
    __builtin_cpu_init();
    const char *better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")    ? "Haswell" : NULL;
    if (better)
        warning("OpenBLAS does not know this CPU and uses its slowest kernels (Prescott); "
                "set OPENBLAS_CORETYPE=%s for several times the speed", better);
}

/* ---- data ----------------------------------------------------------------- */

static const char *input_name(const struct train *p)
{
    return p->npaths ? p->paths[0] : "stdin";
}

static rs *open_input(const struct train *p, const char *const *paths, int n)
{
    /* the baseline reads a users view, or any records with the features */
    return rs_open(paths, n, p->logreg ? NULL : "sequences");
}

/* Every rank's sequences have one length (the longest wins and the others
 * are told), as a single process requires of its input. */
static void same_length(const struct train *p)
{
    int64_t L[2] = {p->data.L, -(int64_t)p->data.L};
    dist_max_i64(L, 2);
    if (L[0] != -L[1])
        die("%s: sequences of %d tokens, but another rank's have %lld", input_name(p), p->data.L,
            (long long)(L[0] == p->data.L ? -L[1] : L[0]));
}

static void load(struct train *p)
{
    if (p->users) {
        const char *up[] = {p->users};
        rs *u = rs_open(up, 1, "users");
        cnn_join_load(&p->join, u, p->num, p->nnum);
        rs_free(u);
        p->have_join = true;
    }
    const struct cnn_join *j = p->have_join ? &p->join : NULL;
    int ntok = p->logreg ? 0 : p->cfg.ntok;
    cnn_data_init(&p->data, p->tok_names, ntok, p->num, p->nnum, p->label);
    rs *r = open_input(p, p->paths, p->npaths);
    cnn_data_load(&p->data, r, j);
    if (p->data.n < 2)
        die("%s: %zu records; training needs at least 2", input_name(p), p->data.n);
    rs_free(r);
    same_length(p);
    if (p->valid) {
        cnn_data_init(&p->vdata, p->tok_names, ntok, p->num, p->nnum, p->label);
        p->vdata.L = p->data.L;   /* the validation rows must have the same length */
        const char *vp[] = {p->valid};
        rs *v = open_input(p, vp, 1);
        cnn_data_load(&p->vdata, v, j);
        rs_free(v);
        if (p->vdata.n == 0)
            die("%s: no validation records", p->valid);
    }
    /* every rank read all of --valid, and keeps its block of it below */
    int64_t missing = (int64_t)p->data.join_missing;
    dist_sum_i64(&missing, 1);
    missing += (int64_t)p->vdata.join_missing;
    if (p->have_join && missing && dist_rank() == 0)
        warning("%llu records have no user in %s: their --numeric features are missing "
                "(the training mean is used)", (unsigned long long)missing, p->users);
}

/* Training and validation rows: --valid, or a seeded shuffle of the input
 * whose first round(frac n) rows validate. */
static void split(struct train *p)
{
    size_t n = p->data.n;
    if (n > UINT32_MAX || p->vdata.n > UINT32_MAX)
        die("%s: more than %u records", input_name(p), UINT32_MAX);
    if (p->valid) {
        p->ntrain = n;
        p->tidx = xreallocarray(NULL, n, sizeof *p->tidx);
        for (size_t i = 0; i < n; i++)
            p->tidx[i] = (uint32_t)i;
        /* under several ranks, each validates its block of the rows */
        size_t lo, hi;
        dist_block(p->vdata.n, &lo, &hi);
        p->nvalid = hi - lo;
        p->vidx = xreallocarray(NULL, p->nvalid + 1, sizeof *p->vidx);
        for (size_t i = 0; i < p->nvalid; i++)
            p->vidx[i] = (uint32_t)(lo + i);
        return;
    }
    uint32_t *perm = xreallocarray(NULL, n, sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    struct rng base, r;
    rng_init(&base, p->cli.seed);
    rng_split(&r, &base, STREAM_SPLIT + ((uint64_t)dist_rank() << 40));
    rng_shuffle(&r, perm, n);
    size_t nv = (size_t)llround(p->valid_frac * (double)n);
    nv = nv < 1 ? 1 : nv > n - 1 ? n - 1 : nv;
    p->nvalid = nv;
    p->ntrain = n - nv;
    p->vidx = perm;
    p->tidx = xreallocarray(NULL, p->ntrain, sizeof *p->tidx);
    memcpy(p->tidx, perm + nv, p->ntrain * sizeof *p->tidx);
    p->vidx = xreallocarray(perm, nv, sizeof *perm);
}

/* The seed of the initial weights: a stream of its own off --seed. */
static uint64_t weights_seed(const struct train *p)
{
    struct rng base, r;
    rng_init(&base, p->cli.seed);
    rng_split(&r, &base, STREAM_WEIGHTS);
    return rng_u64(&r);
}

static struct cnn_data *valid_data(struct train *p)
{
    return p->valid ? &p->vdata : &p->data;
}

/* Every numeric feature must have values somewhere in the training rows. */
static void check_numeric(const struct train *p)
{
    for (int k = 0; k < p->nnum; k++) {
        int64_t have = 0;
        for (size_t i = 0; i < p->ntrain && !have; i++)
            have += !isnan(p->data.num[(size_t)p->tidx[i] * p->nnum + k]);
        dist_sum_i64(&have, 1);
        if (!have)
            die("%s: field \"%s\": missing in every training record%s", input_name(p),
                p->num[k], p->users ? " and in the users view" : " (--users joins a users view)");
    }
}

static void prepare(struct train *p, float *mean, float *sd)
{
    check_numeric(p);
    if (dist_size() > 1)
        cnn_data_fit_scale_dist(&p->data, p->tidx, p->ntrain, mean, sd);
    else
        cnn_data_fit_scale(&p->data, p->tidx, p->ntrain, mean, sd);
    cnn_data_scale(&p->data, mean, sd);
    if (p->valid)
        cnn_data_scale(&p->vdata, mean, sd);
    /* counts over every rank's rows: rows, positives; validation the same */
    int64_t c[4] = {(int64_t)p->ntrain, (int64_t)cnn_data_positives(&p->data, p->tidx, p->ntrain),
                    (int64_t)p->nvalid,
                    (int64_t)cnn_data_positives(valid_data(p), p->vidx, p->nvalid)};
    dist_sum_i64(c, 4);
    size_t ntrain = (size_t)c[0], npos = (size_t)c[1], nvalid = (size_t)c[2];
    size_t vpos = (size_t)c[3];
    if (npos == 0 || npos == ntrain)
        die("%s: the training rows are all %s: a classifier needs both labels", input_name(p),
            npos ? "positive" : "negative");
    if (vpos == 0 || vpos == nvalid)
        die("%s: the validation rows are all %s: the AUC needs both labels%s",
            p->valid ? p->valid : input_name(p), vpos ? "positive" : "negative",
            p->valid ? "" : " (more records, or a larger --valid-frac)");
    if (p->balanced)
        p->fit.pos_weight = (double)(ntrain - npos) / (double)npos;
    if (dist_size() > 1)
        info("%d ranks: %zu training rows (%.1f%% positive), %zu validation rows; "
             "an effective batch of up to %d x %d", dist_size(), ntrain,
             100.0 * (double)npos / (double)ntrain, nvalid, dist_size(), p->fit.batch);
    else
        info("%zu training rows (%.1f%% positive), %zu validation rows", ntrain,
             100.0 * (double)npos / (double)ntrain, nvalid);
}

/* ---- the model -------------------------------------------------------------- */

static void write_options(struct train *p)
{
    ws *w = p->out;
    ws_opt_str(w, "model", p->logreg ? "logreg" : "cnn");
    if (p->logreg)
        lr_write_options(&p->lr, w);
    else
        cnn_write_options(&p->cnn, w);
    ws_opt_str(w, "numeric", p->numeric_arg ? p->numeric_arg : "");
    ws_opt_str(w, "users", p->users ? p->users : "");
    ws_opt_str(w, "label", p->label);
    ws_opt_str(w, "valid", p->valid ? p->valid : "");
    ws_opt_f64(w, "valid_frac", p->valid ? 0 : p->valid_frac);
    ws_opt_int(w, "epochs", p->fit.epochs);
    ws_opt_int(w, "batch", p->fit.batch);
    ws_opt_f64(w, "lr", p->fit.lr);
    ws_opt_str(w, "schedule", cnn_schedule_names[p->fit.schedule]);
    ws_opt_f64(w, "lr_decay", p->fit.lr_decay);
    ws_opt_f64(w, "l2", p->fit.l2);
    ws_opt_str(w, "class_weight", p->class_weight_arg);
    ws_opt_f64(w, "pos_weight", p->fit.pos_weight);
    ws_opt_int(w, "patience", p->fit.patience);
    ws_opt_int(w, "threads", p->threads);
    ws_opt_int(w, "seed", (int64_t)p->cli.seed);
    ws_header(w, p->logreg ? LR_KIND : CNN_KIND);
}

static void train_cnn(struct train *p)
{
    struct cnn_config *c = &p->cfg;
    c->L = p->data.L;
    for (int t = 0; t < c->ntok; t++) {
        /* every rank sizes the embedding by the largest vocabulary */
        int64_t gv = cnn_data_vocab(&p->data, t);
        dist_max_i64(&gv, 1);
        uint32_t v = gv > UINT32_MAX ? UINT32_MAX : (uint32_t)gv;
        if (v > (1u << 24))
            die("field \"%s\": ids up to %u; at most %u embedding rows", c->tok_name[t], v - 1,
                1u << 24);
        c->vocab[t] = (int)v;
        if (p->valid)
            cnn_data_cap_vocab(&p->vdata, t, v);
    }
    cnn_init(&p->cnn, c, p->num);
    prepare(p, p->cnn.num_mean, p->cnn.num_sd);
    cnn_init_weights(&p->cnn, weights_seed(p));
    cnn_train_alloc(&p->cnn);
    cnn_acts_init(&p->acts, &p->cnn, p->fit.batch, p->threads, true);
    struct cnn_learner L;
    cnn_learner(&L, &p->cnn, &p->acts);
    info("cnn: %d positions, embeddings of %d, widths %s, %d filters, %zu parameters; "
         "%d thread%s, OpenBLAS %s", c->L, p->cnn.E, p->widths_arg, c->filters, p->cnn.nparams,
         p->acts.nworkers, p->acts.nworkers == 1 ? "" : "s", openblas_get_corename());
    check_blas_core();
    cnn_fit(&p->res, &L, &p->data, p->tidx, p->ntrain, valid_data(p), p->vidx, p->nvalid,
            &p->fit);
}

static void train_logreg(struct train *p)
{
    lr_init(&p->lr, p->nnum, p->num);
    prepare(p, p->lr.num_mean, p->lr.num_sd);
    lr_init_weights(&p->lr, weights_seed(p));
    lr_train_alloc(&p->lr, p->fit.batch);
    struct cnn_learner L;
    lr_learner(&L, &p->lr);
    cnn_fit(&p->res, &L, &p->data, p->tidx, p->ntrain, valid_data(p), p->vidx, p->nvalid,
            &p->fit);
}

static void finish(struct train *p)
{
    if (p->out) {   /* rank 0 */
        write_options(p);
        if (p->logreg)
            lr_save(&p->lr, p->out, &p->res);
        else
            cnn_save(&p->cnn, p->out, &p->res);
        ws_close(p->out);
    }
    const struct cnn_epoch *b = &p->res.hist[p->res.best];
    double secs = 0;
    for (int e = 0; e < p->res.nhist; e++)
        secs += p->res.hist[e].train_seconds;
    if (p->logreg) {
        info("kept epoch %d of %d: valid AUC %.4f, valid loss %.4f", b->epoch, p->res.nhist,
             b->valid_auc, b->valid_loss);
        return;
    }
    double flops = cnn_flops_per_example(&p->cnn, true) * (double)p->res.ntrain * p->res.nhist;
    info("kept epoch %d of %d: valid AUC %.4f, valid loss %.4f; %.2f s per epoch, %.1f GFLOP/s",
         b->epoch, p->res.nhist, b->valid_auc, b->valid_loss, secs / p->res.nhist,
         secs > 0 ? flops / secs / 1e9 : 0.0);
}

static void cleanup(struct train *p)
{
    cnn_fit_result_release(&p->res);
    if (p->logreg)
        lr_release(&p->lr);
    else if (p->cnn.params) {
        cnn_acts_release(&p->acts);
        cnn_release(&p->cnn);
    }
    cnn_data_release(&p->data);
    if (p->valid)
        cnn_data_release(&p->vdata);
    if (p->have_join)
        cnn_join_release(&p->join);
    free(p->tidx);
    free(p->vidx);
    free(p->num);
}

int main(int argc, char **argv)
{
    struct train p;
    dist_init(&argc, &argv);
    parse_options(&p, argc, argv);
    /* The trainer's threads share each batch's convolution stage (common/cnn.c);
     * OpenBLAS runs single-threaded inside them: its own threads do not
     * speed up products this thin, and would compete with ours. */
    openblas_set_num_threads(p.bench_gemm ? p.threads : 1);
    if (p.bench_gemm) {
        bench_gemm(p.bench_gemm);
        return EXIT_OK;
    }
    /* only rank 0 writes: the other ranks never create the output */
    p.out = dist_rank() == 0 ? ws_open(p.cli.out, p.cli.level) : NULL;
    load(&p);
    split(&p);
    if (p.logreg)
        train_logreg(&p);
    else
        train_cnn(&p);
    finish(&p);
    cleanup(&p);
    return EXIT_OK;
}
