/* on_bot.c: the bot (see on_bot.h).
 *
 * Training. A change to FAQ entries, intents or articles (their events) arms a 1.5 s timer for the
 * account, so a burst of edits trains once. Then a read job gathers what the bot knows, the libuv
 * thread pool builds a new brain (cross-validated accuracy and the softmax temperature from k-fold
 * training, then the final model on everything, then the BM25 index), and the loop swaps it in and
 * records the figures in bot_models. Edits during a training train again afterwards. The brain is
 * used on the loop only, so swapping needs no lock; the worker shares nothing with the loop but the
 * progress counter (atomic).
 *
 * Answering. A customer message in a conversation the bot holds (bot_state active or collecting;
 * the conversation is pending, so routing leaves it alone) is classified on the loop (tens of
 * microseconds), and one write job commits the reply: an answer, "did you mean" suggestions, the
 * next question of a form, or the handoff. The job re-reads the conversation, so an agent who took
 * over meanwhile wins.
 *
 * Guided flows. A flow (model/flow.h) starts from a button under the greeting or from an intent;
 * the conversation's place in it lives in bot_data, so it survives a restart. Buttons come back as
 * messages carrying their payload (checked against the current step when the message is stored:
 * bot_payload_check_tx); each message moves the flow on in the same kind of write job: the button's
 * target, the answer to a question (checked by its type, asked again if it does not fit), and at a
 * handoff the collected values go to the agents' note and the contact. */
#include "base/sys.h"

#include "event/on_bot.h"

#include <math.h>
#include <stdatomic.h>

#include "conv/conv.h"
#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "event/event.h"
#include "event/on_senti.h"
#include "model/bot.h"
#include "model/conversation.h"
#include "model/flow.h"
#include "model/user.h"
#include "nlp/bm25.h"
#include "nlp/model.h"
#include "nlp/sentiment.h"
#include "route/rules.h"
#include "store/store.h"

#define TRAIN_DELAY_MS 1500
#define CV_FOLDS 5
#define SUGGESTIONS 3
#define OOS_LOW -0.1f /* SVM score at which a text counts as out of scope */
#define OOS_HIGH 0.4f /* ... and fully in scope */

/* ---- the brain ---- */

enum item_kind { IT_FAQ = 'f', IT_INTENT = 'i', IT_ARTICLE = 'a' };

struct item {
    char kind;
    int64_t id;
    char *title;  /* FAQ question, intent name, article title */
    char *answer; /* FAQ answer, intent answer, article body */
    char *action; /* intents */
    int64_t team_id, skill_id, hits;
    int64_t flow_id; /* intents whose action is "flow" */
    char *fields;    /* intents: JSON */
    char *examples;  /* FAQ phrasings / intent examples: JSON (gathered, used to train) */
    double self;     /* BM25 score of its own title: normalises a BM25-only confidence */
};

struct brain {
    struct nlp_model *model; /* NULL with fewer than two classes */
    int *class_item;         /* model class -> item */
    struct item *items;
    size_t nitems;
    struct bm25 bm25;
    uint32_t *doc_item;   /* BM25 document -> item */
    int top[SUGGESTIONS]; /* the most asked FAQ entries, -1 padded */
    double cv;            /* NAN when there was too little data */
    size_t examples;
    int classes;
    int64_t train_ms, version, trained_at;
    char slug[64];
};

static void brain_free(struct brain *b)
{
    if (!b)
        return;
    nlp_model_free(b->model);
    free(b->class_item);
    for (size_t i = 0; i < b->nitems; i++) {
        free(b->items[i].title);
        free(b->items[i].answer);
        free(b->items[i].action);
        free(b->items[i].fields);
        free(b->items[i].examples);
    }
    free(b->items);
    bm25_release(&b->bm25);
    free(b->doc_item);
    free(b);
}

struct acct {
    int64_t account_id;
    struct brain *brain;
    bool training, again, timer_on;
    uv_timer_t timer;
    atomic_int done, total;
    char error[200];
    int64_t version, trained_at;
};

/* What the widget's greeting needs of a flow, kept on the loop from bot_flow.* events. */
struct flow_ref {
    int64_t account_id;
    bool enabled;
    char label[FLOW_NAME_MAX * 4 + 1];
};

static struct {
    uv_loop_t *loop;
    struct store *store;
    struct map accts;   /* account id -> struct acct */
    struct map inboxes; /* inbox id -> struct bot_settings */
    struct map flows;   /* flow id -> struct flow_ref */
    bool stopping;
} B;

static struct acct *acct_get(int64_t account_id)
{
    struct acct *a = map_get(&B.accts, (uint64_t)account_id);
    if (!a) {
        a = xcalloc(1, sizeof(*a));
        a->account_id = account_id;
        uv_timer_init(B.loop, &a->timer);
        a->timer.data = a;
        map_put(&B.accts, (uint64_t)account_id, a);
    }
    return a;
}

static struct bot_settings *inbox_settings(int64_t inbox_id)
{
    return map_get(&B.inboxes, (uint64_t)inbox_id);
}

static void inbox_set(int64_t inbox_id, const char *json)
{
    struct bot_settings *s = inbox_settings(inbox_id);
    if (!s) {
        s = xmalloc(sizeof(*s));
        map_put(&B.inboxes, (uint64_t)inbox_id, s);
    }
    bot_settings_load(json, s);
}

static void flow_ref_set(int64_t id, int64_t account_id, bool enabled, const char *name,
                         const char *button_label)
{
    struct flow_ref *f = map_get(&B.flows, (uint64_t)id);
    if (!f) {
        f = xmalloc(sizeof(*f));
        map_put(&B.flows, (uint64_t)id, f);
    }
    f->account_id = account_id;
    f->enabled = enabled;
    snprintf(f->label, sizeof(f->label), "%s",
             button_label && *button_label ? button_label
             : name                        ? name
                                           : "");
}

/* ---- classification (loop) ---- */

struct guess {
    int item;    /* -1: nothing */
    float conf;  /* calibrated probability (or normalised BM25 with no model) */
    float p;     /* the best entry's softmax probability alone (1 with BM25 only) */
    float score; /* the best class's raw SVM score: below 0 its own classifier says "not me" */
    int sugg[SUGGESTIONS];
    int nsugg;
};

/* The classifier's part of a guess: the best entry, its confidence, and the next FAQ entries. */
static void model_guess(const struct brain *b, struct feat_buf *fb, const char *text, size_t len,
                        struct guess *g)
{
    size_t nc = (size_t)b->model->nclass;
    float *pr = xmalloc(2 * nc * sizeof(*pr)), *sc = pr + nc;
    int c = nlp_scores(b->model, fb, text, len, sc); /* one feature extraction for both */
    nlp_softmax(b->model, sc, pr);
    if (c < 0) { /* no feature the model knows: no entry can claim the text */
        free(pr);
        return;
    }
    float p = pr[c];
    g->p = p;
    g->score = sc[c];
    g->item = b->class_item[c];
    /* Which entry (the softmax) and whether the text is about any of them at all (the winning
     * one-vs-rest SVM's own score: around +0.5 and up for phrasings it knows, below 0 for
     * small talk and other topics). Tenants' sets are small, so the softmax alone is sharp
     * even for nonsense; the product of the two is what must pass the inbox's threshold. */
    float in_scope = (g->score - OOS_LOW) / (OOS_HIGH - OOS_LOW);
    g->conf = p * (in_scope < 0 ? 0 : in_scope > 1 ? 1 : in_scope);
    /* the next most likely FAQ entries as suggestions */
    for (int k = 0; k < SUGGESTIONS; k++) {
        int best = -1;
        for (int q = 0; q < b->model->nclass; q++) {
            bool taken = q == c;
            for (int s = 0; s < g->nsugg; s++)
                taken = taken || b->class_item[q] == g->sugg[s];
            if (taken || b->items[b->class_item[q]].kind != IT_FAQ)
                continue;
            if (best < 0 || pr[q] > pr[best])
                best = q;
        }
        if (best < 0 || pr[best] < 0.02f)
            break;
        g->sugg[g->nsugg++] = b->class_item[best];
    }
    free(pr);
}

static void brain_guess(const struct brain *b, const char *text, size_t len, struct guess *g)
{
    struct feat_buf fb;
    feat_buf_init(&fb);
    g->item = -1;
    g->conf = 0;
    g->nsugg = 0;
    if (b->model)
        model_guess(b, &fb, text, len, g);
    struct bm25_hit hits[SUGGESTIONS + 1];
    size_t n = bm25_search(&b->bm25, &fb, text, len, hits, SUGGESTIONS + 1);
    if (!b->model && n > 0 && b->items[b->doc_item[hits[0].doc]].kind != IT_ARTICLE) {
        int it = (int)b->doc_item[hits[0].doc];
        g->item = it;
        double self = b->items[it].self > 0 ? b->items[it].self : 1;
        g->conf = (float)fmin(1.0, hits[0].score / self);
        g->p = 1;
    }
    for (size_t i = 0; i < n && g->nsugg < SUGGESTIONS; i++) {
        int it = (int)b->doc_item[hits[i].doc];
        bool taken = it == g->item;
        for (int s = 0; s < g->nsugg; s++)
            taken = taken || g->sugg[s] == it;
        if (!taken && b->items[it].kind != IT_INTENT)
            g->sugg[g->nsugg++] = it;
    }
    feat_buf_release(&fb);
}

/* ---- training (read job -> thread pool -> loop) ---- */

struct train_job {
    uv_work_t work;
    struct acct *acct;
    struct brain *b; /* items gathered by the read job, the rest built by the worker */
    int64_t started;
    int rc;
};

static int gather_fn(struct store_tx *tx, void *arg)
{
    struct train_job *t = arg;
    struct brain *b = t->b;
    size_t cap = 16;
    b->items = xcalloc(cap, sizeof(*b->items));
    int64_t aid = t->acct->account_id;
    static const char *const Q[] = {
        "SELECT 'f', id, question, answer, '', 0, 0, hits, '[]', phrasings, 0 FROM faqs"
        " WHERE account_id = $1 AND enabled = 1 ORDER BY id",
        "SELECT 'i', id, name, answer, action, COALESCE(team_id, 0), COALESCE(skill_id, 0), 0,"
        " fields, examples, COALESCE(flow_id, 0) FROM intents WHERE account_id = $1 ORDER BY id",
        "SELECT 'a', id, title, body, locale, 0, 0, views, '[]', '[]', 0 FROM kb_articles"
        " WHERE account_id = $1 AND status = 'published' ORDER BY id",
    };
    for (size_t q = 0; q < 3; q++) {
        struct store_rows rows;
        int rc = tx_query(tx, &rows, Q[q], "i", aid);
        if (rc < 0)
            return rc;
        while ((rc = rows_next(&rows)) == 1) {
            if (b->nitems == cap) {
                cap *= 2;
                b->items = xrealloc(b->items, cap * sizeof(*b->items));
            }
            struct item *it = &b->items[b->nitems++];
            memset(it, 0, sizeof(*it));
            it->kind = rows_text(&rows, 0)[0];
            it->id = rows_i64(&rows, 1);
            it->title = xstrdup(rows_text(&rows, 2));
            it->answer = xstrdup(rows_text(&rows, 3));
            it->action = xstrdup(rows_text(&rows, 4));
            it->team_id = rows_i64(&rows, 5);
            it->skill_id = rows_i64(&rows, 6);
            it->hits = rows_i64(&rows, 7);
            it->fields = xstrdup(rows_text(&rows, 8));
            it->examples = xstrdup(rows_text(&rows, 9));
            it->flow_id = rows_i64(&rows, 10);
        }
        rows_close(&rows);
        if (rc < 0)
            return rc;
    }
    struct store_rows rows;
    if (tx_query(tx, &rows, "SELECT slug FROM accounts WHERE id = $1", "i", aid) == 0) {
        if (rows_next(&rows) == 1)
            snprintf(b->slug, sizeof(b->slug), "%s", rows_text(&rows, 0));
        rows_close(&rows);
    }
    return 0;
}

static void progress(int done, int total, void *arg)
{
    (void)done;
    (void)total;
    struct acct *a = arg;
    atomic_fetch_add(&a->done, 1);
}

static void add_examples(struct nlp_data *d, const struct item *it, int idx)
{
    char label[24];
    snprintf(label, sizeof(label), "%d", idx);
    if (it->kind == IT_FAQ) {
        nlp_data_add(d, it->title, strlen(it->title), label, strlen(label));
    } else { /* an intent's name is one more example of it ("refund_status", "退款进度") */
        char name[256];
        size_t n = nlp_name_example(it->title, name, sizeof(name));
        if (n > 0)
            nlp_data_add(d, name, n, label, strlen(label));
    }
    json_t *arr = json_loads(it->examples, 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s)
            nlp_data_add(d, s, strlen(s), label, strlen(label));
    }
    json_decref(arr);
}

static void train_work(uv_work_t *w)
{
    struct train_job *t = w->data;
    struct brain *b = t->b;
    struct nlp_data all;
    nlp_data_init(&all);
    for (size_t i = 0; i < b->nitems; i++)
        if (b->items[i].kind != IT_ARTICLE)
            add_examples(&all, &b->items[i], (int)i);
    b->examples = all.n;
    b->classes = all.nclass;
    b->cv = NAN;
    struct nlp_opts o = {.threads = 1, .seed = 1, .progress = progress, .progress_arg = t->acct};
    bool cv = all.nclass >= 2 && all.n >= 2 * CV_FOLDS;
    atomic_store(&t->acct->done, 0);
    atomic_store(&t->acct->total, all.nclass >= 2 ? (cv ? CV_FOLDS + 1 : 1) * all.nclass : 1);
    if (all.nclass >= 2) {
        double temp = 0;
        int temps = 0;
        if (cv) {
            /* k folds, stratified: each class's rows go round the folds in turn */
            size_t right = 0, total = 0;
            int *seen = xcalloc((size_t)all.nclass, sizeof(*seen));
            int *fold = xmalloc(all.n * sizeof(*fold));
            for (size_t i = 0; i < all.n; i++)
                fold[i] = seen[all.label[i]]++ % CV_FOLDS;
            free(seen);
            struct feat_buf fb;
            feat_buf_init(&fb);
            for (int k = 0; k < CV_FOLDS; k++) {
                struct nlp_data tr, te;
                nlp_data_init(&tr);
                nlp_data_init(&te);
                for (size_t i = 0; i < all.n; i++) {
                    const char *lab = all.labels[all.label[i]];
                    nlp_data_add(fold[i] == k ? &te : &tr, all.text[i], all.len[i], lab,
                                 strlen(lab));
                }
                struct nlp_model *m = NULL;
                if (tr.nclass >= 2 && te.n > 0 && nlp_train(&tr, &o, &m) == 0) {
                    for (size_t i = 0; i < te.n; i++) {
                        float p;
                        int c = nlp_predict(m, &fb, te.text[i], te.len[i], NULL, &p);
                        right += strcmp(m->labels[c], te.labels[te.label[i]]) == 0;
                        total++;
                    }
                    if (nlp_calibrate(m, &te, NULL, 0) == 0) {
                        temp += m->temp;
                        temps++;
                    }
                }
                nlp_model_free(m);
                nlp_data_release(&tr);
                nlp_data_release(&te);
            }
            feat_buf_release(&fb);
            free(fold);
            b->cv = total ? (double)right / (double)total : NAN;
        }
        t->rc = nlp_train(&all, &o, &b->model);
        if (t->rc == 0) {
            b->model->temp = temps ? (float)(temp / temps) : 1.0f;
            b->class_item = xmalloc((size_t)b->model->nclass * sizeof(int));
            for (int c = 0; c < b->model->nclass; c++)
                b->class_item[c] = atoi(b->model->labels[c]);
        }
    }
    /* BM25 over FAQ entries (question, phrasings, answer) and articles (title twice, body) */
    bm25_init(&b->bm25);
    b->doc_item = xmalloc((b->nitems ? b->nitems : 1) * sizeof(*b->doc_item));
    struct feat_buf fb;
    feat_buf_init(&fb);
    struct buf text;
    buf_init(&text, (size_t)1 << 24);
    for (size_t i = 0; i < b->nitems; i++) {
        struct item *it = &b->items[i];
        buf_reset(&text);
        buf_printf(&text, "%s\n%s\n", it->title, it->kind == IT_ARTICLE ? it->title : "");
        json_t *arr = json_loads(it->examples, 0, NULL);
        size_t k;
        json_t *v;
        json_array_foreach(arr, k, v)
            buf_printf(&text, "%s\n", json_string_value(v) ? json_string_value(v) : "");
        json_decref(arr);
        if (it->kind != IT_INTENT)
            buf_append_str(&text, it->answer);
        uint32_t doc = bm25_add(&b->bm25, &fb, text.p ? text.p : "", text.len);
        b->doc_item[doc] = (uint32_t)i;
    }
    for (size_t i = 0; i < b->nitems; i++) {
        struct bm25_hit h[8];
        size_t n = bm25_search(&b->bm25, &fb, b->items[i].title, strlen(b->items[i].title), h, 8);
        for (size_t k = 0; k < n; k++)
            if (b->doc_item[h[k].doc] == i)
                b->items[i].self = h[k].score;
    }
    buf_release(&text);
    feat_buf_release(&fb);
    /* the most asked FAQ entries, for the widget's first screen */
    for (int k = 0; k < SUGGESTIONS; k++) {
        b->top[k] = -1;
        for (size_t i = 0; i < b->nitems; i++) {
            if (b->items[i].kind != IT_FAQ)
                continue;
            bool taken = false;
            for (int q = 0; q < k; q++)
                taken = taken || b->top[q] == (int)i;
            if (!taken && (b->top[k] < 0 || b->items[i].hits > b->items[b->top[k]].hits))
                b->top[k] = (int)i;
        }
    }
    nlp_data_release(&all);
}

struct stats_job {
    int64_t account_id, version, trained_at, train_ms, examples;
    int classes;
    double cv;
};

static int stats_fn(struct store_tx *tx, void *arg)
{
    struct stats_job *s = arg;
    return tx_exec(tx,
                   "INSERT INTO bot_models (account_id, version, examples, classes, cv_accuracy,"
                   " train_ms, trained_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                   " ON CONFLICT (account_id) DO UPDATE SET version = excluded.version,"
                   " examples = excluded.examples, classes = excluded.classes,"
                   " cv_accuracy = excluded.cv_accuracy, train_ms = excluded.train_ms,"
                   " trained_at = excluded.trained_at",
                   "iiiidii", s->account_id, s->version, s->examples, (int64_t)s->classes, s->cv,
                   s->train_ms, s->trained_at);
}

static void stats_done(void *arg, int rc)
{
    if (rc < 0)
        log_warn("bot", "saving the model figures failed: %s", err_str(rc));
    free(arg);
}

static void schedule(struct acct *a, uint64_t delay);

static void train_after(uv_work_t *w, int status)
{
    struct train_job *t = w->data;
    struct acct *a = t->acct;
    a->training = false;
    if (status < 0 || t->rc < 0) {
        snprintf(a->error, sizeof(a->error), "training failed: %s",
                 status < 0 ? uv_strerror(status) : err_str(t->rc));
        log_warn("bot", "account=%" PRId64 " %s", a->account_id, a->error);
        brain_free(t->b);
    } else {
        a->error[0] = 0;
        t->b->train_ms = clock_wall_ms() - t->started;
        t->b->version = ++a->version;
        t->b->trained_at = a->trained_at = clock_wall_ms();
        brain_free(a->brain);
        a->brain = t->b;
        log_info("bot",
                 "account=%" PRId64 " trained version=%" PRId64
                 " examples=%zu classes=%d cv=%.3f ms=%" PRId64,
                 a->account_id, a->brain->version, a->brain->examples, a->brain->classes,
                 a->brain->cv, a->brain->train_ms);
        struct stats_job *s = xcalloc(1, sizeof(*s));
        *s = (struct stats_job){
            a->account_id,      a->brain->version,           a->brain->trained_at,
            a->brain->train_ms, (int64_t)a->brain->examples, a->brain->classes,
            a->brain->cv};
        if (!B.stopping && store_write(B.store, stats_fn, stats_done, s) < 0)
            free(s);
    }
    free(t);
    if (a->again && !B.stopping) {
        a->again = false;
        schedule(a, 0);
    }
}

static void gathered(void *arg, int rc)
{
    struct train_job *t = arg;
    if (rc < 0 || B.stopping) {
        t->acct->training = false;
        snprintf(t->acct->error, sizeof(t->acct->error), "reading the knowledge failed: %s",
                 err_str(rc));
        brain_free(t->b);
        free(t);
        return;
    }
    t->work.data = t;
    if (uv_queue_work(B.loop, &t->work, train_work, train_after) < 0) {
        t->acct->training = false;
        brain_free(t->b);
        free(t);
    }
}

static void on_timer(uv_timer_t *h)
{
    struct acct *a = h->data;
    a->timer_on = false;
    if (a->training) {
        a->again = true;
        return;
    }
    struct train_job *t = xcalloc(1, sizeof(*t));
    t->acct = a;
    t->b = xcalloc(1, sizeof(*t->b));
    t->started = clock_wall_ms();
    a->training = true;
    atomic_store(&a->done, 0);
    atomic_store(&a->total, 1);
    if (store_read(B.store, gather_fn, gathered, t) < 0) {
        a->training = false;
        brain_free(t->b);
        free(t);
        schedule(a, 1000); /* the store is busy: try again in a second */
    }
}

static void schedule(struct acct *a, uint64_t delay)
{
    if (B.stopping)
        return;
    a->timer_on = true;
    uv_timer_start(&a->timer, on_timer, delay, 0);
}

/* ---- replies (write jobs) ---- */

enum reply_kind { RK_ANSWER, RK_SUGGEST, RK_HANDOFF, RK_COLLECT_START, RK_FLOW_START };

/* The reply to one customer message. The loop decides what the bot would say to it on its own
 * (kind: the classifier's answer, suggestions, a handoff, a form or a flow to start); the write
 * job reads where the conversation is, and while the bot is asking (a form or a flow) it takes the
 * message as the answer first. A job may run twice (store.h): it never changes the reply. */
struct reply {
    int64_t account_id, conversation_id;
    enum reply_kind kind;
    char *content;
    json_t *attrs;
    char *intent;
    int64_t team_id, skill_id, faq_id;
    int64_t flow_id; /* RK_FLOW_START */
    char *fields;    /* RK_COLLECT_START: JSON [{name,label}] */
    char *text;      /* the customer's message */
    char *payload;   /* the bot button they clicked ("flow:..."), or NULL */
    bool keyword;    /* the text has a handoff keyword */
    bool greeting;   /* RK_FLOW_START from a button under the greeting */
    const char *reason;
    char lang[4];
    bool lang_guessed; /* from the text; else the language the bot spoke before (bot_data) */
    bool after_hours;
    unsigned collect; /* contact fields to ask for before an after-hours handoff */
    struct event_batch events;
};

static bool zh(const char *lang)
{
    return strcmp(lang, "en") != 0;
}

/* A bot message (public or a private note), with its event: the conversation service's send path.
 * Takes attrs (may be NULL). */
static int bot_message(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                       int64_t conv_id, const char *content, json_t *attrs, bool private)
{
    return conv_bot_say(tx, ev, account_id, conv_id, content, attrs, private);
}

static json_t *handoff_button(const char *lang)
{
    return json_pack("{s:s, s:s}", "label", zh(lang) ? "转人工" : "Talk to a person", "payload",
                     "handoff");
}

static const char *no_answer(const char *lang)
{
    return zh(lang) ? "抱歉，我没有找到答案。需要为您转人工吗？"
                    : "Sorry, I could not find an answer. Shall I get you a person?";
}

int bot_handoff_tx(struct store_tx *tx, struct event_batch *events, int64_t account_id,
                   int64_t conversation_id, const char *reason, const char *intent, int64_t team_id,
                   int64_t skill_id, const char *lang, bool *done)
{
    *done = false;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT c.bot_state, c.bot_data, c.sentiment, c.intent"
                      " FROM conversations c WHERE c.id = $1 AND c.account_id = $2"
                      " AND c.bot_state IN ('active', 'collecting')",
                      "ii", conversation_id, account_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc;
    }
    json_t *data = json_loads(rows_text(&rows, 1), 0, NULL);
    double senti = rows_null(&rows, 2) ? NAN : rows_double(&rows, 2);
    char old_intent[160];
    snprintf(old_intent, sizeof(old_intent), "%s", rows_text(&rows, 3));
    rows_close(&rows);
    const char *in = intent && *intent ? intent : old_intent;
    bool after = strcmp(reason, "after_hours") == 0;
    const char *say =
        after ? (zh(lang) ? "感谢您的留言！我们的客服上班后会第一时间回复您。"
                          : "Thanks! Our team will get back to you as soon as we are open.")
              : (zh(lang) ? "好的，正在为您转接人工客服，请稍候。"
                          : "OK, connecting you with a person now. Please hold on.");
    rc = bot_message(tx, events, account_id, conversation_id, say,
                     json_pack("{s:s}", "kind", "handoff"), false);
    /* the note agents read first: why, what the customer wants, how they feel, the flow they came
     * through, what they told */
    struct buf note;
    buf_init(&note, 8192);
    buf_printf(&note, "机器人转人工 · Bot handoff — %s", reason);
    if (*in)
        buf_printf(&note, "; intent: %s", in);
    if (senti == senti)
        buf_printf(&note, "; sentiment: %s (%.2f)", sentiment_label(senti), senti);
    const char *flow = json_string_value(json_object_get(data, "flow"));
    const char *why = json_string_value(json_object_get(data, "note"));
    if (flow && *flow)
        buf_printf(&note, "; flow: %s", flow);
    if (why && *why)
        buf_printf(&note, "; note: %s", why);
    json_t *values = json_object_get(data, "values");
    const char *k;
    json_t *v;
    json_object_foreach(values, k, v)
        buf_printf(&note, "; %s: %s", k, json_string_value(v) ? json_string_value(v) : "");
    if (rc >= 0)
        rc = bot_message(tx, events, account_id, conversation_id, note.p,
                         json_pack("{s:s}", "kind", "handoff_note"), true);
    buf_release(&note);
    json_decref(data);
    if (rc >= 0)
        rc = conv_bot_handoff(tx, events, account_id, conversation_id, in, team_id, skill_id);
    if (rc >= 0)
        *done = true;
    return rc < 0 ? rc : 0;
}

/* The conversation's bot_state and bot_data. */
static int set_state(struct store_tx *tx, struct reply *r, const char *state, json_t *data)
{
    return conv_set_bot_state(tx, r->account_id, r->conversation_id, state, data);
}

/* Asks field i of the form in bot_data (JSON). */
static int ask(struct store_tx *tx, struct reply *r, json_t *data, bool again)
{
    json_t *fields = json_object_get(data, "fields");
    size_t i = (size_t)json_integer_value(json_object_get(data, "i"));
    const char *label = json_string_value(json_object_get(json_array_get(fields, i), "label"));
    char text[600];
    bot_collect_prompt(label, zh(r->lang), again, text, sizeof(text));
    int rc = set_state(tx, r, "collecting", data);
    if (rc < 0)
        return rc;
    const char *name = json_string_value(json_object_get(json_array_get(fields, i), "name"));
    return bot_message(tx, &r->events, r->account_id, r->conversation_id, text,
                       json_pack("{s:s, s:s, s:[o]}", "kind", "collect", "field", name ? name : "",
                                 "buttons", handoff_button(r->lang)),
                       false);
}

/* answer_value: the customer's answer for a form field, checked with the same rules as the contact
 * API (e-mail normalised into out), or false to ask again. out holds at least 256 bytes. */
static bool answer_value(const char *field, const char *v, char *out, size_t outlen)
{
    size_t n = strlen(v);
    if (n == 0 || text_blank(v) || n >= outlen)
        return false;
    if (strcmp(field, "email") == 0)
        return user_email_normalize(v, out);
    if ((strcmp(field, "phone") == 0 && !phone_valid(v)) ||
        (strcmp(field, "name") == 0 && !user_name_valid(v)))
        return false;
    memcpy(out, v, n + 1);
    return true;
}

/* The values the visitor gave so far (a form's or a flow's), copied for the next form or flow. */
static json_t *values_of(json_t *data)
{
    json_t *v = json_object_get(data, "values");
    return json_is_object(v) ? json_deep_copy(v) : json_object();
}

/* Hands over (bot_handoff_tx), but outside business hours first asks for the contact details
 * nobody has yet: a form whose end hands over with the same reason, intent, team and skill. */
static int handoff(struct store_tx *tx, struct reply *r, json_t *data, const bool has[3],
                   const char *reason, const char *intent, int64_t team, int64_t skill)
{
    if (r->after_hours) {
        static const char *const names[3] = {"name", "email", "phone"};
        static const char *const zh_l[3] = {"姓名", "邮箱", "手机号"};
        static const char *const en_l[3] = {"name", "e-mail address", "phone number"};
        json_t *fields = json_array();
        for (int k = 0; k < 3; k++)
            if ((r->collect & (1u << k)) && !has[k])
                json_array_append_new(fields, json_pack("{s:s, s:s}", "name", names[k], "label",
                                                        zh(r->lang) ? zh_l[k] : en_l[k]));
        if (json_array_size(fields) > 0) {
            json_t *d = json_pack("{s:o, s:i, s:o, s:{s:s, s:s, s:I, s:I}}", "fields", fields, "i",
                                  0, "values", values_of(data), "then", "reason", "after_hours",
                                  "intent", intent ? intent : "", "team_id", (json_int_t)team,
                                  "skill_id", (json_int_t)skill);
            json_object_set_new(d, "lang", json_string(r->lang));
            /* the flow's name and note stay for the agents' note */
            static const char *const keep[] = {"flow", "note"};
            for (size_t k = 0; k < ARRAY_SIZE(keep); k++)
                if (json_object_get(data, keep[k]))
                    json_object_set(d, keep[k], json_object_get(data, keep[k]));
            int rc = ask(tx, r, d, false);
            json_decref(d);
            return rc;
        }
        json_decref(fields);
    }
    bool done;
    return bot_handoff_tx(tx, &r->events, r->account_id, r->conversation_id,
                          r->after_hours ? "after_hours" : reason, intent, team, skill, r->lang,
                          &done);
}

/* A team or skill a flow names, if it still exists (else 0: hand over without it). */
static int alive(struct store_tx *tx, int64_t account_id, bool team, int64_t id, int64_t *out)
{
    *out = 0;
    if (!id)
        return 0;
    int64_t x;
    int rc = tx_query_i64(tx, &x,
                          team ? "SELECT id FROM teams WHERE id = $1 AND account_id = $2"
                                 " AND deleted_at IS NULL"
                               : "SELECT id FROM skills WHERE id = $1 AND account_id = $2",
                          "ii", id, account_id);
    if (rc == ERR_NOTFOUND)
        return 0;
    if (rc == 0)
        *out = id;
    return rc;
}

/* A value the visitor gave lands on their contact, where agents see it: name, email and phone
 * fill those (when they fit), anything else goes into the contact's attributes. */
static int contact_value(struct store_tx *tx, struct reply *r, int64_t contact, const char *field,
                         const char *value)
{
    int64_t now = clock_wall_ms();
    char email[USER_EMAIL_MAX + 1];
    bool column = (strcmp(field, "name") == 0 && user_name_valid(value)) ||
                  (strcmp(field, "email") == 0 && user_email_normalize(value, email)) ||
                  (strcmp(field, "phone") == 0 && phone_valid(value));
    int rc;
    if (column) {
        rc = tx_exec(tx,
                     "UPDATE contacts SET name = CASE WHEN $1 = 'name' THEN $2 ELSE name END,"
                     " email = CASE WHEN $1 = 'email' THEN $2 ELSE email END,"
                     " phone = CASE WHEN $1 = 'phone' THEN $2 ELSE phone END, updated_at = $3"
                     " WHERE id = $4 AND account_id = $5",
                     "ttiii", field, strcmp(field, "email") == 0 ? email : value, now, contact,
                     r->account_id);
    } else {
        struct store_rows rows;
        json_t *attrs = NULL;
        rc =
            tx_query(tx, &rows, "SELECT attributes FROM contacts WHERE id = $1 AND account_id = $2",
                     "ii", contact, r->account_id);
        if (rc < 0)
            return rc;
        if ((rc = rows_next(&rows)) == 1)
            attrs = json_loads(rows_text(&rows, 0), 0, NULL);
        rows_close(&rows);
        if (rc < 0) {
            json_decref(attrs);
            return rc;
        }
        if (!json_is_object(attrs)) {
            json_decref(attrs);
            attrs = json_object();
        }
        json_object_set_new(attrs, field, json_string(value));
        char *text = json_dump_compact(attrs, NULL);
        json_decref(attrs);
        rc = tx_exec(tx,
                     "UPDATE contacts SET attributes = $1, updated_at = $2 WHERE id = $3"
                     " AND account_id = $4",
                     "tiii", text, now, contact, r->account_id);
        free(text);
    }
    if (rc < 0)
        return rc;
    json_t *c;
    if ((rc = contact_load(tx, r->account_id, contact, &c)) < 0)
        return rc;
    return contact_updated_emit(tx, &r->events, r->account_id, contact, c);
}

/* ---- guided flows (model/flow.h) ----
 * While a conversation is in a flow, bot_state is 'collecting' and bot_data is {"flow_id", "flow"
 * (its name, for the agents' note), "step", "values", "tries", "intent"}. The steps are read from
 * bot_flows in each job, so an edit applies from the next message on; a step that is gone ends the
 * flow. */

struct flow_run {
    struct reply *r;
    json_t *data;  /* bot_data, changed as the flow goes (the caller's) */
    json_t *steps; /* the flow's (the caller's) */
    int64_t flow_id, contact_id;
    const bool *has; /* the contact's name, email, phone are known */
};

/* The flow's steps and name, or *steps NULL when it is not there (or disabled, if enabled_only).
 */
static int flow_load(struct store_tx *tx, int64_t account_id, int64_t flow_id, bool enabled_only,
                     json_t **steps, char *name, size_t namelen)
{
    *steps = NULL;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT steps, name FROM bot_flows WHERE id = $1 AND account_id = $2"
                      " AND (enabled = 1 OR NOT $3)",
                      "iib", flow_id, account_id, (int)enabled_only);
    if (rc < 0)
        return rc;
    json_t *stored = NULL;
    if ((rc = rows_next(&rows)) == 1) {
        stored = json_loads(rows_text(&rows, 0), 0, NULL);
        snprintf(name, namelen, "%s", rows_text(&rows, 1));
    }
    rows_close(&rows);
    /* The steps as the API saves them, checked again: what the walk below reads (every step's
     * kind, id, text, field and targets as strings and objects) is then there, whatever the row
     * holds. A row that does not pass is a flow that is gone. */
    json_t *refs = NULL;
    struct jfail f = {0};
    if (stored && flow_steps_parse(stored, steps, &refs, &f) < 0) {
        log_warn("bot", "flow=%" PRId64 " stored steps do not parse (%s: %s)", flow_id, f.field,
                 f.msg);
        *steps = NULL;
    }
    json_decref(refs);
    json_decref(stored);
    return rc < 0 ? rc : 0;
}

/* Out of the flow: the bot answers as usual again; what the visitor told stays. */
static int flow_leave(struct store_tx *tx, struct reply *r, json_t *data)
{
    static const char *const drop[] = {"flow_id", "flow", "step", "tries", "note"};
    for (size_t k = 0; k < ARRAY_SIZE(drop); k++)
        json_object_del(data, drop[k]);
    return set_state(tx, r, "active", data);
}

/* Buttons as the widget gets them: labels (of buttons, or a choice's options) with payloads. */
static json_t *flow_buttons(int64_t flow_id, const char *step, json_t *labels)
{
    json_t *out = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(labels, i, x)
    {
        const char *l = json_is_object(x) ? json_string_value(json_object_get(x, "label"))
                                          : json_string_value(x);
        char payload[FLOW_PAYLOAD_MAX + 1];
        snprintf(payload, sizeof(payload), "flow:%" PRId64 ":%s:%zu", flow_id, step, i);
        json_array_append_new(out,
                              json_pack("{s:s, s:s}", "label", l ? l : "", "payload", payload));
    }
    return out;
}

/* The step the flow waits at: a message with buttons or a question (again: after an answer that
 * did not fit). */
static int flow_ask(struct store_tx *tx, struct flow_run *fr, json_t *st, bool again)
{
    struct reply *r = fr->r;
    const char *id = json_string_value(json_object_get(st, "id"));
    const char *text = json_string_value(json_object_get(st, "text"));
    json_object_set_new(fr->data, "step", json_string(id));
    if (!again)
        json_object_set_new(fr->data, "tries", json_integer(0));
    int rc = set_state(tx, r, "collecting", fr->data);
    if (rc < 0)
        return rc;
    bool z = zh(r->lang);
    if (strcmp(json_string_value(json_object_get(st, "kind")), "message") == 0) {
        if (again)
            text = z ? "请点击下面的一个选项，或直接输入您的问题。"
                     : "Please pick one of the options below, or type your question.";
        return bot_message(tx, &r->events, r->account_id, r->conversation_id, text,
                           json_pack("{s:s, s:I, s:s, s:o}", "kind", "flow", "flow_id",
                                     (json_int_t)fr->flow_id, "step", id, "buttons",
                                     flow_buttons(fr->flow_id, id, json_object_get(st, "buttons"))),
                           false);
    }
    const char *type = json_string_value(json_object_get(st, "field_type"));
    const char *retry = json_string_value(json_object_get(st, "retry_text"));
    if (again && retry && *retry)
        text = retry;
    else if (again && strcmp(type, "email") == 0)
        text = z ? "这个邮箱地址好像不对，请再输入一次："
                 : "That does not look like an e-mail address. Please try again:";
    else if (again && strcmp(type, "phone") == 0)
        text = z ? "这个手机号码好像不对，请再输入一次："
                 : "That does not look like a phone number. Please try again:";
    else if (again && strcmp(type, "number") == 0)
        text = z ? "请输入一个数字：" : "Please enter a number:";
    else if (again && strcmp(type, "choice") == 0)
        text = z ? "请从下面的选项中选择一个：" : "Please choose one of the options below:";
    else if (again)
        text = z ? "请再输入一次：" : "Please try again:";
    return bot_message(tx, &r->events, r->account_id, r->conversation_id, text,
                       json_pack("{s:s, s:I, s:s, s:s, s:s, s:o}", "kind", "collect", "flow_id",
                                 (json_int_t)fr->flow_id, "step", id, "field",
                                 json_string_value(json_object_get(st, "field")), "input", type,
                                 "buttons",
                                 flow_buttons(fr->flow_id, id, json_object_get(st, "options"))),
                       false);
}

/* The end of a flow: a closing text, and the bot stays on. */
static int flow_end(struct store_tx *tx, struct flow_run *fr, const char *text)
{
    struct reply *r = fr->r;
    int rc = flow_leave(tx, r, fr->data);
    if (!text || !*text)
        text = zh(r->lang) ? "好的，还有其他问题随时问我。"
                           : "OK. If there is anything else, just ask.";
    if (rc >= 0)
        rc = bot_message(tx, &r->events, r->account_id, r->conversation_id, text,
                         json_pack("{s:s}", "kind", "flow_end"), false);
    return rc;
}

/* An FAQ entry's answer ends the flow, as if the visitor had asked it. */
static int flow_faq(struct store_tx *tx, struct flow_run *fr, int64_t faq_id)
{
    struct reply *r = fr->r;
    int rc = flow_leave(tx, r, fr->data);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    char *answer = NULL;
    if ((rc = tx_query(tx, &rows, "SELECT answer FROM faqs WHERE id = $1 AND account_id = $2", "ii",
                       faq_id, r->account_id)) < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1)
        answer = xstrdup(rows_text(&rows, 0));
    rows_close(&rows);
    if (rc < 0)
        return rc;
    if (!answer) /* deleted since the flow was saved */
        return bot_message(
            tx, &r->events, r->account_id, r->conversation_id, no_answer(r->lang),
            json_pack("{s:s, s:[o]}", "kind", "suggestions", "buttons", handoff_button(r->lang)),
            false);
    rc = bot_message(tx, &r->events, r->account_id, r->conversation_id, answer,
                     json_pack("{s:s, s:I, s:[o]}", "kind", "answer", "faq_id", (json_int_t)faq_id,
                               "buttons", handoff_button(r->lang)),
                     false);
    free(answer);
    if (rc >= 0)
        rc = tx_exec(tx, "UPDATE faqs SET hits = hits + 1 WHERE id = $1 AND account_id = $2", "ii",
                     faq_id, r->account_id);
    return rc < 0 ? rc : 0;
}

/* The flow hands over: the agents' note gets the flow, the step's note and the values. */
static int flow_handoff(struct store_tx *tx, struct flow_run *fr, json_t *at)
{
    struct reply *r = fr->r;
    int64_t team, skill;
    int rc;
    if ((rc = alive(tx, r->account_id, true, json_integer_value(json_object_get(at, "team_id")),
                    &team)) < 0 ||
        (rc = alive(tx, r->account_id, false, json_integer_value(json_object_get(at, "skill_id")),
                    &skill)) < 0)
        return rc;
    const char *note = json_string_value(json_object_get(at, "note"));
    if (note && *note)
        json_object_set_new(fr->data, "note", json_string(note));
    if ((rc = set_state(tx, r, "collecting", fr->data)) < 0) /* what bot_handoff_tx reads */
        return rc;
    const char *intent = json_string_value(json_object_get(fr->data, "intent"));
    return handoff(tx, r, fr->data, fr->has, "flow", intent && *intent ? intent : r->intent, team,
                   skill);
}

static int flow_go(struct store_tx *tx, struct flow_run *fr, json_t *target);

/* Walks into a step: messages without buttons are said and passed, up to the step that waits
 * for the visitor or ends the flow. */
static int flow_enter(struct store_tx *tx, struct flow_run *fr, const char *step)
{
    char id[FLOW_STEP_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", step);
    for (int hop = 0; hop < FLOW_HOPS_MAX; hop++) {
        json_t *st = flow_step(fr->steps, id);
        if (!st)
            return flow_end(tx, fr, NULL);
        const char *kind = json_string_value(json_object_get(st, "kind"));
        if (strcmp(kind, "collect") == 0 ||
            (strcmp(kind, "message") == 0 && json_array_size(json_object_get(st, "buttons")) > 0))
            return flow_ask(tx, fr, st, false);
        if (strcmp(kind, "handoff") == 0)
            return flow_handoff(tx, fr, st);
        if (strcmp(kind, "end") == 0)
            return flow_end(tx, fr, json_string_value(json_object_get(st, "text")));
        struct reply *r = fr->r;
        int rc = bot_message(tx, &r->events, r->account_id, r->conversation_id,
                             json_string_value(json_object_get(st, "text")),
                             json_pack("{s:s, s:I, s:s}", "kind", "flow", "flow_id",
                                       (json_int_t)fr->flow_id, "step", id),
                             false);
        json_t *next = json_object_get(st, "next");
        if (rc < 0)
            return rc;
        if (!json_is_object(next)) /* the flow ends with this message */
            return flow_leave(tx, r, fr->data);
        const char *to = json_string_value(json_object_get(next, "step"));
        if (!to)
            return flow_go(tx, fr, next);
        snprintf(id, sizeof(id), "%s", to);
    }
    return flow_leave(tx, fr->r, fr->data);
}

static int flow_go(struct store_tx *tx, struct flow_run *fr, json_t *target)
{
    const char *type = json_string_value(json_object_get(target, "type"));
    if (type && strcmp(type, "step") == 0)
        return flow_enter(tx, fr, json_string_value(json_object_get(target, "step")));
    if (type && strcmp(type, "faq") == 0)
        return flow_faq(tx, fr, json_integer_value(json_object_get(target, "faq_id")));
    if (type && strcmp(type, "handoff") == 0)
        return flow_handoff(tx, fr, target);
    return flow_end(tx, fr, NULL);
}

/* A collect step got its value: kept with the flow and on the contact, then on to `next`. */
static int flow_collected(struct store_tx *tx, struct flow_run *fr, json_t *st, const char *value)
{
    const char *field = json_string_value(json_object_get(st, "field"));
    json_t *values = json_object_get(fr->data, "values");
    if (!json_is_object(values)) {
        values = json_object();
        json_object_set_new(fr->data, "values", values);
    }
    json_object_set_new(values, field, json_string(value));
    int rc = contact_value(tx, fr->r, fr->contact_id, field, value);
    if (rc < 0)
        return rc;
    return flow_go(tx, fr, json_object_get(st, "next"));
}

static int act(struct store_tx *tx, struct reply *r, json_t *data, const bool has[3],
               int64_t contact);

/* Starts a flow at its first step (from the greeting's button or an intent). */
static int flow_start(struct store_tx *tx, struct reply *r, json_t *data, const bool has[3],
                      int64_t contact)
{
    json_t *steps;
    char name[FLOW_NAME_MAX * 4 + 1];
    int rc = flow_load(tx, r->account_id, r->flow_id, true, &steps, name, sizeof(name));
    if (rc < 0)
        return rc;
    if (!steps) /* deleted or switched off meanwhile */
        return bot_message(
            tx, &r->events, r->account_id, r->conversation_id, no_answer(r->lang),
            json_pack("{s:s, s:[o]}", "kind", "suggestions", "buttons", handoff_button(r->lang)),
            false);
    const char *first = json_string_value(json_object_get(json_array_get(steps, 0), "id"));
    json_t *d = json_pack("{s:I, s:s, s:s, s:o, s:i, s:s}", "flow_id", (json_int_t)r->flow_id,
                          "flow", name, "step", first ? first : "", "values", values_of(data),
                          "tries", 0, "intent", r->intent ? r->intent : "");
    json_object_set_new(d, "lang", json_string(r->lang));
    if (r->intent)
        rc = conv_set_intent(tx, r->account_id, r->conversation_id, r->intent);
    struct flow_run fr = {.r = r,
                          .data = d,
                          .steps = steps,
                          .flow_id = r->flow_id,
                          .contact_id = contact,
                          .has = has};
    if (rc >= 0)
        rc = flow_enter(tx, &fr, first ? first : "");
    json_decref(d);
    json_decref(steps);
    return rc;
}

/* A message while the conversation is in a flow: the button clicked (its payload), a button's
 * label typed, or the answer to the question; a handoff keyword; else what the bot would say on
 * its own: a confident answer leaves the flow, anything else shows the step's buttons again. */
static int flow_input(struct store_tx *tx, struct reply *r, json_t *data, const bool has[3],
                      int64_t contact)
{
    struct flow_run fr = {.r = r,
                          .data = data,
                          .flow_id = json_integer_value(json_object_get(data, "flow_id")),
                          .contact_id = contact,
                          .has = has};
    char name[FLOW_NAME_MAX * 4 + 1];
    int rc = flow_load(tx, r->account_id, fr.flow_id, false, &fr.steps, name, sizeof(name));
    if (rc < 0)
        return rc;
    const char *sid = json_string_value(json_object_get(data, "step"));
    json_t *st = fr.steps && sid ? flow_step(fr.steps, sid) : NULL;
    const char *kind = st ? json_string_value(json_object_get(st, "kind")) : "";
    bool msg = strcmp(kind, "message") == 0, ask_ = strcmp(kind, "collect") == 0;
    if (!msg && !ask_) { /* the flow or the step is gone */
        if ((rc = flow_leave(tx, r, data)) >= 0)
            rc = act(tx, r, data, has, contact);
        json_decref(fr.steps);
        return rc;
    }
    json_t *choices = json_object_get(st, msg ? "buttons" : "options");
    /* the button clicked, if it is one of this step's (else it is taken as typed text) */
    int64_t pid;
    char pstep[FLOW_STEP_ID_MAX + 1];
    int idx = -1;
    if (!(r->payload && flow_payload_parse(r->payload, &pid, pstep, &idx) && pid == fr.flow_id &&
          strcmp(pstep, sid) == 0 && idx >= 0 && (size_t)idx < json_array_size(choices)))
        idx = flow_label_match(choices, r->text);
    const char *type = json_string_value(json_object_get(st, "field_type"));
    char value[4 * FLOW_VALUE_MAX + 1];
    if (idx >= 0 && msg)
        rc = flow_go(tx, &fr, json_object_get(json_array_get(choices, (size_t)idx), "target"));
    else if (idx >= 0)
        rc = flow_collected(tx, &fr, st, json_string_value(json_array_get(choices, (size_t)idx)));
    else if (r->keyword)
        rc = act(tx, r, data, has, contact); /* the handoff, with the flow in the note */
    else if (ask_ && flow_value_check(type, choices, r->text, value, sizeof(value)))
        rc = flow_collected(tx, &fr, st, value);
    else if (msg && r->kind != RK_SUGGEST) {
        if ((rc = flow_leave(tx, r, data)) >= 0)
            rc = act(tx, r, data, has, contact);
    } else {
        json_object_set_new(data, "tries",
                            json_integer(json_integer_value(json_object_get(data, "tries")) + 1));
        rc = flow_ask(tx, &fr, st, true);
    }
    json_decref(fr.steps);
    return rc;
}

/* ---- what the bot does on its own ---- */

static int act(struct store_tx *tx, struct reply *r, json_t *data, const bool has[3],
               int64_t contact)
{
    int rc = 0;
    switch (r->kind) {
    case RK_ANSWER:
    case RK_SUGGEST:
        rc = bot_message(tx, &r->events, r->account_id, r->conversation_id, r->content,
                         json_incref(r->attrs), false);
        if (rc >= 0 && r->faq_id)
            rc = tx_exec(tx, "UPDATE faqs SET hits = hits + 1 WHERE id = $1 AND account_id = $2",
                         "ii", r->faq_id, r->account_id);
        if (rc >= 0 && r->intent)
            rc = conv_set_intent(tx, r->account_id, r->conversation_id, r->intent);
        break;
    case RK_HANDOFF:
        rc = handoff(tx, r, data, has, r->reason, r->intent, r->team_id, r->skill_id);
        break;
    case RK_COLLECT_START: {
        json_t *d =
            json_pack("{s:o, s:i, s:o, s:{s:s, s:s, s:I, s:I}}", "fields",
                      json_loads(r->fields, 0, NULL), "i", 0, "values", values_of(data), "then",
                      "reason", "intent", "intent", r->intent ? r->intent : "", "team_id",
                      (json_int_t)r->team_id, "skill_id", (json_int_t)r->skill_id);
        json_object_set_new(d, "lang", json_string(r->lang));
        rc = ask(tx, r, d, false);
        json_decref(d);
        break;
    }
    case RK_FLOW_START:
        rc = flow_start(tx, r, data, has, contact);
        break;
    }
    return rc < 0 ? rc : 0;
}

/* A message while the bot asks the questions of a form (an intent's, or the contact details
 * before an after-hours handoff): the answer to the current one. */
static int form_input(struct store_tx *tx, struct reply *r, json_t *data, int64_t contact)
{
    bool done;
    int rc = 0;
    json_t *fields = json_object_get(data, "fields");
    size_t i = (size_t)json_integer_value(json_object_get(data, "i"));
    const char *name = json_string_value(json_object_get(json_array_get(fields, i), "name"));
    if (!name) { /* nothing left to ask: hand over */
        json_t *then = json_object_get(data, "then");
        return bot_handoff_tx(tx, &r->events, r->account_id, r->conversation_id, "collected",
                              json_string_value(json_object_get(then, "intent")), 0, 0, r->lang,
                              &done);
    }
    char value[400];
    if (!answer_value(name, r->text, value, sizeof(value)))
        return ask(tx, r, data, true);
    if (strcmp(name, "name") == 0 || strcmp(name, "email") == 0 || strcmp(name, "phone") == 0)
        rc = tx_exec(tx,
                     "UPDATE contacts SET name = CASE WHEN $1 = 'name' THEN $2 ELSE name END,"
                     " email = CASE WHEN $1 = 'email' THEN $2 ELSE email END,"
                     " phone = CASE WHEN $1 = 'phone' THEN $2 ELSE phone END, updated_at = $3"
                     " WHERE id = $4 AND account_id = $5",
                     "ttiii", name, value, clock_wall_ms(), contact, r->account_id);
    if (!json_is_object(json_object_get(data, "values")))
        json_object_set_new(data, "values", json_object());
    json_object_set_new(json_object_get(data, "values"), name, json_string(value));
    json_object_set_new(data, "i", json_integer((json_int_t)i + 1));
    if (rc < 0)
        return rc;
    if (i + 1 < json_array_size(fields))
        return ask(tx, r, data, false);
    if ((rc = set_state(tx, r, "collecting", data)) < 0)
        return rc;
    json_t *then = json_object_get(data, "then");
    const char *why = json_string_value(json_object_get(then, "reason"));
    return bot_handoff_tx(tx, &r->events, r->account_id, r->conversation_id,
                          why ? why : "collected",
                          json_string_value(json_object_get(then, "intent")),
                          json_integer_value(json_object_get(then, "team_id")),
                          json_integer_value(json_object_get(then, "skill_id")), r->lang, &done);
}

static int reply_fn(struct store_tx *tx, void *arg)
{
    struct reply *r = arg;
    event_batch_reset(&r->events);
    struct store_rows rows;
    int rc = tx_query(
        tx, &rows,
        "SELECT c.bot_state, c.bot_data, ct.name, ct.email, ct.phone, c.contact_id"
        " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id"
        " WHERE c.id = $1 AND c.account_id = $2 AND c.bot_state IN ('active', 'collecting')",
        "ii", r->conversation_id, r->account_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc; /* an agent took over: the bot says nothing */
    }
    bool collecting = strcmp(rows_text(&rows, 0), "collecting") == 0;
    json_t *data = json_loads(rows_text(&rows, 1), 0, NULL);
    if (!json_is_object(data)) {
        json_decref(data);
        data = json_object();
    }
    bool has[3] = {rows_text(&rows, 2)[0] != 0, rows_text(&rows, 3)[0] != 0,
                   rows_text(&rows, 4)[0] != 0};
    int64_t contact = rows_i64(&rows, 5);
    rows_close(&rows);
    /* "178" or "M" says nothing of the language: the bot goes on in the one it spoke */
    const char *lang = json_string_value(json_object_get(data, "lang"));
    if (!r->lang_guessed && lang && (strcmp(lang, "zh") == 0 || strcmp(lang, "en") == 0))
        snprintf(r->lang, sizeof(r->lang), "%s", lang);
    /* the greeting's flow button starts its flow whatever the bot was asking */
    if (collecting && !r->greeting && json_object_get(data, "flow_id"))
        rc = flow_input(tx, r, data, has, contact);
    else if (collecting && !r->greeting)
        rc = form_input(tx, r, data, contact);
    else
        rc = act(tx, r, data, has, contact);
    json_decref(data);
    return rc < 0 ? rc : 0;
}

static void reply_free(struct reply *r)
{
    free(r->content);
    json_decref(r->attrs);
    free(r->intent);
    free(r->fields);
    free(r->text);
    free(r->payload);
    free(r);
}

static void reply_done(void *arg, int rc)
{
    struct reply *r = arg;
    if (rc >= 0)
        event_publish(&r->events);
    else {
        event_batch_reset(&r->events);
        log_warn("bot", "reply failed conversation=%" PRId64 " err=%s", r->conversation_id,
                 err_str(rc));
    }
    reply_free(r);
}

/* Decides the reply to a customer message on the loop, then queues its write. */
static void respond(int64_t account_id, int64_t conversation_id, int64_t inbox_id, const char *text,
                    const char *payload)
{
    struct bot_settings dflt, *s = inbox_settings(inbox_id);
    if (!s) {
        bot_settings_default(&dflt);
        s = &dflt;
    }
    struct reply *r = xcalloc(1, sizeof(*r));
    r->account_id = account_id;
    r->conversation_id = conversation_id;
    const char *lang = route_language_guess(text);
    snprintf(r->lang, sizeof(r->lang), "%s", *lang ? lang : "zh");
    r->lang_guessed = *lang != 0;
    r->after_hours = s->mode == BOT_OUTSIDE_HOURS && !bot_in_hours(s, clock_wall_ms());
    r->collect = s->collect;
    r->reason = "keyword";
    r->text = xstrdup(text);
    r->payload = payload ? xstrdup(payload) : NULL;
    r->keyword = bot_handoff_word(s, text);
    struct acct *a = acct_get(account_id);
    struct brain *b = a->brain;
    int64_t fid;
    char step[FLOW_STEP_ID_MAX + 1];
    int idx;
    if (payload && flow_payload_parse(payload, &fid, step, &idx) && !step[0]) {
        r->kind = RK_FLOW_START; /* a flow's button under the greeting */
        r->greeting = true;
        r->flow_id = fid;
        r->reason = "flow";
    } else if (r->keyword) {
        r->kind = RK_HANDOFF;
    } else {
        struct guess g = {.item = -1};
        if (b)
            brain_guess(b, text, strlen(text), &g);
        const struct item *it = g.item >= 0 ? &b->items[g.item] : NULL;
        if (it && g.conf >= s->threshold && it->kind == IT_FAQ) {
            r->kind = RK_ANSWER;
            r->content = xstrdup(it->answer);
            r->faq_id = it->id;
            r->attrs =
                json_pack("{s:s, s:I, s:f, s:[o]}", "kind", "answer", "faq_id", (json_int_t)it->id,
                          "confidence", (double)g.conf, "buttons", handoff_button(r->lang));
        } else if (it && g.conf >= s->threshold && it->kind == IT_INTENT) {
            r->intent = xstrdup(it->title);
            if (strcmp(it->action, "route") == 0) {
                r->kind = RK_HANDOFF;
                r->reason = "intent";
                r->team_id = it->team_id;
                r->skill_id = it->skill_id;
            } else if (strcmp(it->action, "collect") == 0) {
                r->kind = RK_COLLECT_START;
                r->fields = xstrdup(it->fields);
                r->team_id = it->team_id;
                r->skill_id = it->skill_id;
            } else if (strcmp(it->action, "flow") == 0) {
                r->kind = RK_FLOW_START;
                r->flow_id = it->flow_id;
                r->reason = "intent";
            } else {
                r->kind = RK_ANSWER;
                r->content = xstrdup(it->answer);
                r->attrs =
                    json_pack("{s:s, s:s, s:f, s:[o]}", "kind", "answer", "intent", it->title,
                              "confidence", (double)g.conf, "buttons", handoff_button(r->lang));
            }
        } else {
            r->kind = RK_SUGGEST;
            /* The best guess comes first (it scored just under the threshold: most often it is
             * what they meant), then the next most likely; an intent's name is no question to
             * offer, so only FAQ entries and articles. */
            int offer[SUGGESTIONS + 1], noffer = 0;
            if (it && (it->kind == IT_FAQ || it->kind == IT_ARTICLE) && g.p >= 0.02f)
                offer[noffer++] = g.item; /* as likely as a suggestion must be */
            for (int k = 0; k < g.nsugg && noffer < SUGGESTIONS; k++)
                if (g.sugg[k] != g.item)
                    offer[noffer++] = g.sugg[k];
            json_t *buttons = json_array();
            for (int k = 0; k < noffer; k++)
                json_array_append_new(
                    buttons, json_pack("{s:s, s:s}", "label", b->items[offer[k]].title, "payload",
                                       b->items[offer[k]].kind == IT_ARTICLE ? "article" : "faq"));
            json_array_append_new(buttons, handoff_button(r->lang));
            r->content =
                xstrdup(noffer ? (zh(r->lang) ? "我不太确定您的意思，您是想问："
                                              : "I am not sure I understood. Did you mean:")
                               : no_answer(r->lang));
            r->attrs = json_pack("{s:s, s:o}", "kind", "suggestions", "buttons", buttons);
            if (it)
                json_object_set_new(r->attrs, "confidence", json_real(g.conf));
        }
    }
    if (store_write(B.store, reply_fn, reply_done, r) < 0) {
        log_warn("bot", "store busy: no reply to conversation=%" PRId64, conversation_id);
        reply_free(r);
    }
}

/* ---- a visitor's click on a flow button, checked with their message ---- */

bool bot_payload_valid(const char *payload)
{
    int64_t fid;
    char step[FLOW_STEP_ID_MAX + 1];
    int idx;
    return flow_payload_parse(payload, &fid, step, &idx);
}

static int refuse(struct jfail *f)
{
    return json_fail(f, "payload",
                     "This button is no longer active: choose from the bot's latest message, or "
                     "type your answer.");
}

int bot_payload_check_tx(struct store_tx *tx, const struct conv_actor *a, const char *client_id,
                         const char *payload, struct jfail *f)
{
    int64_t x, fid;
    int rc, idx;
    char step[FLOW_STEP_ID_MAX + 1];
    if (client_id) { /* a retry of a stored message gets the stored one back (msg_send_fn) */
        rc =
            tx_query_i64(tx, &x,
                         "SELECT id FROM messages WHERE account_id = $1 AND sender_type = 'contact'"
                         " AND sender_id = $2 AND client_id = $3",
                         "iit", a->account_id, a->contact_id, client_id);
        if (rc != ERR_NOTFOUND)
            return rc;
    }
    if (!flow_payload_parse(payload, &fid, step, &idx))
        return refuse(f);
    /* the visitor's open conversation, as msg_send_fn finds it */
    struct store_rows rows;
    rc =
        tx_query(tx, &rows,
                 "SELECT COALESCE(bot_state, ''), bot_data FROM conversations WHERE account_id = $1"
                 " AND contact_id = $2 AND inbox_id = $3 AND status <> 'resolved'"
                 " ORDER BY id DESC LIMIT 1",
                 "iii", a->account_id, a->contact_id, a->inbox_id);
    if (rc < 0)
        return rc;
    char state[16] = "";
    json_t *data = NULL;
    bool conv = (rc = rows_next(&rows)) == 1;
    if (conv) {
        snprintf(state, sizeof(state), "%s", rows_text(&rows, 0));
        data = json_loads(rows_text(&rows, 1), 0, NULL);
    }
    rows_close(&rows);
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    bool ok = false;
    if (!step[0]) {
        /* a flow under the greeting: offered by this inbox and on, while the bot has the visitor
         * and is not in the middle of a flow or a form (the greeting's buttons are past then) */
        struct bot_settings s;
        bot_settings_default(&s);
        rc = tx_query(tx, &rows,
                      "SELECT bot FROM inboxes WHERE id = $1 AND account_id = $2"
                      " AND deleted_at IS NULL",
                      "ii", a->inbox_id, a->account_id);
        if (rc >= 0) {
            if ((rc = rows_next(&rows)) == 1)
                bot_settings_load(rows_text(&rows, 0), &s);
            rows_close(&rows);
        }
        if (rc >= 0)
            rc = tx_query_i64(tx, &x,
                              "SELECT id FROM bot_flows WHERE id = $1 AND account_id = $2"
                              " AND enabled = 1",
                              "ii", fid, a->account_id);
        ok = rc == 0 && bot_offers_flow(&s, fid) &&
             (conv ? strcmp(state, "active") == 0 : bot_active(&s, clock_wall_ms()));
        if (rc == ERR_NOTFOUND)
            rc = 0;
    } else if (strcmp(state, "collecting") == 0 &&
               json_integer_value(json_object_get(data, "flow_id")) == fid &&
               json_is_string(json_object_get(data, "step")) &&
               strcmp(json_string_value(json_object_get(data, "step")), step) == 0) {
        /* a button of the step the conversation is at */
        json_t *steps;
        char name[FLOW_NAME_MAX * 4 + 1];
        if ((rc = flow_load(tx, a->account_id, fid, false, &steps, name, sizeof(name))) == 0 &&
            steps) {
            json_t *st = flow_step(steps, step);
            const char *kind = json_string_value(json_object_get(st, "kind"));
            json_t *choices =
                json_object_get(st, kind && strcmp(kind, "message") == 0 ? "buttons" : "options");
            ok = idx >= 0 && (size_t)idx < json_array_size(choices);
        }
        json_decref(steps);
    }
    json_decref(data);
    if (rc < 0)
        return rc;
    return ok ? 0 : refuse(f);
}

/* ---- the listener ---- */

void on_bot(const struct event *ev)
{
    const char *t = ev->type;
    if (strncmp(t, "faq.", 4) == 0 || strncmp(t, "intent.", 7) == 0 ||
        strncmp(t, "kb.article.", 11) == 0) {
        struct acct *a = acct_get(ev->account_id);
        schedule(a, TRAIN_DELAY_MS);
    } else if (strcmp(t, "inbox.created") == 0 || strcmp(t, "inbox.updated") == 0) {
        json_t *bot = json_object_get(ev->data, "bot");
        int64_t id = json_integer_value(json_object_get(ev->data, "id"));
        if (id > 0 && json_is_object(bot)) {
            char *s = json_dump_compact(bot, NULL);
            inbox_set(id, s);
            free(s);
        }
    } else if (strncmp(t, "bot_flow.", 9) == 0) {
        int64_t id = json_integer_value(json_object_get(ev->data, "id"));
        if (strcmp(t, "bot_flow.deleted") == 0)
            free(map_del(&B.flows, (uint64_t)id));
        else if (id > 0)
            flow_ref_set(id, ev->account_id, json_is_true(json_object_get(ev->data, "enabled")),
                         json_string_value(json_object_get(ev->data, "name")),
                         json_string_value(json_object_get(ev->data, "button_label")));
    } else if (strcmp(t, "message.created") == 0 && !ev->private) {
        json_t *m = json_object_get(ev->data, "message");
        json_t *c = json_object_get(ev->data, "conversation");
        const char *st = json_string_value(json_object_get(json_object_get(m, "sender"), "type"));
        const char *bs = json_string_value(json_object_get(c, "bot_state"));
        const char *text = json_string_value(json_object_get(m, "content"));
        const char *payload =
            json_string_value(json_object_get(json_object_get(m, "attributes"), "payload"));
        if (st && strcmp(st, "contact") == 0 && bs && text &&
            (strcmp(bs, "active") == 0 || strcmp(bs, "collecting") == 0))
            respond(ev->account_id, ev->conversation_id, ev->inbox_id, text, payload);
    }
}

/* ---- the console's views ---- */

json_t *on_bot_status(int64_t account_id)
{
    struct acct *a = acct_get(account_id);
    struct brain *b = a->brain;
    const char *status = a->training      ? "training"
                         : a->error[0]    ? "failed"
                         : b && b->nitems ? "ready"
                                          : "empty";
    int total = atomic_load(&a->total), done = atomic_load(&a->done);
    double progress = a->training ? (total > 0 ? (double)done / total : 0) : b ? 1.0 : 0.0;
    if (progress > 1)
        progress = 1;
    return json_pack("{s:s, s:f, s:I, s:o, s:I, s:i, s:o, s:I, s:o}", "status", status, "progress",
                     progress, "version", (json_int_t)(b ? b->version : 0), "trained_at",
                     json_time(b ? b->trained_at : 0), "examples",
                     (json_int_t)(b ? b->examples : 0), "classes", b ? b->classes : 0,
                     "cv_accuracy", b && b->cv == b->cv ? json_real(b->cv) : json_null(),
                     "train_ms", (json_int_t)(b ? b->train_ms : 0), "error",
                     a->error[0] ? json_string(a->error) : json_null());
}

void on_bot_train(int64_t account_id)
{
    struct acct *a = acct_get(account_id);
    if (a->training)
        a->again = true;
    else
        schedule(a, 0);
}

static json_t *item_ref(const struct brain *b, int i)
{
    const struct item *it = &b->items[i];
    json_t *v = json_pack("{s:s, s:I, s:s}", "type",
                          it->kind == IT_FAQ      ? "faq"
                          : it->kind == IT_INTENT ? "intent"
                                                  : "article",
                          "id", (json_int_t)it->id, "title", it->title);
    if (it->kind == IT_ARTICLE) {
        char url[160];
        snprintf(url, sizeof(url), "/help/%s/articles/%" PRId64, b->slug, it->id);
        json_object_set_new(v, "url", json_string(url));
    }
    return v;
}

json_t *on_bot_test(int64_t account_id, const char *text, double threshold)
{
    struct acct *a = acct_get(account_id);
    struct brain *b = a->brain;
    struct guess g = {.item = -1};
    if (b)
        brain_guess(b, text, strlen(text), &g);
    if (threshold <= 0)
        threshold = 0.5;
    double senti = on_senti_score(account_id, text, strlen(text));
    json_t *match = json_null(), *answer = json_null(), *sugg = json_array();
    bool confident = false;
    if (g.item >= 0) {
        const struct item *it = &b->items[g.item];
        match = json_pack("{s:s, s:I, s:s, s:f, s:f}", "type",
                          it->kind == IT_FAQ ? "faq" : "intent", "id", (json_int_t)it->id, "name",
                          it->title, "confidence", (double)g.conf, "score", (double)g.score);
        if (it->kind == IT_INTENT) {
            json_object_set_new(match, "action", json_string(it->action));
            json_object_set_new(match, "flow_id",
                                it->flow_id ? json_integer(it->flow_id) : json_null());
        }
        confident = g.conf >= threshold;
        if (confident && (it->kind == IT_FAQ || strcmp(it->action, "answer") == 0))
            answer = json_string(it->answer);
    }
    for (int k = 0; k < g.nsugg; k++)
        json_array_append_new(sugg, item_ref(b, g.sugg[k]));
    return json_pack("{s:o, s:b, s:o, s:o, s:{s:f, s:s}}", "match", match, "confident", confident,
                     "answer", answer, "suggestions", sugg, "sentiment", "score", senti, "label",
                     sentiment_label(senti));
}

json_t *on_bot_suggest(int64_t account_id, const char *text)
{
    struct acct *a = acct_get(account_id);
    struct brain *b = a->brain;
    json_t *faqs = json_array(), *articles = json_array();
    if (b && text && *text) {
        struct feat_buf fb;
        feat_buf_init(&fb);
        int seen[8];
        int nseen = 0;
        /* the classifier's best FAQ entries first, then BM25 */
        if (b->model) {
            float *pr = xmalloc((size_t)b->model->nclass * sizeof(*pr));
            float p;
            nlp_predict(b->model, &fb, text, strlen(text), pr, &p);
            for (int k = 0; k < 3; k++) {
                int best = -1;
                for (int c = 0; c < b->model->nclass; c++) {
                    bool taken = false;
                    for (int q = 0; q < nseen; q++)
                        taken = taken || seen[q] == b->class_item[c];
                    if (taken || b->items[b->class_item[c]].kind != IT_FAQ)
                        continue;
                    if (best < 0 || pr[c] > pr[best])
                        best = c;
                }
                if (best < 0 || pr[best] < 0.05f)
                    break;
                const struct item *it = &b->items[b->class_item[best]];
                seen[nseen++] = b->class_item[best];
                json_array_append_new(
                    faqs, json_pack("{s:I, s:s, s:s, s:f}", "id", (json_int_t)it->id, "question",
                                    it->title, "answer", it->answer, "score", (double)pr[best]));
            }
            free(pr);
        }
        struct bm25_hit h[8];
        size_t n = bm25_search(&b->bm25, &fb, text, strlen(text), h, 8);
        for (size_t k = 0; k < n; k++) {
            int i = (int)b->doc_item[h[k].doc];
            const struct item *it = &b->items[i];
            bool taken = false;
            for (int q = 0; q < nseen; q++)
                taken = taken || seen[q] == i;
            if (taken || it->kind == IT_INTENT)
                continue;
            if (it->kind == IT_FAQ && json_array_size(faqs) < 3 && nseen < 8) {
                seen[nseen++] = i;
                json_array_append_new(faqs, json_pack("{s:I, s:s, s:s, s:f}", "id",
                                                      (json_int_t)it->id, "question", it->title,
                                                      "answer", it->answer, "score", h[k].score));
            } else if (it->kind == IT_ARTICLE && json_array_size(articles) < 3) {
                char url[160];
                snprintf(url, sizeof(url), "/help/%s/articles/%" PRId64, b->slug, it->id);
                size_t sl = utf8_prefix_len(it->answer, strlen(it->answer), 140);
                json_array_append_new(articles, json_pack("{s:I, s:s, s:s%, s:s}", "id",
                                                          (json_int_t)it->id, "title", it->title,
                                                          "snippet", it->answer, sl, "url", url));
            }
        }
        feat_buf_release(&fb);
    }
    return json_pack("{s:o, s:o}", "faqs", faqs, "articles", articles);
}

json_t *on_bot_widget(int64_t account_id, int64_t inbox_id)
{
    struct bot_settings dflt, *s = inbox_settings(inbox_id);
    if (!s) {
        bot_settings_default(&dflt);
        s = &dflt;
    }
    struct brain *b = acct_get(account_id)->brain;
    json_t *sugg = json_array(), *flows = json_array();
    for (int k = 0; b && k < SUGGESTIONS; k++)
        if (b->top[k] >= 0)
            json_array_append_new(sugg, json_string(b->items[b->top[k]].title));
    for (int k = 0; k < s->nflows; k++) {
        const struct flow_ref *f = map_get(&B.flows, (uint64_t)s->flows[k]);
        if (!f || !f->enabled || f->account_id != account_id)
            continue;
        char payload[32];
        snprintf(payload, sizeof(payload), "flow:%" PRId64, s->flows[k]);
        json_array_append_new(flows, json_pack("{s:I, s:s, s:s}", "id", (json_int_t)s->flows[k],
                                               "label", f->label, "payload", payload));
    }
    return json_pack("{s:b, s:s, s:o, s:o}", "active", bot_active(s, clock_wall_ms()), "greeting",
                     s->greeting, "suggestions", sugg, "flows", flows);
}

/* ---- start and stop ---- */

struct boot {
    int64_t *accounts;
    size_t naccounts;
};

static int boot_fn(struct store_tx *tx, void *arg)
{
    struct boot *bt = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT id, bot FROM inboxes WHERE deleted_at IS NULL", "");
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1)
        inbox_set(rows_i64(&rows, 0), rows_text(&rows, 1));
    rows_close(&rows);
    if (rc < 0)
        return rc;
    rc = tx_query(tx, &rows,
                  "SELECT account_id FROM faqs UNION SELECT account_id FROM intents"
                  " UNION SELECT account_id FROM kb_articles WHERE status = 'published'",
                  "");
    if (rc < 0)
        return rc;
    size_t cap = 0;
    while ((rc = rows_next(&rows)) == 1) {
        if (bt->naccounts == cap) {
            cap = cap ? cap * 2 : 16;
            bt->accounts = xrealloc(bt->accounts, cap * sizeof(*bt->accounts));
        }
        bt->accounts[bt->naccounts++] = rows_i64(&rows, 0);
    }
    rows_close(&rows);
    if (rc < 0)
        return rc;
    rc = tx_query(tx, &rows, "SELECT account_id, version FROM bot_models", "");
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1)
        acct_get(rows_i64(&rows, 0))->version = rows_i64(&rows, 1);
    rows_close(&rows);
    if (rc < 0)
        return rc;
    rc = tx_query(tx, &rows, "SELECT id, account_id, enabled, name, button_label FROM bot_flows",
                  "");
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1)
        flow_ref_set(rows_i64(&rows, 0), rows_i64(&rows, 1), rows_i64(&rows, 2) != 0,
                     rows_text(&rows, 3), rows_text(&rows, 4));
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

int on_bot_init(uv_loop_t *loop, struct store *s, char *err, size_t errlen)
{
    B.loop = loop;
    B.store = s;
    map_init(&B.accts, false);
    map_init(&B.inboxes, false);
    map_init(&B.flows, false);
    struct boot bt = {0};
    int rc = store_run_sync(s, boot_fn, &bt);
    if (rc < 0) {
        snprintf(err, errlen, "loading the bot settings failed: %s", err_str(rc));
        free(bt.accounts);
        return rc;
    }
    /* models are rebuilt from what the bot knows (milliseconds for a typical FAQ; on the pool) */
    for (size_t i = 0; i < bt.naccounts; i++)
        schedule(acct_get(bt.accounts[i]), 0);
    free(bt.accounts);
    return 0;
}

void on_bot_stop(void)
{
    B.stopping = true;
    struct map_entry *e;
    for (size_t i = 0; map_next(&B.accts, &i, &e);) {
        struct acct *a = e->val;
        uv_timer_stop(&a->timer);
        uv_close((uv_handle_t *)&a->timer, NULL);
    }
}

void on_bot_release(void)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&B.accts, &i, &e);) {
        struct acct *a = e->val;
        brain_free(a->brain);
        free(a);
    }
    map_release(&B.accts);
    for (size_t i = 0; map_next(&B.inboxes, &i, &e);)
        free(e->val);
    map_release(&B.inboxes);
    for (size_t i = 0; map_next(&B.flows, &i, &e);)
        free(e->val);
    map_release(&B.flows);
}
