#include "csv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xalloc.h"

#define CSV_CHUNK (512 * 1024)

enum { ROW, MORE, BAD };

void csv_init(struct csv *c, bsrc *bs, char delim, bool quoting)
{
    CHECK(delim != '"' && delim != '\r' && delim != '\n');
    memset(c, 0, sizeof *c);
    c->bs = bs;
    c->delim = delim;
    c->quoting = quoting;
    c->escapes = !quoting && delim == '\t';
    c->cap = CSV_CHUNK;
    c->buf = xmalloc(c->cap);
    c->out = xmalloc(c->cap);
    c->line = c->next_line = 1;
}

void csv_release(struct csv *c)
{
    free(c->buf);
    free(c->out);
    free(c->fields);
    memset(c, 0, sizeof *c);
}

const char *csv_raw(const struct csv *c, size_t *len)
{
    *len = c->raw_len;
    return c->buf + c->raw_off;
}

/* ---- buffer ------------------------------------------------------------- */

/* Keep the unparsed bytes, then fill the buffer (doubled if the bytes
 * already fill it), so a row that straddles reads is parsed again at most
 * a few times: O(row size) overall.  false on a read error. */
static bool refill(struct csv *c)
{
    if (c->pos > 0) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    if (c->len == c->cap) {
        if (c->cap > SIZE_MAX / 4)
            die("row too long");
        c->cap *= 2;
        c->buf = xrealloc(c->buf, c->cap);
        free(c->out);
        c->out = xmalloc(c->cap);
    }
    while (c->len < c->cap && !c->eof) {
        long r = bs_read(c->bs, c->buf + c->len, c->cap - c->len);
        if (r < 0) {
            snprintf(c->err, sizeof c->err, "%s", bs_error(c->bs));
            c->err_line = c->next_line;
            c->err_col = 0;
            c->err_fatal = true;
            return false;
        }
        if (r == 0)
            c->eof = true;
        c->len += (size_t)r;
    }
    if (!c->bom_done && (c->len >= 3 || c->eof)) {
        c->bom_done = true;
        if (c->len >= 3 && memcmp(c->buf, "\xef\xbb\xbf", 3) == 0)
            c->pos = 3;
    }
    return true;
}

/* ---- rows --------------------------------------------------------------- */

/* Set the row's raw text to [row, end) less a final CR. */
static void set_raw(struct csv *c, const char *row, const char *end)
{
    if (end > row && end[-1] == '\r')
        end--;
    c->raw_off = (size_t)(row - c->buf);
    c->raw_len = (size_t)(end - row);
}

static int bad(struct csv *c, uint64_t line, uint64_t col, const char *what)
{
    snprintf(c->err, sizeof c->err, "%s", what);
    c->err_line = line;
    c->err_col = col;
    return BAD;
}

/* Linear TSV: \t \n \r \\ stand for tab, LF, CR, backslash; any other
 * backslash is kept as it is. */
static size_t tsv_unescape(char *o, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\\' && i + 1 < n) {
            char e = s[i + 1];
            char v = e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == '\\' ? '\\' : 0;
            if (v) {
                o[k++] = v;
                i++;
                continue;
            }
        }
        o[k++] = ch;
    }
    return k;
}

/* Count the LFs in [p, q), moving *ls to the start of the last line. */
static uint64_t count_lines(const char *p, const char *q, const char **ls)
{
    uint64_t n = 0;
    while ((p = memchr(p, '\n', (size_t)(q - p))) != NULL) {
        n++;
        *ls = ++p;
    }
    return n;
}

/* Parse the quoted field at *pp (at its opening quote).  MORE when the
 * buffer ends before the field does. */
static int quoted(struct csv *c, const char **pp, char **op, struct csv_field *f,
                  uint64_t *nl, const char **ls)
{
    const char *p = *pp + 1, *end = c->buf + c->len, *seg = p;
    const char *qls = *ls;
    uint64_t qline = c->line + *nl;
    char *o = *op, *ostart = o;
    bool copied = false;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q) {
            if (!c->eof)
                return MORE;
            return bad(c, qline, (uint64_t)(*pp - qls) + 1, "unterminated quoted field");
        }
        *nl += count_lines(p, q, ls);
        if (q + 1 == end && !c->eof)
            return MORE;   /* "" or a closing quote: the next byte decides */
        if (q + 1 < end && q[1] == '"') {
            memcpy(o, seg, (size_t)(q + 1 - seg));
            o += q + 1 - seg;
            copied = true;
            p = seg = q + 2;
            continue;
        }
        if (copied) {
            memcpy(o, seg, (size_t)(q - seg));
            o += q - seg;
            f->ptr = ostart;
            f->len = (size_t)(o - ostart);
        } else {
            f->ptr = seg;
            f->len = (size_t)(q - seg);
        }
        *pp = q + 1;
        *op = o;
        return ROW;
    }
}

/* After a malformed row: skip to the end of the line holding the error. */
static int resync(struct csv *c, const char *row, const char *p, uint64_t nl)
{
    const char *end = c->buf + c->len;
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf && !c->eof)
        return MORE;
    if (!lf) {
        set_raw(c, row, end);
        c->pos = c->len;
    } else {
        set_raw(c, row, lf);
        c->pos = (size_t)(lf + 1 - c->buf);
        nl++;
    }
    c->next_line = c->line + nl;
    return BAD;
}

/* Nonzero when a byte of w equals the byte repeated in pat. */
static inline uint64_t has_byte(uint64_t w, uint64_t pat)
{
    uint64_t x = w ^ pat;
    return (x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull;
}

/* The first delimiter or LF at or after p, or end; eight bytes a step. */
static const char *field_end(const char *p, const char *end, char d)
{
    const uint64_t dd = 0x0101010101010101ull * (unsigned char)d;
    const uint64_t nn = 0x0101010101010101ull * '\n';
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        if (has_byte(w, dd) | has_byte(w, nn))
            break;
        p += 8;
    }
    while (p < end && *p != d && *p != '\n')
        p++;
    return p;
}

static int parse_row(struct csv *c)
{
    const char *row = c->buf + c->pos, *p = row, *end = c->buf + c->len;
    const char *ls = row;          /* start of the current physical line */
    char *o = c->out;
    uint64_t nl = 0;               /* line ends inside the row so far */
    const char d = c->delim;
    int nf = 0;
    for (;;) {
        if ((size_t)nf == c->fcap)
            XGROW(c->fields, c->fcap, (size_t)nf + 1);
        struct csv_field *f = &c->fields[nf];
        if (c->quoting && p < end && *p == '"') {
            int rc = quoted(c, &p, &o, f, &nl, &ls);
            if (rc == MORE)
                return MORE;
            if (rc == BAD) {
                set_raw(c, row, end);
                if (end > row && end[-1] == '\n')
                    set_raw(c, row, end - 1);
                c->pos = c->len;
                return BAD;
            }
            /* Only a delimiter or the line end may follow the closing quote. */
            if (p < end && *p != d && *p != '\n') {
                if (*p == '\r' && p + 1 == end && !c->eof)
                    return MORE;
                if (*p != '\r' || (p + 1 < end && p[1] != '\n')) {
                    bad(c, c->line + nl, (uint64_t)(p - ls) + 1, "text after a closing quote");
                    return resync(c, row, p, nl);
                }
                p++;
            }
        } else {
            const char *s = p;
            p = field_end(p, end, d);
            if (p == end && !c->eof)
                return MORE;
            size_t n = (size_t)(p - s);
            if ((p == end || *p == '\n') && n && s[n - 1] == '\r')
                n--;
            if (c->escapes && memchr(s, '\\', n)) {
                f->ptr = o;
                f->len = tsv_unescape(o, s, n);
                o += f->len;
            } else {
                f->ptr = s;
                f->len = n;
            }
        }
        nf++;
        if (p < end && *p == d) {
            p++;
            continue;
        }
        set_raw(c, row, p);
        if (p < end) {   /* the LF */
            p++;
            nl++;
        }
        break;
    }
    c->nfields = nf;
    c->pos = (size_t)(p - c->buf);
    c->next_line = c->line + nl;
    return ROW;
}

int csv_next(struct csv *c)
{
    c->line = c->next_line;
    c->nfields = 0;
    for (;;) {
        if (c->err_fatal || (c->pos == c->len && c->eof && c->bom_done))
            return 0;
        int rc = c->pos < c->len && c->bom_done ? parse_row(c) : MORE;
        if (rc == ROW)
            return c->nfields;
        if (rc == BAD)
            return -1;
        if (!refill(c))
            return -1;
    }
}

int csv_getline(struct csv *c, const char **line, size_t *len)
{
    c->line = c->next_line;
    for (;;) {
        if (c->err_fatal || (c->pos == c->len && c->eof && c->bom_done))
            return 0;
        if (c->pos < c->len && c->bom_done) {
            const char *s = c->buf + c->pos, *end = c->buf + c->len;
            const char *lf = memchr(s, '\n', (size_t)(end - s));
            if (lf || c->eof) {
                const char *e = lf ? lf : end;
                set_raw(c, s, e);
                c->pos = lf ? (size_t)(lf + 1 - c->buf) : c->len;
                c->next_line = c->line + 1;
                *line = s;
                *len = c->raw_len;
                return 1;
            }
        }
        if (!refill(c))
            return -1;
    }
}

/* ---- writers ------------------------------------------------------------ */

void csv_put_field(FILE *fp, const char *s, size_t n, char delim)
{
    size_t i = 0;
    while (i < n && s[i] != delim && s[i] != '"' && s[i] != '\n' && s[i] != '\r')
        i++;
    if (i == n) {
        fwrite(s, 1, n, fp);
        return;
    }
    putc('"', fp);
    const char *p = s, *end = s + n, *q;
    while ((q = memchr(p, '"', (size_t)(end - p))) != NULL) {
        fwrite(p, 1, (size_t)(q + 1 - p), fp);   /* through the quote, */
        putc('"', fp);                            /* then its double */
        p = q + 1;
    }
    fwrite(p, 1, (size_t)(end - p), fp);
    putc('"', fp);
}

void tsv_put_field(FILE *fp, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        char e = ch == '\t' ? 't' : ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch == '\\' ? '\\' : 0;
        if (!e)
            continue;
        fwrite(s + run, 1, i - run, fp);
        putc('\\', fp);
        putc(e, fp);
        run = i + 1;
    }
    fwrite(s + run, 1, n - run, fp);
}

/* ---- errors ----------------------------------------------------------------- */

void csv_die_error(const struct csv *c, const char *path)
{
    if (c->err_col)
        die("%s: line %llu, column %llu: %s", path, (unsigned long long)c->err_line,
            (unsigned long long)c->err_col, c->err);
    die("%s: line %llu: %s", path, (unsigned long long)c->err_line, c->err);
}

void csv_vdie_row(const struct csv *c, const char *path, int col, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (col >= 0)
        die("%s: line %llu, column %d: %s", path, (unsigned long long)c->line, col + 1, msg);
    die("%s: line %llu: %s", path, (unsigned long long)c->line, msg);
}
