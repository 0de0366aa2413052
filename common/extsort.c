/* External merge sort: runs sorted in memory by radix, spilled to private
 * run files, merged with a heap. */
#include "extsort.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <pthread.h>

#include "diag.h"
#include "tmpdir.h"
#include "xalloc.h"

/* Memory kept aside from the runs for the stream buffers: the input's
 * reader, the output's writer and a spill's writer. */
#define RESERVE ((uint64_t)4 << 20)
/* A run file's read and write buffer, and what one open run costs while
 * merging (its buffer and a little more). */
#define RUN_BUF ((size_t)512 << 10)
#define PER_RUN ((uint64_t)544 << 10)
/* Each record in a run file: a frame of its length, class and two keys
 * (so merging needs neither a MessagePack scan nor the key function), then
 * its bytes.  Run files are private and short-lived, so they are not
 * record streams: promo-cat never sees them. */
#define FRAME 21

/* A run file being written or read, through one buffer. */
struct run_file {
    int fd;
    char *path;
    char *buf;
    size_t pos, len, cap;      /* reading: [pos, len) unread; writing: len used */
};
#define MAX_FANIN 512
/* Records are read in sorted order, so at random places of the arena:
 * ask for the one this many ahead while copying this one. */
#define PREFETCH 16

/* One input of a merge: a run file, or the sorted run still in memory. */
struct src {
    struct run_file *f;        /* NULL for the run in memory */
    char *path;
    size_t pos;                /* the run in memory: the next entry */
    const char *rec;
    size_t len;
    struct xs_key key;
};

struct merge {
    struct src *src;
    size_t nsrc;
    size_t *heap;              /* indices of sources that have a record */
    size_t nheap;
    long last;                 /* the source of the record last returned, -1 none */
};

/* A run in memory: its record bytes and sort entries. */
struct runbuf {
    char *arena;
    size_t alen, acap;
    struct xs_ent *ent, *tmp;
    size_t n, ecap, tcap;
};

struct xs {
    uint64_t budget;           /* bytes for one run: records + 2 entries each */
    uint64_t mem;              /* both runs (the filling one and the one spilling) */
    xs_key_fn *key;
    char *tmpdir;
    char *dir;                 /* private directory, made at the first spill */
    unsigned next_id;

    struct runbuf cur;         /* the run being filled */
    struct runbuf bg;          /* the run being sorted and written, or idle buffers */
    bool spilling;             /* the spill thread is running on bg */
    pthread_t spiller;
    char *bg_path;

    char **runs;               /* spilled runs in input order */
    size_t nruns, caprun;
    uint64_t spilled;

    bool finished;
    bool in_memory;            /* the output comes straight from ent[] */
    size_t pos;
    struct merge m;
};

/* ---- temporary files -------------------------------------------------------- */

#define MAX_DIRS 4
static char *dirs[MAX_DIRS];
static xs *owners[MAX_DIRS];   /* the sort each directory belongs to */
static bool hook_set;

static void remove_dirs(void)
{
    for (int i = 0; i < MAX_DIRS; i++) {
        if (!dirs[i])
            continue;
        /* A run still being written would put a file back after we
         * emptied the directory: let it finish first (unless this is
         * that thread, dying). */
        xs *s = owners[i];
        if (s && s->spilling && !pthread_equal(pthread_self(), s->spiller))
            pthread_join(s->spiller, NULL);
        tmpdir_remove(dirs[i]);
    }
}

static void make_dir(xs *s)
{
    if (s->dir)
        return;
    size_t n = strlen(s->tmpdir) + 32;
    char *dir = xmalloc(n);
    snprintf(dir, n, "%s/promo-sort.XXXXXX", s->tmpdir);
    if (!mkdtemp(dir)) {
        int e = errno;
        free(dir);
        errno = e;
        die_errno("--tmpdir %s: cannot make a directory for sorted runs", s->tmpdir);
    }
    if (!hook_set) {
        diag_on_exit(remove_dirs);
        hook_set = true;
    }
    int i = 0;
    while (i < MAX_DIRS && dirs[i])
        i++;
    CHECK(i < MAX_DIRS);
    dirs[i] = dir;
    owners[i] = s;
    s->dir = dir;
}

char *xs_temp_path(xs *s)
{
    make_dir(s);
    size_t n = strlen(s->dir) + 32;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%06u.mpz", s->dir, s->next_id++);
    return p;
}

/* ---- keys ------------------------------------------------------------------ */

void xs_key_int(struct xs_key *k, int64_t v)
{
    k->cls = 0;
    k->k1 = xs_i64_order(v);
    k->s = NULL;
    k->slen = 0;
}

void xs_key_str(struct xs_key *k, const char *s, size_t n)
{
    uint64_t p = 0;
    for (size_t i = 0; i < 8; i++)
        p = p << 8 | (i < n ? (unsigned char)s[i] : 0);
    k->cls = 1;
    k->k1 = p;
    k->s = s;
    k->slen = (uint32_t)n;
}

static int key_cmp(const struct xs_key *a, const struct xs_key *b)
{
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? -1 : 1;
    if (a->s && b->s) {
        size_t n = a->slen < b->slen ? a->slen : b->slen;
        int c = memcmp(a->s, b->s, n);
        if (c)
            return c < 0 ? -1 : 1;
        if (a->slen != b->slen)
            return a->slen < b->slen ? -1 : 1;
    }
    if (a->k2 != b->k2)
        return a->k2 < b->k2 ? -1 : 1;
    return 0;
}

/* ---- sorting a run ------------------------------------------------------- */

/* Radix digits of 11 bits: 6 per 64-bit key (the last of 9 bits), and
 * the class; LSD order: k2's, then k1's, then cls. */
#define RBITS 11
#define RSIZE (1 << RBITS)
#define NDIGITS 13

static unsigned digit(const struct xs_ent *e, int d)
{
    if (d < 6)
        return (unsigned)(e->k2 >> (RBITS * d)) & (RSIZE - 1);
    if (d < 12)
        return (unsigned)(e->k1 >> (RBITS * (d - 6))) & (RSIZE - 1);
    return e->cls;
}

void xs_radix_sort(struct xs_ent *e, struct xs_ent *tmp, size_t n)
{
    if (n < 2)
        return;
    /* The digits where some entry differs from the first: only those are
     * counted and sorted on (user ids and times vary in a few low ones). */
    uint64_t d1 = 0, d2 = 0;
    unsigned dc = 0;
    for (size_t i = 1; i < n; i++) {
        d1 |= e[i].k1 ^ e[0].k1;
        d2 |= e[i].k2 ^ e[0].k2;
        dc |= e[i].cls ^ e[0].cls;
    }
    int use[NDIGITS], nuse = 0;
    for (int d = 0; d < NDIGITS; d++) {
        uint64_t bits = d < 6 ? d2 >> (RBITS * d) : d < 12 ? d1 >> (RBITS * (d - 6)) : dc;
        if (bits & (RSIZE - 1))
            use[nuse++] = d;
    }
    size_t (*cnt)[RSIZE] = xcalloc(NDIGITS, sizeof *cnt);
    for (size_t i = 0; i < n; i++)
        for (int u = 0; u < nuse; u++)
            cnt[use[u]][digit(&e[i], use[u])]++;
    struct xs_ent *src = e, *dst = tmp;
    for (int u = 0; u < nuse; u++) {
        int d = use[u];
        size_t sum = 0;
        for (int b = 0; b < RSIZE; b++) {
            size_t c = cnt[d][b];
            cnt[d][b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[cnt[d][digit(&src[i], d)]++] = src[i];
        struct xs_ent *t = src;
        src = dst;
        dst = t;
    }
    if (src != e)
        memcpy(e, src, n * sizeof *e);
    free(cnt);
}

/* What tie_cmp needs: the key function and the run's records. */
struct tie_ctx {
    xs_key_fn *key;
    const char *arena;
};

static int tie_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct tie_ctx *t = ctx;
    const struct xs_ent *a = pa, *b = pb;
    struct xs_key ka, kb;
    t->key(t->arena + a->off, a->len, &ka);
    t->key(t->arena + b->off, b->len, &kb);
    int c = key_cmp(&ka, &kb);
    if (c)
        return c;
    return a->off < b->off ? -1 : a->off > b->off;   /* the order added */
}

/* Strings longer than 8 bytes (or of different lengths) that share their
 * first 8 bytes were sorted by time only: sort those groups fully. */
static void fix_ties(struct runbuf *b, xs_key_fn *keyfn)
{
    struct tie_ctx t = {keyfn, b->arena};
    size_t i = 0;
    while (i < b->n) {
        size_t j = i + 1;
        if (b->ent[i].cls == 1)
            while (j < b->n && b->ent[j].cls == 1 && b->ent[j].k1 == b->ent[i].k1)
                j++;
        if (j - i > 1) {
            bool need = false;
            uint32_t len0 = UINT32_MAX;
            for (size_t k = i; k < j && !need; k++) {
                struct xs_key key;
                keyfn(b->arena + b->ent[k].off, b->ent[k].len, &key);
                if (len0 == UINT32_MAX)
                    len0 = key.slen;
                need = key.slen >= 8 || key.slen != len0;
            }
            if (need)
                qsort_r(b->ent + i, j - i, sizeof *b->ent, tie_cmp, &t);
        }
        i = j;
    }
}

static void sort_run(struct runbuf *b, xs_key_fn *keyfn)
{
    if (b->tcap < b->n) {
        free(b->tmp);
        b->tmp = xreallocarray(NULL, b->ecap, sizeof *b->tmp);
        b->tcap = b->ecap;
    }
    xs_radix_sort(b->ent, b->tmp, b->n);
    fix_ties(b, keyfn);
}

static void push_run(xs *s, char *path)
{
    XGROW(s->runs, s->caprun, s->nruns + 1);
    s->runs[s->nruns++] = path;
}

/* Create the run file at path (from xs_temp_path, on the caller's thread). */
static struct run_file *run_create(char *path)
{
    struct run_file *f = xcalloc(1, sizeof *f);
    f->path = path;
    f->fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (f->fd < 0)
        die_errno("%s", path);
    f->cap = RUN_BUF;
    f->buf = xmalloc(f->cap);
    return f;
}

static void run_flush(struct run_file *f)
{
    size_t done = 0;
    while (done < f->len) {
        ssize_t w = write(f->fd, f->buf + done, f->len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die_errno("%s", f->path);
        done += (size_t)w;
    }
    f->len = 0;
}

static void put_u64(char *o, uint64_t v) { memcpy(o, &v, 8); }
static uint64_t get_u64(const char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void run_put(struct run_file *f, const struct xs_ent *e, const char *rec)
{
    if (f->len + FRAME + e->len > f->cap) {
        run_flush(f);
        if (FRAME + e->len > f->cap) {
            f->cap = FRAME + e->len;
            f->buf = xrealloc(f->buf, f->cap);
        }
    }
    char *o = f->buf + f->len;
    uint32_t len = e->len;
    memcpy(o, &len, 4);
    o[4] = (char)e->cls;
    put_u64(o + 5, e->k1);
    put_u64(o + 13, e->k2);
    memcpy(o + FRAME, rec, e->len);
    f->len += FRAME + e->len;
}

/* Close a run file (flushing it when written); the path is not freed. */
static void run_close(struct run_file *f, bool written)
{
    if (!f)
        return;
    if (written) {
        run_flush(f);
        if (close(f->fd) != 0)
            die_errno("%s", f->path);
    } else {
        close(f->fd);
    }
    free(f->buf);
    free(f);
}

static struct run_file *run_open(const char *path)
{
    struct run_file *f = xcalloc(1, sizeof *f);
    f->path = (char *)path;
    f->fd = open(path, O_RDONLY);
    if (f->fd < 0)
        die_errno("%s", path);
    f->cap = RUN_BUF;
    f->buf = xmalloc(f->cap);
    return f;
}

/* Have at least want bytes unread; false at the end of the file. */
static bool run_fill(struct run_file *f, size_t want)
{
    if (f->len - f->pos >= want)
        return true;
    memmove(f->buf, f->buf + f->pos, f->len - f->pos);
    f->len -= f->pos;
    f->pos = 0;
    if (want > f->cap) {
        f->cap = want;
        f->buf = xrealloc(f->buf, f->cap);
    }
    while (f->len < want) {
        ssize_t r = read(f->fd, f->buf + f->len, f->cap - f->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            die_errno("%s", f->path);
        if (r == 0)
            break;
        f->len += (size_t)r;
    }
    return f->len - f->pos >= want;
}

/* The next record of a run file and its entry; false at its end. */
static bool run_get(struct run_file *f, struct xs_ent *e, const char **rec)
{
    if (!run_fill(f, FRAME)) {
        if (f->len != f->pos)
            die("%s: truncated sort run", f->path);
        return false;
    }
    const char *p = f->buf + f->pos;
    uint32_t len;
    memcpy(&len, p, 4);
    e->len = len;
    e->cls = (uint8_t)p[4];
    e->k1 = get_u64(p + 5);
    e->k2 = get_u64(p + 13);
    if (!run_fill(f, FRAME + (size_t)len))
        die("%s: truncated sort run", f->path);
    *rec = f->buf + f->pos + FRAME;
    f->pos += FRAME + (size_t)len;
    return true;
}

/* Sort a run and write it to path. */
static void write_run(struct runbuf *b, xs_key_fn *keyfn, char *path)
{
    sort_run(b, keyfn);
    struct run_file *f = run_create(path);
    for (size_t i = 0; i < b->n; i++) {
        if (i + PREFETCH < b->n)
            __builtin_prefetch(b->arena + b->ent[i + PREFETCH].off);
        run_put(f, &b->ent[i], b->arena + b->ent[i].off);
    }
    run_close(f, true);
}

static void *spiller_main(void *arg)
{
    xs *s = arg;
    write_run(&s->bg, s->key, s->bg_path);
    return NULL;
}

/* The run in bg is on disk: note it, and free bg for the next. */
static void spill_done(xs *s)
{
    push_run(s, s->bg_path);
    s->bg_path = NULL;
    s->spilled++;
    s->bg.alen = 0;
    s->bg.n = 0;
}

/* Wait for the run being spilled, if any. */
static void spill_wait(xs *s)
{
    if (!s->spilling)
        return;
    pthread_join(s->spiller, NULL);
    s->spilling = false;
    spill_done(s);
}

/* The current run is full: it is sorted and written on a second thread
 * while the other buffers fill (without a thread, here and now). */
static void spill(xs *s)
{
    spill_wait(s);
    struct runbuf full = s->cur;
    s->cur = s->bg;
    s->bg = full;
    s->bg_path = xs_temp_path(s);
    if (pthread_create(&s->spiller, NULL, spiller_main, s) == 0) {
        s->spilling = true;
        return;
    }
    write_run(&s->bg, s->key, s->bg_path);
    spill_done(s);
}

/* ---- adding ---------------------------------------------------------------- */

/* Large buffers read at random places: huge pages save TLB misses. */
static void huge(void *p, size_t n)
{
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
    if (n > (2u << 20) && a < (uintptr_t)p + n)
        madvise((void *)a, (uintptr_t)p + n - a, MADV_HUGEPAGE);
}

xs *xs_new(uint64_t mem, const char *tmpdir, xs_key_fn *key)
{
    xs *s = xcalloc(1, sizeof *s);
    s->mem = mem > RESERVE + (2 << 20) ? mem - RESERVE : (2 << 20);
    s->budget = s->mem / 2;
    s->key = key;
    if (!tmpdir || !*tmpdir)
        tmpdir = getenv("TMPDIR");
    s->tmpdir = xstrdup(tmpdir && *tmpdir ? tmpdir : "/tmp");
    s->m.last = -1;
    return s;
}

static void add(xs *s, const char *rec, size_t len, const struct xs_key *known)
{
    CHECK(!s->finished);
    CHECK(len < UINT32_MAX);
    const size_t per = 2 * sizeof(struct xs_ent);
    if (s->cur.n > 0 && s->cur.alen + len + (s->cur.n + 1) * per > s->budget)
        spill(s);
    if (!s->cur.arena) {
        /* Allocated once at the full size: pages cost memory only when
         * touched, and growing by copies would leave freed copies behind. */
        s->cur.acap = s->budget;
        s->cur.arena = xmalloc(s->cur.acap);
        huge(s->cur.arena, s->cur.acap);
        s->cur.ecap = s->budget / per + 1;
        s->cur.ent = xreallocarray(NULL, s->cur.ecap, sizeof *s->cur.ent);
        huge(s->cur.ent, s->cur.ecap * sizeof *s->cur.ent);
    }
    if (s->cur.alen + len > s->cur.acap) {
        /* One record larger than the budget: it makes a run alone. */
        s->cur.acap = s->cur.alen + len;
        s->cur.arena = xrealloc(s->cur.arena, s->cur.acap);
    }
    memcpy(s->cur.arena + s->cur.alen, rec, len);
    struct xs_key k;
    if (!known) {
        s->key(s->cur.arena + s->cur.alen, len, &k);
        known = &k;
    }
    s->cur.ent[s->cur.n++] = (struct xs_ent){known->k1, known->k2, s->cur.alen, (uint32_t)len, known->cls};
    s->cur.alen += len;
}

void xs_add(xs *s, const char *rec, size_t len) { add(s, rec, len, NULL); }

void xs_add_key(xs *s, const char *rec, size_t len, const struct xs_key *key) { add(s, rec, len, key); }

/* ---- merging ---------------------------------------------------------------- */

static bool src_less(const struct merge *m, size_t a, size_t b)
{
    int c = key_cmp(&m->src[a].key, &m->src[b].key);
    return c < 0 || (c == 0 && a < b);
}

static void sift_down(struct merge *m, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        if (l < m->nheap && src_less(m, m->heap[l], m->heap[best]))
            best = l;
        if (l + 1 < m->nheap && src_less(m, m->heap[l + 1], m->heap[best]))
            best = l + 1;
        if (best == i)
            return;
        size_t t = m->heap[i];
        m->heap[i] = m->heap[best];
        m->heap[best] = t;
        i = best;
    }
}

/* The key of a record with its entry: only a string's bytes need the
 * record (and the key function). */
static void entry_key(xs *s, const struct xs_ent *e, const char *rec, struct xs_key *key)
{
    if (e->cls == 1) {
        s->key(rec, e->len, key);
    } else {
        key->cls = e->cls;
        key->k1 = e->k1;
        key->k2 = e->k2;
        key->s = NULL;
        key->slen = 0;
    }
}

/* Read the source's next record; false when it has none. */
static bool src_advance(xs *s, struct src *x)
{
    if (!x->f) {
        if (x->pos >= s->cur.n)
            return false;
        if (x->pos + PREFETCH < s->cur.n)
            __builtin_prefetch(s->cur.arena + s->cur.ent[x->pos + PREFETCH].off);
        const struct xs_ent *e = &s->cur.ent[x->pos++];
        x->rec = s->cur.arena + e->off;
        x->len = e->len;
        entry_key(s, e, x->rec, &x->key);
        return true;
    }
    struct xs_ent e;
    if (!run_get(x->f, &e, &x->rec)) {
        run_close(x->f, false);
        x->f = NULL;
        unlink(x->path);
        x->pos = SIZE_MAX;
        return false;
    }
    x->len = e.len;
    entry_key(s, &e, x->rec, &x->key);
    return true;
}

/* Merge the runs at paths, and the sorted run in memory if with_mem (it
 * is the latest input, so it comes last). */
static void merge_open(xs *s, struct merge *m, char **paths, size_t n, bool with_mem)
{
    size_t k = n + with_mem;
    m->src = xcalloc(k, sizeof *m->src);
    m->heap = xcalloc(k, sizeof *m->heap);
    m->nsrc = k;
    m->nheap = 0;
    m->last = -1;
    for (size_t i = 0; i < k; i++) {
        struct src *x = &m->src[i];
        if (i < n) {
            x->path = paths[i];
            x->f = run_open(x->path);
        }
        if (src_advance(s, x))
            m->heap[m->nheap++] = i;
    }
    for (size_t i = m->nheap / 2; i-- > 0;)
        sift_down(m, i);
}

static bool merge_next(xs *s, struct merge *m, const char **rec, size_t *len)
{
    if (m->last >= 0) {
        /* The record returned last time is no longer needed. */
        if (!src_advance(s, &m->src[m->last]))
            m->heap[0] = m->heap[--m->nheap];
        sift_down(m, 0);
        m->last = -1;
    }
    if (m->nheap == 0)
        return false;
    struct src *x = &m->src[m->heap[0]];
    m->last = (long)m->heap[0];
    *rec = x->rec;
    *len = x->len;
    return true;
}

static void merge_close(struct merge *m)
{
    for (size_t i = 0; i < m->nsrc; i++) {
        struct src *x = &m->src[i];
        if (x->f && x->path) {
            run_close(x->f, false);
            unlink(x->path);
        }
        free(x->path);
    }
    free(m->src);
    free(m->heap);
    memset(m, 0, sizeof *m);
    m->last = -1;
}

/* Merge runs[first .. first+n) into one new run. */
static char *merge_group(xs *s, size_t first, size_t n)
{
    struct merge m;
    merge_open(s, &m, s->runs + first, n, false);
    char *path = xs_temp_path(s);
    struct run_file *f = run_create(path);
    const char *rec;
    size_t len;
    while (merge_next(s, &m, &rec, &len)) {
        const struct xs_key *k = &m.src[m.last].key;
        struct xs_ent e = {k->k1, k->k2, 0, (uint32_t)len, k->cls};
        run_put(f, &e, rec);
    }
    run_close(f, true);
    merge_close(&m);
    return path;
}

static void runbuf_free(struct runbuf *b)
{
    free(b->arena);
    free(b->ent);
    free(b->tmp);
    memset(b, 0, sizeof *b);
}

void xs_finish(xs *s)
{
    CHECK(!s->finished);
    s->finished = true;
    spill_wait(s);
    runbuf_free(&s->bg);
    if (s->nruns == 0) {
        sort_run(&s->cur, s->key);
        s->in_memory = true;
        s->pos = 0;
        return;
    }
    /* Merging has all the memory: both runs' buffers are done with. */
    uint64_t fanin = s->mem / PER_RUN;
    if (fanin < 2)
        fanin = 2;
    if (fanin > MAX_FANIN)
        fanin = MAX_FANIN;
    /* The last run stays in memory if the merge's readers fit beside it;
     * else everything goes to disk and the merge has the whole budget. */
    uint64_t run_bytes = s->cur.alen + s->cur.n * 2 * sizeof(struct xs_ent);
    bool keep = s->cur.n > 0 && s->nruns + 1 <= fanin && s->nruns * PER_RUN + run_bytes <= s->mem;
    if (keep) {
        sort_run(&s->cur, s->key);
        free(s->cur.tmp);
        s->cur.tmp = NULL;
        s->cur.tcap = 0;
    } else {
        if (s->cur.n > 0) {
            spill(s);
            spill_wait(s);
        }
        runbuf_free(&s->cur);
        runbuf_free(&s->bg);
    }
    while (s->nruns > fanin) {
        size_t out = 0;
        for (size_t i = 0; i < s->nruns; i += fanin) {
            size_t k = s->nruns - i < fanin ? s->nruns - i : fanin;
            s->runs[out++] = k == 1 ? s->runs[i] : merge_group(s, i, k);
        }
        s->nruns = out;
    }
    merge_open(s, &s->m, s->runs, s->nruns, keep);
    /* The merge owns the paths now. */
    s->nruns = 0;
}

bool xs_next(xs *s, const char **rec, size_t *len)
{
    CHECK(s->finished);
    if (s->in_memory) {
        if (s->pos >= s->cur.n)
            return false;
        if (s->pos + PREFETCH < s->cur.n)
            __builtin_prefetch(s->cur.arena + s->cur.ent[s->pos + PREFETCH].off);
        const struct xs_ent *e = &s->cur.ent[s->pos++];
        *rec = s->cur.arena + e->off;
        *len = e->len;
        return true;
    }
    return merge_next(s, &s->m, rec, len);
}

uint64_t xs_runs(const xs *s) { return s->spilled; }

void xs_free(xs *s)
{
    if (!s)
        return;
    spill_wait(s);
    merge_close(&s->m);
    for (size_t i = 0; i < s->nruns; i++) {
        unlink(s->runs[i]);
        free(s->runs[i]);
    }
    if (s->dir) {
        tmpdir_remove(s->dir);
        for (int i = 0; i < MAX_DIRS; i++)
            if (dirs[i] == s->dir)
                dirs[i] = NULL, owners[i] = NULL;
        free(s->dir);
    }
    free(s->runs);
    runbuf_free(&s->cur);
    runbuf_free(&s->bg);
    free(s->bg_path);
    free(s->tmpdir);
    free(s);
}
