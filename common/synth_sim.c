/* A user's day: sessions, views, carts and purchases, as the model says. */
#include "synth_sim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

const char *const ss_type_names[SS_NTYPES] = {"view", "wish", "cart", "purchase", "treat", "control"};
const char *const ss_bad_event_names[SS_NBAD_EVENTS] = {
    "click", "pageview", "add_to_cart", "wishlist", "purchse",
};

#define MAX_SESSIONS 99   /* a day's sessions, so the session id has room */

void ss_buf_release(struct ss_buf *b)
{
    free(b->ev);
    memset(b, 0, sizeof *b);
}

struct ss_ev *ss_push(struct ss_buf *b)
{
    XGROW(b->ev, b->cap, b->n + 1);
    struct ss_ev *e = &b->ev[b->n++];
    memset(e, 0, sizeof *e);
    e->offer = -1;
    return e;
}

void ss_init(struct ss_sim *s, const sw_world *w, const struct sw_offers *offers, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    s->offers = offers;
    /* Different worlds under the same seed still get unrelated streams. */
    struct rng root;
    rng_init(&root, seed);
    rng_split(&s->behaviour, &root, w->seed);
    s->cat_cum = xmalloc((size_t)w->ncats * sizeof *s->cat_cum);
}

void ss_release(struct ss_sim *s)
{
    free(s->cat_cum);
    memset(s, 0, sizeof *s);
}

void ss_campaign_event(struct ss_buf *out, uint32_t user, int64_t unix_day, enum ss_type type,
                       int32_t campaign, int offer)
{
    struct ss_ev *e = ss_push(out);
    e->ts = unix_day * SS_DAY;
    e->user = user;
    e->type = (uint8_t)type;
    e->campaign = campaign;
    e->offer = (int16_t)offer;
    e->seq = 0;   /* before the user's sessions of the day */
}

static double cents(double x) { return round(x * 100) / 100; }

/* Seconds in [lo, lo + Exp(mean)), whole. */
static int64_t gap(struct rng *r, double lo, double mean)
{
    return (int64_t)(lo + rng_exponential(r, 1 / mean));
}

/* A view, wish, cart or purchase of the item, next in the user-day's order. */
static struct ss_ev *push_behaviour(struct ss_buf *out, int64_t ts, int64_t session, uint32_t user,
                                   uint32_t item, const struct sw_item *it, enum ss_type type,
                                   uint8_t qty, uint32_t *seq)
{
    struct ss_ev *e = ss_push(out);
    e->ts = ts;
    e->session = session;
    e->user = user;
    e->item = item;
    e->category = it->category;
    e->price = it->price;
    e->qty = qty;
    e->type = (uint8_t)type;
    e->seq = (*seq)++;
    return e;
}

int ss_user_day(struct ss_sim *s, uint32_t user, int64_t unix_day, const struct ss_treat *t,
                struct ss_buf *out)
{
    const sw_world *w = s->w;
    const struct sw_user *us = sw_user(w, user);
    const struct sw_archetype *a = sw_arch_of(w, user);
    struct rng r;
    rng_split(&r, &s->behaviour, user);
    rng_split(&r, &r, (uint64_t)unix_day);
    struct rng rw;   /* wish-list adds: their own stream (see synth_sim.h) */
    rng_split(&rw, &r, SS_WISH);

    uint64_t nsess = rng_poisson(&r, us->visit_rate * sw_week[sw_dow(unix_day)]);
    if (nsess == 0)
        return 0;
    if (nsess > MAX_SESSIONS)
        nsess = MAX_SESSIONS;
    int64_t day0 = unix_day * SS_DAY;
    int64_t start[MAX_SESSIONS];
    for (uint64_t k = 0; k < nsess; k++) {
        size_t h = rng_categorical(&r, sw_hour, 24);
        start[k] = day0 + (int64_t)h * 3600 + (int64_t)rng_below(&r, 3600);
    }
    for (uint64_t k = 1; k < nsess; k++)   /* insertion sort: a few sessions */
        for (uint64_t j = k; j > 0 && start[j] < start[j - 1]; j--) {
            int64_t x = start[j];
            start[j] = start[j - 1];
            start[j - 1] = x;
        }

    sw_cat_probs(w, user, s->cat_cum);
    for (int c = 1; c < w->ncats; c++)
        s->cat_cum[c] += s->cat_cum[c - 1];
    double cat_total = s->cat_cum[w->ncats - 1];

    double p = fmin(SW_P_MAX, us->propensity * (t ? t->mult : 1));
    double pc = fmin(SW_P_MAX, p / a->checkout), pb = pc > 0 ? p / pc : 0;
    double theta = 1 / a->views_per_session, log_q = log1p(-theta);
    const struct sw_offer *o = t ? &s->offers->o[t->offer] : NULL;
    uint32_t seq = 1;
    int purchases = 0;

    for (uint64_t k = 0; k < nsess; k++) {
        int64_t session = unix_day * INT64_C(1000000000000) + (int64_t)user * 100 + (int64_t)k;
        uint64_t nviews = 1;
        if (theta < 1) {
            double g = floor(log1p(-rng_uniform(&r)) / log_q);
            nviews += g < 1e5 ? (uint64_t)g : 100000;
        }
        int64_t ts = start[k];
        for (uint64_t v = 0; v < nviews; v++) {
            uint32_t item;
            if (a->favorite_rate > 0 && rng_uniform(&r) < a->favorite_rate) {
                item = us->fav[rng_below(&r, SW_NFAV)];
            } else {
                double x = rng_uniform(&r) * cat_total;
                uint32_t c = 0;
                while (c + 1 < (uint32_t)w->ncats && s->cat_cum[c] <= x)
                    c++;
                item = sw_pick_item(w, c + 1, rng_uniform(&r));
            }
            const struct sw_item *it = sw_item(w, item);
            /* Every draw is made whatever the outcome, so that an offer
             * changes only which carts and purchases happen. */
            double u_cart = rng_uniform(&r), u_buy = rng_uniform(&r);
            uint64_t q = 1 + rng_poisson(&r, a->quantity);
            int64_t g_cart = gap(&r, 3, 20), g_buy = gap(&r, 10, 60), g_next = gap(&r, 5, 40);
            if (q > 99)
                q = 99;

            push_behaviour(out, ts, session, user, item, it, SS_VIEW, 0, &seq);
            if (rng_uniform(&rw) < us->wish_rate) {
                ts += gap(&rw, 2, 15);
                push_behaviour(out, ts, session, user, item, it, SS_WISH, 0, &seq);
            }
            if (u_cart < pc) {
                ts += g_cart;
                push_behaviour(out, ts, session, user, item, it, SS_CART, (uint8_t)q, &seq);
                if (u_buy < pb) {
                    ts += g_buy;
                    struct ss_ev *e = push_behaviour(out, ts, session, user, item, it, SS_PURCHASE, (uint8_t)q, &seq);
                    purchases++;
                    if (o) {
                        double order = it->price * (double)q;
                        e->discount = cents(o->type == SW_PERCENT ? o->value * order : fmin(o->value, order));
                        e->campaign = t->campaign;
                        e->offer = (int16_t)t->offer;
                    }
                }
            }
            ts += g_next;
        }
    }
    return purchases;
}

static int cmp_ev(const void *pa, const void *pb)
{
    const struct ss_ev *a = pa, *b = pb;
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    if (a->user != b->user)
        return a->user < b->user ? -1 : 1;
    if (a->session != b->session)   /* a carried session and a new one */
        return a->session < b->session ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void ss_sort(struct ss_buf *b, size_t from, size_t to)
{
    if (to > from)
        qsort(b->ev + from, to - from, sizeof *b->ev, cmp_ev);
}

/* A key of known length: no strlen per record. */
#define KEY(pk, s) msgpack_pack_str_with_body((pk), (s), sizeof(s) - 1)

void ss_pack(msgpack_packer *pk, const struct ss_ev *e, const struct sw_offers *offers)
{
    bool behaviour = e->type <= SS_PURCHASE;
    msgpack_pack_map(pk, 11);
    KEY(pk, "user");
    if (e->nil_field == SS_F_USER)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_uint32(pk, e->user);
    KEY(pk, "item");
    if (e->item && e->nil_field != SS_F_ITEM)
        msgpack_pack_uint32(pk, e->item);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "category");
    if (e->category)
        msgpack_pack_uint32(pk, e->category);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "event");
    if (e->nil_field == SS_F_EVENT)
        msgpack_pack_nil(pk);
    else
        mp_pack_str(pk, e->bad_event ? ss_bad_event_names[e->bad_event - 1] : ss_type_names[e->type]);
    KEY(pk, "ts");
    if (e->nil_field == SS_F_TS)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_int64(pk, e->ts);
    KEY(pk, "session");
    if (e->session)
        msgpack_pack_int64(pk, e->session);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "price");
    if (behaviour)
        msgpack_pack_double(pk, e->price);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "quantity");
    if (e->qty)
        msgpack_pack_uint32(pk, e->qty);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "discount");
    if (behaviour)
        msgpack_pack_double(pk, e->discount);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "campaign");
    if (e->campaign)
        msgpack_pack_int32(pk, e->campaign);
    else
        msgpack_pack_nil(pk);
    KEY(pk, "offer");
    if (e->offer >= 0)
        mp_pack_str(pk, offers->o[e->offer].id);
    else
        msgpack_pack_nil(pk);
}

/* One record packed in a local buffer and handed to the writer whole: the
 * writer's own callback checks its capacity on every value. */
struct recbuf {
    char b[512];
    size_t n;
};

static int recbuf_write(void *data, const char *p, size_t n)
{
    struct recbuf *r = data;
    if (n > sizeof r->b - r->n)
        return -1;
    memcpy(r->b + r->n, p, n);
    r->n += n;
    return 0;
}

void ss_write(ws *w, const struct ss_ev *e, const struct sw_offers *offers)
{
    struct recbuf r;
    r.n = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &r, recbuf_write);
    ss_pack(&pk, e, offers);
    CHECK(r.n > 0 && r.n < sizeof r.b);   /* 11 fields and a short offer id fit */
    ws_raw(w, r.b, r.n);
}
