/* conv.h: the conversation service: the one owner of conversations and messages. Every writer (the
 * agent REST API, the widget, WebSocket commands, the router, the bot, future channels) calls it
 * inside its store job; it holds the domain rules and emits the events in the same transaction
 * (event/event.h). Also its readers: conversations, messages and contacts as JSON, each with the
 * caller's access rule. Files: find.c (readers), send.c (sending a message), assign.c, read.c
 * (read marks), index.c (the search index). */
#ifndef PARLEY_CONV_H
#define PARLEY_CONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "model/conversation.h"
#include "model/role.h"
#include "store/store.h"
#include "base/json.h"
#include "event/event.h"

/* Who is asking: an agent (with their role; admins and supervisors see every inbox, agents only
 * those they are members of) or a visitor (one contact, in one inbox; public messages only). */
struct conv_actor {
    int64_t account_id;
    bool visitor;
    int64_t user_id; /* agents */
    enum role role;
    int64_t contact_id, inbox_id; /* visitors */
};

/* conv_get: the conversation as JSON, or ERR_NOTFOUND when it is not in the account or the actor
 * may not see it. */
int conv_get(struct store_tx *tx, const struct conv_actor *a, int64_t conversation_id,
             json_t **out);
/* conv_visitor_json: what a visitor may see of a conversation (from the agents' JSON). New ref. */
json_t *conv_visitor_json(json_t *c);
/* conv_load: the conversation as JSON with no access check (for events). */
int conv_load(struct store_tx *tx, int64_t account_id, int64_t conversation_id, json_t **out);
/* conv_list_rows: turns conversation rows (queried with CONV_SELECT) into a JSON array, labels
 * added. Closes rows. */
int conv_list_rows(struct store_tx *tx, struct store_rows *rows, json_t **out);
/* The columns conv_list_rows expects, and the FROM clause they need (alias c for conversations).
 */
extern const char CONV_SELECT[];

/* message_json: one message, from the 14 columns MSG_COLS (a query may add its own after them). */
#define MSG_COLS                                                                                   \
    "m.id, m.conversation_id, c.inbox_id, m.sender_type, m.sender_id,"                             \
    " CASE m.sender_type WHEN 'user' THEN (SELECT COALESCE(au.name, u.name) FROM users u"          \
    "  LEFT JOIN account_users au ON au.user_id = u.id AND au.account_id = m.account_id"           \
    "  WHERE u.id = m.sender_id)"                                                                  \
    "  WHEN 'contact' THEN (SELECT name FROM contacts WHERE id = m.sender_id) ELSE '' END,"        \
    " m.content, m.private, m.client_id, m.attachments, m.created_at, m.sentiment, m.attributes,"  \
    " (SELECT sl.label FROM sentiment_labels sl WHERE sl.account_id = m.account_id"                \
    "  AND sl.message_id = m.id)"
#define MSG_FROM " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
json_t *message_json(struct store_rows *rows);
extern const char MSG_SELECT[]; /* "SELECT " MSG_COLS MSG_FROM */
/* conv_message_load: one message of the account as JSON, or ERR_NOTFOUND. */
int conv_message_load(struct store_tx *tx, int64_t account_id, int64_t id, json_t **out);
/* messages_page: a conversation's messages, ascending, {"data":[...],"meta":{"has_more"}}.
 * after/before 0 = not given; public_only for visitors. */
int messages_page(struct store_tx *tx, int64_t account_id, int64_t conversation_id, int64_t after,
                  int64_t before, int64_t limit, bool public_only, json_t **out);

/* contact_display_name: the contact's name, or "Visitor <id>" when they gave none. */
const char *contact_display_name(const char *name, int64_t id, char *buf, size_t len);
json_t *contact_json(struct store_rows *rows, int col);
extern const char CONTACT_COLS[]; /* 8 columns of contacts ct, for contact_json */
/* contact_load: one contact of the account as JSON, or ERR_NOTFOUND. (Answers to the visitor leave
 * out "attributes": the agents' notes about them.) */
int contact_load(struct store_tx *tx, int64_t account_id, int64_t id, json_t **out);
/* contact_load_for: the same, for what an actor may see: an agent sees a contact only through a
 * conversation they may see (one of their inboxes, or assigned to them); ERR_NOTFOUND otherwise. */
int contact_load_for(struct store_tx *tx, const struct conv_actor *a, int64_t id, json_t **out);
/* contact_updated_emit: the private contact.updated event, with the inboxes the contact has
 * conversations in (data.inbox_ids: the agents who may see it, event/on_push.c). Takes contact. */
int contact_updated_emit(struct store_tx *tx, struct event_batch *b, int64_t account_id,
                         int64_t contact_id, json_t *contact);

/* conv_check_assignee: the user may be given a conversation of the inbox: an admin or supervisor
 * of the account, a member of the inbox, or a member of team_id (0: none). Else ERR_VALIDATION
 * naming assignee_id. */
int conv_check_assignee(struct store_tx *tx, int64_t account_id, int64_t user_id, int64_t inbox_id,
                        int64_t team_id, struct jfail *f);
/* conv_check_team: the team exists in the account (not deleted), else ERR_VALIDATION naming
 * `field`. */
int conv_check_team(struct store_tx *tx, int64_t account_id, int64_t team_id, const char *field,
                    struct jfail *f);
/* conv_history_add: a row of the conversation's assignment history, after the change (0 ids are
 * NULL; the team is read from the conversation). actor_type "router" or "user". */
int conv_history_add(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                     int64_t assignee_id, int64_t previous_id, const char *actor_type,
                     int64_t actor_id, const char *reason, const char *note);

/* ---- sending a message ---- */
struct msg_send {
    /* in */
    struct conv_actor actor;
    int64_t conversation_id; /* agents: required; visitors: their open conversation, or a new one */
    const char *sender_type; /* "user", "contact", "bot" */
    char *content, *client_id;
    bool private;
    int64_t attachment_ids[10];
    size_t nattach;
    double sentiment;       /* visitors: of content, set by msg_send_parse; NAN for agents */
    const char *attributes; /* the message's attributes as JSON text (a visitor's button choice:
                             * {"payload": ...}), or NULL; borrowed */
    /* out */
    json_t *message;
    bool duplicate; /* client_id seen before: message is the first one, nothing was stored */
    struct event_batch events;
    struct jfail fail;
};

/* msg_send_parse: content, private (agents), client_id, attachment_ids, conversation_id (when
 * need_conversation) from a REST body or a WebSocket command. Strings are copied (free with
 * msg_send_release). */
int msg_send_parse(json_t *body, struct msg_send *ms, bool agent, bool need_conversation,
                   struct jfail *f);
int msg_send_fn(struct store_tx *tx, void *arg);
void msg_send_release(struct msg_send *ms);

/* conv_bot_say: the bot's message (public, or a private note for agents) in a conversation, with
 * its message.created event: the same store path as everyone's messages. Takes attrs (the
 * message's attributes: buttons, kind; may be NULL). */
int conv_bot_say(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                 int64_t conversation_id, const char *content, json_t *attrs, bool private);

/* ---- the bot's changes (change.c) ---- */
/* conv_set_bot_state: bot_state ("active", "collecting", "handed_off", NULL) and its bot_data
 * (the flow or form in progress; borrowed, may be NULL). No event: agents see it with the next. */
int conv_set_bot_state(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                       const char *state, json_t *data);
/* conv_set_intent: what the bot recognised the customer wants. */
int conv_set_intent(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                    const char *intent);
/* conv_bot_handoff: the bot hands over: the conversation is open and waiting from now, with the
 * intent, and the team and skill the bot chose (0: unchanged); emits conversation.status_changed
 * (reason "bot_handoff"), which routing reacts to. ERR_NOTFOUND if it is not in the account. */
int conv_bot_handoff(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                     int64_t conversation_id, const char *intent, int64_t team_id,
                     int64_t skill_id);

/* ---- agents' changes and the server's timers (change.c) ---- */
/* conv_update: an agent's PATCH (status, snooze, priority, assignee, team), checked (the assignee
 * may take it, the team exists), with the assignment history and the events of what changed;
 * *out the conversation after it. */
int conv_update(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                const struct conv_patch *p, struct event_batch *ev, json_t **out, struct jfail *f);
/* conv_labels_add / conv_label_remove: labels (already checked with label_check), at most
 * LABELS_PER_CONV; conversation.updated when something changed. */
int conv_labels_add(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                    char *const *labels, size_t n, struct event_batch *ev, json_t **out,
                    struct jfail *f);
int conv_label_remove(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                      const char *label, struct event_batch *ev, json_t **out);
/* conv_transfer: to an agent and/or a team (0: none), with a note that also goes into the thread
 * as a private note; not for a resolved conversation. */
struct conv_transfer_to {
    int64_t assignee_id, team_id;
    const char *note; /* or NULL */
};
int conv_transfer(struct store_tx *tx, const struct conv_actor *a, int64_t id,
                  const struct conv_transfer_to *to, struct event_batch *ev, json_t **out,
                  struct jfail *f);
/* conv_wake_snoozed: reopens up to `most` conversations whose snooze time has come (any account).
 */
int conv_wake_snoozed(struct store_tx *tx, int64_t now, size_t most, struct event_batch *ev);
/* conv_forget: a team, skill or routing rule was deleted: conversations no longer point at it. */
enum conv_ref { CONV_REF_TEAM, CONV_REF_SKILL, CONV_REF_RULE };
int conv_forget(struct store_tx *tx, int64_t account_id, enum conv_ref what, int64_t id);
/* conv_set_message_sentiment: a customer message's sentiment (an agent's correction), and the
 * conversation's when it is the newest customer message. */
int conv_set_message_sentiment(struct store_tx *tx, int64_t account_id, int64_t conversation_id,
                               int64_t message_id, double score);

/* ---- the router's writes (route.c) ---- */
/* Each is conditional on the state the router decided from; 1 when it changed the conversation,
 * 0 when someone changed it first (nothing written), < 0 on error. Each writes the assignment
 * history and emits the event, with its reason. */
/* conv_route_assign: to user_id, if still open and unassigned. */
int conv_route_assign(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                      int64_t conversation_id, int64_t user_id, const char *reason, int64_t now);
/* conv_route_reroute: back to the queue from user_id, if they have not replied in public since. */
int conv_route_reroute(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                       int64_t conversation_id, int64_t user_id, int64_t now);
/* conv_route_overflow: to the overflow team, if still open and unassigned and the team exists. */
int conv_route_overflow(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                        int64_t conversation_id, int64_t team_id, int64_t now);
/* conv_route_prepare: the routing facts a waiting conversation starts with (once); a
 * conversation.updated (reason "rule") when announce (its team or priority changed). */
struct conv_route_prep {
    int64_t team_id; /* 0: none */
    const char *priority;
    int64_t skill_id; /* 0: none */
    int skill_level;
    const char *language;
    int64_t rule_id; /* 0: none */
    const char *rule_name;
    bool announce;
};
int conv_route_prepare(struct store_tx *tx, struct event_batch *ev, int64_t account_id,
                       int64_t conversation_id, const struct conv_route_prep *p, int64_t now);

/* ---- marking read ---- */
struct conv_read {
    struct conv_actor actor;
    int64_t conversation_id, message_id; /* visitors: conversation_id from the message */
    struct event_batch events;
};
int conv_read_fn(struct store_tx *tx, void *arg);
/* msg_index_fn: the store's background work (store_opts.background): adds the messages after
 * fts_state.indexed_to to the search index, for about a millisecond; 1 when more remain. */
int msg_index_fn(struct store_tx *tx, void *arg);
/* The search condition for messages `m` whose text contains $Q, FTS5 phrase $P: the index up to
 * where it got, and a scan of the newest messages it has not reached yet. */
#define MSG_MATCH(P, Q)                                                                            \
    "(m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH " P ")"                     \
    " OR (m.id > (SELECT indexed_to FROM fts_state) AND instr(lower(m.content), lower(" Q "))"     \
    " > 0))"

#endif
