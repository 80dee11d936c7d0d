/* workq.c: the threads take jobs from a bounded mpsc queue; a finished job goes on a list under a
 * mutex and wakes the loop with uv_async_send (which coalesces: the callback drains the whole
 * list). */
#include "base/sys.h"
#include "base/workq.h"

struct workq_job {
    struct workq_job *next;
    workq_fn fn;
    workq_done_fn done;
    void *arg;
    int status;
};

static void *worker(void *arg)
{
    struct workq *q = arg;
    void *item;
    while (mpsc_pop_batch(&q->in, &item, 1) == 1) {
        struct workq_job *j = item;
        j->fn(j->arg);
        pthread_mutex_lock(&q->mu);
        if (q->done_tail)
            q->done_tail->next = j;
        else
            q->done_head = j;
        q->done_tail = j;
        pthread_mutex_unlock(&q->mu);
        uv_async_send(&q->async);
    }
    return NULL;
}

static void drain(struct workq *q)
{
    pthread_mutex_lock(&q->mu);
    struct workq_job *j = q->done_head;
    q->done_head = q->done_tail = NULL;
    pthread_mutex_unlock(&q->mu);
    while (j) {
        struct workq_job *next = j->next;
        q->queued--;
        j->done(j->arg, j->status);
        free(j);
        j = next;
    }
}

static void on_async(uv_async_t *h)
{
    drain(h->data);
}

int workq_init(struct workq *q, uv_loop_t *loop, size_t threads, size_t cap)
{
    memset(q, 0, sizeof(*q));
    q->loop = loop;
    mpsc_init(&q->in, cap);
    pthread_mutex_init(&q->mu, NULL);
    uv_async_init(loop, &q->async, on_async);
    q->async.data = q;
    q->threads = xcalloc(threads, sizeof(*q->threads));
    for (size_t i = 0; i < threads; i++) {
        if (pthread_create(&q->threads[i], NULL, worker, q) != 0)
            break;
        q->nthreads++;
    }
    q->started = true;
    if (q->nthreads == 0) {
        workq_stop(q);
        return ERR_INTERNAL;
    }
    return 0;
}

int workq_submit(struct workq *q, workq_fn fn, workq_done_fn done, void *arg)
{
    if (q->stopped || !q->started)
        return ERR_SHUTDOWN;
    struct workq_job *j = xcalloc(1, sizeof(*j));
    j->fn = fn;
    j->done = done;
    j->arg = arg;
    int rc = mpsc_push(&q->in, j);
    if (rc < 0) {
        free(j);
        return rc;
    }
    q->queued++;
    return 0;
}

size_t workq_pending(const struct workq *q)
{
    return q->queued;
}

void workq_stop(struct workq *q)
{
    if (!q->started || q->stopped)
        return;
    q->stopped = true;
    mpsc_close(&q->in); /* what is queued still runs: each job answers its request */
    for (size_t i = 0; i < q->nthreads; i++)
        pthread_join(q->threads[i], NULL);
    drain(q);
    free(q->threads);
    q->threads = NULL;
    mpsc_release(&q->in);
    pthread_mutex_destroy(&q->mu);
    uv_close((uv_handle_t *)&q->async, NULL);
}
