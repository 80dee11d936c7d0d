/* ws_proto.c: the /ws endpoint for agents and visitors.
 *
 * Agents authenticate with ?token= (browsers cannot set headers on a WebSocket) or the session
 * cookie; `account_id` picks the account (default: the first membership). Visitors pass their
 * signed visitor token (api/visitor.c), checked on the loop without a database read. `since` is the
 * last event seq the client saw. Bad ones are refused before the upgrade (401, 404, 422).
 *
 * After the upgrade the connection is subscribed at once (live events are held), then a read job
 * loads what the start needs (an agent's inboxes and availability; the missed events); the server
 * sends `hello`, the replay, the held events, and then everything live: each event once, in seq
 * order (event/on_push.c). Commands are JSON text frames with a "type": ping, message.send, typing
 * and read. A command's answer echoes its client_id and is sent only after its commit. */
#include "base/sys.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "api/app.h"
#include "conv/conv.h"
#include "event/event.h"
#include "event/on_push.h"
#include "event/on_route.h"
#include "event/on_bot.h"
#include "model/conversation.h"
#include "net/ws.h"

struct ws_session {
    uint64_t conn_id;
    int64_t account_id;
    bool visitor;
    int64_t user_id; /* agents */
    enum role role;
    char *name;
    int64_t contact_id, inbox_id; /* visitors */
    struct push_sub *sub;
    bool routed;        /* counted as connected by the router */
    uint64_t cred;      /* the credential it opened with (cred_key), 0 for visitors */
    int64_t expires_at; /* ms; when the token it opened with expires (0: never) */
};

static struct map sessions; /* conn_id -> ws_session */
/* A socket lives no longer than the credential it opened with: signing out, revoking an API token
 * or the token's expiry closes every socket opened with it (close code 4401, which tells the
 * workspace to sign in again, instead of reconnecting). by_cred: cred_key -> struct conn_ids. */
static struct map by_cred;
struct conn_ids {
    size_t n, cap;
    uint64_t *ids;
};
/* Expiries: a binary min-heap of (expires_at, conn_id) and one timer armed at its head. Closed
 * sockets are left in the heap and skipped when their entry comes up. */
struct expiry {
    int64_t at;
    uint64_t conn_id;
};
static struct expiry *heap;
static size_t nheap, heap_cap;
static uv_timer_t expiry_timer;
static bool expiry_timer_init;
/* Open connections per person, so one user or one visitor (a leaked token, a runaway script, a
 * hundred tabs) cannot hold the server's connections: key user_id for agents, contact_id with the
 * top bit set for visitors; the value is the count (absent is 0). */
static struct map holders;

static uint64_t visitor_key(int64_t contact_id)
{
    return (uint64_t)contact_id | (1ULL << 63);
}

static uint64_t holder_key(const struct ws_session *s)
{
    return s->visitor ? visitor_key(s->contact_id) : (uint64_t)s->user_id;
}

static size_t held(uint64_t key)
{
    return (size_t)(uintptr_t)map_get(&holders, key);
}

static void hold(uint64_t key, int delta)
{
    size_t n = held(key) + (size_t)delta;
    if (n)
        map_put(&holders, key, (void *)(uintptr_t)n);
    else
        map_del(&holders, key);
}

/* ---- credentials and their expiry ---- */

/* cred_key: a session's id, or an API token's id with the top bit set. */
static uint64_t cred_key(int64_t session_id, int64_t api_token_id)
{
    return api_token_id ? (uint64_t)api_token_id | (1ULL << 63) : (uint64_t)session_id;
}

static void cred_add(uint64_t key, uint64_t conn_id)
{
    struct conn_ids *l = map_get(&by_cred, key);
    if (!l) {
        l = xcalloc(1, sizeof(*l));
        map_put(&by_cred, key, l);
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->ids = xrealloc(l->ids, l->cap * sizeof(*l->ids));
    }
    l->ids[l->n++] = conn_id;
}

static void cred_del(uint64_t key, uint64_t conn_id)
{
    struct conn_ids *l = map_get(&by_cred, key);
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->ids[i] == conn_id) {
            l->ids[i] = l->ids[--l->n];
            break;
        }
    if (l->n == 0) {
        map_del(&by_cred, key);
        free(l->ids);
        free(l);
    }
}

/* end_cred: closes every socket opened with the credential (4401 and the reason). */
static void end_cred(uint64_t key, const char *reason)
{
    struct conn_ids *l = map_get(&by_cred, key);
    if (!l)
        return;
    /* ws_close runs on_close later (when the close completes), so the list is stable here; copy
     * it anyway, so that no callback order can change that. */
    size_t n = l->n;
    uint64_t *ids = xmalloc(n * sizeof(*ids));
    memcpy(ids, l->ids, n * sizeof(*ids));
    for (size_t i = 0; i < n; i++)
        ws_close(&the_app->srv, ids[i], 4401, reason);
    free(ids);
}

static void heap_swap(size_t a, size_t b)
{
    struct expiry t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
}

static void heap_push(int64_t at, uint64_t conn_id)
{
    if (nheap == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 64;
        heap = xrealloc(heap, heap_cap * sizeof(*heap));
    }
    size_t i = nheap++;
    heap[i] = (struct expiry){at, conn_id};
    while (i && heap[(i - 1) / 2].at > heap[i].at) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void heap_pop(void)
{
    heap[0] = heap[--nheap];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < nheap && heap[l].at < heap[m].at)
            m = l;
        if (r < nheap && heap[r].at < heap[m].at)
            m = r;
        if (m == i)
            break;
        heap_swap(i, m);
        i = m;
    }
}

static void arm_expiry(void);

static void on_expiry(uv_timer_t *t)
{
    UNUSED(t);
    int64_t now = clock_wall_ms();
    while (nheap && heap[0].at <= now) {
        struct expiry e = heap[0];
        heap_pop();
        struct ws_session *s = map_get(&sessions, e.conn_id);
        if (s && s->expires_at == e.at) {
            log_info("ws", "conn=%" PRIu64 " token expired: closing", e.conn_id);
            ws_close(&the_app->srv, e.conn_id, 4401,
                     s->visitor ? "visitor token expired; start a new chat session"
                                : "session expired; sign in again");
        }
    }
    arm_expiry();
}

/* arm_expiry: the timer fires at the heap's head (wall clock: tokens expire at a wall time). */
static void arm_expiry(void)
{
    if (!expiry_timer_init) {
        uv_timer_init(the_app->loop, &expiry_timer);
        uv_unref((uv_handle_t *)&expiry_timer); /* never keeps the loop alive by itself */
        expiry_timer_init = true;
    }
    uv_timer_stop(&expiry_timer);
    if (!nheap)
        return;
    int64_t wait = heap[0].at - clock_wall_ms();
    uv_timer_start(&expiry_timer, on_expiry, (uint64_t)MAX(wait, 0) + 1, 0);
}

/* track: registers an accepted socket's credential and expiry. */
static void track(struct ws_session *s)
{
    if (s->cred)
        cred_add(s->cred, s->conn_id);
    if (s->expires_at > 0) {
        bool earlier = !nheap || s->expires_at < heap[0].at;
        heap_push(s->expires_at, s->conn_id);
        if (earlier)
            arm_expiry();
    }
}

void ws_proto_end_session(int64_t session_id, int64_t api_token_id, const char *reason)
{
    end_cred(cred_key(session_id, api_token_id), reason);
}

void ws_proto_end_user(int64_t account_id, int64_t user_id, uint16_t code, const char *reason)
{
    struct map_entry *e;
    size_t n = 0;
    uint64_t *ids = xcalloc(sessions.len + 1, sizeof(*ids));
    for (size_t it = 0; map_next(&sessions, &it, &e);) {
        struct ws_session *s = e->val;
        if (!s->visitor && s->user_id == user_id && (!account_id || s->account_id == account_id))
            ids[n++] = s->conn_id;
    }
    for (size_t i = 0; i < n; i++)
        ws_close(&the_app->srv, ids[i], code, reason);
    free(ids);
}

/* Refuses the upgrade (429) when the person already holds cfg.ws_max_per_user connections. */
static bool over_limit(struct http_req *r, uint64_t key)
{
    if (held(key) < (size_t)cfg.ws_max_per_user)
        return false;
    char msg[200];
    snprintf(msg, sizeof(msg),
             "Too many open connections for this %s (%" PRId64 "); close other tabs or windows, "
             "then reconnect.",
             key >> 63 ? "visitor" : "user", cfg.ws_max_per_user);
    http_respond_error(r, ERR_RATE, NULL, msg);
    return true;
}

static void send_json(uint64_t id, json_t *v)
{
    size_t len;
    char *s = json_dump_compact(v, &len);
    json_decref(v);
    ws_send_text(&the_app->srv, id, s, len);
    free(s);
}

static void send_error(uint64_t id, const char *client_id, int err, const char *field,
                       const char *msg)
{
    json_t *v = json_pack("{s:s, s:s, s:s}", "type", "error", "code", err_name(err), "message",
                          msg ? msg : err_str(err));
    if (client_id)
        json_object_set_new(v, "client_id", json_string(client_id));
    if (field)
        json_object_set_new(v, "field", json_string(field));
    send_json(id, v);
}

static struct conv_actor actor_of(const struct ws_session *s)
{
    struct conv_actor a = {.account_id = s->account_id,
                           .visitor = s->visitor,
                           .user_id = s->user_id,
                           .role = s->role,
                           .contact_id = s->contact_id,
                           .inbox_id = s->inbox_id};
    return a;
}

/* ---- message.send ---- */

struct send_cmd {
    uint64_t conn_id;
    struct msg_send ms;
    char *payload;    /* a visitor's click on a bot button (event/on_bot.h), or NULL */
    char *attributes; /* {"payload": ...}, stored with the message */
};

static int send_fn(struct store_tx *tx, void *arg)
{
    struct send_cmd *c = arg;
    /* the button must be one the bot offers now: checked with the message's write */
    if (c->payload) {
        int rc = bot_payload_check_tx(tx, &c->ms.actor, c->ms.client_id, c->payload, &c->ms.fail);
        if (rc < 0)
            return rc;
    }
    return msg_send_fn(tx, &c->ms);
}

static void send_cmd_free(struct send_cmd *c)
{
    msg_send_release(&c->ms);
    free(c->payload);
    free(c->attributes);
    free(c);
}

static void send_done(void *arg, int rc)
{
    struct send_cmd *c = arg;
    if (rc >= 0)
        event_publish(&c->ms.events); /* the sender gets its event too; the ack follows */
    if (map_get(&sessions, c->conn_id)) {
        if (rc >= 0) {
            /* a visitor's copy without what only agents see; agents get the message itself */
            json_t *m = c->ms.actor.visitor && json_is_object(c->ms.message)
                            ? json_copy(c->ms.message)
                            : json_incref(c->ms.message);
            if (c->ms.actor.visitor && m)
                event_strip_visitor_message(m);
            send_json(c->conn_id, json_pack("{s:s, s:s?, s:o, s:b}", "type", "ack", "client_id",
                                            c->ms.client_id, "data", m ? m : json_null(),
                                            "duplicate", (int)c->ms.duplicate));
        } else
            send_error(c->conn_id, c->ms.client_id, rc,
                       c->ms.fail.field[0] ? c->ms.fail.field : NULL,
                       rc == ERR_VALIDATION && c->ms.fail.field[0] ? c->ms.fail.msg : NULL);
    }
    send_cmd_free(c);
}

static void cmd_send(struct ws_session *s, json_t *v)
{
    struct send_cmd *c = xcalloc(1, sizeof(*c));
    c->conn_id = s->conn_id;
    c->ms.actor = actor_of(s);
    c->ms.sender_type = s->visitor ? "contact" : "user";
    struct jfail f = {0};
    int rc = msg_send_parse(v, &c->ms, !s->visitor, !s->visitor, &f);
    if (rc == 0 && !c->ms.client_id)
        rc = json_fail(&f, "client_id",
                       "client_id is required: a unique id per message, reused on retries.");
    /* a click on a bot button: the label is the content, the payload says which button */
    json_t *pl = json_object_get(v, "payload");
    if (rc == 0 && pl) {
        const char *p = json_string_value(pl);
        if (!s->visitor)
            rc = json_fail(&f, "payload", "payload is for visitors' clicks on the bot's buttons.");
        else if (!p || !bot_payload_valid(p))
            rc = json_fail(&f, "payload",
                           "payload must be the payload of one of the bot's buttons.");
        else {
            c->payload = xstrdup(p);
            json_t *a = json_pack("{s:s}", "payload", p);
            c->attributes = json_dump_compact(a, NULL);
            json_decref(a);
            c->ms.attributes = c->attributes;
        }
    }
    if (rc < 0) {
        send_error(s->conn_id, json_string_value(json_object_get(v, "client_id")), rc,
                   f.field[0] ? f.field : NULL, f.msg);
        send_cmd_free(c);
        return;
    }
    if ((rc = store_write(the_app->store, send_fn, send_done, c)) < 0) {
        send_error(s->conn_id, c->ms.client_id, ERR_BUSY, NULL, NULL);
        send_cmd_free(c);
    }
}

/* ---- typing (not stored: a read finds the conversation's inbox and contact) ---- */

struct typing_cmd {
    uint64_t conn_id;
    struct conv_actor actor;
    int64_t conversation_id, inbox_id, contact_id;
    bool on, private;
    char *name;
    char contact_name[128];
};

static int typing_fn(struct store_tx *tx, void *arg)
{
    struct typing_cmd *c = arg;
    struct store_rows rows;
    int rc;
    if (c->actor.visitor)
        rc = tx_query(tx, &rows,
                      "SELECT c.id, c.inbox_id, c.contact_id, ct.name FROM conversations c"
                      " JOIN contacts ct ON ct.id = c.contact_id WHERE c.account_id = $1"
                      " AND c.contact_id = $2 AND c.inbox_id = $3 AND c.status <> 'resolved'"
                      " ORDER BY c.id DESC LIMIT 1",
                      "iii", c->actor.account_id, c->actor.contact_id, c->actor.inbox_id);
    else
        rc = tx_query(tx, &rows,
                      "SELECT c.id, c.inbox_id, c.contact_id, '' FROM conversations c"
                      " WHERE c.id = $4 AND c.account_id = $1 AND ($2 > 0 OR EXISTS"
                      " (SELECT 1 FROM inbox_members mm WHERE mm.inbox_id = c.inbox_id"
                      " AND mm.user_id = $3))",
                      "iiii", c->actor.account_id, (int64_t)c->actor.role, c->actor.user_id,
                      c->conversation_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1) {
        c->conversation_id = rows_i64(&rows, 0);
        c->inbox_id = rows_i64(&rows, 1);
        c->contact_id = rows_i64(&rows, 2);
        char nb[48];
        snprintf(c->contact_name, sizeof(c->contact_name), "%s",
                 contact_display_name(rows_text(&rows, 3), c->contact_id, nb, sizeof(nb)));
    }
    rows_close(&rows);
    return rc < 0 ? rc : rc == 0 ? ERR_NOTFOUND : 0;
}

static void typing_done(void *arg, int rc)
{
    struct typing_cmd *c = arg;
    if (rc == ERR_NOTFOUND && !c->actor.visitor && map_get(&sessions, c->conn_id))
        send_error(c->conn_id, NULL, rc, "conversation_id", NULL);
    if (rc >= 0) {
        json_t *sender = c->actor.visitor
                             ? json_pack("{s:s, s:I, s:s}", "type", "contact", "id",
                                         (json_int_t)c->contact_id, "name", c->contact_name)
                             : json_pack("{s:s, s:I, s:s}", "type", "user", "id",
                                         (json_int_t)c->actor.user_id, "name", c->name);
        json_t *v = json_pack("{s:s, s:I, s:b, s:o}", "type", "typing", "conversation_id",
                              (json_int_t)c->conversation_id, "on", (int)c->on, "sender", sender);
        size_t len;
        char *frame = json_dump_compact(v, &len);
        json_decref(v);
        push_ephemeral(c->actor.account_id, c->inbox_id, c->contact_id, !c->private, c->conn_id,
                       frame, len);
        free(frame);
    }
    free(c->name);
    free(c);
}

static void cmd_typing(struct ws_session *s, json_t *v)
{
    struct typing_cmd *c = xcalloc(1, sizeof(*c));
    c->conn_id = s->conn_id;
    c->actor = actor_of(s);
    c->on = true;
    struct jfail f = {0};
    int rc = 0;
    if (!s->visitor) {
        rc = json_field_int(v, "conversation_id", true, 1, INT64_MAX, &c->conversation_id, &f);
        if (rc >= 0)
            rc = json_field_bool(v, "private", false, &c->private, &f);
    }
    if (rc >= 0)
        rc = json_field_bool(v, "on", false, &c->on, &f);
    if (rc < 0 || store_read(the_app->store, typing_fn, typing_done, c) < 0) {
        if (rc < 0)
            send_error(s->conn_id, NULL, rc, f.field[0] ? f.field : NULL, f.msg);
        free(c);
        return;
    }
    c->name = s->name ? xstrdup(s->name) : NULL;
}

/* ---- read ---- */

struct read_cmd {
    uint64_t conn_id;
    char *client_id;
    struct conv_read cr;
};

static int read_fn(struct store_tx *tx, void *arg)
{
    return conv_read_fn(tx, &((struct read_cmd *)arg)->cr);
}

static void read_done(void *arg, int rc)
{
    struct read_cmd *c = arg;
    if (rc >= 0)
        event_publish(&c->cr.events);
    else
        event_batch_reset(&c->cr.events);
    if (map_get(&sessions, c->conn_id)) {
        if (rc < 0)
            send_error(c->conn_id, c->client_id, rc, "message_id", NULL);
        else if (c->client_id)
            send_json(c->conn_id,
                      json_pack("{s:s, s:s, s:{s:I}}", "type", "ack", "client_id", c->client_id,
                                "data", "message_id", (json_int_t)c->cr.message_id));
    }
    free(c->client_id);
    free(c);
}

static void cmd_read(struct ws_session *s, json_t *v)
{
    struct read_cmd *c = xcalloc(1, sizeof(*c));
    c->conn_id = s->conn_id;
    c->cr.actor = actor_of(s);
    struct jfail f = {0};
    int rc = 0;
    if (!s->visitor)
        rc = json_field_int(v, "conversation_id", true, 1, INT64_MAX, &c->cr.conversation_id, &f);
    if (rc >= 0)
        rc = json_field_int(v, "message_id", true, 1, INT64_MAX, &c->cr.message_id, &f);
    const char *cid = NULL;
    if (rc >= 0)
        rc = json_field_str(v, "client_id", false, 1, 64, &cid, &f);
    if (rc >= 0 && cid && !client_id_valid(cid))
        rc = json_fail(&f, "client_id", "client_id must be 1 to 64 printable ASCII characters.");
    if (rc < 0)
        cid = NULL; /* never echo back what failed the check */
    if (rc < 0) {
        send_error(s->conn_id, cid, rc, f.field[0] ? f.field : NULL, f.msg);
        free(c);
        return;
    }
    c->client_id = cid ? xstrdup(cid) : NULL;
    if (store_write(the_app->store, read_fn, read_done, c) < 0) {
        send_error(s->conn_id, cid, ERR_BUSY, NULL, NULL);
        free(c->client_id);
        free(c);
    }
}

static void on_text(struct server *srv, uint64_t id, void *user, const char *p, size_t len)
{
    UNUSED(srv);
    struct ws_session *s = user;
    json_error_t je;
    json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        send_error(id, NULL, ERR_JSON, NULL, "Each message must be one JSON object.");
        return;
    }
    const char *type = json_string_value(json_object_get(v, "type"));
    if (!type)
        send_error(id, NULL, ERR_VALIDATION, "type", "type is required and must be a string.");
    else if (strcmp(type, "ping") == 0)
        send_json(id, json_pack("{s:s}", "type", "pong"));
    else if (strcmp(type, "message.send") == 0)
        cmd_send(s, v);
    else if (strcmp(type, "typing") == 0)
        cmd_typing(s, v);
    else if (strcmp(type, "read") == 0)
        cmd_read(s, v);
    else {
        json_t *e = json_pack("{s:s, s:s, s:s}", "type", "error", "code", "unknown_type", "message",
                              "Unknown message type.");
        send_json(id, e);
    }
    json_decref(v);
}

static void on_close(struct server *srv, uint64_t id, void *user)
{
    UNUSED(srv);
    struct ws_session *s = user;
    map_del(&sessions, id);
    hold(holder_key(s), -1);
    if (s->cred)
        cred_del(s->cred, id);
    push_unsubscribe(s->sub);
    if (s->routed)
        on_route_connected(s->account_id, s->user_id, false);
    free(s->name);
    free(s);
}

static const struct ws_handler handler = {on_text, on_close};

/* ---- the start-up read: inboxes, availability and missed events ---- */

struct start_job {
    uint64_t conn_id;
    bool visitor;
    int64_t account_id, user_id, contact_id, inbox_id, since; /* since < 0: live only */
    int64_t last_seq;
    int64_t *inboxes;
    size_t ninboxes;
    char availability[8];
    struct event_batch events;
    bool more;
};

static int agent_start(struct store_tx *tx, struct start_job *j)
{
    snprintf(j->availability, sizeof(j->availability), "online");
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT availability FROM users WHERE id = $1", "i", j->user_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1)
        snprintf(j->availability, sizeof(j->availability), "%s", rows_text(&rows, 0));
    rows_close(&rows);
    if (rc < 0)
        return rc;
    rc = tx_query(tx, &rows,
                  "SELECT m.inbox_id FROM inbox_members m JOIN inboxes i ON i.id = m.inbox_id"
                  " WHERE m.account_id = $1 AND m.user_id = $2 AND i.deleted_at IS NULL",
                  "ii", j->account_id, j->user_id);
    if (rc < 0)
        return rc;
    size_t cap = 0;
    while ((rc = rows_next(&rows)) == 1) {
        if (j->ninboxes == cap) {
            cap = cap ? cap * 2 : 8;
            j->inboxes = xrealloc(j->inboxes, cap * sizeof(*j->inboxes));
        }
        j->inboxes[j->ninboxes++] = rows_i64(&rows, 0);
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

static int start_fn(struct store_tx *tx, void *arg)
{
    struct start_job *j = arg;
    int rc = event_last_seq(tx, j->account_id, &j->last_seq);
    if (rc < 0)
        return rc;
    if (j->visitor) {
        int64_t one;
        rc = tx_query_i64(tx, &one,
                          "SELECT 1 FROM inboxes WHERE id = $1 AND account_id = $2"
                          " AND deleted_at IS NULL",
                          "ii", j->inbox_id, j->account_id);
    } else {
        rc = agent_start(tx, j);
    }
    if (rc < 0)
        return rc;
    if (j->since >= 0 && j->since < j->last_seq) {
        rc = j->visitor
                 ? event_load_visitor(tx, &j->events, j->account_id, j->contact_id, j->since,
                                      PUSH_REPLAY_LIMIT + 1)
                 : event_load(tx, &j->events, j->account_id, j->since, PUSH_REPLAY_LIMIT + 1);
        if (rc < 0)
            return rc;
        /* Cut at the limit: a client that far behind resyncs. */
        int64_t n = 0;
        for (struct event *ev = j->events.head; ev; ev = ev->next)
            n++;
        j->more = n > PUSH_REPLAY_LIMIT;
    }
    return 0;
}

static void start_done(void *arg, int rc)
{
    struct start_job *j = arg;
    struct ws_session *s = map_get(&sessions, j->conn_id);
    if (s && rc == ERR_NOTFOUND) {
        ws_close(&the_app->srv, j->conn_id, 1008, "this chat inbox no longer exists");
    } else if (s && rc < 0) {
        ws_close(&the_app->srv, j->conn_id, 1011, "could not load events; reconnect");
    } else if (s) {
        int64_t since = j->since >= 0 ? j->since : j->last_seq;
        if (s->visitor) {
            bool online = push_inbox_online(s->account_id, s->inbox_id);
            push_visitor_told(s->sub, online);
            json_t *queue = on_route_visitor_queue(s->account_id, s->contact_id, s->inbox_id);
            send_json(j->conn_id,
                      json_pack("{s:s, s:I, s:I, s:I, s:b, s:o, s:o}", "type", "hello",
                                "contact_id", (json_int_t)s->contact_id, "inbox_id",
                                (json_int_t)s->inbox_id, "seq", (json_int_t)j->last_seq, "online",
                                (int)online, "queue", queue ? queue : json_null(), "bot",
                                on_bot_widget(s->account_id, s->inbox_id)));
        } else {
            push_set_agent(s->sub, j->inboxes, j->ninboxes, strcmp(j->availability, "online") == 0);
            on_route_connected(s->account_id, s->user_id, true);
            s->routed = true;
            send_json(j->conn_id,
                      json_pack("{s:s, s:I, s:I, s:I, s:s, s:o}", "type", "hello", "user_id",
                                (json_int_t)s->user_id, "account_id", (json_int_t)s->account_id,
                                "seq", (json_int_t)j->last_seq, "availability", j->availability,
                                "online_user_ids", push_online_users(s->account_id)));
        }
        push_replayed(s->sub, since, &j->events, j->more);
    }
    event_batch_reset(&j->events);
    free(j->inboxes);
    free(j);
}

static void start(struct ws_session *s, int64_t since)
{
    struct start_job *j = xcalloc(1, sizeof(*j));
    j->conn_id = s->conn_id;
    j->visitor = s->visitor;
    j->account_id = s->account_id;
    j->user_id = s->user_id;
    j->contact_id = s->contact_id;
    j->inbox_id = s->inbox_id;
    j->since = since;
    if (store_read(the_app->store, start_fn, start_done, j) < 0) {
        free(j);
        ws_close(&the_app->srv, s->conn_id, 1013, "server busy; reconnect");
    }
}

/* parse_since: ?since (>= 0), or -1 when absent; answers 422 and returns < 0 if bad. */
static int parse_since(struct http_req *r, int64_t *since)
{
    const char *qs = http_query(r, "since");
    *since = -1;
    if (qs && (!span_to_i64(span_of(qs), since) || *since < 0)) {
        http_respond_error(r, ERR_VALIDATION, "since",
                           "since must be the last event seq you saw (an integer >= 0).");
        return -1;
    }
    return 0;
}

static void ws_authed(struct http_req *r, struct principal *p, int rc)
{
    if (!p) {
        http_respond_error(r, rc < 0 && rc != ERR_UNAUTHORIZED ? rc : ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    int64_t account_id = 0, since;
    const char *qa = http_query(r, "account_id");
    if (qa && (!span_to_i64(span_of(qa), &account_id) || account_id <= 0)) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    if (parse_since(r, &since) < 0)
        return;
    const struct membership *m = NULL;
    for (int i = 0; i < p->nmemberships; i++)
        if (!account_id || p->memberships[i].account_id == account_id) {
            m = &p->memberships[i];
            break;
        }
    if (!m) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    if (over_limit(r, (uint64_t)p->user_id))
        return;
    struct ws_session *s = xcalloc(1, sizeof(*s));
    s->user_id = p->user_id;
    s->account_id = m->account_id;
    s->role = m->role;
    s->cred = cred_key(p->session_id, p->api_token_id);
    s->expires_at = p->expires_at;
    s->name = xstrdup(m->display_name ? m->display_name : p->name ? p->name : "");
    enum push_role role = m->role == ROLE_ADMIN        ? PUSH_ADMIN
                          : m->role == ROLE_SUPERVISOR ? PUSH_SUPERVISOR
                                                       : PUSH_AGENT;
    if (ws_accept(r, &handler, s, &s->conn_id) < 0) {
        free(s->name);
        free(s);
        return;
    }
    map_put(&sessions, s->conn_id, s);
    hold(holder_key(s), 1);
    track(s);
    s->sub = push_subscribe(s->conn_id, s->account_id, s->user_id, role);
    start(s, since);
}

static void ws_visitor(struct http_req *r, struct span token)
{
    struct visitor_claims c;
    int64_t since;
    if (visitor_token_verify(token, &c) < 0) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL,
                           "The visitor token is missing or expired; start a new widget session.");
        return;
    }
    if (parse_since(r, &since) < 0)
        return;
    if (over_limit(r, visitor_key(c.contact_id)))
        return;
    struct ws_session *s = xcalloc(1, sizeof(*s));
    s->visitor = true;
    s->account_id = c.account_id;
    s->contact_id = c.contact_id;
    s->inbox_id = c.inbox_id;
    s->expires_at = c.expires_at;
    if (ws_accept(r, &handler, s, &s->conn_id) < 0) {
        free(s);
        return;
    }
    map_put(&sessions, s->conn_id, s);
    hold(holder_key(s), 1);
    track(s);
    s->sub = push_subscribe_visitor(s->conn_id, s->account_id, s->contact_id, s->inbox_id);
    start(s, since);
}

static void h_ws(struct http_req *r)
{
    const char *q = http_query(r, "token");
    struct span token = q ? span_of(q) : auth_request_token(r);
    if (!token.len) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    if (visitor_token_like(token)) {
        ws_visitor(r, token);
        return;
    }
    /* Cross-site WebSocket hijacking: any page can open a socket to us and the browser adds the
     * cookie; only our own pages (or --allowed-origins) may use it. A token in the URL cannot be
     * added by another site. */
    if (!q && auth_token_is_cookie(r) && !app_origin_ok(r)) {
        app_respond_bad_origin(r);
        return;
    }
    auth_lookup(r, token, ws_authed);
}

void ws_proto_routes(struct router *rt)
{
    map_init(&sessions, false);
    map_init(&holders, false);
    map_init(&by_cred, false);
    router_add(rt, HTTP_GET, "/ws", h_ws, R_PUBLIC);
}

void ws_proto_stop(void)
{
    if (expiry_timer_init && !uv_is_closing((uv_handle_t *)&expiry_timer))
        uv_close((uv_handle_t *)&expiry_timer, NULL);
}

void ws_proto_release(void)
{
    struct map_entry *e;
    for (size_t it = 0; map_next(&by_cred, &it, &e);) {
        struct conn_ids *l = e->val;
        free(l->ids);
        free(l);
    }
    map_release(&by_cred);
    free(heap);
    heap = NULL;
    nheap = heap_cap = 0;
    map_release(&sessions);
    map_release(&holders);
}
