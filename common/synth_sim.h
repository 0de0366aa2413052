/* synth_sim: one user's day in the simulated shop, as events.
 *
 * Each (user, day) draws from its own random stream, split from the
 * behaviour stream by user id and then by unix day number, so a user's day
 * is the same whatever else is simulated (other users, other days, dirt),
 * and the day of a treated user differs from the untreated day only in the
 * cart and purchase outcomes (every draw is made either way; wish-list
 * adds draw from a stream of their own, so they do not move the others).  The
 * events of all users of one day are then sorted by time and written. */
#ifndef PROMO_SYNTH_SIM_H
#define PROMO_SYNTH_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "stream.h"
#include "synth_world.h"

enum ss_type { SS_VIEW, SS_WISH, SS_CART, SS_PURCHASE, SS_TREAT, SS_CONTROL, SS_NTYPES };
extern const char *const ss_type_names[SS_NTYPES];

/* Fields a "missing field" dirt record has nil (ss_ev.nil_field). */
enum ss_field { SS_F_NONE, SS_F_USER, SS_F_ITEM, SS_F_EVENT, SS_F_TS };

/* One event; 0 (or -1 for offer) means "none", written as nil.  The last
 * three fields mark dirt (synth_dirt) and are 0 for a clean event. */
struct ss_ev {
    int64_t ts;                /* unix seconds */
    int64_t session;           /* unix_day * 10^12 + user * 100 + k */
    double price;              /* unit list price (view, wish, cart, purchase) */
    double discount;           /* money off a purchase */
    uint32_t user, item, category;
    uint32_t seq;              /* generation order within the user-day */
    int32_t campaign;
    int16_t offer;             /* index into the offers table */
    uint8_t type;              /* enum ss_type */
    uint8_t qty;               /* cart and purchase quantity */
    uint8_t dirt;              /* dirt kind, 0 clean */
    uint8_t nil_field;         /* enum ss_field */
    uint8_t bad_event;         /* 1-based index into ss_bad_event_names */
};

/* Event names that are not ours, for "unknown event" dirt. */
#define SS_NBAD_EVENTS 5
extern const char *const ss_bad_event_names[SS_NBAD_EVENTS];

/* A growable array of events, caller-owned. */
struct ss_buf {
    struct ss_ev *ev;
    size_t n, cap;
};
void ss_buf_release(struct ss_buf *b);
struct ss_ev *ss_push(struct ss_buf *b);

/* The offer a user holds on a day. */
struct ss_treat {
    int offer;                 /* index into the offers table */
    int32_t campaign;
    double mult;               /* sw_multiplier of the user and offer */
};

/* Scratch space of one simulation, reused across users. */
struct ss_sim {
    const sw_world *w;
    const struct sw_offers *offers;
    struct rng behaviour;      /* the stream the user-day streams split from */
    double *cat_cum;           /* [ncats] */
};

void ss_init(struct ss_sim *s, const sw_world *w, const struct sw_offers *offers, uint64_t seed);
void ss_release(struct ss_sim *s);
/* Append the events of the user's sessions that start on the day (unsorted
 * across sessions; a session started late may run past midnight).  t NULL:
 * no offer held.  Returns the number of purchases. */
int ss_user_day(struct ss_sim *s, uint32_t user, int64_t unix_day, const struct ss_treat *t,
                struct ss_buf *out);
/* A "treat" or "control" event at the start of the day. */
void ss_campaign_event(struct ss_buf *out, uint32_t user, int64_t unix_day, enum ss_type type,
                       int32_t campaign, int offer);
/* Sort b->ev[from, to) by (ts, user, session, seq). */
void ss_sort(struct ss_buf *b, size_t from, size_t to);
/* The record of one event: always the same 11 keys, nil where none. */
void ss_pack(msgpack_packer *pk, const struct ss_ev *e, const struct sw_offers *offers);
/* The same record appended to a stream, packed in one piece (faster). */
void ss_write(ws *w, const struct ss_ev *e, const struct sw_offers *offers);

#define SS_DAY 86400

#endif
