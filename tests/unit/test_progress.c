/* test_progress: with stderr (and stdout) redirected to temporary files,
 * forced progress writes lines with the count to stderr only; unforced off
 * a terminal, or under -q, it writes nothing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "diag.h"
#include "progress.h"

/* A temporary file standing in for fd, restored by capture_end. */
struct capture {
    int fd, saved, tmp;
};

static void capture_begin(struct capture *c, int fd)
{
    char path[] = "/tmp/test_progress.XXXXXX";
    fflush(fd == STDOUT_FILENO ? stdout : stderr);
    c->fd = fd;
    c->tmp = mkstemp(path);
    CHECK(c->tmp >= 0);
    unlink(path);
    c->saved = dup(fd);
    CHECK(c->saved >= 0 && dup2(c->tmp, fd) == fd);
}

/* Restore fd and return what was written to it (malloc'd). */
static char *capture_end(struct capture *c)
{
    fflush(c->fd == STDOUT_FILENO ? stdout : stderr);
    CHECK(dup2(c->saved, c->fd) == c->fd);
    close(c->saved);
    off_t len = lseek(c->tmp, 0, SEEK_END);
    CHECK(len >= 0);
    char *text = calloc((size_t)len + 1, 1);
    CHECK(text && pread(c->tmp, text, (size_t)len, 0) == len);
    close(c->tmp);
    return text;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Tick for about 0.7 s, 65536 units per 20 ms, then finish: enough time for
 * two tick lines at four per second.  Returns the final count. */
static unsigned long long run(bool forced)
{
    struct progress p;
    prog_init(&p, "records", forced);
    unsigned long long done = 0;
    double start = now();
    while (now() - start < 0.7) {
        for (int i = 0; i < 65536; i++)
            prog_tick(&p, ++done);
        nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
    }
    prog_done(&p);
    return done;
}

static int count_lines(const char *s, const char *prefix)
{
    int n = 0;
    for (const char *line = s; *line; ) {
        const char *end = strchr(line, '\n');
        n += strncmp(line, prefix, strlen(prefix)) == 0;
        if (!end)
            break;
        line = end + 1;
    }
    return n;
}

int main(void)
{
    diag_init("promo-cat");
    struct capture err, out;

    capture_begin(&out, STDOUT_FILENO);
    capture_begin(&err, STDERR_FILENO);
    unsigned long long total = run(true);
    char *e = capture_end(&err), *o = capture_end(&out);
    char want[96];
    snprintf(want, sizeof want, "promo-cat: %llu records, ", total);
    int lines = count_lines(e, "promo-cat: ");
    /* At least one line from the ticks, one from prog_done, nothing else. */
    if (!CHECK_TRUE(lines >= 2 && count_lines(e, "") == lines, "forced: ticks and done print lines"))
        printf("#   stderr was: %s\n", e);
    CHECK_TRUE(strstr(e, want) != NULL, "forced: the final line has the total count");
    CHECK_TRUE(strchr(e, '\r') == NULL && e[strlen(e) - 1] == '\n', "forced to a file: \\n lines, no \\r");
    CHECK_TRUE(strstr(e, "/s\n") != NULL, "forced: lines end with the rate");
    CHECK_EQ_STR(o, "", "nothing on stdout");
    free(e);
    free(o);

    capture_begin(&err, STDERR_FILENO);
    run(false);
    e = capture_end(&err);
    CHECK_EQ_STR(e, "", "not forced and stderr not a terminal: silent");
    free(e);

    diag_set_quiet(true);
    capture_begin(&err, STDERR_FILENO);
    run(true);
    e = capture_end(&err);
    CHECK_EQ_STR(e, "", "forced but quiet: silent");
    free(e);

    /* -q set after prog_init silences too. */
    diag_set_quiet(false);
    capture_begin(&err, STDERR_FILENO);
    struct progress p;
    prog_init(&p, "records", true);
    diag_set_quiet(true);
    prog_tick(&p, 10);
    prog_done(&p);
    e = capture_end(&err);
    CHECK_EQ_STR(e, "", "quiet set after prog_init: silent");
    free(e);
    return check_done();
}
