/* on_senti.c: the sentiment model on the event loop (see on_senti.h).
 *
 * The seed model. At start-up the thread pool parses the embedded seed set and trains on it (about
 * 0.1 s in a release build); the loop swaps it in, then one read job finds the accounts that have
 * corrections and schedules their models. Until then every message gets the lexicon's score, and
 * nothing waits: /healthz answers at once.
 *
 * An account's model. A correction (or taking one back) commits a message.updated event with
 * reason "sentiment"; that arms a 1.5 s timer for the account, so a burst of corrections trains
 * once. Then a read job gathers the account's corrected messages (the newest SENTI_TENANT_MAX), the
 * pool trains the seed plus them (cross-validated when there are enough), and the loop swaps the
 * model in. Corrections during a training train again afterwards; an account whose corrections
 * were all taken back goes back to the seed model.
 *
 * Memory. At most cfg.senti_models accounts keep their model (about 0.7 MB each). Swapping one in
 * beyond that drops the least recently used other's, which is marked evicted: its next message
 * (scored with the seed model meanwhile) or status request trains it again from its corrections.
 * At start-up the accounts with the newest corrections train, up to the limit; the rest start
 * evicted. The seed rows are written once, by the seed
 * worker, before any account trains, and only read afterwards; models are swapped and read on the
 * loop only, so there is no lock. */
#include "base/sys.h"

#include "event/on_senti.h"

#include <math.h>

#include "base/alloc.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/json.h"
#include "base/log.h"
#include "base/map.h"
#include "event/event.h"
#include "nlp/senti.h"
#include "store/store.h"

#define TRAIN_DELAY_MS 1500

struct acct {
    int64_t account_id;
    struct senti_model *model; /* NULL: the seed model */
    bool training, again, timer_on;
    bool evicted;  /* has corrections, but its model is not in memory (dropped, or not loaded) */
    uint64_t used; /* loop time (ms) its model was last used or swapped in */
    uv_timer_t timer;
    char error[200];
    int64_t trained_at, train_ms;
};

static struct {
    uv_loop_t *loop;
    struct store *store;
    struct map accts; /* account id -> struct acct */
    size_t loaded;    /* accounts whose model is in memory */
    struct nlp_data seed;
    struct senti_model *base;    /* set on the loop once trained */
    struct senti_model *trained; /* written by the seed worker, handed over in base_after */
    bool base_training;
    char base_error[200];
    int64_t base_started, base_trained_at, base_train_ms;
    uv_work_t base_work;
    int base_rc;
    struct feat_buf fb; /* the loop's scratch space for scoring */
    bool stopping;
} S;

static struct acct *acct_get(int64_t account_id)
{
    struct acct *a = map_get(&S.accts, (uint64_t)account_id);
    if (!a) {
        a = xcalloc(1, sizeof(*a));
        a->account_id = account_id;
        uv_timer_init(S.loop, &a->timer);
        a->timer.data = a;
        map_put(&S.accts, (uint64_t)account_id, a);
    }
    return a;
}

/* ---- an account's model: read job -> thread pool -> loop ---- */

struct train_job {
    uv_work_t work;
    struct acct *acct;
    struct nlp_data tenant;
    struct senti_model *model;
    int64_t started;
    int rc;
};

static void schedule(struct acct *a, uint64_t delay);

/* Drops the least recently used models (never keep's) until at most cfg.senti_models are loaded. */
static void evict(const struct acct *keep)
{
    while (S.loaded > (size_t)cfg.senti_models) {
        struct acct *lru = NULL;
        struct map_entry *e;
        for (size_t i = 0; map_next(&S.accts, &i, &e);) {
            struct acct *a = e->val;
            if (a != keep && a->model && (!lru || a->used < lru->used))
                lru = a;
        }
        if (!lru)
            return;
        log_info("senti",
                 "account=%" PRId64 " model dropped from memory (senti-models=%" PRId64 ")",
                 lru->account_id, cfg.senti_models);
        senti_free(lru->model);
        lru->model = NULL;
        lru->evicted = true;
        S.loaded--;
    }
}

/* An evicted account's model is wanted: train it again (the seed model answers meanwhile). */
static void wake(struct acct *a)
{
    if (a->evicted && S.base && !a->training && !a->timer_on)
        schedule(a, 0);
}

static int gather_fn(struct store_tx *tx, void *arg)
{
    struct train_job *t = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT m.content, sl.label FROM sentiment_labels sl"
                      " JOIN messages m ON m.id = sl.message_id AND m.account_id = sl.account_id"
                      " WHERE sl.account_id = $1 ORDER BY sl.created_at DESC, sl.message_id DESC"
                      " LIMIT $2",
                      "ii", t->acct->account_id, (int64_t)SENTI_TENANT_MAX);
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1)
        if (rows_len(&rows, 0) > 0)
            nlp_data_add(&t->tenant, rows_text(&rows, 0), rows_len(&rows, 0), rows_text(&rows, 1),
                         rows_len(&rows, 1));
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

static void train_work(uv_work_t *w)
{
    struct train_job *t = w->data;
    struct senti_opts o = {.base = S.base};
    t->rc = t->tenant.n ? senti_train(&S.seed, &t->tenant, &o, &t->model) : 0;
}

static void train_job_free(struct train_job *t)
{
    nlp_data_release(&t->tenant);
    senti_free(t->model);
    free(t);
}

static void train_after(uv_work_t *w, int status)
{
    struct train_job *t = w->data;
    struct acct *a = t->acct;
    a->training = false;
    if (status < 0 || t->rc < 0) {
        snprintf(a->error, sizeof(a->error), "training failed: %s",
                 status < 0 ? uv_strerror(status) : err_str(t->rc));
        log_warn("senti", "account=%" PRId64 " %s", a->account_id, a->error);
    } else {
        a->error[0] = 0;
        S.loaded += (t->model != NULL) - (a->model != NULL);
        senti_free(a->model);
        a->model = t->model; /* NULL when no correction is left: the seed model again */
        t->model = NULL;
        a->evicted = false;
        a->used = uv_now(S.loop);
        evict(a);
        a->trained_at = clock_wall_ms();
        a->train_ms = a->trained_at - t->started;
        if (a->model)
            log_info("senti",
                     "account=%" PRId64 " trained examples=%zu tenant=%zu cv=%.3f ms=%" PRId64,
                     a->account_id, a->model->examples, a->model->tenant_examples, a->model->cv,
                     a->train_ms);
    }
    train_job_free(t);
    if (a->again && !S.stopping) {
        a->again = false;
        schedule(a, 0);
    }
}

static void gathered(void *arg, int rc)
{
    struct train_job *t = arg;
    struct acct *a = t->acct;
    if (rc < 0 || S.stopping) {
        a->training = false;
        if (rc < 0)
            snprintf(a->error, sizeof(a->error), "reading the corrections failed: %s", err_str(rc));
        train_job_free(t);
        return;
    }
    t->work.data = t;
    if (uv_queue_work(S.loop, &t->work, train_work, train_after) < 0) {
        a->training = false;
        train_job_free(t);
    }
}

static void on_timer(uv_timer_t *h)
{
    struct acct *a = h->data;
    a->timer_on = false;
    if (!S.base)
        return; /* the seed model's boot read schedules every account with corrections */
    if (a->training) {
        a->again = true;
        return;
    }
    struct train_job *t = xcalloc(1, sizeof(*t));
    t->acct = a;
    nlp_data_init(&t->tenant);
    t->started = clock_wall_ms();
    a->training = true;
    if (store_read(S.store, gather_fn, gathered, t) < 0) {
        a->training = false;
        train_job_free(t);
        schedule(a, 1000); /* the store is busy: try again in a second */
    }
}

static void schedule(struct acct *a, uint64_t delay)
{
    if (S.stopping)
        return;
    a->timer_on = true;
    uv_timer_start(&a->timer, on_timer, delay, 0);
}

/* ---- the seed model ---- */

struct boot {
    int64_t *ids;
    size_t n;
};

static int boot_fn(struct store_tx *tx, void *arg)
{
    struct boot *b = arg;
    struct store_rows rows;
    /* across accounts: the server's own start-up job */
    int rc = tx_query(tx, &rows,
                      "SELECT account_id FROM sentiment_labels GROUP BY account_id"
                      " ORDER BY MAX(created_at) DESC, account_id",
                      "");
    if (rc < 0)
        return rc;
    size_t cap = 0;
    while ((rc = rows_next(&rows)) == 1) {
        if (b->n == cap) {
            cap = cap ? cap * 2 : 16;
            b->ids = xrealloc(b->ids, cap * sizeof(*b->ids));
        }
        b->ids[b->n++] = rows_i64(&rows, 0);
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

static void booted(void *arg, int rc)
{
    struct boot *b = arg;
    if (rc < 0)
        log_warn("senti", "finding the accounts with corrections failed: %s", err_str(rc));
    for (size_t i = 0; rc >= 0 && i < b->n; i++) { /* the newest corrections first */
        struct acct *a = acct_get(b->ids[i]);
        if (i < (size_t)cfg.senti_models)
            schedule(a, 0);
        else
            a->evicted = true; /* trains when it is next needed */
    }
    free(b->ids);
    free(b);
}

static void base_work(uv_work_t *w)
{
    (void)w;
    senti_seed(&S.seed);
    S.base_rc = senti_train(&S.seed, NULL, NULL, &S.trained);
}

static void base_after(uv_work_t *w, int status)
{
    (void)w;
    S.base_training = false;
    if (status < 0 || S.base_rc < 0) {
        snprintf(S.base_error, sizeof(S.base_error), "training the seed model failed: %s",
                 status < 0 ? uv_strerror(status) : err_str(S.base_rc));
        log_warn("senti", "%s; sentiment stays on the lexicon", S.base_error);
        return;
    }
    S.base = S.trained;
    S.trained = NULL;
    S.base_trained_at = clock_wall_ms();
    S.base_train_ms = S.base_trained_at - S.base_started;
    log_info("senti", "seed model trained examples=%zu features=%zu ms=%" PRId64, S.base->examples,
             S.base->m->nfeat, S.base_train_ms);
    if (S.stopping)
        return;
    struct boot *b = xcalloc(1, sizeof(*b));
    if (store_read(S.store, boot_fn, booted, b) < 0) {
        log_warn("senti", "the store is busy: accounts' sentiment models train on their next "
                          "correction");
        free(b);
    }
}

/* ---- the API ---- */

void on_senti_init(uv_loop_t *loop, struct store *s)
{
    S.loop = loop;
    S.store = s;
    map_init(&S.accts, false);
    nlp_data_init(&S.seed);
    feat_buf_init(&S.fb);
    S.base_started = clock_wall_ms();
    S.base_training = true;
    if (uv_queue_work(loop, &S.base_work, base_work, base_after) < 0) {
        S.base_training = false;
        snprintf(S.base_error, sizeof(S.base_error), "the thread pool refused the training");
    }
}

void on_senti(const struct event *ev)
{
    if (strcmp(ev->type, "message.updated") != 0)
        return;
    const char *reason = json_string_value(json_object_get(ev->data, "reason"));
    if (reason && strcmp(reason, "sentiment") == 0)
        schedule(acct_get(ev->account_id), TRAIN_DELAY_MS);
}

double on_senti_score(int64_t account_id, const char *text, size_t len)
{
    struct acct *a = map_get(&S.accts, (uint64_t)account_id);
    if (a) {
        a->used = uv_now(S.loop);
        wake(a);
    }
    const struct senti_model *m = a && a->model ? a->model : S.base;
    return senti_score(m, &S.fb, text, len);
}

static json_t *opt_real(double v)
{
    return v == v ? json_real(v) : json_null();
}

json_t *on_senti_status(int64_t account_id)
{
    struct acct *a = map_get(&S.accts, (uint64_t)account_id);
    if (a)
        wake(a); /* an evicted model reports "training" while it comes back */
    const char *error = a && a->error[0] ? a->error : !S.base ? S.base_error : "";
    const char *status = S.base_training || (a && (a->training || a->timer_on)) ? "training"
                         : *error                                               ? "failed"
                                                                                : "ready";
    json_t *v = json_pack("{s:s, s:I, s:o, s:o, s:o, s:I, s:o}", "status", status,
                          "tenant_examples", (json_int_t)0, "cv_accuracy", json_null(),
                          "base_accuracy", json_null(), "trained_at", json_null(), "train_ms",
                          (json_int_t)0, "error", *error ? json_string(error) : json_null());
    const struct senti_model *m = a && a->model ? a->model : S.base;
    json_object_set_new(v, "examples", json_integer(m ? (json_int_t)m->examples : 0));
    if (a && a->model) { /* the account's own model */
        json_object_set_new(v, "tenant_examples", json_integer((json_int_t)m->tenant_examples));
        json_object_set_new(v, "cv_accuracy", opt_real(m->cv));
        json_object_set_new(v, "base_accuracy", opt_real(m->base_accuracy));
        json_object_set_new(v, "trained_at", json_time(a->trained_at));
        json_object_set_new(v, "train_ms", json_integer(a->train_ms));
    } else if (S.base) {
        json_object_set_new(v, "trained_at", json_time(S.base_trained_at));
        json_object_set_new(v, "train_ms", json_integer(S.base_train_ms));
    }
    return v;
}

void on_senti_stop(void)
{
    S.stopping = true;
    struct map_entry *e;
    for (size_t i = 0; map_next(&S.accts, &i, &e);) {
        struct acct *a = e->val;
        uv_timer_stop(&a->timer);
        uv_close((uv_handle_t *)&a->timer, NULL);
    }
}

void on_senti_release(void)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&S.accts, &i, &e);) {
        struct acct *a = e->val;
        senti_free(a->model);
        free(a);
    }
    map_release(&S.accts);
    S.loaded = 0;
    senti_free(S.base);
    senti_free(S.trained);
    S.base = S.trained = NULL;
    nlp_data_release(&S.seed);
    feat_buf_release(&S.fb);
}
