/* synth_dirt: realistic dirt mixed into a clean event log, one day at a time.
 *
 * Each clean event, in output order, starts a dirt record with probability
 * rho, of a kind drawn from sd_weights; rho is chosen so that dirt makes up
 * `rate` of the output records.  Dirt is drawn from its own random stream
 * (split by day), so the clean events and their order are the same whatever
 * the rate.  Every kind but out_of_order adds a record; out_of_order moves a
 * real event later in the output than its time, so removing the added
 * records and sorting the rest by time gives back the clean log exactly. */
#ifndef PROMO_SYNTH_DIRT_H
#define PROMO_SYNTH_DIRT_H

#include <stdint.h>

#include "rng.h"
#include "synth_sim.h"
#include "synth_world.h"

enum sd_kind {
    SD_CLEAN, SD_DUPLICATE, SD_NEAR_DUPLICATE, SD_MISSING_FIELD, SD_BAD_PRICE,
    SD_UNKNOWN_EVENT, SD_FUTURE_TS, SD_OUT_OF_ORDER, SD_BOT, SD_NKINDS,
};
extern const char *const sd_kind_names[SD_NKINDS];
/* The share of each kind among dirt records (SD_CLEAN 0). */
extern const double sd_weights[SD_NKINDS];

#define SD_BOT_VIEWS 2000.0   /* expected views per bot over the log */

struct sd_entry;

typedef struct sd {
    double rate, rho;
    struct rng root;
    const sw_world *w;
    uint32_t nbots;            /* bots are users nusers + 1 .. nusers + nbots */
    int64_t log_end;           /* the log's end (unix seconds, exclusive) */
    struct sd_entry *add;      /* the day's added records */
    size_t nadd, capadd;
    struct sd_entry *queue;    /* moved events waiting, by emit time */
    size_t qhead, nqueue, capqueue;
    uint64_t order;            /* tie-break for equal times */
} sd;

typedef void sd_emit_fn(void *ctx, const struct ss_ev *e);

/* rate in [0, 0.5]; expected_events: the clean log's expected size, which
 * sets the number of bots. */
sd *sd_new(const sw_world *w, double rate, uint64_t seed, int64_t log_end, double expected_events);
void sd_free(sd *d);
/* Emit one day's clean events (sorted by ss_sort) mixed with dirt, in
 * output order.  Marks the clean events that were moved. */
void sd_day(sd *d, struct ss_buf *clean, int64_t unix_day, sd_emit_fn *emit, void *ctx);
/* Emit the moved events still waiting at the end of the log. */
void sd_finish(sd *d, sd_emit_fn *emit, void *ctx);

#endif
