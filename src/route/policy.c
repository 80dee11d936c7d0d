/* policy.c: who may take a conversation, the score terms of the weighted strategy, and the
 * explanation of a decision (every candidate with its terms). Pure functions of the state. */
#include "base/sys.h"
#include "base/alloc.h"
#include "route/route.h"

#include <strings.h>

bool route_agent_in_pool(const struct route_agent *a, const struct route_conv *c)
{
    if (c->team_id) {
        for (size_t i = 0; i < a->nteams; i++)
            if (a->teams[i] == c->team_id)
                return true;
        return false;
    }
    for (size_t i = 0; i < a->nmembers; i++)
        if (a->members[i].inbox_id == c->inbox_id)
            return a->members[i].member;
    return false;
}

void route_agent_room(const struct route_agent *a, int64_t inbox_id, int *load, int *capacity)
{
    for (size_t i = 0; i < a->nmembers; i++) {
        const struct route_member *m = &a->members[i];
        if (m->inbox_id == inbox_id && m->member && m->capacity >= 0) {
            *load = m->load;
            *capacity = m->capacity;
            return;
        }
    }
    *load = a->load;
    *capacity = a->capacity;
}

enum route_excl route_check(const struct route_account *acc, const struct route_agent *a,
                            const struct route_conv *c, int64_t now)
{
    if (!route_agent_in_pool(a, c))
        return EXCL_NOT_IN_TEAM;
    if (a->availability == AVAIL_AWAY)
        return EXCL_AWAY;
    if (!route_agent_online(acc, a, now))
        return EXCL_OFFLINE;
    if (c->excluded_id == a->user_id)
        return EXCL_REROUTED;
    int load, cap;
    route_agent_room(a, c->inbox_id, &load, &cap);
    if (cap >= 0 && load >= cap)
        return EXCL_AT_CAPACITY;
    return EXCL_NONE;
}

void route_terms(const struct route_account *acc, const struct route_agent *a,
                 const struct route_conv *c, const struct route_inbox *in, int64_t now,
                 double t[TERM_COUNT])
{
    (void)acc;
    (void)in;
    memset(t, 0, sizeof(double) * TERM_COUNT);
    if (c->skill_id) {
        for (size_t i = 0; i < a->nskills; i++)
            if (a->skills[i].skill_id == c->skill_id && a->skills[i].level >= c->skill_level)
                t[TERM_SKILL] = a->skills[i].level / 5.0;
    }
    int load, cap;
    route_agent_room(a, c->inbox_id, &load, &cap);
    if (cap > 0)
        t[TERM_LOAD] = load >= cap ? 0 : (double)(cap - load) / cap;
    else if (cap < 0)
        t[TERM_LOAD] = 1.0 / (1 + load);
    t[TERM_PRIORITY] = c->vip ? 1.0 : c->priority / 4.0;
    if (c->queued_at && now > c->queued_at) {
        double w = (double)(now - c->queued_at) / 600000.0; /* saturates at 10 minutes */
        t[TERM_WAIT] = w > 1 ? 1 : w;
    }
    if (c->language[0])
        for (int i = 0; i < a->nlanguages; i++)
            if (strcasecmp(a->languages[i], c->language) == 0 ||
                (strncasecmp(a->languages[i], c->language, 2) == 0 &&
                 (a->languages[i][2] == '-' || c->language[2] == '-' || !c->language[2])))
                t[TERM_LANGUAGE] = 1;
    if (c->last_agent_id && c->last_agent_id == a->user_id)
        t[TERM_STICKINESS] = 1;
    if (c->region[0] && a->region[0] && strcasecmp(c->region, a->region) == 0)
        t[TERM_REGION] = 1;
}

static const char *rule_text(enum route_strategy s)
{
    switch (s) {
    case ROUTE_LEAST_BUSY:
        return "least busy: the fewest open conversations wins, then whoever was given one"
               " longest ago";
    case ROUTE_ROUND_ROBIN:
        return "round robin: whoever was given a conversation longest ago";
    case ROUTE_WEIGHTED:
        return "weighted: the highest score (the weighted sum of the terms) wins";
    default:
        return "manual: agents take conversations themselves";
    }
}

void route_explain(struct route_account *acc, struct route_conv *c, int64_t now,
                   struct route_decision *d)
{
    struct route_inbox *in = route_inbox_get(acc, c->inbox_id);
    memset(d, 0, sizeof(*d));
    d->strategy = in->settings.strategy;
    d->conversation_id = c->id;
    d->inbox_id = c->inbox_id;
    size_t cap = 0;
    struct map_entry *e;
    for (size_t i = 0; map_next(&acc->agents, &i, &e);) {
        struct route_agent *a = e->val;
        if (!route_agent_in_pool(a, c))
            continue;
        if (d->ncandidates == cap) {
            cap = cap ? cap * 2 : 8;
            d->candidates = xrealloc(d->candidates, cap * sizeof(*d->candidates));
        }
        struct route_candidate *k = &d->candidates[d->ncandidates++];
        memset(k, 0, sizeof(*k));
        k->user_id = a->user_id;
        snprintf(k->name, sizeof(k->name), "%s", a->name);
        k->excluded = route_check(acc, a, c, now);
        route_agent_room(a, c->inbox_id, &k->load, &k->capacity);
        route_terms(acc, a, c, in, now, k->terms);
        switch (d->strategy) {
        case ROUTE_LEAST_BUSY:
            k->score = -(double)k->load;
            break;
        case ROUTE_ROUND_ROBIN:
            k->score = a->last_assigned_at ? (double)(now - a->last_assigned_at) / 1000.0 : 1e9;
            break;
        default:
            for (int t = 0; t < TERM_COUNT; t++)
                k->score += in->settings.weights[t] * k->terms[t];
        }
    }
    snprintf(d->reason, sizeof(d->reason), "%s.", rule_text(d->strategy));
}
