/* Per-user features on a history worked out by hand (docs/featurize.md
 * has the same example), tokens, interaction weights, and the leakage
 * property on random histories: events at or after T change no feature. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "rng.h"
#include "userfeat.h"

#define B INT64_C(1699920000)   /* 2023-11-14T00:00:00Z */
#define D 86400

static void add(struct ft_user *u, int type, int64_t ts, int64_t item, int64_t cat, double price, int qty,
                double discount, int64_t session, int64_t campaign, const char *offer)
{
    struct ev_norm e = {0};
    e.user.t = EV_INT;
    e.user.i = 1;
    e.type = type;
    e.ts = ts;
    if (item) {
        e.item.t = EV_INT;
        e.item.i = item;
    }
    if (cat) {
        e.category.t = EV_INT;
        e.category.i = cat;
    }
    e.has_price = price > 0;
    e.price = price;
    e.has_quantity = qty > 0;
    e.quantity = qty;
    e.has_discount = type == EV_PURCHASE;
    e.discount = discount;
    e.has_session = session > 0;
    e.session = session;
    e.has_campaign = campaign > 0;
    e.campaign = campaign;
    if (offer) {
        e.offer = offer;
        e.offer_n = (uint32_t)strlen(offer);
    }
    ft_user_add(u, &e);
}

static void history(struct ft_user *u)
{
    struct ev_id id = {.t = EV_INT, .i = 1};
    ft_user_start(u, &id);
    add(u, EV_VIEW, B, 1, 10, 5, 0, 0, 100, 0, NULL);
    add(u, EV_VIEW, B + 60, 2, 10, 20, 0, 0, 100, 0, NULL);
    add(u, EV_CART, B + 120, 2, 10, 20, 2, 0, 100, 0, NULL);
    add(u, EV_PURCHASE, B + 300, 2, 10, 20, 2, 0, 100, 0, NULL);
    add(u, EV_TREAT, B + D, 0, 0, 0, 0, 0, 0, 1, "pct10");
    add(u, EV_VIEW, B + D + 3600, 3, 20, 100, 0, 0, 101, 0, NULL);
    add(u, EV_PURCHASE, B + D + 3700, 3, 20, 100, 1, 10, 101, 1, "pct10");
    add(u, EV_VIEW, B + 5 * D, 1, 10, 5, 0, 0, 102, 0, NULL);
    add(u, EV_PURCHASE, B + 10 * D, 1, 10, 5, 3, 0, 103, 0, NULL);      /* at T: label */
    add(u, EV_PURCHASE, B + 20 * D, 1, 10, 5, 1, 0, 104, 0, NULL);      /* after the window */
}

static void test_users(void)
{
    struct ft_user u;
    ft_user_init(&u);
    history(&u);
    struct ev_id c20 = {.t = EV_INT, .i = 20};
    uint64_t h20 = ft_id_hash(&c20);
    struct ft_params p = {.offer_secs = 7 * D, .ncats = 1, .cat_h = &h20};
    double x[FT_NFIXED + 1];
    int64_t T = B + 10 * D;
    CHECK_TRUE(ft_features(&u, T, &p, x), "features: a warm user");
    const double want[FT_NFIXED + 1] = {
        [FT_RECENCY_DAYS] = 5, [FT_FREQUENCY] = 2, [FT_MONETARY] = 130, [FT_N_VIEW] = 4,
        [FT_N_WISH] = 0, [FT_N_CART] = 1, [FT_N_PURCHASE] = 2, [FT_VIEW_TO_CART] = 0.25,
        [FT_CART_TO_PURCHASE] = 2, [FT_SESSIONS] = 3, [FT_MEAN_SESSION_LENGTH] = 7.0 / 3,
        [FT_MEAN_SESSION_MINUTES] = (5 + 100.0 / 60 + 0) / 3, [FT_DISTINCT_ITEMS] = 3,
        [FT_DISTINCT_CATEGORIES] = 2, [FT_TOP1_CATEGORY_SHARE] = 5.0 / 7,
        [FT_TOP2_CATEGORY_SHARE] = 2.0 / 7, [FT_TOP3_CATEGORY_SHARE] = 0, [FT_DISCOUNT_SHARE] = 0.5,
        [FT_MEAN_PURCHASE_VALUE] = 65, [FT_PURCHASE_RATE_OFFER] = 1.0 / 7,
        [FT_PURCHASE_RATE_NO_OFFER] = 1.0 / 3, [FT_N_OFFERS] = 1, [FT_DAYS_ACTIVE] = 3,
        [FT_TENURE_DAYS] = 10, [FT_NFIXED] = 2.0 / 7,
    };
    for (int i = 0; i <= FT_NFIXED; i++) {
        char what[80];
        snprintf(what, sizeof what, "features: %s", i < FT_NFIXED ? ft_feature_names[i] : "cat_20_share");
        CHECK_NEAR(x[i], want[i], 1e-12, what);
    }
    int label;
    double revenue;
    ft_outcome(&u, T, T + 7 * D, &label, &revenue);
    CHECK_TRUE(label == 1 && revenue == 15, "label: the purchase at T, not the one after the window");
    ft_outcome(&u, B + 11 * D, B + 18 * D, &label, &revenue);
    CHECK_TRUE(label == 0 && revenue == 0, "label: nothing in an empty window");
    CHECK_TRUE(!ft_features(&u, B, &p, x), "features: cold before the first event");

    /* Sequences. */
    int32_t buf[50];
    struct ft_seq s = {.ev = buf, .cat = buf + 10, .price_b = buf + 20, .gap_b = buf + 30, .item = buf + 40};
    CHECK_TRUE(ft_sequence(&u, T, 4, 1000, 100, &s) && s.len == 4, "sequence: the last 4 events");
    int32_t ev[] = {5, 2, 5, 2}, gap[] = {3, 7, 3, 8}, price[] = {7, 9, 9, 5};
    CHECK_TRUE(memcmp(s.ev, ev, sizeof ev) == 0, "sequence: event tokens");
    CHECK_TRUE(memcmp(s.gap_b, gap, sizeof gap) == 0, "sequence: gap buckets (the treat is skipped)");
    CHECK_TRUE(memcmp(s.price_b, price, sizeof price) == 0, "sequence: price buckets");
    struct ev_id i3 = {.t = EV_INT, .i = 3};
    CHECK_EQ_INT(s.item[2], ft_hash_token(ft_id_hash(&i3), 1000), "sequence: item token of item 3");
    CHECK_TRUE(ft_sequence(&u, T, 10, 1000, 100, &s) && s.len == 7, "sequence: shorter than L");
    CHECK_TRUE(s.ev[0] == 0 && s.ev[2] == 0 && s.item[2] == 0 && s.ev[3] == 2 && s.gap_b[3] == 1,
               "sequence: left-padded with 0, the first gap unknown (1)");

    /* Interactions. */
    double w[EV_NTYPES] = {[EV_VIEW] = 1, [EV_CART] = 3, [EV_PURCHASE] = 10};
    struct ft_pair *pairs = NULL;
    size_t cap = 0;
    size_t n = ft_pairs(&u, INT64_MIN, T, T, w, 0, &pairs, &cap);
    CHECK_TRUE(n == 3 && pairs[0].weight == 2 && pairs[1].weight == 14 && pairs[2].weight == 11,
               "interactions: items 1, 2, 3 with weights 2, 14, 11");
    n = ft_pairs(&u, INT64_MIN, T, T, w, D, &pairs, &cap);
    CHECK_NEAR(pairs[0].weight, pow(0.5, 10) + pow(0.5, 5), 1e-12, "interactions: halved every day");
    n = ft_pairs(&u, T, T + 7 * D, T, w, 0, &pairs, &cap);
    CHECK_TRUE(n == 1 && pairs[0].weight == 10, "interactions: the label window");
    free(pairs);
    ft_user_release(&u);
}

static void test_tokens(void)
{
    CHECK_EQ_INT(ft_price_token(NAN), 1, "price token: none is unknown");
    CHECK_EQ_INT(ft_price_token(0.5), 2, "price token: below 1");
    CHECK_EQ_INT(ft_price_token(1), 3, "price token: 1 is in [1, 2)");
    CHECK_EQ_INT(ft_price_token(8191.99), 15, "price token: below 8192");
    CHECK_EQ_INT(ft_price_token(1e6), 16, "price token: the top bucket");
    CHECK_EQ_INT(ft_gap_token(0, true), 1, "gap token: the first event");
    CHECK_EQ_INT(ft_gap_token(59, false), 2, "gap token: under a minute");
    CHECK_EQ_INT(ft_gap_token(60, false), 3, "gap token: a minute");
    CHECK_EQ_INT(ft_gap_token(100 * D, false), 10, "gap token: a month or more");
    CHECK_EQ_INT(ft_hash_token(0, 10), 1, "hash token: no id is unknown");
    int out = 0;
    for (uint64_t h = 1; h < 1000; h++) {
        int t = ft_hash_token(h * UINT64_C(0x9e3779b97f4a7c15), 7);
        out += t < 2 || t > 6;
    }
    CHECK_EQ_INT(out, 0, "hash token: in 2 .. buckets - 1");
    struct ev_id a = {.t = EV_INT, .i = 42}, s = {.t = EV_STR, .s = "42", .n = 2};
    CHECK_TRUE(ft_id_hash(&a) == ft_id_hash(&a) && ft_id_hash(&a) != ft_id_hash(&s),
               "id hash: deterministic, integers apart from strings");
}

/* Random histories; events at or after T are changed or dropped. */
static void test_leakage(void)
{
    struct rng r;
    rng_init(&r, 9);
    struct ft_user a, b;
    ft_user_init(&a);
    ft_user_init(&b);
    struct ft_params p = {.offer_secs = 3 * D};
    int differ = 0, label_changed = 0;
    for (int trial = 0; trial < 500; trial++) {
        struct ev_id id = {.t = EV_INT, .i = trial};
        ft_user_start(&a, &id);
        ft_user_start(&b, &id);
        int64_t T = B + 10 * D, ts = B;
        int n = 1 + (int)rng_below(&r, 60);
        for (int i = 0; i < n; i++) {
            ts += (int64_t)rng_below(&r, D / 2);
            struct ev_norm e = {.user = id, .ts = ts};
            e.type = (int)rng_below(&r, EV_NTYPES);
            if (EV_BEHAVIOUR(e.type)) {
                e.item.t = EV_INT;
                e.item.i = 1 + (int64_t)rng_below(&r, 20);
                e.category.t = EV_INT;
                e.category.i = 1 + (int64_t)rng_below(&r, 4);
                e.has_price = true;
                e.price = 1 + (double)rng_below(&r, 100);
                e.has_quantity = e.type >= EV_CART;
                e.quantity = 1 + (int64_t)rng_below(&r, 3);
                e.has_discount = true;
                e.discount = rng_below(&r, 3) == 0;
                e.has_session = true;
                e.session = ts / 3600;
            } else {
                e.has_campaign = true;
                e.campaign = 1;
                e.offer = "x";
                e.offer_n = 1;
            }
            ft_user_add(&a, &e);
            /* The copy: the same before T, changed or dropped at or after it. */
            if (e.ts >= T) {
                if (rng_below(&r, 2))
                    continue;
                e.type = EV_PURCHASE;
                e.item.t = EV_INT;
                e.item.i = 999;
                e.price = 500;
                e.has_price = true;
            }
            ft_user_add(&b, &e);
        }
        double xa[FT_NFIXED], xb[FT_NFIXED];
        bool wa = ft_features(&a, T, &p, xa), wb = ft_features(&b, T, &p, xb);
        if (wa != wb || (wa && memcmp(xa, xb, sizeof xa) != 0))
            differ++;
        int la, lb;
        double ra, rb;
        ft_outcome(&a, T, T + 7 * D, &la, &ra);
        ft_outcome(&b, T, T + 7 * D, &lb, &rb);
        label_changed += la != lb || ra != rb;
    }
    CHECK_EQ_INT(differ, 0, "leakage: changing or dropping events at or after T changes no feature (500 users)");
    CHECK_TRUE(label_changed > 50, "leakage: ... while the labels do change");
    ft_user_release(&a);
    ft_user_release(&b);
}

int main(void)
{
    test_users();
    test_tokens();
    test_leakage();
    return check_done();
}
