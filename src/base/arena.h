/* arena.h: a bump allocator whose memory is freed all at once (h2o req->pool, nginx r->pool). Each
 * HTTP request owns one; everything built while answering it comes from there. */
#ifndef PARLEY_ARENA_H
#define PARLEY_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena {
    struct arena_chunk *head;
    size_t used; /* bytes used in head */
    size_t cap;  /* capacity of head */
    size_t total;
};

void arena_init(struct arena *a);
/* arena_release: frees every chunk; the arena can be used again afterwards. */
void arena_release(struct arena *a);
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
