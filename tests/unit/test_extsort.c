/* The external sort: the radix sort against qsort, and spilled, multi-pass
 * merges against an in-memory reference, with string keys that share long
 * prefixes and many equal keys (the order of adding must be kept). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <msgpack.h>

#include "check.h"
#include "events.h"
#include "extsort.h"
#include "rng.h"

/* ---- the radix sort -------------------------------------------------------- */

static int cmp_ent(const void *pa, const void *pb)
{
    const struct xs_ent *a = pa, *b = pb;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? -1 : 1;
    if (a->k2 != b->k2)
        return a->k2 < b->k2 ? -1 : 1;
    return (a->off > b->off) - (a->off < b->off);   /* stability */
}

static void test_radix(void)
{
    struct rng r;
    rng_init(&r, 3);
    size_t sizes[] = {0, 1, 2, 17, 1000, 100000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        struct xs_ent *a = calloc(n + 1, sizeof *a), *b = calloc(n + 1, sizeof *b),
                      *t = calloc(n + 1, sizeof *t);
        for (size_t i = 0; i < n; i++) {
            /* Narrow and wide keys, many ties. */
            a[i].cls = (uint8_t)rng_below(&r, 2);
            a[i].k1 = s % 2 ? rng_below(&r, 50) : rng_u64(&r);
            a[i].k2 = s % 3 ? rng_below(&r, 1000) << 20 : rng_u64(&r);
            a[i].off = i;
        }
        memcpy(b, a, n * sizeof *a);
        xs_radix_sort(a, t, n);
        qsort(b, n, sizeof *b, cmp_ent);
        char what[64];
        snprintf(what, sizeof what, "radix sort = stable qsort, %zu entries", n);
        CHECK_TRUE(n == 0 || memcmp(a, b, n * sizeof *a) == 0, what);
        free(a);
        free(b);
        free(t);
    }
}

/* ---- the external sort ------------------------------------------------------- */

/* Records {user, ts, session: the order of adding}: user an int or a string. */
struct item {
    bool str;
    int64_t u;
    char s[48];
    int64_t ts;
    int64_t seq;
};

static void key_of(const char *rec, size_t len, struct xs_key *k)
{
    struct ev_raw raw;
    const char *why;
    if (!ev_scan(rec, len, &raw, &why))
        abort();
    if (raw.v[EV_F_USER].t == EV_INT)
        xs_key_int(k, raw.v[EV_F_USER].i);
    else
        xs_key_str(k, raw.v[EV_F_USER].s, raw.v[EV_F_USER].n);
    k->k2 = xs_i64_order(raw.v[EV_F_TS].i);
}

static size_t pack_item(msgpack_sbuffer *sb, const struct item *it)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "user", 4);
    if (it->str) {
        msgpack_pack_str(&pk, strlen(it->s));
        msgpack_pack_str_body(&pk, it->s, strlen(it->s));
    } else {
        msgpack_pack_int64(&pk, it->u);
    }
    msgpack_pack_str(&pk, 2);
    msgpack_pack_str_body(&pk, "ts", 2);
    msgpack_pack_int64(&pk, it->ts);
    msgpack_pack_str(&pk, 7);
    msgpack_pack_str_body(&pk, "session", 7);   /* the order of adding */
    msgpack_pack_int64(&pk, it->seq);
    /* Padding so records are of some size. */
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "pad", 3);
    msgpack_pack_str(&pk, 60);
    msgpack_pack_str_body(&pk, "................................................................", 60);
    return sb->size;
}

static int cmp_item(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    if (a->str != b->str)
        return a->str ? 1 : -1;
    if (!a->str && a->u != b->u)
        return a->u < b->u ? -1 : 1;
    if (a->str) {
        int c = strcmp(a->s, b->s);
        if (c)
            return c < 0 ? -1 : 1;
    }
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Sort n items under mem bytes; compare with qsort. */
static void run(size_t n, uint64_t mem, const char *what)
{
    struct rng r;
    rng_init(&r, n);
    struct item *items = calloc(n + 1, sizeof *items);
    static const char *prefixes[] = {"customer-0000", "customer-0000-long-tail-", "c", "", "customer-00001"};
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        it->str = rng_below(&r, 3) == 0;
        if (it->str)
            snprintf(it->s, sizeof it->s, "%s%u", prefixes[rng_below(&r, 5)], (unsigned)rng_below(&r, 40));
        else
            it->u = (int64_t)rng_below(&r, 300) - 100;
        it->ts = (int64_t)rng_below(&r, 50);   /* many equal (user, ts) pairs */
        it->seq = (int64_t)i;
    }
    char dir[] = "/tmp/test_extsort.XXXXXX";
    if (!mkdtemp(dir))
        abort();
    xs *s = xs_new(mem, dir, key_of);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < n; i++) {
        size_t len = pack_item(&sb, &items[i]);
        xs_add(s, sb.data, len);
    }
    xs_finish(s);
    qsort(items, n, sizeof *items, cmp_item);
    size_t k = 0, wrong = 0;
    const char *rec;
    size_t len;
    while (xs_next(s, &rec, &len)) {
        struct ev_raw raw;
        const char *why;
        if (k < n && (!ev_scan(rec, len, &raw, &why) || raw.v[EV_F_SESSION].t != EV_INT ||
                      raw.v[EV_F_SESSION].i != items[k].seq))
            wrong++;
        k++;
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%s: %zu records back, %llu runs spilled", what, k, (unsigned long long)xs_runs(s));
    CHECK_EQ_INT(k, n, buf);
    snprintf(buf, sizeof buf, "%s: the order of a stable in-memory sort", what);
    CHECK_EQ_INT(wrong, 0, buf);
    xs_free(s);
    snprintf(buf, sizeof buf, "%s: no temporary files left", what);
    CHECK_EQ_INT(count_entries(dir), 0, buf);
    rmdir(dir);
    msgpack_sbuffer_destroy(&sb);
    free(items);
}

int main(void)
{
    test_radix();
    run(0, 64 << 20, "empty");
    run(1000, 64 << 20, "in memory");
    /* 5 MiB leaves 1 MiB for runs: ~10 runs, merged in one pass of 2. */
    run(60000, 5 << 20, "spilled, multi-pass");
    run(30000, 7 << 20, "spilled, the last run kept in memory");
    return check_done();
}
