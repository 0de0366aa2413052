/* The scorers promo-score dispatches to, by model kind.  A model module
 * adds its scorer here (declared in its own header). */
#include "score.h"

const struct scorer *const score_table[] = {
    NULL,
};
