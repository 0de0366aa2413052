/* cnn_fit: how promo-train-cnn trains a model: Adam over one contiguous
 * parameter block, minibatches in a seeded shuffled order, a learning-rate
 * schedule, and early stopping on the validation AUC that keeps the best
 * epoch's parameters.  Both the convolutional network (cnn.h) and the
 * logistic-regression baseline (logreg.h) are trained by cnn_fit through
 * the small struct cnn_learner, so the baseline is trained exactly the same
 * way.
 *
 * Ownership: the learner's arrays belong to the model; cnn_fit borrows
 * them, and the data, for the duration of the call. */
#ifndef PROMO_CNN_FIT_H
#define PROMO_CNN_FIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "stream.h"

#define CNN_MAX_TOK 8          /* token fields */
#define CNN_NAME_MAX 40        /* bytes of a field or tensor name, with the NUL */

/* One minibatch as the models read it (cnn_data_gather fills one). */
struct cnn_batch {
    int n;                     /* examples */
    const uint32_t *tok[CNN_MAX_TOK];  /* [n][L] token ids < vocab; 0 = padding */
    const int *len;            /* [n] real tokens, at the right end of each row */
    const float *num;          /* [n][nnum] standardized numeric features */
    const float *y;            /* [n] labels 0 or 1; NULL when scoring */
};

/* A named tensor inside a parameter block: shape (rank 1 or 2, row-major),
 * its offset and size in floats, and whether L2 applies (weights and
 * embeddings; not biases). */
struct cnn_tensor {
    char name[CNN_NAME_MAX];
    int rank;
    int shape[2];
    size_t off, size;
    bool decay;
};

/* What cnn_fit trains. */
struct cnn_learner {
    void *model;
    float *params;             /* [nparams] */
    float *grads;              /* [nparams] */
    float *adam_m, *adam_v;    /* [nparams] each, zero at the start */
    size_t nparams;
    const struct cnn_tensor *tensors;
    int ntensors;
    /* The batch's summed loss (positives weighted by pos_weight) and the
     * probabilities prob[n].  When train: dropout is on (drawn from r) and
     * the gradients of the *mean* loss are accumulated into grads. */
    double (*batch)(void *model, const struct cnn_batch *b, bool train, float pos_weight,
                    float *prob, struct rng *r);
};

enum cnn_schedule { CNN_SCHED_CONSTANT, CNN_SCHED_EXP, CNN_SCHED_COSINE };
extern const char *const cnn_schedule_names[4];   /* "constant", "exp", "cosine", NULL */

struct cnn_fit_opts {
    int epochs;                /* at most this many passes over the training rows */
    int batch;                 /* examples per minibatch */
    int patience;              /* stop after this many epochs without a better AUC */
    double lr;                 /* Adam's step size at epoch 1 */
    enum cnn_schedule schedule;
    double lr_decay;           /* exp: the factor per epoch */
    double l2;                 /* added to the gradient of decayed tensors: l2 * w */
    double pos_weight;         /* weight of a positive example in the loss */
    double beta1, beta2, eps;  /* Adam */
    uint64_t seed;
    bool progress;             /* --progress: progress within an epoch off a terminal */
    bool verbose;              /* a line per epoch on stderr (info) */
};
void cnn_fit_opts_default(struct cnn_fit_opts *o);

/* One epoch's figures.  Losses are means per example: train is the
 * weighted loss as optimized (dropout on), valid the plain log loss. */
struct cnn_epoch {
    int epoch;                 /* from 1 */
    double lr;
    double train_loss, valid_loss, valid_auc;
    double seconds;            /* wall time of the epoch (training and validation) */
    double train_seconds;      /* wall time of the training passes only */
};

struct cnn_fit_result {
    struct cnn_epoch *hist;    /* [nhist], malloc'd */
    int nhist;
    int best;                  /* index into hist of the epoch kept */
    uint64_t ntrain, nvalid;
};
void cnn_fit_result_release(struct cnn_fit_result *r);

struct cnn_data;

/* Train: rows tidx[ntrain] of train, validated on rows vidx[nvalid] of
 * valid, which must hold both labels.  The parameters left in the learner
 * are those of the best epoch by validation AUC (the first when tied). */
void cnn_fit(struct cnn_fit_result *res, const struct cnn_learner *L, const struct cnn_data *train,
             const uint32_t *tidx, size_t ntrain, const struct cnn_data *valid,
             const uint32_t *vidx, size_t nvalid, const struct cnn_fit_opts *o);

/* Probabilities prob[n] of rows idx[n] (train = false), in blocks of
 * batch rows; returns the summed plain log loss when the data has labels. */
double cnn_predict(float *prob, const struct cnn_learner *L, const struct cnn_data *d,
                   const uint32_t *idx, size_t n, int batch);

/* The "training" map of a model record: epochs run, the best epoch and
 * its figures, row counts, and the history (no timings, so the bytes
 * depend only on the seed and the thread count). */
void cnn_fit_pack(msgpack_packer *pk, const struct cnn_fit_result *fit);

/* ROC AUC of scores against 0/1 labels (ties count one half); NAN unless
 * both labels are present. */
double cnn_auc(const float *score, const uint8_t *label, size_t n);

/* One Adam step on n parameters (t counts steps from 1); l2 adds l2 * p to
 * the gradient first (coupled L2, as PyTorch's weight_decay). */
void cnn_adam(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
              float beta2, float eps, float l2, int t);

#endif
