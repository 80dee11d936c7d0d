/* api_flows.c: the bot's guided flows (model/flow.h), /api/v1/accounts/{aid}/bot/flows. Everyone in
 * the account reads them; admins and supervisors write them. A flow is saved whole: its steps are
 * checked on the loop (shapes, sizes, step targets) and the FAQ entries, teams and skills they name
 * in the write job. Each flow answers with what starts it (`triggers`: intents whose action is the
 * flow, inboxes whose greeting offers it), and cannot be deleted while anything does (409). Every
 * change emits bot_flow.created/updated/deleted (private), which the bot follows for the greeting's
 * buttons (event/on_bot.c). */
#include "base/sys.h"

#include "api/app.h"
#include "conv/conv.h"
#include "base/clock.h"
#include "event/event.h"
#include "model/bot.h"
#include "model/conversation.h"
#include "model/flow.h"

enum { BUTTON_LABEL_MAX = 40, Q_MAX = 200 };

struct flow_job {
    struct http_req *r;
    int64_t account_id, user_id, id, limit, offset;
    json_t *in; /* the body: strings below borrow from it */
    const char *name, *button_label, *q;
    bool has_enabled, enabled;
    char *steps; /* normalized steps JSON, or NULL when not given */
    json_t *refs;
    json_t *out;
    int http_status;
    struct jfail fail;
    struct event_batch events;
};

#define FLOW_COLS "f.id, f.name, f.button_label, f.enabled, f.steps, f.created_at, f.updated_at"

static json_t *flow_json(struct store_rows *rows)
{
    return json_pack("{s:I, s:s, s:s, s:b, s:o, s:{s:[], s:[]}, s:o, s:o}", "id",
                     (json_int_t)rows_i64(rows, 0), "name", rows_text(rows, 1), "button_label",
                     rows_text(rows, 2), "enabled", (int)rows_i64(rows, 3), "steps",
                     json_loads_or(rows_text(rows, 4), json_array()), "triggers", "intents",
                     "inboxes", "created_at", json_time(rows_i64(rows, 5)), "updated_at",
                     json_time(rows_i64(rows, 6)));
}

/* Fills each flow's triggers: the intents that start it and the inboxes whose greeting offers it.
 * flows is one flow object or an array of them. */
static int add_triggers(struct store_tx *tx, int64_t account_id, json_t *flows)
{
    json_t *list = json_is_array(flows) ? json_incref(flows) : json_pack("[O]", flows);
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT id, name, flow_id FROM intents WHERE account_id = $1"
                      " AND flow_id IS NOT NULL ORDER BY name",
                      "i", account_id);
    if (rc < 0)
        goto out;
    while ((rc = rows_next(&rows)) == 1) {
        size_t i;
        json_t *f;
        json_array_foreach(list, i, f)
        {
            if (json_integer_value(json_object_get(f, "id")) == rows_i64(&rows, 2))
                json_array_append_new(json_object_get(json_object_get(f, "triggers"), "intents"),
                                      json_pack("{s:I, s:s}", "id", (json_int_t)rows_i64(&rows, 0),
                                                "name", rows_text(&rows, 1)));
        }
    }
    rows_close(&rows);
    if (rc < 0)
        goto out;
    rc = tx_query(tx, &rows,
                  "SELECT id, name, bot FROM inboxes WHERE account_id = $1"
                  " AND deleted_at IS NULL ORDER BY id",
                  "i", account_id);
    if (rc < 0)
        goto out;
    while ((rc = rows_next(&rows)) == 1) {
        struct bot_settings s;
        bot_settings_load(rows_text(&rows, 2), &s);
        size_t i;
        json_t *f;
        json_array_foreach(list, i, f)
        {
            if (bot_offers_flow(&s, json_integer_value(json_object_get(f, "id"))))
                json_array_append_new(json_object_get(json_object_get(f, "triggers"), "inboxes"),
                                      json_pack("{s:I, s:s}", "id", (json_int_t)rows_i64(&rows, 0),
                                                "name", rows_text(&rows, 1)));
        }
    }
    rows_close(&rows);
out:
    json_decref(list);
    return rc < 0 ? rc : 0;
}

static int load(struct store_tx *tx, struct flow_job *j)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT " FLOW_COLS " FROM bot_flows f WHERE f.id = $1 AND f.account_id = $2",
                      "ii", j->id, j->account_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1) {
        json_decref(j->out);
        j->out = flow_json(&rows);
    }
    rows_close(&rows);
    if (rc != 1)
        return rc == 0 ? ERR_NOTFOUND : rc;
    return add_triggers(tx, j->account_id, j->out);
}

static int emit(struct store_tx *tx, struct flow_job *j, const char *verb)
{
    char type[32];
    snprintf(type, sizeof(type), "bot_flow.%s", verb);
    json_t *data = strcmp(verb, "deleted") == 0 ? json_pack("{s:I}", "id", (json_int_t)j->id)
                                                : json_incref(j->out);
    return event_emit(tx, &j->events, j->account_id, type, 0, 0, 0, true, data);
}

/* The FAQ entries, teams and skills the steps name exist in the account. */
static int check_refs(struct store_tx *tx, struct flow_job *j)
{
    size_t i;
    json_t *ref;
    json_array_foreach(j->refs, i, ref)
    {
        const char *type = json_string_value(json_object_get(ref, "type"));
        const char *field = json_string_value(json_object_get(ref, "field"));
        int64_t id = json_integer_value(json_object_get(ref, "id")), x;
        int rc;
        if (strcmp(type, "team") == 0) {
            if ((rc = conv_check_team(tx, j->account_id, id, field, &j->fail)) < 0)
                return rc;
            continue;
        }
        bool faq = strcmp(type, "faq") == 0;
        rc = tx_query_i64(tx, &x,
                          faq ? "SELECT id FROM faqs WHERE id = $1 AND account_id = $2"
                              : "SELECT id FROM skills WHERE id = $1 AND account_id = $2",
                          "ii", id, j->account_id);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, field, "%s %" PRId64 " does not exist.",
                             faq ? "FAQ entry" : "skill", id);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- jobs ---- */

static struct flow_job *new_job(struct http_req *r, bool with_id)
{
    struct principal *p = req_principal(r);
    struct flow_job *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->account_id = p->account_id;
    j->user_id = p->user_id;
    if (with_id && app_id_param(r, "id", &j->id) < 0)
        return NULL;
    return j;
}

static void job_release(struct flow_job *j)
{
    json_decref(j->in);
    json_decref(j->refs);
    free(j->steps);
    j->in = j->refs = NULL;
    j->steps = NULL;
}

static void job_done(void *arg, int rc)
{
    struct flow_job *j = arg;
    job_release(j);
    if (rc == ERR_CONFLICT) {
        event_batch_reset(&j->events);
        json_decref(j->out);
        if (j->fail.msg[0])
            http_respond_error(j->r, rc, NULL, j->fail.msg);
        else
            http_respond_error(j->r, rc, "name", "Another flow already has this name.");
        return;
    }
    app_finish(j->r, rc, j->out, j->http_status, &j->events, &j->fail);
}

static int parse(struct http_req *r, struct flow_job *j, bool create)
{
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return -1;
    j->in = body;
    struct jfail *f = &j->fail;
    static const char *const known[] = {"name", "button_label", "enabled", "steps", NULL};
    int rc = 0;
    const char *key;
    json_t *x;
    json_object_foreach(body, key, x)
    {
        bool ok = false;
        for (int i = 0; known[i]; i++)
            ok = ok || strcmp(known[i], key) == 0;
        if (!ok) {
            rc = json_fail(f, key, "%.40s is not a field of a flow.", key);
            break;
        }
    }
    /* the name identifies the flow (unique; the greeting's button when button_label is ""): none
     * of its characters may be invisible or turn the text around */
    if (rc >= 0 &&
        (rc = json_field_str(body, "name", create, 1, FLOW_NAME_MAX, &j->name, f)) == 1 &&
        text_blank(j->name))
        rc = json_fail(f, "name", "name must not be blank.");
    if (rc >= 0 && j->name)
        rc = json_check_chars(j->name, "name", NULL, UTF8_IDENT, f);
    if (rc >= 0 && (rc = json_field_str(body, "button_label", false, 0, BUTTON_LABEL_MAX,
                                        &j->button_label, f)) == 1)
        rc = json_check_chars(j->button_label, "button_label", NULL, UTF8_NAME, f);
    if (rc >= 0)
        j->has_enabled = (rc = json_field_bool(body, "enabled", false, &j->enabled, f)) == 1;
    json_t *steps = json_object_get(body, "steps");
    if (rc >= 0 && create && !steps)
        rc = json_fail(f, "steps", "steps is required: a list of 1 to %d steps.", FLOW_STEPS_MAX);
    if (rc >= 0 && steps) {
        json_t *clean;
        if ((rc = flow_steps_parse(steps, &clean, &j->refs, f)) == 0) {
            j->steps = json_dump_compact(clean, NULL);
            json_decref(clean);
        }
    }
    if (rc < 0) {
        struct jfail copy = *f; /* answering frees the request's arena, and j with it */
        job_release(j);
        http_respond_jfail(r, rc, &copy);
        return -1;
    }
    return 0;
}

static int create_fn(struct store_tx *tx, void *arg)
{
    struct flow_job *j = arg;
    event_batch_reset(&j->events);
    memset(&j->fail, 0, sizeof(j->fail));
    int rc = check_refs(tx, j);
    if (rc < 0)
        return rc;
    int64_t now = clock_wall_ms();
    rc = tx_query_i64(tx, &j->id,
                      "INSERT INTO bot_flows (account_id, name, button_label, enabled, steps,"
                      " created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                      "ittbti", j->account_id, j->name, j->button_label ? j->button_label : "",
                      j->has_enabled ? (int)j->enabled : 1, j->steps, now);
    if (rc < 0 || (rc = load(tx, j)) < 0)
        return rc;
    return emit(tx, j, "created");
}

static int update_fn(struct store_tx *tx, void *arg)
{
    struct flow_job *j = arg;
    event_batch_reset(&j->events);
    memset(&j->fail, 0, sizeof(j->fail));
    int rc = check_refs(tx, j);
    if (rc < 0)
        return rc;
    rc = tx_exec(tx,
                 "UPDATE bot_flows SET name = COALESCE($1, name),"
                 " button_label = COALESCE($2, button_label),"
                 " enabled = CASE WHEN $3 THEN $4 ELSE enabled END, steps = COALESCE($5, steps),"
                 " updated_at = $6 WHERE id = $7 AND account_id = $8",
                 "ttbbtiii", j->name, j->button_label, (int)j->has_enabled, (int)j->enabled,
                 j->steps, clock_wall_ms(), j->id, j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = load(tx, j)) < 0)
        return rc;
    return emit(tx, j, "updated");
}

static int delete_fn(struct store_tx *tx, void *arg)
{
    struct flow_job *j = arg;
    event_batch_reset(&j->events);
    memset(&j->fail, 0, sizeof(j->fail));
    int rc = load(tx, j); /* 404 for another account's id; and what starts the flow */
    if (rc < 0)
        return rc;
    json_t *trig = json_object_get(j->out, "triggers");
    json_t *intent = json_array_get(json_object_get(trig, "intents"), 0);
    json_t *inbox = json_array_get(json_object_get(trig, "inboxes"), 0);
    if (intent) {
        json_fail(&j->fail, NULL,
                  "The intent %.64s starts this flow: give it another action first.",
                  json_string_value(json_object_get(intent, "name")));
        return ERR_CONFLICT;
    }
    if (inbox) {
        json_fail(&j->fail, NULL,
                  "The greeting of the inbox %.64s offers this flow: remove it there first.",
                  json_string_value(json_object_get(inbox, "name")));
        return ERR_CONFLICT;
    }
    json_decref(j->out);
    j->out = NULL;
    rc = tx_exec(tx, "DELETE FROM bot_flows WHERE id = $1 AND account_id = $2", "ii", j->id,
                 j->account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    if ((rc = emit(tx, j, "deleted")) < 0)
        return rc;
    return audit_add(tx, j->account_id, j->user_id, "bot_flow.deleted", "bot_flows", j->id,
                     j->r->ip, NULL);
}

static int get_fn(struct store_tx *tx, void *arg)
{
    return load(tx, arg);
}

static int list_fn(struct store_tx *tx, void *arg)
{
    struct flow_job *j = arg;
    const char *q = j->q ? j->q : "";
    int64_t total;
#define FLOW_WHERE                                                                                 \
    " FROM bot_flows f WHERE f.account_id = $1 AND ($2 = '' OR instr(lower(f.name), lower($2)) > " \
    "0)"
    int rc = tx_query_i64(tx, &total, "SELECT COUNT(*)" FLOW_WHERE, "it", j->account_id, q);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(tx, &rows, "SELECT " FLOW_COLS FLOW_WHERE " ORDER BY f.name LIMIT $3 OFFSET $4",
                  "itii", j->account_id, q, j->limit, j->offset);
    if (rc < 0)
        return rc;
    if ((rc = app_rows_page(&rows, flow_json, total, j->limit, j->offset, &j->out)) < 0)
        return rc;
    return add_triggers(tx, j->account_id, json_object_get(j->out, "data"));
}

/* ---- handlers ---- */

static void h_list(struct http_req *r)
{
    struct flow_job *j = new_job(r, false);
    if (app_page(r, &j->limit, &j->offset) < 0)
        return;
    j->q = http_query(r, "q");
    if (j->q && strlen(j->q) > Q_MAX) {
        http_respond_error(r, ERR_VALIDATION, "q", "q must be at most 200 characters.");
        return;
    }
    app_store_read(r, list_fn, job_done, j);
}

static void h_get(struct http_req *r)
{
    struct flow_job *j = new_job(r, true);
    if (j)
        app_store_read(r, get_fn, job_done, j);
}

static void h_create(struct http_req *r)
{
    struct flow_job *j = new_job(r, false);
    if (parse(r, j, true) < 0)
        return;
    j->http_status = 201;
    struct flow_job held = *j; /* a refused job is answered 503 at once, which frees j */
    if (app_store_write(r, create_fn, job_done, j) < 0)
        job_release(&held);
}

static void h_update(struct http_req *r)
{
    struct flow_job *j = new_job(r, true);
    if (!j || parse(r, j, false) < 0)
        return;
    struct flow_job held = *j; /* as in h_create */
    if (app_store_write(r, update_fn, job_done, j) < 0)
        job_release(&held);
}

static void h_delete(struct http_req *r)
{
    struct flow_job *j = new_job(r, true);
    if (j)
        app_store_write(r, delete_fn, job_done, j);
}

void api_flows_routes(struct router *rt)
{
    const char *base = "/api/v1/accounts/{aid}/bot/flows",
               *one = "/api/v1/accounts/{aid}/bot/flows/{id}";
    router_add(rt, HTTP_GET, base, h_list, R_ACCOUNT);
    router_add(rt, HTTP_POST, base, h_create, R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_GET, one, h_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, one, h_update, R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_DELETE, one, h_delete, R_ACCOUNT | R_SUPERVISOR);
}
