/* promo-clean: validate, deduplicate, sort and sessionize an event log.
 *
 * Two phases.  Reading: each record is checked against the events schema
 * (common/events.c); a bad one goes to the rejects with its reason, a good
 * one is normalized and handed to the external sort (common/extsort.c),
 * keyed by (user, ts).  Writing: the sorted records come back one user at
 * a time; exact and near duplicates are removed, users above the event
 * rate limit are rejected as bots (which needs all of a user's records
 * before the first is written, so one user's records are held, spilled to
 * a temporary file past --mem / 8), sessions are assigned when the log has
 * none, and the records are written.  Memory is --mem plus a few MiB. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "events.h"
#include "extsort.h"
#include "mpscan.h"
#include "progress.h"
#include "siphash.h"
#include "stream.h"
#include "xalloc.h"

static const char help[] =
"promo-clean: validate, deduplicate and sort an event log by user and time\n"
"\n"
"Usage: promo-clean [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --event-map A=B,...     rename event names, e.g. pv=view,buy=purchase,fav=wish\n"
"  --default-event E       the event of records that have none  [default: none, they are rejected]\n"
"  --ts-format F           auto, unix, unix-ms or iso  [default: auto: numbers unix seconds, text ISO-8601]\n"
"  --since T               reject events before T (unix seconds or ISO-8601)  [default: none]\n"
"  --until T               reject events at or after T  [default: none]\n"
"  --dedup-window D        same user, session, item and event again within D is a near duplicate  [default: 5s]\n"
"  --max-events-per-day N  reject users with more events per day of the log (bots), 0 for no limit  [default: 0]\n"
"  --session-gap D         a pause longer than D starts a new session  [default: 30m]\n"
"  --sessionize WHEN       auto (if no event has a session), always or never  [default: auto]\n"
"  --pseudonymize          replace user ids by a keyed hash (needs --key-file)\n"
"  --key-file FILE         the secret key of --pseudonymize, at least 16 bytes\n"
"  --rejects FILE          write rejected records with a reason (kind rejects)  [default: none]\n"
"  --report FILE           write the counts by reason (kind metrics)  [default: none]\n"
"  --mem SIZE              memory for sorting; runs beyond it go to --tmpdir  [default: 512M]\n"
"  --tmpdir DIR            where sorted runs are spilled  [default: $TMPDIR, else /tmp]\n"
"  -o, --output FILE       write to FILE, atomically  [default: stdout]\n"
"  --level N               gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet             print nothing but errors\n"
"  --progress              report progress on stderr\n"
"  --help                  show this help\n"
"  --version               show the version\n"
"\n"
"Durations take a unit: 90s, 30m, 2h, 1d.  Output: kind events, sorted by user\n"
"and then ts, each record with the eleven schema fields (docs/clean.md).\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-clean --event-map pv=view,buy=purchase,fav=wish --rejects rej.mpz -o clean.mpz events.mpz\n";

enum {
    O_EVENT_MAP = CLI_FIRST_FREE, O_DEFAULT_EVENT, O_TS_FORMAT, O_SINCE, O_UNTIL, O_DEDUP,
    O_MAX_RATE, O_SESSION_GAP, O_SESSIONIZE, O_PSEUDO, O_KEY_FILE, O_REJECTS, O_REPORT, O_MEM,
    O_TMPDIR,
};
enum sess_mode { SESS_AUTO, SESS_ALWAYS, SESS_NEVER };
static const char *const sess_names[] = {"auto", "always", "never", NULL};

/* A held record of the current user: its place in the hold buffer. */
struct held {
    size_t off, len;
};

/* A kept record of the current user, for the duplicate checks: its time,
 * a hash of what makes a near duplicate and one of its other fields. */
struct recent {
    int64_t ts;
    uint64_t same, rest;
};

struct clean {
    struct cli cli;
    struct ev_rules rules;
    char **map;
    const char *map_text, *rejects_path, *report_path, *tmpdir, *key_file;
    uint64_t mem;
    int64_t dedup_window, session_gap;
    double max_per_day;
    enum sess_mode sess_mode;
    bool pseudonymize;
    struct sip_key key;
    const char *const *paths;
    int npaths;

    rs *in;
    ws *out, *rej, *report;
    xs *sort;
    struct progress prog;

    /* counts */
    uint64_t nin, naccepted, nout, nusers, nsessions, nbots;
    uint64_t nreordered;        /* accepted records earlier than the one before */
    uint64_t reasons[EV_NREASONS];
    bool any_session, sessionize;
    int64_t ts_min, ts_max, last_ts;
    double log_days;

    /* scratch */
    struct ev_walk walk;        /* the input record's fields, read once */
    struct ev_norm e;
    char detail[512];
    char *rec;                  /* a packed record (values only, for the sort) */
    size_t reccap;
    char *full;                 /* a record as written, with its keys */
    size_t fullcap;

    /* the user being written */
    bool have_user;
    struct ev_id user;          /* .s points into ubytes */
    char *ubytes;
    size_t ubcap;
    struct recent *recent;      /* kept records within the dedup window */
    size_t rhead, rn, rcap;
    /* held records (bot check): bytes and extents, spilled past a limit */
    char *hbuf;
    size_t hlen, hbcap;
    struct held *held;
    size_t nheld, capheld;
    uint64_t nbeh;              /* behaviour events of the user */
    bool user_out;              /* a record of the user was written */
    size_t hold_limit;
    ws *hspill;
    char *hspill_path;
    /* sessions */
    bool have_prev;
    int64_t prev_ts, prev_session;
    int64_t session_id;
};

/* ---- options ------------------------------------------------------------ */

static int64_t duration_opt(const char *opt, const char *s)
{
    int64_t v;
    if (!ev_parse_duration(s, &v))
        die_usage("%s: expected a duration such as 90s, 30m, 2h or 1d, got \"%s\"", opt, s);
    return v;
}

static int64_t time_opt(const char *opt, const char *s)
{
    int64_t v;
    if (!ev_parse_time(s, &v))
        die_usage("%s: expected unix seconds or an ISO-8601 time such as 2017-11-25T00:00:00+08:00, got \"%s\"",
                  opt, s);
    return v;
}

static void parse_options(struct clean *c, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION,
        {"event-map", required_argument, 0, O_EVENT_MAP},
        {"default-event", required_argument, 0, O_DEFAULT_EVENT},
        {"ts-format", required_argument, 0, O_TS_FORMAT},
        {"since", required_argument, 0, O_SINCE},
        {"until", required_argument, 0, O_UNTIL},
        {"dedup-window", required_argument, 0, O_DEDUP},
        {"max-events-per-day", required_argument, 0, O_MAX_RATE},
        {"session-gap", required_argument, 0, O_SESSION_GAP},
        {"sessionize", required_argument, 0, O_SESSIONIZE},
        {"pseudonymize", no_argument, 0, O_PSEUDO},
        {"key-file", required_argument, 0, O_KEY_FILE},
        {"rejects", required_argument, 0, O_REJECTS},
        {"report", required_argument, 0, O_REPORT},
        {"mem", required_argument, 0, O_MEM},
        {"tmpdir", required_argument, 0, O_TMPDIR},
        {0, 0, 0, 0},
    };
    memset(c, 0, sizeof *c);
    cli_init(&c->cli, argv[0]);
    c->rules.default_event = -1;
    c->mem = (uint64_t)512 << 20;
    c->dedup_window = 5;
    c->session_gap = 1800;
    int opt, n;
    char why[200];
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        switch (opt) {
        case O_EVENT_MAP:
            if (c->map)
                die_usage("--event-map: given twice; list all names in one");
            c->map_text = optarg;
            c->map = cli_list(optarg, &n);
            if (!ev_rules_map(&c->rules, c->map, n, why, sizeof why))
                die_usage("--event-map: %s", why);
            break;
        case O_DEFAULT_EVENT:
            c->rules.default_event = ev_type_find(optarg, strlen(optarg));
            if (c->rules.default_event < 0)
                die_usage("--default-event: expected view, wish, cart, purchase, treat or control, got \"%s\"",
                          optarg);
            break;
        case O_TS_FORMAT:
            c->rules.ts_format = (enum ev_ts_format)cli_choice("--ts-format", optarg, ev_ts_format_names);
            break;
        case O_SINCE: c->rules.since = time_opt("--since", optarg); c->rules.has_since = true; break;
        case O_UNTIL: c->rules.until = time_opt("--until", optarg); c->rules.has_until = true; break;
        case O_DEDUP: c->dedup_window = duration_opt("--dedup-window", optarg); break;
        case O_MAX_RATE: c->max_per_day = cli_f64("--max-events-per-day", optarg, 0, 1e12); break;
        case O_SESSION_GAP:
            c->session_gap = duration_opt("--session-gap", optarg);
            if (c->session_gap == 0)
                die_usage("--session-gap: expected a duration above 0, got \"%s\"", optarg);
            break;
        case O_SESSIONIZE:
            c->sess_mode = (enum sess_mode)cli_choice("--sessionize", optarg, sess_names);
            break;
        case O_PSEUDO: c->pseudonymize = true; break;
        case O_KEY_FILE: c->key_file = optarg; break;
        case O_REJECTS: c->rejects_path = optarg; break;
        case O_REPORT: c->report_path = optarg; break;
        case O_MEM:
            c->mem = cli_size("--mem", optarg);
            if (c->mem < ((uint64_t)4 << 20))
                die_usage("--mem: expected at least 4M, got \"%s\"", optarg);
            break;
        case O_TMPDIR: c->tmpdir = optarg; break;
        default:
            if (!cli_common(&c->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (c->pseudonymize && !c->key_file)
        die_usage("--pseudonymize needs --key-file FILE (make one with: head -c 32 /dev/urandom > FILE)");
    if (c->key_file && !c->pseudonymize)
        die_usage("--key-file is used only with --pseudonymize");
    if (c->rules.has_since && c->rules.has_until && c->rules.since >= c->rules.until)
        die_usage("--since must be before --until");
    const char *outs[] = {c->cli.out, c->rejects_path, c->report_path};
    const char *names[] = {"--output", "--rejects", "--report"};
    for (int i = 0; i < 3; i++)
        for (int k = i + 1; k < 3; k++) {
            bool a_std = !outs[i] || strcmp(outs[i], "-") == 0;
            bool b_std = !outs[k] || strcmp(outs[k], "-") == 0;
            if ((i == 0 || outs[i]) && outs[k] &&
                ((a_std && b_std) || (!a_std && !b_std && strcmp(outs[i], outs[k]) == 0)))
                die_usage("%s and %s name the same %s", names[i], names[k], a_std ? "stdout" : "file");
        }
    c->paths = (const char *const *)argv + optind;
    c->npaths = argc - optind;
}

static void read_key(struct clean *c)
{
    FILE *fp = fopen(c->key_file, "rb");
    if (!fp)
        die_errno("%s", c->key_file);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, fp);
    bool more = n == sizeof buf && fgetc(fp) != EOF;
    if (ferror(fp))
        die_errno("%s: read error", c->key_file);
    fclose(fp);
    if (more)
        die("%s: a key file holds at most %zu bytes", c->key_file, sizeof buf);
    if (n < 16)
        die("%s: a key needs at least 16 bytes of secret, got %zu (make one with: head -c 32 /dev/urandom > %s)",
            c->key_file, n, c->key_file);
    sip_key_from(&c->key, buf, n);
    memset(buf, 0, sizeof buf);
}

/* ---- rejects ---------------------------------------------------------- */

/* Write a record's fields plus reason and detail (replacing fields of
 * those names).  raw is a map: the reader or our own packer made it. */
static void write_reject(struct clean *c, const char *raw, size_t len, enum ev_reason why,
                         const char *detail)
{
    c->reasons[why]++;
    if (!c->rej)
        return;
    const unsigned char *p = (const unsigned char *)raw;
    size_t pos = 0, nkeys = 0;
    if (p[0] >= 0x80 && p[0] <= 0x8f)
        nkeys = p[0] & 0x0f, pos = 1;
    else if (p[0] == 0xde)
        nkeys = (size_t)p[1] << 8 | p[2], pos = 3;
    else
        nkeys = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4], pos = 5;
    /* First pass: the extents of the entries to keep. */
    size_t kept = 0, start = pos;
    const char *whyscan;
    for (int pass = 0; pass < 2; pass++) {
        pos = start;
        if (pass == 1) {
            msgpack_packer *pk = ws_pk(c->rej);
            msgpack_pack_map(pk, kept + 2);
        }
        for (size_t i = 0; i < nkeys; i++) {
            size_t klen, vlen;
            CHECK(mp_scan(p + pos, len - pos, &klen, &whyscan) == MP_OK);
            CHECK(mp_scan(p + pos + klen, len - pos - klen, &vlen, &whyscan) == MP_OK);
            bool ours = (klen == 7 && memcmp(p + pos, "\xa6reason", 7) == 0) ||
                        (klen == 7 && memcmp(p + pos, "\xa6" "detail", 7) == 0);
            if (!ours) {
                if (pass == 0)
                    kept++;
                else
                    msgpack_pack_str_body(ws_pk(c->rej), raw + pos, klen + vlen);
            }
            pos += klen + vlen;
        }
    }
    msgpack_packer *pk = ws_pk(c->rej);
    mp_pack_str(pk, "reason");
    mp_pack_str(pk, ev_reason_names[why]);
    mp_pack_str(pk, "detail");
    mp_pack_str(pk, detail);
    ws_end(c->rej);
}

/* ---- reading: validate, normalize, sort ------------------------------------- */

/* The sort key of a normalized record: user, then ts. */
static void event_key(const char *rec, size_t len, struct xs_key *k)
{
    struct ev_raw raw;
    CHECK(ev_scan_values(rec, len, &raw));
    const struct ev_val *u = &raw.v[EV_F_USER];
    if (u->t == EV_INT)
        xs_key_int(k, u->i);
    else
        xs_key_str(k, u->s, u->n);
    k->k2 = xs_i64_order(raw.v[EV_F_TS].i);
}

static void clean_record(struct clean *c)
{
    size_t len;
    const char *raw = rs_raw(c->in, &len);
    const char *why = "not a record";
    c->nin++;
    prog_tick(&c->prog, c->nin);
    if (!ev_walk_fields(&c->walk, raw, len, &why)) {
        snprintf(c->detail, sizeof c->detail, "%s", why);
        write_reject(c, raw, len, EV_R_BAD_TYPE, c->detail);
        return;
    }
    enum ev_reason r = ev_validate(&c->walk.raw, &c->rules, &c->e, c->detail, sizeof c->detail);
    if (r != EV_OK) {
        write_reject(c, raw, len, r, c->detail);
        return;
    }
    struct ev_norm *e = &c->e;
    if (c->pseudonymize) {
        char buf[24];
        size_t n;
        const char *text = ev_id_text(&e->user, buf, &n);
        e->user.t = EV_INT;
        e->user.i = (int64_t)(sip_hash(&c->key, text, n) & INT64_MAX);
    }
    if (EV_BEHAVIOUR(e->type) && e->has_session)
        c->any_session = true;
    if (c->naccepted > 0 && e->ts < c->last_ts)
        c->nreordered++;
    c->last_ts = e->ts;
    if (c->naccepted == 0 || e->ts < c->ts_min)
        c->ts_min = e->ts;
    if (c->naccepted == 0 || e->ts > c->ts_max)
        c->ts_max = e->ts;
    c->naccepted++;
    size_t bound = ev_pack_bound(e);
    if (bound > c->reccap)
        XGROW(c->rec, c->reccap, bound);
    struct xs_key key;
    if (e->user.t == EV_INT)
        xs_key_int(&key, e->user.i);
    else
        xs_key_str(&key, e->user.s, e->user.n);
    key.k2 = xs_i64_order(e->ts);
    /* Sorted without the keys: a third of the bytes to hold and spill. */
    xs_add_key(c->sort, c->rec, ev_pack_values(c->rec, e), &key);
}

/* ---- writing: duplicates, bots, sessions ------------------------------------ */

/* Read a record we packed, with or without its keys (so no checks
 * beyond its shape). */
static void read_norm(const char *rec, size_t len, struct ev_norm *e)
{
    struct ev_raw raw;
    const char *why = "not a record";
    if (!ev_scan_values(rec, len, &raw) && !ev_scan(rec, len, &raw, &why))
        die("internal error: a sorted record does not read back: %s", why);
    ev_unpack(&raw, e);
}

/* The record as written (with its keys) in c->full; returns its length. */
static size_t full_record(struct clean *c, const struct ev_norm *e)
{
    XGROW(c->full, c->fullcap, ev_pack_bound(e));
    return ev_pack(c->full, e);
}

/* Write one kept record, with a session when we assign them. */
static void emit(struct clean *c, const struct ev_norm *e0)
{
    struct ev_norm e = *e0;
    if (EV_BEHAVIOUR(e.type)) {
        bool gap = !c->have_prev || e.ts - c->prev_ts > c->session_gap;
        if (c->sessionize) {
            if (gap)
                c->nsessions++, c->session_id++;
            e.has_session = true;
            e.session = c->session_id;
        } else if (e.has_session && (!c->have_prev || e.session != c->prev_session)) {
            c->nsessions++;
        }
        c->have_prev = true;
        c->prev_ts = e.ts;
        c->prev_session = e.session;
    }
    ws_raw(c->out, c->full, full_record(c, &e));
    c->nout++;
    c->user_out = true;
}

/* Hold a record of the current user until we know whether it is a bot. */
static void hold(struct clean *c, const char *rec, size_t len)
{
    if (c->hlen + len > c->hold_limit && c->nheld > 0) {
        /* Too many for memory: move what is held to a spill file. */
        if (!c->hspill) {
            c->hspill_path = xs_temp_path(c->sort);
            c->hspill = ws_open(c->hspill_path, 0);
            ws_header(c->hspill, "events");
        }
        for (size_t i = 0; i < c->nheld; i++)
            ws_raw(c->hspill, c->hbuf + c->held[i].off, c->held[i].len);
        c->nheld = c->hlen = 0;
    }
    XGROW(c->hbuf, c->hbcap, c->hlen + len);
    XGROW(c->held, c->capheld, c->nheld + 1);
    memcpy(c->hbuf + c->hlen, rec, len);
    c->held[c->nheld++] = (struct held){c->hlen, len};
    c->hlen += len;
}

static void release(struct clean *c, const char *rec, size_t len, bool bot)
{
    if (!bot) {
        struct ev_norm e;
        read_norm(rec, len, &e);
        emit(c, &e);
        return;
    }
    snprintf(c->detail, sizeof c->detail,
             "user has %.1f events per day of the log (%llu in %.1f days), above --max-events-per-day %g",
             (double)c->nbeh / c->log_days, (unsigned long long)c->nbeh, c->log_days, c->max_per_day);
    write_reject(c, rec, len, EV_R_BOT, c->detail);
}

/* The user is complete: write or reject what is held. */
static void end_user(struct clean *c)
{
    if (!c->have_user)
        return;
    bool bot = c->max_per_day > 0 && (double)c->nbeh / c->log_days > c->max_per_day;
    if (c->hspill) {
        ws_close(c->hspill);
        c->hspill = NULL;
        const char *paths[] = {c->hspill_path};
        rs *r = rs_open(paths, 1, "events");
        while (rs_next(r)) {
            size_t len;
            const char *rec = rs_raw(r, &len);
            release(c, rec, len, bot);
        }
        rs_free(r);
        unlink(c->hspill_path);
        free(c->hspill_path);
        c->hspill_path = NULL;
    }
    for (size_t i = 0; i < c->nheld; i++)
        release(c, c->hbuf + c->held[i].off, c->held[i].len, bot);
    c->nheld = c->hlen = 0;
    if (bot)
        c->nbots++;
    else if (c->user_out)
        c->nusers++;
    c->have_user = false;
}

static void start_user(struct clean *c, const struct ev_id *u)
{
    c->have_user = true;
    c->user = *u;
    if (u->t == EV_STR) {
        XGROW(c->ubytes, c->ubcap, (size_t)u->n + 1);
        memcpy(c->ubytes, u->s, u->n);
        c->user.s = c->ubytes;
    }
    c->rhead = c->rn = 0;
    c->nbeh = 0;
    c->user_out = false;
    c->have_prev = false;
}

/* 64-bit hashes of a record's fields (a multiply and xor-shift mix): the
 * records compared are one user's within a few seconds, not chosen by an
 * adversary, so 64 bits of a good mix are enough. */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * UINT64_C(0x9e3779b97f4a7c15);
    return h ^ h >> 32;
}

static uint64_t mix_bytes(uint64_t h, const char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix(h, w);
    }
    uint64_t w = 0;
    memcpy(&w, p + i, n - i);
    return mix(h, w ^ (uint64_t)n << 56);
}

static uint64_t mix_id(uint64_t h, const struct ev_id *id)
{
    h = mix(h, id->t);
    return id->t == EV_STR ? mix_bytes(h, id->s, id->n) : mix(h, (uint64_t)(id->t == EV_INT ? id->i : 0));
}

static uint64_t bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, 8);
    return b;
}

/* What a near duplicate repeats: item, event, session and campaign (the
 * user and the window are checked apart). */
static uint64_t same_hash(const struct ev_norm *e)
{
    uint64_t h = mix(UINT64_C(0x243f6a8885a308d3), (uint64_t)e->type << 2 | (uint64_t)e->has_session << 1 | e->has_campaign);
    h = mix_id(h, &e->item);
    h = mix(h, (uint64_t)(e->has_session ? e->session : 0));
    return mix(h, (uint64_t)(e->has_campaign ? e->campaign : 0));
}

/* The other fields: with the user, ts and same_hash, the whole record. */
static uint64_t rest_hash(const struct ev_norm *e)
{
    uint64_t h = mix(UINT64_C(0x13198a2e03707344), (uint64_t)e->has_price << 3 | (uint64_t)e->has_quantity << 2 |
                                                   (uint64_t)e->has_discount << 1 | (e->offer != NULL));
    h = mix_id(h, &e->category);
    h = mix(h, e->has_price ? bits(e->price) : 0);
    h = mix(h, (uint64_t)(e->has_quantity ? e->quantity : 0));
    h = mix(h, e->has_discount ? bits(e->discount) : 0);
    return e->offer ? mix_bytes(h, e->offer, e->offer_n) : h;
}

/* Is the record a duplicate of one kept within the window?  Exact
 * duplicates are equal normalized records (so the same ts); near
 * duplicates repeat the user, session (both may be nil), item, event and
 * campaign less than --dedup-window after a kept record.  A repeat in
 * another session is another visit, not a duplicate.  Records are
 * compared by 64-bit hashes, so only 24 bytes per kept record in the
 * window are held. */
static enum ev_reason dedup(struct clean *c, const struct ev_norm *e, struct recent *me)
{
    int64_t w = c->dedup_window > 0 ? c->dedup_window : 1;
    while (c->rhead < c->rn && e->ts - c->recent[c->rhead].ts >= w)
        c->rhead++;
    if (c->rhead == c->rn)
        c->rhead = c->rn = 0;
    me->ts = e->ts;
    me->same = same_hash(e);
    me->rest = rest_hash(e);
    for (size_t k = c->rhead; k < c->rn; k++) {
        const struct recent *x = &c->recent[k];
        if (x->ts == e->ts && x->same == me->same && x->rest == me->rest) {
            snprintf(c->detail, sizeof c->detail, "the same as an earlier record");
            return EV_R_DUPLICATE;
        }
    }
    for (size_t k = c->rhead; c->dedup_window > 0 && k < c->rn; k++) {
        const struct recent *x = &c->recent[k];
        if (x->same == me->same) {
            snprintf(c->detail, sizeof c->detail, "the same user, session, item and event %lld s after a kept record",
                     (long long)(e->ts - x->ts));
            return EV_R_NEAR_DUPLICATE;
        }
    }
    return EV_OK;
}

static void remember(struct clean *c, const struct recent *me)
{
    if (c->rhead > 0 && c->rn == c->rcap) {
        memmove(c->recent, c->recent + c->rhead, (c->rn - c->rhead) * sizeof *c->recent);
        c->rn -= c->rhead;
        c->rhead = 0;
    }
    XGROW(c->recent, c->rcap, c->rn + 1);
    c->recent[c->rn++] = *me;
}

static void sorted_record(struct clean *c, const char *rec, size_t len)
{
    struct ev_norm e;
    read_norm(rec, len, &e);
    if (!c->have_user || !ev_id_eq(&c->user, &e.user)) {
        end_user(c);
        start_user(c, &e.user);
    }
    struct recent me;
    enum ev_reason r = dedup(c, &e, &me);
    if (r != EV_OK) {
        write_reject(c, c->full, full_record(c, &e), r, c->detail);
        return;
    }
    remember(c, &me);
    if (EV_BEHAVIOUR(e.type))
        c->nbeh++;
    if (c->max_per_day > 0)
        hold(c, c->full, full_record(c, &e));
    else
        emit(c, &e);
}

/* ---- main ------------------------------------------------------------------- */

static void open_streams(struct clean *c)
{
    if (c->pseudonymize)
        read_key(c);
    c->out = ws_open(c->cli.out, c->cli.level);
    if (c->rejects_path) {
        c->rej = ws_open(c->rejects_path, c->cli.level);
        ws_opt_str(c->rej, "fields", "the record's fields, reason, detail");
        ws_header(c->rej, "rejects");
    }
    if (c->report_path)
        c->report = ws_open(c->report_path, c->cli.level);
    c->in = rs_open(c->paths, c->npaths, "events");
    rs_set_measure(c->in, ev_measure_next, &c->walk);
    /* The records of one user held for the bot check share --mem. */
    c->hold_limit = c->max_per_day > 0 ? c->mem / 8 : 0;
    c->sort = xs_new(c->mem - c->hold_limit, c->tmpdir, event_key);
    prog_init(&c->prog, "records", c->cli.progress);
}

static void write_header(struct clean *c)
{
    ws *w = c->out;
    ws_opt_str(w, "sorted", "user,ts");
    ws_opt_str(w, "event_map", c->map_text ? c->map_text : "");
    ws_opt_str(w, "default_event", c->rules.default_event >= 0 ? ev_type_names[c->rules.default_event] : "");
    ws_opt_str(w, "ts_format", ev_ts_format_names[c->rules.ts_format]);
    if (c->rules.has_since)
        ws_opt_int(w, "since", c->rules.since);
    if (c->rules.has_until)
        ws_opt_int(w, "until", c->rules.until);
    ws_opt_int(w, "dedup_window", c->dedup_window);
    ws_opt_f64(w, "max_events_per_day", c->max_per_day);
    ws_opt_int(w, "session_gap", c->session_gap);
    ws_opt_str(w, "sessionize", sess_names[c->sess_mode]);
    ws_opt_bool(w, "sessionized", c->sessionize);
    ws_opt_bool(w, "pseudonymized", c->pseudonymize);
    if (c->naccepted > 0) {
        ws_opt_int(w, "ts_min", c->ts_min);
        ws_opt_int(w, "ts_max", c->ts_max);
    }
    ws_header(w, "events");
}

static void metric(ws *w, const char *name, const char *group, uint64_t value)
{
    msgpack_packer *pk = ws_pk(w);
    msgpack_pack_map(pk, 4);
    mp_pack_str(pk, "task");
    mp_pack_str(pk, "clean");
    mp_pack_str(pk, "metric");
    mp_pack_str(pk, name);
    mp_pack_str(pk, "group");
    if (group)
        mp_pack_str(pk, group);
    else
        msgpack_pack_nil(pk);
    mp_pack_str(pk, "value");
    msgpack_pack_uint64(pk, value);
    ws_end(w);
}

static uint64_t total_rejected(const struct clean *c)
{
    uint64_t n = 0;
    for (int r = 1; r < EV_NREASONS; r++)
        n += c->reasons[r];
    return n;
}

static void write_report(struct clean *c)
{
    ws *w = c->report;
    ws_opt_str(w, "task", "clean");
    ws_header(w, "metrics");
    for (int r = 1; r < EV_NREASONS; r++)
        metric(w, "rejected", ev_reason_names[r], c->reasons[r]);
    metric(w, "rejected_total", NULL, total_rejected(c));
    metric(w, "input", NULL, c->nin);
    metric(w, "output", NULL, c->nout);
    metric(w, "users", NULL, c->nusers);
    metric(w, "bots", NULL, c->nbots);
    metric(w, "sessions", NULL, c->nsessions);
    metric(w, "reordered", NULL, c->nreordered);
    ws_close(w);
}

static void summary(const struct clean *c)
{
    info("read %llu record%s (%llu out of time order); wrote %llu event%s of %llu user%s in %llu session%s",
         (unsigned long long)c->nin, c->nin == 1 ? "" : "s", (unsigned long long)c->nreordered,
         (unsigned long long)c->nout, c->nout == 1 ? "" : "s", (unsigned long long)c->nusers,
         c->nusers == 1 ? "" : "s", (unsigned long long)c->nsessions, c->nsessions == 1 ? "" : "s");
    uint64_t rej = total_rejected(c);
    if (rej == 0)
        return;
    char line[1024];
    size_t n = 0;
    for (int r = 1; r < EV_NREASONS && n < sizeof line; r++)
        if (c->reasons[r])
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s %llu", n ? ", " : "",
                                  ev_reason_names[r], (unsigned long long)c->reasons[r]);
    info("rejected %llu: %s%s", (unsigned long long)rej, line,
         c->rejects_path ? "" : " (keep them with --rejects FILE)");
}

/* All records are read: sort, then write them one user at a time. */
static void write_sorted(struct clean *c)
{
    prog_done(&c->prog);
    /* The input is read: its buffers go before the merge needs memory. */
    rs_free(c->in);
    c->in = NULL;
    xs_finish(c->sort);
    c->sessionize = c->sess_mode == SESS_ALWAYS || (c->sess_mode == SESS_AUTO && !c->any_session);
    int64_t start = c->rules.has_since ? c->rules.since : c->ts_min;
    int64_t end = c->rules.has_until ? c->rules.until : c->ts_max + 1;
    c->log_days = (double)(end - start) / 86400;
    if (!(c->log_days >= 1))
        c->log_days = 1;
    write_header(c);
    const char *rec;
    size_t len;
    while (xs_next(c->sort, &rec, &len))
        sorted_record(c, rec, len);
    end_user(c);
}

static void finish(struct clean *c)
{
    ws_close(c->out);
    if (c->rej)
        ws_close(c->rej);
    if (c->report)
        write_report(c);
    summary(c);
}

static void cleanup(struct clean *c)
{
    xs_free(c->sort);
    rs_free(c->in);
    free(c->map);
    free(c->rec);
    free(c->full);
    free(c->ubytes);
    free(c->recent);
    free(c->hbuf);
    free(c->held);
}

int main(int argc, char **argv)
{
    struct clean c;
    parse_options(&c, argc, argv);
    open_streams(&c);
    while (rs_next(c.in))
        clean_record(&c);
    write_sorted(&c);
    finish(&c);
    cleanup(&c);
    return EXIT_OK;
}
