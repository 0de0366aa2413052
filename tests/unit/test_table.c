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

int main(void)
{
    diag_init("test_table");
    test_strmap();
    test_table();
    return check_done();
}
