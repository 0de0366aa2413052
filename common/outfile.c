#include "outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diag.h"
#include "pipesize.h"
#include "xalloc.h"

struct ofile {
    FILE *fp;
    char *path;   /* final name, NULL for stdout */
    char *tmp;    /* temporary name while writing */
};

/* Temporary files to remove if the process dies; fixed size keeps the
 * signal handler free of allocation. */
#define MAX_TMP 16
static char *tmp_paths[MAX_TMP];
static bool hook_set;

static void remove_tmps(void)
{
    for (int i = 0; i < MAX_TMP; i++)
        if (tmp_paths[i])
            unlink(tmp_paths[i]);
}

static void track(char *tmp, bool on)
{
    for (int i = 0; i < MAX_TMP; i++) {
        if (on && !tmp_paths[i]) {
            tmp_paths[i] = tmp;
            return;
        }
        if (!on && tmp_paths[i] == tmp) {
            tmp_paths[i] = NULL;
            return;
        }
    }
    CHECK(!on);
}

ofile *of_open(const char *path)
{
    ofile *of = xcalloc(1, sizeof *of);
    if (!path || strcmp(path, "-") == 0) {
        of->fp = stdout;
        pipe_grow(STDOUT_FILENO);
        return of;
    }
    /* A device or a pipe (-o /dev/null, a FIFO) is written as it is:
     * renaming a temporary file over it would replace it by a file. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        of->path = xstrdup(path);
        of->fp = fopen(path, "wb");
        if (!of->fp)
            die_errno("%s", path);
        return of;
    }
    if (!hook_set) {
        diag_on_exit(remove_tmps);
        hook_set = true;
    }
    of->path = xstrdup(path);
    size_t n = strlen(path) + 16;
    of->tmp = xmalloc(n);
    snprintf(of->tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(of->tmp);
    if (fd < 0)
        die_errno("%s: cannot create a temporary file beside it", path);
    track(of->tmp, true);
    /* mkstemp makes 0600; outputs get the usual umask-based mode. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    of->fp = fdopen(fd, "wb");
    if (!of->fp)
        die_errno("%s", of->tmp);
    return of;
}

FILE *of_fp(const ofile *of) { return of->fp; }
bool of_is_stdout(const ofile *of) { return of->path == NULL; }
const char *of_name(const ofile *of) { return of->path ? of->path : "stdout"; }

void of_refuse_tty(const ofile *of)
{
    if (!of->path && isatty(STDOUT_FILENO))
        die_usage("refusing to write binary data to a terminal; use -o FILE or a pipe");
}

void of_commit(ofile *of)
{
    if (!of)
        return;
    if (!of->path) {
        if (fflush(stdout) != 0 || ferror(stdout))
            die_errno("stdout: write error");
        free(of);
        return;
    }
    if (fflush(of->fp) != 0 || ferror(of->fp))
        die_errno("%s: write error", of->path);
    if (fclose(of->fp) != 0)
        die_errno("%s: write error", of->path);
    of->fp = NULL;
    if (!of->tmp) {   /* a device or a pipe, written in place */
        free(of->path);
        free(of);
        return;
    }
    if (rename(of->tmp, of->path) != 0)
        die_errno("%s: cannot rename %s into place", of->path, of->tmp);
    track(of->tmp, false);
    free(of->tmp);
    free(of->path);
    free(of);
}

void of_abort(ofile *of)
{
    if (!of || !of->path)
        return;
    if (of->fp)
        fclose(of->fp);
    if (!of->tmp) {
        free(of->path);
        free(of);
        return;
    }
    unlink(of->tmp);
    track(of->tmp, false);
    free(of->tmp);
    free(of->path);
    free(of);
}
