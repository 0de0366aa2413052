/* promo-cat: show record streams as text, or re-emit them as a stream. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "csv.h"
#include "diag.h"
#include "json.h"
#include "numfmt.h"
#include "outfile.h"
#include "rec.h"
#include "shard.h"
#include "stream.h"
#include "xalloc.h"

static const char help[] =
"promo-cat: show record streams as CSV, TSV, JSON lines or a table, or re-emit them\n"
"\n"
"Usage: promo-cat [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --format F      csv, tsv, jsonl, table or mpz  [default: table on a terminal, else csv]\n"
"  --fields A,B    only these fields, in this order  [default: those of the first record]\n"
"  --head N        stop after N records  [default: all]\n"
"  --count         print the number of records instead of the records\n"
"  --header        print the stream header as one JSON line instead of the records\n"
"  --no-names      CSV and TSV without the line of column names\n"
"  --kind K        fail unless the stream is of kind K (a prefix when K ends in /)\n"
"  --require A,B   fail on a record that lacks one of these fields\n"
"  --where F=V     only records whose field F prints as V; F!=V for the\n"
"                  others, F alone for those that have F (repeat: all must hold)\n"
"  --shard I/N     only the records of shard I of N (from 0), by the hash of --by\n"
"  --split N       write all N shards, as -o DIR/part-00000.mpz ...; --format mpz\n"
"  --by F          the field --shard and --split hash  [default: user]\n"
"  --missing-to I  records without a string or number in --by go to shard I\n"
"                  [default: an error]\n"
"  -o, --output F  write to F, atomically  [default: stdout]\n"
"  --level N       gzip level of --format mpz output, 0 for none  [default: 1]\n"
"  -q, --quiet     print nothing but errors\n"
"  --progress      report progress on stderr\n"
"  --help          show this help\n"
"  --version       show the version\n"
"\n"
"Several FILEs (or concatenated streams) are read as one stream of one kind.\n"
"A shard is SipHash-2-4 of the key's text mod N (docs/scale.md): \"12\" and 12 agree.\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-cat --head 5 --fields user,item,event events.mpz\n";

enum fmt { F_CSV, F_TSV, F_JSONL, F_TABLE, F_MPZ };
enum { O_FORMAT = CLI_FIRST_FREE, O_FIELDS, O_HEAD, O_COUNT, O_HEADER, O_NONAMES, O_KIND, O_REQUIRE, O_WHERE,
       O_SHARD, O_SPLIT, O_BY, O_MISSING_TO };

/* --where: a field, and the text its value must (or must not) print as. */
struct cond {
    char *field;
    const char *value;   /* NULL: the field is present and not nil */
    bool negate;
};

struct cat {
    enum fmt fmt;
    struct cond *where;
    int nwhere;
    char **fields;      /* --fields, or the first record's keys */
    int nfields;
    bool fields_given;
    uint64_t head;      /* 0: all */
    bool count, header, names;
    FILE *out;
    char *cell;         /* text of a nested value, reused */
    size_t cellcap;
    /* table: rows buffered to size the columns */
    char **tab;         /* nrows x nfields cells */
    size_t tabrows, tabcap;
    int *width;
    /* --shard I/N and --split N: keep shard `shard` of `nshards`, or all */
    uint32_t nshards, shard;
    bool split, shard_given;
    const char *by;
    int64_t missing_to;   /* -1: a record without a key is an error */
};

/* ---- one value as text ------------------------------------------------- */

/* The value's text for a CSV/TSV/table cell; nested values as JSON. */
static const char *cell_text(struct cat *c, const msgpack_object *o, size_t *n)
{
    static char num[NUM_BUF];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: *n = 0; return "";
    case MSGPACK_OBJECT_BOOLEAN: *n = o->via.boolean ? 4 : 5;
        return o->via.boolean ? "true" : "false";
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *n = (size_t)snprintf(num, sizeof num, "%llu", (unsigned long long)o->via.u64);
        return num;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *n = (size_t)snprintf(num, sizeof num, "%lld", (long long)o->via.i64);
        return num;
    case MSGPACK_OBJECT_FLOAT32: *n = (size_t)num_fmt_f32(num, (float)o->via.f64); return num;
    case MSGPACK_OBJECT_FLOAT64: *n = (size_t)num_fmt_f64(num, o->via.f64); return num;
    case MSGPACK_OBJECT_STR: *n = o->via.str.size; return o->via.str.ptr;
    default: {
        free(c->cell);   /* open_memstream makes a new buffer each time */
        c->cell = NULL;
        FILE *mem = open_memstream(&c->cell, &c->cellcap);
        if (!mem)
            die_errno("open_memstream");
        json_put_object(mem, o);
        if (fclose(mem) != 0)
            die_errno("open_memstream");
        *n = c->cellcap;
        return c->cell;
    }
    }
}

/* ---- --where ----------------------------------------------------------- */

static void add_where(struct cat *c, const char *arg)
{
    struct cond d = {xstrdup(arg), NULL, false};
    char *eq = strchr(d.field, '=');
    if (eq) {
        d.negate = eq > d.field && eq[-1] == '!';
        eq[d.negate ? -1 : 0] = '\0';
        d.value = eq + 1;
    }
    if (!*d.field)
        die_usage("--where: expected FIELD, FIELD=VALUE or FIELD!=VALUE, got \"%s\"", arg);
    c->where = xreallocarray(c->where, (size_t)c->nwhere + 1, sizeof *c->where);
    c->where[c->nwhere++] = d;
}

static bool record_matches(struct cat *c, rs *r)
{
    for (int i = 0; i < c->nwhere; i++) {
        const struct cond *d = &c->where[i];
        const msgpack_object *v = rec_field(r, d->field);
        bool ok;
        if (!d->value) {
            ok = v != NULL;
        } else {
            size_t n = 0;
            const char *t = v ? cell_text(c, v, &n) : "";
            ok = strlen(d->value) == n && memcmp(t, d->value, n) == 0;
            ok = ok != d->negate;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* ---- columns ----------------------------------------------------------- */

static void columns_from_record(struct cat *c, const msgpack_object *rec)
{
    c->nfields = (int)rec->via.map.size;
    c->fields = xcalloc((size_t)c->nfields + 1, sizeof *c->fields);
    for (int i = 0; i < c->nfields; i++) {
        const msgpack_object *k = &rec->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            die("record 1: a field name is %s, not a string; use --format jsonl",
                k->type == MSGPACK_OBJECT_NIL ? "nil" : "not text");
        c->fields[i] = xstrndup(k->via.str.ptr, k->via.str.size);
    }
}

/* Each field of the record in column order; dies on a field no column has. */
static void record_cells(struct cat *c, rs *r, const msgpack_object **cells)
{
    const msgpack_object *rec = rs_rec(r);
    for (int i = 0; i < c->nfields; i++)
        cells[i] = mp_map_get(rec, c->fields[i]);
    if (c->fields_given)
        return;
    for (uint32_t j = 0; j < rec->via.map.size; j++) {
        const msgpack_object *k = &rec->via.map.ptr[j].key;
        int i = 0;
        while (i < c->nfields && !mp_str_eq(k, c->fields[i]))
            i++;
        if (i == c->nfields)
            rs_die(r, "field \"%.*s\" is not among the columns (those of the first record); "
                      "name them with --fields or use --format jsonl",
                   k->type == MSGPACK_OBJECT_STR ? (int)k->via.str.size : 1,
                   k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?");
    }
}

/* ---- output formats ---------------------------------------------------- */

static void put_delimited(struct cat *c, const msgpack_object **cells)
{
    for (int i = 0; i < c->nfields; i++) {
        if (i)
            putc(c->fmt == F_TSV ? '\t' : ',', c->out);
        if (!cells[i])
            continue;
        size_t n;
        const char *s = cell_text(c, cells[i], &n);
        if (c->fmt == F_TSV)
            tsv_put_field(c->out, s, n);
        else
            csv_put_field(c->out, s, n, ',');
    }
    putc('\n', c->out);
}

static void put_names(struct cat *c)
{
    for (int i = 0; i < c->nfields; i++) {
        if (i)
            putc(c->fmt == F_TSV ? '\t' : ',', c->out);
        if (c->fmt == F_TSV)
            tsv_put_field(c->out, c->fields[i], strlen(c->fields[i]));
        else
            csv_put_field(c->out, c->fields[i], strlen(c->fields[i]), ',');
    }
    putc('\n', c->out);
}

static void put_jsonl(struct cat *c, rs *r)
{
    const msgpack_object *rec = rs_rec(r);
    if (!c->fields_given) {
        json_put_object(c->out, rec);
    } else {
        putc('{', c->out);
        int k = 0;
        for (int i = 0; i < c->nfields; i++) {
            const msgpack_object *v = mp_map_get(rec, c->fields[i]);
            if (!v)
                continue;
            if (k++)
                putc(',', c->out);
            json_put_string(c->out, c->fields[i], strlen(c->fields[i]));
            putc(':', c->out);
            json_put_object(c->out, v);
        }
        putc('}', c->out);
    }
    putc('\n', c->out);
}

/* Table: the first TABLE_ROWS rows size the columns; later rows reuse them. */
#define TABLE_ROWS 100
#define TABLE_MAXW 40

/* Display width of UTF-8 text: count the bytes that start a character. */
static int text_width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* One table row; built in memory so the trailing padding can be cut. */
static void table_line(struct cat *c, char **cells)
{
    char *line = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&line, &len);
    if (!mem)
        die_errno("open_memstream");
    for (int i = 0; i < c->nfields; i++) {
        const char *s = cells[i];
        int w = text_width(s), pad = c->width[i] - w;
        if (w > c->width[i]) {
            /* Cut at a character boundary and mark the cut. */
            int chars = 0;
            const char *p = s;
            for (; *p && chars < c->width[i] - 1; p++)
                chars += ((unsigned char)*p & 0xc0) != 0x80;
            while (((unsigned char)*p & 0xc0) == 0x80)
                p++;
            fwrite(s, 1, (size_t)(p - s), mem);
            fputs("~", mem);
            pad = 0;
        } else {
            fputs(s, mem);
        }
        if (i + 1 < c->nfields)
            fprintf(mem, "%*s  ", pad > 0 ? pad : 0, "");
    }
    if (fclose(mem) != 0)
        die_errno("open_memstream");
    while (len > 0 && line[len - 1] == ' ')
        len--;
    fwrite(line, 1, len, c->out);
    putc('\n', c->out);
    free(line);
}

static void table_flush(struct cat *c)
{
    if (!c->width) {
        c->width = xcalloc((size_t)c->nfields + 1, sizeof *c->width);
        for (int i = 0; i < c->nfields; i++)
            c->width[i] = text_width(c->fields[i]);
        for (size_t r = 0; r < c->tabrows; r++)
            for (int i = 0; i < c->nfields; i++) {
                int w = text_width(c->tab[r * c->nfields + i]);
                if (w > c->width[i])
                    c->width[i] = w < TABLE_MAXW ? w : TABLE_MAXW;
            }
        if (c->names)
            table_line(c, c->fields);
    }
    for (size_t r = 0; r < c->tabrows; r++) {
        table_line(c, c->tab + r * c->nfields);
        for (int i = 0; i < c->nfields; i++)
            free(c->tab[r * c->nfields + i]);
    }
    c->tabrows = 0;
}

static void put_table(struct cat *c, const msgpack_object **cells)
{
    XGROW(c->tab, c->tabcap, (c->tabrows + 1) * c->nfields);
    for (int i = 0; i < c->nfields; i++) {
        size_t n = 0;
        const char *s = cells[i] ? cell_text(c, cells[i], &n) : "";
        char *t = xstrndup(s, n);
        for (char *p = t; *p; p++)   /* one row per line on the screen */
            if (*p == '\n' || *p == '\t' || *p == '\r')
                *p = ' ';
        c->tab[c->tabrows * c->nfields + i] = t;
    }
    c->tabrows++;
    if (c->width || c->tabrows == TABLE_ROWS)
        table_flush(c);
}

/* ---- the record loop --------------------------------------------------- */

static void show_record(struct cat *c, rs *r, const msgpack_object **cells)
{
    if (c->fmt == F_JSONL) {
        put_jsonl(c, r);
        return;
    }
    record_cells(c, r, cells);
    if (c->fmt == F_TABLE)
        put_table(c, cells);
    else
        put_delimited(c, cells);
}

/* The record cut to --fields, in their order. */
static void pack_fields(struct cat *c, rs *r, msgpack_packer *pk)
{
    const msgpack_object *rec = rs_rec(r);
    const msgpack_object *v[c->nfields];
    uint32_t k = 0;
    for (int i = 0; i < c->nfields; i++)
        k += (v[i] = mp_map_get(rec, c->fields[i])) != NULL;
    msgpack_pack_map(pk, k);
    for (int i = 0; i < c->nfields; i++)
        if (v[i]) {
            mp_pack_str(pk, c->fields[i]);
            msgpack_pack_object(pk, *v[i]);
        }
}

/* --format mpz: records pass through unchanged, or re-packed with --fields. */
static void emit_record(struct cat *c, rs *r, ws *w)
{
    if (!c->fields_given) {
        size_t n;
        const char *raw = rs_raw(r, &n);
        ws_raw(w, raw, n);
        return;
    }
    pack_fields(c, r, ws_pk(w));
    ws_end(w);
}

/* --split: the record (or its --fields) to its shard's part. */
static void split_record(struct cat *c, rs *r, shard_split *sp, msgpack_sbuffer *sb)
{
    uint32_t i = shard_of_record(r, c->by, c->nshards, c->missing_to);
    if (!c->fields_given) {
        size_t n;
        const char *raw = rs_raw(r, &n);
        shard_split_put(sp, i, raw, n);
        return;
    }
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    pack_fields(c, r, &pk);
    shard_split_put(sp, i, sb->data, sb->size);
}

/* --shard I/N: both numbers checked, 0 <= I < N. */
static void parse_shard(struct cat *c, const char *arg)
{
    char *end;
    errno = 0;
    long long i = strtoll(arg, &end, 10), n = -1;
    if (isdigit((unsigned char)arg[0]) && *end == '/' && isdigit((unsigned char)end[1])) {
        const char *s = end + 1;
        n = strtoll(s, &end, 10);
    }
    if (errno || *end || n < 1 || n > SHARD_MAX || i < 0 || i >= n)
        die_usage("--shard: expected I/N, shard I of N counting from 0 (0 <= I < N <= %d), got \"%s\"",
                  SHARD_MAX, arg);
    c->shard = (uint32_t)i;
    c->nshards = (uint32_t)n;
}

/* Shard options together: one of --shard and --split, with mpz output for
 * --split and --by, --missing-to only with one of them. */
static void check_shard_options(struct cat *c, const struct cli *cli, bool by_given)
{
    if (c->split && c->shard_given)
        die_usage("--shard and --split: give one (--split writes every shard)");
    if (!c->nshards && (by_given || c->missing_to >= 0))
        die_usage("--by and --missing-to need --shard I/N or --split N");
    if (c->missing_to >= (int64_t)c->nshards && c->nshards)
        die_usage("--missing-to: expected a shard below %u, got %lld", c->nshards, (long long)c->missing_to);
    if (!c->split)
        return;
    if (c->fmt != F_MPZ || c->count || c->header)
        die_usage("--split writes streams: it goes with --format mpz only, without --count or --header");
    if (!cli->out || strcmp(cli->out, "-") == 0)
        die_usage("--split: name the directory of the parts with -o DIR");
}

static enum fmt parse_format(const char *s)
{
    static const char *const names[] = {"csv", "tsv", "jsonl", "table", "mpz", NULL};
    return (enum fmt)cli_choice("--format", s, names);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS, CLI_LEVEL_OPTION,
        {"format", required_argument, 0, O_FORMAT},
        {"fields", required_argument, 0, O_FIELDS},
        {"head", required_argument, 0, O_HEAD},
        {"count", no_argument, 0, O_COUNT},
        {"header", no_argument, 0, O_HEADER},
        {"no-names", no_argument, 0, O_NONAMES},
        {"kind", required_argument, 0, O_KIND},
        {"require", required_argument, 0, O_REQUIRE},
        {"where", required_argument, 0, O_WHERE},
        {"shard", required_argument, 0, O_SHARD},
        {"split", required_argument, 0, O_SPLIT},
        {"by", required_argument, 0, O_BY},
        {"missing-to", required_argument, 0, O_MISSING_TO},
        {0, 0, 0, 0},
    };
    struct cli cli;
    struct cat c = {.names = true, .by = "user", .missing_to = -1};
    bool fmt_given = false, by_given = false;
    const char *kind = NULL;
    char **require = NULL;
    int nrequire = 0;
    cli_init(&cli, argv[0]);
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        switch (opt) {
        case O_FORMAT: c.fmt = parse_format(optarg); fmt_given = true; break;
        case O_FIELDS:
            c.fields = cli_list(optarg, &c.nfields);
            c.fields_given = true;
            for (int i = 0; i < c.nfields; i++)
                if (!*c.fields[i])
                    die_usage("--fields: empty field name in \"%s\"", optarg);
            break;
        case O_HEAD: c.head = (uint64_t)cli_int("--head", optarg, 1, INT64_MAX); break;
        case O_COUNT: c.count = true; break;
        case O_HEADER: c.header = true; break;
        case O_NONAMES: c.names = false; break;
        case O_KIND: kind = optarg; break;
        case O_REQUIRE: require = cli_list(optarg, &nrequire); break;
        case O_WHERE: add_where(&c, optarg); break;
        case O_SHARD: parse_shard(&c, optarg); c.shard_given = true; break;
        case O_SPLIT:
            c.nshards = (uint32_t)cli_int("--split", optarg, 1, SHARD_SPLIT_MAX);
            c.split = true;
            break;
        case O_BY:
            if (!*optarg)
                die_usage("--by: expected a field name, got \"\"");
            c.by = optarg;
            by_given = true;
            break;
        case O_MISSING_TO: c.missing_to = cli_int("--missing-to", optarg, 0, SHARD_MAX - 1); break;
        default:
            if (!cli_common(&cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (!fmt_given)
        c.fmt = c.split ? F_MPZ : (!cli.out && isatty(STDOUT_FILENO)) ? F_TABLE : F_CSV;
    check_shard_options(&c, &cli, by_given);

    rs *r = rs_open((const char *const *)argv + optind, argc - optind, kind);
    ws *w = NULL;
    ofile *of = NULL;
    shard_split *sp = NULL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (c.split) {
        sp = shard_split_open(cli.out, c.nshards, cli.level, rs_header(r));
    } else if (c.fmt == F_MPZ && !c.count && !c.header) {
        w = ws_open(cli.out, cli.level);
        ws_header_raw(w, rs_header(r));
    } else {
        of = of_open(cli.out);
        c.out = of_fp(of);
    }

    const msgpack_object **cells = NULL;
    uint64_t n = 0;
    if (c.header) {
        json_put_object(c.out, rs_header(r));
        putc('\n', c.out);
    } else {
        while ((!c.head || n < c.head) && rs_next(r)) {
            for (int i = 0; i < nrequire; i++)
                if (!rec_field(r, require[i]))
                    rs_die(r, "field \"%s\": missing", require[i]);
            if (c.nwhere && !record_matches(&c, r))
                continue;
            if (c.shard_given && shard_of_record(r, c.by, c.nshards, c.missing_to) != c.shard)
                continue;
            n++;
            if (sp) {
                split_record(&c, r, sp, &sb);
                continue;
            }
            if (c.count)
                continue;
            if (w) {
                emit_record(&c, r, w);
                continue;
            }
            if (n == 1 && c.fmt != F_JSONL) {
                if (!c.fields)
                    columns_from_record(&c, rs_rec(r));
                if (c.names && c.fmt != F_TABLE)
                    put_names(&c);
            }
            if (!cells)
                cells = xcalloc((size_t)c.nfields + 1, sizeof *cells);
            show_record(&c, r, cells);
        }
        if (c.count)
            fprintf(c.out, "%llu\n", (unsigned long long)n);
        if (c.fmt == F_TABLE && c.fields)
            table_flush(&c);
    }
    if (sp)
        shard_split_commit(sp);
    else if (w)
        ws_close(w);
    else
        of_commit(of);
    msgpack_sbuffer_destroy(&sb);

    rs_free(r);
    free(cells);
    free(require);
    for (int i = 0; i < c.nwhere; i++)
        free(c.where[i].field);
    free(c.where);
    if (!c.fields_given)
        for (int i = 0; i < c.nfields; i++)
            free(c.fields[i]);
    free(c.fields);
    free(c.tab);
    free(c.width);
    free(c.cell);
    return EXIT_OK;
}
