/* on_push.c: subscribers per account, the visibility rule, the replay-then-live hand-over, and
 * presence. */
#include "base/sys.h"
#include "base/log.h"
#include "base/map.h"
#include "event/event.h"
#include "event/on_push.h"
#include "net/ws.h"

enum { HELD_MAX = 10000 };

struct held {
    int64_t seq;
    char *frame;
    size_t len;
};

struct push_sub {
    struct push_sub *prev, *next; /* agents: the account's list; visitors: their contact's */
    uint64_t conn_id;
    int64_t account_id, user_id, contact_id, inbox_id;
    enum push_role role;
    int64_t *inboxes;
    size_t ninboxes;
    int64_t last_seq; /* highest seq sent */
    bool live, available, told_online;
    struct held *held;
    size_t nheld, capheld;
};

struct acct {
    struct push_sub *agents;
    struct map visitors; /* contact_id -> first push_sub */
    size_t nvisitors;
};

static struct server *srv;
static struct map accounts; /* account_id -> struct acct */
static size_t nsubs;

void push_init(struct server *s)
{
    srv = s;
    map_init(&accounts, false);
}

void push_release(void)
{
    struct map_entry *e;
    for (size_t it = 0; map_next(&accounts, &it, &e);) {
        struct acct *a = e->val;
        map_release(&a->visitors);
        free(a);
    }
    map_release(&accounts);
}

size_t push_subscriber_count(void)
{
    return nsubs;
}

static struct acct *acct_get(int64_t account_id, bool create)
{
    struct acct *a = map_get(&accounts, (uint64_t)account_id);
    if (!a && create) {
        a = xcalloc(1, sizeof(*a));
        map_init(&a->visitors, false);
        map_put(&accounts, (uint64_t)account_id, a);
    }
    return a;
}

static bool has_inbox(const struct push_sub *s, int64_t inbox_id)
{
    for (size_t i = 0; i < s->ninboxes; i++)
        if (s->inboxes[i] == inbox_id)
            return true;
    return false;
}

/* may_see_inbox: an agent-side subscriber that may see this inbox (0: account-wide). */
static bool may_see_inbox(const struct push_sub *s, int64_t inbox_id)
{
    return s->role != PUSH_AGENT || inbox_id == 0 || has_inbox(s, inbox_id);
}

/* An account-wide event about something agents see through inboxes (a contact: through their
 * conversations) names those inboxes in data.inbox_ids; an agent sees it only for one of theirs. */
static bool may_see_inboxes(const struct push_sub *s, const json_t *ids)
{
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (has_inbox(s, json_integer_value(v)))
            return true;
    }
    return false;
}

static bool visible(const struct push_sub *s, const struct event *ev)
{
    if (s->role == PUSH_VISITOR)
        return !ev->private && ev->contact_id != 0 && ev->contact_id == s->contact_id;
    if (s->role == PUSH_AGENT && ev->inbox_id == 0) {
        const json_t *ids = json_object_get(ev->data, "inbox_ids");
        if (json_is_array(ids))
            return may_see_inboxes(s, ids);
    }
    return may_see_inbox(s, ev->inbox_id);
}

/* ---- presence ---- */

static bool user_online(const struct acct *a, int64_t user_id)
{
    for (const struct push_sub *s = a->agents; s; s = s->next)
        if (s->user_id == user_id && s->available)
            return true;
    return false;
}

static bool inbox_online(const struct acct *a, int64_t inbox_id)
{
    for (const struct push_sub *s = a->agents; s; s = s->next)
        if (s->available && may_see_inbox(s, inbox_id))
            return true;
    return false;
}

json_t *push_online_users(int64_t account_id)
{
    json_t *ids = json_array();
    struct acct *a = acct_get(account_id, false);
    for (const struct push_sub *s = a ? a->agents : NULL; s; s = s->next) {
        if (!s->available)
            continue;
        bool seen = false;
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
            seen |= json_integer_value(v) == s->user_id;
        }
        if (!seen)
            json_array_append_new(ids, json_integer(s->user_id));
    }
    return ids;
}

bool push_inbox_online(int64_t account_id, int64_t inbox_id)
{
    struct acct *a = acct_get(account_id, false);
    return a && inbox_online(a, inbox_id);
}

void push_visitor_told(struct push_sub *s, bool online)
{
    s->told_online = online;
}

static void announce_visitors(struct acct *a);

/* announce: after an agent's connection or availability changed: tell the account's agents if the
 * user went on- or offline, and each visitor whose inbox changed. */
static void announce(struct acct *a, int64_t user_id, bool was_online)
{
    bool now = user_online(a, user_id);
    if (now == was_online)
        return;
    char frame[96];
    int n = snprintf(frame, sizeof(frame),
                     "{\"type\":\"presence\",\"user_id\":%" PRId64 ",\"online\":%s}", user_id,
                     now ? "true" : "false");
    for (struct push_sub *s = a->agents; s; s = s->next)
        if (s->live)
            ws_send_text(srv, s->conn_id, frame, (size_t)n);
    announce_visitors(a);
}

/* announce_visitors: tells each visitor whose inbox went on- or offline. */
static void announce_visitors(struct acct *a)
{
    struct map cache;
    /* inbox_id -> 1 offline, 2 online: one answer per inbox */ /* inbox_id -> 1 offline, 2
                                                                   online */
    map_init(&cache, false);
    struct map_entry *e;
    for (size_t it = 0; map_next(&a->visitors, &it, &e);) {
        for (struct push_sub *v = e->val; v; v = v->next) {
            uintptr_t c = (uintptr_t)map_get(&cache, (uint64_t)v->inbox_id);
            if (!c) {
                c = inbox_online(a, v->inbox_id) ? 2 : 1;
                map_put(&cache, (uint64_t)v->inbox_id, (void *)c);
            }
            bool on = c == 2;
            if (on != v->told_online && v->live) {
                v->told_online = on;
                const char *f = on ? "{\"type\":\"presence\",\"online\":true}"
                                   : "{\"type\":\"presence\",\"online\":false}";
                ws_send_text(srv, v->conn_id, f, strlen(f));
            }
        }
    }
    map_release(&cache);
}

/* ---- subscribe / unsubscribe ---- */

struct push_sub *push_subscribe(uint64_t conn_id, int64_t account_id, int64_t user_id,
                                enum push_role role)
{
    struct acct *a = acct_get(account_id, true);
    struct push_sub *s = xcalloc(1, sizeof(*s));
    s->conn_id = conn_id;
    s->account_id = account_id;
    s->user_id = user_id;
    s->role = role;
    s->next = a->agents;
    if (a->agents)
        a->agents->prev = s;
    a->agents = s;
    nsubs++;
    return s;
}

struct push_sub *push_subscribe_visitor(uint64_t conn_id, int64_t account_id, int64_t contact_id,
                                        int64_t inbox_id)
{
    struct acct *a = acct_get(account_id, true);
    struct push_sub *s = xcalloc(1, sizeof(*s));
    s->conn_id = conn_id;
    s->account_id = account_id;
    s->contact_id = contact_id;
    s->inbox_id = inbox_id;
    s->role = PUSH_VISITOR;
    struct push_sub *head = map_get(&a->visitors, (uint64_t)contact_id);
    s->next = head;
    if (head)
        head->prev = s;
    map_put(&a->visitors, (uint64_t)contact_id, s);
    a->nvisitors++;
    nsubs++;
    return s;
}

void push_set_agent(struct push_sub *s, const int64_t *ids, size_t n, bool available)
{
    free(s->inboxes);
    s->inboxes = n ? xmemdup(ids, n * sizeof(*ids)) : NULL;
    s->ninboxes = n;
    struct acct *a = acct_get(s->account_id, false);
    bool was = user_online(a, s->user_id);
    s->available = available;
    announce(a, s->user_id, was);
}

static void free_held(struct push_sub *s)
{
    for (size_t i = 0; i < s->nheld; i++)
        free(s->held[i].frame);
    free(s->held);
    s->held = NULL;
    s->nheld = s->capheld = 0;
}

void push_unsubscribe(struct push_sub *s)
{
    if (!s)
        return;
    struct acct *a = acct_get(s->account_id, false);
    if (s->role == PUSH_VISITOR) {
        if (s->prev)
            s->prev->next = s->next;
        else if (s->next)
            map_put(&a->visitors, (uint64_t)s->contact_id, s->next);
        else
            map_del(&a->visitors, (uint64_t)s->contact_id);
        if (s->next)
            s->next->prev = s->prev;
        a->nvisitors--;
    } else {
        bool was = user_online(a, s->user_id);
        if (s->prev)
            s->prev->next = s->next;
        else
            a->agents = s->next;
        if (s->next)
            s->next->prev = s->prev;
        announce(a, s->user_id, was);
    }
    if (!a->agents && !a->nvisitors) {
        map_release(&a->visitors);
        map_del(&accounts, (uint64_t)s->account_id);
        free(a);
    }
    nsubs--;
    free_held(s);
    free(s->inboxes);
    free(s);
}

int64_t push_last_seq(const struct push_sub *s)
{
    return s->last_seq;
}

/* ---- events ---- */

static void send_frame(struct push_sub *s, int64_t seq, const char *frame, size_t len)
{
    if (seq <= s->last_seq)
        return; /* already sent: exactly once */
    s->last_seq = seq;
    ws_send_text(srv, s->conn_id, frame, len);
}

static void frame_for(const struct push_sub *s, const struct event *ev, const char **f, size_t *n)
{
    bool v = s->role == PUSH_VISITOR && ev->vframe;
    *f = v ? ev->vframe : ev->frame;
    *n = v ? ev->vframe_len : ev->frame_len;
}

/* deliver: live, or held while the replay is still being read. */
static void deliver(struct push_sub *s, const struct event *ev)
{
    const char *f;
    size_t n;
    frame_for(s, ev, &f, &n);
    if (s->live) {
        send_frame(s, ev->seq, f, n);
    } else if (s->nheld == HELD_MAX) {
        log_warn("push", "conn=%" PRIu64 " too many events held during replay: closing",
                 s->conn_id);
        ws_close(srv, s->conn_id, 1013, "too many events during replay; reconnect");
    } else {
        if (s->nheld == s->capheld) { /* grow on demand: most replays hold few */
            s->capheld = s->capheld ? s->capheld * 2 : 16;
            s->held = xrealloc(s->held, s->capheld * sizeof(*s->held));
        }
        struct held *h = &s->held[s->nheld++];
        h->seq = ev->seq;
        h->frame = xmemdup(f, n);
        h->len = n;
    }
}

/* An agent's inbox set follows membership changes as they happen, before visibility is decided;
 * their availability follows user.availability_changed. */
static void track_agent(struct acct *a, struct push_sub *s, const struct event *ev)
{
    if (strcmp(ev->type, "user.availability_changed") == 0) {
        json_t *uid = json_object_get(ev->data, "user_id");
        if (json_integer_value(uid) != s->user_id)
            return;
        const char *st = json_string_value(json_object_get(ev->data, "status"));
        bool was = user_online(a, s->user_id);
        s->available = st && strcmp(st, "online") == 0;
        announce(a, s->user_id, was);
        return;
    }
    if (s->role != PUSH_AGENT || strcmp(ev->type, "inbox.members_changed") != 0)
        return;
    json_t *ids = json_object_get(ev->data, "user_ids");
    bool member = false;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        if (json_integer_value(v) == s->user_id)
            member = true;
    }
    bool had = has_inbox(s, ev->inbox_id);
    if (member && !had) {
        s->inboxes = xrealloc(s->inboxes, (s->ninboxes + 1) * sizeof(*s->inboxes));
        s->inboxes[s->ninboxes++] = ev->inbox_id;
    } else if (!member && had) {
        for (size_t k = 0; k < s->ninboxes; k++)
            if (s->inboxes[k] == ev->inbox_id)
                s->inboxes[k] = s->inboxes[--s->ninboxes];
    }
}

void on_push(const struct event *ev)
{
    struct acct *a = acct_get(ev->account_id, false);
    if (!a)
        return;
    bool members = strcmp(ev->type, "inbox.members_changed") == 0;
    for (struct push_sub *s = a->agents, *next; s; s = next) {
        next = s->next; /* a send may close the connection, not free the sub */
        bool was_member = may_see_inbox(s, ev->inbox_id);
        track_agent(a, s, ev);
        /* The members_changed event itself also reaches an agent who was just removed. */
        if (visible(s, ev) || (was_member && members))
            deliver(s, ev);
    }
    if (ev->contact_id && !ev->private)
        for (struct push_sub *s = map_get(&a->visitors, (uint64_t)ev->contact_id), *next; s;
             s = next) {
            next = s->next;
            deliver(s, ev);
        }
    if (members) /* the inbox's online state may have changed for its visitors */
        announce_visitors(a);
}

void push_replayed(struct push_sub *s, int64_t since, struct event_batch *replayed, bool more)
{
    if (s->last_seq < since)
        s->last_seq = since;
    if (more) {
        /* Too far behind to replay: the client reloads its state over REST and continues from here.
         */
        char frame[96];
        int64_t last = replayed->tail ? replayed->tail->seq : since;
        int n = snprintf(frame, sizeof(frame), "{\"type\":\"resync\",\"seq\":%" PRId64 "}", last);
        s->last_seq = last;
        ws_send_text(srv, s->conn_id, frame, (size_t)n);
    } else {
        for (struct event *ev = replayed->head; ev; ev = ev->next) {
            if (ev->seq <= since || !visible(s, ev))
                continue;
            event_build_frame(ev);
            const char *f;
            size_t n;
            frame_for(s, ev, &f, &n);
            send_frame(s, ev->seq, f, n);
        }
        if (replayed->tail && replayed->tail->seq > s->last_seq)
            s->last_seq = replayed->tail->seq; /* invisible ones count as seen */
    }
    for (size_t i = 0; i < s->nheld; i++)
        send_frame(s, s->held[i].seq, s->held[i].frame, s->held[i].len);
    free_held(s);
    s->live = true;
}

void push_ephemeral(int64_t account_id, int64_t inbox_id, int64_t contact_id, bool to_visitor,
                    uint64_t except_conn, const char *frame, size_t len)
{
    struct acct *a = acct_get(account_id, false);
    if (!a)
        return;
    for (struct push_sub *s = a->agents, *next; s; s = next) {
        next = s->next;
        if (s->live && s->conn_id != except_conn && may_see_inbox(s, inbox_id))
            ws_send_text(srv, s->conn_id, frame, len);
    }
    if (!to_visitor || !contact_id)
        return;
    for (struct push_sub *s = map_get(&a->visitors, (uint64_t)contact_id), *next; s; s = next) {
        next = s->next;
        if (s->live && s->conn_id != except_conn)
            ws_send_text(srv, s->conn_id, frame, len);
    }
}

void push_visitor(int64_t account_id, int64_t contact_id, const char *frame, size_t len)
{
    struct acct *a = acct_get(account_id, false);
    if (!a)
        return;
    for (struct push_sub *s = map_get(&a->visitors, (uint64_t)contact_id), *next; s; s = next) {
        next = s->next;
        if (s->live)
            ws_send_text(srv, s->conn_id, frame, len);
    }
}
