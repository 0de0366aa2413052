/* cf: the recommender models shared by promo-train-cf (which trains them)
 * and promo-score (which ranks the catalogue with them).
 *
 * Interactions are read once into compressed sparse rows (by user) and
 * columns (by item), struct cf_data; every algorithm trains from those two
 * arrays and nothing else.  A model is one struct cf_model whose parameter
 * block (factors, biases, popularity) is one allocation carved into named
 * arrays; the other parts (the training interactions kept for scoring, the
 * EASE matrix, neighbour lists, content vectors) are allocated only by the
 * algorithms that need them.
 *
 * Ids: users and items are byte strings, mapped to dense indices in order
 * of first sight (strmap).  An integer id is mapped through its decimal
 * text, so 42 and "42" are the same id; struct cf_ids remembers whether
 * every id was an integer, and then the model and the scorer write ids
 * back as integers.
 *
 * Files: cf_data.c (reading, CSR/CSC), cf_par.c (threads), cf_als.c,
 * cf_bpr.c, cf_mf.c, cf_ease.c, cf_knn.c, cf_content.c (the algorithms),
 * cf_model.c (the struct, save, load), cf_rank.c (scores, top-K, hybrid
 * blend, similar items), cf_score.c (promo-score's scorer).
 *
 * Ownership: a struct cf_data or cf_model owns every array it points to;
 * _release frees them all.  Arrays passed in belong to the caller. */
#ifndef PROMO_CF_H
#define PROMO_CF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "score.h"
#include "stream.h"
#include "strmap.h"

#define CF_KIND "model/cf"
#define CF_MAX_THREADS 64
#define CF_MAX_FACTORS 1024
#define CF_BLOCK 256            /* users (or items) scored per sgemm block */

enum cf_algo { CF_ALS, CF_BPR, CF_MF, CF_EASE, CF_ITEMKNN, CF_CONTENT, CF_POP, CF_NALGO };
extern const char *const cf_algo_names[CF_NALGO];   /* "als", "bpr", ... */
/* The algorithm of a name, or -1. */
int cf_algo_of(const char *name);
/* Algorithms with user and item factors. */
static inline bool cf_algo_factored(enum cf_algo a) { return a == CF_ALS || a == CF_BPR || a == CF_MF; }

/* ---- ids ---------------------------------------------------------------- */

struct cf_ids {
    struct strmap map;
    bool all_int;               /* every id so far was an integer */
};
void cf_ids_init(struct cf_ids *ids);
void cf_ids_release(struct cf_ids *ids);
/* The index of an id value (a string or an integer), adding it if new.
 * Dies naming the field (through r) on another type. */
uint32_t cf_ids_intern(struct cf_ids *ids, rs *r, const char *field, const msgpack_object *o);
/* The index of an id value, or -1 when unknown (or of another type). */
int64_t cf_ids_find(const struct cf_ids *ids, const msgpack_object *o);
/* Pack id number i as it came in (an integer when all_int). */
void cf_ids_pack(const struct cf_ids *ids, msgpack_packer *pk, uint32_t i);
static inline uint32_t cf_ids_count(const struct cf_ids *ids) { return (uint32_t)sm_count(&ids->map); }

/* ---- interactions: CSR by user and CSC by item ------------------------- */

struct cf_data {
    struct cf_ids users, items;
    uint32_t nusers, nitems;
    uint64_t nnz;               /* distinct (user, item) pairs */
    uint64_t *rowp;             /* [nusers + 1] entries of user u: rowp[u] .. rowp[u+1] */
    uint32_t *rowi;             /* [nnz] their items, ascending */
    float *rowv;                /* [nnz] their values (weight or rating) */
    uint64_t *colp;             /* [nitems + 1] entries of item i */
    uint32_t *colu;             /* [nnz] its users, ascending */
    float *colv;                /* [nnz] */
    /* reading: the triplets before cf_data_build (12 bytes each) */
    uint32_t *tu, *ti;
    float *tv;
    size_t nt, capt;
    /* summary */
    uint64_t records;           /* records read */
    uint64_t duplicates;        /* records merged into an earlier pair */
    double vmin, vmax, vmean;   /* over the distinct pairs' values */
};

/* Which fields make an interaction.  weight: a positive number, summed
 * over repeats of a pair (NULL, or the field absent or nil: 1).  rating: an
 * explicit rating, averaged over repeats (overrides weight). */
struct cf_fields {
    const char *user, *item, *weight, *rating;
    bool weight_required;       /* --weight was given: the field must be present */
};

void cf_data_init(struct cf_data *d);
void cf_data_release(struct cf_data *d);
/* Add the current record of r as a triplet. */
void cf_data_add(struct cf_data *d, rs *r, const struct cf_fields *f);
/* Add one triplet by indices (tests; users and items must exist or be
 * counted in nusers/nitems given to cf_data_build). */
void cf_data_push(struct cf_data *d, uint32_t u, uint32_t i, float v);
/* Build CSR and CSC from the triplets (freed), merging repeats of a pair
 * (values summed, or averaged when mean).  nusers and nitems are at least
 * the sizes of the id maps (items known only from attributes have empty
 * columns). */
void cf_data_build(struct cf_data *d, uint32_t nusers, uint32_t nitems, bool mean);
/* Bytes the built arrays hold. */
size_t cf_data_bytes(const struct cf_data *d);

/* ---- several ranks (cf_dist.c) ------------------------------------------ */

/* Under a job of several ranks (common/dist.h), make every rank's triplets
 * and ids those of the whole input, as one process reading the ranks'
 * files in rank order has them (before cf_data_build).  One rank: nothing. */
void cf_data_merge_ranks(struct cf_data *d);
/* The blocks of n rows with offsets p[n + 1] for P ranks: rank r has rows
 * [lo[r], lo[r + 1]) of about equal entries plus rows (malloc'd, P + 1). */
size_t *cf_rank_blocks(const uint64_t *p, size_t n, int P);

/* ---- threads ------------------------------------------------------------ */

/* fn(ctx, lo, hi, worker) over [0, n) in chunks of chunk, on up to
 * nthreads threads (worker < nthreads).  Work on each index must not
 * depend on which worker does it, so results are the same for any number
 * of threads. */
void cf_parallel(int nthreads, size_t n, size_t chunk,
                 void (*fn)(void *ctx, size_t lo, size_t hi, int worker), void *ctx);
/* The number of processors, capped to CF_MAX_THREADS. */
int cf_default_threads(void);

/* ---- the model ---------------------------------------------------------- */

/* The training options (saved in the model header and record). */
struct cf_opts {
    enum cf_algo algo;
    int factors, iters;
    double reg, alpha;          /* als: L2 and confidence c = 1 + alpha w */
    int cg_steps;               /* als: conjugate-gradient steps, 0 Cholesky */
    double lr, reg_bias;        /* bpr, mf: SGD step and bias L2 */
    double init_std;            /* bpr, mf, als: initial factors N(0, init_std) */
    double lambda;              /* ease: L2 of the item-item weights */
    int neighbours;             /* itemknn: kept per item */
    double shrink;              /* itemknn: sim = dot / (|a||b| + shrink) */
    bool hybrid;                /* add a content part to a collaborative model */
    double content_weight;      /* hybrid: share of the content score for warm users */
    double content_boost;       /* hybrid: cold users score ln(1 + pop) + boost cosine */
    int cold_users;             /* hybrid: users with fewer interactions use the fallback */
    int bands;                  /* content: quantile bands of a numeric attribute */
    int max_terms;              /* content: most frequent text terms kept */
    uint64_t seed;
    int threads;
};
void cf_opts_default(struct cf_opts *o, enum cf_algo algo);

/* How an attribute field becomes content features. */
enum cf_attr_type { CF_ATTR_CAT, CF_ATTR_BAND, CF_ATTR_TEXT, CF_ATTR_VECTOR };
extern const char *const cf_attr_type_names[];   /* "", "band", "text", "vector" */
struct cf_attr {
    char *name;
    enum cf_attr_type type;
};
/* Parse "category,price:band,title:text,emb:vector" (dies with a usage
 * error naming the bad spec).  Free with cf_attrs_free. */
struct cf_attr *cf_attrs_parse(const char *spec, int *n);
void cf_attrs_free(struct cf_attr *a, int n);

struct cf_model {
    enum cf_algo algo;          /* the collaborative part (content: none) */
    bool hybrid;                /* content blended in */
    int f;                      /* factors (0 without) */
    uint32_t nusers, nitems;
    struct cf_ids users, items;
    char *user_field, *item_field;   /* the fields scoring reads */
    struct cf_opts opts;
    /* parameters: one allocation carved by cf_model_alloc */
    float *params;
    float *U;                   /* [nusers][f] user factors */
    float *V;                   /* [nitems][f] item factors */
    float *ubias, *ibias;       /* [nusers], [nitems] (mf; ibias also bpr) */
    float *pop;                 /* [nitems] summed weights (mf: ratings) of the item */
    double mu;                  /* mf: global mean rating */
    double rmin, rmax;          /* mf: predictions are clipped to this range */
    /* the training interactions, for excluding seen items and for the
     * algorithms that score from a user's history */
    uint64_t *seenp;            /* [nusers + 1] */
    uint32_t *seeni;            /* [nnz] */
    float *seenv;               /* [nnz] values; NULL unless scoring needs them */
    uint64_t nnz;
    /* ease */
    float *B;                   /* [nitems][nitems], zero diagonal */
    /* itemknn: each item's neighbours, best first */
    uint64_t *nbrp;             /* [nitems + 1] */
    uint32_t *nbri;             /* [nnbr] */
    float *nbrs;                /* [nnbr] cosine */
    /* content: unit-length attribute vectors (a zero row: no attributes) */
    int d;
    char **feat;                /* [d] feature names ("category=3", "price:band=2") */
    float *C;                   /* [nitems][d] */
    struct cf_attr *attrs;
    int nattrs;
};

void cf_model_init(struct cf_model *m);
void cf_model_release(struct cf_model *m);
/* Size the model and allocate the parameter block (zeroed). */
void cf_model_alloc(struct cf_model *m, uint32_t nusers, uint32_t nitems, int f);
/* Factors drawn N(0, o->init_std): users from stream 1 of root (seeded by
 * o->seed), items from stream 2; root is left for the trainer's own
 * streams (sampling orders). */
void cf_init_factors(struct cf_model *m, const struct cf_opts *o, struct rng *root);
/* Copy the data's id maps and interactions into the model (the seen
 * lists; values too when keep_values). */
void cf_model_take_ids(struct cf_model *m, struct cf_data *d, bool keep_values);
/* Popularity from the columns. */
void cf_model_popularity(struct cf_model *m, const struct cf_data *d, bool weighted);
/* Bytes the model holds. */
size_t cf_model_bytes(const struct cf_model *m);

/* Pack the model's one record; read it back (r positioned before it),
 * dying with the field's name on anything malformed. */
void cf_save(const struct cf_model *m, ws *w);
void cf_load(struct cf_model *m, rs *r);
/* Header options of a training run. */
void cf_opts_write(const struct cf_opts *o, ws *w);

/* ---- training ----------------------------------------------------------- */

/* A training loop's report for each iteration (NULL: silent). */
typedef void (*cf_iter_fn)(void *ctx, int iter, double loss);

/* als: implicit feedback (Hu, Koren, Volinsky 2008), each half-step by
 * conjugate gradient from the previous factors (Takacs et al. 2011), or by
 * Cholesky when o->cg_steps == 0.  loss: the full weighted objective. */
void cf_als_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o,
                  cf_iter_fn report, void *ctx);
/* The objective of als: sum over all pairs of c (p - x.y)^2 + reg (|X|^2 + |Y|^2). */
double cf_als_loss(const struct cf_model *m, const struct cf_data *d, const struct cf_opts *o);
/* One half-step, exposed for tests: solve each of the n rows of X given Y
 * (ny rows) over the rows of a CSR (p, idx, val). */
void cf_als_solve(float *X, const float *Y, int f, size_t n, uint32_t ny, const uint64_t *p,
                  const uint32_t *idx, const float *val, const struct cf_opts *o);

/* bpr: Bayesian personalised ranking (Rendle et al. 2009) by SGD with
 * seeded sampling; one thread (the model is the same for any --threads).
 * loss: the mean -log sigmoid over the epoch's samples. */
void cf_bpr_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o,
                  cf_iter_fn report, void *ctx);

/* One SGD step of bpr on (x_u, y_i, y_j, b_i, b_j): every parameter moves by
 * lr times the gradient of ln sigmoid(z) - reg/2 (|x|^2 + |y_i|^2 + |y_j|^2)
 * - reg_bias/2 (b_i^2 + b_j^2), all taken at the old values (scratch: f
 * floats).  Returns z = x.(y_i - y_j) + b_i - b_j before the step. */
float cf_bpr_step(float *x, float *yi, float *yj, float *bi, float *bj, int f, float lr,
                  float reg, float regb, float *scratch);

/* mf: explicit ratings, biased matrix factorisation by SGD (Funk; Koren,
 * Bell, Volinsky 2009).  loss: the training RMSE of the epoch. */
void cf_mf_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o,
                 cf_iter_fn report, void *ctx);
/* One SGD step of mf on a rating r (minus the global mean): every
 * parameter moves by -lr times the gradient of err^2 / 2 + reg/2 (|p|^2 +
 * |q|^2) + reg_bias/2 (b_u^2 + b_i^2), err = r - (b_u + b_i + p.q), taken at
 * the old values (scratch: f floats).  Returns err before the step. */
float cf_mf_step(float *p, float *q, float *bu, float *bi, float r, int f, float lr, float reg,
                 float regb, float *scratch);
/* The predicted rating, clipped to [rmin, rmax]; u or i may be -1. */
double cf_mf_predict(const struct cf_model *m, int64_t u, int64_t i);

/* ease: B = I - P diag(1/diag P), P = (X'X + lambda I)^-1 (Steck 2019). */
void cf_ease_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o);
#define CF_EASE_MAX_ITEMS 40000

/* itemknn: cosine between item columns, the best o->neighbours kept. */
void cf_knn_train(struct cf_model *m, const struct cf_data *d, const struct cf_opts *o);

/* content: read item attributes from r into the data's item map (new
 * items are added); then cf_content_build makes the unit vectors C. */
struct cf_content_src;
struct cf_content_src *cf_content_read(rs *r, const char *item_field, const struct cf_attr *attrs,
                                       int nattrs, struct cf_ids *items);
void cf_content_build(struct cf_model *m, struct cf_content_src *src, uint32_t nitems,
                      const struct cf_opts *o);
void cf_content_src_free(struct cf_content_src *src);

/* ---- ranking ------------------------------------------------------------ */

/* Work space of one scorer thread set: blocks of scores. */
struct cf_ranker {
    const struct cf_model *m;
    int threads;
    bool include_seen;
    int k;                      /* list length */
    float *S;                   /* [CF_BLOCK][nitems] scores */
    float *S2;                  /* [CF_BLOCK][nitems] hybrid: content scores */
    float *X;                   /* [CF_BLOCK][max(nitems, d, f)] inputs of the block */
    float *Vn;                  /* [nitems][f] unit item factors (similar) */
    /* results: [CF_BLOCK][k] */
    uint32_t *top;
    float *topv;
    int *ntop;
    bool *cold;
};
void cf_ranker_init(struct cf_ranker *rk, const struct cf_model *m, int k, bool include_seen,
                    int threads);
void cf_ranker_release(struct cf_ranker *rk);
/* Top-k items for users[0 .. n) (n <= CF_BLOCK; -1: unknown user); results
 * in rk->top + j * k (rk->ntop[j] of them, best first), rk->cold[j]. */
void cf_recommend_block(struct cf_ranker *rk, const int64_t *users, int n);
/* Top-k similar items for items[0 .. n) (-1: unknown item). */
void cf_similar_block(struct cf_ranker *rk, const int64_t *items, int n);
/* The model's score of one (user, item) pair (-1: unknown), *cold when a
 * fallback was used: mf the predicted rating, the others the ranking score. */
double cf_predict(const struct cf_model *m, int64_t u, int64_t i, bool *cold);
/* Top-k heaps, shared by ranking and item neighbours: (s, i) is better
 * than (t, j) when its score is higher, ties by lower index; cf_heap_sift
 * restores a heap of n whose root is the worst entry kept. */
static inline bool cf_better(float s, uint32_t i, float t, uint32_t j)
{
    return s > t || (s == t && i < j);
}
void cf_heap_sift(uint32_t *idx, float *val, int n, int i);
/* The k best of s[0 .. n) (-INFINITY entries skipped), best first, ties by
 * lower index: writes idx and val, returns how many (<= k). */
int cf_topk(uint32_t *idx, float *val, const float *s, uint32_t n, int k);

/* promo-score's scorer for CF_KIND (cf_score.c). */
extern const struct scorer cf_scorer;

#endif
