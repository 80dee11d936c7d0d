/* find.c: the conversation service's readers (Chatwoot's finders): conversations, messages and
 * contacts as the API shows them, each query with the caller's access rule. */
#include "base/sys.h"
#include "base/clock.h"
#include "conv/conv.h"
#include "conv/conv_int.h"
#include "model/attachment.h"
#include "model/conversation.h"
#include "store/store.h"

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
