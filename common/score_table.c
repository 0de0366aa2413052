/* The scorers promo-score dispatches to, by model kind.  A model module
 * adds its scorer here (declared in its own header). */
#include "score.h"
#include "kmeans.h"
#include "dtree.h"
#include "cf.h"
#include "cnn.h"
#include "logreg.h"

const struct scorer *const score_table[] = {
    &kmeans_scorer,
    &dtree_scorer,
    &cf_scorer,
    &cnn_scorer,
    &logreg_scorer,
    NULL,
};
