/* workq.h: a small pool of threads behind a bounded queue, for CPU-heavy work that must neither
 * wait behind nor hold up libuv's shared thread pool (static files, attachment I/O, training):
 * password hashing. Submitting never blocks: a full queue is ERR_BUSY (HTTP 503 + Retry-After), so
 * a flood of sign-ins costs at most `threads` cores and `cap` waiting jobs, and everything else the
 * server does keeps its threads. Completions run on the loop thread, in the order jobs finish. */
#ifndef PARLEY_WORKQ_H
#define PARLEY_WORKQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "base/mpsc.h"

typedef void (*workq_fn)(void *arg); /* on a pool thread */
/* On the loop thread; status is 0 (every accepted job runs, also while the pool stops). */
typedef void (*workq_done_fn)(void *arg, int status);

struct workq_job;

struct workq {
    uv_loop_t *loop;
    struct mpsc in;
    pthread_t *threads;
    size_t nthreads;
    uv_async_t async;
    pthread_mutex_t mu;
    struct workq_job *done_head, *done_tail; /* finished, waiting for the loop */
    size_t queued;                           /* submitted and not yet completed */
    bool started, stopped;
};

/* workq_init: starts `threads` threads taking jobs from a queue of at most `cap`. Loop thread. */
int workq_init(struct workq *q, uv_loop_t *loop, size_t threads, size_t cap);
/* workq_submit: 0, ERR_BUSY when `cap` jobs wait, ERR_SHUTDOWN once stopped; on failure `done` is
 * never called, otherwise exactly once. */
int workq_submit(struct workq *q, workq_fn fn, workq_done_fn done, void *arg);
/* workq_pending: jobs submitted and not yet completed. */
size_t workq_pending(const struct workq *q);
/* workq_stop: lets the threads finish what is queued, joins them, runs the completions and closes
 * the async handle. Loop thread; the loop must run afterwards for the close. */
void workq_stop(struct workq *q);

#endif
