/* The events schema: reading records from their bytes, validating and
 * normalizing them, and the time formats of event logs. */
#include "events.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpput.h"
#include "mpscan.h"
#include "numfmt.h"

const char *const ev_type_names[EV_NTYPES] = {"view", "wish", "cart", "purchase", "treat", "control"};

const char *const ev_field_names[EV_NFIELDS] = {
    "user", "item", "category", "event", "ts", "session", "price", "quantity", "discount",
    "campaign", "offer",
};

const char *const ev_reason_names[EV_NREASONS] = {
    "ok", "missing_user", "missing_event", "missing_ts", "unknown_event", "missing_item",
    "missing_campaign", "missing_offer", "bad_type", "bad_ts", "bad_price", "bad_quantity",
    "bad_discount", "out_of_window", "duplicate", "near_duplicate", "bot",
};

const char *const ev_ts_format_names[5] = {"auto", "unix", "unix-ms", "iso", NULL};

#define EV_MAX_TS INT64_C(253402300800)   /* 10000-01-01 */

int ev_type_find(const char *s, size_t n)
{
    switch (n) {
    case 4:
        if (memcmp(s, "view", 4) == 0) return EV_VIEW;
        if (memcmp(s, "wish", 4) == 0) return EV_WISH;
        if (memcmp(s, "cart", 4) == 0) return EV_CART;
        return -1;
    case 8: return memcmp(s, "purchase", 8) == 0 ? EV_PURCHASE : -1;
    case 5: return memcmp(s, "treat", 5) == 0 ? EV_TREAT : -1;
    case 7: return memcmp(s, "control", 7) == 0 ? EV_CONTROL : -1;
    }
    return -1;
}

/* ---- reading values from bytes ------------------------------------------ */

static uint64_t be(const unsigned char *p, int k)
{
    uint64_t v = 0;
    for (int i = 0; i < k; i++)
        v = v << 8 | p[i];
    return v;
}

/* Read the value at p[0..n): *used gets its size.  false if the bytes end
 * inside it or are not MessagePack. */
static bool read_val(const unsigned char *p, size_t n, struct ev_val *v, size_t *used)
{
    if (n == 0)
        return false;
    unsigned b = p[0];
    size_t k = 0;       /* bytes of the value after the type byte */
    v->t = EV_OTHER;
    v->first = (uint8_t)b;
    if (b <= 0x7f) {
        v->t = EV_INT, v->i = b;
    } else if (b >= 0xe0) {
        v->t = EV_INT, v->i = (int8_t)b;
    } else if (b >= 0xa0 && b <= 0xbf) {
        k = b & 0x1f;
        v->t = EV_STR, v->s = (const char *)p + 1, v->n = (uint32_t)k;
    } else {
        switch (b) {
        case 0xc0: v->t = EV_NIL; break;
        case 0xc2: case 0xc3: v->t = EV_BOOL, v->i = b == 0xc3; break;
        case 0xca: case 0xcb: {
            k = b == 0xca ? 4 : 8;
            if (n < 1 + k)
                return false;
            uint64_t bits = be(p + 1, (int)k);
            if (k == 4) {
                uint32_t b32 = (uint32_t)bits;
                float f;
                memcpy(&f, &b32, 4);
                v->f = f;
            } else {
                memcpy(&v->f, &bits, 8);
            }
            v->t = EV_F64;
            break;
        }
        case 0xcc: case 0xcd: case 0xce: case 0xcf: {
            k = (size_t)1 << (b - 0xcc);
            if (n < 1 + k)
                return false;
            uint64_t u = be(p + 1, (int)k);
            if (u > INT64_MAX)
                v->t = EV_BIG;
            else
                v->t = EV_INT, v->i = (int64_t)u;
            break;
        }
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            k = (size_t)1 << (b - 0xd0);
            if (n < 1 + k)
                return false;
            uint64_t u = be(p + 1, (int)k);
            int64_t i = k == 1 ? (int8_t)u : k == 2 ? (int16_t)u : k == 4 ? (int32_t)u : (int64_t)u;
            v->t = EV_INT, v->i = i;
            break;
        }
        case 0xd9: case 0xda: case 0xdb: {
            int lb = b == 0xd9 ? 1 : b == 0xda ? 2 : 4;
            if (n < 1 + (size_t)lb)
                return false;
            uint64_t len = be(p + 1, lb);
            if (len > n - 1 - (size_t)lb)
                return false;
            v->t = EV_STR, v->s = (const char *)p + 1 + lb, v->n = (uint32_t)len;
            k = (size_t)lb + len;
            break;
        }
        default: {
            /* arrays, maps, binary, extensions: only their extent matters */
            const char *why;
            size_t len;
            if (mp_scan(p, n, &len, &why) != MP_OK)
                return false;
            *used = len;
            return true;
        }
        }
    }
    if (1 + k > n)
        return false;
    *used = 1 + k;
    return true;
}

/* The schema field a key names, or -1. */
/* A key of up to 8 bytes as one integer, compared in one instruction
 * (memcmp of odd lengths is a library call). */
static uint64_t word(const char *s, size_t n)
{
    uint64_t w = 0;
    memcpy(&w, s, n);
    return w;
}

static inline uint64_t load8(const char *s)
{
    uint64_t w;
    memcpy(&w, s, 8);
    return w;
}

/* A key of up to 8 bytes as one word: a single load and a mask when 8
 * bytes are readable (avail), which avoids a stall of small stores read
 * back as a word. */
static inline uint64_t key_word(const char *s, size_t n, size_t avail)
{
    return avail >= 8 ? load8(s) & (n == 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * n)) - 1) : word(s, n);
}

/* The schema field a key of 2 to 8 bytes names (its word w), or -1. */
static int field_of(uint64_t w, size_t n)
{
#define IS(name) (w == word(name, sizeof name - 1))
    switch (n) {
    case 2: return IS("ts") ? EV_F_TS : -1;
    case 4: return IS("user") ? EV_F_USER : IS("item") ? EV_F_ITEM : -1;
    case 5: return IS("event") ? EV_F_EVENT : IS("price") ? EV_F_PRICE : IS("offer") ? EV_F_OFFER : -1;
    case 7: return IS("session") ? EV_F_SESSION : -1;
    case 8:
        return IS("category") ? EV_F_CATEGORY : IS("quantity") ? EV_F_QUANTITY : IS("discount") ? EV_F_DISCOUNT
             : IS("campaign") ? EV_F_CAMPAIGN : -1;
    }
    return -1;
#undef IS
}

/* The records of a stream share their key order: the field found at each
 * position of the last record is tried first (per thread). */
#define KEY_CACHE 16
static _Thread_local struct {
    uint64_t w;
    uint8_t n;
    int8_t f;
} key_cache[KEY_CACHE];

static inline int field_at(size_t i, const char *s, size_t n, size_t avail)
{
    if (n < 2 || n > 8)
        return -1;
    uint64_t w = key_word(s, n, avail);
    if (i < KEY_CACHE && key_cache[i].n == n && key_cache[i].w == w)
        return key_cache[i].f;
    int f = field_of(w, n);
    if (i < KEY_CACHE) {
        key_cache[i].w = w;
        key_cache[i].n = (uint8_t)n;
        key_cache[i].f = (int8_t)f;
    }
    return f;
}

/* One value at p[pos]: the common shapes inline, the rest in read_val. */
static inline __attribute__((always_inline)) bool decode(const unsigned char *p, size_t pos, size_t len,
                                                        struct ev_val *val, size_t *used)
{
    unsigned vb = p[pos];
    if (vb <= 0x7f) {
        val->t = EV_INT, val->i = vb, *used = 1;
    } else if (vb == 0xc0) {
        val->t = EV_NIL, *used = 1;
    } else if (vb == 0xcb && len - pos >= 9) {
        uint64_t bits = be(p + pos + 1, 8);
        memcpy(&val->f, &bits, 8);
        val->t = EV_F64, *used = 9;
    } else if ((vb & 0xe0) == 0xa0 && (size_t)(vb & 0x1f) < len - pos) {
        val->t = EV_STR, val->n = vb & 0x1f, val->s = (const char *)p + pos + 1, *used = 1 + val->n;
    } else if (vb == 0xce && len - pos >= 5) {
        /* uint32: times and most ids */
        val->t = EV_INT, val->i = (int64_t)be(p + pos + 1, 4), *used = 5;
    } else if (vb == 0xcd && len - pos >= 3) {
        val->t = EV_INT, val->i = (int64_t)be(p + pos + 1, 2), *used = 3;
    } else if (!read_val(p + pos, len - pos, val, used)) {
        return false;
    }
    val->off = (uint32_t)pos;
    val->len = (uint32_t)*used;
    return true;
}

static bool scan_packed(const char *raw, size_t len, struct ev_raw *r);

/* Any map record, in bytes that may go on past it: where it ends, or 0
 * (with *why). */
static size_t scan_map(const char *raw, size_t len, struct ev_raw *r, const char **why)
{
    const unsigned char *p = (const unsigned char *)raw;
    for (int f = 0; f < EV_NFIELDS; f++) {
        r->v[f].t = EV_NIL;
        r->present[f] = false;
    }
    if (len == 0)
        goto bad;
    size_t pos, nkeys;
    unsigned b = p[0];
    if (b >= 0x80 && b <= 0x8f)
        nkeys = b & 0x0f, pos = 1;
    else if (b == 0xde && len >= 3)
        nkeys = (size_t)be(p + 1, 2), pos = 3;
    else if (b == 0xdf && len >= 5)
        nkeys = (size_t)be(p + 1, 4), pos = 5;
    else
        goto bad;
    r->nkeys = (uint32_t)nkeys;
    r->body = (uint32_t)pos;
    struct ev_val scratch;
    for (size_t i = 0; i < nkeys; i++) {
        struct ev_val key;
        size_t used;
        if (pos < len && (p[pos] & 0xe0) == 0xa0) {
            key.t = EV_STR;
            key.n = p[pos] & 0x1f;
            key.s = raw + pos + 1;
            used = 1 + key.n;
            if (used > len - pos)
                goto bad;
        } else if (!read_val(p + pos, len - pos, &key, &used)) {
            goto bad;
        }
        if (key.t != EV_STR) {
            *why = "a field name is not a string";
            return 0;
        }
        pos += used;
        if (pos >= len)
            goto bad;
        /* Decode straight into the field's slot (no copy of a local:
         * that stalls on store forwarding). */
        int f = field_at(i, key.s, key.n, len - (size_t)(key.s - raw));
        struct ev_val *val = &scratch;
        if (f >= 0 && !r->present[f]) {
            r->present[f] = true;
            val = &r->v[f];
        }
        if (!decode(p, pos, len, val, &used))
            goto bad;
        pos += used;
    }
    return pos;
bad:
    *why = "not a record";
    return 0;
}

bool ev_scan(const char *raw, size_t len, struct ev_raw *r, const char **why)
{
    /* Records as ev_pack writes them (promo-clean's output): the keys in
     * their known order, no lookups. */
    if (len > 0 && (unsigned char)raw[0] == (0x80 | EV_NFIELDS) && scan_packed(raw, len, r))
        return true;
    return scan_map(raw, len, r, why) != 0;
}



size_t ev_measure_next(const char *p, size_t avail, void *walk)
{
    struct ev_walk *w = walk;
    size_t n = ev_measure(p, avail, &w->raw);
    w->at = n ? p : NULL;
    return n;
}

bool ev_walk_fields(struct ev_walk *w, const char *raw, size_t len, const char **why)
{
    bool measured = raw == w->at;
    w->at = NULL;   /* one use: a later record may start at the same address */
    return measured || ev_scan(raw, len, &w->raw, why);
}

const char *ev_val_type_name(const struct ev_val *v)
{
    switch (v->t) {
    case EV_NIL: return "nil";
    case EV_INT: return "an integer";
    case EV_BIG: return "an integer above 9223372036854775807";
    case EV_F64: return "a number";
    case EV_STR: return "a string";
    case EV_BOOL: return "a boolean";
    default: break;
    }
    unsigned b = v->first;
    if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd) return "an array";
    if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf) return "a map";
    if (b >= 0xc4 && b <= 0xc6) return "binary data";
    return "an extension value";
}

/* ---- ids ------------------------------------------------------------------ */

int ev_id_cmp(const struct ev_id *a, const struct ev_id *b)
{
    if (a->t != b->t)
        return a->t == EV_INT ? -1 : 1;
    if (a->t == EV_INT)
        return (a->i > b->i) - (a->i < b->i);
    uint32_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, n);
    if (c)
        return c < 0 ? -1 : 1;
    return (a->n > b->n) - (a->n < b->n);
}

bool ev_id_eq(const struct ev_id *a, const struct ev_id *b)
{
    if (a->t != b->t)
        return false;
    if (a->t == EV_INT)
        return a->i == b->i;
    if (a->t == EV_STR)
        return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
    return true;
}

const char *ev_id_text(const struct ev_id *id, char *buf, size_t *n)
{
    if (id->t == EV_STR) {
        *n = id->n;
        return id->s;
    }
    *n = (size_t)snprintf(buf, 24, "%lld", (long long)id->i);
    return buf;
}

/* ---- packing -------------------------------------------------------------- */

/* Bytes written straight, in MessagePack's smallest forms (what
 * msgpack-c's packer writes), several times faster than the packer's
 * callback per value. */
/* The keys as packed: a fixstr byte and the name. */
/* Padded, so a key can be compared as one 8-byte word (key_is). */
static const char packed_keys[EV_NFIELDS][16] = {
    "\xa4user", "\xa4item", "\xa8" "category", "\xa5" "event", "\xa2ts", "\xa7session",
    "\xa5price", "\xa8quantity", "\xa8" "discount", "\xa8" "campaign", "\xa5offer",
};
static const uint8_t packed_key_len[EV_NFIELDS] = {5, 5, 9, 6, 3, 8, 6, 9, 9, 9, 6};

static char *put_key(char *o, int f)
{
    memcpy(o, packed_keys[f], packed_key_len[f]);
    return o + packed_key_len[f];
}

static const uint8_t type_name_len[EV_NTYPES] = {4, 4, 4, 8, 5, 7};

/* Whether raw (avail bytes) starts with ev_pack's key f and a value byte.
 * A fixed 8-byte load and a mask: a memcpy of a variable length compiles
 * to a slow string move, which was most of promo-clean's time. */
static inline bool key_is(const char *raw, size_t avail, int f)
{
    const char *key = packed_keys[f];
    size_t k = packed_key_len[f];
    if (avail <= k)
        return false;
    if (avail < 9)
        return memcmp(raw, key, k) == 0;
    uint64_t m = k >= 8 ? ~(uint64_t)0 : ((uint64_t)1 << (8 * k)) - 1;
    return ((load8(raw) ^ load8(key)) & m) == 0 && (k < 9 || raw[8] == key[8]);
}

/* The eleven values in schema order, each after ev_pack's key if keys:
 * ev_scan's fast path and ev_scan_values.  false (r undefined) if the
 * bytes are not exactly that. */
static size_t scan_fixed(const char *raw, size_t len, struct ev_raw *r, bool keys)
{
    const unsigned char *p = (const unsigned char *)raw;
    size_t pos = 1;
    for (int f = 0; f < EV_NFIELDS; f++) {
        size_t used;
        if (keys) {
            if (!key_is(raw + pos, len - pos, f))
                return 0;
            pos += packed_key_len[f];
        }
        if (pos >= len || !decode(p, pos, len, &r->v[f], &used))
            return 0;
        r->present[f] = true;
        pos += used;
    }
    r->nkeys = EV_NFIELDS;
    r->body = 1;
    return pos;
}

static bool scan_packed(const char *raw, size_t len, struct ev_raw *r)
{
    return scan_fixed(raw, len, r, true) == len;
}

size_t ev_measure(const char *p, size_t avail, struct ev_raw *r)
{
    size_t n = avail > 0 && (unsigned char)p[0] == (0x80 | EV_NFIELDS) ? scan_fixed(p, avail, r, true) : 0;
    const char *why;
    return n ? n : scan_map(p, avail, r, &why);
}

static char *put_id(char *o, const struct ev_id *id)
{
    if (id->t == EV_INT)
        return mpp_int(o, id->i);
    if (id->t == EV_STR)
        return mpp_str(o, id->s, id->n);
    *o++ = (char)0xc0;
    return o;
}

#define NIL(o) (*(o)++ = (char)0xc0, (o))

size_t ev_pack_bound(const struct ev_norm *e)
{
    size_t n = 1 + 80 + 11 * 9 + 4 * 5;
    if (e->user.t == EV_STR) n += e->user.n;
    if (e->item.t == EV_STR) n += e->item.n;
    if (e->category.t == EV_STR) n += e->category.n;
    return n + e->offer_n;
}

/* The eleven values in schema order, each after its key if keys. */
static size_t pack(char *out, const struct ev_norm *e, bool keys)
{
#define KEY(f) (keys ? put_key(o, f) : o)
    char *o = out;
    *o++ = (char)((keys ? 0x80 : 0x90) | EV_NFIELDS);
    o = KEY(EV_F_USER);
    o = put_id(o, &e->user);
    o = KEY(EV_F_ITEM);
    o = put_id(o, &e->item);
    o = KEY(EV_F_CATEGORY);
    o = put_id(o, &e->category);
    o = KEY(EV_F_EVENT);
    o = mpp_str(o, ev_type_names[e->type], type_name_len[e->type]);
    o = KEY(EV_F_TS);
    o = mpp_int(o, e->ts);
    o = KEY(EV_F_SESSION);
    o = e->has_session ? mpp_int(o, e->session) : NIL(o);
    o = KEY(EV_F_PRICE);
    o = e->has_price ? mpp_f64(o, e->price) : NIL(o);
    o = KEY(EV_F_QUANTITY);
    o = e->has_quantity ? mpp_int(o, e->quantity) : NIL(o);
    o = KEY(EV_F_DISCOUNT);
    o = e->has_discount ? mpp_f64(o, e->discount) : NIL(o);
    o = KEY(EV_F_CAMPAIGN);
    o = e->has_campaign ? mpp_int(o, e->campaign) : NIL(o);
    o = KEY(EV_F_OFFER);
    o = e->offer ? mpp_str(o, e->offer, e->offer_n) : NIL(o);
    return (size_t)(o - out);
#undef KEY
}

size_t ev_pack(char *out, const struct ev_norm *e) { return pack(out, e, true); }
size_t ev_pack_values(char *out, const struct ev_norm *e) { return pack(out, e, false); }

bool ev_scan_values(const char *raw, size_t len, struct ev_raw *r)
{
    return len > 0 && (unsigned char)raw[0] == (0x90 | EV_NFIELDS) && scan_fixed(raw, len, r, false) == len;
}


void ev_unpack(const struct ev_raw *r, struct ev_norm *e)
{
    const struct ev_val *v = r->v;
    struct ev_id *ids[] = {&e->user, &e->item, &e->category};
    static const int idf[] = {EV_F_USER, EV_F_ITEM, EV_F_CATEGORY};
    for (int k = 0; k < 3; k++) {
        const struct ev_val *x = &v[idf[k]];
        ids[k]->t = x->t == EV_INT || x->t == EV_STR ? x->t : EV_NIL;
        ids[k]->i = x->t == EV_INT ? x->i : 0;
        ids[k]->s = x->t == EV_STR ? x->s : NULL;
        ids[k]->n = x->t == EV_STR ? x->n : 0;
    }
    const struct ev_val *ev = &v[EV_F_EVENT];
    e->type = ev->t == EV_STR ? ev_type_find(ev->s, ev->n) : -1;
    e->ts = v[EV_F_TS].i;
    e->has_session = v[EV_F_SESSION].t == EV_INT;
    e->session = e->has_session ? v[EV_F_SESSION].i : 0;
    e->has_quantity = v[EV_F_QUANTITY].t == EV_INT;
    e->quantity = e->has_quantity ? v[EV_F_QUANTITY].i : 0;
    e->has_campaign = v[EV_F_CAMPAIGN].t == EV_INT;
    e->campaign = e->has_campaign ? v[EV_F_CAMPAIGN].i : 0;
    e->has_price = v[EV_F_PRICE].t == EV_F64;
    e->price = e->has_price ? v[EV_F_PRICE].f : 0;
    e->has_discount = v[EV_F_DISCOUNT].t == EV_F64;
    e->discount = e->has_discount ? v[EV_F_DISCOUNT].f : 0;
    e->offer = v[EV_F_OFFER].t == EV_STR ? v[EV_F_OFFER].s : NULL;
    e->offer_n = v[EV_F_OFFER].t == EV_STR ? v[EV_F_OFFER].n : 0;
}

/* ---- validation ------------------------------------------------------------ */

/* A value for a message: a number, or a string cut at 40 bytes. */
static const char *shown(const struct ev_val *v, char *buf, size_t n)
{
    if (v->t == EV_STR) {
        size_t k = v->n <= 40 ? v->n : 40;
        while (k < v->n && k > 0 && ((unsigned char)v->s[k] & 0xc0) == 0x80)
            k--;
        snprintf(buf, n, "\"%.*s%s\"", (int)k, v->s, k < v->n ? "..." : "");
    } else if (v->t == EV_INT) {
        snprintf(buf, n, "%lld", (long long)v->i);
    } else if (v->t == EV_F64) {
        char num[NUM_BUF];
        num_fmt_f64(num, v->f);
        snprintf(buf, n, "%s", num);
    } else {
        snprintf(buf, n, "%s", ev_val_type_name(v));
    }
    return buf;
}

/* An integral float that is exactly an int64. */
static bool f64_int(double f, int64_t *i)
{
    if (!(f >= -9007199254740992.0 && f <= 9007199254740992.0) || f != floor(f))
        return false;
    *i = (int64_t)f;
    return true;
}

static bool get_id(const struct ev_val *v, struct ev_id *id)
{
    switch (v->t) {
    case EV_INT: id->t = EV_INT, id->i = v->i; return true;
    case EV_F64: id->t = EV_INT; return f64_int(v->f, &id->i);
    case EV_STR: id->t = EV_STR, id->s = v->s, id->n = v->n; return true;
    default: return false;
    }
}

static bool get_int(const struct ev_val *v, int64_t *i)
{
    if (v->t == EV_INT) {
        *i = v->i;
        return true;
    }
    return v->t == EV_F64 && f64_int(v->f, i);
}

static bool get_num(const struct ev_val *v, double *f)
{
    if (v->t == EV_INT)
        *f = (double)v->i;
    else if (v->t == EV_F64)
        *f = v->f;
    else
        return false;
    return true;
}

/* nil, or a string of no bytes: both are missing. */
static bool missing(const struct ev_val *v)
{
    return v->t == EV_NIL || (v->t == EV_STR && v->n == 0);
}


#define FAIL(reason, ...) do { snprintf(detail, dn, __VA_ARGS__); return reason; } while (0)

static enum ev_reason get_ts(const struct ev_val *v, enum ev_ts_format fmt, int64_t *ts,
                             char *detail, size_t dn)
{
    char b[64];
    double f;
    if (v->t == EV_STR && (fmt == EV_TS_AUTO || fmt == EV_TS_ISO)) {
        if (!ev_parse_iso(v->s, v->n, ts))
            FAIL(EV_R_BAD_TS, "field \"ts\": not an ISO-8601 time: %s", shown(v, b, sizeof b));
    } else if ((v->t == EV_INT || v->t == EV_F64) && fmt != EV_TS_ISO) {
        get_num(v, &f);
        if (v->t == EV_INT && fmt != EV_TS_UNIX_MS)
            *ts = v->i;
        else if (fmt == EV_TS_UNIX_MS && v->t == EV_INT)
            *ts = v->i / 1000 - (v->i % 1000 < 0);
        else {
            if (fmt == EV_TS_UNIX_MS)
                f /= 1000;
            if (!(f >= 0 && f < (double)EV_MAX_TS))
                FAIL(EV_R_BAD_TS, "field \"ts\": %s is out of range (years 1970 to 9999)",
                     shown(v, b, sizeof b));
            *ts = (int64_t)floor(f);
        }
    } else {
        FAIL(EV_R_BAD_TYPE, "field \"ts\": expected %s, got %s",
             fmt == EV_TS_ISO ? "an ISO-8601 string" : fmt == EV_TS_AUTO ? "a number or an ISO-8601 string"
                                                     : "a number", ev_val_type_name(v));
    }
    if (*ts < 0 || *ts >= EV_MAX_TS)
        FAIL(EV_R_BAD_TS, "field \"ts\": %s is out of range (years 1970 to 9999)", shown(v, b, sizeof b));
    return EV_OK;
}

enum ev_reason ev_validate(const struct ev_raw *r, const struct ev_rules *rules, struct ev_norm *e,
                           char *detail, size_t dn)
{
    const struct ev_val *v = r->v;
    char b[64];
    memset(e, 0, sizeof *e);
    if (missing(&v[EV_F_USER]))
        FAIL(EV_R_MISSING_USER, "field \"user\": missing");
    bool has_event = !missing(&v[EV_F_EVENT]);
    if (!has_event && rules->default_event < 0)
        FAIL(EV_R_MISSING_EVENT, "field \"event\": missing");
    if (missing(&v[EV_F_TS]))
        FAIL(EV_R_MISSING_TS, "field \"ts\": missing");

    if (!has_event) {
        e->type = rules->default_event;
    } else {
        const struct ev_val *ev = &v[EV_F_EVENT];
        if (ev->t != EV_STR)
            FAIL(EV_R_BAD_TYPE, "field \"event\": expected a string, got %s", ev_val_type_name(ev));
        e->type = -1;
        for (int i = 0; i < rules->nmap && e->type < 0; i++)
            if (strlen(rules->map_from[i]) == ev->n && memcmp(rules->map_from[i], ev->s, ev->n) == 0)
                e->type = rules->map_to[i];
        if (e->type < 0)
            e->type = ev_type_find(ev->s, ev->n);
        if (e->type < 0)
            FAIL(EV_R_UNKNOWN_EVENT, "field \"event\": unknown event %s", shown(ev, b, sizeof b));
    }
    bool behaviour = EV_BEHAVIOUR(e->type);
    if (behaviour && missing(&v[EV_F_ITEM]))
        FAIL(EV_R_MISSING_ITEM, "field \"item\": missing (a %s needs an item)", ev_type_names[e->type]);
    if (!behaviour && missing(&v[EV_F_CAMPAIGN]))
        FAIL(EV_R_MISSING_CAMPAIGN, "field \"campaign\": missing (a %s event needs one)",
             ev_type_names[e->type]);
    if (e->type == EV_TREAT && missing(&v[EV_F_OFFER]))
        FAIL(EV_R_MISSING_OFFER, "field \"offer\": missing (a treat event needs one)");

    /* Types. */
    static const int id_fields[] = {EV_F_USER, EV_F_ITEM, EV_F_CATEGORY};
    struct ev_id *ids[] = {&e->user, &e->item, &e->category};
    for (int k = 0; k < 3; k++) {
        const struct ev_val *x = &v[id_fields[k]];
        ids[k]->t = EV_NIL;
        if (!missing(x) && !get_id(x, ids[k]))
            FAIL(EV_R_BAD_TYPE, "field \"%s\": expected an integer or a string, got %s",
                 ev_field_names[id_fields[k]], x->t == EV_F64 ? shown(x, b, sizeof b) : ev_val_type_name(x));
    }
    static const int int_fields[] = {EV_F_SESSION, EV_F_QUANTITY, EV_F_CAMPAIGN};
    bool *has_int[] = {&e->has_session, &e->has_quantity, &e->has_campaign};
    int64_t *ints[] = {&e->session, &e->quantity, &e->campaign};
    for (int k = 0; k < 3; k++) {
        const struct ev_val *x = &v[int_fields[k]];
        if (x->t == EV_NIL)
            continue;
        if (!get_int(x, ints[k]))
            FAIL(EV_R_BAD_TYPE, "field \"%s\": expected an integer, got %s", ev_field_names[int_fields[k]],
                 x->t == EV_F64 ? shown(x, b, sizeof b) : ev_val_type_name(x));
        *has_int[k] = true;
    }
    static const int num_fields[] = {EV_F_PRICE, EV_F_DISCOUNT};
    bool *has_num[] = {&e->has_price, &e->has_discount};
    double *nums[] = {&e->price, &e->discount};
    for (int k = 0; k < 2; k++) {
        const struct ev_val *x = &v[num_fields[k]];
        if (x->t == EV_NIL)
            continue;
        if (!get_num(x, nums[k]))
            FAIL(EV_R_BAD_TYPE, "field \"%s\": expected a number, got %s", ev_field_names[num_fields[k]],
                 ev_val_type_name(x));
        *has_num[k] = true;
    }
    const struct ev_val *o = &v[EV_F_OFFER];
    if (o->t != EV_NIL && o->t != EV_STR)
        FAIL(EV_R_BAD_TYPE, "field \"offer\": expected a string, got %s", ev_val_type_name(o));
    if (o->t == EV_STR && o->n > 0) {
        e->offer = o->s;
        e->offer_n = o->n;
    }
    enum ev_reason why = get_ts(&v[EV_F_TS], rules->ts_format, &e->ts, detail, dn);
    if (why != EV_OK)
        return why;

    /* Ranges. */
    if (e->has_price && !(e->price > 0 && isfinite(e->price)))
        FAIL(EV_R_BAD_PRICE, "field \"price\": expected a positive number, got %s",
             shown(&v[EV_F_PRICE], b, sizeof b));
    if (e->has_quantity && e->quantity <= 0)
        FAIL(EV_R_BAD_QUANTITY, "field \"quantity\": expected a positive integer, got %lld",
             (long long)e->quantity);
    if (e->has_discount && !(e->discount >= 0 && isfinite(e->discount)))
        FAIL(EV_R_BAD_DISCOUNT, "field \"discount\": expected a number of at least 0, got %s",
             shown(&v[EV_F_DISCOUNT], b, sizeof b));
    char t1[32], t2[32];
    if (rules->has_since && e->ts < rules->since)
        FAIL(EV_R_OUT_OF_WINDOW, "field \"ts\": %s is before --since %s", ev_fmt_time(e->ts, t1),
             ev_fmt_time(rules->since, t2));
    if (rules->has_until && e->ts >= rules->until)
        FAIL(EV_R_OUT_OF_WINDOW, "field \"ts\": %s is not before --until %s", ev_fmt_time(e->ts, t1),
             ev_fmt_time(rules->until, t2));
    return EV_OK;
}

bool ev_read(const struct ev_raw *r, struct ev_norm *e, char *why, size_t whylen)
{
    /* The types ev_pack writes, checked cheaply; anything else goes
     * through the full validation for its message. */
    const struct ev_val *v = r->v;
    bool ok = (v[EV_F_USER].t == EV_INT || (v[EV_F_USER].t == EV_STR && v[EV_F_USER].n > 0)) &&
              v[EV_F_EVENT].t == EV_STR && v[EV_F_TS].t == EV_INT && v[EV_F_TS].i >= 0 &&
              v[EV_F_TS].i < EV_MAX_TS;
    for (int f = EV_F_ITEM; ok && f <= EV_F_CATEGORY; f++)
        ok = v[f].t == EV_NIL || v[f].t == EV_INT || (v[f].t == EV_STR && v[f].n > 0);
    ok = ok && (v[EV_F_SESSION].t == EV_NIL || v[EV_F_SESSION].t == EV_INT) &&
         (v[EV_F_QUANTITY].t == EV_NIL || (v[EV_F_QUANTITY].t == EV_INT && v[EV_F_QUANTITY].i > 0)) &&
         (v[EV_F_CAMPAIGN].t == EV_NIL || v[EV_F_CAMPAIGN].t == EV_INT) &&
         (v[EV_F_PRICE].t == EV_NIL || (v[EV_F_PRICE].t == EV_F64 && v[EV_F_PRICE].f > 0 && isfinite(v[EV_F_PRICE].f))) &&
         (v[EV_F_DISCOUNT].t == EV_NIL ||
          (v[EV_F_DISCOUNT].t == EV_F64 && v[EV_F_DISCOUNT].f >= 0 && isfinite(v[EV_F_DISCOUNT].f))) &&
         (v[EV_F_OFFER].t == EV_NIL || v[EV_F_OFFER].t == EV_STR);
    if (ok) {
        ev_unpack(r, e);
        bool behaviour = e->type >= 0 && EV_BEHAVIOUR(e->type);
        if (e->type >= 0 && (!behaviour || e->item.t != EV_NIL) &&
            (behaviour || e->has_campaign) && (e->type != EV_TREAT || e->offer))
            return true;
    }
    static const struct ev_rules plain = {.default_event = -1};
    return ev_validate(r, &plain, e, why, whylen) == EV_OK;
}

bool ev_rules_map(struct ev_rules *rules, char **pairs, int n, char *why, size_t whylen)
{
    if (n > EV_MAX_MAP) {
        snprintf(why, whylen, "at most %d names can be mapped", EV_MAX_MAP);
        return false;
    }
    for (int i = 0; i < n; i++) {
        char *eq = strchr(pairs[i], '=');
        if (!eq || eq == pairs[i] || !eq[1]) {
            snprintf(why, whylen, "expected FROM=TO, got \"%s\"", pairs[i]);
            return false;
        }
        *eq = '\0';
        int t = ev_type_find(eq + 1, strlen(eq + 1));
        if (t < 0) {
            snprintf(why, whylen, "\"%s\" is not an event name (view, wish, cart, purchase, treat or control)",
                     eq + 1);
            return false;
        }
        for (int k = 0; k < rules->nmap; k++)
            if (strcmp(rules->map_from[k], pairs[i]) == 0) {
                snprintf(why, whylen, "\"%s\" is mapped twice", pairs[i]);
                return false;
            }
        rules->map_from[rules->nmap] = pairs[i];
        rules->map_to[rules->nmap++] = t;
    }
    return true;
}

/* ---- times ------------------------------------------------------------------ */

int64_t ev_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

const char *ev_fmt_time(int64_t t, char *buf)
{
    int64_t days = t / 86400, s = t % 86400;
    if (s < 0)
        s += 86400, days--;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    /* Only years 0 to 9999 are valid times here; clamp for the format. */
    int yy = y < 0 ? 0 : y > 9999 ? 9999 : (int)y;
    snprintf(buf, 32, "%04d-%02u-%02uT%02u:%02u:%02uZ", yy, m % 13, d % 32, (unsigned)(s / 3600) % 24,
             (unsigned)(s / 60 % 60), (unsigned)(s % 60));
    return buf;
}

/* k digits at s[*i] into *v. */
static bool digits(const char *s, size_t n, size_t *i, int k, int *v)
{
    if (*i + (size_t)k > n)
        return false;
    int x = 0;
    for (int j = 0; j < k; j++) {
        char c = s[*i + (size_t)j];
        if (c < '0' || c > '9')
            return false;
        x = x * 10 + (c - '0');
    }
    *i += (size_t)k;
    *v = x;
    return true;
}

bool ev_parse_iso(const char *s, size_t n, int64_t *out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0, zh = 0, zm = 0, zsign = 0;
    if (!digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || !digits(s, n, &i, 2, &mo) ||
        i >= n || s[i++] != '-' || !digits(s, n, &i, 2, &d))
        return false;
    if (mo < 1 || mo > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return false;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return false;
        i++;
        if (!digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || !digits(s, n, &i, 2, &mi))
            return false;
        if (i < n && s[i] == ':') {
            i++;
            if (!digits(s, n, &i, 2, &sec))
                return false;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                size_t f = ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                    i++;
                if (i == f)
                    return false;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return false;
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            zsign = s[i++] == '+' ? 1 : -1;
            if (!digits(s, n, &i, 2, &zh))
                return false;
            if (i < n && s[i] == ':')
                i++;
            if (i < n && !digits(s, n, &i, 2, &zm))
                return false;
            if (zh > 23 || zm > 59)
                return false;
        }
        if (i != n)
            return false;
    }
    *out = ev_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
           zsign * (zh * 3600 + zm * 60);
    return true;
}

bool ev_parse_time(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n > 0 && n < 19 && strspn(s, "0123456789") == n) {
        char *end;
        *out = strtoll(s, &end, 10);
        return *out < EV_MAX_TS;
    }
    return ev_parse_iso(s, n, out) && *out >= 0 && *out < EV_MAX_TS;
}

bool ev_parse_duration(const char *s, int64_t *out)
{
    char *end;
    double x = strtod(s, &end);
    if (end == s || !(x >= 0) || !isfinite(x) || *s == '+' || *s == ' ')
        return false;
    double unit = 1;
    switch (*end) {
    case '\0': break;
    case 's': unit = 1; end++; break;
    case 'm': unit = 60; end++; break;
    case 'h': unit = 3600; end++; break;
    case 'd': unit = 86400; end++; break;
    default: return false;
    }
    if (*end || x * unit > 3.2e9)   /* about a hundred years */
        return false;
    *out = (int64_t)llround(x * unit);
    return true;
}
