/* libFuzzer target: the stream reader on arbitrary bytes.  Every input must
 * end in records or in a clean diagnostic (die traps back here), never in
 * a crash, a hang or a huge allocation. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>

#include "diag.h"
#include "fuzz_file.h"
#include "rec.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rs *r;   /* static: still reachable after a trapped die */
    char path[64];
    int fd = fuzz_file(data, size, path);
    if (fd < 0)
        return 0;
    const char *paths[] = {path};
    jmp_buf jb;
    diag_set_trap(&jb);
    r = rs_new(paths, 1, NULL);
    if (setjmp(jb) == 0) {
        rs_start(r);
        while (rs_next(r)) {
            const msgpack_object *rec = rs_rec(r);
            double d;
            int64_t i;
            const char *s;
            size_t n;
            (void)rec;
            rec_opt_f64(r, "price", &d);
            rec_opt_i64(r, "user", &i);
            rec_opt_str(r, "event", &s, &n);
        }
    }
    diag_set_trap(NULL);
    rs_free(r);
    r = NULL;
    close(fd);
    return 0;
}
