/* Feature scaling: quantiles, the standard and robust statistics against
 * direct computations, and the stats stream written and read back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "rng.h"
#include "scaling.h"

static void test_quantile(void)
{
    const double v[] = {1, 2, 3, 4};
    CHECK_NEAR(sc_quantile(v, 4, 0.5), 2.5, 1e-15, "quantile: median of 1..4 is 2.5");
    CHECK_NEAR(sc_quantile(v, 4, 0.25), 1.75, 1e-15, "quantile: q25 of 1..4 is 1.75 (numpy)");
    CHECK_NEAR(sc_quantile(v, 4, 0.75), 3.25, 1e-15, "quantile: q75 of 1..4 is 3.25 (numpy)");
    CHECK_NEAR(sc_quantile(v, 1, 0.75), 1, 1e-15, "quantile: one value");
}

static void test_fit(void)
{
    char path[] = "/tmp/test_scaling.XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    const char *names[] = {"a", "b", "c"};
    struct rng r;
    rng_init(&r, 1);
    for (int m = 0; m < 2; m++) {
        sc_fit *f = sc_fit_new(3, names, (enum sc_method)m, 7);
        enum { N = 1001 };
        static double col[3][N];
        for (int i = 0; i < N; i++) {
            double x[3] = {rng_normal(&r) * 3 + 10, (double)i, 5};
            sc_fit_add(f, x);
            for (int k = 0; k < 3; k++)
                col[k][i] = x[k];
        }
        ws *w = ws_open(path, 0);
        sc_fit_write(f, w, "users");
        sc_fit_free(f);
        struct sc_stats s;
        sc_load(&s, path);
        CHECK_TRUE(s.n == 3 && strcmp(s.method, sc_method_names[m]) == 0 && strcmp(s.view, "users") == 0,
                   m ? "robust: read back" : "standard: read back");
        double mean = 0, ss = 0;
        for (int i = 0; i < N; i++)
            mean += col[0][i];
        mean /= N;
        for (int i = 0; i < N; i++)
            ss += (col[0][i] - mean) * (col[0][i] - mean);
        if (m == 0) {
            CHECK_NEAR(s.centre[0], mean, 1e-12, "standard: the mean");
            CHECK_NEAR(s.scale[0], sqrt(ss / N), 1e-12, "standard: the population sd");
        } else {
            CHECK_NEAR(s.centre[1], 500, 1e-12, "robust: the median of 0..1000");
            CHECK_NEAR(s.scale[1], 500, 1e-12, "robust: the IQR of 0..1000");
        }
        CHECK_TRUE(s.centre[2] == 5 && s.scale[2] == 1, "a constant feature: scale 1");
        double x[3] = {s.centre[0] + s.scale[0], 0, 5};
        const char *order[] = {"c", "a", "b"};
        sc_match(&s, path, 3, order);
        double y[3] = {x[2], x[0], x[1]};
        sc_apply(&s, y);
        CHECK_NEAR(y[1], 1, 1e-12, "apply: one scale above the centre is 1, after reordering");
        CHECK_NEAR(y[0], 0, 1e-12, "apply: the constant is 0");
        sc_release(&s);
    }
    unlink(path);
}

int main(void)
{
    test_quantile();
    test_fit();
    return check_done();
}
