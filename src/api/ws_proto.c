/* ws_proto.c: the /ws endpoint for agents. The token comes as ?token= (browsers cannot set headers
 * on a WebSocket) or the session cookie; `account_id` picks the account (default: the first
 * membership) and `since` the last event seq the client saw. Bad ones are refused before the
 * upgrade (401, 404, 422).
 *
 * After the upgrade the connection is subscribed at once (live events are held), then a read job
 * loads the agent's inboxes and the missed events; the server sends `hello`, the replay, the held
 * events, and then everything live: each event once, in seq order (event/on_push.c). Commands are
 * JSON text frames with a "type": ping now; message.send, typing and read come with conversations.
 */
#include "base/sys.h"
#include "base/log.h"
#include "api/app.h"
#include "event/event.h"
#include "event/on_push.h"
#include "net/ws.h"

struct ws_session {
    uint64_t conn_id;
    int64_t user_id, account_id;
    struct push_sub *sub;
};

static struct map sessions; /* conn_id -> ws_session */

static void send_json(struct server *srv, uint64_t id, json_t *v)
{
    size_t len;
    char *s = json_dump_compact(v, &len);
    json_decref(v);
    ws_send_text(srv, id, s, len);
    free(s);
}

static void send_error(struct server *srv, uint64_t id, const char *code, const char *msg)
{
    send_json(srv, id, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", msg));
}

static void on_text(struct server *srv, uint64_t id, void *user, const char *p, size_t len)
{
    UNUSED(user);
    json_error_t je;
    json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        send_error(srv, id, "invalid_json", "Each message must be one JSON object.");
        return;
    }
    const char *type = json_string_value(json_object_get(v, "type"));
    if (!type)
        send_error(srv, id, "validation_failed", "type is required and must be a string.");
    else if (strcmp(type, "ping") == 0)
        send_json(srv, id, json_pack("{s:s}", "type", "pong"));
    else
        send_error(srv, id, "unknown_type", "Unknown message type.");
    json_decref(v);
}

static void on_close(struct server *srv, uint64_t id, void *user)
{
    UNUSED(srv);
    struct ws_session *s = user;
    map_del(&sessions, id);
    push_unsubscribe(s->sub);
    free(s);
}

static const struct ws_handler handler = {on_text, on_close};

/* ---- the start-up read: inboxes and missed events ---- */

struct start_job {
    uint64_t conn_id;
    int64_t account_id, user_id, since; /* since < 0: live only */
    int64_t last_seq;
    int64_t *inboxes;
    size_t ninboxes;
    struct event_batch events;
    bool more;
};

static int start_fn(struct store_tx *tx, void *arg)
{
    struct start_job *j = arg;
    int rc = event_last_seq(tx, j->account_id, &j->last_seq);
    if (rc < 0)
        return rc;
    struct store_rows rows;
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
    if (rc < 0)
        return rc;
    if (j->since >= 0 && j->since < j->last_seq) {
        if ((rc = event_load(tx, &j->events, j->account_id, j->since, PUSH_REPLAY_LIMIT + 1)) < 0)
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
    if (s && rc < 0) {
        ws_close(&the_app->srv, j->conn_id, 1011, "could not load events; reconnect");
    } else if (s) {
        int64_t since = j->since >= 0 ? j->since : j->last_seq;
        send_json(&the_app->srv, j->conn_id,
                  json_pack("{s:s, s:I, s:I, s:I}", "type", "hello", "user_id",
                            (json_int_t)s->user_id, "account_id", (json_int_t)s->account_id, "seq",
                            (json_int_t)j->last_seq));
        push_set_inboxes(s->sub, j->inboxes, j->ninboxes);
        push_replayed(s->sub, since, &j->events, j->more);
    }
    event_batch_reset(&j->events);
    free(j->inboxes);
    free(j);
}

static void ws_authed(struct http_req *r, struct principal *p, int rc)
{
    if (!p) {
        http_respond_error(r, rc < 0 && rc != ERR_UNAUTHORIZED ? rc : ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    int64_t account_id = 0, since = -1;
    const char *qa = http_query(r, "account_id"), *qs = http_query(r, "since");
    if (qa && (!span_to_i64(span_of(qa), &account_id) || account_id <= 0)) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    if (qs && (!span_to_i64(span_of(qs), &since) || since < 0)) {
        http_respond_error(r, ERR_VALIDATION, "since",
                           "since must be the last event seq you saw (an integer >= 0).");
        return;
    }
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
    struct ws_session *s = xcalloc(1, sizeof(*s));
    s->user_id = p->user_id;
    s->account_id = m->account_id;
    enum push_role role = m->role == ROLE_ADMIN        ? PUSH_ADMIN
                          : m->role == ROLE_SUPERVISOR ? PUSH_SUPERVISOR
                                                       : PUSH_AGENT;
    if (ws_accept(r, &handler, s, &s->conn_id) < 0) {
        free(s);
        return;
    }
    map_put(&sessions, s->conn_id, s);
    s->sub = push_subscribe(s->conn_id, s->account_id, s->user_id, role);
    struct start_job *j = xcalloc(1, sizeof(*j));
    j->conn_id = s->conn_id;
    j->account_id = s->account_id;
    j->user_id = s->user_id;
    j->since = since;
    if (store_read(the_app->store, start_fn, start_done, j) < 0) {
        free(j);
        ws_close(&the_app->srv, s->conn_id, 1013, "server busy; reconnect");
    }
}

static void h_ws(struct http_req *r)
{
    const char *q = http_query(r, "token");
    struct span token = q ? span_of(q) : auth_request_token(r);
    if (!token.len) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    auth_lookup(r, token, ws_authed);
}

void ws_proto_routes(struct router *rt)
{
    map_init(&sessions, false);
    router_add(rt, HTTP_GET, "/ws", h_ws, R_PUBLIC);
}

void ws_proto_release(void)
{
    map_release(&sessions);
}
