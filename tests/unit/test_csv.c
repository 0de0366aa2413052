/* Unit tests of the CSV/TSV reader and writers and of utf8. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "csv.h"
#include "utf8.h"

static char tmpl[] = "/tmp/test_csv.XXXXXX";
static bsrc *bs;
static struct csv c;

/* Start reading text through a temporary file (gzip-compressed if gz). */
static void open_text(const char *text, size_t n, bool gz, char delim, bool quoting)
{
    strcpy(tmpl, "/tmp/test_csv.XXXXXX");
    int fd = mkstemp(tmpl);
    if (gz) {
        gzFile g = gzdopen(fd, "wb");
        gzwrite(g, text, (unsigned)n);
        gzclose(g);
    } else {
        if (write(fd, text, n) != (ssize_t)n)
            abort();
        close(fd);
    }
    bs = bs_open(tmpl);
    csv_init(&c, bs, delim, quoting);
}

static void open_csv(const char *text) { open_text(text, strlen(text), false, ',', true); }

static void close_text(void)
{
    csv_release(&c);
    bs_free(bs);
    unlink(tmpl);
}

static bool field_is(int i, const char *want)
{
    return i < c.nfields && c.fields[i].len == strlen(want) &&
           memcmp(c.fields[i].ptr, want, c.fields[i].len) == 0;
}

static bool raw_is(const char *want)
{
    size_t n;
    const char *raw = csv_raw(&c, &n);
    return n == strlen(want) && memcmp(raw, want, n) == 0;
}

static void test_basic(void)
{
    open_csv("a,b,c\n1,,3\n");
    CHECK_EQ_INT(csv_next(&c), 3, "header has 3 fields");
    CHECK_TRUE(field_is(0, "a") && field_is(1, "b") && field_is(2, "c"), "header fields");
    CHECK_EQ_INT(c.line, 1, "header on line 1");
    CHECK_EQ_INT(csv_next(&c), 3, "row has 3 fields");
    CHECK_TRUE(field_is(0, "1") && field_is(1, "") && field_is(2, "3"), "empty middle field");
    CHECK_EQ_INT(c.line, 2, "row on line 2");
    CHECK_EQ_INT(csv_next(&c), 0, "end");
    CHECK_EQ_INT(csv_next(&c), 0, "end again");
    close_text();
}

static void test_quoting(void)
{
    open_csv("\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"p\r\nq\"\nnext,ab\"c,\"\"\n");
    CHECK_EQ_INT(csv_next(&c), 4, "quoted row has 4 fields");
    CHECK_TRUE(field_is(0, "a,b"), "embedded delimiter");
    CHECK_TRUE(field_is(1, "say \"hi\""), "doubled quotes");
    CHECK_TRUE(field_is(2, "x\ny"), "embedded LF");
    CHECK_TRUE(field_is(3, "p\r\nq"), "embedded CRLF");
    CHECK_TRUE(raw_is("\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"p\r\nq\""), "raw text of the row");
    CHECK_EQ_INT(csv_next(&c), 3, "next row");
    CHECK_EQ_INT(c.line, 4, "line counts embedded newlines");
    CHECK_TRUE(field_is(1, "ab\"c"), "a quote inside an unquoted field is kept");
    CHECK_TRUE(field_is(2, ""), "quoted empty field");
    CHECK_EQ_INT(csv_next(&c), 0, "end");
    close_text();
}

static void test_line_ends(void)
{
    open_csv("\xef\xbb\xbfid,name\r\n1,\"x\"\r\n\r\n2,last");
    CHECK_EQ_INT(csv_next(&c), 2, "BOM header");
    CHECK_TRUE(field_is(0, "id"), "BOM skipped");
    CHECK_EQ_INT(csv_next(&c), 2, "CRLF row");
    CHECK_TRUE(field_is(0, "1") && field_is(1, "x"), "CR removed after a quoted field");
    CHECK_EQ_INT(csv_next(&c), 1, "blank line is one field");
    CHECK_TRUE(field_is(0, "") && raw_is(""), "blank line is empty");
    CHECK_EQ_INT(csv_next(&c), 2, "final line without newline");
    CHECK_TRUE(field_is(1, "last"), "last field");
    CHECK_EQ_INT(c.line, 4, "line 4");
    CHECK_EQ_INT(csv_next(&c), 0, "end");
    close_text();

    open_csv("a,b\r");
    CHECK_EQ_INT(csv_next(&c), 2, "CR at the end of input");
    CHECK_TRUE(field_is(1, "b"), "final CR removed");
    close_text();

    open_csv("");
    CHECK_EQ_INT(csv_next(&c), 0, "empty input");
    close_text();

    open_csv("\xef\xbb\xbf");
    CHECK_EQ_INT(csv_next(&c), 0, "only a BOM");
    close_text();
}

static void test_errors(void)
{
    open_csv("a,b\n1,\"x\"y,3\n4,5\n");
    CHECK_EQ_INT(csv_next(&c), 2, "header");
    CHECK_EQ_INT(csv_next(&c), -1, "text after a closing quote");
    CHECK_EQ_STR(c.err, "text after a closing quote", "its message");
    CHECK_EQ_INT(c.err_line, 2, "its line");
    CHECK_EQ_INT(c.err_col, 6, "its column");
    CHECK_TRUE(raw_is("1,\"x\"y,3"), "the bad row's text");
    CHECK_TRUE(!c.err_fatal, "not fatal");
    CHECK_EQ_INT(csv_next(&c), 2, "resumes at the next line");
    CHECK_TRUE(field_is(0, "4"), "next row read");
    CHECK_EQ_INT(c.line, 3, "next row's line");
    close_text();

    open_csv("a,b\n1,2\n3,\"open\nmore\nlines\n");
    csv_next(&c);
    csv_next(&c);
    CHECK_EQ_INT(csv_next(&c), -1, "unterminated quote");
    CHECK_EQ_STR(c.err, "unterminated quoted field", "its message");
    CHECK_EQ_INT(c.err_line, 3, "the line where the quote opened");
    CHECK_EQ_INT(c.err_col, 3, "the quote's column");
    CHECK_TRUE(raw_is("3,\"open\nmore\nlines"), "the rest of the input is the row");
    CHECK_EQ_INT(csv_next(&c), 0, "then the end");
    close_text();

    open_csv("a,b\n\"x\nq\" z,1\nok,2\n");
    csv_next(&c);
    CHECK_EQ_INT(csv_next(&c), -1, "text after a quote on a later line");
    CHECK_EQ_INT(c.err_line, 3, "line of the error inside a multi-line row");
    CHECK_EQ_INT(c.err_col, 3, "column within that line");
    CHECK_EQ_INT(csv_next(&c), 2, "resumes");
    CHECK_EQ_INT(c.line, 4, "at line 4");
    close_text();

    open_csv("a,b,c\n1,2\n1,2,3,4\n");
    CHECK_EQ_INT(csv_next(&c), 3, "header");
    CHECK_EQ_INT(csv_next(&c), 2, "a short row is returned: ragged rows are the caller's");
    CHECK_EQ_INT(csv_next(&c), 4, "a long row too");
    close_text();
}

static void test_tsv(void)
{
    const char *t = "a\tb\n\"q\tx\\ty\\\\z\\nw\\r\\q\n";
    open_text(t, strlen(t), false, '\t', false);
    CHECK_TRUE(c.escapes, "tab without quoting unescapes");
    CHECK_EQ_INT(csv_next(&c), 2, "TSV header");
    CHECK_EQ_INT(csv_next(&c), 2, "TSV row");
    CHECK_TRUE(field_is(0, "\"q"), "quotes are ordinary bytes");
    CHECK_TRUE(field_is(1, "x\ty\\z\nw\r\\q"), "linear TSV escapes, unknown ones kept");
    close_text();

    open_text("a;\"b;c\"\n", 8, false, ';', false);
    CHECK_TRUE(!c.escapes, "other delimiters do not unescape");
    CHECK_EQ_INT(csv_next(&c), 3, "no quote processing splits inside quotes");
    CHECK_TRUE(field_is(1, "\"b") && field_is(2, "c\""), "quotes kept");
    close_text();
}

static void test_gzip_and_size(void)
{
    const char *t = "x,y\n1,2\n";
    open_text(t, strlen(t), true, ',', true);
    CHECK_EQ_INT(csv_next(&c), 2, "gzip header");
    CHECK_EQ_INT(csv_next(&c), 2, "gzip row");
    CHECK_TRUE(field_is(1, "2"), "gzip value");
    CHECK_EQ_INT(csv_next(&c), 0, "gzip end");
    close_text();

    /* Many rows across buffer refills, and one row longer than the buffer. */
    size_t big = 3 * 1024 * 1024, cap = big + 4 * 1024 * 1024, n = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 200000; i++)
        n += (size_t)sprintf(text + n, "%d,\"v\"\"%d\"\n", i, i);
    text[n++] = '"';
    memset(text + n, 'z', big);
    n += big;
    memcpy(text + n, "\",end\n", 6);
    n += 6;
    open_text(text, n, false, ',', true);
    int rows = 0;
    bool ok = true;
    char want[32];
    while (csv_next(&c) == 2 && c.fields[0].ptr[0] != 'z') {
        sprintf(want, "v\"%d", rows);
        ok &= field_is(1, want) && c.line == (uint64_t)rows + 1;
        rows++;
        if (rows == 200000)
            break;
    }
    CHECK_EQ_INT(rows, 200000, "200000 rows across refills");
    CHECK_TRUE(ok, "every row's fields and line");
    CHECK_EQ_INT(csv_next(&c), 2, "a 3 MB row");
    CHECK_EQ_INT(c.fields[0].len, big, "its long field");
    CHECK_TRUE(field_is(1, "end"), "and the field after it");
    close_text();
    free(text);
}

static void test_getline(void)
{
    const char *t = "\xef\xbb\xbf{\"a\":1}\r\n\n{\"b\":2}";
    open_text(t, strlen(t), false, ',', true);
    const char *line;
    size_t n;
    CHECK_EQ_INT(csv_getline(&c, &line, &n), 1, "first line");
    CHECK_TRUE(n == 7 && memcmp(line, "{\"a\":1}", 7) == 0, "BOM and CRLF removed");
    CHECK_EQ_INT(csv_getline(&c, &line, &n), 1, "blank line");
    CHECK_EQ_INT(n, 0, "is empty");
    CHECK_EQ_INT(csv_getline(&c, &line, &n), 1, "last line without newline");
    CHECK_EQ_INT(c.line, 3, "on line 3");
    CHECK_EQ_INT(csv_getline(&c, &line, &n), 0, "end");
    close_text();
}

/* Write fields with a writer, read them back with the reader. */
static void test_writers(void)
{
    const char *vals[] = {"plain", "", "a,b", "say \"hi\"", "two\nlines", "cr\rlf\r\n",
                          "tab\there", "back\\slash", "\"", "\\t", "trail\r"};
    int nv = (int)(sizeof vals / sizeof *vals);
    for (int tsv = 0; tsv < 2; tsv++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *fp = open_memstream(&buf, &len);
        for (int i = 0; i < nv; i++) {
            if (i)
                putc(tsv ? '\t' : ',', fp);
            if (tsv)
                tsv_put_field(fp, vals[i], strlen(vals[i]));
            else
                csv_put_field(fp, vals[i], strlen(vals[i]), ',');
        }
        putc('\n', fp);
        fclose(fp);
        open_text(buf, len, false, tsv ? '\t' : ',', !tsv);
        CHECK_EQ_INT(csv_next(&c), nv, tsv ? "TSV writer: field count" : "CSV writer: field count");
        bool same = true;
        for (int i = 0; i < nv; i++)
            same &= field_is(i, vals[i]);
        CHECK_TRUE(same, tsv ? "TSV writer round trip" : "CSV writer round trip");
        close_text();
        free(buf);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    csv_put_field(fp, "a;b", 3, ';');
    csv_put_field(fp, "a,b", 3, ';');
    csv_put_field(fp, "q\"", 2, ',');
    tsv_put_field(fp, "t\tn\n", 4);
    fclose(fp);
    CHECK_EQ_STR(buf, "\"a;b\"a,b\"q\"\"\"t\\tn\\n", "minimal quoting and escapes");
    free(buf);
}

static void test_utf8(void)
{
    size_t bad = 99;
    CHECK_TRUE(utf8_valid("", 0, &bad), "empty is valid");
    const char *ok = "plain ascii text, long enough for the fast path \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    CHECK_TRUE(utf8_valid(ok, strlen(ok), &bad), "2, 3 and 4 byte characters");
    CHECK_TRUE(!utf8_valid("abcdefghij\xe9t\xc3\xa9", 14, &bad), "Latin-1 byte");
    CHECK_EQ_INT(bad, 10, "its offset");
    CHECK_TRUE(!utf8_valid("\xc0\xaf", 2, &bad) && bad == 0, "overlong 2 bytes");
    CHECK_TRUE(!utf8_valid("\xe0\x80\xaf", 3, &bad), "overlong 3 bytes");
    CHECK_TRUE(!utf8_valid("\xed\xa0\x80", 3, &bad), "surrogate");
    CHECK_TRUE(!utf8_valid("\xf4\x90\x80\x80", 4, &bad), "past U+10FFFF");
    CHECK_TRUE(!utf8_valid("ab\xe2\x82", 4, &bad) && bad == 2, "truncated at the end");
    CHECK_TRUE(!utf8_valid("\x80", 1, NULL), "lone continuation byte");
    char out[16];
    size_t n = latin1_to_utf8(out, "caf\xe9 \xff", 6);
    CHECK_TRUE(n == 8 && memcmp(out, "caf\xc3\xa9 \xc3\xbf", 8) == 0, "Latin-1 to UTF-8");
}

int main(void)
{
    test_basic();
    test_quoting();
    test_line_ends();
    test_errors();
    test_tsv();
    test_gzip_and_size();
    test_getline();
    test_writers();
    test_utf8();
    return check_done();
}
