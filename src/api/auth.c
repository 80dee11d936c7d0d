/* auth.c: login, logout and /me; token lookup for the middleware; the login-failure limiter; the
 * audit helper; and the first start's account and admin.
 *
 * Passwords are argon2id (libsodium crypto_pwhash_str, INTERACTIVE limits: ~60 ms and 64 MiB each),
 * hashed and verified on the libuv thread pool, never on the loop. An unknown e-mail is verified
 * against a dummy hash so both failures cost the same time and give the same answer.
 * Tokens are 32 random bytes (64 hex characters); the database keeps only their SHA-256. */
#include "base/sys.h"
#include "base/cfg.h"
#include "base/clock.h"
#include "base/log.h"
#include "api/app.h"
#include "event/event.h"
#include "event/on_route.h"
#include "model/password.h"
#include "model/user.h"

#include <sodium.h>
#include <strings.h>

enum { TOKEN_BYTES = 32, TOKEN_TOUCH_MS = 3600 * 1000 };

void auth_token_hash(const char *token, size_t len, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, len);
    hex_encode(h, sizeof(h), out);
}

static void new_token(char out[2 * TOKEN_BYTES + 1])
{
    unsigned char raw[TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), out);
}

struct span auth_request_token(struct http_req *r)
{
    struct span a = http_header(r, "Authorization");
    if (a.len > 7 && strncasecmp(a.p, "Bearer ", 7) == 0)
        return span_trim((struct span){a.p + 7, a.len - 7});
    return http_cookie(r, "parley_session");
}

bool auth_token_is_cookie(struct http_req *r)
{
    struct span a = http_header(r, "Authorization");
    return !(a.len > 7 && strncasecmp(a.p, "Bearer ", 7) == 0) &&
           http_cookie(r, "parley_session").len > 0;
}

int audit_add(struct store_tx *tx, int64_t account_id, int64_t actor_id, const char *action,
              const char *target_type, int64_t target_id, const char *ip, json_t *data)
{
    char *d = data ? json_dump_compact(data, NULL) : NULL;
    int rc = tx_exec(
        tx,
        "INSERT INTO audit_log (account_id, actor_id, action, target_type, target_id, ip, data, "
        "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        "inttntti", account_id, actor_id, action, target_type, target_id, ip, d, clock_wall_ms());
    free(d);
    json_decref(data);
    return rc < 0 ? rc : 0;
}

/* ---- token -> principal ---- */

struct auth_job {
    struct http_req *r;
    auth_done_fn done;
    char hash[65];
    struct principal *p;
};

static int load_memberships(struct store_tx *tx, struct http_req *r, struct principal *p,
                            int64_t only_account)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT au.account_id, au.role, a.name, a.slug, COALESCE(au.name, u.name)"
                      " FROM account_users au JOIN accounts a ON a.id = au.account_id"
                      " JOIN users u ON u.id = au.user_id"
                      " WHERE au.user_id = $1 AND ($2 = 0 OR au.account_id = $2) AND au.pending = 0"
                      " ORDER BY au.account_id",
                      "ii", p->user_id, only_account);
    if (rc < 0)
        return rc;
    int cap = 4;
    p->memberships = arena_alloc(&r->arena, (size_t)cap * sizeof(*p->memberships));
    while ((rc = rows_next(&rows)) == 1) {
        if (p->nmemberships == cap) {
            struct membership *m = arena_alloc(&r->arena, (size_t)cap * 2 * sizeof(*m));
            memcpy(m, p->memberships, (size_t)cap * sizeof(*m));
            p->memberships = m;
            cap *= 2;
        }
        struct membership *m = &p->memberships[p->nmemberships++];
        m->account_id = rows_i64(&rows, 0);
        if (role_parse(rows_text(&rows, 1), &m->role) < 0)
            m->role = ROLE_AGENT;
        m->name = arena_strndup(&r->arena, rows_text(&rows, 2), rows_len(&rows, 2));
        m->slug = arena_strndup(&r->arena, rows_text(&rows, 3), rows_len(&rows, 3));
        m->display_name = arena_strndup(&r->arena, rows_text(&rows, 4), rows_len(&rows, 4));
    }
    rows_close(&rows);
    if (rc < 0)
        return rc;
    /* Accounts that invited this login and wait for an answer (GET /me shows them). */
    if ((rc =
             tx_query(tx, &rows,
                      "SELECT au.account_id, a.name, au.role FROM account_users au"
                      " JOIN accounts a ON a.id = au.account_id"
                      " WHERE au.user_id = $1 AND au.pending = 1 AND $2 = 0 ORDER BY au.account_id",
                      "ii", p->user_id, only_account)) < 0)
        return rc;
    int icap = 0;
    while ((rc = rows_next(&rows)) == 1) {
        if (p->ninvitations == icap) {
            icap = icap ? icap * 2 : 4;
            struct membership *m = arena_alloc(&r->arena, (size_t)icap * sizeof(*m));
            if (p->ninvitations)
                memcpy(m, p->invitations, (size_t)p->ninvitations * sizeof(*m));
            p->invitations = m;
        }
        struct membership *m = &p->invitations[p->ninvitations++];
        memset(m, 0, sizeof(*m));
        m->account_id = rows_i64(&rows, 0);
        m->name = arena_strndup(&r->arena, rows_text(&rows, 1), rows_len(&rows, 1));
        if (role_parse(rows_text(&rows, 2), &m->role) < 0)
            m->role = ROLE_AGENT;
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

/* Runs on a reader thread. Only this job touches the request's arena while it runs: the handler
 * that queued it is waiting for its completion. */
static int auth_job_fn(struct store_tx *tx, void *arg)
{
    struct auth_job *j = arg;
    struct http_req *r = j->r;
    int64_t now = clock_wall_ms();
    struct store_rows rows;
    int rc = tx_query(
        tx, &rows,
        "SELECT s.id, s.user_id, s.expires_at, u.email, u.name, u.availability FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.revoked_at IS NULL",
        "t", j->hash);
    if (rc < 0)
        return rc;
    struct principal *p = NULL;
    int64_t only_account = 0;
    if ((rc = rows_next(&rows)) == 1 && rows_i64(&rows, 2) > now) {
        p = arena_calloc(&r->arena, sizeof(*p));
        p->session_id = rows_i64(&rows, 0);
        p->user_id = rows_i64(&rows, 1);
        p->expires_at = rows_i64(&rows, 2);
        p->email = arena_strndup(&r->arena, rows_text(&rows, 3), rows_len(&rows, 3));
        p->name = arena_strndup(&r->arena, rows_text(&rows, 4), rows_len(&rows, 4));
        snprintf(p->availability, sizeof(p->availability), "%s", rows_text(&rows, 5));
    }
    rows_close(&rows);
    if (rc < 0)
        return rc;
    if (!p) {
        /* An API token: scoped to one account. */
        rc = tx_query(
            tx, &rows,
            "SELECT t.id, t.user_id, t.account_id, u.email, u.name, COALESCE(t.last_used_at, 0),"
            " u.availability, COALESCE(t.expires_at, 0)"
            " FROM api_tokens t"
            " JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
            " AND (t.expires_at IS NULL OR t.expires_at > $2)",
            "ti", j->hash, now);
        if (rc < 0)
            return rc;
        if ((rc = rows_next(&rows)) == 1) {
            p = arena_calloc(&r->arena, sizeof(*p));
            p->api_token_id = rows_i64(&rows, 0);
            p->touch_token = now - rows_i64(&rows, 5) > TOKEN_TOUCH_MS;
            p->user_id = rows_i64(&rows, 1);
            only_account = rows_i64(&rows, 2);
            p->email = arena_strndup(&r->arena, rows_text(&rows, 3), rows_len(&rows, 3));
            p->name = arena_strndup(&r->arena, rows_text(&rows, 4), rows_len(&rows, 4));
            snprintf(p->availability, sizeof(p->availability), "%s", rows_text(&rows, 6));
            p->expires_at = rows_i64(&rows, 7);
        }
        rows_close(&rows);
        if (rc < 0)
            return rc;
    }
    if (!p)
        return ERR_UNAUTHORIZED;
    if ((rc = load_memberships(tx, r, p, only_account)) < 0)
        return rc;
    j->p = p;
    return 0;
}

/* An API token's last_used_at, written at most once an hour per token, off the request's path: a
 * best-effort note for admins, so a full store queue just skips it. */
static int touch_token_fn(struct store_tx *tx, void *arg)
{
    int64_t *id = arg;
    int rc = tx_exec(tx, "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2", "ii",
                     clock_wall_ms(), *id);
    return rc < 0 ? rc : 0;
}

static void touch_token_done(void *arg, int rc)
{
    UNUSED(rc);
    free(arg);
}

static void auth_job_done(void *arg, int rc)
{
    struct auth_job *j = arg;
    if (rc == 0 && j->p->touch_token) {
        int64_t *id = xmalloc(sizeof(*id));
        *id = j->p->api_token_id;
        if (store_write(the_app->store, touch_token_fn, touch_token_done, id) < 0)
            free(id);
    }
    j->done(j->r, rc == 0 ? j->p : NULL, rc);
}

void auth_lookup(struct http_req *r, struct span token, auth_done_fn done)
{
    struct auth_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->done = done;
    auth_token_hash(token.p, token.len, j->hash);
    int rc = store_read(the_app->store, auth_job_fn, auth_job_done, j);
    if (rc < 0)
        done(r, NULL, rc);
}

static json_t *principal_json(const struct principal *p)
{
    json_t *accs = json_array();
    for (int i = 0; i < p->nmemberships; i++)
        json_array_append_new(
            accs, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)p->memberships[i].account_id,
                            "name", p->memberships[i].name, "slug", p->memberships[i].slug, "role",
                            role_name(p->memberships[i].role)));
    json_t *inv = json_array();
    for (int i = 0; i < p->ninvitations; i++)
        json_array_append_new(inv, json_pack("{s:I, s:s, s:s}", "account_id",
                                             (json_int_t)p->invitations[i].account_id,
                                             "account_name", p->invitations[i].name, "role",
                                             role_name(p->invitations[i].role)));
    return json_pack("{s:I, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)p->user_id, "email",
                     p->email, "name", p->name, "availability",
                     p->availability[0] ? p->availability : "online", "accounts", accs,
                     "invitations", inv);
}

/* ---- login failure limiter (loop thread) ---- */

struct login_window {
    int64_t start;
    int64_t count;
};

static struct login_window *window_get(const char *key, bool create)
{
    struct map *m = &the_app->login_failures;
    struct login_window *w = map_sget(m, key, strlen(key));
    int64_t now = clock_wall_ms();
    if (w && now - w->start >= cfg.login_window * 1000) {
        w->start = now;
        w->count = 0;
    }
    if (!w && create) {
        if (m->len > 100000) { /* prune expired windows so the table stays bounded */
            struct map_entry *e;
            char **dead = xcalloc(m->len, sizeof(char *));
            size_t n = 0;
            for (size_t it = 0; map_next(m, &it, &e);)
                if (now - ((struct login_window *)e->val)->start >= cfg.login_window * 1000)
                    dead[n++] = e->skey;
            for (size_t i = 0; i < n; i++) {
                char *k = xstrdup(dead[i]);
                free(map_sdel(m, k, strlen(k)));
                free(k);
            }
            free(dead);
        }
        w = xcalloc(1, sizeof(*w));
        w->start = now;
        map_sput(m, key, strlen(key), w);
    }
    return w;
}

/* The limiter counts an attempt when it starts, before the database read and the hash, so parallel
 * requests cannot all slip under the limit while the first ones are still hashing; a sign-in that
 * succeeds gives its attempt back. Three windows, so that one office behind a NAT or a proxy is
 * not locked out by one person's typos (or an attacker's guesses):
 *   address + e-mail  login-max-per-ip-email (5): one person's mistakes, or guesses at one user;
 *   e-mail            login-max-per-email (10): guesses at one user from many addresses;
 *   address           login-max-per-ip (100): a ceiling for one address, across e-mails.
 * Returns the seconds to wait if any is full, else 0. */
enum login_key { LK_IP_EMAIL, LK_EMAIL, LK_IP, LK_COUNT };

static void login_key(char *out, size_t len, enum login_key k, const char *ip, const char *email)
{
    if (k == LK_IP_EMAIL)
        snprintf(out, len, "ie:%s|%s", ip, email);
    else if (k == LK_EMAIL)
        snprintf(out, len, "email:%s", email);
    else
        snprintf(out, len, "ip:%s", ip);
}

static int64_t login_limit(enum login_key k)
{
    return k == LK_IP_EMAIL ? cfg.login_max_per_ip_email
           : k == LK_EMAIL  ? cfg.login_max_per_email
                            : cfg.login_max_per_ip;
}

static int64_t login_blocked(const char *ip, const char *email)
{
    char key[400];
    int64_t wait = 0, now = clock_wall_ms();
    for (int k = 0; k < LK_COUNT; k++) {
        login_key(key, sizeof(key), (enum login_key)k, ip, email);
        struct login_window *w = window_get(key, false);
        if (w && w->count >= login_limit((enum login_key)k))
            wait = MAX(wait, (w->start + cfg.login_window * 1000 - now + 999) / 1000);
    }
    return wait;
}

/* login_attempt: counts one attempt in every window (before the password is checked). */
static void login_attempt(const char *ip, const char *email)
{
    char key[400];
    for (int k = 0; k < LK_COUNT; k++) {
        login_key(key, sizeof(key), (enum login_key)k, ip, email);
        window_get(key, true)->count++;
    }
}

/* login_refund: gives an attempt back (it succeeded, or never got to check the password). A
 * success also clears the person's own windows. */
static void login_refund(const char *ip, const char *email, bool succeeded)
{
    char key[400];
    for (int k = 0; k < LK_COUNT; k++) {
        login_key(key, sizeof(key), (enum login_key)k, ip, email);
        if (succeeded && k != LK_IP) {
            free(map_sdel(&the_app->login_failures, key, strlen(key)));
            continue;
        }
        struct login_window *w = window_get(key, false);
        if (w && w->count > 0)
            w->count--;
    }
}

static void respond_rate_limited(struct http_req *r, int64_t wait)
{
    char msg[160];
    http_add_header(r, "Retry-After: %" PRId64, wait);
    snprintf(msg, sizeof(msg), "Too many failed sign-ins. Wait %" PRId64 " seconds and try again.",
             wait);
    http_respond_error(r, ERR_RATE, NULL, msg);
}

/* ---- login ---- */

struct login {
    struct http_req *r;
    char ip[48];
    char email[USER_EMAIL_MAX + 1];
    char *password;
    bool email_ok;
    /* read */
    int64_t user_id;
    char *hash;
    /* verify */
    bool ok;
    /* write */
    char token[2 * TOKEN_BYTES + 1];
    char token_hash[65];
    int64_t expires_at;
    struct principal *p;
};

static void login_free(struct login *l)
{
    if (l->password) {
        sodium_memzero(l->password, strlen(l->password));
        free(l->password);
    }
    free(l->hash);
}

static int login_find_fn(struct store_tx *tx, void *arg)
{
    struct login *l = arg;
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows, "SELECT id, password_hash FROM users WHERE email = $1", "t", l->email);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1) {
        l->user_id = rows_i64(&rows, 0);
        l->hash = xstrdup(rows_text(&rows, 1));
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

static void login_verify_work(void *arg)
{
    struct login *l = arg;
    const char *hash = l->hash ? l->hash : the_app->dummy_hash;
    bool match = crypto_pwhash_str_verify(hash, l->password, strlen(l->password)) == 0;
    l->ok = match && l->hash != NULL && l->email_ok;
}

static int login_session_fn(struct store_tx *tx, void *arg)
{
    struct login *l = arg;
    struct http_req *r = l->r;
    int64_t now = clock_wall_ms();
    int rc = tx_exec(tx,
                     "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, ip)"
                     " VALUES ($1, $2, $3, $4, $5)",
                     "tiiit", l->token_hash, l->user_id, now, l->expires_at, r->ip);
    if (rc < 0)
        return rc;
    rc = tx_exec(tx, "UPDATE users SET last_login_at = $1 WHERE id = $2", "ii", now, l->user_id);
    if (rc < 0)
        return rc;
    struct principal *p = arena_calloc(&r->arena, sizeof(*p));
    p->user_id = l->user_id;
    struct store_rows rows;
    if ((rc = tx_query(tx, &rows, "SELECT email, name, availability FROM users WHERE id = $1", "i",
                       l->user_id)) < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1) {
        p->email = arena_strndup(&r->arena, rows_text(&rows, 0), rows_len(&rows, 0));
        p->name = arena_strndup(&r->arena, rows_text(&rows, 1), rows_len(&rows, 1));
        snprintf(p->availability, sizeof(p->availability), "%s", rows_text(&rows, 2));
    }
    rows_close(&rows);
    if (rc != 1)
        return rc < 0 ? rc : ERR_UNAUTHORIZED;
    if ((rc = load_memberships(tx, r, p, 0)) < 0)
        return rc;
    for (int i = 0; i < p->nmemberships; i++)
        if ((rc = audit_add(tx, p->memberships[i].account_id, p->user_id, "auth.login", "user",
                            p->user_id, r->ip, NULL)) < 0)
            return rc;
    l->p = p;
    return 0;
}

static void set_session_cookie(struct http_req *r, const char *token, int64_t max_age)
{
    http_add_header(
        r, "Set-Cookie: parley_session=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%" PRId64 "%s",
        token, max_age, cfg.cookie_secure ? "; Secure" : "");
}

static void login_session_done(void *arg, int rc)
{
    struct login *l = arg;
    struct http_req *r = l->r;
    if (rc < 0) {
        login_free(l);
        http_respond_error(r, rc == ERR_UNAUTHORIZED ? ERR_CREDENTIALS : rc, NULL, NULL);
        return;
    }
    set_session_cookie(r, l->token, cfg.session_ttl);
    http_add_header(r, "Cache-Control: no-store");
    json_t *body = json_pack("{s:s, s:o, s:o}", "token", l->token, "expires_at",
                             json_time(l->expires_at), "user", principal_json(l->p));
    login_free(l);
    http_respond_json(r, 200, body);
}

static void login_verified(void *arg, int status)
{
    struct login *l = arg;
    struct http_req *r = l->r;
    UNUSED(status);
    if (!l->ok) {
        /* the attempt was counted when it started */
        log_info("auth", "req=%" PRIu64 " ip=%s login failed", r->id, r->ip);
        login_free(l);
        http_respond_error(r, ERR_CREDENTIALS, NULL, NULL);
        return;
    }
    login_refund(l->ip, l->email, true);
    new_token(l->token);
    auth_token_hash(l->token, strlen(l->token), l->token_hash);
    l->expires_at = clock_wall_ms() + cfg.session_ttl * 1000;
    struct login held = *l; /* a refused job is answered at once, which frees l */
    if (app_store_write(r, login_session_fn, login_session_done, l) < 0)
        login_free(&held);
}

static void login_found(void *arg, int rc)
{
    struct login *l = arg;
    struct http_req *r = l->r;
    if (rc < 0) {
        login_refund(l->ip, l->email, false);
        login_free(l);
        http_respond_error(r, rc, NULL, NULL);
        return;
    }
    if ((rc = workq_submit(&the_app->hashq, login_verify_work, login_verified, l)) < 0) {
        /* the password was never checked: the attempt does not count */
        login_refund(l->ip, l->email, false);
        login_free(l);
        http_respond_error(r, rc == ERR_BUSY ? ERR_BUSY : ERR_SHUTDOWN, NULL,
                           rc == ERR_BUSY ? "The server is busy checking passwords; try again in "
                                            "a second."
                                          : NULL);
    }
}

static void h_login(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    const char *email = NULL, *password = NULL;
    int rc = json_field_str(body, "email", true, 1, 1000, &email, &f);
    if (rc >= 0)
        rc = json_field_str(body, "password", true, 1, 1000, &password, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    struct login *l = arena_calloc(&r->arena, sizeof(*l));
    l->r = r;
    snprintf(l->ip, sizeof(l->ip), "%s", r->ip);
    l->email_ok = user_email_normalize(email, l->email);
    if (!l->email_ok)
        snprintf(l->email, sizeof(l->email), "%.254s", email);
    l->password = xstrdup(password);
    json_decref(body);
    int64_t wait = login_blocked(l->ip, l->email);
    if (wait > 0) {
        login_free(l);
        respond_rate_limited(r, wait);
        return;
    }
    login_attempt(l->ip, l->email);
    if ((rc = store_read(the_app->store, login_find_fn, login_found, l)) < 0) {
        login_refund(l->ip, l->email, false);
        login_free(l);
        http_respond_error(r, rc == ERR_BUSY ? ERR_BUSY : ERR_SHUTDOWN, NULL, NULL);
    }
}

/* ---- logout and me ---- */

static int logout_fn(struct store_tx *tx, void *arg)
{
    struct http_req *r = arg;
    struct principal *p = r->user;
    char hash[65];
    struct span tok = auth_request_token(r);
    auth_token_hash(tok.p, tok.len, hash);
    int64_t now = clock_wall_ms();
    int rc = tx_exec(
        tx, "UPDATE sessions SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        "it", now, hash);
    if (rc >= 0)
        rc = tx_exec(
            tx,
            "UPDATE api_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
            "it", now, hash);
    for (int i = 0; rc >= 0 && i < p->nmemberships; i++)
        rc = audit_add(tx, p->memberships[i].account_id, p->user_id, "auth.logout", "user",
                       p->user_id, r->ip, NULL);
    return rc < 0 ? rc : 0;
}

static void logout_done(void *arg, int rc)
{
    struct http_req *r = arg;
    if (rc < 0) {
        http_respond_error(r, rc, NULL, NULL);
        return;
    }
    struct principal *p = r->user;
    ws_proto_end_session(p->session_id, p->api_token_id, "signed out");
    set_session_cookie(r, "", 0);
    http_respond(r, 204, NULL, NULL, 0);
}

static void h_logout(struct http_req *r)
{
    app_store_write(r, logout_fn, logout_done, r);
}

static void h_me(struct http_req *r)
{
    http_add_header(r, "Cache-Control: no-store");
    http_respond_json(r, 200, principal_json(req_principal(r)));
}

/* ---- one's own profile and invitations ---- */

struct me_job {
    struct http_req *r;
    char *name;         /* PATCH /me */
    int64_t account_id; /* an invitation's account */
    bool accept;
    struct principal *p; /* reloaded after the change */
    struct event_batch events;
};

/* me_reload: the principal again (memberships, invitations, name) after a change. */
static int me_reload(struct store_tx *tx, struct me_job *j)
{
    struct principal *old = req_principal(j->r), *p = arena_calloc(&j->r->arena, sizeof(*p));
    *p = *old;
    p->nmemberships = p->ninvitations = 0;
    p->memberships = p->invitations = NULL;
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT name FROM users WHERE id = $1", "i", p->user_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) == 1)
        p->name = arena_strndup(&j->r->arena, rows_text(&rows, 0), rows_len(&rows, 0));
    rows_close(&rows);
    if (rc < 0 || (rc = load_memberships(tx, j->r, p, p->api_token_id ? old->account_id : 0)) < 0)
        return rc;
    j->p = p;
    return 0;
}

/* PATCH /me {name}: one's own name, and the name in each account that had not renamed them. */
static int me_update_fn(struct store_tx *tx, void *arg)
{
    struct me_job *j = arg;
    struct principal *p = req_principal(j->r);
    event_batch_reset(&j->events);
    int rc = tx_exec(tx,
                     "UPDATE account_users SET name = $1 WHERE user_id = $2 AND (name IS NULL OR"
                     " name = (SELECT u.name FROM users u WHERE u.id = $2))",
                     "ti", j->name, p->user_id);
    if (rc >= 0)
        rc = tx_exec(tx, "UPDATE users SET name = $1 WHERE id = $2", "ti", j->name, p->user_id);
    if (rc < 0 || (rc = me_reload(tx, j)) < 0)
        return rc;
    for (int i = 0; i < j->p->nmemberships; i++) {
        const struct membership *m = &j->p->memberships[i];
        json_t *u = json_pack("{s:I, s:s}", "id", (json_int_t)p->user_id, "name", m->display_name);
        if ((rc = event_emit(tx, &j->events, m->account_id, "user.updated", 0, 0, 0, true,
                             json_pack("{s:o}", "user", u))) < 0 ||
            (rc = audit_add(tx, m->account_id, p->user_id, "user.profile_updated", "user",
                            p->user_id, j->r->ip, json_pack("{s:s}", "name", j->name))) < 0)
            return rc;
    }
    return 0;
}

/* POST /me/invitations/{aid}/accept and DELETE /me/invitations/{aid}. */
static int me_invitation_fn(struct store_tx *tx, void *arg)
{
    struct me_job *j = arg;
    struct principal *p = req_principal(j->r);
    event_batch_reset(&j->events);
    int64_t one;
    int rc = tx_query_i64(tx, &one,
                          "SELECT 1 FROM account_users WHERE account_id = $1 AND user_id = $2"
                          " AND pending = 1",
                          "ii", j->account_id, p->user_id);
    if (rc < 0)
        return rc; /* ERR_NOTFOUND: no such invitation */
    if (j->accept) {
        rc = tx_exec(tx,
                     "UPDATE account_users SET pending = 0 WHERE account_id = $1 AND user_id = $2",
                     "ii", j->account_id, p->user_id);
    } else {
        /* Declined: the account forgets them, with what the admin set up for them. */
        static const char *const del[] = {
            "DELETE FROM inbox_members WHERE account_id = $1 AND user_id = $2",
            "DELETE FROM team_members WHERE account_id = $1 AND user_id = $2",
            "DELETE FROM user_skills WHERE account_id = $1 AND user_id = $2",
            "DELETE FROM account_users WHERE account_id = $1 AND user_id = $2",
        };
        for (size_t i = 0; rc >= 0 && i < ARRAY_SIZE(del); i++)
            rc = tx_exec(tx, del[i], "ii", j->account_id, p->user_id);
    }
    if (rc >= 0)
        rc = audit_add(tx, j->account_id, p->user_id,
                       j->accept ? "user.invitation_accepted" : "user.invitation_declined", "user",
                       p->user_id, j->r->ip, NULL);
    if (rc >= 0 && j->accept)
        rc = event_emit(tx, &j->events, j->account_id, "user.updated", 0, 0, 0, true,
                        json_pack("{s:{s:I}}", "user", "id", (json_int_t)p->user_id));
    if (rc < 0 || (rc = me_reload(tx, j)) < 0)
        return rc;
    return 0;
}

static void me_done(void *arg, int rc)
{
    struct me_job *j = arg;
    free(j->name);
    if (rc < 0) {
        event_batch_reset(&j->events);
        http_respond_error(j->r, rc, NULL,
                           rc == ERR_NOTFOUND ? "There is no invitation from this account." : NULL);
        return;
    }
    event_publish(&j->events);
    /* the workspace's own socket learns of a new account by reloading /me; an account reloads
     * its members from user.updated (routing, lists) */
    if (j->account_id)
        on_route_reload(j->account_id);
    http_add_header(j->r, "Cache-Control: no-store");
    http_respond_json(j->r, 200, principal_json(j->p));
}

static void h_me_update(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    const char *name = NULL;
    const char *key;
    json_t *v;
    int rc = 0;
    json_object_foreach(body, key, v)
    {
        if (strcmp(key, "name") != 0 && rc == 0)
            rc = json_fail(&f, key, "unknown field; you can change your name.");
    }
    if (rc >= 0)
        rc = json_field_str(body, "name", true, 1, USER_NAME_MAX, &name, &f);
    if (rc >= 0)
        rc = user_name_check(name, "name", USER_NAME_MAX, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    struct me_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    struct span n = span_trim(span_of(name));
    j->name = xstrndup(n.p, n.len);
    json_decref(body);
    char *held = j->name; /* a refused job is answered at once, which frees j */
    if (app_store_write(r, me_update_fn, me_done, j) < 0)
        free(held);
}

static void h_me_invitation(struct http_req *r)
{
    struct me_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->accept = r->method == HTTP_POST;
    if (app_id_param(r, "aid", &j->account_id) < 0)
        return;
    if (req_principal(r)->api_token_id) {
        http_respond_error(r, ERR_FORBIDDEN, NULL,
                           "An API token belongs to one account; answer invitations signed in.");
        return;
    }
    app_store_write(r, me_invitation_fn, me_done, j);
}

void api_auth_routes(struct router *rt)
{
    router_add(rt, HTTP_POST, "/api/v1/auth/login", h_login, R_PUBLIC);
    router_add(rt, HTTP_PATCH, "/api/v1/me", h_me_update, R_AUTH);
    router_add(rt, HTTP_POST, "/api/v1/me/invitations/{aid}/accept", h_me_invitation, R_AUTH);
    router_add(rt, HTTP_DELETE, "/api/v1/me/invitations/{aid}", h_me_invitation, R_AUTH);
    router_add(rt, HTTP_POST, "/api/v1/auth/logout", h_logout, R_AUTH);
    router_add(rt, HTTP_GET, "/api/v1/me", h_me, R_AUTH);
}

/* ---- first start ---- */

struct bootstrap {
    const char *email, *name, *hash;
    int64_t accounts;
};

static int count_accounts_fn(struct store_tx *tx, void *arg)
{
    struct bootstrap *b = arg;
    return tx_query_i64(tx, &b->accounts, "SELECT COUNT(*) FROM accounts", "");
}

static int bootstrap_fn(struct store_tx *tx, void *arg)
{
    struct bootstrap *b = arg;
    int64_t now = clock_wall_ms(), aid, uid;
    int rc = tx_query_i64(
        tx, &aid, "INSERT INTO accounts (name, slug, created_at) VALUES ($1, $2, $3) RETURNING id",
        "tti", "Default", "default", now);
    if (rc < 0)
        return rc;
    rc = tx_query_i64(tx, &uid,
                      "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, "
                      "$3, $4) RETURNING id",
                      "ttti", b->email, b->name, b->hash, now);
    if (rc < 0)
        return rc;
    rc = tx_exec(
        tx,
        "INSERT INTO account_users (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        "iiti", aid, uid, "admin", now);
    if (rc >= 0)
        rc = tx_exec(tx, "INSERT INTO account_seq (account_id, seq) VALUES ($1, 0)", "i", aid);
    if (rc >= 0)
        rc = audit_add(tx, aid, 0, "account.created", "account", aid, NULL, NULL);
    /* A website inbox with the admin in it, so the widget (and /demo) work from the first start. */
    unsigned char raw[20];
    char token[41];
    randombytes_buf(raw, sizeof(raw));
    hex_encode(raw, sizeof(raw), token);
    int64_t inbox;
    if (rc >= 0)
        rc = tx_query_i64(
            tx, &inbox,
            "INSERT INTO inboxes (account_id, name, channel, widget_token, greeting,"
            " offline_message, widget_title, created_at, updated_at)"
            " VALUES ($1, 'Website', 'web', $2, $3, $4, 'Chat with us', $5, $5) RETURNING id",
            "ittti", aid, token, "Hi there! Ask us anything, we usually reply in a few minutes.",
            "We are away right now. Leave your message and e-mail, and we will get back to you.",
            now);
    if (rc >= 0)
        rc = tx_exec(tx,
                     "INSERT INTO inbox_members (account_id, inbox_id, user_id, created_at)"
                     " VALUES ($1, $2, $3, $4)",
                     "iiii", aid, inbox, uid, now);
    return rc < 0 ? rc : 0;
}

int app_bootstrap(struct store *s, const char *email, const char *password, bool *created,
                  char *generated, size_t genlen, char *err, size_t errlen)
{
    struct bootstrap b = {0};
    *created = false;
    int rc = store_run_sync(s, count_accounts_fn, &b);
    if (rc < 0) {
        snprintf(err, errlen, "cannot read accounts: %s", err_str(rc));
        return rc;
    }
    if (b.accounts > 0)
        return 0;
    char norm[USER_EMAIL_MAX + 1];
    if (!user_email_normalize(email && *email ? email : "admin@parley.local", norm)) {
        snprintf(err, errlen, "admin-email '%s' is not an e-mail address", email);
        return ERR_INVAL;
    }
    char pw[64];
    if (password && *password) {
        const char *weak = password_check(password, norm, "Admin");
        if (weak) {
            snprintf(err, errlen, "admin-password: %s", weak);
            return ERR_INVAL;
        }
        snprintf(generated, genlen, "%s", "");
    } else {
        /* 16 characters from an unambiguous alphabet: ~93 bits. */
        static const char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        for (int i = 0; i < 16; i++)
            pw[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
        pw[16] = '\0';
        password = pw;
        snprintf(generated, genlen, "%s", pw);
    }
    /* Start-up, before the loop serves anything: hashing here blocks nobody. */
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        snprintf(err, errlen, "cannot hash the admin password (out of memory?)");
        return ERR_INTERNAL;
    }
    b.email = norm;
    b.name = "Admin";
    b.hash = hash;
    rc = store_run_sync(s, bootstrap_fn, &b);
    if (rc < 0) {
        snprintf(err, errlen, "cannot create the first account: %s", err_str(rc));
        return rc;
    }
    snprintf(err, errlen, "%s", norm); /* tell the caller the normalized e-mail */
    *created = true;
    return 0;
}
