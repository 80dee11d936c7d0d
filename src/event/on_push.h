/* on_push.h: real-time push of events to WebSocket subscribers, with resume, and the presence that
 * follows from who is connected.
 *
 * A subscriber connects with the last seq it saw (`since`). It is registered at once in "replaying"
 * state: live events that arrive meanwhile are held (capped). Its replay (events with seq > since,
 * read from the log on a reader thread) is sent first, then the held ones, then live ones; each
 * event goes out at most once, in seq order, and only if the subscriber may see it:
 *   - admins and supervisors: every event of the account;
 *   - agents: events without an inbox, and events of inboxes they are members of;
 *   - visitors: the non-private events of their own contact (their conversations), with the
 *     agent-side "conversation" object left out of the frame.
 *
 * Per account, agents sit in one list and visitors in a map by contact, so an event costs the
 * account's agents plus that one visitor's connections, however many visitors are connected.
 *
 * Presence: an agent is online while their availability is "online" and they have a connection;
 * an inbox is online while an agent who may answer it (a member, an admin or a supervisor) is.
 * Changes go out as ephemeral frames (no seq): {"type":"presence","user_id","online"} to agents,
 * {"type":"presence","online"} to the visitors of the inbox. */
#ifndef PARLEY_ON_PUSH_H
#define PARLEY_ON_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct server;
struct event;
struct event_batch;

/* Most events replayed on one connect; further behind, the client is told to resync. */
enum { PUSH_REPLAY_LIMIT = 5000 };

enum push_role { PUSH_AGENT = 0, PUSH_SUPERVISOR = 1, PUSH_ADMIN = 2, PUSH_VISITOR = 3 };

struct push_sub;

void push_init(struct server *srv);
void push_release(void);
/* push_subscribe: registers an agent (user_id) or a visitor (contact_id, inbox_id) for an account's
 * events, in replaying state. */
struct push_sub *push_subscribe(uint64_t conn_id, int64_t account_id, int64_t user_id,
                                enum push_role role);
struct push_sub *push_subscribe_visitor(uint64_t conn_id, int64_t account_id, int64_t contact_id,
                                        int64_t inbox_id);
/* push_set_agent: an agent's inbox memberships (copied) and availability, known after the start
 * read; presence changes are announced. */
void push_set_agent(struct push_sub *s, const int64_t *inboxes, size_t n, bool available);
/* push_replayed: sends the visible events of `replayed` with seq > `since`, then what was held, and
 * goes live. `more` says the replay was cut at its limit: the client is told to resync instead. */
void push_replayed(struct push_sub *s, int64_t since, struct event_batch *replayed, bool more);
void push_unsubscribe(struct push_sub *s);
int64_t push_last_seq(const struct push_sub *s);
/* the event listener */
void on_push(const struct event *ev);
size_t push_subscriber_count(void);

/* push_online_users: the account's online agents' user ids, as a new JSON array. */
json_t *push_online_users(int64_t account_id);
/* push_inbox_online: is an agent who may answer this inbox online? */
bool push_inbox_online(int64_t account_id, int64_t inbox_id);
/* push_visitor_online: the value last told to this visitor (set by push_inbox_online at hello). */
void push_visitor_told(struct push_sub *s, bool online);
/* push_ephemeral: a frame that is not an event (typing): to the agents who may see inbox_id and,
 * when to_visitor, to the connections of contact_id; never to except_conn. */
void push_ephemeral(int64_t account_id, int64_t inbox_id, int64_t contact_id, bool to_visitor,
                    uint64_t except_conn, const char *frame, size_t len);
/* push_visitor: a frame that is not an event, to one contact's connections only. */
void push_visitor(int64_t account_id, int64_t contact_id, const char *frame, size_t len);

#endif
