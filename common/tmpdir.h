/* tmpdir: private temporary directories of plain files. */
#ifndef PROMO_TMPDIR_H
#define PROMO_TMPDIR_H

/* Remove dir and the files in it (it holds no subdirectories).  Quiet:
 * it also runs from exit hooks, where there is nobody left to tell. */
void tmpdir_remove(const char *dir);

#endif
