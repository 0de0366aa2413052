#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "numfmt.h"
#include "utf8.h"
#include "xalloc.h"

void json_init(struct json *j)
{
    memset(j, 0, sizeof *j);
}

void json_release(struct json *j)
{
    free(j->counts);
    free(j->str);
    memset(j, 0, sizeof *j);
}

/* ---- reading ------------------------------------------------------------ */

PRINTF_LIKE(3, 4)
static bool fail(struct json *j, const char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->err, sizeof j->err, fmt, ap);
    va_end(ap);
    j->err_col = (size_t)(at - j->start) + 1;
    return false;
}

/* "expected X", or the end of the line when that is what was found. */
static bool expected(struct json *j, const char *what)
{
    if (j->p == j->end)
        return fail(j, j->p, "invalid JSON: unexpected end of line");
    return fail(j, j->p, "invalid JSON: expected %s", what);
}

static void skip_ws(struct json *j)
{
    const char *p = j->p;
    while (p < j->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    j->p = p;
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static bool value(struct json *j);

/* The checking pass stores each container's count; the packing pass reads
 * them back in the same order. */
static bool open_container(struct json *j, size_t *slot, bool map)
{
    if (++j->depth > JSON_MAX_DEPTH)
        return fail(j, j->p, "invalid JSON: nesting deeper than %d", JSON_MAX_DEPTH);
    j->p++;
    if (!j->pk) {
        XGROW(j->counts, j->capcounts, j->ncounts + 1);
        *slot = j->ncounts++;
    } else if (map) {
        msgpack_pack_map(j->pk, j->counts[j->next++]);
    } else {
        msgpack_pack_array(j->pk, j->counts[j->next++]);
    }
    return true;
}

static bool string(struct json *j);

static bool object(struct json *j)
{
    size_t slot = 0;
    uint32_t n = 0;
    if (!open_container(j, &slot, true))
        return false;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
    } else {
        for (;;) {
            skip_ws(j);
            if (j->p == j->end || *j->p != '"')
                return expected(j, "a string key");
            if (!string(j))
                return false;
            skip_ws(j);
            if (j->p == j->end || *j->p != ':')
                return expected(j, "':'");
            j->p++;
            skip_ws(j);
            if (!value(j))
                return false;
            n++;
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == '}') {
                j->p++;
                break;
            }
            return expected(j, "',' or '}'");
        }
    }
    if (!j->pk)
        j->counts[slot] = n;
    j->depth--;
    return true;
}

static bool array(struct json *j)
{
    size_t slot = 0;
    uint32_t n = 0;
    if (!open_container(j, &slot, false))
        return false;
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
    } else {
        for (;;) {
            skip_ws(j);
            if (!value(j))
                return false;
            n++;
            skip_ws(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == ']') {
                j->p++;
                break;
            }
            return expected(j, "',' or ']'");
        }
    }
    if (!j->pk)
        j->counts[slot] = n;
    j->depth--;
    return true;
}

static int hex4(const char *p, const char *end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        int d = is_digit(ch) ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* A \uXXXX escape at p (its backslash), with a following low surrogate if
 * it is a high one.  Returns the bytes of the escape, 0 if invalid. */
static int unicode_escape(struct json *j, const char *p, unsigned *cp)
{
    int hi = hex4(p + 2, j->end);
    if (hi < 0)
        return fail(j, p, "invalid JSON: invalid \\u escape"), 0;
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return fail(j, p, "invalid JSON: unpaired surrogate in \\u escape"), 0;
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = (unsigned)hi;
        return 6;
    }
    int lo = j->end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8, j->end) : -1;
    if (lo < 0xdc00 || lo > 0xdfff)
        return fail(j, p, "invalid JSON: unpaired surrogate in \\u escape"), 0;
    *cp = 0x10000 + (((unsigned)hi - 0xd800) << 10) + ((unsigned)lo - 0xdc00);
    return 12;
}

static bool string(struct json *j)
{
    const char *open = j->p, *s = j->p + 1, *p = s, *end = j->end;
    bool ascii = true;
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) {
        ascii &= (unsigned char)*p < 0x80;
        p++;
    }
    const char *body = s;
    size_t len = (size_t)(p - s);
    if (p < end && *p != '"') {
        /* Escapes: decode into j->str, never longer than the source. */
        if (j->capstr < (size_t)(end - s))
            XGROW(j->str, j->capstr, (size_t)(end - s));
        char *o = j->str;
        memcpy(o, s, len);
        o += len;
        while (p < end && *p != '"') {
            unsigned char ch = (unsigned char)*p;
            if (ch < 0x20)
                return fail(j, p, "invalid JSON: control character in a string");
            if (ch != '\\') {
                ascii &= ch < 0x80;
                *o++ = (char)ch;
                p++;
                continue;
            }
            char e = p + 1 < end ? p[1] : 0;
            char v = e == '"' ? '"' : e == '\\' ? '\\' : e == '/' ? '/' : e == 'b' ? '\b'
                   : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : 0;
            if (v) {
                *o++ = v;
                p += 2;
            } else if (e == 'u') {
                unsigned cp;
                int k = unicode_escape(j, p, &cp);
                if (!k)
                    return false;
                o = put_utf8(o, cp);
                p += k;
            } else if (!e) {
                break;
            } else {
                return fail(j, p, "invalid JSON: invalid escape '\\%c'", e);
            }
        }
        body = j->str;
        len = (size_t)(o - j->str);
    }
    if (p >= end || *p != '"')
        return fail(j, open, "invalid JSON: unterminated string");
    /* Escapes are ASCII, so checking the source checks the result. */
    size_t bad;
    if (!ascii && !utf8_valid(s, (size_t)(p - s), &bad))
        return fail(j, s + bad, "invalid UTF-8");
    if (j->pk) {
        msgpack_pack_str(j->pk, len);
        msgpack_pack_str_body(j->pk, body, len);
    }
    j->p = p + 1;
    return true;
}

static bool number(struct json *j)
{
    const char *s = j->p, *p = s, *end = j->end;
    bool neg = p < end && *p == '-';
    p += neg;
    if (p == end || !is_digit(*p))
        return fail(j, s, "invalid JSON: invalid number");
    const char *digits = p;
    if (*p == '0')
        p++;
    else
        while (p < end && is_digit(*p))
            p++;
    const char *int_end = p;
    if (p < end && *p == '.') {
        p++;
        if (p == end || !is_digit(*p))
            return fail(j, s, "invalid JSON: invalid number");
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return fail(j, s, "invalid JSON: invalid number");
        while (p < end && is_digit(*p))
            p++;
    }
    j->p = p;
    if (p == int_end) {
        /* Integral: exact as int64, or uint64 above; -0 and larger
         * magnitudes fall through to float64. */
        uint64_t v = 0;
        bool over = false;
        for (const char *q = digits; q < p && !over; q++) {
            unsigned d = (unsigned)(*q - '0');
            over = v > (UINT64_MAX - d) / 10;
            v = v * 10 + d;
        }
        if (!over && !neg) {
            if (j->pk)
                msgpack_pack_uint64(j->pk, v);
            return true;
        }
        if (!over && v != 0 && v <= (uint64_t)INT64_MAX + 1) {
            if (j->pk)
                msgpack_pack_int64(j->pk, (int64_t)(0 - v));
            return true;
        }
    }
    size_t n = (size_t)(p - s);
    char tmp[64], *t = tmp;
    if (n >= sizeof tmp) {
        XGROW(j->str, j->capstr, n + 1);
        t = j->str;
    }
    memcpy(t, s, n);
    t[n] = '\0';
    double d = strtod(t, NULL);
    if (!isfinite(d))
        return fail(j, s, "invalid JSON: number out of range");
    if (j->pk)
        msgpack_pack_double(j->pk, d);
    return true;
}

static bool literal(struct json *j, const char *word, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return fail(j, j->p, "invalid JSON: expected a value");
    if (j->pk) {
        if (word[0] == 't')
            msgpack_pack_true(j->pk);
        else if (word[0] == 'f')
            msgpack_pack_false(j->pk);
        else
            msgpack_pack_nil(j->pk);
    }
    j->p += n;
    return true;
}

static bool value(struct json *j)
{
    if (j->p == j->end)
        return expected(j, "a value");
    switch (*j->p) {
    case '{': return object(j);
    case '[': return array(j);
    case '"': return string(j);
    case 't': return literal(j, "true", 4);
    case 'f': return literal(j, "false", 5);
    case 'n': return literal(j, "null", 4);
    default:
        if (*j->p == '-' || is_digit(*j->p))
            return number(j);
        return expected(j, "a value");
    }
}

static const char *kind_name(char first)
{
    switch (first) {
    case '[': return "an array";
    case '"': return "a string";
    case 't': case 'f': return "a boolean";
    case 'n': return "null";
    default: return "a number";
    }
}

bool json_pack(struct json *j, const char *s, size_t n, bool object_only, msgpack_packer *pk)
{
    j->start = j->p = s;
    j->end = s + n;
    j->pk = NULL;
    j->ncounts = 0;
    j->depth = 0;
    j->err[0] = '\0';
    j->err_col = 0;
    skip_ws(j);
    const char *first = j->p;
    if (!value(j))
        return false;
    skip_ws(j);
    if (j->p != j->end)
        return fail(j, j->p, "invalid JSON: text after the value");
    if (object_only && *first != '{')
        return fail(j, first, "expected a JSON object, got %s", kind_name(*first));
    j->p = first;
    j->pk = pk;
    j->next = 0;
    CHECK(value(j));
    return true;
}

/* ---- writing ------------------------------------------------------------ */

void json_put_string(FILE *fp, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    putc('"', fp);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        fwrite(s + run, 1, i - run, fp);
        run = i + 1;
        char e = ch == '"' ? '"' : ch == '\\' ? '\\' : ch == '\b' ? 'b' : ch == '\f' ? 'f'
               : ch == '\n' ? 'n' : ch == '\r' ? 'r' : ch == '\t' ? 't' : 0;
        putc('\\', fp);
        if (e) {
            putc(e, fp);
        } else {
            fputs("u00", fp);
            putc(hex[ch >> 4], fp);
            putc(hex[ch & 15], fp);
        }
    }
    fwrite(s + run, 1, n - run, fp);
    putc('"', fp);
}

static void put_base64(FILE *fp, const char *s, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *u = (const unsigned char *)s;
    putc('"', fp);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)u[i] << 16;
        if (i + 1 < n) v |= (unsigned)u[i + 1] << 8;
        if (i + 2 < n) v |= u[i + 2];
        putc(b64[v >> 18], fp);
        putc(b64[(v >> 12) & 63], fp);
        putc(i + 1 < n ? b64[(v >> 6) & 63] : '=', fp);
        putc(i + 2 < n ? b64[v & 63] : '=', fp);
    }
    putc('"', fp);
}

/* A non-string map key: its JSON text, as a string. */
static void put_key(FILE *fp, const msgpack_object *k)
{
    if (k->type == MSGPACK_OBJECT_STR) {
        json_put_string(fp, k->via.str.ptr, k->via.str.size);
        return;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem)
        die_errno("open_memstream");
    json_put_object(mem, k);
    if (fclose(mem) != 0)
        die_errno("open_memstream");
    json_put_string(fp, text, len);
    free(text);
}

void json_put_object(FILE *fp, const msgpack_object *o)
{
    char num[NUM_BUF];
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        fputs("null", fp);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        fputs(o->via.boolean ? "true" : "false", fp);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        fprintf(fp, "%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        fprintf(fp, "%lld", (long long)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (!isfinite(o->via.f64))
            fputs("null", fp);
        else if (o->type == MSGPACK_OBJECT_FLOAT32)
            fwrite(num, 1, (size_t)num_fmt_f32(num, (float)o->via.f64), fp);
        else
            fwrite(num, 1, (size_t)num_fmt_f64(num, o->via.f64), fp);
        break;
    case MSGPACK_OBJECT_STR:
        json_put_string(fp, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        put_base64(fp, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_EXT:
        put_base64(fp, o->via.ext.ptr, o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        putc('[', fp);
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                putc(',', fp);
            json_put_object(fp, &o->via.array.ptr[i]);
        }
        putc(']', fp);
        break;
    case MSGPACK_OBJECT_MAP:
        putc('{', fp);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                putc(',', fp);
            put_key(fp, &o->via.map.ptr[i].key);
            putc(':', fp);
            json_put_object(fp, &o->via.map.ptr[i].val);
        }
        putc('}', fp);
        break;
    }
}
