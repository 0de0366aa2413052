/* Tests of common/dist.c as one process (the build without MPI, or the MPI
 * build outside mpirun) and of the block arithmetic every rank relies on:
 * dist_range's blocks tile [0, n) in order, and cf_rank_blocks cuts rows
 * at equal shares of entries.  The collectives across ranks are tested
 * under mpirun by tests/bats/mpi.bats. */
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "check.h"
#include "dist.h"
#include "xalloc.h"

static void one_process(void)
{
    CHECK_EQ_INT(dist_size(), 1, "one process: size 1");
    CHECK_EQ_INT(dist_rank(), 0, "one process: rank 0");
    double d[2] = {1.5, -2};
    dist_sum_f64(d, 2);
    CHECK_TRUE(d[0] == 1.5 && d[1] == -2, "a sum over one rank is the identity");
    int64_t m = 7;
    dist_max_i64(&m, 1);
    CHECK_EQ_INT(m, 7, "a maximum over one rank is the identity");
    const char *paths[] = {"a", "b", "c"};
    int n;
    const char *const *mine = dist_inputs(paths, 3, &n);
    CHECK_TRUE(mine == paths && n == 3, "one rank reads every file");
    mine = dist_inputs(paths, 0, &n);
    CHECK_EQ_INT(n, 0, "one rank may read stdin (no files)");
    size_t len[1], total;
    char *all = dist_gather_bytes("xyz", 3, len, &total);
    CHECK_TRUE(total == 3 && len[0] == 3 && memcmp(all, "xyz", 3) == 0,
               "gathering one rank's bytes copies them");
    free(all);
    size_t lo, hi;
    dist_block(10, &lo, &hi);
    CHECK_TRUE(lo == 0 && hi == 10, "one rank's block is everything");
}

static void ranges(void)
{
    int bad = 0;
    for (int P = 1; P <= 7; P++)
        for (size_t n = 0; n <= 30; n++) {
            size_t prev = 0;
            for (int r = 0; r < P; r++) {
                size_t lo, hi;
                dist_range(n, r, P, &lo, &hi);
                /* contiguous, in rank order, sizes n / P or n / P + 1 */
                if (lo != prev || hi < lo || hi - lo < n / P || hi - lo > n / P + 1)
                    bad++;
                prev = hi;
            }
            if (prev != n)
                bad++;
        }
    CHECK_EQ_INT(bad, 0, "dist_range: P blocks tile [0, n) in order, sizes within 1");
    size_t lo, hi;
    dist_range(5, 1, 2, &lo, &hi);
    CHECK_TRUE(lo == 2 && hi == 5, "5 files on 2 ranks: rank 1 reads files 2 to 4");
}

static void row_blocks(void)
{
    /* 6 rows of 10, 0, 0, 10, 1, 9 entries: 30 entries + 6 rows = 36 */
    uint64_t p[] = {0, 10, 10, 10, 20, 21, 30};
    size_t *b = cf_rank_blocks(p, 6, 3);
    /* cut before the first row whose preceding entries plus rows reach 12,
     * then 24: rows 0-1, 2-3 and 4-5 cost 12 each */
    CHECK_TRUE(b[0] == 0 && b[1] == 2 && b[2] == 4 && b[3] == 6,
               "cf_rank_blocks: 3 blocks of about equal entries plus rows");
    free(b);
    b = cf_rank_blocks(p, 6, 1);
    CHECK_TRUE(b[0] == 0 && b[1] == 6, "cf_rank_blocks: one rank has every row");
    free(b);
    uint64_t none[] = {0};
    b = cf_rank_blocks(none, 0, 4);
    CHECK_TRUE(b[0] == 0 && b[2] == 0 && b[4] == 0, "cf_rank_blocks: no rows, empty blocks");
    free(b);
    /* more ranks than rows: every row in one block, blocks contiguous */
    b = cf_rank_blocks(p, 2, 4);
    int ok = b[0] == 0 && b[4] == 2;
    for (int r = 0; r < 4; r++)
        ok &= b[r] <= b[r + 1];
    CHECK_TRUE(ok, "cf_rank_blocks: more ranks than rows");
    free(b);
}

int main(void)
{
    one_process();
    ranges();
    row_blocks();
    return check_done();
}
