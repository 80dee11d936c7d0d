/* on_push.h: real-time push of events to WebSocket subscribers, with resume.
 *
 * A subscriber connects with the last seq it saw (`since`). It is registered at once in "replaying"
 * state: live events that arrive meanwhile are held (capped). Its replay (events with seq > since,
 * read from the log on a reader thread) is sent first, then the held ones, then live ones; each
 * event goes out at most once, in seq order, and only if the subscriber may see it:
 *   - admins and supervisors: every event of the account;
 *   - agents: events without an inbox, and events of inboxes they are members of;
 *   - visitors (issue 3): events of their own conversation that are not private. */
#ifndef PARLEY_ON_PUSH_H
#define PARLEY_ON_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct server;
struct event;
struct event_batch;

/* Most events replayed on one connect; further behind, the client is told to resync. */
enum { PUSH_REPLAY_LIMIT = 5000 };

enum push_role { PUSH_AGENT = 0, PUSH_SUPERVISOR = 1, PUSH_ADMIN = 2, PUSH_VISITOR = 3 };

struct push_sub;

void push_init(struct server *srv);
void push_release(void);
/* push_subscribe: registers conn_id for an account's events, in replaying state. */
struct push_sub *push_subscribe(uint64_t conn_id, int64_t account_id, int64_t user_id,
                                enum push_role role);
/* push_set_inboxes: an agent's inbox memberships (copied). */
void push_set_inboxes(struct push_sub *s, const int64_t *ids, size_t n);
/* push_replayed: sends the visible events of `replayed` with seq > `since`, then what was held, and
 * goes live. `more` says the replay was cut at its limit: the client is told to resync instead. */
void push_replayed(struct push_sub *s, int64_t since, struct event_batch *replayed, bool more);
void push_unsubscribe(struct push_sub *s);
int64_t push_last_seq(const struct push_sub *s);
/* the event listener */
void on_push(const struct event *ev);
size_t push_subscriber_count(void);

#endif
