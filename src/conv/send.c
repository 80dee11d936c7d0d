/* send.c: sending a message: the one path every sender takes (visitor, agent, bot, API). It finds
 * or opens the conversation, stores the message and what it changes in the conversation, and emits
 * the events, in the caller's write job. */
#include "base/sys.h"
#include "base/clock.h"
#include "conv/conv.h"
#include "conv/conv_int.h"

#include <math.h>

#include "event/on_senti.h"
#include "model/attachment.h"
#include "model/bot.h"
#include "model/conversation.h"
#include "store/store.h"

/* ---- sending ---- */

int msg_send_parse(json_t *body, struct msg_send *ms, bool agent, bool need_conversation,
                   struct jfail *f)
{
    const char *content = NULL, *client_id = NULL;
    int64_t cid = 0;
    int rc = 0;
    if (need_conversation)
        rc = json_field_int(body, "conversation_id", true, 1, INT64_MAX, &cid, f);
    if (rc >= 0)
        rc = json_field_str(body, "content", false, 0, MSG_CONTENT_MAX, &content, f);
    if (rc >= 0 &&
        (rc = json_field_str(body, "client_id", false, 1, MSG_CLIENT_ID_MAX, &client_id, f)) == 1 &&
        !client_id_valid(client_id))
        rc = json_fail(f, "client_id", "client_id must be 1 to 64 printable ASCII characters.");
    if (rc >= 0 && agent)
        rc = json_field_bool(body, "private", false, &ms->private, f);
    else if (rc >= 0 && json_object_get(body, "private"))
        rc = json_fail(f, "private", "visitors cannot write private notes.");
    json_t *ids = NULL;
    if (rc >= 0 && json_field_array(body, "attachment_ids", false, 0, MSG_ATTACH_MAX, &ids, f) < 0)
        rc = json_fail(f, "attachment_ids",
                       "attachment_ids must be an array of at most %d attachment ids.",
                       MSG_ATTACH_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (rc >= 0 && (!json_is_integer(v) || json_integer_value(v) <= 0))
            rc = json_fail(f, "attachment_ids",
                           "each attachment id must be a positive integer (item %zu is not).",
                           i + 1);
        else if (rc >= 0)
            ms->attachment_ids[ms->nattach++] = json_integer_value(v);
    }
    if (rc >= 0 && (!content || text_blank(content)) && ms->nattach == 0)
        rc = json_fail(f, "content", "content is required: write a message or attach a file.");
    if (rc < 0)
        return rc;
    ms->conversation_id = cid;
    ms->content = xstrdup(content ? content : "");
    ms->client_id = client_id ? xstrdup(client_id) : NULL;
    /* A customer's words get a sentiment score here, on the loop where the command is parsed (the
     * account's model: tens of microseconds), so the writer thread (which every durable message
     * waits for) only stores it. */
    ms->sentiment =
        agent ? NAN : on_senti_score(ms->actor.account_id, ms->content, strlen(ms->content));
    return 0;
}

void msg_send_release(struct msg_send *ms)
{
    free(ms->content);
    free(ms->client_id);
    json_decref(ms->message);
    ms->content = ms->client_id = NULL;
    ms->message = NULL;
    event_batch_reset(&ms->events);
}

static int64_t sender_id(const struct msg_send *ms)
{
    return ms->actor.visitor ? ms->actor.contact_id : ms->actor.user_id;
}

static int find_duplicate(struct store_tx *tx, struct msg_send *ms)
{
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "%s WHERE m.account_id = $1 AND m.sender_type = $2 AND m.sender_id = $3"
             " AND m.client_id = $4",
             MSG_SELECT);
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "itit", ms->actor.account_id, ms->sender_type, sender_id(ms),
                      ms->client_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1) {
        ms->message = message_json(&rows);
        ms->duplicate = true;
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

struct conv_state {
    int64_t id, inbox_id, contact_id;
    struct conv_now now; /* the columns the message changes, before it */
    bool created;
    bool has_settings;            /* settings read (only when a decision needs them) */
    struct bot_settings settings; /* visitors: their inbox's bot settings */
};

/* The columns of conversations c that state_row reads, in its order. */
#define STATE_COLS                                                                                 \
    "c.id, c.inbox_id, c.contact_id, c.status, COALESCE(c.assignee_id, 0), c.priority,"            \
    " COALESCE(c.bot_state, ''), COALESCE(c.assigned_at, 0), COALESCE(c.waiting_since, 0),"        \
    " COALESCE(c.snoozed_until, 0), COALESCE(c.first_reply_at, 0), c.last_activity_at,"            \
    " c.unread_count, c.agent_last_read_id, c.contact_last_read_id, COALESCE(c.last_message_id, "  \
    "0),"                                                                                          \
    " c.sentiment"

static void state_row(struct store_rows *rows, struct conv_state *cs)
{
    struct conv_now *n = &cs->now;
    cs->id = rows_i64(rows, 0);
    cs->inbox_id = rows_i64(rows, 1);
    cs->contact_id = rows_i64(rows, 2);
    snprintf(n->status, sizeof(n->status), "%s", rows_text(rows, 3));
    n->assignee_id = rows_i64(rows, 4);
    snprintf(n->priority, sizeof(n->priority), "%s", rows_text(rows, 5));
    snprintf(n->bot_state, sizeof(n->bot_state), "%s", rows_text(rows, 6));
    n->assigned_at = rows_i64(rows, 7);
    n->waiting_since = rows_i64(rows, 8);
    n->snoozed_until = rows_i64(rows, 9);
    n->first_reply_at = rows_i64(rows, 10);
    n->last_activity_at = rows_i64(rows, 11);
    n->unread_count = rows_i64(rows, 12);
    n->agent_last_read_id = rows_i64(rows, 13);
    n->contact_last_read_id = rows_i64(rows, 14);
    n->last_message_id = rows_i64(rows, 15);
    n->sentiment = rows_null(rows, 16) ? NAN : rows_double(rows, 16);
}

/* save_state: writes what conv_on_message decided (one UPDATE of every column it may change). */
static int save_state(struct store_tx *tx, const struct conv_state *cs, int64_t now)
{
    const struct conv_now *n = &cs->now;
    return tx_exec(tx,
                   "UPDATE conversations SET status = $1, priority = $2, bot_state = $3,"
                   " assignee_id = $4, assigned_at = $5, waiting_since = $6, snoozed_until = $7,"
                   " first_reply_at = $8, last_activity_at = $9, unread_count = $10,"
                   " agent_last_read_id = $11, contact_last_read_id = $12, last_message_id = $13,"
                   " sentiment = $14, updated_at = $15 WHERE id = $16",
                   "tttnnnnniiiiidii", n->status, n->priority,
                   n->bot_state[0] ? n->bot_state : NULL, n->assignee_id, n->assigned_at,
                   n->waiting_since, n->snoozed_until, n->first_reply_at, n->last_activity_at,
                   n->unread_count, n->agent_last_read_id, n->contact_last_read_id,
                   n->last_message_id, n->sentiment, now, cs->id);
}

/* inbox_settings: the visitor's inbox's bot settings into cs; ERR_NOTFOUND if it was deleted. */
static int inbox_settings(struct store_tx *tx, const struct conv_actor *a, struct conv_state *cs)
{
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows,
                 "SELECT bot FROM inboxes WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL",
                 "ii", a->inbox_id, a->account_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1)
        bot_settings_load(rows_text(&rows, 0), &cs->settings);
    rows_close(&rows);
    cs->has_settings = rc == 1;
    return rc < 0 ? rc : rc == 0 ? ERR_NOTFOUND : 0;
}

/* visitor_conversation: the visitor's open conversation in their inbox, or a new one. */
static int visitor_conversation(struct store_tx *tx, struct msg_send *ms, struct conv_state *cs,
                                int64_t now)
{
    const struct conv_actor *a = &ms->actor;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT " STATE_COLS " FROM conversations c"
                      " WHERE c.account_id = $1 AND c.contact_id = $2 AND c.inbox_id = $3"
                      " AND c.status <> 'resolved' ORDER BY c.id DESC LIMIT 1",
                      "iii", a->account_id, a->contact_id, a->inbox_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        state_row(&rows, cs);
    rows_close(&rows);
    if (rc < 0)
        return rc;
    cs->inbox_id = a->inbox_id;
    cs->contact_id = a->contact_id;
    if (rc == 1)
        return 0;
    /* A new conversation (in an inbox that still exists): the bot takes it first when the inbox
     * says so (now), and then it is pending, out of routing, until the bot hands it over
     * (event/on_bot.c). */
    if ((rc = inbox_settings(tx, a, cs)) < 0)
        return rc;
    bool bot = bot_active(&cs->settings, now);
    rc = tx_query_i64(tx, &cs->id,
                      "INSERT INTO conversations (account_id, inbox_id, contact_id, status,"
                      " last_activity_at, page_url, prechat, created_at, updated_at, bot_state)"
                      " SELECT $1, $2, $3, $5, $4, last_page_url, prechat, $4, $4, $6"
                      " FROM contacts WHERE id = $3 AND account_id = $1 RETURNING id",
                      "iiiitt", a->account_id, a->inbox_id, a->contact_id, now,
                      bot ? "pending" : "open", bot ? "active" : NULL);
    if (rc < 0)
        return rc;
    struct conv_now *n = &cs->now;
    memset(n, 0, sizeof(*n));
    snprintf(n->status, sizeof(n->status), "%s", bot ? "pending" : "open");
    snprintf(n->priority, sizeof(n->priority), "none");
    snprintf(n->bot_state, sizeof(n->bot_state), "%s", bot ? "active" : "");
    n->last_activity_at = now;
    n->sentiment = NAN;
    cs->created = true;
    return 0;
}

static int agent_conversation(struct store_tx *tx, struct msg_send *ms, struct conv_state *cs)
{
    const struct conv_actor *a = &ms->actor;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT " STATE_COLS " FROM conversations c WHERE " CONV_ACL " AND c.id = $4",
                      "iiii", a->account_id, (int64_t)a->role, a->user_id, ms->conversation_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        state_row(&rows, cs);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

static int load_attachments(struct store_tx *tx, struct msg_send *ms, json_t **out)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ms->nattach; i++) {
        struct store_rows rows;
        int rc = tx_query(tx, &rows,
                          "SELECT id, filename, content_type, size, token FROM attachments"
                          " WHERE id = $1 AND account_id = $2 AND uploader_type = $3"
                          " AND uploader_id = $4",
                          "iiti", ms->attachment_ids[i], ms->actor.account_id,
                          ms->actor.visitor ? "contact" : "user", sender_id(ms));
        if (rc == 0 && (rc = rows_next(&rows)) == 1)
            json_array_append_new(arr, attachment_json(rows_i64(&rows, 0), rows_text(&rows, 1),
                                                       rows_text(&rows, 2), rows_i64(&rows, 3),
                                                       rows_text(&rows, 4)));
        rows_close(&rows);
        if (rc == 0)
            rc = json_fail(&ms->fail, "attachment_ids",
                           "attachment %" PRId64 " does not exist or was not uploaded by you.",
                           ms->attachment_ids[i]);
        if (rc < 0) {
            json_decref(arr);
            return rc;
        }
    }
    *out = arr;
    return 0;
}

static int emit_conv(struct store_tx *tx, struct msg_send *ms, const struct conv_state *cs,
                     const char *type, json_t *conv, json_t *extra)
{
    json_t *data = json_pack("{s:O}", "conversation", conv);
    if (extra)
        json_object_update_new(data, extra);
    return event_emit(tx, &ms->events, ms->actor.account_id, type, cs->inbox_id, cs->id,
                      cs->contact_id, true, data);
}

/* ---- the one INSERT INTO messages ---- */

struct new_message {
    int64_t account_id, conversation_id;
    const char *sender_type; /* "contact", "user", "bot" */
    int64_t sender_id;       /* 0 for the bot */
    const char *content;
    bool private;
    const char *client_id;   /* or NULL */
    const char *attachments; /* JSON array text, or NULL for none */
    const char *attributes;  /* JSON object text, or NULL for none */
    double sentiment;        /* NAN: none */
    int64_t at;
};

static int insert_message(struct store_tx *tx, const struct new_message *m, int64_t *id)
{
    return tx_query_i64(tx, id,
                        "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id,"
                        " content, private, client_id, attachments, created_at, sentiment,"
                        " attributes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                        " RETURNING id",
                        "iitisbttidt", m->account_id, m->conversation_id, m->sender_type,
                        m->sender_id, (struct span){m->content, strlen(m->content)},
                        (int)m->private, m->client_id, m->attachments ? m->attachments : "[]",
                        m->at, m->sentiment, m->attributes ? m->attributes : "{}");
}

int conv_bot_say(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                 int64_t conversation_id, const char *content, json_t *attrs, bool private)
{
    int64_t now = clock_wall_ms(), mid;
    char *a = attrs ? json_dump_compact(attrs, NULL) : NULL;
    json_decref(attrs);
    struct new_message nm = {.account_id = account_id,
                             .conversation_id = conversation_id,
                             .sender_type = "bot",
                             .content = content,
                             .private = private,
                             .attributes = a,
                             .sentiment = NAN,
                             .at = now};
    int rc = insert_message(tx, &nm, &mid);
    free(a);
    if (rc < 0)
        return rc;
    /* a note is not activity the customer sees: only a public message moves last_activity_at */
    rc = private ? tx_exec(tx,
                           "UPDATE conversations SET last_message_id = $1, updated_at = $2"
                           " WHERE id = $3 AND account_id = $4",
                           "iiii", mid, now, conversation_id, account_id)
                 : tx_exec(tx,
                           "UPDATE conversations SET last_message_id = $1, updated_at = $2,"
                           " last_activity_at = $2 WHERE id = $3 AND account_id = $4",
                           "iiii", mid, now, conversation_id, account_id);
    if (rc < 0)
        return rc;
    json_t *msg;
    if ((rc = conv_message_load(tx, account_id, mid, &msg)) < 0)
        return rc;
    json_t *conv;
    if ((rc = conv_load(tx, account_id, conversation_id, &conv)) < 0) {
        json_decref(msg);
        return rc;
    }
    int64_t inbox = json_integer_value(json_object_get(conv, "inbox_id"));
    int64_t contact = json_integer_value(json_object_get(json_object_get(conv, "contact"), "id"));
    return event_emit(tx, ev, account_id, "message.created", inbox, conversation_id, contact,
                      private, json_pack("{s:o, s:o}", "message", msg, "conversation", conv));
}

int msg_send_fn(struct store_tx *tx, void *arg)
{
    struct msg_send *ms = arg;
    event_batch_reset(&ms->events);
    json_decref(ms->message);
    ms->message = NULL;
    ms->duplicate = false;
    int rc;
    if (ms->client_id && ((rc = find_duplicate(tx, ms)) < 0 || ms->duplicate))
        return rc;
    int64_t now = clock_wall_ms();
    struct conv_state cs = {0};
    rc = ms->actor.visitor ? visitor_conversation(tx, ms, &cs, now)
                           : agent_conversation(tx, ms, &cs);
    if (rc < 0)
        return rc;
    json_t *atts = NULL;
    if ((rc = load_attachments(tx, ms, &atts)) < 0)
        return rc;
    char *atext = json_dump_compact(atts, NULL);
    json_decref(atts);
    /* agents see a customer's sentiment, and a negative turn can raise the priority (the inbox's
     * bot.negative_priority) */
    double senti = ms->actor.visitor ? ms->sentiment : NAN;
    struct new_message nm = {.account_id = ms->actor.account_id,
                             .conversation_id = cs.id,
                             .sender_type = ms->sender_type,
                             .sender_id = sender_id(ms),
                             .content = ms->content,
                             .private = ms->private,
                             .client_id = ms->client_id,
                             .attachments = atext,
                             .attributes = ms->attributes,
                             .sentiment = senti,
                             .at = now};
    int64_t mid;
    rc = insert_message(tx, &nm, &mid);
    free(atext);
    if (rc < 0)
        return rc;
    /* what the message does to the conversation: model/conversation.c's rules */
    char was_status[sizeof(cs.now.status)];
    snprintf(was_status, sizeof(was_status), "%s", cs.now.status);
    struct msg_facts mf = {.from = ms->actor.visitor                      ? MSG_FROM_CONTACT
                                   : strcmp(ms->sender_type, "user") == 0 ? MSG_FROM_AGENT
                                                                          : MSG_FROM_BOT,
                           .private = ms->private,
                           .id = mid,
                           .user_id = ms->actor.visitor ? 0 : ms->actor.user_id,
                           .sentiment = senti,
                           .at = now};
    /* a negative turn may raise the priority if the inbox says so (read only then; a deleted
     * inbox's conversation keeps its priority) */
    if (mf.from == MSG_FROM_CONTACT && conv_may_raise(&cs.now, senti)) {
        if (!cs.has_settings && (rc = inbox_settings(tx, &ms->actor, &cs)) < 0 &&
            rc != ERR_NOTFOUND)
            return rc;
        mf.raise_on_negative = cs.has_settings && cs.settings.negative_priority;
    }
    unsigned what = conv_on_message(&cs.now, &mf);
    bool reopened = what & CONV_MSG_REOPENED, raised = what & CONV_MSG_RAISED,
         assigned = what & CONV_MSG_ASSIGNED;
    rc = save_state(tx, &cs, now);
    if (rc >= 0 && assigned)
        rc = conv_history_add(tx, ms->actor.account_id, cs.id, ms->actor.user_id, 0, "user",
                              ms->actor.user_id, "self", "");
    if (rc < 0)
        return rc;
    json_t *conv;
    if ((rc = conv_load(tx, ms->actor.account_id, cs.id, &conv)) < 0)
        return rc;
    if ((rc = conv_message_load(tx, ms->actor.account_id, mid, &ms->message)) < 0) {
        json_decref(conv);
        return rc;
    }
    if (cs.created)
        rc = emit_conv(tx, ms, &cs, "conversation.created", conv, NULL);
    if (rc == 0 && reopened)
        rc = emit_conv(tx, ms, &cs, "conversation.status_changed", conv,
                       json_pack("{s:s}", "previous_status", was_status));
    if (rc == 0 && raised)
        rc = emit_conv(tx, ms, &cs, "conversation.updated", conv,
                       json_pack("{s:s}", "reason", "sentiment"));
    if (rc == 0 && assigned)
        rc = emit_conv(tx, ms, &cs, "conversation.assigned", conv,
                       json_pack("{s:n, s:s}", "previous_assignee_id", "reason", "self"));
    if (rc == 0)
        rc = event_emit(tx, &ms->events, ms->actor.account_id, "message.created", cs.inbox_id,
                        cs.id, cs.contact_id, ms->private,
                        json_pack("{s:O, s:O}", "message", ms->message, "conversation", conv));
    json_decref(conv);
    return rc;
}
