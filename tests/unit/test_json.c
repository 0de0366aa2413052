/* Unit tests of the JSON reader (JSON -> MessagePack) and writer. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

static struct json j;
static msgpack_sbuffer sb;
static msgpack_packer pk;
static char out[4096];

/* Pack text, unpack it, write it back as JSON into out.  false on an
 * error (out is then j.err). */
static bool roundtrip(const char *text, bool object_only)
{
    msgpack_sbuffer_clear(&sb);
    if (!json_pack(&j, text, strlen(text), object_only, &pk)) {
        snprintf(out, sizeof out, "%s", j.err);
        return false;
    }
    msgpack_zone zone;
    msgpack_zone_init(&zone, 1024);
    msgpack_object o;
    size_t off = 0;
    if (msgpack_unpack(sb.data, sb.size, &off, &zone, &o) != MSGPACK_UNPACK_SUCCESS) {
        snprintf(out, sizeof out, "(unpack failed)");
        msgpack_zone_destroy(&zone);
        return false;
    }
    FILE *fp = fmemopen(out, sizeof out, "w");
    json_put_object(fp, &o);
    fclose(fp);
    msgpack_zone_destroy(&zone);
    return true;
}

/* The MessagePack type of the single value text. */
static msgpack_object unpack_one(const char *text)
{
    static msgpack_zone zone;
    static bool init;
    if (!init)
        msgpack_zone_init(&zone, 1024), init = true;
    msgpack_object o = {.type = MSGPACK_OBJECT_EXT};
    msgpack_sbuffer_clear(&sb);
    if (json_pack(&j, text, strlen(text), false, &pk)) {
        size_t off = 0;
        msgpack_unpack(sb.data, sb.size, &off, &zone, &o);
    }
    return o;
}

static void same(const char *text, const char *want, const char *what)
{
    bool ok = roundtrip(text, false);
    CHECK_EQ_STR(ok ? out : "(error)", want, what);
    if (!ok)
        printf("#   error: %s\n", out);
}

static void fails(const char *text, size_t col, const char *err, const char *what)
{
    msgpack_sbuffer_clear(&sb);
    bool ok = json_pack(&j, text, strlen(text), true, &pk);
    CHECK_TRUE(!ok && sb.size == 0, what);
    CHECK_EQ_STR(ok ? "(accepted)" : j.err, err, what);
    CHECK_EQ_INT(j.err_col, col, what);
}

static void test_structure(void)
{
    same(" { \"b\" : 1 , \"a\" : [ true , false , null , { } , [ ] ] } ",
         "{\"b\":1,\"a\":[true,false,null,{},[]]}", "white space and key order");
    same("{\"x\":{\"y\":{\"z\":[1,[2,[3]]]}}}", "{\"x\":{\"y\":{\"z\":[1,[2,[3]]]}}}", "nesting");
    same("[1,\"two\",3.5]", "[1,\"two\",3.5]", "a top-level array when allowed");
}

static void test_strings(void)
{
    same("[\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"]", "[\"\\\" \\\\ / \\b \\f \\n \\r \\t\"]", "short escapes");
    same("[\"\\u00e9\\u20AC\\ud83d\\ude00\"]", "[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"]",
         "\\u escapes and a surrogate pair");
    same("[\"\\u0001\\u001f\\u0000x\"]", "[\"\\u0001\\u001f\\u0000x\"]", "control characters");
    same("[\"caf\xc3\xa9\"]", "[\"caf\xc3\xa9\"]", "UTF-8 kept");
    msgpack_object o = unpack_one("\"a\\u0000b\"");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_STR && o.via.str.size == 3 && o.via.str.ptr[1] == 0,
               "\\u0000 is a NUL byte in the string");
}

static void test_numbers(void)
{
    msgpack_object o;
    o = unpack_one("0");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_POSITIVE_INTEGER && o.via.u64 == 0, "0 is an integer");
    o = unpack_one("-9223372036854775808");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o.via.i64 == INT64_MIN, "int64 min");
    o = unpack_one("9223372036854775807");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_POSITIVE_INTEGER && o.via.u64 == INT64_MAX, "int64 max");
    o = unpack_one("18446744073709551615");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_POSITIVE_INTEGER && o.via.u64 == UINT64_MAX,
               "uint64 max stays exact");
    o = unpack_one("18446744073709551616");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_FLOAT64 && o.via.f64 == 18446744073709551616.0,
               "beyond uint64 is a float");
    o = unpack_one("-9223372036854775809");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_FLOAT64, "below int64 is a float");
    o = unpack_one("1.0");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_FLOAT64 && o.via.f64 == 1.0, "a fraction makes a float");
    o = unpack_one("1e3");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_FLOAT64 && o.via.f64 == 1000.0, "an exponent makes a float");
    o = unpack_one("-0");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_FLOAT64 && o.via.f64 == 0 && signbit(o.via.f64), "-0 is a float");
    o = unpack_one("0.1");
    CHECK_TRUE(o.type == MSGPACK_OBJECT_FLOAT64 && o.via.f64 == 0.1, "0.1 exactly as strtod");
    same("[0.1,-2.5e-07,1e+21,123456789012,-0,1.7976931348623157e+308]",
         "[0.1,-2.5e-07,1e+21,123456789012,-0,1.7976931348623157e+308]", "shortest numbers round trip");
}

static void test_errors(void)
{
    fails("{\"a\":1,}", 8, "invalid JSON: expected a string key", "trailing comma");
    fails("{\"a\" 1}", 6, "invalid JSON: expected ':'", "missing colon");
    fails("{\"a\":1", 7, "invalid JSON: unexpected end of line", "unclosed object");
    fails("{\"a\":[1 2]}", 9, "invalid JSON: expected ',' or ']'", "missing comma in array");
    fails("{\"a\":\"xyz}", 6, "invalid JSON: unterminated string", "unterminated string");
    fails("{\"a\":\"x\ty\"}", 8, "invalid JSON: control character in a string", "raw tab");
    fails("{\"a\":\"\\x\"}", 7, "invalid JSON: invalid escape '\\x'", "bad escape");
    fails("{\"a\":\"\\u12g4\"}", 7, "invalid JSON: invalid \\u escape", "bad hex");
    fails("{\"a\":\"\\ud800\"}", 7, "invalid JSON: unpaired surrogate in \\u escape", "lone high surrogate");
    fails("{\"a\":\"\\udc00\"}", 7, "invalid JSON: unpaired surrogate in \\u escape", "lone low surrogate");
    fails("{\"a\":\"ok\xe9t\"}", 9, "invalid UTF-8", "Latin-1 in a string");
    fails("{\"a\":01}", 7, "invalid JSON: expected ',' or '}'", "leading zero");
    fails("{\"a\":1.}", 6, "invalid JSON: invalid number", "no digit after the point");
    fails("{\"a\":.5}", 6, "invalid JSON: expected a value", "no digit before the point");
    fails("{\"a\":-}", 6, "invalid JSON: invalid number", "a lone minus");
    fails("{\"a\":1e400}", 6, "invalid JSON: number out of range", "overflow");
    fails("{\"a\":tru}", 6, "invalid JSON: expected a value", "bad literal");
    fails("{\"a\":1} x", 9, "invalid JSON: text after the value", "trailing text");
    fails("", 1, "invalid JSON: unexpected end of line", "empty text");
    fails("[1,2]", 1, "expected a JSON object, got an array", "top-level array");
    fails("  \"s\"", 3, "expected a JSON object, got a string", "top-level string");
    fails("{'a':1}", 2, "invalid JSON: expected a string key", "single quotes");
}

static void test_depth(void)
{
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        deep[n++] = '[';
    deep[n++] = '1';   /* non-empty all the way down: the unpacker's worst case */
    for (int i = 0; i < JSON_MAX_DEPTH; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    CHECK_TRUE(roundtrip(deep, false), "JSON_MAX_DEPTH levels are allowed");
    CHECK_EQ_STR(out, deep, "and written back");
    memmove(deep + 1, deep, n + 1);
    deep[0] = '[';
    strcat(deep, "]");
    CHECK_TRUE(!roundtrip(deep, false), "one more is not");
    char msg[64];
    snprintf(msg, sizeof msg, "invalid JSON: nesting deeper than %d", JSON_MAX_DEPTH);
    CHECK_EQ_STR(j.err, msg, "depth message");
    CHECK_EQ_INT(j.err_col, JSON_MAX_DEPTH + 1, "depth column");
}

static void test_roundtrip(void)
{
    const char *texts[] = {
        "{}",
        "{\"user\":\"u1\",\"item\":42,\"price\":9.99,\"tags\":[\"a\",\"b\"],\"meta\":{\"x\":null}}",
        "{\"s\":\"quote\\\" back\\\\ nl\\n ctl\\u0002 caf\xc3\xa9\",\"t\":true,\"f\":false}",
        "{\"n\":-17,\"big\":18446744073709551615,\"neg\":-9223372036854775808,\"f\":-1.5e-300}",
        "{\"nested\":[[[]],{\"a\":[{}]}],\"e\":\"\"}",
    };
    bool all = true;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        bool ok = roundtrip(texts[i], true) && strcmp(out, texts[i]) == 0;
        if (!ok)
            printf("#   %s\n#   -> %s\n", texts[i], out);
        all &= ok;
    }
    CHECK_TRUE(all, "json -> msgpack -> json is byte-identical");
}

static void put(const msgpack_object *o)
{
    FILE *fp = fmemopen(out, sizeof out, "w");
    json_put_object(fp, o);
    fclose(fp);
}

static void test_writer(void)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_FLOAT32};
    o.via.f64 = (double)0.1f;
    put(&o);
    CHECK_EQ_STR(out, "0.1", "float32 printed shortest as a float32");
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = INFINITY;
    put(&o);
    CHECK_EQ_STR(out, "null", "infinity is null");
    o.via.f64 = NAN;
    put(&o);
    CHECK_EQ_STR(out, "null", "NaN is null");
    o.type = MSGPACK_OBJECT_BIN;
    o.via.bin.ptr = "\x00\xff\x10\x20";
    o.via.bin.size = 4;
    put(&o);
    CHECK_EQ_STR(out, "\"AP8QIA==\"", "bin as base64");

    msgpack_object_kv kv[2];
    kv[0].key.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    kv[0].key.via.u64 = 7;
    kv[0].val.type = MSGPACK_OBJECT_NIL;
    kv[1].key.type = MSGPACK_OBJECT_ARRAY;
    kv[1].key.via.array.size = 1;
    kv[1].key.via.array.ptr = &kv[0].key;
    kv[1].val.type = MSGPACK_OBJECT_BOOLEAN;
    kv[1].val.via.boolean = true;
    o.type = MSGPACK_OBJECT_MAP;
    o.via.map.size = 2;
    o.via.map.ptr = kv;
    put(&o);
    CHECK_EQ_STR(out, "{\"7\":null,\"[7]\":true}", "non-string keys as their JSON text");

    FILE *fp = fmemopen(out, sizeof out, "w");
    json_put_string(fp, "a\"b\\c\x01\x7f\n", 8);
    fclose(fp);
    CHECK_EQ_STR(out, "\"a\\\"b\\\\c\\u0001\x7f\\n\"", "json_put_string escapes");
}

int main(void)
{
    json_init(&j);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    test_structure();
    test_strings();
    test_numbers();
    test_errors();
    test_depth();
    test_roundtrip();
    test_writer();
    json_release(&j);
    msgpack_sbuffer_destroy(&sb);
    return check_done();
}
