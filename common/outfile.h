/* outfile: outputs that appear whole or not at all.
 * A named output is written to a temporary file beside it and renamed over
 * it only by of_commit; die() and fatal signals remove the temporary file,
 * so a failed run never leaves a partial file nor destroys a good one.
 * stdout is used as it is, and its final flush and close are checked. */
#ifndef PROMO_OUTFILE_H
#define PROMO_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

typedef struct ofile ofile;

/* path NULL or "-" means stdout. */
ofile *of_open(const char *path);
FILE *of_fp(const ofile *of);
bool of_is_stdout(const ofile *of);
const char *of_name(const ofile *of);
/* Flush, check, close and rename into place; dies on any error. */
void of_commit(ofile *of);
/* Remove the temporary file (after an error the caller reports). */
void of_abort(ofile *of);
/* Die unless writing binary data to of is fine (not a terminal). */
void of_refuse_tty(const ofile *of);

#endif
