/* api_users.c: an account's users (list, create) and its audit log. */
#include "base/sys.h"
#include "base/clock.h"
#include "base/log.h"
#include "api/app.h"
#include "event/event.h"
#include "event/on_route.h"
#include "model/password.h"
#include "model/user.h"

#include <sodium.h>

/* ---- list ---- */

struct list_job {
    struct http_req *r;
    int64_t account_id, limit, offset;
    bool users; /* add presence to each user */
    json_t *body;
};

/* The name is the account's own (account_users.name). A person invited from another account
 * shows, until they accept, as a new user would: the name the admin gave and the default
 * availability (nothing of theirs from elsewhere). */
#define USER_COLS                                                                                  \
    "u.id, u.email, COALESCE(au.name, u.name), au.role, au.created_at, au.capacity, au.languages," \
    " au.region, CASE WHEN au.pending = 1 THEN 'online' ELSE u.availability END"
#define USER_FROM " FROM account_users au JOIN users u ON u.id = au.user_id"

static json_t *user_row_json(struct store_rows *rows)
{
    json_t *langs = json_loads(rows_text(rows, 6), 0, NULL);
    if (!json_is_array(langs)) { /* a stored value of another shape reads as none */
        json_decref(langs);
        langs = json_array();
    }
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:[]}", "id", (json_int_t)rows_i64(rows, 0),
        "email", rows_text(rows, 1), "name", rows_text(rows, 2), "role", rows_text(rows, 3),
        "created_at", json_time(rows_i64(rows, 4)), "capacity",
        rows_null(rows, 5) ? json_null() : json_integer(rows_i64(rows, 5)), "languages", langs,
        "region", rows_text(rows, 7), "availability", rows_text(rows, 8), "skills");
}

/* add_skills: each user's skills ({"name","level"}, by name), for the users in data. */
static int add_skills(struct store_tx *tx, int64_t account_id, int64_t only_user, json_t *data)
{
    /* the users' id range (a page is ordered by id), not every skill of the account */
    int64_t lo = only_user, hi = only_user;
    size_t i;
    json_t *u;
    json_array_foreach(data, i, u)
    {
        int64_t id = json_integer_value(json_object_get(u, "id"));
        lo = !lo || id < lo ? id : lo;
        hi = id > hi ? id : hi;
    }
    if (!hi)
        return 0;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT us.user_id, s.name, us.level FROM user_skills us"
                      " JOIN skills s ON s.id = us.skill_id WHERE us.account_id = $1"
                      " AND us.user_id BETWEEN $2 AND $3 ORDER BY s.name",
                      "iii", account_id, lo, hi);
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1) {
        json_array_foreach(data, i, u) if (json_integer_value(json_object_get(u, "id")) ==
                                           rows_i64(&rows, 0))
            json_array_append_new(json_object_get(u, "skills"),
                                  json_pack("{s:s, s:I}", "name", rows_text(&rows, 1), "level",
                                            (json_int_t)rows_i64(&rows, 2)));
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

/* user_load: one user of the account, with skills. */
static int user_load(struct store_tx *tx, int64_t account_id, int64_t user_id, json_t **out)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT " USER_COLS USER_FROM " WHERE au.account_id = $1 AND au.user_id = $2",
                      "ii", account_id, user_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    json_t *u = rc == 1 ? user_row_json(&rows) : NULL;
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    json_t *arr = json_pack("[o]", u);
    rc = add_skills(tx, account_id, user_id, arr);
    *out = json_incref(u);
    json_decref(arr);
    return rc;
}

/* profile_save: the routing profile fields given (capacity, skills, languages, region). */
static int profile_save(struct store_tx *tx, int64_t account_id, int64_t user_id,
                        const struct user_profile *p)
{
    int rc = 0;
    if (p->has_capacity)
        rc = tx_exec(tx,
                     "UPDATE account_users SET capacity = CASE WHEN $1 < 0 THEN NULL ELSE $1 END"
                     " WHERE account_id = $2 AND user_id = $3",
                     "iii", (int64_t)p->capacity, account_id, user_id);
    if (rc >= 0 && p->has_languages) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->nlanguages; i++)
            json_array_append_new(a, json_string(p->languages[i]));
        char *text = json_dump_compact(a, NULL);
        json_decref(a);
        rc = tx_exec(tx,
                     "UPDATE account_users SET languages = $1 WHERE account_id = $2"
                     " AND user_id = $3",
                     "tii", text, account_id, user_id);
        free(text);
    }
    if (rc >= 0 && p->has_region)
        rc = tx_exec(tx,
                     "UPDATE account_users SET region = $1 WHERE account_id = $2"
                     " AND user_id = $3",
                     "tii", p->region, account_id, user_id);
    if (rc >= 0 && p->has_skills) {
        rc = tx_exec(tx, "DELETE FROM user_skills WHERE account_id = $1 AND user_id = $2", "ii",
                     account_id, user_id);
        for (size_t i = 0; rc >= 0 && i < p->nskills; i++) {
            struct span n = span_trim(span_of(p->skill_names[i]));
            char *name = xstrndup(n.p, n.len);
            rc = tx_exec(tx,
                         "INSERT INTO skills (account_id, name, created_at) VALUES ($1, $2, $3)"
                         " ON CONFLICT (account_id, name) DO NOTHING",
                         "iti", account_id, name, clock_wall_ms());
            if (rc >= 0)
                rc = tx_exec(tx,
                             "INSERT INTO user_skills (account_id, user_id, skill_id, level)"
                             " SELECT $1, $2, id, $3 FROM skills WHERE account_id = $1"
                             " AND name = $4 ON CONFLICT (user_id, skill_id) DO UPDATE SET"
                             " level = excluded.level",
                             "iiit", account_id, user_id, (int64_t)p->skill_levels[i], name);
            free(name);
        }
    }
    return rc < 0 ? rc : 0;
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
                  "SELECT " USER_COLS USER_FROM " WHERE au.account_id = $1"
                  " ORDER BY u.id LIMIT $2 OFFSET $3",
                  "iii", j->account_id, j->limit, j->offset);
    if (rc < 0)
        return rc;
    if ((rc = app_rows_page(&rows, user_row_json, total, j->limit, j->offset, &j->body)) < 0)
        return rc;
    return add_skills(tx, j->account_id, 0, json_object_get(j->body, "data"));
}

/* with_presence: what the router knows now (loop thread): online, connected, load. */
static void with_presence(int64_t account_id, json_t *user)
{
    on_route_agent_json(account_id, json_integer_value(json_object_get(user, "id")), user);
}

static void json_job_done(void *arg, int rc)
{
    struct list_job *j = arg;
    if (rc < 0) {
        json_decref(j->body);
        http_respond_error(j->r, rc, NULL, NULL);
        return;
    }
    size_t i;
    json_t *u;
    json_t *data = json_object_get(j->body, "data");
    if (j->users)
        json_array_foreach(data, i, u) with_presence(j->account_id, u);
    http_respond_json(j->r, 200, j->body);
}

static void h_list_users(struct http_req *r)
{
    struct list_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->users = true;
    j->account_id = req_principal(r)->account_id;
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    app_store_read(r, list_users_fn, json_job_done, j);
}

/* ---- update: PATCH /users/{id} ---- */

struct update_job {
    struct http_req *r;
    int64_t account_id, actor_id, user_id;
    json_t *input; /* the body: the profile's strings point into it */
    struct user_profile profile;
    const char *name;
    int role; /* -1: unchanged */
    json_t *body;
    struct event_batch events;
    struct jfail fail;
};

static int update_user_fn(struct store_tx *tx, void *arg)
{
    struct update_job *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    json_t *old;
    int rc = user_load(tx, j->account_id, j->user_id, &old);
    if (rc < 0)
        return rc;
    const char *old_role = json_string_value(json_object_get(old, "role"));
    if (j->role >= 0 && strcmp(old_role, "admin") == 0 && j->role != ROLE_ADMIN) {
        int64_t admins;
        rc = tx_query_i64(tx, &admins,
                          "SELECT COUNT(*) FROM account_users WHERE account_id = $1"
                          " AND role = 'admin'",
                          "i", j->account_id);
        if (rc >= 0 && admins <= 1)
            rc = json_fail(&j->fail, "role",
                           "this is the account's only admin; make someone else admin first.");
    }
    json_decref(old);
    if (rc < 0)
        return rc;
    /* The account's name for them: other accounts they belong to keep theirs. */
    if (j->name)
        rc =
            tx_exec(tx, "UPDATE account_users SET name = $1 WHERE account_id = $2 AND user_id = $3",
                    "tii", j->name, j->account_id, j->user_id);
    if (rc >= 0 && j->role >= 0)
        rc =
            tx_exec(tx, "UPDATE account_users SET role = $1 WHERE account_id = $2 AND user_id = $3",
                    "tii", role_name((enum role)j->role), j->account_id, j->user_id);
    if (rc >= 0)
        rc = profile_save(tx, j->account_id, j->user_id, &j->profile);
    if (rc < 0 || (rc = user_load(tx, j->account_id, j->user_id, &j->body)) < 0)
        return rc;
    rc = event_emit(tx, &j->events, j->account_id, "user.updated", 0, 0, 0, true,
                    json_pack("{s:O}", "user", j->body));
    if (rc >= 0)
        rc = audit_add(tx, j->account_id, j->actor_id, "user.updated", "user", j->user_id, j->r->ip,
                       json_deep_copy(j->input));
    return rc < 0 ? rc : 0;
}

static void update_user_done(void *arg, int rc)
{
    struct update_job *j = arg;
    json_decref(j->input);
    if (rc >= 0)
        with_presence(j->account_id, j->body);
    /* A socket's role is fixed when it opens: a new role reconnects the user's sockets, so that
     * what they are sent follows the role at once (the workspace reconnects by itself). */
    if (rc >= 0 && j->role >= 0)
        ws_proto_end_user(j->account_id, j->user_id, 4003, "your role in this account changed");
    app_finish(j->r, rc, j->body, 200, &j->events, &j->fail);
}

static void h_update_user(struct http_req *r)
{
    struct update_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = req_principal(r)->account_id;
    j->actor_id = req_principal(r)->user_id;
    j->role = -1;
    if (app_id_param(r, "id", &j->user_id) < 0)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    static const char *const roles[] = {"agent", "supervisor", "admin", NULL};
    static const char *const known[] = {"name",   "role",      "capacity",
                                        "skills", "languages", "region"};
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_SIZE(known); i++)
            ok = ok || strcmp(key, known[i]) == 0;
        if (!ok && rc == 0)
            rc = json_fail(&f, key,
                           "unknown field; you can change name, role, capacity, skills,"
                           " languages and region.");
    }
    if (rc >= 0)
        rc = json_field_str(body, "name", false, 1, USER_NAME_MAX, &j->name, &f);
    if (rc >= 0 && j->name)
        rc = user_name_check(j->name, "name", USER_NAME_MAX, &f);
    if (rc >= 0 && json_object_get(body, "role"))
        rc = json_field_enum(body, "role", true, roles, &j->role, &f);
    if (rc >= 0)
        rc = user_profile_parse(body, &j->profile, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    j->input = body; /* held until done: the parsed strings point into it */
    if (app_store_write(r, update_user_fn, update_user_done, j) < 0)
        json_decref(body);
}

/* ---- create ---- */

struct create_job {
    struct http_req *r;
    int64_t account_id, actor_id;
    char email[USER_EMAIL_MAX + 1];
    char *name, *password;
    enum role role;
    json_t *input; /* the body, held for the profile's strings */
    struct user_profile profile;
    struct event_batch events;
    char hash[crypto_pwhash_STRBYTES];
    int hash_rc;
    bool invited; /* the e-mail had a login already: a pending membership was made */
    json_t *body;
};

static void create_free(struct create_job *j)
{
    if (j->password) {
        sodium_memzero(j->password, strlen(j->password));
        free(j->password);
    }
    free(j->name);
    json_decref(j->input);
    j->input = NULL;
}

/* create_user_fn: a new login, or, when the e-mail already has one outside this account, an
 * invitation to it (a pending membership: the person sees it in GET /me and accepts or declines;
 * the password the admin chose is not theirs and is dropped). The answer and everything the
 * account sees are the same either way, so an admin cannot learn which e-mails are in use
 * elsewhere. */
static int create_user_fn(struct store_tx *tx, void *arg)
{
    struct create_job *j = arg;
    int64_t now = clock_wall_ms(), uid, pending = 0;
    j->invited = false; /* a failed group commit runs the job again */
    int rc = tx_query_i64(tx, &uid, "SELECT id FROM users WHERE email = $1", "t", j->email);
    if (rc == 0) {
        int64_t one;
        rc = tx_query_i64(tx, &one,
                          "SELECT 1 FROM account_users WHERE account_id = $1 AND user_id = $2",
                          "ii", j->account_id, uid);
        if (rc == 0)
            return ERR_EMAIL_TAKEN; /* already in this account: that is this account's business */
        if (rc != ERR_NOTFOUND)
            return rc;
        pending = 1;
        j->invited = true;
        rc = 0;
    } else if (rc == ERR_NOTFOUND) {
        rc = tx_query_i64(tx, &uid,
                          "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, "
                          "$2, $3, $4) RETURNING id",
                          "ttti", j->email, j->name, j->hash, now);
        if (rc == ERR_CONFLICT)
            return ERR_EMAIL_TAKEN;
    }
    if (rc < 0)
        return rc;
    rc = tx_exec(tx,
                 "INSERT INTO account_users (account_id, user_id, role, created_at, name, pending,"
                 " invited_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 "iititii", j->account_id, uid, role_name(j->role), now, j->name, pending,
                 j->actor_id);
    if (rc < 0)
        return rc;
    event_batch_reset(&j->events);
    if ((rc = profile_save(tx, j->account_id, uid, &j->profile)) < 0)
        return rc;
    json_t *user;
    if ((rc = user_load(tx, j->account_id, uid, &user)) < 0)
        return rc;
    if ((rc = event_emit(tx, &j->events, j->account_id, "user.created", 0, 0, 0, true,
                         json_pack("{s:O}", "user", user))) < 0) {
        json_decref(user);
        return rc;
    }
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
        event_batch_reset(&j->events);
        http_respond_error(r, rc, rc == ERR_EMAIL_TAKEN ? "email" : NULL, NULL);
        return;
    }
    event_publish(&j->events);
    with_presence(j->account_id, j->body);
    log_info("users", "req=%" PRIu64 " account=%" PRId64 " %s user email=%s", r->id, j->account_id,
             j->invited ? "invited existing" : "created", j->email);
    http_respond_json(r, 201, j->body);
}

static void hash_work(void *arg)
{
    struct create_job *j = arg;
    j->hash_rc =
        crypto_pwhash_str(j->hash, j->password, strlen(j->password),
                          crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

static void hash_done(void *arg, int status)
{
    struct create_job *j = arg;
    UNUSED(status);
    if (j->hash_rc != 0) {
        create_free(j);
        http_respond_error(j->r, ERR_INTERNAL, NULL, "Could not hash the password; try again.");
        return;
    }
    struct create_job held = *j; /* a refused job is answered at once, which frees j */
    if (app_store_write(j->r, create_user_fn, create_done, j) < 0)
        create_free(&held);
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
    int rc = json_field_str(body, "email", true, 1, USER_EMAIL_MAX, &email, &f);
    if (rc >= 0 && !user_email_normalize(email, j->email))
        rc = json_fail(&f, "email", "email must be an e-mail address like name@example.com.");
    if (rc >= 0)
        rc = json_field_str(body, "name", true, 1, USER_NAME_MAX, &name, &f);
    if (rc >= 0)
        rc = user_name_check(name, "name", USER_NAME_MAX, &f);
    if (rc >= 0)
        rc = json_field_str(body, "password", true, 1, PASSWORD_MAX, &password, &f);
    const char *weak = rc >= 0 ? password_check(password, j->email, name) : NULL;
    if (weak)
        rc = json_fail(&f, "password", "%s", weak);
    if (rc >= 0)
        rc = json_field_enum(body, "role", true, roles, &role, &f);
    if (rc >= 0)
        rc = user_profile_parse(body, &j->profile, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    struct span n = span_trim(span_of(name));
    j->name = xstrndup(n.p, n.len);
    j->password = xstrdup(password);
    j->role = (enum role)role;
    j->input = body;
    struct create_job held = *j; /* a refused job is answered at once, which frees j */
    if (app_hash_submit(r, hash_work, hash_done, j) < 0)
        create_free(&held);
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
    int rc = json_field_enum(body, "status", true, names, &st, &f);
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
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/users/{id}", h_update_user,
               R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/audit_log", h_audit, R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_PUT, "/api/v1/me/availability", h_availability, R_AUTH);
}
