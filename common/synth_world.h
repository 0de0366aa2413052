/* synth_world: the hidden state of the simulated shop and its response
 * model (docs/synth.md writes the model down).
 *
 * A world is archetypes, categories, items and users, generated from a
 * seed and the archetype table, saved as a stream of kind "world" and
 * loaded back bit for bit.  Everything the simulator (synth_sim) and the
 * truth need to know about a user's behaviour and response to an offer is
 * computed here, so the planner's tests can use the same model.
 *
 * Ids are 1-based in streams and in every function taking a user, item or
 * category; the arrays behind them are 0-based (users[u - 1]). */
#ifndef PROMO_SYNTH_WORLD_H
#define PROMO_SYNTH_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "rng.h"
#include "stream.h"

/* ---- parameter tables: archetypes and offers ---------------------------- */

enum sw_group { SW_PERSUADABLE, SW_SURE_THING, SW_LOST_CAUSE, SW_DO_NOT_DISTURB, SW_NGROUPS };
extern const char *const sw_group_names[SW_NGROUPS];

#define SW_NAME_MAX 32   /* archetype names and offer ids, NUL included */
#define SW_MAX_ARCH 64
#define SW_MAX_OFFERS 64

struct sw_archetype {
    char name[SW_NAME_MAX];
    double share;              /* relative weight of the archetype */
    double visit_rate;         /* mean sessions per day */
    double views_per_session;  /* mean views per session, >= 1 */
    double propensity;         /* purchase probability per view before the
                                * uplift group's multiplier */
    double checkout;           /* P(purchase | cart) */
    double quantity;           /* mean extra units per cart (Poisson) */
    double price_sensitivity;  /* mean of the users' price sensitivity */
    double favorite_rate;      /* share of views that go to a favourite */
    double group[SW_NGROUPS];  /* shares of the four uplift groups (sum 1) */
    double lift;               /* persuadables' mean largest lift */
    double drop;               /* do-not-disturb users' mean drop */
};

struct sw_archetypes {
    struct sw_archetype a[SW_MAX_ARCH];
    int n;
};

enum sw_offer_type { SW_PERCENT, SW_FIXED };

struct sw_offer {
    char id[SW_NAME_MAX];
    enum sw_offer_type type;
    double value;              /* PERCENT: fraction off; FIXED: money off an order */
    double cost;               /* cost of one send */
};

struct sw_offers {
    struct sw_offer o[SW_MAX_OFFERS];
    int n;
};

/* The built-in tables, identical to data/archetypes.csv and data/offers.csv
 * (a unit test compares them), so no file is needed to run. */
void sw_archetypes_default(struct sw_archetypes *t);
void sw_offers_default(struct sw_offers *t);
/* Read a CSV table; dies with "FILE: line N, column M: ..." on any error.
 * Archetype shares, and each archetype's group shares, must sum to 1
 * (within 1e-6; they are used as given). */
void sw_archetypes_load(struct sw_archetypes *t, const char *path);
void sw_offers_load(struct sw_offers *t, const char *path);
/* The offer's index by id, or -1. */
int sw_offer_find(const struct sw_offers *t, const char *id, size_t len);

/* ---- the world ----------------------------------------------------------- */

#define SW_NFAV 3   /* favourite items per user */

struct sw_category {
    double price_level;        /* typical price in the category */
    double bias;               /* popularity of the category (logit) */
};

struct sw_item {
    uint32_t category;         /* 1-based */
    double price;              /* list price */
    double margin;             /* share of the price that is profit */
    double popularity;         /* relative weight within the category */
};

struct sw_user {
    uint16_t arch;             /* index into arch[] */
    uint8_t group;             /* enum sw_group */
    double propensity;         /* purchase probability per view */
    double price_sensitivity;
    double visit_rate;         /* mean sessions per day */
    double lift_percent;       /* persuadables: largest lift from a percent offer */
    double lift_fixed;         /* ... and from a fixed-value offer */
    double drop;               /* do-not-disturb: purchase drop when contacted */
    double wish_rate;          /* P(a view is wish-listed) */
    uint32_t fav[SW_NFAV];     /* favourite items, 1-based */
};

typedef struct sw_world {
    uint64_t seed;
    int nusers, nitems, ncats, rank;
    struct sw_archetypes arch;
    struct sw_category *cats;  /* [ncats] */
    float *catvec;             /* [ncats x rank] category factors */
    struct sw_item *items;     /* [nitems] */
    struct sw_user *users;     /* [nusers] */
    float *pref;               /* [nusers x rank] user factors */
    /* How users wish-list (set before sw_generate; kept as header options):
     * a view is wish-listed with probability wish_base times a log-normal,
     * times 1 + deal_signal * (the user's extra purchases under 20% off). */
    double wish_base, deal_signal;

    /* Derived by sw_new's callers through sw_prepare, never saved. */
    double log_price_ref;      /* mean log price level of the categories */
    uint32_t *cat_items;       /* items grouped by category, 1-based ids [nitems] */
    uint32_t *cat_start;       /* category c's items: cat_items[cat_start[c-1] .. cat_start[c]) */
    double *cat_cum;           /* cumulative popularity along cat_items [nitems] */
    double *cat_price;         /* popularity-weighted mean price per category [ncats] */
    double *cat_pm;            /* ... mean price * margin [ncats] */
} sw_world;

/* Limits on the sizes, checked by the options and by the loader. */
#define SW_MAX_USERS 100000000
#define SW_MAX_ITEMS 100000000
#define SW_MAX_CATS 10000
#define SW_MAX_RANK 256

/* An empty world of these sizes (all arrays allocated, zeroed). */
sw_world *sw_new(int nusers, int nitems, int ncats, int rank, const struct sw_archetypes *arch);
void sw_free(sw_world *w);
/* Draw every category, item and user from the seed. */
void sw_generate(sw_world *w, uint64_t seed);
/* Write the header (kind "world", sizes and seed as options) and records. */
void sw_write(const sw_world *w, ws *out, const char *archetypes_src);
/* Load a world stream; dies naming the file and record on any error. */
sw_world *sw_load(const char *path);
/* Compute the derived arrays (sw_generate and sw_load call it). */
void sw_prepare(sw_world *w);

static inline const struct sw_user *sw_user(const sw_world *w, uint32_t u) { return &w->users[u - 1]; }
static inline const struct sw_item *sw_item(const sw_world *w, uint32_t i) { return &w->items[i - 1]; }
static inline const struct sw_archetype *sw_arch_of(const sw_world *w, uint32_t u)
{
    return &w->arch.a[w->users[u - 1].arch];
}

/* ---- behaviour and response -------------------------------------------- */

/* An item of category c (1-based) by popularity, for u uniform in [0, 1). */
uint32_t sw_pick_item(const sw_world *w, uint32_t c, double u);

/* Weekly rhythm (Monday first, mean 1) and hourly profile of session starts
 * (weights, UTC hours). */
extern const double sw_week[7];
extern const double sw_hour[24];
/* Day of the week of a unix day number, Monday 0. */
static inline int sw_dow(int64_t unix_day) { return (int)(((unix_day + 3) % 7 + 7) % 7); }

/* The caps that keep probabilities valid. */
#define SW_P_MAX 0.95        /* purchase probability per view */
#define SW_RESPONSE_K 5.0    /* steepness of the persuadables' response */
#define SW_WISH_MAX 0.5      /* wish-list probability per view */
#define SW_WISH_BASE 0.02    /* the defaults of wish_base and deal_signal */
#define SW_DEAL_SIGNAL 2.0

/* P(category c | user) for c = 1..ncats into p[0..ncats). */
void sw_cat_probs(const sw_world *w, uint32_t user, double *p);
/* Expected price and price * margin of one purchased unit for the user
 * (favourites and categories mixed as the simulator chooses). */
void sw_item_means(const sw_world *w, uint32_t user, const double *cat_p, double *price, double *pm);
/* A persuadable's extra purchases under 20% off (the multiplier less 1);
 * 0 for the other groups.  Drives the wish-list rate. */
double sw_deal_proneness(const struct sw_user *us);
/* Purchase probability multiplier when the user holds the offer. */
double sw_multiplier(const sw_world *w, uint32_t user, const struct sw_offer *o);

/* Expected outcomes of one user over a period. */
struct sw_expect {
    double sessions, views;
    double purchases;          /* purchase events */
    double conversion;         /* P(at least one purchase) */
    double revenue;            /* price * quantity - discount */
    double profit;             /* margin - discount - cost of the send */
    double discount;
};

/* Per fixed-value offer, E[min(value, price * quantity)] by archetype and
 * category (popularity-weighted); [narch x ncats], free() it. */
double *sw_fixed_table(const sw_world *w, double value);
/* days_weight: the sum of sw_week over the period's days (the number of
 * days when it spans whole weeks).  o NULL: no offer; fixed_tab: from
 * sw_fixed_table(o->value) when o is fixed. */
void sw_expect(const sw_world *w, uint32_t user, double days_weight,
               const struct sw_offer *o, const double *fixed_tab, struct sw_expect *e);
/* Expected clean events (views, carts, purchases) per day, all users. */
double sw_events_per_day(const sw_world *w);

#endif
