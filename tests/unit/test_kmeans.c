/* test_kmeans: the k-means module against plain reference computations:
 * our distance kernel against la_naive_dgemm (the same bits) and OpenBLAS
 * on random shapes, assignment (with planted near-ties) against brute
 * force, the same fit on any number of threads, with our kernel and with
 * the BLAS twin, and k-means++ with and without its pruning, silhouette against
 * its definition, moments, the mini-batch update, renumbering, and a model
 * saved and loaded back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "kmeans.h"
#include "linalg.h"
#include "rng.h"
#include "xalloc.h"

static struct rng R;

/* n rows of d columns around k centres spaced `gap` apart, noise sd 1. */
static double *blobs(size_t n, int d, int k, double gap, int *truth)
{
    double *x = xcalloc(n * d, sizeof *x);
    double centre[(size_t)k * d];
    for (int c = 0; c < k; c++)
        for (int j = 0; j < d; j++)
            centre[(size_t)c * d + j] = gap * rng_normal(&R);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % (size_t)k);
        if (truth)
            truth[i] = c;
        for (int j = 0; j < d; j++)
            x[i * d + j] = centre[(size_t)c * d + j] + rng_normal(&R);
    }
    return x;
}

static double sqn(const double *v, int d)
{
    double s = 0;
    for (int j = 0; j < d; j++)
        s += v[j] * v[j];
    return s;
}

/* km_dots on random shapes, with and without a row list: bit for bit the
 * naive dgemm (the same order of operations), and OpenBLAS to rounding. */
static void test_dots(void)
{
    static const int ks[] = {1, 3, 4, 5, 8, 9, 12, 13, 16, 17, 31};
    static const int ds[] = {1, 2, 7, 32, 65};
    size_t bad_bits = 0, bad_blas = 0, bad_rows = 0, cases = 0;
    for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
        for (size_t b = 0; b < sizeof ds / sizeof *ds; b++) {
            int k = ks[a], d = ds[b];
            size_t n = 1 + rng_below(&R, 70);
            double *x = xcalloc(n * d, sizeof *x), *cent = xcalloc((size_t)k * d, sizeof *cent);
            for (size_t i = 0; i < n * d; i++)
                x[i] = 10 * rng_normal(&R);
            for (int i = 0; i < k * d; i++)
                cent[i] = 10 * rng_normal(&R);
            double *pk = xcalloc(km_pack_size(k, d), sizeof *pk);
            km_pack(pk, cent, k, d);
            size_t ldg = km_dots_stride(k);
            double *g = xcalloc(n * ldg, sizeof *g), *ref = xcalloc(n * k, sizeof *ref);
            double *blas = xcalloc(n * k, sizeof *blas);
            CHECK_TRUE(km_dots(g, x, NULL, n, d, cent, pk, k) == ldg && ldg >= (size_t)k,
                       "km_dots returns its stride");
            la_naive_dgemm(ref, x, cent, (int)n, k, d, false, true, 1.0, 0.0);
            la_dgemm(blas, x, cent, (int)n, k, d, false, true, 1.0, 0.0);
            for (size_t i = 0; i < n; i++)
                for (int c = 0; c < k; c++) {
                    double v = g[i * ldg + c], r = ref[(size_t)i * k + c];
                    bad_bits += memcmp(&v, &r, sizeof v) != 0;
                    bad_blas += fabs(v - blas[(size_t)i * k + c]) > 1e-12 * (100 * d + fabs(r));
                }
            /* a row list: every other row, backwards */
            uint32_t rows[70];
            size_t nr = 0;
            for (size_t i = n; i-- > 0;)
                if (i % 2 == 0)
                    rows[nr++] = (uint32_t)i;
            km_dots(g, x, rows, nr, d, cent, pk, k);
            for (size_t r = 0; r < nr; r++)
                bad_rows += memcmp(g + r * ldg, ref + (size_t)rows[r] * k,
                                   (size_t)k * sizeof *g) != 0;
            km_set_kernel(KM_KERNEL_BLAS);
            CHECK_TRUE(km_dots(g, x, rows, nr, d, cent, NULL, k) == (size_t)k,
                       "the BLAS twin's stride is k");
            for (size_t r = 0; r < nr; r++)
                for (int c = 0; c < k; c++)
                    bad_rows += fabs(g[r * k + c] - ref[(size_t)rows[r] * k + c]) >
                                1e-12 * (100 * d + fabs(ref[(size_t)rows[r] * k + c]));
            km_set_kernel(KM_KERNEL_OWN);
            free(x);
            free(cent);
            free(pk);
            free(g);
            free(ref);
            free(blas);
            cases++;
        }
    CHECK_EQ_INT(bad_bits, 0, "our kernel gives the naive dgemm's bits (55 shapes)");
    CHECK_EQ_INT(bad_blas, 0, "our kernel agrees with OpenBLAS to rounding");
    CHECK_EQ_INT(bad_rows, 0, "a row list picks the rows, in both kernels");
    CHECK_EQ_INT(cases, 55, "every shape ran");
}

/* Greedy k-means++ as written in the paper: exact distances of every row
 * to every candidate, running sums over all rows; the same random draws
 * as km_seed_plusplus. */
static void seed_ref(double *cent, const double *x, size_t n, int d, int k, uint64_t seed)
{
    struct rng r;
    rng_init(&r, seed);
    int trials = 2 + (int)log((double)k);
    double *cl = xcalloc(n, sizeof *cl), *tmp = xcalloc(n * trials, sizeof *tmp), total = 0;
    size_t first = rng_below(&r, n);
    memcpy(cent, x + first * d, (size_t)d * sizeof *cent);
    for (size_t i = 0; i < n; i++)
        total += cl[i] = km_dist2(x + i * d, cent, d);
    for (int c = 1; c < k; c++) {
        double rv[trials], pot[trials];
        size_t idx[trials];
        for (int t = 0; t < trials; t++)
            rv[t] = rng_uniform(&r) * total;
        int best = 0;
        for (int t = 0; t < trials; t++) {
            double run = 0;
            idx[t] = n - 1;
            for (size_t i = 0; i < n; i++)
                if ((run += cl[i]) >= rv[t]) {
                    idx[t] = i;
                    break;
                }
            pot[t] = 0;
            for (size_t i = 0; i < n; i++) {
                double v = km_dist2(x + i * d, x + idx[t] * d, d);
                pot[t] += tmp[t * n + i] = v < cl[i] ? v : cl[i];
            }
            if (pot[t] < pot[best])
                best = t;
        }
        memcpy(cl, tmp + best * n, n * sizeof *cl);
        total = pot[best];
        memcpy(cent + (size_t)c * d, x + idx[best] * d, (size_t)d * sizeof *cent);
    }
    free(cl);
    free(tmp);
}

/* km_seed_plusplus (blocked products, the triangle-inequality pruning,
 * task sums) picks the rows the plain version picks, on any threads. */
static void test_seed_prune(void)
{
    size_t n = 40000;
    int d = 5, k = 12;
    double *x = blobs(n, d, k, 4, NULL);
    double *xn = xcalloc(n, sizeof *xn);
    for (size_t i = 0; i < n; i++)
        xn[i] = sqn(x + i * d, d);
    double ref[(size_t)k * d], got[(size_t)k * d];
    int same = 0;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        seed_ref(ref, x, n, d, k, seed);
        km_set_threads((int)seed);
        km_seed_plusplus(got, x, xn, n, d, k, seed);
        same += memcmp(ref, got, sizeof ref) == 0;
    }
    km_set_threads(1);
    CHECK_EQ_INT(same, 4, "pruned k-means++ seeds as the plain algorithm does (4 seeds)");
    free(x);
    free(xn);
}

static void test_assign(void)
{
    size_t n = 3000;
    int d = 7, k = 9;
    double *x = blobs(n, d, k, 3, NULL);
    double cent[(size_t)k * d], cn[k];
    for (int c = 0; c < k; c++)
        memcpy(cent + (size_t)c * d, x + (size_t)(c * 17) * d, (size_t)d * sizeof *cent);
    /* planted ties: rows exactly between two centroids, and rows equal to a
     * centroid that appears twice */
    memcpy(cent + 8 * (size_t)d, cent + 3 * (size_t)d, (size_t)d * sizeof *cent);
    for (int j = 0; j < d; j++)
        x[5 * d + j] = (cent[j] + cent[d + j]) / 2;
    memcpy(x + 6 * (size_t)d, cent + 3 * (size_t)d, (size_t)d * sizeof *x);
    for (int c = 0; c < k; c++)
        cn[c] = sqn(cent + (size_t)c * d, d);
    int *lab = xcalloc(n, sizeof *lab);
    double *dist = xcalloc(n, sizeof *dist), sum = 0, brute = 0;
    double inertia = km_assign(lab, dist, x, NULL, n, d, cent, cn, k);
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        double e;
        int b = km_nearest(x + i * d, d, cent, k, &e);
        wrong += b != lab[i] || e != dist[i];
        sum += dist[i];
        brute += e;
    }
    CHECK_EQ_INT(wrong, 0, "assignment equals exact brute force, near-ties included");
    CHECK_EQ_INT(lab[6], 3, "a tie between equal centroids goes to the lower number");
    CHECK_NEAR(inertia, brute, 1e-12, "inertia is the sum of exact distances");
    km_set_kernel(KM_KERNEL_BLAS);
    int *lab2 = xcalloc(n, sizeof *lab2);
    km_assign(lab2, dist, x, NULL, n, d, cent, cn, k);
    CHECK_TRUE(memcmp(lab, lab2, n * sizeof *lab) == 0, "the BLAS twin gives the same labels");
    la_set_backend(LA_NAIVE);
    km_assign(lab2, dist, x, NULL, n, d, cent, cn, k);
    la_set_backend(LA_BLAS);
    km_set_kernel(KM_KERNEL_OWN);
    CHECK_TRUE(memcmp(lab, lab2, n * sizeof *lab) == 0,
               "the BLAS twin on plain loops gives the same labels");
    free(x);
    free(lab);
    free(lab2);
    free(dist);
}

static void init_model(struct km_model *m, int k, int d)
{
    char *fields[] = {"v[]"};
    int widths[] = {d};
    char names[16][8], *features[16];
    for (int j = 0; j < d; j++) {
        snprintf(names[j], sizeof names[j], "v[%d]", j);
        features[j] = names[j];
    }
    km_init(m, k, fields, widths, 1, features, d);
}

/* Fit with t threads with the kernel and BLAS backend given; the model
 * and the labels. */
static void fit_with(struct km_model *m, int *lab, const double *x, size_t n, int d, int k,
                     int threads, enum km_kernel kern, enum la_backend be)
{
    km_set_threads(threads);
    km_set_kernel(kern);
    la_set_backend(be);
    init_model(m, k, d);
    struct km_data dt;
    km_data_init(&dt, x, n, d);
    struct km_opts o = {.n_init = 2, .max_iter = 100, .tol = 1e-4, .seed = 42};
    km_fit(m, &dt, &o);
    memcpy(lab, dt.label, n * sizeof *lab);
    km_data_release(&dt);
    la_set_backend(LA_BLAS);
    km_set_kernel(KM_KERNEL_OWN);
    km_set_threads(1);
}

static bool same_model(const struct km_model *a, const struct km_model *b)
{
    size_t kd = (size_t)a->k * a->d;
    return a->k == b->k && memcmp(a->cent, b->cent, kd * sizeof *a->cent) == 0 &&
           memcmp(a->size, b->size, (size_t)a->k * sizeof *a->size) == 0 &&
           memcmp(&a->inertia, &b->inertia, sizeof a->inertia) == 0 &&
           a->iterations == b->iterations;
}

static void test_fit(void)
{
    size_t n = 20000;
    int d = 6, k = 5;
    int *truth = xcalloc(n, sizeof *truth);
    double *x = blobs(n, d, k, 8, truth);
    struct km_model m1, m2, m3, m4;
    int *l1 = xcalloc(n, sizeof *l1), *l2 = xcalloc(n, sizeof *l2), *l3 = xcalloc(n, sizeof *l3);
    int *l4 = xcalloc(n, sizeof *l4);
    fit_with(&m1, l1, x, n, d, k, 1, KM_KERNEL_OWN, LA_BLAS);
    fit_with(&m2, l2, x, n, d, k, 4, KM_KERNEL_OWN, LA_BLAS);
    fit_with(&m3, l3, x, n, d, k, 3, KM_KERNEL_BLAS, LA_NAIVE);
    fit_with(&m4, l4, x, n, d, k, 2, KM_KERNEL_BLAS, LA_BLAS);
    CHECK_TRUE(same_model(&m1, &m2) && memcmp(l1, l2, n * sizeof *l1) == 0,
               "1 and 4 threads give the same bits");
    CHECK_TRUE(same_model(&m1, &m3) && memcmp(l1, l3, n * sizeof *l1) == 0,
               "the BLAS twin on plain loops gives our kernel's bits");
    CHECK_TRUE(memcmp(l1, l4, n * sizeof *l1) == 0 && m1.iterations == m4.iterations,
               "the BLAS twin on OpenBLAS gives the same segments");
    /* well separated blobs: each cluster is exactly one blob */
    int map[k];
    for (int c = 0; c < k; c++)
        map[c] = -1;
    size_t mismatch = 0;
    for (size_t i = 0; i < n; i++) {
        if (map[truth[i]] < 0)
            map[truth[i]] = l1[i];
        mismatch += map[truth[i]] != l1[i];
    }
    CHECK_EQ_INT(mismatch, 0, "separated blobs are recovered exactly");
    bool sorted = true;
    uint64_t total = 0;
    for (int c = 0; c < k; c++) {
        sorted &= c == 0 || m1.size[c] <= m1.size[c - 1];
        total += m1.size[c];
    }
    CHECK_TRUE(sorted && total == n, "sizes sum to n, largest first");
    /* the centroids are the means of their clusters (Lloyd's fixed point) */
    double worst = 0;
    for (int c = 0; c < k; c++)
        for (int j = 0; j < d; j++) {
            double s = 0, cnt = 0;
            for (size_t i = 0; i < n; i++)
                if (l1[i] == c) {
                    s += x[i * d + j];
                    cnt++;
                }
            worst = fmax(worst, fabs(s / cnt - m1.cent[(size_t)c * d + j]));
        }
    CHECK_NEAR(worst, 0, 1e-9, "each centroid is the mean of its rows");
    double brute = 0;
    for (size_t i = 0; i < n; i++) {
        double e;
        km_nearest(x + i * d, d, m1.cent, k, &e);
        brute += e;
    }
    CHECK_NEAR(m1.inertia, brute, 1e-9, "inertia matches a brute-force recount");
    km_release(&m1);
    km_release(&m2);
    km_release(&m3);
    km_release(&m4);
    free(x);
    free(truth);
    free(l1);
    free(l2);
    free(l3);
    free(l4);
}

/* The silhouette by its definition, O(n^2) per row. */
static double silhouette_ref(const double *x, size_t n, int d, const int *lab, int k)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        double sum[k], cnt[k];
        for (int c = 0; c < k; c++)
            sum[c] = cnt[c] = 0;
        for (size_t j = 0; j < n; j++) {
            cnt[lab[j]] += 1;
            if (j != i)
                sum[lab[j]] += sqrt(km_dist2(x + i * d, x + j * d, d));
        }
        if (cnt[lab[i]] < 2)
            continue;
        double a = sum[lab[i]] / (cnt[lab[i]] - 1), b = INFINITY;
        for (int c = 0; c < k; c++)
            if (c != lab[i] && cnt[c] > 0)
                b = fmin(b, sum[c] / cnt[c]);
        total += (b - a) / fmax(a, b);
    }
    return total / (double)n;
}

static void test_silhouette(void)
{
    size_t n = 300;
    int d = 3;
    double *x = blobs(n, d, 4, 2, NULL);
    int *l3 = xcalloc(n, sizeof *l3), *l4 = xcalloc(n, sizeof *l4);
    for (size_t i = 0; i < n; i++) {
        l3[i] = (int)(i % 3);
        l4[i] = (int)(i % 4);
    }
    l3[0] = 2;   /* a cluster of one in l4 below */
    l4[7] = 3;
    for (size_t i = 0; i < n; i++)
        if (l4[i] == 3 && i != 7)
            l4[i] = 2;
    int *labs[] = {l3, l4};
    int ks[] = {3, 4};
    double got[2];
    km_set_threads(3);
    km_silhouette(got, x, n, d, labs, ks, 2);
    km_set_threads(1);
    CHECK_NEAR(got[0], silhouette_ref(x, n, d, l3, 3), 1e-12, "silhouette matches its definition");
    CHECK_NEAR(got[1], silhouette_ref(x, n, d, l4, 4), 1e-12, "a singleton cluster scores 0");
    free(x);
    free(l3);
    free(l4);
}

static void test_moments(void)
{
    int d = 2;
    double x[] = {1, 10, 2, 20, 4, 40, 8, 80, 16, 160};
    struct km_moments a, b, all;
    km_moments_init(&a, d);
    km_moments_init(&b, d);
    km_moments_init(&all, d);
    for (int i = 0; i < 5; i++) {
        km_moments_add(i < 2 ? &a : &b, x + 2 * i);
        km_moments_add(&all, x + 2 * i);
    }
    km_moments_merge(&a, &b);
    CHECK_NEAR(a.mean[0], 6.2, 1e-12, "merged mean");
    CHECK_NEAR(a.m2[1] / a.count, all.m2[1] / all.count, 1e-12, "merged variance equals one pass");
    CHECK_NEAR(all.m2[0] / 5, 29.76, 1e-12, "population variance");
    km_moments_release(&a);
    km_moments_release(&b);
    km_moments_release(&all);

    struct km_model m;
    init_model(&m, 1, 2);
    km_scaling_fit(&m, KM_ROBUST, x, 5);
    CHECK_NEAR(m.center[0], 4, 0, "robust center is the median");
    CHECK_NEAR(m.scale[1], 60, 1e-12, "robust scale is the interquartile range (80 - 20)");
    km_scaling_fit(&m, KM_STANDARD, x, 5);
    CHECK_NEAR(m.scale[0], sqrt(29.76), 1e-12, "standard scale is the population sd");
    double row[] = {6.2, 62};
    km_scale_rows(&m, row, 1);
    CHECK_NEAR(row[0], 0, 1e-12, "scaled mean is 0");
    km_release(&m);
}

static void test_minibatch(void)
{
    /* one batch holding everything, counts at zero: a Lloyd update */
    double x[] = {0, 0, 2, 0, 10, 10, 12, 10, 11, 13};
    double cent[] = {1, 1, 9, 9}, counts[2] = {0, 0};
    int lab[5];
    double dist[5];
    km_minibatch_step(cent, counts, x, 5, 2, 2, lab, dist);
    CHECK_NEAR(cent[0], 1, 1e-12, "first centroid moves to its mean");
    CHECK_NEAR(cent[3], 11, 1e-12, "second centroid moves to its mean");
    CHECK_EQ_INT(counts[1], 3, "counts grow by the batch");
    /* a second batch moves a centroid by 1/count of the way */
    double y[] = {14, 11};
    km_minibatch_step(cent, counts, y, 1, 2, 2, lab, dist);
    CHECK_NEAR(cent[2], (11.0 * 3 + 14) / 4, 1e-12, "step 1/count toward the new row");
}

static void test_save_load(void)
{
    char path[] = "/tmp/test_kmeans.XXXXXX";
    int fd = mkstemp(path);
    CHECK_TRUE(fd >= 0, "temp file");
    close(fd);
    size_t n = 500;
    int d = 4, k = 3;
    double *x = blobs(n, d, k, 5, NULL);
    struct km_model m, back;
    init_model(&m, k, d);
    km_scaling_fit(&m, KM_STANDARD, x, n);
    km_scale_rows(&m, x, n);
    struct km_data dt;
    km_data_init(&dt, x, n, d);
    struct km_opts o = {.n_init = 1, .max_iter = 50, .tol = 0, .seed = 3};
    km_fit(&m, &dt, &o);
    ws *w = ws_open(path, 1);
    ws_header(w, KM_KIND);
    km_save(&m, w);
    ws_close(w);
    const char *paths[] = {path};
    rs *r = rs_open(paths, 1, KM_KIND);
    km_load(&back, r);
    rs_free(r);
    CHECK_TRUE(same_model(&m, &back), "a saved model loads back the same");
    CHECK_TRUE(memcmp(m.center, back.center, (size_t)d * sizeof *m.center) == 0 &&
               memcmp(m.scale, back.scale, (size_t)d * sizeof *m.scale) == 0,
               "the scaling loads back the same");
    CHECK_EQ_STR(back.features[3], "v[3]", "feature names");
    CHECK_EQ_INT(back.field_width[0], d, "array width");
    /* renumbering by size keeps each row with its centroid */
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        double e;
        moved += km_nearest(x + i * d, d, back.cent, k, &e) != dt.label[i];
    }
    CHECK_EQ_INT(moved, 0, "the loaded model assigns every row as training did");
    km_data_release(&dt);
    km_release(&m);
    km_release(&back);
    free(x);
    unlink(path);
}

int main(void)
{
    diag_init("test_kmeans");
    rng_init(&R, 12345);
    test_dots();
    test_seed_prune();
    test_assign();
    test_fit();
    test_silhouette();
    test_moments();
    test_minibatch();
    test_save_load();
    return check_done();
}
