/* diag: the one place that prints diagnostics and chooses exit statuses.
 * Every message is "promo-NAME: WHERE: WHAT" on stderr.  Exit statuses are
 * EXIT_OK (0), EXIT_DATA (1, a data or runtime error) and EXIT_USAGE (2). */
#ifndef PROMO_DIAG_H
#define PROMO_DIAG_H

#include <stdarg.h>
#include <stdbool.h>

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2 };

#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* Set the program name used as the prefix of every message. */
void diag_init(const char *progname);
const char *diag_prog(void);
/* -q: silence everything but errors. */
void diag_set_quiet(bool quiet);
bool diag_quiet(void);

/* Print the message and exit 1, after the cleanup hooks ran. */
_Noreturn void die(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Print the message and a hint to use --help, exit 2. */
_Noreturn void die_usage(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Like die, with ": strerror(errno)" appended. */
_Noreturn void die_errno(const char *fmt, ...) PRINTF_LIKE(1, 2);
void error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void warning(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* An informational line (summaries); silent under -q. */
void info(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Exit with status after running the cleanup hooks (removes temp files). */
_Noreturn void diag_exit(int status);
/* For fuzzing and tests in one process: when set, diag_exit jumps to *jb
 * with the status (1 or 2) instead of exiting.  NULL restores exiting. */
#include <setjmp.h>
void diag_set_trap(jmp_buf *jb);
/* Hooks run by die and by fatal signals, newest first; for temporary files. */
void diag_on_exit(void (*fn)(void));

/* For jobs of several processes (common/dist.c): rank >= 0 is named after
 * the program in every message ("promo-NAME: rank R: ..."), info lines come
 * from rank 0 only, and a failure ends through fail(status) (MPI_Abort, so
 * the other ranks end too) once the hooks ran.  rank < 0: none of this. */
void diag_set_rank(int rank, void (*fail)(int status));

/* Invariant checks that stay on in release builds. */
#define CHECK(cond) \
    do { if (!(cond)) die("internal error: %s:%d: check failed: %s", __FILE__, __LINE__, #cond); } while (0)

#endif
