/* store.h: the one storage interface. Two back ends fit behind it: SQLite (store_sqlite.c, the
 * default) and PostgreSQL (a later issue). Domain code never sees either.
 *
 * Work is expressed as jobs: a function that runs on a store thread inside a transaction and talks
 * to the database with tx_exec()/tx_query(), plus a completion that runs on the loop thread
 * afterwards.
 *
 *   - Writes go to one writer thread through a bounded queue. It drains up to `store-batch` jobs
 * and commits them in one transaction (group commit); each job runs inside its own savepoint, so a
 * job that fails is rolled back alone. Completions are posted only after the COMMIT returned, so
 * nothing is acknowledged before it is durable.
 *   - Reads go to a small pool of reader threads, each job in its own read transaction (a
 * consistent snapshot).
 *
 * SQL is portable: parameters are $1..$N with a type letter each, no back-end-only syntax in domain
 * code (RETURNING, ON CONFLICT and LIMIT/OFFSET are fine on both). Parameter types: 'i' int64_t 'n'
 * int64_t where 0 means NULL   't' const char * (NULL means NULL) 's' struct span (p NULL means
 * NULL)   'b' int (boolean)   'd' double (NaN means NULL). A job function must depend only on its
 * argument and the database: after a failed group commit each job is run again alone. */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/str.h"

struct store;
struct store_tx;

typedef int (*store_job_fn)(struct store_tx *tx, void *arg);
/* store_done_fn: on the loop thread; rc is the job's return value, or ERR_STORE if its commit
 * failed. */
typedef void (*store_done_fn)(void *arg, int rc);

struct store_opts {
    const char *backend; /* "sqlite" */
    const char *path;    /* SQLite file, or PostgreSQL URL */
    bool sync_full;
    size_t queue, batch;
    int readers;
    /* background: deferrable upkeep (the search index), run by the writer only while no job waits,
     * in its own transaction, never flushed on its own. It returns 1 when more remains, 0 when
     * done, < 0 on error; it should stop after a millisecond or two, since a job that arrives
     * meanwhile waits for it. It runs again after the next write. */
    store_job_fn background;
    void *background_arg;
};

/* store_open: opens, applies pending migrations (synchronously: call before serving), starts
 * threads. */
int store_open(struct store **out, uv_loop_t *loop, const struct store_opts *o, char *err,
               size_t errlen);
/* store_close: stops taking jobs, lets queued ones run and commit, runs their completions, joins.
 * Call on the loop thread. */
void store_close(struct store *s);

/* store_write/store_read: queue a job. ERR_BUSY when the queue is full (answer 503 + Retry-After),
 * ERR_SHUTDOWN when closing. On error `done` is not called. */
int store_write(struct store *s, store_job_fn fn, store_done_fn done, void *arg);
int store_read(struct store *s, store_job_fn fn, store_done_fn done, void *arg);
/* store_run_sync: runs a write job now on the calling thread (start-up only, before threads serve).
 */
int store_run_sync(struct store *s, store_job_fn fn, void *arg);

/* Inside a job. tx_exec returns the number of rows changed, or ERR_CONFLICT on a unique or
 * primary-key violation, or ERR_STORE (logged). */
int tx_exec(struct store_tx *tx, const char *sql, const char *types, ...);

struct store_rows {
    struct store_tx *tx;
    void *stmt;
    int state; /* 0 not started, 1 row ready, 2 done, <0 error */
};

/* tx_query: prepares and binds; then rows_next() gives 1 per row, 0 at the end, < 0 on error.
 * Always rows_close(). Column getters index from 0; text and blobs are valid until the next
 * rows_next. */
int tx_query(struct store_tx *tx, struct store_rows *rows, const char *sql, const char *types, ...);
int rows_next(struct store_rows *r);
int64_t rows_i64(struct store_rows *r, int col);
double rows_double(struct store_rows *r, int col);
const char *rows_text(struct store_rows *r, int col); /* "" for NULL */
size_t rows_len(struct store_rows *r, int col);
bool rows_null(struct store_rows *r, int col);
void rows_close(struct store_rows *r);

/* tx_query_i64: the first column of the first row; ERR_NOTFOUND if there is no row. */
int tx_query_i64(struct store_tx *tx, int64_t *out, const char *sql, const char *types, ...);
bool tx_is_write(const struct store_tx *tx);

/* Metrics, readable from the loop thread. */
enum { STORE_COMMIT_BUCKETS = 14, STORE_GROUP_BUCKETS = 12 };
extern const double store_commit_bounds[STORE_COMMIT_BUCKETS];
extern const double store_group_bounds[STORE_GROUP_BUCKETS];
struct store_metrics {
    atomic_uint_fast64_t commit_buckets[STORE_COMMIT_BUCKETS + 1];
    atomic_uint_fast64_t commit_count, commit_sum_us;
    atomic_uint_fast64_t group_buckets[STORE_GROUP_BUCKETS + 1];
    atomic_uint_fast64_t group_count, group_sum;
    atomic_uint_fast64_t jobs_write, jobs_read, jobs_failed, commits_failed;
};
const struct store_metrics *store_metrics(const struct store *s);
size_t store_queue_depth(struct store *s);
const char *store_backend(const struct store *s);

#endif
