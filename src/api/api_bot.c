/* api_bot.c: the bot's HTTP side. The model's status (with the sentiment model's,
 * event/on_senti.c), "train now" and "try it" (supervisors and admins); BM25 search over the
 * knowledge base; agent assist (the FAQ answers, articles and canned responses that fit a
 * conversation's last customer message); and the visitor's "talk to a person". The bot itself lives
 * in event/on_bot.c. */
#include "base/sys.h"

#include "api/app.h"
#include "conv/conv.h"
#include "base/alloc.h"
#include "base/clock.h"
#include "event/on_bot.h"
#include "event/on_senti.h"
#include "model/conversation.h"
#include "model/markdown.h"
#include "nlp/bm25.h"

enum { TEST_TEXT_MAX = 2000, SEARCH_Q_MAX = 200, SEARCH_LIMIT = 20, CANNED_SCAN = 1000 };

static void h_status(struct http_req *r)
{
    int64_t aid = req_principal(r)->account_id;
    json_t *v = on_bot_status(aid);
    json_object_set_new(v, "sentiment", on_senti_status(aid));
    http_respond_json(r, 200, v);
}

static void h_train(struct http_req *r)
{
    int64_t aid = req_principal(r)->account_id;
    on_bot_train(aid);
    json_t *v = on_bot_status(aid);
    json_object_set_new(v, "status", json_string("training"));
    json_object_set_new(v, "sentiment", on_senti_status(aid));
    http_respond_json(r, 202, v);
}

static void h_test(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    const char *text = NULL;
    int rc = json_field_str(body, "text", true, 1, TEST_TEXT_MAX, &text, &f);
    if (rc >= 0 && text_blank(text))
        rc = json_fail(&f, "text", "text must not be blank.");
    double threshold = 0; /* 0: the account's default */
    if (rc >= 0 && json_field_num(body, "threshold", false, 0.05, 0.99, &threshold, &f) < 0)
        rc = json_fail(&f, "threshold", "threshold is a confidence from 0.05 to 0.99.");
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    json_t *v = on_bot_test(req_principal(r)->account_id, text, threshold);
    json_decref(body);
    http_respond_json(r, 200, v);
}

/* ---- GET /kb/search: BM25 over the account's published articles and enabled FAQ entries, built in
 * the read job from the current rows (always fresh; thousands of entries take milliseconds) ---- */

struct search_job {
    struct http_req *r;
    int64_t account_id;
    const char *q, *locale;
    json_t *out;
};

int kb_search_tx(struct store_tx *tx, int64_t account_id, const char *locale, const char *q,
                 bool articles_only, json_t **out)
{
    struct store_rows rows;
    int rc = tx_query(
        tx, &rows,
        "SELECT 'article', a.id, a.title, a.title || ' ' || a.title || ' ' || a.body, a.body,"
        " (SELECT slug FROM accounts WHERE id = a.account_id) FROM kb_articles a"
        " WHERE a.account_id = $1 AND a.status = 'published' AND ($2 = '' OR a.locale = $2)"
        " UNION ALL SELECT 'faq', f.id, f.question, f.question || ' ' || f.phrasings || ' ' || "
        "f.answer,"
        " f.answer, '' FROM faqs f WHERE f.account_id = $1 AND f.enabled = 1 AND NOT $3"
        " AND ($2 = '' OR f.locale = $2)",
        "itb", account_id, locale ? locale : "", (int)articles_only);
    if (rc < 0)
        return rc;
    struct bm25 idx;
    bm25_init(&idx);
    struct feat_buf fb;
    feat_buf_init(&fb);
    json_t *docs = json_array();
    struct buf plain;
    buf_init(&plain, (size_t)1 << 20);
    while ((rc = rows_next(&rows)) == 1) {
        bm25_add(&idx, &fb, rows_text(&rows, 3), rows_len(&rows, 3));
        buf_reset(&plain);
        markdown_text(rows_text(&rows, 4), rows_len(&rows, 4), &plain);
        size_t sl = plain.p ? utf8_prefix_len(plain.p, plain.len, 160) : 0;
        json_t *d = json_pack("{s:s, s:I, s:s, s:s%}", "type", rows_text(&rows, 0), "id",
                              (json_int_t)rows_i64(&rows, 1), "title", rows_text(&rows, 2),
                              "snippet", plain.p ? plain.p : "", sl);
        if (strcmp(rows_text(&rows, 0), "article") == 0) {
            char url[200];
            snprintf(url, sizeof(url), "/help/%s/articles/%" PRId64, rows_text(&rows, 5),
                     rows_i64(&rows, 1));
            json_object_set_new(d, "url", json_string(url));
        } else {
            json_object_set_new(d, "url", json_null());
        }
        json_array_append_new(docs, d);
    }
    rows_close(&rows);
    buf_release(&plain);
    if (rc >= 0) {
        struct bm25_hit hits[SEARCH_LIMIT];
        size_t n = bm25_search(&idx, &fb, q, strlen(q), hits, SEARCH_LIMIT);
        json_t *data = json_array();
        for (size_t i = 0; i < n; i++) {
            json_t *d = json_array_get(docs, hits[i].doc);
            json_object_set_new(d, "score", json_real(hits[i].score));
            json_array_append(data, d);
        }
        *out = data;
    }
    json_decref(docs);
    feat_buf_release(&fb);
    bm25_release(&idx);
    return rc < 0 ? rc : 0;
}

static int search_fn(struct store_tx *tx, void *arg)
{
    struct search_job *j = arg;
    json_t *data = NULL;
    int rc = kb_search_tx(tx, j->account_id, j->locale, j->q, false, &data);
    if (rc == 0)
        j->out = json_pack("{s:o}", "data", data);
    return rc;
}

static void search_done(void *arg, int rc)
{
    struct search_job *j = arg;
    app_finish(j->r, rc, j->out, 200, NULL, NULL);
}

static void h_search(struct http_req *r)
{
    struct search_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = req_principal(r)->account_id;
    j->q = http_query(r, "q");
    j->locale = http_query(r, "locale");
    if (!j->q || text_blank(j->q) || strlen(j->q) > SEARCH_Q_MAX) {
        http_respond_error(r, ERR_VALIDATION, "q",
                           "q is the text to search for, 1 to 200 characters.");
        return;
    }
    if (j->locale && *j->locale && strcmp(j->locale, "zh") != 0 && strcmp(j->locale, "en") != 0) {
        http_respond_error(r, ERR_VALIDATION, "locale", "locale is zh or en.");
        return;
    }
    app_store_read(r, search_fn, search_done, j);
}

/* ---- GET /conversations/{id}/suggestions: agent assist ---- */

struct assist_job {
    struct http_req *r;
    struct conv_actor actor;
    int64_t conversation_id, message_id;
    char *text;
    json_t *canned;
    json_t *out;
};

static int assist_fn(struct store_tx *tx, void *arg)
{
    struct assist_job *j = arg;
    json_t *conv;
    int rc = conv_get(tx, &j->actor, j->conversation_id, &conv); /* the access check */
    if (rc < 0)
        return rc;
    json_decref(conv);
    struct store_rows rows;
    rc = tx_query(tx, &rows,
                  "SELECT id, content FROM messages WHERE conversation_id = $1 AND account_id = $2"
                  " AND sender_type = 'contact' ORDER BY id DESC LIMIT 1",
                  "ii", j->conversation_id, j->actor.account_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1) {
        j->message_id = rows_i64(&rows, 0);
        j->text = xstrdup(rows_text(&rows, 1));
    }
    rows_close(&rows);
    if (rc < 0 || !j->text)
        return rc < 0 ? rc : 0;
    /* canned responses ranked by BM25 against the message */
    rc = tx_query(tx, &rows,
                  "SELECT id, short_code, content FROM canned_responses WHERE account_id = $1"
                  " ORDER BY id LIMIT $2",
                  "ii", j->actor.account_id, (int64_t)CANNED_SCAN);
    if (rc < 0)
        return rc;
    struct bm25 idx;
    bm25_init(&idx);
    struct feat_buf fb;
    feat_buf_init(&fb);
    json_t *all = json_array();
    struct buf text;
    buf_init(&text, 1 << 20);
    while ((rc = rows_next(&rows)) == 1) {
        buf_reset(&text);
        buf_printf(&text, "%s %s", rows_text(&rows, 1), rows_text(&rows, 2));
        for (char *p = text.p; p && *p; p++)
            if (*p == '_' || *p == '-')
                *p = ' ';
        bm25_add(&idx, &fb, text.p, text.len);
        json_array_append_new(all, json_pack("{s:I, s:s, s:s}", "id",
                                             (json_int_t)rows_i64(&rows, 0), "short_code",
                                             rows_text(&rows, 1), "content", rows_text(&rows, 2)));
    }
    rows_close(&rows);
    buf_release(&text);
    struct bm25_hit hits[3];
    size_t n = rc >= 0 ? bm25_search(&idx, &fb, j->text, strlen(j->text), hits, 3) : 0;
    j->canned = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(j->canned, json_array_get(all, hits[i].doc));
    json_decref(all);
    feat_buf_release(&fb);
    bm25_release(&idx);
    return rc < 0 ? rc : 0;
}

static void assist_done(void *arg, int rc)
{
    struct assist_job *j = arg;
    json_t *out = NULL;
    if (rc >= 0) {
        /* the bot's part (FAQ answers, articles) from the account's brain, on the loop */
        out = on_bot_suggest(j->actor.account_id, j->text ? j->text : "");
        json_object_set_new(out, "message_id",
                            j->message_id ? json_integer(j->message_id) : json_null());
        json_object_set_new(out, "canned", j->canned ? j->canned : json_array());
        j->canned = NULL;
    }
    json_decref(j->canned);
    free(j->text);
    app_finish(j->r, rc, out, 200, NULL, NULL);
}

static void h_assist(struct http_req *r)
{
    struct principal *p = req_principal(r);
    struct assist_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->actor =
        (struct conv_actor){.account_id = p->account_id, .user_id = p->user_id, .role = p->role};
    if (app_id_param(r, "id", &j->conversation_id) < 0)
        return;
    app_store_read(r, assist_fn, assist_done, j);
}

/* ---- POST /widget/handoff: the visitor asks for a person ---- */

struct handoff_job {
    struct http_req *r;
    struct visitor_claims vc;
    char lang[4];
    bool done;
    json_t *out;
    struct event_batch events;
};

static int handoff_fn(struct store_tx *tx, void *arg)
{
    struct handoff_job *j = arg;
    event_batch_reset(&j->events);
    int64_t conv_id;
    int rc = tx_query_i64(tx, &conv_id,
                          "SELECT id FROM conversations WHERE account_id = $1 AND contact_id = $2"
                          " AND inbox_id = $3 AND status <> 'resolved' ORDER BY id DESC LIMIT 1",
                          "iii", j->vc.account_id, j->vc.contact_id, j->vc.inbox_id);
    if (rc < 0)
        return rc;
    if ((rc = bot_handoff_tx(tx, &j->events, j->vc.account_id, conv_id, "visitor", NULL, 0, 0,
                             j->lang, &j->done)) < 0)
        return rc;
    struct conv_actor a = {.account_id = j->vc.account_id,
                           .visitor = true,
                           .contact_id = j->vc.contact_id,
                           .inbox_id = j->vc.inbox_id};
    json_t *conv;
    if ((rc = conv_get(tx, &a, conv_id, &conv)) < 0)
        return rc;
    j->out =
        json_pack("{s:o, s:b}", "conversation", conv_visitor_json(conv), "handed_off", j->done);
    json_decref(conv);
    return 0;
}

static void handoff_done(void *arg, int rc)
{
    struct handoff_job *j = arg;
    app_finish(j->r, rc, j->out, 200, &j->events, NULL);
}

static void h_handoff(struct http_req *r)
{
    struct handoff_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    if (visitor_auth(r, &j->vc) < 0)
        return;
    snprintf(j->lang, sizeof(j->lang), "zh");
    const char *lang = http_query(r, "lang");
    if (lang && strcmp(lang, "en") == 0)
        snprintf(j->lang, sizeof(j->lang), "en");
    app_store_write(r, handoff_fn, handoff_done, j);
}

void api_bot_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/bot", h_status, R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/bot/train", h_train,
               R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/bot/test", h_test, R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/kb/search", h_search, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations/{id}/suggestions", h_assist,
               R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/widget/handoff", h_handoff, R_PUBLIC);
}
