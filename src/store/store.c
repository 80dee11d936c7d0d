/* store.c: the store's threads. One writer thread does group commit; reader threads run read jobs;
 * completions go back to the loop through one uv_async_t (which coalesces wake-ups, so the callback
 * drains the whole completion list each time).
 *
 * Group commit: BEGIN; for each job: SAVEPOINT j; run; RELEASE (or ROLLBACK TO and RELEASE if the
 * job failed); COMMIT. If the COMMIT itself fails, every job of the group is run again alone in its
 * own transaction, so one bad job cannot fail its neighbours and no completion claims a commit that
 * did not happen. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/mpsc.h"
#include "store/store_int.h"

#include <pthread.h>

const double store_commit_bounds[STORE_COMMIT_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
const double store_group_bounds[STORE_GROUP_BUCKETS] = {1,  2,   4,   8,   16,   32,
                                                        64, 128, 256, 512, 1024, 4096};

struct store_job {
    store_job_fn fn;
    store_done_fn done;
    void *arg;
    int rc;
    struct store_job *next;
};

enum { MAX_READERS = 64 };

struct store {
    const struct store_ops *ops;
    struct store_opts opts;
    char *path;
    struct store_conn *wconn;
    struct store_conn *rconn[MAX_READERS];
    struct mpsc wq, rq;
    pthread_t writer, readers[MAX_READERS];
    int nreaders;
    bool threads_started;
    uv_async_t async;
    pthread_mutex_t done_mu;
    struct store_job *done_head, *done_tail;
    struct store_metrics m;
    size_t batch;
};

/* ---- tx API (runs on store threads) ---- */

int tx_exec(struct store_tx *tx, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    int rc = tx->s->ops->exec(tx->conn, sql, types, ap);
    va_end(ap);
    return rc;
}

int tx_query(struct store_tx *tx, struct store_rows *rows, const char *sql, const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    memset(rows, 0, sizeof(*rows));
    rows->tx = tx;
    int rc = tx->s->ops->query(tx->conn, rows, sql, types, ap);
    va_end(ap);
    return rc;
}

int tx_query_i64(struct store_tx *tx, int64_t *out, const char *sql, const char *types, ...)
{
    struct store_rows rows;
    va_list ap;
    va_start(ap, types);
    memset(&rows, 0, sizeof(rows));
    rows.tx = tx;
    int rc = tx->s->ops->query(tx->conn, &rows, sql, types, ap);
    va_end(ap);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        *out = rows_i64(&rows, 0);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

bool tx_is_write(const struct store_tx *tx)
{
    return tx->write;
}

int rows_next(struct store_rows *r)
{
    return r->tx->s->ops->next(r);
}

int64_t rows_i64(struct store_rows *r, int col)
{
    return r->tx->s->ops->col_i64(r, col);
}

double rows_double(struct store_rows *r, int col)
{
    return r->tx->s->ops->col_double(r, col);
}

const char *rows_text(struct store_rows *r, int col)
{
    return r->tx->s->ops->col_text(r, col);
}

size_t rows_len(struct store_rows *r, int col)
{
    return r->tx->s->ops->col_len(r, col);
}

bool rows_null(struct store_rows *r, int col)
{
    return r->tx->s->ops->col_null(r, col);
}

void rows_close(struct store_rows *r)
{
    if (r->tx)
        r->tx->s->ops->close_rows(r);
}

/* ---- completions ---- */

static void post_done(struct store *s, struct store_job **jobs, size_t n)
{
    pthread_mutex_lock(&s->done_mu);
    for (size_t i = 0; i < n; i++) {
        jobs[i]->next = NULL;
        if (s->done_tail)
            s->done_tail->next = jobs[i];
        else
            s->done_head = jobs[i];
        s->done_tail = jobs[i];
    }
    pthread_mutex_unlock(&s->done_mu);
    uv_async_send(&s->async);
}

static void drain_done(struct store *s)
{
    for (;;) {
        pthread_mutex_lock(&s->done_mu);
        struct store_job *j = s->done_head;
        s->done_head = s->done_tail = NULL;
        pthread_mutex_unlock(&s->done_mu);
        if (!j)
            return;
        while (j) {
            struct store_job *next = j->next;
            if (j->done)
                j->done(j->arg, j->rc);
            free(j);
            j = next;
        }
    }
}

static void on_async(uv_async_t *a)
{
    drain_done(a->data);
}

/* ---- the writer ---- */

static void observe(struct store *s, double secs, size_t group)
{
    size_t b = 0;
    while (b < STORE_COMMIT_BUCKETS && secs > store_commit_bounds[b])
        b++;
    atomic_fetch_add(&s->m.commit_buckets[b], 1);
    atomic_fetch_add(&s->m.commit_count, 1);
    atomic_fetch_add(&s->m.commit_sum_us, (uint64_t)(secs * 1e6));
    b = 0;
    while (b < STORE_GROUP_BUCKETS && (double)group > store_group_bounds[b])
        b++;
    atomic_fetch_add(&s->m.group_buckets[b], 1);
    atomic_fetch_add(&s->m.group_count, 1);
    atomic_fetch_add(&s->m.group_sum, group);
}

static int run_alone(struct store *s, struct store_tx *tx, struct store_job *j)
{
    const struct store_ops *ops = s->ops;
    if (ops->exec_raw(tx->conn, ops->begin_write) < 0)
        return ERR_STORE;
    int rc = j->fn(tx, j->arg);
    if (rc < 0) {
        ops->exec_raw(tx->conn, "ROLLBACK");
        return rc;
    }
    if (ops->exec_raw(tx->conn, "COMMIT") < 0) {
        ops->exec_raw(tx->conn, "ROLLBACK");
        return ERR_STORE;
    }
    return rc;
}

static void write_group(struct store *s, struct store_job **jobs, size_t n)
{
    const struct store_ops *ops = s->ops;
    struct store_tx tx = {s, s->wconn, true};
    uint64_t t0 = clock_mono_ns();
    bool ok = ops->exec_raw(s->wconn, ops->begin_write) == 0;
    for (size_t i = 0; ok && i < n; i++) {
        struct store_job *j = jobs[i];
        if (ops->exec_raw(s->wconn, "SAVEPOINT job") < 0) {
            ok = false;
            break;
        }
        j->rc = j->fn(&tx, j->arg);
        if (j->rc < 0) {
            atomic_fetch_add(&s->m.jobs_failed, 1);
            if (ops->exec_raw(s->wconn, "ROLLBACK TO job") < 0)
                ok = false;
        }
        if (ops->exec_raw(s->wconn, "RELEASE job") < 0)
            ok = false;
    }
    if (ok && ops->exec_raw(s->wconn, "COMMIT") < 0)
        ok = false;
    if (!ok) {
        ops->exec_raw(s->wconn, "ROLLBACK");
        atomic_fetch_add(&s->m.commits_failed, 1);
        log_warn("store", "group commit of %zu jobs failed; running each alone", n);
        for (size_t i = 0; i < n; i++)
            jobs[i]->rc = run_alone(s, &tx, jobs[i]);
    }
    observe(s, (double)(clock_mono_ns() - t0) / 1e9, n);
    atomic_fetch_add(&s->m.jobs_write, n);
    post_done(s, jobs, n);
}

/* One background transaction; returns whether it has more to do. */
static bool background(struct store *s)
{
    const struct store_ops *ops = s->ops;
    struct store_tx tx = {s, s->wconn, true};
    bool lazy = s->opts.sync_full && ops->lazy_sync;
    if (lazy)
        ops->exec_raw(s->wconn, ops->lazy_sync);
    int rc = ops->exec_raw(s->wconn, ops->begin_write);
    if (rc == 0) {
        rc = s->opts.background(&tx, s->opts.background_arg);
        if (rc < 0 || ops->exec_raw(s->wconn, "COMMIT") < 0) {
            ops->exec_raw(s->wconn, "ROLLBACK");
            rc = ERR_STORE;
        }
    }
    if (lazy)
        ops->exec_raw(s->wconn, ops->full_sync);
    if (rc < 0)
        log_warn("store", "background work failed; it is retried after the next write");
    return rc > 0;
}

static void *writer_main(void *arg)
{
    struct store *s = arg;
    struct store_job **jobs = xcalloc(s->batch, sizeof(*jobs));
    bool more = s->opts.background != NULL; /* catch up once the threads start */
    for (;;) {
        if (more && mpsc_idle(&s->wq)) {
            more = background(s);
            continue;
        }
        size_t n = mpsc_pop_batch(&s->wq, (void **)jobs, s->batch);
        if (n == 0)
            break;
        write_group(s, jobs, n);
        more = s->opts.background != NULL;
    }
    free(jobs);
    return NULL;
}

struct reader_arg {
    struct store *s;
    int idx;
};

static void *reader_thread(void *p)
{
    struct reader_arg ra = *(struct reader_arg *)p;
    free(p);
    struct store *s = ra.s;
    const struct store_ops *ops = s->ops;
    struct store_tx tx = {s, s->rconn[ra.idx], false};
    /* One job at a time: each gets its own snapshot, and the other readers take the next ones. */
    struct store_job *j;
    while (mpsc_pop_batch(&s->rq, (void **)&j, 1) > 0) {
        if (ops->exec_raw(tx.conn, ops->begin_read) < 0) {
            j->rc = ERR_STORE;
        } else {
            j->rc = j->fn(&tx, j->arg);
            ops->exec_raw(tx.conn, "COMMIT");
        }
        atomic_fetch_add(&s->m.jobs_read, 1);
        post_done(s, &j, 1);
    }
    return NULL;
}

/* ---- lifecycle ---- */

int store_open(struct store **out, uv_loop_t *loop, const struct store_opts *o, char *err,
               size_t errlen)
{
    *out = NULL;
    const struct store_ops *ops = NULL;
    if (strcmp(o->backend, "sqlite") == 0)
        ops = &store_sqlite_ops;
    if (!ops) {
        snprintf(err, errlen, "store back end '%s' is not available in this build (use sqlite)",
                 o->backend);
        return ERR_INVAL;
    }
    struct store *s = xcalloc(1, sizeof(*s));
    s->ops = ops;
    s->opts = *o;
    s->path = xstrdup(o->path);
    s->opts.path = s->path;
    s->batch = o->batch ? o->batch : 512;
    s->nreaders = MIN(MAX(o->readers, 1), MAX_READERS);
    int rc = ops->connect(&s->opts, true, &s->wconn, err, errlen);
    if (rc == 0)
        rc = ops->migrate(s->wconn, err, errlen);
    for (int i = 0; rc == 0 && i < s->nreaders; i++)
        rc = ops->connect(&s->opts, false, &s->rconn[i], err, errlen);
    if (rc < 0) {
        for (int i = 0; i < s->nreaders; i++)
            if (s->rconn[i])
                ops->disconnect(s->rconn[i]);
        if (s->wconn)
            ops->disconnect(s->wconn);
        free(s->path);
        free(s);
        return rc;
    }
    mpsc_init(&s->wq, o->queue ? o->queue : 4096);
    /* Reads come in bursts of one per socket (a reconnect storm: 10,000 visitors, 10,000 start-up
     * reads at once) and hold nothing but a pointer while they wait: a deeper queue than writes. */
    mpsc_init(&s->rq, (o->queue ? o->queue : 4096) * 16);
    pthread_mutex_init(&s->done_mu, NULL);
    uv_async_init(loop, &s->async, on_async);
    s->async.data = s;
    *out = s;
    return 0;
}

static void start_threads(struct store *s)
{
    if (s->threads_started)
        return;
    s->threads_started = true;
    pthread_create(&s->writer, NULL, writer_main, s);
    for (int i = 0; i < s->nreaders; i++) {
        struct reader_arg *ra = xmalloc(sizeof(*ra));
        ra->s = s;
        ra->idx = i;
        pthread_create(&s->readers[i], NULL, reader_thread, ra);
    }
}

int store_run_sync(struct store *s, store_job_fn fn, void *arg)
{
    struct store_tx tx = {s, s->wconn, true};
    struct store_job j = {fn, NULL, arg, 0, NULL};
    return run_alone(s, &tx, &j);
}

static int submit(struct store *s, struct mpsc *q, store_job_fn fn, store_done_fn done, void *arg)
{
    start_threads(s);
    struct store_job *j = xmalloc(sizeof(*j));
    *j = (struct store_job){fn, done, arg, 0, NULL};
    int rc = mpsc_push(q, j);
    if (rc < 0)
        free(j);
    return rc;
}

int store_write(struct store *s, store_job_fn fn, store_done_fn done, void *arg)
{
    return submit(s, &s->wq, fn, done, arg);
}

int store_read(struct store *s, store_job_fn fn, store_done_fn done, void *arg)
{
    return submit(s, &s->rq, fn, done, arg);
}

static void free_store(uv_handle_t *h)
{
    free(h->data);
}

void store_close(struct store *s)
{
    if (!s)
        return;
    mpsc_close(&s->wq);
    mpsc_close(&s->rq);
    if (s->threads_started) {
        pthread_join(s->writer, NULL);
        for (int i = 0; i < s->nreaders; i++)
            pthread_join(s->readers[i], NULL);
    }
    drain_done(s);
    for (int i = 0; i < s->nreaders; i++)
        s->ops->disconnect(s->rconn[i]);
    s->ops->disconnect(s->wconn);
    mpsc_release(&s->wq);
    mpsc_release(&s->rq);
    pthread_mutex_destroy(&s->done_mu);
    free(s->path);
    s->async.data = s;
    uv_close((uv_handle_t *)&s->async, free_store);
}

const struct store_metrics *store_metrics(const struct store *s)
{
    return &s->m;
}

size_t store_queue_depth(struct store *s)
{
    return mpsc_depth(&s->wq) + mpsc_depth(&s->rq);
}

const char *store_backend(const struct store *s)
{
    return s->ops->name;
}
