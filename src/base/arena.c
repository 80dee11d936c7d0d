/* arena.c: chunked bump allocation, 16-byte aligned; large requests get a chunk of their own. */
#include "base/sys.h"
#include "base/arena.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

enum { ARENA_CHUNK = 4096 - sizeof(struct arena_chunk) };

void arena_init(struct arena *a)
{
    memset(a, 0, sizeof(*a));
}

void arena_release(struct arena *a)
{
    struct arena_chunk *c = a->head, *next;
    for (; c; c = next) {
        next = c->next;
        free(c);
    }
    arena_init(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (a->head && a->cap - a->used >= n) {
        void *p = a->head->data + a->used;
        a->used += n;
        return p;
    }
    size_t cap = n > ARENA_CHUNK / 2 ? n : ARENA_CHUNK;
    struct arena_chunk *c = xmalloc(sizeof(*c) + cap);
    c->cap = cap;
    a->total += cap;
    if (cap > ARENA_CHUNK / 2 && a->head) {
        /* A big block: keep the current chunk as head so its free space stays usable. */
        c->next = a->head->next;
        a->head->next = c;
        return c->data;
    }
    c->next = a->head;
    a->head = c;
    a->cap = cap;
    a->used = n;
    return c->data;
}

void *arena_calloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}
