/* cf_rank: scores over the whole catalogue for blocks of users or items,
 * the hybrid blend and the cold-start fallback, and the top-K selection.
 *
 * A block of up to CF_BLOCK users is scored against every item at once:
 * factor models by one sgemm of the users' factors with the item factors,
 * EASE by one sgemm of the users' interaction rows with B, content by one
 * sgemm of the users' profiles with the item vectors; item-kNN adds the
 * neighbour lists of the user's items.  Then each row (on cf_parallel's
 * threads) is blended, masked (items seen in training) and cut to its top
 * K by a heap over the row: O(items log K) per user, never a full sort.
 *
 * The fallback for a user the model does not know is popularity, ln(1 +
 * the item's summed interaction weights), flagged cold.  A hybrid model
 * standardises each user's collaborative and content scores over the
 * catalogue (z-scores) and blends them: (1 - w) z_cf + w z_content for
 * users with at least cold_users interactions (items nobody interacted with
 * take their z_content for z_cf); users with fewer get popularity times
 * content affinity, ln(1 + pop) + content_boost * cosine (flagged cold).
 * Content scores are cosines plus 1e-4 ln(1 + pop) / ln(1 + max pop), so
 * items with the same attributes are ordered by popularity. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cf.h"
#include "cf_vec.h"
#include "diag.h"
#include "linalg.h"
#include "xalloc.h"

#define CF_POP_TIE 1e-4f

/* ---- top-K ---------------------------------------------------------------------- */

void cf_heap_sift(uint32_t *idx, float *val, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, w = i;
        if (l < n && cf_better(val[w], idx[w], val[l], idx[l]))
            w = l;
        if (l + 1 < n && cf_better(val[w], idx[w], val[l + 1], idx[l + 1]))
            w = l + 1;
        if (w == i)
            return;
        uint32_t ti = idx[i];
        idx[i] = idx[w];
        idx[w] = ti;
        float tv = val[i];
        val[i] = val[w];
        val[w] = tv;
        i = w;
    }
}

int cf_topk(uint32_t *idx, float *val, const float *s, uint32_t n, int k)
{
    int m = 0;
    if (k <= 0)
        return 0;
    uint32_t i = 0;
    for (; i < n && m < k; i++) {
        if (s[i] == -INFINITY)
            continue;
        idx[m] = i;
        val[m] = s[i];
        m++;
    }
    for (int j = m / 2; j-- > 0;)
        cf_heap_sift(idx, val, m, j);
    if (m == k) {
        for (; i < n; i++) {
            /* Later indices lose ties, so only a strictly higher score enters. */
            if (s[i] > val[0]) {
                idx[0] = i;
                val[0] = s[i];
                cf_heap_sift(idx, val, m, 0);
            }
        }
    }
    for (int end = m; end-- > 1;) {
        uint32_t ti = idx[0];
        idx[0] = idx[end];
        idx[end] = ti;
        float tv = val[0];
        val[0] = val[end];
        val[end] = tv;
        cf_heap_sift(idx, val, end, 0);
    }
    return m;
}

/* ---- the ranker ------------------------------------------------------------------ */

void cf_ranker_init(struct cf_ranker *rk, const struct cf_model *m, int k, bool include_seen,
                    int threads)
{
    memset(rk, 0, sizeof *rk);
    rk->m = m;
    rk->k = k;
    rk->include_seen = include_seen;
    rk->threads = threads < 1 ? 1 : threads;
    size_t ni = m->nitems ? m->nitems : 1;
    size_t w = ni;
    if ((size_t)m->d > w)
        w = (size_t)m->d;
    if ((size_t)m->f > w)
        w = (size_t)m->f;
    rk->S = xreallocarray(NULL, CF_BLOCK * ni, sizeof *rk->S);
    if (m->hybrid)
        rk->S2 = xreallocarray(NULL, CF_BLOCK * ni, sizeof *rk->S2);
    rk->X = xreallocarray(NULL, CF_BLOCK * w, sizeof *rk->X);
    rk->top = xreallocarray(NULL, (size_t)CF_BLOCK * (k > 0 ? k : 1), sizeof *rk->top);
    rk->topv = xreallocarray(NULL, (size_t)CF_BLOCK * (k > 0 ? k : 1), sizeof *rk->topv);
    rk->ntop = xcalloc(CF_BLOCK, sizeof *rk->ntop);
    rk->cold = xcalloc(CF_BLOCK, sizeof *rk->cold);
}

void cf_ranker_release(struct cf_ranker *rk)
{
    free(rk->S);
    free(rk->S2);
    free(rk->X);
    free(rk->Vn);
    free(rk->top);
    free(rk->topv);
    free(rk->ntop);
    free(rk->cold);
    memset(rk, 0, sizeof *rk);
}

/* ln(1 + pop) / ln(1 + max pop): the popularity tie-break in [0, 1]. */
static float pop_scale(const struct cf_model *m)
{
    float mx = 0;
    for (uint32_t i = 0; i < m->nitems; i++)
        mx = m->pop[i] > mx ? m->pop[i] : mx;
    return mx > 0 ? 1 / log1pf(mx) : 0;
}

/* S = X (n rows of width k) times B (transposed if trans_b), always over
 * CF_BLOCK rows, the rows past n zeroed: every row then takes the same
 * BLAS kernel path wherever it stands in a block, so a user's scores are
 * the same floats however the input is cut (blocks, shards). */
static void block_sgemm(float *S, float *X, const float *B, int n, int ni, int k, bool trans_b)
{
    memset(X + (size_t)n * k, 0, (size_t)(CF_BLOCK - n) * (size_t)k * sizeof *X);
    la_sgemm(S, X, B, CF_BLOCK, ni, k, false, trans_b, 1, 0);
}

/* Content scores of n users into S (cosines plus the tie-break); zero
 * profiles are left as zero rows. */
static void content_users(const struct cf_ranker *rk, float *S, const int64_t *users, int n)
{
    const struct cf_model *m = rk->m;
    size_t d = (size_t)m->d, ni = m->nitems;
    float *P = rk->X;
    memset(P, 0, (size_t)n * d * sizeof *P);
    for (int j = 0; j < n; j++) {
        if (users[j] < 0)
            continue;
        float *p = P + (size_t)j * d;
        for (uint64_t e = m->seenp[users[j]]; e < m->seenp[users[j] + 1]; e++)
            cf_axpy(p, m->C + (size_t)m->seeni[e] * d, (int)d, m->seenv[e]);
        float nrm = sqrtf(cf_dot(p, p, (int)d));
        if (nrm > 0)
            la_sscal(p, (int)d, 1 / nrm);
    }
    block_sgemm(S, P, m->C, n, (int)ni, (int)d, true);
    float ps = pop_scale(m);
    for (int j = 0; j < n; j++) {
        float *s = S + (size_t)j * ni;
        for (size_t i = 0; i < ni; i++)
            s[i] += CF_POP_TIE * ps * log1pf(m->pop[i]);
    }
}

/* The collaborative scores of n users into S (rows of unknown users are
 * left as they are). */
static void cf_users(const struct cf_ranker *rk, float *S, const int64_t *users, int n)
{
    const struct cf_model *m = rk->m;
    size_t ni = m->nitems;
    switch (m->algo) {
    case CF_ALS:
    case CF_BPR:
    case CF_MF: {
        size_t f = (size_t)m->f;
        for (int j = 0; j < n; j++) {
            if (users[j] >= 0)
                memcpy(rk->X + j * f, m->U + (size_t)users[j] * f, f * sizeof *rk->X);
            else
                memset(rk->X + j * f, 0, f * sizeof *rk->X);
        }
        block_sgemm(S, rk->X, m->V, n, (int)ni, (int)f, true);
        if (m->algo != CF_ALS)
            for (int j = 0; j < n; j++)
                la_saxpy(S + (size_t)j * ni, m->ibias, (int)ni, 1);
        break;
    }
    case CF_EASE:
        memset(rk->X, 0, (size_t)n * ni * sizeof *rk->X);
        for (int j = 0; j < n; j++)
            if (users[j] >= 0)
                for (uint64_t e = m->seenp[users[j]]; e < m->seenp[users[j] + 1]; e++)
                    rk->X[(size_t)j * ni + m->seeni[e]] = m->seenv[e];
        block_sgemm(S, rk->X, m->B, n, (int)ni, (int)ni, false);
        break;
    case CF_ITEMKNN:
        for (int j = 0; j < n; j++) {
            float *s = S + (size_t)j * ni;
            memset(s, 0, ni * sizeof *s);
            if (users[j] < 0)
                continue;
            for (uint64_t e = m->seenp[users[j]]; e < m->seenp[users[j] + 1]; e++) {
                uint32_t it = m->seeni[e];
                float x = m->seenv[e];
                for (uint64_t q = m->nbrp[it]; q < m->nbrp[it + 1]; q++)
                    s[m->nbri[q]] += x * m->nbrs[q];
            }
        }
        break;
    case CF_CONTENT:
        content_users(rk, S, users, n);
        break;
    case CF_POP:
        for (int j = 0; j < n; j++)
            for (size_t i = 0; i < ni; i++)
                S[(size_t)j * ni + i] = log1pf(m->pop[i]);
        break;
    case CF_NALGO:
        CHECK(0);
    }
}

/* Standardise s[0 .. n) in place: (s - mean) / sd, zeros when constant. */
static void zscore(float *s, size_t n)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    double mean = n ? sum / (double)n : 0;
    for (size_t i = 0; i < n; i++)
        sq += (s[i] - mean) * (s[i] - mean);
    double sd = n ? sqrt(sq / (double)n) : 0;
    float inv = sd > 0 ? (float)(1 / sd) : 0;
    for (size_t i = 0; i < n; i++)
        s[i] = (float)(s[i] - mean) * inv;
}

struct row_job {
    struct cf_ranker *rk;
    const int64_t *ids;
    bool similar;
};

/* Blend, fall back, mask and cut one row. */
static void finish_row(struct cf_ranker *rk, const int64_t *ids, int j, bool similar)
{
    const struct cf_model *m = rk->m;
    size_t ni = m->nitems;
    float *s = rk->S + (size_t)j * ni;
    int64_t id = ids[j];
    bool cold = id < 0;        /* flagged: the fallback was used */
    bool use_pop = cold;       /* the scores are popularity */
    if (!cold && m->hybrid) {
        float *c = rk->S2 + (size_t)j * ni;
        uint64_t nseen = similar ? 0 : m->seenp[id + 1] - m->seenp[id];
        bool thin = similar ? m->pop[id] == 0 : nseen < (uint64_t)m->opts.cold_users;
        if (thin) {
            /* too little history: popularity times content affinity */
            float g = (float)m->opts.content_boost;
            for (size_t i = 0; i < ni; i++)
                s[i] = log1pf(m->pop[i]) + g * c[i];
            cold = !similar;
        } else {
            zscore(c, ni);
            zscore(s, ni);
            float w = (float)m->opts.content_weight;
            for (size_t i = 0; i < ni; i++)
                s[i] = m->pop[i] > 0 ? (1 - w) * s[i] + w * c[i] : c[i];
        }
    } else if (!cold && m->algo == CF_CONTENT) {
        /* no attribute behind the profile, or on the item */
        float mx = 0;
        if (similar)
            mx = cf_dot(m->C + (size_t)id * m->d, m->C + (size_t)id * m->d, m->d);
        else
            for (size_t i = 0; i < ni; i++)
                mx = fmaxf(mx, s[i] - 2 * CF_POP_TIE);
        cold = use_pop = !(mx > 0);
    } else if (!cold && similar && m->algo != CF_POP) {
        cold = use_pop = m->pop[id] == 0;   /* nobody interacted with the item */
    }
    if (use_pop)
        for (size_t i = 0; i < ni; i++)
            s[i] = log1pf(m->pop[i]);
    if (similar && id >= 0)
        s[id] = -INFINITY;
    if (!similar && id >= 0 && !rk->include_seen)
        for (uint64_t e = m->seenp[id]; e < m->seenp[id + 1]; e++)
            s[m->seeni[e]] = -INFINITY;
    rk->cold[j] = cold;
    rk->ntop[j] = cf_topk(rk->top + (size_t)j * rk->k, rk->topv + (size_t)j * rk->k, s,
                          (uint32_t)ni, rk->k);
}

static void finish_rows(void *ctx, size_t lo, size_t hi, int worker)
{
    (void)worker;
    struct row_job *jb = ctx;
    for (size_t j = lo; j < hi; j++)
        finish_row(jb->rk, jb->ids, (int)j, jb->similar);
}

void cf_recommend_block(struct cf_ranker *rk, const int64_t *users, int n)
{
    CHECK(n >= 0 && n <= CF_BLOCK);
    if (n == 0)
        return;
    cf_users(rk, rk->S, users, n);
    if (rk->m->hybrid)
        content_users(rk, rk->S2, users, n);
    struct row_job jb = {rk, users, false};
    cf_parallel(rk->threads, (size_t)n, 8, finish_rows, &jb);
}

/* ---- similar items ------------------------------------------------------------------ */

/* Unit rows of the item factors (zero rows stay zero). */
static float *unit_rows(const float *V, size_t n, int f)
{
    float *u = xreallocarray(NULL, n && f ? n * f : 1, sizeof *u);
    for (size_t i = 0; i < n; i++) {
        const float *v = V + i * f;
        float nrm = sqrtf(cf_dot(v, v, f));
        for (int k = 0; k < f; k++)
            u[i * f + k] = nrm > 0 ? v[k] / nrm : 0;
    }
    return u;
}

/* Cosines of the items' rows of M (n x w, unit rows) with every row. */
static void cosine_items(struct cf_ranker *rk, float *S, const float *M, int w, const int64_t *items,
                         int n)
{
    size_t ni = rk->m->nitems;
    for (int j = 0; j < n; j++) {
        if (items[j] >= 0)
            memcpy(rk->X + (size_t)j * w, M + (size_t)items[j] * w, (size_t)w * sizeof *rk->X);
        else
            memset(rk->X + (size_t)j * w, 0, (size_t)w * sizeof *rk->X);
    }
    block_sgemm(S, rk->X, M, n, (int)ni, w, true);
}

static void cf_items(struct cf_ranker *rk, float *S, const int64_t *items, int n)
{
    const struct cf_model *m = rk->m;
    size_t ni = m->nitems;
    switch (m->algo) {
    case CF_ALS:
    case CF_BPR:
    case CF_MF:
        if (!rk->Vn)
            rk->Vn = unit_rows(m->V, ni, m->f);
        cosine_items(rk, S, rk->Vn, m->f, items, n);
        break;
    case CF_EASE:
        for (int j = 0; j < n; j++)
            if (items[j] >= 0)
                memcpy(S + (size_t)j * ni, m->B + (size_t)items[j] * ni, ni * sizeof *S);
        break;
    case CF_ITEMKNN:
        for (int j = 0; j < n; j++) {
            float *s = S + (size_t)j * ni;
            if (items[j] < 0)
                continue;
            for (size_t i = 0; i < ni; i++)
                s[i] = m->hybrid ? 0 : -INFINITY;
            for (uint64_t q = m->nbrp[items[j]]; q < m->nbrp[items[j] + 1]; q++)
                s[m->nbri[q]] = m->nbrs[q];
        }
        break;
    case CF_CONTENT: {
        cosine_items(rk, S, m->C, m->d, items, n);
        float ps = pop_scale(m);
        for (int j = 0; j < n; j++)
            for (size_t i = 0; i < ni; i++)
                S[(size_t)j * ni + i] += CF_POP_TIE * ps * log1pf(m->pop[i]);
        break;
    }
    case CF_POP:
        for (int j = 0; j < n; j++)
            for (size_t i = 0; i < ni; i++)
                S[(size_t)j * ni + i] = log1pf(m->pop[i]);
        break;
    case CF_NALGO:
        CHECK(0);
    }
}

void cf_similar_block(struct cf_ranker *rk, const int64_t *items, int n)
{
    CHECK(n >= 0 && n <= CF_BLOCK);
    if (n == 0)
        return;
    const struct cf_model *m = rk->m;
    cf_items(rk, rk->S, items, n);
    if (m->hybrid) {
        cosine_items(rk, rk->S2, m->C, m->d, items, n);
        float ps = pop_scale(m);
        for (int j = 0; j < n; j++)
            for (size_t i = 0; i < m->nitems; i++)
                rk->S2[(size_t)j * m->nitems + i] += CF_POP_TIE * ps * log1pf(m->pop[i]);
    }
    struct row_job jb = {rk, items, true};
    cf_parallel(rk->threads, (size_t)n, 8, finish_rows, &jb);
}

/* ---- one pair ------------------------------------------------------------------------ */

double cf_predict(const struct cf_model *m, int64_t u, int64_t i, bool *cold)
{
    *cold = u < 0 || i < 0;
    if (m->algo == CF_MF)
        return cf_mf_predict(m, u, i);
    if (*cold)
        return i >= 0 ? log1p(m->pop[i]) : 0;
    switch (m->algo) {
    case CF_ALS:
    case CF_BPR:
        return cf_dot(m->U + (size_t)u * m->f, m->V + (size_t)i * m->f, m->f) + m->ibias[i];
    case CF_EASE: {
        double s = 0;
        for (uint64_t e = m->seenp[u]; e < m->seenp[u + 1]; e++)
            s += (double)m->seenv[e] * m->B[(size_t)m->seeni[e] * m->nitems + i];
        return s;
    }
    case CF_ITEMKNN: {
        double s = 0;
        for (uint64_t e = m->seenp[u]; e < m->seenp[u + 1]; e++) {
            uint32_t it = m->seeni[e];
            for (uint64_t q = m->nbrp[it]; q < m->nbrp[it + 1]; q++)
                if (m->nbri[q] == (uint32_t)i)
                    s += (double)m->seenv[e] * m->nbrs[q];
        }
        return s;
    }
    case CF_CONTENT: {
        size_t d = (size_t)m->d;
        double dot = 0, n2 = 0;
        float *p = xcalloc(d, sizeof *p);
        for (uint64_t e = m->seenp[u]; e < m->seenp[u + 1]; e++)
            cf_axpy(p, m->C + (size_t)m->seeni[e] * d, (int)d, m->seenv[e]);
        for (size_t k = 0; k < d; k++) {
            dot += (double)p[k] * m->C[(size_t)i * d + k];
            n2 += (double)p[k] * p[k];
        }
        free(p);
        return n2 > 0 ? dot / sqrt(n2) : 0;
    }
    case CF_POP:
        return log1p(m->pop[i]);
    default:
        CHECK(0);
    }
    return 0;
}
