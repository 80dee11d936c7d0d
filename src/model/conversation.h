/* conversation.h: rules for conversations, messages, labels and contacts, with no I/O
 * (unit-tested in tests/unit/model). */
#ifndef PARLEY_CONVERSATION_H
#define PARLEY_CONVERSATION_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"

enum conv_status { CONV_OPEN, CONV_PENDING, CONV_SNOOZED, CONV_RESOLVED };
enum conv_priority { PRIO_NONE, PRIO_LOW, PRIO_MEDIUM, PRIO_HIGH, PRIO_URGENT };

enum {
    MSG_CONTENT_MAX = 10000,
    MSG_CLIENT_ID_MAX = 64,
    MSG_ATTACH_MAX = 10,
    LABEL_MAX_CHARS = 50,
    LABELS_PER_CONV = 20,
    CONTACT_NAME_MAX = 100,
    CONTACT_PHONE_MAX = 32,
    PREVIEW_CHARS = 140,
};

/* NULL-terminated name tables, indexed by the enums above. */
extern const char *const conv_status_names[];
extern const char *const conv_priority_names[];

/* ---- what a change asked of a conversation does to it ---- */

/* The facts a change looks at and writes. Strings point at static names or the caller's data. */
struct conv_facts {
    const char *status, *priority;
    int64_t assignee_id, team_id; /* 0: none */
    int64_t snoozed_until;        /* ms; 0: none (snoozed until the customer writes) */
};
/* An agent's PATCH: status and priority (-1: unchanged), snoozed_until with status snoozed, and
 * the assignee and team when set (0: none). */
struct conv_patch {
    int status, priority;
    int64_t snoozed_until;
    bool set_assignee, set_team;
    int64_t assignee_id, team_id;
};
enum {
    CONV_CHANGED_STATUS = 1 << 0,
    CONV_CHANGED_PRIORITY = 1 << 1,
    CONV_CHANGED_ASSIGNEE = 1 << 2,
    CONV_CHANGED_TEAM = 1 << 3,
};
/* conv_patch_apply: the conversation after the patch, in *now, and what changed (CONV_CHANGED_*;
 * 0: nothing to write). Snoozing again counts as a change of status (a new wake-up time); any
 * other status clears the snooze time. */
unsigned conv_patch_apply(const struct conv_facts *was, const struct conv_patch *p,
                          struct conv_facts *now);

/* ---- what a new message does to its conversation (the send path's rules) ---- */

/* The conversation's columns a message changes, as they are before it (times in ms, 0: none). */
struct conv_now {
    char status[16], priority[16];
    char bot_state[16]; /* "" (none), "active", "collecting", "handed_off" */
    int64_t assignee_id, assigned_at;
    int64_t waiting_since; /* the customer's oldest unanswered message */
    int64_t snoozed_until, first_reply_at, last_activity_at;
    int64_t unread_count; /* customer messages agents have not read */
    int64_t agent_last_read_id, contact_last_read_id, last_message_id;
    double sentiment; /* of the newest customer message; NAN: none */
};
enum msg_from { MSG_FROM_CONTACT, MSG_FROM_AGENT, MSG_FROM_BOT };
struct msg_facts {
    enum msg_from from;
    bool private;
    int64_t id, user_id;    /* the message; the agent who wrote it */
    double sentiment;       /* a customer's message's score; NAN: none */
    bool raise_on_negative; /* the inbox raises the priority on a negative turn */
    int64_t at;
};
enum {
    CONV_MSG_REOPENED = 1 << 0,   /* pending or snoozed, and the customer wrote: open again */
    CONV_MSG_RAISED = 1 << 1,     /* a negative turn raised the priority to high */
    CONV_MSG_ASSIGNED = 1 << 2,   /* the agent who answered an unassigned conversation took it */
    CONV_MSG_HANDED_OFF = 1 << 3, /* an agent answered while the bot was: the bot stops */
};
/* conv_bot_answering: the bot has the conversation (it stays pending, out of the queue). */
bool conv_bot_answering(const struct conv_now *c);
/* conv_may_raise: a customer message with this score could raise the priority (the caller then
 * reads whether the inbox wants that, for raise_on_negative). */
bool conv_may_raise(const struct conv_now *c, double sentiment);
/* conv_on_message: applies a new message to c, and returns what happened (CONV_MSG_*):
 *   customer: reopens a pending or snoozed conversation and starts the wait (unless the bot is
 *     answering: it stays as it is), counts as unread, sets the sentiment, and a negative turn
 *     (<= -0.25) raises none/low/medium to high where the inbox says so;
 *   agent, public: ends the wait, takes over from the bot, marks the first reply, reads all, and
 *     takes an unassigned conversation (Chatwoot does the same);
 *   agent, private note: reads all, nothing the customer would notice;
 *   bot: only the last message.
 * Every message is the last one; a public one is activity. */
unsigned conv_on_message(struct conv_now *c, const struct msg_facts *m);

/* label_valid: 1..50 characters, each a letter or digit (any script), '-' or '_'; none invisible
 * or a direction control (utf8_find_hidden UTF8_IDENT). */
bool label_valid(const char *s);
/* label_check: the same rule with max_chars, for the identifiers that share the labels' alphabet
 * (canned responses' short codes, intents' names): 0, or ERR_VALIDATION naming `field` with a
 * message that calls s `what` ("a label") and says what is wrong. */
int label_check(const char *s, size_t max_chars, const char *field, const char *what,
                struct jfail *f);
/* client_id_valid: 1..64 printable ASCII characters. */
bool client_id_valid(const char *s);
/* phone_valid: 3..32 of digits, spaces and + - ( ) . with at least 3 digits. */
bool phone_valid(const char *s);
/* text_blank: only spaces, tabs and newlines (or empty). */
bool text_blank(const char *s);
/* utf8_prefix_len: the byte length of s's first `max_chars` code points (s valid UTF-8). */
size_t utf8_prefix_len(const char *s, size_t len, size_t max_chars);

/* contact_parse: the optional name, email, phone of a contact update, validated (a name as a
 * display name: user_name_check; "" clears a field); email is normalized into email_buf (>= 255
 * bytes). ERR_VALIDATION names the field, under `path` ("contact.name") when not NULL. */
struct contact_input {
    const char *name, *email, *phone; /* NULL: not given */
};
int contact_parse(json_t *obj, const char *path, struct contact_input *in, char *email_buf,
                  struct jfail *f);

/* prechat_check: answers (an object) against an inbox's prechat_fields: every key must be a field,
 * every answer a string or a number (not null), every required field present and non-blank,
 * e-mails and phones well-formed, numbers numeric, a "name" answer (it fills the contact's name)
 * without control or direction-override characters.
 * *norm gets a new object of trimmed string answers. */
int prechat_check(json_t *fields, json_t *answers, json_t **norm, struct jfail *f);

#endif
