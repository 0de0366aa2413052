/* Per-user features, sequences and interaction weights. */
#include "userfeat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"
#include "xalloc.h"

const char *const ft_feature_names[FT_NFIXED] = {
    "recency_days", "frequency", "monetary", "n_view", "n_wish", "n_cart", "n_purchase",
    "view_to_cart", "view_to_wish", "cart_to_purchase", "sessions", "mean_session_length",
    "mean_session_minutes", "distinct_items", "distinct_categories", "top1_category_share",
    "top2_category_share", "top3_category_share", "discount_share", "mean_purchase_value",
    "purchase_rate_offer", "purchase_rate_no_offer", "n_offers", "days_active", "tenure_days",
};

const double ft_price_bounds[FT_NPRICE_BOUNDS] = {
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
};
const int64_t ft_gap_bounds[FT_NGAP_BOUNDS] = {
    60, 300, 1800, 7200, 86400, 3 * 86400, 7 * 86400, 30 * 86400,
};

#define DAY 86400.0

/* Signed to unsigned keeping the order. */
static uint64_t order_i64(int64_t v) { return (uint64_t)v ^ (UINT64_C(1) << 63); }

/* ---- holding a user's events ---------------------------------------------- */

void ft_user_init(struct ft_user *u) { memset(u, 0, sizeof *u); }

void ft_user_release(struct ft_user *u)
{
    free(u->ev);
    free(u->arena);
    free(u->tab);
    memset(u, 0, sizeof *u);
}

static uint32_t keep(struct ft_user *u, const char *s, size_t n)
{
    XGROW(u->arena, u->acap, u->alen + n + 1);
    memcpy(u->arena + u->alen, s, n);
    uint32_t off = (uint32_t)u->alen;
    u->alen += n;
    return off;
}

void ft_user_start(struct ft_user *u, const struct ev_id *user)
{
    u->n = 0;
    u->alen = 0;
    u->user_t = user->t;
    u->user_i = user->i;
    u->user_n = 0;
    if (user->t == EV_STR) {
        keep(u, user->s, user->n);
        u->user_n = user->n;
    }
}

uint64_t ft_id_hash(const struct ev_id *id)
{
    uint64_t h;
    if (id->t == EV_INT) {
        h = (uint64_t)id->i;
        h = (h ^ (h >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        h = (h ^ (h >> 27)) * UINT64_C(0x94d049bb133111eb);
        h ^= h >> 31;
    } else {
        h = sip_hash(&sip_public_key, id->s, id->n);
    }
    return h ? h : 1;
}

void ft_user_add(struct ft_user *u, const struct ev_norm *e)
{
    XGROW(u->ev, u->cap, u->n + 1);
    struct ft_ev *x = &u->ev[u->n++];
    memset(x, 0, sizeof *x);
    x->ts = e->ts;
    x->type = (uint8_t)e->type;
    x->has_session = e->has_session;
    x->session = e->session;
    x->has_campaign = e->has_campaign;
    x->campaign = e->campaign;
    x->price = e->has_price ? e->price : NAN;
    x->discount = e->has_discount ? e->discount : 0;
    x->quantity = e->has_quantity ? (int32_t)(e->quantity < INT32_MAX ? e->quantity : INT32_MAX) : 1;
    x->item_t = e->item.t;
    if (e->item.t != EV_NIL) {
        x->item_h = ft_id_hash(&e->item);
        if (e->item.t == EV_INT)
            x->item_i = e->item.i;
        else {
            x->item_off = keep(u, e->item.s, e->item.n);
            x->item_n = e->item.n;
        }
    }
    if (e->category.t != EV_NIL) {
        x->cat_h = ft_id_hash(&e->category);
        x->has_cat = true;
    }
    if (e->offer) {
        x->offer_off = keep(u, e->offer, e->offer_n);
        x->offer_n = e->offer_n;
    }
}

void ft_user_id(const struct ft_user *u, struct ev_id *id)
{
    id->t = u->user_t;
    id->i = u->user_i;
    id->s = u->arena;
    id->n = u->user_n;
}

void ft_item_id(const struct ft_user *u, const struct ft_ev *e, struct ev_id *id)
{
    id->t = e->item_t;
    id->i = e->item_i;
    id->s = u->arena + e->item_off;
    id->n = e->item_n;
}

size_t ft_before(const struct ft_user *u, int64_t t)
{
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u->ev[mid].ts < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- the users view --------------------------------------------------------- */

/* A hash table of 64-bit keys with a count and the first and last time
 * of each; a slot with count 0 is empty.  Sized to a power of two at
 * least twice the keys, so probes stay short. */
static size_t table_reset(struct ft_user *u, size_t keys)
{
    size_t size = 16;
    while (size < 2 * keys)
        size *= 2;
    if (size > u->tcap) {
        free(u->tab);
        u->tab = xreallocarray(NULL, size, sizeof *u->tab);
        u->tcap = size;
    }
    memset(u->tab, 0, size * sizeof *u->tab);
    return size - 1;
}

static size_t slot_of(uint64_t key, size_t mask)
{
    return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & mask;
}

/* Count the key once more (events come in time order). */
static struct ft_slot *table_add(struct ft_slot *tab, size_t mask, uint64_t key, int64_t ts)
{
    size_t i = slot_of(key, mask);
    while (tab[i].count && tab[i].key != key)
        i = (i + 1) & mask;
    struct ft_slot *x = &tab[i];
    if (!x->count) {
        x->key = key;
        x->lo = ts;
    }
    x->count++;
    x->hi = ts;
    return x;
}

static uint32_t table_count(const struct ft_slot *tab, size_t mask, uint64_t key)
{
    size_t i = slot_of(key, mask);
    while (tab[i].count && tab[i].key != key)
        i = (i + 1) & mask;
    return tab[i].count;
}

static double revenue_of(const struct ft_ev *e)
{
    double p = isnan(e->price) ? 0 : e->price;
    return p * e->quantity - e->discount;
}

bool ft_features(struct ft_user *u, int64_t t, const struct ft_params *p, double *out)
{
    size_t n = ft_before(u, t);
    size_t cnt[EV_NTYPES] = {0};
    int64_t last_beh = 0, first = 0, last_day = INT64_MIN, last_pday = INT64_MIN;
    size_t days = 0, pdays = 0, ndisc = 0, with_session = 0;
    double monetary = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ft_ev *e = &u->ev[i];
        if (i == 0)
            first = e->ts;
        cnt[e->type]++;
        if (!EV_BEHAVIOUR(e->type))
            continue;
        last_beh = e->ts;
        int64_t day = (int64_t)floor((double)e->ts / DAY);
        days += day != last_day;
        last_day = day;
        with_session += e->has_session;
        if (e->type == EV_PURCHASE) {
            monetary += revenue_of(e);
            ndisc += e->discount > 0;
            pdays += day != last_pday;
            last_pday = day;
        }
    }
    size_t nbeh = cnt[EV_VIEW] + cnt[EV_WISH] + cnt[EV_CART] + cnt[EV_PURCHASE];
    if (nbeh == 0)
        return false;

    /* Distinct items, categories (with counts) and sessions (with their
     * first and last times): one pass each through a hash table. */
    struct ft_slot *tab;
    size_t mask = table_reset(u, nbeh);
    tab = u->tab;
    size_t ditems = 0;
    for (size_t i = 0; i < n; i++)
        if (EV_BEHAVIOUR(u->ev[i].type))
            ditems += table_add(tab, mask, u->ev[i].item_h, u->ev[i].ts)->count == 1;

    mask = table_reset(u, nbeh);
    size_t dcats = 0;
    for (size_t i = 0; i < n; i++)
        if (EV_BEHAVIOUR(u->ev[i].type) && u->ev[i].has_cat)
            dcats += table_add(tab, mask, u->ev[i].cat_h, u->ev[i].ts)->count == 1;
    /* The three largest category counts, and those of --categories. */
    size_t top[3] = {0, 0, 0};
    for (size_t i = 0; i <= mask; i++) {
        size_t c = tab[i].count;
        if (c > top[0]) {
            top[2] = top[1], top[1] = top[0], top[0] = c;
        } else if (c > top[1]) {
            top[2] = top[1], top[1] = c;
        } else if (c > top[2]) {
            top[2] = c;
        }
    }
    for (int q = 0; q < p->ncats; q++)
        out[FT_NFIXED + q] = (double)table_count(tab, mask, p->cat_h[q]) / (double)nbeh;

    mask = table_reset(u, nbeh);
    size_t nsess = 0;
    double minutes = 0;
    for (size_t i = 0; i < n; i++)
        if (EV_BEHAVIOUR(u->ev[i].type) && u->ev[i].has_session)
            nsess += table_add(tab, mask, order_i64(u->ev[i].session), u->ev[i].ts)->count == 1;
    for (size_t i = 0; i <= mask && nsess > 0; i++)
        if (tab[i].count)
            minutes += (double)(tab[i].hi - tab[i].lo) / 60;

    /* Offers held: the union of [treat ts, treat ts + offer_secs), cut at t. */
    double held = 0;
    size_t p_in = 0;
    int64_t cur_a = 0, cur_b = INT64_MIN;
    size_t pi = 0;   /* purchases before pi are classified */
    for (size_t i = 0; i <= n; i++) {
        bool treat = i < n && u->ev[i].type == EV_TREAT;
        if (i < n && !treat)
            continue;
        int64_t a = i < n ? u->ev[i].ts : INT64_MAX;
        if (i < n && a <= cur_b) {
            int64_t b = a + p->offer_secs < t ? a + p->offer_secs : t;
            if (b > cur_b)
                cur_b = b;
            continue;
        }
        /* Close the current interval: count it and its purchases. */
        if (cur_b > cur_a) {
            held += (double)(cur_b - cur_a);
            for (; pi < n && u->ev[pi].ts < cur_b; pi++)
                p_in += u->ev[pi].type == EV_PURCHASE && u->ev[pi].ts >= cur_a;
        }
        if (i < n) {
            cur_a = a;
            cur_b = a + p->offer_secs < t ? a + p->offer_secs : t;
        }
    }
    double span = (double)(t - first);
    double held_days = held / DAY, free_days = (span - held) / DAY;
    size_t p_out = cnt[EV_PURCHASE] - p_in;

    out[FT_RECENCY_DAYS] = (double)(t - last_beh) / DAY;
    out[FT_FREQUENCY] = (double)pdays;
    out[FT_MONETARY] = monetary;
    out[FT_N_VIEW] = (double)cnt[EV_VIEW];
    out[FT_N_WISH] = (double)cnt[EV_WISH];
    out[FT_N_CART] = (double)cnt[EV_CART];
    out[FT_N_PURCHASE] = (double)cnt[EV_PURCHASE];
    out[FT_VIEW_TO_CART] = cnt[EV_VIEW] ? (double)cnt[EV_CART] / (double)cnt[EV_VIEW] : 0;
    out[FT_VIEW_TO_WISH] = cnt[EV_VIEW] ? (double)cnt[EV_WISH] / (double)cnt[EV_VIEW] : 0;
    out[FT_CART_TO_PURCHASE] = cnt[EV_CART] ? (double)cnt[EV_PURCHASE] / (double)cnt[EV_CART] : 0;
    out[FT_SESSIONS] = (double)nsess;
    out[FT_MEAN_SESSION_LENGTH] = nsess ? (double)with_session / (double)nsess : 0;
    out[FT_MEAN_SESSION_MINUTES] = nsess ? minutes / (double)nsess : 0;
    out[FT_DISTINCT_ITEMS] = (double)ditems;
    out[FT_DISTINCT_CATEGORIES] = (double)dcats;
    out[FT_TOP1_CATEGORY_SHARE] = (double)top[0] / (double)nbeh;
    out[FT_TOP2_CATEGORY_SHARE] = (double)top[1] / (double)nbeh;
    out[FT_TOP3_CATEGORY_SHARE] = (double)top[2] / (double)nbeh;
    out[FT_DISCOUNT_SHARE] = cnt[EV_PURCHASE] ? (double)ndisc / (double)cnt[EV_PURCHASE] : 0;
    out[FT_MEAN_PURCHASE_VALUE] = cnt[EV_PURCHASE] ? monetary / (double)cnt[EV_PURCHASE] : 0;
    out[FT_PURCHASE_RATE_OFFER] = held > 0 ? (double)p_in / (held_days > 1 ? held_days : 1) : 0;
    out[FT_PURCHASE_RATE_NO_OFFER] = (double)p_out / (free_days > 1 ? free_days : 1);
    out[FT_N_OFFERS] = (double)cnt[EV_TREAT];
    out[FT_DAYS_ACTIVE] = (double)days;
    out[FT_TENURE_DAYS] = span / DAY;
    return true;
}

void ft_outcome(const struct ft_user *u, int64_t from, int64_t to, int *converted, double *revenue)
{
    *converted = 0;
    *revenue = 0;
    for (size_t i = ft_before(u, from); i < u->n && u->ev[i].ts < to; i++)
        if (u->ev[i].type == EV_PURCHASE) {
            *converted = 1;
            *revenue += revenue_of(&u->ev[i]);
        }
}

/* ---- the sequences view ------------------------------------------------------ */

int ft_price_token(double price)
{
    if (isnan(price))
        return FT_TOK_UNKNOWN;
    int k = 0;
    while (k < FT_NPRICE_BOUNDS && !(price < ft_price_bounds[k]))
        k++;
    return 2 + k;
}

int ft_gap_token(int64_t gap, bool first)
{
    if (first)
        return FT_TOK_UNKNOWN;
    int k = 0;
    while (k < FT_NGAP_BOUNDS && gap >= ft_gap_bounds[k])
        k++;
    return 2 + k;
}

int ft_hash_token(uint64_t h, int buckets)
{
    if (h == 0)
        return FT_TOK_UNKNOWN;
    return 2 + (int)(h % (uint64_t)(buckets - 2));
}

bool ft_sequence(const struct ft_user *u, int64_t t, int L, int item_buckets, int cat_buckets,
                 struct ft_seq *s)
{
    size_t n = ft_before(u, t);
    /* The last L behaviour events, walking back. */
    size_t idx[L > 0 ? L : 1];
    int k = 0;
    for (size_t i = n; i-- > 0 && k < L;)
        if (EV_BEHAVIOUR(u->ev[i].type))
            idx[k++] = i;
    s->len = k;
    if (k == 0)
        return false;
    int pad = L - k;
    for (int j = 0; j < pad; j++)
        s->ev[j] = s->cat[j] = s->price_b[j] = s->gap_b[j] = s->item[j] = FT_TOK_PAD;
    for (int j = 0; j < k; j++) {
        size_t i = idx[k - 1 - j];
        const struct ft_ev *e = &u->ev[i];
        /* The gap to the previous behaviour event, whether in the sequence or not. */
        size_t q = i;
        while (q > 0 && !EV_BEHAVIOUR(u->ev[q - 1].type))
            q--;
        int o = pad + j;
        s->ev[o] = 2 + e->type;
        s->cat[o] = e->has_cat ? ft_hash_token(e->cat_h, cat_buckets) : FT_TOK_UNKNOWN;
        s->price_b[o] = ft_price_token(e->price);
        s->gap_b[o] = ft_gap_token(q > 0 ? e->ts - u->ev[q - 1].ts : 0, q == 0);
        s->item[o] = ft_hash_token(e->item_h, item_buckets);
    }
    return true;
}

/* ---- the interactions view ---------------------------------------------------- */

static int cmp_item(const void *pa, const void *pb, void *ctx)
{
    const struct ft_user *u = ctx;
    const struct ft_pair *a = pa, *b = pb;
    struct ev_id x, y;
    ft_item_id(u, &u->ev[a->first], &x);
    ft_item_id(u, &u->ev[b->first], &y);
    int c = ev_id_cmp(&x, &y);
    if (c)
        return c;
    return (a->first > b->first) - (a->first < b->first);
}

size_t ft_pairs(struct ft_user *u, int64_t from, int64_t to, int64_t t, const double *w,
                double half_life_secs, struct ft_pair **out, size_t *cap)
{
    size_t k = 0;
    for (size_t i = ft_before(u, from); i < u->n && u->ev[i].ts < to; i++) {
        const struct ft_ev *e = &u->ev[i];
        if (!EV_BEHAVIOUR(e->type) || w[e->type] == 0 || e->item_t == EV_NIL)
            continue;
        double x = w[e->type];
        if (half_life_secs > 0)
            x *= exp2(-(double)(t - e->ts) / half_life_secs);
        XGROW(*out, *cap, k + 1);
        (*out)[k++] = (struct ft_pair){i, e->item_h, x};
    }
    if (k == 0)
        return 0;
    qsort_r(*out, k, sizeof **out, cmp_item, u);
    /* Sum the weights of each item (equal items are adjacent now). */
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        struct ev_id a, b;
        if (m > 0) {
            ft_item_id(u, &u->ev[(*out)[m - 1].first], &a);
            ft_item_id(u, &u->ev[(*out)[i].first], &b);
            if (ev_id_eq(&a, &b)) {
                (*out)[m - 1].weight += (*out)[i].weight;
                continue;
            }
        }
        (*out)[m++] = (*out)[i];
    }
    return m;
}
