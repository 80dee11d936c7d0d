/* test_store.c: the store on a real SQLite file: jobs on store threads, completions on the loop,
 * group commit with per-job savepoints, parameter types, error mapping, durability, shutdown and
 * back-pressure (store/store.c, store/store_sqlite.c).
 *
 * Everything a queued job or its completion touches (records, counters, gates) is allocated through
 * the fixture and freed in teardown after the store is closed, so a failing assertion cannot leave
 * a store thread or a completion writing into a dead stack frame, and a held gate is always
 * released. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <semaphore.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* How long a test waits for completions before it fails (a commit takes milliseconds). */
enum { WAIT_MS = 3000 };

/* ---- a gate: a write job that holds the writer thread until released ---- */

struct gate {
    sem_t started, release;
    int rc, done_calls;
    int *counter;
};

/* ---- fixture: a temp dir, a loop with a ticking timer (so UV_RUN_ONCE returns), an open store
 * ---- */

struct fx {
    uv_loop_t loop;
    uv_timer_t tick;
    struct store *s;
    char dir[64];
    char path[128];
    pthread_t loop_thread;
    void *allocs[1024];
    size_t nallocs;
    struct gate *gates[4];
    size_t ngates;
};

static void *fx_alloc(struct fx *f, size_t n)
{
    assert_true(f->nallocs < ARRAY_SIZE(f->allocs));
    void *p = xcalloc(1, n);
    f->allocs[f->nallocs++] = p;
    return p;
}

static int *fx_counter(struct fx *f)
{
    return fx_alloc(f, sizeof(int));
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static struct store_opts default_opts(const struct fx *f)
{
    struct store_opts o = {.backend = "sqlite",
                           .path = f->path,
                           .sync_full = false,
                           .queue = 1024,
                           .batch = 512,
                           .readers = 2};
    return o;
}

static void open_store(struct fx *f, const struct store_opts *o)
{
    char err[256] = "";
    int rc = store_open(&f->s, &f->loop, o, err, sizeof(err));
    if (rc != 0)
        fail_msg("store_open: %d %s", rc, err);
    assert_non_null(f->s);
}

/* Closes the store and runs the loop so its handle is closed and freed. */
static void close_store(struct fx *f)
{
    if (!f->s)
        return;
    store_close(f->s);
    f->s = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static int setup(void **state)
{
    struct fx *f = xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/parley-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/parley.db", f->dir);
    if (uv_loop_init(&f->loop) != 0)
        return -1;
    uv_timer_init(&f->loop, &f->tick);
    uv_timer_start(&f->tick, on_tick, 5, 5);
    f->loop_thread = pthread_self();
    *state = f;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    (void)h;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    /* A test that failed while holding the writer: let it go, or store_close would wait forever. */
    for (size_t i = 0; i < f->ngates; i++)
        sem_post(&f->gates[i]->release);
    close_store(f);
    uv_close((uv_handle_t *)&f->tick, on_closed);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    int rc = uv_loop_close(&f->loop);
    for (size_t i = 0; i < f->ngates; i++) {
        sem_destroy(&f->gates[i]->started);
        sem_destroy(&f->gates[i]->release);
    }
    for (size_t i = 0; i < f->nallocs; i++)
        free(f->allocs[i]);
    static const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return rc == 0 ? 0 : -1; /* a handle left open is a failure */
}

/* Runs the loop until *counter reaches want, or fails after timeout_ms. */
static void run_until(struct fx *f, const int *counter, int want, int timeout_ms)
{
    uint64_t deadline = clock_mono_ms() + (uint64_t)timeout_ms;
    while (*counter < want) {
        if (clock_mono_ms() > deadline)
            fail_msg("timed out: %d of %d completions after %d ms", *counter, want, timeout_ms);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

/* Spins the loop for ms, for checks that nothing more arrives. */
static void run_for(struct fx *f, int ms)
{
    uint64_t end = clock_mono_ms() + (uint64_t)ms;
    while (clock_mono_ms() < end)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static struct gate *new_gate(struct fx *f, int *counter)
{
    assert_true(f->ngates < ARRAY_SIZE(f->gates));
    struct gate *g = fx_alloc(f, sizeof(*g));
    sem_init(&g->started, 0, 0);
    sem_init(&g->release, 0, 0);
    g->rc = 12345;
    g->counter = counter;
    f->gates[f->ngates++] = g;
    return g;
}

static int gate_fn(struct store_tx *tx, void *arg)
{
    (void)tx;
    struct gate *g = arg;
    sem_post(&g->started);
    while (sem_wait(&g->release) != 0)
        ;
    return 0;
}

static void gate_done(void *arg, int rc)
{
    struct gate *g = arg;
    g->rc = rc;
    g->done_calls++;
    if (g->counter)
        (*g->counter)++;
}

/* Queues a gate job and waits until the writer thread is inside it (so the write queue is empty).
 */
static struct gate *hold_writer(struct fx *f, int *counter)
{
    struct gate *g = new_gate(f, counter);
    assert_int_equal(store_write(f->s, gate_fn, gate_done, g), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += WAIT_MS / 1000;
    if (sem_timedwait(&g->started, &ts) != 0)
        fail_msg("the gate job never started");
    return g;
}

/* ---- jobs ---- */

struct acct {
    char name[64], slug[64];
    const char *pre_slug; /* inserted first; must be rolled back if the job fails */
    int64_t id;
    int rc;
    int done_calls;
    bool done_on_loop;
    bool saw_write_tx;
    int *counter;
    pthread_t loop_thread;
};

static const char *INSERT_ACCOUNT =
    "INSERT INTO accounts (name, slug, created_at) VALUES ($1,$2,$3) RETURNING id";

static int insert_account_fn(struct store_tx *tx, void *arg)
{
    struct acct *a = arg;
    a->saw_write_tx = tx_is_write(tx);
    int64_t id = 0;
    int rc;
    if (a->pre_slug) {
        rc = tx_query_i64(tx, &id, INSERT_ACCOUNT, "tti", "pre", a->pre_slug, clock_wall_ms());
        if (rc < 0)
            return rc;
    }
    rc = tx_query_i64(tx, &id, INSERT_ACCOUNT, "tti", a->name, a->slug, clock_wall_ms());
    if (rc < 0)
        return rc;
    a->id = id;
    return 0;
}

static void acct_done(void *arg, int rc)
{
    struct acct *a = arg;
    a->rc = rc;
    a->done_calls++;
    a->done_on_loop = pthread_equal(pthread_self(), a->loop_thread);
    if (a->counter)
        (*a->counter)++;
}

static struct acct *new_acct(struct fx *f, const char *name, const char *slug, int *counter)
{
    struct acct *a = fx_alloc(f, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "%s", name);
    snprintf(a->slug, sizeof(a->slug), "%s", slug);
    a->rc = 12345;
    a->counter = counter;
    a->loop_thread = f->loop_thread;
    return a;
}

/* Queues an account insert and waits for its completion; returns the record. */
static struct acct *insert_account(struct fx *f, const char *name, const char *slug)
{
    int *n = fx_counter(f);
    struct acct *a = new_acct(f, name, slug, n);
    assert_int_equal(store_write(f->s, insert_account_fn, acct_done, a), 0);
    run_until(f, n, 1, WAIT_MS);
    return a;
}

/* A job that runs a query returning one integer. */
struct q {
    const char *sql;
    const char *text_arg;
    int64_t int_arg;
    int64_t value;
    bool saw_write_tx;
    int rc;
    int done_calls;
    int *counter;
    pthread_t loop_thread;
    bool done_on_loop;
};

static int query_i64_fn(struct store_tx *tx, void *arg)
{
    struct q *q = arg;
    q->saw_write_tx = tx_is_write(tx);
    if (q->text_arg)
        return tx_query_i64(tx, &q->value, q->sql, "t", q->text_arg);
    return tx_query_i64(tx, &q->value, q->sql, "i", q->int_arg);
}

static void q_done(void *arg, int rc)
{
    struct q *q = arg;
    q->rc = rc;
    q->done_calls++;
    q->done_on_loop = pthread_equal(pthread_self(), q->loop_thread);
    if (q->counter)
        (*q->counter)++;
}

static struct q *new_q(struct fx *f, const char *sql, const char *text_arg, int64_t int_arg,
                       int *counter)
{
    struct q *q = fx_alloc(f, sizeof(*q));
    *q = (struct q){.sql = sql,
                    .text_arg = text_arg,
                    .int_arg = int_arg,
                    .rc = 12345,
                    .counter = counter,
                    .loop_thread = f->loop_thread};
    return q;
}

/* Reads one integer with a read job, waiting for it; the job's rc goes to *rc_out (or must be 0).
 */
static int64_t read_i64(struct fx *f, const char *sql, const char *text_arg, int64_t int_arg,
                        int *rc_out)
{
    int *n = fx_counter(f);
    struct q *q = new_q(f, sql, text_arg, int_arg, n);
    assert_int_equal(store_read(f->s, query_i64_fn, q_done, q), 0);
    run_until(f, n, 1, WAIT_MS);
    assert_int_equal(q->done_calls, 1);
    assert_true(q->done_on_loop);
    assert_false(q->saw_write_tx);
    if (rc_out)
        *rc_out = q->rc;
    else if (q->rc != 0)
        fail_msg("read '%s' failed: %d (%s)", sql, q->rc, err_name(q->rc));
    return q->value;
}

static int64_t count_accounts(struct fx *f)
{
    return read_i64(f, "SELECT count(*) FROM accounts WHERE id > $1", NULL, 0, NULL);
}

/* A job that runs one tx_exec statement without parameters. */
struct ex {
    const char *sql;
    int rc;
    int done_calls;
    int *counter;
};

static int exec_fn(struct store_tx *tx, void *arg)
{
    struct ex *e = arg;
    return tx_exec(tx, e->sql, NULL);
}

static void ex_done(void *arg, int rc)
{
    struct ex *e = arg;
    e->rc = rc;
    e->done_calls++;
    if (e->counter)
        (*e->counter)++;
}

static struct ex *new_ex(struct fx *f, const char *sql, int *counter)
{
    struct ex *e = fx_alloc(f, sizeof(*e));
    *e = (struct ex){sql, 12345, 0, counter};
    return e;
}

static int write_sql(struct fx *f, const char *sql)
{
    int *n = fx_counter(f);
    struct ex *e = new_ex(f, sql, n);
    assert_int_equal(store_write(f->s, exec_fn, ex_done, e), 0);
    run_until(f, n, 1, WAIT_MS);
    assert_int_equal(e->done_calls, 1);
    return e->rc;
}

/* ---- tests ---- */

static void test_write_then_read(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    assert_string_equal(store_backend(f->s), "sqlite");

    struct acct *a = insert_account(f, "Acme \xE4\xB8\xAD\xE6\x96\x87", "acme");
    assert_int_equal(a->done_calls, 1);
    assert_int_equal(a->rc, 0);
    assert_true(a->done_on_loop);
    assert_true(a->saw_write_tx);
    assert_true(a->id > 0);

    /* Read it back on a reader thread: the write was committed before its completion ran. */
    int rc;
    int64_t found = read_i64(f, "SELECT id FROM accounts WHERE slug = $1", "acme", 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(found, a->id);
    assert_int_equal(count_accounts(f), 1);

    /* A missing row is ERR_NOTFOUND from tx_query_i64, handed to the completion as the job's rc. */
    read_i64(f, "SELECT id FROM accounts WHERE slug = $1", "nope", 0, &rc);
    assert_int_equal(rc, ERR_NOTFOUND);

    /* Nothing is called twice. */
    run_for(f, 30);
    assert_int_equal(a->done_calls, 1);
}

struct text_read {
    int64_t id;
    char name[128];
    size_t name_len;
    int rc;
    int *counter;
};

static int read_name_fn(struct store_tx *tx, void *arg)
{
    struct text_read *t = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT name FROM accounts WHERE id = $1", "i", t->id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1) {
        snprintf(t->name, sizeof(t->name), "%s", rows_text(&rows, 0));
        t->name_len = rows_len(&rows, 0);
        rc = rows_next(&rows) == 0 ? 0 : ERR_INTERNAL; /* exactly one row */
    } else if (rc == 0) {
        rc = ERR_NOTFOUND;
    }
    rows_close(&rows);
    return rc;
}

static void text_done(void *arg, int rc)
{
    struct text_read *t = arg;
    t->rc = rc;
    (*t->counter)++;
}

static void test_read_rows(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    const char *name = "\xE5\xAE\xA2\xE6\x9C\x8D Team";
    struct acct *a = insert_account(f, name, "cs");
    assert_int_equal(a->rc, 0);

    struct text_read *t = fx_alloc(f, sizeof(*t));
    t->id = a->id;
    t->rc = 12345;
    t->counter = fx_counter(f);
    assert_int_equal(store_read(f->s, read_name_fn, text_done, t), 0);
    run_until(f, t->counter, 1, WAIT_MS);
    assert_int_equal(t->rc, 0);
    assert_string_equal(t->name, name);
    assert_int_equal(t->name_len, strlen(name));
    /* And no row for another id. */
    t->id = a->id + 1000;
    t->rc = 12345;
    assert_int_equal(store_read(f->s, read_name_fn, text_done, t), 0);
    run_until(f, t->counter, 2, WAIT_MS);
    assert_int_equal(t->rc, ERR_NOTFOUND);
}

static void test_group_commit_with_failures(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);

    /* A row every 10th job collides with. */
    struct acct *first = insert_account(f, "First", "dup");
    assert_int_equal(first->rc, 0);
    uint64_t groups_before = atomic_load(&store_metrics(f->s)->group_count);

    /* Hold the writer so all 200 jobs are queued before it looks: they make one group. */
    int *gate_n = fx_counter(f);
    struct gate *g = hold_writer(f, gate_n);

    enum { N = 200 };
    struct acct *jobs[N];
    int *n = fx_counter(f);
    for (int i = 0; i < N; i++) {
        char slug[32];
        bool fails = i % 10 == 9;
        snprintf(slug, sizeof(slug), fails ? "dup" : "slug-%d", i);
        jobs[i] = new_acct(f, "Job", slug, n);
        if (fails) {
            /* The failing job first inserts a row of its own: its savepoint must undo it. */
            char *pre = fx_alloc(f, 32);
            snprintf(pre, 32, "pre-%d", i);
            jobs[i]->pre_slug = pre;
        }
        assert_int_equal(store_write(f->s, insert_account_fn, acct_done, jobs[i]), 0);
    }
    sem_post(&g->release);
    run_until(f, n, N, WAIT_MS);
    run_until(f, gate_n, 1, WAIT_MS);
    assert_int_equal(g->rc, 0);

    int failed = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(jobs[i]->done_calls, 1);
        assert_true(jobs[i]->done_on_loop);
        if (i % 10 == 9) {
            if (jobs[i]->rc != ERR_CONFLICT)
                fail_msg("job %d: rc %d (%s), expected conflict", i, jobs[i]->rc,
                         err_name(jobs[i]->rc));
            failed++;
        } else {
            if (jobs[i]->rc != 0)
                fail_msg("job %d: rc %d (%s), expected 0", i, jobs[i]->rc, err_name(jobs[i]->rc));
            assert_true(jobs[i]->id > first->id);
            for (int k = 0; k < i; k++)
                if (k % 10 != 9)
                    assert_true(jobs[k]->id != jobs[i]->id);
        }
    }
    assert_int_equal(failed, N / 10);

    /* Committed: the first row plus the 180 good ones; none of the failing jobs' rows. */
    assert_int_equal(count_accounts(f), 1 + N - N / 10);
    assert_int_equal(
        read_i64(f, "SELECT count(*) FROM accounts WHERE slug LIKE $1", "pre-%", 0, NULL), 0);
    assert_int_equal(
        read_i64(f, "SELECT count(*) FROM accounts WHERE slug LIKE $1", "slug-%", 0, NULL),
        N - N / 10);

    /* They went through as one group commit (the gate's group, then one for the 200). */
    const struct store_metrics *m = store_metrics(f->s);
    assert_int_equal(atomic_load(&m->group_count) - groups_before, 2);
    assert_int_equal(atomic_load(&m->jobs_failed), N / 10);
    assert_int_equal(atomic_load(&m->commits_failed), 0);
    assert_true(atomic_load(&m->jobs_write) >= 1 + 1 + N);
}

/* ---- a group whose COMMIT fails: each job is run again alone ---- */

struct child {
    int64_t parent;
    int rc;
    int done_calls;
    int *counter;
};

static int insert_child_fn(struct store_tx *tx, void *arg)
{
    struct child *c = arg;
    int rc = tx_exec(tx, "INSERT INTO t_child (parent) VALUES ($1)", "i", c->parent);
    return rc < 0 ? rc : 0;
}

static void child_done(void *arg, int rc)
{
    struct child *c = arg;
    c->rc = rc;
    c->done_calls++;
    (*c->counter)++;
}

static void test_failed_commit_reruns_alone(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    /* A deferred foreign key is only checked at COMMIT: one bad job makes the group's COMMIT fail.
     */
    assert_true(write_sql(f, "CREATE TABLE t_child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL"
                             " REFERENCES accounts(id) DEFERRABLE INITIALLY DEFERRED)") >= 0);
    struct acct *parent = insert_account(f, "Parent", "parent");
    assert_int_equal(parent->rc, 0);

    int *gate_n = fx_counter(f);
    struct gate *g = hold_writer(f, gate_n);
    enum { N = 10 };
    struct child *kids = fx_alloc(f, N * sizeof(*kids));
    int *n = fx_counter(f);
    for (int i = 0; i < N; i++) {
        kids[i] = (struct child){i == 4 ? 999999 : parent->id, 12345, 0, n};
        assert_int_equal(store_write(f->s, insert_child_fn, child_done, &kids[i]), 0);
    }
    sem_post(&g->release);
    run_until(f, n, N, WAIT_MS);
    run_until(f, gate_n, 1, WAIT_MS);
    for (int i = 0; i < N; i++) {
        assert_int_equal(kids[i].done_calls, 1);
        if (i == 4)
            assert_int_equal(kids[i].rc, ERR_STORE); /* its own commit failed */
        else if (kids[i].rc != 0)
            fail_msg("job %d: rc %d (%s), expected 0 after the rerun", i, kids[i].rc,
                     err_name(kids[i].rc));
    }
    assert_int_equal(
        read_i64(f, "SELECT count(*) FROM t_child WHERE parent = $1", NULL, parent->id, NULL),
        N - 1);
    assert_int_equal(read_i64(f, "SELECT count(*) FROM t_child WHERE id > $1", NULL, 0, NULL),
                     N - 1);
    assert_int_equal(atomic_load(&store_metrics(f->s)->commits_failed), 1);
}

/* ---- parameter types ---- */

struct param_row {
    bool n_null, s_null, t_null, i_null;
    int64_t n, b, i;
    char s[32], t[32];
    size_t s_len, t_len;
};

struct params {
    int64_t ids[4];
    struct param_row row[4];
    int rc, done;
};

static int insert_params_fn(struct store_tx *tx, void *arg)
{
    struct params *p = arg;
    int rc = tx_exec(tx,
                     "CREATE TABLE t_params (id INTEGER PRIMARY KEY, n INTEGER, s TEXT, t TEXT,"
                     " b INTEGER, i INTEGER)",
                     NULL);
    if (rc < 0)
        return rc;
    static const char *sql =
        "INSERT INTO t_params (n, s, t, b, i) VALUES ($1, $2, $3, $4, $5) RETURNING id";
    /* 'n' 0 is NULL; 's' with a NULL pointer is NULL; 't' NULL is NULL; 'i' 0 is 0. */
    if ((rc = tx_query_i64(tx, &p->ids[0], sql, "nstbi", (int64_t)0, SPAN_NULL, (const char *)NULL,
                           1, (int64_t)0)) < 0)
        return rc;
    /* Non-zero 'n'; a span is exactly its len bytes; 'b' is 0/1. */
    struct span part = {"hello world", 5};
    if ((rc = tx_query_i64(tx, &p->ids[1], sql, "nstbi", (int64_t)42, part, "text", 0,
                           (int64_t)-7)) < 0)
        return rc;
    /* An empty, non-NULL span and string are '' and not NULL; 'b' with any non-zero is 1. */
    if ((rc = tx_query_i64(tx, &p->ids[2], sql, "nstbi", (int64_t)-1, SPAN_LIT(""), "", 5,
                           (int64_t)INT64_MAX)) < 0)
        return rc;
    /* A span whose bytes include a NUL is stored with its length. */
    struct span withnul = {"a\0b", 3};
    if ((rc = tx_query_i64(tx, &p->ids[3], sql, "nstbi", (int64_t)INT64_MIN, withnul,
                           "\xE4\xBD\xA0\xE5\xA5\xBD", 1, (int64_t)1)) < 0)
        return rc;
    return 0;
}

static int read_params_fn(struct store_tx *tx, void *arg)
{
    struct params *p = arg;
    for (int k = 0; k < 4; k++) {
        struct store_rows rows;
        int rc =
            tx_query(tx, &rows, "SELECT n, s, t, b, i FROM t_params WHERE id = $1", "i", p->ids[k]);
        if (rc < 0)
            return rc;
        if ((rc = rows_next(&rows)) != 1) {
            rows_close(&rows);
            return rc < 0 ? rc : ERR_NOTFOUND;
        }
        struct param_row *r = &p->row[k];
        r->n_null = rows_null(&rows, 0);
        r->n = rows_i64(&rows, 0);
        r->s_null = rows_null(&rows, 1);
        r->s_len = rows_len(&rows, 1);
        memcpy(r->s, rows_text(&rows, 1), MIN(r->s_len + 1, sizeof(r->s)));
        r->t_null = rows_null(&rows, 2);
        r->t_len = rows_len(&rows, 2);
        snprintf(r->t, sizeof(r->t), "%s", rows_text(&rows, 2));
        r->b = rows_i64(&rows, 3);
        r->i_null = rows_null(&rows, 4);
        r->i = rows_i64(&rows, 4);
        rows_close(&rows);
    }
    return 0;
}

static void params_done(void *arg, int rc)
{
    struct params *p = arg;
    p->rc = rc;
    p->done++;
}

static void test_param_types(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    struct params *p = fx_alloc(f, sizeof(*p));
    p->rc = 12345;
    assert_int_equal(store_write(f->s, insert_params_fn, params_done, p), 0);
    run_until(f, &p->done, 1, WAIT_MS);
    if (p->rc != 0)
        fail_msg("insert job failed: %d (%s)", p->rc, err_name(p->rc));
    p->rc = 12345;
    assert_int_equal(store_read(f->s, read_params_fn, params_done, p), 0);
    run_until(f, &p->done, 2, WAIT_MS);
    assert_int_equal(p->rc, 0);

    struct param_row *r = &p->row[0];
    assert_true(r->n_null);
    assert_true(r->s_null);
    assert_true(r->t_null);
    assert_string_equal(r->t, ""); /* rows_text gives "" for NULL */
    assert_int_equal(r->b, 1);
    assert_false(r->i_null); /* 'i' 0 is a real 0 */
    assert_int_equal(r->i, 0);

    r = &p->row[1];
    assert_false(r->n_null);
    assert_int_equal(r->n, 42);
    assert_false(r->s_null);
    assert_int_equal(r->s_len, 5);
    assert_string_equal(r->s, "hello");
    assert_string_equal(r->t, "text");
    assert_int_equal(r->b, 0);
    assert_int_equal(r->i, -7);

    r = &p->row[2];
    assert_false(r->n_null);
    assert_int_equal(r->n, -1);
    assert_false(r->s_null);
    assert_int_equal(r->s_len, 0);
    assert_false(r->t_null);
    assert_int_equal(r->t_len, 0);
    assert_int_equal(r->b, 1);
    assert_true(r->i == INT64_MAX);

    r = &p->row[3];
    assert_true(r->n == INT64_MIN);
    assert_int_equal(r->s_len, 3);
    assert_memory_equal(r->s, "a\0b", 3);
    assert_string_equal(r->t, "\xE4\xBD\xA0\xE5\xA5\xBD");
    assert_int_equal(r->t_len, 6);
}

/* ---- tx_exec results and error mapping ---- */

struct exec_results {
    int ins[3], upd, upd_none, del, dup_unique, dup_pk, notnull, badsql, badtype, dup_returning;
    int rc, done;
};

static int exec_results_fn(struct store_tx *tx, void *arg)
{
    struct exec_results *e = arg;
    const char *ins = "INSERT INTO accounts (id, name, slug, created_at) VALUES ($1, $2, $3, 1)";
    e->ins[0] = tx_exec(tx, ins, "its", (int64_t)10, "A", SPAN_LIT("a"));
    e->ins[1] = tx_exec(tx, ins, "its", (int64_t)11, "B", SPAN_LIT("b"));
    e->ins[2] = tx_exec(tx, ins, "its", (int64_t)12, "C", SPAN_LIT("c"));
    e->upd = tx_exec(tx, "UPDATE accounts SET name = $1 WHERE id >= $2", "ti", "X", (int64_t)11);
    e->upd_none =
        tx_exec(tx, "UPDATE accounts SET name = $1 WHERE id > $2", "ti", "Y", (int64_t)1000);
    e->del = tx_exec(tx, "DELETE FROM accounts WHERE id = $1", "i", (int64_t)12);
    /* Constraint violations: unique and primary key are conflicts; NOT NULL is not. */
    e->dup_unique = tx_exec(tx, ins, "its", (int64_t)20, "D", SPAN_LIT("a"));
    e->dup_pk = tx_exec(tx, ins, "its", (int64_t)10, "E", SPAN_LIT("e"));
    e->notnull = tx_exec(tx, ins, "its", (int64_t)21, (const char *)NULL, SPAN_LIT("f"));
    e->badsql = tx_exec(tx, "INSERT INTO no_such_table VALUES (1)", NULL);
    e->badtype = tx_exec(tx, "SELECT $1", "x", 1);
    int64_t id;
    e->dup_returning = tx_query_i64(tx, &id, INSERT_ACCOUNT, "tti", "Z", "b", (int64_t)1);
    /* The transaction is still usable after those errors. */
    return tx_exec(tx, ins, "its", (int64_t)30, "G", SPAN_LIT("g"));
}

static void exec_results_done(void *arg, int rc)
{
    struct exec_results *e = arg;
    e->rc = rc;
    e->done++;
}

static void test_exec_counts_and_errors(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    struct exec_results *e = fx_alloc(f, sizeof(*e));
    assert_int_equal(store_write(f->s, exec_results_fn, exec_results_done, e), 0);
    run_until(f, &e->done, 1, WAIT_MS);
    assert_int_equal(e->rc, 1); /* the job's return value reaches the completion */
    assert_int_equal(e->ins[0], 1);
    assert_int_equal(e->ins[1], 1);
    assert_int_equal(e->ins[2], 1);
    assert_int_equal(e->upd, 2);
    assert_int_equal(e->upd_none, 0);
    assert_int_equal(e->del, 1);
    assert_int_equal(e->dup_unique, ERR_CONFLICT);
    assert_int_equal(e->dup_pk, ERR_CONFLICT);
    assert_int_equal(e->notnull, ERR_STORE);
    assert_int_equal(e->badsql, ERR_STORE);
    assert_int_equal(e->badtype, ERR_INTERNAL);
    assert_int_equal(e->dup_returning, ERR_CONFLICT);
    /* What the job left: ids 10, 11, 30. */
    assert_int_equal(count_accounts(f), 3);
    assert_int_equal(read_i64(f, "SELECT count(*) FROM accounts WHERE name = $1", "X", 0, NULL), 1);
}

/* tx_exec returns the rows *this* statement changed: a statement that changes none (DDL, a SELECT)
 * returns 0, not the count left over from an earlier INSERT/UPDATE/DELETE on the connection. */
struct non_dml {
    int insert, create, select;
    int done;
};

static int non_dml_fn(struct store_tx *tx, void *arg)
{
    struct non_dml *d = arg;
    d->insert =
        tx_exec(tx,
                "INSERT INTO accounts (name, slug, created_at) VALUES ('a', 'a', 1), ('b', 'b', 1),"
                " ('c', 'c', 1)",
                NULL);
    d->create = tx_exec(tx, "CREATE TABLE t_nothing (x INTEGER)", NULL);
    d->select = tx_exec(tx, "SELECT id FROM accounts", NULL);
    return 0;
}

static void non_dml_done(void *arg, int rc)
{
    struct non_dml *d = arg;
    (void)rc;
    d->done++;
}

static void test_exec_non_dml_changes_nothing(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    struct non_dml *d = fx_alloc(f, sizeof(*d));
    assert_int_equal(store_write(f->s, non_dml_fn, non_dml_done, d), 0);
    run_until(f, &d->done, 1, WAIT_MS);
    assert_int_equal(d->insert, 3);
    assert_int_equal(d->create, 0);
    assert_int_equal(d->select, 0);
}

/* A read job runs on a read-only connection: it cannot write. */
static int write_in_read_fn(struct store_tx *tx, void *arg)
{
    (void)arg;
    if (tx_is_write(tx))
        return ERR_INTERNAL;
    return tx_exec(tx, "INSERT INTO accounts (name, slug, created_at) VALUES ('x', 'x', 1)", NULL);
}

static void test_read_jobs_cannot_write(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    int *n = fx_counter(f);
    struct ex *e = new_ex(f, NULL, n);
    assert_int_equal(store_read(f->s, write_in_read_fn, ex_done, e), 0);
    run_until(f, n, 1, WAIT_MS);
    assert_int_equal(e->rc, ERR_STORE);
    assert_int_equal(count_accounts(f), 0);
}

/* ---- durability and migrations ---- */

static void test_reopen_keeps_rows(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    o.sync_full = true;
    open_store(f, &o);
    int *n = fx_counter(f);
    struct acct *a[5];
    for (int i = 0; i < 5; i++) {
        char slug[16];
        snprintf(slug, sizeof(slug), "keep-%d", i);
        a[i] = new_acct(f, "Kept", slug, n);
        assert_int_equal(store_write(f->s, insert_account_fn, acct_done, a[i]), 0);
    }
    run_until(f, n, 5, WAIT_MS);
    for (int i = 0; i < 5; i++)
        assert_int_equal(a[i]->rc, 0);
    int64_t migrations =
        read_i64(f, "SELECT count(*) FROM schema_migrations WHERE version > $1", NULL, 0, NULL);
    assert_true(migrations >= 1);
    int64_t applied_at = read_i64(
        f, "SELECT max(applied_at) FROM schema_migrations WHERE version > $1", NULL, 0, NULL);
    close_store(f);

    /* Reopen the same file: the rows are there, and no migration ran again. */
    open_store(f, &o);
    assert_int_equal(count_accounts(f), 5);
    for (int i = 0; i < 5; i++) {
        int rc;
        assert_int_equal(read_i64(f, "SELECT id FROM accounts WHERE slug = $1", a[i]->slug, 0, &rc),
                         a[i]->id);
        assert_int_equal(rc, 0);
    }
    assert_int_equal(
        read_i64(f, "SELECT count(*) FROM schema_migrations WHERE version > $1", NULL, 0, NULL),
        migrations);
    assert_int_equal(read_i64(f, "SELECT max(applied_at) FROM schema_migrations WHERE version > $1",
                              NULL, 0, NULL),
                     applied_at);
    /* New writes continue the ids. */
    struct acct *more = insert_account(f, "More", "more");
    assert_int_equal(more->rc, 0);
    assert_true(more->id > a[4]->id);
}

/* ---- shutdown ---- */

/* A completion that tries to queue more work while the store is closing. */
struct chained {
    struct store *s;
    int write_rc, read_rc;
    int done_calls;
    struct acct *next; /* must never complete */
    int *counter;
};

static int noop_fn(struct store_tx *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return 0;
}

static void chained_done(void *arg, int rc)
{
    struct chained *c = arg;
    (void)rc;
    c->done_calls++;
    c->write_rc = store_write(c->s, insert_account_fn, acct_done, c->next);
    c->read_rc = store_read(c->s, insert_account_fn, acct_done, c->next);
    (*c->counter)++;
}

static void *release_later(void *p)
{
    struct gate *g = p;
    usleep(50 * 1000);
    sem_post(&g->release);
    return NULL;
}

static void test_close_runs_queued_completions(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    int *n = fx_counter(f);
    struct gate *g = hold_writer(f, n);

    enum { NW = 50, NR = 10 };
    struct acct *w[NW];
    for (int i = 0; i < NW; i++) {
        char slug[16];
        snprintf(slug, sizeof(slug), "close-%d", i);
        w[i] = new_acct(f, "C", slug, n);
        assert_int_equal(store_write(f->s, insert_account_fn, acct_done, w[i]), 0);
    }
    struct q *r[NR];
    for (int i = 0; i < NR; i++) {
        r[i] = new_q(f, "SELECT $1", NULL, i, n);
        assert_int_equal(store_read(f->s, query_i64_fn, q_done, r[i]), 0);
    }
    struct chained *c = fx_alloc(f, sizeof(*c));
    c->s = f->s;
    c->write_rc = c->read_rc = 12345;
    c->next = new_acct(f, "Late", "late", n);
    c->counter = n;
    assert_int_equal(store_write(f->s, noop_fn, chained_done, c), 0);
    /* The loop has not run: no completion yet, whatever the threads did. */
    assert_int_equal(*n, 0);
    /* The writes are still queued behind the gate when store_close starts; a thread lets it go. */
    pthread_t t;
    pthread_create(&t, NULL, release_later, g);
    store_close(f->s);
    f->s = NULL;
    pthread_join(t, NULL);
    /* store_close ran every completion, on this thread, with the jobs' results. */
    assert_int_equal(*n, 1 + NW + NR + 1);
    assert_int_equal(g->done_calls, 1);
    /* Work queued from a completion while closing is refused with ERR_SHUTDOWN, and never runs. */
    assert_int_equal(c->done_calls, 1);
    assert_int_equal(c->write_rc, ERR_SHUTDOWN);
    assert_int_equal(c->read_rc, ERR_SHUTDOWN);
    assert_int_equal(c->next->done_calls, 0);
    assert_int_equal(g->rc, 0);
    for (int i = 0; i < NW; i++) {
        assert_int_equal(w[i]->done_calls, 1);
        assert_int_equal(w[i]->rc, 0);
        assert_true(w[i]->done_on_loop);
    }
    for (int i = 0; i < NR; i++) {
        assert_int_equal(r[i]->done_calls, 1);
        assert_int_equal(r[i]->rc, 0);
        assert_int_equal(r[i]->value, i);
        assert_true(r[i]->done_on_loop);
    }
    uv_run(&f->loop, UV_RUN_NOWAIT);
    /* And the writes were committed. */
    open_store(f, &o);
    assert_int_equal(count_accounts(f), NW);
}

/* ---- back-pressure ---- */

static void test_full_queue_is_busy(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    o.queue = 4;
    open_store(f, &o);
    int *n = fx_counter(f);
    struct gate *g =
        hold_writer(f, n); /* the writer holds the gate job; the queue itself is empty */

    struct acct *w[5];
    for (int i = 0; i < 5; i++) {
        char slug[16];
        snprintf(slug, sizeof(slug), "busy-%d", i);
        w[i] = new_acct(f, "B", slug, n);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_write(f->s, insert_account_fn, acct_done, w[i]), 0);
    assert_int_equal(store_queue_depth(f->s), 4);
    assert_int_equal(store_write(f->s, insert_account_fn, acct_done, w[4]), ERR_BUSY);
    assert_int_equal(store_write(f->s, insert_account_fn, acct_done, w[4]), ERR_BUSY);

    /* Reads have their own queue and threads: they are served while the writer is held. */
    assert_int_equal(count_accounts(f), 0);
    assert_int_equal(*n, 0); /* no write has completed */

    sem_post(&g->release);
    run_until(f, n, 5, WAIT_MS);
    run_for(f, 50);
    assert_int_equal(*n, 5); /* the gate and the four accepted jobs, nothing for the refused one */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w[i]->done_calls, 1);
        assert_int_equal(w[i]->rc, 0);
    }
    assert_int_equal(w[4]->done_calls, 0);
    assert_int_equal(count_accounts(f), 4);
    /* With room again, writes are accepted. */
    assert_int_equal(store_write(f->s, insert_account_fn, acct_done, w[4]), 0);
    run_until(f, n, 6, WAIT_MS);
    assert_int_equal(w[4]->rc, 0);
}

/* ---- opening ---- */

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    char err[256] = "";
    struct store_opts o = default_opts(f);
    /* Open and close without any job (no threads were started). */
    open_store(f, &o);
    close_store(f);

    o.backend = "oracle";
    struct store *s = (struct store *)0x1;
    assert_int_equal(store_open(&s, &f->loop, &o, err, sizeof(err)), ERR_INVAL);
    assert_null(s);
    if (!strstr(err, "oracle"))
        fail_msg("error '%s' does not name the back end", err);

    o = default_opts(f);
    o.path = "/nonexistent-dir/parley/x.db";
    err[0] = '\0';
    s = (struct store *)0x1;
    assert_true(store_open(&s, &f->loop, &o, err, sizeof(err)) < 0);
    assert_null(s);
    if (!strstr(err, "/nonexistent-dir/parley/x.db"))
        fail_msg("error '%s' does not name the file", err);
}

static int count_fn(struct store_tx *tx, void *arg)
{
    return tx_query_i64(tx, arg, "SELECT count(*) FROM accounts", NULL);
}

static void test_run_sync(void **state)
{
    struct fx *f = *state;
    struct store_opts o = default_opts(f);
    open_store(f, &o);
    struct acct *a = new_acct(f, "Sync", "sync", NULL);
    assert_int_equal(store_run_sync(f->s, insert_account_fn, a), 0);
    assert_true(a->id > 0);
    assert_true(a->saw_write_tx);
    assert_int_equal(a->done_calls, 0); /* no completion for a synchronous job */
    int64_t count = -1;
    assert_int_equal(store_run_sync(f->s, count_fn, &count), 0);
    assert_int_equal(count, 1);
    /* A failing synchronous job returns its error and leaves nothing behind. */
    struct acct *dup = new_acct(f, "Dup", "sync", NULL);
    dup->pre_slug = "sync-pre";
    assert_int_equal(store_run_sync(f->s, insert_account_fn, dup), ERR_CONFLICT);
    assert_int_equal(store_run_sync(f->s, count_fn, &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(count_accounts(f), 1);
}

/* ---- background work: runs while no job waits, again after writes, in its own transaction ---- */

struct bg {
    atomic_int calls, budget; /* returns "more" while budget lasts */
    atomic_int saw_write;
    int64_t last_count; /* accounts seen on the last call (writer thread only) */
};

static int bg_fn(struct store_tx *tx, void *arg)
{
    struct bg *b = arg;
    atomic_fetch_add(&b->calls, 1);
    if (tx_is_write(tx))
        atomic_store(&b->saw_write, 1);
    int rc = tx_query_i64(tx, &b->last_count, "SELECT COUNT(*) FROM accounts", "");
    if (rc < 0)
        return rc;
    return atomic_fetch_sub(&b->budget, 1) > 1 ? 1 : 0;
}

static bool wait_calls(struct fx *f, struct bg *b, int n)
{
    uint64_t end = clock_mono_ms() + WAIT_MS;
    while (atomic_load(&b->calls) < n && clock_mono_ms() < end)
        run_for(f, 5);
    return atomic_load(&b->calls) >= n;
}

static void test_background_work(void **state)
{
    struct fx *f = *state;
    struct bg *b = fx_alloc(f, sizeof(*b));
    atomic_store(&b->budget, 3);
    struct store_opts o = default_opts(f);
    o.sync_full = true; /* background transactions switch to lazy sync and back */
    o.background = bg_fn;
    o.background_arg = b;
    open_store(f, &o);
    /* The store's threads start with the first job. The writer catches up once they do, and again
     * after the write (which of the two comes first is a race), calling until it is told the work
     * is done: at least three calls, then it waits, having seen the committed row. */
    struct acct *a = insert_account(f, "Bg", "bg");
    assert_int_equal(a->rc, 0);
    assert_true(wait_calls(f, b, 3));
    run_for(f, 50);
    int settled = atomic_load(&b->calls);
    assert_true(settled == 3 || settled == 4);
    run_for(f, 50);
    assert_int_equal(atomic_load(&b->calls), settled); /* done: it waits for the next write */
    assert_true(atomic_load(&b->saw_write));
    assert_int_equal(b->last_count, 1);
    /* The next write wakes it exactly once more. */
    insert_account(f, "Bg1", "bg1");
    assert_true(wait_calls(f, b, settled + 1));
    run_for(f, 50);
    assert_int_equal(atomic_load(&b->calls), settled + 1);
    assert_int_equal(b->last_count, 2);
    /* Writes after background work are durable as before (the sync mode was restored). */
    insert_account(f, "Bg2", "bg2");
    assert_int_equal(count_accounts(f), 3);
}

int main(void)
{
    log_level = LOG_WARN; /* keep the errors the tests provoke on purpose, not the start-up lines */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_with_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_commit_reruns_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_param_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_counts_and_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exec_non_dml_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_jobs_cannot_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_runs_queued_completions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_is_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_work, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
