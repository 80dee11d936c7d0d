/* on_route.h: the router on the event loop. It feeds route/route.h from the event spine (and
 * agents' connections), writes its decisions as store jobs (an assignment commits before anyone is
 * told), prepares conversations that start waiting (contact facts, routing rules), moves waiting
 * conversations to the overflow team and takes unanswered ones back (a one-second tick), and tells
 * agents and visitors about the queue (ephemeral frames). */
#ifndef PARLEY_ON_ROUTE_H
#define PARLEY_ON_ROUTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

struct event;
struct store;
struct routing;
struct route_account;

/* on_route_init: loads the state of every account (start-up, before the loop runs) and starts the
 * tick. grace_ms: how long a dropped agent connection still counts as online. */
int on_route_init(uv_loop_t *loop, struct store *s, int64_t grace_ms, char *err, size_t errlen);
void on_route_stop(void);
void on_route_release(void);
void on_route(const struct event *ev); /* the listener */
/* on_route_connected: an agent's workspace WebSocket opened (up) or closed. */
void on_route_connected(int64_t account_id, int64_t user_id, bool up);
/* on_route_reload: the account's agents' settings changed (capacity, skills, memberships, teams).
 */
void on_route_reload(int64_t account_id);

struct routing *on_route_state(void);
/* on_route_visitor_queue: {"conversation_id","position","estimated_wait_seconds"} for a visitor's
 * waiting conversation in the inbox, or NULL. Returns owned. */
json_t *on_route_visitor_queue(int64_t account_id, int64_t contact_id, int64_t inbox_id);
/* on_route_agent_json: adds "online", "connected", "load" and "capacity" (as the router counts
 * them) to a user object. */
void on_route_agent_json(int64_t account_id, int64_t user_id, json_t *user);

#endif
