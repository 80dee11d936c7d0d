/* api_widget.c: the public API of the chat widget. A page with the widget starts a session with
 * the inbox's public widget_token and the visitor_id it kept from last time; it gets a signed
 * visitor token (visitor.c), the visitor's contact, their open conversation and recent history,
 * the inbox's settings and whether anyone is online to answer. Also /demo, a shop page with the
 * widget on it. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "event/on_route.h"
#include "event/on_bot.h"
#include "conv/conv.h"
#include "event/event.h"
#include "event/on_push.h"
#include "model/conversation.h"
#include "model/user.h"

#include <sodium.h>
#include <strings.h>

enum { VISITOR_ID_LEN = 32, HISTORY_MAX = 100, PAGE_URL_MAX = 2000 };

struct wjob {
    struct http_req *r;
    /* session input */
    const char *widget_token, *visitor_id, *page_url;
    char new_visitor_id[VISITOR_ID_LEN + 1];
    struct contact_input contact;
    char email[USER_EMAIL_MAX + 1];
    json_t *prechat; /* answers as given */
    /* authenticated visitor (contact, messages) */
    struct visitor_claims vc;
    int64_t before, limit;
    /* out */
    int64_t account_id, inbox_id, contact_id, seq;
    json_t *body;
    struct event_batch events;
    struct jfail fail;
};

static void wjob_done(void *arg, int rc);

/* history: the visitor's public messages in this inbox, newest `limit` before `before`, ascending.
 */
static int history(struct store_tx *tx, int64_t account_id, int64_t inbox_id, int64_t contact_id,
                   int64_t before, int64_t limit, json_t **data, bool *more)
{
    char sql[1024];
    /* Through the visitor's conversations (messages_conversation), never a scan of the account's
     * messages: "+" keeps SQLite off messages_account, which it would pick for the ORDER BY. */
    snprintf(sql, sizeof(sql),
             "%s WHERE m.conversation_id IN (SELECT id FROM conversations WHERE account_id = $1"
             " AND inbox_id = $2 AND contact_id = $3) AND +m.account_id = $1"
             " AND m.private = 0 AND ($4 = 0 OR m.id < $4) ORDER BY m.id DESC LIMIT $5",
             MSG_SELECT);
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "iiiii", account_id, inbox_id, contact_id, before, limit + 1);
    if (rc < 0)
        return rc;
    json_t *arr = json_array();
    while ((rc = rows_next(&rows)) == 1) {
        json_t *m = message_json(&rows);
        /* how agents read the customer (the score, their corrections) is theirs */
        event_strip_visitor_message(m);
        json_array_insert_new(arr, 0, m);
    }
    rows_close(&rows);
    if (rc < 0) {
        json_decref(arr);
        return rc;
    }
    *more = (int64_t)json_array_size(arr) > limit;
    if (*more)
        json_array_remove(arr, 0);
    *data = arr;
    return 0;
}

/* ---- POST /api/v1/widget/sessions ---- */

static int session_fn(struct store_tx *tx, void *arg)
{
    struct wjob *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT id, account_id, name, greeting, offline_message, widget_color,"
                      " widget_title, prechat_fields FROM inboxes"
                      " WHERE widget_token = $1 AND deleted_at IS NULL",
                      "t", j->widget_token);
    if (rc < 0)
        return rc;
    json_t *inbox = NULL;
    if ((rc = rows_next(&rows)) == 1) {
        j->inbox_id = rows_i64(&rows, 0);
        j->account_id = rows_i64(&rows, 1);
        /* a stored form that is not a list (a corrupt row) is no form */
        json_t *pf = json_loads_or(rows_text(&rows, 7), json_array());
        if (!json_is_array(pf)) {
            json_decref(pf);
            pf = json_array();
        }
        inbox =
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "id", (json_int_t)j->inbox_id, "name",
                      rows_text(&rows, 2), "greeting", rows_text(&rows, 3), "offline_message",
                      rows_text(&rows, 4), "widget_color", rows_text(&rows, 5), "widget_title",
                      rows_text(&rows, 6), "prechat_fields", pf);
    }
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    int64_t now = clock_wall_ms();
    j->contact_id = 0;
    if (j->visitor_id) {
        rc = tx_query_i64(tx, &j->contact_id,
                          "SELECT id FROM contacts WHERE visitor_id = $1 AND account_id = $2", "ti",
                          j->visitor_id, j->account_id);
        if (rc < 0 && rc != ERR_NOTFOUND)
            goto fail;
    }
    const char *visitor_id = j->contact_id ? j->visitor_id : j->new_visitor_id;
    if (!j->contact_id &&
        (rc = tx_query_i64(tx, &j->contact_id,
                           "INSERT INTO contacts (account_id, visitor_id, created_at, updated_at)"
                           " VALUES ($1, $2, $3, $3) RETURNING id",
                           "iti", j->account_id, visitor_id, now)) < 0)
        goto fail;
    /* Pre-chat answers: validated against this inbox's form; name, email and phone fields also
     * fill the contact. */
    char *prechat_text = NULL;
    bool contact_changed = j->contact.name || j->contact.email || j->contact.phone;
    if (j->prechat) {
        json_t *norm;
        if ((rc = prechat_check(json_object_get(inbox, "prechat_fields"), j->prechat, &norm,
                                &j->fail)) < 0)
            goto fail;
        /* Given contact fields win over the form's name, email and phone answers. */
        const char *vals[] = {j->contact.name, j->contact.email, j->contact.phone};
        const char *keys[] = {"name", "email", "phone"};
        char email[USER_EMAIL_MAX + 1];
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
            const char *a = json_string_value(json_object_get(norm, keys[i]));
            /* an answer fills the contact only where it fits there (a "text" field named email
             * may hold anything) */
            bool fits = a && (i == 0   ? user_name_valid(a)
                              : i == 1 ? user_email_normalize(a, email)
                                       : phone_valid(a));
            if (!vals[i] && fits)
                vals[i] = i == 1 ? email : a;
        }
        prechat_text = json_dump_compact(norm, NULL);
        rc = tx_exec(tx,
                     "UPDATE contacts SET prechat = $1, name = COALESCE($2, name),"
                     " email = COALESCE($3, email), phone = COALESCE($4, phone) WHERE id = $5",
                     "tttti", prechat_text, vals[0], vals[1], vals[2], j->contact_id);
        free(prechat_text);
        json_decref(norm);
        contact_changed = true;
        if (rc < 0)
            goto fail;
    } else if (contact_changed) {
        rc = tx_exec(tx,
                     "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE($2, email),"
                     " phone = COALESCE($3, phone) WHERE id = $4",
                     "ttti", j->contact.name, j->contact.email, j->contact.phone, j->contact_id);
        if (rc < 0)
            goto fail;
    }
    rc = tx_exec(tx,
                 "UPDATE contacts SET last_seen_at = $1, updated_at = $1,"
                 " last_page_url = COALESCE($2, last_page_url) WHERE id = $3",
                 "iti", now, j->page_url, j->contact_id);
    json_t *contact = NULL, *conv = NULL, *messages = NULL;
    if (rc >= 0)
        rc = contact_load(tx, j->account_id, j->contact_id, &contact);
    /* Agents get the whole contact; the visitor, not the agents' attributes. */
    if (rc >= 0 && contact_changed)
        rc = contact_updated_emit(tx, &j->events, j->account_id, j->contact_id,
                                  json_deep_copy(contact));
    if (rc >= 0)
        json_object_del(contact, "attributes");
    int64_t cid = 0;
    if (rc >= 0) {
        rc = tx_query_i64(tx, &cid,
                          "SELECT id FROM conversations WHERE account_id = $1 AND contact_id = $2"
                          " AND inbox_id = $3 AND status <> 'resolved' ORDER BY id DESC LIMIT 1",
                          "iii", j->account_id, j->contact_id, j->inbox_id);
        if (rc == ERR_NOTFOUND)
            rc = cid = 0;
    }
    if (rc >= 0 && cid) {
        json_t *full;
        if ((rc = conv_load(tx, j->account_id, cid, &full)) >= 0) {
            conv = conv_visitor_json(full);
            json_decref(full);
        }
    }
    bool more = false;
    if (rc >= 0)
        rc = history(tx, j->account_id, j->inbox_id, j->contact_id, 0, HISTORY_MAX, &messages,
                     &more);
    if (rc >= 0)
        rc = event_last_seq(tx, j->account_id, &j->seq);
    if (rc < 0) {
        json_decref(contact);
        json_decref(conv);
        json_decref(messages);
        goto fail;
    }
    j->body = json_pack("{s:s, s:o, s:o, s:o, s:o, s:b}", "visitor_id", visitor_id, "contact",
                        contact, "conversation", conv ? conv : json_null(), "messages", messages,
                        "inbox", inbox, "has_more", (int)more);
    return 0;
fail:
    json_decref(inbox);
    return rc;
}

static void session_done(void *arg, int rc)
{
    struct wjob *j = arg;
    json_decref(j->prechat);
    j->prechat = NULL;
    if (rc >= 0) {
        struct visitor_claims c = {j->account_id, j->inbox_id, j->contact_id,
                                   clock_wall_ms() + (int64_t)VISITOR_TTL_DAYS * 86400000};
        char token[VISITOR_TOKEN_MAX];
        visitor_token_make(&c, token);
        json_object_set_new(j->body, "visitor_token", json_string(token));
        json_object_set_new(j->body, "expires_at", json_time(c.expires_at));
        json_object_set_new(j->body, "online",
                            json_boolean(push_inbox_online(j->account_id, j->inbox_id)));
        json_object_set_new(j->body, "seq", json_integer(j->seq));
        json_t *q = on_route_visitor_queue(j->account_id, j->contact_id, j->inbox_id);
        json_object_set_new(j->body, "queue", q ? q : json_null());
        json_object_set_new(j->body, "bot", on_bot_widget(j->account_id, j->inbox_id));
    }
    wjob_done(arg, rc);
}

static void wjob_done(void *arg, int rc)
{
    struct wjob *j = arg;
    if (rc == ERR_NOTFOUND && j->widget_token) {
        event_batch_reset(&j->events);
        json_decref(j->body);
        http_respond_error(j->r, rc, "widget_token",
                           "No chat inbox has this widget_token; copy the script tag again from the"
                           " inbox settings.");
        return;
    }
    app_finish(j->r, rc, j->body, 200, &j->events, &j->fail);
}

static void keep(struct http_req *r, const char **s)
{
    if (*s)
        *s = arena_strndup(&r->arena, *s, strlen(*s));
}

static void h_session(struct http_req *r)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct wjob *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    struct jfail *f = &j->fail;
    const char *locale = NULL;
    bool none = false;
    int rc = json_field_str(body, "widget_token", true, 1, 64, &j->widget_token, f);
    /* null (what localStorage gives before the first visit), like leaving it out: a new visitor */
    if (rc >= 0 &&
        (rc = json_field_str_nullable(body, "visitor_id", 1, 64, &j->visitor_id, &none, f)) == 1 &&
        none)
        j->visitor_id = NULL;
    if (rc >= 0)
        rc = json_field_str(body, "page_url", false, 0, PAGE_URL_MAX, &j->page_url, f);
    /* Agents open it from the contact panel: only web addresses, never javascript: or data:. */
    if (rc >= 0 && j->page_url && *j->page_url && strncasecmp(j->page_url, "http://", 7) != 0 &&
        strncasecmp(j->page_url, "https://", 8) != 0)
        rc = json_fail(f, "page_url", "page_url must be an http:// or https:// address.");
    if (rc >= 0)
        rc = json_field_str(body, "locale", false, 0, 20, &locale, f);
    /* contact and prechat: null is no contact details, no answers */
    json_t *contact = json_object_get(body, "contact");
    if (rc >= 0 && contact && !json_is_null(contact)) {
        if (!json_is_object(contact))
            rc = json_fail(f, "contact", "contact must be an object with name, email, phone.");
        else
            rc = contact_parse(contact, "contact", &j->contact, j->email, f);
    }
    json_t *prechat = json_object_get(body, "prechat");
    if (rc >= 0 && prechat && !json_is_null(prechat)) {
        if (!json_is_object(prechat))
            rc = json_fail(f, "prechat", "prechat must be an object of the form's answers.");
        else
            j->prechat = json_deep_copy(prechat);
    }
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, f);
        return;
    }
    keep(r, &j->widget_token);
    keep(r, &j->visitor_id);
    keep(r, &j->page_url);
    keep(r, &j->contact.name);
    keep(r, &j->contact.email);
    keep(r, &j->contact.phone);
    json_decref(body);
    /* A new visitor's id: 32 characters of base62, ~190 bits. */
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int i = 0; i < VISITOR_ID_LEN; i++)
        j->new_visitor_id[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
    /* a refused job is answered 503 at once, which frees the request and j with it */
    json_t *answers = j->prechat;
    if (app_store_write(r, session_fn, session_done, j) < 0)
        json_decref(answers);
}

/* ---- PATCH /api/v1/widget/contact ---- */

static int contact_fn(struct store_tx *tx, void *arg)
{
    struct wjob *j = arg;
    event_batch_reset(&j->events);
    int rc = tx_exec(tx,
                     "UPDATE contacts SET name = COALESCE($1, name), email = COALESCE($2, email),"
                     " phone = COALESCE($3, phone), updated_at = $4"
                     " WHERE id = $5 AND account_id = $6",
                     "tttiii", j->contact.name, j->contact.email, j->contact.phone, clock_wall_ms(),
                     j->vc.contact_id, j->vc.account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = contact_load(tx, j->vc.account_id, j->vc.contact_id, &j->body)) < 0)
        return rc;
    rc = contact_updated_emit(tx, &j->events, j->vc.account_id, j->vc.contact_id,
                              json_deep_copy(j->body));
    json_object_del(j->body, "attributes"); /* the visitor's answer leaves out the agents' notes */
    return rc;
}

static void h_contact(struct http_req *r)
{
    struct wjob *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    if (visitor_auth(r, &j->vc) < 0)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    int rc = contact_parse(body, NULL, &j->contact, j->email, &j->fail);
    keep(r, &j->contact.name);
    keep(r, &j->contact.email);
    keep(r, &j->contact.phone);
    json_decref(body);
    if (rc < 0) {
        http_respond_jfail(r, rc, &j->fail);
        return;
    }
    app_store_write(r, contact_fn, wjob_done, j);
}

/* ---- GET /api/v1/widget/messages ---- */

static int messages_fn(struct store_tx *tx, void *arg)
{
    struct wjob *j = arg;
    json_t *data;
    bool more;
    int rc = history(tx, j->vc.account_id, j->vc.inbox_id, j->vc.contact_id, j->before, j->limit,
                     &data, &more);
    if (rc < 0)
        return rc;
    j->body = json_pack("{s:o, s:{s:b}}", "data", data, "meta", "has_more", (int)more);
    return 0;
}

static void h_messages(struct http_req *r)
{
    struct wjob *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    if (visitor_auth(r, &j->vc) < 0)
        return;
    int64_t off;
    if (app_page(r, &j->limit, &off) < 0)
        return;
    const char *b = http_query(r, "before");
    if (b && (!span_to_i64(span_of(b), &j->before) || j->before <= 0)) {
        http_respond_error(r, ERR_VALIDATION, "before", "before must be a message id.");
        return;
    }
    app_store_read(r, messages_fn, wjob_done, j);
}

/* ---- GET /widget/queue: the visitor's place in the queue, from the router's state ---- */

static void h_queue(struct http_req *r)
{
    struct visitor_claims c;
    if (visitor_auth(r, &c) < 0)
        return;
    json_t *q = on_route_visitor_queue(c.account_id, c.contact_id, c.inbox_id);
    http_respond_json(
        r, 200,
        q ? q
          : json_pack("{s:n, s:n, s:n}", "conversation_id", "position", "estimated_wait_seconds"));
}

/* ---- GET /demo ---- */

struct demo_job {
    struct http_req *r;
    int64_t inbox_id;          /* ?inbox_id, else the first account's first web inbox */
    const char *widget_token;  /* ?widget_token: the inbox whose widget token it is */
    const struct principal *p; /* with ?inbox_id: who asked (a member of its account) */
    char token[65];
    char *html;
    size_t len;
};

static int demo_fn(struct store_tx *tx, void *arg)
{
    struct demo_job *j = arg;
    struct store_rows rows;
    /* Without ?inbox_id: the instance's first account (the shop owner trying Parley out). */
    int rc = j->widget_token
                 ? tx_query(tx, &rows,
                            "SELECT widget_token, account_id FROM inboxes WHERE channel = 'web'"
                            " AND deleted_at IS NULL AND widget_token = $1",
                            "t", j->widget_token)
                 : tx_query(tx, &rows,
                            "SELECT widget_token, account_id FROM inboxes WHERE channel = 'web'"
                            " AND deleted_at IS NULL AND ($1 = 0 OR id = $1)"
                            " AND ($1 > 0 OR account_id = (SELECT MIN(id) FROM accounts))"
                            " ORDER BY id LIMIT 1",
                            "i", j->inbox_id);
    if (rc < 0)
        return rc;
    int64_t account_id = 0;
    if ((rc = rows_next(&rows)) == 1) {
        snprintf(j->token, sizeof(j->token), "%s", rows_text(&rows, 0));
        account_id = rows_i64(&rows, 1);
    }
    rows_close(&rows);
    if (rc <= 0)
        return rc < 0 ? rc : ERR_NOTFOUND;
    /* By id, another account's inbox does not exist for the caller. (Its widget token is public:
     * it is in the page of every site the widget is on.) */
    bool member = !j->inbox_id;
    for (int i = 0; j->p && i < j->p->nmemberships; i++)
        member = member || j->p->memberships[i].account_id == account_id;
    if (!member)
        return ERR_NOTFOUND;
    /* The page is small; reading it here keeps file I/O off the loop. */
    char path[4200];
    snprintf(path, sizeof(path), "%s/demo.html", the_app->web_dir);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return ERR_NOTFOUND;
    char *buf = xmalloc(256 * 1024);
    size_t n = fread(buf, 1, 256 * 1024 - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* Replace every {{WIDGET_TOKEN}} (the token is hex: safe in HTML). */
    static const char mark[] = "{{WIDGET_TOKEN}}";
    size_t cap = n + 16 * strlen(j->token) + 1, o = 0;
    j->html = xmalloc(cap);
    for (char *p = buf, *q; *p; p = q + sizeof(mark) - 1) {
        q = strstr(p, mark);
        size_t k = q ? (size_t)(q - p) : strlen(p);
        if (o + k + strlen(j->token) + 1 > cap) {
            cap = 2 * (o + k + strlen(j->token) + 1);
            j->html = xrealloc(j->html, cap);
        }
        memcpy(j->html + o, p, k);
        o += k;
        if (!q)
            break;
        memcpy(j->html + o, j->token, strlen(j->token));
        o += strlen(j->token);
    }
    j->len = o;
    free(buf);
    return 0;
}

static void demo_done(void *arg, int rc)
{
    struct demo_job *j = arg;
    char *html = j->html; /* j lives in the request's arena: gone once it is answered */
    if (rc < 0) {
        http_respond_error(j->r, rc, NULL,
                           rc == ERR_NOTFOUND ? "The demo needs a web inbox and a built web/ "
                                                "(make builds it)."
                                              : NULL);
    } else {
        http_add_header(j->r, "Cache-Control: no-store");
        http_respond(j->r, 200, "text/html; charset=utf-8", html, j->len);
    }
    free(html);
}

static void demo_authed(struct http_req *r, struct principal *p, int rc)
{
    if (!p) {
        http_respond_error(r, rc < 0 && rc != ERR_UNAUTHORIZED ? rc : ERR_UNAUTHORIZED, NULL,
                           "Sign in to the console first: the demo of a chosen inbox opens for "
                           "the members of its account.");
        return;
    }
    struct demo_job *j = r->user;
    j->p = p;
    app_store_read(r, demo_fn, demo_done, j);
}

static void h_demo(struct http_req *r)
{
    struct demo_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    const char *want = http_query(r, "inbox_id");
    if (want && (!span_to_i64(span_of(want), &j->inbox_id) || j->inbox_id <= 0)) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    j->widget_token = http_query(r, "widget_token");
    if (j->widget_token && (j->inbox_id || !*j->widget_token || strlen(j->widget_token) > 64)) {
        http_respond_error(r, ERR_NOTFOUND, NULL, NULL);
        return;
    }
    app_page_headers(r);
    if (!j->inbox_id) {
        app_store_read(r, demo_fn, demo_done, j);
        return;
    }
    struct span token = auth_request_token(r);
    if (!token.len) {
        demo_authed(r, NULL, ERR_UNAUTHORIZED);
        return;
    }
    r->user = j; /* until the lookup answers */
    auth_lookup(r, token, demo_authed);
}

/* CORS preflight for the widget's calls from other sites. */
static void h_preflight(struct http_req *r)
{
    http_add_header(r, "Access-Control-Allow-Methods: GET, POST, PATCH");
    http_add_header(r, "Access-Control-Allow-Headers: Content-Type, Authorization");
    http_add_header(r, "Access-Control-Max-Age: 86400");
    http_respond(r, 204, NULL, NULL, 0);
}

void api_widget_routes(struct router *rt)
{
    static const char *const paths[] = {"/api/v1/widget/sessions", "/api/v1/widget/contact",
                                        "/api/v1/widget/messages", "/api/v1/widget/attachments",
                                        "/api/v1/widget/queue",    "/api/v1/widget/handoff"};
    for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
        router_add(rt, HTTP_OPTIONS, paths[i], h_preflight, R_PUBLIC);
    router_add(rt, HTTP_POST, "/api/v1/widget/sessions", h_session, R_PUBLIC);
    router_add(rt, HTTP_PATCH, "/api/v1/widget/contact", h_contact, R_PUBLIC);
    router_add(rt, HTTP_GET, "/api/v1/widget/messages", h_messages, R_PUBLIC);
    router_add(rt, HTTP_GET, "/api/v1/widget/queue", h_queue, R_PUBLIC);
    router_add(rt, HTTP_GET, "/demo", h_demo, R_PUBLIC);
}
