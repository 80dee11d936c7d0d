/* on_push.c: subscribers per account, the visibility rule, and the replay-then-live hand-over. */
#include "base/sys.h"
#include "base/log.h"
#include "base/map.h"
#include "event/event.h"
#include "event/on_push.h"
#include "net/ws.h"

enum { HELD_MAX = 10000 };

struct held {
    int64_t seq, inbox_id, conversation_id;
    bool private;
    char *frame;
    size_t len;
};

struct push_sub {
    struct push_sub *prev, *next; /* in the account's list */
    uint64_t conn_id;
    int64_t account_id, user_id, conversation_id;
    enum push_role role;
    int64_t *inboxes;
    size_t ninboxes;
    int64_t last_seq; /* highest seq sent */
    bool live;
    struct held *held;
    size_t nheld, capheld;
};

static struct server *srv;
static struct map accounts; /* account_id -> first push_sub */
static size_t nsubs;

void push_init(struct server *s)
{
    srv = s;
    map_init(&accounts, false);
}

void push_release(void)
{
    map_release(&accounts);
}

size_t push_subscriber_count(void)
{
    return nsubs;
}

struct push_sub *push_subscribe(uint64_t conn_id, int64_t account_id, int64_t user_id,
                                enum push_role role)
{
    struct push_sub *s = xcalloc(1, sizeof(*s));
    s->conn_id = conn_id;
    s->account_id = account_id;
    s->user_id = user_id;
    s->role = role;
    struct push_sub *head = map_get(&accounts, (uint64_t)account_id);
    s->next = head;
    if (head)
        head->prev = s;
    map_put(&accounts, (uint64_t)account_id, s);
    nsubs++;
    return s;
}

void push_set_inboxes(struct push_sub *s, const int64_t *ids, size_t n)
{
    free(s->inboxes);
    s->inboxes = n ? xmemdup(ids, n * sizeof(*ids)) : NULL;
    s->ninboxes = n;
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
    if (s->prev)
        s->prev->next = s->next;
    else if (s->next)
        map_put(&accounts, (uint64_t)s->account_id, s->next);
    else
        map_del(&accounts, (uint64_t)s->account_id);
    if (s->next)
        s->next->prev = s->prev;
    nsubs--;
    free_held(s);
    free(s->inboxes);
    free(s);
}

int64_t push_last_seq(const struct push_sub *s)
{
    return s->last_seq;
}

static bool has_inbox(const struct push_sub *s, int64_t inbox_id)
{
    for (size_t i = 0; i < s->ninboxes; i++)
        if (s->inboxes[i] == inbox_id)
            return true;
    return false;
}

static bool visible(const struct push_sub *s, int64_t inbox_id, int64_t conversation_id,
                    bool private)
{
    switch (s->role) {
    case PUSH_ADMIN:
    case PUSH_SUPERVISOR:
        return true;
    case PUSH_AGENT:
        return inbox_id == 0 || has_inbox(s, inbox_id);
    case PUSH_VISITOR:
        return !private && conversation_id != 0 && conversation_id == s->conversation_id;
    }
    return false;
}

static void send_frame(struct push_sub *s, int64_t seq, const char *frame, size_t len)
{
    if (seq <= s->last_seq)
        return; /* already sent: exactly once */
    s->last_seq = seq;
    ws_send_text(srv, s->conn_id, frame, len);
}

/* An agent's inbox set follows membership changes as they happen, before visibility is decided. */
static void track_membership(struct push_sub *s, const struct event *ev)
{
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
    struct push_sub *s = map_get(&accounts, (uint64_t)ev->account_id);
    while (s) {
        struct push_sub *next = s->next; /* a send may close the connection, not free the sub */
        bool was_member = s->role != PUSH_AGENT || ev->inbox_id == 0 || has_inbox(s, ev->inbox_id);
        track_membership(s, ev);
        /* The members_changed event itself also reaches an agent who was just removed. */
        bool vis = visible(s, ev->inbox_id, ev->conversation_id, ev->private) ||
                   (was_member && strcmp(ev->type, "inbox.members_changed") == 0);
        if (vis) {
            if (s->live) {
                send_frame(s, ev->seq, ev->frame, ev->frame_len);
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
                h->frame = xmemdup(ev->frame, ev->frame_len);
                h->len = ev->frame_len;
            }
        }
        s = next;
    }
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
            if (ev->seq <= since || !visible(s, ev->inbox_id, ev->conversation_id, ev->private))
                continue;
            event_build_frame(ev);
            send_frame(s, ev->seq, ev->frame, ev->frame_len);
        }
        if (replayed->tail && replayed->tail->seq > s->last_seq)
            s->last_seq = replayed->tail->seq; /* invisible ones count as seen */
    }
    for (size_t i = 0; i < s->nheld; i++)
        send_frame(s, s->held[i].seq, s->held[i].frame, s->held[i].len);
    free_held(s);
    s->live = true;
}
