/* events: the events schema, its event-name vocabulary, and a fast reader
 * of event records straight from their MessagePack bytes.
 *
 * An events record has the fields user, item, category, event, ts,
 * session, price, quantity, discount, campaign, offer (docs/clean.md).
 * promo-clean validates raw records against the schema (ev_validate) and
 * writes them normalized (ev_pack): always the eleven keys in that order,
 * nil where a value is absent, ids as integers or strings, numbers as
 * int64 or float64.  promo-featurize reads them back (ev_scan, ev_read).
 *
 * ev_scan reads the bytes of one record (as rs_raw gives them) without
 * building MessagePack objects: it is several times faster than unpacking,
 * which matters at millions of records per second.  Values it returns
 * point into the record's bytes and die with them. */
#ifndef PROMO_EVENTS_H
#define PROMO_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the vocabulary ------------------------------------------------------ */

/* Behaviour events first (they need an item), then campaign membership. */
enum ev_type { EV_VIEW, EV_WISH, EV_CART, EV_PURCHASE, EV_TREAT, EV_CONTROL, EV_NTYPES };
extern const char *const ev_type_names[EV_NTYPES];
#define EV_BEHAVIOUR(t) ((t) <= EV_PURCHASE)
/* The type of a name, or -1. */
int ev_type_find(const char *s, size_t n);

/* ---- the fields ------------------------------------------------------------ */

enum ev_field {
    EV_F_USER, EV_F_ITEM, EV_F_CATEGORY, EV_F_EVENT, EV_F_TS, EV_F_SESSION, EV_F_PRICE,
    EV_F_QUANTITY, EV_F_DISCOUNT, EV_F_CAMPAIGN, EV_F_OFFER, EV_NFIELDS
};
extern const char *const ev_field_names[EV_NFIELDS];

/* One scalar value as read from the bytes. */
enum ev_vt { EV_NIL, EV_INT, EV_BIG /* uint64 above int64 */, EV_F64, EV_STR, EV_BOOL, EV_OTHER };
struct ev_val {
    uint8_t t;                 /* enum ev_vt; EV_NIL also when absent */
    uint8_t first;             /* EV_OTHER: its type byte, for messages */
    uint32_t n;                /* EV_STR: its length */
    uint32_t off, len;         /* where the value's bytes are in the record */
    union {
        int64_t i;             /* EV_INT, EV_BOOL */
        double f;              /* EV_F64 */
        const char *s;         /* EV_STR */
    };
};

/* The schema fields of one record; other fields are skipped. */
struct ev_raw {
    struct ev_val v[EV_NFIELDS];
    bool present[EV_NFIELDS];  /* the key is there (possibly nil) */
    uint32_t nkeys;            /* keys in the record, all of them */
    uint32_t body;             /* offset of the first key (after the map header) */
};

/* Read a record's bytes.  false (with *why) if they are not one map with
 * string keys; the stream reader has already checked the MessagePack, so
 * that means a record that is not an events record. */
bool ev_scan(const char *raw, size_t len, struct ev_raw *r, const char **why);
/* A record at p, in bytes that may go on past it: its length, with its
 * fields in r as ev_scan reads them; 0 if the bytes start no whole map
 * record (the stream reader then scans them itself and ev_scan says what
 * is wrong).  For rs_set_measure: one walk over the bytes, not two. */
size_t ev_measure(const char *p, size_t avail, struct ev_raw *r);
/* A reader of event records that walks each record once: give
 * ev_measure_next and an ev_walk to rs_set_measure, then ev_walk_fields
 * for each record the reader returns. */
struct ev_walk {
    struct ev_raw raw;         /* the fields of the record last measured */
    const char *at;            /* where that record starts, or NULL */
};
size_t ev_measure_next(const char *p, size_t avail, void *walk);
/* The fields of the record at raw (len bytes) into w->raw: the measured
 * ones, else scanned now.  false (with *why) if it is not a record. */
bool ev_walk_fields(struct ev_walk *w, const char *raw, size_t len, const char **why);
/* "a string", "an integer", ... for messages. */
const char *ev_val_type_name(const struct ev_val *v);

/* ---- normalized records ----------------------------------------------------- */

/* An id: an integer or a string (user, item, category). */
struct ev_id {
    uint8_t t;                 /* EV_NIL, EV_INT or EV_STR */
    int64_t i;
    const char *s;
    uint32_t n;
};

struct ev_norm {
    struct ev_id user, item, category;
    int type;                  /* enum ev_type */
    int64_t ts;                /* unix seconds */
    bool has_session, has_price, has_quantity, has_discount, has_campaign;
    int64_t session, quantity, campaign;
    double price, discount;
    const char *offer;         /* NULL: none */
    uint32_t offer_n;
};

/* Pack the eleven fields in schema order, nil where absent, into out
 * (ev_pack_bound bytes at least); returns the length.  The bytes are what
 * msgpack-c's packer would write (smallest forms). */
size_t ev_pack_bound(const struct ev_norm *e);
size_t ev_pack(char *out, const struct ev_norm *e);
/* The same values without their keys: an array of eleven (a third of
 * the bytes; promo-clean sorts these), and its reader (false if the bytes
 * are not such an array). */
size_t ev_pack_values(char *out, const struct ev_norm *e);
bool ev_scan_values(const char *raw, size_t len, struct ev_raw *r);
/* The fields of a record ev_pack wrote, without checks (ev_read checks). */
void ev_unpack(const struct ev_raw *r, struct ev_norm *e);
/* Read a normalized record (as ev_pack writes it, or any record of valid
 * schema types).  false with a message in why if a field has the wrong
 * type or a required one is missing. */
bool ev_read(const struct ev_raw *r, struct ev_norm *e, char *why, size_t whylen);

/* Order of users: integers (by value) before strings (bytewise). */
int ev_id_cmp(const struct ev_id *a, const struct ev_id *b);
bool ev_id_eq(const struct ev_id *a, const struct ev_id *b);
/* The canonical text of an id ("123" for the integer 123); buf needs 24
 * bytes, the result may point into the id's string. */
const char *ev_id_text(const struct ev_id *id, char *buf, size_t *n);

/* ---- validation (promo-clean) --------------------------------------------- */

/* Why a record is rejected, in the order the checks run. */
enum ev_reason {
    EV_OK,
    EV_R_MISSING_USER, EV_R_MISSING_EVENT, EV_R_MISSING_TS, EV_R_UNKNOWN_EVENT, EV_R_MISSING_ITEM,
    EV_R_MISSING_CAMPAIGN, EV_R_MISSING_OFFER, EV_R_BAD_TYPE, EV_R_BAD_TS, EV_R_BAD_PRICE,
    EV_R_BAD_QUANTITY, EV_R_BAD_DISCOUNT, EV_R_OUT_OF_WINDOW,
    EV_R_DUPLICATE, EV_R_NEAR_DUPLICATE, EV_R_BOT,
    EV_NREASONS
};
extern const char *const ev_reason_names[EV_NREASONS];

enum ev_ts_format { EV_TS_AUTO, EV_TS_UNIX, EV_TS_UNIX_MS, EV_TS_ISO };
extern const char *const ev_ts_format_names[5];   /* NULL-terminated */

#define EV_MAX_MAP 64

/* How raw records are read: the event-name map, the default event, the
 * time format and the window. */
struct ev_rules {
    int nmap;
    char *map_from[EV_MAX_MAP];  /* owned by the caller */
    int map_to[EV_MAX_MAP];      /* enum ev_type */
    int default_event;           /* -1: none */
    enum ev_ts_format ts_format;
    bool has_since, has_until;
    int64_t since, until;        /* [since, until) */
};

/* Check one record and fill e (pointing into the record).  Returns EV_OK
 * or the reason, with a one-line detail such as
 * 'field "price": expected a number, got a string'. */
enum ev_reason ev_validate(const struct ev_raw *r, const struct ev_rules *rules, struct ev_norm *e,
                           char *detail, size_t detaillen);
/* Parse "pv=view,buy=purchase" into rules; false with a message in why. */
bool ev_rules_map(struct ev_rules *rules, char **pairs, int n, char *why, size_t whylen);

/* ---- times and durations ---------------------------------------------------- */

/* ISO-8601 date and time: YYYY-MM-DD, then optionally T or a space and
 * HH:MM[:SS[.fraction]], then optionally Z, +HH:MM, +HHMM or +HH (or -).
 * No zone means UTC; fractions of a second are dropped.  To unix seconds. */
bool ev_parse_iso(const char *s, size_t n, int64_t *out);
/* An option's time: unix seconds, or an ISO-8601 date or time. */
bool ev_parse_time(const char *s, int64_t *out);
/* A duration: a number with an optional unit s, m, h or d (seconds
 * without one), e.g. "30m", "5s", "1.5h", "7d".  To whole seconds. */
bool ev_parse_duration(const char *s, int64_t *out);
/* "2024-01-22T00:00:00Z"; buf needs 32 bytes. */
const char *ev_fmt_time(int64_t t, char *buf);
/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t ev_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
