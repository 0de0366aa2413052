/* strmap ids and the table loader: numeric, categorical, missing, arrays. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "strmap.h"
#include "table.h"

static void test_strmap(void)
{
    struct strmap m;
    sm_init(&m);
    char key[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(key, sizeof key, "user-%d", i);
        if (sm_intern(&m, key, (size_t)n) != (uint32_t)i)
            break;
    }
    CHECK_EQ_INT(sm_count(&m), 10000, "ids are dense, in order of first sight");
    CHECK_EQ_INT(sm_find(&m, "user-4242", 9), 4242, "find an existing key");
    CHECK_EQ_INT(sm_find(&m, "user-x", 6), -1, "a missing key is -1");
    CHECK_EQ_INT(sm_intern(&m, "user-7", 6), 7, "interning again gives the same id");
    CHECK_EQ_STR(sm_key(&m, 9999), "user-9999", "key of an id");
    CHECK_EQ_INT(sm_intern(&m, "", 0), 10000, "the empty string is a key");
    sm_release(&m);
}

static void test_table(void)
{
    char path[] = "/tmp/test_table.XXXXXX";
    int fd = mkstemp(path);
    CHECK_TRUE(fd >= 0, "temp file");
    close(fd);
    ws *w = ws_open(path, 0);
    ws_header(w, "users");
    for (int i = 0; i < 5; i++) {
        msgpack_packer *pk = ws_pk(w);
        msgpack_pack_map(pk, i == 3 ? 2 : 3);
        mp_pack_str(pk, "x");
        if (i == 2)
            msgpack_pack_nil(pk);
        else
            msgpack_pack_int(pk, i * 10);
        mp_pack_str(pk, "seg");
        mp_pack_str(pk, i % 2 ? "b" : "a");
        if (i != 3) {
            mp_pack_str(pk, "v");
            float v[2] = {(float)i, -0.5f};
            mp_pack_f32s(pk, v, 2);
        }
        ws_end(w);
    }
    ws_close(w);
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, "users");
    char *names[] = {"seg", "x", "v[]"};
    struct tbl t;
    tbl_init(&t, names, 3);
    tbl_load(&t, r);
    CHECK_EQ_INT(t.nrows, 5, "five rows");
    CHECK_EQ_INT(t.ncols, 4, "seg, x, v[0], v[1]");
    CHECK_EQ_STR(t.cols[3].name, "v[1]", "array columns are named by index");
    CHECK_TRUE(t.cols[0].type == TBL_CAT && t.cols[1].type == TBL_NUM, "types from values");
    CHECK_NEAR(tbl_row(&t, 1)[0], 1, 0, "second level is 1");
    CHECK_NEAR(tbl_row(&t, 4)[1], 40, 0, "numbers kept");
    CHECK_TRUE(isnan(tbl_row(&t, 2)[1]), "nil is NaN");
    CHECK_TRUE(isnan(tbl_row(&t, 3)[2]) && isnan(tbl_row(&t, 3)[3]), "absent array is NaN");
    CHECK_NEAR(tbl_row(&t, 4)[2], 4, 0, "array values");
    CHECK_EQ_INT(tbl_col_index(&t, "x"), 1, "column by name");
    tbl_release(&t);
    rs_free(r);
    unlink(path);
}

/* Flat records are read from their bytes (no array requested); asking for
 * an array field too sends every record through the general reader.  Both
 * must give the same columns: numbers of every width, floats, booleans,
 * nil, absent and repeated keys, categorical levels, keys out of order,
 * and unrequested values of any shape skipped. */
static void test_flat_path(void)
{
    char path[] = "/tmp/test_table_flat.XXXXXX";
    int fd = mkstemp(path);
    CHECK_TRUE(fd >= 0, "temp file");
    close(fd);
    ws *w = ws_open(path, 0);
    ws_header(w, "users");
    const int64_t ints[] = {0, 5, -3, 200, -200, 70000, -70000, 5000000000LL, -5000000000LL, 127};
    for (int i = 0; i < 40; i++) {
        msgpack_packer *pk = ws_pk(w);
        bool swap = i % 3 == 1, extra = i % 4 == 2, dup = i % 7 == 5;
        msgpack_pack_map(pk, 4 + extra + dup + (i == 0));
        if (i == 0) {   /* the array the general table asks for */
            mp_pack_str(pk, "v");
            float v[1] = {1};
            mp_pack_f32s(pk, v, 1);
        }
        if (extra) {   /* an unrequested nested value, first */
            mp_pack_str(pk, "other");
            msgpack_pack_array(pk, 2);
            msgpack_pack_map(pk, 1);
            mp_pack_str(pk, "k");
            msgpack_pack_double(pk, 1.5);
            mp_pack_str(pk, "s");
        }
        for (int k = 0; k < 2; k++) {
            if ((k == 0) != swap) {
                mp_pack_str(pk, "n");
                if (i % 5 == 4)
                    msgpack_pack_nil(pk);
                else
                    msgpack_pack_int64(pk, ints[i % 10]);
            } else {
                mp_pack_str(pk, "f");
                if (i % 2)
                    msgpack_pack_float(pk, (float)i / 4);
                else
                    msgpack_pack_double(pk, i / 3.0);
            }
        }
        mp_pack_str(pk, "b");
        if (i % 3 == 0)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        mp_pack_str(pk, i % 6 == 3 ? "absent" : "c");
        mp_pack_str(pk, i % 3 == 0 ? "red" : i % 3 == 1 ? "a longer level name, over thirty-one bytes" : "");
        if (dup) {
            mp_pack_str(pk, "n");
            msgpack_pack_int(pk, -1);
        }
        ws_end(w);
    }
    ws_close(w);
    const char *paths[] = {path};
    char *flat[] = {"n", "f", "b", "c"}, *general[] = {"n", "f", "b", "c", "v[]"};
    struct tbl a, b;
    tbl_init(&a, flat, 4);
    tbl_init(&b, general, 5);
    rs *r = rs_open(paths, 1, "users");
    tbl_load(&a, r);
    rs_free(r);
    r = rs_open(paths, 1, "users");
    tbl_load(&b, r);
    rs_free(r);
    CHECK_EQ_INT(a.nrows, 40, "every row, flat path");
    CHECK_EQ_INT(b.nrows, 40, "every row, general path");
    int same = 0;
    for (size_t i = 0; i < 40; i++)
        for (size_t j = 0; j < 4; j++) {
            double x = tbl_row(&a, i)[j], y = tbl_row(&b, i)[j];
            same += (isnan(x) && isnan(y)) || x == y;
        }
    CHECK_EQ_INT(same, 160, "the flat path reads what the general one does");
    CHECK_NEAR(tbl_row(&a, 7)[0], (double)ints[7], 0, "a 64-bit integer");
    CHECK_TRUE(isnan(tbl_row(&a, 4)[0]) && isnan(tbl_row(&a, 3)[3]), "nil and absent are NaN");
    CHECK_NEAR(tbl_row(&a, 5)[0], (double)ints[5], 0, "a repeated key: the first counts");
    CHECK_EQ_INT(sm_count(&a.cols[3].levels), 3, "three levels");
    tbl_release(&a);
    tbl_release(&b);
    unlink(path);
}

int main(void)
{
    diag_init("test_table");
    test_strmap();
    test_table();
    test_flat_path();
    return check_done();
}
