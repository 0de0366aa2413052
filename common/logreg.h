/* logreg: the logistic-regression baseline of promo-train-cnn (--model
 * logreg), on standardized numeric features only, applied by promo-score
 * (kind "model/logreg", field "p_buy").  It is trained by cnn_fit exactly
 * as the CNN is (Adam, minibatches, the same loss, class weights, L2,
 * schedule and early stopping on the validation AUC), so the two AUCs can
 * stand side by side in a report.  Its layer is the CNN's dense kernel
 * with one output.
 *
 * Ownership: the model owns its names, scaling and blocks; lr_release
 * frees them. */
#ifndef PROMO_LOGREG_H
#define PROMO_LOGREG_H

#include <stddef.h>

#include "cnn_fit.h"
#include "score.h"
#include "stream.h"

#define LR_KIND "model/logreg"
#define LR_FORMAT 1

struct lr_model {
    int nnum;
    char **num_names;          /* [nnum], one allocation */
    float *num_mean, *num_sd;  /* [nnum] each, one allocation */
    struct cnn_tensor tensors[2];
    size_t nparams;            /* nnum + 1 */
    float *params;
    float *w;                  /* [1][nnum] */
    float *b;                  /* [1] */
    /* training (lr_train_alloc) */
    float *grads, *gw, *gb;
    float *adam;               /* [2 * nparams] */
    int cap;                   /* batch scratch */
    float *logit, *dlogit;     /* [cap] each */
    float *dx;                 /* [cap][nnum], the inputs' gradient (unused) */
};

void lr_init(struct lr_model *m, int nnum, char *const *num_names);
void lr_release(struct lr_model *m);
/* U(-1/sqrt(nnum), 1/sqrt(nnum)), as a PyTorch Linear layer. */
void lr_init_weights(struct lr_model *m, uint64_t seed);
/* Gradients, Adam's moments and scratch for batches of up to cap rows. */
void lr_train_alloc(struct lr_model *m, int cap);
void lr_learner(struct cnn_learner *L, struct lr_model *m);
/* The probability of one row of standardized features x[nnum]. */
double lr_predict(const struct lr_model *m, const float *x);

void lr_write_options(const struct lr_model *m, ws *w);
/* The one record: numeric, num_mean, num_sd, weight, bias, training. */
void lr_save(const struct lr_model *m, ws *w, const struct cnn_fit_result *fit);
void lr_load(struct lr_model *m, rs *r);

/* promo-score's scorer for LR_KIND (logreg_score.c). */
extern const struct scorer logreg_scorer;

#endif
