#include "diag.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog = "promo";
static bool quiet;

#define MAX_HOOKS 8
static void (*hooks[MAX_HOOKS])(void);
static int nhooks;
static jmp_buf *trap;
static int rank = -1;
static void (*fail)(int status);

void diag_set_rank(int r, void (*fn)(int status))
{
    rank = r;
    fail = r >= 0 ? fn : NULL;
}

void diag_set_trap(jmp_buf *jb) { trap = jb; }

static void run_hooks(void)
{
    /* Each hook runs once even if a hook itself dies. */
    while (nhooks > 0) {
        void (*fn)(void) = hooks[--nhooks];
        fn();
    }
}

static void on_signal(int sig)
{
    run_hooks();
    signal(sig, SIG_DFL);
    raise(sig);
}

void diag_init(const char *progname)
{
    const char *slash = strrchr(progname, '/');
    prog = slash ? slash + 1 : progname;
    /* A closed downstream pipe ends us quietly, as for any Unix filter. */
    signal(SIGPIPE, SIG_DFL);
    /* Interrupts remove temporary outputs before the process ends. */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
}

const char *diag_prog(void) { return prog; }
void diag_set_quiet(bool q) { quiet = q; }
bool diag_quiet(void) { return quiet; }

void diag_on_exit(void (*fn)(void))
{
    CHECK(nhooks < MAX_HOOKS);
    hooks[nhooks++] = fn;
}

_Noreturn void diag_exit(int status)
{
    run_hooks();
    if (trap)
        longjmp(*trap, status ? status : EXIT_DATA);
    fflush(stdout);
    fflush(stderr);
    /* A failure ends here without atexit handlers: what it leaves is
     * abandoned by design, like git's die (and LeakSanitizer then checks
     * only the runs that finish). */
    if (status != EXIT_OK) {
        if (fail)
            fail(status);
        _exit(status);
    }
    exit(status);
}

/* Under several ranks a message is one fprintf (one write on the
 * unbuffered stderr), so the ranks' lines do not interleave. */
static bool vmsg_ranked(const char *kind, const char *fmt, va_list ap, const char *suffix)
{
    char *body;
    if (rank < 0 || vasprintf(&body, fmt, ap) < 0)
        return false;
    fprintf(stderr, "%s: rank %d: %s%s%s%s\n", prog, rank, kind, body, suffix ? ": " : "",
            suffix ? suffix : "");
    free(body);
    return true;
}

static void vmsg(const char *fmt, va_list ap, const char *suffix)
{
    fflush(stdout);
    va_list aq;
    va_copy(aq, ap);
    bool done = vmsg_ranked("", fmt, aq, suffix);
    va_end(aq);
    if (done)
        return;
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    if (suffix)
        fprintf(stderr, ": %s", suffix);
    fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, NULL);
    va_end(ap);
    diag_exit(EXIT_DATA);
}

void die_errno(const char *fmt, ...)
{
    const char *why = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, why);
    va_end(ap);
    diag_exit(EXIT_DATA);
}

void die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, NULL);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", prog);
    diag_exit(EXIT_USAGE);
}

void error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, NULL);
    va_end(ap);
}

void warning(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    va_list aq;
    va_copy(aq, ap);
    bool done = vmsg_ranked("warning: ", fmt, aq, NULL);
    va_end(aq);
    if (!done) {
        fprintf(stderr, "%s: warning: ", prog);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

void info(const char *fmt, ...)
{
    if (quiet || rank > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, NULL);
    va_end(ap);
}
