/* route.c: the router's state: agents, inboxes and their queues, conversations and the loads they
 * put on agents, reservations, and the dispatch loop (see route.h). Scoring and explanations are in
 * policy.c. */
#include "base/sys.h"
#include "base/alloc.h"
#include "route/route.h"

const char *const route_strategy_names[] = {"manual", "round_robin", "least_busy", "weighted",
                                            NULL};
const char *const route_term_names[] = {"skill",    "load",       "priority", "wait",
                                        "language", "stickiness", "region"};
const char *const route_excl_names[] = {
    "", "away", "offline", "at_capacity", "not_in_team", "rerouted_from"};
const char *const route_kind_names[] = {"assign", "overflow", "reroute"};

void route_settings_default(struct route_settings *s)
{
    static const double w[TERM_COUNT] = {3, 2, 1, 1, 1, 1, 0.5};
    memset(s, 0, sizeof(*s));
    s->strategy = ROUTE_MANUAL;
    memcpy(s->weights, w, sizeof(w));
    snprintf(s->vip_attribute, sizeof(s->vip_attribute), "vip");
}

void route_decision_release(struct route_decision *d)
{
    free(d->candidates);
    d->candidates = NULL;
    d->ncandidates = 0;
}

void route_init(struct routing *rt, int64_t grace_ms)
{
    map_init(&rt->accounts, false);
    rt->grace_ms = grace_ms;
}

static void agent_free(struct route_agent *a)
{
    free(a->skills);
    free(a->teams);
    free(a->members);
    free(a);
}

static void account_free(struct route_account *acc)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);)
        agent_free(e->val);
    for (size_t i = 0; map_next(&acc->inboxes, &i, &e);) {
        struct route_inbox *in = e->val;
        free(in->queue);
        free(in);
    }
    for (size_t i = 0; map_next(&acc->convs, &i, &e);)
        free(e->val);
    map_release(&acc->agents);
    map_release(&acc->inboxes);
    map_release(&acc->convs);
    free(acc->left);
    free(acc);
}

void route_release(struct routing *rt)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&rt->accounts, &i, &e);)
        account_free(e->val);
    map_release(&rt->accounts);
}

struct route_account *route_account_find(const struct routing *rt, int64_t account_id)
{
    return map_get(&rt->accounts, (uint64_t)account_id);
}

struct route_account *route_account(struct routing *rt, int64_t account_id)
{
    struct route_account *acc = route_account_find(rt, account_id);
    if (acc)
        return acc;
    acc = xcalloc(1, sizeof(*acc));
    acc->id = account_id;
    acc->grace_ms = rt->grace_ms;
    map_init(&acc->agents, false);
    map_init(&acc->inboxes, false);
    map_init(&acc->convs, false);
    map_put(&rt->accounts, (uint64_t)account_id, acc);
    return acc;
}

/* ---- agents ---- */

struct route_agent *route_agent_get(struct route_account *acc, int64_t user_id)
{
    struct route_agent *a = map_get(&acc->agents, (uint64_t)user_id);
    if (a)
        return a;
    a = xcalloc(1, sizeof(*a));
    a->user_id = user_id;
    a->capacity = -1;
    a->availability = AVAIL_OFFLINE;
    map_put(&acc->agents, (uint64_t)user_id, a);
    return a;
}

static struct route_member *member_find(const struct route_agent *a, int64_t inbox_id)
{
    for (size_t i = 0; i < a->nmembers; i++)
        if (a->members[i].inbox_id == inbox_id)
            return &a->members[i];
    return NULL;
}

static struct route_member *member_get(struct route_agent *a, int64_t inbox_id)
{
    struct route_member *m = member_find(a, inbox_id);
    if (m)
        return m;
    if (a->nmembers == a->cap_members) {
        a->cap_members = a->cap_members ? a->cap_members * 2 : 4;
        a->members = xrealloc(a->members, a->cap_members * sizeof(*a->members));
    }
    m = &a->members[a->nmembers++];
    *m = (struct route_member){.inbox_id = inbox_id, .capacity = -1};
    return m;
}

void route_config_begin(struct route_account *acc)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);) {
        struct route_agent *a = e->val;
        a->present = false;
        a->nskills = a->nteams = 0;
        a->nlanguages = 0;
        for (size_t k = 0; k < a->nmembers; k++) {
            a->members[k].member = false;
            a->members[k].capacity = -1;
        }
    }
}

void route_config_end(struct route_account *acc)
{
    (void)acc; /* agents who left keep their loads until their conversations move */
}

void route_agent_set_skills(struct route_agent *a, const struct route_skill *s, size_t n)
{
    a->skills = xrealloc(a->skills, (n ? n : 1) * sizeof(*s));
    if (n)
        memcpy(a->skills, s, n * sizeof(*s));
    a->nskills = n;
}

void route_agent_set_teams(struct route_agent *a, const int64_t *teams, size_t n)
{
    a->teams = xrealloc(a->teams, (n ? n : 1) * sizeof(*teams));
    if (n)
        memcpy(a->teams, teams, n * sizeof(*teams));
    a->nteams = n;
}

void route_agent_add_language(struct route_agent *a, const char *lang)
{
    if (a->nlanguages < ROUTE_LANGS_MAX)
        snprintf(a->languages[a->nlanguages++], ROUTE_LANG_MAX + 1, "%s", lang);
}

void route_agent_member(struct route_agent *a, int64_t inbox_id, int capacity)
{
    struct route_member *m = member_get(a, inbox_id);
    m->member = true;
    m->capacity = capacity;
}

struct route_inbox *route_inbox_get(struct route_account *acc, int64_t inbox_id)
{
    struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)inbox_id);
    if (in)
        return in;
    in = xcalloc(1, sizeof(*in));
    in->id = inbox_id;
    route_settings_default(&in->settings);
    map_put(&acc->inboxes, (uint64_t)inbox_id, in);
    return in;
}

static void queue_remove(struct route_account *acc, struct route_conv *c);

void route_inbox_remove(struct route_account *acc, int64_t inbox_id)
{
    struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)inbox_id);
    if (!in)
        return;
    /* Its conversations stay known (they still count towards loads) but no longer wait. */
    while (in->nqueue) {
        struct route_conv *c = in->queue[0];
        queue_remove(acc, c);
        c->queued_at = 0;
    }
    in->settings.strategy = ROUTE_MANUAL;
}

/* ---- presence ---- */

void route_agent_availability(struct route_account *acc, int64_t user_id, enum route_avail av)
{
    route_agent_get(acc, user_id)->availability = av;
}

void route_agent_connected(struct route_account *acc, int64_t user_id, bool up, int64_t now)
{
    struct route_agent *a = route_agent_get(acc, user_id);
    if (up)
        a->connections++;
    else if (a->connections > 0 && --a->connections == 0)
        a->disconnected_at = now;
}

bool route_agent_online(const struct route_account *acc, const struct route_agent *a, int64_t now)
{
    if (a->availability != AVAIL_ONLINE)
        return false;
    return a->connections > 0 ||
           (a->disconnected_at > 0 && now - a->disconnected_at < acc->grace_ms);
}

/* ---- conversations, loads and the queue ---- */

static bool waiting(const struct route_conv *c)
{
    return c->status == RS_OPEN && c->assignee_id == 0 && c->pending_to == 0;
}

static int queue_rank(const struct route_conv *c)
{
    return c->vip && c->priority < 4 ? 4 : c->priority;
}

/* queue order: higher priority first, then longer wait, then lower id */
static bool before(const struct route_conv *a, const struct route_conv *b)
{
    int ra = queue_rank(a), rb = queue_rank(b);
    if (ra != rb)
        return ra > rb;
    if (a->queued_at != b->queued_at)
        return a->queued_at < b->queued_at;
    return a->id < b->id;
}

static void queue_add(struct route_account *acc, struct route_conv *c)
{
    struct route_inbox *in = route_inbox_get(acc, c->inbox_id);
    if (in->nqueue == in->cap_queue) {
        in->cap_queue = in->cap_queue ? in->cap_queue * 2 : 16;
        in->queue = xrealloc(in->queue, in->cap_queue * sizeof(*in->queue));
    }
    size_t lo = 0, hi = in->nqueue;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (before(in->queue[mid], c))
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(in->queue + lo + 1, in->queue + lo, (in->nqueue - lo) * sizeof(*in->queue));
    in->queue[lo] = c;
    in->nqueue++;
    c->in_queue = true;
    in->changed = true;
}

static void queue_remove(struct route_account *acc, struct route_conv *c)
{
    c->in_queue = false;
    if (c->told_position > 0) {
        /* its visitor hears it left, unless it is back by then */
        if (acc->nleft == acc->cap_left) {
            acc->cap_left = acc->cap_left ? acc->cap_left * 2 : 16;
            acc->left = xrealloc(acc->left, acc->cap_left * sizeof(*acc->left));
        }
        acc->left[acc->nleft++] = (struct route_left){c->id, c->contact_id};
        c->told_position = 0;
        c->told_eta = 0;
    }
    struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)c->inbox_id);
    if (!in)
        return;
    for (size_t i = 0; i < in->nqueue; i++)
        if (in->queue[i] == c) {
            memmove(in->queue + i, in->queue + i + 1, (in->nqueue - i - 1) * sizeof(*in->queue));
            in->nqueue--;
            in->changed = true;
            return;
        }
}

static void load_add(struct route_account *acc, struct route_conv *c, int d)
{
    if (c->status != RS_OPEN || c->assignee_id == 0)
        return;
    struct route_agent *a = route_agent_get(acc, c->assignee_id);
    a->load += d;
    member_get(a, d > 0 ? c->inbox_id : c->counted_inbox_id)->load += d;
    if (d > 0)
        c->counted_inbox_id = c->inbox_id;
}

/* detach/attach bracket every change to a conversation's fields. */
static void detach(struct route_account *acc, struct route_conv *c)
{
    if (c->in_queue)
        queue_remove(acc, c);
    load_add(acc, c, -1);
}

static void attach(struct route_account *acc, struct route_conv *c, int64_t now, bool *entered)
{
    load_add(acc, c, +1);
    if (!waiting(c)) {
        if (c->pending_to == 0)
            c->queued_at = 0;
        return;
    }
    if (!c->queued_at)
        c->queued_at = now;
    queue_add(acc, c);
    if (!c->ready && !c->preparing && entered)
        *entered = true;
}

struct route_conv *route_conv_find(const struct route_account *acc, int64_t id)
{
    return map_get(&acc->convs, (uint64_t)id);
}

void route_handle_sample(struct route_inbox *in, double seconds)
{
    if (seconds < 0)
        return;
    /* a plain mean for the first 20, then an exponential moving average */
    in->handled++;
    double alpha = in->handled <= 20 ? 1.0 / in->handled : 0.05;
    in->mean_handle_s += alpha * (seconds - in->mean_handle_s);
}

struct route_conv *route_conv_update(struct route_account *acc, const struct route_conv_state *st,
                                     bool assigned, int64_t now, bool *entered)
{
    if (entered)
        *entered = false;
    struct route_conv *c = route_conv_find(acc, st->id);
    if (st->status == RS_RESOLVED) {
        if (!c)
            return NULL;
        detach(acc, c);
        if (c->assignee_id && c->assigned_at && c->status == RS_OPEN)
            route_handle_sample(route_inbox_get(acc, c->inbox_id),
                                (double)(now - c->assigned_at) / 1000.0);
        map_del(&acc->convs, (uint64_t)c->id);
        free(c);
        return NULL;
    }
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->id = st->id;
        map_put(&acc->convs, (uint64_t)c->id, c);
    } else {
        detach(acc, c);
    }
    if (c->inbox_id && c->inbox_id != st->inbox_id)
        c->ready = false; /* moved: its new inbox's rules apply */
    c->inbox_id = st->inbox_id;
    if (c->team_id != st->team_id)
        c->overflowed = c->overflowed && st->team_id != 0;
    c->team_id = st->team_id;
    c->contact_id = st->contact_id;
    c->status = st->status;
    c->priority = st->priority;
    if (c->pending_to) {
        /* A reservation is being written: only an assignment can change the assignee. */
        if (assigned) {
            if (st->assignee_id == c->pending_to) {
                c->by_router = true;
                c->replied = false;
            } else {
                c->assignee_id = st->assignee_id;
                c->by_router = false;
            }
            c->pending_to = 0;
            c->assigned_at = now;
        }
    } else if (c->assignee_id != st->assignee_id) {
        c->assignee_id = st->assignee_id;
        c->assigned_at = st->assignee_id ? now : 0;
        c->by_router = false;
        c->replied = false;
    }
    attach(acc, c, now, entered);
    return c;
}

void route_conv_ready(struct route_account *acc, struct route_conv *c)
{
    detach(acc, c);
    c->ready = true;
    c->preparing = false;
    attach(acc, c, c->queued_at ? c->queued_at : 1, NULL);
}

void route_conv_replied(struct route_account *acc, int64_t conversation_id)
{
    struct route_conv *c = route_conv_find(acc, conversation_id);
    if (c)
        c->replied = true;
}

void route_assign_failed(struct route_account *acc, int64_t conversation_id, int64_t user_id)
{
    struct route_conv *c = route_conv_find(acc, conversation_id);
    if (!c || c->pending_to != user_id)
        return;
    detach(acc, c);
    c->pending_to = 0;
    c->assignee_id = 0;
    c->by_router = false;
    attach(acc, c, c->queued_at ? c->queued_at : 1, NULL);
}

int route_queue_position(const struct route_account *acc, const struct route_conv *c)
{
    if (!waiting(c))
        return 0;
    const struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)c->inbox_id);
    if (!in)
        return 0;
    for (size_t i = 0; i < in->nqueue; i++)
        if (in->queue[i] == c)
            return (int)i + 1;
    return 0;
}

double route_online_slots(const struct route_account *acc, const struct route_inbox *in,
                          int64_t now)
{
    double slots = 0;
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);) {
        const struct route_agent *a = e->val;
        const struct route_member *m = member_find(a, in->id);
        if (!m || !m->member || !route_agent_online(acc, a, now))
            continue;
        int cap = m->capacity >= 0 ? m->capacity : a->capacity;
        slots += cap < 0 ? 3 : cap;
    }
    return slots;
}

int64_t route_eta_s(const struct route_inbox *in, int position, double slots)
{
    if (slots <= 0)
        return -1;
    double mean = in->handled ? in->mean_handle_s : 300.0;
    return (int64_t)(position * mean / slots + 0.999);
}

const struct route_left *route_take_left(struct route_account *acc, size_t *n)
{
    *n = acc->nleft;
    acc->nleft = 0;
    return acc->left;
}

/* ---- dispatch ---- */

static void reserve(struct route_account *acc, struct route_conv *c, struct route_agent *a,
                    int64_t now, enum route_kind kind, route_assign_fn fn, void *ud)
{
    struct route_decision d = {0};
    route_explain(acc, c, now, &d);
    d.kind = kind;
    d.chosen = a->user_id;
    /* the reason names the winner; route_explain wrote the strategy's rule into it */
    char rule[sizeof(d.reason)];
    snprintf(rule, sizeof(rule), "%s", d.reason);
    int load, cap;
    route_agent_room(a, c->inbox_id, &load, &cap);
    char capbuf[16];
    snprintf(capbuf, sizeof(capbuf), "%d", cap);
    snprintf(d.reason, sizeof(d.reason), "%s had %d of %s open conversations; %s", a->name, load,
             cap < 0 ? "unlimited" : capbuf, rule);
    detach(acc, c);
    c->pending_to = a->user_id;
    c->assignee_id = a->user_id;
    c->excluded_id = 0;
    attach(acc, c, now, NULL);
    a->last_assigned_at = now;
    fn(acc, &d, ud);
    route_decision_release(&d);
}

static double pick_score(const struct route_account *acc, const struct route_agent *a,
                         const struct route_conv *c, const struct route_inbox *in, int64_t now)
{
    int load, cap;
    switch (in->settings.strategy) {
    case ROUTE_LEAST_BUSY:
        route_agent_room(a, c->inbox_id, &load, &cap);
        return -(double)load;
    case ROUTE_ROUND_ROBIN:
        return 0;
    default: {
        double t[TERM_COUNT], s = 0;
        route_terms(acc, a, c, in, now, t);
        for (int k = 0; k < TERM_COUNT; k++)
            s += in->settings.weights[k] * t[k];
        return s;
    }
    }
}

/* better: a higher score, then given a conversation longer ago, then the lower id */
static bool better(double s, const struct route_agent *a, double bs, const struct route_agent *b)
{
    if (!b)
        return true;
    if (s != bs)
        return s > bs;
    if (a->last_assigned_at != b->last_assigned_at)
        return a->last_assigned_at < b->last_assigned_at;
    return a->user_id < b->user_id;
}

static struct route_agent *pick(struct route_account *acc, const struct route_conv *c,
                                const struct route_inbox *in, int64_t now, double *score)
{
    struct route_agent *best = NULL;
    double bs = 0;
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);) {
        struct route_agent *a = e->val;
        if (!route_agent_in_pool(a, c) || route_check(acc, a, c, now) != EXCL_NONE)
            continue;
        double s = pick_score(acc, a, c, in, now);
        if (better(s, a, bs, best)) {
            best = a;
            bs = s;
        }
    }
    if (score)
        *score = bs;
    return best;
}

static void dispatch_inbox(struct route_account *acc, struct route_inbox *in, int64_t now,
                           route_assign_fn fn, void *ud)
{
    if (in->settings.strategy == ROUTE_MANUAL)
        return;
    if (in->settings.strategy != ROUTE_WEIGHTED) {
        /* In queue order; a conversation nobody can take now (its team is busy) does not hold up
         * the ones behind it. */
        for (size_t i = 0; i < in->nqueue;) {
            struct route_conv *c = in->queue[i];
            struct route_agent *a = c->ready ? pick(acc, c, in, now, NULL) : NULL;
            if (!a) {
                i++;
                continue;
            }
            reserve(acc, c, a, now, c->excluded_id ? KIND_REROUTE : KIND_ASSIGN, fn, ud);
        }
        return;
    }
    /* weighted: the best (conversation, agent) pair first, until no pair is left */
    for (;;) {
        struct route_conv *bc = NULL;
        struct route_agent *ba = NULL;
        double bs = 0;
        for (size_t i = 0; i < in->nqueue; i++) {
            struct route_conv *c = in->queue[i];
            if (!c->ready)
                continue;
            double s;
            struct route_agent *a = pick(acc, c, in, now, &s);
            if (a && (!bc || s > bs)) {
                bc = c;
                ba = a;
                bs = s;
            }
        }
        if (!bc)
            return;
        reserve(acc, bc, ba, now, bc->excluded_id ? KIND_REROUTE : KIND_ASSIGN, fn, ud);
    }
}

void route_dispatch(struct route_account *acc, int64_t now, route_assign_fn fn, void *ud)
{
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->inboxes, &i, &e);) {
        struct route_inbox *in = e->val;
        if (in->nqueue)
            dispatch_inbox(acc, in, now, fn, ud);
    }
}

void route_tick(struct route_account *acc, int64_t now, route_conv_fn overflow_fn,
                route_conv_fn reroute_fn, void *ud)
{
    struct map_entry *e;
    /* collect first: the callbacks may change the maps */
    size_t n = 0, cap = 0;
    struct route_conv **due = NULL;
    bool *over = NULL;
    for (size_t i = 0; map_next(&acc->convs, &i, &e);) {
        struct route_conv *c = e->val;
        struct route_inbox *in = map_get(&acc->inboxes, (uint64_t)c->inbox_id);
        if (!in || c->status != RS_OPEN)
            continue;
        const struct route_settings *s = &in->settings;
        bool o = waiting(c) && c->queued_at && s->overflow_team_id && s->overflow_after_s > 0 &&
                 !c->overflowed && c->team_id != s->overflow_team_id &&
                 now - c->queued_at >= (int64_t)s->overflow_after_s * 1000;
        bool r = c->assignee_id && !c->pending_to && c->by_router && !c->replied &&
                 s->reroute_after_s > 0 && s->strategy != ROUTE_MANUAL &&
                 now - c->assigned_at >= (int64_t)s->reroute_after_s * 1000;
        if (!o && !r)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            due = xrealloc(due, cap * sizeof(*due));
            over = xrealloc(over, cap * sizeof(*over));
        }
        due[n] = c;
        over[n++] = o;
    }
    for (size_t i = 0; i < n; i++) {
        struct route_conv *c = due[i];
        if (over[i]) {
            c->overflowed = true;
            overflow_fn(acc, c, ud);
        } else {
            c->by_router = false; /* once */
            c->excluded_id = c->assignee_id;
            reroute_fn(acc, c, ud);
        }
    }
    free(due);
    free(over);
}
