/* The events schema module: times, durations, the byte packer against
 * msgpack-c's, the byte reader, and validation with its reasons. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "check.h"
#include "events.h"
#include "rng.h"

static void check_iso(const char *s, int64_t want, const char *what)
{
    int64_t got = -1;
    bool ok = ev_parse_iso(s, strlen(s), &got);
    CHECK_TRUE(ok, what);
    CHECK_EQ_INT(got, want, what);
}

static void test_times(void)
{
    check_iso("2010-12-01 08:26:00", 1291191960, "iso: a space and seconds (Online Retail)");
    check_iso("2017-01-28T19:06:53Z", 1485630413, "iso: T and Z");
    check_iso("2017-11-25T00:00:00+08:00", 1511539200, "iso: an offset east of UTC");
    check_iso("2017-11-24T11:00-05", 1511539200, "iso: minutes only and an hour offset west");
    check_iso("2017-11-25T08:00:00.999+0800", 1511568000, "iso: fraction dropped, +HHMM");
    check_iso("1970-01-01", 0, "iso: a date is its midnight UTC");
    check_iso("2024-02-29", 1709164800, "iso: leap day");
    check_iso("2000-02-29T23:59:60Z", 951868800, "iso: a leap second is the next minute");
    int64_t t;
    const char *bad[] = {"2023-02-29", "2024-13-01", "2024-00-10", "2024-01-32", "2024-1-05",
                         "2024-01-05T25:00", "2024-01-05T10", "2024-01-05T10:00:00Q", "2024-01-05 ",
                         "24-01-05", "", "2024-01-05T10:00:00.", "2024-01-05T10:00+25:00"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char what[80];
        snprintf(what, sizeof what, "iso: \"%s\" is not a time", bad[i]);
        CHECK_TRUE(!ev_parse_iso(bad[i], strlen(bad[i]), &t), what);
    }
    /* Against timegm over many dates. */
    struct rng r;
    rng_init(&r, 5);
    int wrong = 0;
    for (int i = 0; i < 20000; i++) {
        struct tm tm = {.tm_year = 70 + (int)rng_below(&r, 8000), .tm_mon = (int)rng_below(&r, 12),
                        .tm_mday = 1 + (int)rng_below(&r, 28), .tm_hour = (int)rng_below(&r, 24),
                        .tm_min = (int)rng_below(&r, 60), .tm_sec = (int)rng_below(&r, 60)};
        int64_t want = (int64_t)timegm(&tm);
        char buf[32];
        ev_fmt_time(want, buf);
        int64_t got;
        if (!ev_parse_iso(buf, strlen(buf), &got) || got != want)
            wrong++;
    }
    CHECK_EQ_INT(wrong, 0, "iso: format and parse agree with timegm on 20000 times");
    char buf[32];
    CHECK_EQ_STR(ev_fmt_time(1705881600, buf), "2024-01-22T00:00:00Z", "fmt: a UTC time");

    CHECK_TRUE(ev_parse_time("1511539200", &t) && t == 1511539200, "time option: unix seconds");
    CHECK_TRUE(ev_parse_time("2017-11-25T00:00:00+08:00", &t) && t == 1511539200, "time option: iso");
    CHECK_TRUE(!ev_parse_time("-5", &t) && !ev_parse_time("soon", &t), "time option: rejects junk");

    struct { const char *s; int64_t v; } durs[] = {
        {"30m", 1800}, {"5s", 5}, {"90", 90}, {"1.5h", 5400}, {"7d", 604800}, {"0", 0},
    };
    for (size_t i = 0; i < sizeof durs / sizeof *durs; i++) {
        int64_t d = -1;
        char what[64];
        snprintf(what, sizeof what, "duration \"%s\"", durs[i].s);
        CHECK_TRUE(ev_parse_duration(durs[i].s, &d) && d == durs[i].v, what);
    }
    const char *bad_d[] = {"", "-1", "5x", "m", "1e30d", "5 m", "+5"};
    for (size_t i = 0; i < sizeof bad_d / sizeof *bad_d; i++) {
        char what[64];
        snprintf(what, sizeof what, "duration \"%s\" is refused", bad_d[i]);
        int64_t d;
        CHECK_TRUE(!ev_parse_duration(bad_d[i], &d), what);
    }
}

/* ---- packing ------------------------------------------------------------- */

static int64_t edge_int(struct rng *r)
{
    static const int64_t edges[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
                                    4294967296LL, INT64_MAX, -1, -32, -33, -128, -129, -32768,
                                    -32769, INT32_MIN, (int64_t)INT32_MIN - 1, INT64_MIN};
    if (rng_below(r, 2))
        return edges[rng_below(r, sizeof edges / sizeof *edges)];
    return (int64_t)rng_u64(r) >> rng_below(r, 63);
}

static void random_id(struct rng *r, struct ev_id *id, char *buf, bool allow_nil)
{
    static const size_t lens[] = {0, 1, 8, 9, 31, 32, 255, 256, 70000};
    int k = (int)rng_below(r, allow_nil ? 3 : 2);
    if (k == 0) {
        id->t = EV_INT;
        id->i = edge_int(r);
    } else if (k == 1) {
        id->t = EV_STR;
        id->n = (uint32_t)lens[rng_below(r, 9)];
        for (uint32_t i = 0; i < id->n; i++)
            buf[i] = (char)('a' + rng_below(r, 26));
        id->s = buf;
    } else {
        id->t = EV_NIL;
    }
}

static void pack_ref(msgpack_packer *pk, const struct ev_norm *e)
{
    const struct ev_id *ids[] = {&e->user, &e->item, &e->category};
    const char *names[] = {"user", "item", "category"};
    msgpack_pack_map(pk, 11);
    for (int k = 0; k < 3; k++) {
        msgpack_pack_str(pk, strlen(names[k]));
        msgpack_pack_str_body(pk, names[k], strlen(names[k]));
        if (ids[k]->t == EV_INT)
            msgpack_pack_int64(pk, ids[k]->i);
        else if (ids[k]->t == EV_STR) {
            msgpack_pack_str(pk, ids[k]->n);
            msgpack_pack_str_body(pk, ids[k]->s, ids[k]->n);
        } else
            msgpack_pack_nil(pk);
    }
#define KEY(s) (msgpack_pack_str(pk, strlen(s)), msgpack_pack_str_body(pk, s, strlen(s)))
    KEY("event");
    KEY(ev_type_names[e->type]);
    KEY("ts");
    msgpack_pack_int64(pk, e->ts);
    KEY("session");
    e->has_session ? msgpack_pack_int64(pk, e->session) : msgpack_pack_nil(pk);
    KEY("price");
    e->has_price ? msgpack_pack_double(pk, e->price) : msgpack_pack_nil(pk);
    KEY("quantity");
    e->has_quantity ? msgpack_pack_int64(pk, e->quantity) : msgpack_pack_nil(pk);
    KEY("discount");
    e->has_discount ? msgpack_pack_double(pk, e->discount) : msgpack_pack_nil(pk);
    KEY("campaign");
    e->has_campaign ? msgpack_pack_int64(pk, e->campaign) : msgpack_pack_nil(pk);
    KEY("offer");
    if (e->offer) {
        msgpack_pack_str(pk, e->offer_n);
        msgpack_pack_str_body(pk, e->offer, e->offer_n);
    } else
        msgpack_pack_nil(pk);
#undef KEY
}

static bool id_same(const struct ev_id *a, const struct ev_id *b)
{
    return a->t == b->t && (a->t != EV_INT || a->i == b->i) &&
           (a->t != EV_STR || (a->n == b->n && memcmp(a->s, b->s, a->n) == 0));
}

static void test_packing(void)
{
    struct rng r;
    rng_init(&r, 11);
    static char ub[70001], ib[70001], cb[70001], ob[40];
    char *out = malloc(1000000);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    int bytes_differ = 0, read_differ = 0, over = 0, measure_differ = 0,
        values_differ = 0;
    for (int i = 0; i < 3000; i++) {
        struct ev_norm e = {0};
        random_id(&r, &e.user, ub, false);
        random_id(&r, &e.item, ib, true);
        random_id(&r, &e.category, cb, true);
        e.type = (int)rng_below(&r, EV_NTYPES);
        e.ts = edge_int(&r);
        if ((e.has_session = rng_below(&r, 2)))
            e.session = edge_int(&r);
        if ((e.has_price = rng_below(&r, 2)))
            e.price = rng_uniform(&r) * 1000;
        if ((e.has_quantity = rng_below(&r, 2)))
            e.quantity = edge_int(&r);
        if ((e.has_discount = rng_below(&r, 2)))
            e.discount = rng_uniform(&r);
        if ((e.has_campaign = rng_below(&r, 2)))
            e.campaign = edge_int(&r);
        if (rng_below(&r, 2)) {
            e.offer_n = (uint32_t)rng_below(&r, 40);
            memset(ob, 'o', e.offer_n);
            e.offer = ob;
        }
        size_t n = ev_pack(out, &e);
        over += n > ev_pack_bound(&e);
        msgpack_sbuffer_clear(&sb);
        pack_ref(&pk, &e);
        if (n != sb.size || memcmp(out, sb.data, n) != 0)
            bytes_differ++;
        struct ev_raw raw;
        const char *why;
        struct ev_norm back;
        if (!ev_scan(out, n, &raw, &why)) {
            read_differ++;
            continue;
        }
        ev_unpack(&raw, &back);
        if (!id_same(&back.user, &e.user) || !id_same(&back.item, &e.item) ||
            !id_same(&back.category, &e.category) || back.type != e.type || back.ts != e.ts ||
            back.has_session != e.has_session || (e.has_session && back.session != e.session) ||
            back.has_price != e.has_price || (e.has_price && back.price != e.price) ||
            back.has_quantity != e.has_quantity || (e.has_quantity && back.quantity != e.quantity) ||
            back.has_campaign != e.has_campaign || (e.has_campaign && back.campaign != e.campaign) ||
            (e.offer != NULL) != (back.offer != NULL))
            read_differ++;
        /* ev_measure: the exact length in bytes that go on; none when cut */
        memcpy(out + n, "\x81\xa1x\x01", 4);
        struct ev_raw m;
        if (ev_measure(out, n + 4, &m) != n || ev_measure(out, n - 1, &m) != 0 ||
            m.v[EV_F_TS].i != e.ts)
            measure_differ++;
        /* the values without their keys give back the same record */
        size_t nv = ev_pack_values(out + n, &e);
        struct ev_norm v;
        if (!ev_scan_values(out + n, nv, &m) || ev_scan_values(out, n, &m) ||
            (ev_scan_values(out + n, nv, &m), ev_unpack(&m, &v), ev_pack(out + n + nv, &v) != n) ||
            memcmp(out + n + nv, out, n) != 0)
            values_differ++;
    }
    CHECK_EQ_INT(over, 0, "pack: within ev_pack_bound");
    CHECK_EQ_INT(bytes_differ, 0, "pack: the same bytes as msgpack-c's packer, 3000 random records");
    CHECK_EQ_INT(read_differ, 0, "scan and unpack give back every field");
    CHECK_EQ_INT(measure_differ, 0, "measure: the length of a record in longer bytes, 0 when cut");
    CHECK_EQ_INT(values_differ, 0, "values without keys read back to the same record");
    msgpack_sbuffer_destroy(&sb);
    free(out);
}

/* ---- validation ------------------------------------------------------------ */

/* Pack a record from "key", type, value triples: 'i' int, 'f' float, 's'
 * string, 'n' nil, 'b' bool, 'a' an empty array. */
static size_t rec(char *buf, size_t cap, const char *spec, ...)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    va_list ap;
    int n = (int)strlen(spec);
    msgpack_pack_map(&pk, (size_t)n);
    va_start(ap, spec);
    for (int i = 0; i < n; i++) {
        const char *k = va_arg(ap, const char *);
        msgpack_pack_str(&pk, strlen(k));
        msgpack_pack_str_body(&pk, k, strlen(k));
        switch (spec[i]) {
        case 'i': msgpack_pack_int64(&pk, va_arg(ap, long long)); break;
        case 'f': msgpack_pack_double(&pk, va_arg(ap, double)); break;
        case 's': { const char *s = va_arg(ap, const char *);
                    msgpack_pack_str(&pk, strlen(s)); msgpack_pack_str_body(&pk, s, strlen(s)); break; }
        case 'b': msgpack_pack_true(&pk); break;
        case 'a': msgpack_pack_array(&pk, 0); break;
        default: msgpack_pack_nil(&pk); break;
        }
    }
    va_end(ap);
    size_t len = sb.size < cap ? sb.size : cap;
    memcpy(buf, sb.data, len);
    msgpack_sbuffer_destroy(&sb);
    return len;
}

static void expect(struct ev_rules *rules, const char *buf, size_t len, enum ev_reason want,
                   const char *detail, const char *what)
{
    struct ev_raw raw;
    struct ev_norm e;
    const char *why;
    char got[256] = "";
    CHECK_TRUE(ev_scan(buf, len, &raw, &why), what);
    enum ev_reason r = ev_validate(&raw, rules, &e, got, sizeof got);
    CHECK_EQ_STR(ev_reason_names[r], ev_reason_names[want], what);
    if (detail)
        CHECK_EQ_STR(got, detail, what);
}

static void test_validation(void)
{
    struct ev_rules rules = {.default_event = -1};
    char b[512];
    size_t n;
    n = rec(b, sizeof b, "ississ", "user", 7LL, "item", "i9", "event", "view", "ts", 1700000000LL,
            "price", "9.5", "offer", "x");
    expect(&rules, b, n, EV_R_BAD_TYPE, "field \"price\": expected a number, got a string", "a price as text");
    n = rec(b, sizeof b, "isi", "user", 7LL, "event", "view", "ts", 1700000000LL);
    expect(&rules, b, n, EV_R_MISSING_ITEM, "field \"item\": missing (a view needs an item)", "a view without item");
    n = rec(b, sizeof b, "nsis", "user", "event", "view", "ts", 1700000000LL, "item", "i");
    expect(&rules, b, n, EV_R_MISSING_USER, "field \"user\": missing", "a nil user");
    n = rec(b, sizeof b, "ssis", "user", "", "event", "view", "ts", 1700000000LL, "item", "i");
    expect(&rules, b, n, EV_R_MISSING_USER, NULL, "an empty user");
    n = rec(b, sizeof b, "isis", "user", 1LL, "event", "click", "ts", 1700000000LL, "item", "i");
    expect(&rules, b, n, EV_R_UNKNOWN_EVENT, "field \"event\": unknown event \"click\"", "an unknown event");
    n = rec(b, sizeof b, "isss", "user", 1LL, "event", "view", "ts", "yesterday", "item", "i");
    expect(&rules, b, n, EV_R_BAD_TS, "field \"ts\": not an ISO-8601 time: \"yesterday\"", "a bad time");
    n = rec(b, sizeof b, "isisf", "user", 1LL, "event", "cart", "ts", 1700000000LL, "item", "i", "price", -2.0);
    expect(&rules, b, n, EV_R_BAD_PRICE, "field \"price\": expected a positive number, got -2", "a negative price");
    n = rec(b, sizeof b, "isisi", "user", 1LL, "event", "cart", "ts", 1700000000LL, "item", "i", "quantity", -6LL);
    expect(&rules, b, n, EV_R_BAD_QUANTITY, "field \"quantity\": expected a positive integer, got -6", "a return");
    n = rec(b, sizeof b, "isisf", "user", 1LL, "event", "cart", "ts", 1700000000LL, "item", "i", "quantity", 1.5);
    expect(&rules, b, n, EV_R_BAD_TYPE, "field \"quantity\": expected an integer, got 1.5", "a fractional quantity");
    n = rec(b, sizeof b, "isi", "user", 1LL, "event", "treat", "ts", 1700000000LL);
    expect(&rules, b, n, EV_R_MISSING_CAMPAIGN, NULL, "a treat without campaign");
    n = rec(b, sizeof b, "isii", "user", 1LL, "event", "treat", "ts", 1700000000LL, "campaign", 3LL);
    expect(&rules, b, n, EV_R_MISSING_OFFER, NULL, "a treat without offer");
    n = rec(b, sizeof b, "isii", "user", 1LL, "event", "control", "ts", 1700000000LL, "campaign", 3LL);
    expect(&rules, b, n, EV_OK, NULL, "a control event");
    n = rec(b, sizeof b, "asis", "user", "event", "view", "ts", 1700000000LL, "item", "i");
    expect(&rules, b, n, EV_R_BAD_TYPE, "field \"user\": expected an integer or a string, got an array", "an array user");
    n = rec(b, sizeof b, "fsis", "user", 12346.0, "event", "view", "ts", 1700000000LL, "item", "i");
    expect(&rules, b, n, EV_OK, NULL, "an integral float user is an integer");

    /* Mapping, the default event, the formats and the window. */
    char m1[] = "pv=view", m2[] = "buy=purchase";
    char *pairs[] = {m1, m2};
    char why[100];
    CHECK_TRUE(ev_rules_map(&rules, pairs, 2, why, sizeof why), "event map parses");
    n = rec(b, sizeof b, "isii", "user", 1LL, "event", "buy", "ts", 1700000000LL, "item", 4LL);
    struct ev_raw raw;
    struct ev_norm e;
    const char *w;
    char d[200];
    ev_scan(b, n, &raw, &w);
    CHECK_TRUE(ev_validate(&raw, &rules, &e, d, sizeof d) == EV_OK && e.type == EV_PURCHASE, "buy maps to purchase");
    char m3[] = "fav=star";
    char *bad[] = {m3};
    CHECK_TRUE(!ev_rules_map(&rules, bad, 1, why, sizeof why), "a map to an unknown event is refused");
    CHECK_EQ_STR(why, "\"star\" is not an event name (view, wish, cart, purchase, treat or control)", "its message");

    n = rec(b, sizeof b, "iis", "user", 1LL, "item", 4LL, "ts", "2010-12-01 08:26:00");
    rules.default_event = EV_PURCHASE;
    ev_scan(b, n, &raw, &w);
    CHECK_TRUE(ev_validate(&raw, &rules, &e, d, sizeof d) == EV_OK && e.type == EV_PURCHASE &&
               e.ts == 1291191960, "default event and an ISO time");
    rules.ts_format = EV_TS_UNIX;
    expect(&rules, b, n, EV_R_BAD_TYPE, "field \"ts\": expected a number, got a string", "--ts-format unix refuses text");
    rules.ts_format = EV_TS_UNIX_MS;
    n = rec(b, sizeof b, "iif", "user", 1LL, "item", 4LL, "ts", 1396437466940.0);
    ev_scan(b, n, &raw, &w);
    CHECK_TRUE(ev_validate(&raw, &rules, &e, d, sizeof d) == EV_OK && e.ts == 1396437466, "milliseconds");
    rules.ts_format = EV_TS_AUTO;
    n = rec(b, sizeof b, "iif", "user", 1LL, "item", 4LL, "ts", 1396437466.94);
    ev_scan(b, n, &raw, &w);
    CHECK_TRUE(ev_validate(&raw, &rules, &e, d, sizeof d) == EV_OK && e.ts == 1396437466, "a fraction of a second is dropped");
    rules.has_since = rules.has_until = true;
    rules.since = 1396437467;
    rules.until = 1396500000;
    expect(&rules, b, n, EV_R_OUT_OF_WINDOW,
           "field \"ts\": 2014-04-02T11:17:46Z is before --since 2014-04-02T11:17:47Z", "before --since");
    rules.since = 0;
    rules.until = 1396437466;
    expect(&rules, b, n, EV_R_OUT_OF_WINDOW,
           "field \"ts\": 2014-04-02T11:17:46Z is not before --until 2014-04-02T11:17:46Z", "at --until");
}

static void test_ids(void)
{
    struct ev_id a = {.t = EV_INT, .i = -5}, b = {.t = EV_INT, .i = 3};
    struct ev_id s1 = {.t = EV_STR, .s = "abc", .n = 3}, s2 = {.t = EV_STR, .s = "abcd", .n = 4};
    struct ev_id s3 = {.t = EV_STR, .s = "b", .n = 1};
    CHECK_TRUE(ev_id_cmp(&a, &b) < 0 && ev_id_cmp(&b, &a) > 0, "ids: integers by value");
    CHECK_TRUE(ev_id_cmp(&b, &s1) < 0, "ids: integers before strings");
    CHECK_TRUE(ev_id_cmp(&s1, &s2) < 0 && ev_id_cmp(&s2, &s3) < 0, "ids: strings bytewise, prefix first");
    CHECK_TRUE(ev_id_eq(&s1, &s1) && !ev_id_eq(&s1, &s2) && ev_id_cmp(&s1, &s1) == 0, "ids: equality");
}

int main(void)
{
    test_times();
    test_packing();
    test_validation();
    test_ids();
    return check_done();
}
