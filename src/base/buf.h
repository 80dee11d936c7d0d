/* buf.h: a growable byte buffer with a cap (curl's dynbuf). Appends past the cap fail with
 * ERR_TOOBIG and leave the buffer as it was; sizes a peer controls always go through one of these.
 */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H

#include <stddef.h>
#include "base/str.h"

struct buf {
    char *p;
    size_t len;
    size_t cap; /* allocated */
    size_t max; /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, memory kept */
int buf_append(struct buf *b, const void *p, size_t n);
/* buf_reserve: room for n more bytes (ERR_TOOBIG past the cap), without changing the content. */
int buf_reserve(struct buf *b, size_t n);
int buf_append_str(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_take: returns the NUL-terminated bytes, owned by the caller; the buf is empty afterwards. */
char *buf_take(struct buf *b, size_t *len);
/* buf_consume: drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
static inline struct span buf_span(const struct buf *b)
{
    struct span s = {b->p, b->len};
    return s;
}

#endif
