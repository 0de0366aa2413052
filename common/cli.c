#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "stream.h"
#include "xalloc.h"

void cli_init(struct cli *c, const char *progname)
{
    diag_init(progname);
    memset(c, 0, sizeof *c);
    c->level = WS_LEVEL_DEFAULT;
    opterr = 0;   /* getopt's own messages lack our prefix */
}

bool cli_common(struct cli *c, int opt, const char *arg, const char *help, char **argv)
{
    switch (opt) {
    case CLI_HELP:
        fputs(help, stdout);
        if (fflush(stdout) != 0 || ferror(stdout))
            die_errno("stdout: write error");
        exit(EXIT_OK);
    case CLI_VERSION:
        printf("%s %s\n", diag_prog(), PROMO_VERSION);
        exit(EXIT_OK);
    case 'o':
        c->out = strcmp(arg, "-") == 0 ? NULL : arg;
        return true;
    case 'q':
        c->quiet = true;
        diag_set_quiet(true);
        return true;
    case CLI_PROGRESS:
        c->progress = true;
        return true;
    case CLI_LEVEL:
        c->level = (int)cli_int("--level", arg, 0, 9);
        return true;
    case CLI_SEED:
        c->seed = (uint64_t)cli_int("--seed", arg, 0, INT64_MAX);
        return true;
    case ':':
        die_usage("option '%s' needs a value", argv[optind - 1]);
    case '?':
        if (optopt && optopt < 0x100)
            die_usage("unknown option '-%c'", optopt);
        die_usage("unknown option '%s'", argv[optind - 1]);
    }
    return false;
}

long long cli_int(const char *opt, const char *s, long long min, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        die_usage("%s: expected a whole number, got \"%s\"", opt, s);
    if (v < min || v > max)
        die_usage("%s: expected %lld to %lld, got %lld", opt, min, max, v);
    return v;
}

double cli_f64(const char *opt, const char *s, double min, double max)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        die_usage("%s: expected a number, got \"%s\"", opt, s);
    if (v < min || v > max)
        die_usage("%s: expected %g to %g, got %g", opt, min, max, v);
    return v;
}

uint64_t cli_size(const char *opt, const char *s)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || s[0] == '-' || errno == ERANGE)
        die_usage("%s: expected a size such as 512M, got \"%s\"", opt, s);
    int shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        die_usage("%s: expected a size such as 512M, got \"%s\"", opt, s);
    return (uint64_t)v << shift;
}

int cli_choice(const char *opt, const char *arg, const char *const *choices)
{
    int n = 0;
    for (; choices[n]; n++)
        if (strcmp(arg, choices[n]) == 0)
            return n;
    char list[512] = "";
    for (int i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
        strncat(list, sep, sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    die_usage("%s: expected %s, got \"%s\"", opt, list, arg);
}

char **cli_list(const char *s, int *n)
{
    int count = 1;
    for (const char *p = s; *p; p++)
        count += *p == ',';
    size_t len = strlen(s) + 1;
    char **v = xmalloc((count + 1) * sizeof *v + len);
    char *copy = (char *)(v + count + 1);
    memcpy(copy, s, len);
    int i = 0;
    for (char *tok = copy;; i++) {
        v[i] = tok;
        char *comma = strchr(tok, ',');
        if (!comma)
            break;
        *comma = '\0';
        tok = comma + 1;
    }
    v[count] = NULL;
    *n = count;
    return v;
}
