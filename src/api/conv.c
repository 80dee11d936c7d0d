/* conv.c: conversations and messages inside store jobs (see conv.h). */
#include "base/sys.h"
#include "base/clock.h"
#include "api/conv.h"

#include <math.h>

#include "event/on_senti.h"
#include "model/bot.h"
#include "model/conversation.h"
#include "store/store.h"

/* The access rule, with $1 = account, $2 = role (> 0: admin or supervisor), $3 = user. */
#define CONV_ACL                                                                                   \
    "c.account_id = $1 AND ($2 > 0 OR c.assignee_id = $3 OR EXISTS (SELECT 1 FROM inbox_members "  \
    "mm"                                                                                           \
    " WHERE mm.inbox_id = c.inbox_id AND mm.user_id = $3))"

const char CONTACT_COLS[] =
    "ct.id, ct.name, ct.email, ct.phone, ct.attributes, ct.last_seen_at, ct.created_at, ct.prechat";

const char CONV_SELECT[] =
    "SELECT c.id, c.inbox_id, c.status, c.snoozed_until, c.assignee_id, COALESCE(aun.name, u.name),"
    " c.team_id,"
    " c.priority, c.last_activity_at, c.waiting_since, c.first_reply_at, c.agent_last_read_id,"
    " c.contact_last_read_id, c.page_url, c.prechat, c.created_at, c.updated_at,"
    " ct.id, ct.name, ct.email, ct.phone,"
    " lm.id, lm.content, lm.sender_type, lm.private, lm.created_at, c.unread_count,"
    " c.bot_state, c.intent, c.sentiment"
    " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id"
    " LEFT JOIN users u ON u.id = c.assignee_id"
    " LEFT JOIN account_users aun ON aun.account_id = c.account_id AND aun.user_id = c.assignee_id"
    " LEFT JOIN messages lm ON lm.id = c.last_message_id";

const char MSG_SELECT[] = "SELECT " MSG_COLS MSG_FROM;

const char *contact_display_name(const char *name, int64_t id, char *buf, size_t len)
{
    if (name && *name)
        return name;
    snprintf(buf, len, "Visitor %" PRId64, id);
    return buf;
}

static json_t *opt_int(struct store_rows *rows, int col)
{
    return rows_null(rows, col) ? json_null() : json_integer(rows_i64(rows, col));
}

static json_t *opt_time(struct store_rows *rows, int col)
{
    return rows_null(rows, col) ? json_null() : json_time(rows_i64(rows, col));
}

json_t *contact_json(struct store_rows *rows, int col)
{
    char nb[48];
    int64_t id = rows_i64(rows, col);
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", (json_int_t)id, "name",
                     contact_display_name(rows_text(rows, col + 1), id, nb, sizeof(nb)), "email",
                     rows_text(rows, col + 2), "phone", rows_text(rows, col + 3), "attributes",
                     json_loads_or(rows_text(rows, col + 4), json_object()), "last_seen_at",
                     opt_time(rows, col + 5), "created_at", json_time(rows_i64(rows, col + 6)),
                     "prechat", json_loads_or(rows_text(rows, col + 7), json_object()));
}

int contact_load(struct store_tx *tx, int64_t account_id, int64_t id, json_t **out)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT %s FROM contacts ct WHERE ct.id = $1 AND ct.account_id = $2",
             CONTACT_COLS);
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "ii", id, account_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        *out = contact_json(&rows, 0);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

int contact_load_for(struct store_tx *tx, const struct conv_actor *a, int64_t id, json_t **out)
{
    if (a->role == ROLE_AGENT) {
        int64_t one;
        int rc = tx_query_i64(tx, &one,
                              "SELECT 1 FROM conversations c WHERE " CONV_ACL
                              " AND c.contact_id = $4 LIMIT 1",
                              "iiii", a->account_id, (int64_t)a->role, a->user_id, id);
        if (rc < 0) /* ERR_NOTFOUND: no conversation of theirs, so no such contact for them */
            return rc;
    }
    return contact_load(tx, a->account_id, id, out);
}

int contact_updated_emit(struct store_tx *tx, struct event_batch *b, int64_t account_id,
                         int64_t contact_id, json_t *contact)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT DISTINCT inbox_id FROM conversations WHERE account_id = $1"
                      " AND contact_id = $2 ORDER BY inbox_id",
                      "ii", account_id, contact_id);
    if (rc < 0) {
        json_decref(contact);
        return rc;
    }
    json_t *inboxes = json_array();
    while ((rc = rows_next(&rows)) == 1)
        json_array_append_new(inboxes, json_integer(rows_i64(&rows, 0)));
    rows_close(&rows);
    if (rc < 0) {
        json_decref(inboxes);
        json_decref(contact);
        return rc;
    }
    return event_emit(tx, b, account_id, "contact.updated", 0, 0, contact_id, true,
                      json_pack("{s:o, s:o}", "contact", contact, "inbox_ids", inboxes));
}

static json_t *conv_row_json(struct store_rows *rows)
{
    char nb[48];
    int64_t contact_id = rows_i64(rows, 17);
    json_t *assignee = rows_null(rows, 4)
                           ? json_null()
                           : json_pack("{s:I, s:s}", "id", (json_int_t)rows_i64(rows, 4), "name",
                                       rows_text(rows, 5));
    json_t *last = json_null();
    if (!rows_null(rows, 21)) {
        const char *content = rows_text(rows, 22);
        size_t n = utf8_prefix_len(content, rows_len(rows, 22), PREVIEW_CHARS);
        last = json_pack("{s:I, s:s%, s:s, s:b, s:o}", "id", (json_int_t)rows_i64(rows, 21),
                         "content", content, n, "sender_type", rows_text(rows, 23), "private",
                         (int)rows_i64(rows, 24), "created_at", json_time(rows_i64(rows, 25)));
    }
    json_t *v = json_pack(
        "{s:I, s:I, s:s, s:o, s:o, s:o, s:s, s:[], s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:s, s:o,"
        " s:o, s:o}",
        "id", (json_int_t)rows_i64(rows, 0), "inbox_id", (json_int_t)rows_i64(rows, 1), "status",
        rows_text(rows, 2), "snoozed_until", opt_time(rows, 3), "assignee", assignee, "team_id",
        opt_int(rows, 6), "priority", rows_text(rows, 7), "labels", "unread_count",
        (json_int_t)rows_i64(rows, 26), "last_message", last, "last_activity_at",
        json_time(rows_i64(rows, 8)), "waiting_since", opt_time(rows, 9), "first_reply_at",
        opt_time(rows, 10), "agent_last_read_id", (json_int_t)rows_i64(rows, 11),
        "contact_last_read_id", (json_int_t)rows_i64(rows, 12), "page_url", rows_text(rows, 13),
        "prechat", json_loads_or(rows_text(rows, 14), json_object()), "created_at",
        json_time(rows_i64(rows, 15)), "updated_at", json_time(rows_i64(rows, 16)));
    json_object_set_new(v, "assignee_id", opt_int(rows, 4));
    json_object_set_new(v, "bot_state",
                        rows_null(rows, 27) ? json_null() : json_string(rows_text(rows, 27)));
    json_object_set_new(v, "intent",
                        rows_null(rows, 28) || !rows_text(rows, 28)[0]
                            ? json_null()
                            : json_string(rows_text(rows, 28)));
    json_object_set_new(v, "sentiment",
                        rows_null(rows, 29) ? json_null() : json_real(rows_double(rows, 29)));
    json_object_set_new(
        v, "contact",
        json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)contact_id, "name",
                  contact_display_name(rows_text(rows, 18), contact_id, nb, sizeof(nb)), "email",
                  rows_text(rows, 19), "phone", rows_text(rows, 20)));
    return v;
}

static int add_labels(struct store_tx *tx, json_t *conv)
{
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows,
                 "SELECT label FROM conversation_labels WHERE conversation_id = $1 ORDER BY label",
                 "i", (int64_t)json_integer_value(json_object_get(conv, "id")));
    if (rc < 0)
        return rc;
    json_t *labels = json_object_get(conv, "labels");
    while ((rc = rows_next(&rows)) == 1)
        json_array_append_new(labels, json_string(rows_text(&rows, 0)));
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

int conv_list_rows(struct store_tx *tx, struct store_rows *rows, json_t **out)
{
    json_t *data = json_array();
    int rc;
    while ((rc = rows_next(rows)) == 1)
        json_array_append_new(data, conv_row_json(rows));
    rows_close(rows);
    size_t i;
    json_t *c;
    json_array_foreach(data, i, c)
    {
        if (rc >= 0)
            rc = add_labels(tx, c);
    }
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    *out = data;
    return 0;
}

static int one_conv(struct store_tx *tx, struct store_rows *rows, int rc, json_t **out)
{
    if (rc < 0)
        return rc;
    json_t *arr;
    if ((rc = conv_list_rows(tx, rows, &arr)) < 0)
        return rc;
    if (json_array_size(arr) == 0) {
        json_decref(arr);
        return ERR_NOTFOUND;
    }
    *out = json_incref(json_array_get(arr, 0));
    json_decref(arr);
    return 0;
}

int conv_load(struct store_tx *tx, int64_t account_id, int64_t conversation_id, json_t **out)
{
    struct store_rows rows;
    char sql[2048];
    snprintf(sql, sizeof(sql), "%s WHERE c.id = $1 AND c.account_id = $2", CONV_SELECT);
    int rc = tx_query(tx, &rows, sql, "ii", conversation_id, account_id);
    return one_conv(tx, &rows, rc, out);
}

int conv_get(struct store_tx *tx, const struct conv_actor *a, int64_t conversation_id, json_t **out)
{
    struct store_rows rows;
    char sql[2048];
    int rc;
    if (a->visitor) {
        snprintf(
            sql, sizeof(sql),
            "%s WHERE c.id = $1 AND c.account_id = $2 AND c.contact_id = $3 AND c.inbox_id = $4",
            CONV_SELECT);
        rc = tx_query(tx, &rows, sql, "iiii", conversation_id, a->account_id, a->contact_id,
                      a->inbox_id);
    } else {
        snprintf(sql, sizeof(sql), "%s WHERE " CONV_ACL " AND c.id = $4", CONV_SELECT);
        rc = tx_query(tx, &rows, sql, "iiii", a->account_id, (int64_t)a->role, a->user_id,
                      conversation_id);
    }
    return one_conv(tx, &rows, rc, out);
}

json_t *conv_visitor_json(json_t *c)
{
    json_t *a = json_object_get(c, "assignee");
    return json_pack(
        "{s:O, s:O, s:O, s:o, s:O, s:O, s:O, s:O}", "id", json_object_get(c, "id"), "inbox_id",
        json_object_get(c, "inbox_id"), "status", json_object_get(c, "status"), "assignee",
        json_is_object(a) ? json_pack("{s:O}", "name", json_object_get(a, "name")) : json_null(),
        "agent_last_read_id", json_object_get(c, "agent_last_read_id"), "contact_last_read_id",
        json_object_get(c, "contact_last_read_id"), "created_at", json_object_get(c, "created_at"),
        "bot_state", json_object_get(c, "bot_state"));
}

json_t *message_json(struct store_rows *rows)
{
    char nb[48];
    const char *type = rows_text(rows, 3);
    int64_t sender_id = rows_i64(rows, 4);
    const char *name = rows_text(rows, 5);
    if (strcmp(type, "contact") == 0)
        name = contact_display_name(name, sender_id, nb, sizeof(nb));
    else if (strcmp(type, "bot") == 0)
        name = "Bot";
    else if (strcmp(type, "system") == 0)
        name = "";
    return json_pack("{s:I, s:I, s:I, s:{s:s, s:I, s:s}, s:s, s:b, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "id", (json_int_t)rows_i64(rows, 0), "conversation_id",
                     (json_int_t)rows_i64(rows, 1), "inbox_id", (json_int_t)rows_i64(rows, 2),
                     "sender", "type", type, "id", (json_int_t)sender_id, "name", name, "content",
                     rows_text(rows, 6), "private", (int)rows_i64(rows, 7), "client_id",
                     rows_null(rows, 8) ? json_null() : json_string(rows_text(rows, 8)),
                     "attachments", json_loads_or(rows_text(rows, 9), json_array()), "created_at",
                     json_time(rows_i64(rows, 10)), "sentiment",
                     rows_null(rows, 11) ? json_null() : json_real(rows_double(rows, 11)),
                     "attributes", json_loads_or(rows_text(rows, 12), json_object()),
                     /* an agent's correction of the score: the label they gave, or null */
                     "sentiment_correction",
                     rows_null(rows, 13) ? json_null() : json_string(rows_text(rows, 13)));
}

int conv_message_load(struct store_tx *tx, int64_t account_id, int64_t id, json_t **out)
{
    char sql[1024];
    snprintf(sql, sizeof(sql), "%s WHERE m.id = $1 AND m.account_id = $2", MSG_SELECT);
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "ii", id, account_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        *out = message_json(&rows);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

int messages_page(struct store_tx *tx, int64_t account_id, int64_t conversation_id, int64_t after,
                  int64_t before, int64_t limit, bool public_only, json_t **out)
{
    char sql[1024];
    /* One more than asked says whether there are more. Newest first unless paging forward. */
    snprintf(sql, sizeof(sql),
             "%s WHERE m.conversation_id = $1 AND m.account_id = $2 AND ($3 = 0 OR m.private = 0)"
             " AND ($4 = 0 OR m.id > $4) AND ($5 = 0 OR m.id < $5) ORDER BY m.id %s LIMIT $6",
             MSG_SELECT, after ? "ASC" : "DESC");
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "iibiii", conversation_id, account_id, (int)public_only,
                      after, before, limit + 1);
    if (rc < 0)
        return rc;
    json_t *data = json_array();
    while ((rc = rows_next(&rows)) == 1)
        json_array_append_new(data, message_json(&rows));
    rows_close(&rows);
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    bool more = (int64_t)json_array_size(data) > limit;
    if (more)
        json_array_remove(data, (size_t)limit);
    if (!after) { /* reverse into ascending order */
        size_t n = json_array_size(data);
        for (size_t i = 0; i < n / 2; i++) {
            json_t *x = json_incref(json_array_get(data, i));
            json_array_set(data, i, json_array_get(data, n - 1 - i));
            json_array_set_new(data, n - 1 - i, x);
        }
    }
    *out = json_pack("{s:o, s:{s:b}}", "data", data, "meta", "has_more", (int)more);
    return 0;
}

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
    int64_t id, inbox_id, contact_id, assignee_id;
    char status[16];
    char priority[16];
    bool created;
    bool bot;          /* the bot is answering: the conversation stays pending, out of the queue */
    bool has_settings; /* settings read (only when a decision needs them) */
    struct bot_settings settings; /* visitors: their inbox's bot settings */
};

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
                      "SELECT id, status, COALESCE(assignee_id, 0), priority,"
                      " COALESCE(bot_state, '') IN ('active', 'collecting') FROM conversations"
                      " WHERE account_id = $1 AND contact_id = $2 AND inbox_id = $3"
                      " AND status <> 'resolved' ORDER BY id DESC LIMIT 1",
                      "iii", a->account_id, a->contact_id, a->inbox_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1) {
        cs->id = rows_i64(&rows, 0);
        snprintf(cs->status, sizeof(cs->status), "%s", rows_text(&rows, 1));
        cs->assignee_id = rows_i64(&rows, 2);
        snprintf(cs->priority, sizeof(cs->priority), "%s", rows_text(&rows, 3));
        cs->bot = rows_i64(&rows, 4) != 0;
    }
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
    cs->bot = bot_active(&cs->settings, now);
    rc = tx_query_i64(tx, &cs->id,
                      "INSERT INTO conversations (account_id, inbox_id, contact_id, status,"
                      " last_activity_at, page_url, prechat, created_at, updated_at, bot_state)"
                      " SELECT $1, $2, $3, $5, $4, last_page_url, prechat, $4, $4, $6"
                      " FROM contacts WHERE id = $3 AND account_id = $1 RETURNING id",
                      "iiiitt", a->account_id, a->inbox_id, a->contact_id, now,
                      cs->bot ? "pending" : "open", cs->bot ? "active" : NULL);
    if (rc < 0)
        return rc;
    snprintf(cs->status, sizeof(cs->status), "%s", cs->bot ? "pending" : "open");
    snprintf(cs->priority, sizeof(cs->priority), "none");
    cs->created = true;
    return 0;
}

static int agent_conversation(struct store_tx *tx, struct msg_send *ms, struct conv_state *cs)
{
    const struct conv_actor *a = &ms->actor;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT c.inbox_id, c.contact_id, c.status, COALESCE(c.assignee_id, 0)"
                      " FROM conversations c WHERE " CONV_ACL " AND c.id = $4",
                      "iiii", a->account_id, (int64_t)a->role, a->user_id, ms->conversation_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1) {
        cs->id = ms->conversation_id;
        cs->inbox_id = rows_i64(&rows, 0);
        cs->contact_id = rows_i64(&rows, 1);
        snprintf(cs->status, sizeof(cs->status), "%s", rows_text(&rows, 2));
        cs->assignee_id = rows_i64(&rows, 3);
    }
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
            json_array_append_new(arr, api_attachments_json(rows_i64(&rows, 0), rows_text(&rows, 1),
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
    int64_t mid;
    rc = tx_query_i64(tx, &mid,
                      "INSERT INTO messages (account_id, conversation_id, sender_type, sender_id,"
                      " content, private, client_id, attachments, created_at, sentiment)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                      "iitisbttid", ms->actor.account_id, cs.id, ms->sender_type, sender_id(ms),
                      (struct span){ms->content, strlen(ms->content)}, (int)ms->private,
                      ms->client_id, atext, now, senti);
    free(atext);
    if (rc >= 0 && ms->attributes)
        rc = tx_exec(tx, "UPDATE messages SET attributes = $1 WHERE id = $2", "ti", ms->attributes,
                     mid);
    if (rc < 0)
        return rc;
    bool reopened = false, assigned = false, raised = false;
    if (ms->actor.visitor) {
        /* A customer writing reopens a pending or snoozed conversation and starts the wait;
         * while the bot answers, it stays pending and nobody waits yet. */
        reopened = !cs.bot && strcmp(cs.status, "open") != 0;
        raised = senti <= -0.25 &&
                 (strcmp(cs.priority, "none") == 0 || strcmp(cs.priority, "low") == 0 ||
                  strcmp(cs.priority, "medium") == 0);
        if (raised && !cs.has_settings && (rc = inbox_settings(tx, &ms->actor, &cs)) < 0 &&
            rc != ERR_NOTFOUND) /* a deleted inbox's conversation keeps its priority */
            return rc;
        raised = raised && cs.settings.negative_priority;
        rc = tx_exec(
            tx,
            "UPDATE conversations SET last_message_id = $1, last_activity_at = $2,"
            " updated_at = $2,"
            " waiting_since = CASE WHEN $4 THEN waiting_since ELSE COALESCE(waiting_since, $2) END,"
            " contact_last_read_id = $1,"
            " status = CASE WHEN $4 THEN status ELSE 'open' END,"
            " snoozed_until = CASE WHEN $4 THEN snoozed_until ELSE NULL END,"
            " unread_count = unread_count + 1, sentiment = $5,"
            " priority = CASE WHEN $6 THEN 'high' ELSE priority END"
            " WHERE id = $3",
            "iiibdb", mid, now, cs.id, (int)cs.bot, senti, (int)raised);
    } else if (ms->private) {
        rc = tx_exec(tx,
                     "UPDATE conversations SET last_message_id = $1, updated_at = $2,"
                     " agent_last_read_id = $1, unread_count = 0 WHERE id = $3",
                     "iii", mid, now, cs.id);
    } else {
        /* An agent's reply ends the wait; the first one to answer an unassigned conversation
         * takes it (Chatwoot does the same). */
        assigned = cs.assignee_id == 0 && strcmp(ms->sender_type, "user") == 0;
        /* an agent who answers takes over from the bot */
        rc =
            tx_exec(tx,
                    "UPDATE conversations SET last_message_id = $1, last_activity_at = $2,"
                    " updated_at = $2, waiting_since = NULL,"
                    " bot_state = CASE WHEN bot_state IN ('active', 'collecting') THEN 'handed_off'"
                    " ELSE bot_state END,"
                    " first_reply_at = COALESCE(first_reply_at, $2),"
                    " agent_last_read_id = $1, unread_count = 0,"
                    " assigned_at = CASE WHEN assignee_id IS NULL AND $4 > 0 THEN $2"
                    " ELSE assigned_at END,"
                    " assignee_id = CASE WHEN assignee_id IS NULL AND $4 > 0 THEN $4"
                    " ELSE assignee_id END WHERE id = $3",
                    "iiii", mid, now, cs.id, assigned ? ms->actor.user_id : (int64_t)0);
        if (rc >= 0 && assigned)
            rc = conv_history_add(tx, ms->actor.account_id, cs.id, ms->actor.user_id, 0, "user",
                                  ms->actor.user_id, "self", "");
    }
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
                       json_pack("{s:s}", "previous_status", cs.status));
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

int conv_check_assignee(struct store_tx *tx, int64_t account_id, int64_t user_id, int64_t inbox_id,
                        int64_t team_id, struct jfail *f)
{
    int64_t ok;
    int rc = tx_query_i64(
        tx, &ok,
        "SELECT 1 FROM account_users au WHERE au.account_id = $1 AND au.user_id = $2"
        " AND (au.role <> 'agent' OR EXISTS (SELECT 1 FROM inbox_members m"
        " WHERE m.inbox_id = $3 AND m.user_id = $2) OR EXISTS (SELECT 1 FROM team_members tm"
        " WHERE tm.team_id = $4 AND tm.user_id = $2))",
        "iiii", account_id, user_id, inbox_id, team_id);
    if (rc == ERR_NOTFOUND)
        return json_fail(f, "assignee_id",
                         "user %" PRId64 " cannot take conversations of this inbox; add them to"
                         " the inbox (or the conversation's team) first.",
                         user_id);
    return rc;
}

int conv_history_add(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                     int64_t assignee_id, int64_t previous_id, const char *actor_type,
                     int64_t actor_id, const char *reason, const char *note)
{
    /* the team is the conversation's as it is now (after the change) */
    return tx_exec(tx,
                   "INSERT INTO conversation_assignments (account_id, conversation_id, assignee_id,"
                   " team_id, previous_assignee_id, actor_type, actor_id, reason, note, created_at)"
                   " VALUES ($1, $2, $3, (SELECT team_id FROM conversations WHERE id = $2),"
                   " $4, $5, $6, $7, $8, $9)",
                   "iinntntti", account_id, conversation_id, assignee_id, previous_id, actor_type,
                   actor_id, reason, note ? note : "", clock_wall_ms());
}

/* ---- read ---- */

int conv_read_fn(struct store_tx *tx, void *arg)
{
    struct conv_read *cr = arg;
    event_batch_reset(&cr->events);
    const struct conv_actor *a = &cr->actor;
    /* The message must be in a conversation the reader may see (public, for visitors). */
    struct store_rows rows;
    int rc;
    if (a->visitor)
        rc = tx_query(tx, &rows,
                      "SELECT c.id, c.inbox_id, c.contact_id FROM messages m"
                      " JOIN conversations c ON c.id = m.conversation_id"
                      " WHERE m.id = $1 AND m.account_id = $2 AND m.private = 0"
                      " AND c.contact_id = $3 AND c.inbox_id = $4",
                      "iiii", cr->message_id, a->account_id, a->contact_id, a->inbox_id);
    else
        rc = tx_query(tx, &rows,
                      "SELECT c.id, c.inbox_id, c.contact_id FROM messages m"
                      " JOIN conversations c ON c.id = m.conversation_id"
                      " WHERE " CONV_ACL " AND m.id = $4 AND m.conversation_id = $5",
                      "iiiii", a->account_id, (int64_t)a->role, a->user_id, cr->message_id,
                      cr->conversation_id);
    if (rc < 0)
        return rc;
    int64_t cid = 0, inbox_id = 0, contact_id = 0;
    if ((rc = rows_next(&rows)) == 1) {
        cid = rows_i64(&rows, 0);
        inbox_id = rows_i64(&rows, 1);
        contact_id = rows_i64(&rows, 2);
    }
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    cr->conversation_id = cid;
    /* An agent's read recounts what is still unread once (a later message may exist); sends keep
     * the count after that. */
    rc = tx_exec(tx,
                 a->visitor ? "UPDATE conversations SET contact_last_read_id = $1"
                              " WHERE id = $2 AND contact_last_read_id < $1"
                            : "UPDATE conversations SET agent_last_read_id = $1, unread_count ="
                              " (SELECT COUNT(*) FROM messages x WHERE x.conversation_id = $2"
                              " AND x.id > $1 AND x.sender_type = 'contact')"
                              " WHERE id = $2 AND agent_last_read_id < $1",
                 "ii", cr->message_id, cid);
    if (rc <= 0)
        return rc; /* nothing new read: no event */
    json_t *data =
        json_pack("{s:I, s:s, s:I}", "conversation_id", (json_int_t)cid, "reader",
                  a->visitor ? "contact" : "agent", "message_id", (json_int_t)cr->message_id);
    if (!a->visitor) {
        int64_t unread;
        rc = tx_query_i64(tx, &unread, "SELECT unread_count FROM conversations WHERE id = $1", "i",
                          cid);
        if (rc < 0) {
            json_decref(data);
            return rc;
        }
        json_object_set_new(data, "user_id", json_integer(a->user_id));
        json_object_set_new(data, "unread_count", json_integer(unread));
    }
    return event_emit(tx, &cr->events, a->account_id, "conversation.read", inbox_id, cid,
                      contact_id, false, data);
}

int msg_index_fn(struct store_tx *tx, void *arg)
{
    UNUSED(arg);
    enum { ROWS = 256, BUDGET_NS = 1000000 };
    int64_t from;
    int rc = tx_query_i64(tx, &from, "SELECT indexed_to FROM fts_state", "");
    if (rc < 0)
        return rc;
    struct store_rows rows;
    if ((rc = tx_query(tx, &rows,
                       "SELECT id, content FROM messages WHERE id > $1 ORDER BY id LIMIT $2", "ii",
                       from, (int64_t)ROWS)) < 0)
        return rc;
    uint64_t t0 = clock_mono_ns();
    int64_t to = from;
    int n = 0;
    while ((rc = rows_next(&rows)) == 1) {
        int64_t id = rows_i64(&rows, 0);
        struct span text = {rows_text(&rows, 1), rows_len(&rows, 1)};
        if ((rc = tx_exec(tx, "INSERT INTO messages_fts (rowid, content) VALUES ($1, $2)", "is", id,
                          text)) < 0)
            break;
        to = id;
        if (++n % 16 == 0 && clock_mono_ns() - t0 > BUDGET_NS)
            break;
    }
    bool more = rc == 1 || n == ROWS;
    rows_close(&rows);
    if (rc < 0)
        return rc;
    if (to > from && (rc = tx_exec(tx, "UPDATE fts_state SET indexed_to = $1", "i", to)) < 0)
        return rc;
    return more ? 1 : 0;
}
