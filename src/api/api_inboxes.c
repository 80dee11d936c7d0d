/* api_inboxes.c: inboxes (the channels conversations arrive through) and their members.
 *
 * Admins create, change and delete inboxes and choose their members; supervisors see every inbox,
 * agents only the inboxes they are members of (another inbox is a 404 to them). Each change emits
 * an event in the same transaction (inbox.created, inbox.updated, inbox.deleted,
 * inbox.members_changed) and is audited. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "conv/conv.h"
#include "event/event.h"
#include "model/inbox.h"
#include "route/rules.h"

#include <sodium.h>

#include "model/bot.h"

#define INBOX_COLS                                                                                 \
    "id, name, channel, widget_token, greeting, offline_message, widget_color, widget_title, "     \
    "prechat_fields,"                                                                              \
    " created_at, updated_at, (SELECT COUNT(*) FROM inbox_members mc WHERE mc.inbox_id = i.id),"   \
    " routing, bot"

struct inbox_job {
    struct http_req *r;
    int64_t account_id, user_id, inbox_id, limit, offset;
    enum role role;
    struct inbox_input in;
    json_t *routing; /* the routing settings given (a patch over the stored ones) */
    json_t *bot;     /* the bot settings given (likewise) */
    int64_t member_id, capacity;
    char token[41];
    int64_t *user_ids;
    size_t nuser_ids;
    json_t *body;
    struct event_batch events;
    int status;
    struct jfail fail; /* a validation failure found inside the transaction */
};

static json_t *inbox_json(struct store_rows *rows)
{
    json_t *pf = json_loads_or(rows_text(rows, 8), json_array());
    if (!json_is_array(pf)) { /* a corrupt row: no form */
        json_decref(pf);
        pf = json_array();
    }
    struct route_settings rs;
    route_settings_load(rows_text(rows, 12), &rs);
    json_t *v = json_pack(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I}", "id",
        (json_int_t)rows_i64(rows, 0), "name", rows_text(rows, 1), "channel", rows_text(rows, 2),
        "widget_token", rows_text(rows, 3), "greeting", rows_text(rows, 4), "offline_message",
        rows_text(rows, 5), "widget_color", rows_text(rows, 6), "widget_title", rows_text(rows, 7),
        "prechat_fields", pf, "created_at", json_time(rows_i64(rows, 9)), "updated_at",
        json_time(rows_i64(rows, 10)), "members_count", (json_int_t)rows_i64(rows, 11));
    json_object_set_new(v, "routing", route_settings_json(&rs));
    struct bot_settings bs;
    bot_settings_load(rows_text(rows, 13), &bs);
    json_object_set_new(v, "bot", bot_settings_json(&bs));
    return v;
}

/* load_inbox: the inbox as JSON, or ERR_NOTFOUND if it is not in the account, deleted, or (for an
 * agent) not one of theirs. */
static int load_inbox(struct store_tx *tx, struct inbox_job *j, json_t **out)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT " INBOX_COLS
                      " FROM inboxes i WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL"
                      " AND ($3 > 0 OR EXISTS (SELECT 1 FROM inbox_members m WHERE m.inbox_id = "
                      "i.id AND m.user_id = $4))",
                      "iiii", j->inbox_id, j->account_id, (int64_t)j->role, j->user_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        *out = inbox_json(&rows);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

static void job_done(void *arg, int rc)
{
    struct inbox_job *j = arg;
    inbox_input_release(&j->in);
    json_decref(j->routing);
    json_decref(j->bot);
    app_finish(j->r, rc, j->body, j->status, &j->events, &j->fail);
}

static struct inbox_job *new_job(struct http_req *r, bool with_id)
{
    struct principal *p = req_principal(r);
    struct inbox_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = p->account_id;
    j->user_id = p->user_id;
    j->role = p->role;
    if (with_id && app_id_param(r, "id", &j->inbox_id) < 0)
        return NULL;
    return j;
}

/* ---- list / get ---- */

static int list_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    int64_t total;
    int rc = tx_query_i64(
        tx, &total,
        "SELECT COUNT(*) FROM inboxes i WHERE account_id = $1 AND deleted_at IS NULL AND ($2 > 0 OR"
        " EXISTS (SELECT 1 FROM inbox_members m WHERE m.inbox_id = i.id AND m.user_id = $3))",
        "iii", j->account_id, (int64_t)j->role, j->user_id);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(
        tx, &rows,
        "SELECT " INBOX_COLS
        " FROM inboxes i WHERE account_id = $1 AND deleted_at IS NULL AND ($2 > 0 OR"
        " EXISTS (SELECT 1 FROM inbox_members m WHERE m.inbox_id = i.id AND m.user_id = $3))"
        " ORDER BY id LIMIT $4 OFFSET $5",
        "iiiii", j->account_id, (int64_t)j->role, j->user_id, j->limit, j->offset);
    if (rc < 0)
        return rc;
    return app_rows_page(&rows, inbox_json, total, j->limit, j->offset, &j->body);
}

static void h_list(struct http_req *r)
{
    struct inbox_job *j = new_job(r, false);
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    app_store_read(r, list_fn, job_done, j);
}

static int get_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    return load_inbox(tx, j, &j->body);
}

static void h_get(struct http_req *r)
{
    struct inbox_job *j = new_job(r, true);
    if (j)
        app_store_read(r, get_fn, job_done, j);
}

/* ---- create / update / delete ---- */

/* keep_strings: the parsed strings point into the body, which is released before the store job
 * runs; copy them into the request arena. */
static void keep_strings(struct http_req *r, struct inbox_input *in)
{
    const char **strs[] = {&in->name,         &in->channel,     &in->greeting, &in->offline_message,
                           &in->widget_color, &in->widget_title};
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        if (*strs[i])
            *strs[i] = arena_strndup(&r->arena, *strs[i], strlen(*strs[i]));
}

/* save_routing: the routing patch over the stored settings; the overflow team must exist. */
static int save_routing(struct store_tx *tx, struct inbox_job *j)
{
    if (!j->routing)
        return 0;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT routing FROM inboxes WHERE id = $1 AND account_id = $2"
                      " AND deleted_at IS NULL",
                      "ii", j->inbox_id, j->account_id);
    if (rc < 0)
        return rc;
    struct route_settings s;
    if ((rc = rows_next(&rows)) == 1)
        route_settings_load(rows_text(&rows, 0), &s);
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    if ((rc = route_settings_parse(j->routing, &s, &j->fail)) < 0)
        return rc;
    if (s.overflow_team_id && (rc = conv_check_team(tx, j->account_id, s.overflow_team_id,
                                                    "routing.overflow_team_id", &j->fail)) < 0)
        return rc;
    json_t *v = route_settings_json(&s);
    char *text = json_dump_compact(v, NULL);
    json_decref(v);
    rc = tx_exec(tx, "UPDATE inboxes SET routing = $1 WHERE id = $2", "ti", text, j->inbox_id);
    free(text);
    return rc < 0 ? rc : 0;
}

/* save_bot: the bot settings patch over the stored ones. */
static int save_bot(struct store_tx *tx, struct inbox_job *j)
{
    if (!j->bot)
        return 0;
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows,
                 "SELECT bot FROM inboxes WHERE id = $1 AND account_id = $2 AND deleted_at IS NULL",
                 "ii", j->inbox_id, j->account_id);
    if (rc < 0)
        return rc;
    struct bot_settings s;
    if ((rc = rows_next(&rows)) == 1)
        bot_settings_load(rows_text(&rows, 0), &s);
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    if ((rc = bot_settings_parse(j->bot, &s, &j->fail)) < 0)
        return rc;
    /* the greeting's flows must be the account's (a flow offered there cannot be deleted) */
    for (int i = 0; i < s.nflows; i++) {
        int64_t x;
        rc = tx_query_i64(tx, &x, "SELECT id FROM bot_flows WHERE id = $1 AND account_id = $2",
                          "ii", s.flows[i], j->account_id);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, "bot.greeting_flows", "flow %" PRId64 " does not exist.",
                             s.flows[i]);
        if (rc < 0)
            return rc;
    }
    json_t *v = bot_settings_json(&s);
    char *text = json_dump_compact(v, NULL);
    json_decref(v);
    rc = tx_exec(tx, "UPDATE inboxes SET bot = $1 WHERE id = $2", "ti", text, j->inbox_id);
    free(text);
    return rc < 0 ? rc : 0;
}

/* take_bot: validates body.bot against the defaults and keeps a copy (the job applies it over the
 * stored settings); ERR_VALIDATION in f if bad. */
static int take_bot(json_t *body, struct inbox_job *j, struct jfail *f)
{
    json_t *v = json_object_get(body, "bot");
    if (!v)
        return 0;
    struct bot_settings s;
    bot_settings_default(&s);
    int rc = bot_settings_parse(v, &s, f);
    if (rc < 0)
        return rc;
    j->bot = json_deep_copy(v);
    json_object_del(body, "bot");
    return 0;
}

/* take_routing: the same for body.routing. */
static int take_routing(json_t *body, struct inbox_job *j, struct jfail *f)
{
    json_t *v = json_object_get(body, "routing");
    if (!v)
        return 0;
    struct route_settings s;
    route_settings_default(&s);
    int rc = route_settings_parse(v, &s, f);
    if (rc < 0)
        return rc;
    j->routing = json_deep_copy(v);
    json_object_del(body, "routing");
    return 0;
}

/* parse_body: routing, bot and the inbox's own fields, kept in j; ERR_VALIDATION in f if bad (then
 * j holds nothing to free). */
static int parse_body(json_t *body, bool create, struct inbox_job *j, struct jfail *f)
{
    int rc = take_routing(body, j, f);
    if (rc >= 0)
        rc = take_bot(body, j, f);
    if (rc >= 0)
        rc = inbox_parse(body, create, &j->in, f);
    if (rc < 0) {
        json_decref(j->routing);
        json_decref(j->bot);
        j->routing = j->bot = NULL;
    }
    return rc;
}

/* queue_write: queues the job; when the queue refuses it (answered 503, and the request with j is
 * gone) what j held is freed here, as job_done would have. */
static void queue_write(struct http_req *r, store_job_fn fn, struct inbox_job *j)
{
    json_t *held[] = {j->routing, j->bot, j->in.prechat_fields};
    if (app_store_write(r, fn, job_done, j) < 0)
        for (size_t i = 0; i < ARRAY_SIZE(held); i++)
            json_decref(held[i]);
}

/* changed: after a create or update, in the same transaction: reload the inbox as the answer, emit
 * the event carrying it, and audit the change under the same name. */
static int changed(struct store_tx *tx, struct inbox_job *j, const char *what)
{
    json_decref(j->body);
    j->body = NULL;
    int rc = load_inbox(tx, j, &j->body);
    if (rc == 0)
        rc = event_emit(tx, &j->events, j->account_id, what, j->inbox_id, 0, 0, true,
                        json_incref(j->body));
    if (rc == 0)
        rc = audit_add(tx, j->account_id, j->user_id, what, "inbox", j->inbox_id, j->r->ip,
                       json_pack("{s:O}", "name", json_object_get(j->body, "name")));
    return rc;
}

static int create_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    char *pf = j->in.prechat_fields ? json_dump_compact(j->in.prechat_fields, NULL) : xstrdup("[]");
    int rc = tx_query_i64(
        tx, &j->inbox_id,
        "INSERT INTO inboxes (account_id, name, channel, widget_token, greeting, offline_message,"
        " widget_color, widget_title, prechat_fields, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
        "itttttttti", j->account_id, j->in.name, j->in.channel, j->token,
        j->in.greeting ? j->in.greeting : "", j->in.offline_message ? j->in.offline_message : "",
        j->in.widget_color ? j->in.widget_color : "#1f6feb",
        j->in.widget_title ? j->in.widget_title : j->in.name, pf, now);
    free(pf);
    if (rc < 0 || (rc = save_routing(tx, j)) < 0 || (rc = save_bot(tx, j)) < 0)
        return rc;
    return changed(tx, j, "inbox.created");
}

static void h_create(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct inbox_job *j = new_job(r, false);
    struct jfail f = {0};
    int rc = parse_body(body, true, j, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    keep_strings(r, &j->in);
    json_decref(body);
    unsigned char raw[20];
    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), j->token);
    j->status = 201;
    queue_write(r, create_fn, j);
}

static int update_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    event_batch_reset(&j->events);
    char *pf = j->in.prechat_fields ? json_dump_compact(j->in.prechat_fields, NULL) : NULL;
    int rc = tx_exec(
        tx,
        "UPDATE inboxes SET name = COALESCE($1, name), greeting = COALESCE($2, greeting),"
        " offline_message = COALESCE($3, offline_message), widget_color = COALESCE($4, "
        "widget_color),"
        " widget_title = COALESCE($5, widget_title), prechat_fields = COALESCE($6, prechat_fields),"
        " updated_at = $7 WHERE id = $8 AND account_id = $9 AND deleted_at IS NULL",
        "ttttttiii", j->in.name, j->in.greeting, j->in.offline_message, j->in.widget_color,
        j->in.widget_title, pf, clock_wall_ms(), j->inbox_id, j->account_id);
    free(pf);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = save_routing(tx, j)) < 0 || (rc = save_bot(tx, j)) < 0)
        return rc;
    return changed(tx, j, "inbox.updated");
}

static void h_update(struct http_req *r)
{
    struct inbox_job *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    int rc = parse_body(body, false, j, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    keep_strings(r, &j->in);
    json_decref(body);
    queue_write(r, update_fn, j);
}

static int delete_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    event_batch_reset(&j->events);
    int rc = tx_exec(tx,
                     "UPDATE inboxes SET deleted_at = $1 WHERE id = $2 AND account_id = $3 AND "
                     "deleted_at IS NULL",
                     "iii", clock_wall_ms(), j->inbox_id, j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = event_emit(tx, &j->events, j->account_id, "inbox.deleted", j->inbox_id, 0, 0, true,
                         json_pack("{s:I}", "id", (json_int_t)j->inbox_id))) < 0)
        return rc;
    return audit_add(tx, j->account_id, j->user_id, "inbox.deleted", "inbox", j->inbox_id, j->r->ip,
                     NULL);
}

static void h_delete(struct http_req *r)
{
    struct inbox_job *j = new_job(r, true);
    if (j)
        app_store_write(r, delete_fn, job_done, j);
}

/* ---- members ---- */

static int members_json(struct store_tx *tx, struct inbox_job *j, json_t **out)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT u.id, u.email, COALESCE(au.name, u.name), au.role, m.capacity"
                      " FROM inbox_members m"
                      " JOIN users u ON "
                      "u.id = m.user_id"
                      " JOIN account_users au ON au.user_id = u.id AND au.account_id = m.account_id"
                      " WHERE m.inbox_id = $1 AND m.account_id = $2 ORDER BY u.id",
                      "ii", j->inbox_id, j->account_id);
    if (rc < 0)
        return rc;
    json_t *data = json_array(), *ids = json_array();
    while ((rc = rows_next(&rows)) == 1) {
        json_array_append_new(
            data, json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)rows_i64(&rows, 0),
                            "email", rows_text(&rows, 1), "name", rows_text(&rows, 2), "role",
                            rows_text(&rows, 3), "capacity",
                            rows_null(&rows, 4) ? json_null() : json_integer(rows_i64(&rows, 4))));
        json_array_append_new(ids, json_integer(rows_i64(&rows, 0)));
    }
    rows_close(&rows);
    if (rc < 0) {
        json_decref(data);
        json_decref(ids);
        return rc;
    }
    *out = json_pack("{s:o, s:o}", "data", data, "user_ids", ids);
    return 0;
}

static int get_members_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    json_t *inbox;
    int rc = load_inbox(tx, j, &inbox);
    if (rc < 0)
        return rc;
    json_decref(inbox);
    return members_json(tx, j, &j->body);
}

static void h_get_members(struct http_req *r)
{
    struct inbox_job *j = new_job(r, true);
    if (j)
        app_store_read(r, get_members_fn, job_done, j);
}

static int set_members_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    event_batch_reset(&j->events);
    json_t *inbox;
    int rc = load_inbox(tx, j, &inbox);
    if (rc < 0)
        return rc;
    json_decref(inbox);
    int64_t now = clock_wall_ms();
    if ((rc = app_check_members(tx, j->account_id, j->user_ids, j->nuser_ids, "user_ids",
                                &j->fail)) < 0)
        return rc;
    /* Members who stay keep their row (and capacity override): remove the others, add the new. */
    struct store_rows rows;
    if ((rc = tx_query(tx, &rows, "SELECT user_id FROM inbox_members WHERE inbox_id = $1", "i",
                       j->inbox_id)) < 0)
        return rc;
    int64_t *gone = NULL;
    size_t ngone = 0;
    while ((rc = rows_next(&rows)) == 1) {
        int64_t uid = rows_i64(&rows, 0);
        bool stays = false;
        for (size_t i = 0; i < j->nuser_ids && !stays; i++)
            stays = j->user_ids[i] == uid;
        if (!stays) {
            gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
            gone[ngone++] = uid;
        }
    }
    rows_close(&rows);
    for (size_t i = 0; rc >= 0 && i < ngone; i++)
        rc = tx_exec(tx, "DELETE FROM inbox_members WHERE inbox_id = $1 AND user_id = $2", "ii",
                     j->inbox_id, gone[i]);
    free(gone);
    for (size_t i = 0; rc >= 0 && i < j->nuser_ids; i++)
        rc = tx_exec(tx,
                     "INSERT INTO inbox_members (account_id, inbox_id, user_id, created_at)"
                     " VALUES ($1, $2, $3, $4) ON CONFLICT (inbox_id, user_id) DO NOTHING",
                     "iiii", j->account_id, j->inbox_id, j->user_ids[i], now);
    if (rc < 0)
        return rc;
    json_decref(j->body);
    j->body = NULL;
    if ((rc = members_json(tx, j, &j->body)) < 0)
        return rc;
    json_t *data = json_pack("{s:I, s:O}", "inbox_id", (json_int_t)j->inbox_id, "user_ids",
                             json_object_get(j->body, "user_ids"));
    if ((rc = event_emit(tx, &j->events, j->account_id, "inbox.members_changed", j->inbox_id, 0, 0,
                         true, data)) < 0)
        return rc;
    return audit_add(tx, j->account_id, j->user_id, "inbox.members_changed", "inbox", j->inbox_id,
                     j->r->ip,
                     json_pack("{s:O}", "user_ids", json_object_get(j->body, "user_ids")));
}

static void h_set_members(struct http_req *r)
{
    struct inbox_job *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    int rc = app_parse_ids(r, body, "user_ids", 1000, &j->user_ids, &j->nuser_ids, &j->fail);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &j->fail);
        return;
    }
    app_store_write(r, set_members_fn, job_done, j);
}

/* PATCH .../members/{user_id} {"capacity": n|null}: the member's capacity in this inbox. */
static int member_update_fn(struct store_tx *tx, void *arg)
{
    struct inbox_job *j = arg;
    event_batch_reset(&j->events);
    json_t *inbox;
    int rc = load_inbox(tx, j, &inbox);
    if (rc < 0)
        return rc;
    json_decref(inbox);
    rc = tx_exec(tx,
                 "UPDATE inbox_members SET capacity = CASE WHEN $1 < 0 THEN NULL ELSE $1 END"
                 " WHERE inbox_id = $2 AND user_id = $3 AND account_id = $4",
                 "iiii", j->capacity, j->inbox_id, j->member_id, j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = members_json(tx, j, &j->body)) < 0)
        return rc;
    json_t *member = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(j->body, "data"), i,
                       m) if (json_integer_value(json_object_get(m, "id")) == j->member_id) member =
        json_incref(m);
    json_decref(j->body);
    j->body = member;
    json_t *data =
        json_pack("{s:I, s:I, s:O}", "inbox_id", (json_int_t)j->inbox_id, "user_id",
                  (json_int_t)j->member_id, "capacity", json_object_get(member, "capacity"));
    if ((rc = event_emit(tx, &j->events, j->account_id, "inbox.member_updated", j->inbox_id, 0, 0,
                         true, json_incref(data))) < 0) {
        json_decref(data);
        return rc;
    }
    return audit_add(tx, j->account_id, j->user_id, "inbox.member_updated", "inbox", j->inbox_id,
                     j->r->ip, data);
}

static void h_member_update(struct http_req *r)
{
    struct inbox_job *j = new_job(r, true);
    if (!j || app_id_param(r, "user_id", &j->member_id) < 0)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    bool own = false;
    int rc = json_object_size(body) == 1
                 ? json_field_int_nullable(body, "capacity", 0, 100, &j->capacity, &own, &f)
                 : 0;
    if (rc == 0)
        rc = json_fail(&f, "capacity",
                       "send {\"capacity\": n} (0..100) or null for the agent's own.");
    else if (rc == 1 && own)
        j->capacity = -1;
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &f);
        return;
    }
    app_store_write(r, member_update_fn, job_done, j);
}

void api_inboxes_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/inboxes", h_list, R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/inboxes", h_create, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/inboxes/{id}", h_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/inboxes/{id}", h_update,
               R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/inboxes/{id}", h_delete,
               R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/inboxes/{id}/members", h_get_members,
               R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/inboxes/{id}/members/{user_id}",
               h_member_update, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_PUT, "/api/v1/accounts/{aid}/inboxes/{id}/members", h_set_members,
               R_ACCOUNT | R_ADMIN);
}
