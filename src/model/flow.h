/* flow.h: the bot's guided flows (bot_flows.steps, JSON), with no I/O. A flow is a list of steps;
 * the first is where it starts. Kinds:
 *   message  text, and buttons [{label, target}] the visitor clicks; without buttons the bot goes
 * on to `next` at once (or ends the flow there); collect  asks for a named field of a type (text,
 * email, phone, number, choice from options), checks the answer, asks again with retry_text, then
 * goes to `next`; handoff  hands over to people (a team and/or skill, a note for the agents); end
 * a closing text; the bot stays on. A target is {"type":"step","step":id} |
 * {"type":"faq","faq_id":n} |
 * {"type":"handoff","team_id":n|null,"skill_id":n|null} | {"type":"end"}.
 *
 * Buttons travel to the widget as payloads: "flow:<flow id>" starts a flow (the greeting's
 * buttons), "flow:<flow id>:<step id>:<index>" is button (or option) index of a step. */
#ifndef PARLEY_MODEL_FLOW_H
#define PARLEY_MODEL_FLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"

enum {
    FLOW_NAME_MAX = 100,
    FLOW_STEPS_MAX = 50,
    FLOW_BUTTONS_MAX = 10,
    FLOW_OPTIONS_MAX = 10,
    FLOW_LABEL_MAX = 40, /* a button's label, and an option */
    FLOW_TEXT_MAX = 2000,
    FLOW_NOTE_MAX = 500,
    FLOW_STEP_ID_MAX = 32,
    FLOW_FIELD_MAX = 32,
    FLOW_VALUE_MAX = 500, /* a collected answer, in characters */
    FLOW_HOPS_MAX = 20,   /* steps one visitor message may walk through */
    FLOW_PAYLOAD_MAX = 80,
};

extern const char *const flow_step_kinds[]; /* "message", "collect", "handoff", "end", NULL */
extern const char
    *const flow_field_types[]; /* "text", "email", "phone", "number", "choice", NULL */

/* flow_steps_parse: validates steps (a JSON array) whole and gives a normalized copy in *out (known
 * keys only, defaults filled): ids unique, every step target resolves, no message steps that lead
 * to each other without waiting for the visitor. *refs gets the FAQ entries, teams and skills the
 * steps name, for the caller to check in the database: [{"field", "type": "faq"|"team"|"skill",
 * "id"}]. ERR_VALIDATION names the field, as in "steps[2].buttons[0].target". Returns owned. */
int flow_steps_parse(json_t *steps, json_t **out, json_t **refs, struct jfail *f);

/* flow_step: the step with this id in normalized steps, or NULL. Borrowed. */
json_t *flow_step(json_t *steps, const char *id);

/* flow_payload_parse: "flow:<id>" (step set to "" and *index to -1) or "flow:<id>:<step>:<index>".
 * step holds FLOW_STEP_ID_MAX + 1 bytes. False for anything else. */
bool flow_payload_parse(const char *s, int64_t *flow_id, char *step, int *index);

/* flow_label_match: the index of the label in labels (strings, or objects with "label") that the
 * text names, ignoring case and surrounding spaces, or -1. */
int flow_label_match(json_t *labels, const char *text);

/* flow_value_check: the visitor's answer for a field of this type, checked and normalized into out
 * (e-mail lower-cased, spaces trimmed, a choice spelled as its option), or false to ask again. out
 * holds at least 4 * FLOW_VALUE_MAX + 1 bytes. */
bool flow_value_check(const char *type, json_t *options, const char *text, char *out,
                      size_t outlen);

#endif
