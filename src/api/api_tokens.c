/* api_tokens.c: long-lived tokens for integrations, one account each (admins). The token is shown
 * once at creation; only its SHA-256 is stored. A token acts as the admin who created it, in that
 * account only, and stops working when revoked, expired, or when that admin leaves the account. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "model/user.h"

#include <sodium.h>

struct token_job {
    struct http_req *r;
    int64_t account_id, user_id, token_id, limit, offset, expires_at;
    char *name;
    char token[65], hash[65];
    json_t *body;
};

static json_t *token_json(struct store_rows *rows)
{
    return json_pack("{s:I, s:s, s:I, s:o, s:o, s:o, s:o}", "id", (json_int_t)rows_i64(rows, 0),
                     "name", rows_text(rows, 1), "user_id", (json_int_t)rows_i64(rows, 2),
                     "created_at", json_time(rows_i64(rows, 3)), "expires_at",
                     json_time(rows_i64(rows, 4)), "last_used_at", json_time(rows_i64(rows, 5)),
                     "revoked_at", json_time(rows_i64(rows, 6)));
}

static void job_done(void *arg, int rc)
{
    struct token_job *j = arg;
    free(j->name);
    if (rc < 0) {
        json_decref(j->body);
        http_respond_error(j->r, rc, NULL, NULL);
    } else if (j->body) {
        http_respond_json(j->r, j->r->method == HTTP_POST ? 201 : 200, j->body);
    } else {
        http_respond(j->r, 204, NULL, NULL, 0);
    }
}

static int create_fn(struct store_tx *tx, void *arg)
{
    struct token_job *j = arg;
    int64_t now = clock_wall_ms(), id;
    int rc = tx_query_i64(
        tx, &id,
        "INSERT INTO api_tokens (account_id, user_id, name, token_hash, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        "iittin", j->account_id, j->user_id, j->name, j->hash, now, j->expires_at);
    if (rc < 0)
        return rc;
    json_t *audit = json_pack("{s:s}", "name", j->name);
    rc = audit_add(tx, j->account_id, j->user_id, "api_token.created", "api_token", id, j->r->ip,
                   audit);
    if (rc < 0)
        return rc;
    json_decref(j->body);
    j->body = json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}", "id", (json_int_t)id, "name", j->name,
                        "token", j->token, "user_id", (json_int_t)j->user_id, "created_at",
                        json_time(now), "expires_at", json_time(j->expires_at));
    return 0;
}

static void h_create(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct principal *p = req_principal(r);
    struct jfail f = {0};
    const char *name = NULL;
    int64_t days = 0;
    int rc = json_field_str(body, "name", true, 1, 100, &name, &f);
    if (rc >= 0)
        rc = user_name_check(name, "name", 100, &f);
    if (rc >= 0)
        rc = json_field_int(body, "expires_in_days", false, 1, 3650, &days, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    struct token_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = p->account_id;
    j->user_id = p->user_id;
    j->name = xstrdup(name);
    j->expires_at = days ? clock_wall_ms() + days * 86400000 : 0;
    json_decref(body);
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), j->token);
    auth_token_hash(j->token, strlen(j->token), j->hash);
    char *held = j->name; /* a refused job is answered 503 at once, which frees j */
    if (app_store_write(r, create_fn, job_done, j) < 0)
        free(held);
}

static int list_fn(struct store_tx *tx, void *arg)
{
    struct token_job *j = arg;
    int64_t total;
    int rc = tx_query_i64(tx, &total, "SELECT COUNT(*) FROM api_tokens WHERE account_id = $1", "i",
                          j->account_id);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(
        tx, &rows,
        "SELECT id, name, user_id, created_at, COALESCE(expires_at, 0), COALESCE(last_used_at, 0),"
        " COALESCE(revoked_at, 0) FROM api_tokens WHERE account_id = $1 ORDER BY id DESC LIMIT $2 "
        "OFFSET $3",
        "iii", j->account_id, j->limit, j->offset);
    if (rc < 0)
        return rc;
    return app_rows_page(&rows, token_json, total, j->limit, j->offset, &j->body);
}

static void h_list(struct http_req *r)
{
    struct token_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = req_principal(r)->account_id;
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    app_store_read(r, list_fn, job_done, j);
}

static int revoke_fn(struct store_tx *tx, void *arg)
{
    struct token_job *j = arg;
    int rc = tx_exec(tx,
                     "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND "
                     "revoked_at IS NULL",
                     "iii", clock_wall_ms(), j->token_id, j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        int64_t one;
        rc = tx_query_i64(tx, &one, "SELECT 1 FROM api_tokens WHERE id = $1 AND account_id = $2",
                          "ii", j->token_id, j->account_id);
        return rc < 0 ? rc : 0; /* already revoked: nothing to do */
    }
    return audit_add(tx, j->account_id, j->user_id, "api_token.revoked", "api_token", j->token_id,
                     j->r->ip, NULL);
}

static void revoke_done(void *arg, int rc)
{
    struct token_job *j = arg;
    if (rc >= 0) /* after the commit: sockets opened with it end now */
        ws_proto_end_session(0, j->token_id, "API token revoked");
    job_done(arg, rc);
}

static void h_revoke(struct http_req *r)
{
    struct token_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = req_principal(r)->account_id;
    j->user_id = req_principal(r)->user_id;
    if (app_id_param(r, "id", &j->token_id) < 0)
        return;
    app_store_write(r, revoke_fn, revoke_done, j);
}

void api_tokens_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/api_tokens", h_list, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/api_tokens", h_create, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/api_tokens/{id}", h_revoke,
               R_ACCOUNT | R_ADMIN);
}
