/* route.h: the router's state and decisions, with no I/O (the simulation in bench/ drives it with
 * a virtual clock; event/on_route.c drives it from the event spine and writes its decisions).
 *
 * The state, per account: agents (availability, connections, capacity, skills, languages, region,
 * teams, inbox memberships with capacity overrides, and their load = open conversations assigned to
 * them), inboxes (routing settings, the queue, a moving mean of handle times) and the conversations
 * that are not resolved. One thread owns it (the loop), so a decision is a plain function call:
 *
 *   - route_dispatch() pairs waiting conversations with eligible agents. Each pair is *reserved*
 *     at once (the agent's load counts it, the conversation leaves the queue) and handed to the
 *     caller's assign_fn, which writes it. The write is conditional on the conversation still being
 *     open and unassigned; route_assign_failed() undoes a reservation whose write changed nothing.
 *   - route_conv_update() applies what committed (events). While a reservation is pending, only an
 *     assignment event changes the assignee: older snapshots cannot undo it.
 *
 * Hence no conversation is reserved twice, and the router never takes an agent over capacity.
 * Times are milliseconds. */
#ifndef PARLEY_ROUTE_H
#define PARLEY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/map.h"

enum route_strategy { ROUTE_MANUAL, ROUTE_ROUND_ROBIN, ROUTE_LEAST_BUSY, ROUTE_WEIGHTED };
extern const char *const route_strategy_names[]; /* NULL-terminated */

/* Score terms, each in 0..1. */
enum route_term {
    TERM_SKILL,
    TERM_LOAD,
    TERM_PRIORITY,
    TERM_WAIT,
    TERM_LANGUAGE,
    TERM_STICKINESS,
    TERM_REGION,
    TERM_COUNT
};
extern const char *const route_term_names[]; /* TERM_COUNT names */

enum route_avail { AVAIL_ONLINE, AVAIL_AWAY, AVAIL_OFFLINE };
enum route_status { RS_OPEN, RS_PENDING, RS_SNOOZED, RS_RESOLVED };

/* Why an agent cannot take a conversation (0: they can). */
enum route_excl {
    EXCL_NONE,
    EXCL_AWAY,
    EXCL_OFFLINE,
    EXCL_AT_CAPACITY,
    EXCL_NOT_IN_TEAM,
    EXCL_REROUTED,
};
extern const char *const route_excl_names[];

enum { ROUTE_NAME_MAX = 100, ROUTE_REGION_MAX = 40, ROUTE_LANGS_MAX = 8, ROUTE_LANG_MAX = 8 };

struct route_settings {
    enum route_strategy strategy;
    double weights[TERM_COUNT];
    int64_t overflow_team_id;
    int overflow_after_s, reroute_after_s;
    char vip_attribute[41];
};
void route_settings_default(struct route_settings *s);

struct route_skill {
    int64_t skill_id;
    int level;
};

struct route_member {
    int64_t inbox_id;
    int capacity; /* per-inbox override, -1: none */
    int load;     /* open conversations of that inbox assigned to the agent */
    bool member;  /* false: only here to count a conversation assigned by hand */
};

struct route_agent {
    int64_t user_id;
    char name[ROUTE_NAME_MAX + 1];
    int role; /* 0 agent, 1 supervisor, 2 admin */
    enum route_avail availability;
    int connections;
    int64_t disconnected_at;
    int capacity; /* -1: no limit */
    int load;
    int64_t last_assigned_at;
    char languages[ROUTE_LANGS_MAX][ROUTE_LANG_MAX + 1];
    int nlanguages;
    char region[ROUTE_REGION_MAX + 1];
    struct route_skill *skills;
    size_t nskills;
    int64_t *teams;
    size_t nteams;
    struct route_member *members;
    size_t nmembers, cap_members;
    bool present; /* still in the account's configuration */
};

struct route_conv {
    int64_t id, inbox_id, team_id, contact_id;
    int64_t assignee_id; /* what is counted in the agents' load */
    enum route_status status;
    int priority; /* 0 none .. 4 urgent */
    bool vip;
    bool ready; /* context loaded and rules applied: may be assigned */
    bool preparing;
    bool in_queue;      /* in its inbox's queue array */
    int64_t queued_at;  /* when it started waiting (0: not waiting) */
    int64_t pending_to; /* a reservation being written (user id), 0: none */
    int64_t skill_id;
    int skill_level;
    char language[ROUTE_LANG_MAX + 1];
    char region[ROUTE_REGION_MAX + 1];
    int64_t last_agent_id; /* who served the contact last (stickiness) */
    int64_t excluded_id;   /* the agent a re-route took it from */
    int64_t assigned_at;   /* when the current assignee got it */
    bool by_router;        /* the router gave it to the current assignee... */
    bool replied;          /* ...who has replied since */
    bool overflowed;
    int told_position;        /* last position told to the visitor (0: none) */
    int64_t told_eta;         /* and the estimate */
    int64_t counted_inbox_id; /* where its load is counted */
};

struct route_inbox {
    int64_t id;
    char name[ROUTE_NAME_MAX + 1];
    struct route_settings settings;
    struct route_conv **queue; /* waiting, in queue order */
    size_t nqueue, cap_queue;
    double mean_handle_s;
    int handled; /* samples in mean_handle_s */
    size_t told_size;
    bool changed; /* queue changed since the last route_take_changes */
};

/* A conversation that left the queue after its visitor was told a position. */
struct route_left {
    int64_t conversation_id, contact_id;
};

struct route_account {
    int64_t id;
    struct route_left *left; /* since the last route_take_left */
    size_t nleft, cap_left;
    struct map agents;  /* user id -> struct route_agent * */
    struct map inboxes; /* inbox id -> struct route_inbox * */
    struct map convs;   /* conversation id -> struct route_conv * (not resolved) */
    int64_t grace_ms;   /* a dropped connection counts as online this long */
};

struct routing {
    struct map accounts; /* id -> struct route_account * */
    int64_t grace_ms;
};

/* One candidate in an explanation. */
struct route_candidate {
    int64_t user_id;
    char name[ROUTE_NAME_MAX + 1];
    enum route_excl excluded;
    int load, capacity; /* as counted for this inbox */
    double score;
    double terms[TERM_COUNT];
};

enum route_kind { KIND_ASSIGN, KIND_OVERFLOW, KIND_REROUTE };
extern const char *const route_kind_names[];

/* A decision, explained. */
struct route_decision {
    enum route_kind kind;
    enum route_strategy strategy;
    int64_t conversation_id, inbox_id, chosen;
    char reason[256];
    struct route_candidate *candidates; /* owned; route_decision_release */
    size_t ncandidates;
};
void route_decision_release(struct route_decision *d);

/* assign_fn: write the reservation of d->conversation_id to d->chosen; borrows d. */
typedef void (*route_assign_fn)(struct route_account *acc, const struct route_decision *d,
                                void *ud);

void route_init(struct routing *rt, int64_t grace_ms);
void route_release(struct routing *rt);
struct route_account *route_account(struct routing *rt, int64_t account_id); /* get or create */
struct route_account *route_account_find(const struct routing *rt, int64_t account_id);

/* Configuration. route_agent_get makes an empty agent if needed (present = false). */
struct route_agent *route_agent_get(struct route_account *acc, int64_t user_id);
/* route_config_begin/end: reload the account's agents; agents not set in between lose their
 * memberships, teams and skills (loads stay: they come from conversations). */
void route_config_begin(struct route_account *acc);
void route_agent_set_skills(struct route_agent *a, const struct route_skill *s, size_t n);
void route_agent_set_teams(struct route_agent *a, const int64_t *teams, size_t n);
void route_agent_add_language(struct route_agent *a, const char *lang);
/* route_agent_member: a membership of the inbox with its capacity override (-1: none). */
void route_agent_member(struct route_agent *a, int64_t inbox_id, int capacity);
void route_config_end(struct route_account *acc);
struct route_inbox *route_inbox_get(struct route_account *acc, int64_t inbox_id);
void route_inbox_remove(struct route_account *acc, int64_t inbox_id);

/* Presence. */
void route_agent_availability(struct route_account *acc, int64_t user_id, enum route_avail a);
void route_agent_connected(struct route_account *acc, int64_t user_id, bool up, int64_t now);
bool route_agent_online(const struct route_account *acc, const struct route_agent *a, int64_t now);

/* Conversations. route_conv_update applies a committed state (assigned = the event is an
 * assignment, which may replace a pending reservation). Returns the conversation, or NULL when it
 * left (resolved). *entered says it started waiting and has no context yet: prepare it, then call
 * route_conv_ready. */
struct route_conv_state {
    int64_t id, inbox_id, team_id, contact_id, assignee_id;
    enum route_status status;
    int priority;
};
struct route_conv *route_conv_update(struct route_account *acc, const struct route_conv_state *st,
                                     bool assigned, int64_t now, bool *entered);
struct route_conv *route_conv_find(const struct route_account *acc, int64_t id);
void route_conv_ready(struct route_account *acc, struct route_conv *c);
/* route_conv_replied: the assignee answered (cancels a re-route). */
void route_conv_replied(struct route_account *acc, int64_t conversation_id);
void route_assign_failed(struct route_account *acc, int64_t conversation_id, int64_t user_id);

/* route_dispatch: makes every assignment that can be made now in the account. */
void route_dispatch(struct route_account *acc, int64_t now, route_assign_fn fn, void *ud);
/* route_explain: the candidates for c as things stand (for a queued conversation). */
void route_explain(struct route_account *acc, struct route_conv *c, int64_t now,
                   struct route_decision *out);

/* Timers: conversations that waited past the overflow time (overflow_fn moves them to the team),
 * and router assignments without a reply past the re-route time (reroute_fn takes them back). */
typedef void (*route_conv_fn)(struct route_account *acc, struct route_conv *c, void *ud);
void route_tick(struct route_account *acc, int64_t now, route_conv_fn overflow_fn,
                route_conv_fn reroute_fn, void *ud);

/* route_take_left: the conversations that left a queue after their visitor was told a position
 * (still there again: skip them); empties the list. Borrowed until the next change. */
const struct route_left *route_take_left(struct route_account *acc, size_t *n);

/* Queue. */
int route_queue_position(const struct route_account *acc, const struct route_conv *c); /* 1.., 0 */
/* route_online_slots: the capacity of the inbox's online members (an unlimited agent counts as 3);
 * computed once per inbox, then route_eta_s per position. */
double route_online_slots(const struct route_account *acc, const struct route_inbox *in,
                          int64_t now);
/* route_eta_s: estimated wait in seconds at a position, or -1 when nobody eligible is online. */
int64_t route_eta_s(const struct route_inbox *in, int position, double slots);
/* route_handle_sample: a conversation was handled for `seconds` (assigned to resolved). */
void route_handle_sample(struct route_inbox *in, double seconds);

/* term values and candidates (policy.c) */
enum route_excl route_check(const struct route_account *acc, const struct route_agent *a,
                            const struct route_conv *c, int64_t now);
void route_terms(const struct route_account *acc, const struct route_agent *a,
                 const struct route_conv *c, const struct route_inbox *in, int64_t now,
                 double terms[TERM_COUNT]);
/* route_agent_room: load and capacity as counted for a conversation of this inbox (-1: none). */
void route_agent_room(const struct route_agent *a, int64_t inbox_id, int *load, int *capacity);
bool route_agent_in_pool(const struct route_agent *a, const struct route_conv *c);

#endif
