/* Stream writer and reader round trips, and the extent scanner's limits. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "mpscan.h"
#include "numfmt.h"
#include "rec.h"
#include "stream.h"

static char dir[] = "/tmp/test_stream.XXXXXX";

static void write_events(const char *path, int level, int n, const char *kind)
{
    ws *w = ws_open(path, level);
    ws_opt_int(w, "n", n);
    ws_header(w, kind);
    for (int i = 0; i < n; i++) {
        msgpack_packer *pk = ws_pk(w);
        msgpack_pack_map(pk, 4);
        mp_pack_str(pk, "user");
        msgpack_pack_int64(pk, i % 7);
        mp_pack_str(pk, "price");
        msgpack_pack_double(pk, i * 0.5);
        mp_pack_str(pk, "event");
        mp_pack_str(pk, i % 2 ? "view" : "purchase");
        mp_pack_str(pk, "vec");
        float v[3] = {(float)i, 0.25f, -1.0f};
        mp_pack_f32s(pk, v, 3);
        ws_end(w);
    }
    ws_close(w);
}

static int read_all(const char *const *paths, int npaths, double *sum)
{
    rs *r = rs_open(paths, npaths, "events");
    int n = 0;
    *sum = 0;
    float v[3];
    while (rs_next(r)) {
        *sum += rec_f64(r, "price") + (double)rec_i64(r, "user");
        rec_f32s(r, "vec", v, 3);
        *sum += v[0];
        const char *s;
        size_t len = rec_str(r, "event", &s);
        *sum += (double)len;
        n++;
    }
    rs_free(r);
    return n;
}

static void test_round_trip(void)
{
    char a[64], b[64];
    snprintf(a, sizeof a, "%s/a.mpz", dir);
    snprintf(b, sizeof b, "%s/b.mpz", dir);
    for (int level = 0; level <= 9; level += 3) {
        write_events(a, level, 20000, "events");
        double sum;
        const char *p[] = {a};
        CHECK_EQ_INT(read_all(p, 1, &sum), 20000, "all records read back");
        double want = 0;
        for (int i = 0; i < 20000; i++)
            want += i * 0.5 + i % 7 + i + (i % 2 ? 4 : 8);
        CHECK_NEAR(sum, want, 1e-12, "values read back");
    }
    write_events(a, 1, 3, "events");
    write_events(b, 0, 5, "events");
    const char *two[] = {a, b};
    double sum;
    CHECK_EQ_INT(read_all(two, 2, &sum), 8, "two files read as one stream");

    /* Concatenated bytes: gzip member then plain, header repeated inside. */
    char cmd[512], c[64];
    snprintf(c, sizeof c, "%s/c.mpz", dir);
    snprintf(cmd, sizeof cmd, "cat %s %s %s > %s", a, a, b, c);
    CHECK_TRUE(system(cmd) == 0, "concatenate");
    const char *one[] = {c};
    CHECK_EQ_INT(read_all(one, 1, &sum), 11, "concatenated streams read as one");
}

static void test_deterministic(void)
{
    char a[64], b[64], cmd[200];
    snprintf(a, sizeof a, "%s/d1.mpz", dir);
    snprintf(b, sizeof b, "%s/d2.mpz", dir);
    write_events(a, 6, 1000, "events");
    write_events(b, 6, 1000, "events");
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    CHECK_TRUE(system(cmd) == 0, "same records give identical bytes");
}

static void test_header(void)
{
    char a[64];
    snprintf(a, sizeof a, "%s/h.mpz", dir);
    write_events(a, 1, 1, "model/kmeans");
    const char *p[] = {a};
    rs *r = rs_open(p, 1, "model/");
    CHECK_EQ_STR(rs_kind(r), "model/kmeans", "kind family accepted");
    const msgpack_object *opts = mp_map_get(rs_header(r), "options");
    CHECK_TRUE(opts && mp_map_get(opts, "n") && mp_map_get(opts, "n")->via.u64 == 1,
               "header keeps options");
    CHECK_TRUE(mp_str_eq(mp_map_get(rs_header(r), "producer"), "test_stream"),
               "header names the producer");
    rs_free(r);
}

static void test_scan(void)
{
    size_t len;
    const char *why;
    const unsigned char fix[] = {0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x92, 0xc3, 0xc0};
    CHECK_TRUE(mp_scan(fix, sizeof fix, &len, &why) == MP_OK && len == sizeof fix,
               "scan a nested map");
    CHECK_TRUE(mp_scan(fix, sizeof fix - 1, &len, &why) == MP_MORE, "short input needs more");
    const unsigned char bad[] = {0x81, 0xc1};
    CHECK_TRUE(mp_scan(bad, 2, &len, &why) == MP_BAD, "0xc1 is invalid");
    /* A hostile array count: needs more input, never allocates. */
    const unsigned char huge[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK_TRUE(mp_scan(huge, sizeof huge, &len, &why) == MP_MORE, "huge array count waits for input");
    const unsigned char bigstr[] = {0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'};
    CHECK_TRUE(mp_scan(bigstr, sizeof bigstr, &len, &why) == MP_BAD, "string over 1 GiB is refused");
    unsigned char deep[100];
    memset(deep, 0x91, sizeof deep);
    CHECK_TRUE(mp_scan(deep, sizeof deep, &len, &why) == MP_BAD, "nesting limit");
}

static void test_numfmt(void)
{
    int64_t i;
    double d;
    char buf[NUM_BUF];
    CHECK_TRUE(num_parse_i64("-42", 3, &i) && i == -42, "parse -42");
    CHECK_TRUE(!num_parse_i64("007", 3, &i), "leading zeros are not canonical");
    CHECK_TRUE(!num_parse_i64("-0", 2, &i), "-0 is not canonical");
    CHECK_TRUE(num_parse_i64("-9223372036854775808", 20, &i) && i == INT64_MIN, "int64 min");
    CHECK_TRUE(!num_parse_i64("9223372036854775808", 19, &i), "int64 overflow");
    CHECK_TRUE(num_parse_f64("2.55", 4, &d) && d == 2.55, "parse 2.55");
    CHECK_TRUE(!num_parse_f64("inf", 3, &d) && !num_parse_f64("0x10", 4, &d), "no inf or hex");
    CHECK_TRUE(!num_parse_f64(" 1", 2, &d), "no spaces");
    num_fmt_f64(buf, 2.55);
    CHECK_EQ_STR(buf, "2.55", "shortest double");
    num_fmt_f64(buf, 0.1 + 0.2);
    CHECK_EQ_STR(buf, "0.30000000000000004", "17 digits when needed");
    num_fmt_f32(buf, 0.1f);
    CHECK_EQ_STR(buf, "0.1", "shortest float");
}

int main(void)
{
    diag_init("test_stream");
    if (!mkdtemp(dir))
        return 1;
    test_round_trip();
    test_deterministic();
    test_header();
    test_scan();
    test_numfmt();
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    return check_done();
}
