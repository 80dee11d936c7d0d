/* test_route.c: the router's state and decisions (route/route.c, policy.c) and its rules and
 * settings (rules.c), driven directly with a virtual clock: capacity, the queue and its order,
 * reservations that fail, presence with a grace period, strategies, overflow and re-route, and
 * a randomized storm checked against the invariants. */
#include "base/sys.h"
#include "route/route.h"
#include "route/rules.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

struct log {
    int64_t conv[256], user[256];
    size_t n;
    bool confirm; /* apply each decision as its committed event at once */
};

static struct log L;

static void on_assign(struct route_account *acc, const struct route_decision *d, void *ud)
{
    (void)ud;
    (void)acc;
    assert_true(L.n < 256);
    L.conv[L.n] = d->conversation_id;
    L.user[L.n++] = d->chosen;
    assert_true(d->ncandidates > 0);
}

/* confirm: what on_route does when the assignment event comes back */
static void confirm(struct route_account *acc, int64_t now)
{
    for (size_t i = 0; i < L.n; i++) {
        struct route_conv *c = route_conv_find(acc, L.conv[i]);
        if (!c || c->pending_to != L.user[i])
            continue;
        struct route_conv_state st = {c->id,     c->inbox_id, c->team_id, c->contact_id,
                                      L.user[i], RS_OPEN,     c->priority};
        route_conv_update(acc, &st, true, now, NULL);
    }
}

static struct route_agent *agent(struct route_account *acc, int64_t id, int cap, int64_t inbox,
                                 int64_t now)
{
    struct route_agent *a = route_agent_get(acc, id);
    snprintf(a->name, sizeof(a->name), "agent %" PRId64, id);
    a->capacity = cap;
    a->present = true;
    route_agent_member(a, inbox, -1);
    route_agent_availability(acc, id, AVAIL_ONLINE);
    route_agent_connected(acc, id, true, now);
    return a;
}

static struct route_conv *arrive(struct route_account *acc, int64_t id, int64_t inbox, int prio,
                                 int64_t now)
{
    struct route_conv_state st = {id, inbox, 0, 1000 + id, 0, RS_OPEN, prio};
    bool entered = false;
    struct route_conv *c = route_conv_update(acc, &st, false, now, &entered);
    assert_true(entered);
    route_conv_ready(acc, c);
    return c;
}

static void resolve(struct route_account *acc, int64_t id, int64_t now)
{
    struct route_conv *c = route_conv_find(acc, id);
    assert_non_null(c);
    struct route_conv_state st = {
        id, c->inbox_id, c->team_id, c->contact_id, c->assignee_id, RS_RESOLVED, c->priority};
    assert_null(route_conv_update(acc, &st, false, now, NULL));
}

static int count_for(int64_t user)
{
    int k = 0;
    for (size_t i = 0; i < L.n; i++)
        k += L.user[i] == user;
    return k;
}

/* The acceptance case: 3 agents of capacity 2 on least_busy. */
static void test_least_busy_spreads_and_queues(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    struct routing rt;
    route_init(&rt, 30000);
    struct route_account *acc = route_account(&rt, 1);
    struct route_inbox *in = route_inbox_get(acc, 10);
    in->settings.strategy = ROUTE_LEAST_BUSY;
    int64_t now = 1000000;
    for (int64_t u = 1; u <= 3; u++)
        agent(acc, u, 2, 10, now);
    struct route_agent *away = agent(acc, 4, 9, 10, now);
    route_agent_availability(acc, 4, AVAIL_AWAY);
    for (int64_t c = 1; c <= 6; c++) {
        arrive(acc, c, 10, 0, now + c);
        route_dispatch(acc, now + c, on_assign, NULL);
        confirm(acc, now + c);
    }
    assert_int_equal(L.n, 6);
    for (int64_t u = 1; u <= 3; u++) {
        assert_int_equal(count_for(u), 2);
        assert_int_equal(route_agent_get(acc, u)->load, 2);
    }
    assert_int_equal(away->load, 0);
    struct route_conv *seventh = arrive(acc, 7, 10, 0, now + 7);
    route_dispatch(acc, now + 7, on_assign, NULL);
    seventh->told_position = 1; /* as on_route does when it tells the visitor */
    assert_int_equal(L.n, 6);
    assert_int_equal(route_queue_position(acc, seventh), 1);
    assert_true(route_eta_s(in, 1, route_online_slots(acc, in, now)) > 0);
    assert_int_equal(route_eta_s(in, 1, 0), -1);
    /* the explanation: the away agent and the full ones are excluded */
    struct route_decision d;
    route_explain(acc, seventh, now + 8, &d);
    assert_int_equal(d.ncandidates, 4);
    for (size_t i = 0; i < d.ncandidates; i++)
        assert_int_equal(d.candidates[i].excluded,
                         d.candidates[i].user_id == 4 ? EXCL_AWAY : EXCL_AT_CAPACITY);
    route_decision_release(&d);
    /* agent 2 resolves one: the seventh is theirs */
    int64_t of2 = 0;
    for (size_t i = 0; i < L.n; i++)
        if (L.user[i] == 2)
            of2 = L.conv[i];
    resolve(acc, of2, now + 9);
    route_dispatch(acc, now + 9, on_assign, NULL);
    assert_int_equal(L.n, 7);
    assert_int_equal(L.conv[6], 7);
    assert_int_equal(L.user[6], 2);
    assert_int_equal(route_queue_position(acc, seventh), 0);
    size_t nleft;
    const struct route_left *left = route_take_left(acc, &nleft);
    assert_int_equal(nleft, 1);
    assert_int_equal(left[0].conversation_id, 7);
    assert_int_equal(left[0].contact_id, 1007);
    route_take_left(acc, &nleft);
    assert_int_equal(nleft, 0);
    assert_int_equal(route_agent_get(acc, 2)->load, 2);
    assert_int_equal(in->handled, 1);
    route_release(&rt);
}

static void test_failed_write_gives_back(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    struct routing rt;
    route_init(&rt, 30000);
    struct route_account *acc = route_account(&rt, 1);
    route_inbox_get(acc, 10)->settings.strategy = ROUTE_ROUND_ROBIN;
    agent(acc, 1, 1, 10, 0);
    struct route_conv *c = arrive(acc, 1, 10, 0, 1);
    route_dispatch(acc, 1, on_assign, NULL);
    assert_int_equal(L.n, 1);
    assert_int_equal(c->pending_to, 1);
    assert_int_equal(route_agent_get(acc, 1)->load, 1);
    /* an older snapshot (a message's) cannot undo the reservation */
    struct route_conv_state st = {1, 10, 0, 1001, 0, RS_OPEN, 0};
    route_conv_update(acc, &st, false, 2, NULL);
    assert_int_equal(c->pending_to, 1);
    assert_int_equal(route_agent_get(acc, 1)->load, 1);
    /* a manual assignment to someone else wins over the reservation */
    struct route_conv_state man = {1, 10, 0, 1001, 7, RS_OPEN, 0};
    route_conv_update(acc, &man, true, 3, NULL);
    assert_int_equal(c->pending_to, 0);
    assert_int_equal(route_agent_get(acc, 1)->load, 0);
    assert_int_equal(route_agent_get(acc, 7)->load, 1);
    route_assign_failed(acc, 1, 1); /* the write then changed nothing: no effect */
    assert_int_equal(c->assignee_id, 7);
    /* a write that fails while still pending gives the conversation back to the queue */
    struct route_conv *c2 = arrive(acc, 2, 10, 0, 4);
    route_dispatch(acc, 4, on_assign, NULL);
    assert_int_equal(L.n, 2);
    route_assign_failed(acc, 2, 1);
    assert_int_equal(route_queue_position(acc, c2), 1);
    assert_int_equal(route_agent_get(acc, 1)->load, 0);
    route_release(&rt);
}

static void test_order_priority_then_wait(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    struct routing rt;
    route_init(&rt, 30000);
    struct route_account *acc = route_account(&rt, 1);
    route_inbox_get(acc, 10)->settings.strategy = ROUTE_LEAST_BUSY;
    struct route_conv *a = arrive(acc, 1, 10, 0, 10);
    struct route_conv *b = arrive(acc, 2, 10, 2, 20);
    struct route_conv *c = arrive(acc, 3, 10, 2, 15);
    struct route_conv *d = arrive(acc, 4, 10, 0, 5);
    d->vip = true;
    route_conv_ready(acc, d); /* re-sorts */
    assert_int_equal(route_queue_position(acc, d), 1);
    assert_int_equal(route_queue_position(acc, c), 2);
    assert_int_equal(route_queue_position(acc, b), 3);
    assert_int_equal(route_queue_position(acc, a), 4);
    agent(acc, 1, 1, 10, 30);
    int64_t want[] = {4, 3, 2, 1};
    for (int i = 0; i < 4; i++) {
        route_dispatch(acc, 30 + i, on_assign, NULL);
        confirm(acc, 30 + i);
        assert_int_equal(L.n, (size_t)i + 1);
        assert_int_equal(L.conv[i], want[i]);
        resolve(acc, want[i], 31 + i);
    }
    route_release(&rt);
}

static void test_presence_grace_and_teams(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    struct routing rt;
    route_init(&rt, 1000);
    struct route_account *acc = route_account(&rt, 1);
    route_inbox_get(acc, 10)->settings.strategy = ROUTE_LEAST_BUSY;
    struct route_agent *a = agent(acc, 1, -1, 10, 0);
    route_agent_connected(acc, 1, false, 100);
    assert_true(route_agent_online(acc, a, 900));
    assert_false(route_agent_online(acc, a, 1200));
    arrive(acc, 1, 10, 0, 1200);
    route_dispatch(acc, 1200, on_assign, NULL);
    assert_int_equal(L.n, 0);
    /* a team conversation goes only to the team */
    agent(acc, 2, -1, 10, 1300);
    struct route_agent *t = agent(acc, 3, -1, 99, 1300); /* not an inbox member */
    int64_t team = 55;
    route_agent_set_teams(t, &team, 1);
    struct route_conv_state st = {2, 10, 55, 1002, 0, RS_OPEN, 0};
    bool entered;
    struct route_conv *c = route_conv_update(acc, &st, false, 1300, &entered);
    route_conv_ready(acc, c);
    route_dispatch(acc, 1300, on_assign, NULL);
    assert_int_equal(L.n, 2);
    for (size_t i = 0; i < L.n; i++)
        assert_int_equal(L.user[i], L.conv[i] == 2 ? 3 : 2);
    route_release(&rt);
}

static struct route_conv *over_c, *rer_c;
static void on_over(struct route_account *acc, struct route_conv *c, void *ud)
{
    (void)acc;
    (void)ud;
    over_c = c;
}
static void on_rer(struct route_account *acc, struct route_conv *c, void *ud)
{
    (void)acc;
    (void)ud;
    rer_c = c;
}

static void test_overflow_and_reroute(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    struct routing rt;
    route_init(&rt, 1000);
    struct route_account *acc = route_account(&rt, 1);
    struct route_inbox *in = route_inbox_get(acc, 10);
    in->settings.strategy = ROUTE_ROUND_ROBIN;
    in->settings.overflow_team_id = 7;
    in->settings.overflow_after_s = 5;
    in->settings.reroute_after_s = 10;
    agent(acc, 1, 0, 10, 0); /* no room */
    struct route_conv *c = arrive(acc, 1, 10, 0, 1);
    route_tick(acc, 4000, on_over, on_rer, NULL);
    assert_null(over_c);
    route_tick(acc, 5001, on_over, on_rer, NULL);
    assert_ptr_equal(over_c, c);
    over_c = NULL;
    route_tick(acc, 6000, on_over, on_rer, NULL);
    assert_null(over_c); /* once */
    /* a router assignment without a reply is taken back after 10 s */
    agent(acc, 2, 3, 10, 0);
    route_dispatch(acc, 6000, on_assign, NULL);
    confirm(acc, 6000);
    assert_int_equal(c->assignee_id, 2);
    assert_true(c->by_router);
    route_tick(acc, 15000, on_over, on_rer, NULL);
    assert_null(rer_c);
    route_tick(acc, 16000, on_over, on_rer, NULL);
    assert_ptr_equal(rer_c, c);
    assert_int_equal(c->excluded_id, 2);
    /* a reply in time keeps it */
    struct route_conv *c2 = arrive(acc, 2, 10, 0, 20000);
    route_dispatch(acc, 20000, on_assign, NULL);
    confirm(acc, 20000);
    rer_c = NULL;
    route_conv_replied(acc, c2->id);
    route_tick(acc, 40000, on_over, on_rer, NULL);
    assert_null(rer_c); /* c2 was answered; c was taken back once already */
    route_release(&rt);
}

static void test_weighted_prefers_skill_and_language(void **state)
{
    (void)state;
    memset(&L, 0, sizeof(L));
    struct routing rt;
    route_init(&rt, 1000);
    struct route_account *acc = route_account(&rt, 1);
    struct route_inbox *in = route_inbox_get(acc, 10);
    in->settings.strategy = ROUTE_WEIGHTED;
    agent(acc, 1, 5, 10, 0);
    struct route_agent *b = agent(acc, 2, 5, 10, 0);
    struct route_skill s = {9, 4};
    route_agent_set_skills(b, &s, 1);
    route_agent_add_language(b, "zh");
    struct route_conv_state st = {1, 10, 0, 1001, 0, RS_OPEN, 0};
    bool entered;
    struct route_conv *c = route_conv_update(acc, &st, false, 0, &entered);
    c->skill_id = 9;
    c->skill_level = 3;
    snprintf(c->language, sizeof(c->language), "zh");
    route_conv_ready(acc, c);
    route_dispatch(acc, 0, on_assign, NULL);
    assert_int_equal(L.n, 1);
    assert_int_equal(L.user[0], 2);
    double t[TERM_COUNT];
    route_terms(acc, b, c, in, 0, t);
    assert_true(t[TERM_SKILL] > 0.79 && t[TERM_SKILL] < 0.81);
    assert_true(t[TERM_LANGUAGE] == 1);
    route_release(&rt);
}

/* Random arrivals, resolves, availability changes, disconnects and failed writes: after every
 * step no agent's load passes their capacity (by the router), loads equal the conversations
 * counted, and nobody away or offline got one. */
static void test_storm_invariants(void **state)
{
    (void)state;
    struct routing rt;
    route_init(&rt, 500);
    struct route_account *acc = route_account(&rt, 1);
    route_inbox_get(acc, 10)->settings.strategy = ROUTE_LEAST_BUSY;
    int caps[6] = {1, 2, 3, 1, 2, 4};
    for (int64_t u = 1; u <= 6; u++)
        agent(acc, u, caps[u - 1], 10, 0);
    uint32_t x = 7;
    int64_t next = 1, now = 0;
    for (int step = 0; step < 5000; step++) {
        now += 10;
        x = x * 1103515245u + 12345u;
        int what = (x >> 16) % 10;
        int64_t u = 1 + (x >> 8) % 6;
        if (what < 4) {
            arrive(acc, next++, 10, (int)((x >> 4) % 5), now);
        } else if (what < 6) {
            /* resolve a random live conversation */
            int64_t ids[512];
            size_t n = 0;
            struct map_entry *e;
            for (size_t i = 0; map_next(&acc->convs, &i, &e) && n < 512;)
                ids[n++] = ((struct route_conv *)e->val)->id;
            if (n)
                resolve(acc, ids[(x >> 3) % n], now);
        } else if (what == 6) {
            route_agent_availability(acc, u, (enum route_avail)((x >> 12) % 3));
        } else if (what == 7) {
            struct route_agent *a = route_agent_get(acc, u);
            route_agent_connected(acc, u, a->connections == 0, now);
        }
        memset(&L, 0, sizeof(L));
        route_dispatch(acc, now, on_assign, NULL);
        for (size_t i = 0; i < L.n; i++) {
            struct route_agent *a = route_agent_get(acc, L.user[i]);
            assert_true(route_agent_online(acc, a, now));
            assert_true(a->load <= a->capacity);
        }
        /* every other step, some writes fail */
        if (step % 2 && L.n)
            route_assign_failed(acc, L.conv[0], L.user[0]);
        confirm(acc, now);
        int load[7] = {0};
        struct map_entry *e;
        for (size_t i = 0; map_next(&acc->convs, &i, &e);) {
            struct route_conv *c = e->val;
            if (c->status == RS_OPEN && c->assignee_id)
                load[c->assignee_id]++;
        }
        for (int64_t k = 1; k <= 6; k++) {
            assert_int_equal(route_agent_get(acc, k)->load, load[k]);
            assert_true(load[k] <= caps[k - 1]);
        }
    }
    route_release(&rt);
}

static void test_rules_and_settings(void **state)
{
    (void)state;
    json_t *conds = json_loads("[{\"field\":\"page_url\",\"operator\":\"contains\",\"value\":"
                               "\"/Billing\"},{\"field\":\"contact.plan\",\"operator\":\"equals\","
                               "\"value\":\"gold\"},{\"field\":\"label\",\"operator\":"
                               "\"not_equals\",\"value\":\"spam\"}]",
                               0, NULL);
    json_t *labels = json_loads("[\"vip\"]", 0, NULL);
    json_t *pre = json_object();
    json_t *attrs = json_loads("{\"plan\":\"Gold\"}", 0, NULL);
    struct route_facts f = {"https://shop.example/billing/1", "hi", "", labels, pre, attrs};
    assert_true(route_rule_matches(conds, false, &f));
    json_array_append_new(labels, json_string("spam"));
    assert_false(route_rule_matches(conds, false, &f));
    assert_true(route_rule_matches(conds, true, &f));
    json_decref(conds);
    json_decref(labels);
    json_decref(pre);
    json_decref(attrs);
    assert_string_equal(route_language_guess("我要退款"), "zh");
    assert_string_equal(route_language_guess("refund please"), "en");
    assert_string_equal(route_language_guess("123 !!"), "");

    struct route_settings s;
    route_settings_default(&s);
    struct jfail jf;
    json_t *v = json_loads("{\"strategy\":\"weighted\",\"weights\":{\"skill\":7}}", 0, NULL);
    assert_int_equal(route_settings_parse(v, &s, &jf), 0);
    assert_int_equal(s.strategy, ROUTE_WEIGHTED);
    assert_true(s.weights[TERM_SKILL] == 7 && s.weights[TERM_LOAD] == 2);
    json_decref(v);
    v = json_loads("{\"weights\":{\"skill\":101}}", 0, NULL);
    assert_true(route_settings_parse(v, &s, &jf) < 0);
    assert_string_equal(jf.field, "routing.weights.skill");
    json_decref(v);
    json_t *out = route_settings_json(&s);
    char *text = json_dumps(out, 0);
    struct route_settings back;
    route_settings_load(text, &back);
    assert_int_equal(back.strategy, ROUTE_WEIGHTED);
    assert_true(back.weights[TERM_SKILL] == 7);
    free(text);
    json_decref(out);
    route_settings_load("not json", &back);
    assert_int_equal(back.strategy, ROUTE_MANUAL);
}

static int rule(const char *body, bool create, struct route_rule_input *in, struct jfail *f)
{
    static json_t *v; /* the input borrows from it until the next call */
    json_decref(v);
    v = json_loads(body, 0, NULL);
    if (!v)
        fail_msg("test JSON does not parse: %s", body);
    memset(f, 0, sizeof(*f));
    return route_rule_parse(v, create, in, f);
}

/* A rule's fields: null where the API says it means "none" (inbox_id: every inbox; the actions:
 * no such action, as the console sends), a 422 naming the field elsewhere; every unknown action
 * refused, not just the first. */
static void test_rule_parse(void **state)
{
    (void)state;
    struct route_rule_input in;
    struct jfail f;
    const char *cond =
        "\"conditions\":[{\"field\":\"label\",\"operator\":\"equals\",\"value\":\"a\"}]";
    char body[512];
    snprintf(body, sizeof(body),
             "{\"name\":\"r\",\"inbox_id\":null,%s,\"actions\":{\"team_id\":null,\"skill\":null,"
             "\"priority\":\"high\"}}",
             cond);
    assert_int_equal(rule(body, true, &in, &f), 0);
    assert_true(in.has_inbox);
    assert_true(in.inbox_id == 0 && in.team_id == 0 && !in.skill);
    assert_int_equal(in.priority, 3);
    assert_true(in.enabled);
    struct {
        const char *body, *field;
    } bad[] = {
        {"{\"name\":null}", "name"},
        {"{\"name\":7}", "name"},
        {"{\"name\":\"a\\u202eb\"}", "name"},
        {"{\"inbox_id\":\"1\"}", "inbox_id"},
        {"{\"inbox_id\":0}", "inbox_id"},
        {"{\"position\":null}", "position"},
        {"{\"position\":1.5}", "position"},
        {"{\"position\":1000001}", "position"},
        {"{\"enabled\":null}", "enabled"},
        {"{\"enabled\":1}", "enabled"},
        {"{\"match\":null}", "match"},
        {"{\"match\":\"some\"}", "match"},
        {"{\"conditions\":null}", "conditions"},
        {"{\"conditions\":{}}", "conditions"},
        {"{\"conditions\":[]}", "conditions"},
        {"{\"conditions\":[{\"field\":\"label\",\"operator\":\"equals\",\"value\":null}]}",
         "conditions"},
        {"{\"conditions\":[{\"field\":null,\"operator\":\"equals\",\"value\":\"a\"}]}",
         "conditions"},
        {"{\"actions\":null}", "actions"},
        {"{\"actions\":[]}", "actions"},
        {"{\"actions\":{}}", "actions"},
        {"{\"actions\":{\"team_id\":\"1\"}}", "actions.team_id"},
        {"{\"actions\":{\"team_id\":1.0}}", "actions.team_id"},
        {"{\"actions\":{\"skill\":5}}", "actions.skill"},
        {"{\"actions\":{\"skill\":\"  \"}}", "actions.skill"},
        {"{\"actions\":{\"skill\":\"bill\\u200bing\"}}", "actions.skill"},
        {"{\"actions\":{\"skill\":\"b\",\"min_level\":null}}", "actions.min_level"},
        {"{\"actions\":{\"skill\":\"b\",\"min_level\":6}}", "actions.min_level"},
        {"{\"actions\":{\"priority\":\"asap\"}}", "actions.priority"},
        {"{\"actions\":{\"priority\":1}}", "actions.priority"},
        /* the second key was never looked at before */
        {"{\"actions\":{\"priority\":\"high\",\"colour\":\"red\"}}", "actions"},
        {"{\"actions\":{\"colour\":\"red\",\"priority\":\"high\"}}", "actions"},
        {"{\"colour\":1}", "colour"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        if (rule(bad[i].body, false, &in, &f) != ERR_VALIDATION)
            fail_msg("%s was accepted", bad[i].body);
        if (strcmp(f.field, bad[i].field) != 0)
            fail_msg("%s: field %s, not %s", bad[i].body, f.field, bad[i].field);
    }
    /* required on create */
    assert_int_equal(rule("{\"name\":\"r\",\"actions\":{\"priority\":\"low\"}}", true, &in, &f),
                     ERR_VALIDATION);
    assert_string_equal(f.field, "conditions");
    snprintf(body, sizeof(body), "{\"name\":\"r\",%s}", cond);
    assert_int_equal(rule(body, true, &in, &f), ERR_VALIDATION);
    assert_string_equal(f.field, "actions");
    /* PATCH with nothing is nothing */
    assert_int_equal(rule("{}", false, &in, &f), 0);
    assert_false(in.has_actions || in.has_conditions || in.name);
    assert_int_equal(rule("{}", false, &in, &f), 0);
}

/* Conditions and settings read from rows of another shape match nothing and keep defaults; they
 * never crash the router. */
static void test_stored_shapes(void **state)
{
    (void)state;
    json_t *conds = json_loads("[{\"field\":null,\"operator\":\"equals\",\"value\":\"a\"},"
                               "{\"operator\":\"equals\"},{\"field\":\"label\",\"value\":1},7,"
                               "\"x\",{\"field\":\"contact.x\",\"operator\":\"contains\"}]",
                               0, NULL);
    json_t *labels = json_loads("[\"a\",5,null]", 0, NULL);
    json_t *pre = json_object(), *attrs = json_loads("{\"x\":{\"deep\":[1]}}", 0, NULL);
    struct route_facts f = {NULL, NULL, NULL, labels, pre, attrs};
    assert_false(route_rule_matches(conds, false, &f));
    assert_false(route_rule_matches(conds, true, &f));
    json_decref(conds);
    json_decref(labels);
    json_decref(pre);
    json_decref(attrs);
    struct route_settings s;
    route_settings_load("{\"strategy\":null,\"weights\":{\"skill\":\"x\"},\"overflow_team_id\":"
                        "null,\"reroute_after_seconds\":30,\"vip_attribute\":[]}",
                        &s);
    assert_int_equal(s.strategy, ROUTE_MANUAL);
    assert_true(s.weights[TERM_SKILL] == 3);
    assert_int_equal(s.reroute_after_s, 30); /* the good key applies */
    assert_string_equal(s.vip_attribute, "vip");
    static const char *const junk[] = {NULL, "", "null", "[]", "{\"strategy\":", "5"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
        route_settings_load(junk[i], &s);
        assert_int_equal(s.strategy, ROUTE_MANUAL);
    }
}

/* Every key of actions is checked, and a first value that is an object does not end the check:
 * it was the loop variable once (a heap over-read in jansson's iterator; fuzz_json_bodies). */
static void test_rule_actions_keys(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"actions\":{\"team_id\":{\"a\":1}}}",
        "{\"actions\":{\"team_id\":2,\"bogus\":1}}",
        "{\"actions\":{\"skill\":\"s\",\"priority\":\"high\",\"x\":[]}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = json_loads(bad[i], 0, NULL);
        struct route_rule_input in;
        struct jfail jf = {0};
        assert_int_equal(route_rule_parse(v, false, &in, &jf), ERR_VALIDATION);
        assert_true(jf.field[0] != '\0');
        json_decref(v);
    }
    json_t *v = json_loads("{\"actions\":{\"team_id\":2,\"skill\":\"billing\",\"min_level\":3,"
                           "\"priority\":\"high\"}}",
                           0, NULL);
    struct route_rule_input in;
    struct jfail jf = {0};
    assert_int_equal(route_rule_parse(v, false, &in, &jf), 0);
    assert_int_equal(in.team_id, 2);
    assert_string_equal(in.skill, "billing");
    assert_int_equal(in.min_level, 3);
    json_decref(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_least_busy_spreads_and_queues),
        cmocka_unit_test(test_failed_write_gives_back),
        cmocka_unit_test(test_order_priority_then_wait),
        cmocka_unit_test(test_presence_grace_and_teams),
        cmocka_unit_test(test_overflow_and_reroute),
        cmocka_unit_test(test_weighted_prefers_skill_and_language),
        cmocka_unit_test(test_storm_invariants),
        cmocka_unit_test(test_rules_and_settings),
        cmocka_unit_test(test_rule_parse),
        cmocka_unit_test(test_stored_shapes),
        cmocka_unit_test(test_rule_actions_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
