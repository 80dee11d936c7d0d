/* app.c: route table, the auth middleware (token -> principal -> account membership -> role), and
 * small helpers shared by the API handlers. */
#include "base/sys.h"
#include "base/cfg.h"
#include "base/log.h"
#include "api/app.h"
#include "event/event.h"
#include "net/static.h"

#include <http_parser.h>

struct app *the_app;

int app_store_write(struct http_req *r, store_job_fn fn, store_done_fn done, void *arg)
{
    int rc = store_write(the_app->store, fn, done, arg);
    if (rc < 0)
        http_respond_error(r, rc == ERR_BUSY ? ERR_BUSY : ERR_SHUTDOWN, NULL, NULL);
    return rc;
}

int app_store_read(struct http_req *r, store_job_fn fn, store_done_fn done, void *arg)
{
    int rc = store_read(the_app->store, fn, done, arg);
    if (rc < 0)
        http_respond_error(r, rc == ERR_BUSY ? ERR_BUSY : ERR_SHUTDOWN, NULL, NULL);
    return rc;
}

int app_hash_submit(struct http_req *r, workq_fn fn, workq_done_fn done, void *arg)
{
    int rc = workq_submit(&the_app->hashq, fn, done, arg);
    if (rc == ERR_BUSY)
        http_respond_error(r, ERR_BUSY, NULL,
                           "The server is busy checking passwords; try again in a second.");
    else if (rc < 0)
        http_respond_error(r, ERR_SHUTDOWN, NULL, NULL);
    return rc;
}

static int query_int(struct http_req *r, const char *name, int64_t min, int64_t max, int64_t def,
                     int64_t *out)
{
    const char *v = http_query(r, name);
    *out = def;
    if (!v)
        return 0;
    if (!span_to_i64(span_of(v), out) || *out < min || *out > max) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s must be an integer between %" PRId64 " and %" PRId64 ".",
                 name, min, max);
        http_respond_error(r, ERR_VALIDATION, name, msg);
        return ERR_VALIDATION;
    }
    return 0;
}

int app_page(struct http_req *r, int64_t *limit, int64_t *offset)
{
    int rc = query_int(r, "limit", 1, 200, 50, limit);
    if (rc == 0)
        rc = query_int(r, "offset", 0, INT64_MAX / 2, 0, offset);
    return rc;
}

int app_id_param(struct http_req *r, const char *name, int64_t *out)
{
    if (!span_to_i64(http_param(r, name), out) || *out <= 0) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return ERR_NOTFOUND;
    }
    return 0;
}

json_t *app_list_json(json_t *data, int64_t total, int64_t limit, int64_t offset)
{
    return json_pack("{s:o, s:{s:I, s:I, s:I}}", "data", data, "meta", "total", (json_int_t)total,
                     "limit", (json_int_t)limit, "offset", (json_int_t)offset);
}

int app_rows_page(struct store_rows *rows, row_json_fn row_fn, int64_t total, int64_t limit,
                  int64_t offset, json_t **out)
{
    json_t *data = json_array();
    int rc;
    while ((rc = rows_next(rows)) == 1)
        json_array_append_new(data, row_fn(rows));
    rows_close(rows);
    if (rc < 0) {
        json_decref(data);
        return rc;
    }
    *out = app_list_json(data, total, limit, offset);
    return 0;
}

void app_finish(struct http_req *r, int rc, json_t *body, int status, struct event_batch *events,
                const struct jfail *fail)
{
    if (rc < 0) {
        if (events)
            event_batch_reset(events);
        json_decref(body);
        if (rc == ERR_VALIDATION && fail && fail->field[0])
            http_respond_jfail(r, rc, fail);
        else
            http_respond_error(r, rc, NULL, NULL);
        return;
    }
    if (events)
        event_publish(events);
    if (body)
        http_respond_json(r, status ? status : 200, body);
    else
        http_respond(r, 204, NULL, NULL, 0);
}

int app_parse_ids(struct http_req *r, json_t *body, const char *key, size_t max, int64_t **out,
                  size_t *n, struct jfail *f)
{
    json_t *ids = json_object_get(body, key);
    *n = 0;
    if (!json_is_array(ids) || json_array_size(ids) > max)
        return json_fail(f, key, "%s must be an array of at most %zu ids.", key, max);
    *out = arena_alloc(&r->arena, (json_array_size(ids) + 1) * sizeof(int64_t));
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return json_fail(f, key, "%s must be an array of ids (positive integers).", key);
        bool dup = false;
        for (size_t k = 0; k < *n; k++)
            dup |= (*out)[k] == json_integer_value(v);
        if (!dup)
            (*out)[(*n)++] = json_integer_value(v);
    }
    return 0;
}

int app_check_members(struct store_tx *tx, int64_t account_id, const int64_t *ids, size_t n,
                      const char *field, struct jfail *f)
{
    for (size_t i = 0; i < n; i++) {
        int64_t one;
        int rc = tx_query_i64(tx, &one,
                              "SELECT 1 FROM account_users WHERE account_id = $1 AND user_id = $2",
                              "ii", account_id, ids[i]);
        if (rc == ERR_NOTFOUND)
            return json_fail(f, field, "user %" PRId64 " is not a member of this account.", ids[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- where a cookie-authenticated request comes from ---- */

static bool span_case_eq_span(struct span a, struct span b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        char x = a.p[i], y = b.p[i];
        if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y))
            return false;
    }
    return true;
}

/* An origin we serve: scheme://host[:port] whose host[:port] is the request's Host (the console's
 * own pages, directly or behind a proxy that keeps Host), or one of --allowed-origins. */
static bool origin_allowed(struct http_req *r, struct span origin)
{
    struct span list = span_of(cfg.allowed_origins);
    while (list.len) {
        struct span o = span_trim(span_split(&list, ','));
        while (o.len && o.p[o.len - 1] == '/')
            o.len--;
        if (o.len && span_case_eq_span(o, origin))
            return true;
    }
    struct span host = span_trim(http_header(r, "Host"));
    struct span rest = origin;
    if (span_starts_with(rest, "https://"))
        rest.p += 8, rest.len -= 8;
    else if (span_starts_with(rest, "http://"))
        rest.p += 7, rest.len -= 7;
    else
        return false;
    return host.len && span_case_eq_span(rest, host);
}

bool app_origin_ok(struct http_req *r)
{
    struct span origin = span_trim(http_header(r, "Origin"));
    if (origin.len)
        return origin_allowed(r, origin);
    /* No Origin: not a browser (browsers send it on every WebSocket handshake and on every
     * POST, PUT, PATCH and DELETE), unless Fetch Metadata says the request is cross-site. */
    struct span site = span_trim(http_header(r, "Sec-Fetch-Site"));
    return !site.len || span_case_eq(site, "same-origin") || span_case_eq(site, "none");
}

void app_respond_bad_origin(struct http_req *r)
{
    char msg[400];
    struct span origin = http_header(r, "Origin");
    snprintf(msg, sizeof(msg),
             "This request came from another site (Origin: %.*s). Parley takes signed-in "
             "changes only from its own pages; if that site is yours, add it to "
             "--allowed-origins.",
             (int)MIN(origin.len, 200), origin.len ? origin.p : "none");
    http_respond_error(r, ERR_FORBIDDEN, NULL, msg);
}

/* ---- the middleware ---- */

/* ---- the middleware ----
 *
 * authenticate() decides who calls, from the route's flags, and then lets the request go on. It
 * runs once per request: for upload routes as the server's precheck, on the head before the body
 * is read (so a caller without a valid token never gets to send 10 MiB), and for the others at
 * dispatch. The principal (or the visitor's claims) it finds stays in r->user, so the handler of
 * a prechecked upload reuses it instead of looking the token up again. */

/* proceed: authenticated: the body comes next (a precheck), or the handler runs. */
static void proceed(struct http_req *r)
{
    if (r->prechecking)
        http_precheck_pass(r);
    else
        r->route->fn(r);
}

static void authed(struct http_req *r, struct principal *p, int rc)
{
    if (rc < 0 && rc != ERR_UNAUTHORIZED) {
        http_respond_error(r, rc, NULL, NULL);
        return;
    }
    if (!p) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    r->user = p;
    unsigned flags = r->route->flags;
    if ((flags & R_ACCOUNT) == R_ACCOUNT) {
        int64_t aid;
        if (app_id_param(r, "aid", &aid) < 0)
            return;
        struct membership *m = NULL;
        for (int i = 0; i < p->nmemberships; i++)
            if (p->memberships[i].account_id == aid)
                m = &p->memberships[i];
        if (!m) {
            /* Not a member: the account does not exist as far as this caller can tell. */
            http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
            return;
        }
        p->account_id = aid;
        p->role = m->role;
        enum role need = (flags & R_ADMIN)        ? ROLE_ADMIN
                         : (flags & R_SUPERVISOR) ? ROLE_SUPERVISOR
                                                  : ROLE_AGENT;
        if (p->role < need) {
            char msg[128];
            snprintf(msg, sizeof(msg), "Only %ss can do this; your role in this account is %s.",
                     role_name(need), role_name(p->role));
            http_respond_error(r, ERR_FORBIDDEN, NULL, msg);
            return;
        }
    }
    proceed(r);
}

static void authenticate(struct http_req *r)
{
    /* The widget runs on the customer's site: its API answers any origin. It authenticates with a
     * Bearer visitor token, never a cookie, so this opens nothing to cross-site requests. */
    if (span_starts_with(r->path, "/api/v1/widget/"))
        http_add_header(r, "Access-Control-Allow-Origin: *");
    unsigned flags = r->route->flags;
    if (flags & R_PUBLIC) {
        proceed(r);
        return;
    }
    if (flags & R_VISITOR) {
        /* signed, not stored: checked here on the loop without a database read */
        struct visitor_claims *c = arena_calloc(&r->arena, sizeof(*c));
        if (visitor_auth(r, c) < 0)
            return;
        r->user = c;
        r->budgeted = true; /* anyone can get a visitor token: their uploads share the budget */
        proceed(r);
        return;
    }
    struct span token = auth_request_token(r);
    if (!token.len) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    /* A browser sends the cookie with requests other sites make it send (CSRF): a change made
     * with the cookie must come from our own pages. Bearer tokens are never sent by themselves. */
    bool change = r->method != HTTP_GET && r->method != HTTP_HEAD && r->method != HTTP_OPTIONS;
    if (change && auth_token_is_cookie(r) && !app_origin_ok(r)) {
        app_respond_bad_origin(r);
        return;
    }
    auth_lookup(r, token, authed);
}

void app_page_headers(struct http_req *r)
{
    /* The console and the demo page load only their own scripts (Vite's build has no inline
     * script), are never framed by another site (clickjacking), and talk only to this server.
     * Element Plus sets inline styles, hence 'unsafe-inline' for styles only. The widget is not
     * affected: it runs inside the customer's page under that page's policy. */
    http_add_header(r, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
                       "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
                       "font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
                       "object-src 'none'; base-uri 'self'; form-action 'self'; "
                       "frame-ancestors 'none'");
    http_add_header(r, "X-Frame-Options: DENY");
    http_add_header(r, "Referrer-Policy: strict-origin-when-cross-origin");
}

static void app_static(struct http_req *r)
{
    app_page_headers(r);
    static_serve(r);
}

static void app_dispatch(struct http_req *r)
{
    if (r->prechecked)
        r->route->fn(r); /* authenticated on its head already; r->user is who */
    else
        authenticate(r);
}

void app_routes(struct app *a)
{
    router_init(&a->router);
    a->router.dispatch = app_dispatch;
    a->router.precheck = authenticate; /* upload routes: on the head, before the body */
    a->router.fallback = app_static;
    api_ops_routes(&a->router);
    api_auth_routes(&a->router);
    api_users_routes(&a->router);
    api_tokens_routes(&a->router);
    api_inboxes_routes(&a->router);
    api_conversations_routes(&a->router);
    api_sentiment_routes(&a->router);
    api_widget_routes(&a->router);
    api_canned_routes(&a->router);
    api_kb_routes(&a->router);
    api_bot_routes(&a->router);
    api_flows_routes(&a->router);
    help_routes(&a->router);
    api_teams_routes(&a->router);
    api_routing_routes(&a->router);
    api_attachments_routes(&a->router);
    ws_proto_routes(&a->router);
    server_on_response = api_metrics_observe;
}

void app_release(struct app *a)
{
    struct map_entry *e;
    for (size_t it = 0; map_next(&a->login_failures, &it, &e);)
        free(e->val);
    map_release(&a->login_failures);
    for (size_t it = 0; map_next(&a->metrics, &it, &e);)
        free(e->val);
    map_release(&a->metrics);
    router_release(&a->router);
    free(a->dummy_hash);
}
