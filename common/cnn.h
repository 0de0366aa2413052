/* cnn: the convolutional purchase-intent model of promo-train-cnn, applied
 * by promo-score (kind "model/cnn").  docs/train-cnn.md draws it with its
 * shapes; in short, for a batch of B sequences of L positions:
 *
 *   tokens [B][L] per field -> embeddings, concatenated   x   [B][L][E]
 *   per kernel width w: im2col (causal: the window ends at each position,
 *     zeros before the start)                             col [B*L][w*E]
 *     sgemm with the filters, + bias, ReLU                z   [B*L][F]
 *     max and/or mean over the valid positions            -> F or 2F values
 *   pooled values of every width, then the numeric
 *     features                                            h0  [B][D0]
 *   dense hidden layers: sgemm, + bias, ReLU, dropout     a_l [B][H_l]
 *   output layer: sgemm, + bias, sigmoid                  p   [B]
 *
 * A position t of a row with len real tokens is valid when t >= L - len
 * (the window ends on a real token); pooling reads only valid positions.
 *
 * The convolution stage works a chunk of a few examples at a time, so that
 * its im2col buffer stays in cache, and worker threads (cnn_pool.h) share
 * the chunks in a fixed assignment, each adding into its own gradients;
 * those are summed in worker order.  The dense layers run on one thread.
 *
 * The model is one struct with one contiguous parameter block carved into
 * named tensors (struct cnn_tensor, in a fixed order), and, for training,
 * gradients and Adam's two moments beside it in blocks of the same layout.
 * Kernels are plain functions: outputs, inputs, weights, sizes; forward
 * and backward side by side; backward accumulates into gradients with +=
 * (exceptions say so).  Every product goes through la_sgemm.
 *
 * Ownership: the model owns its blocks and the scaling arrays; cnn_release
 * frees them.  struct cnn_acts owns the activations of one batch size. */
#ifndef PROMO_CNN_H
#define PROMO_CNN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnn_fit.h"
#include "rng.h"
#include "score.h"
#include "stream.h"

#define CNN_KIND "model/cnn"
#define CNN_FORMAT 1           /* the model record's layout version */
#define CNN_MAX_WIDTHS 8
#define CNN_MAX_WIDTH 64       /* widest kernel */
#define CNN_MAX_HIDDEN 2
#define CNN_MAX_THREADS 64
#define CNN_MAX_DENSE (CNN_MAX_HIDDEN + 1)
#define CNN_MAX_TENSORS (CNN_MAX_TOK + 2 * CNN_MAX_WIDTHS + 2 * CNN_MAX_DENSE)

enum { CNN_POOL_MAX = 1, CNN_POOL_MEAN = 2 };

/* The architecture: what the options set. */
struct cnn_config {
    int L;                     /* positions per sequence */
    int ntok;                  /* token fields */
    char tok_name[CNN_MAX_TOK][CNN_NAME_MAX];
    int vocab[CNN_MAX_TOK];    /* embedding rows (id 0 padding, 1 unknown) */
    int dim[CNN_MAX_TOK];      /* embedding width */
    int nwidths;
    int width[CNN_MAX_WIDTHS]; /* kernel widths, distinct */
    int filters;               /* F, per width */
    int pool;                  /* CNN_POOL_MAX | CNN_POOL_MEAN */
    int nnum;                  /* numeric features */
    int nhidden;
    int hidden[CNN_MAX_HIDDEN];
    float dropout;             /* after each hidden layer, training only */
};

/* Pointers into a block laid out by cnn_init; the same struct names the
 * parameters and their gradients. */
struct cnn_tensors {
    float *emb[CNN_MAX_TOK];         /* [vocab_t][dim_t]; row 0 stays zero */
    float *conv_w[CNN_MAX_WIDTHS];   /* [F][w*E]: filter f, window row j, embedding e at [f][j*E + e] */
    float *conv_b[CNN_MAX_WIDTHS];   /* [F] */
    float *dense_w[CNN_MAX_DENSE];   /* [out_l][in_l]; the last is the output layer [1][in] */
    float *dense_b[CNN_MAX_DENSE];   /* [out_l] */
};

struct cnn_model {
    struct cnn_config cfg;
    /* sizes, computed once by cnn_init */
    int E;                     /* sum of the embedding widths */
    int npool;                 /* pooled values per filter: 1 or 2 */
    int D0;                    /* nwidths * npool * F + nnum */
    int ndense;                /* nhidden + 1 */
    int dense_in[CNN_MAX_DENSE], dense_out[CNN_MAX_DENSE];
    struct cnn_tensor tensors[CNN_MAX_TENSORS];
    int ntensors;
    size_t nparams;
    /* parameters: one block */
    float *params;
    struct cnn_tensors p;
    /* training state (cnn_train_alloc): gradients, and Adam's moments in
     * one block of 2 * nparams */
    float *grads;
    struct cnn_tensors g;
    float *adam;
    /* numeric features: names and the training rows' scaling */
    char **num_names;          /* [nnum], one allocation */
    float *num_mean, *num_sd;  /* [nnum] each, one allocation */
};

/* Sizes, names and a zeroed parameter block for the configuration; dies
 * naming the size when it is out of range. */
void cnn_init(struct cnn_model *m, const struct cnn_config *cfg, char *const *num_names);
/* The sizes and the tensor table alone, nothing allocated (nothing to
 * release): cnn_load checks a record against them before allocating. */
void cnn_plan(struct cnn_model *m, const struct cnn_config *cfg);
void cnn_release(struct cnn_model *m);
/* PyTorch's default initialisation: embeddings N(0, 1) (row 0 zero),
 * weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
void cnn_init_weights(struct cnn_model *m, uint64_t seed);
/* Gradients and Adam's moments, zeroed. */
void cnn_train_alloc(struct cnn_model *m);
/* The learner cnn_fit trains (acts: the activations it runs on). */
struct cnn_acts;
void cnn_learner(struct cnn_learner *L, struct cnn_model *m, struct cnn_acts *a);
/* Multiply-adds times two of one example's forward and backward passes
 * (the sgemm work: convolutions and dense layers), for GFLOP/s. */
double cnn_flops_per_example(const struct cnn_model *m, bool backward);

/* ---- activations of one batch size --------------------------------------- */

/* One worker's buffers for its chunks of the convolution stage. */
struct cnn_scratch {
    float *x;                  /* [C][L][E] embeddings */
    float *col;                /* [C*L][w*E] im2col of one width; backward reuses it for dcol */
    float *dx;                 /* [C][L][E] */
    float *dz;                 /* [C*L][F] one width at a time */
    float *grads;              /* workers > 0: their own gradients of the embeddings and
                                * convolutions, added to the model's in worker order */
    struct cnn_tensors g;      /* ... carved like the model's (the prefix only) */
};

struct cnn_pool;

struct cnn_acts {
    struct cnn_model *model;   /* set by cnn_learner (borrowed) */
    int cap;                   /* most examples per batch */
    int chunk;                 /* C: examples per chunk of the convolution stage */
    int nworkers;              /* threads over the chunks (worker w takes chunks w, w+T, ...) */
    bool train;                /* gradient buffers too */
    struct cnn_pool *pool;     /* NULL with one worker */
    struct cnn_scratch w[CNN_MAX_THREADS];
    float *z[CNN_MAX_WIDTHS];  /* [B*L][F] conv outputs after ReLU, the whole batch */
    int *arg[CNN_MAX_WIDTHS];  /* [B][F] argmax position of the max pool (-1: none) */
    float *h0;                 /* [B][D0] pooled values and numeric features */
    float *a[CNN_MAX_DENSE];   /* [B][out_l] layer outputs (after ReLU and dropout); the last: logits */
    float *mask[CNN_MAX_HIDDEN]; /* [B][H_l] dropout multipliers (0 or 1/(1-p)) */
    float *prob;               /* [B] */
    float *dh0;                /* [B][D0] */
    float *da[CNN_MAX_DENSE];  /* [B][out_l] */
    float *block;              /* everything above, one allocation */
    int *iblock;
};
/* Activations for batches of up to cap examples; threads workers share
 * the convolution stage (the model's bytes depend on their number, never
 * on their timing).  OpenBLAS should run single-threaded inside them. */
void cnn_acts_init(struct cnn_acts *a, const struct cnn_model *m, int cap, int threads,
                   bool train);
/* The same with a given chunk size (for tests of several chunks). */
void cnn_acts_init_chunk(struct cnn_acts *a, const struct cnn_model *m, int cap, int threads,
                         int chunk, bool train);
void cnn_acts_release(struct cnn_acts *a);

/* The forward pass: a->prob for the batch, and the summed loss (positives
 * weighted by pos_weight) when b->y is set.  train: dropout on, drawn from
 * r. */
double cnn_forward(struct cnn_model *m, struct cnn_acts *a, const struct cnn_batch *b, bool train,
                   float pos_weight, struct rng *r);
/* The backward pass after cnn_forward(train): gradients of scale times
 * the summed loss accumulated into m->grads. */
void cnn_backward(struct cnn_model *m, struct cnn_acts *a, const struct cnn_batch *b,
                  float pos_weight, float scale);

/* ---- kernels ------------------------------------------------------------- */

/* Embedding lookup of n tokens into rows of x of stride E, at column off:
 * x[i][off + d] = table[tok[i]][d].  Every id must be < vocab. */
void cnn_embed_forward(float *x, const uint32_t *tok, const float *table, int n, int vocab,
                       int dim, int E, int off);
/* dtable[tok[i]] += dx[i][off ..]; id 0 (padding) gets no gradient. */
void cnn_embed_backward(float *dtable, const float *dx, const uint32_t *tok, int n, int dim,
                        int E, int off);

/* Causal im2col: col[b*L + t][j*E + e] = x[b][t - w + 1 + j][e], zero
 * where t - w + 1 + j < 0. */
void cnn_im2col(float *col, const float *x, int B, int L, int E, int w);
/* Its adjoint: dx[b][t - w + 1 + j][e] += dcol[b*L + t][j*E + e]. */
void cnn_col2im(float *dx, const float *dcol, int B, int L, int E, int w);

/* z[M][F] = col[M][K] W[F][K]^T + bias. */
void cnn_conv_forward(float *z, const float *col, const float *w, const float *bias, int M, int F,
                      int K);
/* dw += dz^T col, dbias += column sums of dz, then dcol = dz W.  dcol is
 * written, not accumulated: it is scratch for cnn_col2im, and may be the
 * forward's col buffer (col is read first, for dw). */
void cnn_conv_backward(float *dcol, float *dw, float *dbias, const float *dz, const float *col,
                       const float *w, int M, int F, int K);

/* Pooling over the valid positions of z[B][L][F] into out[b*ostride ..]:
 * with CNN_POOL_MAX the maxima (F values, argmax in arg[b][f], the first
 * when tied, -1 when the row has no valid position), then with
 * CNN_POOL_MEAN the means over len[b] positions (F values).  A row with
 * len 0 pools to zeros. */
void cnn_pool_forward(float *out, int ostride, int *arg, const float *z, const int *len, int B,
                      int L, int F, int pool);
void cnn_pool_backward(float *dz, const float *dout, int ostride, const int *arg, const int *len,
                       int B, int L, int F, int pool);

/* y[B][out] = x[B][in] W[out][in]^T + bias. */
void cnn_dense_forward(float *y, const float *x, const float *w, const float *bias, int B, int in,
                       int out);
/* dx += dy W, dw += dy^T x, dbias += column sums of dy. */
void cnn_dense_backward(float *dx, float *dw, float *dbias, const float *dy, const float *x,
                        const float *w, int B, int in, int out);

/* y = max(y, 0) in place; backward masks a finished gradient in place:
 * dy = 0 where y <= 0. */
void cnn_relu_forward(float *y, size_t n);
void cnn_relu_backward(float *dy, const float *y, size_t n);

/* Inverted dropout in place: mask[i] = 0 with probability p, else
 * 1 / (1 - p); y *= mask.  Backward: dy *= mask in place. */
void cnn_dropout_forward(float *y, float *mask, size_t n, float p, struct rng *r);
void cnn_dropout_backward(float *dy, const float *mask, size_t n);

/* Sigmoid and binary cross-entropy: prob[i] = sigmoid(logit[i]); returns
 * sum of -(pw y log p + (1 - y) log(1 - p)), computed from the logits
 * without overflow. */
double cnn_bce_forward(float *prob, const float *logit, const float *y, int n, float pos_weight);
/* dlogit += scale * (pw y (p - 1) + (1 - y) p). */
void cnn_bce_backward(float *dlogit, const float *prob, const float *y, int n, float pos_weight,
                      float scale);

/* ---- the model stream ------------------------------------------------------ */

/* Header options of the architecture (before ws_header). */
void cnn_write_options(const struct cnn_model *m, ws *w);
/* The model's one record: configuration, vocabularies, scaling, tensors
 * with their shapes, and the training history when fit is not NULL. */
void cnn_save(const struct cnn_model *m, ws *w, const struct cnn_fit_result *fit);
/* Read the model from the next record of r; dies naming the field. */
void cnn_load(struct cnn_model *m, rs *r);

/* promo-score's scorer for CNN_KIND (cnn_score.c): adds "p_buy". */
extern const struct scorer cnn_scorer;

#endif
