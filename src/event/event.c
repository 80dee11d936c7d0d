/* event.c: appending events inside a write transaction, and publishing them after the commit. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/json.h"
#include "event/event.h"
#include "store/store.h"

enum { MAX_LISTENERS = 16 };
static event_listener_fn listeners[MAX_LISTENERS];
static int nlisteners;

void event_listen(event_listener_fn fn)
{
    if (nlisteners < MAX_LISTENERS)
        listeners[nlisteners++] = fn;
}

void event_free(struct event *ev)
{
    json_decref(ev->data);
    free(ev->type);
    free(ev->frame);
    free(ev->vframe);
    free(ev);
}

void event_batch_splice(struct event_batch *to, struct event_batch *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

void event_batch_reset(struct event_batch *b)
{
    struct event *ev = b->head, *next;
    for (; ev; ev = next) {
        next = ev->next;
        event_free(ev);
    }
    b->head = b->tail = NULL;
}

static void append(struct event_batch *b, struct event *ev)
{
    ev->next = NULL;
    if (b->tail)
        b->tail->next = ev;
    else
        b->head = ev;
    b->tail = ev;
}

int event_emit(struct store_tx *tx, struct event_batch *b, int64_t account_id, const char *type,
               int64_t inbox_id, int64_t conversation_id, int64_t contact_id, bool private,
               json_t *data)
{
    int64_t seq;
    /* The row lock on account_seq orders writers (across nodes on PostgreSQL); a rollback undoes
     * the bump, so seq has no gaps. */
    int rc = tx_query_i64(
        tx, &seq, "UPDATE account_seq SET seq = seq + 1 WHERE account_id = $1 RETURNING seq", "i",
        account_id);
    if (rc == ERR_NOTFOUND) {
        rc = tx_exec(tx, "INSERT INTO account_seq (account_id, seq) VALUES ($1, 1)", "i",
                     account_id);
        seq = 1;
    }
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    int64_t now = clock_wall_ms();
    char *text = json_dump_compact(data, NULL);
    rc = tx_exec(tx,
                 "INSERT INTO events (account_id, seq, type, inbox_id, conversation_id, contact_id,"
                 " private, data, created_at)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                 "iitnnnbti", account_id, seq, type, inbox_id, conversation_id, contact_id,
                 (int)private, text, now);
    free(text);
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    struct event *ev = xcalloc(1, sizeof(*ev));
    ev->account_id = account_id;
    ev->seq = seq;
    ev->inbox_id = inbox_id;
    ev->conversation_id = conversation_id;
    ev->contact_id = contact_id;
    ev->private = private;
    ev->type = xstrdup(type);
    ev->data = data;
    ev->created_at = now;
    append(b, ev);
    return 0;
}

void event_strip_visitor_message(json_t *m)
{
    json_object_del(m, "sentiment");
    json_object_del(m, "sentiment_correction");
}

void event_build_frame(struct event *ev)
{
    if (ev->frame)
        return;
    json_t *f = json_pack("{s:s, s:I, s:s, s:O, s:o}", "type", "event", "seq", (json_int_t)ev->seq,
                          "event", ev->type, "data", ev->data, "at", json_time(ev->created_at));
    ev->frame = json_dump_compact(f, &ev->frame_len);
    /* The visitor's copy: no conversation object (agents' business: assignee, priority, labels)
     * and no sentiment on the message (how the bot rates the customer's mood is for agents). */
    json_t *msg = json_object_get(ev->data, "message");
    if (ev->contact_id && !ev->private &&
        (json_object_get(ev->data, "conversation") ||
         (json_is_object(msg) && json_object_get(msg, "sentiment")))) {
        json_t *d = json_copy(ev->data);
        json_object_del(d, "conversation");
        if (json_is_object(msg)) {
            json_t *m = json_copy(msg);
            event_strip_visitor_message(m);
            json_object_set_new(d, "message", m);
        }
        json_object_set_new(f, "data", d);
        ev->vframe = json_dump_compact(f, &ev->vframe_len);
    }
    json_decref(f);
}

void event_publish(struct event_batch *b)
{
    for (struct event *ev = b->head; ev; ev = ev->next) {
        event_build_frame(ev);
        for (int i = 0; i < nlisteners; i++)
            listeners[i](ev);
    }
    event_batch_reset(b);
}

static int load_rows(struct store_rows *rows, struct event_batch *b, int64_t account_id)
{
    int rc;
    while ((rc = rows_next(rows)) == 1) {
        struct event *ev = xcalloc(1, sizeof(*ev));
        ev->account_id = account_id;
        ev->seq = rows_i64(rows, 0);
        ev->type = xstrdup(rows_text(rows, 1));
        ev->inbox_id = rows_i64(rows, 2);
        ev->conversation_id = rows_i64(rows, 3);
        ev->private = rows_i64(rows, 4) != 0;
        ev->data = json_loads(rows_text(rows, 5), 0, NULL);
        if (!ev->data)
            ev->data = json_object();
        ev->created_at = rows_i64(rows, 6);
        ev->contact_id = rows_i64(rows, 7);
        append(b, ev);
    }
    rows_close(rows);
    return rc < 0 ? rc : 0;
}

#define EVENT_COLS                                                                                 \
    "SELECT seq, type, COALESCE(inbox_id, 0), COALESCE(conversation_id, 0), private, data,"        \
    " created_at, COALESCE(contact_id, 0) FROM events"

int event_load(struct store_tx *tx, struct event_batch *b, int64_t account_id, int64_t since,
               int64_t limit)
{
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows, EVENT_COLS " WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                 "iii", account_id, since, limit);
    return rc < 0 ? rc : load_rows(&rows, b, account_id);
}

int event_load_visitor(struct store_tx *tx, struct event_batch *b, int64_t account_id,
                       int64_t contact_id, int64_t since, int64_t limit)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      EVENT_COLS " WHERE account_id = $1 AND contact_id = $2 AND seq > $3"
                                 " AND private = 0 ORDER BY seq LIMIT $4",
                      "iiii", account_id, contact_id, since, limit);
    return rc < 0 ? rc : load_rows(&rows, b, account_id);
}

int event_last_seq(struct store_tx *tx, int64_t account_id, int64_t *out)
{
    int rc =
        tx_query_i64(tx, out, "SELECT seq FROM account_seq WHERE account_id = $1", "i", account_id);
    if (rc == ERR_NOTFOUND) {
        *out = 0;
        return 0;
    }
    return rc;
}
