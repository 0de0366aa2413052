/* cnn_gen: the data of bench/cnn.sh.  N behaviour sequences of length L
 * with a known label rule, seeded, written twice: as a promoloop stream of
 * kind "sequences" (what promo-featurize --view sequences writes: "ev",
 * "cat", "price_b", "gap_b" left-padded token arrays, "len", "label") and
 * as NumPy .npy files for the PyTorch peer (PREFIX.tok.npy int16
 * [N][4][L], PREFIX.len.npy int32 [N], PREFIX.label.npy float32 [N]).
 *
 * The rule: a user's logit is
 *   -2.2
 *   + 2.0 if a cart (ev 4) is followed at once by a view (ev 2) within a
 *         short gap (gap_b <= 3) anywhere in the sequence
 *   + 1.5 x the share of the last 10 events in categories 2..11
 *   + 0.8 if the last event's price bucket is at most 6
 *   - 1.0 if the sequence has fewer than 10 events
 * and the label is drawn from the logistic of it, so no model can reach an
 * AUC of 1; the CNN must find an ordered pair, a recent share and the
 * last position.
 *
 * Usage: cnn_gen N SEED PREFIX   (writes PREFIX.mpz and the .npy files;
 * stderr gets the share of positives and the AUC of the rule's own
 * logit, the ceiling of any model) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cnn_fit.h"
#include "diag.h"
#include "rng.h"
#include "stream.h"

#define L 50
enum { NCAT = 100, NPRICE = 17, NGAP = 11 };

static FILE *npy_open(const char *path, const char *descr, const char *shape)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die_errno("%s", path);
    char h[128];
    int n = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
                     shape);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned short hl = (unsigned short)(n + pad + 1);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(h, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    return f;
}

static void npy_close(FILE *f, const char *path)
{
    if (ferror(f) || fclose(f) != 0)
        die_errno("%s", path);
}

static int ev_draw(struct rng *r)
{
    double u = rng_uniform(r);
    return u < 0.70 ? 2 : u < 0.75 ? 3 : u < 0.90 ? 4 : 5;
}

static int cat_draw(struct rng *r)
{
    /* a long tail: category 2 + floor(98 u^2) */
    double u = rng_uniform(r);
    return 2 + (int)(98 * u * u);
}

int main(int argc, char **argv)
{
    diag_init("cnn_gen");
    if (argc != 4)
        die_usage("usage: cnn_gen N SEED PREFIX");
    long long n = cli_int("N", argv[1], 1, 100000000);
    uint64_t seed = (uint64_t)cli_int("SEED", argv[2], 0, INT64_MAX);
    const char *prefix = argv[3];
    char path[4096];

    snprintf(path, sizeof path, "%s.mpz", prefix);
    ws *w = ws_open(path, 1);
    ws_opt_int(w, "length", L);
    ws_opt_int(w, "ev_size", 6);
    ws_opt_int(w, "cat_size", NCAT);
    ws_opt_int(w, "price_b_size", NPRICE);
    ws_opt_int(w, "gap_b_size", NGAP);
    ws_opt_int(w, "seed", (int64_t)seed);
    ws_opt_str(w, "rule", "bench/cnn_gen.c");
    ws_header(w, "sequences");

    char shape[64], tpath[4096], lpath[4096], ypath[4096];
    snprintf(tpath, sizeof tpath, "%s.tok.npy", prefix);
    snprintf(lpath, sizeof lpath, "%s.len.npy", prefix);
    snprintf(ypath, sizeof ypath, "%s.label.npy", prefix);
    snprintf(shape, sizeof shape, "(%lld, 4, %d)", n, L);
    FILE *ft = npy_open(tpath, "<i2", shape);
    snprintf(shape, sizeof shape, "(%lld,)", n);
    FILE *fl = npy_open(lpath, "<i4", shape);
    FILE *fy = npy_open(ypath, "<f4", shape);

    struct rng base, r;
    rng_init(&base, seed);
    long long npos = 0;
    float *logit = calloc((size_t)n, sizeof *logit);
    uint8_t *lab = calloc((size_t)n, 1);
    if (!logit || !lab)
        die("out of memory for %lld sequences", n);
    for (long long u = 0; u < n; u++) {
        rng_split(&r, &base, (uint64_t)u);
        int tok[4][L];
        memset(tok, 0, sizeof tok);
        int len = 1 + (int)rng_below(&r, L);
        for (int t = L - len; t < L; t++) {
            tok[0][t] = ev_draw(&r);
            tok[1][t] = cat_draw(&r);
            tok[2][t] = 2 + (int)rng_below(&r, NPRICE - 2);
            tok[3][t] = t == L - len ? 1 : 2 + (int)rng_below(&r, NGAP - 2);
        }
        double z = -2.2;
        bool pair = false;
        for (int t = L - len; t + 1 < L; t++)
            pair = pair || (tok[0][t] == 4 && tok[0][t + 1] == 2 && tok[3][t + 1] <= 3);
        z += pair ? 2.0 : 0;
        int recent = len < 10 ? len : 10, inset = 0;
        for (int t = L - recent; t < L; t++)
            inset += tok[1][t] <= 11;
        z += 1.5 * inset / recent;
        z += tok[2][L - 1] <= 6 ? 0.8 : 0;
        z -= len < 10 ? 1.0 : 0;
        int label = rng_uniform(&r) < 1 / (1 + exp(-z));
        npos += label;
        logit[u] = (float)z;
        lab[u] = (uint8_t)label;

        msgpack_packer *pk = ws_pk(w);
        static const char *const names[4] = {"ev", "cat", "price_b", "gap_b"};
        msgpack_pack_map(pk, 7);
        mp_pack_str(pk, "user");
        msgpack_pack_int64(pk, u + 1);
        for (int f = 0; f < 4; f++) {
            mp_pack_str(pk, names[f]);
            msgpack_pack_array(pk, L);
            for (int t = 0; t < L; t++)
                msgpack_pack_int32(pk, tok[f][t]);
        }
        mp_pack_str(pk, "len");
        msgpack_pack_int32(pk, len);
        mp_pack_str(pk, "label");
        msgpack_pack_int32(pk, label);
        ws_end(w);

        short ts[4][L];
        for (int f = 0; f < 4; f++)
            for (int t = 0; t < L; t++)
                ts[f][t] = (short)tok[f][t];
        float y = (float)label;
        fwrite(ts, sizeof ts, 1, ft);
        fwrite(&len, sizeof len, 1, fl);
        fwrite(&y, sizeof y, 1, fy);
    }
    ws_close(w);
    npy_close(ft, tpath);
    npy_close(fl, lpath);
    npy_close(fy, ypath);
    /* the AUC of the rule's own logit: what a perfect model would reach */
    fprintf(stderr, "cnn_gen: %lld sequences, %.1f%% positive, rule AUC %.4f\n", n,
            100.0 * npos / n, cnn_auc(logit, lab, (size_t)n));
    free(logit);
    free(lab);
    return 0;
}
