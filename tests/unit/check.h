/* check.h: a tiny TAP producer for C unit tests.  Each CHECK_* prints one
 * "ok N - what" or "not ok N - what" line; check_done() returns the exit
 * status (1 when anything failed), so a failing test can never exit 0. */
#ifndef PROMO_CHECK_H
#define PROMO_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_n, check_failed;

static inline int check_report(int ok, const char *file, int line, const char *what)
{
    check_n++;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", check_n, what);
    if (!ok) {
        check_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    return ok;
}

#define CHECK_TRUE(cond, what) check_report(!!(cond), __FILE__, __LINE__, what)
#define CHECK_EQ_INT(got, want, what) do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!check_report(g_ == w_, __FILE__, __LINE__, what)) \
            printf("#   got %lld, want %lld\n", g_, w_); } while (0)
#define CHECK_EQ_STR(got, want, what) do { \
        const char *g_ = (got), *w_ = (want); \
        if (!check_report(g_ && w_ && strcmp(g_, w_) == 0, __FILE__, __LINE__, what)) \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); } while (0)
/* |got - want| <= tol * max(1, |want|) */
#define CHECK_NEAR(got, want, tol, what) do { \
        double g_ = (got), w_ = (want); \
        double s_ = fabs(w_) > 1 ? fabs(w_) : 1; \
        if (!check_report(fabs(g_ - w_) <= (tol) * s_, __FILE__, __LINE__, what)) \
            printf("#   got %.17g, want %.17g\n", g_, w_); } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_n);
    return check_failed ? 1 : 0;
}

#endif
