/* promo-score: apply a model to records, adding the model's fields. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "diag.h"
#include "score.h"
#include "stream.h"

static const char help[] =
"promo-score: apply a model to records, adding its predictions as fields\n"
"\n"
"Usage: promo-score -m MODEL [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  -m, --model F      the model stream (any promoloop model)  [required]\n"
"  --recommend K      recommenders: each user's top K items  [default: off]\n"
"  --similar K        recommenders: K similar items per item  [default: off]\n"
"  --include-seen     recommenders: keep items the user already has\n"
"  --threads N        threads for BLAS work  [default: the library's]\n"
"  -o, --output F     write to F, atomically  [default: stdout]\n"
"  --level N          gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet        print nothing but errors\n"
"  --progress         report progress on stderr\n"
"  --help             show this help\n"
"  --version          show the version\n"
"\n"
"The model's kind (in its header) chooses what is added; see the model's\n"
"page in docs/ for the fields.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-score -m segments.mpz users.mpz | promo-cat --fields user,segment\n";

enum { O_RECOMMEND = CLI_FIRST_FREE, O_SIMILAR, O_SEEN, O_THREADS };

static const struct scorer *find_scorer(const char *kind)
{
    for (const struct scorer *const *s = score_table; *s; s++)
        if (strcmp((*s)->kind, kind) == 0)
            return *s;
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION,
        {"model", required_argument, 0, 'm'},
        {"recommend", required_argument, 0, O_RECOMMEND},
        {"similar", required_argument, 0, O_SIMILAR},
        {"include-seen", no_argument, 0, O_SEEN},
        {"threads", required_argument, 0, O_THREADS},
        {0, 0, 0, 0},
    };
    struct cli cli;
    struct score_opts so = {0};
    const char *model = NULL;
    cli_init(&cli, argv[0]);
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:qm:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'm': model = optarg; break;
        case O_RECOMMEND: so.recommend = cli_int("--recommend", optarg, 1, 100000); break;
        case O_SIMILAR: so.similar = cli_int("--similar", optarg, 1, 100000); break;
        case O_SEEN: so.include_seen = true; break;
        case O_THREADS: so.threads = (int)cli_int("--threads", optarg, 1, 256); break;
        default:
            if (!cli_common(&cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (!model)
        die_usage("a model is required: -m MODEL");

    const char *mpaths[] = {model};
    rs *m = rs_open(mpaths, 1, "model/");
    const struct scorer *sc = find_scorer(rs_kind(m));
    if (!sc)
        die("%s: no scorer for models of kind \"%s\"", model, rs_kind(m));
    void *state = sc->load(m, &so);
    rs_free(m);

    rs *in = rs_open((const char *const *)argv + optind, argc - optind, NULL);
    ws *w = ws_open(cli.out, cli.level);
    ws_opt_str(w, "model", model);
    ws_opt_str(w, "model_kind", sc->kind);
    if (so.recommend)
        ws_opt_int(w, "recommend", so.recommend);
    if (so.similar)
        ws_opt_int(w, "similar", so.similar);
    ws_header(w, sc->out_kind(state, rs_kind(in)));
    while (rs_next(in))
        sc->record(state, in, w);
    sc->finish(state, w);
    ws_close(w);
    sc->free(state);
    rs_free(in);
    return EXIT_OK;
}
