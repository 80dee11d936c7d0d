/* api_routing.c: the routing API: an inbox's queue, the supervisors' live panel (agents' loads and
 * queues), why the router chose an agent, a conversation's assignment history, transfers, routing
 * rules and skills. The live parts read the router's state on the loop (event/on_route.c); names
 * and access checks come from a read job. */
#include "base/sys.h"
#include "base/clock.h"
#include "api/app.h"
#include "conv/conv.h"
#include "event/event.h"
#include "event/on_route.h"
#include "model/conversation.h"
#include "route/route.h"
#include "route/rules.h"

struct rjob {
    struct http_req *r;
    struct conv_actor actor;
    int64_t id;
    json_t *body; /* the answer */
    json_t *input;
    int status;
    /* queue */
    json_t *items;
    /* transfer */
    int64_t assignee_id, team_id;
    bool has_assignee, has_team;
    const char *note;
    /* rules */
    struct route_rule_input rule;
    struct event_batch events;
    struct jfail fail;
};

static struct rjob *new_job(struct http_req *r, bool with_id)
{
    struct principal *p = req_principal(r);
    struct rjob *j = arena_calloc(&r->arena, sizeof(*j));
    j->r = r;
    j->actor.account_id = p->account_id;
    j->actor.user_id = p->user_id;
    j->actor.role = p->role;
    if (with_id && app_id_param(r, "id", &j->id) < 0)
        return NULL;
    return j;
}

static void job_done(void *arg, int rc)
{
    struct rjob *j = arg;
    json_decref(j->input);
    json_decref(j->items);
    if (rc == ERR_CONFLICT) {
        event_batch_reset(&j->events);
        json_decref(j->body);
        http_respond_error(j->r, rc, "name", "Another rule or skill already has this name.");
        return;
    }
    app_finish(j->r, rc, j->body, j->status, &j->events, &j->fail);
}

static json_t *opt_id(int64_t v)
{
    return v > 0 ? json_integer(v) : json_null();
}

/* ---- GET /inboxes/{id}/queue ---- */

static int queue_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    int64_t ok;
    int rc =
        tx_query_i64(tx, &ok,
                     "SELECT 1 FROM inboxes i WHERE i.id = $1 AND i.account_id = $2"
                     " AND i.deleted_at IS NULL AND ($3 > 0 OR EXISTS (SELECT 1 FROM"
                     " inbox_members m WHERE m.inbox_id = i.id AND m.user_id = $4))",
                     "iiii", j->id, j->actor.account_id, (int64_t)j->actor.role, j->actor.user_id);
    if (rc < 0)
        return rc;
    size_t i;
    json_t *it;
    json_array_foreach(json_object_get(j->body, "data"), i, it)
    {
        int64_t cid = json_integer_value(json_object_get(json_object_get(it, "contact"), "id"));
        struct store_rows rows;
        if ((rc = tx_query(tx, &rows, "SELECT name FROM contacts WHERE id = $1 AND account_id = $2",
                           "ii", cid, j->actor.account_id)) < 0)
            return rc;
        char nb[48];
        const char *name = rows_next(&rows) == 1 ? rows_text(&rows, 0) : "";
        json_object_set_new(json_object_get(it, "contact"), "name",
                            json_string(contact_display_name(name, cid, nb, sizeof(nb))));
        rows_close(&rows);
    }
    return 0;
}

static json_t *agent_json(struct route_account *acc, struct route_agent *a, int64_t inbox_id,
                          int64_t now)
{
    int load = a->load, cap = a->capacity;
    if (inbox_id)
        route_agent_room(a, inbox_id, &load, &cap);
    static const char *const av[] = {"online", "away", "offline"};
    return json_pack("{s:I, s:s, s:s, s:b, s:b, s:i, s:o}", "user_id", (json_int_t)a->user_id,
                     "name", a->name, "availability", av[a->availability], "online",
                     route_agent_online(acc, a, now), "connected", a->connections > 0, "load", load,
                     "capacity", cap < 0 ? json_null() : json_integer(cap));
}

static void h_queue(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (!j)
        return;
    int64_t now = clock_wall_ms();
    struct route_account *acc = route_account(on_route_state(), j->actor.account_id);
    /* the router knows the account's inboxes; an id it does not know has an empty queue (and
     * the read job answers 404 if it is not the account's) */
    static struct route_inbox none;
    struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)j->id);
    if (!in)
        in = &none;
    json_t *data = json_array(), *agents = json_array();
    double slots = in->nqueue ? route_online_slots(acc, in, now) : 0;
    for (size_t i = 0; i < in->nqueue; i++) {
        struct route_conv *c = in->queue[i];
        int64_t eta = route_eta_s(in, (int)i + 1, slots);
        json_array_append_new(
            data,
            json_pack("{s:I, s:i, s:I, s:s, s:o, s:b, s:o, s:{s:I}}", "conversation_id",
                      (json_int_t)c->id, "position", (int)i + 1, "waiting_seconds",
                      (json_int_t)((now - c->queued_at) / 1000), "priority",
                      conv_priority_names[c->priority], "team_id", opt_id(c->team_id), "vip",
                      c->vip, "estimated_wait_seconds", eta >= 0 ? json_integer(eta) : json_null(),
                      "contact", "id", (json_int_t)c->contact_id));
    }
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);) {
        struct route_agent *a = e->val;
        for (size_t k = 0; k < a->nmembers; k++)
            if (a->members[k].inbox_id == j->id && a->members[k].member)
                json_array_append_new(agents, agent_json(acc, a, j->id, now));
    }
    j->body = json_pack("{s:o, s:{s:s, s:I, s:o, s:o}}", "data", data, "meta", "strategy",
                        route_strategy_names[in->settings.strategy], "size", (json_int_t)in->nqueue,
                        "mean_handle_seconds",
                        in->handled ? json_integer((json_int_t)in->mean_handle_s) : json_null(),
                        "agents", agents);
    app_store_read(r, queue_fn, job_done, j);
}

/* ---- GET /routing/agents (supervisors) ---- */

static int panel_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    /* skill names, and which inboxes are live */
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT id, name FROM skills WHERE account_id = $1", "i",
                      j->actor.account_id);
    if (rc < 0)
        return rc;
    json_t *skills = json_object();
    while ((rc = rows_next(&rows)) == 1) {
        char k[24];
        snprintf(k, sizeof(k), "%" PRId64, rows_i64(&rows, 0));
        json_object_set_new(skills, k, json_string(rows_text(&rows, 1)));
    }
    rows_close(&rows);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(j->body, "data"), i, a)
    {
        json_t *s = json_object_get(a, "skills");
        size_t k;
        json_t *sk;
        json_array_foreach(s, k, sk)
        {
            char key[24];
            snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT,
                     json_integer_value(json_object_get(sk, "skill_id")));
            json_t *n = json_object_get(skills, key);
            json_object_set_new(sk, "name", n ? json_incref(n) : json_string(""));
        }
    }
    json_decref(skills);
    if (rc < 0)
        return rc;
    json_t *live = json_array();
    json_array_foreach(json_object_get(j->body, "queues"), i, a)
    {
        int64_t ok;
        rc = tx_query_i64(tx, &ok,
                          "SELECT 1 FROM inboxes WHERE id = $1 AND account_id = $2"
                          " AND deleted_at IS NULL",
                          "ii", json_integer_value(json_object_get(a, "inbox_id")),
                          j->actor.account_id);
        if (rc == 0)
            json_array_append(live, a);
        else if (rc != ERR_NOTFOUND) {
            json_decref(live);
            return rc;
        }
    }
    json_object_set_new(j->body, "queues", live);
    return 0;
}

static void h_panel(struct http_req *r)
{
    struct rjob *j = new_job(r, false);
    int64_t now = clock_wall_ms();
    struct route_account *acc = route_account(on_route_state(), j->actor.account_id);
    json_t *agents = json_array(), *queues = json_array();
    static const char *const roles[] = {"agent", "supervisor", "admin"};
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);) {
        struct route_agent *a = e->val;
        if (!a->present)
            continue;
        json_t *o = agent_json(acc, a, 0, now);
        json_t *skills = json_array(), *langs = json_array();
        for (size_t k = 0; k < a->nskills; k++)
            json_array_append_new(skills, json_pack("{s:I, s:i}", "skill_id",
                                                    (json_int_t)a->skills[k].skill_id, "level",
                                                    a->skills[k].level));
        for (int k = 0; k < a->nlanguages; k++)
            json_array_append_new(langs, json_string(a->languages[k]));
        json_object_set_new(o, "role", json_string(roles[a->role]));
        json_object_set_new(o, "skills", skills);
        json_object_set_new(o, "languages", langs);
        json_array_append_new(agents, o);
    }
    for (size_t i = 0; map_next(&acc->inboxes, &i, &e);) {
        struct route_inbox *in = e->val;
        int64_t oldest = in->nqueue ? (now - in->queue[0]->queued_at) / 1000 : 0;
        for (size_t k = 1; k < in->nqueue; k++)
            if ((now - in->queue[k]->queued_at) / 1000 > oldest)
                oldest = (now - in->queue[k]->queued_at) / 1000;
        json_array_append_new(queues, json_pack("{s:I, s:s, s:s, s:I, s:I}", "inbox_id",
                                                (json_int_t)in->id, "name", in->name, "strategy",
                                                route_strategy_names[in->settings.strategy], "size",
                                                (json_int_t)in->nqueue, "oldest_waiting_seconds",
                                                (json_int_t)oldest));
    }
    j->body = json_pack("{s:o, s:o}", "data", agents, "queues", queues);
    app_store_read(r, panel_fn, job_done, j);
}

/* ---- GET /conversations/{id}/routing (supervisors) ---- */

static int explain_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT c.inbox_id, COALESCE(c.rule_id, 0), COALESCE(r.name, ''), i.routing"
                      " FROM conversations c JOIN inboxes i ON i.id = c.inbox_id"
                      " LEFT JOIN routing_rules r ON r.id = c.rule_id"
                      " WHERE c.id = $1 AND c.account_id = $2",
                      "ii", j->id, j->actor.account_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc < 0 ? rc : ERR_NOTFOUND;
    }
    struct route_settings s;
    route_settings_load(rows_text(&rows, 3), &s);
    json_t *rule = rows_i64(&rows, 1)
                       ? json_pack("{s:I, s:s}", "id", (json_int_t)rows_i64(&rows, 1), "name",
                                   rows_text(&rows, 2))
                       : json_null();
    rows_close(&rows);
    j->body = json_pack("{s:s, s:n, s:n, s:s, s:n, s:o, s:[], s:[]}", "strategy",
                        route_strategy_names[s.strategy], "kind", "chosen", "reason",
                        "No automatic decision was made for this conversation.", "created_at",
                        "rule", rule, "candidates", "decisions");
    rc = tx_query(tx, &rows,
                  "SELECT id, kind, strategy, chosen_user_id, reason, candidates, created_at"
                  " FROM routing_decisions WHERE conversation_id = $1 AND account_id = $2"
                  " ORDER BY id",
                  "ii", j->id, j->actor.account_id);
    if (rc < 0)
        return rc;
    json_t *list = json_object_get(j->body, "decisions");
    while ((rc = rows_next(&rows)) == 1) {
        json_t *chosen = rows_null(&rows, 3) ? json_null() : json_integer(rows_i64(&rows, 3));
        json_array_append_new(
            list, json_pack("{s:I, s:s, s:O, s:s, s:o}", "id", (json_int_t)rows_i64(&rows, 0),
                            "kind", rows_text(&rows, 1), "chosen", chosen, "reason",
                            rows_text(&rows, 4), "created_at", json_time(rows_i64(&rows, 6))));
        json_object_set_new(j->body, "strategy", json_string(rows_text(&rows, 2)));
        json_object_set_new(j->body, "kind", json_string(rows_text(&rows, 1)));
        json_object_set_new(j->body, "chosen", chosen);
        json_object_set_new(j->body, "reason", json_string(rows_text(&rows, 4)));
        json_object_set_new(j->body, "created_at", json_time(rows_i64(&rows, 6)));
        json_t *cands = json_loads(rows_text(&rows, 5), 0, NULL);
        json_object_set_new(j->body, "candidates", json_is_array(cands) ? cands : json_array());
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

static void h_explain(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (j)
        app_store_read(r, explain_fn, job_done, j);
}

/* ---- GET /conversations/{id}/assignments ---- */

static int history_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    json_t *conv;
    int rc = conv_get(tx, &j->actor, j->id, &conv);
    if (rc < 0)
        return rc;
    json_decref(conv);
    struct store_rows rows;
    rc = tx_query(tx, &rows,
                  "SELECT a.id, a.assignee_id, COALESCE(un.name, u.name), a.team_id, t.name,"
                  " a.previous_assignee_id, a.actor_type, a.actor_id, COALESCE(an.name, au.name),"
                  " a.reason, a.note, a.created_at"
                  " FROM conversation_assignments a LEFT JOIN users u ON u.id = a.assignee_id"
                  " LEFT JOIN account_users un ON un.account_id = a.account_id"
                  " AND un.user_id = a.assignee_id"
                  " LEFT JOIN users au ON au.id = a.actor_id"
                  " LEFT JOIN account_users an ON an.account_id = a.account_id"
                  " AND an.user_id = a.actor_id"
                  " LEFT JOIN teams t ON t.id = a.team_id"
                  " WHERE a.conversation_id = $1 AND a.account_id = $2 ORDER BY a.id",
                  "ii", j->id, j->actor.account_id);
    if (rc < 0)
        return rc;
    json_t *data = json_array();
    while ((rc = rows_next(&rows)) == 1) {
        json_t *o = json_pack(
            "{s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:s, s:s, s:o}", "id",
            (json_int_t)rows_i64(&rows, 0), "assignee_id", opt_id(rows_i64(&rows, 1)),
            "assignee_name", rows_null(&rows, 2) ? json_null() : json_string(rows_text(&rows, 2)),
            "team_id", opt_id(rows_i64(&rows, 3)), "team_name",
            rows_null(&rows, 4) ? json_null() : json_string(rows_text(&rows, 4)),
            "previous_assignee_id", opt_id(rows_i64(&rows, 5)), "actor_type", rows_text(&rows, 6),
            "actor_id", opt_id(rows_i64(&rows, 7)), "actor_name",
            rows_null(&rows, 8) ? json_null() : json_string(rows_text(&rows, 8)), "reason",
            rows_text(&rows, 9), "note", rows_text(&rows, 10), "created_at",
            json_time(rows_i64(&rows, 11)));
        json_array_append_new(data, o);
    }
    rows_close(&rows);
    j->body = json_pack("{s:o}", "data", data);
    return rc < 0 ? rc : 0;
}

static void h_history(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (j)
        app_store_read(r, history_fn, job_done, j);
}

/* ---- POST /conversations/{id}/transfer ---- */

static int transfer_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    event_batch_reset(&j->events);
    json_decref(j->body);
    j->body = NULL;
    struct conv_transfer_to to = {.assignee_id = j->has_assignee ? j->assignee_id : 0,
                                  .team_id = j->has_team ? j->team_id : 0,
                                  .note = j->note};
    return conv_transfer(tx, &j->actor, j->id, &to, &j->events, &j->body, &j->fail);
}

static void h_transfer(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    int rc = 0;
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v)
    {
        if (rc >= 0 && strcmp(key, "assignee_id") && strcmp(key, "team_id") && strcmp(key, "note"))
            rc = json_fail(&f, key, "unknown field; send assignee_id and/or team_id, and a note.");
    }
    if (rc >= 0)
        j->has_assignee = (rc = json_field_int(body, "assignee_id", false, 1, INT64_MAX,
                                               &j->assignee_id, &f)) == 1;
    if (rc >= 0)
        j->has_team =
            (rc = json_field_int(body, "team_id", false, 1, INT64_MAX, &j->team_id, &f)) == 1;
    if (rc >= 0 && !j->has_assignee && !j->has_team)
        rc = json_fail(&f, "assignee_id", "say who takes it over: assignee_id, team_id or both.");
    if (rc >= 0)
        rc = json_field_str(body, "note", false, 0, 1000, &j->note, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    if (j->note)
        j->note = arena_strndup(&r->arena, j->note, strlen(j->note));
    json_decref(body);
    app_store_write(r, transfer_fn, job_done, j);
}

/* ---- routing rules ---- */

#define RULE_COLS                                                                                  \
    "r.id, r.name, r.inbox_id, r.position, r.enabled, r.match, r.conditions, r.team_id,"           \
    " s.name, r.min_level, r.priority, r.created_at, r.updated_at"
#define RULE_FROM " FROM routing_rules r LEFT JOIN skills s ON s.id = r.skill_id"

static json_t *rule_json(struct store_rows *rows)
{
    json_t *conds = json_loads(rows_text(rows, 6), 0, NULL);
    if (!json_is_array(conds)) { /* a corrupt row: no conditions (it matches nothing either) */
        json_decref(conds);
        conds = json_array();
    }
    json_t *actions = json_object();
    if (!rows_null(rows, 7))
        json_object_set_new(actions, "team_id", json_integer(rows_i64(rows, 7)));
    if (!rows_null(rows, 8)) {
        json_object_set_new(actions, "skill", json_string(rows_text(rows, 8)));
        json_object_set_new(actions, "min_level", json_integer(rows_i64(rows, 9)));
    }
    if (!rows_null(rows, 10))
        json_object_set_new(actions, "priority", json_string(rows_text(rows, 10)));
    return json_pack("{s:I, s:s, s:o, s:I, s:b, s:s, s:o, s:o, s:o, s:o}", "id",
                     (json_int_t)rows_i64(rows, 0), "name", rows_text(rows, 1), "inbox_id",
                     rows_null(rows, 2) ? json_null() : json_integer(rows_i64(rows, 2)), "position",
                     (json_int_t)rows_i64(rows, 3), "enabled", (int)rows_i64(rows, 4), "match",
                     rows_text(rows, 5), "conditions", conds, "actions", actions, "created_at",
                     json_time(rows_i64(rows, 11)), "updated_at", json_time(rows_i64(rows, 12)));
}

static int rule_load(struct store_tx *tx, int64_t account_id, int64_t id, json_t **out)
{
    struct store_rows rows;
    int rc =
        tx_query(tx, &rows, "SELECT " RULE_COLS RULE_FROM " WHERE r.id = $1 AND r.account_id = $2",
                 "ii", id, account_id);
    if (rc < 0)
        return rc;
    rc = rows_next(&rows);
    if (rc == 1)
        *out = rule_json(&rows);
    rows_close(&rows);
    return rc == 1 ? 0 : rc == 0 ? ERR_NOTFOUND : rc;
}

static int rules_list_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT " RULE_COLS RULE_FROM " WHERE r.account_id = $1"
                      " ORDER BY r.position, r.id",
                      "i", j->actor.account_id);
    if (rc < 0)
        return rc;
    json_t *data = json_array();
    while ((rc = rows_next(&rows)) == 1)
        json_array_append_new(data, rule_json(&rows));
    rows_close(&rows);
    j->body = json_pack("{s:o}", "data", data);
    return rc < 0 ? rc : 0;
}

static void h_rules_list(struct http_req *r)
{
    struct rjob *j = new_job(r, false);
    app_store_read(r, rules_list_fn, job_done, j);
}

/* rule_refs: the inbox and team exist in the account; the skill is made if new (its id out). */
static int rule_refs(struct store_tx *tx, struct rjob *j, int64_t *skill_id)
{
    const struct route_rule_input *in = &j->rule;
    int64_t ok;
    int rc;
    if (in->inbox_id) {
        rc = tx_query_i64(tx, &ok,
                          "SELECT 1 FROM inboxes WHERE id = $1 AND account_id = $2"
                          " AND deleted_at IS NULL",
                          "ii", in->inbox_id, j->actor.account_id);
        if (rc == ERR_NOTFOUND)
            return json_fail(&j->fail, "inbox_id", "inbox %" PRId64 " does not exist.",
                             in->inbox_id);
        if (rc < 0)
            return rc;
    }
    if (in->team_id && (rc = conv_check_team(tx, j->actor.account_id, in->team_id,
                                             "actions.team_id", &j->fail)) < 0)
        return rc;
    *skill_id = 0;
    if (in->skill) {
        rc = tx_exec(tx,
                     "INSERT INTO skills (account_id, name, created_at) VALUES ($1, $2, $3)"
                     " ON CONFLICT (account_id, name) DO NOTHING",
                     "iti", j->actor.account_id, in->skill, clock_wall_ms());
        if (rc < 0)
            return rc;
        if ((rc = tx_query_i64(tx, skill_id,
                               "SELECT id FROM skills WHERE account_id = $1 AND name = $2", "it",
                               j->actor.account_id, in->skill)) < 0)
            return rc;
    }
    return 0;
}

static int rule_changed(struct store_tx *tx, struct rjob *j, const char *what)
{
    json_decref(j->body);
    j->body = NULL;
    int rc = rule_load(tx, j->actor.account_id, j->id, &j->body);
    if (rc < 0)
        return rc;
    return audit_add(tx, j->actor.account_id, j->actor.user_id, what, "routing_rule", j->id,
                     j->r->ip, json_pack("{s:O}", "name", json_object_get(j->body, "name")));
}

static int rule_create_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    struct route_rule_input *in = &j->rule;
    int64_t skill_id, pos = in->position, now = clock_wall_ms();
    int rc = rule_refs(tx, j, &skill_id);
    if (rc < 0)
        return rc;
    if (!in->has_position &&
        (rc = tx_query_i64(tx, &pos,
                           "SELECT COALESCE(MAX(position), 0) + 1 FROM routing_rules"
                           " WHERE account_id = $1",
                           "i", j->actor.account_id)) < 0)
        return rc;
    char *conds = json_dump_compact(in->conditions, NULL);
    rc = tx_query_i64(tx, &j->id,
                      "INSERT INTO routing_rules (account_id, inbox_id, name, position, enabled,"
                      " match, conditions, team_id, skill_id, min_level, priority, created_at,"
                      " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)"
                      " RETURNING id",
                      "intibttnnit"
                      "i",
                      j->actor.account_id, in->inbox_id, in->name, pos, (int)in->enabled,
                      in->match_any ? "any" : "all", conds, in->team_id, skill_id, in->min_level,
                      in->priority >= 0 ? conv_priority_names[in->priority] : NULL, now);
    free(conds);
    if (rc < 0)
        return rc;
    return rule_changed(tx, j, "routing_rule.created");
}

static int rule_update_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    struct route_rule_input *in = &j->rule;
    json_t *old;
    int rc = rule_load(tx, j->actor.account_id, j->id, &old);
    if (rc < 0)
        return rc;
    json_decref(old);
    int64_t skill_id;
    if ((rc = rule_refs(tx, j, &skill_id)) < 0)
        return rc;
    char *conds = in->has_conditions ? json_dump_compact(in->conditions, NULL) : NULL;
    rc = tx_exec(tx,
                 "UPDATE routing_rules SET name = COALESCE($1, name),"
                 " inbox_id = CASE WHEN $2 = 1 THEN $3 ELSE inbox_id END,"
                 " position = CASE WHEN $4 = 1 THEN $5 ELSE position END,"
                 " enabled = CASE WHEN $6 = 1 THEN $7 ELSE enabled END,"
                 " match = CASE WHEN $8 = 1 THEN $9 ELSE match END,"
                 " conditions = COALESCE($10, conditions),"
                 " team_id = CASE WHEN $11 = 1 THEN $12 ELSE team_id END,"
                 " skill_id = CASE WHEN $11 = 1 THEN $13 ELSE skill_id END,"
                 " min_level = CASE WHEN $11 = 1 THEN $14 ELSE min_level END,"
                 " priority = CASE WHEN $11 = 1 THEN $15 ELSE priority END,"
                 " updated_at = $16 WHERE id = $17 AND account_id = $18",
                 "tiniibbittbnnitiii", in->name, (int64_t)in->has_inbox, in->inbox_id,
                 (int64_t)in->has_position, in->position, (int)in->has_enabled, (int)in->enabled,
                 (int64_t)in->has_match, in->match_any ? "any" : "all", conds, (int)in->has_actions,
                 in->team_id, skill_id, in->min_level,
                 in->priority >= 0 ? conv_priority_names[in->priority] : NULL, clock_wall_ms(),
                 j->id, j->actor.account_id);
    free(conds);
    if (rc < 0)
        return rc;
    return rule_changed(tx, j, "routing_rule.updated");
}

static int rule_delete_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    int rc = conv_forget(tx, j->actor.account_id, CONV_REF_RULE, j->id);
    if (rc >= 0)
        rc = tx_exec(tx, "DELETE FROM routing_rules WHERE id = $1 AND account_id = $2", "ii", j->id,
                     j->actor.account_id);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return ERR_NOTFOUND;
    return audit_add(tx, j->actor.account_id, j->actor.user_id, "routing_rule.deleted",
                     "routing_rule", j->id, j->r->ip, NULL);
}

static void h_rule_write(struct http_req *r, bool create)
{
    struct rjob *j = new_job(r, !create);
    if (!j)
        return;
    json_t *body;
    if (http_body_json(r, &body) < 0)
        return;
    struct jfail f = {0};
    int rc = route_rule_parse(body, create, &j->rule, &f);
    if (rc < 0) {
        json_decref(body);
        http_respond_jfail(r, rc, &f);
        return;
    }
    j->input = body; /* the parsed strings point into it; released in job_done */
    j->status = create ? 201 : 200;
    app_store_write(r, create ? rule_create_fn : rule_update_fn, job_done, j);
}

static void h_rule_create(struct http_req *r)
{
    h_rule_write(r, true);
}

static void h_rule_update(struct http_req *r)
{
    h_rule_write(r, false);
}

static int rule_get_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    return rule_load(tx, j->actor.account_id, j->id, &j->body);
}

static void h_rule_get(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (j)
        app_store_read(r, rule_get_fn, job_done, j);
}

static void h_rule_delete(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (j)
        app_store_write(r, rule_delete_fn, job_done, j);
}

/* ---- skills ---- */

static int skills_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT s.id, s.name, (SELECT COUNT(*) FROM user_skills us"
                      " WHERE us.skill_id = s.id) FROM skills s WHERE s.account_id = $1"
                      " ORDER BY s.name",
                      "i", j->actor.account_id);
    if (rc < 0)
        return rc;
    json_t *data = json_array();
    while ((rc = rows_next(&rows)) == 1)
        json_array_append_new(
            data, json_pack("{s:I, s:s, s:I}", "id", (json_int_t)rows_i64(&rows, 0), "name",
                            rows_text(&rows, 1), "users", (json_int_t)rows_i64(&rows, 2)));
    rows_close(&rows);
    j->body = json_pack("{s:o}", "data", data);
    return rc < 0 ? rc : 0;
}

static void h_skills(struct http_req *r)
{
    struct rjob *j = new_job(r, false);
    app_store_read(r, skills_fn, job_done, j);
}

static int skill_delete_fn(struct store_tx *tx, void *arg)
{
    struct rjob *j = arg;
    event_batch_reset(&j->events);
    int64_t ok;
    int rc = tx_query_i64(tx, &ok, "SELECT 1 FROM skills WHERE id = $1 AND account_id = $2", "ii",
                          j->id, j->actor.account_id);
    if (rc < 0)
        return rc;
    const char *const sql[] = {
        "DELETE FROM user_skills WHERE skill_id = $1 AND account_id = $2",
        "UPDATE routing_rules SET skill_id = NULL WHERE skill_id = $1 AND account_id = $2",
        "DELETE FROM skills WHERE id = $1 AND account_id = $2",
    };
    rc = conv_forget(tx, j->actor.account_id, CONV_REF_SKILL, j->id);
    for (size_t i = 0; i < ARRAY_SIZE(sql) && rc >= 0; i++)
        rc = tx_exec(tx, sql[i], "ii", j->id, j->actor.account_id);
    if (rc >= 0)
        rc = event_emit(tx, &j->events, j->actor.account_id, "skill.deleted", 0, 0, 0, true,
                        json_pack("{s:I}", "id", (json_int_t)j->id));
    if (rc >= 0)
        rc = audit_add(tx, j->actor.account_id, j->actor.user_id, "skill.deleted", "skill", j->id,
                       j->r->ip, NULL);
    return rc < 0 ? rc : 0;
}

static void h_skill_delete(struct http_req *r)
{
    struct rjob *j = new_job(r, true);
    if (j)
        app_store_write(r, skill_delete_fn, job_done, j);
}

void api_routing_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/inboxes/{id}/queue", h_queue, R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/routing/agents", h_panel,
               R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations/{id}/routing", h_explain,
               R_ACCOUNT | R_SUPERVISOR);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/conversations/{id}/assignments", h_history,
               R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/conversations/{id}/transfer", h_transfer,
               R_ACCOUNT);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/routing_rules", h_rules_list, R_ACCOUNT);
    router_add(rt, HTTP_POST, "/api/v1/accounts/{aid}/routing_rules", h_rule_create,
               R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/routing_rules/{id}", h_rule_get, R_ACCOUNT);
    router_add(rt, HTTP_PATCH, "/api/v1/accounts/{aid}/routing_rules/{id}", h_rule_update,
               R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/routing_rules/{id}", h_rule_delete,
               R_ACCOUNT | R_ADMIN);
    router_add(rt, HTTP_GET, "/api/v1/accounts/{aid}/skills", h_skills, R_ACCOUNT);
    router_add(rt, HTTP_DELETE, "/api/v1/accounts/{aid}/skills/{id}", h_skill_delete,
               R_ACCOUNT | R_ADMIN);
}
