/* progress: a "promo-NAME: 1234567 records, 845000/s" line on stderr for
 * long work, shown when stderr is a terminal or --progress forced it, and
 * never under -q.  On a terminal the line is rewritten in place with \r;
 * forced onto a file or pipe, each update is its own \n-terminated line.
 * Never writes to stdout. */
#ifndef PROMO_PROGRESS_H
#define PROMO_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Caller-owned; fields are private to progress.c. */
struct progress {
    const char *what;          /* unit, e.g. "records"; borrowed, must outlive p */
    bool enabled, tty;
    bool shown;                /* a line was printed (so the tty needs a \n) */
    int last_len;              /* length of the last tty line, to blank it */
    uint64_t done;             /* the last count given */
    uint64_t next_check;       /* the count at which to read the clock next */
    uint64_t step;             /* counts between clock reads */
    struct timespec start, last_print;
};

/* Start timing.  forced: --progress was given (show even off a terminal). */
void prog_init(struct progress *p, const char *what, bool forced);
/* Report that done units are finished so far; cheap enough for every
 * record: the clock is read at most every few thousand counts, and a
 * line printed at most four times per second. */
void prog_tick_slow(struct progress *p, uint64_t done);
static inline void prog_tick(struct progress *p, uint64_t done)
{
    if (done >= p->next_check)
        prog_tick_slow(p, done);
    else
        p->done = done;
}
/* The final line with the total and the average rate (terminated by \n).
 * On a terminal it is printed only if a progress line already was, so
 * short runs stay silent; forced, it is always printed. */
void prog_done(struct progress *p);

#endif
