#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "diag.h"

#define MAX_STEP 65536
#define PRINT_INTERVAL 0.25   /* seconds: at most four lines per second */

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) * 1e-9;
}

void prog_init(struct progress *p, const char *what, bool forced)
{
    p->what = what;
    p->tty = isatty(STDERR_FILENO);
    p->enabled = !diag_quiet() && (forced || p->tty);
    p->shown = false;
    p->last_len = 0;
    p->done = 0;
    p->step = 1;
    /* Disabled, the inline prog_tick never calls out of its fast path. */
    p->next_check = p->enabled ? 1 : UINT64_MAX;
    clock_gettime(CLOCK_MONOTONIC, &p->start);
    p->last_print = p->start;
}

/* One line: rewritten in place on a terminal (blanking a longer previous
 * line), a whole line elsewhere.  final ends the terminal line too. */
static void print_line(struct progress *p, const struct timespec *now, bool final)
{
    if (diag_quiet())   /* -q may have been set after prog_init */
        return;
    double elapsed = seconds_between(&p->start, now);
    double rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char line[256];
    int len = snprintf(line, sizeof line, "%s: %llu %s, %.0f/s", diag_prog(),
                       (unsigned long long)p->done, p->what, rate);
    if (len < 0)
        return;
    if (p->tty) {
        int pad = p->last_len > len ? p->last_len - len : 0;
        fprintf(stderr, "\r%s%*s%s", line, pad, "", final ? "\n" : "");
        p->last_len = len;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    p->shown = true;
}

void prog_tick_slow(struct progress *p, uint64_t done)
{
    p->done = done;
    if (!p->enabled)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* Aim at ~16 clock reads a second: grow the step geometrically until
     * the rate is measurable, then size it from the rate. */
    double elapsed = seconds_between(&p->start, &now);
    if (elapsed >= 0.05) {
        double step = (double)done / elapsed / 16;
        p->step = step < 1 ? 1 : step > MAX_STEP ? MAX_STEP : (uint64_t)step;
    } else if (p->step < MAX_STEP) {
        p->step *= 2;
    }
    p->next_check = done + p->step;
    if (seconds_between(&p->last_print, &now) >= PRINT_INTERVAL) {
        print_line(p, &now, false);
        p->last_print = now;
    }
}

void prog_done(struct progress *p)
{
    if (!p->enabled || (p->tty && !p->shown))
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    print_line(p, &now, true);
    p->enabled = false;
    p->next_check = UINT64_MAX;
}
