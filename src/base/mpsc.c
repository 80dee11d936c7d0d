/* mpsc.c: ring buffer under a mutex. */
#include "base/sys.h"
#include "base/mpsc.h"

void mpsc_init(struct mpsc *q, size_t cap)
{
    q->items = xcalloc(cap, sizeof(void *));
    q->cap = cap;
    q->head = q->len = 0;
    q->closed = false;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, NULL);
}

void mpsc_release(struct mpsc *q)
{
    free(q->items);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
}

int mpsc_push(struct mpsc *q, void *item)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    if (q->closed)
        rc = ERR_SHUTDOWN;
    else if (q->len == q->cap)
        rc = ERR_BUSY;
    else {
        q->items[(q->head + q->len) % q->cap] = item;
        q->len++;
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t mpsc_pop_batch(struct mpsc *q, void **out, size_t max)
{
    pthread_mutex_lock(&q->mu);
    while (q->len == 0 && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    size_t n = MIN(max, q->len);
    for (size_t i = 0; i < n; i++) {
        out[i] = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
    }
    q->len -= n;
    if (q->len)
        pthread_cond_signal(&q->cv); /* another consumer can take the rest */
    pthread_mutex_unlock(&q->mu);
    return n;
}

void mpsc_close(struct mpsc *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

bool mpsc_idle(struct mpsc *q)
{
    pthread_mutex_lock(&q->mu);
    bool idle = q->len == 0 && !q->closed;
    pthread_mutex_unlock(&q->mu);
    return idle;
}

size_t mpsc_depth(struct mpsc *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}
