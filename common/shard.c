#include "shard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "tmpdir.h"
#include "numfmt.h"
#include "rec.h"
#include "siphash.h"
#include "xalloc.h"

/* ---- the key and its hash ------------------------------------------------ */

bool shard_key_bytes(const msgpack_object *v, char *buf, const char **key, size_t *len)
{
    double f;
    switch (v->type) {
    case MSGPACK_OBJECT_STR:
        *key = v->via.str.ptr;
        *len = v->via.str.size;
        return true;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *len = (size_t)snprintf(buf, NUM_BUF, "%llu", (unsigned long long)v->via.u64);
        *key = buf;
        return true;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *len = (size_t)snprintf(buf, NUM_BUF, "%lld", (long long)v->via.i64);
        *key = buf;
        return true;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        f = v->via.f64;
        /* An integral float is the integer it holds (12346.0 is 12346, as
         * promo-clean reads ids); -0.0 is 0. */
        if (f == floor(f) && f >= -0x1p63 && f < 0x1p63)
            *len = (size_t)snprintf(buf, NUM_BUF, "%lld", (long long)f);
        else if (v->type == MSGPACK_OBJECT_FLOAT32)
            *len = (size_t)num_fmt_f32(buf, (float)f);
        else
            *len = (size_t)num_fmt_f64(buf, f);
        *key = buf;
        return true;
    default:
        return false;
    }
}

bool shard_key_hash(const msgpack_object *v, uint64_t *hash)
{
    char buf[NUM_BUF];
    const char *key;
    size_t len;
    if (!shard_key_bytes(v, buf, &key, &len))
        return false;
    *hash = sip_hash(&sip_public_key, key, len);
    return true;
}

uint32_t shard_of_record(rs *r, const char *field, uint32_t n, int64_t missing_to)
{
    const msgpack_object *v = rec_field(r, field);
    uint64_t h;
    if (v && shard_key_hash(v, &h))
        return shard_of(h, n);
    if (missing_to >= 0)
        return (uint32_t)missing_to;
    if (!v)
        rs_die(r, "field \"%s\": missing, so the record has no shard (--missing-to I puts such records in shard I)",
               field);
    rs_die(r, "field \"%s\": expected a string or a number to shard by, got %s", field, mp_type_name(v));
}

/* ---- the private directory, removed on failure --------------------------- */

/* One split per process; the hook needs its path without allocating. */
static char *live_tmpdir;

static void remove_live_tmpdir(void)
{
    if (live_tmpdir)
        tmpdir_remove(live_tmpdir);
}

/* part-NNNNN.mpz, the only names a directory we replace may hold. */
static bool is_part_name(const char *s)
{
    if (strncmp(s, "part-", 5) != 0)
        return false;
    s += 5;
    int digits = 0;
    while (*s >= '0' && *s <= '9')
        s++, digits++;
    return digits >= 5 && strcmp(s, ".mpz") == 0;
}

/* An existing DIR must be a directory of parts (or empty): replacing it
 * must never remove anything else. */
static void check_replaceable(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT)
            return;
        die_errno("%s", dir);
    }
    if (!S_ISDIR(st.st_mode))
        die("%s: exists and is not a directory; --split writes a directory of parts", dir);
    DIR *d = opendir(dir);
    if (!d)
        die_errno("%s", dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 || is_part_name(de->d_name))
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s", de->d_name);
        closedir(d);
        die("%s: holds \"%s\", not only part-NNNNN.mpz files; not replacing it", dir, name);
    }
    closedir(d);
}

/* ---- the split ------------------------------------------------------------ */

struct shard_split {
    char *dir;       /* the final directory */
    char *tmp;       /* the private directory beside it */
    uint32_t n;
    int level;
    FILE **spool;    /* per shard: records as (uint32 length, bytes), opened on first use */
    char *buf;       /* one record read back, reused */
    size_t cap;
    /* A copy of the header (the reader's dies with its buffers): its
     * bytes, and the object unpacked from them, whose strings point there. */
    msgpack_sbuffer hbytes;
    msgpack_zone *zone;
    msgpack_object hdr;
};

static char *part_path(const char *dir, const char *what, uint32_t i)
{
    size_t n = strlen(dir) + 32;
    char *p = xmalloc(n);
    snprintf(p, n, "%s/%s-%05u%s", dir, what, i, strcmp(what, "part") == 0 ? ".mpz" : "");
    return p;
}

/* One spool file per shard stays open: make sure the limit allows it. */
static void ensure_open_files(uint32_t n)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)n + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        die("--split %u needs %llu open files, and the limit is %llu (ulimit -n)",
            n, (unsigned long long)want, (unsigned long long)rl.rlim_cur);
}

shard_split *shard_split_open(const char *dir, uint32_t n, int level, const msgpack_object *hdr)
{
    CHECK(n >= 1 && n <= SHARD_SPLIT_MAX && !live_tmpdir);
    shard_split *s = xcalloc(1, sizeof *s);
    s->dir = xstrdup(dir);
    for (size_t k = strlen(s->dir); k > 1 && s->dir[k - 1] == '/'; k--)
        s->dir[k - 1] = '\0';
    const char *base = strrchr(s->dir, '/');
    base = base ? base + 1 : s->dir;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        die_usage("--split: -o needs a directory name to create or replace, got \"%s\"", dir);
    check_replaceable(s->dir);
    ensure_open_files(n);
    s->n = n;
    s->level = level;
    size_t len = strlen(s->dir) + 16;
    s->tmp = xmalloc(len);
    snprintf(s->tmp, len, "%s.tmp.XXXXXX", s->dir);
    diag_on_exit(remove_live_tmpdir);
    if (!mkdtemp(s->tmp))
        die_errno("%s: cannot create a directory beside it", s->dir);
    live_tmpdir = s->tmp;
    /* mkdtemp makes 0700; the parts' directory gets the usual mode. */
    mode_t mask = umask(0);
    umask(mask);
    chmod(s->tmp, 0777 & ~mask);
    s->spool = xcalloc(n, sizeof *s->spool);
    /* Keep a copy of the header: pack it, unpack it into our own zone. */
    msgpack_sbuffer_init(&s->hbytes);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s->hbytes, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *hdr);
    s->zone = msgpack_zone_new(4096);
    size_t off = 0;
    if (!s->zone || msgpack_unpack(s->hbytes.data, s->hbytes.size, &off, s->zone, &s->hdr) != MSGPACK_UNPACK_SUCCESS)
        die("out of memory copying the stream header");
    return s;
}

void shard_split_put(shard_split *s, uint32_t i, const char *raw, size_t len)
{
    CHECK(i < s->n && len <= UINT32_MAX);
    if (!s->spool[i]) {
        char *p = part_path(s->tmp, "spool", i);
        if (!(s->spool[i] = fopen(p, "w+b")))
            die_errno("%s", p);
        setvbuf(s->spool[i], NULL, _IOFBF, 8192);
        free(p);
    }
    uint32_t n32 = (uint32_t)len;
    if (fwrite(&n32, sizeof n32, 1, s->spool[i]) != 1 || fwrite(raw, 1, len, s->spool[i]) != len)
        die_errno("%s: cannot write a spool file", s->tmp);
}

/* Part i from its spool: the header, then the spooled records in order. */
static void write_part(shard_split *s, uint32_t i)
{
    char *path = part_path(s->tmp, "part", i);
    ws *w = ws_open(path, s->level);
    ws_header_raw(w, &s->hdr);
    FILE *f = s->spool[i];
    if (f) {
        if (fflush(f) != 0 || ferror(f) || fseek(f, 0, SEEK_SET) != 0)
            die_errno("%s: cannot write a spool file", s->tmp);
        uint32_t len;
        while (fread(&len, sizeof len, 1, f) == 1) {
            XGROW(s->buf, s->cap, len);
            if (fread(s->buf, 1, len, f) != len)
                die("%s: a spool file ends early", s->tmp);
            ws_raw(w, s->buf, len);
        }
        if (ferror(f))
            die_errno("%s: cannot read a spool file", s->tmp);
        fclose(f);
        s->spool[i] = NULL;
        char *p = part_path(s->tmp, "spool", i);
        unlink(p);
        free(p);
    }
    ws_close(w);
    free(path);
}

/* Swap the new directory into place: atomically when the file system can
 * exchange two names, else by two renames with the old one set aside. */
static void put_in_place(shard_split *s)
{
    struct stat st;
    if (stat(s->dir, &st) != 0) {
        if (rename(s->tmp, s->dir) != 0)
            die_errno("%s: cannot rename %s into place", s->dir, s->tmp);
        return;
    }
    check_replaceable(s->dir);
    if (renameat2(AT_FDCWD, s->tmp, AT_FDCWD, s->dir, RENAME_EXCHANGE) == 0) {
        tmpdir_remove(s->tmp);   /* now the old parts */
        return;
    }
    size_t len = strlen(s->dir) + 16;
    char *old = xmalloc(len);
    snprintf(old, len, "%s.old.XXXXXX", s->dir);
    if (!mkdtemp(old) || rename(s->dir, old) != 0)
        die_errno("%s: cannot set the old directory aside", s->dir);
    if (rename(s->tmp, s->dir) != 0) {
        int e = errno;
        rename(old, s->dir);
        errno = e;
        die_errno("%s: cannot rename %s into place", s->dir, s->tmp);
    }
    tmpdir_remove(old);
    free(old);
}

void shard_split_commit(shard_split *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        write_part(s, i);
    put_in_place(s);
    live_tmpdir = NULL;
    free(s->spool);
    free(s->buf);
    free(s->tmp);
    free(s->dir);
    msgpack_zone_free(s->zone);
    msgpack_sbuffer_destroy(&s->hbytes);
    free(s);
}
