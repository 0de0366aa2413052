#include "pipesize.h"

#include <fcntl.h>
#include <sys/stat.h>

#define WANT (1 << 20)   /* Linux's default /proc/sys/fs/pipe-max-size */

void pipe_grow(int fd)
{
#ifdef F_SETPIPE_SZ
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < WANT)
        (void)fcntl(fd, F_SETPIPE_SZ, WANT);   /* over a user's limit: keep the default */
#else
    (void)fd;
#endif
}
