/* promo-import: CSV, TSV or JSON-lines text to a record stream.
 *
 * CSV and TSV columns get a type each (int, float, string, bool), given by
 * --types or inferred from the first --infer-rows rows, which are held back
 * until the header (which records the types) is written.  After that every
 * row is converted and packed as it is read.  JSON lines are packed as they
 * are.  A bad line ends the run, or with --rejects goes to a second stream. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bsrc.h"
#include "cli.h"
#include "csv.h"
#include "diag.h"
#include "json.h"
#include "mpput.h"
#include "numfmt.h"
#include "progress.h"
#include "rec.h"
#include "stream.h"
#include "utf8.h"
#include "xalloc.h"

static const char help[] =
"promo-import: convert CSV, TSV or JSON-lines text into a record stream\n"
"\n"
"Usage: promo-import [OPTIONS] [FILE...]\n"
"\n"
"Options:\n"
"  --kind K            the kind of stream to write (required)\n"
"  --format F          csv, tsv or jsonl  [default: from the first FILE's suffix, else csv]\n"
"  --delimiter C       the field separator  [default: , for csv, tab for tsv]\n"
"  --no-quote          csv without quote processing: split on the delimiter only\n"
"  --encoding E        utf8, or latin1 to convert ISO-8859-1 text  [default: utf8]\n"
"  --map NEW=OLD,...   rename columns (top-level keys for jsonl)\n"
"  --types NAME=T,...  column types: int, float, string or bool  [default: inferred]\n"
"  --no-header         the files have no line of column names (needs --columns)\n"
"  --columns A,B,...   the column names, or new names for the header's\n"
"  --infer-rows N      rows the types are inferred from  [default: 1000]\n"
"  --rejects FILE      write bad lines to FILE (kind rejects) and go on\n"
"  -o, --output FILE   write to FILE, atomically  [default: stdout]\n"
"  --level N           gzip level, 0 for none  [default: 1]\n"
"  -q, --quiet         print nothing but errors\n"
"  --progress          report progress on stderr\n"
"  --help              show this help\n"
"  --version           show the version\n"
"\n"
"Exit status: 0 success, 1 data or runtime error, 2 usage error.\n"
"\n"
"Example:\n"
"  promo-import --kind events --types user=string -o events.mpz events.csv.gz\n";

enum fmt { F_CSV, F_TSV, F_JSONL };
static const char *const fmt_names[] = {"csv", "tsv", "jsonl", NULL};
enum ctype { T_AUTO, T_INT, T_FLOAT, T_STRING, T_BOOL };
static const char *const type_names[] = {"auto", "int", "float", "string", "bool"};

enum {
    O_KIND = CLI_FIRST_FREE, O_FORMAT, O_DELIM, O_NOQUOTE, O_ENCODING, O_MAP, O_TYPES,
    O_NOHEADER, O_COLUMNS, O_INFER, O_REJECTS
};

struct col {
    char *name;
    enum ctype type;
    bool explicit;
    bool any, all_int, all_num;   /* what the sampled values were */
    char *key;                    /* the name packed as a MessagePack str */
    size_t keylen;
};

/* A converted value, ready to pack. */
struct val {
    enum { V_NIL, V_INT, V_F64, V_STR, V_BOOL, V_OBJ } kind;
    int64_t i;
    double f;
    bool b;
    const char *s;
    size_t n;
    char text[NUM_BUF];           /* a number given as a string */
};

/* A row held back for type inference: offsets into the arena. */
struct held { int file; uint64_t line; size_t raw, rawlen, span; };
struct span { size_t off, len; };

struct import {
    struct cli cli;
    const char *kind;
    enum fmt fmt;
    char delim;
    bool quoting, latin1, no_header;
    char **map, **types, **columns;      /* cli_list arrays: "new=old", "name=type" */
    int nmap, ntypes, ncolumns;
    long infer_rows;
    const char *rejects;
    const char **paths, **names;         /* inputs and their names for messages */
    int nfiles;

    ws *out, *rej;
    bool started;                        /* the header is written */
    struct col *cols;
    int ncols;
    int **perm;                          /* per file: column -> field index */
    char **names_tmp;                    /* a file's column names being checked */
    uint64_t *nrec, *nrej;               /* per file */
    uint64_t total;
    struct progress prog;

    /* the input being read */
    int file;                            /* -1 before the first */
    bsrc *bs;
    struct csv csv;
    bool open;
    /* the current row */
    const struct csv_field *f;
    int nf;
    const char *line;                    /* jsonl */
    size_t linelen;
    uint64_t lineno;
    const char *raw;
    size_t rawlen;

    /* rows held back for inference */
    struct held *held;
    size_t nheld, capheld;
    struct span *spans;
    size_t nspans, capspans;
    char *arena;
    size_t arenalen, arenacap;
    long sampled;

    /* scratch, reused */
    struct val *vals;
    size_t capvals;
    struct csv_field *conv_f;
    size_t capconv_f;
    char *conv, *rawconv;
    size_t capconv, caprawconv;
    struct json js;
    msgpack_sbuffer sbuf;
    msgpack_packer spk;
    msgpack_zone zone;
    /* one CSV record packed whole, then appended to the stream at once */
    char *rec;
    size_t reclen, reccap, keys_len;
};

/* ---- options ------------------------------------------------------------ */

static enum fmt format_from_suffix(const char *path)
{
    size_t n = strlen(path);
    if (n > 3 && strcmp(path + n - 3, ".gz") == 0)
        n -= 3;
    static const struct { const char *suf; enum fmt fmt; } sufs[] = {
        {".csv", F_CSV}, {".tsv", F_TSV}, {".txt", F_TSV},
        {".jsonl", F_JSONL}, {".ndjson", F_JSONL}, {".json", F_JSONL},
    };
    for (size_t i = 0; i < sizeof sufs / sizeof *sufs; i++) {
        size_t k = strlen(sufs[i].suf);
        if (n > k && strncmp(path + n - k, sufs[i].suf, k) == 0)
            return sufs[i].fmt;
    }
    return F_CSV;
}

static enum ctype parse_type(const char *s)
{
    for (int t = T_INT; t <= T_BOOL; t++)
        if (strcmp(s, type_names[t]) == 0)
            return (enum ctype)t;
    return T_AUTO;
}

/* Check a NAME=VALUE list; the '=' is replaced by a NUL, so item i is
 * list[i] = NAME and list[i] + strlen + 1 = VALUE. */
static void split_pairs(char **list, int n, const char *opt, const char *shape)
{
    for (int i = 0; i < n; i++) {
        char *eq = strchr(list[i], '=');
        if (!eq || eq == list[i] || !eq[1])
            die_usage("%s: expected %s, got \"%s\"", opt, shape, list[i]);
        *eq = '\0';
        for (int k = 0; k < i; k++)
            if (strcmp(list[k], list[i]) == 0)
                die_usage("%s: \"%s\" is given twice", opt, list[i]);
    }
}

static const char *pair_value(const char *item) { return item + strlen(item) + 1; }

static bool kind_ok(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '-' || *k == '/'))
            return false;
    return true;
}

static char parse_delim(const char *s)
{
    if (strcmp(s, "\\t") == 0 || strcmp(s, "tab") == 0)
        return '\t';
    if (strlen(s) != 1 || *s == '"' || *s == '\n' || *s == '\r')
        die_usage("--delimiter: expected one character other than '\"' or a line end, got \"%s\"", s);
    return *s;
}

static void parse_options(struct import *m, int argc, char **argv)
{
    static const struct option longopts[] = {
        CLI_COMMON_OPTIONS,
        CLI_LEVEL_OPTION,
        {"kind", required_argument, 0, O_KIND},
        {"format", required_argument, 0, O_FORMAT},
        {"delimiter", required_argument, 0, O_DELIM},
        {"no-quote", no_argument, 0, O_NOQUOTE},
        {"encoding", required_argument, 0, O_ENCODING},
        {"map", required_argument, 0, O_MAP},
        {"types", required_argument, 0, O_TYPES},
        {"no-header", no_argument, 0, O_NOHEADER},
        {"columns", required_argument, 0, O_COLUMNS},
        {"infer-rows", required_argument, 0, O_INFER},
        {"rejects", required_argument, 0, O_REJECTS},
        {0, 0, 0, 0},
    };
    memset(m, 0, sizeof *m);
    cli_init(&m->cli, argv[0]);
    m->quoting = true;
    m->infer_rows = 1000;
    m->file = -1;
    bool fmt_given = false, delim_given = false, csv_only = false;
    int opt;
    while ((opt = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
        switch (opt) {
        case O_KIND: m->kind = optarg; break;
        case O_FORMAT:
            m->fmt = cli_choice("--format", optarg, fmt_names);
            fmt_given = true;
            break;
        case O_DELIM: m->delim = parse_delim(optarg); delim_given = csv_only = true; break;
        case O_NOQUOTE: m->quoting = false; csv_only = true; break;
        case O_ENCODING:
            if (strcmp(optarg, "latin1") == 0)
                m->latin1 = true;
            else if (strcmp(optarg, "utf8") != 0)
                die_usage("--encoding: expected utf8 or latin1, got \"%s\"", optarg);
            break;
        case O_MAP:
            free(m->map);
            m->map = cli_list(optarg, &m->nmap);
            split_pairs(m->map, m->nmap, "--map", "NEW=OLD");
            break;
        case O_TYPES:
            free(m->types);
            m->types = cli_list(optarg, &m->ntypes);
            split_pairs(m->types, m->ntypes, "--types", "NAME=int|float|string|bool");
            for (int i = 0; i < m->ntypes; i++)
                if (parse_type(pair_value(m->types[i])) == T_AUTO)
                    die_usage("--types: expected int, float, string or bool, got \"%s\"",
                              pair_value(m->types[i]));
            break;
        case O_NOHEADER: m->no_header = csv_only = true; break;
        case O_COLUMNS:
            free(m->columns);
            m->columns = cli_list(optarg, &m->ncolumns);
            csv_only = true;
            for (int i = 0; i < m->ncolumns; i++) {
                if (!*m->columns[i])
                    die_usage("--columns: empty column name in \"%s\"", optarg);
                for (int k = 0; k < i; k++)
                    if (strcmp(m->columns[k], m->columns[i]) == 0)
                        die_usage("--columns: \"%s\" is given twice", m->columns[i]);
            }
            break;
        case O_INFER:
            m->infer_rows = (long)cli_int("--infer-rows", optarg, 0, 100000000);
            csv_only = true;
            break;
        case O_REJECTS: m->rejects = optarg; break;
        default:
            if (!cli_common(&m->cli, opt, optarg, help, argv))
                die_usage("unhandled option");
        }
    }
    if (!m->kind)
        die_usage("--kind is required");
    if (!kind_ok(m->kind))
        die_usage("--kind: expected a name of letters, digits, '_', '-' and '/', got \"%s\"",
                  m->kind);
    m->nfiles = argc - optind;
    m->paths = (const char **)argv + optind;
    if (m->nfiles == 0) {
        static const char *dash[] = {"-"};
        m->paths = dash;
        m->nfiles = 1;
    }
    if (!fmt_given)
        m->fmt = format_from_suffix(m->paths[0]);
    if (m->fmt == F_JSONL && csv_only)
        die_usage("--delimiter, --no-quote, --no-header, --columns and --infer-rows "
                  "apply to csv and tsv only");
    if (!delim_given)
        m->delim = m->fmt == F_TSV ? '\t' : ',';
    if (m->fmt == F_TSV)
        m->quoting = false;
    if (m->no_header && !m->columns)
        die_usage("--no-header needs --columns");
    if (m->rejects && strcmp(m->rejects, "-") == 0 && !m->cli.out)
        die_usage("--rejects and the output cannot both be stdout");
    if (m->rejects && m->cli.out && strcmp(m->rejects, m->cli.out) == 0)
        die_usage("--rejects and --output name the same file");
    m->names = xcalloc((size_t)m->nfiles, sizeof *m->names);
    for (int i = 0; i < m->nfiles; i++)
        m->names[i] = strcmp(m->paths[i], "-") == 0 ? "stdin" : m->paths[i];
}

/* ---- rejects ------------------------------------------------------------ */

/* The row is bad: die, or with --rejects write it there and go on. */
PRINTF_LIKE(5, 6)
static void reject(struct import *m, int file, const char *raw, size_t rawlen,
                   const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (!m->rej)
        die("%s: %s", m->names[file], reason);
    if (m->latin1) {
        XGROW(m->rawconv, m->caprawconv, 2 * rawlen + 1);
        rawlen = latin1_to_utf8(m->rawconv, raw, rawlen);
        raw = m->rawconv;
    }
    msgpack_packer *pk = ws_pk(m->rej);
    msgpack_pack_map(pk, 4);
    mp_pack_str(pk, "file");
    mp_pack_str(pk, m->names[file]);
    mp_pack_str(pk, "line");
    msgpack_pack_uint64(pk, m->lineno);
    mp_pack_str(pk, "reason");
    mp_pack_str(pk, reason);
    mp_pack_str(pk, "text");
    mp_pack_strn(pk, raw, rawlen);
    ws_end(m->rej);
    m->nrej[file]++;
}

/* A value for a message: at most 40 bytes, not cutting a UTF-8 character. */
static int shown_len(const char *s, size_t n)
{
    if (n <= 40)
        return (int)n;
    size_t k = 40;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    return (int)k;
}

/* ---- values ------------------------------------------------------------- */

static bool parse_bool(const char *s, size_t n, bool *b)
{
    if ((n == 4 && strncasecmp(s, "true", 4) == 0) || (n == 1 && *s == '1'))
        return *b = true, true;
    if ((n == 5 && strncasecmp(s, "false", 5) == 0) || (n == 1 && *s == '0'))
        return *b = false, true;
    return false;
}

/* strtod is slow: decimals of at most 15 digits without an exponent are
 * m / 10^k with both exact, so one division rounds correctly (Clinger's
 * fast path).  Anything else goes to num_parse_f64. */
static bool parse_f64(const char *s, size_t n, double *out)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = n && s[0] == '-';
    uint64_t mant = 0;
    int digits = 0, frac = -1;
    for (; i < n; i++) {
        if (s[i] >= '0' && s[i] <= '9') {
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            digits++;
            frac += frac >= 0;
        } else if (s[i] == '.' && frac < 0) {
            frac = 0;
        } else {
            break;
        }
    }
    if (i < n || digits == 0 || digits > 15)
        return num_parse_f64(s, n, out);
    double d = (double)mant / pow10[frac > 0 ? frac : 0];
    *out = s[0] == '-' ? -d : d;
    return true;
}

/* An integral double that fits int64 exactly enough to be an integer. */
static bool f64_integral(double d, int64_t *i)
{
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != (double)(int64_t)d)
        return false;
    *i = (int64_t)d;
    return true;
}

/* Convert the text of column c.  false with the message in why. */
static bool convert_text(struct import *m, const struct col *c, const char *s, size_t n,
                         struct val *v, char *why, size_t whylen)
{
    v->kind = V_NIL;
    if (n == 0)
        return true;
    switch (c->type) {
    case T_AUTO:
    case T_STRING:
        v->kind = V_STR;
        v->s = s;
        v->n = n;
        return true;
    case T_INT:
        if (num_parse_i64(s, n, &v->i)) {
            v->kind = V_INT;
            return true;
        }
        if (parse_f64(s, n, &v->f)) {
            /* Inferred: a fraction after the sample is kept as a float.
             * Given: only integral values, however they are spelled. */
            if (!c->explicit) {
                v->kind = V_F64;
                return true;
            }
            if (f64_integral(v->f, &v->i)) {
                v->kind = V_INT;
                return true;
            }
        }
        break;
    case T_FLOAT:
        if (parse_f64(s, n, &v->f)) {
            v->kind = V_F64;
            return true;
        }
        break;
    case T_BOOL:
        if (parse_bool(s, n, &v->b)) {
            v->kind = V_BOOL;
            return true;
        }
        break;
    }
    const char *want = c->type == T_BOOL ? "a boolean (true, false, 1 or 0)"
                     : c->type == T_INT && c->explicit ? "an integer" : "a number";
    int shown = shown_len(s, n);
    const char *more = (size_t)shown < n ? "..." : "";
    if (c->explicit)
        snprintf(why, whylen, "field \"%s\": expected %s, got \"%.*s%s\"", c->name, want,
                 shown, s, more);
    else
        snprintf(why, whylen, "field \"%s\": expected %s (inferred from the first %ld row%s), "
                 "got \"%.*s%s\"; use --types %s=string", c->name, want, m->sampled,
                 m->sampled == 1 ? "" : "s", shown, s, more, c->name);
    return false;
}

static void pack_val(msgpack_packer *pk, const struct val *v)
{
    switch (v->kind) {
    case V_NIL: msgpack_pack_nil(pk); break;
    case V_INT: msgpack_pack_int64(pk, v->i); break;
    case V_F64: msgpack_pack_double(pk, v->f); break;
    case V_STR: mp_pack_strn(pk, v->s, v->n); break;
    case V_BOOL: v->b ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
    case V_OBJ: break;   /* packed by the caller */
    }
}

/* The same, straight into a buffer with room (write_row's hot loop). */
static char *put_val(char *o, const struct val *v)
{
    switch (v->kind) {
    case V_NIL: return mpp_nil(o);
    case V_INT: return mpp_int(o, v->i);
    case V_F64: return mpp_f64(o, v->f);
    case V_STR: return mpp_str(o, v->s, v->n);
    case V_BOOL: return mpp_bool(o, v->b);
    case V_OBJ: break;
    }
    return o;
}

/* ---- columns ------------------------------------------------------------ */

/* A problem with the column names: in the header line (at column col, if
 * not 0), or in the options when there is no header. */
PRINTF_LIKE(3, 4)
static _Noreturn void header_die(struct import *m, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m->no_header)
        die_usage("--columns: %s", msg);
    if (col)
        die("%s: line %llu, column %d: %s", m->names[m->file],
            (unsigned long long)m->csv.line, col, msg);
    die("%s: line %llu: %s", m->names[m->file], (unsigned long long)m->csv.line, msg);
}

/* The names of this file's columns after --columns and --map (malloc'd). */
static char **final_names(struct import *m, const struct csv_field *f, int n)
{
    if (m->columns && !m->no_header && m->ncolumns != n)
        header_die(m, 0, "--columns gives %d name%s but the header has %d columns",
                   m->ncolumns, m->ncolumns == 1 ? "" : "s", n);
    char **names = xcalloc((size_t)n, sizeof *names);
    m->names_tmp = names;   /* reachable if we die: no leak reports */
    for (int i = 0; i < n; i++) {
        names[i] = m->columns ? xstrdup(m->columns[i]) : xstrndup(f[i].ptr, f[i].len);
        for (int k = 0; k < m->nmap; k++)
            if (strcmp(pair_value(m->map[k]), names[i]) == 0) {
                free(names[i]);
                names[i] = xstrdup(m->map[k]);
                break;
            }
    }
    for (int i = 0; i < n; i++) {
        if (!*names[i])
            header_die(m, i + 1, "empty column name");
        if (strcmp(names[i], STREAM_MAGIC_KEY) == 0)
            header_die(m, i + 1, "column name \"%s\" is reserved", names[i]);
        for (int k = 0; k < i; k++)
            if (strcmp(names[k], names[i]) == 0)
                header_die(m, i + 1, "duplicate column name \"%s\"", names[i]);
    }
    return names;
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The first file's columns become the stream's. */
static void define_columns(struct import *m, const struct csv_field *f, int n)
{
    char **names = final_names(m, f, n);
    for (int k = 0; k < m->nmap; k++) {
        bool found = false;
        for (int i = 0; i < n && !found; i++)
            found = strcmp(names[i], m->map[k]) == 0;
        if (!found)
            header_die(m, 0, "--map: no column \"%s\"", pair_value(m->map[k]));
    }
    m->ncols = n;
    m->cols = xcalloc((size_t)n, sizeof *m->cols);
    XGROW(m->vals, m->capvals, (size_t)n);
    for (int i = 0; i < n; i++) {
        struct col *c = &m->cols[i];
        c->name = names[i];
        c->type = T_AUTO;
        c->all_int = c->all_num = true;
        /* The packed key, appended whole to each record. */
        size_t len = strlen(c->name);
        c->key = xcalloc(1, len + 16);   /* padded for mpp_raw16 */
        c->keylen = (size_t)(mpp_str(c->key, c->name, len) - c->key);
        m->keys_len += c->keylen;
    }
    free(names);
    m->names_tmp = NULL;
    for (int k = 0; k < m->ntypes; k++) {
        int i = 0;
        while (i < n && strcmp(m->cols[i].name, m->types[k]) != 0)
            i++;
        if (i == n)
            header_die(m, 0, "--types: no column \"%s\"", m->types[k]);
        m->cols[i].type = parse_type(pair_value(m->types[k]));
        m->cols[i].explicit = true;
    }
}

/* The first file defines the columns; the others must have the same ones,
 * in any order.  perm[file] maps the stream's columns to the file's. */
static void map_columns(struct import *m, int file, const struct csv_field *f, int n)
{
    int *perm;
    if (file == 0) {
        define_columns(m, f, n);
        perm = m->perm[0] = xcalloc((size_t)n, sizeof *perm);
        for (int i = 0; i < n; i++)
            perm[i] = i;
        return;
    }
    if (n != m->ncols)
        header_die(m, 0, "expected the %d columns of %s, got %d", m->ncols, m->names[0], n);
    char **names = final_names(m, f, n);
    perm = m->perm[file] = xcalloc((size_t)n, sizeof *perm);
    for (int c = 0; c < m->ncols; c++) {
        int i = 0;
        while (i < n && strcmp(names[i], m->cols[c].name) != 0)
            i++;
        if (i == n)
            header_die(m, 0, "no column \"%s\" (%s has one)", m->cols[c].name, m->names[0]);
        perm[c] = i;
    }
    free_names(names, n);
    m->names_tmp = NULL;
}

/* ---- the header --------------------------------------------------------- */

static void infer_types(struct import *m)
{
    for (int i = 0; i < m->ncols; i++) {
        struct col *c = &m->cols[i];
        if (c->type == T_AUTO)
            c->type = !c->any ? T_STRING : c->all_int ? T_INT : c->all_num ? T_FLOAT : T_STRING;
    }
}

/* "a,b" or "a=int,b=string" into a growing buffer. */
static char *join_columns(const struct import *m, bool with_types)
{
    size_t n = 1;
    for (int i = 0; i < m->ncols; i++)
        n += strlen(m->cols[i].name) + 8;
    char *s = xmalloc(n), *p = s;
    *p = '\0';
    for (int i = 0; i < m->ncols; i++)
        p += sprintf(p, "%s%s%s%s", i ? "," : "", m->cols[i].name, with_types ? "=" : "",
                     with_types ? type_names[m->cols[i].type] : "");
    return s;
}

static char *join_pairs(char **list, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(list[i]) + strlen(pair_value(list[i])) + 2;
    char *s = xmalloc(len), *p = s;
    *p = '\0';
    for (int i = 0; i < n; i++)
        p += sprintf(p, "%s%s=%s", i ? "," : "", list[i], pair_value(list[i]));
    return s;
}

static void write_header(struct import *m)
{
    ws *w = m->out;
    char delim[2] = {m->delim, '\0'};
    ws_opt_str(w, "format", fmt_names[m->fmt]);
    if (m->fmt != F_JSONL) {
        ws_opt_str(w, "delimiter", delim);
        ws_opt_bool(w, "quote", m->quoting);
    }
    ws_opt_str(w, "encoding", m->latin1 ? "latin1" : "utf8");
    if (m->fmt != F_JSONL) {
        char *cols = join_columns(m, false), *types = join_columns(m, true);
        ws_opt_str(w, "columns", cols);
        ws_opt_str(w, "types", types);
        ws_opt_int(w, "infer_rows", m->infer_rows);
        free(cols);
        free(types);
    } else if (m->ntypes) {
        char *types = join_pairs(m->types, m->ntypes);
        ws_opt_str(w, "types", types);
        free(types);
    }
    if (m->nmap) {
        char *map = join_pairs(m->map, m->nmap);
        ws_opt_str(w, "map", map);
        free(map);
    }
    ws_header(w, m->kind);
    m->started = true;
}

/* ---- CSV and TSV rows --------------------------------------------------- */

static void write_row(struct import *m, int file, const struct csv_field *f,
                      const char *raw, size_t rawlen)
{
    const int *perm = m->perm[file];
    char why[400];
    for (int c = 0; c < m->ncols; c++) {
        const struct csv_field *x = &f[perm[c]];
        if (!convert_text(m, &m->cols[c], x->ptr, x->len, &m->vals[c], why, sizeof why)) {
            reject(m, file, raw, rawlen, "line %llu, column %d: %s",
                   (unsigned long long)m->lineno, perm[c] + 1, why);
            return;
        }
    }
    /* At most: map header, keys, and per value 9 bytes or 5 + its text;
     * and 16 bytes of slack for mpp_raw16. */
    size_t need = 5 + m->keys_len + 14 * (size_t)m->ncols + 16;
    for (int c = 0; c < m->ncols; c++)
        need += f[c].len;
    if (need > m->reccap)
        XGROW(m->rec, m->reccap, need);
    char *o = mpp_map(m->rec, (uint32_t)m->ncols);
    for (int c = 0; c < m->ncols; c++) {
        o = mpp_raw16(o, m->cols[c].key, m->cols[c].keylen);
        o = put_val(o, &m->vals[c]);
    }
    m->reclen = (size_t)(o - m->rec);
    CHECK(m->reclen <= need);
    ws_raw(m->out, m->rec, m->reclen);
    m->nrec[file]++;
    prog_tick(&m->prog, ++m->total);
}

/* A value seen before the types are known. */
static void sample(struct col *c, const char *s, size_t n)
{
    if (n == 0 || !c->all_num)
        return;
    c->any = true;
    int64_t i;
    double d;
    if (c->all_int && num_parse_i64(s, n, &i))
        return;
    c->all_int = false;
    /* "007" and "+1" are not inferred as numbers: they would not come back. */
    const char *digits = s + (*s == '-');
    bool canonical = *s != '+' && !(digits[0] == '0' && (size_t)(digits - s) + 1 < n &&
                                    digits[1] >= '0' && digits[1] <= '9');
    c->all_num = canonical && num_parse_f64(s, n, &d);
}

static void hold_row(struct import *m)
{
    /* Given types are checked now, so rejects come in line order. */
    char why[400];
    for (int c = 0; c < m->ncols; c++) {
        int i = m->perm[m->file][c];
        if (m->cols[c].explicit &&
            !convert_text(m, &m->cols[c], m->f[i].ptr, m->f[i].len, &m->vals[c], why, sizeof why)) {
            reject(m, m->file, m->raw, m->rawlen, "line %llu, column %d: %s",
                   (unsigned long long)m->lineno, i + 1, why);
            return;
        }
    }
    for (int c = 0; c < m->ncols; c++) {
        const struct csv_field *x = &m->f[m->perm[m->file][c]];
        sample(&m->cols[c], x->ptr, x->len);
    }
    size_t need = m->arenalen + m->rawlen;
    for (int i = 0; i < m->nf; i++)
        need += m->f[i].len;
    XGROW(m->arena, m->arenacap, need);
    XGROW(m->held, m->capheld, m->nheld + 1);
    XGROW(m->spans, m->capspans, m->nspans + (size_t)m->nf);
    struct held *h = &m->held[m->nheld++];
    *h = (struct held){m->file, m->lineno, m->arenalen, m->rawlen, m->nspans};
    memcpy(m->arena + m->arenalen, m->raw, m->rawlen);
    m->arenalen += m->rawlen;
    for (int i = 0; i < m->nf; i++) {
        m->spans[m->nspans++] = (struct span){m->arenalen, m->f[i].len};
        memcpy(m->arena + m->arenalen, m->f[i].ptr, m->f[i].len);
        m->arenalen += m->f[i].len;
    }
    m->sampled++;
}

/* The types are known: write the header and the rows held back. */
static void start_output(struct import *m)
{
    infer_types(m);
    write_header(m);
    struct csv_field *f = xcalloc((size_t)m->ncols + 1, sizeof *f);
    uint64_t lineno = m->lineno;
    for (size_t r = 0; r < m->nheld; r++) {
        const struct held *h = &m->held[r];
        for (int i = 0; i < m->ncols; i++) {
            const struct span *s = &m->spans[h->span + (size_t)i];
            f[i] = (struct csv_field){m->arena + s->off, s->len};
        }
        m->lineno = h->line;
        write_row(m, h->file, f, m->arena + h->raw, h->rawlen);
    }
    m->lineno = lineno;
    free(f);
    free(m->held);
    free(m->spans);
    free(m->arena);
    m->held = NULL;
    m->spans = NULL;
    m->arena = NULL;
    m->nheld = m->capheld = m->nspans = m->capspans = m->arenalen = m->arenacap = 0;
}

/* ---- JSON lines --------------------------------------------------------- */

/* Convert a top-level JSON value to the type given for its field. */
static bool convert_json(struct import *m, const struct col *c, const msgpack_object *o,
                         struct val *v, char *why, size_t whylen)
{
    v->kind = V_NIL;
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return true;
    case MSGPACK_OBJECT_STR:
        if (c->type == T_STRING)
            break;
        return convert_text(m, c, o->via.str.ptr, o->via.str.size, v, why, whylen);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        if (c->type == T_INT)
            break;
        if (c->type == T_FLOAT) {
            v->kind = V_F64;
            v->f = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (double)o->via.u64
                                                             : (double)o->via.i64;
            return true;
        }
        if (c->type == T_BOOL && o->via.u64 <= 1) {
            v->kind = V_BOOL;
            v->b = o->via.u64 == 1;
            return true;
        }
        if (c->type == T_STRING) {
            v->kind = V_STR;
            v->s = v->text;
            if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                v->n = (size_t)snprintf(v->text, sizeof v->text, "%llu",
                                        (unsigned long long)o->via.u64);
            else
                v->n = (size_t)snprintf(v->text, sizeof v->text, "%lld", (long long)o->via.i64);
            return true;
        }
        goto wrong;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (c->type == T_FLOAT)
            break;
        if (c->type == T_INT && f64_integral(o->via.f64, &v->i)) {
            v->kind = V_INT;
            return true;
        }
        if (c->type == T_STRING) {
            v->kind = V_STR;
            v->s = v->text;
            v->n = (size_t)num_fmt_f64(v->text, o->via.f64);
            return true;
        }
        goto wrong;
    case MSGPACK_OBJECT_BOOLEAN:
        if (c->type == T_BOOL)
            break;
        if (c->type == T_STRING) {
            v->kind = V_STR;
            v->s = o->via.boolean ? "true" : "false";
            v->n = strlen(v->s);
            return true;
        }
        goto wrong;
    default:
        goto wrong;
    }
    v->kind = V_OBJ;   /* already of the type: packed as it is */
    return true;
wrong:
    snprintf(why, whylen, "field \"%s\": expected %s, got %s", c->name,
             c->type == T_INT ? "an integer" : c->type == T_FLOAT ? "a number"
             : c->type == T_BOOL ? "a boolean" : "a string", mp_type_name(o));
    return false;
}

static const struct col *json_type(const struct import *m, const char *k, size_t n, struct col *c)
{
    for (int i = 0; i < m->ntypes; i++)
        if (strlen(m->types[i]) == n && memcmp(m->types[i], k, n) == 0) {
            c->name = m->types[i];
            c->type = parse_type(pair_value(m->types[i]));
            c->explicit = true;
            return c;
        }
    return NULL;
}

static const char *json_rename(const struct import *m, const char *k, size_t *n)
{
    for (int i = 0; i < m->nmap; i++) {
        const char *old = pair_value(m->map[i]);
        if (strlen(old) == *n && memcmp(old, k, *n) == 0) {
            *n = strlen(m->map[i]);
            return m->map[i];
        }
    }
    return k;
}

static void import_json(struct import *m)
{
    msgpack_sbuffer_clear(&m->sbuf);
    if (!json_pack(&m->js, m->line, m->linelen, true, &m->spk)) {
        reject(m, m->file, m->raw, m->rawlen, "line %llu, column %zu: %s",
               (unsigned long long)m->lineno, m->js.err_col, m->js.err);
        return;
    }
    if (!m->nmap && !m->ntypes && !memmem(m->sbuf.data, m->sbuf.size, STREAM_MAGIC_KEY,
                                          sizeof STREAM_MAGIC_KEY - 1)) {
        ws_raw(m->out, m->sbuf.data, m->sbuf.size);   /* nothing to change */
    } else {
        msgpack_object rec;
        size_t off = 0;
        msgpack_zone_clear(&m->zone);
        CHECK(msgpack_unpack(m->sbuf.data, m->sbuf.size, &off, &m->zone, &rec) ==
              MSGPACK_UNPACK_SUCCESS);
        uint32_t n = rec.via.map.size;
        XGROW(m->vals, m->capvals, n);
        char why[400];
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *k = &rec.via.map.ptr[i].key;
            size_t klen = k->via.str.size;
            const char *name = json_rename(m, k->via.str.ptr, &klen);
            struct col c;
            const struct col *t = json_type(m, name, klen, &c);
            m->vals[i].kind = V_OBJ;
            if (klen == sizeof STREAM_MAGIC_KEY - 1 && memcmp(name, STREAM_MAGIC_KEY, klen) == 0) {
                reject(m, m->file, m->raw, m->rawlen, "line %llu: field name \"%s\" is reserved",
                       (unsigned long long)m->lineno, STREAM_MAGIC_KEY);
                return;
            }
            if (t && !convert_json(m, t, &rec.via.map.ptr[i].val, &m->vals[i], why, sizeof why)) {
                reject(m, m->file, m->raw, m->rawlen, "line %llu: %s",
                       (unsigned long long)m->lineno, why);
                return;
            }
        }
        msgpack_packer *pk = ws_pk(m->out);
        msgpack_pack_map(pk, n);
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *k = &rec.via.map.ptr[i].key;
            size_t klen = k->via.str.size;
            const char *name = json_rename(m, k->via.str.ptr, &klen);
            mp_pack_strn(pk, name, klen);
            if (m->vals[i].kind == V_OBJ)
                msgpack_pack_object(pk, rec.via.map.ptr[i].val);
            else
                pack_val(pk, &m->vals[i]);
        }
        ws_end(m->out);
    }
    m->nrec[m->file]++;
    prog_tick(&m->prog, ++m->total);
}

/* ---- reading ------------------------------------------------------------ */

/* Latin-1 to UTF-8, or a check that the row is valid UTF-8.  false when
 * it is not (the row was rejected). */
static bool decode_row(struct import *m)
{
    if (m->latin1) {
        bool high = false;
        for (size_t i = 0; i < m->rawlen && !high; i++)
            high = (unsigned char)m->raw[i] >= 0x80;
        if (!high)
            return true;
        size_t total = 0;
        for (int i = 0; i < m->nf; i++)
            total += m->f[i].len;
        XGROW(m->conv, m->capconv, 2 * (total + m->linelen) + 1);
        XGROW(m->conv_f, m->capconv_f, (size_t)m->nf + 1);
        char *o = m->conv;
        for (int i = 0; i < m->nf; i++) {
            m->conv_f[i].ptr = o;
            m->conv_f[i].len = latin1_to_utf8(o, m->f[i].ptr, m->f[i].len);
            o += m->conv_f[i].len;
        }
        if (m->line) {
            m->linelen = latin1_to_utf8(o, m->line, m->linelen);
            m->line = o;
        }
        m->f = m->conv_f;
        return true;
    }
    size_t bad;
    if (utf8_valid(m->raw, m->rawlen, &bad))
        return true;
    uint64_t line = m->lineno;
    size_t ls = 0;
    for (size_t i = 0; i < bad; i++)
        if (m->raw[i] == '\n') {
            line++;
            ls = i + 1;
        }
    reject(m, m->file, m->raw, m->rawlen,
           "line %llu, column %zu: invalid UTF-8 (use --encoding latin1 for ISO-8859-1 text)",
           (unsigned long long)line, bad - ls + 1);
    return false;
}

static void close_input(struct import *m)
{
    csv_release(&m->csv);
    bs_free(m->bs);
    m->bs = NULL;
    m->open = false;
}

/* Open the next input and read its line of column names.  false at the
 * end of the inputs. */
static bool open_input(struct import *m)
{
    if (m->file + 1 >= m->nfiles)
        return false;
    m->file++;
    m->bs = bs_open(m->paths[m->file]);
    csv_init(&m->csv, m->bs, m->delim, m->quoting);
    m->csv.escapes = m->fmt == F_TSV;
    m->open = true;
    if (m->fmt == F_JSONL)
        return true;
    struct csv_field *names = NULL;
    int n = m->ncolumns;
    if (!m->no_header) {
        n = csv_next(&m->csv);
        m->lineno = m->csv.line;
        if (n == 0)
            die("%s: empty input (no header line)", m->names[m->file]);
        if (n < 0)
            csv_die_error(&m->csv, m->names[m->file]);
        m->f = m->csv.fields;
        m->nf = n;
        m->raw = csv_raw(&m->csv, &m->rawlen);
        m->line = NULL;
        /* A bad header ends the run even with --rejects: no rows make sense. */
        ws *rej = m->rej;
        m->rej = NULL;
        decode_row(m);
        m->rej = rej;
        names = (struct csv_field *)m->f;
    }
    map_columns(m, m->file, names, n);
    if (!m->started && m->infer_rows == 0)
        start_output(m);
    return true;
}

/* Read the next good row (or JSON line) into m; false at the end of the
 * last input.  Bad rows are rejected here. */
static bool read_row(struct import *m)
{
    for (;;) {
        if (!m->open && !open_input(m))
            return false;
        int n;
        if (m->fmt == F_JSONL) {
            n = csv_getline(&m->csv, &m->line, &m->linelen);
            m->nf = 0;
        } else {
            n = csv_next(&m->csv);
            m->nf = n;
            m->f = m->csv.fields;
            m->line = NULL;
        }
        m->lineno = m->csv.line;
        if (n == 0) {
            close_input(m);
            continue;
        }
        m->raw = csv_raw(&m->csv, &m->rawlen);
        if (n < 0) {
            if (m->csv.err_fatal)
                die("%s: line %llu: %s", m->names[m->file], (unsigned long long)m->csv.err_line,
                    m->csv.err);
            m->lineno = m->csv.err_line;
            reject(m, m->file, m->raw, m->rawlen, "line %llu, column %llu: %s",
                   (unsigned long long)m->csv.err_line, (unsigned long long)m->csv.err_col,
                   m->csv.err);
            continue;
        }
        if (m->fmt == F_JSONL) {
            size_t i = 0;
            while (i < m->linelen && (m->line[i] == ' ' || m->line[i] == '\t' || m->line[i] == '\r'))
                i++;
            if (i == m->linelen)
                continue;   /* blank lines are not records */
        } else if (n == 1 && m->rawlen == 0 && m->ncols > 1) {
            continue;       /* a blank line; with one column it is an empty value */
        }
        if (!decode_row(m))
            continue;
        if (m->fmt != F_JSONL && n != m->ncols) {
            reject(m, m->file, m->raw, m->rawlen, "line %llu: expected %d fields, got %d",
                   (unsigned long long)m->lineno, m->ncols, n);
            continue;
        }
        return true;
    }
}

static void import_row(struct import *m)
{
    if (m->fmt == F_JSONL) {
        import_json(m);
    } else if (!m->started) {
        hold_row(m);
        if (m->sampled >= m->infer_rows)
            start_output(m);
    } else {
        write_row(m, m->file, m->f, m->raw, m->rawlen);
    }
}

/* ---- main --------------------------------------------------------------- */

static void open_outputs(struct import *m)
{
    m->out = ws_open(m->cli.out, m->cli.level);
    if (m->rejects) {
        m->rej = ws_open(m->rejects, m->cli.level);
        ws_header(m->rej, "rejects");
    }
    m->perm = xcalloc((size_t)m->nfiles, sizeof *m->perm);
    m->nrec = xcalloc((size_t)m->nfiles, sizeof *m->nrec);
    m->nrej = xcalloc((size_t)m->nfiles, sizeof *m->nrej);
    json_init(&m->js);
    msgpack_sbuffer_init(&m->sbuf);
    msgpack_packer_init(&m->spk, &m->sbuf, msgpack_sbuffer_write);
    msgpack_zone_init(&m->zone, 4096);
    prog_init(&m->prog, "records", m->cli.progress);
    if (m->fmt == F_JSONL)
        write_header(m);
}

static void finish(struct import *m)
{
    if (!m->started)
        start_output(m);
    prog_done(&m->prog);
    ws_close(m->out);
    if (m->rej) {
        ws_close(m->rej);
        for (int i = 0; i < m->nfiles; i++)
            info("%s: imported %llu records, rejected %llu (see %s)", m->names[i],
                 (unsigned long long)m->nrec[i], (unsigned long long)m->nrej[i], m->rejects);
    } else {
        info("imported %llu records", (unsigned long long)m->total);
    }
}

static void cleanup(struct import *m)
{
    for (int i = 0; i < m->ncols; i++) {
        free(m->cols[i].name);
        free(m->cols[i].key);
    }
    for (int i = 0; i < m->nfiles; i++)
        free(m->perm[i]);
    free(m->perm);
    free(m->cols);
    free(m->vals);
    free(m->nrec);
    free(m->nrej);
    free(m->names);
    free(m->conv);
    free(m->conv_f);
    free(m->rawconv);
    free(m->rec);
    free(m->map);
    free(m->types);
    free(m->columns);
    json_release(&m->js);
    msgpack_sbuffer_destroy(&m->sbuf);
    msgpack_zone_destroy(&m->zone);
}

int main(int argc, char **argv)
{
    struct import m;
    parse_options(&m, argc, argv);
    open_outputs(&m);
    while (read_row(&m))
        import_row(&m);
    finish(&m);
    cleanup(&m);
    return EXIT_OK;
}
