/* cnn_data: the training rows of promo-train-cnn, copied from a stream into
 * contiguous arrays so that every epoch reads them without parsing.
 *
 * A row is what promo-featurize --view sequences writes for one user:
 * token arrays of length L (left-padded with 0 = padding; 1 = unknown),
 * "len" (the real tokens, at the right end), the label, and numeric
 * features read from the same record or, when it lacks them, from a users
 * view joined by "user" (struct cnn_join).  A users view alone (no token
 * fields) makes rows for the logistic-regression baseline.
 *
 * Memory per row: 2 bytes per token (4 for a field once an id reaches
 * 65536), 4 per numeric feature, 5 for the length and the label; so
 * 500,000 rows of 4 fields of 50 tokens take about 200 MB.  The whole
 * training set is held: training makes many passes in shuffled order. */
#ifndef PROMO_CNN_DATA_H
#define PROMO_CNN_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnn_fit.h"
#include "stream.h"
#include "strmap.h"

#define CNN_MAX_L 4096         /* longest sequence */
#define CNN_MAX_NUM 4096       /* numeric features */

struct cnn_tokcol {
    char name[CNN_NAME_MAX];
    uint16_t *u16;             /* [cap][L] while every id < 65536 */
    uint32_t *u32;             /* [cap][L] once one is not (u16 then freed) */
    uint32_t max;              /* the largest id seen */
    uint32_t hdr_vocab;        /* vocabulary size from the stream header, 0 if none */
};

/* Numeric features of a users view by user id, for the join. */
struct cnn_join {
    struct strmap ids;         /* user id text -> row */
    float *num;                /* [rows][nnum], NaN missing */
    int nnum;
};

struct cnn_data {
    int L;                     /* 0 until the first row (or no token fields) */
    int ntok, nnum;
    struct cnn_tokcol tok[CNN_MAX_TOK];
    char **num_names;          /* [nnum] (a cli_list array, borrowed) */
    const char *label;         /* label field, NULL when unlabelled (scoring) */
    size_t n, cap;
    int *len;                  /* [n] */
    float *num;                /* [n][nnum], NaN missing */
    uint8_t *y;                /* [n] */
    uint64_t join_missing;     /* rows whose user the join did not have */
};

/* Rows of the token fields tok[ntok] and numeric fields num[nnum] (names
 * borrowed for the data's life); label NULL for unlabelled rows. */
void cnn_data_init(struct cnn_data *d, char *const *tok, int ntok, char **num, int nnum,
                   const char *label);
void cnn_data_release(struct cnn_data *d);
/* Vocabulary sizes declared in r's header, when it declares them (options
 * "ev_size": N as promo-featurize writes, or "vocab": {"ev": N, ...}, or
 * "ev_vocab": N or a list of names). */
void cnn_data_header(struct cnn_data *d, rs *r);
/* Copy the current record of r in as a row; j may be NULL.  Dies naming
 * the field on a wrong type, an array of another length than the first
 * record's, a negative id, or a label other than 0 and 1. */
void cnn_data_add(struct cnn_data *d, rs *r, const struct cnn_join *j);
/* Every record of r. */
void cnn_data_load(struct cnn_data *d, rs *r, const struct cnn_join *j);
/* The vocabulary of token field t as the data sees it: max(header size,
 * largest id + 1, 2). */
uint32_t cnn_data_vocab(const struct cnn_data *d, int t);
/* Ids of field t at or above vocab become 1 (unknown). */
void cnn_data_cap_vocab(struct cnn_data *d, int t, uint32_t vocab);
/* Mean and standard deviation of each numeric feature over rows idx[n]
 * (missing values left out; a constant or absent feature gets sd 1). */
void cnn_data_fit_scale(const struct cnn_data *d, const uint32_t *idx, size_t n, float *mean,
                        float *sd);
/* num = (num - mean) / sd in place; missing values become 0 (the mean). */
void cnn_data_scale(struct cnn_data *d, const float *mean, const float *sd);
/* cnn_data_fit_scale over the rows of every rank of a job (common/dist.h):
 * counts and sums, then squared deviations from the mean, summed over the
 * ranks; the same figures on every rank. */
void cnn_data_fit_scale_dist(const struct cnn_data *d, const uint32_t *idx, size_t n,
                             float *mean, float *sd);
/* Positive rows among idx[n]. */
size_t cnn_data_positives(const struct cnn_data *d, const uint32_t *idx, size_t n);

/* Buffers of one minibatch. */
struct cnn_batchbuf {
    int cap, L, ntok, nnum;
    uint32_t *tok;             /* [ntok][cap][L] */
    int *len;                  /* [cap] */
    float *num;                /* [cap][nnum] */
    float *y;                  /* [cap] */
};
void cnn_batchbuf_init(struct cnn_batchbuf *bb, const struct cnn_data *d, int cap);
void cnn_batchbuf_release(struct cnn_batchbuf *bb);
/* Rows idx[n] (n <= cap) into b, through bb's buffers. */
void cnn_data_gather(struct cnn_batch *b, struct cnn_batchbuf *bb, const struct cnn_data *d,
                     const uint32_t *idx, int n);

/* The join: numeric fields num[nnum] of every record of r (a users view)
 * by its "user" field.  A user given twice is an error. */
void cnn_join_load(struct cnn_join *j, rs *r, char *const *num, int nnum);
void cnn_join_release(struct cnn_join *j);
/* The text of a record's "user" (integer or string) into buf (24 bytes
 * or more); *n its length.  Dies when the field is missing. */
const char *cnn_user_key(rs *r, char *buf, size_t *n);

#endif
