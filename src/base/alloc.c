/* alloc.c: x* allocators that abort with a message when memory runs out. */
#include "base/sys.h"

NORETURN static void oom(size_t n)
{
    fprintf(stderr, "parleyd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (unlikely(!p))
        oom(n);
    return p;
}

void *xcalloc(size_t count, size_t n)
{
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (unlikely(!p))
        oom(count * n);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (unlikely(!q))
        oom(n);
    return q;
}

void *xmemdup(const void *p, size_t n)
{
    void *q = xmalloc(n + 1);
    if (n)
        memcpy(q, p, n);
    ((char *)q)[n] = '\0';
    return q;
}

char *xstrndup(const char *s, size_t n)
{
    return xmemdup(s, n);
}

char *xstrdup(const char *s)
{
    return xmemdup(s, strlen(s));
}
