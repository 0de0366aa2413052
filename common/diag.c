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
    if (status != EXIT_OK)
        _exit(status);
    exit(status);
}

static void vmsg(const char *fmt, va_list ap, const char *suffix)
{
    fflush(stdout);
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
    fprintf(stderr, "%s: warning: ", prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void info(const char *fmt, ...)
{
    if (quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg(fmt, ap, NULL);
    va_end(ap);
}
