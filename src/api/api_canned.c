/* api_canned.c: canned responses, the saved replies agents insert with "/shortcut" in the composer.
 * Every member reads them; admins and supervisors write them. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "model/conversation.h"

enum { SHORT_CODE_MAX = 32, CANNED_CONTENT_MAX = 5000 };

struct canned_job {
    struct http_req *r;
    int64_t account_id, user_id, id, limit, offset;
    const char *short_code, *content, *q;
    json_t *body;
    int status;
    struct jfail fail;
};

#define CANNED_COLS "id, short_code, content, created_at, updated_at"

static json_t *canned_json(struct store_rows *rows)
{
    return json_pack("{s:I, s:s, s:s, s:o, s:o}", "id", (json_int_t)rows_i64(rows, 0), "short_code",
                     rows_text(rows, 1), "content", rows_text(rows, 2), "created_at",
                     json_time(rows_i64(rows, 3)), "updated_at", json_time(rows_i64(rows, 4)));
}

static struct canned_job *new_job(struct http_req *r, bool with_id)
{
    struct principal *p = req_principal(r);
    struct canned_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = p->account_id;
    j->user_id = p->user_id;
    if (with_id && app_id_param(r, "id", &j->id) < 0)
        return NULL;
    return j;
}

static void job_done(void *arg, int rc)
{
    struct canned_job *j = arg;
    if (rc == ERR_CONFLICT) {
        json_decref(j->body);
        http_respond_error(j->r, rc, "short_code",
                           "Another canned response already uses this short code.");
    } else {
        app_finish(j->r, rc, j->body, j->status, NULL, &j->fail);
    }
}

static int list_fn(struct store_tx *tx, void *arg)
{
    struct canned_job *j = arg;
    const char *q = j->q ? j->q : "";
#define CANNED_WHERE                                                                               \
    " FROM canned_responses WHERE account_id = $1 AND ($2 = '' OR substr(lower(short_code), 1,"    \
    " length($2)) = lower($2) OR instr(lower(content), lower($2)) > 0)"
    int64_t total;
    int rc = tx_query_i64(tx, &total, "SELECT COUNT(*)" CANNED_WHERE, "it", j->account_id, q);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(tx, &rows,
                  "SELECT " CANNED_COLS CANNED_WHERE " ORDER BY short_code LIMIT $3 OFFSET $4",
                  "itii", j->account_id, q, j->limit, j->offset);
    if (rc < 0)
        return rc;
    return app_rows_page(&rows, canned_json, total, j->limit, j->offset, &j->body);
}

static void h_list(struct http_req *r)
{
    struct canned_job *j = new_job(r, false);
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    const char *q = http_query(r, "q");
    if (q && strlen(q) > 100) {
        http_respond_error(r, ERR_VALIDATION, "q", "q must be at most 100 characters.");
        return;
    }
    j->q = q;
    app_store_read(r, list_fn, job_done, j);
}

static int load(struct store_tx *tx, struct canned_job *j)
{
    struct store_rows rows;
    int rc = tx_query(
        tx, &rows, "SELECT " CANNED_COLS " FROM canned_responses WHERE id = $1 AND account_id = $2",
        "ii", j->id, j->account_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        j->body = canned_json(&rows);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

static int get_fn(struct store_tx *tx, void *arg)
{
    return load(tx, arg);
}

static void h_get(struct http_req *r)
{
    struct canned_job *j = new_job(r, true);
    if (j)
        app_store_read(r, get_fn, job_done, j);
}

/* parse: short_code and content (both required on create). */
static int parse(struct http_req *r, struct canned_job *j, bool create)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return -1;
    struct jfail *f = &j->fail;
    /* the same alphabet as labels: letters, digits, - and _, nothing invisible */
    int rc = json_field_str(body, "short_code", create, 1, SHORT_CODE_MAX, &j->short_code, f);
    if (rc == 1)
        rc = label_check(j->short_code, SHORT_CODE_MAX, "short_code", "short_code", f);
    if (rc >= 0 &&
        (rc = json_field_str(body, "content", create, 1, CANNED_CONTENT_MAX, &j->content, f)) ==
            1 &&
        text_blank(j->content))
        rc = json_fail(f, "content", "content must not be blank.");
    if (rc >= 0) {
        if (j->short_code)
            j->short_code = arena_strndup(&r->arena, j->short_code, strlen(j->short_code));
        if (j->content)
            j->content = arena_strndup(&r->arena, j->content, strlen(j->content));
    }
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, f);
        return -1;
    }
    return 0;
}

static int create_fn(struct store_tx *tx, void *arg)
{
    struct canned_job *j = arg;
    int64_t now = clock_wall_ms();
    int rc = tx_query_i64(tx, &j->id,
                          "INSERT INTO canned_responses (account_id, short_code, content,"
                          " created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
                          "itti", j->account_id, j->short_code, j->content, now);
    if (rc < 0)
        return rc;
    if ((rc = load(tx, j)) < 0)
        return rc;
    return audit_add(tx, j->account_id, j->user_id, "canned_response.created", "canned_response",
                     j->id, j->r->ip, json_pack("{s:s}", "short_code", j->short_code));
}

static void h_create(struct http_req *r)
{
    struct canned_job *j = new_job(r, false);
    if (parse(r, j, true) < 0)
        return;
    j->status = 201;
    app_store_write(r, create_fn, job_done, j);
}

static int update_fn(struct store_tx *tx, void *arg)
{
    struct canned_job *j = arg;
    int rc = tx_exec(tx,
                     "UPDATE canned_responses SET short_code = COALESCE($1, short_code),"
                     " content = COALESCE($2, content), updated_at = $3"
                     " WHERE id = $4 AND account_id = $5",
                     "ttiii", j->short_code, j->content, clock_wall_ms(), j->id, j->account_id);
    if (rc < 0)
        return rc;
    return rc == 0 ? ERR_NOTFOUND : load(tx, j);
}

static void h_update(struct http_req *r)
{
    struct canned_job *j = new_job(r, true);
    if (j && parse(r, j, false) == 0)
        app_store_write(r, update_fn, job_done, j);
}

static int delete_fn(struct store_tx *tx, void *arg)
{
    struct canned_job *j = arg;
    int rc = tx_exec(tx, "DELETE FROM canned_responses WHERE id = $1 AND account_id = $2", "ii",
                     j->id, j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    return audit_add(tx, j->account_id, j->user_id, "canned_response.deleted", "canned_response",
                     j->id, j->r->ip, NULL);
}

static void h_delete(struct http_req *r)
{
    struct canned_job *j = new_job(r, true);
    if (j)
        app_store_write(r, delete_fn, job_done, j);
}

void api_canned_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/canned_responses", h_list, R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/canned_responses", h_create,
               R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/canned_responses/{id}", h_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/canned_responses/{id}", h_update,
               R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/canned_responses/{id}", h_delete,
               R_ACCOUNT | R_SUPERVISOR);
}
