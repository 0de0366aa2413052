/* csv: an RFC 4180 reader over a byte source (so .gz text is read
 * transparently), a line reader for JSON lines, and the matching CSV and
 * TSV field writers, so that importing what promo-cat prints is lossless.
 *
 * The reader parses straight from one input buffer: a field points into it
 * (or into a second buffer of the same size when it had to be unescaped),
 * so memory is bounded by the longest row and nothing is allocated per row
 * once the buffers have grown. */
#ifndef PROMO_CSV_H
#define PROMO_CSV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bsrc.h"

struct csv_field {
    const char *ptr;   /* not NUL-terminated */
    size_t len;
};

/* Caller-owned.  The public fields are read-only; the rest is private. */
struct csv {
    struct csv_field *fields;  /* the row's fields; valid until the next call */
    int nfields;
    uint64_t line;             /* line where the current row starts, 1-based */
    bool escapes;              /* undo linear-TSV escapes (\t \n \r \\) in
                                * fields; csv_init sets it when quoting is off
                                * and the delimiter is a tab */
    /* After -1: what went wrong, and where (err_col 0: no column). */
    char err[160];
    uint64_t err_line, err_col;
    bool err_fatal;            /* a read or gzip error: no more rows */

    bsrc *bs;
    char delim;
    bool quoting, eof, bom_done;
    char *buf, *out;           /* input bytes; unescaped field bytes */
    size_t cap, pos, len;      /* both buffers have cap bytes */
    size_t fcap;
    uint64_t next_line;
    size_t raw_off, raw_len;
};

/* Read from bs (still owned by the caller).  quoting false: split on delim
 * only, quotes are ordinary bytes.  delim must not be '"', CR or LF. */
void csv_init(struct csv *c, bsrc *bs, char delim, bool quoting);
void csv_release(struct csv *c);
/* Read the next row: the field count, 0 at the end, -1 on an error (err,
 * err_line, err_col).  After a malformed row the reader resumes at the next
 * line (after an unterminated quote, at the end), so a caller may reject the
 * row and go on; after err_fatal it returns 0.  A blank line is one empty
 * field.  A UTF-8 byte order mark at the very start is skipped. */
int csv_next(struct csv *c);
/* For a table read whole (a malformed row ends the run): die with the
 * error of the last csv_next, "PATH: line L, column C: what" (no column
 * when err_col is 0). */
_Noreturn void csv_die_error(const struct csv *c, const char *path);
/* Die about the row just read: "PATH: line L, column COL + 1: message"
 * (col < 0: no column). */
_Noreturn void csv_vdie_row(const struct csv *c, const char *path, int col, const char *fmt,
                            va_list ap);
/* The current (or malformed) row's bytes as read, without its line end. */
const char *csv_raw(const struct csv *c, size_t *len);
/* Read one line without its LF or CRLF (for JSON lines): 1, 0 at the end,
 * -1 on a read error (err_fatal).  *line is valid until the next call. */
int csv_getline(struct csv *c, const char **line, size_t *len);

/* Write one CSV field with RFC 4180 minimal quoting: quoted only when it
 * holds the delimiter, a double quote, CR or LF; quotes are doubled. */
void csv_put_field(FILE *fp, const char *s, size_t n, char delim);
/* Write one TSV field with linear-TSV escapes for tab, LF, CR, backslash. */
void tsv_put_field(FILE *fp, const char *s, size_t n);

#endif
