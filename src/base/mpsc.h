/* mpsc.h: a bounded queue of pointers between threads. Producers never block: a full queue returns
 * ERR_BUSY (which becomes HTTP 503 + Retry-After). Consumers block until items arrive, and can take
 * a whole batch at once (the store writer's group commit). Several consumers may share one queue
 * (the reader pool). A mutex and a condition variable: the queue is not the bottleneck next to
 * fsync. */
#ifndef PARLEY_MPSC_H
#define PARLEY_MPSC_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct mpsc {
    void **items;
    size_t cap, head, len;
    bool closed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

void mpsc_init(struct mpsc *q, size_t cap);
void mpsc_release(struct mpsc *q);
/* mpsc_push: 0, ERR_BUSY when full, ERR_SHUTDOWN once closed. */
int mpsc_push(struct mpsc *q, void *item);
/* mpsc_pop_batch: waits for at least one item (or close), takes up to max. Returns the count; 0
 * means the queue is closed and drained. */
size_t mpsc_pop_batch(struct mpsc *q, void **out, size_t max);
/* mpsc_close: wakes every consumer; items already queued are still handed out. */
void mpsc_close(struct mpsc *q);
size_t mpsc_depth(struct mpsc *q);
/* mpsc_idle: empty and not closed (nothing to take now, and more may come). */
bool mpsc_idle(struct mpsc *q);

#endif
