/* pipesize: larger pipe buffers between the programs of a pipeline. */
#ifndef PROMO_PIPESIZE_H
#define PROMO_PIPESIZE_H

/* If fd is a pipe, ask for a 1 MiB buffer instead of Linux's 64 KiB: a
 * stream crosses it with 16 times fewer wake-ups of reader and writer.
 * Quietly does nothing where that is not possible. */
void pipe_grow(int fd);

#endif
