/* xalloc: allocation that dies naming the size it tried, never returns NULL. */
#ifndef PROMO_XALLOC_H
#define PROMO_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for count elements of size bytes, checking the product overflow. */
void *xreallocarray(void *p, size_t count, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Grow *buf (of *cap elements of size bytes) to hold at least need elements. */
void xgrow(void **buf, size_t *cap, size_t need, size_t size);
#define XGROW(buf, cap, need) xgrow((void **)&(buf), &(cap), (need), sizeof *(buf))

#endif
