/* cli: the options every program shares and checked option values.
 * A bad value is a usage error (exit 2) naming the option. */
#ifndef PROMO_CLI_H
#define PROMO_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

/* getopt_long values of the shared long-only options. */
enum { CLI_HELP = 0x1000, CLI_VERSION, CLI_LEVEL, CLI_PROGRESS, CLI_SEED, CLI_FIRST_FREE };

#define CLI_COMMON_OPTIONS                                   \
    {"help", no_argument, 0, CLI_HELP},                      \
    {"version", no_argument, 0, CLI_VERSION},                \
    {"output", required_argument, 0, 'o'},                   \
    {"quiet", no_argument, 0, 'q'},                          \
    {"progress", no_argument, 0, CLI_PROGRESS}
#define CLI_LEVEL_OPTION {"level", required_argument, 0, CLI_LEVEL}
#define CLI_SEED_OPTION {"seed", required_argument, 0, CLI_SEED}

struct cli {
    const char *out;     /* -o FILE, NULL for stdout */
    int level;           /* --level N */
    bool quiet, progress;
    uint64_t seed;       /* --seed N */
};

/* Start: names the program for diagnostics, sets defaults. */
void cli_init(struct cli *c, const char *progname);
/* Handle a shared option (or a getopt error); false if opt is not one.
 * help is printed to stdout for --help. */
bool cli_common(struct cli *c, int opt, const char *arg, const char *help, char **argv);
/* Checked values: the whole string, within [min, max]. */
long long cli_int(const char *opt, const char *s, long long min, long long max);
double cli_f64(const char *opt, const char *s, double min, double max);
/* A size with an optional K, M or G suffix (powers of 1024). */
uint64_t cli_size(const char *opt, const char *s);
/* The index of arg among the NULL-terminated choices; dies with
 * "OPT: expected a, b or c, got "arg"" when it is none of them. */
int cli_choice(const char *opt, const char *arg, const char *const *choices);
/* Split "a,b,c" into a NULL-terminated array of strings (one allocation). */
char **cli_list(const char *s, int *n);

#endif
