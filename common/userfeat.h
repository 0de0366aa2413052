/* userfeat: what promo-featurize computes from one user's events.
 *
 * A user's events (sorted by time, as promo-clean writes them) are held in
 * a struct ft_user; every function here looks only at the events it is
 * told to (ts < asof for features, [from, to) for labels), so features can
 * never see the future.  docs/featurize.md defines each value exactly. */
#ifndef PROMO_USERFEAT_H
#define PROMO_USERFEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events.h"

/* One event, compact.  Ids and strings live in the user's arena. */
struct ft_ev {
    int64_t ts;
    int64_t session, campaign;
    double price, discount;    /* price NAN when absent; discount 0 */
    uint64_t item_h, cat_h;    /* hashes of the ids' text, 0: none */
    int64_t item_i;            /* EV_INT item */
    uint32_t item_off, item_n; /* EV_STR item: its bytes in the arena */
    uint32_t offer_off, offer_n;
    int32_t quantity;          /* 1 when absent */
    uint8_t type;              /* enum ev_type */
    uint8_t item_t;            /* EV_NIL, EV_INT or EV_STR */
    bool has_session, has_campaign, has_cat;
};

struct ft_slot {
    uint64_t key;
    uint32_t count;
    int64_t lo, hi;
};

/* The events of one user, caller-owned and reused from user to user. */
struct ft_user {
    struct ft_ev *ev;
    size_t n, cap;
    char *arena;               /* the user id's and other strings' bytes */
    size_t alen, acap;
    uint8_t user_t;
    int64_t user_i;
    uint32_t user_n;           /* EV_STR user: arena[0 .. user_n) */
    struct ft_slot *tab;       /* for distinct counts */
    size_t tcap;
};

void ft_user_init(struct ft_user *u);
void ft_user_release(struct ft_user *u);
/* Start a new user (drops the events held). */
void ft_user_start(struct ft_user *u, const struct ev_id *user);
void ft_user_add(struct ft_user *u, const struct ev_norm *e);
/* The user's id and an event's item, pointing into the arena (valid
 * until the next ft_user_add or ft_user_start). */
void ft_user_id(const struct ft_user *u, struct ev_id *id);
void ft_item_id(const struct ft_user *u, const struct ft_ev *e, struct ev_id *id);
/* The number of events with ts < t (events are in time order). */
size_t ft_before(const struct ft_user *u, int64_t t);

/* The hash of an id: an integer's value through the splitmix64 finalizer,
 * a string's bytes through SipHash-2-4 under the public key; 0 is never
 * returned (1 takes its place). */
uint64_t ft_id_hash(const struct ev_id *id);

/* ---- the users view ----------------------------------------------------- */

enum ft_feature {
    FT_RECENCY_DAYS, FT_FREQUENCY, FT_MONETARY, FT_N_VIEW, FT_N_WISH, FT_N_CART, FT_N_PURCHASE,
    FT_VIEW_TO_CART, FT_VIEW_TO_WISH, FT_CART_TO_PURCHASE, FT_SESSIONS, FT_MEAN_SESSION_LENGTH,
    FT_MEAN_SESSION_MINUTES, FT_DISTINCT_ITEMS, FT_DISTINCT_CATEGORIES, FT_TOP1_CATEGORY_SHARE,
    FT_TOP2_CATEGORY_SHARE, FT_TOP3_CATEGORY_SHARE, FT_DISCOUNT_SHARE, FT_MEAN_PURCHASE_VALUE,
    FT_PURCHASE_RATE_OFFER, FT_PURCHASE_RATE_NO_OFFER, FT_N_OFFERS, FT_DAYS_ACTIVE,
    FT_TENURE_DAYS, FT_NFIXED
};
extern const char *const ft_feature_names[FT_NFIXED];

struct ft_params {
    int64_t offer_secs;        /* an offer is held this long after its treat event */
    int ncats;                 /* --categories: a share feature each */
    const uint64_t *cat_h;     /* their hashes */
};

/* The features as of t into out[FT_NFIXED + p->ncats].  false (out
 * untouched) when the user has no behaviour event before t: cold. */
bool ft_features(struct ft_user *u, int64_t t, const struct ft_params *p, double *out);
/* Purchases in [from, to): whether any, and their revenue
 * (price * quantity - discount each, price 0 when absent). */
void ft_outcome(const struct ft_user *u, int64_t from, int64_t to, int *converted, double *revenue);

/* ---- the sequences view ------------------------------------------------- */

/* Token 0 pads, 1 is unknown; event types 2.. (view, wish, cart, purchase). */
#define FT_TOK_PAD 0
#define FT_TOK_UNKNOWN 1
#define FT_EV_VOCAB "pad,unknown,view,wish,cart,purchase"
/* Price buckets: 2 + the first bound the price is below; bounds are
 * powers of 2 from 1 to 8192, so tokens 2..16 (1 for no price). */
#define FT_NPRICE_BOUNDS 14
extern const double ft_price_bounds[FT_NPRICE_BOUNDS];
/* Gap buckets: the seconds since the user's previous behaviour event,
 * 2 + the first bound it is below, so 2..10 (1 for the first event). */
#define FT_NGAP_BOUNDS 8
extern const int64_t ft_gap_bounds[FT_NGAP_BOUNDS];

int ft_price_token(double price);
int ft_gap_token(int64_t gap, bool first);
/* An id hashed into buckets 2 .. buckets - 1 (1: none). */
int ft_hash_token(uint64_t h, int buckets);

struct ft_seq {
    int len;                   /* events in the sequence, <= L */
    int32_t *ev, *cat, *price_b, *gap_b, *item;   /* [L] each, left-padded */
};
/* The last L behaviour events before t; false when there are none. */
bool ft_sequence(const struct ft_user *u, int64_t t, int L, int item_buckets, int cat_buckets,
                 struct ft_seq *s);

/* ---- the interactions view ------------------------------------------------ */

/* One (item, weight) of a user. */
struct ft_pair {
    size_t first;              /* index of an event with this item */
    uint64_t h;
    double weight;
};
/* Weights per item of the behaviour events in [from, to): the sum of
 * w[type] * 0.5^((t - ts) / half_life) (half_life 0: no decay; t is the
 * time decay is measured from).  Items in order of the hash of their text
 * (ties by first appearance).  Returns the count; *out grows. */
size_t ft_pairs(struct ft_user *u, int64_t from, int64_t to, int64_t t, const double *w,
                double half_life_secs, struct ft_pair **out, size_t *cap);

#endif
