/* api_teams.c: teams (groups of agents a conversation can be assigned or transferred to) and their
 * members. Every member of the account reads them; admins change them. Changes are events
 * (team.created, team.updated, team.deleted, team.members_changed) and audited. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "conv/conv.h"
#include "event/event.h"
#include "model/user.h"

enum { TEAM_NAME_MAX = 60, TEAM_MEMBERS_MAX = 500, TEAMS_MAX = 500 };

struct team_job {
    struct http_req *r;
    int64_t account_id, user_id, id, limit, offset;
    const char *name;
    int64_t *user_ids;
    size_t nuser_ids;
    json_t *body;
    int status;
    struct event_batch events;
    struct jfail fail;
};

static struct team_job *new_job(struct http_req *r, bool with_id)
{
    struct principal *p = req_principal(r);
    struct team_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = p->account_id;
    j->user_id = p->user_id;
    if (with_id && app_id_param(r, "id", &j->id) < 0)
        return NULL;
    return j;
}

static void job_done(void *arg, int rc)
{
    struct team_job *j = arg;
    if (rc == ERR_CONFLICT) {
        event_batch_reset(&j->events);
        json_decref(j->body);
        http_respond_error(j->r, rc, "name", "Another team already has this name.");
        return;
    }
    app_finish(j->r, rc, j->body, j->status, &j->events, &j->fail);
}

/* load: {"id","name","member_ids":[...],"created_at","updated_at"}. */
static int load(struct store_tx *tx, int64_t account_id, int64_t id, json_t **out)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT id, name, created_at, updated_at FROM teams WHERE id = $1"
                      " AND account_id = $2 AND deleted_at IS NULL",
                      "ii", id, account_id);
    if (rc < 0)
        return rc;
    json_t *t = NULL;
    if ((rc = rows_next(&rows)) == 1)
        t = json_pack("{s:I, s:s, s:[], s:o, s:o}", "id", (json_int_t)rows_i64(&rows, 0), "name",
                      rows_text(&rows, 1), "member_ids", "created_at",
                      json_time(rows_i64(&rows, 2)), "updated_at", json_time(rows_i64(&rows, 3)));
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    rc = tx_query(tx, &rows, "SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id",
                  "i", id);
    json_t *ids = json_object_get(t, "member_ids");
    while (rc >= 0 && (rc = rows_next(&rows)) == 1)
        json_array_append_new(ids, json_integer(rows_i64(&rows, 0)));
    if (rc >= 0)
        rows_close(&rows);
    if (rc < 0) {
        json_decref(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int list_fn(struct store_tx *tx, void *arg)
{
    struct team_job *j = arg;
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows,
                 "SELECT id FROM teams WHERE account_id = $1 AND deleted_at IS NULL ORDER BY name",
                 "i", j->account_id);
    if (rc < 0)
        return rc;
    int64_t ids[TEAMS_MAX];
    size_t n = 0;
    while ((rc = rows_next(&rows)) == 1 && n < TEAMS_MAX)
        ids[n++] = rows_i64(&rows, 0);
    rows_close(&rows);
    if (rc < 0)
        return rc;
    json_t *data = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *t;
        if ((rc = load(tx, j->account_id, ids[i], &t)) < 0) {
            json_decref(data);
            return rc;
        }
        json_array_append_new(data, t);
    }
    j->body = json_pack("{s:o}", "data", data);
    return 0;
}

static void h_list(struct http_req *r)
{
    app_store_read(r, list_fn, job_done, new_job(r, false));
}

static int get_fn(struct store_tx *tx, void *arg)
{
    struct team_job *j = arg;
    return load(tx, j->account_id, j->id, &j->body);
}

static void h_get(struct http_req *r)
{
    struct team_job *j = new_job(r, true);
    if (j)
        app_store_read(r, get_fn, job_done, j);
}

/* changed: reload, emit, audit. */
static int changed(struct store_tx *tx, struct team_job *j, const char *what)
{
    json_decref(j->body);
    j->body = NULL;
    int rc = load(tx, j->account_id, j->id, &j->body);
    if (rc == 0)
        rc = event_emit(tx, &j->events, j->account_id, what, 0, 0, 0, true,
                        json_pack("{s:O}", "team", j->body));
    if (rc == 0)
        rc = audit_add(tx, j->account_id, j->user_id, what, "team", j->id, j->r->ip,
                       json_pack("{s:O}", "name", json_object_get(j->body, "name")));
    return rc;
}

static int parse_name(struct http_req *r, struct team_job *j)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return -1;
    /* a team's name is how people tell teams apart (unique in the account): nothing invisible */
    int rc = json_field_str(body, "name", true, 1, TEAM_NAME_MAX, &j->name, &j->fail);
    if (rc >= 0)
        rc = json_check_chars(j->name, "name", NULL, UTF8_IDENT, &j->fail);
    if (rc >= 0)
        rc = user_name_check(j->name, "name", TEAM_NAME_MAX, &j->fail);
    if (rc >= 0)
        j->name = arena_strndup(&r->arena, j->name, strlen(j->name));
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &j->fail);
        return -1;
    }
    return 0;
}

/* name_taken: ERR_CONFLICT if another live team of the account has this name. */
static int name_taken(struct store_tx *tx, struct team_job *j)
{
    int64_t one;
    int rc = tx_query_i64(tx, &one,
                          "SELECT 1 FROM teams WHERE account_id = $1 AND name = $2"
                          " AND deleted_at IS NULL AND id <> $3",
                          "iti", j->account_id, j->name, j->id);
    return rc == 0 ? ERR_CONFLICT : rc == ERR_NOTFOUND ? 0 : rc;
}

static int create_fn(struct store_tx *tx, void *arg)
{
    struct team_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    int rc = name_taken(tx, j);
    if (rc < 0)
        return rc;
    rc = tx_query_i64(tx, &j->id,
                      "INSERT INTO teams (account_id, name, created_at, updated_at)"
                      " VALUES ($1, $2, $3, $3) RETURNING id",
                      "iti", j->account_id, j->name, now);
    return rc < 0 ? rc : changed(tx, j, "team.created");
}

static void h_create(struct http_req *r)
{
    struct team_job *j = new_job(r, false);
    if (parse_name(r, j) < 0)
        return;
    j->status = 201;
    app_store_write(r, create_fn, job_done, j);
}

static int update_fn(struct store_tx *tx, void *arg)
{
    struct team_job *j = arg;
    event_batch_reset(&j->events);
    int rc = name_taken(tx, j);
    if (rc < 0)
        return rc;
    rc = tx_exec(tx,
                 "UPDATE teams SET name = $1, updated_at = $2 WHERE id = $3 AND account_id = $4"
                 " AND deleted_at IS NULL",
                 "tiii", j->name, clock_wall_ms(), j->id, j->account_id);
    if (rc < 0)
        return rc;
    return rc == 0 ? ERR_NOTFOUND : changed(tx, j, "team.updated");
}

static void h_update(struct http_req *r)
{
    struct team_job *j = new_job(r, true);
    if (j && parse_name(r, j) == 0)
        app_store_write(r, update_fn, job_done, j);
}

static int delete_fn(struct store_tx *tx, void *arg)
{
    struct team_job *j = arg;
    event_batch_reset(&j->events);
    json_t *t;
    int rc = load(tx, j->account_id, j->id, &t);
    if (rc < 0)
        return rc;
    int64_t now = clock_wall_ms();
    rc = tx_exec(tx, "UPDATE teams SET deleted_at = $1 WHERE id = $2", "ii", now, j->id);
    if (rc >= 0)
        rc = tx_exec(tx, "DELETE FROM team_members WHERE team_id = $1", "i", j->id);
    /* Conversations of a deleted team belong to no team. */
    if (rc >= 0)
        rc = conv_forget(tx, j->account_id, CONV_REF_TEAM, j->id);
    if (rc >= 0)
        rc = event_emit(tx, &j->events, j->account_id, "team.deleted", 0, 0, 0, true,
                        json_pack("{s:O}", "team", t));
    if (rc >= 0)
        rc = audit_add(tx, j->account_id, j->user_id, "team.deleted", "team", j->id, j->r->ip,
                       json_pack("{s:O}", "name", json_object_get(t, "name")));
    json_decref(t);
    return rc < 0 ? rc : 0;
}

static void h_delete(struct http_req *r)
{
    struct team_job *j = new_job(r, true);
    if (j)
        app_store_write(r, delete_fn, job_done, j);
}

static int members_fn(struct store_tx *tx, void *arg)
{
    struct team_job *j = arg;
    event_batch_reset(&j->events);
    json_t *t;
    int rc = load(tx, j->account_id, j->id, &t);
    if (rc < 0)
        return rc;
    json_decref(t);
    for (size_t i = 0; i < j->nuser_ids; i++) {
        int64_t ok;
        rc = tx_query_i64(tx, &ok,
                          "SELECT 1 FROM account_users WHERE account_id = $1 AND user_id = $2",
                          "ii", j->account_id, j->user_ids[i]);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, "user_ids",
                             "user %" PRId64 " is not a member of this account.", j->user_ids[i]);
        if (rc < 0)
            return rc;
    }
    if ((rc = tx_exec(tx, "DELETE FROM team_members WHERE team_id = $1", "i", j->id)) < 0)
        return rc;
    int64_t now = clock_wall_ms();
    for (size_t i = 0; i < j->nuser_ids; i++)
        if ((rc = tx_exec(tx,
                          "INSERT INTO team_members (account_id, team_id, user_id, created_at)"
                          " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                          "iiii", j->account_id, j->id, j->user_ids[i], now)) < 0)
            return rc;
    return changed(tx, j, "team.members_changed");
}

static void h_members(struct http_req *r)
{
    struct team_job *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    int rc =
        app_parse_ids(r, body, "user_ids", TEAM_MEMBERS_MAX, &j->user_ids, &j->nuser_ids, &j->fail);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &j->fail);
        return;
    }
    app_store_write(r, members_fn, job_done, j);
}

void api_teams_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/teams", h_list, R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/teams", h_create, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/teams/{id}", h_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/teams/{id}", h_update, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/teams/{id}", h_delete, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_PUT, "/api/v1/accounts/{aid}/teams/{id}/members", h_members,
               R_ACCOUNT | R_ADMIN);
}
