/* on_route.c: the router on the event loop (see on_route.h).
 *
 * Flow of one conversation: conversation.created (or a status/assignee change) reaches the
 * listener; the router state learns it is waiting; if it was never prepared, a write job reads the
 * contact's facts and applies the routing rules (team, skill, priority), then it is ready. A "kick"
 * (a zero timer, so a burst of events costs one pass) runs route_dispatch, whose reservations
 * become assignment jobs: a conditional UPDATE, the history row, the explained decision and the
 * conversation.assigned event, all in one transaction. The event comes back to this listener and
 * confirms the reservation; a write that changed nothing gives it back. */
#include "base/sys.h"
#include "base/alloc.h"
#include "base/clock.h"
#include "base/log.h"
#include "conv/conv.h"
#include "event/event.h"
#include "event/on_push.h"
#include "event/on_route.h"
#include "model/conversation.h"
#include "route/route.h"
#include "route/rules.h"
#include "store/store.h"

#include <ctype.h>
#include <math.h>
#include <strings.h>

enum { TICK_MS = 1000 };

struct failed {
    int64_t account_id, conversation_id, user_id;
};

static struct {
    uv_loop_t *loop;
    struct store *store;
    struct routing rt;
    uv_timer_t tick, kick;
    bool timers, kick_armed;
    struct map dirty;   /* account id -> (void *)1 */
    struct map reloads; /* account id -> struct reload_job * running */
    struct failed *failed;
    size_t nfailed, cap_failed;
} R;

struct routing *on_route_state(void)
{
    return &R.rt;
}

static void kick(struct route_account *acc);

/* ---- reading events ---- */

static int64_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; s && names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return 0;
}

static bool conv_state_parse(json_t *conv, struct route_conv_state *st)
{
    if (!json_is_object(conv))
        return false;
    st->id = jint(conv, "id");
    st->inbox_id = jint(conv, "inbox_id");
    st->team_id = jint(conv, "team_id");
    st->contact_id = jint(json_object_get(conv, "contact"), "id");
    st->assignee_id = jint(conv, "assignee_id");
    st->status = (enum route_status)name_index(conv_status_names,
                                               json_string_value(json_object_get(conv, "status")));
    st->priority =
        name_index(conv_priority_names, json_string_value(json_object_get(conv, "priority")));
    return st->id > 0;
}

/* ---- preparing a conversation that starts waiting ---- */

struct prep_job {
    int64_t account_id, conversation_id;
    /* out */
    bool found;
    int64_t skill_id, last_agent_id;
    int skill_level;
    bool vip;
    char language[ROUTE_LANG_MAX + 1], region[ROUTE_REGION_MAX + 1];
    struct event_batch events;
};

static int facts_labels(struct store_tx *tx, int64_t cid, json_t *labels)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows, "SELECT label FROM conversation_labels WHERE conversation_id = $1",
                      "i", cid);
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1)
        json_array_append_new(labels, json_string(rows_text(&rows, 0)));
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

/* apply_rules: the first matching rule's actions; returns its id (0: none). */
static int apply_rules(struct store_tx *tx, struct prep_job *j, int64_t inbox_id,
                       const struct route_facts *facts, int64_t *team, char *prio, size_t priolen,
                       char *rule_name, size_t rnlen)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT id, name, match, conditions, COALESCE(team_id, 0),"
                      " COALESCE(skill_id, 0), min_level, COALESCE(priority, '')"
                      " FROM routing_rules WHERE account_id = $1 AND enabled = 1"
                      " AND (inbox_id IS NULL OR inbox_id = $2) ORDER BY position, id",
                      "ii", j->account_id, inbox_id);
    if (rc < 0)
        return rc;
    int64_t hit = 0;
    while ((rc = rows_next(&rows)) == 1) {
        json_t *conds = json_loads(rows_text(&rows, 3), 0, NULL);
        bool m = conds && json_is_array(conds) &&
                 route_rule_matches(conds, strcmp(rows_text(&rows, 2), "any") == 0, facts);
        json_decref(conds);
        if (!m)
            continue;
        hit = rows_i64(&rows, 0);
        snprintf(rule_name, rnlen, "%s", rows_text(&rows, 1));
        if (rows_i64(&rows, 4))
            *team = rows_i64(&rows, 4);
        if (rows_i64(&rows, 5)) {
            j->skill_id = rows_i64(&rows, 5);
            j->skill_level = (int)rows_i64(&rows, 6);
        }
        if (rows_text(&rows, 7)[0])
            snprintf(prio, priolen, "%s", rows_text(&rows, 7));
        break;
    }
    rows_close(&rows);
    return rc < 0 ? rc : (int)hit;
}

static int prep_fn(struct store_tx *tx, void *arg)
{
    struct prep_job *j = arg;
    event_batch_reset(&j->events);
    j->found = false;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT c.inbox_id, c.contact_id, c.prepared_at IS NOT NULL, c.page_url,"
                      " c.prechat, c.intent, c.language, COALESCE(c.skill_id, 0), c.skill_level,"
                      " COALESCE(c.team_id, 0), c.priority, ct.attributes, i.routing"
                      " FROM conversations c JOIN contacts ct ON ct.id = c.contact_id"
                      " JOIN inboxes i ON i.id = c.inbox_id"
                      " WHERE c.id = $1 AND c.account_id = $2 AND c.status <> 'resolved'",
                      "ii", j->conversation_id, j->account_id);
    if (rc < 0)
        return rc;
    if ((rc = rows_next(&rows)) != 1) {
        rows_close(&rows);
        return rc;
    }
    j->found = true;
    int64_t inbox_id = rows_i64(&rows, 0), contact_id = rows_i64(&rows, 1);
    bool prepared = rows_i64(&rows, 2) != 0;
    char *page_url = xstrdup(rows_text(&rows, 3));
    json_t *prechat = json_loads(rows_text(&rows, 4), 0, NULL);
    char *intent = xstrdup(rows_text(&rows, 5));
    snprintf(j->language, sizeof(j->language), "%s", rows_text(&rows, 6));
    j->skill_id = rows_i64(&rows, 7);
    j->skill_level = (int)rows_i64(&rows, 8);
    int64_t team = rows_i64(&rows, 9), old_team = team;
    char prio[16], old_prio[16];
    snprintf(prio, sizeof(prio), "%s", rows_text(&rows, 10));
    snprintf(old_prio, sizeof(old_prio), "%s", prio);
    json_t *attrs = json_loads(rows_text(&rows, 11), 0, NULL);
    struct route_settings set;
    route_settings_load(rows_text(&rows, 12), &set);
    rows_close(&rows);
    if (!json_is_object(prechat)) {
        json_decref(prechat);
        prechat = json_object();
    }
    if (!json_is_object(attrs)) {
        json_decref(attrs);
        attrs = json_object();
    }
    json_t *labels = json_array();
    rc = facts_labels(tx, j->conversation_id, labels);
    /* facts for the score terms */
    j->vip = route_truthy(json_object_get(attrs, set.vip_attribute));
    size_t li;
    json_t *lv;
    json_array_foreach(labels, li, lv) j->vip =
        j->vip || strcasecmp(json_string_value(lv), "vip") == 0;
    const char *region = json_string_value(json_object_get(attrs, "region"));
    if (!region)
        region = json_string_value(json_object_get(attrs, "country"));
    snprintf(j->region, sizeof(j->region), "%s", region ? region : "");
    int64_t last = 0;
    if (rc >= 0)
        rc = tx_query_i64(tx, &last,
                          "SELECT assignee_id FROM conversations WHERE account_id = $1"
                          " AND contact_id = $2 AND id <> $3 AND assignee_id IS NOT NULL"
                          " ORDER BY id DESC LIMIT 1",
                          "iii", j->account_id, contact_id, j->conversation_id);
    if (rc == ERR_NOTFOUND)
        rc = 0;
    j->last_agent_id = last;
    char *message = NULL;
    if (rc >= 0 && !prepared) {
        /* once per conversation: its language and the rules */
        if (tx_query(tx, &rows,
                     "SELECT content FROM messages WHERE conversation_id = $1"
                     " AND sender_type = 'contact' ORDER BY id LIMIT 1",
                     "i", j->conversation_id) == 0) {
            if (rows_next(&rows) == 1)
                message = xstrdup(rows_text(&rows, 0));
            rows_close(&rows);
        }
        const char *lang = json_string_value(json_object_get(attrs, "language"));
        if (!lang)
            lang = json_string_value(json_object_get(attrs, "locale"));
        if (!lang || !lang[0] || strlen(lang) > ROUTE_LANG_MAX)
            lang = route_language_guess(message);
        snprintf(j->language, sizeof(j->language), "%s", lang);
        for (char *p = j->language; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        struct route_facts facts = {page_url, message ? message : "", intent, labels, prechat,
                                    attrs};
        char rule_name[RULE_NAME_MAX * 4 + 1] = "";
        rc = apply_rules(tx, j, inbox_id, &facts, &team, prio, sizeof(prio), rule_name,
                         sizeof(rule_name));
        int64_t rule_id = rc > 0 ? rc : 0;
        struct conv_route_prep prep = {.team_id = team,
                                       .priority = prio,
                                       .skill_id = j->skill_id,
                                       .skill_level = j->skill_level,
                                       .language = j->language,
                                       .rule_id = rule_id,
                                       .rule_name = rule_name,
                                       .announce = team != old_team || strcmp(prio, old_prio) != 0};
        if (rc >= 0)
            rc = conv_route_prepare(tx, &j->events, j->account_id, j->conversation_id, &prep,
                                    clock_wall_ms());
    }
    free(message);
    free(page_url);
    free(intent);
    json_decref(prechat);
    json_decref(attrs);
    json_decref(labels);
    return rc < 0 ? rc : 0;
}

static void prep_done(void *arg, int rc)
{
    struct prep_job *j = arg;
    if (rc >= 0)
        event_publish(&j->events);
    else
        event_batch_reset(&j->events);
    struct route_account *acc = route_account(&R.rt, j->account_id);
    struct route_conv *c = route_conv_find(acc, j->conversation_id);
    if (c) {
        if (rc >= 0 && j->found) {
            c->skill_id = j->skill_id;
            c->skill_level = j->skill_level;
            c->vip = j->vip;
            c->last_agent_id = j->last_agent_id;
            snprintf(c->language, sizeof(c->language), "%s", j->language);
            snprintf(c->region, sizeof(c->region), "%s", j->region);
        } else if (rc < 0) {
            log_warn("route", "prepare failed conversation=%" PRId64 " err=%s", j->conversation_id,
                     err_name(rc));
        }
        route_conv_ready(acc, c);
        kick(acc);
    }
    free(j);
}

static void prepare(struct route_account *acc, struct route_conv *c)
{
    struct prep_job *j = xcalloc(1, sizeof(*j));
    j->account_id = acc->id;
    j->conversation_id = c->id;
    c->preparing = true;
    if (store_write(R.store, prep_fn, prep_done, j) < 0) {
        /* the store is full: route it without the extra facts */
        free(j);
        route_conv_ready(acc, c);
    }
}

/* ---- writing decisions ---- */

static json_t *candidates_json(const struct route_decision *d)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < d->ncandidates; i++) {
        const struct route_candidate *k = &d->candidates[i];
        json_t *terms = json_object();
        for (int t = 0; t < TERM_COUNT; t++)
            json_object_set_new(terms, route_term_names[t],
                                json_real(round(k->terms[t] * 1000) / 1000));
        json_t *o =
            json_pack("{s:I, s:s, s:b, s:i, s:o, s:f, s:o}", "user_id", (json_int_t)k->user_id,
                      "name", k->name, "eligible", k->excluded == EXCL_NONE, "load", k->load,
                      "capacity", k->capacity < 0 ? json_null() : json_integer(k->capacity),
                      "score", round(k->score * 1000) / 1000, "terms", terms);
        if (k->excluded)
            json_object_set_new(o, "excluded", json_string(route_excl_names[k->excluded]));
        json_array_append_new(arr, o);
    }
    return arr;
}

struct decide_job {
    int64_t account_id, conversation_id, user_id;
    enum route_kind kind;
    const char *strategy;
    char reason[256];
    char *candidates; /* JSON text */
    int64_t team_id;  /* overflow */
    bool changed;
    struct event_batch events;
};

static int add_decision(struct store_tx *tx, struct decide_job *j, int64_t chosen, int64_t now)
{
    return tx_exec(tx,
                   "INSERT INTO routing_decisions (account_id, conversation_id, kind, strategy,"
                   " chosen_user_id, rule_id, reason, candidates, created_at)"
                   " SELECT $1, $2, $3, $4, $5, rule_id, $6, $7, $8 FROM conversations"
                   " WHERE id = $2",
                   "iittntti", j->account_id, j->conversation_id, route_kind_names[j->kind],
                   j->strategy, chosen, j->reason, j->candidates ? j->candidates : "[]", now);
}

static int assign_fn(struct store_tx *tx, void *arg)
{
    struct decide_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    const char *reason = j->kind == KIND_REROUTE ? "reroute" : "auto";
    int rc = conv_route_assign(tx, &j->events, j->account_id, j->conversation_id, j->user_id,
                               reason, now);
    j->changed = rc > 0;
    if (rc <= 0)
        return rc;
    rc = add_decision(tx, j, j->user_id, now);
    if (rc >= 0)
        rc = tx_exec(tx,
                     "UPDATE account_users SET last_assigned_at = $1 WHERE account_id = $2"
                     " AND user_id = $3",
                     "iii", now, j->account_id, j->user_id);
    return rc < 0 ? rc : 0;
}

static void decide_free(struct decide_job *j)
{
    event_batch_reset(&j->events);
    free(j->candidates);
    free(j);
}

static void assign_done(void *arg, int rc)
{
    struct decide_job *j = arg;
    if (rc >= 0)
        event_publish(&j->events);
    struct route_account *acc = route_account(&R.rt, j->account_id);
    if (rc < 0 || !j->changed) {
        if (rc < 0)
            log_warn("route", "assignment failed conversation=%" PRId64 " user=%" PRId64 " err=%s",
                     j->conversation_id, j->user_id, err_name(rc));
        route_assign_failed(acc, j->conversation_id, j->user_id);
        kick(acc);
    }
    decide_free(j);
}

static struct decide_job *decide_new(struct route_account *acc, const struct route_decision *d)
{
    struct decide_job *j = xcalloc(1, sizeof(*j));
    j->account_id = acc->id;
    j->conversation_id = d->conversation_id;
    j->user_id = d->chosen;
    j->kind = d->kind;
    j->strategy = route_strategy_names[d->strategy];
    snprintf(j->reason, sizeof(j->reason), "%s", d->reason);
    json_t *c = candidates_json(d);
    j->candidates = json_dump_compact(c, NULL);
    json_decref(c);
    return j;
}

static void on_assign(struct route_account *acc, const struct route_decision *d, void *ud)
{
    UNUSED(ud);
    struct decide_job *j = decide_new(acc, d);
    if (store_write(R.store, assign_fn, assign_done, j) < 0) {
        /* give the reservation back after this dispatch pass (the tick retries) */
        if (R.nfailed == R.cap_failed) {
            R.cap_failed = R.cap_failed ? R.cap_failed * 2 : 16;
            R.failed = xrealloc(R.failed, R.cap_failed * sizeof(*R.failed));
        }
        R.failed[R.nfailed++] = (struct failed){acc->id, d->conversation_id, d->chosen};
        decide_free(j);
    }
}

/* overflow: a conversation that waited too long moves to the overflow team */
static int overflow_fn(struct store_tx *tx, void *arg)
{
    struct decide_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    int rc =
        conv_route_overflow(tx, &j->events, j->account_id, j->conversation_id, j->team_id, now);
    j->changed = rc > 0;
    if (rc <= 0)
        return rc;
    rc = add_decision(tx, j, 0, now);
    return rc < 0 ? rc : 0;
}

/* reroute: the agent the router chose did not answer in time */
static int reroute_fn(struct store_tx *tx, void *arg)
{
    struct decide_job *j = arg;
    event_batch_reset(&j->events);
    int64_t now = clock_wall_ms();
    int rc = conv_route_reroute(tx, &j->events, j->account_id, j->conversation_id, j->user_id, now);
    j->changed = rc > 0;
    if (rc <= 0)
        return rc;
    rc = add_decision(tx, j, 0, now);
    return rc < 0 ? rc : 0;
}

static void timed_done(void *arg, int rc)
{
    struct decide_job *j = arg;
    if (rc >= 0)
        event_publish(&j->events);
    else
        log_warn("route", "routing write failed conversation=%" PRId64 " err=%s",
                 j->conversation_id, err_name(rc));
    kick(route_account(&R.rt, j->account_id));
    decide_free(j);
}

static void on_overflow(struct route_account *acc, struct route_conv *c, void *ud)
{
    UNUSED(ud);
    struct route_inbox *in = route_inbox_get(acc, c->inbox_id);
    struct decide_job *j = xcalloc(1, sizeof(*j));
    j->account_id = acc->id;
    j->conversation_id = c->id;
    j->kind = KIND_OVERFLOW;
    j->strategy = route_strategy_names[in->settings.strategy];
    j->team_id = in->settings.overflow_team_id;
    snprintf(j->reason, sizeof(j->reason),
             "waited more than %d s with nobody free; moved to the overflow team",
             in->settings.overflow_after_s);
    if (store_write(R.store, overflow_fn, timed_done, j) < 0) {
        c->overflowed = false; /* next tick */
        decide_free(j);
    }
}

static void on_reroute(struct route_account *acc, struct route_conv *c, void *ud)
{
    UNUSED(ud);
    struct route_inbox *in = route_inbox_get(acc, c->inbox_id);
    struct route_agent *a = route_agent_get(acc, c->assignee_id);
    struct decide_job *j = xcalloc(1, sizeof(*j));
    j->account_id = acc->id;
    j->conversation_id = c->id;
    j->user_id = c->assignee_id;
    j->kind = KIND_REROUTE;
    j->strategy = route_strategy_names[in->settings.strategy];
    snprintf(j->reason, sizeof(j->reason), "%s did not reply within %d s; back to the queue",
             a->name, in->settings.reroute_after_s);
    if (store_write(R.store, reroute_fn, timed_done, j) < 0) {
        c->by_router = true; /* next tick */
        c->excluded_id = 0;
        decide_free(j);
    }
}

/* ---- telling agents and visitors about the queue ---- */

static void tell_visitor(int64_t account_id, int64_t contact_id, int64_t cid, int position,
                         int64_t eta)
{
    json_t *v =
        json_pack("{s:s, s:I, s:o, s:o}", "type", "queue", "conversation_id", (json_int_t)cid,
                  "position", position > 0 ? json_integer(position) : json_null(),
                  "estimated_wait_seconds", eta >= 0 ? json_integer(eta) : json_null());
    size_t len;
    char *frame = json_dump_compact(v, &len);
    json_decref(v);
    push_visitor(account_id, contact_id, frame, len);
    free(frame);
}

static void notify(struct route_account *acc, int64_t now)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->inboxes, &i, &e);) {
        struct route_inbox *in = e->val;
        if (in->changed && in->nqueue != in->told_size) {
            char frame[128];
            int n = snprintf(frame, sizeof(frame),
                             "{\"type\":\"queue\",\"inbox_id\":%" PRId64 ",\"size\":%zu}", in->id,
                             in->nqueue);
            push_ephemeral(acc->id, in->id, 0, false, 0, frame, (size_t)n);
            in->told_size = in->nqueue;
        }
        in->changed = false;
        double slots = in->nqueue ? route_online_slots(acc, in, now) : 0;
        for (size_t k = 0; k < in->nqueue; k++) {
            struct route_conv *c = in->queue[k];
            int pos = (int)k + 1;
            int64_t eta = route_eta_s(in, pos, slots);
            if (pos == c->told_position && eta == c->told_eta)
                continue;
            c->told_position = pos;
            c->told_eta = eta;
            tell_visitor(acc->id, c->contact_id, c->id, pos, eta);
        }
    }
    /* those who left a queue hear it once (unless they are back in one) */
    size_t n;
    const struct route_left *left = route_take_left(acc, &n);
    for (size_t i = 0; i < n; i++) {
        struct route_conv *c = route_conv_find(acc, left[i].conversation_id);
        if (!c || !c->in_queue)
            tell_visitor(acc->id, left[i].contact_id, left[i].conversation_id, 0, -1);
    }
}

/* ---- the kick: dispatch and tell, once per loop iteration ---- */

static void on_kick(uv_timer_t *t)
{
    UNUSED(t);
    R.kick_armed = false;
    int64_t now = clock_wall_ms();
    struct map_entry *e;
    int64_t ids[256];
    size_t n = 0;
    for (size_t i = 0; map_next(&R.dirty, &i, &e) && n < ARRAY_SIZE(ids);)
        ids[n++] = (int64_t)e->key;
    for (size_t i = 0; i < n; i++) {
        map_del(&R.dirty, (uint64_t)ids[i]);
        struct route_account *acc = route_account_find(&R.rt, ids[i]);
        if (!acc)
            continue;
        route_dispatch(acc, now, on_assign, NULL);
        for (size_t k = 0; k < R.nfailed; k++)
            route_assign_failed(route_account(&R.rt, R.failed[k].account_id),
                                R.failed[k].conversation_id, R.failed[k].user_id);
        R.nfailed = 0;
        notify(acc, now);
    }
    if (R.dirty.len && !R.kick_armed) {
        R.kick_armed = true;
        uv_timer_start(&R.kick, on_kick, 0, 0);
    }
}

static void kick(struct route_account *acc)
{
    map_put(&R.dirty, (uint64_t)acc->id, (void *)1);
    if (R.timers && !R.kick_armed) {
        R.kick_armed = true;
        uv_timer_start(&R.kick, on_kick, 0, 0);
    }
}

static void on_tick(uv_timer_t *t)
{
    UNUSED(t);
    int64_t now = clock_wall_ms();
    struct map_entry *e;
    for (size_t i = 0; map_next(&R.rt.accounts, &i, &e);) {
        struct route_account *acc = e->val;
        route_tick(acc, now, on_overflow, on_reroute, NULL);
        /* queued conversations: retry, and refresh estimates as agents' grace periods end */
        struct map_entry *ie;
        for (size_t k = 0; map_next(&acc->inboxes, &k, &ie);)
            if (((struct route_inbox *)ie->val)->nqueue) {
                kick(acc);
                break;
            }
    }
}

/* ---- loading agents' settings ---- */

struct cfg_agent {
    int64_t account_id, user_id, last_assigned_at;
    char name[ROUTE_NAME_MAX + 1], region[ROUTE_REGION_MAX + 1], languages[128];
    int role, capacity;
    enum route_avail availability;
};
struct cfg_link {
    int64_t account_id, user_id, other;
    int value;
};

struct reload_job {
    int64_t account_id; /* 0: all */
    bool again;
    struct cfg_agent *agents;
    size_t nagents;
    struct cfg_link *members, *skills, *teams;
    size_t nmembers, nskills, nteams;
};

#define PUSH(arr, n, v)                                                                            \
    do {                                                                                           \
        if (((n) & ((n)-1)) == 0)                                                                  \
            (arr) = xrealloc((arr), ((n) ? (n)*2 : 1) * sizeof(*(arr)));                           \
        (arr)[(n)++] = (v);                                                                        \
    } while (0)

static int load_links(struct store_tx *tx, const char *sql, int64_t aid, struct cfg_link **out,
                      size_t *n)
{
    struct store_rows rows;
    int rc = tx_query(tx, &rows, sql, "i", aid);
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1) {
        struct cfg_link l = {rows_i64(&rows, 0), rows_i64(&rows, 1), rows_i64(&rows, 2),
                             rows_null(&rows, 3) ? -1 : (int)rows_i64(&rows, 3)};
        PUSH(*out, *n, l);
    }
    rows_close(&rows);
    return rc;
}

static int reload_fn(struct store_tx *tx, void *arg)
{
    struct reload_job *j = arg;
    free(j->agents);
    free(j->members);
    free(j->skills);
    free(j->teams);
    j->agents = NULL;
    j->members = j->skills = j->teams = NULL;
    j->nagents = j->nmembers = j->nskills = j->nteams = 0;
    struct store_rows rows;
    int rc = tx_query(tx, &rows,
                      "SELECT au.account_id, au.user_id, COALESCE(au.name, u.name), au.role,"
                      " au.capacity,"
                      " au.languages, au.region, u.availability, au.last_assigned_at"
                      " FROM account_users au JOIN users u ON u.id = au.user_id"
                      " WHERE $1 = 0 OR au.account_id = $1",
                      "i", j->account_id);
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1) {
        struct cfg_agent a = {.account_id = rows_i64(&rows, 0),
                              .user_id = rows_i64(&rows, 1),
                              .last_assigned_at = rows_i64(&rows, 8)};
        snprintf(a.name, sizeof(a.name), "%s", rows_text(&rows, 2));
        const char *role = rows_text(&rows, 3);
        a.role = !strcmp(role, "admin") ? 2 : !strcmp(role, "supervisor") ? 1 : 0;
        a.capacity = rows_null(&rows, 4) ? -1 : (int)rows_i64(&rows, 4);
        snprintf(a.languages, sizeof(a.languages), "%s", rows_text(&rows, 5));
        snprintf(a.region, sizeof(a.region), "%s", rows_text(&rows, 6));
        const char *av = rows_text(&rows, 7);
        a.availability = !strcmp(av, "online") ? AVAIL_ONLINE
                         : !strcmp(av, "away") ? AVAIL_AWAY
                                               : AVAIL_OFFLINE;
        PUSH(j->agents, j->nagents, a);
    }
    rows_close(&rows);
    if (rc < 0)
        return rc;
    if ((rc = load_links(tx,
                         "SELECT m.account_id, m.user_id, m.inbox_id, m.capacity"
                         " FROM inbox_members m JOIN inboxes i ON i.id = m.inbox_id"
                         " WHERE i.deleted_at IS NULL AND ($1 = 0 OR m.account_id = $1)",
                         j->account_id, &j->members, &j->nmembers)) < 0)
        return rc;
    if ((rc = load_links(tx,
                         "SELECT account_id, user_id, skill_id, level FROM user_skills"
                         " WHERE $1 = 0 OR account_id = $1",
                         j->account_id, &j->skills, &j->nskills)) < 0)
        return rc;
    return load_links(tx,
                      "SELECT tm.account_id, tm.user_id, tm.team_id, NULL FROM team_members tm"
                      " JOIN teams t ON t.id = tm.team_id"
                      " WHERE t.deleted_at IS NULL AND ($1 = 0 OR tm.account_id = $1)",
                      j->account_id, &j->teams, &j->nteams);
}

static void reload_apply(struct reload_job *j)
{
    struct map seen;
    map_init(&seen, false);
    for (size_t i = 0; i < j->nagents; i++) {
        struct route_account *acc = route_account(&R.rt, j->agents[i].account_id);
        if (!map_get(&seen, (uint64_t)acc->id)) {
            map_put(&seen, (uint64_t)acc->id, acc);
            route_config_begin(acc);
        }
    }
    if (j->account_id && !map_get(&seen, (uint64_t)j->account_id)) {
        struct route_account *acc = route_account(&R.rt, j->account_id);
        route_config_begin(acc);
        map_put(&seen, (uint64_t)acc->id, acc);
    }
    for (size_t i = 0; i < j->nagents; i++) {
        const struct cfg_agent *c = &j->agents[i];
        struct route_agent *a = route_agent_get(route_account(&R.rt, c->account_id), c->user_id);
        snprintf(a->name, sizeof(a->name), "%s", c->name);
        a->role = c->role;
        a->capacity = c->capacity;
        a->availability = c->availability;
        if (c->last_assigned_at > a->last_assigned_at)
            a->last_assigned_at = c->last_assigned_at;
        snprintf(a->region, sizeof(a->region), "%s", c->region);
        a->present = true;
        json_t *langs = json_loads(c->languages, 0, NULL);
        size_t k;
        json_t *l;
        json_array_foreach(langs, k, l) if (json_is_string(l))
            route_agent_add_language(a, json_string_value(l));
        json_decref(langs);
    }
    for (size_t i = 0; i < j->nmembers; i++) {
        const struct cfg_link *l = &j->members[i];
        route_agent_member(route_agent_get(route_account(&R.rt, l->account_id), l->user_id),
                           l->other, l->value);
    }
    /* skills and teams arrive grouped by nothing in particular: collect per agent */
    for (size_t i = 0; i < j->nskills; i++) {
        const struct cfg_link *l = &j->skills[i];
        struct route_agent *a = route_agent_get(route_account(&R.rt, l->account_id), l->user_id);
        struct route_skill s = {l->other, l->value};
        struct route_skill *arr = xmalloc((a->nskills + 1) * sizeof(*arr));
        if (a->nskills)
            memcpy(arr, a->skills, a->nskills * sizeof(*arr));
        arr[a->nskills] = s;
        route_agent_set_skills(a, arr, a->nskills + 1);
        free(arr);
    }
    for (size_t i = 0; i < j->nteams; i++) {
        const struct cfg_link *l = &j->teams[i];
        struct route_agent *a = route_agent_get(route_account(&R.rt, l->account_id), l->user_id);
        int64_t *arr = xmalloc((a->nteams + 1) * sizeof(*arr));
        if (a->nteams)
            memcpy(arr, a->teams, a->nteams * sizeof(*arr));
        arr[a->nteams] = l->other;
        route_agent_set_teams(a, arr, a->nteams + 1);
        free(arr);
    }
    struct map_entry *e;
    for (size_t i = 0; map_next(&seen, &i, &e);) {
        route_config_end(e->val);
        kick(e->val);
    }
    map_release(&seen);
}

static void reload_free(struct reload_job *j)
{
    free(j->agents);
    free(j->members);
    free(j->skills);
    free(j->teams);
    free(j);
}

static void reload_done(void *arg, int rc)
{
    struct reload_job *j = arg;
    if (rc >= 0)
        reload_apply(j);
    else
        log_warn("route", "reload failed account=%" PRId64 " err=%s", j->account_id, err_name(rc));
    if (j->again) {
        j->again = false;
        if (store_read(R.store, reload_fn, reload_done, j) == 0)
            return;
    }
    map_del(&R.reloads, (uint64_t)j->account_id);
    reload_free(j);
}

void on_route_reload(int64_t account_id)
{
    struct reload_job *j = map_get(&R.reloads, (uint64_t)account_id);
    if (j) {
        j->again = true;
        return;
    }
    j = xcalloc(1, sizeof(*j));
    j->account_id = account_id;
    if (store_read(R.store, reload_fn, reload_done, j) < 0) {
        reload_free(j);
        return;
    }
    map_put(&R.reloads, (uint64_t)account_id, j);
}

/* ---- start-up ---- */

struct boot_job {
    struct reload_job cfg;
    struct boot_inbox {
        int64_t account_id, id;
        char name[ROUTE_NAME_MAX + 1];
        char *routing;
        double mean_handle;
        int handled;
    } * inboxes;
    size_t ninboxes;
    struct boot_conv {
        int64_t account_id;
        struct route_conv_state st;
        int64_t queued_at, assigned_at;
    } * convs;
    size_t nconvs;
};

static int boot_fn(struct store_tx *tx, void *arg)
{
    struct boot_job *b = arg;
    int rc = reload_fn(tx, &b->cfg);
    if (rc < 0)
        return rc;
    struct store_rows rows;
    rc = tx_query(tx, &rows,
                  "SELECT i.account_id, i.id, i.name, i.routing,"
                  " (SELECT AVG(x.resolved_at - x.assigned_at) / 1000.0 FROM"
                  "  (SELECT resolved_at, assigned_at FROM conversations WHERE inbox_id = i.id"
                  "   AND resolved_at IS NOT NULL AND assigned_at IS NOT NULL"
                  "   AND resolved_at >= assigned_at ORDER BY resolved_at DESC LIMIT 50) x),"
                  " (SELECT COUNT(*) FROM (SELECT 1 FROM conversations WHERE inbox_id = i.id"
                  "   AND resolved_at IS NOT NULL AND assigned_at IS NOT NULL"
                  "   AND resolved_at >= assigned_at LIMIT 50))"
                  " FROM inboxes i WHERE i.deleted_at IS NULL",
                  "");
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1) {
        struct boot_inbox in = {.account_id = rows_i64(&rows, 0), .id = rows_i64(&rows, 1)};
        snprintf(in.name, sizeof(in.name), "%s", rows_text(&rows, 2));
        in.routing = xstrdup(rows_text(&rows, 3));
        in.mean_handle = rows_double(&rows, 4);
        in.handled = (int)rows_i64(&rows, 5);
        PUSH(b->inboxes, b->ninboxes, in);
    }
    rows_close(&rows);
    if (rc < 0)
        return rc;
    rc = tx_query(tx, &rows,
                  "SELECT account_id, id, inbox_id, COALESCE(team_id, 0), contact_id,"
                  " COALESCE(assignee_id, 0), status, priority,"
                  " COALESCE(waiting_since, last_activity_at), COALESCE(assigned_at, 0)"
                  " FROM conversations WHERE status <> 'resolved'",
                  "");
    if (rc < 0)
        return rc;
    while ((rc = rows_next(&rows)) == 1) {
        struct boot_conv c = {
            .account_id = rows_i64(&rows, 0),
            .st = {.id = rows_i64(&rows, 1),
                   .inbox_id = rows_i64(&rows, 2),
                   .team_id = rows_i64(&rows, 3),
                   .contact_id = rows_i64(&rows, 4),
                   .assignee_id = rows_i64(&rows, 5),
                   .status = (enum route_status)name_index(conv_status_names, rows_text(&rows, 6)),
                   .priority = name_index(conv_priority_names, rows_text(&rows, 7))},
            .queued_at = rows_i64(&rows, 8),
            .assigned_at = rows_i64(&rows, 9)};
        PUSH(b->convs, b->nconvs, c);
    }
    rows_close(&rows);
    return rc < 0 ? rc : 0;
}

int on_route_init(uv_loop_t *loop, struct store *s, int64_t grace_ms, char *err, size_t errlen)
{
    memset(&R, 0, sizeof(R));
    R.loop = loop;
    R.store = s;
    route_init(&R.rt, grace_ms);
    map_init(&R.dirty, false);
    map_init(&R.reloads, false);
    struct boot_job b = {0};
    int rc = store_run_sync(s, boot_fn, &b);
    if (rc < 0) {
        snprintf(err, errlen, "cannot load the routing state: %s", err_str(rc));
        reload_free(xmemdup(&b.cfg, sizeof(b.cfg)));
        return rc;
    }
    reload_apply(&b.cfg);
    for (size_t i = 0; i < b.ninboxes; i++) {
        struct boot_inbox *bi = &b.inboxes[i];
        struct route_inbox *in = route_inbox_get(route_account(&R.rt, bi->account_id), bi->id);
        snprintf(in->name, sizeof(in->name), "%s", bi->name);
        route_settings_load(bi->routing, &in->settings);
        in->mean_handle_s = bi->mean_handle;
        in->handled = bi->handled > 20 ? 20 : bi->handled;
        free(bi->routing);
    }
    free(b.inboxes);
    R.timers = false;
    for (size_t i = 0; i < b.nconvs; i++) {
        struct boot_conv *bc = &b.convs[i];
        struct route_account *acc = route_account(&R.rt, bc->account_id);
        bool entered;
        struct route_conv *c = route_conv_update(acc, &bc->st, false, bc->queued_at, &entered);
        if (!c)
            continue;
        c->assigned_at = bc->assigned_at;
        if (entered)
            prepare(acc, c);
    }
    free(b.convs);
    free(b.cfg.agents);
    free(b.cfg.members);
    free(b.cfg.skills);
    free(b.cfg.teams);
    uv_timer_init(loop, &R.tick);
    uv_timer_init(loop, &R.kick);
    R.timers = true;
    uv_timer_start(&R.tick, on_tick, TICK_MS, TICK_MS);
    struct map_entry *e;
    for (size_t i = 0; map_next(&R.rt.accounts, &i, &e);)
        kick(e->val);
    return 0;
}

void on_route_stop(void)
{
    if (!R.timers)
        return;
    R.timers = false;
    uv_timer_stop(&R.tick);
    uv_timer_stop(&R.kick);
    uv_close((uv_handle_t *)&R.tick, NULL);
    uv_close((uv_handle_t *)&R.kick, NULL);
}

void on_route_release(void)
{
    map_release(&R.dirty);
    map_release(&R.reloads);
    free(R.failed);
    route_release(&R.rt);
}

/* ---- the listener ---- */

void on_route_connected(int64_t account_id, int64_t user_id, bool up)
{
    struct route_account *acc = route_account(&R.rt, account_id);
    route_agent_connected(acc, user_id, up, clock_wall_ms());
    kick(acc);
}

void on_route(const struct event *ev)
{
    const char *t = ev->type;
    struct route_account *acc = route_account(&R.rt, ev->account_id);
    int64_t now = clock_wall_ms();
    if (strncmp(t, "conversation.", 13) == 0 && strcmp(t, "conversation.read") != 0) {
        struct route_conv_state st;
        if (!conv_state_parse(json_object_get(ev->data, "conversation"), &st))
            return;
        bool entered;
        struct route_conv *c =
            route_conv_update(acc, &st, strcmp(t, "conversation.assigned") == 0, now, &entered);
        if (c && entered)
            prepare(acc, c);
        kick(acc);
    } else if (strcmp(t, "message.created") == 0) {
        json_t *m = json_object_get(ev->data, "message");
        /* the message's sender is {"type","id","name"} (message_json) */
        const char *st = json_string_value(json_object_get(json_object_get(m, "sender"), "type"));
        if (st && strcmp(st, "user") == 0 && !json_is_true(json_object_get(m, "private")))
            route_conv_replied(acc, ev->conversation_id);
    } else if (strcmp(t, "user.availability_changed") == 0) {
        const char *s = json_string_value(json_object_get(ev->data, "status"));
        route_agent_availability(acc, jint(ev->data, "user_id"),
                                 !s                     ? AVAIL_OFFLINE
                                 : !strcmp(s, "online") ? AVAIL_ONLINE
                                 : !strcmp(s, "away")   ? AVAIL_AWAY
                                                        : AVAIL_OFFLINE);
        kick(acc);
    } else if (strcmp(t, "inbox.created") == 0 || strcmp(t, "inbox.updated") == 0) {
        json_t *inbox = ev->data; /* the inbox itself */
        if (!json_is_object(inbox) || jint(inbox, "id") <= 0)
            return;
        struct route_inbox *in = route_inbox_get(acc, jint(inbox, "id"));
        const char *name = json_string_value(json_object_get(inbox, "name"));
        snprintf(in->name, sizeof(in->name), "%s", name ? name : "");
        json_t *routing = json_object_get(inbox, "routing");
        if (routing) {
            struct route_settings s;
            route_settings_default(&s);
            struct jfail f;
            if (route_settings_parse(routing, &s, &f) == 0)
                in->settings = s;
        }
        in->changed = true;
        kick(acc);
    } else if (strcmp(t, "inbox.deleted") == 0) {
        route_inbox_remove(acc, ev->inbox_id);
        on_route_reload(acc->id);
    } else if (strcmp(t, "inbox.members_changed") == 0 || strcmp(t, "inbox.member_updated") == 0 ||
               strncmp(t, "team.", 5) == 0 || strcmp(t, "user.created") == 0 ||
               strcmp(t, "user.updated") == 0 || strncmp(t, "skill.", 6) == 0) {
        on_route_reload(acc->id);
    }
}

/* ---- queries for the API ---- */

json_t *on_route_visitor_queue(int64_t account_id, int64_t contact_id, int64_t inbox_id)
{
    struct route_account *acc = route_account_find(&R.rt, account_id);
    if (!acc)
        return NULL;
    struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)inbox_id);
    if (!in)
        return NULL;
    for (size_t i = 0; i < in->nqueue; i++) {
        struct route_conv *c = in->queue[i];
        if (c->contact_id != contact_id)
            continue;
        int64_t eta = route_eta_s(in, (int)i + 1, route_online_slots(acc, in, clock_wall_ms()));
        return json_pack("{s:I, s:i, s:o}", "conversation_id", (json_int_t)c->id, "position",
                         (int)i + 1, "estimated_wait_seconds",
                         eta >= 0 ? json_integer(eta) : json_null());
    }
    return NULL;
}

void on_route_agent_json(int64_t account_id, int64_t user_id, json_t *user)
{
    struct route_account *acc = route_account_find(&R.rt, account_id);
    struct route_agent *a = acc ? map_get(&acc->agents, (uint64_t)user_id) : NULL;
    int64_t now = clock_wall_ms();
    json_object_set_new(user, "online", json_boolean(a && route_agent_online(acc, a, now)));
    json_object_set_new(user, "connected", json_boolean(a && a->connections > 0));
    json_object_set_new(user, "load", json_integer(a ? a->load : 0));
}
