/* app.h: the application: routes, the auth middleware, and state shared by the API handlers. One
 * instance, owned by main and used on the loop thread only. */
#ifndef PARLEY_APP_H
#define PARLEY_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/map.h"
#include "base/workq.h"
#include "model/role.h"
#include <http_parser.h>

#include "net/http.h"
#include "net/router.h"
#include "net/server.h"
#include "store/store.h"

/* Route flags. Without R_PUBLIC a route needs a valid token; R_ACCOUNT routes have an {aid} and
 * need a membership in that account (else 404); R_SUPERVISOR/R_ADMIN raise the role needed (else
 * 403). R_VISITOR routes need a visitor token instead (Bearer; else 401): req_visitor(r) has its
 * claims. Routes with ROUTE_UPLOAD (router.h) are authenticated on the request head, before the
 * body is read. */
enum {
    R_PUBLIC = 1u << 0,
    R_AUTH = 1u << 1,
    R_ACCOUNT = 1u << 2 | 1u << 1,
    R_SUPERVISOR = 1u << 3,
    R_ADMIN = 1u << 4,
    R_VISITOR = 1u << 5,
};

struct membership {
    int64_t account_id;
    enum role role;
    char *name, *slug;  /* the account's; request arena */
    char *display_name; /* the person's name in this account */
};

/* principal: who is calling; lives in the request arena. */
struct principal {
    int64_t user_id, session_id;
    int64_t api_token_id; /* when the caller used an API token */
    int64_t expires_at;   /* ms: when the token expires (0: never) */
    bool touch_token;     /* its last_used_at is over an hour old */
    char *email, *name;
    char availability[8]; /* online | away | offline */
    int nmemberships;
    struct membership *memberships;
    /* Accounts that invited this login and wait for an answer (role in `role`, name in `name`). */
    int ninvitations;
    struct membership *invitations;
    /* For R_ACCOUNT routes: the account named in the path and the caller's role there. */
    int64_t account_id;
    enum role role;
};

struct app {
    uv_loop_t *loop;
    struct server srv;
    struct router router;
    struct store *store;
    struct map login_failures; /* "ip:..." / "email:..." -> struct login_window */
    struct map metrics;        /* request counters */
    struct workq hashq;        /* password hashing and checks (argon2id), off libuv's pool */
    char *dummy_hash; /* argon2id of a random password: verify against it for unknown e-mails */
    unsigned char visitor_key[32];  /* signs visitor tokens (server_secrets) */
    const char *data_dir, *web_dir; /* borrowed from the config */
    bool ready;
};

extern struct app *the_app;

void app_routes(struct app *a);
void app_release(struct app *a);
static inline struct principal *req_principal(struct http_req *r)
{
    return r->user;
}
struct visitor_claims;
static inline struct visitor_claims *req_visitor(struct http_req *r) /* R_VISITOR routes */
{
    return r->user;
}

/* Helpers for handlers. */
/* app_store_write/read: queue a job; on ERR_BUSY/ERR_SHUTDOWN answer 503 and return < 0. The
 * answer frees the request and its arena: on failure, touch nothing allocated there (copy what
 * must be released before the call). */
int app_store_write(struct http_req *r, store_job_fn fn, store_done_fn done, void *arg);
int app_store_read(struct http_req *r, store_job_fn fn, store_done_fn done, void *arg);
/* app_hash_submit: runs fn on a password-hashing thread and done on the loop; when the hashing
 * queue is full answers 503 (Retry-After) and returns < 0 (done is then never called; the answer
 * frees the request's arena, as with app_store_write). */
int app_hash_submit(struct http_req *r, workq_fn fn, workq_done_fn done, void *arg);
/* app_page: ?limit (1..200, default 50) and ?offset (>= 0); answers 422 and returns < 0 if bad. */
int app_page(struct http_req *r, int64_t *limit, int64_t *offset);
/* app_id_param: a path id; answers 404 and returns < 0 if it is not a positive integer. */
int app_id_param(struct http_req *r, const char *name, int64_t *out);
json_t *app_list_json(json_t *data, int64_t total, int64_t limit, int64_t offset);
/* app_rows_page: drains `rows` into a JSON array (one row_fn call per row), closes them, and wraps
 * the array as {"data": [...], "meta": {...}} in *out. Returns 0 or the store error. */
typedef json_t *(*row_json_fn)(struct store_rows *rows);
int app_rows_page(struct store_rows *rows, row_json_fn row_fn, int64_t total, int64_t limit,
                  int64_t offset, json_t **out);
/* app_finish: the common end of a store job, on the loop. rc < 0: drop the events and answer the
 * error (with fail's field and message for ERR_VALIDATION when it names a field). Else publish the
 * events (after the commit) and answer body with status (200 if 0), or 204 without a body. Takes
 * body; events and fail may be NULL. */
struct event_batch;
void app_finish(struct http_req *r, int rc, json_t *body, int status, struct event_batch *events,
                const struct jfail *fail);
/* app_parse_ids: body[key] as a list of distinct positive ids (at most max), in r's arena.
 * ERR_VALIDATION in f otherwise. */
int app_parse_ids(struct http_req *r, json_t *body, const char *key, size_t max, int64_t **out,
                  size_t *n, struct jfail *f);
/* app_check_members: every user id is a member of the account, else ERR_VALIDATION naming `field`
 * and the first stranger (in a store job). */
int app_check_members(struct store_tx *tx, int64_t account_id, const int64_t *ids, size_t n,
                      const char *field, struct jfail *f);

/* token helpers (auth.c) */
void auth_token_hash(const char *token, size_t len, char out[65]);
struct span auth_request_token(struct http_req *r);
/* auth_token_is_cookie: the token came from the session cookie (no Bearer header). */
bool auth_token_is_cookie(struct http_req *r);
/* app_origin_ok: the request's Origin is one of ours (its host is the request's Host, or it is in
 * --allowed-origins); without Origin, Sec-Fetch-Site is absent, same-origin or none. For requests
 * a browser may make on another site's behalf with the cookie. */
bool app_origin_ok(struct http_req *r);
/* app_page_headers: the security headers of the console's and the demo's pages (CSP, no framing
 * by other sites, referrer policy). */
void app_page_headers(struct http_req *r);
/* app_respond_bad_origin: 403 forbidden, naming the origin and what to do. */
void app_respond_bad_origin(struct http_req *r);
/* auth_lookup: resolves a token to a principal (reader thread) and calls back on the loop with the
 * principal (in r's arena) or NULL. */
typedef void (*auth_done_fn)(struct http_req *r, struct principal *p, int rc);
void auth_lookup(struct http_req *r, struct span token, auth_done_fn done);

/* audit (in the current write transaction); takes `data` (may be NULL). */
int audit_add(struct store_tx *tx, int64_t account_id, int64_t actor_id, const char *action,
              const char *target_type, int64_t target_id, const char *ip, json_t *data);

/* ---- visitors (visitor.c) ---- */
/* A visitor token is signed, not stored: "v1.<account>.<inbox>.<contact>.<expiry s>.<mac>". */
struct visitor_claims {
    int64_t account_id, inbox_id, contact_id, expires_at; /* expires_at in ms */
};
enum { VISITOR_TOKEN_MAX = 128, VISITOR_TTL_DAYS = 30 };
/* app_secrets_init: loads (or creates, on first start) the server's signing key. Start-up only. */
int app_secrets_init(struct app *a, char *err, size_t errlen);
void visitor_token_make(const struct visitor_claims *c, char out[VISITOR_TOKEN_MAX]);
/* visitor_token_verify: 0, or ERR_UNAUTHORIZED for a malformed, forged or expired token. */
int visitor_token_verify(struct span token, struct visitor_claims *c);
bool visitor_token_like(struct span token);
/* visitor_auth: the Bearer visitor token of a widget request; answers 401 and returns < 0 if bad.
 */
int visitor_auth(struct http_req *r, struct visitor_claims *c);

/* Route handlers, one file per resource. */
void api_ops_routes(struct router *rt);
void api_auth_routes(struct router *rt);
void api_users_routes(struct router *rt);
void api_tokens_routes(struct router *rt);
void api_inboxes_routes(struct router *rt);
void api_conversations_routes(struct router *rt);
void api_sentiment_routes(struct router *rt); /* agents' corrections of a message's sentiment */
/* conv_timers_start/stop: wakes snoozed conversations when their time comes. */
void conv_timers_start(uv_loop_t *loop);
void conv_timers_stop(void);
void api_widget_routes(struct router *rt);
void api_canned_routes(struct router *rt);
void api_kb_routes(struct router *rt);
void api_bot_routes(struct router *rt);
void api_flows_routes(struct router *rt);
void help_routes(struct router *rt);
/* kb_search_tx: BM25 over the account's published articles (and enabled FAQ entries unless
 * articles_only), best first, as [{type, id, title, snippet, url, score}] (api_bot.c). */
int kb_search_tx(struct store_tx *tx, int64_t account_id, const char *locale, const char *q,
                 bool articles_only, json_t **out);
void api_teams_routes(struct router *rt);
void api_routing_routes(struct router *rt);
void api_attachments_routes(struct router *rt);
void ws_proto_routes(struct router *rt);
/* ws_proto_end_session: closes (4401, reason) every socket opened with the session or API token:
 * it was signed out or revoked. */
void ws_proto_end_session(int64_t session_id, int64_t api_token_id, const char *reason);
/* ws_proto_end_user: closes with `code` every socket of the user in the account (0: all). */
void ws_proto_end_user(int64_t account_id, int64_t user_id, uint16_t code, const char *reason);
void ws_proto_stop(void); /* shutdown: the expiry timer */
void ws_proto_release(void);
void api_metrics_observe(struct http_req *r, int status, uint64_t ns);

/* first start: create the default account and its admin if there is no account yet. */
int app_bootstrap(struct store *s, const char *email, const char *password, bool *created,
                  char *generated, size_t genlen, char *err, size_t errlen);

#endif
