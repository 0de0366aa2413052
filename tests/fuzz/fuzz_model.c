/* libFuzzer target: promo-score's model loading on arbitrary bytes.  A
 * model is a file users pass around and keep for months; a damaged one
 * must end in a clean diagnostic (die traps back here), never in a crash,
 * a hang or a huge allocation.  The seeds are small models of every kind
 * (tools/fuzz makes them), so mutations reach each loader's checks. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "fuzz_file.h"
#include "score.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rs *r;        /* static: still reachable after a trapped die */
    static void *state;
    static const struct scorer *sc;
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0)
        return 0;
    const char *paths[] = {path};
    struct score_opts so = {.recommend = 3, .threads = 1};
    jmp_buf jb;
    diag_set_trap(&jb);
    /* The reader is made before the trap point, so it is freed whatever
     * happens: its buffers are most of what a trapped die would leak. */
    r = rs_new(paths, 1, "model/");
    state = NULL;
    sc = NULL;
    if (setjmp(jb) == 0) {
        rs_start(r);
        for (const struct scorer *const *s = score_table; *s; s++)
            if (strcmp((*s)->kind, rs_kind(r)) == 0)
                sc = *s;
        if (sc)
            state = sc->load(r, &so);
    }
    diag_set_trap(NULL);
    if (state)
        sc->free(state);
    rs_free(r);
    close(fd);
    return 0;
}
