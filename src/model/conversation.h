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
