/* alloc.h: allocation that aborts on out-of-memory (Redis zmalloc, h2o). Sizes a peer controls go
 * through a capped buf (buf.h) instead and fail with ERR_TOOBIG. */
#ifndef PARLEY_ALLOC_H
#define PARLEY_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#endif
