/* api_users.c: an account's users (list, create) and its audit log. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "api/app.h"
#include "event/event.h"
#include "model/user.h"

#include <sodium.h>

/* ---- list ---- */

struct list_job {
    struct http_req *r;
    int64_t account_id, limit, offset;
    json_t *body;
};

static json_t *user_row_json(struct store_rows *rows)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)rows_i64(rows, 0), "email",
                     rows_text(rows, 1), "name", rows_text(rows, 2), "role", rows_text(rows, 3),
                     "created_at", json_time(rows_i64(rows, 4)));
}

static int list_users_fn(struct store_tx *tx, void *arg)
{
    struct list_job *j = arg;
    int64_t total;
    int rc = tx_query_i64(tx, &total, "SELECT COUNT(*) FROM account_users WHERE account_id = $1",
                          "i", j->account_id);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(tx, &rows,
                  "SELECT u.id, u.email, u.name, au.role, au.created_at FROM account_users au"
                  " JOIN users u ON u.id = au.user_id WHERE au.account_id = $1"
                  " ORDER BY u.id LIMIT $2 OFFSET $3",
                  "iii", j->account_id, j->limit, j->offset);
    if (rc < 0)
        return rc;
    return app_rows_page(&rows, user_row_json, total, j->limit, j->offset, &j->body);
}

static void json_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    if (rc < 0) {
        json_decref(j->body);
        http_respond_error(j->r, rc, NULL, NULL);
        return;
    }
    http_respond_json(j->r, 200, j->body);
}

static void h_list_users(struct http_req *r)
{
    struct list_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = req_principal(r)->account_id;
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    app_store_read(r, list_users_fn, json_job_done, j);
}

/* ---- create ---- */

struct create_job {
    struct http_req *r;
    uv_work_t work;
    int64_t account_id, actor_id;
    char email[USER_EMAIL_MAX + 1];
    char *name, *password;
    enum role role;
    char hash[crypto_pwhash_STRBYTES];
    int hash_rc;
    json_t *body;
};

static void create_free(struct create_job *j)
{
    if (j->password) {
        sodium_memzero(j->password, strlen(j->password));
        free(j->password);
    }
    free(j->name);
}

static int create_user_fn(struct store_tx *tx, void *arg)
{
    struct create_job *j = arg;
    int64_t now = clock_wall_ms(), uid;
    int rc = tx_query_i64(tx, &uid,
                          "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, "
                          "$2, $3, $4) RETURNING id",
                          "ttti", j->email, j->name, j->hash, now);
    if (rc == ERR_CONFLICT)
        return ERR_EMAIL_TAKEN;
    if (rc < 0)
        return rc;
    rc = tx_exec(
        tx,
        "INSERT INTO account_users (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        "iiti", j->account_id, uid, role_name(j->role), now);
    if (rc < 0)
        return rc;
    json_t *user =
        json_pack("{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)uid, "email", j->email, "name",
                  j->name, "role", role_name(j->role), "created_at", json_time(now));
    json_t *audit = json_pack("{s:s, s:s}", "email", j->email, "role", role_name(j->role));
    rc = audit_add(tx, j->account_id, j->actor_id, "user.created", "user", uid, j->r->ip, audit);
    if (rc < 0) {
        json_decref(user);
        return rc;
    }
    json_decref(j->body);
    j->body = user;
    return 0;
}

static void create_done(void *arg, int rc)
{
    struct create_job *j = arg;
    struct http_req *r = j->r;
    create_free(j);
    if (rc < 0) {
        json_decref(j->body);
        http_respond_error(r, rc, rc == ERR_EMAIL_TAKEN ? "email" : NULL, NULL);
        return;
    }
    log_info("users", "req=%" PRIu64 " account=%" PRId64 " created user email=%s", r->id,
             j->account_id, j->email);
    http_respond_json(r, 201, j->body);
}

static void hash_work(uv_work_t *w)
{
    struct create_job *j = containerof(w, struct create_job, work);
    j->hash_rc =
        crypto_pwhash_str(j->hash, j->password, strlen(j->password),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static void hash_done(uv_work_t *w, int status)
{
    struct create_job *j = containerof(w, struct create_job, work);
    UNUSED(status);
    if (j->hash_rc != 0) {
        create_free(j);
        http_respond_error(j->r, ERR_INTERNAL, NULL, "Could not hash the password; try again.");
        return;
    }
    if (app_store_write(j->r, create_user_fn, create_done, j) < 0)
        create_free(j);
}

static void h_create_user(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct principal *p = req_principal(r);
    struct create_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = p->account_id;
    j->actor_id = p->user_id;
    struct jfail f = {0};
    const char *email = NULL, *name = NULL, *password = NULL;
    static const char *const roles[] = {"agent", "supervisor", "admin", NULL};
    int role = 0;
    int rc = json_get_str(body, "email", true, 1, USER_EMAIL_MAX, &email, &f);
    if (rc == 0 && !user_email_normalize(email, j->email))
        rc = json_fail(&f, "email", "email must be an e-mail address like name@example.com.");
    if (rc == 0)
        rc = json_get_str(body, "name", true, 1, USER_NAME_MAX, &name, &f);
    if (rc == 0 && !user_name_valid(name))
        rc = json_fail(&f, "name", "name must be 1 to %d characters without control characters.",
                       USER_NAME_MAX);
    if (rc == 0)
        rc = json_get_str(body, "password", true, USER_PASSWORD_MIN, USER_PASSWORD_MAX, &password,
                          &f);
    if (rc == 0)
        rc = json_get_enum(body, "role", true, roles, &role, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    struct span n = span_trim(span_of(name));
    j->name = xstrndup(n.p, n.len);
    j->password = xstrdup(password);
    j->role = (enum role)role;
    json_decref(body);
    if (uv_queue_work(the_app->loop, &j->work, hash_work, hash_done) < 0) {
        create_free(j);
        http_respond_error(r, ERR_INTERNAL, NULL, NULL);
    }
}

/* ---- audit log ---- */

static json_t *nullable_int(struct store_rows *rows, int col)
{
    return rows_null(rows, col) ? json_null() : json_integer(rows_i64(rows, col));
}

static json_t *nullable_str(struct store_rows *rows, int col)
{
    return rows_null(rows, col) ? json_null() : json_string(rows_text(rows, col));
}

static json_t *audit_row_json(struct store_rows *rows)
{
    json_t *d = rows_null(rows, 6) ? NULL : json_loads(rows_text(rows, 6), 0, NULL);
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)rows_i64(rows, 0), "action", rows_text(rows, 1), "actor_id",
                     nullable_int(rows, 2), "target_type", nullable_str(rows, 3), "target_id",
                     nullable_int(rows, 4), "ip", nullable_str(rows, 5), "data",
                     d ? d : json_null(), "created_at", json_time(rows_i64(rows, 7)));
}

static int list_audit_fn(struct store_tx *tx, void *arg)
{
    struct list_job *j = arg;
    int64_t total;
    int rc = tx_query_i64(tx, &total, "SELECT COUNT(*) FROM audit_log WHERE account_id = $1", "i",
                          j->account_id);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(
        tx, &rows,
        "SELECT id, action, actor_id, target_type, target_id, ip, data, created_at FROM audit_log"
        " WHERE account_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
        "iii", j->account_id, j->limit, j->offset);
    if (rc < 0)
        return rc;
    return app_rows_page(&rows, audit_row_json, total, j->limit, j->offset, &j->body);
}

static void h_audit(struct http_req *r)
{
    struct list_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = req_principal(r)->account_id;
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    app_store_read(r, list_audit_fn, json_job_done, j);
}

/* ---- PUT /api/v1/me/availability ---- */

struct avail_job {
    struct http_req *r;
    int64_t user_id;
    const char *status;
    int64_t *accounts;
    int naccounts;
    struct event_batch events;
};

static int avail_fn(struct store_tx *tx, void *arg)
{
    struct avail_job *j = arg;
    event_batch_reset(&j->events);
    int rc = tx_exec(tx, "UPDATE users SET availability = $1 WHERE id = $2", "ti", j->status,
                     j->user_id);
    /* One event per account: each account's agents and presence follow it. */
    for (int i = 0; rc >= 0 && i < j->naccounts; i++)
        rc = event_emit(
            tx, &j->events, j->accounts[i], "user.availability_changed", 0, 0, 0, true,
            json_pack("{s:I, s:s}", "user_id", (json_int_t)j->user_id, "status", j->status));
    return rc < 0 ? rc : 0;
}

static void avail_done(void *arg, int rc)
{
    struct avail_job *j = arg;
    if (rc < 0) {
        event_batch_reset(&j->events);
        http_respond_error(j->r, rc, NULL, NULL);
        return;
    }
    event_publish(&j->events);
    http_respond_json(j->r, 200, json_pack("{s:s}", "status", j->status));
}

static void h_availability(struct http_req *r)
{
    static const char *const names[] = {"online", "away", "offline", NULL};
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    int st;
    int rc = json_get_enum(body, "status", true, names, &st, &f);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &f);
        return;
    }
    struct principal *p = req_principal(r);
    struct avail_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->user_id = p->user_id;
    j->status = names[st];
    j->naccounts = p->nmemberships;
    j->accounts = arena_alloc(&r->arena, sizeof(int64_t) * (size_t)(p->nmemberships + 1));
    for (int i = 0; i < p->nmemberships; i++)
        j->accounts[i] = p->memberships[i].account_id;
    app_store_write(r, avail_fn, avail_done, j);
}

void api_users_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/users", h_list_users, R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/users", h_create_user, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/audit_log", h_audit, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_PUT, "/api/v1/me/availability", h_availability, R_AUTH);
}
