/* libFuzzer target: the stream reader on arbitrary bytes.  Every input must
 * end in records or in a clean diagnostic (die traps back here), never in
 * a crash, a hang or a huge allocation. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "diag.h"
#include "rec.h"
#include "stream.h"

static int feed(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        return -1;
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rs *r;   /* static: still reachable after a trapped die */
    int fd = feed(data, size);
    if (fd < 0)
        return 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
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
