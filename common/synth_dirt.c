/* Dirt injection: which records, of which kind, and where they go. */
#include "synth_dirt.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

const char *const sd_kind_names[SD_NKINDS] = {
    "clean", "duplicate", "near_duplicate", "missing_field", "bad_price",
    "unknown_event", "future_ts", "out_of_order", "bot",
};
const double sd_weights[SD_NKINDS] = {
    0, 0.15, 0.10, 0.15, 0.10, 0.10, 0.05, 0.10, 0.25,
};

/* A record with the time that places it in the output. */
struct sd_entry {
    int64_t at;                /* added: the place; moved: the emit time */
    uint64_t order;
    struct ss_ev ev;
};

sd *sd_new(const sw_world *w, double rate, uint64_t seed, int64_t log_end, double expected_events)
{
    CHECK(rate >= 0 && rate <= 0.5);
    sd *d = xcalloc(1, sizeof *d);
    d->w = w;
    d->rate = rate;
    /* Added records are rho (1 - w_moved) of the clean ones, dirt records
     * rho of them: rate = rho / (1 + rho (1 - w_moved)). */
    d->rho = rate / (1 - rate * (1 - sd_weights[SD_OUT_OF_ORDER]));
    struct rng r;
    rng_init(&r, seed);
    rng_split(&d->root, &r, w->seed ^ UINT64_C(0xd1b54a32d192ed03));
    d->log_end = log_end;
    double bot_views = d->rho * sd_weights[SD_BOT] * expected_events;
    d->nbots = bot_views / SD_BOT_VIEWS > 1.5 ? (uint32_t)(bot_views / SD_BOT_VIEWS + 0.5) : 1;
    return d;
}

void sd_free(sd *d)
{
    if (!d)
        return;
    free(d->add);
    free(d->queue);
    free(d);
}

static int cmp_entry(const void *pa, const void *pb)
{
    const struct sd_entry *a = pa, *b = pb;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Insert a moved event into the queue, kept sorted by (at, order). */
static void queue_push(sd *d, const struct ss_ev *e, int64_t at)
{
    if (d->qhead > 0 && d->nqueue == d->capqueue) {
        memmove(d->queue, d->queue + d->qhead, (d->nqueue - d->qhead) * sizeof *d->queue);
        d->nqueue -= d->qhead;
        d->qhead = 0;
    }
    XGROW(d->queue, d->capqueue, d->nqueue + 1);
    struct sd_entry x = {at, d->order++, *e};
    size_t lo = d->qhead, hi = d->nqueue;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_entry(&d->queue[mid], &x) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(d->queue + lo + 1, d->queue + lo, (d->nqueue - lo) * sizeof *d->queue);
    d->queue[lo] = x;
    d->nqueue++;
}

/* Emit the moved events due before a record placed at `at`. */
static void queue_emit(sd *d, int64_t at, sd_emit_fn *emit, void *ctx)
{
    while (d->qhead < d->nqueue && d->queue[d->qhead].at <= at)
        emit(ctx, &d->queue[d->qhead++].ev);
    if (d->qhead == d->nqueue)
        d->qhead = d->nqueue = 0;
}

static struct ss_ev *add_record(sd *d, const struct ss_ev *src, int64_t at, enum sd_kind kind)
{
    XGROW(d->add, d->capadd, d->nadd + 1);
    struct sd_entry *x = &d->add[d->nadd++];
    x->at = at;
    x->order = d->order++;
    x->ev = *src;
    x->ev.dirt = (uint8_t)kind;
    return &x->ev;
}

/* Draw the dirt one clean event starts. */
static void make_dirt(sd *d, struct rng *r, struct ss_ev *e, int64_t unix_day)
{
    bool behaviour = e->type <= SS_PURCHASE;
    double wts[SD_NKINDS];
    memcpy(wts, sd_weights, sizeof wts);
    if (!behaviour)
        wts[SD_BAD_PRICE] = 0;   /* treat and control events have no price */
    enum sd_kind kind = (enum sd_kind)rng_categorical(r, wts, SD_NKINDS);
    struct ss_ev *x;
    switch (kind) {
    case SD_OUT_OF_ORDER:
        e->dirt = SD_OUT_OF_ORDER;
        queue_push(d, e, e->ts + 60 + (int64_t)rng_exponential(r, 1 / 10800.0));
        break;
    case SD_DUPLICATE:
        add_record(d, e, e->ts, kind);
        break;
    case SD_NEAR_DUPLICATE: {
        /* 1 to 4 s later: a user's views of one item are 5 s apart at least. */
        int64_t ts = e->ts + 1 + (int64_t)rng_below(r, 4);
        add_record(d, e, ts, kind)->ts = ts;
        break;
    }
    case SD_MISSING_FIELD: {
        static const uint8_t behaviour_fields[] = {SS_F_USER, SS_F_ITEM, SS_F_EVENT, SS_F_TS};
        static const uint8_t campaign_fields[] = {SS_F_USER, SS_F_EVENT, SS_F_TS};
        x = add_record(d, e, e->ts, kind);
        x->nil_field = behaviour ? behaviour_fields[rng_below(r, 4)] : campaign_fields[rng_below(r, 3)];
        break;
    }
    case SD_BAD_PRICE:
        x = add_record(d, e, e->ts, kind);
        x->price = rng_below(r, 2) ? 0 : -x->price;
        break;
    case SD_UNKNOWN_EVENT:
        add_record(d, e, e->ts, kind)->bad_event = (uint8_t)(1 + rng_below(r, SS_NBAD_EVENTS));
        break;
    case SD_FUTURE_TS:
        add_record(d, e, e->ts, kind)->ts = d->log_end + 3600 + (int64_t)rng_below(r, 30 * SS_DAY);
        break;
    case SD_BOT: {
        struct ss_ev bot = {0};
        bot.user = (uint32_t)d->w->nusers + 1 + (uint32_t)rng_below(r, d->nbots);
        bot.item = 1 + (uint32_t)rng_below(r, (uint64_t)d->w->nitems);
        bot.category = sw_item(d->w, bot.item)->category;
        bot.price = sw_item(d->w, bot.item)->price;
        bot.ts = e->ts;
        bot.session = unix_day * INT64_C(1000000000000) + (int64_t)bot.user * 100;
        bot.type = SS_VIEW;
        bot.offer = -1;
        add_record(d, &bot, e->ts, kind);
        break;
    }
    default:
        CHECK(!"a dirt kind");
    }
}

void sd_day(sd *d, struct ss_buf *clean, int64_t unix_day, sd_emit_fn *emit, void *ctx)
{
    struct rng r;
    rng_split(&r, &d->root, (uint64_t)unix_day);
    d->nadd = 0;
    for (size_t j = 0; j < clean->n; j++)
        if (rng_uniform(&r) < d->rho)
            make_dirt(d, &r, &clean->ev[j], unix_day);
    if (d->nadd > 1)
        qsort(d->add, d->nadd, sizeof *d->add, cmp_entry);

    /* Merge: clean events first at equal times, moved events once due. */
    size_t i = 0, k = 0;
    while (i < clean->n || k < d->nadd) {
        bool take_clean = k == d->nadd || (i < clean->n && clean->ev[i].ts <= d->add[k].at);
        if (take_clean) {
            const struct ss_ev *e = &clean->ev[i++];
            if (e->dirt == SD_OUT_OF_ORDER)
                continue;
            queue_emit(d, e->ts, emit, ctx);
            emit(ctx, e);
        } else {
            queue_emit(d, d->add[k].at, emit, ctx);
            emit(ctx, &d->add[k++].ev);
        }
    }
}

void sd_finish(sd *d, sd_emit_fn *emit, void *ctx)
{
    queue_emit(d, INT64_MAX, emit, ctx);
}
