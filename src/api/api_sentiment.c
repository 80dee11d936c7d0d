/* api_sentiment.c: agents correct a customer message's sentiment.
 *
 *   PUT    /api/v1/accounts/{aid}/conversations/{id}/messages/{mid}/sentiment  {"label"}
 *   DELETE /api/v1/accounts/{aid}/conversations/{id}/messages/{mid}/sentiment
 *
 * Anyone who can see the conversation may correct (conv.c's access rule: 404 otherwise). A
 * correction is stored in sentiment_labels with the score the message had, sets the message's score
 * to the label's (-1, 0, 1) and, when it is the conversation's newest customer message, the
 * conversation's too; DELETE restores the old score. Each change commits one private
 * message.updated event (reason "sentiment"): the workspace replaces the message and the
 * conversation, and on_senti.c retrains the account's model. Saying again what is already stored
 * changes nothing and emits nothing. */
#include "base/sys.h"

#include <math.h>

#include "api/app.h"
#include "conv/conv.h"
#include "base/clock.h"
#include "nlp/senti.h"

static const char *const LABELS[] = {"negative", "neutral", "positive", NULL};

struct senti_job {
    struct http_req *r;
    struct conv_actor actor;
    int64_t conversation_id, message_id;
    int cls; /* enum senti_class; -1 takes the correction back */
    json_t *body;
    struct event_batch events;
    struct jfail fail;
};

static int correct_fn(struct store_tx *tx, void *arg)
{
    struct senti_job *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    int64_t aid = j->actor.account_id;
    json_t *conv = NULL;
    int rc = conv_get(tx, &j->actor, j->conversation_id, &conv);
    if (rc < 0)
        return rc;
    json_decref(conv);
    struct store_rows rows;
    rc = tx_query(tx, &rows,
                  "SELECT m.sender_type, m.sentiment, sl.label, sl.model_score FROM messages m"
                  " LEFT JOIN sentiment_labels sl ON sl.account_id = m.account_id"
                  " AND sl.message_id = m.id"
                  " WHERE m.id = $1 AND m.conversation_id = $2 AND m.account_id = $3",
                  "iii", j->message_id, j->conversation_id, aid);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc < 0 ? rc : ERR_NOTFOUND;
    }
    char sender[16], old[16];
    snprintf(sender, sizeof(sender), "%s", rows_text(&rows, 0));
    double score = rows_null(&rows, 1) ? NAN : rows_double(&rows, 1);
    bool labelled = !rows_null(&rows, 2);
    snprintf(old, sizeof(old), "%s", labelled ? rows_text(&rows, 2) : "");
    double model_score = rows_null(&rows, 3) ? NAN : rows_double(&rows, 3);
    rows_close(&rows);
    if (strcmp(sender, "contact") != 0)
        return json_fail(&j->fail, "message_id",
                         "only a customer's messages have a sentiment; message %" PRId64
                         " was written by the %s.",
                         j->message_id, strcmp(sender, "user") == 0 ? "agent" : sender);
    int64_t now = clock_wall_ms();
    bool changed;
    if (j->cls >= 0) {
        changed = !labelled || strcmp(old, senti_labels[j->cls]) != 0;
        if (changed)
            rc = tx_exec(
                tx,
                "INSERT INTO sentiment_labels (account_id, message_id, label, model_score,"
                " user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
                " ON CONFLICT (account_id, message_id) DO UPDATE SET label = excluded.label,"
                " user_id = excluded.user_id, created_at = excluded.created_at",
                "iitdii", aid, j->message_id, senti_labels[j->cls], score, j->actor.user_id, now);
        score = senti_label_score(j->cls);
    } else {
        changed = labelled;
        if (changed)
            rc = tx_exec(tx,
                         "DELETE FROM sentiment_labels WHERE account_id = $1 AND message_id = $2",
                         "ii", aid, j->message_id);
        score = model_score;
    }
    if (rc >= 0 && changed)
        rc = conv_set_message_sentiment(tx, aid, j->conversation_id, j->message_id, score);
    if (rc < 0 || (rc = conv_message_load(tx, aid, j->message_id, &j->body)) < 0)
        return rc;
    if (!changed)
        return 0;
    if ((rc = conv_load(tx, aid, j->conversation_id, &conv)) < 0)
        return rc;
    return event_emit(tx, &j->events, aid, "message.updated",
                      json_integer_value(json_object_get(conv, "inbox_id")), j->conversation_id,
                      json_integer_value(json_object_get(json_object_get(conv, "contact"), "id")),
                      true,
                      json_pack("{s:O, s:o, s:s}", "message", j->body, "conversation", conv,
                                "reason", "sentiment"));
}

static void correct_done(void *arg, int rc)
{
    struct senti_job *j = arg;
    json_t *body = j->body;
    j->body = NULL;
    app_finish(j->r, rc, body, 200, &j->events, &j->fail);
}

static struct senti_job *new_job(struct http_req *r)
{
    struct principal *p = req_principal(r);
    struct senti_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->actor.account_id = p->account_id;
    j->actor.user_id = p->user_id;
    j->actor.role = p->role;
    j->cls = -1;
    if (app_id_param(r, "id", &j->conversation_id) < 0 ||
        app_id_param(r, "mid", &j->message_id) < 0)
        return NULL;
    return j;
}

static void h_put(struct http_req *r)
{
    struct senti_job *j = new_job(r);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    int rc = json_field_enum(body, "label", true, LABELS, &j->cls, &j->fail);
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (rc >= 0 && strcmp(key, "label") != 0)
            rc = json_fail(&j->fail, "body",
                           "unknown field \"%.40s\": a correction takes only \"label\".", key);
    }
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &j->fail);
        return;
    }
    app_store_write(r, correct_fn, correct_done, j);
}

static void h_delete(struct http_req *r)
{
    struct senti_job *j = new_job(r);
    if (j)
        app_store_write(r, correct_fn, correct_done, j);
}

void api_sentiment_routes(struct router *rt)
{
    router_add(rt, HTTP_PUT, "/api/v1/accounts/{aid}/conversations/{id}/messages/{mid}/sentiment",
               h_put, R_ACCOUNT);
    router_add(rt, HTTP_DELETE,
               "/api/v1/accounts/{aid}/conversations/{id}/messages/{mid}/sentiment", h_delete,
               R_ACCOUNT);
}
