/* What every fuzz target starts with: the input bytes as a file the
 * readers can open by name. */
#ifndef PROMO_FUZZ_FILE_H
#define PROMO_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding data[0..size), named in path as /proc/self/fd/N; the fd
 * to close afterwards, or -1 when it could not be made. */
static inline int fuzz_file(const uint8_t *data, size_t size, char path[64])
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, 64, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
